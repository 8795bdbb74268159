//! Every shipped policy against the reference plant in benign operation: the plant must
//! keep working under each of them.
//!
//! Two views. The first builds every benign flow the plant file configures (each HMI and
//! historian poll block, each operator response, each engineering-session request, each
//! IT exchange) and walks the request and its reply through every enforcement point, as
//! the network would: rare flows (operator writes only happen on alarms) are covered too.
//! The second runs the plant with the policy installed and checks that nothing is
//! blocked and no poll times out: two simulated hours in release builds, 30 minutes in
//! debug builds (the simulation is about 30x slower unoptimised).

mod common;

use common::{SHIPPED, at, modbus, plant_config, reply_to, send, shipped, topology};
use otrange_sim::base::events::EventKind;
use otrange_sim::devices::historian::Historian;
use otrange_sim::devices::hmi::Hmi;
use otrange_sim::net::topology::Topology;
use otrange_sim::net::{Frame, Payload};
use otrange_sim::plc_logic::{Area, parse_address};
use otrange_sim::wire::modbus as mb;
use otrange_sim::{Sim, SimDuration, SimTime};
use std::collections::BTreeMap;

const SEED: u64 = 1;

/// Denials zero-trust gives on purpose: engineering outside the maintenance window.
const ZT_ENGINEERING_DENIALS: [&str; 2] = [
    "deny: identification and diagnostics outside engineering",
    "deny: any other Modbus access",
];

/// A benign flow: who, what, and a label for failure messages.
struct Flow {
    what: String,
    frame: Frame,
    engineering: bool,
}

fn poll_adu(read: &str, count: u16, unit: u8) -> Vec<u8> {
    let (area, start) = parse_address(read).expect("the plant's addresses parse");
    match area {
        Area::Coil => mb::read_coils(1, unit, start, count),
        Area::DiscreteInput => mb::read_discrete_inputs(1, unit, start, count),
        Area::InputRegister => mb::read_input_registers(1, unit, start, count),
        Area::HoldingRegister => mb::read_holding_registers(1, unit, start, count),
    }
}

/// Every benign flow the reference plant file configures.
fn benign_flows(topo: &Topology) -> Vec<Flow> {
    let cfg = plant_config();
    let mut out = Vec::new();
    let mut push = |what: String, frame: Frame, engineering: bool| {
        out.push(Flow {
            what,
            frame,
            engineering,
        });
    };
    let polls = cfg
        .hmis
        .iter()
        .map(|h| (h.host.get_ref(), &h.poll))
        .chain(cfg.historians.iter().map(|h| (h.host.get_ref(), &h.poll)));
    for (client, items) in polls {
        for p in items {
            let adu = poll_adu(p.read.get_ref(), p.count, p.unit);
            let what = format!(
                "{client} polls {} {} x{}",
                p.plc.get_ref(),
                p.read.get_ref(),
                p.count
            );
            push(what, modbus(topo, client, p.plc.get_ref(), adu), false);
        }
    }
    for h in &cfg.hmis {
        for r in h.operator.iter().flat_map(|o| &o.response) {
            let (area, addr) = parse_address(r.write.get_ref()).unwrap();
            let adu = match area {
                Area::Coil => mb::write_single_coil(0x8001, 1, addr, r.value != 0),
                _ => mb::write_single_register(0x8001, 1, addr, r.value),
            };
            let what = format!("{} operator: {}", h.host.get_ref(), r.description);
            push(what, modbus(topo, h.host.get_ref(), r.plc.get_ref(), adu), false);
        }
    }
    for e in &cfg.engineering_workstations {
        let ews = e.host.get_ref();
        for plc in &e.plcs {
            let session = [
                mb::read_device_identification(1, 1, 1, 0),
                mb::report_server_id(2, 1),
                mb::diagnostics(3, 1, 0, &[0x12, 0x34]),
                mb::read_holding_registers(4, 1, 0, e.upload_registers),
            ];
            for adu in session {
                let what = format!("{ews} engineering FC {} on {}", adu[7], plc.get_ref());
                push(what, modbus(topo, ews, plc.get_ref(), adu), true);
            }
        }
    }
    for t in &cfg.traffic {
        for from in &t.from {
            let what = format!("{} -> {} {}", from.get_ref(), t.to.get_ref(), t.service.as_str());
            push(
                what,
                common::flow(topo, from.get_ref(), t.to.get_ref(), t.service),
                false,
            );
        }
    }
    out
}

fn answer(f: &Frame) -> Frame {
    let payload = match &f.payload {
        // Any bytes do: replies pass on connection state, not on their content.
        Payload::Modbus(req) => Payload::Modbus(req[..8].into()),
        Payload::Flow { reply_bytes, .. } => Payload::Flow {
            bytes: *reply_bytes,
            reply_bytes: 0,
        },
        Payload::Stream(_) => unreachable!("benign flows are IP traffic"),
    };
    reply_to(f, payload)
}

#[test]
fn every_benign_flow_of_the_plant_passes_every_shipped_policy() {
    let topo = topology();
    let flows = benign_flows(&topo);
    assert!(flows.len() > 60, "only {} flows", flows.len());
    for name in SHIPPED {
        let mut p = shipped(name, &topo);
        // 02:30 is inside zero-trust's maintenance window.
        let now = at(2, 30);
        for f in &flows {
            if let Err((point, rule)) = send(&mut p, &topo, &f.frame, now) {
                panic!("{name}: {} denied at {point} by {rule:?}", f.what);
            }
            if let Err((point, rule)) = send(&mut p, &topo, &answer(&f.frame), now) {
                panic!("{name}: the reply to {} denied at {point} by {rule:?}", f.what);
            }
        }
    }
}

#[test]
fn outside_the_window_zero_trust_denies_only_engineering_and_says_why() {
    let topo = topology();
    let mut p = shipped("zero-trust", &topo);
    let now = at(1, 0);
    let mut denied = 0;
    for f in benign_flows(&topo) {
        let verdict = send(&mut p, &topo, &f.frame, now);
        if !f.engineering {
            assert_eq!(verdict, Ok(()), "{}", f.what);
            continue;
        }
        let (point, rule) = verdict.expect_err(&f.what);
        assert_eq!(
            point,
            topo.host(f.frame.dst).name,
            "{}: denied at the PLC",
            f.what
        );
        let expect = if f.frame.modbus_function() == Some(3) {
            ZT_ENGINEERING_DENIALS[1]
        } else {
            ZT_ENGINEERING_DENIALS[0]
        };
        assert_eq!(rule, expect, "{}", f.what);
        denied += 1;
    }
    assert_eq!(denied, 4 * 5, "four requests to each of the five PLCs");
}

fn duration() -> SimDuration {
    if cfg!(debug_assertions) {
        SimDuration::from_secs(30 * 60)
    } else {
        SimDuration::from_secs(2 * 3600)
    }
}

/// Denied frames counted by (src, dst, at, rule).
type Denials = BTreeMap<(String, String, String, String), u64>;

/// Runs the plant under a shipped policy; returns the sim and its denials.
fn run(policy: &str) -> (Sim, Denials) {
    let mut sim = otrange_sim::plant::build(&plant_config(), SEED).expect("the reference plant builds");
    let topo = std::sync::Arc::clone(sim.network().topology());
    sim.network_mut().set_policy(Box::new(shipped(policy, &topo)));
    sim.run_until(SimTime::ZERO + duration());
    assert_eq!(sim.network().policy_name(), policy);
    // The policy's own account agrees with the network's.
    let summary = sim.network().policy_summary();
    assert_eq!(summary["policy"], policy);
    assert_eq!(summary["denied"], sim.network().stats.blocked, "{summary:#}");
    // Every IP frame delivered met the policy at least at its receiver; the TSN cell's
    // layer-2 frames carry no IP and meet none.
    let layer2: u64 = sim.network().tsn().streams.iter().map(|s| s.delivered).sum();
    assert!(layer2 > 0, "the reference plant's TSN cell carried nothing");
    assert!(summary["decisions"].as_u64().unwrap() >= sim.network().stats.delivered - layer2);
    let mut blocked = BTreeMap::new();
    for e in sim.drain_events() {
        match e.kind {
            EventKind::FrameBlocked {
                src, dst, at, rule, ..
            } => *blocked.entry((src, dst, at, rule)).or_insert(0) += 1,
            EventKind::PollTimeout { client, device } => {
                panic!("{policy}: {client} timed out polling {device}")
            }
            _ => {}
        }
    }
    let secs = duration().as_nanos() / 1_000_000_000;
    let mut q = sim.world.query::<&Hmi>();
    let hmis: Vec<&Hmi> = q.iter(&sim.world).collect();
    assert_eq!(hmis.len(), 2);
    for h in hmis {
        let p = &h.poller;
        assert!(
            p.polls >= secs,
            "{policy}: {} polled only {} times",
            h.name,
            p.polls
        );
        assert_eq!((p.timeouts, p.exceptions), (0, 0), "{policy}: {}", h.name);
        assert!(p.polls - p.answers <= 16, "{policy}: {} unanswered polls", h.name);
    }
    let mut q = sim.world.query::<&Historian>();
    for h in q.iter(&sim.world) {
        assert_eq!(h.poller.timeouts, 0, "{policy}: historian timed out");
        assert!(h.poller.answers >= secs / 5, "{policy}: historian answers");
    }
    (sim, blocked)
}

#[test]
fn the_plant_runs_under_flat_without_a_blocked_frame() {
    let (sim, blocked) = run("flat");
    assert_eq!(sim.network().stats.blocked, 0, "{blocked:#?}");
}

#[test]
fn the_plant_runs_under_purdue_without_a_blocked_frame() {
    let (sim, blocked) = run("purdue");
    assert_eq!(sim.network().stats.blocked, 0, "{blocked:#?}");
}

#[test]
fn the_plant_runs_under_zones_conduits_without_a_blocked_frame() {
    let (sim, blocked) = run("zones-conduits");
    assert_eq!(sim.network().stats.blocked, 0, "{blocked:#?}");
}

#[test]
fn the_plant_runs_under_zero_trust_with_only_documented_denials() {
    let (sim, blocked) = run("zero-trust");
    let summary = sim.network().policy_summary();
    let hits = |name: &str| {
        summary["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("no rule {name}"))["hits"]
            .as_u64()
            .unwrap()
    };
    assert!(hits("hmi-1: polls the treatment PLCs") > 1000);
    assert!(hits("hmi-2: polls distribution and the SIS") > 1000);
    assert!(hits("historian: reads process values") > 100);
    assert!(
        summary["established"].as_u64().unwrap() > 1000,
        "replies pass on state"
    );
    let mut total = 0;
    for ((src, dst, at, rule), n) in &blocked {
        assert_eq!(src, "ews-01", "undocumented denial {rule:?} of {src} -> {dst}");
        assert_eq!(at, dst, "denied at the PLC's own filter");
        assert!(
            ZT_ENGINEERING_DENIALS.contains(&rule.as_str()),
            "undocumented rule {rule:?}"
        );
        total += n;
    }
    assert_eq!(sim.network().stats.blocked, total);
}
