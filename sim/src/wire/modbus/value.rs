//! How a number is held in Modbus registers. Modbus itself only has 16-bit registers;
//! devices put signed values, 32-bit integers and IEEE 754 floats in one or two of them, and
//! for two-register values the field has both word orders (Modicon's "big-endian" high word
//! first, and many meters' and drives' low word first). A plant says per wire which it uses,
//! so a temperature of -5.3 °C is -53 in a signed register instead of clamping to 0.
//!
//! Within a register the two bytes are always big-endian, as the protocol defines; only
//! the order of the two registers of a 32-bit value varies.

use serde::Deserialize;

use crate::base::round::round_i64;

/// The type of a value held in registers (`type = "i16"`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValueType {
    /// Unsigned 16-bit, 0..=65535: the protocol's own register, and the default.
    #[default]
    U16,
    /// Signed 16-bit two's complement, -32768..=32767.
    I16,
    /// Unsigned 32-bit over two registers.
    U32,
    /// Signed 32-bit two's complement over two registers.
    I32,
    /// IEEE 754 single precision over two registers.
    F32,
}

/// Which register of a two-register value comes first (`word_order = "low_first"`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WordOrder {
    /// The high 16 bits at the lower address (Modicon convention, "ABCD").
    #[default]
    HighFirst,
    /// The low 16 bits at the lower address ("CDAB": many meters, drives and gateways).
    LowFirst,
}

impl WordOrder {
    /// The name a plant file uses.
    pub fn name(self) -> &'static str {
        match self {
            WordOrder::HighFirst => "high_first",
            WordOrder::LowFirst => "low_first",
        }
    }

    /// The order a plant file names (`"low_first"`), if it is one.
    pub fn from_name(name: &str) -> Option<WordOrder> {
        [WordOrder::HighFirst, WordOrder::LowFirst]
            .into_iter()
            .find(|o| o.name() == name)
    }
}

impl ValueType {
    /// Registers the value occupies.
    pub fn words(self) -> u16 {
        match self {
            ValueType::U16 | ValueType::I16 => 1,
            ValueType::U32 | ValueType::I32 | ValueType::F32 => 2,
        }
    }

    /// The type a plant file names (`"i16"`), if it is one.
    pub fn from_name(name: &str) -> Option<ValueType> {
        [
            ValueType::U16,
            ValueType::I16,
            ValueType::U32,
            ValueType::I32,
            ValueType::F32,
        ]
        .into_iter()
        .find(|t| t.name() == name)
    }

    /// The name a plant file uses.
    pub fn name(self) -> &'static str {
        match self {
            ValueType::U16 => "u16",
            ValueType::I16 => "i16",
            ValueType::U32 => "u32",
            ValueType::I32 => "i32",
            ValueType::F32 => "f32",
        }
    }

    /// The registers holding `v`: integers rounded and saturated at the type's range (as a
    /// PLC's conversion saturates), NaN as 0; floats as the nearest f32.
    pub fn encode(self, order: WordOrder, v: f64) -> [u16; 2] {
        // NaN rounds to 0; infinities saturate, then clamp to the type's ends.
        let int = |lo: i64, hi: i64| round_i64(v).clamp(lo, hi);
        let bits: u32 = match self {
            ValueType::U16 => return [int(0, 65535) as u16, 0],
            ValueType::I16 => return [int(-32768, 32767) as i16 as u16, 0],
            ValueType::U32 => int(0, u32::MAX.into()) as u32,
            ValueType::I32 => int(i32::MIN.into(), i32::MAX.into()) as i32 as u32,
            ValueType::F32 => (v as f32).to_bits(),
        };
        let (high, low) = ((bits >> 16) as u16, bits as u16);
        match order {
            WordOrder::HighFirst => [high, low],
            WordOrder::LowFirst => [low, high],
        }
    }

    /// The value `regs` hold (`regs[1]` is ignored by 16-bit types).
    pub fn decode(self, order: WordOrder, regs: [u16; 2]) -> f64 {
        let bits = match order {
            WordOrder::HighFirst => (u32::from(regs[0]) << 16) | u32::from(regs[1]),
            WordOrder::LowFirst => (u32::from(regs[1]) << 16) | u32::from(regs[0]),
        };
        match self {
            ValueType::U16 => f64::from(regs[0]),
            ValueType::I16 => f64::from(regs[0] as i16),
            ValueType::U32 => f64::from(bits),
            ValueType::I32 => f64::from(bits as i32),
            ValueType::F32 => f64::from(f32::from_bits(bits)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_and_wide_values_round_trip_in_both_word_orders() {
        let cases = [
            (ValueType::I16, -53.0, [0xFFCB, 0]),
            (ValueType::U16, -53.0, [0, 0]),
            (ValueType::U16, 70000.0, [65535, 0]),
            (ValueType::I16, 40000.0, [0x7FFF, 0]),
            (ValueType::U32, 100_000.0, [0x0001, 0x86A0]),
            (ValueType::I32, -2.0, [0xFFFF, 0xFFFE]),
            // -5.25 as IEEE 754 single: 0xC0A80000.
            (ValueType::F32, -5.25, [0xC0A8, 0x0000]),
        ];
        for (t, v, regs) in cases {
            assert_eq!(t.encode(WordOrder::HighFirst, v), regs, "{t:?} {v}");
            let back = t.decode(WordOrder::HighFirst, regs);
            if t.words() == 2 || t == ValueType::I16 && v == -53.0 {
                assert_eq!(back, v, "{t:?}");
            }
            if t.words() == 2 {
                let swapped = [regs[1], regs[0]];
                assert_eq!(t.encode(WordOrder::LowFirst, v), swapped, "{t:?} low first");
                assert_eq!(t.decode(WordOrder::LowFirst, swapped), v, "{t:?} low first");
            }
        }
        assert_eq!(ValueType::I32.encode(WordOrder::HighFirst, f64::NAN), [0, 0]);
        assert_eq!(
            ValueType::F32.decode(WordOrder::HighFirst, [0x4148, 0x0000]),
            12.5
        );
    }

    /// Integers round halves away from zero and saturate at the type's ends, as
    /// `round().clamp(..)` on the float does, whatever the value.
    #[test]
    fn integers_round_halves_away_from_zero_and_saturate() {
        let mut values = vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e300, -1e300];
        for k in -70_000i64..=70_000 {
            values.extend([k as f64 + 0.5, k as f64 - 0.25, k as f64]);
        }
        values.extend([2.2e9, -2.2e9, 4.3e9, -4.3e9, 2_147_483_647.5, -2_147_483_648.5]);
        for v in values {
            let int = |lo: f64, hi: f64| if v.is_nan() { 0.0 } else { v.round().clamp(lo, hi) };
            let expect = [
                int(0.0, 65535.0) as u16,
                int(-32768.0, 32767.0) as i16 as u16,
                (int(0.0, u32::MAX as f64) as u32 >> 16) as u16,
                (int(i32::MIN as f64, i32::MAX as f64) as i32 as u32) as u16,
            ];
            let got = [
                ValueType::U16.encode(WordOrder::HighFirst, v)[0],
                ValueType::I16.encode(WordOrder::HighFirst, v)[0],
                ValueType::U32.encode(WordOrder::HighFirst, v)[0],
                ValueType::I32.encode(WordOrder::HighFirst, v)[1],
            ];
            assert_eq!(got, expect, "{v}");
        }
    }
}
