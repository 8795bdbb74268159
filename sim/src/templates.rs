//! Plant-file templates: a cell that repeats (a substation, a pumping station) is written
//! once, in a file of its own, and instantiated from the plant file with parameters.
//!
//! ```toml
//! [[instance]]
//! template = "cells/substation.toml"   # relative to the plant file
//! params = { feeder = "F1" }
//! range = { n = [1, 4] }               # four instances, n = 1, 2, 3, 4
//! ```
//!
//! The template file is an ordinary plant fragment (`[[host]]`, `[[link]]`, `[[plc]]`,
//! `[[process.tank]]`, ...) that starts with a `[template]` table declaring its parameters
//! and writes `${...}` where a value depends on them: `name = "plc-${n}"`,
//! `address = "10.20.${n}.11"`, `read = "hr:${4 * n}"`. Inside `${...}` a parameter alone
//! stands for its value (a string parameter may only stand alone), and integer parameters
//! combine with integers by `+ - * / %` and parentheses.
//!
//! Expansion is textual: each instance's text is the template's with its `[template]`
//! table blanked and every `${...}` replaced, appended to the plant file's text. The line
//! structure is kept, so an error in the expanded text maps back to the template file's
//! line (and column, through the substitutions), with the instance named. Expanded tables
//! come after the plant file's own, so their process components are evaluated after the
//! plant's (components run in file order).

use crate::base::config_error::FileError;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// One `[[instance]]` table of a plant file.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceConfig {
    /// The template file, relative to the plant file.
    pub template: Spanned<String>,
    /// Parameter values: strings or integers.
    #[serde(default)]
    pub params: BTreeMap<String, Spanned<toml::Value>>,
    /// At most one integer parameter and its inclusive range, `{ n = [1, 50] }`: one
    /// instance per value.
    #[serde(default)]
    pub range: BTreeMap<String, Spanned<[i64; 2]>>,
}

/// The `[template]` table that starts a template file.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateHeader {
    /// Every parameter the template uses; an instance must give each one.
    params: Vec<String>,
    /// Free text for people.
    #[serde(default)]
    #[allow(dead_code)]
    description: String,
}

/// A plant file's text with its instances expanded, and where each line came from.
#[derive(Debug, Clone)]
pub struct Expanded {
    /// The text the plant is parsed from: the plant file's, then each instance's.
    pub text: String,
    segments: Vec<Segment>,
}

/// A run of expanded lines that came from one file (the plant file, or one instance of a
/// template).
#[derive(Debug, Clone)]
struct Segment {
    /// First line of the run in the expanded text, 1-based.
    first: usize,
    /// Lines in the run.
    lines: usize,
    file: PathBuf,
    /// For an instance: how it was made, appended to messages; empty for the plant file.
    context: String,
    /// For each line of an instance, where substitutions moved its columns: pairs of
    /// (expanded column, file column) at which a stretch of identical text starts.
    columns: Vec<Vec<(usize, usize)>>,
}

impl Expanded {
    /// A plant file without instances, or before expansion: its own text, line for line.
    pub fn plain(file: &Path, text: &str) -> Expanded {
        Expanded {
            text: text.to_string(),
            segments: vec![Segment {
                first: 1,
                lines: text.lines().count().max(1),
                file: file.to_path_buf(),
                context: String::new(),
                columns: Vec::new(),
            }],
        }
    }

    /// Moves an error (and the further errors it carries) located in the expanded text to
    /// the file and line it came from: a line of an instance points into the template file,
    /// and the message says which instance. A mistake in a template repeats in every
    /// instance; it is reported once, with how many other instances have it.
    pub fn relocate(&self, e: FileError) -> FileError {
        let mut all: Vec<FileError> = Vec::with_capacity(e.count());
        let mut first = e;
        let rest = std::mem::take(&mut first.also);
        for err in std::iter::once(first).chain(rest) {
            all.push(self.relocate_one(err));
        }
        collapse(all)
    }

    fn relocate_one(&self, mut e: FileError) -> FileError {
        if e.line == 0 {
            return e;
        }
        let Some(seg) = self
            .segments
            .iter()
            .find(|s| e.line >= s.first && e.line < s.first + s.lines)
        else {
            return e;
        };
        if seg.context.is_empty() {
            return e;
        }
        let k = e.line - seg.first;
        let stops = &seg.columns[k];
        let col = e.column;
        let (g, f) = stops
            .iter()
            .rev()
            .find(|(g, _)| *g <= col)
            .copied()
            .unwrap_or((1, 1));
        e.file = seg.file.clone();
        e.line = k + 1;
        e.column = f + (col - g);
        e.message = format!("{} ({})", e.message, seg.context);
        e
    }
}

/// Several errors as one, each mistake of a template reported once with the number of
/// other instances that have it.
fn collapse(all: Vec<FileError>) -> FileError {
    let mut kept: Vec<(FileError, usize)> = Vec::new();
    for err in all {
        let key = same_mistake(&err);
        match kept
            .iter_mut()
            .find(|(k, _)| key.is_some() && same_mistake(k) == key)
        {
            Some((_, n)) => *n += 1,
            None => kept.push((err, 0)),
        }
    }
    let kept = kept.into_iter().map(|(mut err, others)| {
        if others > 0 && err.message.ends_with(')') {
            err.message.pop();
            let s = if others == 1 { "" } else { "s" };
            err.message
                .push_str(&format!("; the same in {others} other instance{s})"));
        }
        err
    });
    FileError::all(kept).expect("at least the error itself")
}

/// For an error in an instance: its place, its message without the instance, and its field
/// without array indices (which differ between instances), so the same mistake in every
/// instance of a template is recognised. `None` for an error outside instances.
fn same_mistake(e: &FileError) -> Option<(PathBuf, usize, usize, String, String)> {
    let cut = e.message.rfind(" (in ")?;
    let mut field = String::with_capacity(e.field.len());
    let mut in_index = false;
    for c in e.field.chars() {
        match c {
            '[' => {
                in_index = true;
                field.push(c);
            }
            ']' => {
                in_index = false;
                field.push(c);
            }
            _ if in_index => {}
            _ => field.push(c),
        }
    }
    Some((
        e.file.clone(),
        e.line,
        e.column,
        e.message[..cut].to_string(),
        field,
    ))
}

/// Reads the plant file's `[[instance]]` tables and expands them. `file` is the plant
/// file (template paths are relative to its directory), `text` its contents. Errors are
/// located in the plant file (a bad instance) or the template file (a bad template or
/// `${...}`), and every one found is reported.
pub fn expand(file: &Path, text: &str) -> Result<Expanded, FileError> {
    #[derive(serde::Deserialize)]
    struct Instances {
        #[serde(default)]
        instance: Vec<Spanned<InstanceConfig>>,
    }
    let mut out = Expanded::plain(file, text);
    let instances = match toml::from_str::<Instances>(text) {
        Ok(i) => i.instance,
        // The full parse reports syntax and type errors with the field path.
        Err(_) => return Ok(out),
    };
    if instances.is_empty() {
        return Ok(out);
    }
    let base = file.parent().unwrap_or(Path::new("."));
    let at = |span: std::ops::Range<usize>, field: String, msg: String| {
        FileError::at(file, text, Some(span), field, msg)
    };
    let mut errors = Vec::new();
    let mut templates: BTreeMap<String, (PathBuf, String, Vec<String>)> = BTreeMap::new();
    if !out.text.ends_with('\n') {
        out.text.push('\n');
    }
    let mut next_line = out.text.lines().count() + 1;
    for (i, inst) in instances.iter().enumerate() {
        let cfg = inst.get_ref();
        let field = |k: &str| format!("instance[{i}].{k}");
        let name = cfg.template.get_ref();
        if !templates.contains_key(name) {
            let path = base.join(name);
            match read_template(&path) {
                Ok((body, params)) => {
                    templates.insert(name.clone(), (path, body, params));
                }
                Err(TemplateError::Unreadable(msg)) => {
                    errors.push(at(cfg.template.span(), field("template"), msg));
                    continue;
                }
                Err(TemplateError::Bad(e)) => {
                    errors.push(e);
                    continue;
                }
            }
        }
        let (path, body, declared) = &templates[name];
        // Every declared parameter given once, by `params` or `range`; nothing else given.
        let mut bad = false;
        for (k, v) in &cfg.params {
            if !declared.contains(k) {
                errors.push(at(
                    v.span(),
                    field(&format!("params.{k}")),
                    unknown_param(k, name, declared),
                ));
                bad = true;
            } else if !matches!(v.get_ref(), toml::Value::String(_) | toml::Value::Integer(_)) {
                errors.push(at(
                    v.span(),
                    field(&format!("params.{k}")),
                    format!(
                        "a parameter is a string or an integer, got {}",
                        v.get_ref().type_str()
                    ),
                ));
                bad = true;
            }
        }
        if cfg.range.len() > 1 {
            let (k, v) = cfg.range.iter().nth(1).expect("two entries");
            errors.push(at(
                v.span(),
                field(&format!("range.{k}")),
                "one range per instance: nest the cells in a template of their own to vary two parameters"
                    .into(),
            ));
            bad = true;
        }
        for (k, v) in &cfg.range {
            let [lo, hi] = *v.get_ref();
            if !declared.contains(k) {
                errors.push(at(
                    v.span(),
                    field(&format!("range.{k}")),
                    unknown_param(k, name, declared),
                ));
                bad = true;
            } else if cfg.params.contains_key(k) {
                errors.push(at(
                    v.span(),
                    field(&format!("range.{k}")),
                    format!("{k} is given in params too"),
                ));
                bad = true;
            } else if lo > hi || hi - lo >= 100_000 {
                errors.push(at(
                    v.span(),
                    field(&format!("range.{k}")),
                    format!("expected [first, last] with first <= last and at most 100000 values, got [{lo}, {hi}]"),
                ));
                bad = true;
            }
        }
        for d in declared {
            if !cfg.params.contains_key(d) && !cfg.range.contains_key(d) {
                errors.push(at(
                    inst.span(),
                    field("params"),
                    format!(
                        "the template {name:?} needs a value for {d:?} (its params: {})",
                        declared.join(", ")
                    ),
                ));
                bad = true;
            }
        }
        if bad {
            continue;
        }
        let values: Vec<Option<(&String, i64)>> = match cfg.range.iter().next() {
            Some((k, v)) => {
                let [lo, hi] = *v.get_ref();
                (lo..=hi).map(|n| Some((k, n))).collect()
            }
            None => vec![None],
        };
        let (line, _) = crate::base::config_error::line_col(text, inst.span().start);
        for ranged in values {
            let mut env: BTreeMap<&str, toml::Value> = cfg
                .params
                .iter()
                .map(|(k, v)| (k.as_str(), v.get_ref().clone()))
                .collect();
            if let Some((k, n)) = ranged {
                env.insert(k.as_str(), toml::Value::Integer(n));
            }
            let shown: Vec<String> = env.iter().map(|(k, v)| format!("{k} = {v}")).collect();
            let context = format!(
                "in {} as instance[{i}] of {}:{line}, {}",
                path.display(),
                file.display(),
                shown.join(", ")
            );
            match substitute(body, &env) {
                Ok((expanded, columns)) => {
                    let lines = columns.len();
                    out.text.push_str(&expanded);
                    out.segments.push(Segment {
                        first: next_line,
                        lines,
                        file: path.clone(),
                        context,
                        columns,
                    });
                    next_line += lines;
                }
                Err((k, col, msg)) => {
                    errors.push(FileError {
                        file: path.clone(),
                        line: k + 1,
                        column: col,
                        field: "${...}".into(),
                        message: format!("{msg} ({context})"),
                        also: Vec::new(),
                    });
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(collapse(errors))
    }
}

enum TemplateError {
    Unreadable(String),
    Bad(FileError),
}

/// A template file's text with its `[template]` table blanked (line count kept), and its
/// declared parameters.
fn read_template(path: &Path) -> Result<(String, Vec<String>), TemplateError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        TemplateError::Unreadable(format!(
            "cannot read template {}: {e} (paths are relative to the plant file)",
            path.display()
        ))
    })?;
    #[derive(serde::Deserialize)]
    struct Head {
        template: Option<Spanned<TemplateHeader>>,
    }
    // `${...}` makes most templates invalid TOML as written, so the header is read from
    // the header's own lines.
    let (start, end) = header_lines(&text);
    let head_text: String = text
        .lines()
        .skip(start)
        .take(end - start)
        .collect::<Vec<_>>()
        .join("\n");
    let head: Head = toml::from_str(&head_text).map_err(|e| {
        let (l, c) = e
            .span()
            .map(|s| crate::base::config_error::line_col(&head_text, s.start))
            .unwrap_or((0, 0));
        TemplateError::Bad(FileError {
            file: path.to_path_buf(),
            line: if l == 0 { 0 } else { l + start },
            column: c,
            field: "template".into(),
            message: e.message().to_string(),
            also: Vec::new(),
        })
    })?;
    let Some(header) = head.template else {
        return Err(TemplateError::Bad(FileError::whole_file(
            path,
            "a template starts with a [template] table: params = [\"n\", ...]",
        )));
    };
    let mut body = String::with_capacity(text.len());
    for (k, line) in text.lines().enumerate() {
        if (start..end).contains(&k) {
            body.push('\n');
        } else {
            body.push_str(line);
            body.push('\n');
        }
    }
    Ok((body, header.into_inner().params))
}

/// The 0-based lines `[start, end)` of the `[template]` table: its header and the lines up
/// to the next table header. `(0, 0)` when there is none.
fn header_lines(text: &str) -> (usize, usize) {
    let lines: Vec<&str> = text.lines().collect();
    let Some(start) = lines.iter().position(|l| l.trim() == "[template]") else {
        return (0, 0);
    };
    let end = lines[start + 1..]
        .iter()
        .position(|l| l.trim_start().starts_with('['))
        .map_or(lines.len(), |p| start + 1 + p);
    (start, end)
}

fn unknown_param(k: &str, template: &str, declared: &[String]) -> String {
    format!(
        "the template {template:?} has no parameter {k:?}; its params: {}",
        declared.join(", ")
    )
}

/// Replaces every `${...}` in `body`. Returns the text and, per line, the column stops for
/// mapping back; or the 0-based line, 1-based column and message of the first bad one.
#[allow(clippy::type_complexity)]
fn substitute(
    body: &str,
    env: &BTreeMap<&str, toml::Value>,
) -> Result<(String, Vec<Vec<(usize, usize)>>), (usize, usize, String)> {
    let mut out = String::with_capacity(body.len() + body.len() / 8);
    let mut columns = Vec::new();
    for (k, line) in body.lines().enumerate() {
        let mut stops = vec![(1, 1)];
        let mut gen_col = 1;
        let mut rest = line;
        let mut file_col = 1;
        while let Some(p) = rest.find("${") {
            let before = &rest[..p];
            out.push_str(before);
            gen_col += before.chars().count();
            file_col += before.chars().count();
            let Some(close) = rest[p..].find('}') else {
                return Err((k, file_col, "`${` without its closing `}`".into()));
            };
            let expr = &rest[p + 2..p + close];
            let value = eval(expr, env).map_err(|m| (k, file_col, format!("in ${{{expr}}}: {m}")))?;
            out.push_str(&value);
            gen_col += value.chars().count();
            file_col += close + 1;
            stops.push((gen_col, file_col));
            rest = &rest[p + close + 1..];
        }
        out.push_str(rest);
        out.push('\n');
        columns.push(stops);
    }
    Ok((out, columns))
}

/// Evaluates a `${...}` expression: a parameter alone (a string or an integer), or integer
/// arithmetic over parameters and literals.
fn eval(expr: &str, env: &BTreeMap<&str, toml::Value>) -> Result<String, String> {
    let e = expr.trim();
    if let Some(v) = env.get(e) {
        return Ok(match v {
            toml::Value::String(s) => s.clone(),
            other => other.to_string(),
        });
    }
    let mut p = Parser {
        tokens: tokenize(e)?,
        at: 0,
        env,
    };
    let v = p.sum()?;
    if p.at != p.tokens.len() {
        return Err(format!("unexpected {:?}", p.tokens[p.at]));
    }
    Ok(v.to_string())
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Num(i64),
    Name(String),
    Op(char),
}

fn tokenize(e: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let chars: Vec<char> = e.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() {
            let s: String = chars[i..].iter().take_while(|c| c.is_ascii_digit()).collect();
            i += s.len();
            out.push(Token::Num(s.parse().map_err(|_| format!("{s} is too large"))?));
        } else if c.is_ascii_alphabetic() || c == '_' {
            let s: String = chars[i..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
                .collect();
            i += s.len();
            out.push(Token::Name(s));
        } else if "+-*/%()".contains(c) {
            out.push(Token::Op(c));
            i += 1;
        } else {
            return Err(format!(
                "unexpected {c:?}: expected a parameter, an integer or + - * / % ( )"
            ));
        }
    }
    if out.is_empty() {
        return Err("empty expression".into());
    }
    Ok(out)
}

struct Parser<'a> {
    tokens: Vec<Token>,
    at: usize,
    env: &'a BTreeMap<&'a str, toml::Value>,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn sum(&mut self) -> Result<i64, String> {
        let mut v = self.product()?;
        while let Some(Token::Op(op @ ('+' | '-'))) = self.peek().cloned() {
            self.at += 1;
            let r = self.product()?;
            v = if op == '+' {
                v.checked_add(r)
            } else {
                v.checked_sub(r)
            }
            .ok_or("overflow")?;
        }
        Ok(v)
    }

    fn product(&mut self) -> Result<i64, String> {
        let mut v = self.atom()?;
        while let Some(Token::Op(op @ ('*' | '/' | '%'))) = self.peek().cloned() {
            self.at += 1;
            let r = self.atom()?;
            v = match op {
                '*' => v.checked_mul(r).ok_or("overflow")?,
                _ if r == 0 => return Err("division by zero".into()),
                '/' => v / r,
                _ => v % r,
            };
        }
        Ok(v)
    }

    fn atom(&mut self) -> Result<i64, String> {
        let t = self.peek().cloned().ok_or("the expression ends too early")?;
        self.at += 1;
        match t {
            Token::Num(n) => Ok(n),
            Token::Name(n) => match self.env.get(n.as_str()) {
                Some(toml::Value::Integer(i)) => Ok(*i),
                Some(_) => Err(format!(
                    "{n} is a string: a string parameter stands alone, as ${{{n}}}"
                )),
                None => {
                    let known: Vec<&str> = self.env.keys().copied().collect();
                    Err(format!(
                        "unknown parameter {n:?}; the instance gives: {}",
                        known.join(", ")
                    ))
                }
            },
            Token::Op('-') => Ok(-self.atom()?),
            Token::Op('(') => {
                let v = self.sum()?;
                match self.peek() {
                    Some(Token::Op(')')) => {
                        self.at += 1;
                        Ok(v)
                    }
                    _ => Err("a `(` without its `)`".into()),
                }
            }
            Token::Op(c) => Err(format!("unexpected {c:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&'static str, toml::Value)]) -> BTreeMap<&'static str, toml::Value> {
        pairs.iter().cloned().collect()
    }

    #[test]
    fn expressions_evaluate_over_integer_parameters() {
        let e = env(&[("n", toml::Value::Integer(3)), ("zone", "field".into())]);
        assert_eq!(eval("n", &e).unwrap(), "3");
        assert_eq!(eval(" zone ", &e).unwrap(), "field");
        assert_eq!(eval("4 * n + 1", &e).unwrap(), "13");
        assert_eq!(eval("(n - 1) * 16 % 40", &e).unwrap(), "32");
        assert_eq!(eval("-n + 10 / 3", &e).unwrap(), "0");
        assert!(eval("zone + 1", &e).unwrap_err().contains("stands alone"));
        assert!(eval("m + 1", &e).unwrap_err().contains("unknown parameter \"m\""));
        assert!(eval("n / 0", &e).unwrap_err().contains("division by zero"));
        assert!(eval("(n", &e).unwrap_err().contains("without its"));
    }

    #[test]
    fn substitution_keeps_lines_and_maps_columns_back() {
        let e = env(&[("n", toml::Value::Integer(12))]);
        let (text, cols) = substitute("a = \"x-${n}-y\"\nb = ${n * 100}\n", &e).unwrap();
        assert_eq!(text, "a = \"x-12-y\"\nb = 1200\n");
        // "-y" starts at expanded column 10 and file column 12 of line 1.
        assert_eq!(cols[0], vec![(1, 1), (10, 12)]);
        let (k, col, msg) = substitute("a = 1\nb = \"${m}\"\n", &e).unwrap_err();
        assert_eq!((k, col), (1, 6));
        assert!(msg.contains("unknown parameter"), "{msg}");
    }
}
