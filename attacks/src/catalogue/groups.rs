//! ATT&CK for ICS groups and software, with the techniques ATT&CK says each one uses.
//!
//! The technique list says what otrange can do; groups and software say what that is worth
//! against: "can this range replay XENOTIME?" is a question about the techniques ATT&CK
//! attributes to it. The rows are ATT&CK's `uses` relationships from the same v18.1 bundle as
//! the techniques, and every technique ID in them is checked against the technique list when
//! the tables are parsed, so a group can never point at a technique the catalogue lacks.
//!
//! Like the other tables, a malformed row is a mistake in this crate's data and panics with
//! the file and line (see `parse.rs`); the crate's tests parse both tables, so such a mistake
//! fails `cargo test`. Lookups by users never panic: they return [`UnknownGroup`].

use std::fmt;
use std::sync::LazyLock;

use super::parse::{is_technique_id, list, rows};
use super::suggest::{edit_distance, normalise};
use super::{Technique, find_active, find_deprecated};

const GROUPS_TSV: &str = include_str!("../../data/attack-ics-groups.tsv");
const SOFTWARE_TSV: &str = include_str!("../../data/attack-ics-software.tsv");

const GROUPS_HEADER: &[&str] = &["group_id", "name", "aliases", "techniques"];
const SOFTWARE_HEADER: &[&str] = &["software_id", "name", "type", "techniques"];

/// At most this many close names in an [`UnknownGroup`]: enough to cover a family of
/// similar aliases (APT33, APT38, APT44), few enough to read in one error line.
const MAX_SUGGESTIONS: usize = 5;

static GROUPS: LazyLock<Vec<Group>> = LazyLock::new(|| parse_groups(GROUPS_TSV));
static SOFTWARE: LazyLock<Vec<Software>> = LazyLock::new(|| parse_software(SOFTWARE_TSV));

/// A threat group ATT&CK for ICS tracks, e.g. `G0034` Sandworm Team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// ATT&CK group ID, e.g. `G0034`.
    pub id: &'static str,
    /// ATT&CK's name for the group, e.g. `Sandworm Team`.
    pub name: &'static str,
    /// The other names vendors and governments use (`ELECTRUM`, `APT44`, ...), as ATT&CK
    /// spells them; reports name groups by whichever their authors' vendor uses, so lookups
    /// accept all of them.
    pub aliases: Vec<&'static str>,
    /// IDs of the active ICS techniques ATT&CK says the group uses, as the data file lists
    /// them (by ID). Can be empty: v18.1 has seven groups, FIN7 among them, that use no ICS
    /// technique of their own.
    pub techniques: Vec<&'static str>,
}

impl Group {
    /// Whether `query` is the group's ID, name or one of its aliases, ignoring case and
    /// spacing, since all three are typed by hand.
    pub fn matches(&self, query: &str) -> bool {
        self.names().any(|name| normalise(name) == normalise(query))
    }

    /// The group's techniques as catalogue entries, in the order of [`Group::techniques`].
    pub fn resolved_techniques(&self) -> Vec<&'static Technique> {
        resolve(&self.techniques)
    }

    /// How many of the group's techniques `has_executor` accepts; with
    /// `otrange_attacks::techniques::has_executor`, how much of the group otrange can replay.
    pub fn executable(&self, has_executor: impl Fn(&str) -> bool) -> usize {
        self.techniques.iter().filter(|id| has_executor(id)).count()
    }

    /// ID, name and aliases: everything a lookup matches against.
    fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        [self.id, self.name]
            .into_iter()
            .chain(self.aliases.iter().copied())
    }
}

impl fmt::Display for Group {
    /// `G0034 (Sandworm Team)`, the form [`Technique`] uses.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.id, self.name)
    }
}

/// Whether ATT&CK classes a piece of software as malicious code or as a tool that has
/// legitimate uses too (ATT&CK for ICS v18.1 lists only malware).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SoftwareKind {
    /// Code written to do harm, e.g. Triton.
    Malware,
    /// Commercial, open-source or built-in software that adversaries also use.
    Tool,
}

impl SoftwareKind {
    /// ATT&CK's own word for the kind, `malware` or `tool`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Malware => "malware",
            Self::Tool => "tool",
        }
    }
}

impl fmt::Display for SoftwareKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A piece of software ATT&CK for ICS tracks, e.g. `S1009` Triton.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Software {
    /// ATT&CK software ID, e.g. `S1009`.
    pub id: &'static str,
    /// ATT&CK's name for it, e.g. `Triton`.
    pub name: &'static str,
    /// Malware or tool.
    pub kind: SoftwareKind,
    /// IDs of the active ICS techniques ATT&CK says it uses, as the data file lists them (by ID).
    pub techniques: Vec<&'static str>,
}

impl Software {
    /// The software's techniques as catalogue entries, in the order of
    /// [`Software::techniques`].
    pub fn resolved_techniques(&self) -> Vec<&'static Technique> {
        resolve(&self.techniques)
    }

    /// How many of its techniques `has_executor` accepts.
    pub fn executable(&self, has_executor: impl Fn(&str) -> bool) -> usize {
        self.techniques.iter().filter(|id| has_executor(id)).count()
    }
}

impl fmt::Display for Software {
    /// `S1009 (Triton)`, the form [`Technique`] uses.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.id, self.name)
    }
}

/// No group has the ID, name or alias given.
///
/// Refusing rather than taking the nearest group is deliberate, as for techniques: a coverage
/// figure for the wrong group reads as right. The error carries the close names instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown ATT&CK for ICS group `{query}`{}: expected a group ID, name or alias such as G0088, \
     TEMP.Veles or XENOTIME; `otrange techniques --groups` lists them",
    did_you_mean(.suggestions)
)]
pub struct UnknownGroup {
    /// What was given, as given.
    pub query: String,
    /// Group IDs, names or aliases close to the query, as ATT&CK spells them: the closest
    /// ones only, in the file's order; empty when nothing is close enough to be worth proposing.
    pub suggestions: Vec<&'static str>,
}

/// The 14 groups, in the data file's order (by ID).
pub fn groups() -> &'static [Group] {
    &GROUPS
}

/// The 23 pieces of software, in the data file's order (by ID).
pub fn software() -> &'static [Software] {
    &SOFTWARE
}

/// Looks a group up by ID (`G0034`), name (`Sandworm Team`) or alias (`ELECTRUM`), ignoring
/// case and spacing. No two groups share a name or alias (the parser checks), so at most one
/// group matches.
pub fn group(query: &str) -> Result<&'static Group, UnknownGroup> {
    groups()
        .iter()
        .find(|g| g.matches(query))
        .ok_or_else(|| UnknownGroup {
            query: query.to_owned(),
            suggestions: suggest(query),
        })
}

pub(super) fn resolve(ids: &[&'static str]) -> Vec<&'static Technique> {
    // The parser admitted only active IDs, so nothing is dropped here.
    ids.iter().filter_map(|id| find_active(id)).collect()
}

/// Close names: a G number missing its zeros (`G34`), a name the query is part of or contains
/// (`sandworm`, `Energetic Bear group`), or a name or one of its words a few typing slips away
/// (`XENOTME`, `Sandwrom`). Each group is proposed once, under the name the query came closest
/// to; only the closest tier is kept, in the file's order.
fn suggest(query: &str) -> Vec<&'static str> {
    let wanted = normalise(query);
    if wanted.is_empty() {
        return Vec::new();
    }
    let mut scored: Vec<(usize, usize, &'static str)> = groups()
        .iter()
        .enumerate()
        .filter_map(|(order, g)| {
            g.names()
                .filter_map(|name| closeness(&wanted, name).map(|score| (score, order, name)))
                .min_by_key(|(score, _, _)| *score)
        })
        .collect();
    scored.sort_by_key(|(score, order, _)| (*score, *order));
    // Only the closest tier: once `sandworm` is part of Sandworm Team, Hazel Sandstorm (two
    // edits from it) is noise.
    let best = scored.first().map_or(0, |(score, _, _)| *score);
    scored
        .into_iter()
        .take_while(|(score, _, _)| *score == best)
        .take(MAX_SUGGESTIONS)
        .map(|(_, _, name)| name)
        .collect()
}

/// 0 for an ID or containment match, otherwise the edit distance if it is within a limit
/// that grows with the name's length, so short names need near matches.
fn closeness(wanted: &str, name: &'static str) -> Option<usize> {
    let candidate = normalise(name);
    if let Some(digits) = wanted.strip_prefix('g')
        && let Ok(number) = digits.parse::<u32>()
    {
        return (format!("g{number:04}") == candidate).then_some(0);
    }
    let contained = (wanted.len() >= 3 && candidate.contains(wanted))
        || (candidate.len() >= 4 && wanted.contains(&candidate));
    if contained {
        return Some(0);
    }
    std::iter::once(candidate.as_str())
        .chain(candidate.split(' ').filter(|word| word.len() >= 4))
        .filter_map(|target| {
            let distance = edit_distance(wanted, target);
            let limit = (target.chars().count() / 4).max(1);
            (distance <= limit).then_some(distance)
        })
        .min()
}

fn did_you_mean(suggestions: &[&'static str]) -> String {
    let shown: Vec<String> = suggestions
        .iter()
        .filter_map(|name| {
            let g = groups().iter().find(|g| g.names().any(|n| n == *name))?;
            Some(if *name == g.id {
                format!("{} ({})", g.id, g.name)
            } else if *name == g.name {
                format!("{} ({})", g.name, g.id)
            } else {
                format!("{name} ({} {})", g.id, g.name)
            })
        })
        .collect();
    if shown.is_empty() {
        String::new()
    } else {
        format!(" (did you mean {}?)", shown.join(", "))
    }
}

/// `G` or `S` followed by four digits, ATT&CK's shape for group and software IDs.
pub(super) fn is_object_id(id: &str, prefix: char) -> bool {
    id.len() == 5 && id.starts_with(prefix) && id[1..].bytes().all(|b| b.is_ascii_digit())
}

/// A `techniques` column, each ID checked against the technique list. ATT&CK drops `uses`
/// relationships to deprecated techniques from its bundles, so a deprecated ID here means the
/// files come from different releases; it is rejected by name rather than kept, since a group
/// pointing at a technique `otrange techniques` does not list could not be shown.
pub(super) fn technique_ids(file: &str, line: usize, owner: &str, field: &'static str) -> Vec<&'static str> {
    let ids = list(field, ',');
    for (i, id) in ids.iter().enumerate() {
        assert!(
            is_technique_id(id),
            "{file} line {line}: {owner}: `{id}` is not a technique ID"
        );
        if let Some(retired) = find_deprecated(id) {
            panic!(
                "{file} line {line}: {owner} uses {} ({}), which ATT&CK has deprecated",
                retired.id, retired.name
            );
        }
        assert!(
            find_active(id).is_some(),
            "{file} line {line}: {owner} uses {id}, which is not in attack-ics-techniques.tsv"
        );
        assert!(
            !ids[..i].contains(id),
            "{file} line {line}: {owner} lists {id} twice"
        );
    }
    ids
}

fn parse_groups(tsv: &'static str) -> Vec<Group> {
    let file = "attack-ics-groups.tsv";
    let groups: Vec<Group> = rows(file, tsv, GROUPS_HEADER)
        .into_iter()
        .map(|(line, fields)| {
            let (id, name) = (fields[0], fields[1]);
            assert!(
                is_object_id(id, 'G'),
                "{file} line {line}: `{id}` is not a group ID"
            );
            // STIX repeats a group's name among its aliases; as an alias it adds nothing.
            let aliases = list(fields[2], ',')
                .into_iter()
                .filter(|alias| !alias.eq_ignore_ascii_case(name))
                .collect();
            Group {
                id,
                name,
                aliases,
                techniques: technique_ids(file, line, id, fields[3]),
            }
        })
        .collect();
    // A name shared by two groups would make `group` depend on row order.
    let mut seen: Vec<(String, &str)> = Vec::new();
    for g in &groups {
        for name in g.names() {
            let key = normalise(name);
            if let Some((_, other)) = seen.iter().find(|(k, other)| *k == key && *other != g.id) {
                panic!("{file}: `{name}` names both {other} and {}", g.id);
            }
            seen.push((key, g.id));
        }
    }
    groups
}

fn parse_software(tsv: &'static str) -> Vec<Software> {
    let file = "attack-ics-software.tsv";
    rows(file, tsv, SOFTWARE_HEADER)
        .into_iter()
        .map(|(line, fields)| {
            let id = fields[0];
            assert!(
                is_object_id(id, 'S'),
                "{file} line {line}: `{id}` is not a software ID"
            );
            let kind = match fields[2] {
                "malware" => SoftwareKind::Malware,
                "tool" => SoftwareKind::Tool,
                other => panic!("{file} line {line}: {id} has type `{other}`, expected malware or tool"),
            };
            Software {
                id,
                name: fields[1],
                kind,
                techniques: technique_ids(file, line, id, fields[3]),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{closeness, did_you_mean};

    #[test]
    fn a_short_group_number_is_suggested_by_id() {
        assert_eq!(closeness("g34", "G0034"), Some(0));
        assert_eq!(closeness("g34", "G0035"), None);
    }

    #[test]
    fn a_suggestion_names_its_group() {
        assert_eq!(
            did_you_mean(&["XENOTIME"]),
            " (did you mean XENOTIME (G0088 TEMP.Veles)?)"
        );
        assert_eq!(did_you_mean(&[]), "");
    }
}
