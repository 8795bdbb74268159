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
///
/// Work that only the local systems do (a PLC's scan: it reads and drives the process and
/// answers the requests that came during it, and no agent needs to look) is asked for with
/// [`Wakeups::local_at`]; at such a time, if nothing else is due, the runner does only the
/// local work, without the schedule (`world::Sim`'s scan tick), which in a plant of many
/// PLCs is most ticks. The PLCs ask so for their first scan only: from then on the runner
/// reads their next scan from their due index at every decision, which saves a push and a
/// pop here per scan.
///
/// Likewise, a tick asked for with [`Wakeups::poller_at`] needs only the Modbus pollers
/// (HMIs and historians: a poll round, a timeout, an operator's reaction): if nothing else
/// is due, the runner steps them alongside the local work, again without the schedule.
#[derive(Resource, Debug, Default)]
pub struct Wakeups {
    heap: BinaryHeap<Reverse<SimTime>>,
    local: BinaryHeap<Reverse<SimTime>>,
    pollers: BinaryHeap<Reverse<SimTime>>,
}

impl Wakeups {
    /// Asks for a tick at `t`.
    pub fn at(&mut self, t: SimTime) {
        self.heap.push(Reverse(t));
    }
    /// Asks for a tick at `t` for local work only (see the type's documentation).
    pub fn local_at(&mut self, t: SimTime) {
        self.local.push(Reverse(t));
    }
    /// Asks for a tick at `t` for the Modbus pollers (see the type's documentation).
    pub fn poller_at(&mut self, t: SimTime) {
        self.pollers.push(Reverse(t));
    }
    /// The earliest requested tick, of any kind.
    pub fn next(&self) -> Option<SimTime> {
        [&self.heap, &self.local, &self.pollers]
            .into_iter()
            .filter_map(|h| h.peek().map(|Reverse(t)| *t))
            .min()
    }
    /// The earliest tick asked for with [`Wakeups::poller_at`].
    pub fn next_pollers(&self) -> Option<SimTime> {
        self.pollers.peek().map(|Reverse(t)| *t)
    }
    /// The earliest tick asked for with [`Wakeups::at`]: before it, only local work is due.
    pub fn next_full(&self) -> Option<SimTime> {
        self.heap.peek().map(|Reverse(t)| *t)
    }
    /// Forgets every request at or before `now` (the tick being run serves them).
    pub fn pop_due(&mut self, now: SimTime) {
        for heap in [&mut self.heap, &mut self.local, &mut self.pollers] {
            while heap.peek().is_some_and(|Reverse(t)| *t <= now) {
                heap.pop();
            }
        }
    }
}

/// Whether the agents (HMIs, historians, workstations, attackers) have something waiting
/// that a tick must give them: answers sorted into a client's inbox or an attacker's
/// replies since the agents last ran. The runner then does not run a scan tick, so an
/// answer is read at the same tick whatever else the plant holds.
#[derive(Resource, Debug, Default)]
pub struct AgentsPending {
    /// Mail for an agent was sorted since the agents last ran, other than [`Self::answers`]:
    /// it needs a full tick.
    pub mail: bool,
    /// Modbus answers for HMIs or historians were sorted since they last ran: if nothing
    /// else is due, a poller tick (a scan tick that also steps the pollers) does all that a
    /// full tick would.
    pub answers: bool,
}
