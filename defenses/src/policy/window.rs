//! Recurring maintenance windows on simulated time: engineering access that is allowed
//! "every night from 02:00 for two hours" and denied the rest of the day.

use otrange_sim::SimTime;
use otrange_sim::base::time::{DurationField, parse_duration};

/// A window that opens at `start + k * every` (every integer k) and stays open for
/// `length`. Time is the run's simulated time: 00:00 is the start of the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Window {
    every: u64,
    start: u64,
    length: u64,
}

const NS_PER_S: u64 = 1_000_000_000;

impl Window {
    /// Checks and builds a window; errors name the offending part (`every`, `start`,
    /// `length`) and say what was expected.
    pub(crate) fn new(
        every: &DurationField,
        start: &str,
        length: &DurationField,
    ) -> Result<Window, (&'static str, String)> {
        let every_ns = every.value.as_nanos();
        if every_ns == 0 {
            return Err(("every", "the period must be longer than zero".into()));
        }
        let start_ns = parse_time_of_day(start).ok_or_else(|| {
            (
                "start",
                format!(
                    "invalid start {start:?}: expected a time of day \"HH:MM\" or \"HH:MM:SS\", or an offset such as \"90m\""
                ),
            )
        })?;
        if start_ns >= every_ns {
            return Err((
                "start",
                format!(
                    "start {start:?} is not inside the period {:?}: expected an offset less than the period",
                    every.text
                ),
            ));
        }
        let length_ns = length.value.as_nanos();
        if length_ns == 0 || length_ns > every_ns {
            return Err((
                "length",
                format!(
                    "length {:?} must be longer than zero and at most the period {:?}",
                    length.text, every.text
                ),
            ));
        }
        Ok(Window {
            every: every_ns,
            start: start_ns,
            length: length_ns,
        })
    }

    /// Whether the window is open at `now`.
    #[inline]
    pub(crate) fn contains(&self, now: SimTime) -> bool {
        // start < every, so this cannot underflow; the first `%` keeps it from overflowing.
        let phase = (now.0 % self.every + self.every - self.start) % self.every;
        phase < self.length
    }
}

/// "HH:MM", "HH:MM:SS", or a duration ("90m") as an offset from 00:00.
fn parse_time_of_day(s: &str) -> Option<u64> {
    if s.contains(':') {
        let parts: Vec<&str> = s.split(':').collect();
        if !(2..=3).contains(&parts.len()) {
            return None;
        }
        let num = |p: &str, max: u64| -> Option<u64> {
            if p.is_empty() || p.len() > 2 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            p.parse().ok().filter(|v| *v <= max)
        };
        let h = num(parts[0], 23)?;
        let m = num(parts[1], 59)?;
        let sec = if parts.len() == 3 { num(parts[2], 59)? } else { 0 };
        Some((h * 3600 + m * 60 + sec) * NS_PER_S)
    } else {
        parse_duration(s).ok().map(|d| d.as_nanos())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> DurationField {
        DurationField::default_of(text)
    }

    fn at(h: u64, m: u64) -> SimTime {
        SimTime((h * 3600 + m * 60) * NS_PER_S)
    }

    #[test]
    fn opens_every_day_at_the_start_for_its_length() {
        let w = Window::new(&d("24h"), "02:00", &d("2h")).unwrap();
        assert!(!w.contains(at(0, 0)));
        assert!(!w.contains(at(1, 59)));
        assert!(w.contains(at(2, 0)));
        assert!(w.contains(at(3, 59)));
        assert!(!w.contains(at(4, 0)));
        assert!(w.contains(at(26, 30)));
        assert!(!w.contains(at(28, 0)));
    }

    #[test]
    fn a_window_across_midnight_is_open_at_the_start_of_the_run() {
        let w = Window::new(&d("24h"), "23:00", &d("2h")).unwrap();
        assert!(w.contains(at(0, 30)));
        assert!(!w.contains(at(1, 0)));
        assert!(w.contains(at(23, 0)));
        let _ = w.contains(SimTime(u64::MAX)); // no overflow at the end of time
    }

    #[test]
    fn bad_windows_name_the_part() {
        assert_eq!(Window::new(&d("0s"), "00:00", &d("1h")).unwrap_err().0, "every");
        assert_eq!(Window::new(&d("24h"), "25:00", &d("1h")).unwrap_err().0, "start");
        assert_eq!(Window::new(&d("1h"), "02:00", &d("1m")).unwrap_err().0, "start");
        assert_eq!(
            Window::new(&d("24h"), "02:00", &d("25h")).unwrap_err().0,
            "length"
        );
        assert_eq!(
            Window::new(&d("24h"), "2:0:0:0", &d("1h")).unwrap_err().0,
            "start"
        );
        assert_eq!(
            Window::new(&d("24h"), "90m", &d("1h")).unwrap().start,
            5400 * NS_PER_S
        );
    }
}
