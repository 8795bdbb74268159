//! A compiled rule: everything the text said, in the form a frame is checked against.

use super::address::RangeSet;
use super::modbus::{Event, ModbusKw};
use super::num::NumCmp;
use super::payload::{ByteTest, Content};
use super::threshold::Threshold;

/// A rule's action, the header's first word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    /// Evaluated first, as in Suricata's default action order: a frame a pass rule matches
    /// raises nothing.
    Pass,
    /// An alert that an inline (prevent-mode) detector also turns into a drop.
    Drop,
    /// An alert only, in either mode.
    Alert,
}

/// The header's protocol: which frames a rule can match at all.
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
    /// `to_server` or `from_client`: frames to the service's port.
    ToServer,
    /// `to_client` or `from_server`: frames from the service's port.
    ToClient,
}

/// One byte-level or Modbus check, in rule order.
#[derive(Debug, Clone)]
pub enum Check {
    /// `dsize`: the payload's length (a flow's size for a frame without bytes).
    Dsize(NumCmp),
    /// `content`, with its `offset`, `depth` and `nocase`.
    Content(Content),
    /// `byte_test`.
    ByteTest(ByteTest),
    /// `modbus`: requests that are one valid ADU only.
    Modbus(ModbusKw),
    /// `app-layer-event`: a fault of the MBAP header.
    Event(Event),
}

/// One rule of a rules file, compiled.
#[derive(Debug, Clone)]
pub struct Rule {
    /// The line the rule starts on in its file.
    pub line: usize,
    /// `alert`, `drop` or `pass`.
    pub action: Action,
    /// `modbus`, `tcp` or `ip`.
    pub proto: Proto,
    /// Source addresses, IPv4 as u32.
    pub src: RangeSet,
    /// Source ports.
    pub src_ports: RangeSet,
    /// Destination addresses, IPv4 as u32.
    pub dst: RangeSet,
    /// Destination ports.
    pub dst_ports: RangeSet,
    /// `<>`: either way round.
    pub both_ways: bool,
    /// The signature id: positive and unique within the file; alerts carry it.
    pub sid: u64,
    /// `rev` (default 1); parsed, not used in alerts.
    pub rev: u32,
    /// `msg`, the alert's signature text (empty if the rule has none).
    pub msg: String,
    /// `classtype`; parsed, not used in alerts.
    pub classtype: Option<String>,
    /// `reference` values, in the rule's order; parsed, not used in alerts.
    pub references: Vec<String>,
    /// `metadata` pairs, in the rule's order.
    pub metadata: Vec<(String, String)>,
    /// 1 high .. 3 low.
    pub severity: u8,
    /// `flow` direction; None matches both (`established` and `stateless` set none).
    pub flow: Option<FlowDir>,
    /// Byte-level and Modbus checks, all of which must hold.
    pub checks: Vec<Check>,
    /// `threshold` or `detection_filter`, at most one.
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
