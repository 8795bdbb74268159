//! Process-aware invariants: a frozen view drifts from the sensor that sees the truth, a
//! tank whose level does not follow its flows breaks the mass balance, and a badly written
//! check is refused with the field that is wrong.

mod common;

use common::{id, modbus, reply_to, topology};
use otrange_defenses::detect::invariants::{DISAGREE, IMBALANCE, Invariants};
use otrange_defenses::detect::{BuildContext, Detector, DetectorSet};
use otrange_sim::net::topology::Topology;
use otrange_sim::net::{Frame, Payload};
use otrange_sim::wire::modbus::{read_coils, read_input_registers};
use otrange_sim::{SimDuration, SimTime};
use std::path::Path;
use std::sync::Arc;

fn build(text: &str, topo: &Arc<Topology>) -> Result<Invariants, (String, String)> {
    let set: DetectorSet = toml::from_str(text).expect("the detector set parses");
    let cx = BuildContext {
        base: Path::new("."),
        topo,
        plant: None,
    };
    Invariants::from_config(&set.detectors[0], &cx)
}

fn secs(s: u64) -> SimTime {
    SimTime::ZERO + SimDuration::from_secs(s)
}

/// A read request and its answer carrying `regs` (FC 4) or `bits` (FC 1).
fn exchange(
    topo: &Topology,
    client: &str,
    plc: &str,
    tid: u16,
    fc: u8,
    addr: u16,
    values: &[u16],
) -> (Frame, Frame) {
    let qty = values.len() as u16;
    let req = match fc {
        1 => read_coils(tid, 1, addr, qty),
        _ => read_input_registers(tid, 1, addr, qty),
    };
    let mut pdu = vec![fc];
    if fc == 1 {
        let mut bytes = vec![0u8; values.len().div_ceil(8)];
        for (i, v) in values.iter().enumerate() {
            if *v != 0 {
                bytes[i / 8] |= 1 << (i % 8);
            }
        }
        pdu.push(bytes.len() as u8);
        pdu.extend(bytes);
    } else {
        pdu.push((2 * values.len()) as u8);
        for v in values {
            pdu.extend(v.to_be_bytes());
        }
    }
    let mut adu = tid.to_be_bytes().to_vec();
    adu.extend([0, 0]);
    adu.extend(((pdu.len() + 1) as u16).to_be_bytes());
    adu.push(1);
    adu.extend(pdu);
    let request = modbus(topo, client, plc, req);
    let answer = reply_to(&request, Payload::Modbus(adu.into()));
    (request, answer)
}

const VIEW: &str = r#"
[[detector]]
kind = "invariants"
name = "inv"
at = ["sw-ctl", "hmi-1"]
[[detector.check]]
type = "agree"
name = "raw tank level"
a = { plc = "plc-intake", register = "ir:0", scale = 0.01, seen_at = "hmi-1" }
b = { plc = "plc-sis", register = "ir:0", scale = 0.01, seen_at = "sw-ctl" }
tolerance = 0.1
for = "15s"
technique = "T0832"
"#;

#[test]
fn a_frozen_view_is_flagged_once_it_has_drifted_for_long_enough() {
    let topo = Arc::new(topology());
    let (sw, hmi) = (id(&topo, "sw-ctl"), id(&topo, "hmi-1"));
    let mut d = build(VIEW, &topo).unwrap();
    // hmi-1 polls the intake PLC, hmi-2 the SIS, once a second. The view freezes at 2.80 m
    // after 60 s while the tank (as the SIS transmitter sees it) rises 1 cm a second.
    let mut first_alert = None;
    for s in 0..120u64 {
        let truth = 280 + s.saturating_sub(60) as u16;
        let shown = if s < 60 { truth } else { 280 };
        let (req, ans) = exchange(&topo, "hmi-1", "plc-intake", s as u16, 4, 0, &[truth, 0, 0, 0]);
        d.observe(sw, &req, secs(s), &topo);
        d.observe(sw, &ans, secs(s), &topo);
        let mut shown_ans = ans.clone();
        if let Payload::Modbus(adu) = &mut shown_ans.payload {
            adu[9..11].copy_from_slice(&shown.to_be_bytes());
        }
        d.observe(hmi, &shown_ans, secs(s), &topo);
        let (req, ans) = exchange(&topo, "hmi-2", "plc-sis", s as u16, 4, 0, &[truth, 0]);
        d.observe(sw, &req, secs(s), &topo);
        d.observe(sw, &ans, secs(s), &topo);
        if first_alert.is_none() && !d.alerts().is_empty() {
            first_alert = Some(s);
        }
    }
    // Out of tolerance from s = 71 (2.91 vs 2.80), reported 15 s later; once per episode.
    assert_eq!(first_alert, Some(86), "{:?}", d.alerts());
    assert_eq!(d.alerts().len(), 1);
    let a = &d.alerts()[0];
    assert_eq!(a.signature_id, DISAGREE);
    assert_eq!(a.technique.as_deref(), Some("T0832"));
    assert!(a.signature.contains("raw tank level"), "{}", a.signature);
}

#[test]
fn answers_seen_elsewhere_than_the_named_sensor_do_not_count() {
    let topo = Arc::new(topology());
    let sw = id(&topo, "sw-ctl");
    let mut d = build(VIEW, &topo).unwrap();
    // Only sw-ctl sees anything: hmi-1's view is unknown, so nothing can disagree.
    for s in 0..120u64 {
        let (req, ans) = exchange(&topo, "hmi-1", "plc-intake", s as u16, 4, 0, &[100, 0, 0, 0]);
        d.observe(sw, &req, secs(s), &topo);
        d.observe(sw, &ans, secs(s), &topo);
        let (req, ans) = exchange(&topo, "hmi-2", "plc-sis", s as u16, 4, 0, &[400, 0]);
        d.observe(sw, &req, secs(s), &topo);
        d.observe(sw, &ans, secs(s), &topo);
    }
    assert!(d.alerts().is_empty(), "{:?}", d.alerts());
}

const BALANCE: &str = r#"
[[detector]]
kind = "invariants"
name = "inv"
at = ["sw-ctl"]
[[detector.check]]
type = "balance"
name = "raw tank"
level = { plc = "plc-intake", register = "ir:0", scale = 0.01 }
area_m2 = 50.0
inflow = [{ plc = "plc-intake", register = "co:0", scale = 0.05 }]
outflow = [{ plc = "plc-dosing", register = "ir:2", scale = 0.0001 }]
window = "120s"
tolerance = 0.05
"#;

/// One second of polling: the level (cm), the duty pump's run bit, the outflow (0.1 L/s).
fn poll(d: &mut Invariants, topo: &Topology, s: u64, level_cm: u16, pump: u16, out: u16) {
    let sw = id(topo, "sw-ctl");
    let tid = s as u16;
    for (plc, fc, addr, values) in [
        ("plc-intake", 1, 0, vec![pump]),
        ("plc-dosing", 4, 2, vec![out]),
        ("plc-intake", 4, 0, vec![level_cm]),
    ] {
        let (req, ans) = exchange(topo, "hmi-1", plc, tid, fc, addr, &values);
        d.observe(sw, &req, secs(s), topo);
        d.observe(sw, &ans, secs(s), topo);
    }
}

#[test]
fn a_level_that_follows_its_flows_is_quiet_and_one_that_does_not_is_flagged() {
    let topo = Arc::new(topology());
    let mut d = build(BALANCE, &topo).unwrap();
    // Pump in 0.05 m3/s, 0.02 m3/s out: +0.03/50 m/s = 3.6 cm a minute, as reported.
    let mut level = 250.0_f64;
    for s in 0..600 {
        poll(&mut d, &topo, s, level.round() as u16, 1, 200);
        level += 0.06;
    }
    assert!(d.alerts().is_empty(), "{:?}", d.alerts());
    // Now the reported level stops moving (a spoofed report) while the flows go on.
    for s in 600..700 {
        poll(&mut d, &topo, s, level.round() as u16, 1, 200);
    }
    assert_eq!(d.alerts().len(), 1, "{:?}", d.alerts());
    let a = &d.alerts()[0];
    assert_eq!(a.signature_id, IMBALANCE);
    // 5 cm of missing rise at 3.6 cm a minute: flagged within 90 s of the freeze.
    assert!(a.t >= secs(600) && a.t <= secs(690), "{:?}", a.t);
}

#[test]
fn bad_checks_name_the_field() {
    let topo = Arc::new(topology());
    let cases = [
        (
            VIEW.replace("plc = \"plc-sis\"", "plc = \"plc-sys\""),
            "check[0].b.plc",
            "unknown host \"plc-sys\"",
        ),
        (
            VIEW.replace(
                "\"ir:0\", scale = 0.01, seen_at = \"hmi-1\"",
                "\"xr:0\", seen_at = \"hmi-1\"",
            ),
            "check[0].a.register",
            "expected an operand",
        ),
        (
            VIEW.replace("type = \"agree\"", "type = \"agreed\""),
            "check[0].type",
            "unknown variant `agreed`",
        ),
        (
            VIEW.replace("tolerance = 0.1", "tolerance = -1.0"),
            "check[0].tolerance",
            "positive",
        ),
        (
            VIEW.replace("for = \"15s\"", "for = \"soon\""),
            "check[0].for",
            "soon",
        ),
        (
            BALANCE.replace("window = \"120s\"", "window = \"120s\"\nlevel_max = 5"),
            "check[0].level_max",
            "unknown field `level_max`",
        ),
        (
            VIEW.replace("name = \"inv\"", "name = \"inv\"\nlearn = \"1h\""),
            "learn",
            "no \"learn\" setting",
        ),
    ];
    for (text, field, message) in cases {
        let Err((f, m)) = build(&text, &topo) else {
            panic!("accepted a bad check: {text}");
        };
        assert_eq!(f, field, "{m}");
        assert!(m.contains(message), "{f}: {m}");
    }
    let none = "[[detector]]\nkind = \"invariants\"\nname = \"inv\"\nat = [\"sw-ctl\"]\n";
    let (f, m) = build(none, &topo)
        .err()
        .expect("a detector without checks is refused");
    assert_eq!(f, "check");
    assert!(m.contains("at least one"), "{m}");
}

#[test]
fn garbage_answers_never_panic() {
    let topo = Arc::new(topology());
    let sw = id(&topo, "sw-ctl");
    let mut d = build(VIEW, &topo).unwrap();
    let (req, ans) = exchange(&topo, "hmi-1", "plc-intake", 7, 4, 0, &[1, 2, 3, 4]);
    d.observe(sw, &req, secs(1), &topo);
    let Payload::Modbus(good) = &ans.payload else {
        unreachable!()
    };
    let mut x = 0x2545_f491_u32;
    for len in 0..good.len() + 4 {
        for _ in 0..50 {
            let mut bytes = good.clone();
            bytes.resize(len, 0);
            for b in bytes.iter_mut().skip(2) {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                if x.is_multiple_of(3) {
                    *b = x as u8;
                }
            }
            let mut f = ans.clone();
            f.payload = Payload::Modbus(bytes);
            d.observe(sw, &f, secs(2), &topo);
        }
    }
}

/// Two transmitters of one negative temperature, held as devices hold such values: a signed
/// 16-bit register in 0.1 °C, and a 32-bit float with its low word first. Read as plain
/// registers they would be 65,483 and garbage; typed, they agree until one is spoofed.
const TYPED: &str = r#"
[[detector]]
kind = "invariants"
name = "inv"
at = ["sw-ctl"]
[[detector.check]]
type = "agree"
name = "outdoor temperature"
a = { plc = "plc-intake", register = "ir:0:i16", scale = 0.1 }
b = { plc = "plc-sis", register = "ir:2:f32:low_first", offset = 0.0 }
tolerance = 0.5
for = "5s"
"#;

#[test]
fn typed_signals_are_decoded_before_they_are_compared() {
    let topo = Arc::new(topology());
    let sw = id(&topo, "sw-ctl");
    let mut d = build(TYPED, &topo).unwrap();
    // -5.3 °C is -53 in the signed register (0xFFCB); -5.25 as an f32 is 0xC0A80000, sent
    // low word first. After 30 s the float is spoofed to +20.0 (0x41A00000).
    let mut first_alert = None;
    for s in 0..60u64 {
        let float: [u16; 2] = if s < 30 {
            [0x0000, 0xC0A8]
        } else {
            [0x0000, 0x41A0]
        };
        let (req, ans) = exchange(&topo, "hmi-1", "plc-intake", s as u16, 4, 0, &[0xFFCB]);
        d.observe(sw, &req, secs(s), &topo);
        d.observe(sw, &ans, secs(s), &topo);
        let (req, ans) = exchange(
            &topo,
            "hmi-2",
            "plc-sis",
            s as u16,
            4,
            0,
            &[0, 0, float[0], float[1]],
        );
        d.observe(sw, &req, secs(s), &topo);
        d.observe(sw, &ans, secs(s), &topo);
        if first_alert.is_none() && !d.alerts().is_empty() {
            first_alert = Some(s);
        }
    }
    assert_eq!(first_alert, Some(35), "{:?}", d.alerts());
}

#[test]
fn a_typed_signal_past_the_answer_or_on_a_bit_is_refused_or_ignored() {
    let topo = Arc::new(topology());
    let bad = TYPED.replace("ir:0:i16", "co:0:i16");
    let Err((field, msg)) = build(&bad, &topo) else {
        panic!("a type on a coil must be refused");
    };
    assert!(field.ends_with("a.register"), "{field}");
    assert!(msg.contains("is a bit"), "{msg}");
    // A float whose second word is not in the answer is not read (one register only).
    let sw = id(&topo, "sw-ctl");
    let mut d = build(TYPED, &topo).unwrap();
    for s in 0..30u64 {
        let (req, ans) = exchange(&topo, "hmi-1", "plc-intake", s as u16, 4, 0, &[0xFFCB]);
        d.observe(sw, &req, secs(s), &topo);
        d.observe(sw, &ans, secs(s), &topo);
        let (req, ans) = exchange(&topo, "hmi-2", "plc-sis", s as u16, 4, 0, &[0, 0, 0x0000]);
        d.observe(sw, &req, secs(s), &topo);
        d.observe(sw, &ans, secs(s), &topo);
    }
    assert!(d.alerts().is_empty(), "{:?}", d.alerts());
}
