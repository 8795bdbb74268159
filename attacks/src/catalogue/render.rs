//! The catalogue as the CLI shows it (`otrange techniques`).
//!
//! Both forms take the executor registry as a predicate rather than importing it, so the
//! catalogue stays a leaf module that executors depend on, not the other way round.

use serde_json::{Value, json};

use super::{
    ATTACK_MODIFIED, ATTACK_VERSION, DeprecatedTechnique, NOTICE, Tactic, Technique, deprecated_techniques,
    tactics, techniques,
};

const HEADER: [&str; 4] = ["ID", "NAME", "TACTICS", "EXECUTOR"];

/// One line per technique (ID, name, tactics, whether otrange can execute it), under a
/// header, with columns padded so the listing can be read in a terminal and grepped by ID.
///
/// The executor column is what makes this more than a copy of the ATT&CK matrix: it shows
/// at a glance which techniques a scenario can actually exercise.
pub fn table(has_executor: impl Fn(&str) -> bool) -> String {
    let rows: Vec<[String; 4]> = techniques()
        .iter()
        .map(|t| {
            let mark = if has_executor(t.id) { "yes" } else { "-" };
            [
                t.id.to_owned(),
                t.name.to_owned(),
                tactic_names(t).join(", "),
                mark.to_owned(),
            ]
        })
        .collect();
    let mut widths = HEADER.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header = HEADER.map(str::to_owned);
    for row in std::iter::once(&header).chain(&rows) {
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

/// The same listing for scripts and dashboards, with what a table has no room for: tactic
/// IDs, ATT&CK's detection strategy, the deprecated IDs, and the version and notice so the
/// output stands on its own when saved.
pub fn to_json(has_executor: impl Fn(&str) -> bool) -> Value {
    json!({
        "attack": {
            "domain": "ics-attack",
            "version": ATTACK_VERSION,
            "modified": ATTACK_MODIFIED,
            "notice": NOTICE,
        },
        "tactics": tactics().iter().map(tactic_json).collect::<Vec<_>>(),
        "techniques": techniques().iter().map(|t| technique_json(t, has_executor(t.id))).collect::<Vec<_>>(),
        "deprecated": deprecated_techniques().iter().map(deprecated_json).collect::<Vec<_>>(),
    })
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

fn technique_json(technique: &Technique, executor: bool) -> Value {
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
        "executor": executor,
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
