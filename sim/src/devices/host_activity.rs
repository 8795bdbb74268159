//! Routine benign activity on hosts: what people and scheduled jobs do that only the hosts'
//! own logs record. An administrator's inventory script run with `-ExecutionPolicy Bypass`,
//! operators logging on at the start of a shift, a backup job writing its archive: a host
//! detector must see these every day without alarming, or its alarms are noise.
//!
//! ```toml
//! [[host_activity]]
//! name = "IT inventory script"
//! hosts = ["ws-03"]
//! every = "6h"          # mean time between runs, per host (exponentially distributed)
//! process = { image = 'C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe', command_line = 'powershell.exe -NoProfile -ExecutionPolicy Bypass -File \\file-01\it\inventory.ps1', parent = 'C:\Windows\System32\svchost.exe', user = "it-admin" }
//!
//! [[host_activity]]
//! name = "shift change"
//! hosts = ["hmi-1"]
//! every = "8h"
//! logon = { user = "operator", method = "interactive" }
//! ```
//!
//! Each entry gives exactly one of `process`, `logon`, `file` or `service`. Every host of an
//! entry draws its gaps from its own stream, so adding an entry never shifts another's times.

use crate::base::clock::{Clock, Wakeups};
use crate::base::config_error::{ConfigError, period_field};
use crate::base::time::{DurationField, SimDuration, SimTime};
use crate::devices::host_log::{HostActivity, HostLog, LogonMethod, ServiceAction};
use crate::net::topology::HostId;
use bevy_ecs::prelude::*;
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;
use toml::Spanned;

/// `[[host_activity]]` in a plant file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostActivityConfig {
    /// What the routine is, for people reading the plant file.
    #[serde(default)]
    pub name: String,
    /// The hosts it happens on; each on its own schedule.
    pub hosts: Vec<Spanned<String>>,
    /// Mean time between two occurrences on one host.
    pub every: Spanned<DurationField>,
    /// A process started.
    #[serde(default)]
    pub process: Option<ProcessConfig>,
    /// A logon.
    #[serde(default)]
    pub logon: Option<LogonConfig>,
    /// A file written.
    #[serde(default)]
    pub file: Option<FileConfig>,
    /// A service installed, stopped or started.
    #[serde(default)]
    pub service: Option<ServiceConfig>,
}

/// `process = { image, command_line, parent, user }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessConfig {
    /// The executable's path.
    pub image: String,
    /// The whole command line (default: the image).
    #[serde(default)]
    pub command_line: Option<String>,
    /// The parent process's executable (default: `C:\Windows\explorer.exe`, a user's shell).
    #[serde(default)]
    pub parent: Option<String>,
    /// The account (default: the host's first account).
    #[serde(default)]
    pub user: Option<String>,
}

/// `logon = { user, method }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogonConfig {
    /// The account (default: the host's first account).
    #[serde(default)]
    pub user: Option<String>,
    /// `interactive` (default), `network` or `remote_interactive`.
    #[serde(default = "interactive")]
    pub method: LogonMethod,
}

fn interactive() -> LogonMethod {
    LogonMethod::Interactive
}

/// `file = { path, image }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// The file written.
    pub path: String,
    /// The executable that writes it.
    pub image: String,
}

/// `service = { name, action }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    /// The service.
    pub name: String,
    /// `installed`, `stopped` or `started`.
    pub action: ServiceAction,
}

/// One host's share of one entry.
#[derive(Debug)]
struct Routine {
    host: HostId,
    activity: HostActivity,
    mean: SimDuration,
    next: SimTime,
    rng: ChaCha8Rng,
}

impl Routine {
    fn gap(&mut self) -> SimDuration {
        crate::base::rng::exponential_gap(&mut self.rng, self.mean)
    }
}

/// Every routine of the plant, in file order, then host order within an entry.
#[derive(Resource, Debug, Default)]
pub struct HostRoutines(Vec<Routine>);

/// The host's own account, as activity on it is recorded under: its first credential that
/// is not a vendor default (a factory account is what an attacker tries, not who works
/// there), or `<host>\user` for a host that declares none.
pub fn account_of(topo: &crate::net::topology::Topology, host: HostId) -> String {
    let h = topo.host(host);
    h.credentials
        .iter()
        .find(|c| !c.default)
        .map_or_else(|| format!("{}\\user", h.name), |c| c.user.clone())
}

fn activity_of(cfg: &HostActivityConfig, idx: usize, user: &str) -> Result<HostActivity, ConfigError> {
    let given = [
        cfg.process.is_some(),
        cfg.logon.is_some(),
        cfg.file.is_some(),
        cfg.service.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(ConfigError::new(
            format!("host_activity[{idx}]"),
            Some(cfg.every.span()),
            "give exactly one of process, logon, file or service",
        ));
    }
    let user_or = |u: &Option<String>| u.clone().unwrap_or_else(|| user.to_string());
    Ok(if let Some(p) = &cfg.process {
        HostActivity::ProcessStart {
            image: p.image.clone(),
            command_line: p.command_line.clone().unwrap_or_else(|| p.image.clone()),
            parent_image: p
                .parent
                .clone()
                .unwrap_or_else(|| r"C:\Windows\explorer.exe".into()),
            user: user_or(&p.user),
        }
    } else if let Some(l) = &cfg.logon {
        HostActivity::Logon {
            user: user_or(&l.user),
            method: l.method,
            source: None,
            success: true,
        }
    } else if let Some(f) = &cfg.file {
        HostActivity::FileWrite {
            path: f.path.clone(),
            image: f.image.clone(),
        }
    } else {
        let s = cfg.service.as_ref().expect("counted above");
        HostActivity::ServiceChange {
            service: s.name.clone(),
            action: s.action,
        }
    })
}

/// Agents: routines record their activity when due.
pub fn host_activity_tick(
    clock: Res<Clock>,
    mut wake: ResMut<Wakeups>,
    mut log: ResMut<HostLog>,
    mut routines: ResMut<HostRoutines>,
) {
    let now = clock.now;
    for r in routines.0.iter_mut() {
        if r.next > now {
            continue;
        }
        while r.next <= now {
            log.record(now, r.host, 0, r.activity.clone());
            let gap = r.gap();
            r.next += gap;
        }
        wake.at(r.next);
    }
}

/// Host activity as a device kind: `[[host_activity]]` entries, on any host (a routine runs
/// beside whatever device the host is).
pub struct HostActivityKind;

impl super::kind::DeviceKind for HostActivityKind {
    type Config = HostActivityConfig;
    fn build(configs: &[HostActivityConfig], cx: &mut super::kind::BuildCx<'_>) -> Result<(), ConfigError> {
        let mut routines = Vec::new();
        for (i, c) in configs.iter().enumerate() {
            let mean = period_field(
                &c.every,
                format!("host_activity[{i}].every"),
                SimDuration::from_secs(1),
            )?;
            for (k, h) in c.hosts.iter().enumerate() {
                let host = cx.topo.resolve(h, &format!("host_activity[{i}].hosts[{k}]"))?;
                let activity = activity_of(c, i, &account_of(cx.topo, host))?;
                let rng = cx
                    .seed
                    .stream(&format!("host-activity/{i}/{}", cx.topo.host(host).name));
                let mut r = Routine {
                    host,
                    activity,
                    mean,
                    next: SimTime::ZERO,
                    rng,
                };
                r.next = SimTime::ZERO + r.gap();
                cx.wake.at(r.next);
                routines.push(r);
            }
        }
        cx.world.insert_resource(HostRoutines(routines));
        Ok(())
    }
    fn systems(s: &mut super::kind::KindSystems<'_>) {
        s.add(crate::world::SimSet::Agents, host_activity_tick);
    }
}
