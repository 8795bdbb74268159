//! Compiling a policy file (the format is in the [`super`] module docs) against a
//! topology: every name resolved, every range checked, every mistake located, then rules
//! filed under the (enforcement point, destination) pairs they can apply to.

use super::file::{Ints, PolicyFile, RuleDecl, Strings};
use super::matcher::{HostSet, Points, resolve_hosts};
use super::modbus_match::{Access, ModbusMatch, RegisterSet, byte_set, parse_register_range};
use super::window::Window;
use super::{Action, IdentityReq, Policy, Rule, RuleInfo, service_bit};
use super::{Identity, IdentityHandle};
use otrange_sim::base::config_error::FileError;
use otrange_sim::net::topology::{HostId, Service, Topology};
use serde::Deserialize;
use serde::de::IntoDeserializer;
use std::collections::BTreeMap;
use std::ops::Range;
use toml::Spanned;

/// Reports errors against one file.
struct Cx<'a> {
    file: &'a str,
    text: &'a str,
}

impl Cx<'_> {
    fn err(&self, span: Range<usize>, field: impl Into<String>, message: impl Into<String>) -> FileError {
        FileError::at(self.file, self.text, Some(span), field, message)
    }
}

/// The items of a one-or-many value with their field paths (`rule[0].from` for a lone
/// string, `rule[0].from[1]` for a list item) and spans.
fn each<'s, T: Clone>(
    base: &'s str,
    outer: Range<usize>,
    items: &'s [Item<T>],
) -> impl Iterator<Item = (String, Range<usize>, T)> + 's {
    let lone = items.len() == 1 && items[0].0.is_none();
    items.iter().enumerate().map(move |(k, (span, v))| {
        let field = if lone {
            base.to_string()
        } else {
            format!("{base}[{k}]")
        };
        (field, span.clone().unwrap_or(outer.clone()), v.clone())
    })
}

/// A list item and its own span (None for a lone value: it is the whole field).
type Item<T> = (Option<Range<usize>>, T);

fn strings(s: &Spanned<Strings>) -> (Range<usize>, &[Item<String>]) {
    (s.span(), &s.get_ref().0)
}

fn ints(s: &Spanned<Ints>) -> (Range<usize>, &[Item<i64>]) {
    (s.span(), &s.get_ref().0)
}

/// Parses the TOML into the file types, locating syntax and type errors by field path.
fn parse(cx: &Cx<'_>) -> Result<PolicyFile, FileError> {
    let de = toml::Deserializer::parse(cx.text)
        .map_err(|e| FileError::at(cx.file, cx.text, e.span(), "(syntax)", e.message()))?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        // `Spanned<T>` fields deserialise through a private inner key; the user's field is
        // the one around it.
        let mut field = e
            .path()
            .to_string()
            .replace(".$__serde_spanned_private_value", "");
        let inner = e.into_inner();
        let message = inner.message().to_string();
        if let Some(missing) = message
            .strip_prefix("missing field `")
            .and_then(|m| m.split('`').next())
        {
            field = if field == "." {
                missing.to_string()
            } else {
                format!("{field}.{missing}")
            };
        }
        FileError::at(cx.file, cx.text, inner.span(), field, message)
    })
}

fn action(cx: &Cx<'_>, s: &Spanned<String>, field: &str) -> Result<Action, FileError> {
    match s.get_ref().as_str() {
        "allow" => Ok(Action::Allow),
        "deny" => Ok(Action::Deny),
        other => Err(cx.err(
            s.span(),
            field,
            format!("invalid action {other:?}: expected \"allow\" or \"deny\""),
        )),
    }
}

pub(crate) fn compile(file: &str, text: &str, topo: &Topology) -> Result<Policy, FileError> {
    let cx = Cx { file, text };
    let raw = parse(&cx)?;
    let n = topo.hosts.len();

    let name = raw.policy.name.get_ref().trim().to_string();
    if name.is_empty() {
        return Err(cx.err(
            raw.policy.name.span(),
            "policy.name",
            "the policy needs a name: reports and results.json show it",
        ));
    }
    let default = action(&cx, &raw.policy.default, "policy.default")?;

    // Identities, and the users rules may name.
    let identities = IdentityHandle::default();
    let mut users: Vec<String> = Vec::new();
    let mut declared: BTreeMap<HostId, usize> = BTreeMap::new();
    for (i, d) in raw.identities.iter().enumerate() {
        let host = super::matcher::host(d.host.get_ref(), topo)
            .map_err(|m| cx.err(d.host.span(), format!("identity[{i}].host"), m))?;
        if let Some(prev) = declared.insert(host, i) {
            return Err(cx.err(
                d.host.span(),
                format!("identity[{i}].host"),
                format!(
                    "host {:?} already has an identity (identity[{prev}]): expected one per host",
                    d.host.get_ref()
                ),
            ));
        }
        let user = d.user.get_ref().trim();
        if user.is_empty() {
            return Err(cx.err(
                d.user.span(),
                format!("identity[{i}].user"),
                "expected a user name",
            ));
        }
        if !users.iter().any(|u| u == user) {
            users.push(user.to_string());
        }
        identities.set(host, Some(Identity::new(user, d.mfa)));
    }

    let mut rules = Vec::with_capacity(raw.rules.len());
    let mut info: Vec<RuleInfo> = Vec::with_capacity(raw.rules.len());
    let mut scopes: Vec<Points> = Vec::with_capacity(raw.rules.len());
    for (i, r) in raw.rules.iter().enumerate() {
        let (rule, ri, points) = compile_rule(&cx, i, r, topo, &users, &info)?;
        rules.push(rule);
        info.push(ri);
        scopes.push(points);
    }
    if rules.len() >= u32::MAX as usize {
        return Err(cx.err(0..0, "rule", "too many rules"));
    }

    // File every rule under the (point, destination) pairs it can apply to.
    let mut net_slot = vec![u32::MAX; n];
    let mut slots = 0u32;
    for h in topo.hosts.iter().filter(|h| h.role.enforces()) {
        net_slot[h.id.0 as usize] = slots;
        slots += 1;
    }
    let mut net_lists = vec![Box::<[u32]>::default(); slots as usize * n];
    let mut host_lists = vec![Box::<[u32]>::default(); n];
    for h in &topo.hosts {
        let node = h.id;
        let slot = net_slot[node.0 as usize];
        if slot != u32::MAX {
            for dst in 0..n {
                let d = HostId(dst as u32);
                net_lists[slot as usize * n + dst] = (0..rules.len())
                    .filter(|&r| scopes[r].network.contains(node) && info[r].to.contains(d))
                    .map(|r| r as u32)
                    .collect();
            }
        }
        host_lists[node.0 as usize] = (0..rules.len())
            .filter(|&r| scopes[r].host.contains(node) && info[r].to.contains(node))
            .map(|r| r as u32)
            .collect();
    }

    let trivial = rules.is_empty() && default == Action::Allow;
    let has_identity_rules = rules.iter().any(|r| r.identity.is_some());
    let mut policy = Policy {
        description: raw.policy.description.clone(),
        default_rule: "default deny".to_string(),
        default,
        hits: vec![0; rules.len()],
        rules,
        info,
        default_hits: [0; 2],
        established: 0,
        n_hosts: n,
        net_slot,
        net_lists,
        host_lists,
        trivial,
        conns: Default::default(),
        users,
        signed_in: vec![None; n],
        identities,
        seen_generation: u64::MAX,
        identity_denials: [0; 3],
        has_identity_rules,
        topo_names: topo.hosts.iter().map(|h| h.name.clone()).collect(),
        name,
    };
    policy.sync_identities();
    Ok(policy)
}

fn hosts(
    cx: &Cx<'_>,
    base: &str,
    value: &Option<Spanned<Strings>>,
    topo: &Topology,
) -> Result<Option<HostSet>, FileError> {
    let Some(v) = value else { return Ok(None) };
    let (outer, list) = strings(v);
    if list.is_empty() {
        return Err(cx.err(
            outer,
            base,
            format!(
                "an empty list matches nothing: {}",
                super::matcher::MATCHER_SYNTAX
            ),
        ));
    }
    let mut set = HostSet::empty(topo.hosts.len());
    for (field, span, term) in each(base, outer, list) {
        set.union(&resolve_hosts(&term, topo).map_err(|m| cx.err(span, field, m))?);
    }
    Ok(Some(set))
}

type Compiled = (Rule, RuleInfo, Points);

fn compile_rule(
    cx: &Cx<'_>,
    i: usize,
    r: &RuleDecl,
    topo: &Topology,
    users: &[String],
    earlier: &[RuleInfo],
) -> Result<Compiled, FileError> {
    let f = |s: &str| format!("rule[{i}].{s}");
    let name = r.name.get_ref().trim().to_string();
    if name.is_empty() {
        return Err(cx.err(
            r.name.span(),
            f("name"),
            "a rule needs a name: denials and logs show it",
        ));
    }
    if let Some(prev) = earlier.iter().position(|e| e.name == name) {
        return Err(cx.err(
            r.name.span(),
            f("name"),
            format!("duplicate rule name {name:?} (rule[{prev}] has it): rule names must be unique"),
        ));
    }
    let action = action(cx, &r.action, &f("action"))?;

    let points = match &r.at {
        None => Points::all(topo),
        Some(at) => {
            let (outer, list) = strings(at);
            if list.is_empty() {
                return Err(cx.err(
                    outer,
                    f("at"),
                    format!("an empty list applies nowhere: {}", super::matcher::AT_SYNTAX),
                ));
            }
            let mut p = Points::none(topo);
            for (field, span, term) in each(&f("at"), outer, list) {
                p.add(&term, topo).map_err(|m| cx.err(span, field, m))?;
            }
            p
        }
    };
    let from = hosts(cx, &f("from"), &r.from, topo)?;
    let to = hosts(cx, &f("to"), &r.to, topo)?.unwrap_or_else(|| HostSet::all(topo.hosts.len()));

    let mut services = 0u64;
    let mut modbus_service_ok = true;
    if let Some(s) = &r.service {
        let (outer, list) = strings(s);
        if list.is_empty() {
            return Err(cx.err(
                outer,
                f("service"),
                "an empty list matches nothing: expected one or more service names",
            ));
        }
        for (field, span, name) in each(&f("service"), outer, list) {
            let svc = Service::deserialize(name.as_str().into_deserializer()).map_err(
                |e: serde::de::value::Error| {
                    cx.err(
                        span,
                        field,
                        format!(
                            "unknown service {name:?}: {}",
                            super::matcher::expected_part(&e.to_string())
                        ),
                    )
                },
            )?;
            services |= service_bit(svc);
        }
        modbus_service_ok = services & service_bit(Service::Modbus) != 0;
    }

    let ports = match &r.port {
        None => None,
        Some(p) => {
            let (outer, list) = ints(p);
            if list.is_empty() {
                return Err(cx.err(
                    outer,
                    f("port"),
                    "an empty list matches nothing: expected one or more port numbers",
                ));
            }
            let mut ports = Vec::new();
            for (field, span, v) in each(&f("port"), outer, list) {
                let port = u16::try_from(v).ok().filter(|p| *p != 0).ok_or_else(|| {
                    cx.err(
                        span,
                        field,
                        format!("invalid port {v}: expected a port number 1..=65535"),
                    )
                })?;
                ports.push(port);
            }
            Some(ports.into_boxed_slice())
        }
    };

    let mut identity = None;
    if let Some(id) = &r.identity {
        let (outer, list) = strings(id);
        if list.is_empty() {
            return Err(cx.err(
                outer,
                f("identity"),
                "an empty list matches nobody: expected one or more user names",
            ));
        }
        let mut ids = Vec::new();
        for (field, span, user) in each(&f("identity"), outer, list) {
            let idx = users.iter().position(|u| *u == user).ok_or_else(|| {
                let known = if users.is_empty() {
                    "none is declared".to_string()
                } else {
                    format!("declared: {}", users.join(", "))
                };
                cx.err(
                    span,
                    field,
                    format!("unknown user {user:?}: expected a user of an [[identity]] ({known})"),
                )
            })?;
            ids.push(idx as u32);
        }
        identity = Some(IdentityReq {
            users: ids.into_boxed_slice(),
            mfa: false,
        });
    }
    if let Some(m) = &r.mfa
        && *m.get_ref()
    {
        identity.get_or_insert(IdentityReq {
            users: Box::default(),
            mfa: false,
        });
        if let Some(req) = identity.as_mut() {
            req.mfa = true;
        }
    }

    let window = match &r.window {
        None => None,
        Some(w) => {
            let d = w.get_ref();
            Some(
                Window::new(d.every.get_ref(), d.start.get_ref(), d.length.get_ref()).map_err(
                    |(part, m)| {
                        let span = match part {
                            "every" => d.every.span(),
                            "start" => d.start.span(),
                            _ => d.length.span(),
                        };
                        cx.err(span, f(&format!("window.{part}")), m)
                    },
                )?,
            )
        }
    };

    let modbus = match &r.modbus {
        None => None,
        Some(m) => {
            if !modbus_service_ok {
                return Err(cx.err(
                    m.span(),
                    f("modbus"),
                    "Modbus inspection in a rule whose service list leaves out \"modbus\" can never match: add \"modbus\" to service or drop service",
                ));
            }
            Some(Box::new(compile_modbus(cx, &f("modbus"), m)?))
        }
    };

    Ok((
        Rule {
            deny: action == Action::Deny,
            from,
            services,
            ports,
            identity,
            window,
            modbus,
        },
        RuleInfo {
            name,
            action,
            description: r.description.clone(),
            to,
            at_host: points.host.clone(),
        },
        points,
    ))
}

fn compile_modbus(
    cx: &Cx<'_>,
    base: &str,
    m: &Spanned<super::file::ModbusDecl>,
) -> Result<ModbusMatch, FileError> {
    let d = m.get_ref();
    let f = |s: &str| format!("{base}.{s}");
    if d.functions.is_none()
        && d.unit.is_none()
        && d.access.is_none()
        && d.registers.is_none()
        && d.values.is_none()
    {
        return Err(cx.err(
            m.span(),
            base,
            "an empty Modbus match: expected at least one of functions, unit, access, registers, values",
        ));
    }
    let byte_list =
        |name: &str, v: &Spanned<Ints>, lo: i64, hi: i64, what: &str| -> Result<Vec<u8>, FileError> {
            let (outer, list) = ints(v);
            if list.is_empty() {
                return Err(cx.err(
                    outer,
                    f(name),
                    format!("an empty list matches nothing: expected one or more {what}s {lo}..={hi}"),
                ));
            }
            let base = f(name);
            each(&base, outer, list)
                .map(|(field, span, x)| {
                    if (lo..=hi).contains(&x) {
                        Ok(x as u8)
                    } else {
                        Err(cx.err(span, field, format!("invalid {what} {x}: expected {lo}..={hi}")))
                    }
                })
                .collect()
        };
    let mut out = ModbusMatch::default();
    if let Some(v) = &d.functions {
        out.functions = Some(byte_set(byte_list("functions", v, 1, 127, "function code")?));
    }
    if let Some(v) = &d.unit {
        out.units = Some(byte_set(byte_list("unit", v, 0, 255, "unit id")?));
    }
    if let Some(a) = &d.access {
        out.access = Some(Access::parse(a.get_ref()).ok_or_else(|| {
            cx.err(
                a.span(),
                f("access"),
                format!(
                    "invalid access {:?}: expected \"read\", \"write\" or \"diagnostic\"",
                    a.get_ref()
                ),
            )
        })?);
    }
    if let Some(r) = &d.registers {
        let (outer, list) = strings(r);
        if list.is_empty() {
            return Err(cx.err(
                outer,
                f("registers"),
                "an empty list matches nothing: expected register ranges such as \"hr:0-99\"",
            ));
        }
        let base = f("registers");
        let spans = each(&base, outer, list)
            .map(|(field, span, s)| parse_register_range(&s).map_err(|m| cx.err(span, field, m)))
            .collect::<Result<Vec<_>, _>>()?;
        out.registers = Some(RegisterSet::new(spans));
    }
    if let Some(v) = &d.values {
        let (outer, list) = ints(v);
        let expected = "expected [min, max] with 0 <= min <= max <= 65535, e.g. [0, 150]";
        let lone = list.len() == 1 && list[0].0.is_none();
        if list.len() != 2 || lone {
            return Err(cx.err(outer, f("values"), expected));
        }
        for (k, (span, x)) in list.iter().enumerate() {
            if !(0..=65535).contains(x) {
                return Err(cx.err(
                    span.clone().unwrap_or(outer.clone()),
                    format!("{}[{k}]", f("values")),
                    format!("invalid value {x}: {expected}"),
                ));
            }
        }
        let (lo, hi) = (list[0].1 as u16, list[1].1 as u16);
        if lo > hi {
            return Err(cx.err(
                outer,
                f("values"),
                format!("min {lo} is above max {hi}: {expected}"),
            ));
        }
        out.values = Some((lo, hi));
    }
    Ok(out)
}
