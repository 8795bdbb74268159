//! Shared helpers: the reference plant, the shipped policies, and frames as the
//! simulated network builds them.
#![allow(dead_code)]

use otrange_defenses::Policy;
use otrange_sim::net::topology::{HostId, Service, Topology};
use otrange_sim::net::{EnforcementPoint, Frame, FrameId, Payload, PolicyHook, Verdict};
use otrange_sim::plant::PlantConfig;
use otrange_sim::{SimDuration, SimTime};
use std::path::PathBuf;

pub(crate) fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub(crate) fn plant_config() -> PlantConfig {
    let path = repo().join("scenarios/water-treatment/plant.toml");
    let text = std::fs::read_to_string(&path).expect("the reference plant file is readable");
    toml::from_str(&text).expect("the reference plant parses")
}

pub(crate) fn topology() -> Topology {
    let cfg = plant_config();
    Topology::build(&cfg.zones, &cfg.hosts, &cfg.links).expect("the reference plant's network builds")
}

pub(crate) const SHIPPED: [&str; 4] = ["flat", "purdue", "zones-conduits", "zero-trust"];

pub(crate) fn policy_path(name: &str) -> PathBuf {
    repo().join(format!("scenarios/policies/{name}.toml"))
}

pub(crate) fn shipped(name: &str, topo: &Topology) -> Policy {
    Policy::load(policy_path(name), topo).unwrap_or_else(|e| panic!("{e}"))
}

pub(crate) fn id(topo: &Topology, name: &str) -> HostId {
    topo.host_by_name(name)
        .unwrap_or_else(|| panic!("no host {name} in the plant"))
}

pub(crate) fn at(h: u64, m: u64) -> SimTime {
    SimTime::ZERO + SimDuration::from_secs(h * 3600 + m * 60)
}

/// A request from `src` to `dst`'s service port, from an ephemeral port.
pub(crate) fn request(topo: &Topology, src: &str, dst: &str, service: Service, payload: Payload) -> Frame {
    Frame {
        id: FrameId(1),
        src: id(topo, src),
        dst: id(topo, dst),
        src_port: 49152,
        dst_port: service.port(),
        service,
        payload,
        sent_at: SimTime::ZERO,
        label: 0,
        tag: None,
    }
}

pub(crate) fn modbus(
    topo: &Topology,
    src: &str,
    dst: &str,
    adu: impl Into<otrange_sim::wire::modbus::AduBytes>,
) -> Frame {
    request(topo, src, dst, Service::Modbus, Payload::Modbus(adu.into()))
}

pub(crate) fn flow(topo: &Topology, src: &str, dst: &str, service: Service) -> Frame {
    request(
        topo,
        src,
        dst,
        service,
        Payload::Flow {
            bytes: 500,
            reply_bytes: 1000,
        },
    )
}

/// The answer to `f` on the same connection, as `Network::reply` sends it.
pub(crate) fn reply_to(f: &Frame, payload: Payload) -> Frame {
    Frame {
        id: FrameId(f.id.0 + 1),
        src: f.dst,
        dst: f.src,
        src_port: f.dst_port,
        dst_port: f.src_port,
        service: f.service,
        payload,
        sent_at: f.sent_at,
        label: f.label,
        tag: None,
    }
}

/// The enforcement points a frame meets, in order, as the network consults them:
/// every router and firewall after the sender, then the destination's own filter.
pub(crate) fn points(topo: &Topology, f: &Frame) -> Vec<EnforcementPoint> {
    let route = topo.route(f.src, f.dst).expect("the plant routes every pair");
    let mut out: Vec<EnforcementPoint> = route[..route.len() - 1]
        .iter()
        .map(|h| h.to)
        .filter(|n| topo.host(*n).role.enforces())
        .map(EnforcementPoint::Network)
        .collect();
    out.push(EnforcementPoint::Host(f.dst));
    out
}

/// Walks a frame through its points: `Ok(())` when delivered, or the point's host name
/// and the rule that denied it.
pub(crate) fn send(
    policy: &mut Policy,
    topo: &Topology,
    f: &Frame,
    now: SimTime,
) -> Result<(), (String, String)> {
    for p in points(topo, f) {
        if let Verdict::Deny { rule, .. } = policy.decide(p, f, topo, now) {
            return Err((topo.host(p.node()).name.clone(), rule));
        }
    }
    Ok(())
}

/// Why the first denial on the frame's path was made, when an identity condition made it
/// (`None` when the frame passes or an ordinary rule denied it).
pub(crate) fn why_denied(policy: &mut Policy, topo: &Topology, f: &Frame, now: SimTime) -> Option<String> {
    for p in points(topo, f) {
        if let Verdict::Deny { why, .. } = policy.decide(p, f, topo, now) {
            return why;
        }
    }
    None
}
