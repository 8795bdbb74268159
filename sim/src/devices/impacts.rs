//! Impacts devices record: an HMI that cannot see a PLC (T0815 Denial of View, T0829 Loss
//! of View), an operator command that fails (T0813 Denial of Control), and a protection
//! relay or safety system that stops executing its logic (T0837 Loss of Protection).
//!
//! Each is recorded once per episode: a view episode ends with the next valid answer, a
//! control episode with the next acknowledged command, a protection episode when the PLC
//! is back in run mode. Times are sim times, so runs are reproducible.

use crate::base::events::{EventKind, EventLog};
use crate::base::time::{SimDuration, SimTime};
use crate::net::topology::HostId;
use crate::process::ImpactTechnique;

/// Logs a device impact.
pub fn record(
    log: &mut EventLog,
    now: SimTime,
    technique: ImpactTechnique,
    device: &str,
    hmi: Option<&str>,
    description: String,
) {
    log.push(
        now,
        EventKind::DeviceImpact {
            technique: technique.id(),
            technique_name: technique.name(),
            device: device.to_string(),
            hmi: hmi.map(str::to_string),
            description,
        },
    );
}

/// One HMI's view of one PLC: when it last had a valid answer and which impacts the
/// current silence has already recorded.
#[derive(Debug, Clone)]
pub struct ViewWatch {
    /// The PLC watched.
    pub plc: HostId,
    last_ok: SimTime,
    denied: bool,
    lost: bool,
}

/// The thresholds of an HMI's view watch.
#[derive(Debug, Clone, Copy)]
pub struct ViewThresholds {
    /// Silence after which the view is denied (T0815).
    pub lost_after: SimDuration,
    /// Silence after which the view is lost (T0829).
    pub sustained: SimDuration,
}

impl ViewWatch {
    /// A watch that counts silence from `start`, the HMI's first poll: before it, the HMI
    /// had nothing to show.
    pub fn new(plc: HostId, start: SimTime) -> Self {
        ViewWatch {
            plc,
            last_ok: start,
            denied: false,
            lost: false,
        }
    }

    /// A valid answer arrived at `at`: the view is back, and a later silence is a new
    /// episode.
    pub fn answered(&mut self, at: SimTime) {
        if at >= self.last_ok {
            self.last_ok = at;
        }
        self.denied = false;
        self.lost = false;
    }

    /// The impacts due by `now`, each with the time it happened (the moment the silence
    /// reached its threshold), and the next time this watch needs looking at, if the
    /// silence has begun (no answer for longer than `overdue`).
    pub fn check(
        &mut self,
        now: SimTime,
        th: ViewThresholds,
        overdue: SimDuration,
    ) -> (Vec<(SimTime, ImpactTechnique)>, Option<SimTime>) {
        let mut out = Vec::new();
        let denied_at = self.last_ok + th.lost_after;
        let lost_at = self.last_ok + th.sustained;
        if !self.denied && now >= denied_at {
            self.denied = true;
            out.push((denied_at, ImpactTechnique::DenialOfView));
        }
        if !self.lost && now >= lost_at {
            self.lost = true;
            out.push((lost_at, ImpactTechnique::LossOfView));
        }
        let next = if now - self.last_ok < overdue {
            None
        } else if !self.denied {
            Some(denied_at)
        } else if !self.lost {
            Some(lost_at)
        } else {
            None
        };
        (out, next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: u64) -> SimTime {
        SimTime::ZERO + SimDuration::from_secs(x)
    }

    #[test]
    fn a_silence_denies_then_loses_the_view_once_per_episode() {
        let th = ViewThresholds {
            lost_after: SimDuration::from_secs(10),
            sustained: SimDuration::from_secs(900),
        };
        let overdue = SimDuration::from_secs(1);
        let mut v = ViewWatch::new(HostId(0), s(0));
        v.answered(s(50));
        // Answers flowing: nothing due, no wake-up asked for.
        assert_eq!(v.check(s(50), th, overdue), (vec![], None));
        // Overdue: the watch asks to be woken when the silence reaches 10 s.
        assert_eq!(v.check(s(52), th, overdue), (vec![], Some(s(60))));
        let (due, next) = v.check(s(60), th, overdue);
        assert_eq!(due, [(s(60), ImpactTechnique::DenialOfView)]);
        assert_eq!(next, Some(s(950)));
        assert!(v.check(s(61), th, overdue).0.is_empty());
        assert_eq!(
            v.check(s(950), th, overdue).0,
            [(s(950), ImpactTechnique::LossOfView)]
        );
        assert_eq!(v.check(s(2000), th, overdue), (vec![], None));
        // An answer ends the episode; the next silence is a new one.
        v.answered(s(2001));
        assert_eq!(
            v.check(s(2011), th, overdue).0,
            [(s(2011), ImpactTechnique::DenialOfView)]
        );
    }
}
