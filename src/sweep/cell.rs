//! One cell of a sweep: run it, score it, and know whether a previous run of it is still
//! valid (the hash of everything it reads).

use super::file::Cell;
use crate::results::{ExpectationResult, Results};
use crate::runner::{RunOptions, run};
use crate::scenario::Exercise;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// What sweep.json keeps of a cell: what ran, how it ended and its scores.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CellResult {
    /// Position in the sweep's cross product.
    pub index: usize,
    /// The cell's key, also its directory under `runs/`.
    pub key: String,
    /// SHA-256 of every input the cell reads: a changed file re-runs the cells that read it.
    pub input_hash: String,
    /// The exercise file's stem.
    pub exercise: String,
    /// The policy: a file stem, `own` (the exercise's) or `none`.
    pub policy: String,
    /// The detector set: a file stem, `own` or `none`.
    pub detectors: String,
    /// The seed.
    pub seed: u64,
    /// Simulated seconds.
    pub duration_s: f64,
    /// `ok`, or `failed` when the run itself failed or panicked (see `error`).
    pub status: String,
    /// Why the run failed.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<String>,
    /// The scores; absent for a failed cell.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub scores: Option<Scores>,
}

/// A cell's figures, from its results.json.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Scores {
    /// Every expectation of the exercise held.
    pub passed: bool,
    /// Every expectation of the exercise, checked (a JUnit test case each).
    pub expectations: Vec<ExpectationResult>,
    /// Per playbook step: technique, status and detection category.
    pub steps: Vec<StepScore>,
    /// Every step succeeded.
    pub chain_completed: bool,
    /// The first blocked step (1-based) and the rule that blocked it.
    pub blocked_at_step: Option<u32>,
    /// The rule of that block.
    pub blocked_by: Option<String>,
    /// Physical impacts.
    pub impacts: u64,
    /// Seconds from the start of the run to the first impact.
    pub first_impact_s: Option<f64>,
    /// Seconds from the start of the run to the first alert on a step.
    pub first_detection_s: Option<f64>,
    /// Detector alerts over the run.
    pub alerts: u64,
    /// Frames blocked that no attacker sent.
    pub blocked_legitimate: u64,
    /// The worst HMI's p50 and p99 poll latency, in ms.
    pub hmi_p50_ms: f64,
    /// See `hmi_p50_ms`.
    pub hmi_p99_ms: f64,
    /// HMI poll timeouts.
    pub poll_timeouts: u64,
}

/// One playbook step's outcome in a cell.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StepScore {
    /// The ATT&CK technique ID.
    pub technique: String,
    /// succeeded, blocked, failed or not_reached.
    pub status: String,
    /// technique, tactic, general or none.
    pub detection: String,
}

impl Scores {
    /// The scores of a finished run.
    pub fn of(r: &Results) -> Scores {
        let steps: Vec<StepScore> = r
            .steps
            .iter()
            .map(|s| StepScore {
                technique: s.step.technique.clone(),
                status: s.step.status.clone(),
                detection: s.detection.as_str().into(),
            })
            .collect();
        let blocked = r.steps.iter().find(|s| s.step.status == "blocked");
        let first_detection_s = r
            .steps
            .iter()
            .filter_map(|s| s.detected_by.first().map(|d| d.t_s))
            .min_by(f64::total_cmp);
        let alerts = r
            .taps
            .iter()
            .filter_map(|t| t.summary.get("alerts").and_then(|a| a.as_array()).map(Vec::len))
            .sum::<usize>() as u64;
        let worst = |f: fn(&crate::results::Named<otrange_sim::devices::hmi::HmiFigures>) -> f64| {
            r.hmis.iter().map(f).fold(0.0, f64::max)
        };
        Scores {
            passed: r.passed,
            expectations: r.expectations.clone(),
            chain_completed: !steps.is_empty() && steps.iter().all(|s| s.status == "succeeded"),
            steps,
            blocked_at_step: blocked.map(|s| s.step.step),
            blocked_by: blocked.and_then(|s| s.step.rule.clone()),
            impacts: r.impacts.len() as u64,
            first_impact_s: r.impacts.first().map(|i| i.t_s),
            first_detection_s,
            alerts,
            blocked_legitimate: r.network.blocked_legitimate,
            hmi_p50_ms: worst(|h| h.latency.p50_ms),
            hmi_p99_ms: worst(|h| h.latency.p99_ms),
            poll_timeouts: r.hmis.iter().map(|h| h.timeouts).sum(),
        }
    }
}

/// Every file a cell reads, in a fixed order: the exercise, its plant, playbook, policy,
/// detector set and the rules files the set names.
fn inputs(ex: &Exercise) -> Vec<PathBuf> {
    let mut files = vec![ex.file.clone(), ex.plant_file.clone()];
    if let Some((p, _)) = &ex.playbook {
        files.push(p.clone());
    }
    if let Some(p) = &ex.policy_file {
        files.push(p.clone());
    }
    if let Some((p, set)) = &ex.detectors {
        files.push(p.clone());
        let dir = p.parent().unwrap_or(Path::new("."));
        for d in &set.detectors {
            if let Some(r) = &d.rules {
                files.push(dir.join(r));
            }
        }
    }
    files
}

/// The hash that decides whether `--resume` may keep a cell: the otrange version, the
/// cell's key, seed and duration, and the bytes of every file it reads.
pub fn input_hash(cell: &Cell, ex: &Exercise) -> String {
    let mut h = Sha256::new();
    let mut field = |b: &[u8]| {
        h.update((b.len() as u64).to_le_bytes());
        h.update(b);
    };
    field(env!("CARGO_PKG_VERSION").as_bytes());
    field(cell.key.as_bytes());
    field(&cell.seed.to_le_bytes());
    field(&cell.duration.as_nanos().to_le_bytes());
    for f in inputs(ex) {
        field(&std::fs::read(&f).unwrap_or_default());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs a cell into `dir` and scores it; a run that fails or panics is a failed cell, not
/// a failed sweep.
pub fn run_cell(cell: &Cell, dir: &Path) -> CellResult {
    let mut out = CellResult {
        index: cell.index,
        key: cell.key.clone(),
        input_hash: String::new(),
        exercise: cell
            .exercise
            .file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
        policy: cell.policy.label(),
        detectors: cell.detectors.label(),
        seed: cell.seed,
        duration_s: cell.duration.as_secs_f64(),
        status: "ok".into(),
        error: None,
        scores: None,
    };
    let ex = &*cell.exercise;
    out.input_hash = input_hash(cell, ex);
    let opts = RunOptions {
        seed: cell.seed,
        duration: cell.duration,
        out: dir.to_path_buf(),
        pcap: false,
        log_frames: false,
    };
    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(ex, &opts)));
    match ran {
        Ok(Ok(o)) => out.scores = Some(Scores::of(&o.results)),
        Ok(Err(e)) => {
            out.status = "failed".into();
            out.error = Some(format!("{e:#}"));
        }
        Err(panic) => {
            out.status = "failed".into();
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panicked".into());
            out.error = Some(format!("panicked: {msg}"));
        }
    }
    out
}
