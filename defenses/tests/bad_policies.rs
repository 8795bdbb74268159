//! Bad policy files: every mistake is reported with file, line, column and field, and
//! says what was expected. The texts are asserted exactly: they are the user interface.

mod common;

use common::topology;
use otrange_defenses::Policy;
use otrange_sim::base::config_error::FileError;

/// Every case starts with this header (lines 1 to 4), so rules start on line 5.
const HEAD: &str = "[policy]\nname = \"t\"\ndefault = \"deny\"\n\n";

fn error(body: &str) -> FileError {
    let text = format!("{HEAD}{body}");
    match Policy::from_str("bad.toml", &text, &topology()) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e,
    }
}

fn rule(extra: &str) -> String {
    format!("[[rule]]\nname = \"r\"\naction = \"allow\"\n{extra}\n")
}

#[test]
fn an_unknown_host_in_a_rule_is_located_and_a_close_name_suggested() {
    let e = error(&rule("from = [\"hmi-1\", \"plc-dosng\"]"));
    assert_eq!(
        e.to_string(),
        r#"bad.toml:8:18: rule[0].from[1]: unknown host "plc-dosng": expected a host name, "any", "role:<role>", "zone:<zone>", "level:<L0..L5|DMZ>" or those joined by " & " (did you mean "plc-dosing"?)"#
    );
    assert_eq!((e.line, e.column, e.field.as_str()), (8, 18, "rule[0].from[1]"));
}

#[test]
fn every_part_of_an_intersection_is_checked() {
    let e = error(&rule("to = \"role:switch & level:L9\""));
    assert_eq!(e.field, "rule[0].to");
    assert!(e.to_string().contains(r#"unknown level "L9""#), "{e}");
    let e = error(&rule("to = \"role:swtch & level:L1\""));
    assert!(e.to_string().contains(r#"unknown role "swtch""#), "{e}");
}

#[test]
fn an_unknown_field_is_named_with_the_fields_expected() {
    assert_eq!(
        error(&rule("fro = \"hmi-1\"")).to_string(),
        "bad.toml:8:1: rule[0].fro: unknown field `fro`, expected one of `name`, `action`, `description`, `at`, `from`, `to`, `service`, `port`, `identity`, `mfa`, `window`, `modbus`"
    );
    assert_eq!(
        error(&rule("modbus = { fc = [3] }")).to_string(),
        "bad.toml:8:12: rule[0].modbus.fc: unknown field `fc`, expected one of `functions`, `unit`, `access`, `registers`, `values`"
    );
}

#[test]
fn bad_ports_are_refused() {
    assert_eq!(
        error(&rule("port = [502, 70000]")).to_string(),
        "bad.toml:8:14: rule[0].port[1]: invalid port 70000: expected a port number 1..=65535"
    );
    assert_eq!(
        error(&rule("port = \"https\"")).to_string(),
        r#"bad.toml:8:8: rule[0].port: invalid type: string "https", expected an integer or a list of integers"#
    );
}

#[test]
fn bad_register_ranges_are_refused() {
    assert_eq!(
        error(&rule("modbus = { registers = [\"hr:0-9\", \"hr:99-10\"] }")).to_string(),
        r#"bad.toml:8:35: rule[0].modbus.registers[1]: invalid register range "hr:99-10": the first address 99 is after the last 10"#
    );
    assert_eq!(
        error(&rule("modbus = { registers = \"holding:0\" }")).to_string(),
        r#"bad.toml:8:24: rule[0].modbus.registers: invalid register range "holding:0": expected "<table>:<first>" or "<table>:<first>-<last>" with table co, di, ir or hr and addresses 0..=65535, e.g. "hr:0-99""#
    );
}

#[test]
fn bad_modbus_matches_are_refused() {
    assert_eq!(
        error(&rule("modbus = { values = [150, 0] }")).to_string(),
        "bad.toml:8:21: rule[0].modbus.values: min 150 is above max 0: expected [min, max] with 0 <= min <= max <= 65535, e.g. [0, 150]"
    );
    assert_eq!(
        error(&rule("modbus = { functions = [3, 300] }")).to_string(),
        "bad.toml:8:28: rule[0].modbus.functions[1]: invalid function code 300: expected 1..=127"
    );
    assert_eq!(
        error(&rule("modbus = { }")).to_string(),
        "bad.toml:8:10: rule[0].modbus: an empty Modbus match: expected at least one of functions, unit, access, registers, values"
    );
    assert_eq!(
        error(&rule("service = \"https\"\nmodbus = { functions = [3] }")).to_string(),
        r#"bad.toml:9:10: rule[0].modbus: Modbus inspection in a rule whose service list leaves out "modbus" can never match: add "modbus" to service or drop service"#
    );
}

#[test]
fn bad_names_of_zones_roles_services_and_points_are_refused() {
    assert_eq!(
        error(&rule("to = \"zone:contrl\"")).to_string(),
        r#"bad.toml:8:6: rule[0].to: unknown zone "contrl": expected one of the plant's zones: internet, enterprise, idmz, operations, supervisory, control, field"#
    );
    assert_eq!(
        error(&rule("service = [\"modbus\", \"telnet\"]")).to_string(),
        r#"bad.toml:8:22: rule[0].service[1]: unknown service "telnet": expected one of "modbus", "rdp", "smb", "http", "https", "ssh", "dns", "kerberos", "ldap", "winrm", "vpn", "historian""#
    );
    assert_eq!(
        error(&rule("at = \"sw-ent\"")).to_string(),
        r#"bad.toml:8:6: rule[0].at: "sw-ent" is a switch: it forwards frames without consulting the policy; expected "any", "any-firewall", "network" (every router and firewall), "host" (every device's own filter), the name of a router or firewall, or the name of an end host (its own filter)"#
    );
    assert!(
        error(&rule("to = \"role:robot\""))
            .message
            .starts_with(r#"unknown role "robot": expected one of "plc", "hmi","#)
    );
}

#[test]
fn actions_names_windows_and_identities_are_checked() {
    assert_eq!(
        error("[[rule]]\nname = \"r\"\naction = \"permit\"\n").to_string(),
        r#"bad.toml:7:10: rule[0].action: invalid action "permit": expected "allow" or "deny""#
    );
    assert_eq!(
        error(&format!(
            "{}{}",
            rule(""),
            "[[rule]]\nname = \"r\"\naction = \"deny\""
        ))
        .to_string(),
        r#"bad.toml:10:8: rule[1].name: duplicate rule name "r" (rule[0] has it): rule names must be unique"#
    );
    assert_eq!(
        error("[[rule]]\naction = \"allow\"\n").to_string(),
        "bad.toml:5:1: rule[0].name: missing field `name`"
    );
    assert_eq!(
        error(&rule(
            "window = { every = \"24h\", start = \"25:00\", length = \"2h\" }"
        ))
        .to_string(),
        r#"bad.toml:8:35: rule[0].window.start: invalid start "25:00": expected a time of day "HH:MM" or "HH:MM:SS", or an offset such as "90m""#
    );
    // A duration is read with the file, so a bad one is placed at its own value.
    assert_eq!(
        error(&rule(
            "window = { every = \"1 day\", start = \"02:00\", length = \"2h\" }"
        ))
        .to_string(),
        r#"bad.toml:8:20: rule[0].window.every: invalid duration "1 day": expected a number followed by a unit (ns, us, ms, s, m, h, d), e.g. "1h", "90s", "250ms""#
    );
    assert_eq!(
        error(&rule("identity = \"vendr\"")).to_string(),
        r#"bad.toml:8:12: rule[0].identity: unknown user "vendr": expected a user of an [[identity]] (none is declared)"#
    );
    assert_eq!(
        error("[[identity]]\nhost = \"ws-01\"\nuser = \"a\"\n[[identity]]\nhost = \"ws-01\"\nuser = \"b\"\n")
            .to_string(),
        r#"bad.toml:9:8: identity[1].host: host "ws-01" already has an identity (identity[0]): expected one per host"#
    );
}

#[test]
fn the_header_syntax_and_the_file_itself_are_checked() {
    let topo = topology();
    let err = |text: &str| Policy::from_str("bad.toml", text, &topo).unwrap_err().to_string();
    assert_eq!(
        err("[policy]\nname = \"t\"\n"),
        "bad.toml:1:1: policy.default: missing field `default`"
    );
    assert_eq!(
        err("[policy]\nname = \"t\"\ndefault = \"block\"\n"),
        r#"bad.toml:3:11: policy.default: invalid action "block": expected "allow" or "deny""#
    );
    assert_eq!(
        error(&rule("from = [\"hmi-1\",")).to_string(),
        "bad.toml:8:17: (syntax): unclosed array, expected `]`"
    );
    let e = Policy::load("/nonexistent/p.toml", &topo).unwrap_err();
    assert_eq!((e.line, e.column), (0, 0));
    assert!(
        e.to_string()
            .starts_with("/nonexistent/p.toml: (file): cannot read the policy file: "),
        "{e}"
    );
}
