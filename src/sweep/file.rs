//! Sweep files: the axes whose cross product a sweep runs, and the cells that product gives.
//! Loading checks every file of every cell before anything runs, so a typo fails the sweep
//! in a second with the file, line, column and key, not after an hour of runs.

use crate::scenario::{Exercise, parse_toml};
use otrange_sim::base::config_error::FileError;
use otrange_sim::base::time::{DurationField, SimDuration};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use toml::Spanned;

/// A sweep file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SweepFile {
    sweep: SweepInfo,
    axes: Axes,
    #[serde(default)]
    baselines: BaselinesTable,
}

/// `[baselines]`: benign operation under every defence configuration, for what it costs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BaselinesTable {
    /// Run them (default true).
    #[serde(default = "yes")]
    run: bool,
    /// How long each runs (default: the duration of the exercise the plant came from).
    #[serde(default)]
    duration: Option<Spanned<DurationField>>,
}

impl Default for BaselinesTable {
    fn default() -> Self {
        BaselinesTable {
            run: true,
            duration: None,
        }
    }
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SweepInfo {
    name: String,
    #[serde(default)]
    description: String,
}

/// The axes. An absent axis keeps what each exercise says; `"none"` in `policies` or
/// `detectors` is the flat, unwatched network.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Axes {
    exercises: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    policies: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    detectors: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    seeds: Option<Vec<u64>>,
    #[serde(default)]
    durations: Option<Vec<Spanned<DurationField>>>,
    /// Hosts to start each playbook from (assume breach); `"entry"` is the playbook's own
    /// entry. An exercise without a playbook runs once, whatever this says.
    #[serde(default)]
    footholds: Option<Vec<Spanned<String>>>,
    /// Alert thresholds to run every anomaly detector of a detector set at: one
    /// configuration per threshold, for the detection versus false-alarm curve. Sets
    /// without an anomaly detector run once.
    #[serde(default)]
    anomaly_thresholds: Option<Spanned<Vec<Spanned<f64>>>>,
}

/// One value of the policy or detector axis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// What the exercise file names.
    Own,
    /// None at all.
    Nothing,
    /// This file.
    File(PathBuf),
}

impl Choice {
    /// The short name used in cell keys and tables: the file's stem, `own` or `none`.
    pub fn label(&self) -> String {
        match self {
            Choice::Own => "own".into(),
            Choice::Nothing => "none".into(),
            Choice::File(p) => stem(p),
        }
    }
}

/// A detector set's label with its anomaly threshold: `plant-anomaly-t2p5` for 2.5, so
/// that cell keys (whose parts `.` separates) stay readable.
pub fn tuned_label(set: &str, threshold: Option<f64>) -> String {
    match threshold {
        None => set.to_string(),
        Some(t) => format!("{set}-t{}", t.to_string().replace('.', "p")),
    }
}

/// The detector set of a label [`tuned_label`] made.
pub fn untuned_label(label: &str, threshold: Option<f64>) -> &str {
    let suffix = tuned_label("", threshold);
    label.strip_suffix(suffix.as_str()).unwrap_or(label)
}

/// The exercise once per threshold when its detector set has an anomaly detector and the
/// sweep gives thresholds; otherwise once, as it is.
fn tunings(ex: Exercise, thresholds: &Option<Vec<f64>>) -> Vec<(Option<f64>, Exercise)> {
    let Some(ts) = thresholds.as_ref().filter(|_| ex.has_anomaly_detector()) else {
        return vec![(None, ex)];
    };
    ts.iter()
        .map(|&t| {
            let mut e = ex.clone();
            e.set_anomaly_threshold(t);
            (Some(t), e)
        })
        .collect()
}

fn stem(p: &Path) -> String {
    p.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// What a cell is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An exercise as the axes configure it.
    Attack,
    /// Benign operation of a plant under a defence configuration: its false alarms, its
    /// blocked legitimate frames, its latency.
    Baseline,
}

impl Kind {
    /// `attack` or `baseline`, as sweep.json says.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Attack => "attack",
            Kind::Baseline => "baseline",
        }
    }
}

/// One run of the sweep.
#[derive(Debug, Clone)]
pub struct Cell {
    /// Position in the cross product: the order of sweep.json, whatever ran first.
    pub index: usize,
    /// `exercise[.from-HOST].policy.detectors.sSEED[.DURATION]`, or
    /// `baseline.PLANT.policy.detectors.sSEED.DURATION`: the run's directory under `runs/`.
    pub key: String,
    /// Attack cell or benign baseline.
    pub kind: Kind,
    /// The exercise's file stem, or the plant's for a baseline.
    pub label: String,
    /// The host the playbook starts from, or `entry` for its own entry.
    pub foothold: String,
    /// Cells with the same group differ only in passive detector sets: they run as one
    /// simulation ([`crate::shared_run`]).
    pub group: usize,
    /// Whether this is the flat, undefended configuration (no policy or one that allows
    /// everything, no detectors): the reference costs and impacts are measured against.
    pub undefended: bool,
    /// The exercise, loaded and checked, with the cell's policy and detectors in place.
    pub exercise: Arc<Exercise>,
    /// The policy axis' value.
    pub policy: Choice,
    /// The detector axis' value.
    pub detectors: Choice,
    /// The threshold the set's anomaly detectors run at, from `anomaly_thresholds`; None
    /// for a set as its file has it.
    pub anomaly_threshold: Option<f64>,
    /// The seed.
    pub seed: u64,
    /// Simulated time to run.
    pub duration: SimDuration,
}

/// A loaded sweep: its name and its cells in order.
#[derive(Debug)]
pub struct Sweep {
    /// The sweep file.
    pub file: PathBuf,
    /// `[sweep] name`.
    pub name: String,
    /// `[sweep] description`.
    pub description: String,
    /// The cross product, in axis order: exercises, policies, detectors, seeds, durations.
    pub cells: Vec<Cell>,
}

impl Sweep {
    /// Reads a sweep file and checks every cell's exercise with its policy and detectors.
    pub fn load(file: &Path) -> Result<Sweep, FileError> {
        let source = std::fs::read_to_string(file)
            .map_err(|e| FileError::whole_file(file, format!("cannot read: {e}")))?;
        let sf: SweepFile = parse_toml(file, &source)?;
        let base = file.parent().unwrap_or(Path::new("."));
        let at = |span: std::ops::Range<usize>, key: &str, msg: String| {
            FileError::at(file, &source, Some(span), key, msg)
        };
        let existing = |s: &Spanned<String>, key: &str| -> Result<PathBuf, FileError> {
            let p = base.join(s.get_ref());
            if p.is_file() {
                Ok(p)
            } else {
                Err(at(
                    s.span(),
                    key,
                    format!(
                        "file {} not found (paths are relative to the sweep file)",
                        p.display()
                    ),
                ))
            }
        };
        if sf.axes.exercises.get_ref().is_empty() {
            return Err(at(
                sf.axes.exercises.span(),
                "axes.exercises",
                "a sweep needs at least one exercise".into(),
            ));
        }
        let choices = |axis: &Option<Vec<Spanned<String>>>, key: &str| -> Result<Vec<Choice>, FileError> {
            match axis {
                None => Ok(vec![Choice::Own]),
                Some(v) => v
                    .iter()
                    .enumerate()
                    .map(|(i, s)| match s.get_ref().as_str() {
                        "none" => Ok(Choice::Nothing),
                        "own" => Ok(Choice::Own),
                        _ => existing(s, &format!("{key}[{i}]")).map(Choice::File),
                    })
                    .collect(),
            }
        };
        let policies = choices(&sf.axes.policies, "axes.policies")?;
        let detectors = choices(&sf.axes.detectors, "axes.detectors")?;
        let mut exercises = Vec::new();
        let mut stems: BTreeMap<String, usize> = BTreeMap::new();
        for (i, s) in sf.axes.exercises.get_ref().iter().enumerate() {
            let key = format!("axes.exercises[{i}]");
            let path = existing(s, &key)?;
            if let Some(j) = stems.insert(stem(&path), i) {
                return Err(at(
                    s.span(),
                    &key,
                    format!(
                        "two exercises are named {:?} (axes.exercises[{j}] too): cell keys would collide",
                        stem(&path)
                    ),
                ));
            }
            exercises.push(Exercise::load(&path)?);
        }
        let thresholds = anomaly_thresholds(&sf.axes.anomaly_thresholds, &at)?;
        let durations: Option<Vec<SimDuration>> = sf
            .axes
            .durations
            .as_ref()
            .map(|v| v.iter().map(|d| d.get_ref().value).collect());
        let footholds: Option<Vec<&Spanned<String>>> = sf.axes.footholds.as_ref().map(|v| v.iter().collect());
        let naming = Naming {
            foothold: footholds.is_some(),
            duration: durations.is_some(),
        };
        let mut b = Builder::default();
        // Attack cells: the cross product, in axis order.
        let mut references = Vec::new();
        let mut tuned_any = false;
        for ex in &exercises {
            let seeds = sf.axes.seeds.clone().unwrap_or_else(|| vec![ex.info.seed]);
            let durs = durations.clone().unwrap_or_else(|| vec![ex.duration]);
            let entry = [None];
            let fhs: Vec<Option<(usize, &Spanned<String>)>> = match (&footholds, ex.playbook.is_some()) {
                (Some(f), true) => f
                    .iter()
                    .enumerate()
                    .map(|(i, h)| (h.get_ref() != "entry").then_some((i, *h)))
                    .collect(),
                _ => entry.to_vec(),
            };
            for fh in fhs {
                let from = match fh {
                    None => ex.clone(),
                    Some((i, host)) => {
                        let mut e = ex.clone();
                        e.set_foothold(host.get_ref()).map_err(|err| {
                            at(
                                host.span(),
                                &format!("axes.footholds[{i}]"),
                                format!("{}: {}", ex.file.display(), err.message),
                            )
                        })?;
                        e
                    }
                };
                let fh_label = fh.map_or("entry".to_string(), |(_, h)| h.get_ref().clone());
                let mut any_undefended = false;
                for p in &policies {
                    for d in &detectors {
                        // Every combination loads here, once: a policy that names a host one
                        // plant lacks fails before anything runs, and the cells share the result.
                        for (threshold, configured) in tunings(configure(&from, p, d)?, &thresholds) {
                            tuned_any |= threshold.is_some();
                            let configured = Arc::new(configured);
                            let undefended = configured.undefended()?;
                            any_undefended |= undefended;
                            for c in attack_cells(
                                ex,
                                &fh_label,
                                &configured,
                                (p, d, threshold),
                                undefended,
                                (&seeds, &durs),
                                naming,
                            ) {
                                b.push(c);
                            }
                        }
                    }
                }
                // What the defences prevented is measured against the undefended network:
                // run it too when the axes do not.
                if !any_undefended && ex.playbook.is_some() {
                    // A measurement the axes did not ask for: the exercise's expectations
                    // were written for its own defences, not for none.
                    let mut reference = configure(&from, &Choice::Nothing, &Choice::Nothing)?;
                    reference.expect = crate::scenario::Expectations::default();
                    references.extend(attack_cells(
                        ex,
                        &fh_label,
                        &Arc::new(reference),
                        (&Choice::Nothing, &Choice::Nothing, None),
                        true,
                        (&seeds, &durs),
                        naming,
                    ));
                }
            }
        }
        if let (false, Some(ts)) = (tuned_any, &sf.axes.anomaly_thresholds) {
            return Err(at(
                ts.span(),
                "axes.anomaly_thresholds",
                "no detector set of the sweep has an anomaly detector to run at these thresholds".into(),
            ));
        }
        for c in references {
            b.push(c);
        }
        if sf.baselines.run {
            let base_duration = sf.baselines.duration.as_ref().map(|d| d.get_ref().value);
            add_baselines(
                &mut b,
                &exercises,
                (&policies, &detectors, &thresholds),
                &sf.axes.seeds,
                |ex| {
                    base_duration.map_or_else(
                        || durations.clone().unwrap_or_else(|| vec![ex.duration]),
                        |d| vec![d],
                    )
                },
            )?;
        }
        Ok(Sweep {
            file: file.to_path_buf(),
            name: sf.sweep.name,
            description: sf.sweep.description,
            cells: b.cells,
        })
    }
}

/// Which optional parts cell keys have: the axes the sweep file gives.
#[derive(Clone, Copy)]
struct Naming {
    foothold: bool,
    duration: bool,
}

/// An exercise's cells under one defence configuration, one per seed and duration.
fn attack_cells(
    ex: &Exercise,
    foothold: &str,
    configured: &Arc<Exercise>,
    (policy, detectors, threshold): (&Choice, &Choice, Option<f64>),
    undefended: bool,
    (seeds, durations): (&[u64], &[SimDuration]),
    naming: Naming,
) -> Vec<Cell> {
    let mut cells = Vec::new();
    for &seed in seeds {
        for &duration in durations {
            let mut key = stem(&ex.file);
            if naming.foothold && ex.playbook.is_some() {
                key.push_str(&format!(".from-{foothold}"));
            }
            key.push_str(&format!(
                ".{}.{}.s{seed}",
                policy.label(),
                tuned_label(&detectors.label(), threshold)
            ));
            if naming.duration {
                key.push_str(&format!(".{}s", duration.as_secs_f64()));
            }
            cells.push(Cell {
                index: 0,
                key,
                kind: Kind::Attack,
                label: stem(&ex.file),
                foothold: foothold.to_string(),
                group: 0,
                undefended,
                exercise: Arc::clone(configured),
                policy: policy.clone(),
                detectors: detectors.clone(),
                anomaly_threshold: threshold,
                seed,
                duration,
            });
        }
    }
    cells
}

/// `axes.anomaly_thresholds`, checked: positive, finite, each once.
fn anomaly_thresholds(
    axis: &Option<Spanned<Vec<Spanned<f64>>>>,
    at: &impl Fn(std::ops::Range<usize>, &str, String) -> FileError,
) -> Result<Option<Vec<f64>>, FileError> {
    let Some(axis) = axis else {
        return Ok(None);
    };
    if axis.get_ref().is_empty() {
        return Err(at(
            axis.span(),
            "axes.anomaly_thresholds",
            "give at least one threshold, or leave the axis out".into(),
        ));
    }
    let mut out: Vec<f64> = Vec::new();
    for (i, t) in axis.get_ref().iter().enumerate() {
        let v = *t.get_ref();
        let key = format!("axes.anomaly_thresholds[{i}]");
        if !(v.is_finite() && v > 0.0) {
            return Err(at(
                t.span(),
                &key,
                format!("{v} is no threshold: a score in standard deviations, above 0"),
            ));
        }
        if out.contains(&v) {
            return Err(at(t.span(), &key, format!("{v} is given twice")));
        }
        out.push(v);
    }
    Ok(Some(out))
}

/// Collects cells: numbers them, gives cells that can share a simulation one group.
#[derive(Default)]
struct Builder {
    cells: Vec<Cell>,
    groups: BTreeMap<String, usize>,
}

impl Builder {
    fn push(&mut self, mut cell: Cell) {
        cell.index = self.cells.len();
        // Same exercise file, foothold, plant, policy, seed and duration, passive detectors:
        // one world, whatever the detectors.
        let ex = &cell.exercise;
        let shared = ex.detectors_passive().then(|| {
            format!(
                "{:?}|{}|{}|{:?}|{:?}|{}|{}",
                cell.kind,
                cell.label,
                cell.foothold,
                ex.file,
                ex.policy_file,
                cell.seed,
                cell.duration.as_nanos()
            )
        });
        let next = self.groups.len();
        cell.group = match shared {
            Some(k) => *self.groups.entry(k).or_insert(next),
            None => {
                self.groups.insert(format!("#{}", cell.index), next);
                next
            }
        };
        self.cells.push(cell);
    }
}

/// The plant a baseline runs: its file's stem, or its directory's name for a `plant.toml`.
fn plant_label(ex: &Exercise) -> String {
    let s = stem(&ex.plant_file);
    match (s.as_str(), ex.plant_file.parent().and_then(|p| p.file_name())) {
        ("plant", Some(dir)) => dir.to_string_lossy().into_owned(),
        _ => s,
    }
}

/// Benign operation for every (plant, policy, detector set, seed, duration) the attack
/// cells use, plus the flat undefended network for each plant: one cell each, however many
/// exercises share the plant.
fn add_baselines(
    b: &mut Builder,
    exercises: &[Exercise],
    (policies, detectors, thresholds): (&[Choice], &[Choice], &Option<Vec<f64>>),
    seeds: &Option<Vec<u64>>,
    durations: impl Fn(&Exercise) -> Vec<SimDuration>,
) -> Result<(), FileError> {
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut keys: BTreeSet<String> = BTreeSet::new();
    // Plants (with seed and duration) that already have an undefended baseline.
    let mut undefended_done: BTreeSet<String> = BTreeSet::new();
    let mut configs: Vec<(Choice, Choice)> = Vec::new();
    for p in policies {
        for d in detectors {
            configs.push((p.clone(), d.clone()));
        }
    }
    configs.push((Choice::Nothing, Choice::Nothing));
    for ex in exercises {
        let plant = plant_label(ex);
        let seeds = seeds.clone().unwrap_or_else(|| vec![ex.info.seed]);
        let tuned = configs
            .iter()
            .map(|(p, d)| {
                let each = tunings(configure(ex, p, d)?.benign(), thresholds);
                Ok(each.into_iter().map(move |(t, e)| (p, d, t, e)))
            })
            .collect::<Result<Vec<_>, FileError>>()?;
        let tuned: Vec<_> = tuned.into_iter().flatten().collect();
        let n = tuned.len();
        for (ci, (p, d, threshold, configured)) in tuned.into_iter().enumerate() {
            let closing = ci == n - 1;
            let configured = Arc::new(configured);
            let undefended = configured.undefended()?;
            let d_label = tuned_label(&d.label(), threshold);
            for &seed in &seeds {
                for duration in durations(ex) {
                    let identity = format!(
                        "{:?}|{:?}|{:?}|{threshold:?}|{seed}|{}",
                        ex.plant_file,
                        configured.policy_file,
                        configured.detectors.as_ref().map(|(p, _)| p),
                        duration.as_nanos()
                    );
                    let flat = format!("{:?}|{seed}|{}", ex.plant_file, duration.as_nanos());
                    // The closing (none, none) entry is only for a plant whose axes gave no
                    // undefended configuration.
                    if (closing && undefended_done.contains(&flat)) || !seen.insert(identity) {
                        continue;
                    }
                    if undefended {
                        undefended_done.insert(flat);
                    }
                    let mut key = format!(
                        "baseline.{plant}.{}.{}.s{seed}.{}s",
                        p.label(),
                        d_label,
                        duration.as_secs_f64()
                    );
                    let mut n = 2;
                    while keys.contains(&key) {
                        key = format!(
                            "baseline.{plant}-{n}.{}.{}.s{seed}.{}s",
                            p.label(),
                            d_label,
                            duration.as_secs_f64()
                        );
                        n += 1;
                    }
                    keys.insert(key.clone());
                    b.push(Cell {
                        index: 0,
                        key,
                        kind: Kind::Baseline,
                        label: plant.clone(),
                        foothold: "entry".into(),
                        group: 0,
                        undefended,
                        exercise: Arc::clone(&configured),
                        policy: p.clone(),
                        detectors: d.clone(),
                        anomaly_threshold: threshold,
                        seed,
                        duration,
                    });
                }
            }
        }
    }
    Ok(())
}

/// The exercise with a cell's policy and detectors in place.
pub fn configure(ex: &Exercise, policy: &Choice, detectors: &Choice) -> Result<Exercise, FileError> {
    let mut ex = ex.clone();
    match policy {
        Choice::Own => {}
        Choice::Nothing => ex.policy_file = None,
        Choice::File(p) => ex.set_policy(p)?,
    }
    match detectors {
        Choice::Own => {}
        Choice::Nothing => ex.detectors = None,
        Choice::File(p) => ex.set_detectors(p)?,
    }
    Ok(ex)
}
