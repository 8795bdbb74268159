//! The catalogue as the CLI shows it (`otrange techniques`, `--group NAME`, `--groups`).
//!
//! Every form takes the executor registry's verdict ([`Meaning`]) as a function rather than
//! importing it, so the catalogue stays a leaf module that executors depend on, not the
//! other way round.

use serde_json::{Value, json};

use super::{
    ATTACK_MODIFIED, ATTACK_VERSION, DeprecatedTechnique, Group, Meaning, NOTICE, Tactic, Technique,
    deprecated_techniques, groups, tactics, techniques,
};

const HEADER: [&str; 4] = ["ID", "NAME", "TACTICS", "MEANING"];
const GROUPS_HEADER: [&str; 5] = ["ID", "NAME", "TECHNIQUES", "EXECUTABLE", "SHARE"];

/// One line per technique (ID, name, tactics, what it means in the range), under a header,
/// with columns padded so the listing can be read in a terminal and grepped by ID, and a
/// last line counting each meaning.
///
/// The meaning column is what makes this more than a copy of the ATT&CK matrix: it shows at
/// a glance which techniques a scenario can exercise, which the plant produces, and why the
/// rest cannot happen here.
pub fn table(meaning: impl Fn(&str) -> Meaning) -> String {
    let all: Vec<&Technique> = techniques().iter().collect();
    let mut out = technique_table(&all, &meaning);
    let count = |kind: &str| all.iter().filter(|t| meaning(t.id).label() == kind).count();
    out.push_str(&format!(
        "{} techniques: {} with an executor, {} impacts the plant produces, {} out of scope",
        all.len(),
        count("executor"),
        count("impact"),
        count("out of scope"),
    ));
    match count("-") {
        0 => out.push('\n'),
        n => out.push_str(&format!(", {n} unexplained\n")),
    }
    out
}

/// The same listing for scripts and dashboards, with what a table has no room for: tactic
/// IDs, ATT&CK's detection strategy, the deprecated IDs, and the version and notice so the
/// output stands on its own when saved.
pub fn to_json(meaning: impl Fn(&str) -> Meaning) -> Value {
    json!({
        "attack": attack_json(),
        "tactics": tactics().iter().map(tactic_json).collect::<Vec<_>>(),
        "techniques": techniques().iter().map(|t| technique_json(t, meaning(t.id))).collect::<Vec<_>>(),
        "deprecated": deprecated_techniques().iter().map(deprecated_json).collect::<Vec<_>>(),
    })
}

/// `otrange techniques --group NAME`: a line naming the group, its techniques as [`table`]
/// shows them, and how many of them otrange can execute, which is the question the view
/// answers ("how much of XENOTIME can this range replay?").
pub fn group_table(group: &Group, meaning: impl Fn(&str) -> Meaning) -> String {
    let has_executor = |id: &str| meaning(id) == Meaning::Executor;
    let mut out = group_heading(group);
    out.push('\n');
    let techniques = group.resolved_techniques();
    if techniques.is_empty() {
        out.push_str(&format!(
            "ATT&CK for ICS v{ATTACK_VERSION} maps no techniques to this group\n"
        ));
        return out;
    }
    out.push_str(&technique_table(&techniques, &meaning));
    out.push_str(&format!(
        "{} of {} of its techniques have an executor\n",
        group.executable(has_executor),
        techniques.len()
    ));
    out
}

/// [`group_table`] for scripts: the group, its techniques as [`to_json`] gives them, and the
/// ATT&CK version and notice.
pub fn group_to_json(group: &Group, meaning: impl Fn(&str) -> Meaning) -> Value {
    let has_executor = |id: &str| meaning(id) == Meaning::Executor;
    json!({
        "attack": attack_json(),
        "group": group_json(group, has_executor),
        "techniques": group
            .resolved_techniques()
            .into_iter()
            .map(|t| technique_json(t, meaning(t.id)))
            .collect::<Vec<_>>(),
    })
}

/// `otrange techniques --groups`: one line per group, in the data file's order, with how many
/// of its techniques otrange can execute and that share in percent (`-` for a group ATT&CK
/// maps no techniques to, rather than a 0% that would read as a gap in otrange).
pub fn groups_table(has_executor: impl Fn(&str) -> bool) -> String {
    let rows: Vec<[String; 5]> = groups()
        .iter()
        .map(|g| {
            let executable = g.executable(&has_executor);
            let share =
                percent(executable, g.techniques.len()).map_or("-".to_owned(), |p| format!("{p:.0}%"));
            [
                g.id.to_owned(),
                g.name.to_owned(),
                g.techniques.len().to_string(),
                executable.to_string(),
                share,
            ]
        })
        .collect();
    columns(GROUPS_HEADER, &rows)
}

/// [`groups_table`] for scripts, with each group's aliases and technique IDs; `percent` is
/// `null` for a group without techniques.
pub fn groups_to_json(has_executor: impl Fn(&str) -> bool) -> Value {
    json!({
        "attack": attack_json(),
        "groups": groups().iter().map(|g| group_json(g, &has_executor)).collect::<Vec<_>>(),
    })
}

/// `G0088 TEMP.Veles, also known as XENOTIME`: the name ATT&CK uses and the ones reports use.
fn group_heading(group: &Group) -> String {
    if group.aliases.is_empty() {
        format!("{} {}", group.id, group.name)
    } else {
        format!(
            "{} {}, also known as {}",
            group.id,
            group.name,
            group.aliases.join(", ")
        )
    }
}

fn group_json(group: &Group, has_executor: impl Fn(&str) -> bool) -> Value {
    let executable = group.executable(&has_executor);
    json!({
        "id": group.id,
        "name": group.name,
        "aliases": group.aliases,
        "techniques": group.techniques,
        "executable": executable,
        "percent": percent(executable, group.techniques.len()),
    })
}

/// `part` of `whole` in percent to one decimal place; `None` for an empty whole.
fn percent(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| (part as f64 * 1000.0 / whole as f64).round() / 10.0)
}

fn attack_json() -> Value {
    json!({
        "domain": "ics-attack",
        "version": ATTACK_VERSION,
        "modified": ATTACK_MODIFIED,
        "notice": NOTICE,
    })
}

fn technique_table(techniques: &[&Technique], meaning: impl Fn(&str) -> Meaning) -> String {
    let rows: Vec<[String; 4]> = techniques
        .iter()
        .map(|t| {
            let m = meaning(t.id);
            let mark = match m.reason() {
                Some(why) => format!("{}: {why}", m.label()),
                None => m.label().to_owned(),
            };
            [
                t.id.to_owned(),
                t.name.to_owned(),
                tactic_names(t).join(", "),
                mark,
            ]
        })
        .collect();
    columns(HEADER, &rows)
}

/// Rows under a header, columns padded to their widest cell so the listing reads in a
/// terminal and greps by ID; the last column is not padded, so no line ends in spaces.
fn columns<const N: usize>(header: [&str; N], rows: &[[String; N]]) -> String {
    let mut widths = header.map(str::len);
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header = header.map(str::to_owned);
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, (cell, width)) in row.iter().zip(widths).enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}  "));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn tactic_names(technique: &Technique) -> Vec<&'static str> {
    technique.tactics.iter().map(|t| t.name).collect()
}

fn tactic_json(tactic: &Tactic) -> Value {
    json!({
        "id": tactic.id,
        "name": tactic.name,
        "shortname": tactic.shortname,
        "order": tactic.order,
    })
}

fn technique_json(technique: &Technique, meaning: Meaning) -> Value {
    let detection = technique.detection().map(|d| {
        json!({
            "strategy": d.id,
            "analytics": d.analytics,
            "data_components": d.data_components,
        })
    });
    json!({
        "id": technique.id,
        "name": technique.name,
        "tactics": tactic_names(technique),
        "tactic_ids": technique.tactics.iter().map(|t| t.id).collect::<Vec<_>>(),
        "primary_tactic": technique.primary_tactic().name,
        "executor": meaning == Meaning::Executor,
        "meaning": meaning.label(),
        "out_of_scope_reason": meaning.reason(),
        "detection": detection,
    })
}

fn deprecated_json(retired: &DeprecatedTechnique) -> Value {
    json!({
        "id": retired.id,
        "name": retired.name,
        "replaced_by": retired.replaced_by,
    })
}
