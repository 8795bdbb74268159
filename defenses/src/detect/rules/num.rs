//! Numeric comparisons shared by `dsize` and the `modbus` keyword's unit, address and value:
//! `N`, `!N`, `>N`, `>=N`, `<N`, `<=N` and `a<>b` (strictly between, as Suricata reads it).

/// A compiled comparison against one number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumCmp {
    /// `N` or `=N`.
    Eq(u64),
    /// `!N`.
    Ne(u64),
    /// `>N`.
    Gt(u64),
    /// `>=N`.
    Ge(u64),
    /// `<N`.
    Lt(u64),
    /// `<=N`.
    Le(u64),
    /// Strictly between the two bounds.
    Between(u64, u64),
}

impl NumCmp {
    /// Whether `x` passes.
    #[inline]
    pub fn test(self, x: u64) -> bool {
        match self {
            NumCmp::Eq(n) => x == n,
            NumCmp::Ne(n) => x != n,
            NumCmp::Gt(n) => x > n,
            NumCmp::Ge(n) => x >= n,
            NumCmp::Lt(n) => x < n,
            NumCmp::Le(n) => x <= n,
            NumCmp::Between(a, b) => a < x && x < b,
        }
    }

    /// Whether any value in `lo..=hi` passes: how an accessed register span meets an
    /// `address` setting.
    pub fn overlaps(self, lo: u64, hi: u64) -> bool {
        match self {
            NumCmp::Eq(n) => lo <= n && n <= hi,
            NumCmp::Ne(n) => !(lo == n && hi == n),
            NumCmp::Gt(n) => hi > n,
            NumCmp::Ge(n) => hi >= n,
            NumCmp::Lt(n) => lo < n,
            NumCmp::Le(n) => lo <= n,
            NumCmp::Between(a, b) => hi > a && lo < b,
        }
    }

    /// Parses the comparison; numbers are decimal or 0x-hex and at most `max`.
    pub fn parse(s: &str, max: u64) -> Result<NumCmp, String> {
        let s = s.trim();
        let num = |t: &str| -> Result<u64, String> {
            let t = t.trim();
            let v = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                Some(h) => u64::from_str_radix(h, 16),
                None => t.parse::<u64>(),
            }
            .map_err(|_| format!("{t:?} is not a number"))?;
            if v > max {
                return Err(format!("{v} is out of range (at most {max})"));
            }
            Ok(v)
        };
        if let Some((a, b)) = s.split_once("<>") {
            let (a, b) = (num(a)?, num(b)?);
            if a >= b {
                return Err(format!(
                    "range {s:?} is empty: the first bound must be below the second"
                ));
            }
            return Ok(NumCmp::Between(a, b));
        }
        Ok(if let Some(r) = s.strip_prefix(">=") {
            NumCmp::Ge(num(r)?)
        } else if let Some(r) = s.strip_prefix("<=") {
            NumCmp::Le(num(r)?)
        } else if let Some(r) = s.strip_prefix('>') {
            NumCmp::Gt(num(r)?)
        } else if let Some(r) = s.strip_prefix('<') {
            NumCmp::Lt(num(r)?)
        } else if let Some(r) = s.strip_prefix('!') {
            NumCmp::Ne(num(r)?)
        } else if let Some(r) = s.strip_prefix('=') {
            NumCmp::Eq(num(r)?)
        } else {
            NumCmp::Eq(num(s)?)
        })
    }
}
