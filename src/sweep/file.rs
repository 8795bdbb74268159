//! Sweep files: the axes whose cross product a sweep runs, and the cells that product gives.
//! Loading checks every file of every cell before anything runs, so a typo fails the sweep
//! in a second with the file, line, column and key, not after an hour of runs.

use crate::scenario::{Exercise, parse_toml};
use otrange_sim::base::config_error::FileError;
use otrange_sim::base::time::{DurationField, SimDuration};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use toml::Spanned;

/// A sweep file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SweepFile {
    sweep: SweepInfo,
    axes: Axes,
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

fn stem(p: &Path) -> String {
    p.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// One run of the sweep.
#[derive(Debug, Clone)]
pub struct Cell {
    /// Position in the cross product: the order of sweep.json, whatever ran first.
    pub index: usize,
    /// `exercise.policy.detectors.sSEED[.DURATION]`: the run's directory under `runs/`.
    pub key: String,
    /// The exercise, loaded and checked, with the cell's policy and detectors in place.
    pub exercise: Arc<Exercise>,
    /// The policy axis' value.
    pub policy: Choice,
    /// The detector axis' value.
    pub detectors: Choice,
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
        let durations: Option<Vec<SimDuration>> = sf
            .axes
            .durations
            .as_ref()
            .map(|v| v.iter().map(|d| d.get_ref().value).collect());
        let mut cells = Vec::new();
        for ex in &exercises {
            let seeds = sf.axes.seeds.clone().unwrap_or_else(|| vec![ex.info.seed]);
            let durs = durations.clone().unwrap_or_else(|| vec![ex.duration]);
            for p in &policies {
                for d in &detectors {
                    // Every combination loads here, once: a policy that names a host one
                    // plant lacks fails before anything runs, and the cells share the result.
                    let configured = Arc::new(configure(ex, p, d)?);
                    for &seed in &seeds {
                        for &duration in &durs {
                            let mut key = format!("{}.{}.{}.s{seed}", stem(&ex.file), p.label(), d.label());
                            if durations.is_some() {
                                key.push_str(&format!(".{}s", duration.as_secs_f64()));
                            }
                            cells.push(Cell {
                                index: cells.len(),
                                key,
                                exercise: Arc::clone(&configured),
                                policy: p.clone(),
                                detectors: d.clone(),
                                seed,
                                duration,
                            });
                        }
                    }
                }
            }
        }
        Ok(Sweep {
            file: file.to_path_buf(),
            name: sf.sweep.name,
            description: sf.sweep.description,
            cells,
        })
    }
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
