//! IEEE 802.1Qbv gate control lists: which traffic classes may transmit when.
//!
//! A list is a sequence of entries, each a set of open gates (one bit per traffic class)
//! held for a time interval; the list repeats every cycle, phased by its base time
//! (802.1Q-2018 §8.6.9: the cycle starts at base time + N x cycle time). When the entries
//! add up to less than the cycle, the last entry's gates hold until the cycle ends; when
//! they add up to more, the list is cut at the cycle's end (§8.6.9.1.1 and §8.6.9.4.8).
//!
//! Times here are a device's *local* clock in nanoseconds (signed: a clock running behind
//! reads below zero near the start of a run); the port converts to simulated time.

/// One entry of a gate control list: `SetGateStates(gates)` held for `interval_ns`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GateEntry {
    /// Bit `c` set: traffic class `c`'s gate is open.
    pub gates: u8,
    /// How long the entry holds, in nanoseconds (more than zero).
    pub interval_ns: u64,
}

/// A gate control list with its timing, compiled into per-class open windows.
#[derive(Debug, Clone, PartialEq)]
pub struct GateSchedule {
    entries: Vec<GateEntry>,
    cycle_ns: i64,
    base_ns: i64,
    /// Per class, its open windows within one cycle as [start, end) offsets from the cycle's
    /// start, sorted, merged, and joined across the cycle boundary when open at both ends
    /// (then the last window ends after `cycle_ns`).
    open: [Vec<(i64, i64)>; 8],
}

impl GateSchedule {
    /// A schedule of `entries`, repeating every `cycle_ns` (the entries' sum when `None`)
    /// from `base_ns`. Errors say what is wrong, for the configuration's message.
    pub fn new(entries: Vec<GateEntry>, cycle_ns: Option<u64>, base_ns: u64) -> Result<Self, String> {
        if entries.is_empty() {
            return Err("a gate control list needs at least one entry".into());
        }
        if entries.iter().any(|e| e.interval_ns == 0) {
            return Err("every gate control list entry needs a time interval above zero".into());
        }
        let sum: u64 = entries.iter().map(|e| e.interval_ns).sum();
        let cycle = cycle_ns.unwrap_or(sum);
        if cycle == 0 || cycle > i64::MAX as u64 / 4 {
            return Err("the cycle time must be above zero".into());
        }
        let cycle = cycle as i64;
        let mut open: [Vec<(i64, i64)>; 8] = Default::default();
        let mut t = 0i64;
        for (k, e) in entries.iter().enumerate() {
            let last = k + 1 == entries.len();
            let end = if last {
                cycle
            } else {
                (t + e.interval_ns as i64).min(cycle)
            };
            if t >= cycle {
                break;
            }
            for (c, windows) in open.iter_mut().enumerate() {
                if e.gates & (1 << c) == 0 {
                    continue;
                }
                match windows.last_mut() {
                    Some(w) if w.1 == t => w.1 = end,
                    _ => windows.push((t, end)),
                }
            }
            t = end;
        }
        for windows in &mut open {
            // Open at the end of one cycle and the start of the next: one window across.
            if windows.len() > 1 && windows[0].0 == 0 && windows.last().is_some_and(|w| w.1 == cycle) {
                let first = windows.remove(0);
                windows.last_mut().expect("more than one").1 = cycle + first.1;
            }
        }
        Ok(GateSchedule {
            entries,
            cycle_ns: cycle,
            base_ns: (base_ns % cycle as u64) as i64,
            open,
        })
    }

    /// The entries as configured.
    pub fn entries(&self) -> &[GateEntry] {
        &self.entries
    }
    /// The cycle time in nanoseconds.
    pub fn cycle_ns(&self) -> u64 {
        self.cycle_ns as u64
    }

    /// Whether `class` is open at all times (its gate never closes).
    pub fn always_open(&self, class: usize) -> bool {
        matches!(self.open[class].as_slice(), [(0, e)] if *e >= self.cycle_ns)
    }
    /// Whether `class` is never open.
    pub fn never_open(&self, class: usize) -> bool {
        self.open[class].is_empty()
    }
    /// The longest time `class`'s gate stays open in one go (`u64::MAX` if it never closes).
    pub fn longest_window(&self, class: usize) -> u64 {
        if self.always_open(class) {
            return u64::MAX;
        }
        self.open[class]
            .iter()
            .map(|w| (w.1 - w.0) as u64)
            .max()
            .unwrap_or(0)
    }

    /// The start of the cycle that local time `l` falls in.
    fn cycle_start(&self, l: i64) -> i64 {
        l - (l - self.base_ns).rem_euclid(self.cycle_ns)
    }

    /// The earliest local time at or after `l` from which `class`'s gate stays open for
    /// `need_ns`, and when that window closes (`i64::MAX` for a gate that never closes).
    /// `None` when no window of the schedule is that long.
    pub fn next_fit(&self, class: usize, l: i64, need_ns: u64) -> Option<(i64, i64)> {
        if self.always_open(class) {
            return Some((l, i64::MAX));
        }
        let need = need_ns.min(i64::MAX as u64) as i64;
        if self.longest_window(class) < need_ns {
            return None;
        }
        // A window joined across the boundary starts in the previous cycle, so look from
        // one cycle back; two cycles ahead always hold a fitting window.
        let c0 = self.cycle_start(l) - self.cycle_ns;
        for k in 0..4 {
            let c = c0 + k * self.cycle_ns;
            for &(s, e) in &self.open[class] {
                let (s, e) = (c + s, c + e);
                let from = s.max(l);
                if from + need <= e {
                    return Some((from, e));
                }
            }
        }
        None
    }

    /// Whether `class`'s gate is open at local time `l`, and if so when it closes
    /// (`i64::MAX` for never).
    pub fn open_until(&self, class: usize, l: i64) -> Option<i64> {
        match self.next_fit(class, l, 0) {
            Some((from, end)) if from == l && end > l => Some(end),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us(n: u64) -> u64 {
        n * 1000
    }

    /// Two classes alternating in a 1 ms cycle: class 7 the first 200 us, the rest after.
    fn alternating() -> GateSchedule {
        GateSchedule::new(
            vec![
                GateEntry {
                    gates: 0b1000_0000,
                    interval_ns: us(200),
                },
                GateEntry {
                    gates: 0b0111_1111,
                    interval_ns: us(800),
                },
            ],
            None,
            0,
        )
        .unwrap()
    }

    #[test]
    fn a_class_waits_for_its_own_window() {
        let g = alternating();
        assert_eq!(g.open_until(7, 0), Some(200_000));
        assert_eq!(g.open_until(7, 200_000), None);
        assert_eq!(g.open_until(0, 200_000), Some(1_000_000));
        // Class 0 at 100 us waits until 200 us; class 7 at 300 us until the next cycle.
        assert_eq!(g.next_fit(0, 100_000, 1), Some((200_000, 1_000_000)));
        assert_eq!(g.next_fit(7, 300_000, 1), Some((1_000_000, 1_200_000)));
    }

    #[test]
    fn a_frame_that_would_overrun_its_window_waits_for_the_next() {
        let g = alternating();
        // 150 us into class 7's window, a 60 us frame would end at 210 us: past the close.
        assert_eq!(g.next_fit(7, 150_000, 60_000), Some((1_000_000, 1_200_000)));
        assert_eq!(g.next_fit(7, 150_000, 50_000), Some((150_000, 200_000)));
        // A frame longer than any window never fits.
        assert_eq!(g.next_fit(7, 0, 200_001), None);
    }

    #[test]
    fn base_time_phases_the_cycle_and_windows_join_across_it() {
        let g = GateSchedule::new(
            vec![
                GateEntry {
                    gates: 0b1,
                    interval_ns: us(100),
                },
                GateEntry {
                    gates: 0b10,
                    interval_ns: us(100),
                },
                GateEntry {
                    gates: 0b1,
                    interval_ns: us(100),
                },
            ],
            None,
            us(50),
        )
        .unwrap();
        // Cycle 300 us from 50 us: class 0 open [250, 450) across the boundary.
        assert_eq!(g.open_until(0, us(260) as i64), Some(us(450) as i64));
        assert_eq!(
            g.next_fit(0, us(160) as i64, us(150)),
            Some((us(250) as i64, us(450) as i64))
        );
        assert_eq!(g.longest_window(0), us(200));
        assert_eq!(g.open_until(1, us(160) as i64), Some(us(250) as i64));
        // Local time before zero (a clock behind) works the same.
        assert_eq!(g.open_until(1, -(us(100) as i64)), Some(-(us(50) as i64)));
    }

    #[test]
    fn a_short_list_holds_its_last_entry_and_a_long_one_is_cut() {
        let short = GateSchedule::new(
            vec![GateEntry {
                gates: 0b1,
                interval_ns: us(100),
            }],
            Some(us(1000)),
            0,
        )
        .unwrap();
        assert!(short.always_open(0));
        let long = GateSchedule::new(
            vec![
                GateEntry {
                    gates: 0b1,
                    interval_ns: us(100),
                },
                GateEntry {
                    gates: 0b10,
                    interval_ns: us(100),
                },
            ],
            Some(us(150)),
            0,
        )
        .unwrap();
        assert_eq!(long.open_until(1, us(120) as i64), Some(us(150) as i64));
        assert!(GateSchedule::new(vec![], None, 0).is_err());
    }
}
