//! Units that appear in scenario files as strings: bandwidths such as `"100Mbps"`.

/// Parses `"100Mbps"`, `"1Gbps"`, `"10kbps"`, `"9600bps"` into bits per second.
pub fn parse_bandwidth(input: &str) -> Result<u64, String> {
    let s = input.trim();
    let lower = s.to_ascii_lowercase();
    let (num, mult) = if let Some(n) = lower.strip_suffix("gbps") {
        (n, 1e9)
    } else if let Some(n) = lower.strip_suffix("mbps") {
        (n, 1e6)
    } else if let Some(n) = lower.strip_suffix("kbps") {
        (n, 1e3)
    } else if let Some(n) = lower.strip_suffix("bps") {
        (n, 1.0)
    } else {
        return Err(format!(
            "invalid bandwidth {input:?}: expected a number and a unit (bps, kbps, Mbps, Gbps), e.g. \"100Mbps\""
        ));
    };
    match num.trim().parse::<f64>() {
        Ok(v) if v > 0.0 && (v * mult) >= 1.0 && (v * mult) < 1e13 => Ok((v * mult).round() as u64),
        _ => Err(format!(
            "invalid bandwidth {input:?}: expected a positive number and a unit, e.g. \"100Mbps\""
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bandwidths() {
        assert_eq!(parse_bandwidth("100Mbps"), Ok(100_000_000));
        assert_eq!(parse_bandwidth("1Gbps"), Ok(1_000_000_000));
        assert_eq!(parse_bandwidth("9600bps"), Ok(9600));
        assert!(parse_bandwidth("fast").is_err());
        assert!(parse_bandwidth("-1Mbps").is_err());
    }
}
