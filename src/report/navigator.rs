//! ATT&CK Navigator layers (layer format 4.5, domain `ics-attack`): one entry per technique
//! a run or a defence configuration executed, scored by its best detection, so the coverage
//! can be opened in MITRE's Navigator next to any other layer.

use super::page::CATEGORY_COLOURS;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// The score of a detection category: none 0, telemetry 1, general 2, tactic 3,
/// technique 4.
pub fn score(category: &str) -> usize {
    CATEGORY_COLOURS
        .iter()
        .position(|(n, _)| *n == category)
        .unwrap_or(0)
}

/// What a run or configuration did with one technique.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    /// The best score over its steps.
    pub score: usize,
    /// Steps run with it.
    pub steps: usize,
    /// The detectors that counted for, or saw, its steps.
    pub detectors: BTreeSet<String>,
}

/// Folds one executed step into `techniques`.
pub fn add(techniques: &mut BTreeMap<String, Seen>, technique: &str, category: &str, detectors: &[String]) {
    let e = techniques.entry(technique.to_string()).or_default();
    e.score = e.score.max(score(category));
    e.steps += 1;
    e.detectors.extend(detectors.iter().cloned());
}

/// A layer named `name`.
pub fn layer(name: &str, description: &str, techniques: &BTreeMap<String, Seen>) -> Value {
    let entries: Vec<Value> = techniques
        .iter()
        .map(|(id, s)| {
            let category = CATEGORY_COLOURS[s.score].0;
            let by = if s.detectors.is_empty() {
                "no detector".to_string()
            } else {
                s.detectors.iter().cloned().collect::<Vec<_>>().join(", ")
            };
            json!({
                "techniqueID": id,
                "score": s.score,
                "color": CATEGORY_COLOURS[s.score].1,
                "comment": format!("best detection: {category} over {} step(s); {by}", s.steps),
                "enabled": true,
                "showSubtechniques": false,
            })
        })
        .collect();
    json!({
        "name": name,
        "versions": {
            "attack": otrange_attacks::catalogue::ATTACK_VERSION,
            "navigator": "5.1.0",
            "layer": "4.5",
        },
        "domain": "ics-attack",
        "description": description,
        "sorting": 0,
        "hideDisabled": false,
        "techniques": entries,
        "gradient": {
            "colors": CATEGORY_COLOURS.iter().map(|(_, c)| *c).collect::<Vec<_>>(),
            "minValue": 0,
            "maxValue": 4,
        },
        "legendItems": CATEGORY_COLOURS
            .iter()
            .map(|(n, c)| json!({"label": n, "color": c}))
            .collect::<Vec<_>>(),
        "showTacticRowBackground": false,
        "selectTechniquesAcrossTactics": true,
        "selectSubtechniquesWithParent": false,
    })
}
