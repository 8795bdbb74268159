//! A value that follows the calendar: piecewise over the day or over the week, for what
//! comes from outside the plant on a routine (heat demand, an outdoor temperature's daily
//! swing, an electricity tariff, a night set-back).
//!
//! Points are `[time, value]`: `"HH:MM"` or `"HH:MM:SS"` for a daily profile (`"24:00"`
//! may end it), `"mon 06:00"` … `"sun 22:00"` for a weekly one. Between points the value
//! is interpolated linearly or held (`interpolate = "step"`); after the last point it goes
//! towards the first point of the next day or week, so the profile repeats without a seam.
//!
//! Time is calendar time: the run's start ([`crate::process::Process::set_calendar_start`],
//! by default [`DEFAULT_START`]) plus simulated time, shifted by the profile's fixed
//! `utc_offset`. Daylight saving time is not followed: a plant that must follow it uses
//! the offset of the season its runs are in.
//!
//! Signals: `value`, the profile's value at the end of the current step, so what a device
//! reads between steps is the value at the process's time.

use serde::Deserialize;
use toml::Spanned;

use crate::base::calendar::{DAY_S, WEEK_S, default_start_ns, parse_time, parse_utc_offset, phase_s};
use crate::base::config_error::ConfigError;
#[cfg(doc)]
use crate::base::wallclock::DEFAULT_START;
use crate::process::at::At;
use crate::process::component::{Built, Component, ComponentConfig};
use crate::process::resolve::Resolver;
use crate::process::signals::{SignalId, Signals};

/// How a profile or a series goes from one point to the next.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Interpolate {
    /// A straight line between points: quantities that drift (a temperature, a demand).
    #[default]
    Linear,
    /// Each point's value until the next point: quantities that switch (a tariff, a
    /// set-back, a shift pattern).
    Step,
}

/// `[[process.profile]]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileConfig {
    /// Component name.
    pub name: String,
    /// `[time, value]` pairs in increasing time: all daily (`"06:00"`) or all weekly
    /// (`"mon 06:00"`); at least 2.
    pub points: Vec<Spanned<(String, f64)>>,
    /// Between points: `"linear"` (default) or `"step"`.
    #[serde(default)]
    pub interpolate: Interpolate,
    /// Local time's offset from UTC, `"+01:00"` (default `"+00:00"`): the points are local
    /// times, the run's start is UTC.
    #[serde(default)]
    pub utc_offset: Option<String>,
}

/// A profile being simulated.
#[derive(Clone, Debug)]
pub(crate) struct Profile {
    /// The points as (seconds into the period, value), with the last one repeated one
    /// period earlier and the first one a period later, so that every phase lies between
    /// two of them.
    points: Vec<(f64, f64)>,
    period_s: i64,
    interpolate: Interpolate,
    offset_s: i64,
    /// Where simulated time 0 falls in the period.
    start_phase_s: f64,
    time_s: f64,
    value: SignalId,
}

impl ComponentConfig for ProfileConfig {
    const TABLE: &'static str = "profile";
    const SIGNALS: &'static [&'static str] = &["value"];
    const COMMANDS: &'static [&'static str] = &[];

    fn name(&self) -> &str {
        &self.name
    }

    fn build(&self, at: &At, r: &mut Resolver) -> Result<Built, ConfigError> {
        let offset_s = match &self.utc_offset {
            Some(text) => parse_utc_offset(text).ok_or_else(|| {
                at.non_physical(
                    "utc_offset",
                    format!("expected an offset from UTC such as \"+01:00\" or \"-05:00\", got {text:?}"),
                )
            })?,
            None => 0,
        };
        let (period_s, points) = self.checked_points(at)?;
        let p = period_s as f64;
        let (first, last) = (points[0], points[points.len() - 1]);
        // A daily profile from 00:00 to 24:00 already spans the period: nothing to add,
        // and 00:00 keeps its own value rather than the 24:00 one.
        let mut extended = Vec::with_capacity(points.len() + 2);
        if last.0 - p < first.0 {
            extended.push((last.0 - p, last.1));
        }
        extended.extend(points);
        if first.0 + p > last.0 {
            extended.push((first.0 + p, first.1));
        }
        let mut profile = Profile {
            points: extended,
            period_s,
            interpolate: self.interpolate,
            offset_s,
            start_phase_s: 0.0,
            time_s: 0.0,
            value: r.own(&self.name, "value"),
        };
        profile.start_at(default_start_ns());
        r.init(profile.value, profile.now());
        Ok(Built {
            component: Component::Profile(profile),
            limits: Vec::new(),
        })
    }
}

impl ProfileConfig {
    /// The period (a day or a week) and the points as (seconds into it, value), checked.
    fn checked_points(&self, at: &At) -> Result<(i64, Vec<(f64, f64)>), ConfigError> {
        if self.points.len() < 2 {
            return Err(at.non_physical(
                "points",
                format!("a profile needs at least 2 points, got {}", self.points.len()),
            ));
        }
        let mut out: Vec<(f64, f64)> = Vec::with_capacity(self.points.len());
        let mut weekly = None;
        for (i, point) in self.points.iter().enumerate() {
            let span = Some(point.span()).filter(|s| s.end > s.start).or(at.span.clone());
            let bad =
                |message: String| ConfigError::new(at.field(&format!("points[{i}]")), span.clone(), message);
            let (text, value) = point.get_ref();
            let (day, second) = parse_time(text).map_err(bad)?;
            let first = &self.points[0].get_ref().0;
            match weekly {
                None => weekly = Some(day.is_some()),
                Some(w) if w != day.is_some() => {
                    let (this, that) = if w {
                        ("daily", "weekly")
                    } else {
                        ("weekly", "daily")
                    };
                    return Err(bad(format!(
                        "{text:?} is a {this} time but points[0] ({first:?}) is {that}: the \
                         points of one profile are all daily (\"06:00\") or all weekly (\"mon 06:00\")"
                    )));
                }
                Some(_) => {}
            }
            if day.is_some() && second == DAY_S {
                return Err(bad(format!(
                    "{text:?}: 24:00 only ends a daily profile; in a weekly one write the next \
                     day's 00:00"
                )));
            }
            let t = day.unwrap_or(0) * DAY_S + second;
            if !value.is_finite() {
                return Err(bad(format!(
                    "the value at {text:?} is {value}; expected a finite number"
                )));
            }
            if let Some(&(prev, _)) = out.last()
                && t as f64 <= prev
            {
                let prev_text = &self.points[i - 1].get_ref().0;
                let within = if day.is_some() {
                    "a week, from mon 00:00 to sun 23:59:59"
                } else {
                    "a day, from 00:00 to 24:00"
                };
                return Err(bad(format!(
                    "{text:?} is not after points[{}] ({prev_text:?}): times increase within {within}",
                    i - 1
                )));
            }
            out.push((t as f64, *value));
        }
        let period = if weekly == Some(true) { WEEK_S } else { DAY_S };
        Ok((period, out))
    }
}

impl Profile {
    /// Places simulated time 0 at `unix_ns` (UTC) on the profile's local calendar.
    fn start_at(&mut self, unix_ns: u64) {
        self.start_phase_s = phase_s(unix_ns, self.offset_s, self.period_s);
    }

    /// The value at the profile's current time.
    fn now(&self) -> f64 {
        let phase = (self.start_phase_s + self.time_s).rem_euclid(self.period_s as f64);
        piecewise(&self.points, phase, self.interpolate)
    }

    /// Moves the run's start to `unix_ns` and shows the value at the current time at once,
    /// so a device reading before the next step sees the new calendar.
    pub(crate) fn set_calendar_start(&mut self, unix_ns: u64, s: &mut Signals) {
        self.start_at(unix_ns);
        s.set(self.value, self.now());
    }

    /// Advances the profile's clock; exact at any step, as the profile is a function of time.
    pub(crate) fn step(&mut self, s: &mut Signals, dt_s: f64) {
        self.time_s += dt_s;
        s.set(self.value, self.now());
    }
}

/// The value at `x` of `points` (time, value) in strictly increasing time: interpolated
/// between two points, the first value before them and the last one after. Shared with
/// `[[process.series]]`.
pub(crate) fn piecewise(points: &[(f64, f64)], x: f64, mode: Interpolate) -> f64 {
    let (Some(&(t0, v0)), Some(&(tn, vn))) = (points.first(), points.last()) else {
        return 0.0;
    };
    if x <= t0 {
        return v0;
    }
    if x >= tn {
        return vn;
    }
    // The first point after x: 1 ≤ i ≤ len - 1, since t0 < x < tn.
    let i = points.partition_point(|&(t, _)| t <= x);
    let (ta, va) = points[i - 1];
    let (tb, vb) = points[i];
    match mode {
        Interpolate::Step => va,
        Interpolate::Linear => va + (vb - va) * (x - ta) / (tb - ta),
    }
}

#[cfg(test)]
mod tests {
    use crate::base::config_error::ConfigError;
    use crate::base::wallclock::parse_rfc3339;
    use crate::process::testutil::{build, close, get, run};
    use crate::process::{Process, ProcessConfig};

    /// 22 °C at 18:00 falling to 10 °C at 06:00 over the night, rising back over the day.
    const DAILY: &str = r#"
        [[process.profile]]
        name = "outdoor"
        points = [["06:00", 10.0], ["18:00", 22.0]]
    "#;

    /// Runs `p` forward by `s` seconds in one-minute steps.
    fn advance(p: &mut Process, s: usize) {
        run(p, s / 60, 60.0);
    }

    fn error(src: &str) -> ConfigError {
        let cfg = ProcessConfig::from_plant_toml(src).unwrap_or_else(|e| panic!("{e}"));
        Process::from_config(&cfg).expect_err("config should be rejected")
    }

    #[test]
    fn daily_linear_profile_interpolates_and_wraps_around_midnight() {
        // The default start is 00:00 UTC: halfway through the 12 h night segment from 22 °C
        // at 18:00 to 10 °C at 06:00, so 16 °C.
        let mut p = build(DAILY);
        assert_eq!(get(&p, "outdoor.value"), 16.0);
        advance(&mut p, 3 * 3600); // 03:00: 22 - 12 × 9/12
        close(get(&p, "outdoor.value"), 13.0, 1e-9);
        advance(&mut p, 3 * 3600); // 06:00
        close(get(&p, "outdoor.value"), 10.0, 1e-9);
        advance(&mut p, 6 * 3600); // 12:00, halfway between the points
        close(get(&p, "outdoor.value"), 16.0, 1e-9);
        advance(&mut p, 9 * 3600); // 21:00: 22 - 12 × 3/12
        close(get(&p, "outdoor.value"), 19.0, 1e-9);
        advance(&mut p, 3 * 3600); // 00:00 the next day
        close(get(&p, "outdoor.value"), 16.0, 1e-9);
    }

    #[test]
    fn step_profile_holds_until_the_next_point() {
        let mut p = build(
            r#"
            [[process.profile]]
            name = "tariff"
            points = [["07:00", 0.30], ["22:00:30", 0.12]]
            interpolate = "step"
            "#,
        );
        assert_eq!(
            get(&p, "tariff.value"),
            0.12,
            "the night tariff from 22:00:30 holds past midnight"
        );
        advance(&mut p, 7 * 3600 - 60);
        assert_eq!(get(&p, "tariff.value"), 0.12);
        advance(&mut p, 60);
        assert_eq!(get(&p, "tariff.value"), 0.30);
        advance(&mut p, 15 * 3600);
        assert_eq!(get(&p, "tariff.value"), 0.30, "22:00:00 is before 22:00:30");
        run(&mut p, 1, 30.0);
        assert_eq!(get(&p, "tariff.value"), 0.12);
    }

    #[test]
    fn a_daily_profile_may_end_at_24_00() {
        let mut p = build(
            r#"
            [[process.profile]]
            name = "demand"
            points = [["00:00", 0.0], ["12:00", 12.0], ["24:00", 0.0]]
            "#,
        );
        advance(&mut p, 18 * 3600);
        close(get(&p, "demand.value"), 6.0, 1e-9);
        advance(&mut p, 6 * 3600);
        close(get(&p, "demand.value"), 0.0, 1e-9);

        // Midnight is the 00:00 point's, not the 24:00 point's.
        let mut p = build(
            r#"
            [[process.profile]]
            name = "setback"
            points = [["00:00", 5.0], ["06:00", 1.0], ["24:00", 0.0]]
            interpolate = "step"
            "#,
        );
        assert_eq!(get(&p, "setback.value"), 5.0);
        advance(&mut p, 24 * 3600 - 60);
        assert_eq!(get(&p, "setback.value"), 1.0);
        advance(&mut p, 60);
        assert_eq!(get(&p, "setback.value"), 5.0);
    }

    #[test]
    fn weekly_profile_differs_at_the_weekend() {
        // Workdays 1, weekends 0. 2025-01-01 (the default start) is a Wednesday.
        let mut p = build(
            r#"
            [[process.profile]]
            name = "shift"
            points = [["mon 00:00", 1.0], ["sat 00:00", 0.0]]
            interpolate = "step"
            "#,
        );
        assert_eq!(get(&p, "shift.value"), 1.0);
        advance(&mut p, 3 * 86_400 - 60); // Friday 23:59
        assert_eq!(get(&p, "shift.value"), 1.0);
        advance(&mut p, 60); // Saturday 00:00
        assert_eq!(get(&p, "shift.value"), 0.0);
        advance(&mut p, 86_400 + 12 * 3600); // Sunday noon
        assert_eq!(get(&p, "shift.value"), 0.0);
        advance(&mut p, 12 * 3600); // Monday 00:00
        assert_eq!(get(&p, "shift.value"), 1.0);

        let mut p = build(
            r#"
            [[process.profile]]
            name = "shift"
            points = [["Mon 00:00", 1.0], ["sat 00:00", 0.0]]
            interpolate = "step"
            "#,
        );
        let at = |s: &str| parse_rfc3339(s).unwrap();
        p.set_calendar_start(at("2025-01-04T12:00:00Z")); // a Saturday
        assert_eq!(get(&p, "shift.value"), 0.0);
        p.set_calendar_start(at("2025-01-06T12:00:00Z")); // a Monday
        assert_eq!(get(&p, "shift.value"), 1.0);
    }

    #[test]
    fn utc_offset_shifts_the_profile() {
        let src = |offset: &str| {
            format!(
                "[[process.profile]]\nname = \"tariff\"\npoints = [[\"07:00\", 1.0], [\"22:00\", 0.0]]\n\
                 interpolate = \"step\"\n{offset}"
            )
        };
        // At 06:30 UTC it is 07:30 in UTC+1 (day tariff), 06:30 in UTC (night), 01:30 in UTC-5.
        let mut utc = build(&src(""));
        let mut cet = build(&src("utc_offset = \"+01:00\""));
        let mut est = build(&src("utc_offset = \"-05:00\""));
        for p in [&mut utc, &mut cet, &mut est] {
            advance(p, 6 * 3600 + 1800);
        }
        assert_eq!(get(&utc, "tariff.value"), 0.0);
        assert_eq!(get(&cet, "tariff.value"), 1.0);
        assert_eq!(get(&est, "tariff.value"), 0.0);
        // 12:00 UTC: 07:00 in UTC-5, when its day tariff starts.
        advance(&mut est, 5 * 3600 + 1800);
        assert_eq!(get(&est, "tariff.value"), 1.0);
    }

    #[test]
    fn set_calendar_start_moves_the_profile() {
        let mut p = build(DAILY);
        p.set_calendar_start(parse_rfc3339("2025-06-15T09:00:00Z").unwrap());
        close(get(&p, "outdoor.value"), 13.0, 1e-9);
        advance(&mut p, 3 * 3600); // 12:00
        close(get(&p, "outdoor.value"), 16.0, 1e-9);
        // Moving the start later in the run applies to the time already run: 3 h after
        // 18:00 is 21:00.
        p.set_calendar_start(parse_rfc3339("2025-06-15T18:00:00Z").unwrap());
        close(get(&p, "outdoor.value"), 19.0, 1e-9);
    }

    #[test]
    fn bad_profiles_name_the_field() {
        let profile = |body: &str| format!("[[process.profile]]\nname = \"p\"\n{body}\n");
        let cases = [
            (
                r#"points = [["06:00", 1.0]]"#,
                "process.profile[0].points",
                "at least 2",
            ),
            (
                r#"points = [["06:00", 1.0], ["05:00", 2.0]]"#,
                "process.profile[0].points[1]",
                "is not after points[0]",
            ),
            (
                r#"points = [["06:00", 1.0], ["06:00", 2.0]]"#,
                "process.profile[0].points[1]",
                "is not after points[0]",
            ),
            (
                r#"points = [["06:00", 1.0], ["25:00", 2.0]]"#,
                "process.profile[0].points[1]",
                "not a time of day",
            ),
            (
                r#"points = [["06:00", 1.0], ["12:60", 2.0]]"#,
                "process.profile[0].points[1]",
                "not a time of day",
            ),
            (
                r#"points = [["06:00", 1.0], ["24:01", 2.0]]"#,
                "process.profile[0].points[1]",
                "not a time of day",
            ),
            (
                r#"points = [["6:00", 1.0], ["12:00", 2.0]]"#,
                "process.profile[0].points[0]",
                "expected \"HH:MM\"",
            ),
            (
                r#"points = [["06:00", 1.0], ["noon", 2.0]]"#,
                "process.profile[0].points[1]",
                "expected \"HH:MM\"",
            ),
            (
                r#"points = [["06:00", 1.0], ["12:00", nan]]"#,
                "process.profile[0].points[1]",
                "finite",
            ),
            (
                r#"points = [["06:00", inf], ["12:00", 1.0]]"#,
                "process.profile[0].points[0]",
                "finite",
            ),
            (
                r#"points = [["mon 06:00", 1.0], ["mon 12:00", 2.0], ["tue 06:00", 1.0], ["18:00", 2.0]]"#,
                "process.profile[0].points[3]",
                "all daily",
            ),
            (
                r#"points = [["06:00", 1.0], ["tue 12:00", 2.0]]"#,
                "process.profile[0].points[1]",
                "is a weekly time but points[0] (\"06:00\") is daily",
            ),
            (
                r#"points = [["mon 06:00", 1.0], ["mon 24:00", 2.0]]"#,
                "process.profile[0].points[1]",
                "next day's 00:00",
            ),
            (
                r#"points = [["mon 06:00", 1.0], ["mo 12:00", 2.0]]"#,
                "process.profile[0].points[1]",
                "unknown weekday \"mo\"",
            ),
            (
                r#"points = [["sun 06:00", 1.0], ["mon 12:00", 2.0]]"#,
                "process.profile[0].points[1]",
                "within a week",
            ),
            (
                "points = [[\"06:00\", 1.0], [\"12:00\", 2.0]]\nutc_offset = \"+1\"",
                "process.profile[0].utc_offset",
                "\"+01:00\"",
            ),
            (
                "points = [[\"06:00\", 1.0], [\"12:00\", 2.0]]\nutc_offset = \"01:00\"",
                "process.profile[0].utc_offset",
                "\"+01:00\"",
            ),
        ];
        for (body, field, message) in cases {
            let src = profile(body);
            let err = error(&src);
            assert_eq!(err.field, field, "{body}: {err}");
            assert!(err.message.contains(message), "{body}: {}", err.message);
        }
        // A point's error points at the point itself.
        let src = profile(r#"points = [["06:00", 1.0], ["05:00", 2.0]]"#);
        let err = error(&src);
        assert_eq!(&src[err.span.unwrap()], r#"["05:00", 2.0]"#);
        let err = ProcessConfig::from_plant_toml(&profile(
            "points = [[\"06:00\", 1.0], [\"12:00\", 2.0]]\ninterpolate = \"cubic\"",
        ))
        .unwrap_err();
        assert!(
            err.message.contains("linear") && err.message.contains("step"),
            "{}",
            err.message
        );
    }

    #[test]
    fn a_profile_has_no_commands() {
        let p = build(DAILY);
        let err = p.check_drivable("outdoor.value").unwrap_err();
        assert!(err.contains("none"), "{err}");
    }
}
