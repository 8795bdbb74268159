//! The allow-list detector: quiet on what it learned, loud on what is new, and its alerts
//! in Suricata's EVE shape.

mod common;

use common::{at, flow, id, modbus, topology};
use otrange_defenses::detect::allowlist::{NEW_FLOW, NEW_FUNCTION, NEW_REGISTERS};
use otrange_defenses::detect::{AllowList, Detector};
use otrange_sim::net::topology::Service;
use otrange_sim::wire::modbus::{diagnostics, read_holding_registers, write_single_register};

#[test]
fn learned_traffic_is_quiet_and_anything_new_is_flagged_once() {
    let topo = topology();
    let sw = id(&topo, "sw-ctl");
    let mut d = AllowList::new("allow-list", at(0, 30));
    // Learning: hmi-1 reads holding registers 0..=11 of plc-dosing; ws-01 resolves names.
    let learned = modbus(&topo, "hmi-1", "plc-dosing", read_holding_registers(1, 1, 0, 12));
    d.observe(sw, &learned, at(0, 1), &topo);
    d.observe(sw, &flow(&topo, "ws-01", "dc-01", Service::Dns), at(0, 2), &topo);
    // After learning: the same traffic raises nothing.
    d.observe(sw, &learned, at(1, 0), &topo);
    d.observe(
        sw,
        &modbus(&topo, "hmi-1", "plc-dosing", read_holding_registers(2, 1, 4, 4)),
        at(1, 0),
        &topo,
    );
    assert!(d.alerts().is_empty(), "{:?}", d.alerts());
    // New: a write (Oldsmar), registers beyond the learned span, a diagnostics request,
    // and a flow never seen.
    let write = modbus(
        &topo,
        "hmi-1",
        "plc-dosing",
        write_single_register(3, 1, 0, 11100),
    );
    d.observe(sw, &write, at(1, 1), &topo);
    d.observe(sw, &write, at(1, 2), &topo);
    d.observe(
        sw,
        &modbus(&topo, "hmi-1", "plc-dosing", read_holding_registers(4, 1, 20, 8)),
        at(1, 3),
        &topo,
    );
    d.observe(
        sw,
        &modbus(&topo, "hmi-1", "plc-dosing", diagnostics(5, 1, 4, &[0, 0])),
        at(1, 4),
        &topo,
    );
    d.observe(
        sw,
        &flow(&topo, "ws-01", "jump-01", Service::Rdp),
        at(1, 5),
        &topo,
    );
    let sids: Vec<u64> = d.alerts().iter().map(|a| a.signature_id).collect();
    assert_eq!(
        sids,
        [NEW_FUNCTION, NEW_REGISTERS, NEW_FUNCTION, NEW_FLOW],
        "{:#?}",
        d.alerts()
    );
    assert_eq!(
        d.alerts()[0].signature,
        "new Modbus function 6 from hmi-1 to plc-dosing (unit 1)"
    );
    assert_eq!(
        d.alerts()[1].signature,
        "Modbus function 3 from hmi-1 to plc-dosing touches registers 20..=27, learned 0..=11"
    );
    assert_eq!(d.alerts()[0].frames, vec![write.id.0]);
}

#[test]
fn alerts_export_as_suricata_eve_alert_events() {
    let topo = topology();
    let mut d = AllowList::new("allow-list", at(0, 0));
    let w = modbus(
        &topo,
        "hmi-1",
        "plc-dosing",
        write_single_register(3, 1, 0, 11100),
    );
    d.observe(id(&topo, "sw-ctl"), &w, at(0, 10), &topo);
    // Nothing was learned: the flow itself is new, and so is the function.
    let sids: Vec<u64> = d.alerts().iter().map(|a| a.signature_id).collect();
    assert_eq!(sids, [NEW_FLOW, NEW_FUNCTION]);
    let eve = d.alerts()[1].to_eve(0, &topo);
    assert_eq!(eve["event_type"], "alert");
    assert_eq!(eve["timestamp"], "1970-01-01T00:10:00.000000+0000");
    assert_eq!(eve["src_ip"], "10.20.1.11");
    assert_eq!(eve["dest_ip"], "10.10.1.22");
    assert_eq!(eve["dest_port"], 502);
    assert_eq!(eve["proto"], "TCP");
    assert_eq!(eve["alert"]["signature_id"], NEW_FUNCTION);
    assert_eq!(eve["alert"]["severity"], 1);
    assert_eq!(eve["otrange"]["src"], "hmi-1");
}
