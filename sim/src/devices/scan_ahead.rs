//! Scans done ahead of their time, in one sweep over the PLCs per physics step.
//!
//! Between two physics steps nothing a PLC's scan reads changes: its sensors are the step's
//! results, its register memory changes only when it serves requests (at the end of its own
//! scans), and the actuators it drives are read by the physics only at the next step. So the
//! first scan of each PLC in the window, due at `t`, gives the same outputs whether it runs
//! at `t` or when the window opens. Running all of them then, one PLC after the next in
//! the order their memory lies in, reads that memory as a stream; scanning each at its own
//! instant, interleaved with the network, reaches every PLC cold (at 10,000 PLCs a miss to
//! main memory per line of PLC state, see docs/src/performance.md).
//!
//! What a scan done ahead leaves for its instant: the events it logged (released into the
//! log at its tick, where the scan would have logged them) and putting the PLC back in the
//! due index. Its tick still serves the requests that arrived, after the scan, as a real
//! CPU's communication task does.
//!
//! A PLC scans only at its instant (never ahead) when that could be seen:
//! - another PLC reads a signal it drives, or it reads a signal another PLC drives (the order
//!   of the two scans would matter);
//! - a remote I/O module mirrors its registers, or reads or drives one of its signals (the
//!   module runs at every tick);
//! - its CPU is shared with live mode's sockets, which read its memory in real time.
//!
//! No scan ahead reaches the end of the runner's stretch: whoever looks at the world between
//! two stretches (the process trace, the console) sees every PLC as of that instant.

use crate::base::due::DueIndex;
use crate::base::events::{EventKind, EventLog};
use crate::base::time::{SimDuration, SimTime};
use crate::process::SignalId;
use bevy_ecs::entity::Entity;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// What the PLCs' due index keeps about scans done ahead (see the module's text).
#[derive(Debug)]
pub(crate) struct ScanAhead {
    /// Whether scans may run ahead at all ([`crate::world::Sim::set_scan_ahead`]).
    pub(crate) allowed: bool,
    /// By rank: whether the PLC may scan ahead (computed when the run starts).
    eligible: Vec<bool>,
    /// By rank: when the PLC scans next, and its period, for a scan done ahead whose
    /// instant has not come yet.
    pub(crate) done: Vec<Option<(SimTime, SimDuration)>>,
    /// The sweep so far covered the PLCs due before this time.
    pub(crate) swept_to: SimTime,
    /// The end of the runner's stretch (exclusive): the sweep stops before it.
    pub(crate) horizon: SimTime,
    /// Events of scans done ahead, by `(instant, rank)`, waiting for their tick.
    deferred: VecDeque<(SimTime, u32, EventKind)>,
    /// Where a scan done ahead logs, before its events are deferred.
    pub(crate) scratch: EventLog,
    /// The PLCs a sweep scans: `(due, rank)`.
    pub(crate) batch: Vec<(SimTime, u32)>,
    /// By rank, the due time of a PLC in the batch (putting the batch in rank order).
    slots: Vec<Option<SimTime>>,
    /// PLCs whose registers a remote I/O module mirrors.
    pinned: BTreeSet<Entity>,
    /// Signals remote I/O modules read.
    foreign_reads: BTreeSet<SignalId>,
    /// Signals remote I/O modules drive.
    foreign_drives: BTreeSet<SignalId>,
}

impl Default for ScanAhead {
    fn default() -> Self {
        ScanAhead {
            allowed: true,
            eligible: Vec::new(),
            done: Vec::new(),
            swept_to: SimTime::ZERO,
            horizon: SimTime::MAX,
            deferred: VecDeque::new(),
            scratch: EventLog::default(),
            batch: Vec::new(),
            slots: Vec::new(),
            pinned: BTreeSet::new(),
            foreign_reads: BTreeSet::new(),
            foreign_drives: BTreeSet::new(),
        }
    }
}

/// A PLC's wiring, as deciding who may scan ahead sees it.
pub(crate) struct Wiring {
    /// The PLC's entity.
    pub entity: Entity,
    /// Signals its sensor wires read.
    pub reads: Vec<SignalId>,
    /// Signals its actuator wires drive.
    pub drives: Vec<SignalId>,
}

impl ScanAhead {
    /// A remote I/O module exchanges registers with the PLC `plc`, reads the signals
    /// `reads` and drives `drives`: that PLC scans only at its instant, and so does any PLC
    /// that reads what the module drives or drives what it reads.
    pub(crate) fn pin(
        &mut self,
        plc: Entity,
        reads: impl IntoIterator<Item = SignalId>,
        drives: impl IntoIterator<Item = SignalId>,
    ) {
        self.pinned.insert(plc);
        self.foreign_reads.extend(reads);
        self.foreign_drives.extend(drives);
    }

    /// Decides, once the run starts, which PLCs (`plcs` by rank) may scan ahead: the rules
    /// of the module's text.
    pub(crate) fn decide(&mut self, plcs: &[Wiring]) {
        let mut readers: BTreeMap<SignalId, BTreeSet<usize>> = BTreeMap::new();
        let mut drivers: BTreeMap<SignalId, BTreeSet<usize>> = BTreeMap::new();
        for (r, w) in plcs.iter().enumerate() {
            for &s in &w.reads {
                readers.entry(s).or_default().insert(r);
            }
            for &s in &w.drives {
                drivers.entry(s).or_default().insert(r);
            }
        }
        // Nobody but rank `r` among those who touch the signal.
        let only = |who: Option<&BTreeSet<usize>>, r: usize| who.is_none_or(|s| s.iter().all(|&o| o == r));
        self.eligible = plcs
            .iter()
            .enumerate()
            .map(|(r, w)| {
                self.allowed
                    && !self.pinned.contains(&w.entity)
                    && w.reads.iter().all(|s| !self.foreign_drives.contains(s))
                    && w.drives.iter().all(|s| !self.foreign_reads.contains(s))
                    && w.reads.iter().all(|s| only(drivers.get(s), r))
                    && w.drives.iter().all(|s| only(readers.get(s), r))
            })
            .collect();
        self.done = vec![None; plcs.len()];
    }

    /// Keeps of `batch` (`(due, rank)`, one entry per rank) the PLCs that may scan ahead,
    /// in rank order: one pass over the ranks, as cheap as the sweep is long, where a sort
    /// would cost more than the scans at a thousand PLCs.
    pub(crate) fn by_rank(&mut self, batch: &mut Vec<(SimTime, u32)>) {
        self.slots.resize(self.eligible.len(), None);
        for &(due, r) in batch.iter() {
            if self.eligible[r as usize] {
                self.slots[r as usize] = Some(due);
            }
        }
        batch.clear();
        for (r, slot) in self.slots.iter_mut().enumerate() {
            if let Some(due) = slot.take() {
                batch.push((due, r as u32));
            }
        }
    }

    /// Files the events the scan of rank `r` at `at` logged into the scratch log.
    pub(crate) fn defer_scratch(&mut self, at: SimTime, r: u32) {
        if self.scratch.events().is_empty() {
            return; // most scans log nothing
        }
        for e in self.scratch.drain() {
            self.deferred.push_back((at, r, e.kind));
        }
    }

    /// Orders the events deferred by the last sweep by instant and rank (a sweep visits the
    /// PLCs in memory order); every earlier sweep's events are due before this one's.
    pub(crate) fn sort_deferred(&mut self, from: usize) {
        self.deferred.make_contiguous()[from..].sort_by_key(|&(t, r, _)| (t, r));
    }

    /// How many events are waiting.
    pub(crate) fn deferred_len(&self) -> usize {
        self.deferred.len()
    }

    /// At the instant `now` of rank `r`'s scan: if it was done ahead, logs its events and
    /// puts the PLC back in `due` at its next scan, and returns true.
    pub(crate) fn put_back(&mut self, now: SimTime, r: u32, due: &mut DueIndex, log: &mut EventLog) -> bool {
        let Some((next, period)) = self.done[r as usize].take() else {
            return false;
        };
        self.release(now, r, log);
        due.insert(next, r, period);
        true
    }

    /// Logs the events of the scan of rank `r` at `now`, done ahead, where the scan would
    /// have logged them.
    fn release(&mut self, now: SimTime, r: u32, log: &mut EventLog) {
        // Anything filed before `(now, r)` is logged too: it cannot be, but if it were, it
        // would come late rather than hold back every event after it.
        while let Some((t, rank, _)) = self.deferred.front()
            && (*t, *rank) <= (now, r)
        {
            let (t, _, kind) = self.deferred.pop_front().expect("peeked");
            log.push(t, kind);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wiring(n: u32, reads: &[u32], drives: &[u32]) -> Wiring {
        Wiring {
            entity: Entity::from_raw_u32(n).expect("a valid index"),
            reads: reads.iter().map(|&s| SignalId(s)).collect(),
            drives: drives.iter().map(|&s| SignalId(s)).collect(),
        }
    }

    /// Eligibility by rank, with a remote I/O module `(plc, reads, drives)` if any.
    fn decided(plcs: &[Wiring], pin: Option<(u32, &[u32], &[u32])>) -> Vec<bool> {
        let mut a = ScanAhead::default();
        if let Some((plc, reads, drives)) = pin {
            let e = Entity::from_raw_u32(plc).expect("a valid index");
            let ids = |s: &[u32]| s.iter().map(|&s| SignalId(s)).collect::<Vec<_>>();
            a.pin(e, ids(reads), ids(drives));
        }
        a.decide(plcs);
        (0..plcs.len() as u32).map(|r| a.eligible[r as usize]).collect()
    }

    #[test]
    fn plcs_wired_only_to_their_own_signals_scan_ahead() {
        // Each reads its tank and drives its pump; one reads back its own pump's command.
        let plcs = [wiring(1, &[10], &[11]), wiring(2, &[20, 21], &[21])];
        assert_eq!(decided(&plcs, None), [true, true]);
    }

    #[test]
    fn a_plc_reading_what_another_drives_keeps_both_to_their_instants() {
        // The second reads the first's pump command: the order of their scans matters.
        let plcs = [
            wiring(1, &[10], &[11]),
            wiring(2, &[11], &[21]),
            wiring(3, &[10], &[31]),
        ];
        assert_eq!(decided(&plcs, None), [false, false, true]);
    }

    #[test]
    fn remote_io_keeps_its_plc_and_anyone_wired_across_it_to_their_instants() {
        let plcs = [
            wiring(1, &[10], &[11]),
            wiring(2, &[20], &[21]),
            wiring(3, &[30], &[31]),
            wiring(4, &[40], &[41]),
        ];
        // The module serves the first PLC, reads 21 (the second's pump command) and 40 (a
        // level the fourth reads too), and drives 30 (which the third reads).
        let module = (1, &[21, 40][..], &[30][..]);
        assert_eq!(decided(&plcs, Some(module)), [false, false, false, true]);
    }

    #[test]
    fn forbidden_nobody_scans_ahead() {
        let mut a = ScanAhead {
            allowed: false,
            ..ScanAhead::default()
        };
        a.decide(&[wiring(1, &[10], &[11])]);
        assert!(!a.eligible[0]);
    }

    #[test]
    fn deferred_events_come_out_at_their_instant_in_rank_order() {
        let mut a = ScanAhead::default();
        let alarm = |name: &str| EventKind::Alarm {
            device: "plc".into(),
            name: name.into(),
            raised: true,
            value: 1.0,
            threshold: 0.0,
        };
        // A sweep visits rank 3 before rank 1, both due at t = 5, and rank 2 at t = 4.
        for (t, r, name) in [(5, 3, "c"), (4, 2, "b"), (5, 1, "a")] {
            a.scratch.push(SimTime(t), alarm(name));
            a.defer_scratch(SimTime(t), r);
        }
        a.sort_deferred(0);
        let mut log = EventLog::default();
        a.release(SimTime(4), 2, &mut log);
        a.release(SimTime(4), 9, &mut log); // nothing of rank 9 at 4
        assert_eq!(log.events().len(), 1);
        a.release(SimTime(5), 1, &mut log);
        a.release(SimTime(5), 3, &mut log);
        let names: Vec<_> = log
            .events()
            .iter()
            .map(|e| match &e.kind {
                EventKind::Alarm { name, .. } => name.as_str(),
                _ => "?",
            })
            .collect();
        assert_eq!(names, ["b", "a", "c"]);
        assert_eq!(a.deferred_len(), 0);
    }
}
