//! Passive asset discovery: identities from FC 43 answers, role guesses, coverage against
//! the declared inventory, unknown and mis-identified devices, and a capture's inventory
//! without a declared one.

mod common;

use common::{at, flow, id, modbus, plant_config, reply_to, topology};
use otrange_defenses::detect::Detector;
use otrange_defenses::detect::inventory::{IDENTITY_MISMATCH, Inventory, UNKNOWN_HOST, parse_identity};
use otrange_sim::devices::modbus::DeviceIdentity;
use otrange_sim::net::topology::{Service, Topology};
use otrange_sim::net::{Frame, Payload};
use otrange_sim::plant::PlantConfig;
use otrange_sim::wire::modbus::{
    diagnostics, read_device_identification, read_holding_registers, report_server_id,
};
use serde_json::Value;
use std::sync::Arc;

/// A response ADU: MBAP with `tid`, unit 1, then `pdu`.
fn adu(tid: u16, pdu: &[u8]) -> Vec<u8> {
    let mut b = tid.to_be_bytes().to_vec();
    b.extend_from_slice(&[0, 0]);
    b.extend_from_slice(&(1 + pdu.len() as u16).to_be_bytes());
    b.push(1);
    b.extend_from_slice(pdu);
    b
}

/// The FC 43/14 answer (basic stream) of a device with this identity.
fn identity_answer(vendor: &str, product: &str, revision: &str) -> Vec<u8> {
    let id = DeviceIdentity {
        vendor_name: vendor.into(),
        product_code: product.into(),
        major_minor_revision: revision.into(),
        ..DeviceIdentity::default()
    };
    let mut pdu = vec![0x2B];
    pdu.extend(id.read_device_identification(1, 0).unwrap());
    adu(5, &pdu)
}

/// `client` asks `server` with `request`, and `server` answers `answer`.
fn exchange(
    d: &mut Inventory,
    topo: &Topology,
    client: &str,
    server: &str,
    request: Vec<u8>,
    answer: Vec<u8>,
) {
    let sw = id(topo, "sw-ctl");
    let q = modbus(topo, client, server, request);
    d.observe(sw, &q, at(0, 1), topo);
    d.observe(sw, &reply_to(&q, Payload::Modbus(answer.into())), at(0, 1), topo);
}

fn entry<'a>(inv: &'a Value, name: &str) -> &'a Value {
    inv["inventory"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in the inventory: {inv:#}"))
}

fn plant_inventory() -> (Inventory, Arc<Topology>, PlantConfig) {
    let cfg = plant_config();
    let topo = Arc::new(topology());
    (
        Inventory::new("inventory", Arc::clone(&topo), Some(&cfg)),
        topo,
        cfg,
    )
}

#[test]
fn device_identification_answers_fill_vendor_product_and_revision() {
    let (mut d, topo, _) = plant_inventory();
    // The plant declares plc-dosing a Schneider Electric BMX P34 2020: no mismatch.
    exchange(
        &mut d,
        &topo,
        "ews-01",
        "plc-dosing",
        read_device_identification(5, 1, 1, 0),
        identity_answer("Schneider Electric", "BMX P34 2020", "v3.20"),
    );
    exchange(
        &mut d,
        &topo,
        "ews-01",
        "plc-dosing",
        report_server_id(6, 1),
        adu(6, &[0x11, 5, 0x01, 0xFF, b'M', b'3', b'4']),
    );
    assert!(d.alerts().is_empty(), "{:#?}", d.alerts());
    let s = d.summary();
    let plc = entry(&s, "plc-dosing");
    assert_eq!(plc["vendor"], "Schneider Electric");
    assert_eq!(plc["product_code"], "BMX P34 2020");
    assert_eq!(plc["revision"], "v3.20");
    assert_eq!(plc["server_id"], "01ff4d3334");
    assert_eq!(plc["address"], "10.10.1.22");
    assert_eq!(plc["unit_ids"], serde_json::json!([1]));
    assert_eq!(plc["function_codes_as_server"], serde_json::json!([17, 43]));
    assert_eq!(
        entry(&s, "ews-01")["function_codes_as_client"],
        serde_json::json!([17, 43])
    );
}

#[test]
fn identity_answers_are_parsed_strictly() {
    let good = identity_answer("AB", "C", "1");
    let pdu = &good[7..];
    let [v, p, r, n] = parse_identity(pdu).unwrap();
    assert_eq!(
        (v.as_deref(), p.as_deref(), r.as_deref(), n),
        (Some("AB"), Some("C"), Some("1"), None)
    );
    // One byte short, one byte too many, a count claiming more objects, another MEI type.
    assert!(parse_identity(&pdu[..pdu.len() - 1]).is_none());
    let mut long = pdu.to_vec();
    long.push(0);
    assert!(parse_identity(&long).is_none());
    let mut more = pdu.to_vec();
    more[6] = 4;
    assert!(parse_identity(&more).is_none());
    let mut mei = pdu.to_vec();
    mei[1] = 0x0D;
    assert!(parse_identity(&mei).is_none());
    for n in 0..pdu.len() {
        assert!(parse_identity(&pdu[..n]).is_none(), "prefix {n}");
    }
}

#[test]
fn a_device_identifying_as_something_else_is_flagged_once() {
    let (mut d, topo, _) = plant_inventory();
    for _ in 0..3 {
        exchange(
            &mut d,
            &topo,
            "ews-01",
            "plc-filter",
            read_device_identification(5, 1, 1, 0),
            identity_answer("Siemens", "6ES7 315-2EH14", "V3.3"),
        );
    }
    let alerts = d.alerts();
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0].signature_id, IDENTITY_MISMATCH);
    assert_eq!(alerts[0].src, id(&topo, "plc-filter"));
    assert_eq!(
        alerts[0].signature,
        "plc-filter identifies as Siemens 6ES7 315-2EH14, declared Schneider Electric BMX P34 2020"
    );
}

#[test]
fn roles_are_guessed_from_behaviour() {
    let (mut d, topo, _) = plant_inventory();
    for tid in 0..12 {
        exchange(
            &mut d,
            &topo,
            "hmi-1",
            "plc-intake",
            read_holding_registers(tid, 1, 0, 2),
            adu(tid, &[3, 4, 0, 1, 0, 2]),
        );
    }
    // One read is a look, not a poll.
    exchange(
        &mut d,
        &topo,
        "hmi-2",
        "plc-dist",
        read_holding_registers(1, 1, 0, 1),
        adu(1, &[3, 2, 0, 7]),
    );
    exchange(
        &mut d,
        &topo,
        "ews-01",
        "plc-sis",
        diagnostics(1, 1, 0, &[0, 0]),
        adu(1, &[8, 0, 0, 0, 0]),
    );
    let sw = id(&topo, "sw-ent");
    let dns = flow(&topo, "ws-01", "dc-01", Service::Dns);
    d.observe(sw, &dns, at(0, 2), &topo);
    d.observe(sw, &reply_to(&dns, dns.payload.clone()), at(0, 2), &topo);
    let s = d.summary();
    let role = |n: &str| entry(&s, n)["role"].as_str().unwrap().to_string();
    assert_eq!(role("hmi-1"), "hmi/scada");
    assert_eq!(role("hmi-2"), "modbus-client");
    assert_eq!(role("ews-01"), "engineering-workstation");
    assert_eq!(role("plc-intake"), "modbus-server (plc)");
    assert_eq!(role("plc-sis"), "modbus-server (plc)");
    assert_eq!(role("ws-01"), "it-host");
    assert_eq!(role("dc-01"), "it-host");
    assert_eq!(entry(&s, "dc-01")["services_served"], serde_json::json!(["dns"]));
    assert_eq!(entry(&s, "ws-01")["services_used"], serde_json::json!(["dns"]));
    // Sorted by address: the PLCs (10.10.1.x) before the HMIs (10.20.1.x).
    let addrs: Vec<&str> = s["inventory"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["address"].as_str().unwrap())
        .collect();
    let mut sorted = addrs.clone();
    sorted.sort_by_key(|a| a.parse::<std::net::Ipv4Addr>().unwrap());
    assert_eq!(addrs, sorted);
}

/// A plant of four end hosts behind one switch; the last is nobody's.
const TINY: &str = r#"
[plant]
name = "tiny"
[[zone]]
name = "control"
level = "L1"
[[host]]
name = "sw"
role = "switch"
zone = "control"
address = "10.0.0.1"
[[host]]
name = "hmi"
role = "hmi"
zone = "control"
address = "10.0.0.10"
[[host]]
name = "plc-a"
role = "plc"
zone = "control"
address = "10.0.0.20"
services = ["modbus"]
[[host]]
name = "plc-b"
role = "plc"
zone = "control"
address = "10.0.0.21"
services = ["modbus"]
[[host]]
name = "rogue"
role = "workstation"
zone = "control"
address = "10.0.0.99"
declared = false
[[link]]
a = "hmi"
b = "sw"
[[link]]
a = "plc-a"
b = "sw"
[[link]]
a = "plc-b"
b = "sw"
[[link]]
a = "rogue"
b = "sw"
"#;

fn tiny() -> (PlantConfig, Arc<Topology>) {
    let cfg: PlantConfig = toml::from_str(TINY).unwrap();
    let topo = Arc::new(Topology::build(&cfg.zones, &cfg.hosts, &cfg.links).unwrap());
    (cfg, topo)
}

fn tiny_traffic(d: &mut Inventory, topo: &Topology) {
    let sw = id(topo, "sw");
    let poll = modbus(topo, "hmi", "plc-a", read_holding_registers(1, 1, 0, 1));
    d.observe(sw, &poll, at(0, 1), topo);
    d.observe(
        sw,
        &reply_to(&poll, Payload::Modbus(adu(1, &[3, 2, 0, 9]).into())),
        at(0, 1),
        topo,
    );
    // The rogue host reads plc-a twice; plc-b never says a word.
    for m in [2, 3] {
        let r: Frame = modbus(topo, "rogue", "plc-a", read_holding_registers(2, 1, 0, 1));
        d.observe(sw, &r, at(0, m), topo);
    }
}

#[test]
fn coverage_missing_and_unknown_against_the_declared_inventory() {
    let (cfg, topo) = tiny();
    let mut d = Inventory::new("inventory", Arc::clone(&topo), Some(&cfg));
    tiny_traffic(&mut d, &topo);
    // Declared end hosts: hmi, plc-a, plc-b (not the switch, not the rogue). Heard: hmi and
    // plc-a, so two thirds.
    let s = d.summary();
    assert_eq!(s["declared"], 3);
    assert_eq!(s["seen"], 3);
    assert_eq!(s["seen_declared"], 2);
    assert!((s["coverage_percent"].as_f64().unwrap() - 200.0 / 3.0).abs() < 1e-9);
    assert_eq!(s["missing"], serde_json::json!(["plc-b"]));
    assert_eq!(s["unknown"], serde_json::json!(["rogue"]));
    assert_eq!(d.coverage().map(|c| c.round()), Some(67.0));
    // One alert for the rogue, at its first frame, however often it talks.
    let alerts = d.alerts();
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0].signature_id, UNKNOWN_HOST);
    assert_eq!(alerts[0].severity, 1);
    assert_eq!(alerts[0].technique, None);
    assert_eq!(alerts[0].t, at(0, 2));
    assert_eq!(
        alerts[0].signature,
        "unknown device rogue (10.0.0.99) not in the asset register"
    );
    assert_eq!(entry(&s, "rogue")["declared"], false);
}

#[test]
fn a_capture_has_an_inventory_but_no_declared_one() {
    let (_, topo) = tiny();
    let mut d = Inventory::new("inventory", Arc::clone(&topo), None);
    tiny_traffic(&mut d, &topo);
    assert!(d.alerts().is_empty());
    let s = d.summary();
    assert_eq!(s["coverage_percent"], Value::Null);
    assert_eq!(s["declared"], Value::Null);
    assert_eq!(s["missing"], Value::Null);
    assert_eq!(s["unknown"], Value::Null);
    assert_eq!(s["seen"], 3);
    assert_eq!(entry(&s, "rogue")["declared"], Value::Null);
    assert_eq!(entry(&s, "plc-a")["role"], "modbus-server (plc)");
}
