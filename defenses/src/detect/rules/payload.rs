//! Byte-level keywords: `content` (with `offset`, `depth`, `nocase`), `byte_test` and
//! `dsize`. They look at the bytes seen on the Modbus port as they are, valid ADU or not,
//! which is what lets a rule catch the malformed traffic the `modbus` keyword never sees.

use super::num::NumCmp;

/// A compiled `content` match.
#[derive(Debug, Clone)]
pub struct Content {
    /// The bytes to find: the string's characters as UTF-8, `|..|` parts as hex bytes.
    pub pattern: Vec<u8>,
    /// `content:!"..."`: the rule needs the pattern absent.
    pub negated: bool,
    /// `nocase`: ASCII letters match in either case.
    pub nocase: bool,
    /// `offset`: where in the payload the search starts (default 0).
    pub offset: usize,
    /// Bytes from `offset` the pattern must lie within; None = to the end.
    pub depth: Option<usize>,
}

impl Content {
    /// Parses the value of `content:`: an optional `!`, then a quoted string whose `|..|`
    /// parts are hex bytes and whose `\` escapes the next character.
    pub fn parse(value: &str) -> Result<Content, String> {
        let v = value.trim();
        let (negated, v) = match v.strip_prefix('!') {
            Some(r) => (true, r.trim_start()),
            None => (false, v),
        };
        let inner = v
            .strip_prefix('"')
            .ok_or_else(|| "expected a quoted string".to_string())?;
        let mut pattern = Vec::new();
        let mut hex = false;
        let mut hex_digits = String::new();
        let mut chars = inner.char_indices();
        let mut closed_at = None;
        while let Some((i, c)) = chars.next() {
            if hex {
                match c {
                    '|' => {
                        if !hex_digits.is_empty() {
                            return Err(format!("odd number of hex digits before '|': {hex_digits:?}"));
                        }
                        hex = false;
                    }
                    ' ' | '\t' => {
                        if !hex_digits.is_empty() {
                            return Err(format!("hex byte {hex_digits:?} needs two digits"));
                        }
                    }
                    c if c.is_ascii_hexdigit() => {
                        hex_digits.push(c);
                        if hex_digits.len() == 2 {
                            pattern.push(u8::from_str_radix(&hex_digits, 16).unwrap_or(0));
                            hex_digits.clear();
                        }
                    }
                    '"' => return Err("unterminated hex bytes: '|' not closed".into()),
                    other => return Err(format!("{other:?} in hex bytes")),
                }
                continue;
            }
            match c {
                '|' => hex = true,
                '\\' => match chars.next() {
                    Some((_, e)) => {
                        let mut buf = [0u8; 4];
                        pattern.extend_from_slice(e.encode_utf8(&mut buf).as_bytes());
                    }
                    None => return Err("unterminated string".into()),
                },
                '"' => {
                    closed_at = Some(i);
                    break;
                }
                c => {
                    let mut buf = [0u8; 4];
                    pattern.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        if hex {
            return Err("unterminated hex bytes: '|' not closed".into());
        }
        let Some(end) = closed_at else {
            return Err("unterminated string".into());
        };
        if !inner[end + 1..].trim().is_empty() {
            return Err(format!(
                "unexpected {:?} after the string",
                inner[end + 1..].trim()
            ));
        }
        if pattern.is_empty() {
            return Err("empty content".into());
        }
        Ok(Content {
            pattern,
            negated,
            nocase: false,
            offset: 0,
            depth: None,
        })
    }

    /// The byte the pattern pins at absolute position `at`, when the pattern is anchored
    /// there (`depth` equal to its length), for the function-code pre-filter.
    pub fn pinned_byte(&self, at: usize) -> Option<u8> {
        if self.negated || self.depth != Some(self.pattern.len()) || at < self.offset {
            return None;
        }
        let b = *self.pattern.get(at - self.offset)?;
        (!self.nocase || !b.is_ascii_alphabetic()).then_some(b)
    }

    /// Whether the payload passes: the pattern found within the window, or not found
    /// when negated.
    #[inline]
    pub fn matches(&self, data: &[u8]) -> bool {
        self.found(data) != self.negated
    }

    fn found(&self, data: &[u8]) -> bool {
        let Some(window) = data.get(self.offset..) else {
            return false;
        };
        let window = match self.depth {
            Some(d) => &window[..d.min(window.len())],
            None => window,
        };
        let p = &self.pattern;
        if window.len() < p.len() {
            return false;
        }
        if self.nocase {
            window.windows(p.len()).any(|w| w.eq_ignore_ascii_case(p))
        } else {
            window.windows(p.len()).any(|w| w == p.as_slice())
        }
    }
}

/// `byte_test` operators; `&` matches when any masked bit is set and `^` when the value
/// differs from the operand, as Suricata evaluates them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `<`.
    Lt,
    /// `>`.
    Gt,
    /// `=`.
    Eq,
    /// `<=`.
    Le,
    /// `>=`.
    Ge,
    /// `&`: any bit of the value set.
    And,
    /// `^`: differs from the value.
    Xor,
}

/// A compiled `byte_test`: `bytes, [!]op, value, offset[, big|little]`.
#[derive(Debug, Clone)]
pub struct ByteTest {
    /// How many bytes make the number read, 1..=4.
    pub bytes: usize,
    /// The comparison.
    pub op: Op,
    /// `!op`: the test holds when the comparison does not.
    pub negated: bool,
    /// The operand, decimal or 0x-hex.
    pub value: u64,
    /// Where the number starts, from the payload's first byte (no relative offsets).
    pub offset: usize,
    /// `little`: little-endian; big-endian (network order) otherwise.
    pub little: bool,
}

impl ByteTest {
    /// Parses the value of `byte_test:`; `relative` and other options are refused.
    pub fn parse(value: &str) -> Result<ByteTest, String> {
        let parts: Vec<&str> = value.split(',').map(str::trim).collect();
        if parts.len() < 4 {
            return Err("expected: bytes, operator, value, offset[, big|little]".into());
        }
        let bytes: usize = parts[0]
            .parse()
            .ok()
            .filter(|b| (1..=4).contains(b))
            .ok_or_else(|| format!("bytes must be 1..=4, not {:?}", parts[0]))?;
        let (negated, op) = match parts[1].strip_prefix('!') {
            Some(r) => (true, r.trim()),
            None => (false, parts[1]),
        };
        let op = match op {
            "<" => Op::Lt,
            ">" => Op::Gt,
            "=" => Op::Eq,
            "<=" => Op::Le,
            ">=" => Op::Ge,
            "&" => Op::And,
            "^" => Op::Xor,
            other => {
                return Err(format!(
                    "unknown operator {other:?}: expected <, >, =, <=, >=, & or ^"
                ));
            }
        };
        let num = |t: &str| -> Result<u64, String> {
            match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                Some(h) => u64::from_str_radix(h, 16),
                None => t.parse::<u64>(),
            }
            .map_err(|_| format!("{t:?} is not a number"))
        };
        let value = num(parts[2])?;
        let offset: usize = parts[3]
            .parse()
            .map_err(|_| format!("offset {:?} is not a non-negative number", parts[3]))?;
        let mut little = false;
        for flag in &parts[4..] {
            match *flag {
                "big" => little = false,
                "little" => little = true,
                "relative" => {
                    return Err("relative byte_test is not supported: give an absolute offset".into());
                }
                other => return Err(format!("unsupported byte_test option {other:?}")),
            }
        }
        Ok(ByteTest {
            bytes,
            op,
            negated,
            value,
            offset,
            little,
        })
    }

    /// Whether the test holds for `x`, the number read.
    pub fn holds(&self, x: u64) -> bool {
        let v = self.value;
        let r = match self.op {
            Op::Lt => x < v,
            Op::Gt => x > v,
            Op::Eq => x == v,
            Op::Le => x <= v,
            Op::Ge => x >= v,
            Op::And => x & v != 0,
            Op::Xor => x ^ v != 0,
        };
        r != self.negated
    }

    /// Whether the test holds on the payload; false when it is too short to hold the
    /// number, negated or not.
    #[inline]
    pub fn matches(&self, data: &[u8]) -> bool {
        let Some(b) = data.get(self.offset..self.offset.saturating_add(self.bytes)) else {
            return false;
        };
        let x = if self.little {
            b.iter().rev().fold(0u64, |a, &y| (a << 8) | u64::from(y))
        } else {
            b.iter().fold(0u64, |a, &y| (a << 8) | u64::from(y))
        };
        self.holds(x)
    }
}

/// `dsize`: the payload length in bytes.
pub fn parse_dsize(value: &str) -> Result<NumCmp, String> {
    NumCmp::parse(value, u64::from(u32::MAX))
}
