//! The network's queue of pending events: the events that come in order kept in a plain
//! first-in first-out run, the others in a binary heap.
//!
//! A frame moves hop by hop, each hop an event that pushes the next, and the network pushes
//! most events in time order: a poll round's requests leave the HMI one after the other
//! down its link, each hop of the pipeline following the one before, so each new event is
//! nearly always later than every event pushed before it. Such an event goes at the back of
//! the run, and is popped from its front, with one comparison each, where the heap sifts
//! through log n levels twice (most of the queue's cost at a thousand PLCs, where a poll
//! round keeps a thousand frames in flight). An event earlier than the run's back goes into
//! the heap (so an event far ahead at the back sends the ones after it to the heap until it
//! comes out: no worse than the heap alone). The order is the heap's exactly: the earliest
//! of the run's front and the heap's top comes out first.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// A min-queue of totally ordered events (see the module's text).
#[derive(Debug)]
pub(crate) struct EventQueue<T: Ord> {
    /// Events in order, each pushed when it was later than every event then in the run.
    run: VecDeque<T>,
    /// The events pushed earlier than the run's back.
    heap: BinaryHeap<Reverse<T>>,
}

impl<T: Ord> Default for EventQueue<T> {
    fn default() -> Self {
        EventQueue {
            run: VecDeque::new(),
            heap: BinaryHeap::new(),
        }
    }
}

impl<T: Ord> EventQueue<T> {
    /// Queues `event`.
    pub(crate) fn push(&mut self, event: T) {
        if self.run.back().is_none_or(|last| *last <= event) {
            self.run.push_back(event);
        } else {
            self.heap.push(Reverse(event));
        }
    }

    /// The earliest event.
    pub(crate) fn peek(&self) -> Option<&T> {
        match (self.run.front(), self.heap.peek()) {
            (Some(r), Some(Reverse(h))) => Some(if h < r { h } else { r }),
            (r, h) => r.or(h.map(|Reverse(h)| h)),
        }
    }

    /// Takes the earliest event out.
    pub(crate) fn pop(&mut self) -> Option<T> {
        let from_heap = match (self.run.front(), self.heap.peek()) {
            (Some(r), Some(Reverse(h))) => h < r,
            (None, _) => true,
            (Some(_), None) => false,
        };
        if from_heap {
            self.heap.pop().map(|Reverse(e)| e)
        } else {
            self.run.pop_front()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_earlier_than_the_run_comes_out_before_it() {
        // A pipeline in order (the run), then an answer due in the middle of it (the heap),
        // then one tied with a run's event at its time (after it, by its number).
        let mut q = EventQueue::default();
        for e in [(10, 1), (20, 2), (30, 3)] {
            q.push(e);
        }
        q.push((15, 4));
        q.push((20, 5));
        assert_eq!(q.peek(), Some(&(10, 1)));
        let out: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(out, [(10, 1), (15, 4), (20, 2), (20, 5), (30, 3)]);
        assert!(q.peek().is_none());
    }

    #[test]
    fn events_come_out_in_order_whatever_order_they_went_in() {
        // Pushes and pops interleaved as a network's would be: each pop may push later
        // events, some earlier than what waits (a front replaced), some later.
        let mut q = EventQueue::default();
        let mut reference = BinaryHeap::new();
        let mut x: u64 = 12345;
        let mut out = Vec::new();
        let mut want = Vec::new();
        for step in 0..5000u64 {
            // A small linear congruential sequence: no randomness crate needed for a test.
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let now = want.last().map_or(0, |&(t, _)| t);
            let event = (now + (x >> 58), step);
            q.push(event);
            reference.push(Reverse(event));
            if x & 3 != 0 {
                assert_eq!(q.peek().copied(), reference.peek().map(|Reverse(e)| *e));
                out.extend(q.pop());
                want.extend(reference.pop().map(|Reverse(e)| e));
            }
        }
        while let Some(e) = q.pop() {
            out.push(e);
        }
        while let Some(Reverse(e)) = reference.pop() {
            want.push(e);
        }
        assert_eq!(out, want);
        assert!(q.peek().is_none());
    }
}
