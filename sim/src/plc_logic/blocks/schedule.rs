//! `schedule`: a time switch on the PLC's real-time clock. Heating controllers, building
//! management PLCs and pumping stations run routines by the clock: comfort hours and a night
//! set-back, a weekend shutdown, filling reservoirs on the night tariff.
//!
//! `switch_at = [["06:00", 1], ["22:00", 0]]`: from 06:00 the output is 1, from 22:00 it is
//! 0, and before the first time of the day it holds the last value of the day before, so the
//! schedule repeats without a seam. Weekly schedules write the day (`"mon 06:00"`,
//! `"sat 00:00"`). The output is usually a bit or a mode that a `select` turns into set
//! points kept in registers, so an operator (or an attacker) changes the set-back
//! temperature over Modbus without touching the program.
//!
//! The clock is the run's calendar (the exercise's `start` plus simulated time) at the
//! site's `utc_offset`: PLCs are assumed synchronised (NTP), as the PLC's scan drift is
//! about when it scans, not what its clock says.

use crate::base::calendar::{DAY_S, WEEK_S, parse_time, parse_utc_offset, phase_s};
use crate::base::config_error::ConfigError;
use crate::plc_logic::blocks::Ctx;
use crate::plc_logic::config::ScheduleConfig;
use crate::plc_logic::memory::PlcMemory;
use crate::plc_logic::operand::RegRef;

/// Compiled `schedule` block.
#[derive(Clone, Debug)]
pub struct Schedule {
    /// (seconds into the day or week, value), strictly increasing, at least one.
    points: Vec<(i64, f64)>,
    period_s: i64,
    offset_s: i64,
    out: RegRef,
}

impl Schedule {
    pub(crate) fn compile(cfg: &ScheduleConfig, ctx: &Ctx<'_>) -> Result<Self, ConfigError> {
        let list = cfg.switch_at.get_ref();
        if list.is_empty() {
            return Err(ctx.err(
                "switch_at",
                Some(cfg.switch_at.span()),
                "expected one or more [time, value] pairs like [[\"06:00\", 1], [\"22:00\", 0]]",
            ));
        }
        let offset_s = match &cfg.utc_offset {
            Some(text) => parse_utc_offset(text.get_ref()).ok_or_else(|| {
                ctx.err(
                    "utc_offset",
                    Some(text.span()),
                    format!(
                        "expected an offset from UTC such as \"+01:00\" or \"-05:00\", found {:?}",
                        text.get_ref()
                    ),
                )
            })?,
            None => 0,
        };
        let mut points: Vec<(i64, f64)> = Vec::with_capacity(list.len());
        let mut weekly = None;
        for (j, p) in list.iter().enumerate() {
            let field = format!("switch_at[{j}]");
            let err = |msg: String| ctx.err(&field, Some(p.span()), msg);
            let (text, value) = p.get_ref();
            let (day, second) = parse_time(text).map_err(err)?;
            if second == DAY_S {
                return Err(err(format!(
                    "{text:?}: a schedule switches at a time of day, 00:00 to 23:59:59; 24:00 is the next day's 00:00"
                )));
            }
            match weekly {
                None => weekly = Some(day.is_some()),
                Some(w) if w != day.is_some() => {
                    return Err(err(format!(
                        "{text:?} mixes daily and weekly times: a schedule's times are all daily (\"06:00\") \
                         or all weekly (\"mon 06:00\")"
                    )));
                }
                Some(_) => {}
            }
            if !value.is_finite() {
                return Err(err(format!(
                    "the value at {text:?} is {value}; expected a finite number"
                )));
            }
            let t = day.unwrap_or(0) * DAY_S + second;
            if let Some(&(prev, _)) = points.last()
                && t <= prev
            {
                return Err(err(format!(
                    "{text:?} is not after the time before it: times increase within the day or week"
                )));
            }
            points.push((t, *value));
        }
        Ok(Schedule {
            points,
            period_s: if weekly == Some(true) { WEEK_S } else { DAY_S },
            offset_s,
            out: ctx.output("out", &cfg.out)?,
        })
    }

    pub(crate) fn exec(&mut self, mem: &mut dyn PlcMemory, clock_unix_ns: u64) {
        let v = self.value_at(clock_unix_ns);
        self.out.write(mem, v);
    }

    /// The value in force at `unix_ns`: that of the last switching time at or before it in
    /// the day or week, or, before the first, the last one of the period before.
    fn value_at(&self, unix_ns: u64) -> f64 {
        let phase = phase_s(unix_ns, self.offset_s, self.period_s);
        let after = self.points.partition_point(|&(t, _)| t as f64 <= phase);
        let i = if after == 0 {
            self.points.len() - 1
        } else {
            after - 1
        };
        self.points[i].1
    }
}

#[cfg(test)]
mod tests {
    use crate::base::wallclock::parse_rfc3339;
    use crate::plc_logic::memory::{Area, PlcMemory, VecMemory};
    use crate::plc_logic::{PlcLogicConfig, PlcProgram};

    fn program(text: &str, mem: &VecMemory) -> Result<PlcProgram, String> {
        let cfg = PlcLogicConfig::from_toml_str(text).map_err(|e| e.to_string())?;
        PlcProgram::from_config(&cfg, mem).map_err(|e| e.to_string())
    }

    /// The output after a scan at the calendar time `at` (RFC 3339).
    fn at(p: &mut PlcProgram, mem: &mut VecMemory, at: &str) -> u16 {
        p.set_clock(parse_rfc3339(at).unwrap());
        p.scan(mem, 0.1, &mut Vec::new());
        mem.get(Area::HoldingRegister, 0).unwrap()
    }

    #[test]
    fn a_daily_schedule_switches_at_local_time_and_wraps_past_midnight() {
        let mut mem = VecMemory::new(0, 0, 0, 4);
        // Comfort 21 °C from 06:00, set-back 16 °C from 22:00, at UTC+01:00.
        let mut p = program(
            r#"
            [[plc.program]]
            type = "schedule"
            switch_at = [["06:00", 21], ["22:00", 16]]
            utc_offset = "+01:00"
            out = "hr:0"
            "#,
            &mem,
        )
        .unwrap();
        // 04:59 UTC is 05:59 local: still the night before.
        assert_eq!(at(&mut p, &mut mem, "2025-01-06T04:59:00Z"), 16);
        assert_eq!(at(&mut p, &mut mem, "2025-01-06T05:00:00Z"), 21);
        assert_eq!(at(&mut p, &mut mem, "2025-01-06T20:59:59Z"), 21);
        assert_eq!(at(&mut p, &mut mem, "2025-01-06T21:00:00Z"), 16);
        assert_eq!(at(&mut p, &mut mem, "2025-01-06T23:30:00Z"), 16);
    }

    #[test]
    fn a_weekly_schedule_keeps_the_weekend_off() {
        let mut mem = VecMemory::new(0, 0, 0, 4);
        let mut p = program(
            r#"
            [[plc.program]]
            type = "schedule"
            switch_at = [["mon 07:00", 1], ["fri 18:00", 0]]
            out = "hr:0"
            "#,
            &mem,
        )
        .unwrap();
        // 2025-01-06 is a Monday.
        assert_eq!(at(&mut p, &mut mem, "2025-01-06T06:00:00Z"), 0);
        assert_eq!(at(&mut p, &mut mem, "2025-01-08T12:00:00Z"), 1);
        assert_eq!(at(&mut p, &mut mem, "2025-01-10T18:00:00Z"), 0);
        assert_eq!(at(&mut p, &mut mem, "2025-01-12T12:00:00Z"), 0);
    }

    #[test]
    fn bad_schedules_name_the_entry() {
        let mem = VecMemory::new(0, 0, 0, 4);
        let err = |switch_at: &str, extra: &str| {
            program(
                &format!(
                    "[[plc.program]]\ntype = \"schedule\"\nswitch_at = {switch_at}\nout = \"hr:0\"\n{extra}"
                ),
                &mem,
            )
            .unwrap_err()
        };
        let e = err(r#"[["06:00", 1], ["05:00", 0]]"#, "");
        assert!(e.contains("switch_at[1]") && e.contains("is not after"), "{e}");
        let e = err(r#"[["06:00", 1], ["mon 22:00", 0]]"#, "");
        assert!(e.contains("switch_at[1]") && e.contains("daily"), "{e}");
        let e = err(r#"[["6h", 1]]"#, "");
        assert!(e.contains("switch_at[0]") && e.contains("HH:MM"), "{e}");
        let e = err(r#"[]"#, "");
        assert!(e.contains("switch_at") && e.contains("one or more"), "{e}");
        let e = err(r#"[["06:00", 1]]"#, "utc_offset = \"CET\"");
        assert!(e.contains("utc_offset") && e.contains("+01:00"), "{e}");
    }
}
