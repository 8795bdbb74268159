//! Host matchers (`from`, `to`) and enforcement-point selectors (`at`), resolved once at
//! load time into bitsets over [`HostId`], so that matching a frame costs a load and a mask
//! instead of string comparisons.

use otrange_sim::net::topology::{HostId, PurdueLevel, Role, Topology};
use serde::Deserialize;
use serde::de::IntoDeserializer;

/// A set of hosts of one topology.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HostSet {
    words: Box<[u64]>,
}

impl HostSet {
    pub(crate) fn empty(hosts: usize) -> Self {
        HostSet {
            words: vec![0; hosts.div_ceil(64).max(1)].into_boxed_slice(),
        }
    }
    pub(crate) fn all(hosts: usize) -> Self {
        let mut s = Self::empty(hosts);
        for h in 0..hosts {
            s.insert(HostId(h as u32));
        }
        s
    }
    pub(crate) fn insert(&mut self, h: HostId) {
        let i = h.0 as usize;
        if let Some(w) = self.words.get_mut(i / 64) {
            *w |= 1 << (i % 64);
        }
    }
    pub(crate) fn intersect(&mut self, other: &HostSet) {
        for (a, b) in self.words.iter_mut().zip(other.words.iter()) {
            *a &= *b;
        }
    }
    pub(crate) fn union(&mut self, other: &HostSet) {
        for (a, b) in self.words.iter_mut().zip(other.words.iter()) {
            *a |= *b;
        }
    }
    /// Hosts outside the topology the set was built for are in no set.
    #[inline]
    pub(crate) fn contains(&self, h: HostId) -> bool {
        let i = h.0 as usize;
        self.words.get(i / 64).is_some_and(|w| w >> (i % 64) & 1 == 1)
    }
}

/// The syntax of a host matcher, for error messages.
pub(crate) const MATCHER_SYNTAX: &str = r#"expected a host name, "any", "role:<role>", "zone:<zone>", "level:<L0..L5|DMZ>" or those joined by " & ""#;

/// Resolves one `from`/`to` term to the hosts it names. `"role:switch & level:L1"` is the
/// hosts that match every part: selectors by role and level name hosts on any plant that
/// follows the Purdue levels, so a policy or detector set written with them loads on
/// plants other than the one it was written for.
pub(crate) fn resolve_hosts(term: &str, topo: &Topology) -> Result<HostSet, String> {
    if term.contains('&') {
        let mut parts = term.split('&').map(str::trim);
        let first = parts.next().unwrap_or("");
        let mut set = resolve_one(first, topo)?;
        for p in parts {
            set.intersect(&resolve_one(p, topo)?);
        }
        return Ok(set);
    }
    resolve_one(term, topo)
}

/// The hosts of the set, in id order.
pub(crate) fn members(set: &HostSet, topo: &Topology) -> Vec<HostId> {
    topo.hosts
        .iter()
        .map(|h| h.id)
        .filter(|h| set.contains(*h))
        .collect()
}

fn resolve_one(term: &str, topo: &Topology) -> Result<HostSet, String> {
    let n = topo.hosts.len();
    if term == "any" {
        return Ok(HostSet::all(n));
    }
    let mut set = HostSet::empty(n);
    if let Some(role) = term.strip_prefix("role:") {
        let role = parse_role(role)?;
        topo.hosts
            .iter()
            .filter(|h| h.role == role)
            .for_each(|h| set.insert(h.id));
    } else if let Some(zone) = term.strip_prefix("zone:") {
        let Some(z) = topo.zones.iter().find(|z| z.name == zone) else {
            let names: Vec<_> = topo.zones.iter().map(|z| z.name.as_str()).collect();
            return Err(format!(
                "unknown zone {zone:?}: expected one of the plant's zones: {}",
                names.join(", ")
            ));
        };
        topo.hosts
            .iter()
            .filter(|h| h.zone == z.id)
            .for_each(|h| set.insert(h.id));
    } else if let Some(level) = term.strip_prefix("level:") {
        let level = parse_level(level)?;
        for h in &topo.hosts {
            if topo
                .zones
                .get(h.zone.0 as usize)
                .is_some_and(|z| z.level == level)
            {
                set.insert(h.id);
            }
        }
    } else {
        set.insert(host(term, topo)?);
    }
    Ok(set)
}

/// A host by name, suggesting the closest name on a typo.
pub(crate) fn host(name: &str, topo: &Topology) -> Result<HostId, String> {
    topo.host_by_name(name).ok_or_else(|| {
        let hint = closest(name, topo.hosts.iter().map(|h| h.name.as_str()))
            .map(|c| format!(" (did you mean {c:?}?)"))
            .unwrap_or_default();
        format!("unknown host {name:?}: {MATCHER_SYNTAX}{hint}")
    })
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::deserialize(s.into_deserializer()).map_err(|e: serde::de::value::Error| {
        format!("unknown role {s:?}: {}", expected_part(&e.to_string()))
    })
}

fn parse_level(s: &str) -> Result<PurdueLevel, String> {
    PurdueLevel::deserialize(s.into_deserializer()).map_err(|e: serde::de::value::Error| {
        format!("unknown level {s:?}: {}", expected_part(&e.to_string()))
    })
}

/// serde says "unknown variant `x`, expected one of `a`, `b`"; keep the "expected" part,
/// which lists the valid names without this crate having to repeat the sim's enums.
pub(crate) fn expected_part(msg: &str) -> String {
    msg.find("expected")
        .map_or_else(|| msg.to_string(), |i| msg[i..].replace('`', "\""))
}

/// The candidate within edit distance 2 of `name` (the nearest, first on ties).
fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Where a rule applies: the routers and firewalls it is enforced at, and the hosts whose
/// own filter (micro-segmentation at the device) enforces it.
#[derive(Clone, Debug)]
pub(crate) struct Points {
    pub network: HostSet,
    pub host: HostSet,
}

pub(crate) const AT_SYNTAX: &str = r#"expected "any", "any-firewall", "network" (every router and firewall), "host" (every device's own filter), the name of a router or firewall, or the name of an end host (its own filter)"#;

impl Points {
    pub(crate) fn all(topo: &Topology) -> Self {
        let n = topo.hosts.len();
        let mut network = HostSet::empty(n);
        for h in topo.hosts.iter().filter(|h| h.role.enforces()) {
            network.insert(h.id);
        }
        Points {
            network,
            host: HostSet::all(n),
        }
    }
    pub(crate) fn none(topo: &Topology) -> Self {
        let n = topo.hosts.len();
        Points {
            network: HostSet::empty(n),
            host: HostSet::empty(n),
        }
    }
    /// Adds the points one `at` term names.
    pub(crate) fn add(&mut self, term: &str, topo: &Topology) -> Result<(), String> {
        match term {
            "any" => {
                let all = Points::all(topo);
                self.network.union(&all.network);
                self.host.union(&all.host);
            }
            "any-firewall" => topo
                .hosts
                .iter()
                .filter(|h| h.role == Role::Firewall)
                .for_each(|h| self.network.insert(h.id)),
            "network" => topo
                .hosts
                .iter()
                .filter(|h| h.role.enforces())
                .for_each(|h| self.network.insert(h.id)),
            "host" => self.host.union(&HostSet::all(topo.hosts.len())),
            name => {
                let id = topo.host_by_name(name).ok_or_else(|| {
                    let hint = closest(name, topo.hosts.iter().map(|h| h.name.as_str()))
                        .map(|c| format!(" (did you mean {c:?}?)"))
                        .unwrap_or_default();
                    format!("unknown enforcement point {name:?}: {AT_SYNTAX}{hint}")
                })?;
                let role = topo.host(id).role;
                if role.enforces() {
                    self.network.insert(id);
                } else if role.forwards() {
                    return Err(format!(
                        "{name:?} is a {}: it forwards frames without consulting the policy; {AT_SYNTAX}",
                        role.as_str()
                    ));
                } else {
                    self.host.insert(id);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_sets_ignore_hosts_outside_the_topology() {
        let mut s = HostSet::empty(70);
        s.insert(HostId(69));
        s.insert(HostId(1000));
        assert!(s.contains(HostId(69)));
        assert!(!s.contains(HostId(68)));
        assert!(!s.contains(HostId(1000)));
        assert!(!s.contains(HostId(u32::MAX)));
        assert!(HostSet::all(70).contains(HostId(0)));
        assert!(!HostSet::all(70).contains(HostId(70)));
    }

    #[test]
    fn edit_distance_finds_typos() {
        assert_eq!(edit_distance("plc-dosng", "plc-dosing"), 1);
        assert_eq!(closest("hmi-3", ["hmi-1", "ews-01"].into_iter()), Some("hmi-1"));
        assert_eq!(closest("firewall", ["hmi-1"].into_iter()), None);
    }
}
