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

/// One HMI's views of all the PLCs it polls, in order of their last valid answer so that a
/// tick looks only at the views whose threshold has come: a check costs the impacts it
/// records, not a visit of every silent PLC.
///
/// The order is kept as two lists linked through the watches (views not yet denied; views
/// denied but not lost), sorted by `(last valid answer, watch)`. An answer moves its view to
/// the back of the first list, or a few places before it when answers of one tick arrive
/// out of order: a constant cost, where an ordered set of a SCADA server's thousand views
/// touched a few scattered tree nodes twice per answer.
#[derive(Debug, Clone)]
pub struct ViewWatches {
    /// One per polled PLC, in the order the HMI first polls them (impacts due in the same
    /// tick are recorded in this order).
    watches: Vec<ViewWatch>,
    /// By watch: the previous and next watch in its list ([`NIL`] at the ends, and for a
    /// lost view, which is in neither list).
    links: Vec<(u32, u32)>,
    /// Which watch is a PLC's (looked up once per answer).
    index: rustc_hash::FxHashMap<HostId, usize>,
    /// The ends of the two lists, by [`List`]: views not denied, and views denied but not
    /// yet lost, each the longest silent first (the next denial, or loss, is the first
    /// one's). A lost view is in neither list; its next answer puts it back in the first.
    lists: [Ends; 2],
}

/// No watch: the end of a list.
const NIL: u32 = u32::MAX;

/// The first and last watch of a list ([`NIL`] when it is empty).
#[derive(Debug, Clone, Copy)]
struct Ends {
    first: u32,
    last: u32,
}

impl Default for Ends {
    fn default() -> Self {
        Ends {
            first: NIL,
            last: NIL,
        }
    }
}

/// Which list a watch is in (an index into [`ViewWatches::lists`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum List {
    Seen = 0,
    Denied = 1,
}

impl ViewWatches {
    /// A watch for each PLC of `plcs` (repeats ignored), silence counted from `start`.
    pub fn new(plcs: impl IntoIterator<Item = HostId>, start: SimTime) -> Self {
        let mut w = ViewWatches {
            watches: Vec::new(),
            links: Vec::new(),
            index: rustc_hash::FxHashMap::default(),
            lists: [Ends::default(); 2],
        };
        for plc in plcs {
            if let std::collections::hash_map::Entry::Vacant(e) = w.index.entry(plc) {
                e.insert(w.watches.len());
                w.watches.push(ViewWatch::new(plc, start));
                w.links.push((NIL, NIL));
                w.link(List::Seen, w.watches.len() - 1);
            }
        }
        w
    }

    /// The list watch `i` belongs in, by what its silence has recorded.
    fn list_of(&self, i: usize) -> Option<List> {
        let w = &self.watches[i];
        match (w.denied, w.lost) {
            (false, _) => Some(List::Seen),
            (true, false) => Some(List::Denied),
            (true, true) => None,
        }
    }

    /// The order of both lists.
    fn key(&self, i: u32) -> (SimTime, u32) {
        (self.watches[i as usize].last_ok, i)
    }

    /// Puts watch `i` in `list` at its place, found walking from the back.
    fn link(&mut self, list: List, i: usize) {
        let i = i as u32;
        let key = self.key(i);
        let mut before = self.lists[list as usize].last;
        while before != NIL && self.key(before) > key {
            before = self.links[before as usize].0;
        }
        let after = if before == NIL {
            std::mem::replace(&mut self.lists[list as usize].first, i)
        } else {
            std::mem::replace(&mut self.links[before as usize].1, i)
        };
        if after == NIL {
            self.lists[list as usize].last = i;
        } else {
            self.links[after as usize].0 = i;
        }
        self.links[i as usize] = (before, after);
    }

    /// Takes watch `i` out of `list`.
    fn unlink(&mut self, list: List, i: usize) {
        let (before, after) = std::mem::replace(&mut self.links[i], (NIL, NIL));
        if before == NIL {
            self.lists[list as usize].first = after;
        } else {
            self.links[before as usize].1 = after;
        }
        if after == NIL {
            self.lists[list as usize].last = before;
        } else {
            self.links[after as usize].0 = before;
        }
    }

    /// Changes watch `i` with `f`, keeping it in the list its new state belongs in.
    fn update(&mut self, i: usize, f: impl FnOnce(&mut ViewWatch)) {
        if let Some(list) = self.list_of(i) {
            self.unlink(list, i);
        }
        f(&mut self.watches[i]);
        if let Some(list) = self.list_of(i) {
            self.link(list, i);
        }
    }

    /// A valid answer from `plc` arrived at `at`.
    pub fn answered(&mut self, plc: HostId, at: SimTime) {
        if let Some(&i) = self.index.get(&plc) {
            self.update(i, |w| w.answered(at));
        }
    }

    /// When the first watch of `list` reaches its threshold `after`.
    fn first_due(&self, list: List, after: SimDuration) -> Option<SimTime> {
        let first = self.lists[list as usize].first;
        (first != NIL).then(|| self.watches[first as usize].last_ok + after)
    }

    /// [`ViewWatch::check`] for every watch with a threshold reached by `now`, and when the
    /// next threshold of any watch comes (the HMI asks for a tick then, so an impact is
    /// recorded when its silence reaches the threshold, whatever else ticks or not).
    /// Returns the impacts due, by PLC in watch order, and that time.
    #[allow(clippy::type_complexity)]
    pub fn check(
        &mut self,
        now: SimTime,
        th: ViewThresholds,
    ) -> (Vec<(HostId, Vec<(SimTime, ImpactTechnique)>)>, Option<SimTime>) {
        let mut reached = Vec::new();
        for (list, after) in [(List::Seen, th.lost_after), (List::Denied, th.sustained)] {
            while let Some(due) = self.first_due(list, after)
                && due <= now
            {
                let i = self.lists[list as usize].first as usize;
                self.unlink(list, i);
                reached.push(i);
            }
        }
        reached.sort_unstable();
        let mut due = Vec::new();
        for i in reached {
            let (found, _) = self.watches[i].check(now, th, SimDuration::ZERO);
            if let Some(list) = self.list_of(i) {
                self.link(list, i);
            }
            if !found.is_empty() {
                due.push((self.watches[i].plc, found));
            }
        }
        let next = [
            self.first_due(List::Seen, th.lost_after),
            self.first_due(List::Denied, th.sustained),
        ]
        .into_iter()
        .flatten()
        .min();
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

    /// The index gives what checking every watch each time would: the same impacts in the
    /// same order, and the earliest threshold as the wake-up, over a long run of answers
    /// and silences.
    #[test]
    fn the_index_agrees_with_checking_every_watch() {
        let th = ViewThresholds {
            lost_after: SimDuration::from_secs(10),
            sustained: SimDuration::from_secs(40),
        };
        let plcs: Vec<HostId> = (0..20).map(HostId).collect();
        let mut indexed = ViewWatches::new(plcs.iter().copied(), s(0));
        let mut every: Vec<ViewWatch> = plcs.iter().map(|p| ViewWatch::new(*p, s(0))).collect();
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut rand = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        let mut impacts = 0;
        for tick in 1..4000u64 {
            let now = SimTime(tick * 250_000_000);
            // Each PLC answers now and then; some go silent for a long while.
            for (k, plc) in plcs.iter().enumerate() {
                let odds = if k % 4 == 0 { 400 } else { 6 };
                if rand(odds) == 0 {
                    let at = SimTime(now.0 - rand(200_000_000));
                    indexed.answered(*plc, at);
                    every[k].answered(at);
                }
            }
            let got = indexed.check(now, th);
            let mut due = Vec::new();
            let mut next: Option<SimTime> = None;
            for w in &mut every {
                let (found, wake) = w.check(now, th, SimDuration::ZERO);
                next = match (next, wake) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                if !found.is_empty() {
                    due.push((w.plc, found));
                }
            }
            impacts += due.len();
            assert_eq!(got, (due, next), "at tick {tick}");
        }
        assert!(
            impacts > 20,
            "the run must exercise denials and losses ({impacts})"
        );
    }
}
