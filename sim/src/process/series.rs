//! A recorded time series shipped with the plant (a year of outdoor temperatures, a
//! measured demand curve), for what comes from outside the plant without a routine a
//! profile could describe.
//!
//! The file is CSV: comma-separated, a header row naming the columns, one row per sample;
//! fields may be quoted as in RFC 4180 and spaces around them are ignored. The time column
//! holds either seconds since the start of the run or RFC 3339 times
//! (`2024-01-22T06:00:00Z`), all rows the same form, strictly increasing. Timestamps place
//! the series on the calendar: simulated time `t` reads the series at the run's start
//! ([`crate::process::Process::set_calendar_start`]) plus `t`. The whole file is read
//! when the process is built, so a run never touches the disk.
//!
//! Before the first row the series holds the first value; after the last it holds the
//! last one (`after_end = "hold"`) or starts again from the first row
//! (`after_end = "repeat"`: the period is last time − first time, so a day of hourly
//! samples that should loop ends with a row at 24:00 equal to the first).
//!
//! Signals: `value`, the series' value at the end of the current step.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use crate::base::calendar::default_start_ns;
use crate::base::config_error::ConfigError;
use crate::base::wallclock::parse_rfc3339;
use crate::process::at::At;
use crate::process::component::{Built, Component, ComponentConfig};
use crate::process::profile::{Interpolate, piecewise};
use crate::process::resolve::Resolver;
use crate::process::signals::{SignalId, Signals};

/// What a series does after its last row.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AfterEnd {
    /// Keep the last value: a recording that covers the run, whose end is an accident.
    #[default]
    Hold,
    /// Start again from the first row: a typical day or week recorded once.
    Repeat,
}

/// `[[process.series]]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeriesConfig {
    /// Component name.
    pub name: String,
    /// The CSV file, relative to the plant file's directory.
    pub file: String,
    /// Header of the value column (default: the second column).
    #[serde(default)]
    pub column: Option<String>,
    /// Header of the time column (default: the first column).
    #[serde(default)]
    pub time_column: Option<String>,
    /// Between rows: `"linear"` (default) or `"step"`.
    #[serde(default)]
    pub interpolate: Interpolate,
    /// After the last row: `"hold"` (default) or `"repeat"`.
    #[serde(default)]
    pub after_end: AfterEnd,
}

/// A series being simulated.
#[derive(Clone, Debug)]
pub(crate) struct Series {
    /// (seconds, value) rows; shared, as a process is cloned and a series may be long.
    points: Arc<[(f64, f64)]>,
    /// For a series of timestamps, the first one (Unix ns), which `points` count from.
    epoch_ns: Option<u64>,
    /// The series' time at simulated time 0.
    start_s: f64,
    interpolate: Interpolate,
    after_end: AfterEnd,
    time_s: f64,
    value: SignalId,
}

impl ComponentConfig for SeriesConfig {
    const TABLE: &'static str = "series";
    const SIGNALS: &'static [&'static str] = &["value"];
    const COMMANDS: &'static [&'static str] = &[];

    fn name(&self) -> &str {
        &self.name
    }

    /// Reads `file` relative to the working directory: a config with no plant file to be
    /// relative to. [`SeriesConfig::build_in`] is what a plant uses.
    fn build(&self, at: &At, r: &mut Resolver) -> Result<Built, ConfigError> {
        self.build_in(at, r, None)
    }
}

impl SeriesConfig {
    /// Builds the series, reading `file` relative to `base_dir` (the plant file's directory).
    pub(crate) fn build_in(
        &self,
        at: &At,
        r: &mut Resolver,
        base_dir: Option<&Path>,
    ) -> Result<Built, ConfigError> {
        let path = base_dir.map_or_else(|| PathBuf::from(&self.file), |d| d.join(&self.file));
        let fail = |message: String| ConfigError::new(at.field("file"), at.span.clone(), message);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| fail(format!("cannot read {} ({}): {e}", self.file, path.display())))?;
        let table = read_csv(
            &self.file,
            &text,
            self.time_column.as_deref(),
            self.column.as_deref(),
        )
        .map_err(fail)?;
        let mut series = Series {
            points: table.points.into(),
            epoch_ns: table.epoch_ns,
            start_s: 0.0,
            interpolate: self.interpolate,
            after_end: self.after_end,
            time_s: 0.0,
            value: r.own(&self.name, "value"),
        };
        series.start_at(default_start_ns());
        r.init(series.value, series.now());
        Ok(Built {
            component: Component::Series(series),
            limits: Vec::new(),
        })
    }
}

impl Series {
    /// Places simulated time 0 at `unix_ns` on the series' time axis; a series in seconds
    /// since the start has no calendar and ignores it.
    fn start_at(&mut self, unix_ns: u64) {
        if let Some(epoch) = self.epoch_ns {
            self.start_s = (i128::from(unix_ns) - i128::from(epoch)) as f64 / 1e9;
        }
    }

    /// The value at the series' current time.
    fn now(&self) -> f64 {
        let x = self.start_s + self.time_s;
        let (Some(&(t0, _)), Some(&(tn, _))) = (self.points.first(), self.points.last()) else {
            return 0.0;
        };
        let x = match self.after_end {
            AfterEnd::Hold => x,
            AfterEnd::Repeat => t0 + (x - t0).rem_euclid(tn - t0),
        };
        piecewise(&self.points, x, self.interpolate)
    }

    /// Moves the run's start to `unix_ns` and shows the value at the current time at once.
    pub(crate) fn set_calendar_start(&mut self, unix_ns: u64, s: &mut Signals) {
        self.start_at(unix_ns);
        s.set(self.value, self.now());
    }

    /// Advances the series' clock; exact at any step, as the series is a function of time.
    pub(crate) fn step(&mut self, s: &mut Signals, dt_s: f64) {
        self.time_s += dt_s;
        s.set(self.value, self.now());
    }
}

/// A series as read from its file.
#[derive(Debug)]
struct Table {
    points: Vec<(f64, f64)>,
    epoch_ns: Option<u64>,
}

/// A row's time, in the form the file uses.
#[derive(Clone, Copy, Debug)]
enum Time {
    Seconds(f64),
    Timestamp(u64),
}

impl Time {
    fn parse(cell: &str) -> Option<Time> {
        match cell.parse::<f64>() {
            Ok(s) if s.is_finite() => Some(Time::Seconds(s)),
            Ok(_) => None,
            Err(_) => parse_rfc3339(cell).ok().map(Time::Timestamp),
        }
    }

    fn form(self) -> &'static str {
        match self {
            Time::Seconds(_) => "seconds",
            Time::Timestamp(_) => "a timestamp",
        }
    }

    /// Whether `self` comes strictly after `prev`, of the same form.
    fn after(self, prev: Time) -> bool {
        match (prev, self) {
            (Time::Seconds(a), Time::Seconds(b)) => b > a,
            (Time::Timestamp(a), Time::Timestamp(b)) => b > a,
            _ => false,
        }
    }
}

/// Line numbers of records, counted as the reader moves on. The reader's own line of a
/// record that follows a blank line is the blank line's, which would send the author of
/// the file to the wrong line.
struct Lines<'t> {
    text: &'t [u8],
    /// Byte offset up to which newlines are counted.
    at: usize,
    /// The 1-based line at `at`.
    line: usize,
}

impl Lines<'_> {
    /// The line of the record the reader started at `byte`: the first line after it that
    /// is not blank. Offsets come in increasing order, so the whole file is scanned once.
    fn line_at(&mut self, byte: usize) -> usize {
        let mut b = byte.clamp(self.at, self.text.len());
        while b < self.text.len() && matches!(self.text[b], b'\r' | b'\n') {
            b += 1;
        }
        self.line += self.text[self.at..b].iter().filter(|&&c| c == b'\n').count();
        self.at = b;
        self.line
    }
}

/// Reads the rows of `text` (the file `file`, named in errors): the time column
/// `time_column` and the value column `column`, by header, or the first and second.
fn read_csv(
    file: &str,
    text: &str,
    time_column: Option<&str>,
    column: Option<&str>,
) -> Result<Table, String> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| format!("{file}: {e}"))?
        .iter()
        .map(str::to_string)
        .collect();
    let find = |name: Option<&str>, default: usize, key: &str| -> Result<usize, String> {
        match name {
            Some(name) => header.iter().position(|h| h == name).ok_or_else(|| {
                format!(
                    "{file}: no column {name:?} (`{key}`); the header has: {}",
                    header.join(", ")
                )
            }),
            None if default < header.len() => Ok(default),
            None => Err(format!(
                "{file}: the header has {} column(s) ({}); a series needs a time column and a \
                 value column",
                header.len(),
                header.join(", ")
            )),
        }
    };
    let ti = find(time_column, 0, "time_column")?;
    let vi = find(column, 1, "column")?;

    let mut times: Vec<(Time, usize)> = Vec::new();
    let mut values = Vec::new();
    let mut lines = Lines {
        text: text.as_bytes(),
        at: 0,
        line: 1,
    };
    for record in reader.records() {
        let record = record.map_err(|e| format!("{file}: {e}"))?;
        let line = record.position().map_or(0, |p| lines.line_at(p.byte() as usize));
        let at = |message: String| format!("{file} line {line}: {message}");
        let cell = |i: usize| {
            record.get(i).ok_or_else(|| {
                at(format!(
                    "the row has {} field(s), no {:?} column",
                    record.len(),
                    header[i]
                ))
            })
        };
        let (t_cell, v_cell) = (cell(ti)?, cell(vi)?);
        let t = Time::parse(t_cell).ok_or_else(|| {
            at(format!(
                "{t_cell:?} is neither seconds nor an RFC 3339 time such as \"2024-01-22T06:00:00Z\""
            ))
        })?;
        let v = match v_cell.parse::<f64>() {
            Ok(v) if v.is_finite() => v,
            Ok(_) => return Err(at(format!("{v_cell:?} is not a finite number"))),
            Err(_) => return Err(at(format!("{v_cell:?} is not a number"))),
        };
        if let Some(&(first, first_line)) = times.first()
            && std::mem::discriminant(&first) != std::mem::discriminant(&t)
        {
            return Err(at(format!(
                "{t_cell:?} is {} but line {first_line} gives {}: one series uses one form",
                t.form(),
                first.form()
            )));
        }
        if let Some(&(prev, prev_line)) = times.last()
            && !t.after(prev)
        {
            return Err(at(format!(
                "time {t_cell:?} is not after line {prev_line}'s: times must increase"
            )));
        }
        times.push((t, line));
        values.push(v);
    }
    if times.len() < 2 {
        return Err(format!(
            "{file}: {} row(s) of data; a series needs at least 2",
            times.len()
        ));
    }
    let epoch_ns = match times[0].0 {
        Time::Timestamp(ns) => Some(ns),
        Time::Seconds(_) => None,
    };
    let points = times
        .iter()
        .zip(values)
        .map(|(&(t, _), v)| match t {
            Time::Seconds(s) => (s, v),
            Time::Timestamp(ns) => ((ns - epoch_ns.unwrap_or(0)) as f64 / 1e9, v),
        })
        .collect();
    Ok(Table { points, epoch_ns })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::base::config_error::ConfigError;
    use crate::base::wallclock::parse_rfc3339;
    use crate::process::testutil::{close, get, run};
    use crate::process::{Process, ProcessConfig};

    const SECONDS: &str = "time_s, temperature_c, humidity\n\
                           0, 10, 50\n\
                           3600, 20, 60\n\
                           7200, 5, 70\n";

    /// Writes `csv` as `outdoor.csv` in a fresh directory and builds a plant reading it.
    fn build_with(csv: &str, table: &str) -> Result<Process, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("outdoor.csv"), csv).unwrap();
        build_in(dir.path(), table)
    }

    fn build_in(dir: &Path, table: &str) -> Result<Process, ConfigError> {
        let src = format!("[[process.series]]\nname = \"outdoor\"\nfile = \"outdoor.csv\"\n{table}\n");
        let mut cfg = ProcessConfig::from_plant_toml(&src).unwrap_or_else(|e| panic!("{e}"));
        cfg.base_dir = Some(dir.to_path_buf());
        Process::from_config(&cfg)
    }

    fn ok(csv: &str, table: &str) -> Process {
        build_with(csv, table).unwrap_or_else(|e| panic!("{e}"))
    }

    fn value(p: &Process) -> f64 {
        get(p, "outdoor.value")
    }

    #[test]
    fn seconds_since_start_interpolate_and_hold() {
        let mut p = ok(SECONDS, "");
        assert_eq!(value(&p), 10.0);
        run(&mut p, 30, 60.0); // 1800 s: halfway from 10 to 20
        close(value(&p), 15.0, 1e-12);
        run(&mut p, 60, 60.0); // 5400 s: halfway from 20 to 5
        close(value(&p), 12.5, 1e-12);
        run(&mut p, 1000, 60.0);
        assert_eq!(value(&p), 5.0, "holds the last value");

        let mut p = ok(SECONDS, "column = \"humidity\"\ninterpolate = \"step\"");
        run(&mut p, 59, 60.0);
        assert_eq!(value(&p), 50.0);
        run(&mut p, 1, 60.0);
        assert_eq!(value(&p), 60.0);
    }

    #[test]
    fn repeat_loops_over_first_to_last_time() {
        let mut p = ok(SECONDS, "after_end = \"repeat\"");
        run(&mut p, 150, 60.0); // 9000 s = 7200 + 1800: 1800 s into the second loop
        close(value(&p), 15.0, 1e-12);
        run(&mut p, 90, 60.0); // 14400 s: the start of the third loop
        close(value(&p), 10.0, 1e-12);
    }

    #[test]
    fn timestamps_follow_the_calendar_start() {
        // The default start, 2025-01-01T00:00:00Z, is an hour after the first row.
        let csv = "when,temperature_c\n\
                   2024-12-31T23:00:00Z,-4\n\
                   2025-01-01T00:00:00Z,-2\n\
                   2025-01-01T02:00:00Z,2\n";
        let mut p = ok(csv, "");
        assert_eq!(value(&p), -2.0);
        run(&mut p, 60, 60.0);
        close(value(&p), 0.0, 1e-12);
        p.set_calendar_start(parse_rfc3339("2024-12-31T23:30:00Z").unwrap());
        // An hour into a run that started at 23:30: 00:30, a quarter of the way to 02:00.
        close(value(&p), -1.0, 1e-12);
        p.set_calendar_start(parse_rfc3339("2024-06-01T00:00:00Z").unwrap());
        assert_eq!(value(&p), -4.0, "before the first row: the first value");
        p.set_calendar_start(parse_rfc3339("2025-06-01T00:00:00Z").unwrap());
        assert_eq!(value(&p), 2.0, "after the last row: the last value");

        let mut p = ok(csv, "after_end = \"repeat\"\ninterpolate = \"step\"");
        // The loop is 3 h long from 2024-12-31T23:00: 2025-01-01T02:30 is 30 min in.
        p.set_calendar_start(parse_rfc3339("2025-01-01T02:30:00Z").unwrap());
        assert_eq!(value(&p), -4.0);
        run(&mut p, 30, 60.0);
        assert_eq!(value(&p), -2.0);
    }

    #[test]
    fn file_is_relative_to_the_base_dir() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("data")).unwrap();
        std::fs::write(dir.path().join("data/outdoor.csv"), SECONDS).unwrap();
        let src = "[[process.series]]\nname = \"outdoor\"\nfile = \"data/outdoor.csv\"\n";
        let mut cfg = ProcessConfig::from_plant_toml(src).unwrap();
        cfg.base_dir = Some(dir.path().to_path_buf());
        assert!(Process::from_config(&cfg).is_ok());
        cfg.base_dir = Some(dir.path().join("data"));
        let err = Process::from_config(&cfg).unwrap_err();
        assert_eq!(err.field, "process.series[0].file");
        assert!(
            err.message.starts_with("cannot read data/outdoor.csv ("),
            "{}",
            err.message
        );
    }

    #[test]
    fn bad_files_name_the_line() {
        let cases = [
            (
                "t,v\n0,1\n60,abc\n",
                "",
                "outdoor.csv line 3: \"abc\" is not a number",
            ),
            (
                "t,v\n0,1\n60,nan\n",
                "",
                "outdoor.csv line 3: \"nan\" is not a finite number",
            ),
            ("t,v\n0,1\n60,\n", "", "outdoor.csv line 3: \"\" is not a number"),
            (
                "t,v\n0,1\n60\n",
                "",
                "outdoor.csv line 3: the row has 1 field(s), no \"v\" column",
            ),
            (
                "t,v\n0,1\n\n\n60,x\n",
                "",
                "outdoor.csv line 5: \"x\" is not a number",
            ),
            (
                "t,v\n0,1\n\n60,2\n60,3\n",
                "",
                "outdoor.csv line 5: time \"60\" is not after line 4's: times must increase",
            ),
            (
                "t,v\n0,1\nsoon,2\n",
                "",
                "outdoor.csv line 3: \"soon\" is neither seconds nor an RFC 3339 time",
            ),
            (
                "t,v\n0,1\n2025-01-01T00:00:00Z,2\n",
                "",
                "outdoor.csv line 3: \"2025-01-01T00:00:00Z\" is a timestamp but line 2 gives seconds",
            ),
            (
                "t,v\n2025-01-01T00:00:00Z,1\n2025-01-01T00:00:00Z,2\n",
                "",
                "outdoor.csv line 3: time \"2025-01-01T00:00:00Z\" is not after line 2's",
            ),
            (
                "t,v\n0,1\n",
                "",
                "outdoor.csv: 1 row(s) of data; a series needs at least 2",
            ),
            ("t\n0\n1\n", "", "outdoor.csv: the header has 1 column(s) (t)"),
            (
                SECONDS,
                "column = \"wind\"",
                "outdoor.csv: no column \"wind\" (`column`); the header has: time_s, temperature_c, humidity",
            ),
            (
                SECONDS,
                "time_column = \"t\"",
                "outdoor.csv: no column \"t\" (`time_column`)",
            ),
        ];
        for (csv, table, message) in cases {
            let err = build_with(csv, table).expect_err(message);
            assert_eq!(err.field, "process.series[0].file");
            assert!(
                err.message.starts_with(message),
                "{}\n  expected: {message}",
                err.message
            );
        }
        let err = build_in(Path::new("/nonexistent"), "").unwrap_err();
        assert!(
            err.message
                .starts_with("cannot read outdoor.csv (/nonexistent/outdoor.csv): "),
            "{}",
            err.message
        );
    }

    #[test]
    fn columns_by_name_and_quoted_fields() {
        let csv = "\"value, °C\",when\n7,0\n9,10\n";
        let mut p = ok(csv, "column = \"value, °C\"\ntime_column = \"when\"");
        run(&mut p, 1, 5.0);
        close(value(&p), 8.0, 1e-12);
    }
}
