//! One field of a Sigma selection: `Field|mod1|mod2: value(s)`, and how it matches an
//! event's field. Values are case-insensitive strings with `*` and `?` wildcards unless a
//! modifier says otherwise (`re`, `cased`, the numeric comparisons), as the Sigma rules
//! specification (v2.0.0, "General", "Escaping") and its modifier appendix define them.

use otrange_sim::devices::host_log::FieldValue;

/// The modifiers this evaluator knows, for error messages.
pub(crate) const MODIFIERS: &str =
    "contains, startswith, endswith, all, re (with i, m, s), windash, cased, exists, lt, lte, gt, gte";

/// One piece of a wildcard pattern.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    /// A character to match (lowercased unless the pattern is cased).
    Char(char),
    /// `?`: exactly one character.
    One,
    /// `*`: any run of characters, none included.
    Any,
}

/// A string value with its wildcards resolved.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Glob {
    pieces: Vec<Piece>,
    cased: bool,
}

impl Glob {
    /// `text` as Sigma reads it: `*` and `?` are wildcards; `\*`, `\?` are the characters
    /// themselves, `\\` a backslash, and any other backslash is itself (`C:\Windows`).
    pub(crate) fn new(text: &str, cased: bool) -> Glob {
        let mut pieces = Vec::new();
        let mut chars = text.chars().peekable();
        let fold = |c: char| if cased { c } else { lower(c) };
        while let Some(c) = chars.next() {
            match c {
                '*' => pieces.push(Piece::Any),
                '?' => pieces.push(Piece::One),
                '\\' => match chars.peek() {
                    Some(&n @ ('*' | '?' | '\\')) => {
                        chars.next();
                        pieces.push(Piece::Char(n));
                    }
                    _ => pieces.push(Piece::Char('\\')),
                },
                c => pieces.push(Piece::Char(fold(c))),
            }
        }
        Glob { pieces, cased }
    }

    /// Puts `*` before and/or after (contains, startswith, endswith).
    fn widen(mut self, before: bool, after: bool) -> Glob {
        if before && self.pieces.first() != Some(&Piece::Any) {
            self.pieces.insert(0, Piece::Any);
        }
        if after && self.pieces.last() != Some(&Piece::Any) {
            self.pieces.push(Piece::Any);
        }
        self
    }

    /// Whether the whole of `s` matches (the usual greedy star matcher with backtracking to
    /// the last `*`: linear in practice, never exponential).
    pub(crate) fn matches(&self, s: &str) -> bool {
        let text: Vec<char> = if self.cased {
            s.chars().collect()
        } else {
            s.chars().map(lower).collect()
        };
        let p = &self.pieces;
        let (mut i, mut j) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while i < text.len() {
            match p.get(j) {
                Some(Piece::Char(c)) if *c == text[i] => {
                    i += 1;
                    j += 1;
                }
                Some(Piece::One) => {
                    i += 1;
                    j += 1;
                }
                Some(Piece::Any) => {
                    star = Some((j, i));
                    j += 1;
                }
                _ => match star {
                    Some((sj, si)) => {
                        j = sj + 1;
                        i = si + 1;
                        star = Some((sj, si + 1));
                    }
                    None => return false,
                },
            }
        }
        p[j..].iter().all(|x| *x == Piece::Any)
    }
}

/// Case folding of one character (its first lowercase form: enough for paths and names).
fn lower(c: char) -> char {
    c.to_lowercase().next().unwrap_or(c)
}

/// A numeric comparison (`lt`, `lte`, `gt`, `gte`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Cmp {
    Lt,
    Lte,
    Gt,
    Gte,
}

/// One value of a field, as a modifier chain made it.
#[derive(Debug, Clone)]
pub(crate) enum Pattern {
    /// Text with wildcards; a number field matches on its decimal form.
    Glob(Glob),
    /// A plain number: equal to a number field, or to a text field that reads as it.
    Number(i64),
    /// `null`: the field is absent (or empty).
    Null,
    /// `re`: a regular expression searched in the field's text.
    Regex(regex::Regex),
    /// `exists: true|false`.
    Exists(bool),
    /// `lt`/`lte`/`gt`/`gte`: a number field compared with a number.
    Compare(Cmp, i64),
}

impl Pattern {
    /// Whether `value` (`None`: the event has no such field) matches.
    pub(crate) fn matches(&self, value: Option<&FieldValue>) -> bool {
        match (self, value) {
            (Pattern::Exists(want), v) => v.is_some() == *want,
            (Pattern::Null, None) => true,
            (Pattern::Null, Some(FieldValue::Text(s))) => s.is_empty(),
            (Pattern::Null, Some(FieldValue::Number(_))) | (_, None) => false,
            (Pattern::Glob(g), Some(FieldValue::Text(s))) => g.matches(s),
            (Pattern::Glob(g), Some(FieldValue::Number(n))) => g.matches(&n.to_string()),
            (Pattern::Number(want), Some(FieldValue::Number(n))) => n == want,
            (Pattern::Number(want), Some(FieldValue::Text(s))) => s.trim().parse::<i64>() == Ok(*want),
            (Pattern::Regex(r), Some(FieldValue::Text(s))) => r.is_match(s),
            (Pattern::Regex(r), Some(FieldValue::Number(n))) => r.is_match(&n.to_string()),
            (Pattern::Compare(op, want), Some(v)) => {
                let n = match v {
                    FieldValue::Number(n) => *n,
                    FieldValue::Text(s) => match s.trim().parse::<i64>() {
                        Ok(n) => n,
                        Err(_) => return false,
                    },
                };
                match op {
                    Cmp::Lt => n < *want,
                    Cmp::Lte => n <= *want,
                    Cmp::Gt => n > *want,
                    Cmp::Gte => n >= *want,
                }
            }
        }
    }
}

/// `Field|modifiers: values`: the event's field must match one value (all of them with
/// `all`).
#[derive(Debug, Clone)]
pub(crate) struct FieldMatch {
    /// The field's name, as the event records it (`Image`, `EventID`).
    pub(crate) field: String,
    /// The values, alternatives unless `all`.
    pub(crate) patterns: Vec<Pattern>,
    /// `all`: every value must match.
    pub(crate) all: bool,
}

impl FieldMatch {
    /// Whether the event's fields satisfy this one.
    pub(crate) fn matches(&self, fields: &[(&'static str, FieldValue)]) -> bool {
        let value = fields.iter().find(|(k, _)| *k == self.field).map(|(_, v)| v);
        if self.all {
            self.patterns.iter().all(|p| p.matches(value))
        } else {
            self.patterns.iter().any(|p| p.matches(value))
        }
    }
}

/// The modifiers of one field, read from `Field|mod|mod`.
#[derive(Debug, Default)]
pub(crate) struct Modifiers {
    contains: bool,
    startswith: bool,
    endswith: bool,
    pub(crate) all: bool,
    re: bool,
    re_flags: String,
    windash: bool,
    cased: bool,
    exists: bool,
    cmp: Option<Cmp>,
}

impl Modifiers {
    /// Reads the modifier names; an unknown or unsupported one is named in the error.
    pub(crate) fn parse(names: &[&str]) -> Result<Modifiers, String> {
        let mut m = Modifiers::default();
        for &n in names {
            match n {
                "contains" => m.contains = true,
                "startswith" => m.startswith = true,
                "endswith" => m.endswith = true,
                "all" => m.all = true,
                "re" => m.re = true,
                "i" | "m" | "s" if m.re => m.re_flags.push_str(n),
                "windash" => m.windash = true,
                "cased" => m.cased = true,
                "exists" => m.exists = true,
                "lt" => m.cmp = Some(Cmp::Lt),
                "lte" => m.cmp = Some(Cmp::Lte),
                "gt" => m.cmp = Some(Cmp::Gt),
                "gte" => m.cmp = Some(Cmp::Gte),
                "base64" | "base64offset" | "utf16" | "utf16le" | "utf16be" | "wide" | "expand" | "cidr"
                | "fieldref" | "minute" | "hour" | "day" | "week" | "month" | "year" => {
                    return Err(format!(
                        "the Sigma modifier {n:?} is not supported by otrange's host detector \
                         (supported: {MODIFIERS})"
                    ));
                }
                "" => return Err("an empty modifier (`||`)".into()),
                other => {
                    return Err(format!(
                        "unknown Sigma modifier {other:?} (supported: {MODIFIERS})"
                    ));
                }
            }
        }
        let wild = m.contains as u8 + m.startswith as u8 + m.endswith as u8;
        if wild > 1 {
            return Err("contains, startswith and endswith exclude one another".into());
        }
        if m.re && (wild > 0 || m.windash || m.cmp.is_some()) {
            return Err(
                "`re` takes the value as a regular expression: it combines with no other \
                        value modifier but all"
                    .into(),
            );
        }
        if m.exists && names.len() > 1 {
            return Err("`exists` stands alone: `Field|exists: true`".into());
        }
        if m.cmp.is_some() && (wild > 0 || m.windash || m.cased) {
            return Err("lt, lte, gt and gte compare numbers: no string modifier goes with them".into());
        }
        Ok(m)
    }

    /// The patterns one written value stands for (windash may make several).
    pub(crate) fn patterns(&self, value: &RawValue<'_>) -> Result<Vec<Pattern>, String> {
        if self.exists {
            return match value {
                RawValue::Bool(b) => Ok(vec![Pattern::Exists(*b)]),
                _ => Err("`exists` takes true or false".into()),
            };
        }
        if let Some(op) = self.cmp {
            return match value {
                RawValue::Int(n) => Ok(vec![Pattern::Compare(op, *n)]),
                _ => Err("lt, lte, gt and gte take a whole number".into()),
            };
        }
        let text = match value {
            RawValue::Null => return Ok(vec![Pattern::Null]),
            RawValue::Int(n) if !self.any_string_modifier() => return Ok(vec![Pattern::Number(*n)]),
            RawValue::Int(n) => n.to_string(),
            RawValue::Bool(b) => b.to_string(),
            RawValue::Text(s) => (*s).to_string(),
        };
        if self.re {
            let flags = if self.re_flags.is_empty() {
                String::new()
            } else {
                format!("(?{})", self.re_flags)
            };
            return regex::Regex::new(&format!("{flags}{text}"))
                .map(|r| vec![Pattern::Regex(r)])
                .map_err(|e| format!("not a valid regular expression: {e}"));
        }
        let variants = if self.windash { windash(&text) } else { vec![text] };
        Ok(variants
            .iter()
            .map(|v| {
                let g = Glob::new(v, self.cased);
                Pattern::Glob(g.widen(self.contains || self.endswith, self.contains || self.startswith))
            })
            .collect())
    }

    fn any_string_modifier(&self) -> bool {
        self.contains || self.startswith || self.endswith || self.windash || self.cased || self.re
    }
}

/// A value as the rule wrote it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum RawValue<'a> {
    Null,
    Int(i64),
    Bool(bool),
    Text(&'a str),
}

/// The dashes a Windows command-line flag may be written with (the modifier appendix's
/// `windash`: `-`, `/`, and the en dash, em dash and horizontal bar that copy-paste and
/// obfuscation introduce). Every `-` of the value is replaced by each of them at once.
fn windash(text: &str) -> Vec<String> {
    if !text.contains('-') {
        return vec![text.to_string()];
    }
    ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}']
        .iter()
        .map(|d| text.replace('-', &d.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> FieldValue {
        FieldValue::Text(s.into())
    }

    fn one(mods: &[&str], v: RawValue<'_>) -> Pattern {
        let m = Modifiers::parse(mods).unwrap();
        m.patterns(&v).unwrap().remove(0)
    }

    #[test]
    fn strings_match_whole_values_case_insensitively_with_wildcards() {
        let g = Glob::new(r"C:\Windows\System32\cmd.exe", false);
        assert!(g.matches(r"c:\windows\system32\CMD.EXE"));
        assert!(!g.matches(r"C:\Windows\System32\cmd.exe /c dir"));
        assert!(Glob::new(r"*\cmd.exe", false).matches(r"C:\Windows\System32\cmd.exe"));
        assert!(Glob::new("net?.exe", false).matches("net1.exe"));
        assert!(!Glob::new("net?.exe", false).matches("net.exe"));
        assert!(Glob::new("a*b*c", false).matches("axxbyybzc"));
        assert!(!Glob::new("a*b*c", false).matches("axxbyyb"));
    }

    #[test]
    fn backslashes_escape_wildcards_as_the_specification_says() {
        assert!(Glob::new(r"what\?", false).matches("what?"));
        assert!(!Glob::new(r"what\?", false).matches("whatx"));
        // `\\*`: a backslash, then a wildcard.
        assert!(Glob::new(r"C:\\*", false).matches(r"C:\Users"));
        // `\\\*`: a backslash and a star, both plain.
        assert!(Glob::new(r"a\\\*", false).matches(r"a\*"));
        assert!(!Glob::new(r"a\\\*", false).matches(r"a\b"));
        // `\\\\`: two backslashes.
        assert!(Glob::new(r"\\\\srv", false).matches(r"\\srv"));
    }

    #[test]
    fn modifiers_widen_compare_and_expand() {
        let c = one(&["contains"], RawValue::Text("-ExecutionPolicy Bypass"));
        assert!(c.matches(Some(&t("powershell.exe -executionpolicy bypass -File x.ps1"))));
        let s = one(&["startswith"], RawValue::Text(r"C:\Users\"));
        assert!(s.matches(Some(&t(r"C:\Users\Public\x.exe"))));
        assert!(!s.matches(Some(&t(r"D:\C:\Users\"))));
        let e = one(&["endswith"], RawValue::Text(r"\w3wp.exe"));
        assert!(e.matches(Some(&t(r"C:\Windows\System32\inetsrv\w3wp.exe"))));
        let cased = one(&["cased"], RawValue::Text("Start"));
        assert!(!cased.matches(Some(&t("start"))));
        let re = one(&["re"], RawValue::Text(r"^cmd\.exe /c [a-z]+$"));
        assert!(re.matches(Some(&t("cmd.exe /c whoami"))));
        assert!(!re.matches(Some(&t("CMD.EXE /c whoami"))));
        let rei = one(&["re", "i"], RawValue::Text(r"^cmd\.exe"));
        assert!(rei.matches(Some(&t("CMD.EXE /c whoami"))));
        let m = Modifiers::parse(&["windash", "contains"]).unwrap();
        let ps = m.patterns(&RawValue::Text(" -enc ")).unwrap();
        assert_eq!(ps.len(), 5);
        assert!(ps.iter().any(|p| p.matches(Some(&t("powershell /enc AAA")))));
        let gt = one(&["gt"], RawValue::Int(4));
        assert!(gt.matches(Some(&FieldValue::Number(10))));
        assert!(!gt.matches(Some(&FieldValue::Number(4))));
        let ex = one(&["exists"], RawValue::Bool(false));
        assert!(ex.matches(None));
        assert!(!ex.matches(Some(&t("x"))));
    }

    #[test]
    fn numbers_and_null_match_by_value_and_absence() {
        let n = one(&[], RawValue::Int(4624));
        assert!(n.matches(Some(&FieldValue::Number(4624))));
        assert!(n.matches(Some(&t("4624"))));
        assert!(!n.matches(Some(&FieldValue::Number(4625))));
        let quoted = one(&[], RawValue::Text("4624"));
        assert!(quoted.matches(Some(&FieldValue::Number(4624))));
        let null = one(&[], RawValue::Null);
        assert!(null.matches(None));
        assert!(!null.matches(Some(&t("x"))));
    }

    #[test]
    fn unknown_and_unsupported_modifiers_are_named() {
        let e = Modifiers::parse(&["contians"]).unwrap_err();
        assert!(e.contains("unknown Sigma modifier \"contians\""), "{e}");
        let e = Modifiers::parse(&["base64offset", "contains"]).unwrap_err();
        assert!(e.contains("\"base64offset\" is not supported"), "{e}");
        let e = Modifiers::parse(&["contains", "endswith"]).unwrap_err();
        assert!(e.contains("exclude one another"), "{e}");
        let bad = Modifiers::parse(&["re"])
            .unwrap()
            .patterns(&RawValue::Text("("))
            .unwrap_err();
        assert!(bad.contains("not a valid regular expression"), "{bad}");
    }
}
