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

/// One HMI's views of all the PLCs it polls, indexed so that a tick looks only at the views
/// whose silence has begun: an answer costs O(log n) and a tick O(log n + silent views),
/// not a visit of every PLC the HMI polls.
#[derive(Debug, Clone)]
pub struct ViewWatches {
    /// One per polled PLC, in the order the HMI first polls them (impacts due in the same
    /// tick are recorded in this order).
    watches: Vec<ViewWatch>,
    /// Which watch is a PLC's.
    index: std::collections::HashMap<HostId, usize>,
    /// Every watch by the time of its last valid answer: the silent ones come first.
    by_last_ok: std::collections::BTreeSet<(SimTime, usize)>,
}

impl ViewWatches {
    /// A watch for each PLC of `plcs` (repeats ignored), silence counted from `start`.
    pub fn new(plcs: impl IntoIterator<Item = HostId>, start: SimTime) -> Self {
        let mut w = ViewWatches {
            watches: Vec::new(),
            index: std::collections::HashMap::new(),
            by_last_ok: std::collections::BTreeSet::new(),
        };
        for plc in plcs {
            if let std::collections::hash_map::Entry::Vacant(e) = w.index.entry(plc) {
                e.insert(w.watches.len());
                w.by_last_ok.insert((start, w.watches.len()));
                w.watches.push(ViewWatch::new(plc, start));
            }
        }
        w
    }

    /// A valid answer from `plc` arrived at `at`.
    pub fn answered(&mut self, plc: HostId, at: SimTime) {
        let Some(&i) = self.index.get(&plc) else {
            return;
        };
        let before = self.watches[i].last_ok;
        self.watches[i].answered(at);
        let after = self.watches[i].last_ok;
        if after != before {
            self.by_last_ok.remove(&(before, i));
            self.by_last_ok.insert((after, i));
        }
    }

    /// [`ViewWatch::check`] for every watch that can have something due: those silent for
    /// at least the shorter of `overdue` and the denial threshold (a watch answered more
    /// recently has no impact due and asks for no wake-up). Returns the impacts due, by
    /// PLC in watch order, and the earliest wake-up asked for.
    #[allow(clippy::type_complexity)]
    pub fn check(
        &mut self,
        now: SimTime,
        th: ViewThresholds,
        overdue: SimDuration,
    ) -> (Vec<(HostId, Vec<(SimTime, ImpactTechnique)>)>, Option<SimTime>) {
        let horizon = overdue.min(th.lost_after);
        let mut silent: Vec<usize> = match now.0.checked_sub(horizon.0) {
            Some(limit) => self
                .by_last_ok
                .range(..=(SimTime(limit), usize::MAX))
                .map(|(_, i)| *i)
                .collect(),
            None => Vec::new(),
        };
        silent.sort_unstable();
        let mut due = Vec::new();
        let mut next: Option<SimTime> = None;
        for i in silent {
            let w = &mut self.watches[i];
            let (found, wake) = w.check(now, th, overdue);
            if let Some(t) = wake {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
            if !found.is_empty() {
                due.push((w.plc, found));
            }
        }
        (due, next)
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
