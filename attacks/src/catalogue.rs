//! The MITRE ATT&CK® for ICS catalogue: tactics, techniques and detection strategies, and the
//! groups and software ATT&CK says use them ([`groups`], [`software`]).
//!
//! Scenarios, executors and results name techniques by ATT&CK ID so that an exercise can be
//! read against the public matrix and compared with other tools. This module is the single
//! place those IDs are checked: a scenario that names a technique ATT&CK does not have (a typo,
//! a deprecated ID, an Enterprise ID) fails with an error that says what was expected, instead
//! of producing a run whose coverage report silently mislabels an attack.
//!
//! The data is ATT&CK for ICS v18.1 (see `attacks/data/README.md`), compiled in with
//! `include_str!` so the catalogue needs no files at run time and cannot disagree with the
//! binary that uses it; it is parsed once, on first use.
//!
//! ATT&CK® is a registered trademark of The MITRE Corporation; the ATT&CK data is used under
//! MITRE's terms of use, which require this notice ([`NOTICE`]).

use std::fmt;
use std::sync::LazyLock;

mod campaigns;
mod groups;
mod parse;
mod render;
mod suggest;

pub use campaigns::{Campaign, Record, RecordKind, UnknownRecord, campaigns, record};
pub use groups::{Group, Software, SoftwareKind, UnknownGroup, group, groups, software};
pub use render::{group_table, group_to_json, groups_table, groups_to_json, table, to_json};

/// The ATT&CK release the embedded data comes from, so reports can say which matrix their
/// technique IDs refer to (IDs are stable, but names and tactic assignments change).
pub const ATTACK_VERSION: &str = "18.1";

/// When MITRE last modified the embedded bundle; with [`ATTACK_VERSION`] this pins the data.
pub const ATTACK_MODIFIED: &str = "2025-11-13";

/// MITRE's terms of use require this notice wherever the ATT&CK data is reproduced, which
/// includes the CLI's technique listing.
pub const NOTICE: &str = "ATT&CK® is a registered trademark of The MITRE Corporation; the ATT&CK data is used \
                          under MITRE's terms of use, which require this notice.";

const TACTICS_TSV: &str = include_str!("../data/attack-ics-tactics.tsv");
const TECHNIQUES_TSV: &str = include_str!("../data/attack-ics-techniques.tsv");
const DETECTIONS_TSV: &str = include_str!("../data/attack-ics-detection-strategies.tsv");

static TACTICS: LazyLock<Vec<Tactic>> = LazyLock::new(|| parse::tactics(TACTICS_TSV));
static TECHNIQUES: LazyLock<Vec<Technique>> = LazyLock::new(|| parse::techniques(TECHNIQUES_TSV, tactics()));
static DETECTIONS: LazyLock<Vec<DetectionStrategy>> =
    LazyLock::new(|| parse::detections(DETECTIONS_TSV, techniques()));

/// Techniques that ATT&CK for ICS once had and has since deprecated.
///
/// The TSVs hold active techniques only, so without this table a scenario written against an
/// older matrix would be told its ID is "unknown", which reads like a typo. Source: ATT&CK for
/// ICS v18.1 STIX bundle (revoked/deprecated objects); all twelve were deprecated in ATT&CK v11
/// (2022), when ICS moved onto the ATT&CK website. They were deprecated, not revoked, so ATT&CK
/// names no successor for any of them and `replaced_by` is `None` throughout.
const DEPRECATED: &[DeprecatedTechnique] = &[
    DeprecatedTechnique::new("T0808", "Control Device Identification"),
    DeprecatedTechnique::new("T0810", "Data Historian Compromise"),
    DeprecatedTechnique::new("T0818", "Engineering Workstation Compromise"),
    DeprecatedTechnique::new("T0824", "I/O Module Discovery"),
    DeprecatedTechnique::new("T0825", "Location Identification"),
    DeprecatedTechnique::new("T0833", "Modify Control Logic"),
    DeprecatedTechnique::new("T0841", "Network Service Scanning"),
    DeprecatedTechnique::new("T0844", "Program Organization Units"),
    DeprecatedTechnique::new("T0850", "Role Identification"),
    DeprecatedTechnique::new("T0854", "Serial Connection Enumeration"),
    DeprecatedTechnique::new("T0870", "Detect Program State"),
    DeprecatedTechnique::new("T0875", "Change Program State"),
];

/// What a technique means in the range: every one of the 83 has exactly one meaning, so no
/// technique a campaign record names is left unexplained (`otrange techniques` shows it).
///
/// The catalogue only names the kinds; the executor registry decides which applies
/// (`otrange_attacks::techniques::meaning`), so the catalogue stays a leaf module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meaning {
    /// A playbook step can run it: frames on the wire or records in a host's log.
    Executor,
    /// The plant produces it: the physics crosses a limit, or an HMI loses its view or
    /// control. Results report it as an impact; no step scripts it.
    Impact,
    /// It cannot happen in the range, for the reason given (no radio, no serial lines).
    OutOfScope(&'static str),
    /// Nothing yet: a gap to close, which a test refuses.
    Unexplained,
}

impl Meaning {
    /// The short word tables show: `executor`, `impact`, `out of scope`, `-`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Executor => "executor",
            Self::Impact => "impact",
            Self::OutOfScope(_) => "out of scope",
            Self::Unexplained => "-",
        }
    }

    /// The reason a technique is out of scope; `None` for the other meanings.
    pub fn reason(self) -> Option<&'static str> {
        match self {
            Self::OutOfScope(why) => Some(why),
            _ => None,
        }
    }
}

/// An ATT&CK for ICS tactic: the adversary's goal at one stage of the kill chain.
///
/// Techniques refer to tactics by `&'static Tactic` rather than by name so that a technique's
/// tactics can be compared and ordered without string matching.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tactic {
    /// ATT&CK tactic ID, e.g. `TA0108`.
    pub id: &'static str,
    /// Display name, e.g. `Initial Access`.
    pub name: &'static str,
    /// ATT&CK's kill-chain phase name, e.g. `initial-access`; the form STIX data and ATT&CK
    /// Navigator layers use, so it is what to match when importing from other tools.
    pub shortname: &'static str,
    /// Position in the kill chain, 0 for Initial Access; sorting by it orders a report the
    /// way an attack unfolds.
    pub order: usize,
}

impl fmt::Display for Tactic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// An active ATT&CK for ICS technique.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Technique {
    /// ATT&CK technique ID, e.g. `T0855`; the key scenarios and results use.
    pub id: &'static str,
    /// Display name, e.g. `Unauthorized Command Message`.
    pub name: &'static str,
    /// Every tactic the technique serves, in kill-chain order; never empty. A technique such
    /// as T0866 serves more than one goal, and coverage reports count it under each.
    pub tactics: Vec<&'static Tactic>,
}

impl Technique {
    /// The earliest tactic in the kill chain, for views that need one column per technique
    /// (a timeline, a one-line summary) and must place multi-tactic techniques somewhere
    /// predictable.
    pub fn primary_tactic(&self) -> &'static Tactic {
        self.tactics[0]
    }

    /// Whether the technique serves `tactic`, given as ID, name or shortname in any case, so
    /// a CLI filter can accept whichever form the user copied from ATT&CK.
    pub fn has_tactic(&self, tactic: &str) -> bool {
        let Some(wanted) = self::tactic(tactic) else {
            return false;
        };
        self.tactics.iter().any(|t| t.id == wanted.id)
    }

    /// ATT&CK's detection strategy for this technique, so a coverage report can say what a
    /// defender would have needed to observe.
    pub fn detection(&self) -> Option<&'static DetectionStrategy> {
        detection(self.id)
    }
}

impl fmt::Display for Technique {
    /// `T0855 (Unauthorized Command Message)`: an ID alone is opaque to most readers and a name
    /// alone is ambiguous across matrices, so messages show both.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.id, self.name)
    }
}

/// ATT&CK's detection strategy for one technique (ATT&CK v18 replaced per-technique data
/// sources with these): which analytics detect it and which data components they read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetectionStrategy {
    /// The technique this strategy detects, e.g. `T0855`.
    pub technique: &'static str,
    /// ATT&CK detection strategy ID, e.g. `DET0802`.
    pub id: &'static str,
    /// ATT&CK analytic IDs, e.g. `AN1934`. Can be empty: v18.1 gives T0895 (Autorun Image)
    /// a strategy without an analytic.
    pub analytics: Vec<&'static str>,
    /// Data components the analytics need, e.g. `Network Traffic Content`. Empty for the
    /// Impact techniques, which ATT&CK expects to be seen through their consequences rather
    /// than through a log source.
    pub data_components: Vec<&'static str>,
}

/// A technique ID that ATT&CK for ICS has retired; kept only to explain why it is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeprecatedTechnique {
    /// The retired ID, e.g. `T0854`.
    pub id: &'static str,
    /// Its name when it was active, which is how most people will remember it.
    pub name: &'static str,
    /// The active technique ATT&CK revoked it in favour of, if any.
    pub replaced_by: Option<&'static str>,
}

impl DeprecatedTechnique {
    const fn new(id: &'static str, name: &'static str) -> Self {
        Self {
            id,
            name,
            replaced_by: None,
        }
    }
}

/// Why a technique name given by a user or a scenario could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueError {
    /// Not an ATT&CK for ICS technique at all: a typo, a name instead of an ID, or an ID from
    /// another matrix (Enterprise IDs such as T1190 are not ICS techniques).
    #[error(
        "unknown technique `{id}`{}: expected an ATT&CK for ICS technique ID such as T0855 \
         (Unauthorized Command Message); `otrange techniques` lists them",
        did_you_mean(.suggestion.as_deref())
    )]
    Unknown {
        /// What was given, as given.
        id: String,
        /// The ID of the active technique the input most resembles, if any is close enough
        /// to be worth proposing.
        suggestion: Option<String>,
    },
    /// A real ATT&CK for ICS technique that has been deprecated, so it has no place in the
    /// current matrix and no executor.
    #[error(
        "technique {id} ({name}) is deprecated in ATT&CK for ICS and not part of v{}: {}; \
         `otrange techniques` lists the active techniques",
        ATTACK_VERSION,
        replacement(.replaced_by.as_deref())
    )]
    Deprecated {
        /// The deprecated ID.
        id: &'static str,
        /// Its former name.
        name: &'static str,
        /// The technique ATT&CK points to instead, if it names one.
        replaced_by: Option<&'static str>,
    },
}

fn did_you_mean(suggestion: Option<&str>) -> String {
    match suggestion.and_then(|id| technique(id).ok()) {
        Some(t) => format!(" (did you mean {}, {}?)", t.id, t.name),
        None => String::new(),
    }
}

fn replacement(replaced_by: Option<&str>) -> String {
    match replaced_by.and_then(|id| technique(id).ok()) {
        Some(t) => format!("use {t} instead"),
        None => "ATT&CK names no replacement".to_owned(),
    }
}

/// The 12 tactics in kill-chain order (Initial Access first, Impact last).
pub fn tactics() -> &'static [Tactic] {
    &TACTICS
}

/// The 83 active techniques, sorted by ID.
pub fn techniques() -> &'static [Technique] {
    &TECHNIQUES
}

/// The retired technique IDs this catalogue recognises; see [`CatalogueError::Deprecated`].
pub fn deprecated_techniques() -> &'static [DeprecatedTechnique] {
    DEPRECATED
}

/// Looks a technique up by ID, ignoring case and surrounding whitespace, because IDs are
/// typed by hand into scenario files and on the command line.
///
/// Anything else is an error rather than a best guess: a scenario that silently ran a
/// different technique than its author meant would report the wrong coverage. The error
/// carries a suggestion instead.
pub fn technique(id: &str) -> Result<&'static Technique, CatalogueError> {
    let key = id.trim().to_ascii_uppercase();
    if let Some(found) = find_active(&key) {
        return Ok(found);
    }
    if let Some(retired) = find_deprecated(&key) {
        return Err(deprecated_error(retired));
    }
    match suggest::suggest(id) {
        suggest::Suggestion::Active(t) => Err(CatalogueError::Unknown {
            id: id.to_owned(),
            suggestion: Some(t.id.to_owned()),
        }),
        suggest::Suggestion::Deprecated(retired) => Err(deprecated_error(retired)),
        suggest::Suggestion::None => Err(CatalogueError::Unknown {
            id: id.to_owned(),
            suggestion: None,
        }),
    }
}

/// Looks a tactic up by ID (`TA0108`), name (`Initial Access`) or shortname
/// (`initial-access`), in any case, since each form appears in ATT&CK's own material.
pub fn tactic(key: &str) -> Option<&'static Tactic> {
    let key = key.trim();
    tactics().iter().find(|t| {
        t.id.eq_ignore_ascii_case(key)
            || t.name.eq_ignore_ascii_case(key)
            || t.shortname.eq_ignore_ascii_case(key)
    })
}

/// ATT&CK's detection strategy for a technique ID (any case); `None` if the ID is not an
/// active technique.
pub fn detection(id: &str) -> Option<&'static DetectionStrategy> {
    let key = id.trim().to_ascii_uppercase();
    let all: &'static [DetectionStrategy] = &DETECTIONS;
    all.iter().find(|d| d.technique == key)
}

fn find_active(upper_id: &str) -> Option<&'static Technique> {
    let all = techniques();
    all.binary_search_by(|t| t.id.cmp(upper_id)).ok().map(|i| &all[i])
}

fn find_deprecated(upper_id: &str) -> Option<&'static DeprecatedTechnique> {
    DEPRECATED.iter().find(|d| d.id == upper_id)
}

fn deprecated_error(retired: &'static DeprecatedTechnique) -> CatalogueError {
    CatalogueError::Deprecated {
        id: retired.id,
        name: retired.name,
        replaced_by: retired.replaced_by,
    }
}
