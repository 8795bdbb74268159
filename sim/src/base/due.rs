//! A due-time index over the members of one device kind, so that a tick visits only the
//! devices whose work is due instead of every device of the kind.
//!
//! Members are numbered by rank, the order in which the kind's systems must visit them (for
//! a byte-identical event log, the order the kind's query used to iterate in). Each member
//! is in the index once, at its next due time; the tick that serves it takes it out and
//! puts it back at its new due time.
//!
//! The members are periodic (a PLC's scan cycle), so the index keeps one queue sorted by
//! due time per period, a *lane*. A member served at `now` comes back at about
//! `now + period`, behind nearly every other member of its lane: putting it back is mostly a
//! push at the back of the queue or a few places before it (jitter), and taking the earliest
//! out is a pop from the front, both on memory read in order, where a binary heap sifts
//! through log n scattered entries twice per scan.

use crate::base::time::{SimDuration, SimTime};
use std::collections::VecDeque;

/// Members of a kind by next due time, in one sorted queue per period.
#[derive(Debug, Default, Clone)]
pub struct DueIndex {
    /// `(period, queue)`, lanes in the order they were first used; each queue sorted by
    /// `(due, rank)`. Few lanes (one per distinct period), so a linear search finds one.
    lanes: Vec<(SimDuration, VecDeque<(SimTime, u32)>)>,
    /// The lane the last member went into: a plant's PLCs mostly share one scan period, so
    /// the next one nearly always goes there too.
    last_lane: usize,
}

impl DueIndex {
    /// Puts member `rank`, whose work recurs every `period`, in at `due`. Any period is
    /// correct; members of one period share a lane, where putting one back is cheap.
    pub fn insert(&mut self, due: SimTime, rank: u32, period: SimDuration) {
        if self.lanes.get(self.last_lane).is_none_or(|(p, _)| *p != period) {
            self.last_lane = match self.lanes.iter().position(|(p, _)| *p == period) {
                Some(i) => i,
                None => {
                    self.lanes.push((period, VecDeque::new()));
                    self.lanes.len() - 1
                }
            };
        }
        let lane = &mut self.lanes[self.last_lane].1;
        let key = (due, rank);
        if lane.back().is_none_or(|&last| last < key) {
            lane.push_back(key);
            return;
        }
        // A member put back after its period belongs at the back or a few places before it
        // (jitter: at 10,000 PLCs about ten scans fall in a jitter's width), found walking
        // back; anything further (a late start, a shorter period) by a binary search.
        const WALK: usize = 32;
        let mut at = lane.len();
        while at > 0 && lane[at - 1] > key && lane.len() - at < WALK {
            at -= 1;
        }
        if at > 0 && lane[at - 1] > key {
            at = lane.partition_point(|&k| k < key);
        }
        lane.insert(at, key);
    }

    /// Takes out every member due at or before `now`, in rank order (not due-time order:
    /// the members due by one tick are served as one batch, in the kind's order).
    pub fn take_due(&mut self, now: SimTime, out: &mut Vec<u32>) {
        out.clear();
        for (_, lane) in &mut self.lanes {
            while let Some(&(due, rank)) = lane.front() {
                if due > now {
                    break;
                }
                lane.pop_front();
                out.push(rank);
            }
        }
        if out.len() > 1 {
            out.sort_unstable();
        }
    }

    /// Whether every member due at or before `now` passes `test` (by rank), left in the
    /// index: true when none is due.
    pub fn all_due(&self, now: SimTime, mut test: impl FnMut(u32) -> bool) -> bool {
        self.lanes.iter().all(|(_, lane)| {
            lane.iter()
                .take_while(|&&(due, _)| due <= now)
                .all(|&(_, rank)| test(rank))
        })
    }

    /// Every member due before `until`, as `(due, rank)`, left in the index.
    pub fn due_before(&self, until: SimTime, out: &mut Vec<(SimTime, u32)>) {
        out.clear();
        for (_, lane) in &self.lanes {
            out.extend(lane.iter().take_while(|&&(due, _)| due < until));
        }
    }

    /// The earliest due time of any member.
    pub fn next_due(&self) -> Option<SimTime> {
        self.lanes
            .iter()
            .filter_map(|(_, l)| l.front().map(|&(due, _)| due))
            .min()
    }

    /// Members in the index.
    pub fn len(&self) -> usize {
        self.lanes.iter().map(|(_, l)| l.len()).sum()
    }

    /// Whether no member is in the index.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: SimDuration = SimDuration(100);

    #[test]
    fn takes_what_is_due_in_rank_order_and_leaves_the_rest() {
        let mut d = DueIndex::default();
        d.insert(SimTime(30), 0, P);
        d.insert(SimTime(10), 2, P);
        d.insert(SimTime(10), 1, SimDuration(7));
        d.insert(SimTime(5), 3, P);
        let mut out = Vec::new();
        d.take_due(SimTime(10), &mut out);
        assert_eq!(out, vec![1, 2, 3]);
        assert_eq!(d.len(), 1);
        assert_eq!(d.next_due(), Some(SimTime(30)));
        assert!(d.all_due(SimTime(29), |r| r == 0));
        assert!(!d.all_due(SimTime(30), |r| r != 0));
        d.take_due(SimTime(29), &mut out);
        assert!(out.is_empty());
        d.take_due(SimTime(30), &mut out);
        assert_eq!(out, vec![0]);
        assert!(d.is_empty());
        assert_eq!(d.next_due(), None);
    }

    #[test]
    fn members_come_out_in_due_order_whatever_order_they_went_in() {
        // Put back early, late and in between (a late start, jitter): the lane stays sorted.
        let mut d = DueIndex::default();
        let dues = [50u64, 10, 40, 40, 5, 70, 20, 60, 45, 15];
        for (rank, &t) in dues.iter().enumerate() {
            d.insert(
                SimTime(t),
                rank as u32,
                if rank % 3 == 0 { SimDuration(9) } else { P },
            );
        }
        let mut seen = Vec::new();
        let mut out = Vec::new();
        while let Some(t) = d.next_due() {
            d.take_due(t, &mut out);
            seen.extend(out.iter().map(|&r| (dues[r as usize], r)));
        }
        let mut want: Vec<(u64, u32)> = dues.iter().enumerate().map(|(r, &t)| (t, r as u32)).collect();
        want.sort();
        assert_eq!(seen, want);
    }
}
