//! ATT&CK for ICS campaigns, and the records a playbook is measured against.
//!
//! A campaign is one documented intrusion (C0028, the 2015 Ukraine power attack) with the
//! techniques ATT&CK attributes to it; a piece of software ([`super::Software`]) is the
//! toolkit seen across incidents. A playbook that models an incident names one or more of
//! either as its *records*, and `otrange techniques --coverage` counts how much of them it
//! executes. Both come from the same v18.1 bundle as the technique list, and every technique
//! ID in them is checked against it when parsed.

use std::fmt;
use std::sync::LazyLock;

use super::Technique;
use super::groups::{is_object_id, resolve, technique_ids};
use super::parse::rows;
use super::software;
use super::suggest::{edit_distance, normalise};

const CAMPAIGNS_TSV: &str = include_str!("../../data/attack-ics-campaigns.tsv");
const CAMPAIGNS_HEADER: &[&str] = &["campaign_id", "name", "first_seen", "last_seen", "techniques"];

static CAMPAIGNS: LazyLock<Vec<Campaign>> = LazyLock::new(|| parse_campaigns(CAMPAIGNS_TSV));

/// A campaign ATT&CK for ICS documents, e.g. `C0041` FrostyGoop Incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Campaign {
    /// ATT&CK campaign ID, e.g. `C0041`.
    pub id: &'static str,
    /// ATT&CK's name, e.g. `FrostyGoop Incident`.
    pub name: &'static str,
    /// First and last activity as ATT&CK dates them (`YYYY-MM-DD`, month precision in practice).
    pub first_seen: &'static str,
    /// See `first_seen`.
    pub last_seen: &'static str,
    /// IDs of the active ICS techniques ATT&CK says the campaign used, by ID.
    pub techniques: Vec<&'static str>,
}

/// The 7 campaigns, in the data file's order (by ID).
pub fn campaigns() -> &'static [Campaign] {
    &CAMPAIGNS
}

/// What a playbook models: an ATT&CK campaign or a piece of software, with the techniques
/// ATT&CK records for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record {
    /// A documented intrusion (`C0028`).
    Campaign(&'static Campaign),
    /// Malware seen across incidents (`S1072` Industroyer2).
    Software(&'static super::Software),
}

impl Record {
    /// The ATT&CK ID, `C0028` or `S1072`.
    pub fn id(&self) -> &'static str {
        match self {
            Self::Campaign(c) => c.id,
            Self::Software(s) => s.id,
        }
    }

    /// ATT&CK's name for it.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Campaign(c) => c.name,
            Self::Software(s) => s.name,
        }
    }

    /// `campaign` or `software`, for tables and JSON.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Campaign(_) => "campaign",
            Self::Software(_) => "software",
        }
    }

    /// Technique IDs ATT&CK records for it, in the data file's order.
    pub fn techniques(&self) -> &'static [&'static str] {
        match self {
            Self::Campaign(c) => &c.techniques,
            Self::Software(s) => &s.techniques,
        }
    }

    /// The record's techniques as catalogue entries.
    pub fn resolved_techniques(&self) -> Vec<&'static Technique> {
        resolve(self.techniques())
    }
}

impl fmt::Display for Record {
    /// `C0041 (FrostyGoop Incident)`, the form [`Technique`] uses.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.id(), self.name())
    }
}

/// No campaign or software has the ID or name given; carries close names, for the same
/// reason as [`super::UnknownGroup`]: a coverage figure against the wrong record reads as right.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown ATT&CK for ICS {wanted} `{query}`{}: expected an ID or name such as {example}; \
     `otrange techniques --campaigns` lists campaigns and software",
    did_you_mean(.suggestions)
)]
pub struct UnknownRecord {
    /// What was given, as given.
    pub query: String,
    /// `campaign`, `software`, or `campaign or software`: what the lookup accepted.
    pub wanted: &'static str,
    /// A sample of the accepted form, for the message.
    pub example: &'static str,
    /// `ID (name)` of the closest records.
    pub suggestions: Vec<String>,
}

/// Which records a lookup accepts: `--campaign` takes campaigns only, `--software` software
/// only, a playbook's `records` either.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    /// `C` IDs.
    Campaign,
    /// `S` IDs.
    Software,
    /// Either.
    Any,
}

/// Looks a record up by ID (`C0041`, `S1165`) or name (`FrostyGoop Incident`, `frostygoop`),
/// ignoring case and spacing. An exact ID or name wins (`FrostyGoop` is the software S1165);
/// otherwise a query contained in exactly one name picks it (`maroochy` for C0020).
pub fn record(query: &str, kind: RecordKind) -> Result<Record, UnknownRecord> {
    let wanted = normalise(query);
    let candidates = candidates(kind);
    if let Some(found) = candidates
        .iter()
        .find(|r| normalise(r.id()) == wanted || normalise(r.name()) == wanted)
    {
        return Ok(*found);
    }
    // A unique name containing the query: `frostygoop` for `FrostyGoop Incident`.
    let containing: Vec<&Record> = candidates
        .iter()
        .filter(|r| wanted.len() >= 4 && normalise(r.name()).contains(&wanted))
        .collect();
    if let [only] = containing.as_slice() {
        return Ok(**only);
    }
    if let (RecordKind::Any, [first, ..]) = (kind, containing.as_slice())
        && containing
            .iter()
            .all(|r| normalise(r.name()).starts_with(&normalise(first.name())))
    {
        return Ok(**first);
    }
    let (wanted_word, example) = match kind {
        RecordKind::Campaign => ("campaign", "C0041 or FrostyGoop Incident"),
        RecordKind::Software => ("software", "S1165 or FrostyGoop"),
        RecordKind::Any => ("campaign or software", "C0041, S1165 or Industroyer"),
    };
    Err(UnknownRecord {
        query: query.to_owned(),
        wanted: wanted_word,
        example,
        suggestions: suggest(&wanted, &candidates),
    })
}

fn candidates(kind: RecordKind) -> Vec<Record> {
    let c = campaigns().iter().map(Record::Campaign);
    let s = software().iter().map(Record::Software);
    match kind {
        RecordKind::Campaign => c.collect(),
        RecordKind::Software => s.collect(),
        RecordKind::Any => c.chain(s).collect(),
    }
}

/// Close records: several containing the query (`ukraine`), or an ID or name a few typing
/// slips away (`Industroyr`, `C41`).
fn suggest(wanted: &str, candidates: &[Record]) -> Vec<String> {
    if wanted.is_empty() {
        return Vec::new();
    }
    let short_id = wanted
        .get(1..)
        .and_then(|digits| digits.parse::<u32>().ok())
        .map(|n| format!("{}{n:04}", &wanted[..1]));
    let mut scored: Vec<(usize, String)> = candidates
        .iter()
        .filter_map(|r| {
            let name = normalise(r.name());
            let score = if short_id.as_deref() == Some(&normalise(r.id())) || name.contains(wanted) {
                0
            } else {
                let d = edit_distance(wanted, &name);
                (d <= (name.chars().count() / 4).max(1)).then_some(d)?
            };
            Some((score, format!("{} ({})", r.id(), r.name())))
        })
        .collect();
    scored.sort_by_key(|(score, _)| *score);
    let best = scored.first().map_or(0, |(s, _)| *s);
    scored
        .into_iter()
        .take_while(|(s, _)| *s == best)
        .take(5)
        .map(|(_, shown)| shown)
        .collect()
}

fn did_you_mean(suggestions: &[String]) -> String {
    if suggestions.is_empty() {
        String::new()
    } else {
        format!(" (did you mean {}?)", suggestions.join(", "))
    }
}

fn parse_campaigns(tsv: &'static str) -> Vec<Campaign> {
    let file = "attack-ics-campaigns.tsv";
    rows(file, tsv, CAMPAIGNS_HEADER)
        .into_iter()
        .map(|(line, fields)| {
            let id = fields[0];
            assert!(
                is_object_id(id, 'C'),
                "{file} line {line}: `{id}` is not a campaign ID"
            );
            Campaign {
                id,
                name: fields[1],
                first_seen: fields[2],
                last_seen: fields[3],
                techniques: technique_ids(file, line, id, fields[4]),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{RecordKind, campaigns, record};

    #[test]
    fn the_seven_campaigns_parse_with_their_techniques() {
        let all = campaigns();
        assert_eq!(all.len(), 7);
        let frosty = all.iter().find(|c| c.id == "C0041").unwrap();
        assert_eq!(frosty.name, "FrostyGoop Incident");
        assert_eq!(frosty.techniques, ["T0826", "T0829", "T0836", "T0857"]);
    }

    #[test]
    fn records_are_found_by_id_or_name() {
        assert_eq!(record("c0041", RecordKind::Any).unwrap().id(), "C0041");
        assert_eq!(record("FrostyGoop", RecordKind::Any).unwrap().id(), "S1165");
        assert_eq!(
            record("frostygoop incident", RecordKind::Any).unwrap().id(),
            "C0041"
        );
        assert_eq!(record("FrostyGoop", RecordKind::Campaign).unwrap().id(), "C0041");
        assert_eq!(record("FrostyGoop", RecordKind::Software).unwrap().id(), "S1165");
        assert_eq!(record("industroyer2", RecordKind::Any).unwrap().id(), "S1072");
        assert_eq!(record("Industroyer", RecordKind::Any).unwrap().id(), "S0604");
        assert_eq!(record("maroochy", RecordKind::Campaign).unwrap().id(), "C0020");
    }

    #[test]
    fn an_unknown_record_names_the_close_ones() {
        let e = record("ukraine", RecordKind::Campaign).unwrap_err().to_string();
        assert!(e.contains("unknown ATT&CK for ICS campaign `ukraine`"), "{e}");
        assert!(e.contains("C0025 (2016 Ukraine Electric Power Attack)"), "{e}");
        assert!(e.contains("C0034 (2022 Ukraine Electric Power Attack)"), "{e}");
        let e = record("Industroyr", RecordKind::Any).unwrap_err().to_string();
        assert!(e.contains("did you mean S0604 (Industroyer)"), "{e}");
        let e = record("C41", RecordKind::Any).unwrap_err().to_string();
        assert!(e.contains("C0041 (FrostyGoop Incident)"), "{e}");
        assert!(record("S1165", RecordKind::Campaign).is_err());
    }
}
