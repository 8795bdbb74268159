//! Technique executors: what each ATT&CK for ICS technique does on the wire. Every frame
//! an executor sends carries its step's label, so the run is a labelled dataset; whatever
//! touches Modbus sends real ADU bytes. Impacts are never scripted here: they happen, or
//! not, in the physics.
//!
//! One module per ATT&CK for ICS tactic, in kill-chain order. An executor that serves
//! techniques of several tactics lives with its primary one, and its module says so.
//!
//! * [`initial_access`]: getting in and moving between IT hosts (T0822, T0883, T0865,
//!   T0866, T0886, T0817, T0819, T0862; T0859, T0812, T0867, T0891 of Lateral Movement;
//!   T0863 of Execution).
//! * [`execution`]: a controller's operating mode over FC 90 (T0858; T0868 of Collection,
//!   T0871 Execution through API: the same vendor API call in its read form).
//! * [`host_local`]: what happens on a held host only and shows in its logs, not on the
//!   wire (T0807, T0853, T0894, T0834, T0840, T0852, T0893, T0849, T0872, T0890, T0820,
//!   T0851, T0874, T0873, T0895, T0881, T0892), and the two ways an actor appears on a
//!   host inside (T0847, T0864), kept whole across their tactics.
//! * [`discovery`]: Modbus sweeps and identification, and sniffing (T0846, T0888, T0842).
//! * [`lateral_movement`]: a program into a controller over FC 90 (T0843; T0889 of
//!   Persistence, T0845 of Collection, T0821 Modify Controller Tasking of Execution: a task
//!   appended to the running program).
//! * [`firmware`]: a controller's boot loader over FC 90, kept whole across its tactics
//!   (T0800 of Inhibit Response Function; T0857 of Persistence and Inhibit Response
//!   Function, T0839 of Persistence and Impair Process Control).
//! * [`io_image`]: a controller's input image over FC 90, kept whole across its tactics
//!   (T0877 of Collection, T0835 Manipulate I/O Image of Inhibit Response Function: a force).
//! * [`collection`]: Modbus reads and point walks, pulls from IT repositories (T0861,
//!   T0801, T0802, T0811; T0882 of Impact).
//! * [`command_and_control`]: beacons home (T0869, T0885, T0884).
//! * [`inhibit_response`]: floods, restarts and ransomware (T0814, T0816, T0809).
//! * [`impair_process_control`]: Modbus writes (T0855, T0836, T0806; T0831 of Impact,
//!   T0838, T0878 of Inhibit Response Function, T0848 of Initial Access, T0823 Graphical
//!   User Interface: the write an actor at an HMI's screens makes, sent from the HMI).
//! * [`aitm`]: an adversary in the middle of a switched segment (T0830, T0832, T0856,
//!   T0803, T0804), kept whole across its tactics: every step drives one middlebox.
//!
//! The Modbus executors share their request book-keeping and the judgement of a step by its
//! answers (a private `modbus_client` module); the FC 90 ones a conversation of requests
//! sent in turn (a private `vendor_client` module).

pub mod aitm;
pub mod collection;
pub mod command_and_control;
pub mod discovery;
pub mod execution;
pub mod firmware;
pub mod host_local;
pub mod impair_process_control;
pub mod inhibit_response;
pub mod initial_access;
pub mod io_image;
pub mod lateral_movement;
mod modbus_client;
mod vendor_client;

use crate::agent::Actor;
use otrange_sim::base::config_error::ConfigError;
use otrange_sim::base::time::{SimDuration, SimTime};
use otrange_sim::net::topology::{HostId, Service, Topology};
use otrange_sim::net::{Delivered, Fate, Network, Payload};

/// How long an IT transfer that moves megabytes (a pull from a historian, an encryptor
/// pushed over SMB) may take before its step fails for want of an answer.
const TRANSFER_TIMEOUT: SimDuration = SimDuration::from_secs(60);

/// What an executor hands back after each call.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// Not finished; call `timer` at this time (or wait for answers only).
    Wait(Option<SimTime>),
    /// The step is over; its executor is not called again.
    Done(Outcome),
}

/// How a step ended, as results.json reports it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// The technique did what it set out to do; the steps after it may run.
    Succeeded {
        /// What it achieved, in words, for results.json and the event log.
        detail: String,
    },
    /// A policy, or a detector in prevention mode, denied it; where and by which rule.
    Blocked {
        /// The name of the host that stopped the frame.
        at: String,
        /// The name of the rule that stopped it.
        rule: String,
        /// What the frame lacked, when an identity or MFA requirement stopped it.
        why: Option<String>,
    },
    /// The target said no (an exception), or a precondition was missing, or nothing answered.
    Failed {
        /// Why, in words.
        reason: String,
    },
}

/// Everything an executor may touch while its step runs.
pub struct StepCx<'a> {
    /// The simulated time of this call.
    pub now: SimTime,
    /// The network the step's frames go through; an adversary in the middle is reached
    /// again through it by its middlebox id.
    pub net: &'a mut Network,
    /// Which hosts are encrypted: ransomware sets it, the site's procedures react to it.
    pub health: &'a mut otrange_sim::devices::procedure::HostHealth,
    /// Every host's log: host-local steps record what an endpoint agent would see there.
    pub hosts: &'a mut otrange_sim::devices::host_log::HostLog,
    /// The plant's hosts, zones and services, to resolve and name hosts.
    pub topo: &'a Topology,
    /// The actor running the step: executors add to its loot, footholds and credentials.
    pub actor: &'a mut Actor,
    /// The step's target; `None` when the playbook names none.
    pub target: Option<HostId>,
    /// The step's `params` table, as accepted when the playbook loaded.
    pub params: &'a toml::Table,
    /// Put on every frame the step sends: its ground truth.
    pub label: u32,
}

impl StepCx<'_> {
    /// The host the actor acts from: its most recent foothold, or `params.from` if the
    /// playbook names one it holds.
    pub fn source(&self) -> HostId {
        if let Some(from) = self.params.get("from").and_then(|v| v.as_str())
            && let Some(h) = self.topo.host_by_name(from)
            && self.actor.holds(h)
        {
            return h;
        }
        self.actor.current()
    }

    /// The host a frame to `to` leaves from: [`StepCx::source`], unless that is `to`
    /// itself, then the most recent other foothold. Started from a foothold (assume
    /// breach), the actor may not hold the `from` the playbook wrote for the full chain,
    /// and its latest foothold may be the very host the step copies a tool to.
    pub fn sender_to(&self, to: HostId) -> HostId {
        let src = self.source();
        if src != to {
            return src;
        }
        let footholds = self.actor.footholds();
        footholds.iter().rev().copied().find(|h| *h != to).unwrap_or(src)
    }

    /// Sends a Modbus request ADU from the actor's source host ([`StepCx::sender_to`]).
    pub fn send_modbus(&mut self, to: HostId, adu: Vec<u8>) {
        let src = self.sender_to(to);
        self.net.send(
            self.now,
            src,
            to,
            Service::Modbus,
            Payload::Modbus(adu.into()),
            self.label,
        );
    }

    /// Sends an IT exchange (a login, a file copy) from the actor's source host.
    pub fn send_flow(&mut self, to: HostId, service: Service, bytes: u32, reply_bytes: u32) {
        let src = self.sender_to(to);
        self.net.send(
            self.now,
            src,
            to,
            service,
            Payload::Flow { bytes, reply_bytes },
            self.label,
        );
    }

    /// Sends a raw layer-2 frame (no IP) from the actor's source host, tagged with a VLAN
    /// priority if `pcp` is given.
    pub fn send_layer2(&mut self, to: HostId, bytes: u32, pcp: Option<u8>) {
        let src = self.sender_to(to);
        let tag = pcp.map(|pcp| otrange_sim::net::VlanTag { pcp, vid: 1 });
        self.net.send_layer2(self.now, src, to, bytes, tag, self.label);
    }

    /// Records, in `host`'s log, something the step did there (labelled with the step).
    pub fn record(&mut self, host: HostId, activity: otrange_sim::devices::host_log::HostActivity) {
        self.hosts.record(self.now, host, self.label, activity);
    }

    /// A host's name in the plant, for outcome details.
    pub fn name(&self, h: HostId) -> &str {
        &self.topo.host(h).name
    }
}

/// One running technique.
pub trait Executor: Send + Sync {
    /// The step starts now.
    fn start(&mut self, cx: &mut StepCx) -> Progress;
    /// An answer to one of the step's frames arrived.
    fn reply(&mut self, cx: &mut StepCx, d: &Delivered) -> Progress;
    /// The time asked for in `Progress::Wait` came.
    fn timer(&mut self, cx: &mut StepCx) -> Progress;
    /// One of the step's frames was blocked or dropped. Most steps stop there.
    fn fate(&mut self, cx: &mut StepCx, f: &Fate) -> Progress {
        Progress::Done(blocked(cx.topo, f))
    }
}

/// The outcome a blocked or dropped frame means.
pub fn blocked(topo: &Topology, f: &Fate) -> Outcome {
    match &f.kind {
        otrange_sim::net::FateKind::Blocked { point, rule, why } => Outcome::Blocked {
            at: topo.host(*point).name.clone(),
            rule: rule.clone(),
            why: why.clone(),
        },
        otrange_sim::net::FateKind::Dropped { node, reason } => Outcome::Failed {
            reason: format!("dropped at {}: {reason}", topo.host(*node).name),
        },
    }
}

/// Techniques otrange can execute, with the function that builds their executor.
type Build =
    fn(&'static str, Option<HostId>, &toml::Table, &Topology) -> Result<Box<dyn Executor>, ConfigError>;

fn registry() -> &'static [(&'static str, Build)] {
    &[
        // Initial Access, and lateral movement between IT hosts: one IT exchange each.
        ("T0822", initial_access::build),
        ("T0883", initial_access::build),
        ("T0866", initial_access::build),
        ("T0859", initial_access::build),
        ("T0812", initial_access::build),
        ("T0886", initial_access::build),
        ("T0865", initial_access::build),
        ("T0863", initial_access::build),
        ("T0867", initial_access::build),
        ("T0891", initial_access::build),
        ("T0819", initial_access::build),
        ("T0817", initial_access::build),
        ("T0862", initial_access::build),
        // Execution: a controller's operating mode (FC 90).
        ("T0858", execution::build_vendor),
        ("T0868", execution::build_vendor),
        ("T0871", execution::build_vendor),
        // On a held host: its logs, nothing on the wire.
        ("T0807", host_local::build),
        ("T0853", host_local::build),
        ("T0894", host_local::build),
        ("T0834", host_local::build),
        ("T0840", host_local::build),
        ("T0852", host_local::build),
        ("T0893", host_local::build),
        ("T0849", host_local::build),
        ("T0872", host_local::build),
        ("T0890", host_local::build),
        ("T0820", host_local::build),
        ("T0851", host_local::build),
        ("T0874", host_local::build),
        ("T0873", host_local::build),
        ("T0895", host_local::build),
        ("T0881", host_local::build),
        ("T0892", host_local::build),
        ("T0847", host_local::build),
        ("T0864", host_local::build),
        // Discovery.
        ("T0846", discovery::build_discovery),
        ("T0888", discovery::build_identify),
        ("T0842", discovery::build_sniff),
        // Lateral Movement into a controller: programs over FC 90.
        ("T0843", lateral_movement::build_program),
        ("T0889", lateral_movement::build_program),
        ("T0845", lateral_movement::build_program),
        ("T0821", lateral_movement::build_program),
        // A controller's firmware and its input image (FC 90).
        ("T0800", firmware::build),
        ("T0857", firmware::build),
        ("T0839", firmware::build),
        ("T0877", io_image::build),
        ("T0835", io_image::build),
        // Collection.
        ("T0861", collection::build_point_scan),
        ("T0801", collection::build_read),
        ("T0802", collection::build_read),
        ("T0811", collection::build_pull),
        ("T0882", collection::build_pull),
        // Command and Control.
        ("T0869", command_and_control::build_c2),
        ("T0885", command_and_control::build_c2),
        ("T0884", command_and_control::build_c2),
        // Inhibit Response Function.
        ("T0814", inhibit_response::build_flood),
        ("T0816", inhibit_response::build_restart),
        ("T0809", inhibit_response::build_encrypt),
        // Impair Process Control: Modbus writes.
        ("T0855", impair_process_control::build_write),
        ("T0836", impair_process_control::build_write),
        ("T0831", impair_process_control::build_write),
        ("T0838", impair_process_control::build_write),
        ("T0878", impair_process_control::build_write),
        ("T0848", impair_process_control::build_write),
        ("T0823", impair_process_control::build_write),
        ("T0806", impair_process_control::build_brute_force),
        // In the middle of a segment.
        ("T0830", aitm::build_position),
        ("T0832", aitm::build_manipulate),
        ("T0856", aitm::build_manipulate),
        ("T0803", aitm::build_manipulate),
        ("T0804", aitm::build_manipulate),
    ]
}

/// Techniques the plant produces rather than a step: the physics crossing a limit
/// (`[[limit]]` in a plant file names its technique) or an HMI losing its view or its
/// control (`device_impact` events). Results map each impact event to one of them.
/// T0831, T0832 and T0882 are Impact-tactic techniques too, but an actor performs them, so
/// they have executors.
pub const IMPACTS: &[&str] = &[
    "T0813", "T0815", "T0826", "T0827", "T0828", "T0829", "T0837", "T0879", "T0880",
];

/// Techniques that cannot happen in the range, with the reason `otrange techniques` shows.
pub const OUT_OF_SCOPE: &[(&str, &str)] = &[
    (
        "T0805",
        "no serial links are modelled: every device is on Ethernet (Modbus TCP)",
    ),
    (
        "T0860",
        "no radio links are modelled: wireless is stood in for by a wired foothold",
    ),
    (
        "T0887",
        "no radio links are modelled, so there is nothing to sniff over the air",
    ),
];

/// What a technique means in the range: an executor, an impact the plant produces, out of
/// scope (with why), or unexplained (a gap the catalogue test refuses).
pub fn meaning(id: &str) -> crate::catalogue::Meaning {
    use crate::catalogue::Meaning;
    if IMPACTS.contains(&id) {
        Meaning::Impact
    } else if let Some((_, why)) = OUT_OF_SCOPE.iter().find(|(t, _)| *t == id) {
        Meaning::OutOfScope(why)
    } else if has_executor(id) {
        Meaning::Executor
    } else {
        Meaning::Unexplained
    }
}

/// Whether otrange can execute a technique.
pub fn has_executor(id: &str) -> bool {
    registry().iter().any(|(t, _)| *t == id)
}

/// Builds the executor of a technique for a step.
pub fn build(
    id: &str,
    target: Option<HostId>,
    params: &toml::Table,
    topo: &Topology,
) -> Result<Box<dyn Executor>, ConfigError> {
    let (id, b) = registry().iter().find(|(t, _)| *t == id).ok_or_else(|| {
        ConfigError::unlocated(
            "technique",
            match meaning(id) {
                crate::catalogue::Meaning::Impact => format!(
                    "{id} is an impact: the plant produces it (a limit crossed, a view or control lost), no step scripts it; list it in the exercise's [expect] impact_techniques"
                ),
                crate::catalogue::Meaning::OutOfScope(why) => {
                    format!("{id} is out of the range's scope: {why}")
                }
                _ => format!(
                    "{id} is an ATT&CK for ICS technique otrange has no executor for; `otrange techniques` shows what each means"
                ),
            },
        )
    })?;
    b(id, target, params, topo)
}

/// Checks a step when the playbook loads: an executor exists and takes the parameters.
pub fn check(
    id: &str,
    target: Option<HostId>,
    params: &toml::Table,
    topo: &Topology,
) -> Result<(), ConfigError> {
    build(id, target, params, topo).map(|_| ())
}

/// Parameter helpers shared by executors: typed, with errors naming `params.<key>`.
pub mod param {
    use super::ConfigError;

    /// `params.<key>` as an integer, or `default` when absent (an error if there is none).
    pub fn int(p: &toml::Table, key: &str, default: Option<i64>) -> Result<i64, ConfigError> {
        match p.get(key) {
            Some(v) => v
                .as_integer()
                .ok_or_else(|| ConfigError::unlocated(format!("params.{key}"), "expected an integer")),
            None => default.ok_or_else(|| ConfigError::unlocated(format!("params.{key}"), "missing")),
        }
    }

    /// `params.<key>` as an integer in 0..=65535 (a register address or count), or `default`
    /// when absent (an error if there is none).
    pub fn u16_(p: &toml::Table, key: &str, default: Option<u16>) -> Result<u16, ConfigError> {
        let v = int(p, key, default.map(i64::from))?;
        u16::try_from(v)
            .map_err(|_| ConfigError::unlocated(format!("params.{key}"), format!("{v} is not in 0..=65535")))
    }

    /// `params.<key>` as a string, or `default` when absent (an error if there is none).
    pub fn string(p: &toml::Table, key: &str, default: Option<&str>) -> Result<String, ConfigError> {
        match p.get(key) {
            Some(v) => v
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| ConfigError::unlocated(format!("params.{key}"), "expected a string")),
            None => default
                .map(str::to_string)
                .ok_or_else(|| ConfigError::unlocated(format!("params.{key}"), "missing")),
        }
    }

    /// `params.<key>` as a duration written as in scenario files ("250ms", "1h30m"), or
    /// `default`, in the same notation, when absent.
    pub fn duration(
        p: &toml::Table,
        key: &str,
        default: &str,
    ) -> Result<otrange_sim::base::time::SimDuration, ConfigError> {
        let s = string(p, key, Some(default))?;
        otrange_sim::base::time::parse_duration(&s)
            .map_err(|e| ConfigError::unlocated(format!("params.{key}"), e.to_string()))
    }

    /// Rejects keys an executor does not know, so a typo is an error, not a silent default.
    pub fn only(p: &toml::Table, known: &[&str]) -> Result<(), ConfigError> {
        for k in p.keys() {
            if !known.contains(&k.as_str()) && k != "from" {
                return Err(ConfigError::unlocated(
                    format!("params.{k}"),
                    format!("unknown parameter; this technique takes: {}", known.join(", ")),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{has_executor, registry};
    use crate::catalogue;

    /// A typo or a duplicate in the registry would make `otrange techniques` and the playbook
    /// checks disagree with what runs.
    #[test]
    fn the_registry_names_active_techniques_each_once() {
        let mut seen = std::collections::BTreeSet::new();
        for (id, _) in registry() {
            assert!(
                catalogue::technique(id).is_ok(),
                "{id} is no active ATT&CK for ICS technique"
            );
            assert!(seen.insert(*id), "{id} is registered twice");
            assert!(has_executor(id));
        }
    }
}
