//! A day of the reference plant in benign operation: the baseline every attack and detector
//! is measured against. Control holds every process variable in its band, no safety limit is
//! crossed, every poll is answered and nothing on the network is lost.

mod common;

use common::{read_json, run_exercise, run_reference_ok};
use serde_json::Value;

fn u(v: &Value) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("expected an unsigned integer, got {v}"))
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("expected a number, got {v}"))
}

fn list<'a>(r: &'a Value, key: &str) -> &'a Vec<Value> {
    r[key]
        .as_array()
        .unwrap_or_else(|| panic!("results.json has no array {key:?}"))
}

#[test]
fn a_day_of_benign_operation_stays_in_bands_without_impacts_or_timeouts() {
    let dir = tempfile::tempdir().unwrap();
    // The exercise's own duration and seed: 24 h, seed 1.
    let out = run_reference_ok(dir.path(), &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let r = read_json(&dir.path().join("results.json"));

    assert_eq!(f(&r["duration_s"]), 86_400.0, "the reference exercise runs 24 h");
    assert_eq!(r["passed"], true, "expectations failed:\n{stdout}");
    for e in list(&r, "expectations") {
        assert_eq!(e["passed"], true, "expectation {e}");
    }
    assert!(
        list(&r, "expectations").len() >= 5,
        "the reference exercise lost expectations"
    );

    let impacts = list(&r, "impacts");
    assert!(impacts.is_empty(), "impacts in benign operation: {impacts:#?}");

    // The filtration cell's TSN streams: every cycle's frame on time, none lost, for 24 h.
    let streams = list(&r["tsn"], "streams");
    assert_eq!(streams.len(), 4, "two remote I/O modules, a stream each way");
    for s in streams {
        assert_eq!(u(&s["deadline_misses"]), 0, "{s}");
        assert_eq!(u(&s["dropped"]), 0, "{s}");
        // 24 h of 32 ms cycles; a frame may still be on its way at the end.
        assert_eq!(u(&s["sent"]), 2_700_000, "{s}");
        assert!(u(&s["sent"]) - u(&s["delivered"]) <= 1, "{s}");
        assert!(u(&s["latency"]["max_ns"]) <= u(&s["deadline_ns"]), "{s}");
    }
    for m in list(&r, "remote_io") {
        assert_eq!(u(&m["watchdog_trips"]), 0, "{m}");
    }

    let bands = list(&r["process"], "bands");
    assert!(bands.len() >= 6, "only {} process bands", bands.len());
    for b in bands {
        assert_eq!(f(&b["seconds_outside"]), 0.0, "band left: {b}");
        assert!(
            f(&b["observed_min"]) >= f(&b["min"]) && f(&b["observed_max"]) <= f(&b["max"]),
            "band exceeded: {b}"
        );
    }

    let hmis = list(&r, "hmis");
    assert_eq!(hmis.len(), 2);
    for h in hmis {
        let polls = u(&h["polls"]);
        // One poll cycle per second, several blocks per cycle.
        assert!(polls >= 86_400, "{h}");
        assert_eq!(u(&h["timeouts"]), 0, "poll timeouts: {h}");
        assert_eq!(u(&h["exceptions"]), 0, "exception answers: {h}");
        // Every poll is answered, except at most one cycle still in flight at the end.
        assert!(polls - u(&h["answers"]) <= 16, "unanswered polls: {h}");
        assert_eq!(u(&h["latency"]["count"]), u(&h["answers"]), "{h}");
        assert!(f(&h["latency"]["p99_ms"]) <= 150.0, "{h}");
        // Nothing for the operator to do on a normal day.
        assert_eq!(u(&h["operator_actions"]), 0, "operator acted: {h}");
        assert!(list(h, "alarms_shown_at_end").is_empty(), "alarms on screen: {h}");
    }
    for h in list(&r, "historians") {
        assert_eq!(u(&h["timeouts"]), 0, "historian timeouts: {h}");
        assert!(u(&h["samples"]) >= 86_400 / 5, "{h}");
    }
    for p in list(&r, "plcs") {
        assert_eq!(p["mode"], "run", "{p}");
        assert_eq!(
            (u(&p["exceptions"]), u(&p["busy"]), u(&p["dropped"])),
            (0, 0, 0),
            "{p}"
        );
        assert!(u(&p["requests"]) > 0, "nobody talks to {p}");
    }
    let net = &r["network"];
    assert_eq!(u(&net["dropped"]), 0, "{net}");
    assert_eq!(u(&net["blocked"]), 0, "{net}");
    assert!(
        u(&net["sent"]) - u(&net["delivered"]) <= 100,
        "frames lost: {net}"
    );
    assert!(u(&net["modbus_frames"]) > 2_000_000, "{net}");

    // The event log agrees: no impact, timeout, exception, drop or alarm all day.
    let events = std::fs::read_to_string(dir.path().join("events.jsonl")).unwrap();
    for line in events.lines() {
        let e: Value = serde_json::from_str(line).unwrap_or_else(|err| panic!("{err}: {line}"));
        let kind = e["event"]
            .as_str()
            .unwrap_or_else(|| panic!("event without kind: {line}"));
        assert!(
            !matches!(
                kind,
                "impact" | "poll_timeout" | "modbus_exception" | "frame_dropped" | "frame_blocked" | "alarm"
            ),
            "benign day logged {line}"
        );
    }
}

/// Regression: on hosts that are both a Modbus client (HMI, historian, engineering workstation)
/// and an IT traffic source, the device agent used to take the IT replies from the shared
/// inbox, so `it.answered` undercounted and the workstation's `answers` overcounted.
#[test]
fn every_agent_counts_the_replies_to_its_own_requests() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_exercise(&common::reference_exercise(), dir.path(), &["--duration", "1h"]);
    assert_eq!(o.status.code(), Some(0), "{}", common::describe(&o));
    let r = read_json(&dir.path().join("results.json"));
    let it = &r["it"];
    // Every exchange was served; its reply can only be missing if still in flight at the end.
    assert_eq!(u(&it["served"]), u(&it["exchanges"]), "{it}");
    assert!(
        u(&it["exchanges"]) - u(&it["answered"]) <= 5,
        "IT replies that never reached their client's counter: {it}"
    );
    for e in list(&r, "engineering_workstations") {
        // A session is 4 requests (identification, server id, diagnostics, upload).
        assert!(u(&e["answers"]) <= 4 * u(&e["sessions"]), "{e}");
    }
}
