//! Modbus deep packet inspection: which function, unit, registers and written values a
//! request carries, read straight from the ADU bytes without allocating, and rules'
//! conditions on them.
//!
//! Conditions are judged fail-closed. An allow rule matches only when every condition
//! holds for the whole request (every register it touches is inside the rule's ranges,
//! every value it writes inside the rule's range); a deny rule fires as soon as any part
//! of the request meets it (one touched register, one written value). A request too
//! malformed to judge a condition never satisfies an allow rule and always satisfies a
//! deny rule: the firewall cannot tell what the PLC would make of it.

use otrange_sim::plc_logic::Area;
use otrange_sim::wire::modbus::{Adu, RequestRepr, Table};

/// What a function code does to the device's data, for `access = ...`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    /// FC 1, 2, 3, 4 (and 20, 24: file record and FIFO reads).
    Read,
    /// FC 5, 6, 15, 16, 22, 23 (and 21: file record write).
    Write,
    /// Everything else: diagnostics (8), identification (43), server id (17), event
    /// counters and logs (11, 12), exception status (7), vendor functions.
    Diagnostic,
}

impl Access {
    pub(crate) fn of(fc: u8) -> Access {
        match fc {
            1..=4 | 20 | 24 => Access::Read,
            5 | 6 | 15 | 16 | 21..=23 => Access::Write,
            _ => Access::Diagnostic,
        }
    }
    pub(crate) fn parse(s: &str) -> Option<Access> {
        match s {
            "read" => Some(Access::Read),
            "write" => Some(Access::Write),
            "diagnostic" => Some(Access::Diagnostic),
            _ => None,
        }
    }
}

/// 256 bits: function codes or unit ids.
pub(crate) type ByteSet = [u64; 4];

#[inline]
pub(crate) fn byte_in(set: &ByteSet, b: u8) -> bool {
    set[usize::from(b >> 6)] >> (b & 63) & 1 == 1
}

pub(crate) fn byte_set(values: impl IntoIterator<Item = u8>) -> ByteSet {
    let mut s = [0; 4];
    for b in values {
        s[usize::from(b >> 6)] |= 1 << (b & 63);
    }
    s
}

fn area_index(a: Area) -> usize {
    match a {
        Area::Coil => 0,
        Area::DiscreteInput => 1,
        Area::InputRegister => 2,
        Area::HoldingRegister => 3,
    }
}

/// One inclusive address range of one table. Addresses are u32 so a request whose
/// quantity runs past 65535 stays representable (and is contained in no rule range).
pub(crate) type Span = (Area, u32, u32);

/// Parses `"hr:0-99"` or `"co:5"`.
pub(crate) fn parse_register_range(s: &str) -> Result<Span, String> {
    let syntax = || {
        format!(
            "invalid register range {s:?}: expected \"<table>:<first>\" or \"<table>:<first>-<last>\" with table co, di, ir or hr and addresses 0..=65535, e.g. \"hr:0-99\""
        )
    };
    let (table, addrs) = s.split_once(':').ok_or_else(syntax)?;
    let area = match table {
        "co" => Area::Coil,
        "di" => Area::DiscreteInput,
        "ir" => Area::InputRegister,
        "hr" => Area::HoldingRegister,
        _ => return Err(syntax()),
    };
    let num = |t: &str| -> Result<u32, String> {
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(syntax());
        }
        t.parse::<u16>().map(u32::from).map_err(|_| syntax())
    };
    let (lo, hi) = match addrs.split_once('-') {
        Some((a, b)) => (num(a)?, num(b)?),
        None => {
            let a = num(addrs)?;
            (a, a)
        }
    };
    if lo > hi {
        return Err(format!(
            "invalid register range {s:?}: the first address {lo} is after the last {hi}"
        ));
    }
    Ok((area, lo, hi))
}

/// Register ranges per table, merged where they touch, so that "inside the union of the
/// rule's ranges" is "inside one range".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct RegisterSet {
    tables: [Vec<(u32, u32)>; 4],
}

impl RegisterSet {
    pub(crate) fn new(spans: impl IntoIterator<Item = Span>) -> Self {
        let mut tables: [Vec<(u32, u32)>; 4] = Default::default();
        for (a, lo, hi) in spans {
            tables[area_index(a)].push((lo, hi));
        }
        for t in &mut tables {
            t.sort_unstable();
            let mut merged: Vec<(u32, u32)> = Vec::with_capacity(t.len());
            for &(lo, hi) in t.iter() {
                match merged.last_mut() {
                    Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
                    _ => merged.push((lo, hi)),
                }
            }
            *t = merged;
        }
        RegisterSet { tables }
    }
    fn contains(&self, (a, lo, hi): Span) -> bool {
        self.tables[area_index(a)]
            .iter()
            .any(|&(l, h)| l <= lo && hi <= h)
    }
    fn overlaps(&self, (a, lo, hi): Span) -> bool {
        self.tables[area_index(a)]
            .iter()
            .any(|&(l, h)| l <= hi && lo <= h)
    }
}

/// Values a request writes, borrowed from its bytes.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Written<'a> {
    Nothing,
    One(u16),
    /// FC 22: the result depends on the current value; every possible result lies here.
    Interval(u16, u16),
    /// Big-endian words (FC 16, 23).
    Words(&'a [u8]),
    /// Packed bits, least significant first, and how many (FC 15).
    Bits(&'a [u8], u16),
}

/// What a request's PDU says beyond its function code.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Body<'a> {
    /// Framing or structure the device would reject: conditions on it cannot be judged.
    Malformed,
    /// A well-formed function that addresses no registers (diagnostics, identification).
    NoData,
    Data {
        spans: [Span; 2],
        n: u8,
        written: Written<'a>,
    },
}

/// A Modbus request as the inspection sees it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Request<'a> {
    pub unit: Option<u8>,
    pub fc: Option<u8>,
    pub body: Body<'a>,
}

/// Reads a request ADU. Never panics: whatever cannot be read is `None`/`Malformed`.
pub(crate) fn parse_request(bytes: &[u8]) -> Request<'_> {
    let raw = Adu::new_unchecked(bytes);
    Request {
        unit: raw.map(|a| a.unit_id()),
        fc: raw.map(|a| a.function()),
        body: body_of(bytes).unwrap_or(Body::Malformed),
    }
}

/// The body of a request that passes the checks a Modbus TCP server makes.
fn body_of(bytes: &[u8]) -> Option<Body<'_>> {
    let adu = Adu::new_checked(bytes).ok()?;
    let span = |a: Area, addr: u16, qty: u16| -> Span {
        let lo = u32::from(addr);
        (a, lo, lo + u32::from(qty.max(1)) - 1)
    };
    let one = |s: Span, w: Written<'static>| Body::Data {
        spans: [s, s],
        n: 1,
        written: w,
    };
    Some(match RequestRepr::parse(&adu).ok()? {
        RequestRepr::Read { table, addr, qty } => {
            let area = match table {
                Table::Coils => Area::Coil,
                Table::DiscreteInputs => Area::DiscreteInput,
                Table::HoldingRegisters => Area::HoldingRegister,
                Table::InputRegisters => Area::InputRegister,
            };
            one(span(area, addr, qty), Written::Nothing)
        }
        RequestRepr::WriteSingleCoil { addr, value } => {
            let v = match value {
                0xFF00 => 1,
                0x0000 => 0,
                other => other,
            };
            one(span(Area::Coil, addr, 1), Written::One(v))
        }
        RequestRepr::WriteSingleRegister { addr, value } => {
            one(span(Area::HoldingRegister, addr, 1), Written::One(value))
        }
        RequestRepr::WriteMultipleCoils { addr, qty, bits } => Body::Data {
            spans: [span(Area::Coil, addr, qty); 2],
            n: 1,
            written: Written::Bits(bits, qty),
        },
        RequestRepr::WriteMultipleRegisters { addr, qty, words } => Body::Data {
            spans: [span(Area::HoldingRegister, addr, qty); 2],
            n: 1,
            written: Written::Words(words),
        },
        RequestRepr::MaskWriteRegister {
            addr,
            and_mask,
            or_mask,
        } => {
            let lo = or_mask & !and_mask;
            one(
                span(Area::HoldingRegister, addr, 1),
                Written::Interval(lo, lo | and_mask),
            )
        }
        RequestRepr::ReadWriteMultipleRegisters {
            read_addr,
            read_qty,
            write_addr,
            write_qty,
            words,
        } => Body::Data {
            spans: [
                span(Area::HoldingRegister, read_addr, read_qty),
                span(Area::HoldingRegister, write_addr, write_qty),
            ],
            n: 2,
            written: Written::Words(words),
        },
        RequestRepr::Other { .. } => Body::NoData,
    })
}

/// A rule's `modbus = { ... }` conditions, all of which must hold.
#[derive(Clone, Debug, Default)]
pub(crate) struct ModbusMatch {
    pub functions: Option<ByteSet>,
    pub units: Option<ByteSet>,
    pub access: Option<Access>,
    pub registers: Option<RegisterSet>,
    pub values: Option<(u16, u16)>,
}

impl ModbusMatch {
    /// Whether the request meets every condition, fail-closed as the module explains:
    /// `deny` selects "any part of it" over "all of it" and decides undecidable conditions.
    pub(crate) fn matches(&self, req: &Request<'_>, deny: bool) -> bool {
        let hold = |c: Option<bool>| c.unwrap_or(deny);
        if let Some(f) = &self.functions
            && !hold(req.fc.map(|fc| byte_in(f, fc)))
        {
            return false;
        }
        if let Some(u) = &self.units
            && !hold(req.unit.map(|x| byte_in(u, x)))
        {
            return false;
        }
        if let Some(a) = self.access
            && !hold(req.fc.map(|fc| Access::of(fc) == a))
        {
            return false;
        }
        if let Some(r) = &self.registers
            && !hold(registers_hold(r, &req.body, deny))
        {
            return false;
        }
        if let Some(v) = self.values
            && !hold(values_hold(v, req, deny))
        {
            return false;
        }
        true
    }
}

fn registers_hold(r: &RegisterSet, body: &Body<'_>, deny: bool) -> Option<bool> {
    match body {
        Body::Malformed => None,
        Body::NoData => Some(false),
        Body::Data { spans, n, .. } => {
            let spans = &spans[..usize::from(*n)];
            Some(if deny {
                spans.iter().any(|s| r.overlaps(*s))
            } else {
                spans.iter().all(|s| r.contains(*s))
            })
        }
    }
}

fn values_hold((lo, hi): (u16, u16), req: &Request<'_>, deny: bool) -> Option<bool> {
    let inside = |v: u16| lo <= v && v <= hi;
    // Allow: every written value inside (vacuous for requests that write nothing).
    // Deny: some written value inside (never, for requests that write nothing).
    fn judge(mut values: impl Iterator<Item = u16>, inside: impl Fn(u16) -> bool, deny: bool) -> bool {
        if deny {
            values.any(inside)
        } else {
            values.all(inside)
        }
    }
    match &req.body {
        Body::Malformed => match req.fc {
            Some(fc) if Access::of(fc) != Access::Write => Some(!deny),
            _ => None,
        },
        Body::NoData => Some(!deny),
        Body::Data { written, .. } => Some(match *written {
            Written::Nothing => !deny,
            Written::One(v) => inside(v),
            Written::Interval(a, b) => {
                if deny {
                    a <= hi && lo <= b
                } else {
                    lo <= a && b <= hi
                }
            }
            Written::Words(bytes) => judge(
                bytes.chunks_exact(2).map(|w| u16::from_be_bytes([w[0], w[1]])),
                inside,
                deny,
            ),
            Written::Bits(bytes, qty) => judge(
                (0..usize::from(qty)).map(|i| bytes.get(i / 8).map_or(0, |b| u16::from(b >> (i % 8) & 1))),
                inside,
                deny,
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use otrange_sim::wire::modbus as mb;

    fn rs(specs: &[&str]) -> RegisterSet {
        RegisterSet::new(specs.iter().map(|s| parse_register_range(s).unwrap()))
    }

    #[test]
    fn register_ranges_parse_and_merge() {
        assert_eq!(
            parse_register_range("hr:0-99").unwrap(),
            (Area::HoldingRegister, 0, 99)
        );
        assert_eq!(parse_register_range("co:5").unwrap(), (Area::Coil, 5, 5));
        assert!(
            parse_register_range("hr:9-1")
                .unwrap_err()
                .contains("after the last")
        );
        assert!(parse_register_range("xx:1").is_err());
        assert!(parse_register_range("hr:70000").is_err());
        assert!(parse_register_range("hr:-1").is_err());
        assert!(parse_register_range("hr").is_err());
        let r = rs(&["hr:0-9", "hr:10-11", "hr:20"]);
        assert!(r.contains((Area::HoldingRegister, 0, 11)));
        assert!(!r.contains((Area::HoldingRegister, 0, 12)));
        assert!(r.overlaps((Area::HoldingRegister, 12, 25)));
        assert!(!r.contains((Area::InputRegister, 0, 0)));
    }

    #[test]
    fn requests_parse_to_spans_and_written_values() {
        let adu = mb::read_holding_registers(1, 1, 0, 12);
        let r = parse_request(&adu);
        assert_eq!((r.unit, r.fc), (Some(1), Some(3)));
        assert!(matches!(
            r.body,
            Body::Data {
                spans: [(Area::HoldingRegister, 0, 11), _],
                n: 1,
                ..
            }
        ));
        let adu = mb::write_multiple_registers(1, 1, 10, &[1, 2, 3]);
        assert!(matches!(
            parse_request(&adu).body,
            Body::Data {
                spans: [(Area::HoldingRegister, 10, 12), _],
                ..
            }
        ));
        let adu = mb::read_write_multiple_registers(1, 1, 0, 4, 100, &[7]);
        assert!(matches!(
            parse_request(&adu).body,
            Body::Data {
                n: 2,
                spans: [_, (Area::HoldingRegister, 100, 100)],
                ..
            }
        ));
        let adu = mb::diagnostics(1, 1, 0, &[0x12, 0x34]);
        assert!(matches!(parse_request(&adu).body, Body::NoData));
        // Truncated and inconsistent frames.
        assert!(matches!(parse_request(&[0, 1, 0, 0]).body, Body::Malformed));
        assert_eq!(parse_request(&[0, 1, 0, 0]).fc, None);
        let mut bad = mb::write_multiple_registers(1, 1, 10, &[1, 2, 3]);
        bad[12] = 5; // byte count disagrees with the quantity
        assert!(matches!(parse_request(&bad).body, Body::Malformed));
    }

    #[test]
    fn allow_needs_all_of_the_request_deny_any_of_it() {
        let m = ModbusMatch {
            registers: Some(rs(&["hr:0"])),
            values: Some((0, 150)),
            ..Default::default()
        };
        let ok = mb::write_single_register(1, 1, 0, 120);
        let high = mb::write_single_register(1, 1, 0, 11_100);
        let multi = mb::write_multiple_registers(1, 1, 0, &[100, 200]);
        assert!(m.matches(&parse_request(&ok), false));
        assert!(!m.matches(&parse_request(&high), false));
        assert!(!m.matches(&parse_request(&multi), false));
        assert!(m.matches(&parse_request(&multi), true));
        // Reads write nothing: an allow rule's value range does not stop them.
        assert!(m.matches(&parse_request(&mb::read_holding_registers(1, 1, 0, 1)), false));
        // A malformed write is never allowed by a DPI rule, always caught by one.
        let mut bad = ok.clone();
        bad.truncate(10);
        bad[5] = 4;
        assert!(!m.matches(&parse_request(&bad), false));
        assert!(m.matches(&parse_request(&bad), true));
    }

    #[test]
    fn coil_and_mask_writes_are_judged_by_what_they_can_write() {
        let m = ModbusMatch {
            values: Some((0, 1)),
            ..Default::default()
        };
        assert!(m.matches(&parse_request(&mb::write_single_coil(1, 1, 5, true)), false));
        assert!(m.matches(
            &parse_request(&mb::write_multiple_coils(1, 1, 5, &[true, false, true])),
            false
        ));
        let m = ModbusMatch {
            values: Some((0, 150)),
            ..Default::default()
        };
        // AND 0x00FF keeps the low byte of an unknown value: results up to 0xFF.
        let mask = mb::mask_write_register(1, 1, 0, 0x00FF, 0);
        assert!(!m.matches(&parse_request(&mask), false));
        assert!(m.matches(&parse_request(&mask), true));
        let set = mb::mask_write_register(1, 1, 0, 0, 100);
        assert!(m.matches(&parse_request(&set), false));
    }

    #[test]
    fn functions_units_and_access() {
        let m = ModbusMatch {
            functions: Some(byte_set([8, 43])),
            ..Default::default()
        };
        assert!(m.matches(&parse_request(&mb::diagnostics(1, 1, 0, &[0, 0])), false));
        assert!(m.matches(&parse_request(&mb::read_device_identification(1, 1, 1, 0)), false));
        assert!(!m.matches(&parse_request(&mb::read_coils(1, 1, 0, 1)), false));
        let m = ModbusMatch {
            units: Some(byte_set([1])),
            access: Some(Access::Read),
            ..Default::default()
        };
        assert!(m.matches(&parse_request(&mb::read_coils(1, 1, 0, 1)), false));
        assert!(!m.matches(&parse_request(&mb::read_coils(1, 2, 0, 1)), false));
        assert!(!m.matches(&parse_request(&mb::write_single_coil(1, 1, 0, true)), false));
        assert_eq!(Access::of(23), Access::Write);
        assert_eq!(Access::of(17), Access::Diagnostic);
    }
}
