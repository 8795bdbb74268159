//! The anomaly detector: quiet on what it learned, alerts on values, written set points,
//! bursts and new talkers, a threshold that works as a knob, and no panic on garbage.

mod common;

use common::{at, id, modbus, reply_to, topology};
use otrange_defenses::detect::anomaly::{NEW_PAIR, SWEEP, TIMING, VALUE, WRITTEN};
use otrange_defenses::detect::{Alert, Detector, anomaly::Anomaly};
use otrange_sim::SimDuration;
use otrange_sim::base::time::SimTime;
use otrange_sim::net::topology::Topology;
use otrange_sim::net::{Hop, Payload};
use otrange_sim::wire::modbus::{read_holding_registers, write_multiple_registers, write_single_register};

/// An FC 3 response ADU by hand: MBAP, function, byte count, values.
fn holding_response(tid: u16, unit: u8, values: &[u16]) -> Vec<u8> {
    let mut adu = tid.to_be_bytes().to_vec();
    adu.extend_from_slice(&[0, 0]);
    adu.extend_from_slice(&(3 + 2 * values.len() as u16).to_be_bytes());
    adu.extend_from_slice(&[unit, 3, 2 * values.len() as u8]);
    for v in values {
        adu.extend_from_slice(&v.to_be_bytes());
    }
    adu
}

/// hmi-1 reads hr:0.. of plc-dosing at `t` and gets `values`.
fn poll(d: &mut Anomaly, topo: &Topology, tid: u16, values: &[u16], t: SimTime) {
    let sw = id(topo, "sw-ctl");
    let req = modbus(
        topo,
        "hmi-1",
        "plc-dosing",
        read_holding_registers(tid, 1, 0, values.len() as u16),
    );
    d.observe(sw, &req, t, topo);
    let resp = reply_to(&req, Payload::Modbus(holding_response(tid, 1, values).into()));
    d.observe(sw, &resp, t + SimDuration::from_millis(7), topo);
}

fn secs(s: u64) -> SimTime {
    SimTime::ZERO + SimDuration::from_secs(s)
}

/// Learns 30 minutes of polling once a second: hr:0 a set point fixed at 100, hr:1 a
/// measurement alternating 200 / 202.
fn learned(threshold: f64) -> (Anomaly, Topology) {
    let topo = topology();
    let mut d = Anomaly::new("anomaly", at(0, 30), threshold);
    for s in 0..1800u64 {
        poll(&mut d, &topo, s as u16, &[100, 200 + 2 * (s % 2) as u16], secs(s));
    }
    (d, topo)
}

fn sids(alerts: &[Alert]) -> Vec<u64> {
    alerts.iter().map(|a| a.signature_id).collect()
}

#[test]
fn learned_steady_values_are_quiet() {
    let (mut d, topo) = learned(4.0);
    for s in 1800..3600u64 {
        poll(&mut d, &topo, s as u16, &[100, 200 + 2 * (s % 2) as u16], secs(s));
    }
    assert!(d.alerts().is_empty(), "{:#?}", d.alerts());
    assert_eq!(d.sweep_counts(), [0; SWEEP.len()]);
    let f = d.summary();
    assert_eq!(f["learned_registers"], 2);
    assert_eq!(f["learned_pairs"], 1);
    assert_eq!(f["timed_pairs"], 1);
    assert_eq!(f["frames_scored"], 3600);
}

#[test]
fn a_value_far_outside_alerts_at_a_low_threshold_and_not_at_a_high_one() {
    // hr:1 learned mean 201, standard deviation about 1: 212 is about 11 deviations off.
    for (threshold, expect) in [(5.0, vec![VALUE]), (20.0, vec![])] {
        let (mut d, topo) = learned(threshold);
        poll(&mut d, &topo, 1, &[100, 212], secs(1800));
        assert_eq!(sids(d.alerts()), expect, "threshold {threshold}");
        // Whatever the configured threshold, the sweep saw it up to 10 and not above.
        let expected: Vec<u64> = SWEEP.iter().map(|t| u64::from(*t <= 10.0)).collect();
        assert_eq!(d.sweep_counts().to_vec(), expected);
    }
    let (mut d, topo) = learned(5.0);
    poll(&mut d, &topo, 1, &[100, 212], secs(1800));
    let a = &d.alerts()[0];
    assert_eq!(a.src, id(&topo, "plc-dosing"));
    assert!(
        a.signature
            .starts_with("plc-dosing hr:1 (unit 1) reads 212, learned 200..=202"),
        "{}",
        a.signature
    );
    // Held at the bad value: one alert per minute of cooldown, not one per poll.
    for s in 1801..1920 {
        poll(&mut d, &topo, s as u16, &[100, 212], secs(s));
    }
    assert_eq!(sids(d.alerts()), [VALUE, VALUE]);
}

#[test]
fn a_set_point_written_outside_the_learned_range_is_flagged() {
    let (mut d, topo) = learned(4.0);
    let sw = id(&topo, "sw-ctl");
    // Learning also saw the HMI write now and then, so the write itself is no new pair.
    let mut d2 = Anomaly::new("anomaly", at(0, 30), 4.0);
    let w = modbus(&topo, "hmi-1", "plc-dosing", write_single_register(9, 1, 0, 100));
    d2.observe(sw, &w, secs(1), &topo);
    for s in 2..1800u64 {
        poll(&mut d2, &topo, s as u16, &[100, 200], secs(s));
    }
    // The Oldsmar write: 11,100 ppm where 100 was all the plant ever ran with.
    let oldsmar = modbus(
        &topo,
        "hmi-1",
        "plc-dosing",
        write_single_register(10, 1, 0, 11100),
    );
    d2.observe(sw, &oldsmar, secs(1900), &topo);
    assert_eq!(sids(d2.alerts()), [WRITTEN]);
    let a = &d2.alerts()[0];
    assert_eq!(a.technique.as_deref(), Some("T0836"));
    assert_eq!(a.severity, 1);
    // Without the learned write, the function itself is new as well; FC 16 is scored too.
    let w16 = modbus(
        &topo,
        "hmi-1",
        "plc-dosing",
        write_multiple_registers(11, 1, 0, &[100, 900]),
    );
    d.observe(sw, &w16, secs(1900), &topo);
    assert_eq!(sids(d.alerts()), [NEW_PAIR, WRITTEN]);
    assert!(
        d.alerts()[1].signature.contains("hr:1 = 900"),
        "{}",
        d.alerts()[1].signature
    );
    // A write of a learned value is quiet.
    let ok = modbus(&topo, "hmi-1", "plc-dosing", write_single_register(12, 1, 0, 100));
    d2.observe(sw, &ok, secs(2000), &topo);
    assert_eq!(d2.alerts().len(), 1);
}

#[test]
fn a_polling_burst_raises_a_timing_alert() {
    let (mut d, topo) = learned(4.0);
    // Twenty reads 50 ms apart, where one a second is the rule.
    for k in 0..20u64 {
        let t = secs(1800) + SimDuration::from_millis(50 * k);
        poll(&mut d, &topo, k as u16, &[100, 200], t);
    }
    assert_eq!(sids(d.alerts()), [TIMING], "{:#?}", d.alerts());
    assert!(d.alerts()[0].signature.contains("usually every 1.000 s"));
    // A new talker is a new pair at any threshold.
    let sw = id(&topo, "sw-ctl");
    let rogue = modbus(&topo, "ws-01", "plc-dosing", read_holding_registers(1, 1, 0, 2));
    d.observe(sw, &rogue, secs(1900), &topo);
    assert_eq!(sids(d.alerts()), [TIMING, NEW_PAIR]);
}

#[test]
fn sweep_counts_do_not_grow_with_the_threshold() {
    let (mut d, topo) = learned(4.0);
    // Deviations of every size, some inside the cooldown of earlier ones.
    for (k, v) in [203u16, 205, 210, 230, 260, 190, 204, 222, 300, 198, 215]
        .iter()
        .enumerate()
    {
        poll(&mut d, &topo, k as u16, &[100, *v], secs(1800 + 37 * k as u64));
    }
    let counts = d.sweep_counts();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "{counts:?}");
    assert!(counts[0] > counts[SWEEP.len() - 1], "{counts:?}");
    // The configured threshold (4) counts exactly as the sweep's 4 does.
    let at4 = SWEEP.iter().position(|t| *t == 4.0).unwrap();
    assert_eq!(d.alerts().len() as u64, counts[at4]);
    let f = d.summary();
    assert_eq!(f["sweep"].as_array().unwrap().len(), SWEEP.len());
    assert_eq!(f["sweep"][at4]["alerts"], counts[at4]);
}

#[test]
fn garbage_never_panics() {
    let (mut d, topo) = learned(4.0);
    let sw = id(&topo, "sw-ctl");
    let good_req = read_holding_registers(7, 1, 0, 2);
    let good_resp = holding_response(7, 1, &[100, 200]);
    let write16 = write_multiple_registers(8, 1, 0, &[1, 2, 3]);
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut rand = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut t = secs(1800);
    for round in 0..3000u64 {
        let bytes: Vec<u8> = match round % 4 {
            // Every prefix of real ADUs, and their bytes with one corrupted.
            0 => good_req[..(round as usize / 4) % (good_req.len() + 1)].to_vec(),
            1 => {
                let mut b = good_resp.clone();
                let i = (rand() as usize) % b.len();
                b[i] = rand() as u8;
                b.truncate((rand() as usize) % (b.len() + 1));
                b
            }
            2 => {
                let mut b = write16.clone();
                let i = (rand() as usize) % b.len();
                b[i] = rand() as u8;
                b
            }
            // Random bytes of random length, with a plausible MBAP now and then.
            _ => {
                let n = (rand() as usize) % 300;
                let mut b: Vec<u8> = (0..n).map(|_| rand() as u8).collect();
                if n >= 8 && rand() % 2 == 0 {
                    b[2] = 0;
                    b[3] = 0;
                    b[4] = 0;
                    b[5] = (n - 6).min(255) as u8;
                    b[7] = [3, 4, 6, 16, 43][(rand() % 5) as usize];
                }
                b
            }
        };
        let req = modbus(&topo, "hmi-1", "plc-dosing", bytes.clone());
        d.observe(sw, &req, t, &topo);
        d.observe(sw, &reply_to(&req, Payload::Modbus(bytes.into())), t, &topo);
        t += SimDuration::from_millis(3);
    }
    let f = d.summary();
    assert!(f["malformed"].as_u64().unwrap() > 0);
}

#[test]
fn built_from_a_detector_set_and_counting_each_frame_once_across_taps() {
    use otrange_defenses::detect::{BuildContext, DetectorSet};
    use std::sync::Arc;
    let topo = Arc::new(topology());
    let cx = BuildContext {
        base: std::path::Path::new("."),
        topo: &topo,
        plant: None,
    };
    let set: DetectorSet = toml::from_str(
        r#"
        [[detector]]
        kind = "anomaly"
        name = "a"
        at = ["sw-sup", "sw-ctl"]
        learn = "30m"
        threshold = 6.5
        "#,
    )
    .unwrap();
    let d = &set.detectors[0];
    let a = Anomaly::from_config(d, &cx).unwrap();
    assert_eq!(a.threshold(), 6.5);
    // hmi-1's polls cross sw-sup, then sw-ctl: both taps see them, the model counts once
    // (the placed detector is shown each frame once).
    let mut placed = set.build(&cx).unwrap();
    let tap = &mut placed[0].middlebox;
    for s in 0..10u64 {
        let req = modbus(
            &topo,
            "hmi-1",
            "plc-dosing",
            read_holding_registers(s as u16, 1, 0, 1),
        );
        for node in ["sw-sup", "sw-ctl"] {
            let hop = Hop {
                node: id(&topo, node),
                now: secs(s),
                topo: &topo,
                enforcement: None,
            };
            tap.on_frame(&hop, &mut req.clone());
        }
    }
    assert_eq!(tap.sensor_summary().unwrap()["figures"]["frames_learned"], 10);
    // Settings it does not have, and thresholds that are no knob, are refused.
    let mut bad = d.clone();
    bad.rules = Some("x.rules".into());
    assert_eq!(Anomaly::from_config(&bad, &cx).err().unwrap().0, "rules");
    let mut bad = d.clone();
    bad.threshold = Some(-1.0);
    assert_eq!(Anomaly::from_config(&bad, &cx).err().unwrap().0, "threshold");
    assert!(set.build(&cx).is_ok());
}
