//! The simulation clock and the wake-up calendar that lets idle time cost nothing: the
//! world ticks only when something is due.

use crate::base::time::SimTime;
use bevy_ecs::resource::Resource;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// The current simulated time of the tick being run.
#[derive(Resource, Debug, Default, Clone, Copy)]
pub struct Clock {
    /// The tick's time; only the runner ([`crate::world::Sim`]) sets it, systems read it.
    pub now: SimTime,
}

/// Times at which some system has work to do. Systems add their next due time; the runner
/// ticks at the earliest one (or earlier, for a network delivery).
#[derive(Resource, Debug, Default)]
pub struct Wakeups {
    heap: BinaryHeap<Reverse<SimTime>>,
}

impl Wakeups {
    /// Asks for a tick at `t`.
    pub fn at(&mut self, t: SimTime) {
        self.heap.push(Reverse(t));
    }
    /// The earliest requested tick.
    pub fn next(&self) -> Option<SimTime> {
        self.heap.peek().map(|Reverse(t)| *t)
    }
    /// Forgets every request at or before `now` (the tick being run serves them).
    pub fn pop_due(&mut self, now: SimTime) {
        while self.heap.peek().is_some_and(|Reverse(t)| *t <= now) {
            self.heap.pop();
        }
    }
}
