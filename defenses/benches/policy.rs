//! decide() per frame, for each shipped policy, on the reference plant's traffic mix:
//! HMI and historian Modbus polls and their answers, operator writes (one out of range,
//! denied under zero-trust), and IT flows across the firewalls, each decision taken at
//! every enforcement point the frame meets, in the order the network takes them.
//!
//! `CARGO_TARGET_DIR=... cargo bench -p otrange-defenses --bench policy`
//!
//! The goal is under 200 ns per decision.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use otrange_defenses::Policy;
use otrange_sim::net::topology::{Service, Topology};
use otrange_sim::net::{EnforcementPoint, Frame, FrameId, Payload, PolicyHook};
use otrange_sim::wire::modbus as mb;
use otrange_sim::{SimDuration, SimTime};
use std::hint::black_box;

mod common;
use common::{repo, topology};

struct Mix {
    /// (point, frame): one decision each.
    reads: Vec<(EnforcementPoint, Frame)>,
    writes: Vec<(EnforcementPoint, Frame)>,
    it: Vec<(EnforcementPoint, Frame)>,
}

fn frame(topo: &Topology, src: &str, dst: &str, service: Service, payload: Payload) -> Frame {
    Frame {
        id: FrameId(1),
        src: topo.host_by_name(src).unwrap(),
        dst: topo.host_by_name(dst).unwrap(),
        src_port: 49152 + topo.host_by_name(dst).unwrap().0 as u16,
        dst_port: service.port(),
        service,
        payload,
        sent_at: SimTime::ZERO,
        label: 0,
        tag: None,
    }
}

fn reply(f: &Frame, payload: Payload) -> Frame {
    Frame {
        src: f.dst,
        dst: f.src,
        src_port: f.dst_port,
        dst_port: f.src_port,
        payload,
        ..f.clone()
    }
}

/// A frame and its reply, each at every point it meets.
fn exchange(topo: &Topology, out: &mut Vec<(EnforcementPoint, Frame)>, req: Frame, resp: Payload) {
    let back = reply(&req, resp);
    for f in [req, back] {
        let route = topo.route(f.src, f.dst).unwrap();
        for h in &route[..route.len() - 1] {
            if topo.host(h.to).role.enforces() {
                out.push((EnforcementPoint::Network(h.to), f.clone()));
            }
        }
        out.push((EnforcementPoint::Host(f.dst), f));
    }
}

fn mix(topo: &Topology) -> Mix {
    let mut m = Mix {
        reads: Vec::new(),
        writes: Vec::new(),
        it: Vec::new(),
    };
    let answer = || Payload::Modbus(vec![0, 1, 0, 0, 0, 11, 1, 3, 8, 0, 100, 0, 130, 0, 60, 0, 180].into());
    let polls: [(&str, &str, Vec<u8>); 12] = [
        ("hmi-1", "plc-intake", mb::read_holding_registers(1, 1, 0, 8)),
        ("hmi-1", "plc-intake", mb::read_input_registers(2, 1, 0, 4)),
        ("hmi-1", "plc-dosing", mb::read_holding_registers(3, 1, 0, 12)),
        ("hmi-1", "plc-dosing", mb::read_coils(4, 1, 0, 16)),
        ("hmi-1", "plc-filter", mb::read_input_registers(5, 1, 0, 4)),
        ("hmi-1", "analyzer-naoh", mb::read_input_registers(6, 1, 0, 1)),
        ("hmi-2", "plc-dist", mb::read_discrete_inputs(7, 1, 0, 4)),
        ("hmi-2", "plc-dist", mb::read_holding_registers(8, 1, 0, 8)),
        ("hmi-2", "plc-sis", mb::read_coils(9, 1, 0, 16)),
        ("historian", "plc-dosing", mb::read_input_registers(10, 1, 0, 4)),
        ("historian", "plc-sis", mb::read_input_registers(11, 1, 0, 2)),
        (
            "historian",
            "analyzer-naoh",
            mb::read_input_registers(12, 1, 0, 1),
        ),
    ];
    for (src, dst, adu) in polls {
        let f = frame(topo, src, dst, Service::Modbus, Payload::Modbus(adu.into()));
        exchange(topo, &mut m.reads, f, answer());
    }
    let writes: [(&str, &str, Vec<u8>); 4] = [
        ("hmi-1", "plc-dosing", mb::write_single_register(20, 1, 0, 100)),
        ("hmi-1", "plc-dosing", mb::write_single_coil(21, 1, 5, false)),
        ("hmi-2", "plc-dist", mb::write_single_coil(22, 1, 8, true)),
        ("hmi-1", "plc-dosing", mb::write_single_register(23, 1, 0, 11_100)),
    ];
    for (src, dst, adu) in writes {
        let echo = Payload::Modbus(adu.clone().into());
        let f = frame(topo, src, dst, Service::Modbus, Payload::Modbus(adu.into()));
        exchange(topo, &mut m.writes, f, echo);
    }
    let flows: [(&str, &str, Service); 8] = [
        ("ws-01", "dc-01", Service::Dns),
        ("ws-02", "mail-01", Service::Https),
        ("ws-03", "file-01", Service::Smb),
        ("ws-01", "jump-01", Service::Rdp),
        ("ws-06", "hist-mirror", Service::Https),
        ("historian", "hist-mirror", Service::Historian),
        ("hmi-1", "ops-dc", Service::Dns),
        ("vendor-portal", "vpn-gw", Service::Vpn),
    ];
    for (src, dst, svc) in flows {
        let p = || Payload::Flow {
            bytes: 800,
            reply_bytes: 4000,
        };
        exchange(topo, &mut m.it, frame(topo, src, dst, svc, p()), p());
    }
    m
}

fn bench(c: &mut Criterion) {
    let topo = topology();
    let m = mix(&topo);
    let all: Vec<_> = m.reads.iter().chain(&m.writes).chain(&m.it).cloned().collect();
    let now = SimTime::ZERO + SimDuration::from_secs(3600);
    for name in ["flat", "purdue", "zones-conduits", "zero-trust"] {
        let path = repo().join(format!("scenarios/policies/{name}.toml"));
        let mut g = c.benchmark_group(format!("decide/{name}"));
        g.warm_up_time(std::time::Duration::from_secs(1));
        g.measurement_time(std::time::Duration::from_secs(3));
        for (label, set) in [
            ("mix", &all),
            ("modbus reads", &m.reads),
            ("modbus writes", &m.writes),
            ("it flows", &m.it),
        ] {
            let mut p = Policy::load(&path, &topo).unwrap();
            g.throughput(Throughput::Elements(set.len() as u64));
            g.bench_function(label, |b| {
                b.iter(|| {
                    for (point, f) in set.iter() {
                        black_box(p.decide(*point, black_box(f), &topo, now));
                    }
                });
            });
        }
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
