//! report.html and the ATT&CK Navigator layers, as a reader gets them: rendered by a real
//! browser (Debian's headless Chromium) with no console message, every mark of every chart
//! present, a screenshot that is not blank; layers in Navigator's format 4.5 naming only
//! techniques of the shipped catalogue.

mod common;

use common::{describe, fixture, not_blank, otrange, read_json, repo_path, run_exercise};
use serde_json::json;
use std::path::Path;

/// The DOM Chromium rendered from a report file, and its console messages.
fn render(html: &Path, screenshot: &Path) -> (String, String) {
    common::browse(&format!("file://{}", html.display()), screenshot, &[])
}

fn count(dom: &str, class: &str) -> usize {
    dom.matches(&format!("class=\"{class}\"")).count()
}

/// Every technique of a layer is in the catalogue, and the layer has format 4.5's fields.
fn check_layer(layer: &serde_json::Value) -> Vec<String> {
    assert_eq!(layer["versions"]["layer"], "4.5");
    assert_eq!(layer["domain"], "ics-attack");
    assert_eq!(
        layer["versions"]["attack"],
        otrange_attacks::catalogue::ATTACK_VERSION
    );
    assert!(layer["name"].as_str().is_some_and(|n| !n.is_empty()));
    let mut ids = Vec::new();
    for t in layer["techniques"].as_array().unwrap() {
        let id = t["techniqueID"].as_str().unwrap();
        assert!(
            otrange_attacks::catalogue::technique(id).is_ok(),
            "{id} is not in the catalogue"
        );
        let score = t["score"].as_u64().unwrap();
        assert!(score <= 4);
        assert!(t["color"].as_str().unwrap().starts_with('#'));
        assert!(t["comment"].as_str().unwrap().contains("best detection"));
        ids.push(id.to_string());
    }
    ids
}

#[test]
fn a_run_report_shows_every_step_alert_and_impact_in_a_browser() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_exercise(&repo_path("scenarios/oldsmar.toml"), dir.path(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    let events = std::fs::read_to_string(dir.path().join("events.jsonl")).unwrap();
    let n = |kind: &str| events.matches(&format!("\"event\":\"{kind}\"")).count();
    let (dom, console) = render(&dir.path().join("report.html"), &dir.path().join("run.png"));
    assert!(console.is_empty(), "console messages:\n{console}");
    assert_eq!(count(&dom, "mark step"), n("step_started"));
    assert_eq!(count(&dom, "mark alert"), n("alert"));
    assert_eq!(count(&dom, "mark impact"), n("impact"));
    assert_eq!((n("alert"), n("impact")), (4, 1));
    // One panel per watched variable, each with its line.
    let trace = std::fs::read_to_string(dir.path().join("process.csv")).unwrap();
    let variables = trace.lines().next().unwrap().split(',').count() - 1;
    assert_eq!(count(&dom, "series"), variables);
    assert!(
        dom.contains("<title>855.5 s: T0880"),
        "the impact's mark names it"
    );
    not_blank(&dir.path().join("run.png"));

    let layer = read_json(&dir.path().join("navigator-layer.json"));
    let ids = check_layer(&layer);
    assert_eq!(ids, ["T0801", "T0822", "T0836", "T0886"]);
    let score = |id: &str| {
        layer["techniques"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["techniqueID"] == id)
            .unwrap()["score"]
            .as_u64()
            .unwrap()
    };
    // T0836 named by the rules (technique, 4); T0801 seen and not flagged (telemetry, 1).
    assert_eq!((score("T0836"), score("T0801"), score("T0822")), (4, 1, 0));
}

#[test]
fn a_sweep_report_has_a_heatmap_cell_per_technique_and_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sweep");
    let o = otrange([
        "sweep",
        fixture("sweeps/small.toml").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", describe(&o));
    let (dom, console) = render(&out.join("report.html"), &dir.path().join("sweep.png"));
    assert!(console.is_empty(), "console messages:\n{console}");
    let sweep = read_json(&out.join("sweep.json"));
    let mut techniques: Vec<&str> = sweep["cells"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["scores"]["steps"].as_array().unwrap())
        .filter(|s| s["status"] != "not_reached")
        .map(|s| s["technique"].as_str().unwrap())
        .collect();
    techniques.sort_unstable();
    techniques.dedup();
    let configurations = 4;
    assert_eq!(
        count(&dom, "cell") + count(&dom, "cell not-run"),
        techniques.len() * configurations
    );
    assert_eq!(count(&dom, "bar"), 3 * configurations);
    // Threat groups: a cell per configuration and group with ICS techniques.
    let groups = otrange_attacks::catalogue::groups()
        .iter()
        .filter(|g| !g.techniques.is_empty())
        .count();
    assert_eq!(dom.matches(" run</td>").count(), groups * configurations);
    assert!(dom.contains("Sandworm Team ("), "the groups are named");
    not_blank(&dir.path().join("sweep.png"));
    // One layer per defence configuration.
    let layers: Vec<_> = std::fs::read_dir(out.join("navigator-layers")).unwrap().collect();
    assert_eq!(layers.len(), configurations);
    let zt = read_json(&out.join("navigator-layers/zero-trust.rules-allow-list.json"));
    assert!(check_layer(&zt).contains(&"T0801".to_string()));

    // NIS2 evidence of the sweep: (f) the sweep as a repeatable test, with the SHA-256 of
    // every file it read; (j) the steps zero trust's MFA requirement stopped (Oldsmar's VPN
    // login from its own entry, once per seed); both in nis2.md and in report.html.
    let md = std::fs::read_to_string(out.join("nis2.md")).unwrap();
    let sha = |rel: &str| -> String {
        use sha2::Digest;
        sha2::Sha256::digest(std::fs::read(fixture("sweeps").join(rel)).unwrap())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    for input in [
        "small.toml",
        "../../../scenarios/oldsmar.toml",
        "../../../scenarios/policies/zero-trust.toml",
    ] {
        let line = format!("- Input {input}: SHA-256 {}.", sha(input));
        assert!(md.contains(&line), "{line} in:\n{md}");
    }
    let inputs = sweep["inputs"].as_array().unwrap();
    assert_eq!(
        inputs[0]["file"],
        "../../../scenarios/benchmark/detectors/rules-allow-list.toml"
    );
    assert!(inputs.iter().any(|f| f["file"] == "small.toml"));
    assert!(
        md.contains(
            "- Sweep \"small\": 32 of 32 cells (24 attacks, 8 benign baselines), seeds 1, 2; written 20"
        ),
        "{md}"
    );
    assert!(
        md.contains("### (j) multi-factor authentication, secured communications\n\n- Policy zero-trust: attack steps stopped for want of a second factor: 2.\n"),
        "{md}"
    );
    assert!(dom.contains("Policy zero-trust: attack steps stopped for want of a second factor: 2."));
}

#[test]
fn report_on_a_directory_without_outputs_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let o = otrange(["report", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("neither a run's directory (results.json) nor a sweep's (sweep.json)"),
        "{}",
        describe(&o)
    );
}

/// NIS2 Article 23 from Oldsmar on the flat network: with the plant's detection set the
/// remote-desktop alert, 630 s in, is when the entity could have known, 225 s before the
/// impact; without detectors the impact is one the entity would not have known of.
#[test]
fn nis2_evidence_dates_awareness_from_the_first_alert() {
    let dir = tempfile::tempdir().unwrap();
    let watched = dir.path().join("watched");
    let o = run_exercise(&repo_path("scenarios/oldsmar.toml"), &watched, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    let md = std::fs::read_to_string(watched.join("nis2.md")).unwrap();
    assert!(
        md.contains("- Impact T0880 at 855.5 s into the run (2025-01-01 00:14:15 UTC): the first alert came 3.8 min (225.4 s) before it, at 630.1 s into the run (2025-01-01 00:10:30 UTC) (plant rules: \"Remote desktop into an HMI through the remote-access gateway\")"),
        "{md}"
    );
    assert!(md.contains("Early warning due by 2025-01-02 00:10:30 UTC (24 h), incident notification by 2025-01-04 00:10:30 UTC (72 h)."), "{md}");
    // Letters without evidence say so rather than being filled in.
    assert!(
        md.contains("### (h) cryptography and encryption\n\nNo evidence in this run."),
        "{md}"
    );
    assert!(
        md.contains(
            "- Step 2 take the HMI (T0886), succeeded: detected (technique) after 0.5 ms by plant rules."
        ),
        "{md}"
    );

    let scenarios = repo_path("scenarios");
    let unwatched = dir.path().join("unwatched.toml");
    std::fs::write(
        &unwatched,
        format!(
            "[exercise]\nname = \"oldsmar, no detectors\"\nplant = \"{0}/water-treatment/plant.toml\"\nplaybook = \"{0}/playbooks/oldsmar.toml\"\nduration = \"30m\"\n",
            scenarios.display()
        ),
    )
    .unwrap();
    let out = dir.path().join("unwatched");
    let o = run_exercise(&unwatched, &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    let md = std::fs::read_to_string(out.join("nis2.md")).unwrap();
    assert!(
        md.contains("- Impact T0880 at 855.5 s into the run (2025-01-01 00:14:15 UTC): UNKNOWN TO THE ENTITY: no alert came before it, nor after it."),
        "{md}"
    );
    assert!(md.contains("(no detector watched this run)"), "{md}");
    // The flat network has no identity rules: (j) has no evidence.
    assert!(
        md.contains(
            "### (j) multi-factor authentication, secured communications\n\nNo evidence in this run."
        ),
        "{md}"
    );
}

/// NIS2 21(2)(j): under zero trust, the Oldsmar intruder's VPN login with the gateway's
/// default vendor account (a password, no token) is denied, and the run says that the MFA
/// requirement is what stopped it, in results.json, events.jsonl, nis2.md and report.html.
#[test]
fn nis2_evidence_names_the_step_an_mfa_requirement_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("zt");
    let o = run_exercise(
        &repo_path("scenarios/oldsmar.toml"),
        &out,
        &["--policy", "scenarios/policies/zero-trust.toml"],
    );
    // The exercise expects the flat network's outcome: its expectations fail here.
    assert_eq!(o.status.code(), Some(1), "{}", describe(&o));
    let why = "MFA required by \"remote: vendor VPN with MFA\": vendor signed in on intruder without a second factor";
    let r = read_json(&out.join("results.json"));
    let step = &r["steps"][0];
    assert_eq!(
        (&step["technique"], &step["status"], &step["rule"], &step["why"]),
        (
            &json!("T0822"),
            &json!("blocked"),
            &json!("default deny"),
            &json!(why)
        )
    );
    assert_eq!(
        r["policy_summary"]["identity_denials"],
        json!({"mfa": 1, "user": 0, "nobody": 0})
    );
    let events = std::fs::read_to_string(out.join("events.jsonl")).unwrap();
    let blocked: Vec<&str> = events
        .lines()
        .filter(|l| l.contains(r#""event":"frame_blocked""#))
        .collect();
    assert_eq!(blocked.len(), 1, "{blocked:?}");
    assert!(
        blocked[0].contains(&format!(r#""why":{}"#, json!(why))),
        "{}",
        blocked[0]
    );
    let md = std::fs::read_to_string(out.join("nis2.md")).unwrap();
    assert!(
        md.contains(&format!(
            "- Step 1 (T0822 External Remote Services, \"remote access\") stopped at inet-rtr: {why}."
        )),
        "{md}"
    );
    assert!(md.contains("it denied 1 frames for want of a second factor, 0 from a user its rules do not name, 0 with nobody signed in on the source."), "{md}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("blocked at inet-rtr by &quot;default deny&quot;: MFA required by"),
        "escaped in the steps table"
    );
}
