//! The calendar a run is set in: what time of day and day of the week simulated time is,
//! for what follows a routine (profiles in the process, schedules in a PLC). Simulated time
//! 0 is the exercise's `start` ([`Calendar`]); local times are UTC shifted by a fixed offset
//! (no daylight saving: a plant that needs it uses the offset of the season its runs are in).

use bevy_ecs::resource::Resource;

use crate::base::time::SimTime;
use crate::base::wallclock::{DEFAULT_START, parse_rfc3339};

/// Seconds in a day.
pub(crate) const DAY_S: i64 = 86_400;
/// Seconds in a week.
pub(crate) const WEEK_S: i64 = 7 * DAY_S;
/// Weekday names as files write them, Monday first.
pub(crate) const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Where simulated time 0 falls on the calendar: the run's start, in Unix nanoseconds (UTC).
/// Devices with a real-time clock (a PLC's schedule) read the date from it.
#[derive(Resource, Debug, Clone, Copy)]
pub struct Calendar {
    /// Unix nanoseconds of simulated time 0.
    pub start_unix_ns: u64,
}

impl Default for Calendar {
    fn default() -> Self {
        Calendar {
            start_unix_ns: default_start_ns(),
        }
    }
}

impl Calendar {
    /// The calendar time (Unix nanoseconds, UTC) of simulated time `t`.
    pub fn unix_ns(&self, t: SimTime) -> u64 {
        self.start_unix_ns.saturating_add(t.as_nanos())
    }
}

/// The run's start when nothing sets it: [`DEFAULT_START`], as Unix nanoseconds.
pub(crate) fn default_start_ns() -> u64 {
    parse_rfc3339(DEFAULT_START).expect("DEFAULT_START is a valid RFC 3339 time")
}

/// Seconds into the local day or week (weeks starting on Monday) of the UTC instant
/// `unix_ns` at `offset_s` from UTC.
pub(crate) fn phase_s(unix_ns: u64, offset_s: i64, period_s: i64) -> f64 {
    // 1970-01-01 was a Thursday: three days after a Monday.
    let monday_based_s = offset_s + 3 * DAY_S;
    let local_ns = i128::from(unix_ns) + i128::from(monday_based_s) * 1_000_000_000;
    let phase_ns = local_ns.rem_euclid(i128::from(period_s) * 1_000_000_000);
    phase_ns as f64 / 1e9
}

/// A point's time: the weekday (Monday = 0) of a weekly point, and seconds into the day.
pub(crate) fn parse_time(text: &str) -> Result<(Option<i64>, i64), String> {
    let form = || {
        format!(
            "expected \"HH:MM\" or \"HH:MM:SS\" (a daily profile or schedule) or a weekday and a time such \
             as \"mon 06:00\" (a weekly one), got {text:?}"
        )
    };
    let (day, clock) = match text.split_once(' ') {
        Some((d, clock)) => {
            let day = WEEKDAYS
                .iter()
                .position(|w| w.eq_ignore_ascii_case(d))
                .ok_or_else(|| {
                    format!("unknown weekday {d:?} in {text:?}; expected mon, tue, wed, thu, fri, sat or sun")
                })?;
            (Some(day as i64), clock)
        }
        None => (None, text),
    };
    let fields: Vec<&str> = clock.split(':').collect();
    if !(2..=3).contains(&fields.len())
        || fields
            .iter()
            .any(|f| f.len() != 2 || !f.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(form());
    }
    let n = |i: usize| fields.get(i).map_or(0, |f| f.parse::<i64>().unwrap_or(0));
    let (h, m, s) = (n(0), n(1), n(2));
    if (h, m, s) == (24, 0, 0) {
        return Ok((day, DAY_S));
    }
    if h > 23 || m > 59 || s > 59 {
        return Err(format!(
            "{text:?} is not a time of day: hours 00-23, minutes and seconds 00-59 (24:00 only \
             as the end of a daily profile or schedule)"
        ));
    }
    Ok((day, h * 3600 + m * 60 + s))
}

/// `"+HH:MM"` or `"-HH:MM"` as seconds east of UTC.
pub(crate) fn parse_utc_offset(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let sign = match b.first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    if b.len() != 6 || b[3] != b':' || ![1, 2, 4, 5].iter().all(|&i| b[i].is_ascii_digit()) {
        return None;
    }
    let h: i64 = text[1..3].parse().ok()?;
    let m: i64 = text[4..6].parse().ok()?;
    (h <= 23 && m <= 59).then_some(sign * (h * 3600 + m * 60))
}
