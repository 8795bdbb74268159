//! Impacts the devices record, not the physics: an HMI's view of a PLC denied (T0815) and
//! lost (T0829), an operator's command unanswered (T0813), a protection PLC stopped
//! (T0837). The fixture plant (tests/fixtures/plants/impacts.toml) has an HMI polling a
//! process PLC and a protection PLC every second; its playbook puts plc-1 in listen-only
//! mode at 1 min and stops plc-sis at 2 min.

mod common;

use common::{describe, fixture, otrange, run_results};
use std::ffi::OsStr;

/// The run's impacts as (time in s, technique, component, hmi).
fn impacts(r: &serde_json::Value) -> Vec<(f64, String, String, Option<String>)> {
    r["impacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["t_s"].as_f64().unwrap(),
                i["technique"].as_str().unwrap().to_string(),
                i["component"].as_str().unwrap().to_string(),
                i["hmi"].as_str().map(str::to_string),
            )
        })
        .collect()
}

#[test]
fn silence_and_stop_give_view_control_and_protection_impacts_at_their_times() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let r = run_results(&fixture("impacts.toml"), &out, &["--no-report"]);
    let got = impacts(&r);
    let find = |t: &str| {
        let hits: Vec<_> = got.iter().filter(|i| i.1 == t).collect();
        assert_eq!(hits.len(), 1, "{t} once per episode: {got:?}");
        hits[0].clone()
    };
    // plc-1 stops answering when the FC 8/4 request reaches it, just after 60 s. The HMI's
    // last valid answer from it (A) is the one to its last poll before that; polls are 1 s
    // apart (jitter 0), so 59 s < A < 61 s. Denial of View is A + 10 s (the default
    // view_lost_after: 3 poll periods, at least 10 s), Loss of View A + 900 s (default
    // view_loss_sustained, 15 min), so exactly 890 s apart.
    let dov = find("T0815");
    let lov = find("T0829");
    assert!(dov.0 > 69.0 && dov.0 < 71.0, "{dov:?}");
    assert!((lov.0 - dov.0 - 890.0).abs() < 1e-6, "{dov:?} {lov:?}");
    for i in [&dov, &lov] {
        assert_eq!(i.2, "plc-1");
        assert_eq!(i.3.as_deref(), Some("hmi"));
    }
    // plc-sis is told to stop at 120 s; the request takes effect at its next 100 ms scan.
    let lop = find("T0837");
    assert!(lop.0 > 120.0 && lop.0 < 120.5, "{lop:?}");
    assert_eq!((lop.2.as_str(), lop.3.as_deref()), ("plc-sis", None));
    // The tank passes 1.2 m at 200 s (1 mm/s from 1.0 m); the procedure writes plc-1 10 s
    // later, and the silent PLC leaves it unanswered for the HMI's timeout (its poll
    // period, at least 1 s): Denial of Control 1 s after the operator's action.
    let events = std::fs::read_to_string(out.join("events.jsonl")).unwrap();
    let action: f64 = events
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|e| e["event"] == "operator_action")
        .map(|e| e["t"].as_f64().unwrap() / 1e9)
        .expect("the procedure acted");
    assert!(action > 210.0 && action < 210.5, "{action}");
    let doc = find("T0813");
    assert!((doc.0 - action - 1.0).abs() < 1e-6, "{doc:?} after {action}");
    assert_eq!((doc.2.as_str(), doc.3.as_deref()), ("plc-1", Some("hmi")));
    assert!(events.contains(
        r#""event":"device_impact","technique":"T0837","technique_name":"Loss of Protection","device":"plc-sis""#
    ));
    // The limit impact keeps its shape; device impacts have no limit.
    let limit = &r["impacts"].as_array().unwrap()[2];
    assert_eq!(limit["limit"], "level_1_2", "{limit}");
    assert!(r["impacts"][0].get("limit").is_none());
}

#[test]
fn a_benign_run_has_no_device_impacts() {
    let dir = tempfile::tempdir().unwrap();
    let r = run_results(
        &fixture("impacts-benign.toml"),
        &dir.path().join("out"),
        &["--no-report"],
    );
    let techniques: Vec<String> = impacts(&r).into_iter().map(|i| i.1).collect();
    // The procedure's write is acknowledged, both PLCs answer every poll, plc-sis runs.
    assert_eq!(techniques, ["T0828"], "{r}");
}

#[test]
fn expectations_name_device_impacts_and_limits_cannot_carry_them() {
    let dir = tempfile::tempdir().unwrap();
    let plant = std::fs::read_to_string(fixture("plants/impacts.toml")).unwrap();
    let write = |name: &str, plant_text: &str, expect: &str| {
        let p = dir.path().join(format!("{name}-plant.toml"));
        std::fs::write(&p, plant_text).unwrap();
        let ex = dir.path().join(format!("{name}.toml"));
        std::fs::write(
            &ex,
            format!(
                "[exercise]\nname = \"x\"\nplant = {:?}\nplaybook = {:?}\nduration = \"20m\"\n[expect]\n{expect}\n",
                p.display().to_string(),
                fixture("playbooks/impacts.toml").display().to_string()
            ),
        )
        .unwrap();
        ex
    };
    // `impact_techniques` accepts the device impacts; `impacts = N` counts limits crossed.
    let ex = write(
        "ok",
        &plant,
        "impact_techniques = [\"T0815\", \"T0829\", \"T0813\", \"T0837\", \"T0828\"]\nimpacts = 1",
    );
    let out = dir.path().join("out");
    let r = run_results(&ex, &out, &["--no-report"]);
    let exp = r["expectations"].as_array().unwrap();
    assert!(exp.iter().all(|e| e["passed"] == true), "{exp:?}");
    // A limit cannot carry a device impact.
    let bad = plant.replace("technique = \"T0828\"", "technique = \"T0815\"");
    let o = otrange([OsStr::new("check"), write("bad-limit", &bad, "").as_os_str()]);
    let text = describe(&o);
    assert!(!o.status.success(), "{text}");
    assert!(
        text.contains("T0815 Denial of View is recorded by devices, not by a limit"),
        "{text}"
    );
    // A view cannot be lost before it is denied.
    let bad = plant.replace(
        "jitter = \"0s\"",
        "jitter = \"0s\"\nview_lost_after = \"20s\"\nview_loss_sustained = \"10s\"",
    );
    let o = otrange([OsStr::new("check"), write("bad-view", &bad, "").as_os_str()]);
    let text = describe(&o);
    assert!(!o.status.success(), "{text}");
    assert!(text.contains("hmi[0].view_loss_sustained"), "{text}");
    assert!(
        text.contains("expected more than view_lost_after (20 s)"),
        "{text}"
    );
}
