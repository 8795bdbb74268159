//! One cell of a sweep: run it, score it, and know whether a previous run of it is still
//! valid (the hash of everything it reads).

use super::file::Cell;
use crate::results::{ExpectationResult, Results};
use crate::runner::{RunOptions, run};
use crate::scenario::{Detection, Exercise};
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
    /// `attack`, or `baseline` for benign operation under a defence configuration.
    pub kind: String,
    /// The exercise file's stem; for a baseline, the plant's.
    pub exercise: String,
    /// The host the playbook started from, `entry` for its own entry.
    pub foothold: String,
    /// The policy: a file stem, `own` (the exercise's) or `none`.
    pub policy: String,
    /// The detector set: a file stem, `own` or `none`, with `-tT` when its anomaly
    /// detectors ran at threshold T (`anomaly_threshold`).
    pub detectors: String,
    /// The threshold the set's anomaly detectors ran at, from the sweep's
    /// `anomaly_thresholds` axis; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub anomaly_threshold: Option<f64>,
    /// No policy (or one that allows everything) and no detectors: the reference.
    pub undefended: bool,
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
    /// How far the chain got: `completed`, `unfinished` (every step so far succeeded; the
    /// run ended first, or while one still ran), `blocked`, `failed`, or `benign` (no
    /// playbook).
    pub chain: String,
    /// Steps that started.
    pub steps_run: usize,
    /// Of them, steps with any detection, telemetry included (MITRE's visibility).
    pub steps_visible: usize,
    /// Of them, steps an alert counted for: general, tactic or technique (analytic
    /// coverage).
    pub steps_analytic: usize,
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
    /// Whether a step was detected before the first impact; absent without an impact.
    pub detected_before_impact: Option<bool>,
    /// Detector alerts over the run.
    pub alerts: u64,
    /// Frames blocked that no attacker sent.
    pub blocked_legitimate: u64,
    /// The worst HMI's p50 and p99 poll latency, in ms.
    pub hmi_p50_ms: f64,
    /// See `hmi_p50_ms`.
    pub hmi_p99_ms: f64,
    /// The worst HMI's slowest answer, in ms.
    pub hmi_max_ms: f64,
    /// HMI poll timeouts.
    pub poll_timeouts: u64,
}

/// One playbook step's outcome in a cell.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StepScore {
    /// The step's id in the playbook.
    pub id: String,
    /// The ATT&CK technique ID.
    pub technique: String,
    /// succeeded, blocked, failed, running or not_reached.
    pub status: String,
    /// technique, tactic, general, telemetry or none.
    pub detection: String,
    /// Seconds from the step's start to its first counting alert.
    pub time_to_detect_s: Option<f64>,
    /// The detector of that alert.
    pub detected_by: Option<String>,
    /// For a step an identity or MFA requirement stopped: what its frame lacked.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub why: Option<String>,
}

impl Scores {
    /// The scores of a finished run.
    pub fn of(r: &Results) -> Scores {
        let steps: Vec<StepScore> = r
            .steps
            .iter()
            .map(|s| StepScore {
                id: s.step.id.clone(),
                technique: s.step.technique.clone(),
                status: s.step.status.clone(),
                detection: s.detection.as_str().into(),
                time_to_detect_s: s.time_to_detect_s,
                detected_by: s.detected_by.first().map(|d| d.detector.clone()),
                why: s.step.why.clone(),
            })
            .collect();
        let blocked = r.steps.iter().find(|s| s.step.status == "blocked");
        let chain = if steps.is_empty() {
            "benign"
        } else if steps.iter().all(|s| s.status == "succeeded") {
            "completed"
        } else if let Some(s) = steps
            .iter()
            .find(|s| s.status == "blocked" || s.status == "failed")
        {
            if s.status == "blocked" {
                "blocked"
            } else {
                "failed"
            }
        } else {
            "unfinished"
        };
        let run: Vec<&crate::results::StepOutcome> =
            r.steps.iter().filter(|s| s.step.started_s.is_some()).collect();
        let first_impact_s = r.impacts.iter().find(|i| i.limit.is_some()).map(|i| i.t_s);
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
            chain_completed: chain == "completed",
            chain: chain.into(),
            steps_run: run.len(),
            steps_visible: run.iter().filter(|s| s.detection > Detection::None).count(),
            steps_analytic: run.iter().filter(|s| s.detection > Detection::Telemetry).count(),
            steps,
            blocked_at_step: blocked.map(|s| s.step.step),
            blocked_by: blocked.and_then(|s| s.step.rule.clone()),
            impacts: r.impacts.iter().filter(|i| i.limit.is_some()).count() as u64,
            first_impact_s,
            detected_before_impact: first_impact_s.map(|i| first_detection_s.is_some_and(|d| d < i)),
            first_detection_s,
            alerts,
            blocked_legitimate: r.network.blocked_legitimate,
            hmi_p50_ms: worst(|h| h.latency.p50_ms),
            hmi_p99_ms: worst(|h| h.latency.p99_ms),
            hmi_max_ms: worst(|h| h.latency.max_ms),
            poll_timeouts: r.hmis.iter().map(|h| h.timeouts).sum(),
        }
    }
}

/// Every file a cell reads, in a fixed order: the exercise, its plant, playbook, policy,
/// detector set and the rules files the set names.
pub(crate) fn inputs(ex: &Exercise) -> Vec<PathBuf> {
    let mut files = vec![ex.file.clone(), ex.plant_file.clone()];
    // The plant's own inputs: its templates and its recorded series, beside it.
    let plant_dir = ex.plant_file.parent().unwrap_or(Path::new("."));
    files.extend(
        ex.plant
            .instances
            .iter()
            .map(|i| plant_dir.join(i.template.get_ref())),
    );
    files.extend(
        ex.plant
            .process
            .series
            .iter()
            .map(|s| plant_dir.join(&s.get_ref().file)),
    );
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

/// What sweep.json says of a cell before it runs.
fn blank(cell: &Cell) -> CellResult {
    CellResult {
        index: cell.index,
        key: cell.key.clone(),
        input_hash: input_hash(cell, &cell.exercise),
        kind: cell.kind.as_str().into(),
        exercise: cell.label.clone(),
        foothold: cell.foothold.clone(),
        policy: cell.policy.label(),
        detectors: super::file::tuned_label(&cell.detectors.label(), cell.anomaly_threshold),
        anomaly_threshold: cell.anomaly_threshold,
        undefended: cell.undefended,
        seed: cell.seed,
        duration_s: cell.duration.as_secs_f64(),
        status: "ok".into(),
        error: None,
        scores: None,
    }
}

/// Runs cells of one group (see [`Cell::group`]) into `runs/<key>/` and scores them: a
/// lone cell as `otrange run` would, several as one simulation. A run that fails or
/// panics fails its cells, not the sweep.
pub fn run_cells(cells: &[&Cell], runs: &Path) -> Vec<CellResult> {
    let mut out: Vec<CellResult> = cells.iter().map(|c| blank(c)).collect();
    let Some(first) = cells.first() else {
        return out;
    };
    let dirs: Vec<PathBuf> = cells.iter().map(|c| runs.join(&c.key)).collect();
    for d in &dirs {
        // A stale directory would mix old files with new ones.
        let _ = std::fs::remove_dir_all(d);
    }
    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        if let [cell] = cells {
            let opts = RunOptions {
                seed: cell.seed,
                duration: cell.duration,
                out: dirs[0].clone(),
                pcap: false,
                log_frames: false,
            };
            run(&cell.exercise, &opts).map(|o| vec![o.results])
        } else {
            let members: Vec<(&Exercise, PathBuf)> = cells
                .iter()
                .zip(&dirs)
                .map(|(c, d)| (&*c.exercise, d.clone()))
                .collect();
            crate::shared_run::run_group(&members, first.seed, first.duration)
        }
    }));
    let failure = match ran {
        Ok(Ok(results)) => {
            for (o, r) in out.iter_mut().zip(&results) {
                o.scores = Some(Scores::of(r));
            }
            return out;
        }
        Ok(Err(e)) => format!("{e:#}"),
        Err(panic) => {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panicked".into());
            format!("panicked: {msg}")
        }
    };
    for o in &mut out {
        o.status = "failed".into();
        o.error = Some(failure.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--resume` re-runs a cell when a template or a recorded series of its plant changes:
    /// both are among the files its input hash reads.
    #[test]
    fn a_plants_templates_and_series_are_inputs() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let ex = Exercise::load(&root.join("templates/stations-exercise.toml")).unwrap();
        let files = inputs(&ex);
        assert!(
            files.contains(&root.join("templates/cells/pumping-station.toml")),
            "{files:?}"
        );
        let ex = Exercise::load(&root.join("outside.toml")).unwrap();
        assert!(
            inputs(&ex).contains(&root.join("plants/outside.csv")),
            "{files:?}"
        );
    }
}
