//! `threshold` and `detection_filter`, with Suricata's semantics, in simulated time:
//!
//! * `limit`: the first `count` matches of each window raise alerts, the rest none; a window
//!   opens at the first match after the previous one closed.
//! * `threshold`: every `count`-th match within a window raises one alert.
//! * `both`: one alert per window, at the `count`-th match.
//! * `detection_filter`: every match after the `count`-th within the window raises one.
//!
//! Counts are kept per rule and per tracked host (`by_src` or `by_dst`).

use otrange_sim::base::time::SimTime;

/// Which of the four counting rules (see the module's docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `type limit`: the first `count` matches of a window alert.
    Limit,
    /// `type threshold`: every `count`-th match of a window alerts.
    Threshold,
    /// `type both`: the `count`-th match of a window alerts, once.
    Both,
    /// `detection_filter`: every match after the `count`-th of a window alerts.
    DetectionFilter,
}

/// Whose matches are counted together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Track {
    /// `by_src`: per source host.
    BySrc,
    /// `by_dst`: per destination host.
    ByDst,
}

/// A compiled `threshold` or `detection_filter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Threshold {
    /// The counting rule.
    pub kind: Kind,
    /// Per source or per destination host.
    pub track: Track,
    /// `count`, at least 1.
    pub count: u32,
    /// `seconds`, in nanoseconds of simulated time; at least one second.
    pub window_ns: u64,
}

/// One tracked host's window.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    start: SimTime,
    count: u32,
}

impl Threshold {
    /// Parses `type T, track by_src|by_dst, count N, seconds S` (no `type` for a
    /// detection filter).
    pub fn parse(value: &str, detection_filter: bool) -> Result<Threshold, String> {
        let (mut kind, mut track, mut count, mut seconds) = (None, None, None, None);
        for part in value.split(',').map(str::trim) {
            let (k, v) = part
                .split_once(char::is_whitespace)
                .map(|(k, v)| (k, v.trim()))
                .ok_or_else(|| format!("{part:?}: expected a setting and its value"))?;
            match k {
                "type" if !detection_filter => {
                    kind = Some(match v {
                        "limit" => Kind::Limit,
                        "threshold" => Kind::Threshold,
                        "both" => Kind::Both,
                        other => return Err(format!("type {other:?}: expected limit, threshold or both")),
                    });
                }
                "track" => {
                    track = Some(match v {
                        "by_src" => Track::BySrc,
                        "by_dst" => Track::ByDst,
                        other => return Err(format!("track {other:?}: expected by_src or by_dst")),
                    });
                }
                "count" => {
                    count = Some(
                        v.parse::<u32>()
                            .ok()
                            .filter(|c| *c >= 1)
                            .ok_or_else(|| format!("count {v:?} must be a number >= 1"))?,
                    );
                }
                "seconds" => {
                    seconds = Some(
                        v.parse::<u64>()
                            .ok()
                            .filter(|s| *s >= 1)
                            .ok_or_else(|| format!("seconds {v:?} must be a number >= 1"))?,
                    );
                }
                other => {
                    let expected = if detection_filter {
                        "track, count or seconds"
                    } else {
                        "type, track, count or seconds"
                    };
                    return Err(format!("unknown setting {other:?}: expected {expected}"));
                }
            }
        }
        let kind = if detection_filter {
            Kind::DetectionFilter
        } else {
            kind.ok_or("missing type (limit, threshold or both)")?
        };
        Ok(Threshold {
            kind,
            track: track.ok_or("missing track (by_src or by_dst)")?,
            count: count.ok_or("missing count")?,
            window_ns: seconds.ok_or("missing seconds")?.saturating_mul(1_000_000_000),
        })
    }

    /// Records one match at `now` in `w` (None: the host's first) and says whether it alerts.
    pub fn admit(&self, w: &mut Option<Window>, now: SimTime) -> bool {
        let within = w.is_some_and(|x| now.as_nanos().saturating_sub(x.start.as_nanos()) < self.window_ns);
        let state = match w {
            Some(x) if within => {
                x.count = x.count.saturating_add(1);
                x
            }
            _ => w.insert(Window { start: now, count: 1 }),
        };
        match self.kind {
            Kind::Limit => state.count <= self.count,
            Kind::Both => state.count == self.count,
            Kind::DetectionFilter => state.count > self.count,
            Kind::Threshold => {
                if state.count >= self.count {
                    state.count = 0;
                    true
                } else {
                    false
                }
            }
        }
    }
}
