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

use otrange_sim::base::config_error::ConfigError;
use otrange_sim::base::time::{SimDuration, parse_duration};
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
    pub user: String,
    /// The host it works on; empty means any host that accepts the user.
    #[serde(default)]
    pub host: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActorConfig {
    pub name: Spanned<String>,
    pub entry: EntryKind,
    /// The host held at the start.
    pub start: Spanned<String>,
    #[serde(default)]
    pub credentials: Vec<CredentialRef>,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepConfig {
    /// A short name for reports; default "step N".
    pub id: Option<String>,
    pub technique: Spanned<String>,
    pub actor: Spanned<String>,
    pub target: Option<Spanned<String>>,
    /// Start at this simulated time since the start of the run...
    pub at: Option<Spanned<String>>,
    /// ...or this long after the previous step ended (default: at once).
    pub after: Option<Spanned<String>>,
    /// Technique-specific parameters; each executor documents its own.
    #[serde(default)]
    pub params: toml::Table,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaybookInfo {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Public sources the playbook is modelled on.
    #[serde(default)]
    pub references: Vec<String>,
}

/// A playbook file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaybookConfig {
    pub playbook: PlaybookInfo,
    #[serde(rename = "actor", default)]
    pub actors: Vec<ActorConfig>,
    #[serde(rename = "step", default)]
    pub steps: Vec<StepConfig>,
}

/// When a step starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    At(SimDuration),
    After(SimDuration),
}

/// A resolved actor.
#[derive(Debug, Clone)]
pub struct ActorSpec {
    pub name: String,
    pub entry: EntryKind,
    pub start: HostId,
    pub credentials: Vec<CredentialRef>,
}

/// A resolved step.
#[derive(Debug, Clone)]
pub struct StepSpec {
    pub id: String,
    pub technique: &'static str,
    pub technique_name: &'static str,
    pub tactic: &'static str,
    pub actor: usize,
    pub target: Option<HostId>,
    pub timing: Timing,
    pub params: toml::Table,
    pub description: String,
}

/// A playbook checked against a plant.
#[derive(Debug, Clone)]
pub struct Playbook {
    pub name: String,
    pub description: String,
    pub actors: Vec<ActorSpec>,
    pub steps: Vec<StepSpec>,
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
            let dur = |v: &Spanned<String>, k: &str| {
                parse_duration(v.get_ref()).map_err(|e| ConfigError::new(f(k), Some(v.span()), e.to_string()))
            };
            let timing = match (&s.at, &s.after) {
                (Some(_), Some(a)) => {
                    return Err(ConfigError::new(
                        f("after"),
                        Some(a.span()),
                        "a step starts either `at` a time or `after` the previous one, not both",
                    ));
                }
                (Some(at), None) => Timing::At(dur(at, "at")?),
                (None, Some(a)) => Timing::After(dur(a, "after")?),
                (None, None) => Timing::After(SimDuration::ZERO),
            };
            crate::techniques::check(tech.id, target, &s.params, topo)
                .map_err(|m| ConfigError::new(f(&m.field), Some(s.technique.span()), m.message))?;
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
        Ok(Playbook {
            name: self.playbook.name.clone(),
            description: self.playbook.description.clone(),
            actors,
            steps,
        })
    }
}
