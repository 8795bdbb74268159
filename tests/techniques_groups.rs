//! `otrange techniques --group NAME` and `--groups`, as a user runs them: a group's techniques
//! with otrange's executors marked, the per-group share, and an unknown group refused with
//! close names.

mod common;

use common::{describe, otrange};

fn stdout_ok(args: &[&str]) -> String {
    let o = otrange(args);
    assert_eq!(o.status.code(), Some(0), "otrange {args:?}:\n{}", describe(&o));
    String::from_utf8(o.stdout).expect("otrange prints UTF-8")
}

/// The MEANING column of `otrange techniques` for one technique, so the group view can be
/// checked against the full listing rather than against a hard-coded executor list.
fn executor_mark(listing: &str, id: &str) -> String {
    let line = listing
        .lines()
        .find(|line| line.starts_with(&format!("{id} ")))
        .unwrap_or_else(|| panic!("{id} is not in `otrange techniques`:\n{listing}"));
    line.split_whitespace().last().unwrap().to_owned()
}

#[test]
fn group_lists_its_techniques_with_executors() {
    let all = stdout_ok(&["techniques"]);
    let out = stdout_ok(&["techniques", "--group", "XENOTIME"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "G0088 TEMP.Veles, also known as XENOTIME", "{out}");
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>(),
        ["ID", "NAME", "TACTICS", "MEANING"],
        "{out}"
    );
    assert!(lines[2].starts_with("T0817  Drive-by Compromise"), "{out}");
    assert!(lines[3].starts_with("T0862  Supply Chain Compromise"), "{out}");
    let mut executable = 0;
    for (line, id) in lines[2..4].iter().zip(["T0817", "T0862"]) {
        let mark = executor_mark(&all, id);
        assert!(line.ends_with(&format!(" {mark}")), "{id}: {line}");
        executable += usize::from(mark == "executor");
    }
    assert_eq!(
        lines[4],
        format!("{executable} of 2 of its techniques have an executor")
    );
    assert_eq!(lines.len(), 5, "{out}");

    // The same group by ID and by name, in any case.
    assert_eq!(stdout_ok(&["techniques", "--group", "g0088"]), out);
    assert_eq!(stdout_ok(&["techniques", "--group", "temp.veles"]), out);
}

#[test]
fn group_json_has_the_group_and_its_techniques() {
    let out = stdout_ok(&["techniques", "--group", "electrum", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("--json prints JSON");
    assert_eq!(v["group"]["id"], "G0034");
    assert_eq!(v["group"]["name"], "Sandworm Team");
    assert!(
        v["group"]["aliases"]
            .as_array()
            .unwrap()
            .contains(&"ELECTRUM".into())
    );
    let ids: Vec<&str> = v["techniques"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["T0807", "T0819", "T0884"]);
    let marked = v["techniques"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["executor"] == true)
        .count();
    assert_eq!(v["group"]["executable"], marked);
    assert_eq!(v["attack"]["version"], "18.1");
}

#[test]
fn groups_lists_every_group_with_its_share() {
    let out = stdout_ok(&["techniques", "--groups"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["ID", "NAME", "TECHNIQUES", "EXECUTABLE", "SHARE"],
        "{out}"
    );
    assert_eq!(lines.len(), 15, "a header and 14 groups:\n{out}");
    let ids: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(ids.first(), Some(&"G0032"));
    assert_eq!(ids.last(), Some(&"G1027"));
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "in the data file's order");

    // Each row agrees with the group's own view.
    let xenotime = lines
        .iter()
        .find(|l| l.starts_with("G0088 "))
        .expect("a row for G0088");
    let cells: Vec<&str> = xenotime.split_whitespace().collect();
    let group = stdout_ok(&["techniques", "--group", "G0088"]);
    let footer = group.lines().last().unwrap();
    assert_eq!(
        footer,
        format!("{} of 2 of its techniques have an executor", cells[3])
    );
    let executable: f64 = cells[3].parse().unwrap();
    assert_eq!(cells[..3], ["G0088", "TEMP.Veles", "2"]);
    assert_eq!(cells[4], format!("{:.0}%", executable * 100.0 / 2.0));
    // A group ATT&CK maps no ICS techniques to has no share rather than 0%.
    let fin7: Vec<&str> = lines
        .iter()
        .find(|l| l.starts_with("G0046 "))
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(fin7, ["G0046", "FIN7", "0", "0", "-"]);

    let json = stdout_ok(&["techniques", "--groups", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json).expect("--json prints JSON");
    assert_eq!(v["groups"].as_array().unwrap().len(), 14);
    assert_eq!(v["groups"][0]["id"], "G0032");
}

#[test]
fn an_unknown_group_exits_2_with_suggestions() {
    let o = otrange(["techniques", "--group", "XENOTME"]);
    assert_eq!(o.status.code(), Some(2), "{}", describe(&o));
    assert!(o.stdout.is_empty(), "{}", describe(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(
            "error: unknown ATT&CK for ICS group `XENOTME` (did you mean XENOTIME (G0088 TEMP.Veles)?)"
        ),
        "{}",
        describe(&o)
    );
    assert!(err.contains("otrange techniques --groups"), "{}", describe(&o));

    let o = otrange(["techniques", "--group", "no such group"]);
    assert_eq!(o.status.code(), Some(2), "{}", describe(&o));
    assert!(
        !String::from_utf8_lossy(&o.stderr).contains("did you mean"),
        "{}",
        describe(&o)
    );
}
