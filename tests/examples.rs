//! The commands in `examples/`: the CI jobs' sweep runs and passes, and the batch examples'
//! shards, run as separate processes with the environment their batch system sets, merge
//! into the sweep run in one piece.

mod common;

use common::{OTRANGE, describe, read_bytes, repo_path};
use std::path::Path;
use std::process::Command;

/// The lines of `file` that contain `needle`, trimmed, with a YAML list dash removed.
fn lines_with(file: &str, needle: &str) -> Vec<String> {
    std::fs::read_to_string(repo_path(file))
        .unwrap()
        .lines()
        .filter(|l| l.contains(needle) && !l.trim_start().starts_with('#'))
        .map(|l| {
            l.trim()
                .trim_start_matches("- ")
                .trim_start_matches("run: ")
                .to_string()
        })
        .collect()
}

/// A shell in `cwd` where `otrange` is this build and `target/release/otrange` too.
fn shell(cwd: &Path, script: &str, env: &[(&str, String)]) -> std::process::Output {
    let bin = Path::new(OTRANGE).parent().unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let mut c = Command::new("bash");
    c.args(["-c", script]).current_dir(cwd).env("PATH", path);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("bash runs")
}

/// A scratch directory that looks like the repository to the examples' relative paths.
fn scratch() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for d in ["scenarios", "examples"] {
        std::os::unix::fs::symlink(repo_path(d), dir.path().join(d)).unwrap();
    }
    std::fs::create_dir_all(dir.path().join("target/release")).unwrap();
    std::os::unix::fs::symlink(OTRANGE, dir.path().join("target/release/otrange")).unwrap();
    dir
}

#[test]
fn the_ci_examples_run_the_same_passing_sweep() {
    let gh = lines_with("examples/ci/github-actions.yml", "otrange sweep");
    let gl = lines_with("examples/ci/gitlab-ci.yml", "otrange sweep");
    assert_eq!(gh.len(), 1, "{gh:?}");
    assert_eq!(gh, gl, "the two CI examples run different sweeps");
    let dir = scratch();
    let o = shell(dir.path(), &gh[0], &[]);
    assert!(o.status.success(), "{}: {}", gh[0], describe(&o));
    let junit = std::fs::read_to_string(dir.path().join("sweep-out/junit.xml")).unwrap();
    assert!(junit.contains("failures=\"0\" errors=\"0\""), "{junit}");
    assert!(junit.contains("name=\"detections\""), "{junit}");
    assert!(dir.path().join("sweep-out/report.md").is_file());
}

#[test]
fn batch_shards_merge_into_the_whole_sweep() {
    let dir = scratch();
    let whole = shell(
        dir.path(),
        "otrange sweep scenarios/sweeps/policies.toml --out whole",
        &[],
    );
    assert!(
        whole.status.code().is_some_and(|c| c <= 1),
        "{}",
        describe(&whole)
    );
    let reference = read_bytes(&dir.path().join("whole/sweep.json"));

    // Slurm: the array script itself, once per task, then the merge its comment gives.
    for k in 0..4 {
        let o = shell(
            dir.path(),
            "bash examples/batch/slurm-array.sh",
            &[
                ("SLURM_ARRAY_TASK_ID", k.to_string()),
                ("SLURM_CPUS_PER_TASK", "2".into()),
            ],
        );
        assert!(
            o.status.code().is_some_and(|c| c <= 1),
            "slurm task {k}: {}",
            describe(&o)
        );
    }
    // The merge job is in the script's usage comment: `--wrap "otrange merge ..."`.
    let script = std::fs::read_to_string(repo_path("examples/batch/slurm-array.sh")).unwrap();
    let merge = script
        .lines()
        .find(|l| l.contains("\"otrange merge"))
        .expect("the merge command in the script's comment");
    let merge = merge.trim_start_matches('#').trim().trim_matches('"');
    let o = shell(dir.path(), merge, &[]);
    assert!(
        o.status.code().is_some_and(|c| c <= 1),
        "{merge}: {}",
        describe(&o)
    );
    assert_eq!(
        reference,
        read_bytes(&dir.path().join("results/sweep/sweep.json"))
    );

    // Kubernetes: each pod's command with its index, /results on a scratch directory.
    let results = dir.path().join("k8s");
    let fix = |cmd: &str| cmd.replace("/results", results.to_str().unwrap());
    let pod = lines_with("examples/batch/k8s-indexed-job.yaml", "exec otrange sweep");
    let pod = fix(pod[0].split("\"-c\", \"").nth(1).unwrap().trim_end_matches("\"]"));
    for k in 0..4 {
        let o = shell(dir.path(), &pod, &[("JOB_COMPLETION_INDEX", k.to_string())]);
        assert!(
            o.status.code().is_some_and(|c| c <= 1),
            "pod {k}: {pod}: {}",
            describe(&o)
        );
    }
    let merge = lines_with("examples/batch/k8s-merge-job.yaml", "\"merge\"");
    let args: Vec<String> = merge
        .iter()
        .chain(&lines_with(
            "examples/batch/k8s-merge-job.yaml",
            "/results/shard-0",
        ))
        .flat_map(|l| l.split('"').skip(1).step_by(2).map(fix).collect::<Vec<_>>())
        .collect();
    let o = Command::new(OTRANGE).args(&args[1..]).output().unwrap();
    assert!(
        o.status.code().is_some_and(|c| c <= 1),
        "{args:?}: {}",
        describe(&o)
    );
    assert_eq!(reference, read_bytes(&results.join("sweep/sweep.json")));
}
