//! A due-time index over the members of one device kind, so that a tick visits only the
//! devices whose work is due instead of every device of the kind.
//!
//! Members are numbered by rank, the order in which the kind's systems must visit them (for
//! a byte-identical event log, the order the kind's query used to iterate in). Each member
//! is in the index once, at its next due time; the tick that serves it takes it out and
//! puts it back at its new due time.

use crate::base::time::SimTime;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Members of a kind by next due time: O(log n) to take one out or put one back.
#[derive(Debug, Default, Clone)]
pub struct DueIndex {
    heap: BinaryHeap<Reverse<(SimTime, u32)>>,
}

impl DueIndex {
    /// Puts member `rank` in at `due`.
    pub fn insert(&mut self, due: SimTime, rank: u32) {
        self.heap.push(Reverse((due, rank)));
    }

    /// Takes out every member due at or before `now`, in rank order (not due-time order:
    /// the members due by one tick are served as one batch, in the kind's order).
    pub fn take_due(&mut self, now: SimTime, out: &mut Vec<u32>) {
        out.clear();
        while let Some(&Reverse((due, rank))) = self.heap.peek() {
            if due > now {
                break;
            }
            self.heap.pop();
            out.push(rank);
        }
        out.sort_unstable();
    }

    /// The earliest due time of any member.
    pub fn next_due(&self) -> Option<SimTime> {
        self.heap.peek().map(|Reverse((due, _))| *due)
    }

    /// Members in the index.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether no member is in the index.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_what_is_due_in_rank_order_and_leaves_the_rest() {
        let mut d = DueIndex::default();
        d.insert(SimTime(30), 0);
        d.insert(SimTime(10), 2);
        d.insert(SimTime(10), 1);
        d.insert(SimTime(5), 3);
        let mut out = Vec::new();
        d.take_due(SimTime(10), &mut out);
        assert_eq!(out, vec![1, 2, 3]);
        assert_eq!(d.len(), 1);
        d.take_due(SimTime(29), &mut out);
        assert!(out.is_empty());
        d.take_due(SimTime(30), &mut out);
        assert_eq!(out, vec![0]);
        assert!(d.is_empty());
    }
}
