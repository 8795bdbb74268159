//! Operands: where a block reads a value from or writes a value to.
//!
//! In TOML an operand is either a register reference string (`"co:3"`,
//! `"di:0"`, `"ir:12"`, `"hr:7"`) or a number literal (`100`, `12.5`, also
//! accepted as a string `"12.5"`, and `true`/`false` as 1/0). Register values
//! are raw `u16` contents (bits 0/1) read as `f64`, so every block computes in
//! `f64` and the result is converted back with [`to_raw`].

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};

use crate::plc_logic::memory::{Area, PlcMemory};

/// An operand exactly as written in the configuration, before validation.
///
/// Kept unparsed so that configuration errors can be reported by
/// [`PlcProgram::compile`](crate::plc_logic::PlcProgram::compile) with the field
/// path and the byte span of the offending text (wrap it in
/// [`toml::Spanned`]).
#[derive(Clone, Debug, PartialEq)]
pub enum OperandSrc {
    /// A string such as `"hr:7"` (or a number written as a string).
    Text(String),
    /// A TOML integer, float or boolean literal.
    Number(f64),
}

impl From<&str> for OperandSrc {
    fn from(s: &str) -> Self {
        OperandSrc::Text(s.to_owned())
    }
}

impl From<f64> for OperandSrc {
    fn from(v: f64) -> Self {
        OperandSrc::Number(v)
    }
}

impl fmt::Display for OperandSrc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OperandSrc::Text(s) => write!(f, "{s:?}"),
            OperandSrc::Number(v) => write!(f, "{v}"),
        }
    }
}

impl<'de> Deserialize<'de> for OperandSrc {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = OperandSrc;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(r#"an operand like "hr:7", "ir:0", "co:1", "di:2" or a number"#)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<OperandSrc, E> {
                Ok(OperandSrc::Text(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<OperandSrc, E> {
                Ok(OperandSrc::Text(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<OperandSrc, E> {
                Ok(OperandSrc::Number(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<OperandSrc, E> {
                Ok(OperandSrc::Number(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<OperandSrc, E> {
                Ok(OperandSrc::Number(v))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<OperandSrc, E> {
                Ok(OperandSrc::Number(if v { 1.0 } else { 0.0 }))
            }
        }
        d.deserialize_any(V)
    }
}

/// A validated register address.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RegRef {
    /// Modbus data area.
    pub area: Area,
    /// Zero-based address within the area.
    pub addr: u16,
}

impl RegRef {
    /// Current value as `f64`. A read outside the map yields 0: compile
    /// checks every address, so this only happens if the memory shrinks
    /// after compilation, and a scan must never panic.
    pub fn read(self, mem: &dyn PlcMemory) -> f64 {
        f64::from(mem.get(self.area, self.addr).unwrap_or(0))
    }

    /// Write `v` converted with [`to_raw`] (bit areas: `v >= 0.5` is 1).
    pub fn write(self, mem: &mut dyn PlcMemory, v: f64) -> bool {
        let raw = if self.area.is_bit() {
            u16::from(v >= 0.5)
        } else {
            to_raw(v)
        };
        mem.set(self.area, self.addr, raw)
    }
}

impl fmt::Display for RegRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.area.prefix(), self.addr)
    }
}

/// A validated input operand: a register or a constant.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Operand {
    /// A fixed value.
    Const(f64),
    /// The current contents of a register.
    Reg(RegRef),
}

impl Operand {
    /// Current value of the operand.
    pub fn read(self, mem: &dyn PlcMemory) -> f64 {
        match self {
            Operand::Const(v) => v,
            Operand::Reg(r) => r.read(mem),
        }
    }

    /// The constant value, if the operand is one (used for compile-time
    /// sanity checks such as `on_below <= off_above`).
    pub fn as_const(self) -> Option<f64> {
        match self {
            Operand::Const(v) => Some(v),
            Operand::Reg(_) => None,
        }
    }
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operand::Const(v) => write!(f, "{v}"),
            Operand::Reg(r) => r.fmt(f),
        }
    }
}

const EXPECTED: &str = r#"expected an operand like "hr:7", "ir:0", "co:1", "di:2" or a number"#;

/// Parse operand text. The error is a complete human-readable message.
pub fn parse_operand(text: &str) -> Result<Operand, String> {
    if let Some((prefix, addr)) = text.split_once(':') {
        let area = match prefix {
            "co" => Area::Coil,
            "di" => Area::DiscreteInput,
            "ir" => Area::InputRegister,
            "hr" => Area::HoldingRegister,
            _ => return Err(format!("{EXPECTED}, found {text:?}")),
        };
        let addr = addr.parse::<u16>().map_err(|_| {
            format!("expected a register address 0..=65535 after \"{prefix}:\", found {text:?}")
        })?;
        return Ok(Operand::Reg(RegRef { area, addr }));
    }
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(Operand::Const(v)),
        _ => Err(format!("{EXPECTED}, found {text:?}")),
    }
}

/// Parse a register address (`"co:3"`, `"di:0"`, `"ir:12"`, `"hr:7"`), for
/// other components (I/O wiring, HMI polls) that name registers the same way
/// as programs. Constants are rejected. No range check against a memory.
pub fn parse_address(text: &str) -> Result<(Area, u16), String> {
    match parse_operand(text) {
        Ok(Operand::Reg(r)) => Ok((r.area, r.addr)),
        Ok(Operand::Const(_)) => Err(format!(
            r#"expected a register like "hr:7", "ir:0", "co:1" or "di:2", found the number {text:?}"#
        )),
        Err(e) => Err(e),
    }
}

/// Format an address the way [`parse_address`] reads it (`"hr:7"`).
pub fn format_address(area: Area, addr: u16) -> String {
    RegRef { area, addr }.to_string()
}

impl OperandSrc {
    /// Parse into an [`Operand`] (no range check against the memory).
    pub fn parse(&self) -> Result<Operand, String> {
        match self {
            OperandSrc::Text(s) => parse_operand(s),
            OperandSrc::Number(v) if v.is_finite() => Ok(Operand::Const(*v)),
            OperandSrc::Number(v) => Err(format!("{EXPECTED}, found non-finite number {v}")),
        }
    }
}

/// Convert a computed value to raw register contents: clamp to
/// `0..=65535`, round to nearest (halves away from zero); NaN becomes 0 so a
/// bad computation drives an output to its de-energised value.
pub fn to_raw(v: f64) -> u16 {
    if v.is_nan() {
        return 0;
    }
    // `as` saturates, the clamp makes the intent explicit.
    v.clamp(0.0, 65535.0).round() as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_registers_and_constants() {
        assert_eq!(
            parse_operand("hr:7"),
            Ok(Operand::Reg(RegRef {
                area: Area::HoldingRegister,
                addr: 7
            }))
        );
        assert_eq!(
            parse_operand("di:0"),
            Ok(Operand::Reg(RegRef {
                area: Area::DiscreteInput,
                addr: 0
            }))
        );
        assert_eq!(parse_operand("12.5"), Ok(Operand::Const(12.5)));
        assert_eq!(parse_operand("-3"), Ok(Operand::Const(-3.0)));
    }

    #[test]
    fn parse_errors_are_descriptive() {
        assert_eq!(
            parse_operand("xx:1").unwrap_err(),
            r#"expected an operand like "hr:7", "ir:0", "co:1", "di:2" or a number, found "xx:1""#
        );
        assert!(parse_operand("hr:70000").unwrap_err().contains("0..=65535"));
        assert!(parse_operand("hr:").unwrap_err().contains("after \"hr:\""));
        assert!(parse_operand("nan").is_err());
        assert!(parse_operand("HR:1").is_err());
    }

    #[test]
    fn address_round_trip() {
        assert_eq!(parse_address("ir:12"), Ok((Area::InputRegister, 12)));
        assert_eq!(format_address(Area::Coil, 3), "co:3");
        assert!(parse_address("100").unwrap_err().contains("found the number"));
        assert!(
            parse_address("xx:1")
                .unwrap_err()
                .starts_with("expected an operand like")
        );
    }

    #[test]
    fn to_raw_clamps_and_rounds() {
        assert_eq!(to_raw(-5.0), 0);
        assert_eq!(to_raw(1e9), 65535);
        assert_eq!(to_raw(2.5), 3);
        assert_eq!(to_raw(2.49), 2);
        assert_eq!(to_raw(f64::NAN), 0);
    }
}
