//! The rules detector's throughput on the reference plant's Modbus traffic: HMI and
//! historian FC 3/4/1/2 polls and their answers, as the control switch sees them, against
//! the shipped Quickdraw rules and the plant-tuned rules. The frames raise no alert, so
//! this is the path every benign frame takes: the figure to keep above 1 million frames
//! per second on one core.
//!
//! `CARGO_TARGET_DIR=... cargo bench -p otrange-defenses --bench rules`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use otrange_defenses::detect::Detector;
use otrange_defenses::detect::rules::RulesDetector;
use otrange_sim::net::topology::{Service, Topology};
use otrange_sim::net::{Frame, FrameId, Payload};
use otrange_sim::wire::modbus as mb;
use otrange_sim::{SimDuration, SimTime};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant;

mod common;
use common::{repo, topology};

fn request(topo: &Topology, src: &str, dst: &str, adu: Vec<u8>) -> Frame {
    Frame {
        id: FrameId(1),
        src: topo.host_by_name(src).unwrap(),
        dst: topo.host_by_name(dst).unwrap(),
        src_port: 49152 + topo.host_by_name(dst).unwrap().0 as u16,
        dst_port: Service::Modbus.port(),
        service: Service::Modbus,
        payload: Payload::Modbus(adu.into()),
        sent_at: SimTime::ZERO,
        label: 0,
        tag: None,
    }
}

fn reply(f: &Frame, adu: Vec<u8>) -> Frame {
    Frame {
        id: FrameId(f.id.0 + 1),
        src: f.dst,
        dst: f.src,
        src_port: f.dst_port,
        dst_port: f.src_port,
        payload: Payload::Modbus(adu.into()),
        ..f.clone()
    }
}

/// A register answer with `n` registers, or a bit answer with `n` bits.
fn answer(req: &[u8]) -> Vec<u8> {
    let (fc, qty) = (req[7], u16::from_be_bytes([req[10], req[11]]));
    let bytes = match fc {
        3 | 4 => 2 * qty as usize,
        _ => (qty as usize).div_ceil(8),
    };
    let mut v = vec![
        req[0],
        req[1],
        0,
        0,
        0,
        (3 + bytes) as u8,
        req[6],
        fc,
        bytes as u8,
    ];
    v.extend((0..bytes).map(|i| (i * 7) as u8));
    v
}

/// Polls as the plant's HMIs and historian make them, each followed by its answer.
fn mix(topo: &Topology) -> Vec<Frame> {
    let polls: [(&str, &str, Vec<u8>); 16] = [
        ("hmi-1", "plc-intake", mb::read_holding_registers(1, 1, 0, 8)),
        ("hmi-1", "plc-intake", mb::read_input_registers(2, 1, 0, 4)),
        ("hmi-1", "plc-intake", mb::read_coils(3, 1, 0, 16)),
        ("hmi-1", "plc-dosing", mb::read_holding_registers(4, 1, 0, 12)),
        ("hmi-1", "plc-dosing", mb::read_input_registers(5, 1, 0, 4)),
        ("hmi-1", "plc-dosing", mb::read_coils(6, 1, 0, 16)),
        ("hmi-1", "plc-filter", mb::read_holding_registers(7, 1, 0, 12)),
        ("hmi-1", "analyzer-naoh", mb::read_input_registers(8, 1, 0, 1)),
        ("hmi-2", "plc-dist", mb::read_holding_registers(9, 1, 0, 8)),
        ("hmi-2", "plc-dist", mb::read_discrete_inputs(10, 1, 0, 4)),
        ("hmi-2", "plc-sis", mb::read_input_registers(11, 1, 0, 2)),
        ("hmi-2", "plc-sis", mb::read_coils(12, 1, 0, 16)),
        ("historian", "plc-intake", mb::read_input_registers(13, 1, 0, 4)),
        ("historian", "plc-dosing", mb::read_input_registers(14, 1, 0, 4)),
        ("historian", "plc-dist", mb::read_input_registers(15, 1, 0, 4)),
        ("historian", "plc-sis", mb::read_input_registers(16, 1, 0, 2)),
    ];
    let mut out = Vec::new();
    for (src, dst, adu) in polls {
        let resp = answer(&adu);
        let f = request(topo, src, dst, adu);
        out.push(reply(&f, resp));
        out.insert(out.len() - 1, f);
    }
    out
}

fn detector(topo: &Topology, file: &str) -> RulesDetector {
    let text = std::fs::read_to_string(repo().join("scenarios/detectors/rules").join(file)).unwrap();
    let vars: BTreeMap<String, String> = [
        ("MODBUS_CLIENT", "[hmi-1, hmi-2, historian]"),
        ("ENGINEERING", "ews-01"),
        ("DOSING", "plc-dosing"),
        ("REMOTE_ACCESS", "vpn-gw"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    RulesDetector::from_text("bench", &text, file, &vars, topo).unwrap()
}

fn bench(c: &mut Criterion) {
    let topo = topology();
    let frames = mix(&topo);
    let node = topo.host_by_name("sw-ctl").unwrap();
    let now = SimTime::ZERO + SimDuration::from_secs(3600);
    let mut g = c.benchmark_group("rules/observe");
    g.warm_up_time(std::time::Duration::from_secs(1));
    g.measurement_time(std::time::Duration::from_secs(3));
    g.throughput(Throughput::Elements(frames.len() as u64));
    for file in ["quickdraw-modbus.rules", "plant-modbus.rules"] {
        let mut d = detector(&topo, file);
        g.bench_function(file, |b| {
            b.iter(|| {
                for f in &frames {
                    d.observe(node, black_box(f), now, &topo);
                }
            });
        });
        assert!(
            d.alerts().is_empty(),
            "benign polls raised {:?}",
            d.alerts().first()
        );
    }
    g.finish();

    // A plain figure for the report, outside criterion's statistics.
    for file in ["quickdraw-modbus.rules", "plant-modbus.rules"] {
        let mut d = detector(&topo, file);
        let rounds = 200_000;
        let start = Instant::now();
        for _ in 0..rounds {
            for f in &frames {
                d.observe(node, black_box(f), now, &topo);
            }
        }
        let n = rounds * frames.len();
        let fps = n as f64 / start.elapsed().as_secs_f64();
        println!(
            "{file}: {n} frames, {:.1} million frames/s on one core",
            fps / 1e6
        );
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
