//! The rules detector: Suricata-syntax Modbus rules as a user writes them, the errors a
//! typo gets, what each keyword matches on real Modbus bytes, thresholds in simulated time,
//! and the two shipped rule sets (Quickdraw, and the one tuned for the reference plant).

mod common;

use common::{at, flow, id, modbus, reply_to, repo, topology};
use otrange_defenses::detect::rules::{RuleError, RulesDetector};
use otrange_defenses::detect::{BuildContext, Detector, DetectorConfig};
use otrange_sim::base::time::{SimDuration, SimTime};
use otrange_sim::net::topology::{Service, Topology};
use otrange_sim::net::{Frame, FrameId, Payload};
use otrange_sim::wire::modbus as mb;
use std::collections::BTreeMap;
use std::sync::Arc;

// ── helpers ──────────────────────────────────────────────────────────────────────────────

fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn load_with(text: &str, topo: &Topology, v: &BTreeMap<String, String>) -> RulesDetector {
    RulesDetector::from_text("rules", text, "test.rules", v, topo).unwrap_or_else(|e| panic!("{e}"))
}

fn load(text: &str, topo: &Topology) -> RulesDetector {
    load_with(text, topo, &BTreeMap::new())
}

fn error(text: &str, topo: &Topology, v: &BTreeMap<String, String>) -> RuleError {
    match RulesDetector::from_text("rules", text, "test.rules", v, topo) {
        Ok(_) => panic!("rules loaded but should not have:\n{text}"),
        Err(e) => e,
    }
}

/// Sids raised by one frame, observed at `t`.
fn fire(d: &mut RulesDetector, topo: &Topology, f: &Frame, t: SimTime) -> Vec<u64> {
    let before = d.alerts().len();
    d.observe(id(topo, "sw-ctl"), f, t, topo);
    d.alerts()[before..].iter().map(|a| a.signature_id).collect()
}

fn fire0(d: &mut RulesDetector, topo: &Topology, f: &Frame) -> Vec<u64> {
    fire(d, topo, f, SimTime::ZERO)
}

fn secs(s: u64) -> SimTime {
    SimTime::ZERO + SimDuration::from_secs(s)
}

/// The Modbus answer `bytes` to request `f`.
fn answer(f: &Frame, bytes: Vec<u8>) -> Frame {
    reply_to(f, Payload::Modbus(bytes.into()))
}

/// An exception response from the server of `f`: function code | 0x80, exception code.
fn exception(f: &Frame, code: u8) -> Frame {
    let fc = f.modbus_function().unwrap_or(3);
    answer(f, vec![0, 1, 0, 0, 0, 3, 1, fc | 0x80, code])
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn plant_vars() -> BTreeMap<String, String> {
    vars(&[
        ("MODBUS_CLIENT", "[hmi-1, hmi-2, historian]"),
        ("ENGINEERING", "ews-01"),
        ("DOSING", "plc-dosing"),
        ("REMOTE_ACCESS", "vpn-gw"),
    ])
}

fn shipped(name: &str) -> String {
    std::fs::read_to_string(repo().join(format!("scenarios/detectors/rules/{name}"))).unwrap()
}

/// A one-rule set: `header` then options `opts` (sid added).
fn rule(header: &str, opts: &str) -> String {
    format!("{header} ({opts} sid:1;)\n")
}

const TO_PLC: &str = "alert modbus any any -> any 502";

// ── parsing ──────────────────────────────────────────────────────────────────────────────

#[test]
fn shipped_rule_sets_load_against_the_reference_plant() {
    let topo = topology();
    let q = load_with(&shipped("quickdraw-modbus.rules"), &topo, &plant_vars());
    assert_eq!(q.rule_count(), 14);
    // Quickdraw with only the built-in defaults (PLCs as servers, HMIs/historian/EWS as clients).
    assert_eq!(load(&shipped("quickdraw-modbus.rules"), &topo).rule_count(), 14);
    let p = load_with(&shipped("plant-modbus.rules"), &topo, &plant_vars());
    assert_eq!(p.rule_count(), 23);
}

#[test]
fn a_rules_detector_builds_from_a_detector_set_entry() {
    let topo = Arc::new(topology());
    let base = repo().join("scenarios/detectors");
    let cx = BuildContext {
        base: &base,
        topo: &topo,
        plant: None,
    };
    let entry = |extra: &str| -> DetectorConfig {
        toml::from_str(&format!(
            "kind = \"rules\"\nname = \"quickdraw\"\nat = [\"sw-ctl\"]\n{extra}"
        ))
        .unwrap()
    };
    let ok = entry(
        "rules = \"rules/plant-modbus.rules\"\nvars = { MODBUS_CLIENT = \"[hmi-1, hmi-2, historian]\", ENGINEERING = \"ews-01\", DOSING = \"plc-dosing\", REMOTE_ACCESS = \"vpn-gw\" }",
    );
    let d = RulesDetector::from_config(&ok, &cx).unwrap();
    assert_eq!(d.rule_count(), 23);
    assert_eq!(d.name(), "quickdraw");
    // The generic path used by detector-set files.
    assert!(ok.detector(&cx).is_ok());

    let missing = entry("rules = \"rules/none.rules\"");
    let (field, msg) = RulesDetector::from_config(&missing, &cx).err().unwrap();
    assert_eq!(field, "rules");
    assert!(msg.contains("cannot read"), "{msg}");

    let learn = entry("rules = \"rules/plant-modbus.rules\"\nlearn = \"1h\"");
    assert_eq!(RulesDetector::from_config(&learn, &cx).err().unwrap().0, "learn");

    let bad_var = entry("rules = \"rules/plant-modbus.rules\"\nvars = { ENGINEERING = \"ews-99\" }");
    let (field, msg) = RulesDetector::from_config(&bad_var, &cx).err().unwrap();
    assert_eq!(field, "vars.ENGINEERING");
    assert!(msg.contains("ews-99"), "{msg}");
    // The fault is the variable's value, not a line of the rules file: no `file:0:`.
    assert!(
        msg.starts_with("\"$ENGINEERING\": in the value \"ews-99\""),
        "{msg}"
    );
    assert!(msg.contains("(a variable given to the rules of "), "{msg}");
    assert!(msg.ends_with("plant-modbus.rules)"), "{msg}");
    assert!(!msg.contains(".rules:0"), "{msg}");
}

#[test]
fn syntax_errors_name_file_line_and_keyword() {
    let topo = topology();
    let none = BTreeMap::new();
    let cases: [(&str, usize, &str, &str); 16] = [
        (
            "# comment\n\nalert modbus any any -> any 502 (msg:\"x\"; modbus: fuction 8; sid:1;)\n",
            3,
            "modbus",
            "unknown setting \"fuction\": expected function, access or unit",
        ),
        (
            "alert modbus any any -> any 502 (msg:\"x\"; sids:1;)",
            1,
            "sids",
            "unknown option",
        ),
        (
            "alert modbus any any -> any 502 (msg:\"x\"; modbus: function 8;)",
            1,
            "sid",
            "missing sid",
        ),
        (
            "alert modbus any any -> any 502 (sid:7;)\n\nalert modbus any any -> any 502 (sid:7;)",
            3,
            "sid",
            "duplicate sid 7: already used on line 1",
        ),
        (
            "alert modbus $NOPE any -> any 502 (sid:1;)",
            1,
            "$NOPE",
            "undefined variable",
        ),
        (
            "alert modbus 10.0.0.300 any -> any 502 (sid:1;)",
            1,
            "10.0.0.300",
            "source address",
        ),
        (
            "alert modbus any any -> [10.0.0.1, 10.0.0.2 any 502 (sid:1;)",
            1,
            "[10.0.0.1,",
            "not closed",
        ),
        (
            "alert modbus any any -> 10.0.0.0/33 502 (sid:1;)",
            1,
            "10.0.0.0/33",
            "prefix length",
        ),
        ("alert modbus any any -> any 70000 (sid:1;)", 1, "70000", "port"),
        (
            "alert modbus any any -> any 502 (content:\"|00 00; sid:1;)",
            1,
            "content",
            "unterminated",
        ),
        (
            "alert modbus any any -> any 502 (content:\"|00 0|\"; sid:1;)",
            1,
            "content",
            "hex digits",
        ),
        (
            "alert modbus any any -> any 502 (threshold: type often, track by_src, count 3, seconds 60; sid:1;)",
            1,
            "threshold",
            "type \"often\"",
        ),
        (
            "alert modbus any any -> any 502 (threshold: type limit, count 3, seconds 60; sid:1;)",
            1,
            "threshold",
            "missing track",
        ),
        ("alert modbus any any => any 502 (sid:1;)", 1, "=>", "direction"),
        (
            "log modbus any any -> any 502 (sid:1;)",
            1,
            "log",
            "unknown action",
        ),
        (
            "alert modbus any any -> any 502 (offset:2; sid:1;)",
            1,
            "offset",
            "after one",
        ),
    ];
    for (text, line, keyword, msg) in cases {
        let e = error(text, &topo, &none);
        assert_eq!(
            (e.file.as_str(), e.line, e.keyword.as_str()),
            ("test.rules", line, keyword),
            "{e}"
        );
        assert!(e.message.contains(msg), "{e} should say {msg:?}");
    }
    // The Display form, as `otrange` prints it.
    let e = error(
        "\n\n\n\n\n\n\n\n\n\n\nalert modbus any any -> any 502 (modbus: fuction 8; sid:1;)",
        &topo,
        &none,
    );
    assert_eq!(
        e.to_string(),
        "test.rules:12: \"modbus\": unknown setting \"fuction\": expected function, access or unit"
    );
    // A continued rule reports its first line.
    let e = error(
        "alert modbus any any -> any 502 \\\n  (msg:\"x\"; \\\n  bogus:1; sid:1;)",
        &topo,
        &none,
    );
    assert_eq!((e.line, e.keyword.as_str()), (1, "bogus"));
    // More modbus settings.
    for (opts, msg) in [
        ("modbus: function 300;", "0..=255"),
        ("modbus: function 8, sub 4;", "expected subfunction"),
        ("modbus: access erase;", "expected read or write"),
        ("modbus: access write input;", "read-only"),
        ("modbus: access read holding, value 3;", "write access only"),
        ("modbus: function !8;", "categories only"),
        ("byte_test:1,>,3,7,relative;", "relative"),
        ("byte_test:1,~,3,7;", "unknown operator"),
        ("app-layer-event: modbus.flooded;", "not supported"),
        ("flow:sideways;", "unknown flow setting"),
        ("dsize:5<>2;", "empty"),
    ] {
        let e = error(&rule(TO_PLC, opts), &topo, &none);
        let kw = opts.split(':').next().unwrap();
        assert_eq!(e.keyword, kw, "{e}");
        assert!(e.message.contains(msg), "{e} should say {msg:?}");
    }
}

#[test]
fn variables_resolve_host_names_lists_and_other_variables() {
    let topo = topology();
    let v = vars(&[
        ("OPERATORS", "[hmi-1, hmi-2]"),
        ("CLIENTS", "[$OPERATORS, historian, 10.20.1.20]"),
        ("LOOP", "[$LOOP]"),
    ]);
    // A cycle is reported on the variable.
    let e = error(&rule(TO_PLC, ""), &topo, &v);
    assert_eq!((e.line, e.keyword.as_str()), (0, "$LOOP"), "{e}");
    let v = vars(&[
        ("OPERATORS", "[hmi-1, hmi-2]"),
        ("CLIENTS", "[$OPERATORS, historian, 10.20.1.20]"),
    ]);
    let mut d = load_with(
        &rule("alert modbus !$CLIENTS any -> $PLCS 502", "modbus: access read;"),
        &topo,
        &v,
    );
    let read = |src: &str| modbus(&topo, src, "plc-intake", mb::read_holding_registers(1, 1, 0, 4));
    for ok in ["hmi-1", "hmi-2", "historian", "ews-01"] {
        assert!(fire0(&mut d, &topo, &read(ok)).is_empty(), "{ok}");
    }
    assert_eq!(fire0(&mut d, &topo, &read("ws-01")), [1]);
    // $PLCS: only PLCs are servers; a read to the historian's port 502 is not to a PLC.
    assert!(
        fire0(
            &mut d,
            &topo,
            &modbus(&topo, "ws-01", "historian", mb::read_coils(1, 1, 0, 1))
        )
        .is_empty()
    );
    // Host names are for vars; in a rule a bare word is an error.
    let e = error(
        &rule("alert modbus hmi-1 any -> any 502", ""),
        &topo,
        &BTreeMap::new(),
    );
    assert_eq!(e.keyword, "hmi-1");
    assert!(e.message.contains("host names go in vars"), "{e}");
}

#[test]
fn built_in_variables_follow_the_plant_roles() {
    let topo = topology();
    let text = "alert modbus $MODBUS_CLIENT any -> $MODBUS_SERVER 502 (modbus: function 17; sid:1;)\n\
                alert modbus $EXTERNAL_NET any -> $HOME_NET 502 (modbus: function 17; sid:2;)\n";
    let mut d = load(text, &topo);
    let id17 = |src: &str, dst: &str| modbus(&topo, src, dst, mb::report_server_id(1, 1));
    // EXTERNAL_NET is any while HOME_NET is any.
    assert_eq!(fire0(&mut d, &topo, &id17("ews-01", "plc-sis")), [1, 2]);
    assert_eq!(fire0(&mut d, &topo, &id17("ws-01", "plc-sis")), [2]);
    let mut d = load_with(
        text,
        &topo,
        &vars(&[("HOME_NET", "[10.10.0.0/16, 10.20.0.0/16]")]),
    );
    // EXTERNAL_NET = !HOME_NET now: the EWS is home, an office workstation is not.
    assert_eq!(fire0(&mut d, &topo, &id17("ews-01", "plc-sis")), [1]);
    assert_eq!(fire0(&mut d, &topo, &id17("ws-01", "plc-sis")), [2]);
}

// ── matching: the modbus keyword ─────────────────────────────────────────────────────────

#[test]
fn function_and_subfunction() {
    let topo = topology();
    let text = "alert modbus any any -> any 502 (modbus: function 8, subfunction 4; sid:1;)\n\
                alert modbus any any -> any 502 (modbus: function 8; sid:2;)\n\
                alert modbus any any -> any 502 (modbus: function 43, subfunction 14; sid:3;)\n\
                alert modbus any any -> any 502 (modbus: function 3; sid:4;)\n";
    let mut d = load(text, &topo);
    let f = |adu: Vec<u8>| modbus(&topo, "ews-01", "plc-dosing", adu);
    assert_eq!(
        fire0(&mut d, &topo, &f(mb::diagnostics(1, 1, 4, &[0, 0]))),
        [1, 2]
    );
    assert_eq!(
        fire0(&mut d, &topo, &f(mb::diagnostics(1, 1, 0, &[0x12, 0x34]))),
        [2]
    );
    assert_eq!(
        fire0(&mut d, &topo, &f(mb::read_device_identification(1, 1, 1, 0))),
        [3]
    );
    assert_eq!(
        fire0(&mut d, &topo, &f(mb::read_holding_registers(1, 1, 0, 4))),
        [4]
    );
    // Requests only: the PLC's echo of a listen-only request raises nothing.
    let req = f(mb::diagnostics(1, 1, 4, &[0, 0]));
    assert!(fire0(&mut d, &topo, &answer(&req, mb::diagnostics(1, 1, 4, &[0, 0]))).is_empty());
}

#[test]
fn function_categories_and_their_negation() {
    let topo = topology();
    let cats = [
        "assigned",
        "unassigned",
        "public",
        "user",
        "reserved",
        "all",
        "!assigned",
        "!reserved",
    ];
    let text: String = cats
        .iter()
        .enumerate()
        .map(|(i, c)| {
            format!(
                "alert modbus any any -> any 502 (modbus: function {c}; sid:{};)\n",
                i + 1
            )
        })
        .collect();
    let mut d = load(&text, &topo);
    let f = |fc: u8, data: &[u8]| modbus(&topo, "ws-01", "plc-sis", mb::custom_request(1, 1, fc, data));
    // sids: 1 assigned, 2 unassigned, 3 public, 4 user, 5 reserved, 6 all, 7 !assigned, 8 !reserved
    assert_eq!(fire0(&mut d, &topo, &f(3, &[0, 0, 0, 1])), [1, 3, 6, 8]);
    assert_eq!(fire0(&mut d, &topo, &f(90, &[0, 2])), [5, 6, 7]); // UMAS: reserved
    assert_eq!(fire0(&mut d, &topo, &f(65, &[])), [4, 6, 7, 8]); // user-defined
    assert_eq!(fire0(&mut d, &topo, &f(100, &[])), [4, 6, 7, 8]);
    assert_eq!(fire0(&mut d, &topo, &f(50, &[])), [2, 3, 6, 7, 8]); // public, unassigned
    // Diagnostics: subfunction 4 is assigned, 19 reserved; 43 with MEI 14 assigned, 1 reserved.
    assert_eq!(fire0(&mut d, &topo, &f(8, &[0, 4, 0, 0])), [1, 3, 6, 8]);
    assert_eq!(fire0(&mut d, &topo, &f(8, &[0, 19, 0, 0])), [5, 6, 7]);
    assert_eq!(fire0(&mut d, &topo, &f(43, &[14, 1, 0])), [1, 3, 6, 8]);
    assert_eq!(fire0(&mut d, &topo, &f(43, &[1, 1, 0])), [5, 6, 7]);
    // Code 0 is in no category, not even a negated one.
    assert!(fire0(&mut d, &topo, &f(0, &[1])).is_empty());
}

#[test]
fn access_by_table_address_and_value() {
    let topo = topology();
    let text = "alert modbus any any -> any 502 (modbus: access read; sid:1;)\n\
                alert modbus any any -> any 502 (modbus: access read coils; sid:2;)\n\
                alert modbus any any -> any 502 (modbus: access read holding, address 100<>200; sid:3;)\n\
                alert modbus any any -> any 502 (modbus: access write; sid:4;)\n\
                alert modbus any any -> any 502 (modbus: access write holding, address 0, value >1000; sid:5;)\n\
                alert modbus any any -> any 502 (modbus: access write coils, address <10; sid:6;)\n\
                alert modbus any any -> any 502 (modbus: access read input, address >50; sid:7;)\n";
    let mut d = load(text, &topo);
    let f = |adu: Vec<u8>| modbus(&topo, "ws-01", "plc-dosing", adu);
    assert_eq!(fire0(&mut d, &topo, &f(mb::read_coils(1, 1, 0, 8))), [1, 2]);
    assert_eq!(
        fire0(&mut d, &topo, &f(mb::read_discrete_inputs(1, 1, 0, 8))),
        [1]
    );
    // Holding 90..=109 reaches into 100<>200; 0..=9 does not.
    assert_eq!(
        fire0(&mut d, &topo, &f(mb::read_holding_registers(1, 1, 90, 20))),
        [1, 3]
    );
    assert_eq!(
        fire0(&mut d, &topo, &f(mb::read_holding_registers(1, 1, 0, 10))),
        [1]
    );
    assert_eq!(
        fire0(&mut d, &topo, &f(mb::read_holding_registers(1, 1, 200, 10))),
        [1]
    );
    // Input registers 45..=54: some above 50.
    assert_eq!(
        fire0(&mut d, &topo, &f(mb::read_input_registers(1, 1, 45, 10))),
        [1, 7]
    );
    // Oldsmar: NaOH setpoint 0 to 11100.
    assert_eq!(
        fire0(&mut d, &topo, &f(mb::write_single_register(1, 1, 0, 11_100))),
        [4, 5]
    );
    assert_eq!(
        fire0(&mut d, &topo, &f(mb::write_single_register(1, 1, 0, 100))),
        [4]
    );
    assert_eq!(
        fire0(&mut d, &topo, &f(mb::write_single_register(1, 1, 1, 11_100))),
        [4]
    );
    // Multiple registers: the value written at address 0 counts.
    assert_eq!(
        fire0(
            &mut d,
            &topo,
            &f(mb::write_multiple_registers(1, 1, 0, &[5000, 1]))
        ),
        [4, 5]
    );
    assert_eq!(
        fire0(
            &mut d,
            &topo,
            &f(mb::write_multiple_registers(1, 1, 0, &[1, 5000]))
        ),
        [4]
    );
    assert_eq!(
        fire0(&mut d, &topo, &f(mb::write_single_coil(1, 1, 5, true))),
        [4, 6]
    );
    assert_eq!(
        fire0(
            &mut d,
            &topo,
            &f(mb::write_multiple_coils(1, 1, 20, &[true, false]))
        ),
        [4]
    );
    // FC 23 reads and writes holding registers.
    let rw = mb::read_write_multiple_registers(1, 1, 150, 2, 0, &[2000]);
    assert_eq!(fire0(&mut d, &topo, &f(rw)), [1, 3, 4, 5]);
}

#[test]
fn unit_alone_or_before_a_function() {
    let topo = topology();
    let text = "alert modbus any any -> any 502 (modbus: unit 1; sid:1;)\n\
                alert modbus any any -> any 502 (modbus: unit 5, function 3; sid:2;)\n\
                alert modbus any any -> any 502 (modbus: unit >200, access write; sid:3;)\n";
    let mut d = load(text, &topo);
    let f = |adu: Vec<u8>| modbus(&topo, "hmi-1", "plc-dosing", adu);
    assert_eq!(
        fire0(&mut d, &topo, &f(mb::read_holding_registers(1, 1, 0, 1))),
        [1]
    );
    assert_eq!(
        fire0(&mut d, &topo, &f(mb::read_holding_registers(1, 5, 0, 1))),
        [2]
    );
    assert!(fire0(&mut d, &topo, &f(mb::read_input_registers(1, 5, 0, 1))).is_empty());
    assert_eq!(
        fire0(&mut d, &topo, &f(mb::write_single_coil(1, 255, 0, true))),
        [3]
    );
}

// ── matching: bytes ──────────────────────────────────────────────────────────────────────

#[test]
fn content_with_offset_depth_nocase_and_negation() {
    let topo = topology();
    let text = "alert tcp any any -> any 502 (content:\"|08 00 04|\"; offset:7; depth:3; sid:1;)\n\
                alert tcp any any -> any 502 (content:\"|00 04|\"; depth:5; sid:2;)\n\
                alert tcp any any -> any 502 (content:\"umas\"; nocase; sid:3;)\n\
                alert tcp any any -> any 502 (content:!\"|00 00|\"; offset:2; depth:2; sid:4;)\n\
                alert tcp any any -> any 502 (content:\"a\\\"b\"; sid:5;)\n";
    let mut d = load(text, &topo);
    let f = |adu: Vec<u8>| modbus(&topo, "ws-01", "plc-dosing", adu);
    assert_eq!(fire0(&mut d, &topo, &f(mb::diagnostics(1, 1, 4, &[0, 0]))), [1]);
    // 00 04 inside the first 5 bytes (transaction id 4): only the unanchored rule.
    assert_eq!(fire0(&mut d, &topo, &f(mb::read_coils(4, 1, 0, 1))), [2]);
    assert_eq!(
        fire0(&mut d, &topo, &f(mb::custom_request(1, 1, 90, b"xUMaSx"))),
        [3]
    );
    assert_eq!(fire0(&mut d, &topo, &f(vec![0, 1, 0, 7, 0, 4, 1, 3, 0, 0])), [4]);
    assert_eq!(
        fire0(&mut d, &topo, &f(mb::custom_request(1, 1, 100, b"a\"b"))),
        [5]
    );
    // Nothing past the end: a 3-byte frame holds no content, so only the negated one matches.
    assert_eq!(fire0(&mut d, &topo, &f(vec![8, 1, 5])), [4]);
}

#[test]
fn byte_test_operators() {
    let topo = topology();
    let ops = [
        "1,>=,0x80,7",
        "1,<,0x80,7",
        "1,=,6,8",
        "1,!=,6,8",
        "1,&,0x80,7",
        "1,^,3,7",
        "2,>,6,4",
        "2,<=,3,4,little",
    ];
    let text: String = ops
        .iter()
        .enumerate()
        .map(|(i, o)| format!("alert tcp any any <> any 502 (byte_test:{o}; sid:{};)\n", i + 1))
        .collect();
    let mut d = load(&text, &topo);
    let req = modbus(
        &topo,
        "hmi-1",
        "plc-dosing",
        mb::read_holding_registers(1, 1, 0, 1),
    );
    // Busy exception: 00 01 00 00 00 03 01 83 06. Length field 0x0003 (big) / 0x0300 (little).
    assert_eq!(fire0(&mut d, &topo, &exception(&req, 6)), [1, 3, 5, 6]);
    // The request: fc 3, length 6: byte 8 is 0 (≠ 6), fc 3 ^ 3 = 0.
    assert_eq!(fire0(&mut d, &topo, &req), [2, 4]);
    // A lying length 0x0100 (> 6); little-endian reads 0x0001 (<= 3).
    let lying = modbus(&topo, "hmi-1", "plc-dosing", vec![0, 1, 0, 0, 1, 0, 1, 3, 0]);
    assert_eq!(fire0(&mut d, &topo, &lying), [2, 4, 7, 8]);
}

#[test]
fn byte_test_negation_parses() {
    let topo = topology();
    let mut d = load(
        &rule("alert tcp any any -> any 502", "byte_test:1,!=,3,7;"),
        &topo,
    );
    assert!(
        fire0(
            &mut d,
            &topo,
            &modbus(
                &topo,
                "hmi-1",
                "plc-dosing",
                mb::read_holding_registers(1, 1, 0, 1)
            )
        )
        .is_empty()
    );
    assert_eq!(
        fire0(
            &mut d,
            &topo,
            &modbus(&topo, "hmi-1", "plc-dosing", mb::read_coils(1, 1, 0, 1))
        ),
        [1]
    );
}

#[test]
fn dsize_forms() {
    let topo = topology();
    let text = "alert tcp any any -> any 502 (dsize:12; sid:1;)\n\
                alert tcp any any -> any 502 (dsize:>300; sid:2;)\n\
                alert tcp any any -> any 502 (dsize:<10; sid:3;)\n\
                alert tcp any any -> any 502 (dsize:10<>13; sid:4;)\n";
    let mut d = load(text, &topo);
    let f = |adu: Vec<u8>| modbus(&topo, "ws-01", "plc-dosing", adu);
    assert_eq!(fire0(&mut d, &topo, &f(mb::read_coils(1, 1, 0, 1))), [1, 4]);
    assert_eq!(fire0(&mut d, &topo, &f(vec![0; 451])), [2]);
    assert_eq!(fire0(&mut d, &topo, &f(vec![0; 9])), [3]);
    assert!(fire0(&mut d, &topo, &f(vec![0; 13])).is_empty());
}

#[test]
fn app_layer_events_catch_lying_lengths_and_foreign_protocols() {
    let topo = topology();
    let text = "alert tcp any any <> any 502 (app-layer-event: modbus.invalid_length; sid:1;)\n\
                alert tcp any any -> any 502 (app-layer-event: modbus.invalid_protocol_id; sid:2;)\n\
                alert modbus any any -> any 502 (modbus: function 1; sid:3;)\n";
    let mut d = load(text, &topo);
    let f = |adu: Vec<u8>| modbus(&topo, "ws-01", "plc-dosing", adu);
    // From Digital Bond's capture: length 0x8804 on a 451-byte frame.
    let mut big = hex("00010000880405070809100001000088");
    big.resize(451, 0);
    assert_eq!(fire0(&mut d, &topo, &f(big)), [1]);
    // Protocol id 0x0010, else a valid read-coils request: not Modbus, so no `modbus:` match.
    assert_eq!(fire0(&mut d, &topo, &f(hex("0001001000060a0100010003"))), [2]);
    // Length 6 but 8 bytes follow the header: lying, and the modbus keyword ignores it.
    assert_eq!(fire0(&mut d, &topo, &f(hex("000100000006010100010003ffff"))), [1]);
    // Length below 2 is invalid even if it agrees with the bytes.
    assert_eq!(fire0(&mut d, &topo, &f(hex("00010000000101"))), [1]);
    // A valid request: only the modbus rule.
    assert_eq!(fire0(&mut d, &topo, &f(mb::read_coils(1, 1, 0, 1))), [3]);
    // A lying response from the PLC (from the capture): `<>` sees it.
    let req = f(mb::read_coils(1, 1, 0, 1));
    assert_eq!(
        fire0(&mut d, &topo, &answer(&req, hex("0001000000050a2a0e0401010123"))),
        [1]
    );
}

// ── matching: header ─────────────────────────────────────────────────────────────────────

#[test]
fn address_negation_cidr_and_nested_lists() {
    let topo = topology();
    let text = "alert modbus [10.20.0.0/16, !10.20.1.20] any -> any 502 (sid:1;)\n\
                alert modbus ![10.20.1.11, [10.30.1.10, 10.20.1.12]] any -> any 502 (sid:2;)\n\
                alert modbus [!10.20.1.11] any -> 10.10.1.22 502 (sid:3;)\n";
    let mut d = load(text, &topo);
    let f = |src: &str| modbus(&topo, src, "plc-dosing", mb::read_coils(1, 1, 0, 1));
    assert_eq!(fire0(&mut d, &topo, &f("hmi-1")), [1]);
    assert_eq!(fire0(&mut d, &topo, &f("hmi-2")), [1, 3]);
    assert_eq!(fire0(&mut d, &topo, &f("ews-01")), [2, 3]);
    assert_eq!(fire0(&mut d, &topo, &f("historian")), [3]);
    assert_eq!(fire0(&mut d, &topo, &f("ws-01")), [2, 3]);
}

#[test]
fn ports_ranges_lists_and_negation() {
    let topo = topology();
    let text = "alert tcp any 49000:50000 -> any [502, 5020] (sid:1;)\n\
                alert tcp any !49152 -> any any (sid:2;)\n\
                alert ip any any -> any [1:1000, !502] (sid:3;)\n";
    let mut d = load(text, &topo);
    let f = modbus(&topo, "hmi-1", "plc-dosing", mb::read_coils(1, 1, 0, 1));
    assert_eq!(fire0(&mut d, &topo, &f), [1]);
    // The reply, from port 502 to 49152.
    assert_eq!(
        fire0(&mut d, &topo, &answer(&f, vec![0, 1, 0, 0, 0, 4, 1, 1, 1, 0])),
        [2]
    );
    // DNS (UDP 53) matches the ip rule; the tcp rule on any port does not apply to UDP.
    assert_eq!(
        fire0(&mut d, &topo, &flow(&topo, "ws-01", "dc-01", Service::Dns)),
        [3]
    );
    assert_eq!(
        fire0(&mut d, &topo, &flow(&topo, "ws-01", "file-01", Service::Smb)),
        [3]
    );
}

#[test]
fn bidirectional_rules_match_both_ways() {
    let topo = topology();
    let text = "alert tcp 10.20.1.11 any <> 10.10.1.22 502 (sid:1;)\n\
                alert tcp 10.20.1.11 any -> 10.10.1.22 502 (sid:2;)\n";
    let mut d = load(text, &topo);
    let f = modbus(&topo, "hmi-1", "plc-dosing", mb::read_coils(1, 1, 0, 1));
    assert_eq!(fire0(&mut d, &topo, &f), [1, 2]);
    assert_eq!(
        fire0(&mut d, &topo, &answer(&f, vec![0, 1, 0, 0, 0, 4, 1, 1, 1, 0])),
        [1]
    );
    // Another pair is neither way.
    let g = modbus(&topo, "hmi-2", "plc-dosing", mb::read_coils(1, 1, 0, 1));
    assert!(fire0(&mut d, &topo, &g).is_empty());
}

#[test]
fn flow_direction_and_protocols() {
    let topo = topology();
    let text = "alert tcp any any <> any any (flow:to_server,established; sid:1;)\n\
                alert tcp any any <> any any (flow:from_server; sid:2;)\n\
                alert modbus any any <> any any (sid:3;)\n";
    let mut d = load(text, &topo);
    let f = modbus(&topo, "hmi-1", "plc-dosing", mb::read_coils(1, 1, 0, 1));
    assert_eq!(fire0(&mut d, &topo, &f), [1, 3]);
    assert_eq!(
        fire0(&mut d, &topo, &answer(&f, vec![0, 1, 0, 0, 0, 4, 1, 1, 1, 0])),
        [2, 3]
    );
    // A non-Modbus service: tcp rules see it, modbus rules do not.
    let rdp = flow(&topo, "ws-01", "jump-01", Service::Rdp);
    assert_eq!(fire0(&mut d, &topo, &rdp), [1]);
    assert_eq!(fire0(&mut d, &topo, &reply_to(&rdp, rdp.payload.clone())), [2]);
}

// ── actions, thresholds, alerts ──────────────────────────────────────────────────────────

#[test]
fn pass_rules_silence_a_frame_and_drop_rules_are_known() {
    let topo = topology();
    let text = "alert modbus any any -> any 502 (modbus: function 8; sid:1;)\n\
                drop modbus any any -> any 502 (modbus: function 8, subfunction 4; sid:2;)\n\
                pass modbus 10.20.1.20 any -> any 502 (modbus: function 8, subfunction 0; sid:3;)\n";
    let mut d = load(text, &topo);
    // The pass rule comes last in the file but is evaluated first.
    let echo = |src: &str| modbus(&topo, src, "plc-sis", mb::diagnostics(1, 1, 0, &[1, 2]));
    assert!(fire0(&mut d, &topo, &echo("ews-01")).is_empty());
    assert_eq!(fire0(&mut d, &topo, &echo("ws-01")), [1]);
    assert_eq!(
        fire0(
            &mut d,
            &topo,
            &modbus(&topo, "ews-01", "plc-sis", mb::diagnostics(1, 1, 4, &[0, 0]))
        ),
        [1, 2]
    );
    assert!(d.is_drop(2));
    assert!(!d.is_drop(1) && !d.is_drop(3) && !d.is_drop(99));
}

/// Which of `n` exception answers, one per second from plc-sis to `to`, raise an alert.
fn alerting(d: &mut RulesDetector, topo: &Topology, to: &str, n: u64, start: u64) -> Vec<u64> {
    let req = modbus(topo, to, "plc-sis", mb::read_holding_registers(1, 1, 999, 1));
    (0..n)
        .filter(|i| !fire(d, topo, &exception(&req, 2), secs(start + i)).is_empty())
        .map(|i| i + 1)
        .collect()
}

fn threshold_rule(spec: &str) -> String {
    format!("alert tcp any 502 -> any any (byte_test:1,>=,0x80,7; {spec}; sid:1;)\n")
}

#[test]
fn threshold_types_limit_threshold_both_and_detection_filter() {
    let topo = topology();
    let mut d = load(
        &threshold_rule("threshold: type limit, track by_dst, count 2, seconds 10"),
        &topo,
    );
    // Limit: the first two of each window.
    assert_eq!(alerting(&mut d, &topo, "ws-01", 12, 0), [1, 2, 11, 12]);
    let mut d = load(
        &threshold_rule("threshold: type threshold, track by_dst, count 3, seconds 60"),
        &topo,
    );
    // Threshold: every third within the window.
    assert_eq!(alerting(&mut d, &topo, "ws-01", 10, 0), [3, 6, 9]);
    let mut d = load(
        &threshold_rule("threshold: type both, track by_dst, count 3, seconds 10"),
        &topo,
    );
    // Both: once per window, at the third; the window restarts after 10 s.
    assert_eq!(alerting(&mut d, &topo, "ws-01", 15, 0), [3, 13]);
    let mut d = load(
        &threshold_rule("detection_filter: track by_dst, count 3, seconds 60"),
        &topo,
    );
    // Detection filter: every match past the third.
    assert_eq!(alerting(&mut d, &topo, "ws-01", 6, 0), [4, 5, 6]);
    // Matches spread out beyond the window never reach the count.
    let mut d = load(
        &threshold_rule("threshold: type both, track by_dst, count 2, seconds 5"),
        &topo,
    );
    let req = modbus(
        &topo,
        "ws-01",
        "plc-sis",
        mb::read_holding_registers(1, 1, 999, 1),
    );
    for s in [0, 10, 20, 30] {
        assert!(fire(&mut d, &topo, &exception(&req, 2), secs(s)).is_empty());
    }
}

#[test]
fn thresholds_track_by_source_or_destination() {
    let topo = topology();
    // by_dst: two scanners (the answers' destinations) are counted apart.
    let mut d = load(
        &threshold_rule("threshold: type both, track by_dst, count 3, seconds 60"),
        &topo,
    );
    assert!(alerting(&mut d, &topo, "ws-01", 2, 0).is_empty());
    assert!(alerting(&mut d, &topo, "ws-02", 2, 2).is_empty());
    assert_eq!(alerting(&mut d, &topo, "ws-01", 1, 4), [1]);
    // by_src: the answers all come from plc-sis, so they add up whoever asked.
    let mut d = load(
        &threshold_rule("threshold: type both, track by_src, count 3, seconds 60"),
        &topo,
    );
    assert!(alerting(&mut d, &topo, "ws-01", 2, 0).is_empty());
    assert_eq!(alerting(&mut d, &topo, "ws-02", 2, 2), [1]);
}

#[test]
fn metadata_priority_and_message_reach_the_alert() {
    let topo = topology();
    let text = "alert modbus any any -> any 502 (msg:\"listen only; really\"; modbus: function 8, subfunction 4; \
                priority:1; reference:url,example.org; classtype:attempted-dos; \
                metadata: created_at 2024_01_01, mitre_technique_id T0814, mitre_tactic_name Inhibit_Response_Function; \
                sid:42; rev:3;)\n\
                alert modbus any any -> any 502 (modbus: function 3; priority:9; sid:43;)\n\
                alert modbus any any -> any 502 (modbus: function 1; sid:44;)\n";
    let mut d = load(text, &topo);
    let f = modbus(&topo, "ws-01", "plc-dosing", mb::diagnostics(1, 1, 4, &[0, 0]));
    d.observe(id(&topo, "sw-ctl"), &f, at(2, 0), &topo);
    let a = &d.alerts()[0];
    assert_eq!(a.signature_id, 42);
    assert_eq!(a.signature, "listen only; really");
    assert_eq!(a.severity, 1);
    assert_eq!(a.technique.as_deref(), Some("T0814"));
    assert_eq!(a.tactic.as_deref(), Some("Inhibit Response Function"));
    assert_eq!(
        (a.src, a.dst, a.frames.clone(), a.t),
        (f.src, f.dst, vec![f.id.0], at(2, 0))
    );
    let eve = a.to_eve(0, &topo);
    assert_eq!(eve["alert"]["metadata"]["mitre_technique_id"][0], "T0814");
    // Priority beyond 3 is low; no priority is medium; no metadata, no technique.
    fire0(
        &mut d,
        &topo,
        &modbus(
            &topo,
            "ws-01",
            "plc-dosing",
            mb::read_holding_registers(1, 1, 0, 1),
        ),
    );
    fire0(
        &mut d,
        &topo,
        &modbus(&topo, "ws-01", "plc-dosing", mb::read_coils(1, 1, 0, 1)),
    );
    let sev: Vec<(u8, Option<String>)> = d.alerts()[1..]
        .iter()
        .map(|a| (a.severity, a.technique.clone()))
        .collect();
    assert_eq!(sev, [(3, None), (2, None)]);
    // The summary: rules, frames, alerts per sid.
    let s = d.summary();
    assert_eq!(s["rules"], 3);
    assert_eq!(s["frames_inspected"], 3);
    assert_eq!(s["alerts_per_sid"]["42"], 1);
    assert_eq!(s["alerts_per_sid"]["43"], 1);
}

// ── robustness ───────────────────────────────────────────────────────────────────────────

/// A 64-bit linear congruential generator (Knuth's MMIX constants): reproducible bytes
/// without a dependency.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn garbage_and_truncated_frames_never_panic() {
    let topo = topology();
    let mut text = shipped("quickdraw-modbus.rules");
    text.push_str(&shipped("plant-modbus.rules"));
    text.push_str(
        "alert modbus any any <> any any (modbus: access write holding, address 5, value >3; sid:9000001;)\n\
         alert modbus any any <> any any (modbus: access write coils, address 3, value 1; sid:9000002;)\n\
         alert modbus any any <> any any (modbus: unit 1, function !user; sid:9000003;)\n\
         alert tcp any any <> any any (byte_test:4,>,7,250; content:\"abc\"; nocase; offset:200; sid:9000004;)\n",
    );
    let mut d = load_with(&text, &topo, &plant_vars());
    let mut rng = Lcg(0x5eed);
    let sw = id(&topo, "sw-ctl");
    let req = modbus(&topo, "ws-01", "plc-dosing", Vec::new());
    for n in 0..20_000u64 {
        let len = (rng.next() % 300) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        // Half of them look like Modbus up to the function code, so the deep checks run.
        if n % 2 == 0 && bytes.len() >= 8 {
            bytes[2] = 0;
            bytes[3] = 0;
            let l = (bytes.len() - 6) as u16;
            if n % 4 == 0 {
                bytes[4..6].copy_from_slice(&l.to_be_bytes());
            }
            bytes[7] = [1, 2, 3, 4, 5, 6, 8, 15, 16, 22, 23, 43][(n / 2 % 12) as usize];
        }
        let mut f = Frame {
            id: FrameId(n),
            payload: Payload::Modbus(bytes.into()),
            ..req.clone()
        };
        if n % 3 == 0 {
            f = reply_to(&f, f.payload.clone());
        }
        d.observe(sw, &f, secs(n / 100), &topo);
    }
    // Every truncation of a real request, too.
    let full = mb::write_multiple_registers(1, 1, 5, &[9, 9, 9]);
    for cut in 0..=full.len() {
        d.observe(
            sw,
            &modbus(&topo, "ws-01", "plc-dosing", full[..cut].to_vec()),
            secs(500),
            &topo,
        );
    }
    assert!(d.summary()["frames_inspected"].as_u64().unwrap() > 20_000);
}

// ── the shipped rule sets ────────────────────────────────────────────────────────────────

#[test]
fn quickdraw_rules_fire_on_the_test_capture_bytes() {
    // The ADUs of Digital Bond's test captures (quickdraw-modbus-part1/2.pcap, read with
    // tshark), replayed between plant hosts: hmi-1 plays the regular master 10.0.0.57,
    // plc-intake and plc-dosing the servers, ws-01 the unlisted client 10.0.0.9 and the
    // scanner of part 2.
    let topo = topology();
    let mut d = load_with(
        &shipped("quickdraw-modbus.rules"),
        &topo,
        &vars(&[("MODBUS_CLIENT", "hmi-1")]),
    );
    let mut t = 0u64;
    let mut send = |d: &mut RulesDetector, src: &str, dst: &str, h: &str| -> Vec<u64> {
        t += 1;
        fire(d, &topo, &modbus(&topo, src, dst, hex(h)), secs(t))
    };
    assert_eq!(
        send(&mut d, "hmi-1", "plc-intake", "0000000000060a0800040000"),
        [1111001]
    );
    assert_eq!(
        send(&mut d, "hmi-1", "plc-intake", "0000000000060a0800010000"),
        [1111002]
    );
    assert_eq!(
        send(&mut d, "hmi-1", "plc-intake", "0000000000060a08000a0000"),
        [1111003]
    );
    assert_eq!(
        send(&mut d, "hmi-1", "plc-dosing", "0001000000060a2b0e030100"),
        [1111004]
    );
    assert_eq!(send(&mut d, "hmi-1", "plc-intake", "0000000000020a11"), [1111005]);
    assert_eq!(
        send(&mut d, "ws-01", "plc-intake", "0001000000060a0100000001"),
        [1111006]
    );
    assert_eq!(
        send(&mut d, "ws-01", "plc-intake", "0001000000060a0300050002"),
        [1111006]
    );
    assert_eq!(
        send(&mut d, "ws-01", "plc-intake", "0001000000060a0500020000"),
        [1111007]
    );
    assert_eq!(
        send(&mut d, "ws-01", "plc-intake", "0001000000060a060005000b"),
        [1111007]
    );
    let mut big = hex("000100008804050708091000010000880405070809100001");
    big.resize(451, 0x88);
    let big = modbus(&topo, "hmi-1", "plc-dosing", big);
    assert_eq!(fire(&mut d, &topo, &big, secs(20)), [1111008, 1111012]);
    assert_eq!(
        send(&mut d, "hmi-1", "plc-dosing", "0001001000060a0100010003"),
        [1111009]
    );
    // The regular master polls as usual: nothing.
    assert!(send(&mut d, "hmi-1", "plc-intake", "0001000000060a0100000001").is_empty());

    // Busy (6), then acknowledge (5) exceptions, five of each, from plc-dosing to hmi-1.
    let poll = modbus(&topo, "hmi-1", "plc-dosing", hex("0001000000060a0100000001"));
    let mut raised = Vec::new();
    for (i, h) in ["0001000000040a810600"; 5]
        .iter()
        .chain(["0001000000040a810500"; 5].iter())
        .enumerate()
    {
        raised.extend(fire(&mut d, &topo, &answer(&poll, hex(h)), secs(100 + i as u64)));
    }
    assert_eq!(raised, [1111010, 1111011]);
    // A lying answer (FC 42 with length 5 in 14 bytes).
    assert_eq!(
        fire(
            &mut d,
            &topo,
            &answer(&poll, hex("0001000000050a2a0e0401010123")),
            secs(120)
        ),
        [1111012]
    );

    // Part 2: a function-code scan answered by illegal function (1), then illegal address (2).
    let scan = modbus(&topo, "ws-01", "plc-filter", hex("000000000006010000000000"));
    let mut raised = Vec::new();
    for fc in 0..20u8 {
        raised.extend(fire(
            &mut d,
            &topo,
            &answer(&scan, vec![0, 0, 0, 0, 0, 3, 1, fc | 0x80, 1]),
            secs(200),
        ));
    }
    for _ in 0..8 {
        raised.extend(fire(
            &mut d,
            &topo,
            &answer(&scan, hex("000000000003018102")),
            secs(201),
        ));
    }
    assert_eq!(raised, [1111014, 1111013]);
    let per_sid = d.summary()["alerts_per_sid"].clone();
    for sid in 1111001..=1111014u64 {
        assert!(
            per_sid[sid.to_string()].as_u64().unwrap_or(0) >= 1,
            "{sid} never fired"
        );
    }
}

/// A benign day's Modbus on the reference plant, one of each exchange, with the answers.
fn benign_exchanges(topo: &Topology) -> Vec<Frame> {
    let mut out = Vec::new();
    let mut pair = |src: &str, dst: &str, req: Vec<u8>, resp: Vec<u8>| {
        let f = modbus(topo, src, dst, req);
        out.push(answer(&f, resp));
        out.insert(out.len() - 1, f);
    };
    let regs = |n: u8| {
        let mut v = vec![0, 1, 0, 0, 0, 3 + 2 * n, 1, 3, 2 * n];
        v.extend(std::iter::repeat_n(0, 2 * usize::from(n)));
        v
    };
    for (src, dst) in [
        ("hmi-1", "plc-intake"),
        ("hmi-1", "plc-dosing"),
        ("hmi-2", "plc-dist"),
        ("hmi-2", "plc-sis"),
    ] {
        pair(src, dst, mb::read_holding_registers(1, 1, 0, 8), regs(8));
        pair(src, dst, mb::read_input_registers(2, 1, 0, 4), regs(4));
        pair(
            src,
            dst,
            mb::read_coils(3, 1, 0, 16),
            vec![0, 3, 0, 0, 0, 5, 1, 1, 2, 0, 0],
        );
    }
    pair(
        "hmi-2",
        "plc-dist",
        mb::read_discrete_inputs(4, 1, 0, 4),
        vec![0, 4, 0, 0, 0, 4, 1, 2, 1, 0],
    );
    pair(
        "historian",
        "analyzer-naoh",
        mb::read_input_registers(5, 1, 0, 1),
        regs(1),
    );
    pair(
        "hmi-1",
        "plc-dosing",
        mb::write_single_coil(6, 1, 5, false),
        mb::write_single_coil(6, 1, 5, false),
    );
    pair(
        "hmi-1",
        "plc-dosing",
        mb::write_single_register(7, 1, 0, 100),
        mb::write_single_register(7, 1, 0, 100),
    );
    pair(
        "hmi-2",
        "plc-dist",
        mb::write_single_coil(8, 1, 8, true),
        mb::write_single_coil(8, 1, 8, true),
    );
    // The engineering session.
    pair(
        "ews-01",
        "plc-sis",
        mb::read_device_identification(9, 1, 1, 0),
        vec![0, 9, 0, 0, 0, 8, 1, 0x2b, 0x0e, 1, 1, 0, 0, 0],
    );
    pair(
        "ews-01",
        "plc-sis",
        mb::report_server_id(10, 1),
        vec![0, 10, 0, 0, 0, 5, 1, 0x11, 2, 1, 0xff],
    );
    pair(
        "ews-01",
        "plc-sis",
        mb::diagnostics(11, 1, 0, &[0x12, 0x34]),
        mb::diagnostics(11, 1, 0, &[0x12, 0x34]),
    );
    pair(
        "ews-01",
        "plc-sis",
        mb::read_holding_registers(12, 1, 0, 16),
        regs(16),
    );
    out
}

#[test]
fn plant_rules_are_quiet_on_benign_traffic_and_catch_attacks() {
    let topo = topology();
    let mut d = load_with(&shipped("plant-modbus.rules"), &topo, &plant_vars());
    for (i, f) in benign_exchanges(&topo).iter().enumerate() {
        assert!(
            fire(&mut d, &topo, f, secs(i as u64)).is_empty(),
            "benign frame {i} alerted: {:?}",
            d.alerts()
        );
    }
    // Quickdraw flags the engineering session: identification, server id, and the upload
    // (a read from a host outside MODBUS_CLIENT); the plant rules know the EWS.
    let mut q = load_with(&shipped("quickdraw-modbus.rules"), &topo, &plant_vars());
    let qd: Vec<u64> = benign_exchanges(&topo)
        .iter()
        .flat_map(|f| fire0(&mut q, &topo, f))
        .collect();
    assert_eq!(qd, [1111004, 1111005, 1111006]);

    let f = |src: &str, dst: &str, adu: Vec<u8>| modbus(&topo, src, dst, adu);
    let cases: Vec<(Frame, Vec<u64>)> = vec![
        // Oldsmar: a setpoint written from a host that is not an HMI.
        (
            f("ws-01", "plc-dosing", mb::write_single_register(1, 1, 0, 11_100)),
            vec![2111010, 2111020, 2111021],
        ),
        (
            f(
                "ews-01",
                "plc-dosing",
                mb::write_multiple_registers(1, 1, 0, &[11_100]),
            ),
            vec![2111010, 2111021],
        ),
        (
            f("historian", "plc-dist", mb::write_single_coil(1, 1, 8, false)),
            vec![2111009],
        ),
        (
            f("ews-01", "plc-sis", mb::diagnostics(1, 1, 4, &[0, 0])),
            vec![2111001],
        ),
        (
            f("ews-01", "plc-sis", mb::diagnostics(1, 1, 1, &[0, 0])),
            vec![2111002],
        ),
        (
            f("ews-01", "plc-sis", mb::diagnostics(1, 1, 10, &[0, 0])),
            vec![2111003],
        ),
        (
            f("ews-01", "plc-sis", mb::diagnostics(1, 1, 2, &[0, 0])),
            vec![2111004],
        ),
        (
            f("hmi-1", "plc-sis", mb::diagnostics(1, 1, 0, &[0, 0])),
            vec![2111005],
        ),
        (
            f("hmi-1", "plc-sis", mb::read_device_identification(1, 1, 1, 0)),
            vec![2111006],
        ),
        (
            f("historian", "plc-sis", mb::report_server_id(1, 1)),
            vec![2111007],
        ),
        (
            f("ws-01", "plc-sis", mb::read_coils(1, 1, 0, 1)),
            vec![2111008, 2111020],
        ),
        (
            f("hmi-1", "plc-dosing", mb::custom_request(1, 1, 90, &[0, 2])),
            vec![2111011, 2111012],
        ),
        (
            f("ews-01", "plc-dosing", mb::custom_request(1, 1, 65, &[])),
            vec![2111012],
        ),
        (f("hmi-1", "plc-dosing", vec![0xff; 300]), vec![2111017, 2111018]),
        (f("hmi-1", "plc-dosing", vec![0; 30]), vec![2111019]),
    ];
    for (frame, want) in cases {
        assert_eq!(fire0(&mut d, &topo, &frame), want, "{:?}", frame.payload);
    }
}

#[test]
fn rule_sets_stay_quiet_through_a_simulated_benign_hour() {
    // Every benign exchange at its period for an hour (HMIs every second, the historian
    // every 5 s, an engineering session): the plant rules raise nothing, at the rate the
    // shipped plant polls.
    let topo = topology();
    let mut d = load_with(&shipped("plant-modbus.rules"), &topo, &plant_vars());
    let frames = benign_exchanges(&topo);
    let sw = id(&topo, "sw-ctl");
    for s in 0..3600u64 {
        for f in &frames {
            d.observe(sw, f, secs(s), &topo);
        }
    }
    assert!(d.alerts().is_empty(), "{:?}", d.alerts().first());
    assert_eq!(d.summary()["frames_inspected"], 3600 * frames.len() as u64);
}

#[test]
fn exception_thresholds_in_the_plant_rules() {
    let topo = topology();
    let mut d = load_with(&shipped("plant-modbus.rules"), &topo, &plant_vars());
    // One illegal-address answer (an odd upload) is not a scan; five in a minute are.
    let req = modbus(
        &topo,
        "ews-01",
        "plc-sis",
        mb::read_holding_registers(1, 1, 0, 16),
    );
    assert!(fire(&mut d, &topo, &exception(&req, 2), secs(0)).is_empty());
    let mut raised = Vec::new();
    for s in 100..106 {
        raised.extend(fire(&mut d, &topo, &exception(&req, 2), secs(s)));
    }
    assert_eq!(raised, [2111013]);
    let scan = modbus(&topo, "intruder", "plc-sis", mb::custom_request(1, 1, 100, &[]));
    let raised: Vec<u64> = (0..3)
        .flat_map(|s| fire(&mut d, &topo, &exception(&scan, 1), secs(200 + s)))
        .collect();
    assert_eq!(raised, [2111014]);
}
