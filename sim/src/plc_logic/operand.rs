//! Operands: where a block reads a value from or writes a value to.
//!
//! In TOML an operand is either a register reference string (`"co:3"`,
//! `"di:0"`, `"ir:12"`, `"hr:7"`) or a number literal (`100`, `12.5`, also
//! accepted as a string `"12.5"`, and `true`/`false` as 1/0). Register values
//! are raw `u16` contents (bits 0/1) read as `f64`, so every block computes in
//! `f64` and the result is converted back with [`to_raw`].
//!
//! A register may carry the type its value is held in, as devices do for
//! negative, large and fractional values: `"ir:3:i16"`, `"hr:10:u32"`, `"hr:10:i32"`,
//! `"hr:20:f32"`, and for two-register values the word order when the low word comes
//! first, `"hr:20:f32:low_first"` (high word first is the default). A typed operand
//! reads and writes its registers through [`ValueType`], so a block sees -5.3, not 65483.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};

use crate::base::round::round_u64;
use crate::plc_logic::memory::{Area, PlcMemory};
use crate::wire::modbus::value::{ValueType, WordOrder};

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

/// A validated register address, with the type its value is held in.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RegRef {
    /// Modbus data area.
    pub area: Area,
    /// Zero-based address within the area (of the first register of a 32-bit value).
    pub addr: u16,
    /// How the value is held: `U16` (the default, one raw register or bit), or a signed,
    /// 32-bit or float type.
    pub ty: ValueType,
    /// For a two-register type, which word comes first.
    pub order: WordOrder,
}

impl RegRef {
    /// A plain register or bit: one raw `u16`.
    pub fn raw(area: Area, addr: u16) -> RegRef {
        RegRef {
            area,
            addr,
            ty: ValueType::U16,
            order: WordOrder::HighFirst,
        }
    }

    /// The last address the value occupies (`addr + 1` for 32-bit types).
    pub fn last_addr(self) -> u32 {
        u32::from(self.addr) + u32::from(self.ty.words()) - 1
    }

    /// Current value as `f64`. A read outside the map yields 0: compile
    /// checks every address, so this only happens if the memory shrinks
    /// after compilation, and a scan must never panic.
    pub fn read(self, mem: &dyn PlcMemory) -> f64 {
        let first = mem.get(self.area, self.addr).unwrap_or(0);
        if self.ty == ValueType::U16 {
            return f64::from(first);
        }
        let second = match self.ty.words() {
            2 => self
                .addr
                .checked_add(1)
                .and_then(|a| mem.get(self.area, a))
                .unwrap_or(0),
            _ => 0,
        };
        self.ty.decode(self.order, [first, second])
    }

    /// Write `v` converted with [`to_raw`] (bit areas: `v >= 0.5` is 1), or encoded in the
    /// operand's type (rounded and saturated at its range).
    pub fn write(self, mem: &mut dyn PlcMemory, v: f64) -> bool {
        if self.area.is_bit() {
            return mem.set(self.area, self.addr, u16::from(v >= 0.5));
        }
        if self.ty == ValueType::U16 {
            return mem.set(self.area, self.addr, to_raw(v));
        }
        let regs = self.ty.encode(self.order, v);
        let mut changed = mem.set(self.area, self.addr, regs[0]);
        if self.ty.words() == 2
            && let Some(a) = self.addr.checked_add(1)
        {
            changed |= mem.set(self.area, a, regs[1]);
        }
        changed
    }
}

impl fmt::Display for RegRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.area.prefix(), self.addr)?;
        if self.ty != ValueType::U16 {
            write!(f, ":{}", self.ty.name())?;
        }
        if self.order != WordOrder::HighFirst {
            write!(f, ":{}", self.order.name())?;
        }
        Ok(())
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
    if let Some((prefix, rest)) = text.split_once(':') {
        let area = match prefix {
            "co" => Area::Coil,
            "di" => Area::DiscreteInput,
            "ir" => Area::InputRegister,
            "hr" => Area::HoldingRegister,
            _ => return Err(format!("{EXPECTED}, found {text:?}")),
        };
        let mut parts = rest.split(':');
        let addr = parts.next().unwrap_or("").parse::<u16>().map_err(|_| {
            format!("expected a register address 0..=65535 after \"{prefix}:\", found {text:?}")
        })?;
        let mut r = RegRef::raw(area, addr);
        if let Some(ty) = parts.next() {
            r.ty = ValueType::from_name(ty).ok_or_else(|| {
                format!(
                    "expected a type u16, i16, u32, i32 or f32 after \"{prefix}:{addr}:\", found {text:?}"
                )
            })?;
            if area.is_bit() {
                return Err(format!(
                    "{prefix}:{addr} is a bit; a type applies to registers (ir, hr), found {text:?}"
                ));
            }
        }
        if let Some(order) = parts.next() {
            r.order = WordOrder::from_name(order)
                .ok_or_else(|| format!("expected the word order high_first or low_first, found {text:?}"))?;
            if r.ty.words() == 1 {
                return Err(format!(
                    "a word order applies to two-register types (u32, i32, f32), found {text:?}"
                ));
            }
        }
        if parts.next().is_some() {
            return Err(format!(
                "expected a register like \"hr:7\", \"ir:3:i16\" or \"hr:20:f32:low_first\", found {text:?}"
            ));
        }
        if r.last_addr() > u32::from(u16::MAX) {
            return Err(format!("{text:?} runs past register 65535"));
        }
        return Ok(Operand::Reg(r));
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
    let r = parse_typed_address(text)?;
    if r.ty != ValueType::U16 || r.order != WordOrder::HighFirst {
        return Err(format!(
            "expected a plain register like \"hr:7\" here (its type, if any, is a field of its own), found {text:?}"
        ));
    }
    Ok((r.area, r.addr))
}

/// Parse a register address that may carry a type (`"ir:3:i16"`, `"hr:20:f32:low_first"`),
/// for readers that decode values: PLC programs, invariants, playbook writes.
pub fn parse_typed_address(text: &str) -> Result<RegRef, String> {
    match parse_operand(text) {
        Ok(Operand::Reg(r)) => Ok(r),
        Ok(Operand::Const(_)) => Err(format!(
            r#"expected a register like "hr:7", "ir:0", "co:1" or "di:2", found the number {text:?}"#
        )),
        Err(e) => Err(e),
    }
}

/// Format an address the way [`parse_address`] reads it (`"hr:7"`).
pub fn format_address(area: Area, addr: u16) -> String {
    RegRef::raw(area, addr).to_string()
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
    // NaN and negative values round to 0, large ones saturate.
    round_u64(v).min(65535) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_registers_and_constants() {
        assert_eq!(
            parse_operand("hr:7"),
            Ok(Operand::Reg(RegRef::raw(Area::HoldingRegister, 7)))
        );
        assert_eq!(
            parse_operand("di:0"),
            Ok(Operand::Reg(RegRef::raw(Area::DiscreteInput, 0)))
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
    fn typed_registers_parse_and_print_back() {
        let r = parse_typed_address("hr:20:f32:low_first").unwrap();
        assert_eq!(
            (r.area, r.addr, r.ty, r.order),
            (Area::HoldingRegister, 20, ValueType::F32, WordOrder::LowFirst)
        );
        assert_eq!(r.to_string(), "hr:20:f32:low_first");
        assert_eq!(r.last_addr(), 21);
        assert_eq!(parse_typed_address("ir:3:i16").unwrap().to_string(), "ir:3:i16");
        assert!(parse_operand("co:1:i16").unwrap_err().contains("is a bit"));
        assert!(parse_operand("hr:1:f64").unwrap_err().contains("expected a type"));
        assert!(
            parse_operand("hr:1:i16:low_first")
                .unwrap_err()
                .contains("two-register")
        );
        assert!(
            parse_operand("hr:1:f32:middle")
                .unwrap_err()
                .contains("word order")
        );
        assert!(
            parse_operand("hr:65535:u32")
                .unwrap_err()
                .contains("past register 65535")
        );
        assert!(
            parse_address("hr:3:i16")
                .unwrap_err()
                .contains("field of its own")
        );
    }

    #[test]
    fn typed_operands_read_and_write_their_registers() {
        use crate::plc_logic::memory::VecMemory;
        let mut mem = VecMemory::new(0, 0, 0, 8);
        let f = parse_typed_address("hr:2:f32:low_first").unwrap();
        assert!(f.write(&mut mem, -5.25));
        // -5.25 is 0xC0A80000; low word first.
        assert_eq!(mem.get(Area::HoldingRegister, 2), Some(0x0000));
        assert_eq!(mem.get(Area::HoldingRegister, 3), Some(0xC0A8));
        assert_eq!(f.read(&mem), -5.25);
        let t = parse_typed_address("hr:5:i16").unwrap();
        t.write(&mut mem, -53.0);
        assert_eq!(mem.get(Area::HoldingRegister, 5), Some(0xFFCB));
        assert_eq!(t.read(&mem), -53.0);
        // The same register read plain is the raw word.
        assert_eq!(RegRef::raw(Area::HoldingRegister, 5).read(&mem), 65483.0);
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
