//! Address and port sets, and the variables that name them.
//!
//! Every address expression of a rule header (`any`, `10.0.0.3`, `10.0.0.0/24`, `$VAR`,
//! `[a, [b, c], !d]`, `!x`) is compiled once, at load time, into a sorted list of disjoint
//! inclusive ranges, so that a frame's address is checked by a binary search and never by
//! walking the expression again. Ports get the same treatment.

use otrange_sim::net::topology::{Role, Topology};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// A set of integers as sorted, disjoint, non-adjacent inclusive ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeSet {
    ranges: Vec<(u32, u32)>,
}

impl RangeSet {
    /// The set with no member.
    pub fn empty() -> Self {
        RangeSet { ranges: Vec::new() }
    }

    /// Every value in 0..=max: `any`.
    pub fn full(max: u32) -> Self {
        RangeSet {
            ranges: vec![(0, max)],
        }
    }

    /// One range, `lo..=hi` (bounds in either order).
    pub fn single(lo: u32, hi: u32) -> Self {
        RangeSet {
            ranges: vec![(lo.min(hi), lo.max(hi))],
        }
    }

    /// Sorts and merges arbitrary ranges.
    fn normalise(mut v: Vec<(u32, u32)>) -> Self {
        v.sort_unstable();
        let mut out: Vec<(u32, u32)> = Vec::with_capacity(v.len());
        for (lo, hi) in v {
            match out.last_mut() {
                Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
                _ => out.push((lo, hi)),
            }
        }
        RangeSet { ranges: out }
    }

    /// Members of either set.
    pub fn union(&self, other: &RangeSet) -> RangeSet {
        let mut v = self.ranges.clone();
        v.extend_from_slice(&other.ranges);
        RangeSet::normalise(v)
    }

    /// Everything in 0..=max that is not in the set.
    pub fn complement(&self, max: u32) -> RangeSet {
        let mut out = Vec::new();
        let mut next: Option<u32> = Some(0);
        for &(lo, hi) in &self.ranges {
            if let Some(n) = next
                && lo > n
            {
                out.push((n, lo - 1));
            }
            next = hi.checked_add(1);
        }
        if let Some(n) = next
            && n <= max
        {
            out.push((n, max));
        }
        RangeSet { ranges: out }
    }

    /// Members of this set not in `other`, for sets within 0..=max.
    pub fn minus(&self, other: &RangeSet, max: u32) -> RangeSet {
        self.intersect(&other.complement(max))
    }

    /// Members of both sets.
    pub fn intersect(&self, other: &RangeSet) -> RangeSet {
        let mut out = Vec::new();
        let (mut i, mut j) = (0, 0);
        while i < self.ranges.len() && j < other.ranges.len() {
            let (a, b) = self.ranges[i];
            let (c, d) = other.ranges[j];
            let lo = a.max(c);
            let hi = b.min(d);
            if lo <= hi {
                out.push((lo, hi));
            }
            if b < d {
                i += 1;
            } else {
                j += 1;
            }
        }
        RangeSet { ranges: out }
    }

    /// Whether the set is exactly 0..=max.
    pub fn is_full(&self, max: u32) -> bool {
        self.ranges == [(0, max)]
    }

    /// Whether the set has no member (a rule with such an address never matches).
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Whether `x` is a member; asked for every frame a rule meets.
    #[inline]
    pub fn contains(&self, x: u32) -> bool {
        // Most sets are one or two ranges: a linear scan beats the binary search there.
        if self.ranges.len() <= 4 {
            return self.ranges.iter().any(|&(lo, hi)| lo <= x && x <= hi);
        }
        let i = self.ranges.partition_point(|&(_, hi)| hi < x);
        self.ranges.get(i).is_some_and(|&(lo, _)| lo <= x)
    }
}

/// The largest IPv4 address as a number: address sets lie within 0..=IP_MAX.
pub const IP_MAX: u32 = u32::MAX;
/// The largest port: port sets lie within 0..=PORT_MAX.
pub const PORT_MAX: u32 = u16::MAX as u32;

/// What went wrong in an address or port expression: the offending token and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddrError {
    /// The token or `$VARIABLE` at fault.
    pub keyword: String,
    /// Why, for people.
    pub message: String,
}

fn err(keyword: impl Into<String>, message: impl Into<String>) -> AddrError {
    AddrError {
        keyword: keyword.into(),
        message: message.into(),
    }
}

/// Which kind of set an expression denotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// IPv4 addresses, within 0..=[`IP_MAX`].
    Address,
    /// TCP or UDP ports, within 0..=[`PORT_MAX`].
    Port,
}

impl Kind {
    fn max(self) -> u32 {
        match self {
            Kind::Address => IP_MAX,
            Kind::Port => PORT_MAX,
        }
    }
}

/// The rule variables: the detector's `vars`, then the built-in defaults derived from the
/// plant's roles, so the shipped rules work on the reference plant without configuration.
pub struct Vars<'a> {
    given: &'a BTreeMap<String, String>,
    topo: &'a Topology,
}

/// Variables with a built-in value when `vars` does not set them.
pub const BUILT_IN: [&str; 7] = [
    "HOME_NET",
    "EXTERNAL_NET",
    "MODBUS_SERVER",
    "PLCS",
    "MODBUS_CLIENT",
    "HMI",
    "ENGINEERING",
];

impl<'a> Vars<'a> {
    /// The variables `given` (the detector's `vars`), with built-ins taken from the roles
    /// of `topo`'s hosts.
    pub fn new(given: &'a BTreeMap<String, String>, topo: &'a Topology) -> Self {
        Vars { given, topo }
    }

    /// The addresses of the hosts with one of these roles, or `any` when the plant has none
    /// (a capture without declared roles). `!$MODBUS_CLIENT` is then the empty set and its
    /// rule never fires: set the variable for such a capture. Suricata refuses `!any`;
    /// here it is allowed because a default can produce it.
    fn by_role(&self, roles: &[Role]) -> RangeSet {
        let v: Vec<(u32, u32)> = self
            .topo
            .hosts
            .iter()
            .filter(|h| roles.contains(&h.role))
            .map(|h| {
                let a = u32::from(h.address);
                (a, a)
            })
            .collect();
        if v.is_empty() {
            RangeSet::full(IP_MAX)
        } else {
            RangeSet::normalise(v)
        }
    }

    /// Resolves `$name` as `kind`; `stack` holds the variables being expanded (cycles).
    fn resolve(&self, name: &str, kind: Kind, stack: &mut Vec<String>) -> Result<RangeSet, AddrError> {
        let key = format!("${name}");
        if stack.iter().any(|s| s == name) {
            return Err(err(
                key,
                format!("variable refers to itself (through {})", stack.join(" -> ")),
            ));
        }
        if let Some(value) = self.given.get(name) {
            stack.push(name.to_string());
            let r = parse_expr(value, kind, Some(self), true, stack).map_err(|e| {
                err(
                    key.clone(),
                    format!("in the value {value:?} of {key}: {:?}: {}", e.keyword, e.message),
                )
            });
            stack.pop();
            return r;
        }
        if kind == Kind::Port {
            return Err(err(key, "undefined variable: set it in the detector's vars"));
        }
        Ok(match name {
            "HOME_NET" => RangeSet::full(IP_MAX),
            "EXTERNAL_NET" => {
                stack.push(name.to_string());
                let home = self.resolve("HOME_NET", kind, stack);
                stack.pop();
                let home = home?;
                if home.is_full(IP_MAX) {
                    home
                } else {
                    home.complement(IP_MAX)
                }
            }
            "MODBUS_SERVER" | "PLCS" => self.by_role(&[Role::Plc]),
            "MODBUS_CLIENT" => self.by_role(&[Role::Hmi, Role::Historian, Role::EngineeringWorkstation]),
            "HMI" => self.by_role(&[Role::Hmi]),
            "ENGINEERING" => self.by_role(&[Role::EngineeringWorkstation]),
            _ => return Err(err(key, "undefined variable: set it in the detector's vars")),
        })
    }

    /// Checks every given variable, so a typo in `vars` is reported even when no rule uses it.
    pub fn check_given(&self) -> Result<(), AddrError> {
        for (name, value) in self.given {
            let mut stack = Vec::new();
            let as_addr = self.resolve(name, Kind::Address, &mut stack);
            if let Err(e) = as_addr {
                // A port variable (e.g. `MODBUS_PORTS = "[502, 5020]"`) is fine too.
                if parse_expr(value, Kind::Port, Some(self), true, &mut vec![name.clone()]).is_err() {
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    fn host(&self, name: &str) -> Option<u32> {
        self.topo
            .host_by_name(name)
            .and_then(|id| self.topo.hosts.get(id.0 as usize))
            .map(|h| u32::from(h.address))
    }
}

/// Compiles an address (or port) expression of a rule header.
pub fn compile(text: &str, kind: Kind, vars: &Vars) -> Result<RangeSet, AddrError> {
    parse_expr(text, kind, Some(vars), false, &mut Vec::new())
}

/// A recursive-descent parser over one expression. `names` allows plant host names (in
/// variable values only: in a rule, a bare word is more likely a typo of a keyword).
struct Parser<'t, 'v> {
    text: &'t str,
    pos: usize,
    kind: Kind,
    vars: Option<&'v Vars<'v>>,
    names: bool,
}

fn parse_expr(
    text: &str,
    kind: Kind,
    vars: Option<&Vars>,
    names: bool,
    stack: &mut Vec<String>,
) -> Result<RangeSet, AddrError> {
    let mut p = Parser {
        text,
        pos: 0,
        kind,
        vars,
        names,
    };
    let set = p.item(stack)?;
    p.skip_ws();
    if p.pos < text.len() {
        return Err(err(
            text,
            format!("unexpected {:?} after the expression", &text[p.pos..]),
        ));
    }
    Ok(set)
}

impl Parser<'_, '_> {
    fn skip_ws(&mut self) {
        while self.text[self.pos..].starts_with([' ', '\t']) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    /// `!item`, `[list]` or an atom.
    fn item(&mut self, stack: &mut Vec<String>) -> Result<RangeSet, AddrError> {
        self.skip_ws();
        let max = self.kind.max();
        match self.peek() {
            Some('!') => {
                self.pos += 1;
                Ok(self.item(stack)?.complement(max))
            }
            Some('[') => {
                self.pos += 1;
                // Suricata's list semantics: the union of the plain items, minus the
                // negated ones; a list of negations only is "anything but those".
                let mut plus: Option<RangeSet> = None;
                let mut minus = RangeSet::empty();
                loop {
                    self.skip_ws();
                    let negated = self.peek() == Some('!');
                    if negated {
                        self.pos += 1;
                    }
                    let s = self.item(stack)?;
                    if negated {
                        minus = minus.union(&s);
                    } else {
                        plus = Some(plus.map_or(s.clone(), |p| p.union(&s)));
                    }
                    self.skip_ws();
                    match self.peek() {
                        Some(',') => self.pos += 1,
                        Some(']') => {
                            self.pos += 1;
                            break;
                        }
                        _ => return Err(err(self.text, "list not closed with ']'")),
                    }
                }
                Ok(plus.unwrap_or_else(|| RangeSet::full(max)).minus(&minus, max))
            }
            Some(_) => {
                let start = self.pos;
                while let Some(c) = self.peek() {
                    if matches!(c, ',' | ']' | '[' | '!' | ' ' | '\t') {
                        break;
                    }
                    self.pos += c.len_utf8();
                }
                let atom = &self.text[start..self.pos];
                if atom.is_empty() {
                    return Err(err(self.text, "empty item"));
                }
                self.atom(atom, stack)
            }
            None => Err(err(self.text, "missing address or port")),
        }
    }

    fn atom(&mut self, atom: &str, stack: &mut Vec<String>) -> Result<RangeSet, AddrError> {
        let max = self.kind.max();
        if atom == "any" {
            return Ok(RangeSet::full(max));
        }
        if let Some(name) = atom.strip_prefix('$') {
            return match self.vars {
                Some(v) => v.resolve(name, self.kind, stack),
                None => Err(err(atom, "variables are not allowed here")),
            };
        }
        match self.kind {
            Kind::Port => parse_port_range(atom),
            Kind::Address => {
                if let Some((ip, bits)) = atom.split_once('/') {
                    let ip: Ipv4Addr = ip
                        .parse()
                        .map_err(|_| err(atom, "not an IPv4 CIDR (a.b.c.d/n)"))?;
                    let bits: u32 = bits
                        .parse()
                        .ok()
                        .filter(|b| *b <= 32)
                        .ok_or_else(|| err(atom, "CIDR prefix length must be 0..=32"))?;
                    let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
                    let lo = u32::from(ip) & mask;
                    return Ok(RangeSet::single(lo, lo | !mask));
                }
                if let Ok(ip) = atom.parse::<Ipv4Addr>() {
                    let a = u32::from(ip);
                    return Ok(RangeSet::single(a, a));
                }
                if atom.contains(':') {
                    return Err(err(atom, "IPv6 addresses are not supported (the plant is IPv4)"));
                }
                if self.names
                    && let Some(a) = self.vars.and_then(|v| v.host(atom))
                {
                    return Ok(RangeSet::single(a, a));
                }
                Err(err(
                    atom,
                    if self.names {
                        "not an IPv4 address, CIDR, $VAR, list or plant host name"
                    } else {
                        "not an IPv4 address, CIDR, $VAR or list (host names go in vars)"
                    },
                ))
            }
        }
    }
}

fn parse_port(s: &str, whole: &str) -> Result<u32, AddrError> {
    s.trim()
        .parse::<u16>()
        .map(u32::from)
        .map_err(|_| err(whole, "not a port number (0..=65535)"))
}

/// `N`, `a:b`, `a:` or `:b`.
fn parse_port_range(atom: &str) -> Result<RangeSet, AddrError> {
    match atom.split_once(':') {
        None => {
            let p = parse_port(atom, atom)?;
            Ok(RangeSet::single(p, p))
        }
        Some((a, b)) => {
            let lo = if a.is_empty() { 0 } else { parse_port(a, atom)? };
            let hi = if b.is_empty() {
                PORT_MAX
            } else {
                parse_port(b, atom)?
            };
            if lo > hi {
                return Err(err(atom, "port range runs backwards"));
            }
            Ok(RangeSet::single(lo, hi))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(v: &[(u32, u32)]) -> RangeSet {
        RangeSet::normalise(v.to_vec())
    }

    #[test]
    fn set_algebra() {
        let a = set(&[(5, 10), (20, 30)]);
        assert_eq!(a.complement(40), set(&[(0, 4), (11, 19), (31, 40)]));
        assert_eq!(a.minus(&set(&[(8, 22)]), 40), set(&[(5, 7), (23, 30)]));
        assert!(RangeSet::full(IP_MAX).complement(IP_MAX).is_empty());
        assert!(a.contains(5) && a.contains(30) && !a.contains(15));
        let many = set(&[(1, 1), (3, 3), (5, 5), (7, 7), (9, 9), (11, 11)]);
        assert!(many.contains(9) && !many.contains(10) && !many.contains(12));
    }

    #[test]
    fn port_lists() {
        let p = parse_expr(
            "[502, 1000:1010, !1005]",
            Kind::Port,
            None,
            false,
            &mut Vec::new(),
        )
        .unwrap();
        assert!(p.contains(502) && p.contains(1004) && !p.contains(1005) && !p.contains(80));
        let p = parse_expr("!502", Kind::Port, None, false, &mut Vec::new()).unwrap();
        assert!(!p.contains(502) && p.contains(503));
    }
}
