//! What a policy decides, rule by rule: matchers by zone, role and host, first match,
//! default deny, stateful replies, where a rule applies (`at`), Modbus deep inspection,
//! maintenance windows, identities and MFA, and the summary for results.json.

mod common;

use common::{at, flow, id, modbus, reply_to, send, shipped, topology};
use otrange_defenses::{Identity, Policy};
use otrange_sim::SimTime;
use otrange_sim::net::topology::{Service, Topology};
use otrange_sim::net::{EnforcementPoint, Payload, PolicyHook, Verdict};
use otrange_sim::wire::modbus as mb;

fn compile(text: &str, topo: &Topology) -> Policy {
    Policy::from_str("test.toml", text, topo).unwrap_or_else(|e| panic!("{e}"))
}

fn denied(rule: &str) -> Verdict {
    Verdict::Deny {
        rule: rule.into(),
        why: None,
    }
}

fn host(topo: &Topology, name: &str) -> EnforcementPoint {
    EnforcementPoint::Host(id(topo, name))
}

fn net(topo: &Topology, name: &str) -> EnforcementPoint {
    EnforcementPoint::Network(id(topo, name))
}

const T0: SimTime = SimTime::ZERO;

#[test]
fn rules_match_by_zone_role_level_and_host() {
    let topo = topology();
    let mut p = compile(
        r#"
        [policy]
        name = "m"
        default = "allow"
        [[rule]]
        name = "hmi-2 may"
        action = "allow"
        from = "hmi-2"
        to = "role:plc"
        [[rule]]
        name = "no supervisory to PLCs"
        action = "deny"
        from = "zone:supervisory"
        to = "role:plc"
        [[rule]]
        name = "no L4 to L3"
        action = "deny"
        from = "level:L4"
        to = "level:L3"
        "#,
        &topo,
    );
    let read = || mb::read_holding_registers(1, 1, 0, 1);
    let f = modbus(&topo, "hmi-1", "plc-dosing", read());
    assert_eq!(
        p.decide(host(&topo, "plc-dosing"), &f, &topo, T0),
        denied("no supervisory to PLCs")
    );
    let f = modbus(&topo, "ews-01", "analyzer-naoh", read());
    assert_eq!(
        p.decide(host(&topo, "analyzer-naoh"), &f, &topo, T0),
        denied("no supervisory to PLCs")
    );
    let f = modbus(&topo, "hmi-2", "plc-dist", read());
    assert_eq!(p.decide(host(&topo, "plc-dist"), &f, &topo, T0), Verdict::Allow);
    let f = modbus(&topo, "historian", "plc-dist", read());
    assert_eq!(p.decide(host(&topo, "plc-dist"), &f, &topo, T0), Verdict::Allow);
    let f = flow(&topo, "ws-03", "ops-dc", Service::Dns);
    assert_eq!(
        send(&mut p, &topo, &f, T0),
        Err(("it-fw".into(), "no L4 to L3".into()))
    );
    let f = flow(&topo, "ws-03", "hist-mirror", Service::Https);
    assert_eq!(send(&mut p, &topo, &f, T0), Ok(()));
    assert_eq!(p.hits("no supervisory to PLCs"), Some(2));
    assert_eq!(p.hits("hmi-2 may"), Some(1));
    assert_eq!(p.hits("nope"), None);
}

#[test]
fn the_first_matching_rule_decides() {
    let topo = topology();
    let rules = |first: &str, second: &str| {
        format!("[policy]\nname = \"o\"\ndefault = \"deny\"\n{first}\n{second}\n",)
    };
    let allow = "[[rule]]\nname = \"allow https\"\naction = \"allow\"\nservice = \"https\"";
    let deny = "[[rule]]\nname = \"deny to mail\"\naction = \"deny\"\nto = \"mail-01\"";
    let f = flow(&topo, "ws-01", "mail-01", Service::Https);
    let point = host(&topo, "mail-01");
    let mut p = compile(&rules(allow, deny), &topo);
    assert_eq!(p.decide(point, &f, &topo, T0), Verdict::Allow);
    let mut p = compile(&rules(deny, allow), &topo);
    assert_eq!(p.decide(point, &f, &topo, T0), denied("deny to mail"));
    let names: Vec<&str> = p.rule_names().collect();
    assert_eq!(names, ["deny to mail", "allow https"]);
}

#[test]
fn what_no_rule_matches_gets_the_default() {
    let topo = topology();
    let text = "[policy]\nname = \"d\"\ndefault = \"deny\"\n[[rule]]\nname = \"dns\"\naction = \"allow\"\nservice = \"dns\"\n";
    let mut p = compile(text, &topo);
    let f = flow(&topo, "ws-01", "dc-01", Service::Dns);
    assert_eq!(p.decide(host(&topo, "dc-01"), &f, &topo, T0), Verdict::Allow);
    let f = flow(&topo, "ws-01", "dc-01", Service::Ldap);
    assert_eq!(
        p.decide(host(&topo, "dc-01"), &f, &topo, T0),
        denied("default deny")
    );
    let mut flat = shipped("flat", &topo);
    let f = modbus(&topo, "ws-01", "plc-sis", mb::write_single_coil(1, 1, 0, true));
    assert_eq!(
        send(&mut flat, &topo, &f, T0),
        Ok(()),
        "the flat network lets anything through"
    );
}

#[test]
fn replies_pass_on_connection_state_and_unsolicited_ones_do_not() {
    let topo = topology();
    let mut p = compile(
        r#"
        [policy]
        name = "s"
        default = "deny"
        [[rule]]
        name = "historian polls"
        action = "allow"
        from = "historian"
        to = "role:plc"
        service = "modbus"
        "#,
        &topo,
    );
    let req = modbus(
        &topo,
        "historian",
        "plc-dosing",
        mb::read_input_registers(1, 1, 0, 4),
    );
    let resp = reply_to(&req, Payload::Modbus(vec![0, 1, 0, 0, 0, 3, 1, 4, 0].into()));
    // Nobody asked: a "reply" with no request behind it is a new flow, and denied.
    assert_eq!(
        send(&mut p, &topo, &resp, T0),
        Err(("cell-fw".into(), "default deny".into()))
    );
    // Through the cell firewall and the PLC's own filter, and the answer back.
    assert_eq!(send(&mut p, &topo, &req, T0), Ok(()));
    assert_eq!(send(&mut p, &topo, &resp, T0), Ok(()));
    assert_eq!(
        p.hits("historian polls"),
        Some(2),
        "at cell-fw and at the PLC, not for the reply"
    );
    assert_eq!(
        p.summary()["established"],
        2,
        "the reply passed cell-fw and the historian's filter"
    );
    // State is per connection: the same server answering another client port is new.
    let mut other = resp.clone();
    other.dst_port += 1;
    assert!(send(&mut p, &topo, &other, T0).is_err());
    // And per point: state at cell-fw says nothing about ot-fw.
    let at_ot_fw = p.decide(net(&topo, "ot-fw"), &resp, &topo, T0);
    assert_eq!(at_ot_fw, denied("default deny"));
}

#[test]
fn at_limits_where_a_rule_applies() {
    let topo = topology();
    let mut p = compile(
        r#"
        [policy]
        name = "a"
        default = "allow"
        [[rule]]
        name = "no RDP through the IT firewall"
        action = "deny"
        at = "it-fw"
        service = "rdp"
        [[rule]]
        name = "PLCs accept only Modbus"
        action = "deny"
        at = "host"
        to = "role:plc"
        service = ["ssh", "https", "http", "smb", "rdp"]
        [[rule]]
        name = "cell firewall: no SMB"
        action = "deny"
        at = "any-firewall"
        service = "smb"
        "#,
        &topo,
    );
    let rdp = flow(&topo, "ws-01", "jump-01", Service::Rdp);
    assert_eq!(
        p.decide(net(&topo, "it-fw"), &rdp, &topo, T0),
        denied("no RDP through the IT firewall")
    );
    assert_eq!(p.decide(host(&topo, "jump-01"), &rdp, &topo, T0), Verdict::Allow);
    let ssh = flow(&topo, "ews-01", "plc-filter", Service::Ssh);
    assert_eq!(
        send(&mut p, &topo, &ssh, T0),
        Err(("plc-filter".into(), "PLCs accept only Modbus".into()))
    );
    // A share inside the enterprise crosses no firewall.
    let smb = flow(&topo, "ws-01", "file-01", Service::Smb);
    assert_eq!(send(&mut p, &topo, &smb, T0), Ok(()));
    let smb = flow(&topo, "ews-01", "historian", Service::Smb);
    assert_eq!(
        send(&mut p, &topo, &smb, T0),
        Err(("cell-fw".into(), "cell firewall: no SMB".into()))
    );
}

#[test]
fn zero_trust_inspects_modbus_writes_by_register_and_value() {
    let topo = topology();
    let mut p = shipped("zero-trust", &topo);
    let dosing = host(&topo, "plc-dosing");
    // Oldsmar: the NaOH set point raised from 100 to 11,100 ppm.
    let oldsmar = modbus(
        &topo,
        "hmi-1",
        "plc-dosing",
        mb::write_single_register(7, 1, 0, 11_100),
    );
    assert_eq!(
        p.decide(dosing, &oldsmar, &topo, T0),
        denied("deny: writes outside operator set-point ranges")
    );
    let fine = modbus(
        &topo,
        "hmi-1",
        "plc-dosing",
        mb::write_single_register(8, 1, 0, 120),
    );
    assert_eq!(p.decide(dosing, &fine, &topo, T0), Verdict::Allow);
    assert_eq!(p.hits("hmi-1: NaOH set point 0..150 ppm"), Some(1));
    // The same write as FC 16, or spilling into the stroke output hr:10, is not the
    // operator's set-point write.
    let fc16 = modbus(
        &topo,
        "hmi-1",
        "plc-dosing",
        mb::write_multiple_registers(9, 1, 0, &[120]),
    );
    assert!(matches!(p.decide(dosing, &fc16, &topo, T0), Verdict::Deny { .. }));
    let stroke = modbus(
        &topo,
        "hmi-1",
        "plc-dosing",
        mb::write_single_register(9, 1, 10, 1000),
    );
    assert!(matches!(
        p.decide(dosing, &stroke, &topo, T0),
        Verdict::Deny { .. }
    ));
    // Only HMIs write: the historian's in-range write is refused.
    let hist = modbus(
        &topo,
        "historian",
        "plc-dosing",
        mb::write_single_register(9, 1, 0, 100),
    );
    assert_eq!(
        send(&mut p, &topo, &hist, T0),
        Err((
            "cell-fw".into(),
            "deny: writes outside operator set-point ranges".into()
        ))
    );
    // The safety system is never written.
    let sis = modbus(&topo, "hmi-2", "plc-sis", mb::write_single_coil(9, 1, 0, false));
    assert!(matches!(
        p.decide(host(&topo, "plc-sis"), &sis, &topo, T0),
        Verdict::Deny { .. }
    ));
}

#[test]
fn zero_trust_denies_diagnostics_and_identification_from_an_hmi() {
    let topo = topology();
    let mut p = shipped("zero-trust", &topo);
    let dosing = host(&topo, "plc-dosing");
    let why = denied("deny: identification and diagnostics outside engineering");
    for adu in [
        mb::diagnostics(1, 1, 0x0001, &[0, 0]), // FC 8: restart communications
        mb::read_device_identification(2, 1, 1, 0), // FC 43
        mb::report_server_id(3, 1),             // FC 17
    ] {
        let f = modbus(&topo, "hmi-1", "plc-dosing", adu);
        assert_eq!(
            p.decide(dosing, &f, &topo, at(2, 30)),
            why,
            "FC {:?}",
            f.modbus_function()
        );
    }
    // Reading beyond the display list (the configuration upload) is refused as well.
    let upload = modbus(
        &topo,
        "hmi-1",
        "plc-dosing",
        mb::read_holding_registers(4, 1, 0, 32),
    );
    assert_eq!(
        p.decide(dosing, &upload, &topo, T0),
        denied("deny: any other Modbus access")
    );
}

#[test]
fn a_denied_request_on_an_allowed_connection_is_still_denied() {
    let topo = topology();
    let mut p = shipped("zero-trust", &topo);
    let dosing = host(&topo, "plc-dosing");
    let hmi = host(&topo, "hmi-1");
    let poll = modbus(
        &topo,
        "hmi-1",
        "plc-dosing",
        mb::read_holding_registers(1, 1, 0, 12),
    );
    assert_eq!(p.decide(dosing, &poll, &topo, T0), Verdict::Allow);
    let answer = reply_to(&poll, Payload::Modbus(vec![0; 9].into()));
    assert_eq!(p.decide(hmi, &answer, &topo, T0), Verdict::Allow);
    // Same connection (same ports), now a write out of range: inspected, denied.
    let write = modbus(
        &topo,
        "hmi-1",
        "plc-dosing",
        mb::write_single_register(2, 1, 0, 11_100),
    );
    assert_eq!(write.src_port, poll.src_port);
    assert_eq!(
        p.decide(dosing, &write, &topo, T0),
        denied("deny: writes outside operator set-point ranges")
    );
    // The connection itself stays up: the next poll and its answer pass.
    assert_eq!(p.decide(dosing, &poll, &topo, T0), Verdict::Allow);
    assert_eq!(p.decide(hmi, &answer, &topo, T0), Verdict::Allow);
}

#[test]
fn purdue_denies_an_enterprise_write_at_the_it_firewall() {
    let topo = topology();
    let mut p = shipped("purdue", &topo);
    let write = modbus(
        &topo,
        "ws-02",
        "plc-dosing",
        mb::write_single_register(1, 1, 0, 11_100),
    );
    assert_eq!(
        send(&mut p, &topo, &write, T0),
        Err((
            "it-fw".into(),
            "purdue: no direct path from IT to the control system".into()
        ))
    );
    // From the internet it is stopped at the same firewall, by the same rule.
    let write = modbus(
        &topo,
        "vendor-portal",
        "plc-dosing",
        mb::write_single_register(1, 1, 0, 1),
    );
    assert_eq!(
        send(&mut p, &topo, &write, T0),
        Err((
            "it-fw".into(),
            "purdue: no direct path from IT to the control system".into()
        ))
    );
    // A DMZ host is not IT, but nothing lets it reach a PLC either.
    let write = modbus(
        &topo,
        "jump-01",
        "plc-dosing",
        mb::write_single_register(1, 1, 0, 1),
    );
    assert_eq!(
        send(&mut p, &topo, &write, T0),
        Err((
            "ot-fw".into(),
            "purdue: everything else is denied at the firewalls".into()
        ))
    );
    // Purdue's weakness: inside the control room, nothing is inspected.
    let write = modbus(
        &topo,
        "ews-01",
        "plc-dosing",
        mb::write_single_register(1, 1, 0, 11_100),
    );
    assert_eq!(send(&mut p, &topo, &write, T0), Ok(()));
}

#[test]
fn engineering_is_allowed_only_inside_the_maintenance_window() {
    let topo = topology();
    let mut p = shipped("zero-trust", &topo);
    let ident = modbus(
        &topo,
        "ews-01",
        "plc-filter",
        mb::read_device_identification(1, 1, 1, 0),
    );
    let upload = modbus(
        &topo,
        "ews-01",
        "plc-filter",
        mb::read_holding_registers(2, 1, 0, 16),
    );
    let plc = host(&topo, "plc-filter");
    let rule = "ews: identification and diagnostics in the maintenance window";
    for (t, open) in [
        (at(1, 59), false),
        (at(2, 0), true),
        (at(3, 59), true),
        (at(4, 0), false),
        (at(26, 30), true),
        (at(47, 0), false),
    ] {
        let v = p.decide(plc, &ident, &topo, t);
        assert_eq!(v == Verdict::Allow, open, "identification at {t}: {v:?}");
        let v = p.decide(plc, &upload, &topo, t);
        assert_eq!(v == Verdict::Allow, open, "upload at {t}: {v:?}");
    }
    assert_eq!(p.hits(rule), Some(3));
}

#[test]
fn remote_access_needs_the_right_identity_with_mfa() {
    let topo = topology();
    let mut p = shipped("zero-trust", &topo);
    let portal = id(&topo, "vendor-portal");
    let vpn = flow(&topo, "vendor-portal", "vpn-gw", Service::Vpn);
    assert_eq!(send(&mut p, &topo, &vpn, T0), Ok(()));
    assert_eq!(p.identity(portal), Some(Identity::new("vendor", true)));
    // Phished password, no token: the denial says MFA is what stopped it.
    p.set_identity(portal, Some(Identity::new("vendor", false)));
    assert_eq!(
        send(&mut p, &topo, &vpn, T0),
        Err(("inet-rtr".into(), "default deny".into()))
    );
    let rule = "remote: vendor VPN with MFA";
    assert_eq!(
        common::why_denied(&mut p, &topo, &vpn, T0).as_deref(),
        Some(
            format!("MFA required by \"{rule}\": vendor signed in on vendor-portal without a second factor")
                .as_str()
        )
    );
    // Someone else, with MFA.
    p.set_identity(portal, Some(Identity::new("mallory", true)));
    assert_eq!(
        common::why_denied(&mut p, &topo, &vpn, T0).as_deref(),
        Some(
            format!("identity required by \"{rule}\": mallory on vendor-portal is not among its users")
                .as_str()
        )
    );
    p.set_identity(portal, None);
    assert_eq!(
        common::why_denied(&mut p, &topo, &vpn, T0).as_deref(),
        Some(format!("identity required by \"{rule}\": nobody is signed in on vendor-portal").as_str())
    );
    // A flow no identity rule would allow is an ordinary denial.
    let smb = flow(&topo, "vendor-portal", "vpn-gw", Service::Smb);
    assert_eq!(common::why_denied(&mut p, &topo, &smb, T0), None);
    // The summary counts the denials each shortfall made (the MFA frame was sent twice).
    assert_eq!(
        p.summary()["identity_denials"],
        serde_json::json!({"mfa": 2, "user": 1, "nobody": 1})
    );

    // Once the policy is installed in the network, a handle taken before changes it.
    let handle = p.identity_handle();
    let mut installed: Box<dyn PolicyHook> = Box::new(p);
    let decide = |p: &mut Box<dyn PolicyHook>| {
        common::points(&topo, &vpn)
            .into_iter()
            .all(|pt| p.decide(pt, &vpn, &topo, T0) == Verdict::Allow)
    };
    assert!(!decide(&mut installed));
    handle.set(portal, Some(Identity::new("vendor", true)));
    assert!(decide(&mut installed));
    assert_eq!(handle.get(portal), Some(Identity::new("vendor", true)));

    // The office admin reaches the jump host; a colleague on another desk does not.
    let mut p = shipped("zero-trust", &topo);
    let rdp = flow(&topo, "ws-01", "jump-01", Service::Rdp);
    assert_eq!(send(&mut p, &topo, &rdp, T0), Ok(()));
    let rdp = flow(&topo, "ws-03", "jump-01", Service::Rdp);
    assert!(send(&mut p, &topo, &rdp, T0).is_err());
    // Unless the admin signs in there.
    p.set_identity(id(&topo, "ws-03"), Some(Identity::new("j.smith", true)));
    assert_eq!(send(&mut p, &topo, &rdp, T0), Ok(()));
}

#[test]
fn the_summary_counts_hits_in_file_order() {
    let topo = topology();
    let mut p = shipped("purdue", &topo);
    let rdp = flow(&topo, "ws-01", "jump-01", Service::Rdp);
    assert_eq!(send(&mut p, &topo, &rdp, T0), Ok(()));
    let back = reply_to(
        &rdp,
        Payload::Flow {
            bytes: 1000,
            reply_bytes: 0,
        },
    );
    assert_eq!(send(&mut p, &topo, &back, T0), Ok(()));
    let write = modbus(
        &topo,
        "ws-02",
        "plc-dosing",
        mb::write_single_register(1, 1, 0, 1),
    );
    assert!(send(&mut p, &topo, &write, T0).is_err());
    let s = p.summary();
    assert_eq!(s["policy"], "purdue");
    assert_eq!(s["default"], "allow");
    // rdp: it-fw (rule) + jump-01 (default); reply: it-fw (state) + ws-01 (state);
    // write: it-fw (rule).
    assert_eq!(s["decisions"], 5);
    assert_eq!(s["allowed"], 4);
    assert_eq!(s["denied"], 1);
    assert_eq!(s["established"], 2);
    assert_eq!(s["default_verdicts"]["allowed"], 1);
    let rules = s["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 12);
    assert_eq!(
        rules[0]["name"],
        "purdue: no direct path from IT to the control system"
    );
    assert_eq!(rules[0]["action"], "deny");
    assert_eq!(rules[0]["hits"], 1);
    assert_eq!(rules[4]["name"], "purdue: enterprise reaches the DMZ jump host");
    assert_eq!(rules[4]["hits"], 1);
    // Deterministic: the same decisions give the same bytes.
    let mut q = shipped("purdue", &topo);
    for f in [&rdp, &back, &write] {
        let _ = send(&mut q, &topo, f, T0);
    }
    assert_eq!(q.summary().to_string(), s.to_string());
}

#[test]
fn frames_from_outside_the_topology_get_the_default_without_panicking() {
    let topo = topology();
    let mut p = shipped("zero-trust", &topo);
    let mut f = modbus(&topo, "hmi-1", "plc-dosing", vec![1, 2, 3]);
    f.src = otrange_sim::net::topology::HostId(9_999);
    // Three bytes are no Modbus request: the first fail-closed inspection rule takes it.
    assert_eq!(
        p.decide(host(&topo, "plc-dosing"), &f, &topo, T0),
        denied("deny: identification and diagnostics outside engineering")
    );
    f.dst = otrange_sim::net::topology::HostId(9_999);
    let point = EnforcementPoint::Network(otrange_sim::net::topology::HostId(u32::MAX));
    assert_eq!(p.decide(point, &f, &topo, T0), denied("default deny"));
    assert_eq!(
        p.decide(EnforcementPoint::Host(f.dst), &f, &topo, T0),
        denied("default deny")
    );
}
