//! Evasion (TA0103): techniques that happen on a host the actor holds and put nothing on the
//! network, T0849 Masquerading and T0872 Indicator Removal on Host. A network sensor sees
//! nothing of them (which is the point of running them in a range); the step's outcome
//! records that they happened, and where.
//!
//! The same executor serves T0890 Exploitation for Privilege Escalation (Privilege
//! Escalation), which is host-local in the same way; it is here with the executor's primary
//! tactic, the one most of its techniques serve.

use super::{ConfigError, Executor, Outcome, Progress, StepCx, param};
use otrange_sim::net::Delivered;
use otrange_sim::net::topology::{HostId, Topology};

struct Local {
    technique: &'static str,
    host: Option<HostId>,
}

/// The target is the host it happens on (default: where the actor works from).
pub fn build(
    id: &'static str,
    t: Option<HostId>,
    p: &toml::Table,
    _: &Topology,
) -> Result<Box<dyn Executor>, ConfigError> {
    param::only(p, &[])?;
    Ok(Box::new(Local {
        technique: id,
        host: t,
    }))
}

impl Executor for Local {
    fn start(&mut self, cx: &mut StepCx) -> Progress {
        let host = self.host.unwrap_or_else(|| cx.source());
        if !cx.actor.holds(host) {
            return Progress::Done(Outcome::Failed {
                reason: format!(
                    "missing precondition: the actor holds no foothold on {}",
                    cx.name(host)
                ),
            });
        }
        let what = match self.technique {
            "T0890" => "gained administrative rights",
            "T0849" => "disguised its tools as legitimate software",
            _ => "removed its traces from the logs",
        };
        Progress::Done(Outcome::Succeeded {
            detail: format!("{what} on {} (host-local: no network frames)", cx.name(host)),
        })
    }
    fn reply(&mut self, _: &mut StepCx, _: &Delivered) -> Progress {
        Progress::Wait(None)
    }
    fn timer(&mut self, _: &mut StepCx) -> Progress {
        Progress::Wait(None)
    }
}
