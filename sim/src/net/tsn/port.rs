//! A TSN switch's egress port: eight traffic-class queues, strict priority between them,
//! the time-aware shaper's gates (802.1Qbv), credit-based shapers (802.1Qav) and, when the
//! switch has it, frame preemption (802.1Qbu / 802.3br).
//!
//! The network hands the port a frame when it is ready to leave the switch and asks the
//! port to [`serve`](TsnPort::serve) at the times it says; the port answers with the frames
//! whose transmission ended and the next time it needs to be asked. Transmission selection
//! (802.1Q-2018 §8.6.8): the highest class whose queue holds a frame, whose gate is open and,
//! for a length-aware schedule, stays open until the frame's last bit is sent (the
//! transmission-overrun rule of §8.6.8.4), and whose shaper has credit.

use super::clock::SyncedClock;
use super::gate::GateSchedule;
use super::shaper::{ClassState, CreditShaper};
use super::stream::{WaitCause, note_wait};
use crate::net::frame::Frame;
use crate::net::paths::PathId;
use crate::net::topology::{HostId, LinkId};
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::Arc;

/// Bytes of a frame that must be sent before it may be preempted: the preamble and SFD
/// (8) and 60 bytes of the frame, which with the fragment's mCRC (4) make the 64-byte
/// minimum fragment (IEEE 802.3br §99.4.7.3; `minFragSize` 0).
const PREEMPT_HEAD: u64 = 8 + 60;
/// A frame is preempted only if at least 64 bytes of it and its inter-frame gap (12)
/// remain, so the continuation is a valid fragment too.
const PREEMPT_TAIL: u64 = 64 + 12;
/// What ends a preempted fragment: its mCRC (4) and the inter-frame gap (12).
const FRAGMENT_END: u64 = 4 + 12;
/// What starts a continuation fragment: preamble (6), SMD-C (1) and frag count (1).
const FRAGMENT_START: u64 = 8;

/// 802.1Q-2018 Table 8-5: the traffic class of each priority (PCP) on a port with eight
/// queues. Priority 1 (background) is below the default priority 0.
pub const DEFAULT_CLASS_OF_PCP: [u8; 8] = [1, 0, 2, 3, 4, 5, 6, 7];

/// How a port is set up: the switch's settings applied to one of its egress ports.
#[derive(Debug, Clone)]
pub struct PortSetup {
    /// The switch.
    pub node: HostId,
    /// The link it transmits on.
    pub link: LinkId,
    /// Which direction of the link (false: a to b).
    pub reverse: bool,
    /// The link's rate.
    pub rate_bps: u64,
    /// Frames each class's queue holds; one more is dropped.
    pub queue_frames: usize,
    /// The traffic class of each PCP.
    pub class_of_pcp: [u8; 8],
    /// The gate control list, on the switch's clock; none: every gate always open.
    pub gates: Option<Arc<GateSchedule>>,
    /// A frame starts only if it ends before its gate closes (true), or whenever its gate
    /// is open, overrunning the close if it must (false, then counted as an overrun).
    pub length_aware: bool,
    /// Idle slope per class, for classes with a credit-based shaper.
    pub idle_slope_bps: [Option<u64>; 8],
    /// With preemption: the express classes (one bit each); the others are preemptable.
    pub express: Option<u8>,
    /// Index of the switch's clock.
    pub clock: usize,
}

/// A frame in a port's queue.
#[derive(Debug)]
pub struct Queued {
    /// The frame.
    pub frame: Box<Frame>,
    /// Index of its next hop on its route (what the network continues with).
    pub hop: u16,
    /// Its traffic class.
    pub class: u8,
    /// When it was queued.
    pub at: u64,
    /// Bytes on the wire (preamble to inter-frame gap).
    pub wire_bytes: u64,
    /// Nanoseconds those bytes take on this port's link, worked out once when queued (the
    /// check against the gate's longest window, the queueing cause, the gate's fit and the
    /// start each worked it out before: up to four 64-bit divisions a frame).
    duration: u64,
    /// Its route, which the network goes on with when it leaves (kept with it rather than
    /// looked up again by its endpoints).
    pub(crate) route: PathId,
    cause: Option<WaitCause>,
}

/// What is on the wire. A frame that cannot be preempted is handed to the network as it
/// starts (its end is certain); a preemptable one stays here until it ends.
#[derive(Debug)]
struct Transmission {
    q: Option<Queued>,
    class: u8,
    start: u64,
    end: u64,
    /// Bytes of this piece on the wire (a continuation after a preemption is a piece).
    bytes: u64,
    preemptable: bool,
}

/// A port's counters, for results.json.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct PortStats {
    /// Frames sent per traffic class.
    pub sent: [u64; 8],
    /// Frames dropped per traffic class (queue full, or longer than any gate window).
    pub dropped: [u64; 8],
    /// The deepest each class's queue got, in frames.
    pub max_depth: [u64; 8],
    /// Frames preempted by express traffic.
    pub preemptions: u64,
    /// Frames that overran their gate's close (only without length-aware scheduling).
    pub overruns: u64,
}

/// What a port reports after being served.
#[derive(Debug, Default)]
pub struct Served {
    /// Frames whose last bit left at the time given: at most one that ended and one that
    /// started, so held inline (a fresh vector at every transmission, with its allocation
    /// and growth: the reference hour's port service ran 41.0 million fewer instructions
    /// inline, 1.0 % of the hour, under callgrind).
    pub sent: smallvec::SmallVec<[(Queued, u64); 2]>,
    /// The next time the port must be served, if any.
    pub wake: Option<u64>,
}

/// Why a frame could not be queued.
#[derive(Debug)]
pub enum Refused {
    /// Its class's queue was full.
    QueueFull(Box<Frame>, u8),
    /// It is longer than any window its class's gate opens.
    TooLong(Box<Frame>, u8),
}

/// One egress port. See the module documentation.
#[derive(Debug)]
pub struct TsnPort {
    /// Its setup.
    pub setup: PortSetup,
    queues: [VecDeque<Queued>; 8],
    shapers: [Option<CreditShaper>; 8],
    tx: Option<Transmission>,
    /// A preempted frame's remainder, sent before any other preemptable frame.
    held: Option<(Queued, u64)>,
    /// After a preemption the wire is busy with the fragment's end until then.
    free_at: u64,
    /// Counters.
    pub stats: PortStats,
    /// The time of the one wake-up the network holds for this port, if any.
    pub wake: Option<u64>,
    /// The gate's answer for the last frame queued at an idle port (see [`GateFit`]).
    fit: Option<GateFit>,
}

/// A class's next window that fits a frame, as the port worked it out from its clock's
/// reading at `now`. A frame queued at an idle port asks it twice at the same instant: why
/// it would wait (when queued) and whether it may start (when the port is served right
/// after); the second time is answered from here. The same instant gives the same answer:
/// the clock is read in time order and moves only with time.
#[derive(Debug, Clone, Copy)]
struct GateFit {
    now: u64,
    class: usize,
    need: u64,
    /// The local reading at `now`.
    local: i64,
    /// [`GateSchedule::next_fit`]'s answer from there.
    fit: Option<(i64, i64)>,
}

impl TsnPort {
    /// A port with empty queues.
    pub fn new(setup: PortSetup) -> Self {
        // The largest frame on the wire: 1522 bytes tagged, plus preamble and gap.
        let max_frame_bits = (1522 + 20) * 8;
        let shapers = std::array::from_fn(|c| {
            setup.idle_slope_bps[c]
                .map(|idle| CreditShaper::new(idle, setup.rate_bps, max_frame_bits, max_frame_bits))
        });
        TsnPort {
            setup,
            queues: Default::default(),
            shapers,
            tx: None,
            held: None,
            free_at: 0,
            stats: PortStats::default(),
            wake: None,
            fit: None,
        }
    }

    /// Whether `class`'s gate keeps a frame of `duration` from starting at `now` (no
    /// window from there fits it), remembered for the serve that follows at `now`.
    fn gate_closed(&mut self, class: usize, now: u64, duration: u64, clock: &SyncedClock) -> bool {
        let Some(g) = &self.setup.gates else {
            return false;
        };
        let need = if self.setup.length_aware { duration } else { 1 };
        let local = clock.local(now);
        let fit = g.next_fit(class, local, need);
        self.fit = Some(GateFit {
            now,
            class,
            need,
            local,
            fit,
        });
        fit.is_none_or(|(from, _)| from > local)
    }

    /// `class`'s next window fitting `need` from the clock's reading at `now`: the
    /// reading and the window, from the last frame queued if it asked the same.
    fn gate_fit(
        &self,
        g: &GateSchedule,
        class: usize,
        now: u64,
        need: u64,
        clock: &SyncedClock,
    ) -> (i64, Option<(i64, i64)>) {
        match self.fit {
            Some(f) if f.now == now && f.class == class && f.need == need => (f.local, f.fit),
            _ => {
                let l = clock.local(now);
                (l, g.next_fit(class, l, need))
            }
        }
    }

    /// Nanoseconds the port needs for `bytes` on the wire.
    pub fn duration(&self, bytes: u64) -> u64 {
        (bytes * 8 * 1_000_000_000).div_ceil(self.setup.rate_bps)
    }
    fn bytes_in(&self, ns: u64) -> u64 {
        ns * self.setup.rate_bps / 8 / 1_000_000_000
    }

    fn class_state(&self, class: usize) -> ClassState {
        let held = self
            .held
            .as_ref()
            .is_some_and(|h| usize::from(h.0.class) == class);
        if self.tx.as_ref().is_some_and(|t| usize::from(t.class) == class) {
            ClassState::Sending
        } else if held || !self.queues[class].is_empty() {
            ClassState::Waiting
        } else {
            ClassState::Empty
        }
    }
    fn refresh_shaper(&mut self, class: usize, now: u64) {
        // Most classes have no shaper: their state is not worked out for nothing.
        if self.shapers[class].is_none() {
            return;
        }
        let state = self.class_state(class);
        if let Some(s) = self.shapers[class].as_mut() {
            s.update(now, state);
        }
    }

    /// Queues a frame that reached the port at `now` (the switch's processing done).
    pub(crate) fn enqueue(
        &mut self,
        now: u64,
        frame: Box<Frame>,
        hop: u16,
        route: PathId,
        clock: &SyncedClock,
    ) -> Result<(), Refused> {
        let pcp = frame.tag.map_or(0, |t| t.pcp).min(7);
        let class = self.setup.class_of_pcp[usize::from(pcp)];
        let c = usize::from(class);
        let wire_bytes = frame.wire_bits() / 8;
        let duration = self.duration(wire_bytes);
        if let Some(g) = &self.setup.gates
            && self.setup.length_aware
            && g.longest_window(c) < duration
        {
            self.stats.dropped[c] += 1;
            return Err(Refused::TooLong(frame, class));
        }
        if self.queues[c].len() >= self.setup.queue_frames {
            self.stats.dropped[c] += 1;
            return Err(Refused::QueueFull(frame, class));
        }
        let cause = if !self.queues[c].is_empty() {
            Some(WaitCause::Backlog {
                ahead: self.queues[c].len() as u32,
            })
        } else if let Some(t) = self.tx.as_ref().filter(|t| t.end > now) {
            Some(WaitCause::PortBusy { class: t.class })
        } else if self.free_at > now || self.held.is_some() {
            Some(WaitCause::PortBusy {
                class: self.held.as_ref().map_or(class, |h| h.0.class),
            })
        } else if self.gate_closed(c, now, duration, clock) {
            Some(WaitCause::GateClosed)
        } else if self.shapers[c].as_ref().is_some_and(|s| s.in_debt(now)) {
            Some(WaitCause::Shaper)
        } else {
            None
        };
        self.queues[c].push_back(Queued {
            frame,
            hop,
            class,
            at: now,
            wire_bytes,
            duration,
            route,
            cause,
        });
        let depth = self.queues[c].len() as u64;
        self.stats.max_depth[c] = self.stats.max_depth[c].max(depth);
        self.refresh_shaper(c, now);
        Ok(())
    }

    fn is_express(&self, class: u8) -> bool {
        self.setup.express.is_some_and(|m| m & (1 << class) != 0)
    }

    /// Whether the head of `class`'s queue may start at `now`; if not, the earliest time it
    /// might (asked again then).
    fn eligible(&self, class: usize, now: u64, clock: &SyncedClock) -> Result<(), u64> {
        let head = self.queues[class].front().expect("asked for non-empty queues");
        let mut later = now;
        if let Some(g) = &self.setup.gates {
            let need = if self.setup.length_aware { head.duration } else { 1 };
            let (l, fit) = self.gate_fit(g, class, now, need, clock);
            match fit {
                Some((from, _)) if from <= l => {}
                Some((from, _)) => later = later.max(clock.global(from)),
                None => later = u64::MAX,
            }
        }
        if let Some(s) = &self.shapers[class] {
            later = later.max(s.eligible_at(now));
        }
        if later <= now { Ok(()) } else { Err(later) }
    }

    /// The class to send next at `now`, among those `allowed`, or the earliest time to ask again.
    fn select(
        &self,
        now: u64,
        clock: &SyncedClock,
        allowed: impl Fn(u8) -> bool,
    ) -> Result<usize, Option<u64>> {
        let mut wake: Option<u64> = None;
        for c in (0..8).rev() {
            if self.queues[c].is_empty() || !allowed(c as u8) {
                continue;
            }
            match self.eligible(c, now, clock) {
                Ok(()) => return Ok(c),
                Err(t) if t != u64::MAX => wake = Some(wake.map_or(t, |w| w.min(t))),
                Err(_) => {}
            }
        }
        Err(wake)
    }

    fn start(&mut self, class: usize, now: u64, clock: &SyncedClock, out: &mut Served) {
        let mut q = self.queues[class]
            .pop_front()
            .expect("selected a non-empty queue");

        let bytes = q.wire_bytes;
        let end = now + q.duration;
        if let Some(g) = &self.setup.gates
            && !self.setup.length_aware
            && g.open_until(class, clock.local(now))
                .is_some_and(|close| clock.local(end) > close)
        {
            self.stats.overruns += 1;
        }
        if let Some(cause) = q.cause.take() {
            note_wait(&mut q.frame, self.setup.node, q.class, now - q.at, cause);
        }
        let preemptable = self.setup.express.is_some() && !self.is_express(q.class);
        let class_id = q.class;
        let q = if preemptable {
            Some(q)
        } else {
            self.stats.sent[class] += 1;
            out.sent.push((q, end));
            None
        };
        self.tx = Some(Transmission {
            q,
            class: class_id,
            start: now,
            end,
            bytes,
            preemptable,
        });
        self.refresh_shaper(class, now);
    }

    /// Serves the port at `now`: ends what finished, preempts, starts what may start.
    pub fn serve(&mut self, now: u64, clock: &SyncedClock) -> Served {
        let mut out = Served::default();
        loop {
            if let Some(tx) = &self.tx {
                if now >= tx.end {
                    let tx = self.tx.take().expect("checked");
                    let class = usize::from(tx.class);
                    if let Some(q) = tx.q {
                        self.stats.sent[class] += 1;
                        out.sent.push((q, tx.end));
                    }
                    self.refresh_shaper(class, now);
                    continue;
                }
                if tx.preemptable
                    && let Ok(_express) = self.select(now, clock, |c| self.is_express(c))
                {
                    let at = now.max(tx.start + self.duration(PREEMPT_HEAD));
                    let left = tx.bytes.saturating_sub(self.bytes_in(at - tx.start));
                    if left >= PREEMPT_TAIL && at < tx.end {
                        if at > now {
                            out.wake = Some(at);
                            return out;
                        }
                        let tx = self.tx.take().expect("checked");
                        let class = usize::from(tx.class);
                        self.free_at = now + self.duration(FRAGMENT_END);
                        let q = tx.q.expect("a preemptable frame stays with the port");
                        self.held = Some((q, left + FRAGMENT_START));
                        self.stats.preemptions += 1;
                        self.refresh_shaper(class, now);
                        continue;
                    }
                }
                // The port needs its own wake-up at the end only if something waits, a
                // shaper's credit changes then, or the frame is still to be handed out;
                // otherwise the next frame to arrive finds the port free.
                let idle_after = tx.q.is_none()
                    && self.held.is_none()
                    && self.shapers[usize::from(tx.class)].is_none()
                    && self.queues.iter().all(|q| q.is_empty());
                if !idle_after {
                    out.wake = Some(tx.end);
                }
                return out;
            }
            if now < self.free_at {
                out.wake = Some(self.free_at);
                return out;
            }
            // Express classes first; then a preempted remainder; then everything else.
            let express = self.setup.express.is_some();
            let choice = if express {
                match self.select(now, clock, |c| self.is_express(c)) {
                    Ok(c) => Ok(c),
                    Err(w) if self.held.is_some() => {
                        let (q, bytes) = self.held.take().expect("checked");
                        let class = usize::from(q.class);
                        self.tx = Some(Transmission {
                            class: q.class,
                            q: Some(q),
                            start: now,
                            end: now + self.duration(bytes),
                            bytes,
                            preemptable: true,
                        });
                        self.refresh_shaper(class, now);
                        let _ = w;
                        continue;
                    }
                    Err(w) => match self.select(now, clock, |_| true) {
                        Ok(c) => Ok(c),
                        Err(w2) => Err(min_wake(w, w2)),
                    },
                }
            } else {
                self.select(now, clock, |_| true)
            };
            match choice {
                Ok(c) => self.start(c, now, clock, &mut out),
                Err(wake) => {
                    out.wake = wake;
                    return out;
                }
            }
        }
    }

    /// Frames waiting in each class's queue (for tests and summaries).
    pub fn depths(&self) -> [usize; 8] {
        std::array::from_fn(|c| self.queues[c].len())
    }
}

fn min_wake(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::time::SimTime;
    use crate::net::frame::{Payload, VlanTag};
    use crate::net::topology::Service;
    use crate::net::{Frame, FrameId};
    use rand::SeedableRng;

    fn frame(pcp: u8, payload: u32) -> Box<Frame> {
        Box::new(Frame {
            id: FrameId(0),
            src: HostId(0),
            dst: HostId(1),
            src_port: 0,
            dst_port: 0,
            service: Service::Ethernet,
            payload: Payload::Flow {
                bytes: payload,
                reply_bytes: 0,
            },
            sent_at: SimTime::ZERO,
            label: 0,
            tag: Some(VlanTag { pcp, vid: 1 }),
        })
    }

    fn port(express: Option<u8>) -> TsnPort {
        TsnPort::new(PortSetup {
            node: HostId(0),
            link: LinkId(0),
            reverse: false,
            rate_bps: 1_000_000_000,
            queue_frames: 8,
            class_of_pcp: DEFAULT_CLASS_OF_PCP,
            gates: None,
            length_aware: true,
            idle_slope_bps: [None; 8],
            express,
            clock: 0,
        })
    }

    /// Serves the port at every wake until it is idle; the end time of each frame sent.
    fn drain(p: &mut TsnPort, from: u64, clock: &SyncedClock) -> Vec<(u8, u64)> {
        let mut out = Vec::new();
        let mut now = from;
        loop {
            let s = p.serve(now, clock);
            out.extend(s.sent.into_iter().map(|(q, end)| (q.class, end)));
            match s.wake {
                Some(w) => now = w,
                None => return out,
            }
        }
    }

    #[test]
    fn an_express_frame_waits_at_most_for_a_minimum_fragment() {
        let clock = SyncedClock::new(
            super::super::clock::ClockSpec::perfect(),
            rand_chacha::ChaCha8Rng::seed_from_u64(0),
        );
        for arrive in (0..12_336).step_by(97) {
            let mut p = port(Some(1 << 7));
            p.enqueue(0, frame(0, 1500), 1, crate::net::paths::Paths::NONE, &clock)
                .unwrap();
            p.serve(0, &clock);
            p.enqueue(arrive, frame(7, 100), 1, crate::net::paths::Paths::NONE, &clock)
                .unwrap();
            let sent = drain(&mut p, arrive, &clock);
            let express_end = sent.iter().find(|(c, _)| *c == 7).unwrap().1;
            let wait = express_end - arrive - 1_136;
            assert!(wait <= 672, "arriving at {arrive}: waited {wait} ({sent:?})");
        }
    }
}
