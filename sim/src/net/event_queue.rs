//! The network's queue of pending events: a binary heap with the earliest event held in
//! front of it when that event was the last one pushed.
//!
//! A frame moves hop by hop, each hop an event that pushes the next. When the plant is quiet
//! at the microsecond scale (the usual case: a hop takes a few microseconds, a poll round or
//! a TSN release comes every few milliseconds), the hop just pushed is the next event
//! popped, and going through the heap costs a sift up and a sift down for nothing. Held in
//! front instead, it costs one comparison with the heap's top. The order is the heap's
//! exactly: the front is always earlier than everything in the heap.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// A min-queue of totally ordered events (see the module's text).
#[derive(Debug)]
pub(crate) struct EventQueue<T: Ord> {
    /// Earlier than every event in `heap`, when set.
    front: Option<T>,
    heap: BinaryHeap<Reverse<T>>,
}

impl<T: Ord> Default for EventQueue<T> {
    fn default() -> Self {
        EventQueue {
            front: None,
            heap: BinaryHeap::new(),
        }
    }
}

impl<T: Ord> EventQueue<T> {
    /// Queues `event`.
    pub(crate) fn push(&mut self, event: T) {
        let earliest = match &self.front {
            Some(f) => event < *f,
            None => self.heap.peek().is_none_or(|Reverse(top)| event < *top),
        };
        if !earliest {
            self.heap.push(Reverse(event));
        } else if let Some(f) = self.front.replace(event) {
            self.heap.push(Reverse(f));
        }
    }

    /// The earliest event.
    pub(crate) fn peek(&self) -> Option<&T> {
        self.front
            .as_ref()
            .or_else(|| self.heap.peek().map(|Reverse(e)| e))
    }

    /// Takes the earliest event out.
    pub(crate) fn pop(&mut self) -> Option<T> {
        self.front.take().or_else(|| self.heap.pop().map(|Reverse(e)| e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
