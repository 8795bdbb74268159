//! Rules text to compiled rules: lines (comments, continuations), the header, and the
//! options, each error naming its file, line and keyword.

use super::RuleError;
use super::address::{self, Kind, RangeSet, Vars};
use super::modbus::{Event, ModbusKw};
use super::payload::{ByteTest, Content, parse_dsize};
use super::rule::{Action, Check, FlowDir, Proto, Rule};
use super::threshold::Threshold;

/// The rules of a file, each with the line it starts on: comments and blank lines dropped,
/// lines ending in `\` joined to the next.
pub fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        let (start, mut acc) = match pending.take() {
            Some(p) => p,
            None => {
                let t = line.trim_start();
                if t.is_empty() || t.starts_with('#') {
                    continue;
                }
                (i + 1, String::new())
            }
        };
        match line.strip_suffix('\\') {
            Some(head) => {
                acc.push_str(head);
                pending = Some((start, acc));
            }
            None => {
                acc.push_str(line);
                out.push((start, acc.trim().to_string()));
            }
        }
    }
    if let Some((start, acc)) = pending {
        out.push((start, acc.trim().to_string()));
    }
    out
}

/// Builds errors for one rule.
struct At<'a> {
    file: &'a str,
    line: usize,
}

impl At<'_> {
    fn err(&self, keyword: impl Into<String>, message: impl Into<String>) -> RuleError {
        RuleError {
            file: self.file.to_string(),
            line: self.line,
            keyword: keyword.into(),
            message: message.into(),
        }
    }
}

/// Splits the header at whitespace outside brackets, and finds where the options start.
/// Err: (offending token, message).
fn split_header(text: &str) -> Result<(Vec<&str>, &str), (String, String)> {
    let mut depth = 0i32;
    let mut tokens = Vec::new();
    let mut start: Option<usize> = None;
    for (i, c) in text.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            '(' if depth == 0 => {
                if let Some(s) = start.take() {
                    tokens.push(&text[s..i]);
                }
                return Ok((tokens, &text[i..]));
            }
            c if c.is_whitespace() && depth == 0 => {
                if let Some(s) = start.take() {
                    tokens.push(&text[s..i]);
                }
                continue;
            }
            _ => {}
        }
        if start.is_none() {
            start = Some(i);
        }
    }
    if depth > 0 {
        let open = start.map_or(text, |s| &text[s..]);
        let token = open.split_whitespace().next().unwrap_or("[");
        return Err((token.to_string(), "list not closed with ']'".into()));
    }
    Err((
        text.split_whitespace().next().unwrap_or("").to_string(),
        "no options: expected `action proto src_addr src_port -> dst_addr dst_port (options)`".into(),
    ))
}

/// An option's name and its value, if it has one.
type RawOption = (String, Option<String>);

/// Splits `(a; b: "x;y"; c)` into (name, value) options. Err: (option, message).
fn split_options(body: &str) -> Result<Vec<RawOption>, (String, String)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_quotes = false;
    let mut chars = body.chars();
    let name_of = |s: &str| s.split(':').next().unwrap_or("").trim().to_string();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                cur.push(c);
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            '"' => {
                in_quotes = !in_quotes;
                cur.push(c);
            }
            ';' if !in_quotes => {
                let opt = std::mem::take(&mut cur);
                let opt = opt.trim();
                if opt.is_empty() {
                    continue;
                }
                out.push(match opt.split_once(':') {
                    Some((n, v)) => (n.trim().to_string(), Some(v.trim().to_string())),
                    None => (opt.to_string(), None),
                });
            }
            c => cur.push(c),
        }
    }
    if in_quotes {
        return Err((name_of(&cur), "unterminated string: a '\"' is not closed".into()));
    }
    let rest = cur.trim();
    if !rest.is_empty() {
        return Err((name_of(rest), "option not terminated with ';'".into()));
    }
    Ok(out)
}

/// A quoted string's text (`msg`), with `\` escapes resolved.
fn unquote(v: &str) -> Option<String> {
    let inner = v.trim().strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?),
            '"' => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

const OPTIONS: &str = "msg, sid, rev, classtype, priority, reference, metadata, flow, modbus, dsize, content, \
                       offset, depth, nocase, fast_pattern, byte_test, app-layer-event, threshold, detection_filter";

/// Parses and compiles one rule.
pub fn parse_rule(file: &str, line: usize, text: &str, vars: &Vars) -> Result<Rule, RuleError> {
    let at = At { file, line };
    let (tokens, rest) = split_header(text).map_err(|(k, m)| at.err(k, m))?;
    let action = match tokens.first().copied() {
        Some("alert") => Action::Alert,
        Some("drop") => Action::Drop,
        Some("pass") => Action::Pass,
        Some(other) => return Err(at.err(other, "unknown action: expected alert, drop or pass")),
        None => return Err(at.err("(", "missing header before the options")),
    };
    if tokens.len() != 7 {
        return Err(at.err(
            tokens.last().copied().unwrap_or(""),
            format!(
                "the header has {} parts, expected 7: action proto src_addr src_port -> dst_addr dst_port",
                tokens.len()
            ),
        ));
    }
    let proto = match tokens[1] {
        "modbus" => Proto::Modbus,
        "tcp" => Proto::Tcp,
        "ip" => Proto::Ip,
        other => return Err(at.err(other, "unknown protocol: expected modbus, tcp or ip")),
    };
    let set = |t: &str, kind: Kind, what: &str| -> Result<RangeSet, RuleError> {
        address::compile(t, kind, vars).map_err(|e| at.err(e.keyword, format!("{what}: {}", e.message)))
    };
    let src = set(tokens[2], Kind::Address, "source address")?;
    let src_ports = set(tokens[3], Kind::Port, "source port")?;
    let both_ways = match tokens[4] {
        "->" => false,
        "<>" => true,
        other => return Err(at.err(other, "unknown direction: expected -> or <>")),
    };
    let dst = set(tokens[5], Kind::Address, "destination address")?;
    let dst_ports = set(tokens[6], Kind::Port, "destination port")?;

    let body = rest.trim();
    let body = body
        .strip_prefix('(')
        .and_then(|b| b.strip_suffix(')'))
        .ok_or_else(|| {
            at.err(
                "(",
                "options must be enclosed in ( ) and the rule must end with ')'",
            )
        })?;
    let options = split_options(body).map_err(|(k, m)| at.err(k, m))?;

    let mut rule = Rule {
        line,
        action,
        proto,
        src,
        src_ports,
        dst,
        dst_ports,
        both_ways,
        sid: 0,
        rev: 1,
        msg: String::new(),
        classtype: None,
        references: Vec::new(),
        metadata: Vec::new(),
        severity: 2,
        flow: None,
        checks: Vec::new(),
        threshold: None,
    };
    let mut sid = None;
    let mut last_content: Option<usize> = None;
    for (name, value) in options {
        let need = |v: &Option<String>| -> Result<String, RuleError> {
            v.clone()
                .filter(|v| !v.is_empty())
                .ok_or_else(|| at.err(&name, "needs a value"))
        };
        let bad = |m: String| at.err(&name, m);
        match name.as_str() {
            "msg" => {
                rule.msg = unquote(&need(&value)?).ok_or_else(|| bad("expected a quoted string".into()))?;
            }
            "sid" => {
                let v = need(&value)?;
                let n: u64 = v
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| bad(format!("{v:?} is not a positive number")))?;
                if sid.replace(n).is_some() {
                    return Err(bad("given twice".into()));
                }
            }
            "rev" => {
                let v = need(&value)?;
                rule.rev = v.parse().map_err(|_| bad(format!("{v:?} is not a number")))?;
            }
            "classtype" => rule.classtype = Some(need(&value)?),
            "priority" => {
                let v = need(&value)?;
                let p: u64 = v.parse().map_err(|_| bad(format!("{v:?} is not a number")))?;
                // Suricata's scale: 1 is the highest; anything beyond 3 is "low".
                rule.severity = p.clamp(1, 3) as u8;
            }
            "reference" => rule.references.push(need(&value)?),
            "metadata" => {
                for pair in need(&value)?.split(',') {
                    let pair = pair.trim();
                    let (k, v) = pair.split_once(char::is_whitespace).unwrap_or((pair, ""));
                    if k.is_empty() {
                        return Err(bad("empty metadata entry".into()));
                    }
                    rule.metadata.push((k.to_string(), v.trim().to_string()));
                }
            }
            "flow" => {
                for f in need(&value)?.split(',').map(str::trim) {
                    let dir = match f {
                        "to_server" | "from_client" => Some(FlowDir::ToServer),
                        "to_client" | "from_server" => Some(FlowDir::ToClient),
                        "established" | "stateless" => None,
                        other => {
                            return Err(bad(format!(
                                "unknown flow setting {other:?}: expected to_server, from_client, to_client, \
                                 from_server or established"
                            )));
                        }
                    };
                    if let Some(d) = dir {
                        if rule.flow.is_some_and(|x| x != d) {
                            return Err(bad("both directions given".into()));
                        }
                        rule.flow = Some(d);
                    }
                }
            }
            "modbus" => rule
                .checks
                .push(Check::Modbus(ModbusKw::parse(&need(&value)?).map_err(bad)?)),
            "dsize" => {
                if rule.checks.iter().any(|c| matches!(c, Check::Dsize(_))) {
                    return Err(bad("given twice".into()));
                }
                rule.checks
                    .push(Check::Dsize(parse_dsize(&need(&value)?).map_err(bad)?));
            }
            "content" => {
                let c = Content::parse(&need(&value)?).map_err(bad)?;
                last_content = Some(rule.checks.len());
                rule.checks.push(Check::Content(c));
            }
            "offset" | "depth" | "nocase" | "fast_pattern" => {
                let Some(Check::Content(c)) = last_content.and_then(|i| rule.checks.get_mut(i)) else {
                    return Err(bad("applies to a content: put it after one".into()));
                };
                match name.as_str() {
                    "nocase" => c.nocase = true,
                    "fast_pattern" => {}
                    _ => {
                        let v = need(&value)?;
                        let n: usize = v
                            .parse()
                            .map_err(|_| at.err(&name, format!("{v:?} is not a non-negative number")))?;
                        if name == "offset" {
                            c.offset = n;
                        } else {
                            if n < c.pattern.len() {
                                return Err(at.err(
                                    &name,
                                    format!(
                                        "depth {n} is shorter than the content ({} bytes)",
                                        c.pattern.len()
                                    ),
                                ));
                            }
                            c.depth = Some(n);
                        }
                    }
                }
            }
            "byte_test" => rule
                .checks
                .push(Check::ByteTest(ByteTest::parse(&need(&value)?).map_err(bad)?)),
            "app-layer-event" => rule
                .checks
                .push(Check::Event(Event::parse(&need(&value)?).map_err(bad)?)),
            "threshold" | "detection_filter" => {
                if rule.threshold.is_some() {
                    return Err(bad("one threshold or detection_filter per rule".into()));
                }
                let t = Threshold::parse(&need(&value)?, name == "detection_filter").map_err(bad)?;
                rule.threshold = Some(t);
            }
            "distance" | "within" => {
                return Err(bad(
                    "relative content matching is not supported: use offset and depth".into(),
                ));
            }
            _ => return Err(bad(format!("unknown option: expected one of {OPTIONS}"))),
        }
    }
    rule.sid = sid.ok_or_else(|| at.err("sid", "missing sid: every rule needs one"))?;
    if rule.needs_modbus_request() && rule.flow == Some(FlowDir::ToClient) {
        return Err(at.err(
            "flow",
            "the modbus keyword matches requests only, so to_client never matches",
        ));
    }
    Ok(rule)
}
