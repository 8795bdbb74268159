//! A Sigma rule (the SigmaHQ rules specification, v2.0.0), in the subset a host detector
//! evaluates over single events: metadata, `logsource`, named selections and a condition.
//! What the subset leaves out (keyword searches, aggregations, correlation rules,
//! placeholders, encoding modifiers) is refused with the rule's line and field, never
//! skipped: a rule that silently matched nothing would be a blind spot nobody sees.

use super::condition::{self, Condition};
use super::matcher::{FieldMatch, Modifiers, RawValue};
use super::tags::attack_tags;
use super::yaml::{self, Node, Scalar, Value};
use otrange_sim::devices::host_log::{FieldValue, LogSource};

/// What is wrong with a rule, and where: 1-based line and column in the rule file, the
/// field's path (`detection.selection.Image|endswith`), the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{col}: {}{message}", if field.is_empty() { String::new() } else { format!("{field}: ") })]
pub struct SigmaError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
    /// Dotted path of the offending key, empty for the document itself.
    pub field: String,
    /// What is wrong and what was expected.
    pub message: String,
}

impl SigmaError {
    pub(crate) fn at(line: usize, col: usize, field: &str, message: impl Into<String>) -> Self {
        SigmaError {
            line,
            col,
            field: field.to_string(),
            message: message.into(),
        }
    }

    pub(crate) fn on(node: &Node, field: &str, message: impl Into<String>) -> Self {
        SigmaError::at(node.line, node.col, field, message)
    }
}

/// How urgent a match is (`level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Enrichment only.
    Informational,
    /// Notable, rarely an incident.
    Low,
    /// Worth a regular review.
    Medium,
    /// Worth a prompt review.
    High,
    /// An incident, nearly certainly.
    Critical,
}

impl Level {
    /// Its name in a rule.
    pub fn name(self) -> &'static str {
        match self {
            Level::Informational => "informational",
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }

    /// Suricata's severity scale for the EVE alert (1 high ... 3 low).
    pub fn severity(self) -> u8 {
        match self {
            Level::Critical | Level::High => 1,
            Level::Medium => 2,
            Level::Low | Level::Informational => 3,
        }
    }
}

/// Top-level keys a rule may have (the specification's file structure).
const KEYS: [&str; 19] = [
    "title",
    "id",
    "name",
    "related",
    "taxonomy",
    "status",
    "description",
    "license",
    "references",
    "author",
    "date",
    "modified",
    "logsource",
    "detection",
    "fields",
    "falsepositives",
    "level",
    "tags",
    "scope",
];

/// The `logsource` a rule reads: every key it names must equal the event's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleLogSource {
    /// `product` (`windows`, `ics`).
    pub product: Option<String>,
    /// `category` (`process_creation`, `file_event`).
    pub category: Option<String>,
    /// `service` (`security`, `system`, `engineering`).
    pub service: Option<String>,
}

impl RuleLogSource {
    /// Whether an event logged under `src` is one this rule reads.
    pub fn covers(&self, src: &LogSource) -> bool {
        let same = |want: &Option<String>, have: Option<&str>| match want {
            None => true,
            Some(w) => have.is_some_and(|h| h.eq_ignore_ascii_case(w)),
        };
        same(&self.product, Some(src.product))
            && same(&self.category, src.category)
            && same(&self.service, src.service)
    }

    fn describe(&self) -> String {
        let mut parts = Vec::new();
        for (k, v) in [
            ("product", &self.product),
            ("category", &self.category),
            ("service", &self.service),
        ] {
            if let Some(v) = v {
                parts.push(format!("{k}: {v}"));
            }
        }
        parts.join(", ")
    }
}

/// A selection: maps joined by OR, each map's fields joined by AND.
#[derive(Debug, Clone)]
struct Selection(Vec<Vec<FieldMatch>>);

impl Selection {
    fn matches(&self, fields: &[(&'static str, FieldValue)]) -> bool {
        self.0.iter().any(|m| m.iter().all(|f| f.matches(fields)))
    }
}

/// A parsed rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// `title`: what alerts call it.
    pub title: String,
    /// `id`, a UUID, when given.
    pub id: Option<String>,
    /// `status` (stable, test, experimental, deprecated, unsupported).
    pub status: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `references`.
    pub references: Vec<String>,
    /// `author`.
    pub author: Option<String>,
    /// `date`.
    pub date: Option<String>,
    /// `tags`, as written.
    pub tags: Vec<String>,
    /// `level`; medium when the rule gives none.
    pub level: Level,
    /// `falsepositives`.
    pub falsepositives: Vec<String>,
    /// `logsource`.
    pub logsource: RuleLogSource,
    /// The first ATT&CK technique tag (`attack.t0853` gives "T0853"): what its alerts name.
    pub technique: Option<String>,
    /// The first ATT&CK tactic tag, by name ("Execution").
    pub tactic: Option<String>,
    selections: Vec<Selection>,
    condition: Condition,
}

impl Rule {
    /// Parses a rule from its YAML text; errors carry line, column and field.
    pub fn parse(text: &str) -> Result<Rule, SigmaError> {
        let doc = yaml::parse(text)?;
        let Value::Map(pairs) = &doc.value else {
            return Err(SigmaError::on(
                &doc,
                "",
                "a Sigma rule is a mapping (title:, logsource:, detection:, ...)",
            ));
        };
        for (k, _) in pairs {
            let key = k.text().unwrap_or_default();
            if key == "correlation" || key == "filter" {
                return Err(SigmaError::on(
                    k,
                    key,
                    "correlation and filter (meta) rules are not supported: one detection rule per file",
                ));
            }
            if key == "action" {
                return Err(SigmaError::on(
                    k,
                    key,
                    "rule collections (`action:`) are not supported",
                ));
            }
            if !KEYS.contains(&key) {
                return Err(SigmaError::on(
                    k,
                    key,
                    format!("unknown rule key {key:?} (expected one of {})", KEYS.join(", ")),
                ));
            }
        }
        let title = required_text(&doc, "title")?;
        let id = optional_text(&doc, "id")?;
        if let (Some(id), Some(node)) = (&id, doc.get("id"))
            && !is_uuid(id)
        {
            return Err(SigmaError::on(node, "id", format!("{id:?} is not a UUID")));
        }
        let status = optional_text(&doc, "status")?;
        if let (Some(s), Some(node)) = (&status, doc.get("status"))
            && !["stable", "test", "experimental", "deprecated", "unsupported"].contains(&s.as_str())
        {
            return Err(SigmaError::on(
                node,
                "status",
                format!("{s:?}: expected stable, test, experimental, deprecated or unsupported"),
            ));
        }
        let date = optional_text(&doc, "date")?;
        if let (Some(d), Some(node)) = (&date, doc.get("date"))
            && !is_date(d)
        {
            return Err(SigmaError::on(
                node,
                "date",
                format!("{d:?}: expected YYYY-MM-DD"),
            ));
        }
        let level = match doc.get("level") {
            None => Level::Medium,
            Some(node) => match node.text() {
                Some("informational") => Level::Informational,
                Some("low") => Level::Low,
                Some("medium") => Level::Medium,
                Some("high") => Level::High,
                Some("critical") => Level::Critical,
                _ => {
                    return Err(SigmaError::on(
                        node,
                        "level",
                        "expected informational, low, medium, high or critical",
                    ));
                }
            },
        };
        let tags = text_list(&doc, "tags")?;
        let (technique, tactic) = attack_tags(&doc, &tags)?;
        let logsource = logsource(&doc)?;
        let (names, selections, condition) = detection(&doc, &logsource)?;
        debug_assert_eq!(names.len(), selections.len());
        Ok(Rule {
            title,
            id,
            status,
            description: optional_text(&doc, "description")?,
            references: text_list(&doc, "references")?,
            author: optional_text(&doc, "author")?,
            date,
            tags,
            level,
            falsepositives: text_list(&doc, "falsepositives")?,
            logsource,
            technique,
            tactic,
            selections,
            condition,
        })
    }

    /// Whether an event logged under `src` with these fields matches the rule.
    pub fn matches(&self, src: &LogSource, fields: &[(&'static str, FieldValue)]) -> bool {
        if !self.logsource.covers(src) {
            return false;
        }
        let mut cache: Vec<Option<bool>> = vec![None; self.selections.len()];
        self.condition
            .eval(&mut |i| *cache[i].get_or_insert_with(|| self.selections[i].matches(fields)))
    }
}

fn required_text(doc: &Node, key: &str) -> Result<String, SigmaError> {
    match optional_text(doc, key)? {
        Some(t) if !t.trim().is_empty() => Ok(t),
        Some(_) => Err(SigmaError::on(
            doc.get(key).unwrap_or(doc),
            key,
            "must not be empty",
        )),
        None => Err(SigmaError::on(doc, key, format!("a rule needs a `{key}`"))),
    }
}

fn optional_text(doc: &Node, key: &str) -> Result<Option<String>, SigmaError> {
    match doc.get(key) {
        None => Ok(None),
        Some(n) => match n.text() {
            Some(t) => Ok(Some(t.to_string())),
            None => Err(SigmaError::on(
                n,
                key,
                format!("expected text, found {}", n.kind()),
            )),
        },
    }
}

fn text_list(doc: &Node, key: &str) -> Result<Vec<String>, SigmaError> {
    match doc.get(key) {
        None => Ok(Vec::new()),
        Some(n) => match &n.value {
            Value::Seq(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    item.text()
                        .map(str::to_string)
                        .ok_or_else(|| SigmaError::on(item, &format!("{key}[{i}]"), "expected text"))
                })
                .collect(),
            _ => Err(SigmaError::on(
                n,
                key,
                format!("expected a list, found {}", n.kind()),
            )),
        },
    }
}

fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && parts.iter().all(|p| p.chars().all(|c| c.is_ascii_hexdigit()))
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && (b[4] == b'-' && b[7] == b'-' || b[4] == b'/' && b[7] == b'/')
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

fn logsource(doc: &Node) -> Result<RuleLogSource, SigmaError> {
    let Some(node) = doc.get("logsource") else {
        return Err(SigmaError::on(doc, "logsource", "a rule needs a `logsource`"));
    };
    let Value::Map(pairs) = &node.value else {
        return Err(SigmaError::on(
            node,
            "logsource",
            "expected a mapping of product, category, service",
        ));
    };
    let mut ls = RuleLogSource::default();
    for (k, v) in pairs {
        let key = k.text().unwrap_or_default();
        let field = format!("logsource.{key}");
        let text = || {
            v.text()
                .map(|t| t.to_ascii_lowercase())
                .ok_or_else(|| SigmaError::on(v, &field, "expected text"))
        };
        match key {
            "product" => ls.product = Some(text()?),
            "category" => ls.category = Some(text()?),
            "service" => ls.service = Some(text()?),
            "definition" => {}
            _ => {
                return Err(SigmaError::on(
                    k,
                    &field,
                    "unknown logsource key (expected product, category, service or definition)",
                ));
            }
        }
    }
    if ls == RuleLogSource::default() {
        return Err(SigmaError::on(
            node,
            "logsource",
            "names no product, category or service",
        ));
    }
    if super::fields::recorded(&ls).is_empty() {
        return Err(SigmaError::on(
            node,
            "logsource",
            format!(
                "otrange's hosts log nothing under {{{}}} (they log: {})",
                ls.describe(),
                super::fields::sources()
            ),
        ));
    }
    Ok(ls)
}

type Detection = (Vec<String>, Vec<Selection>, Condition);

fn detection(doc: &Node, ls: &RuleLogSource) -> Result<Detection, SigmaError> {
    let Some(node) = doc.get("detection") else {
        return Err(SigmaError::on(doc, "detection", "a rule needs a `detection`"));
    };
    let Value::Map(pairs) = &node.value else {
        return Err(SigmaError::on(
            node,
            "detection",
            "expected a mapping of selections and a condition",
        ));
    };
    let known = super::fields::recorded(ls);
    let mut names = Vec::new();
    let mut selections = Vec::new();
    let mut cond_node = None;
    for (k, v) in pairs {
        let key = k.text().unwrap_or_default();
        match key {
            "condition" => cond_node = Some(v),
            "timeframe" => {
                return Err(SigmaError::on(
                    k,
                    "detection.timeframe",
                    "`timeframe` (aggregation over time) is not supported: a host rule matches single events",
                ));
            }
            _ => {
                let field = format!("detection.{key}");
                selections.push(selection(v, &field, &known)?);
                names.push(key.to_string());
            }
        }
    }
    let Some(cnode) = cond_node else {
        return Err(SigmaError::on(
            node,
            "detection.condition",
            "a detection needs a `condition`",
        ));
    };
    let texts: Vec<&Node> = match &cnode.value {
        Value::Scalar(..) => vec![cnode],
        Value::Seq(items) => items.iter().collect(),
        Value::Map(_) => {
            return Err(SigmaError::on(
                cnode,
                "detection.condition",
                "expected text or a list of texts",
            ));
        }
    };
    let mut alternatives = Vec::new();
    for t in texts {
        let Some(text) = t.text() else {
            return Err(SigmaError::on(t, "detection.condition", "expected text"));
        };
        let c = condition::parse(text, &names).map_err(|e| {
            // A condition on one line: the column of the offending word.
            let col = t.col + e.offset + usize::from(matches!(&t.value, Value::Scalar(_, true)));
            SigmaError::at(t.line, col, "detection.condition", e.message)
        })?;
        alternatives.push(c);
    }
    let condition = if alternatives.len() == 1 {
        alternatives.remove(0)
    } else {
        Condition::Or(alternatives)
    };
    Ok((names, selections, condition))
}

fn selection(node: &Node, field: &str, known: &[&'static str]) -> Result<Selection, SigmaError> {
    match &node.value {
        Value::Map(pairs) => Ok(Selection(vec![field_map(pairs, field, known)?])),
        Value::Seq(items) => {
            let mut maps = Vec::new();
            for (i, item) in items.iter().enumerate() {
                match &item.value {
                    Value::Map(pairs) => maps.push(field_map(pairs, &format!("{field}[{i}]"), known)?),
                    _ => {
                        return Err(SigmaError::on(
                            item,
                            field,
                            "keyword searches (a list of values with no field) are not supported: \
                             name the field, e.g. CommandLine|contains: ...",
                        ));
                    }
                }
            }
            if maps.is_empty() {
                return Err(SigmaError::on(node, field, "an empty selection"));
            }
            Ok(Selection(maps))
        }
        Value::Scalar(..) => Err(SigmaError::on(
            node,
            field,
            "a selection is a mapping of fields to values (or a list of such mappings)",
        )),
    }
}

fn field_map(
    pairs: &[(Node, Node)],
    at: &str,
    known: &[&'static str],
) -> Result<Vec<FieldMatch>, SigmaError> {
    let mut out = Vec::new();
    for (k, v) in pairs {
        let key = k.text().unwrap_or_default();
        let field = format!("{at}.{key}");
        let mut parts = key.split('|');
        let name = parts.next().unwrap_or_default();
        if name.is_empty() {
            return Err(SigmaError::on(
                k,
                &field,
                "keyword searches (`|all`, a value with no field) are not supported: name the field",
            ));
        }
        if !known.contains(&name) {
            return Err(SigmaError::on(
                k,
                &field,
                format!(
                    "events of this logsource have no field {name:?} (they have: {})",
                    known.join(", ")
                ),
            ));
        }
        let mods: Vec<&str> = parts.collect();
        let m = Modifiers::parse(&mods).map_err(|e| SigmaError::on(k, &field, e))?;
        let values: Vec<&Node> = match &v.value {
            Value::Seq(items) => items.iter().collect(),
            Value::Scalar(..) => vec![v],
            Value::Map(_) => return Err(SigmaError::on(v, &field, "expected a value or a list of values")),
        };
        if values.is_empty() {
            return Err(SigmaError::on(v, &field, "an empty list of values"));
        }
        if m.all && values.len() < 2 {
            return Err(SigmaError::on(
                v,
                &field,
                "`all` needs a list of two values or more",
            ));
        }
        let mut patterns = Vec::new();
        for item in values {
            let raw = match item.scalar() {
                Some(Scalar::Null) => RawValue::Null,
                Some(Scalar::Int(n)) => RawValue::Int(n),
                Some(Scalar::Bool(b)) => RawValue::Bool(b),
                Some(Scalar::Text(t)) => RawValue::Text(t),
                None => {
                    return Err(SigmaError::on(
                        item,
                        &field,
                        "expected a value, found a collection",
                    ));
                }
            };
            patterns.extend(m.patterns(&raw).map_err(|e| SigmaError::on(item, &field, e))?);
        }
        out.push(FieldMatch {
            field: name.to_string(),
            patterns,
            all: m.all,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: &str = r#"title: Script run from a public folder
id: 0f1d2c3b-4a59-4687-9a1b-2c3d4e5f6a7b
status: experimental
description: PowerShell started with the execution policy bypassed.
references:
    - https://attack.mitre.org/techniques/T0853/
author: otrange
date: 2026-12-05
tags:
    - attack.execution
    - attack.t0853
logsource:
    product: windows
    category: process_creation
detection:
    selection_img:
        Image|endswith: '\powershell.exe'
    selection_cli:
        CommandLine|contains|all:
            - '-ExecutionPolicy'
            - 'Bypass'
    filter_admin:
        User: 'CORP\admin'
    condition: all of selection_* and not filter_admin
falsepositives:
    - Administrators' scripts
level: high
"#;

    fn process(image: &str, cli: &str, user: &str) -> Vec<(&'static str, FieldValue)> {
        vec![
            ("EventID", FieldValue::Number(1)),
            ("Image", FieldValue::Text(image.into())),
            ("CommandLine", FieldValue::Text(cli.into())),
            ("ParentImage", FieldValue::Text(r"C:\Windows\explorer.exe".into())),
            ("User", FieldValue::Text(user.into())),
        ]
    }

    const PROC: LogSource = LogSource {
        product: "windows",
        category: Some("process_creation"),
        service: None,
    };

    #[test]
    fn a_rule_reads_its_metadata_and_matches_what_its_condition_says() {
        let r = Rule::parse(RULE).unwrap();
        assert_eq!(r.title, "Script run from a public folder");
        assert_eq!(r.technique.as_deref(), Some("T0853"));
        assert_eq!(r.tactic.as_deref(), Some("Execution"));
        assert_eq!(r.level, Level::High);
        assert_eq!(r.references.len(), 1);
        let ps = r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe";
        let cli = r"powershell.exe -NoProfile -ExecutionPolicy Bypass -File C:\Users\Public\run.ps1";
        assert!(r.matches(&PROC, &process(ps, cli, "PLANT\\eng")));
        assert!(!r.matches(&PROC, &process(ps, cli, "corp\\ADMIN")), "the filter");
        assert!(!r.matches(&PROC, &process(ps, "powershell.exe -File x.ps1", "u")));
        let sec = LogSource {
            product: "windows",
            category: None,
            service: Some("security"),
        };
        assert!(!r.matches(&sec, &process(ps, cli, "u")), "another logsource");
    }

    #[test]
    fn lists_of_maps_are_alternatives_and_numbers_match_event_ids() {
        let r = Rule::parse(
            "title: t\nlogsource:\n  product: windows\n  service: security\ndetection:\n  sel:\n    - EventID: 4625\n    - EventID: 4624\n      LogonType: 10\n  condition: sel\n",
        )
        .unwrap();
        let sec = LogSource {
            product: "windows",
            category: None,
            service: Some("security"),
        };
        let logon = |id, ty| {
            vec![
                ("EventID", FieldValue::Number(id)),
                ("LogonType", FieldValue::Number(ty)),
            ]
        };
        assert!(r.matches(&sec, &logon(4625, 2)));
        assert!(r.matches(&sec, &logon(4624, 10)));
        assert!(!r.matches(&sec, &logon(4624, 2)));
    }

    fn err(text: &str) -> SigmaError {
        Rule::parse(text).unwrap_err()
    }

    const HEAD: &str = "title: t\nlogsource:\n  product: windows\n  category: process_creation\n";

    #[test]
    fn unsupported_features_are_errors_with_line_and_field() {
        let e = err(&format!(
            "{HEAD}detection:\n  sel:\n    Image|base64: x\n  condition: sel\n"
        ));
        assert_eq!((e.line, e.field.as_str()), (7, "detection.sel.Image|base64"));
        assert!(e.message.contains("not supported"), "{e}");
        let e = err(&format!(
            "{HEAD}detection:\n  keywords:\n    - mimikatz\n  condition: keywords\n"
        ));
        assert_eq!(e.line, 7);
        assert!(e.message.contains("keyword searches"), "{e}");
        let e = err(&format!(
            "{HEAD}detection:\n  sel:\n    Image: x\n  condition: sel | count() > 5\n"
        ));
        assert_eq!((e.line, e.col, e.field.as_str()), (8, 18, "detection.condition"));
        assert!(e.message.contains("aggregations"), "{e}");
        let e = err(&format!(
            "{HEAD}detection:\n  sel:\n    Image: x\n  timeframe: 5m\n  condition: sel\n"
        ));
        assert_eq!(e.field, "detection.timeframe");
        let e = err(&format!(
            "{HEAD}detection:\n  sel:\n    Imagee: x\n  condition: sel\n"
        ));
        assert!(e.message.contains("no field \"Imagee\""), "{e}");
        assert!(e.message.contains("CommandLine"), "{e}");
        let e = err(&format!(
            "{HEAD}detection:\n  sel:\n    Image|contians: x\n  condition: sel\n"
        ));
        assert_eq!(
            e.to_string(),
            format!(
                "7:5: detection.sel.Image|contians: unknown Sigma modifier \"contians\" (supported: {})",
                super::super::matcher::MODIFIERS
            )
        );
    }

    #[test]
    fn metadata_is_checked() {
        let e = err("title: t\nlevel: severe\n");
        assert_eq!((e.line, e.field.as_str()), (2, "level"));
        let e = err("title: t\ntags:\n  - attack.t0853\n  - attack.inhibit-response\n");
        assert_eq!((e.line, e.field.as_str()), (4, "tags[1]"));
        let e = err("title: t\nid: 42\n");
        assert!(e.message.contains("not a UUID"), "{e}");
        let e = err("title: t\nlogsource:\n  product: linux\n  category: process_creation\n");
        assert!(e.message.contains("log nothing under {product: linux"), "{e}");
        let e = err("titel: t\n");
        assert!(e.message.contains("unknown rule key \"titel\""), "{e}");
        let e = err(&format!("{HEAD}detection:\n  sel:\n    Image: x\n"));
        assert!(e.message.contains("needs a `condition`"), "{e}");
        let r = Rule::parse(&format!("{HEAD}tags:\n  - attack.inhibit-response-function\n  - attack.t0881\ndetection:\n  sel:\n    Image: x\n  condition: sel\n")).unwrap();
        assert_eq!(r.tactic.as_deref(), Some("Inhibit Response Function"));
        assert_eq!(r.technique.as_deref(), Some("T0881"));
    }
}
