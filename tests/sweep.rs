//! `otrange sweep` and `otrange merge`: the same sweep.json whatever the number of jobs,
//! however it is sharded, and however often it is interrupted.

mod common;

use common::{describe, fixture, otrange, read_bytes, read_json};
use std::path::Path;

fn sweep(args: &[&str]) -> std::process::Output {
    let mut a = vec![
        "sweep".to_string(),
        fixture("sweeps/small.toml").to_str().unwrap().to_string(),
    ];
    a.extend(args.iter().map(|s| s.to_string()));
    let o = otrange(&a);
    assert!(o.status.code().is_some_and(|c| c <= 1), "{}", describe(&o));
    o
}

/// The run directories' results.json, by cell key.
fn results(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir.join("runs"))
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                read_bytes(&e.path().join("results.json")),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn jobs_shards_and_resume_give_the_same_sweep() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = |n: &str| tmp.path().join(n);
    let one = dir("one");
    sweep(&["--out", one.to_str().unwrap(), "--jobs", "1"]);
    let two = dir("two");
    sweep(&["--out", two.to_str().unwrap(), "--jobs", "2"]);
    let reference = read_bytes(&one.join("sweep.json"));
    assert_eq!(
        reference,
        read_bytes(&two.join("sweep.json")),
        "--jobs 1 and 2 differ"
    );
    assert_eq!(results(&one), results(&two));

    // What the sweep holds: 2 x 2 x 2 cells in cross-product order, each scored.
    let s = read_json(&one.join("sweep.json"));
    let keys: Vec<&str> = s["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys.len(), 8);
    assert_eq!(keys[0], "water-treatment.none.own.s1.720s");
    assert_eq!(keys[7], "oldsmar.zero-trust.own.s2.720s");
    let oldsmar_flat = &s["cells"][4]["scores"];
    assert_eq!(oldsmar_flat["steps"][0]["status"], "succeeded", "{oldsmar_flat}");
    let oldsmar_zero_trust = &s["cells"][6]["scores"];
    assert_eq!(oldsmar_zero_trust["blocked_at_step"], 1, "{oldsmar_zero_trust}");

    // The CI outputs. Oldsmar's expectations were written for the flat network and a full
    // run: in 12 minutes and under zero trust they fail, so the sweep exits 1 and JUnit says
    // which, read by junitparser as a CI system would.
    let o = sweep(&["--out", dir("ci").to_str().unwrap(), "--jobs", "2"]);
    assert_eq!(o.status.code(), Some(1), "{}", describe(&o));
    let script = "import sys, junitparser\n\
                  x = junitparser.JUnitXml.fromfile(sys.argv[1])\n\
                  cases = [(s.name, c.name, [r.message for r in c.result]) for s in x for c in s]\n\
                  print(len(cases)); [print(s, c, m[0]) for s, c, m in cases if m]";
    let py = std::process::Command::new("python3")
        .args(["-c", script, dir("ci").join("junit.xml").to_str().unwrap()])
        .output()
        .expect("python3 runs");
    assert!(
        py.status.success(),
        "junitparser: {}",
        String::from_utf8_lossy(&py.stderr)
    );
    let out = String::from_utf8_lossy(&py.stdout);
    let mut lines = out.lines();
    // 4 benign cells with 5 expectations each, 4 Oldsmar cells with 3 each.
    assert_eq!(lines.next(), Some("32"), "{out}");
    let failures: Vec<&str> = lines.collect();
    assert_eq!(failures.len(), 12, "{out}");
    assert!(
        failures.contains(&"oldsmar.zero-trust.own.s1.720s steps steps: expected succeeded, succeeded, succeeded, succeeded, actual blocked, not_reached, not_reached, not_reached"),
        "{out}"
    );
    let report = std::fs::read_to_string(dir("ci").join("report.md")).unwrap();
    assert!(
        report.contains("| `oldsmar.zero-trust.own.s1.720s` | `B---` blocked at step 1 by `default deny` |"),
        "{report}"
    );
    assert!(report.contains("| zero-trust | own | 4 | 2/2 |"), "{report}");

    // Three shards as separate processes, merged: the unsharded sweep.
    let shards: Vec<_> = (1..=3).map(|k| dir(&format!("shard{k}"))).collect();
    for (k, d) in shards.iter().enumerate() {
        sweep(&[
            "--out",
            d.to_str().unwrap(),
            "--jobs",
            "1",
            "--shard",
            &format!("{}/3", k + 1),
        ]);
    }
    let merged = dir("merged");
    let mut args = vec![
        "merge".to_string(),
        "--out".into(),
        merged.to_str().unwrap().into(),
    ];
    args.extend(shards.iter().map(|d| d.to_str().unwrap().to_string()));
    let o = otrange(&args);
    assert!(o.status.code().is_some_and(|c| c <= 1), "{}", describe(&o));
    assert_eq!(
        reference,
        read_bytes(&merged.join("sweep.json")),
        "merged shards differ"
    );
    assert_eq!(
        read_bytes(&one.join("junit.xml")),
        read_bytes(&merged.join("junit.xml"))
    );
    assert_eq!(results(&one), results(&merged));
    // A shard short is an error that says which cells are missing.
    let o = otrange([
        "merge",
        "--out",
        dir("partial").to_str().unwrap(),
        shards[0].to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("are in no shard"),
        "{}",
        describe(&o)
    );

    // Interrupted: two cells never finished. --resume runs those two and keeps the rest.
    for key in [
        "oldsmar.none.own.s1.720s",
        "water-treatment.zero-trust.own.s2.720s",
    ] {
        std::fs::remove_dir_all(one.join("runs").join(key)).unwrap();
    }
    std::fs::remove_file(one.join("sweep.json")).unwrap();
    let o = sweep(&["--out", one.to_str().unwrap(), "--jobs", "2", "--resume"]);
    let log = String::from_utf8_lossy(&o.stderr);
    assert_eq!(log.matches("kept (inputs unchanged)").count(), 6, "{log}");
    assert_eq!(
        reference,
        read_bytes(&one.join("sweep.json")),
        "resumed sweep differs"
    );
}

#[test]
fn a_bad_sweep_file_names_file_line_and_key() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.toml");
    let cases = [
        (
            "[sweep]\nname = \"x\"\n[axes]\nexercises = [\"nowhere.toml\"]\n",
            "bad.toml:4:14: axes.exercises[0]: file",
        ),
        (
            "[sweep]\nname = \"x\"\n[axes]\nexercise = []\n",
            "bad.toml:4:1: axes.exercise: unknown field `exercise`",
        ),
        (
            "[sweep]\nname = \"x\"\n[axes]\nexercises = []\n",
            "bad.toml:4:13: axes.exercises: a sweep needs at least one exercise",
        ),
    ];
    for (text, want) in cases {
        std::fs::write(&bad, text).unwrap();
        let o = otrange([
            "sweep",
            bad.to_str().unwrap(),
            "--out",
            tmp.path().join("o").to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(2), "{}", describe(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(want), "expected {want:?} in:\n{err}");
    }
}
