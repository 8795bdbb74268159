//! The `modbus` keyword and the Modbus `app-layer-event`s, after Suricata's modbus-keyword
//! documentation and its Modbus parser.
//!
//! Like Suricata, `modbus:` only looks at requests and only at bytes that form one valid
//! Modbus TCP ADU (protocol id 0, a length field that agrees with the bytes and is within
//! 2..=254): a malformed frame is the job of `app-layer-event`, `dsize` and `content`.
//!
//! Function-code categories follow the Modbus Application Protocol Specification V1.1b3
//! (section 5 and annex A), which Suricata's categories encode: *public* codes are 1..=64,
//! 73..=99 and 111..=127, split into *assigned* (defined by the specification) and
//! *unassigned*; *user* codes are 65..=72 and 100..=110; *reserved* codes, used by vendors'
//! legacy products, are 9, 10, 13, 14, 41, 42, 90, 91 and 125..=127, plus diagnostics (8)
//! sub-functions 5..=9, 19 and above 20, and encapsulated interface (43) MEI types other
//! than 13 and 14. Code 0 and exception codes (128 and up) are in no category, so no
//! category setting, negated or not, matches them (as in Suricata).
//!
//! Addresses are the 0-based addresses on the wire (the PDU's starting address), and an
//! `address` setting matches when the span a request touches meets it, as Suricata checks
//! the start and quantity of a request against the setting.

use super::num::NumCmp;
use otrange_sim::wire::modbus::{Adu, HeaderFaults, be_u16 as be16};

/// Category bit: a public code the specification defines (`function assigned`).
pub const CAT_ASSIGNED: u8 = 1;
/// Category bit: a public code the specification leaves undefined (`function unassigned`).
pub const CAT_UNASSIGNED: u8 = 2;
/// Category bit: a user-defined code, 65..=72 or 100..=110 (`function user`).
pub const CAT_USER: u8 = 4;
/// Category bit: a code reserved for vendors' legacy products (`function reserved`).
pub const CAT_RESERVED: u8 = 8;
const CAT_ALL: u8 = 0x0F;

/// The function codes the specification defines.
const ASSIGNED: [u8; 19] = [1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 15, 16, 17, 20, 21, 22, 23, 24, 43];

/// FC 8's sub-function, or FC 43's MEI type (an otrange reading of `subfunction`, so
/// `function 43, subfunction 14` names Read Device Identification).
fn subfunction(adu: &Adu<'_>) -> Option<u16> {
    match adu.function() {
        8 => adu.data_u16(0),
        43 => adu.data_u8(0).map(u16::from),
        _ => None,
    }
}

/// The category bit of a request's function code; `sub` is FC 8's sub-function or FC 43's
/// MEI type, which decide those two codes. 0 for code 0 and exception codes.
pub fn category(fc: u8, sub: Option<u16>) -> u8 {
    match fc {
        0 | 128..=255 => 0,
        8 => match sub {
            Some(5..=9) | Some(19) | Some(21..) => CAT_RESERVED,
            _ => CAT_ASSIGNED,
        },
        43 => match sub {
            Some(13 | 14) | None => CAT_ASSIGNED,
            Some(_) => CAT_RESERVED,
        },
        9 | 10 | 13 | 14 | 41 | 42 | 90 | 91 | 125..=127 => CAT_RESERVED,
        65..=72 | 100..=110 => CAT_USER,
        f if ASSIGNED.contains(&f) => CAT_ASSIGNED,
        _ => CAT_UNASSIGNED,
    }
}

/// The four primary tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// `discretes`: discrete inputs, read-only bits (FC 2).
    Discretes,
    /// `coils`: read-write bits (FC 1, 5, 15).
    Coils,
    /// `input`: input registers, read-only (FC 4).
    Input,
    /// `holding`: holding registers, read-write (FC 3, 6, 16, 22, 23).
    Holding,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum What {
    Any,
    Function {
        code: u8,
        sub: Option<u16>,
    },
    Category(u8),
    Access {
        write: bool,
        table: Option<Table>,
        address: Option<NumCmp>,
        value: Option<NumCmp>,
    },
}

/// A compiled `modbus:` keyword.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModbusKw {
    unit: Option<NumCmp>,
    what: What,
}

const SETTINGS: &str = "expected function, access or unit";

/// A setting's name: its first word.
fn word(s: &str) -> String {
    s.split_whitespace().next().unwrap_or("").to_string()
}

/// A setting's argument: what follows its name.
fn rest(s: &str) -> &str {
    s.trim_start()
        .split_once(char::is_whitespace)
        .map_or("", |r| r.1)
        .trim()
}

impl ModbusKw {
    /// Parses the value of `modbus:`: an optional `unit N` first (alone, it matches any
    /// request to such a unit), then one of `function <code>[, subfunction N]`,
    /// `function [!]<category>` or `access read|write [table][, address N][, value N]`
    /// (value for writes only); unit, address and value take [`NumCmp`]'s forms.
    pub fn parse(value: &str) -> Result<ModbusKw, String> {
        let parts: Vec<&str> = value.split(',').map(str::trim).collect();
        let mut i = 0;
        let mut unit = None;
        if word(parts[0]) == "unit" {
            let u = NumCmp::parse(rest(parts[0]), 255).map_err(|e| format!("unit: {e}"))?;
            unit = Some(u);
            i = 1;
            if parts.len() == 1 {
                return Ok(ModbusKw {
                    unit,
                    what: What::Any,
                });
            }
        }
        let head = parts[i];
        let what = match word(head).as_str() {
            "function" => {
                let arg = rest(head);
                if arg.is_empty() {
                    return Err("function needs a code or a category".into());
                }
                let (neg, name) = match arg.strip_prefix('!') {
                    Some(r) => (true, r.trim()),
                    None => (false, arg),
                };
                let cat = match name {
                    "assigned" => Some(CAT_ASSIGNED),
                    "unassigned" => Some(CAT_UNASSIGNED),
                    "public" => Some(CAT_ASSIGNED | CAT_UNASSIGNED),
                    "user" => Some(CAT_USER),
                    "reserved" => Some(CAT_RESERVED),
                    "all" => Some(CAT_ALL),
                    _ => None,
                };
                if let Some(c) = cat {
                    if parts.len() > i + 1 {
                        return Err(format!("unexpected {:?} after a function category", parts[i + 1]));
                    }
                    What::Category(if neg { !c & CAT_ALL } else { c })
                } else {
                    if neg {
                        return Err(format!(
                            "'!' applies to categories only (assigned, unassigned, public, user, reserved, all), not {name:?}"
                        ));
                    }
                    let code: u8 = name.parse().map_err(|_| {
                        format!(
                            "function {name:?}: expected a code 0..=255 or assigned, unassigned, public, user, reserved, all"
                        )
                    })?;
                    let mut sub = None;
                    if let Some(s) = parts.get(i + 1) {
                        if word(s) != "subfunction" {
                            return Err(format!(
                                "unknown setting {:?} after function: expected subfunction",
                                word(s)
                            ));
                        }
                        let v: u16 = rest(s)
                            .parse()
                            .map_err(|_| format!("subfunction {:?} is not a number 0..=65535", rest(s)))?;
                        sub = Some(v);
                        if let Some(extra) = parts.get(i + 2) {
                            return Err(format!("unexpected {extra:?} after subfunction"));
                        }
                    }
                    What::Function { code, sub }
                }
            }
            "access" => {
                let mut words = rest(head).split_whitespace();
                let write = match words.next() {
                    Some("read") => false,
                    Some("write") => true,
                    other => {
                        return Err(format!(
                            "access {:?}: expected read or write",
                            other.unwrap_or("")
                        ));
                    }
                };
                let table = match words.next() {
                    None => None,
                    Some("discretes") => Some(Table::Discretes),
                    Some("coils") => Some(Table::Coils),
                    Some("input") => Some(Table::Input),
                    Some("holding") => Some(Table::Holding),
                    Some(t) => {
                        return Err(format!(
                            "table {t:?}: expected discretes, coils, input or holding"
                        ));
                    }
                };
                if let Some(extra) = words.next() {
                    return Err(format!("unexpected {extra:?} in access"));
                }
                if write && matches!(table, Some(Table::Discretes | Table::Input)) {
                    return Err("discrete inputs and input registers are read-only: no write access".into());
                }
                let (mut address, mut value) = (None, None);
                for s in &parts[i + 1..] {
                    match word(s).as_str() {
                        "address" if address.is_none() => {
                            address =
                                Some(NumCmp::parse(rest(s), 65535).map_err(|e| format!("address: {e}"))?);
                        }
                        "value" if value.is_none() => {
                            if !write {
                                return Err("value applies to write access only".into());
                            }
                            value = Some(NumCmp::parse(rest(s), 65535).map_err(|e| format!("value: {e}"))?);
                        }
                        other => {
                            return Err(format!(
                                "unknown setting {other:?} in access: expected address or value"
                            ));
                        }
                    }
                }
                What::Access {
                    write,
                    table,
                    address,
                    value,
                }
            }
            "unit" => return Err("unit must come first, and only once".into()),
            other => return Err(format!("unknown setting {other:?}: {SETTINGS}")),
        };
        Ok(ModbusKw { unit, what })
    }

    /// The request function codes this keyword can match, as a 256-bit set.
    pub fn function_codes(&self) -> [u64; 4] {
        let mut set = [0u64; 4];
        for fc in 0..=255u8 {
            let possible = match &self.what {
                What::Any => true,
                What::Function { code, .. } => fc == *code,
                What::Category(mask) => match fc {
                    // The sub-function decides; keep both codes as candidates.
                    8 | 43 => mask & (CAT_ASSIGNED | CAT_RESERVED) != 0,
                    _ => category(fc, None) & mask != 0,
                },
                What::Access { write, table, .. } => {
                    access_of(fc, *write).is_some_and(|t| table.is_none_or(|x| x == t))
                }
            };
            if possible {
                set[usize::from(fc >> 6)] |= 1 << (fc & 63);
            }
        }
        set
    }

    /// Matches a request's bytes.
    pub fn matches(&self, bytes: &[u8]) -> bool {
        let Ok(adu) = Adu::new_checked(bytes) else {
            return false;
        };
        let fc = adu.function();
        if let Some(u) = self.unit
            && !u.test(u64::from(adu.unit_id()))
        {
            return false;
        }
        match &self.what {
            What::Any => true,
            What::Function { code, sub } => fc == *code && sub.is_none_or(|s| subfunction(&adu) == Some(s)),
            What::Category(mask) => category(fc, subfunction(&adu)) & mask != 0,
            What::Access {
                write,
                table,
                address,
                value,
            } => {
                let Some(t) = access_of(fc, *write) else {
                    return false;
                };
                if table.is_some_and(|x| x != t) {
                    return false;
                }
                let Some((start, qty)) = span(&adu, *write) else {
                    // Too short to say where: only a bare access setting matches.
                    return address.is_none() && value.is_none();
                };
                let (lo, hi) = (u64::from(start), u64::from(start) + u64::from(qty.max(1)) - 1);
                if let Some(a) = address
                    && !a.overlaps(lo, hi)
                {
                    return false;
                }
                match value {
                    None => true,
                    Some(v) => written_values_match(&adu, *v, *address, start),
                }
            }
        }
    }
}

/// The table a function code reads (write = false) or writes.
fn access_of(fc: u8, write: bool) -> Option<Table> {
    match (fc, write) {
        (1, false) | (5 | 15, true) => Some(Table::Coils),
        (2, false) => Some(Table::Discretes),
        (3 | 23, false) | (6 | 16 | 22 | 23, true) => Some(Table::Holding),
        (4, false) => Some(Table::Input),
        _ => None,
    }
}

/// The (start, quantity) a request reads or writes.
fn span(adu: &Adu<'_>, write: bool) -> Option<(u16, u16)> {
    let d = adu.data();
    match (adu.function(), write) {
        (5 | 6 | 22, true) => Some((be16(d, 0)?, 1)),
        (23, true) => Some((be16(d, 4)?, be16(d, 6)?)),
        _ => Some((be16(d, 0)?, be16(d, 2)?)),
    }
}

/// Whether a written value passes `v`: the value written at the `address` setting when it
/// names one address, else any value the request writes.
fn written_values_match(adu: &Adu<'_>, v: NumCmp, address: Option<NumCmp>, start: u16) -> bool {
    let d = adu.data();
    let fc = adu.function();
    let at = match address {
        Some(NumCmp::Eq(a)) => Some(a.saturating_sub(u64::from(start)) as usize),
        _ => None,
    };
    let test = |x: u16| v.test(u64::from(x));
    match fc {
        5 | 6 => be16(d, 2).is_some_and(test),
        16 | 23 => {
            let first = if fc == 16 { 5 } else { 9 };
            let count = if fc == 16 { be16(d, 2) } else { be16(d, 6) };
            let Some(count) = count else { return false };
            let regs = (0..usize::from(count)).map_while(|i| be16(d, first + 2 * i));
            match at {
                Some(i) => regs.clone().nth(i).is_some_and(test),
                None => regs.clone().any(test),
            }
        }
        15 => {
            let Some(count) = be16(d, 2) else { return false };
            let bit = |i: usize| d.get(5 + i / 8).map(|b| u16::from((b >> (i % 8)) & 1));
            match at {
                Some(i) if i < usize::from(count) => bit(i).is_some_and(test),
                Some(_) => false,
                None => (0..usize::from(count)).map_while(bit).any(test),
            }
        }
        _ => false,
    }
}

/// The Modbus decoder events a rule can name with `app-layer-event`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// MBAP protocol identifier other than 0: not Modbus at all.
    InvalidProtocolId,
    /// MBAP length field that disagrees with the bytes present, or outside 2..=254.
    InvalidLength,
}

impl Event {
    /// Parses the value of `app-layer-event:`: `modbus.invalid_protocol_id` or
    /// `modbus.invalid_length`.
    pub fn parse(value: &str) -> Result<Event, String> {
        match value.trim() {
            "modbus.invalid_protocol_id" => Ok(Event::InvalidProtocolId),
            "modbus.invalid_length" => Ok(Event::InvalidLength),
            other if other.starts_with("modbus.") => Err(format!(
                "event {other:?} is not supported: modbus.invalid_protocol_id or modbus.invalid_length"
            )),
            other => Err(format!(
                "unknown event {other:?}: expected modbus.invalid_protocol_id or modbus.invalid_length"
            )),
        }
    }

    /// Whether the frame's bytes have this header fault (never for fewer than the MBAP
    /// header's 7 bytes).
    #[inline]
    pub fn matches(self, b: &[u8]) -> bool {
        HeaderFaults::of(b).is_some_and(|f| match self {
            Event::InvalidProtocolId => f.protocol_id,
            Event::InvalidLength => f.length,
        })
    }
}
