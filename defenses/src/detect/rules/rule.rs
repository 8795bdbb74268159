//! A compiled rule: everything the text said, in the form a frame is checked against.

use super::address::RangeSet;
use super::modbus::{Event, ModbusKw};
use super::num::NumCmp;
use super::payload::{ByteTest, Content};
use super::threshold::Threshold;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    /// Evaluated first, as in Suricata's default action order: a frame a pass rule matches
    /// raises nothing.
    Pass,
    /// An alert that an inline (prevent-mode) detector also turns into a drop.
    Drop,
    Alert,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    /// Modbus frames only.
    Modbus,
    /// Any TCP service, Modbus included.
    Tcp,
    /// Everything.
    Ip,
}

/// `flow:` direction relative to the server (the service's port).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowDir {
    ToServer,
    ToClient,
}

/// One byte-level or Modbus check, in rule order.
#[derive(Debug, Clone)]
pub enum Check {
    Dsize(NumCmp),
    Content(Content),
    ByteTest(ByteTest),
    Modbus(ModbusKw),
    Event(Event),
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub line: usize,
    pub action: Action,
    pub proto: Proto,
    pub src: RangeSet,
    pub src_ports: RangeSet,
    pub dst: RangeSet,
    pub dst_ports: RangeSet,
    /// `<>`: either way round.
    pub both_ways: bool,
    pub sid: u64,
    pub rev: u32,
    pub msg: String,
    pub classtype: Option<String>,
    pub references: Vec<String>,
    /// `metadata` pairs, in the rule's order.
    pub metadata: Vec<(String, String)>,
    /// 1 high .. 3 low.
    pub severity: u8,
    pub flow: Option<FlowDir>,
    pub checks: Vec<Check>,
    pub threshold: Option<Threshold>,
}

impl Rule {
    /// The first value of a metadata key.
    pub fn meta(&self, key: &str) -> Option<&str> {
        self.metadata
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the rule can only match requests, and only Modbus frames.
    pub fn needs_modbus_request(&self) -> bool {
        self.checks.iter().any(|c| matches!(c, Check::Modbus(_)))
    }

    /// Whether the rule looks at bytes (which a summarised non-Modbus flow does not carry).
    pub fn needs_bytes(&self) -> bool {
        self.checks.iter().any(|c| {
            matches!(
                c,
                Check::Content(_) | Check::ByteTest(_) | Check::Modbus(_) | Check::Event(_)
            )
        })
    }

    /// Request function codes (byte 7) the rule can match, as a 256-bit set.
    pub fn function_codes(&self) -> [u64; 4] {
        let mut set = [u64::MAX; 4];
        let mut and = |other: [u64; 4]| {
            for (s, o) in set.iter_mut().zip(other) {
                *s &= o;
            }
        };
        for c in &self.checks {
            match c {
                Check::Modbus(m) => and(m.function_codes()),
                Check::Content(ct) => {
                    if let Some(b) = ct.pinned_byte(7) {
                        let mut one = [0u64; 4];
                        one[usize::from(b >> 6)] |= 1 << (b & 63);
                        if ct.nocase {
                            let o = b.to_ascii_uppercase();
                            one[usize::from(o >> 6)] |= 1 << (o & 63);
                        }
                        and(one);
                    }
                }
                Check::ByteTest(bt) if bt.offset == 7 && bt.bytes == 1 => {
                    let mut s = [0u64; 4];
                    for b in 0..=255u8 {
                        if bt.holds(u64::from(b)) {
                            s[usize::from(b >> 6)] |= 1 << (b & 63);
                        }
                    }
                    and(s);
                }
                _ => {}
            }
        }
        set
    }

    /// Addresses and ports, either way round for `<>`.
    #[inline]
    pub fn endpoints_match(&self, src: u32, sp: u16, dst: u32, dp: u16) -> bool {
        let fwd = |s: u32, sp: u16, d: u32, dp: u16| {
            self.src.contains(s)
                && self.dst.contains(d)
                && self.src_ports.contains(u32::from(sp))
                && self.dst_ports.contains(u32::from(dp))
        };
        fwd(src, sp, dst, dp) || (self.both_ways && fwd(dst, dp, src, sp))
    }

    /// The byte and Modbus checks on a frame's payload (`len`: its size in bytes).
    #[inline]
    pub fn checks_match(&self, bytes: &[u8], len: u64) -> bool {
        self.checks.iter().all(|c| match c {
            Check::Dsize(n) => n.test(len),
            Check::Content(ct) => ct.matches(bytes),
            Check::ByteTest(bt) => bt.matches(bytes),
            Check::Modbus(m) => m.matches(bytes),
            Check::Event(e) => e.matches(bytes),
        })
    }
}
