//! Parsing of the embedded TSVs (the groups and software files are read in `groups.rs`, with
//! these helpers).
//!
//! The files are compiled in, so malformed data is a build-time mistake in this crate, not
//! something a user can cause; these functions therefore panic with the file and line rather
//! than return errors no caller could handle. The crate's tests force every table, so a bad
//! data update fails `cargo test` instead of the first run that lists techniques.

use super::{DetectionStrategy, Tactic, Technique};

const TACTICS_HEADER: &[&str] = &["tactic_id", "name", "shortname"];
const TECHNIQUES_HEADER: &[&str] = &["technique_id", "name", "tactics"];
const DETECTIONS_HEADER: &[&str] = &[
    "technique",
    "name",
    "detection_strategy",
    "analytics",
    "data_components",
];

/// Splits a TSV into its data rows after checking the header, so that a regenerated file
/// whose columns moved is rejected instead of being read with the columns swapped.
pub(super) fn rows(
    file: &'static str,
    tsv: &'static str,
    header: &[&str],
) -> Vec<(usize, Vec<&'static str>)> {
    let mut lines = tsv
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty());
    let (_, first) = lines.next().unwrap_or_else(|| panic!("{file}: empty"));
    let found: Vec<&str> = first.split('\t').collect();
    assert_eq!(found, header, "{file}: unexpected header");
    lines
        .map(|(index, line)| {
            let fields: Vec<&'static str> = line.split('\t').map(str::trim).collect();
            assert_eq!(
                fields.len(),
                header.len(),
                "{file} line {}: expected {} tab-separated columns",
                index + 1,
                header.len()
            );
            (index + 1, fields)
        })
        .collect()
}

/// Items of a list column; the TSVs separate them with `, ` or `; ` depending on the file.
pub(super) fn list(field: &'static str, separator: char) -> Vec<&'static str> {
    field
        .split(separator)
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .collect()
}

/// The file's row order is ATT&CK's kill-chain order, which is the only place that order is
/// recorded, so it becomes [`Tactic::order`].
pub(super) fn tactics(tsv: &'static str) -> Vec<Tactic> {
    let file = "attack-ics-tactics.tsv";
    rows(file, tsv, TACTICS_HEADER)
        .into_iter()
        .enumerate()
        .map(|(order, (line, fields))| {
            assert!(
                fields[0].starts_with("TA"),
                "{file} line {line}: `{}` is not a tactic ID",
                fields[0]
            );
            Tactic {
                id: fields[0],
                name: fields[1],
                shortname: fields[2],
                order,
            }
        })
        .collect()
}

/// Techniques name their tactics by display name; resolving them here means a misspelt tactic
/// in the data is caught once rather than every time a technique is shown.
pub(super) fn techniques(tsv: &'static str, tactics: &'static [Tactic]) -> Vec<Technique> {
    let file = "attack-ics-techniques.tsv";
    let mut techniques: Vec<Technique> = rows(file, tsv, TECHNIQUES_HEADER)
        .into_iter()
        .map(|(line, fields)| {
            let id = fields[0];
            assert!(
                is_technique_id(id),
                "{file} line {line}: `{id}` is not a technique ID"
            );
            let mut resolved: Vec<&'static Tactic> = list(fields[2], ',')
                .into_iter()
                .map(|name| {
                    tactics
                        .iter()
                        .find(|t| t.name == name)
                        .unwrap_or_else(|| panic!("{file} line {line}: {id} names unknown tactic `{name}`"))
                })
                .collect();
            resolved.sort_by_key(|t| t.order);
            resolved.dedup_by_key(|t| t.id);
            assert!(!resolved.is_empty(), "{file} line {line}: {id} has no tactic");
            Technique {
                id,
                name: fields[1],
                tactics: resolved,
            }
        })
        .collect();
    techniques.sort_by_key(|t| t.id);
    if let Some(pair) = techniques.windows(2).find(|pair| pair[0].id == pair[1].id) {
        panic!("{file}: {} appears twice", pair[0].id);
    }
    techniques
}

/// Detection rows are keyed by technique; one for an ID the technique list lacks would be
/// unreachable, so it is rejected as a sign the two files come from different bundles.
pub(super) fn detections(tsv: &'static str, techniques: &'static [Technique]) -> Vec<DetectionStrategy> {
    let file = "attack-ics-detection-strategies.tsv";
    rows(file, tsv, DETECTIONS_HEADER)
        .into_iter()
        .map(|(line, fields)| {
            let technique = fields[0];
            assert!(
                techniques.iter().any(|t| t.id == technique),
                "{file} line {line}: {technique} is not in attack-ics-techniques.tsv"
            );
            DetectionStrategy {
                technique,
                id: fields[2],
                analytics: list(fields[3], ';'),
                data_components: list(fields[4], ';'),
            }
        })
        .collect()
}

/// `T` followed by four digits: the only shape ATT&CK for ICS uses (it has no sub-techniques).
pub(super) fn is_technique_id(id: &str) -> bool {
    id.len() == 5 && id.starts_with('T') && id[1..].bytes().all(|b| b.is_ascii_digit())
}
