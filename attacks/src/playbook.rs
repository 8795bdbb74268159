//! Playbooks: an attack written down as ordered steps, each an ATT&CK for ICS technique run
//! by an actor against a target at a time. Data, not code: red teams and CI pipelines edit
//! them without touching Rust.
//!
//! ```toml
//! [playbook]
//! name = "Oldsmar 2021"
//! description = "Remote access to the HMI, NaOH set point raised"
//!
//! [[actor]]
//! name = "intruder"
//! entry = "external-remote-services"   # how the actor got in; see EntryKind
//! start = "vendor-portal"              # the host the actor holds at the start
//! credentials = [{ user = "operator", host = "hmi-1" }]
//!
//! [[step]]
//! technique = "T0822"                  # External Remote Services
//! actor = "intruder"
//! target = "hmi-1"
//! at = "10m"                           # or after = "30s" (after the previous step ends)
//! params = { service = "vpn" }
//! ```

use crate::catalogue::{self, Record, RecordKind};
use otrange_sim::base::config_error::ConfigError;
use otrange_sim::base::time::{DurationField, SimDuration};
use otrange_sim::net::topology::{HostId, Topology};
use serde::Deserialize;
use toml::Spanned;

/// How an actor first got into the plant (ATT&CK for ICS Initial Access, in words a
/// scenario author uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EntryKind {
    /// A user opened a malicious attachment (T0865, T0863).
    PhishingVictim,
    /// A device reachable from the internet (T0883).
    InternetFacing,
    /// A vendor's or remote worker's remote access (T0822).
    ExternalRemoteServices,
    /// A compromised laptop or USB stick brought in (T0864).
    TransientAsset,
    /// Someone already inside, at the engineering workstation say.
    Insider,
}

/// A credential an actor holds: stolen, bought, or a vendor default it knows.
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CredentialRef {
    /// The account name; it opens a host that lists the same user among its credentials.
    pub user: String,
    /// The host it works on; empty means any host that accepts the user.
    #[serde(default)]
    pub host: Option<String>,
}

/// One `[[actor]]` table as written; [`PlaybookConfig::resolve`] turns it into an
/// [`ActorSpec`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActorConfig {
    /// Unique within the playbook; steps name their actor by it.
    pub name: Spanned<String>,
    /// How the actor got in; informational, no step depends on it.
    pub entry: EntryKind,
    /// The host held at the start.
    pub start: Spanned<String>,
    /// Credentials held from the start; each `host`, if given, must be a host of the plant.
    #[serde(default)]
    pub credentials: Vec<CredentialRef>,
    /// Free text for readers; not carried into the resolved playbook.
    #[serde(default)]
    pub description: String,
}

/// One `[[step]]` table as written; [`PlaybookConfig::resolve`] turns it into a
/// [`StepSpec`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepConfig {
    /// A short name for reports; default "step N".
    pub id: Option<String>,
    /// An ATT&CK for ICS technique ID ("T0855"), checked against the catalogue and the
    /// executors otrange has.
    pub technique: Spanned<String>,
    /// The name of one of the playbook's actors.
    pub actor: Spanned<String>,
    /// A host of the plant, by name; whether one is needed depends on the technique.
    pub target: Option<Spanned<String>>,
    /// Start at this simulated time since the start of the run...
    pub at: Option<Spanned<DurationField>>,
    /// ...or this long after the previous step ended (default: at once).
    pub after: Option<Spanned<DurationField>>,
    /// Technique-specific parameters; each executor documents its own.
    #[serde(default)]
    pub params: toml::Table,
    /// Free text for readers, carried into [`StepSpec::description`].
    #[serde(default)]
    pub description: String,
}

/// The `[playbook]` table: what the attack is and where it comes from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaybookInfo {
    /// The attack's name, such as "Oldsmar 2021".
    pub name: String,
    /// Free text for readers.
    #[serde(default)]
    pub description: String,
    /// Public sources the playbook is modelled on.
    #[serde(default)]
    pub references: Vec<String>,
    /// MITRE's records of what it models: ATT&CK campaign or software IDs or names
    /// (`["C0041", "S1165"]`). `otrange techniques --coverage` measures the playbook against
    /// them; without records a playbook is not measured.
    #[serde(default)]
    pub records: Vec<Spanned<String>>,
    /// The records' techniques the playbook does not execute, each with the reason, so a
    /// reader sees what the exercise leaves out of the incident and why.
    #[serde(default)]
    pub left_out: Vec<LeftOutConfig>,
}

/// One `left_out` entry as written: `{ technique = "T0857", why = "..." }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeftOutConfig {
    /// A technique of the playbook's records.
    pub technique: Spanned<String>,
    /// Why the playbook does not execute it; must not be empty.
    pub why: Spanned<String>,
}

/// A record technique the playbook leaves out, checked against its records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftOut {
    /// The technique's ID as the catalogue spells it.
    pub technique: &'static str,
    /// The playbook's reason.
    pub why: String,
}

/// A playbook file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaybookConfig {
    /// The `[playbook]` table.
    pub playbook: PlaybookInfo,
    /// The `[[actor]]` tables, in file order.
    #[serde(rename = "actor", default)]
    pub actors: Vec<ActorConfig>,
    /// The `[[step]]` tables, in the order they run.
    #[serde(rename = "step", default)]
    pub steps: Vec<StepConfig>,
}

/// When a step starts. Either way it waits for the step before it to succeed: steps run one
/// at a time, and a step that does not succeed stops the ones after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    /// At this simulated time since the start of the run (`at`), or when the previous step
    /// ends if that is later.
    At(SimDuration),
    /// This long after the previous step ended (`after`; a step with neither starts as soon
    /// as the previous one ends).
    After(SimDuration),
}

/// A resolved actor: an [`ActorConfig`] with its start host found in the plant.
#[derive(Debug, Clone)]
pub struct ActorSpec {
    /// Unique within the playbook.
    pub name: String,
    /// How the actor got in; informational, no step depends on it.
    pub entry: EntryKind,
    /// The host held at the start: the actor's first foothold, and home (where beacons
    /// call).
    pub start: HostId,
    /// Hosts held from the start besides `start` (a foothold inside, [`crate::foothold`]);
    /// the last is where the actor works from.
    pub held: Vec<HostId>,
    /// Credentials held from the start.
    pub credentials: Vec<CredentialRef>,
}

/// A resolved step: a [`StepConfig`] checked against the plant, the catalogue and its
/// technique's executor.
#[derive(Debug, Clone)]
pub struct StepSpec {
    /// The playbook's `id`, or "step N" (1-based) when it has none.
    pub id: String,
    /// ATT&CK for ICS technique ID, as the catalogue spells it.
    pub technique: &'static str,
    /// The technique's name in the catalogue.
    pub technique_name: &'static str,
    /// The name of the technique's primary tactic.
    pub tactic: &'static str,
    /// Index into [`Playbook::actors`].
    pub actor: usize,
    /// The target host; `None` when the step names none.
    pub target: Option<HostId>,
    /// When the step starts.
    pub timing: Timing,
    /// Technique-specific parameters, already accepted by the executor.
    pub params: toml::Table,
    /// Free text for readers.
    pub description: String,
}

/// A playbook checked against a plant: host names resolved to that plant's [`HostId`]s, so
/// it runs only in a simulation of the same plant.
#[derive(Debug, Clone, Default)]
pub struct Playbook {
    /// The `[playbook]` name.
    pub name: String,
    /// The `[playbook]` description.
    pub description: String,
    /// Actors in file order; [`StepSpec::actor`] indexes this.
    pub actors: Vec<ActorSpec>,
    /// Steps in the order they run; a step's 1-based position labels its frames.
    pub steps: Vec<StepSpec>,
    /// The host the playbook was started from instead of its own entry, if any
    /// ([`crate::foothold`]).
    pub foothold: Option<HostId>,
    /// MITRE's records the playbook models (`[playbook] records`).
    pub records: Vec<Record>,
    /// The records' techniques it leaves out, with why.
    pub left_out: Vec<LeftOut>,
}

impl PlaybookConfig {
    /// The `records` and `left_out` of `[playbook]`, checked without a plant: each record is
    /// an ATT&CK campaign or software; each left-out technique is one of theirs, listed once,
    /// not executed by a step, and has a reason. Used by [`PlaybookConfig::resolve`] and by
    /// `otrange techniques`, which reads playbook files on their own.
    pub fn records(&self) -> Result<(Vec<Record>, Vec<LeftOut>), ConfigError> {
        let info = &self.playbook;
        let mut records: Vec<Record> = Vec::new();
        for (i, r) in info.records.iter().enumerate() {
            let found = catalogue::record(r.get_ref(), RecordKind::Any).map_err(|e| {
                ConfigError::new(format!("playbook.records[{i}]"), Some(r.span()), e.to_string())
            })?;
            if records.contains(&found) {
                return Err(ConfigError::new(
                    format!("playbook.records[{i}]"),
                    Some(r.span()),
                    format!("{found} is listed twice"),
                ));
            }
            records.push(found);
        }
        let mut left_out: Vec<LeftOut> = Vec::new();
        for (i, l) in info.left_out.iter().enumerate() {
            let field = |k: &str| format!("playbook.left_out[{i}].{k}");
            let tech = catalogue::technique(l.technique.get_ref())
                .map_err(|e| ConfigError::new(field("technique"), Some(l.technique.span()), e.to_string()))?;
            if !records.iter().any(|r| r.techniques().contains(&tech.id)) {
                let named: Vec<String> = records.iter().map(ToString::to_string).collect();
                let msg = if named.is_empty() {
                    format!(
                        "{tech} is left out of no record: add `records` naming the campaign or software first"
                    )
                } else {
                    format!("{tech} is not in the playbook's records ({})", named.join(", "))
                };
                return Err(ConfigError::new(
                    field("technique"),
                    Some(l.technique.span()),
                    msg,
                ));
            }
            if let Some(k) = self
                .steps
                .iter()
                .position(|s| catalogue::technique(s.technique.get_ref()).is_ok_and(|t| t.id == tech.id))
            {
                return Err(ConfigError::new(
                    field("technique"),
                    Some(l.technique.span()),
                    format!("{tech} is left out, but step[{k}] executes it"),
                ));
            }
            if left_out.iter().any(|x| x.technique == tech.id) {
                return Err(ConfigError::new(
                    field("technique"),
                    Some(l.technique.span()),
                    format!("{tech} is left out twice"),
                ));
            }
            if l.why.get_ref().trim().is_empty() {
                return Err(ConfigError::new(
                    field("why"),
                    Some(l.why.span()),
                    format!("say why the playbook leaves {} out", tech.id),
                ));
            }
            left_out.push(LeftOut {
                technique: tech.id,
                why: l.why.get_ref().clone(),
            });
        }
        Ok((records, left_out))
    }
}

impl PlaybookConfig {
    /// Checks every reference against the plant and the ATT&CK catalogue, and that an
    /// executor exists for every technique and accepts its parameters. Errors name the
    /// field (`step[2].technique`) and, where it helps, its span in the file.
    pub fn resolve(&self, topo: &Topology) -> Result<Playbook, ConfigError> {
        let mut actors = Vec::new();
        for (i, a) in self.actors.iter().enumerate() {
            if actors.iter().any(|x: &ActorSpec| x.name == *a.name.get_ref()) {
                return Err(ConfigError::new(
                    format!("actor[{i}].name"),
                    Some(a.name.span()),
                    format!("duplicate actor {:?}", a.name.get_ref()),
                ));
            }
            let start = topo.resolve(&a.start, &format!("actor[{i}].start"))?;
            for (k, c) in a.credentials.iter().enumerate() {
                if let Some(h) = &c.host
                    && topo.host_by_name(h).is_none()
                {
                    return Err(ConfigError::new(
                        format!("actor[{i}].credentials[{k}].host"),
                        None,
                        format!("unknown host {h:?}"),
                    ));
                }
            }
            actors.push(ActorSpec {
                name: a.name.get_ref().clone(),
                entry: a.entry,
                start,
                held: Vec::new(),
                credentials: a.credentials.clone(),
            });
        }
        let mut steps = Vec::new();
        for (i, s) in self.steps.iter().enumerate() {
            let f = |k: &str| format!("step[{i}].{k}");
            let tech = crate::catalogue::technique(s.technique.get_ref())
                .map_err(|e| ConfigError::new(f("technique"), Some(s.technique.span()), e.to_string()))?;
            let actor = actors
                .iter()
                .position(|a| a.name == *s.actor.get_ref())
                .ok_or_else(|| {
                    ConfigError::new(
                        f("actor"),
                        Some(s.actor.span()),
                        format!(
                            "unknown actor {:?}: expected one of the playbook's [[actor]] names",
                            s.actor.get_ref()
                        ),
                    )
                })?;
            let target = match &s.target {
                Some(t) => Some(topo.resolve(t, &f("target"))?),
                None => None,
            };
            let timing = match (&s.at, &s.after) {
                (Some(_), Some(a)) => {
                    return Err(ConfigError::new(
                        f("after"),
                        Some(a.span()),
                        "a step starts either `at` a time or `after` the previous one, not both",
                    ));
                }
                (Some(at), None) => Timing::At(at.get_ref().value),
                (None, Some(a)) => Timing::After(a.get_ref().value),
                (None, None) => Timing::After(SimDuration::ZERO),
            };
            crate::techniques::check(tech.id, target, &s.params, topo)
                // A step's params have no spans of their own: the error points at its technique.
                .map_err(|e| e.under(&format!("step[{i}]")).located(s.technique.span()))?;
            steps.push(StepSpec {
                id: s.id.clone().unwrap_or_else(|| format!("step {}", i + 1)),
                technique: tech.id,
                technique_name: tech.name,
                tactic: tech.primary_tactic().name,
                actor,
                target,
                timing,
                params: s.params.clone(),
                description: s.description.clone(),
            });
        }
        let (records, left_out) = self.records()?;
        Ok(Playbook {
            name: self.playbook.name.clone(),
            description: self.playbook.description.clone(),
            actors,
            steps,
            foothold: None,
            records,
            left_out,
        })
    }
}
