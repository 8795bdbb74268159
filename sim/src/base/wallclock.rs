//! The calendar time a run is set at. The simulation itself counts nanoseconds from zero;
//! outputs that other tools read (EVE alerts for a SIEM, pcap timestamps for Wireshark)
//! carry calendar times, which are the run's start plus simulated time. A fixed start keeps
//! them deterministic; a default that is not 1970 keeps SIEMs from discarding the alerts
//! as decades old.

use serde::Deserialize;

/// Where runs start when an exercise does not say: 2025-01-01T00:00:00Z.
pub const DEFAULT_START: &str = "2025-01-01T00:00:00Z";

/// A run's start as an exercise file writes it (`"2024-01-22T06:00:00Z"`), read into Unix
/// nanoseconds when the file is deserialised.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct StartField {
    /// Nanoseconds since 1970-01-01T00:00:00Z.
    pub unix_ns: u64,
    /// What the file said.
    pub text: String,
}

impl StartField {
    /// [`DEFAULT_START`].
    pub fn default_start() -> StartField {
        StartField::try_from(DEFAULT_START.to_string()).expect("a valid default start")
    }
}

impl TryFrom<String> for StartField {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        Ok(StartField {
            unix_ns: parse_rfc3339(&text)?,
            text,
        })
    }
}

/// Days from 1970-01-01 to a civil date (proleptic Gregorian), after Howard Hinnant's
/// `days_from_civil`.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count from 1970-01-01 (Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Reads an RFC 3339 time in UTC or with an offset: `2024-01-22T06:00:00Z`,
/// `2024-01-22T07:00:00.5+01:00`. Times before 1970 are refused.
pub fn parse_rfc3339(s: &str) -> Result<u64, String> {
    let bad = |why: &str| {
        format!("invalid start {s:?}: {why}; expected an RFC 3339 time such as \"2024-01-22T06:00:00Z\"")
    };
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return Err(bad("not of the form YYYY-MM-DDTHH:MM:SS"));
    }
    let num = |r: std::ops::Range<usize>| -> Result<i64, String> {
        let t = &s[r];
        if t.bytes().all(|c| c.is_ascii_digit()) {
            t.parse().map_err(|_| bad("a field is not a number"))
        } else {
            Err(bad("a field is not a number"))
        }
    };
    let (y, mo, d, h, mi, sec) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    let month_days = [
        31,
        if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 {
            29
        } else {
            28
        },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&mo) || d < 1 || d > month_days[(mo - 1) as usize] || h > 23 || mi > 59 || sec > 60
    {
        return Err(bad("a field is out of range"));
    }
    let mut rest = &s[19..];
    let mut frac_ns = 0i64;
    if let Some(f) = rest.strip_prefix('.') {
        let digits: String = f.chars().take_while(char::is_ascii_digit).collect();
        if digits.is_empty() || digits.len() > 9 {
            return Err(bad("the fraction of a second needs 1 to 9 digits"));
        }
        frac_ns = format!("{digits:0<9}").parse().map_err(|_| bad("bad fraction"))?;
        rest = &f[digits.len()..];
    }
    let offset_s = match rest {
        "Z" | "z" => 0,
        o if o.len() == 6 && (o.starts_with('+') || o.starts_with('-')) && &o[3..4] == ":" => {
            let oh: i64 = o[1..3].parse().map_err(|_| bad("bad offset"))?;
            let om: i64 = o[4..6].parse().map_err(|_| bad("bad offset"))?;
            let sign = if o.starts_with('-') { -1 } else { 1 };
            sign * (oh * 3600 + om * 60)
        }
        _ => return Err(bad("it needs a zone, \"Z\" or an offset such as \"+01:00\"")),
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec.min(59) - offset_s;
    if secs < 0 {
        return Err(bad("times before 1970 are not supported"));
    }
    Ok(secs as u64 * 1_000_000_000 + frac_ns as u64)
}

/// Unix nanoseconds as Suricata writes EVE timestamps: `2024-01-22T06:00:00.123456+0000`.
pub fn eve_timestamp(unix_ns: u64) -> String {
    let secs = (unix_ns / 1_000_000_000) as i64;
    let micros = (unix_ns % 1_000_000_000) / 1_000;
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}+0000",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_calendar_times() {
        let t = parse_rfc3339("2024-01-22T06:00:00Z").unwrap();
        assert_eq!(t, 1_705_903_200 * 1_000_000_000);
        assert_eq!(eve_timestamp(t + 1_500_000), "2024-01-22T06:00:00.001500+0000");
        assert_eq!(parse_rfc3339("2024-01-22T07:00:00+01:00").unwrap(), t);
        assert_eq!(
            parse_rfc3339("2024-02-29T00:00:00.25Z").unwrap() % 1_000_000_000,
            250_000_000
        );
        assert_eq!(eve_timestamp(0), "1970-01-01T00:00:00.000000+0000");
        // A day later is the next day, not the same day again.
        assert_eq!(
            eve_timestamp(t + 86_400 * 1_000_000_000),
            "2024-01-23T06:00:00.000000+0000"
        );
        for bad in [
            "2024-01-22",
            "2023-02-29T00:00:00Z",
            "2024-01-22T06:00:00",
            "1969-12-31T23:59:59Z",
            "2024-13-01T00:00:00Z",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad}");
        }
        assert!(
            parse_rfc3339("2024-01-22T06:00")
                .unwrap_err()
                .contains("RFC 3339")
        );
    }
}
