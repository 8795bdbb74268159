//! `otrange sweep`: the cross product of exercises, policies, detector sets, seeds and
//! durations, one run per cell, on every core, into one `sweep.json`.
//!
//! A sweep's output is a function of its inputs only: cells are written in cross-product
//! order whatever ran first, so `--jobs 1` and `--jobs 8` give the same bytes; a shard
//! (`--shard K/N`) runs the cells whose index is K-1 modulo N, and `otrange merge` joins
//! shard directories into the sweep the unsharded run would have written.

pub mod cell;
pub mod file;
pub mod inputs;
mod progress;
pub mod report;

use crate::runner::write_json;
use anyhow::Context;
use cell::{CellResult, input_hash, run_cells};
use file::{Cell, Sweep};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Bumped whenever a field of sweep.json changes meaning or disappears.
pub const SWEEP_SCHEMA_VERSION: u32 = 2;

/// Which part of the sweep this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// 1-based.
    pub index: usize,
    /// How many shards the sweep is cut into.
    pub of: usize,
}

impl Shard {
    /// Reads `K/N` (1 <= K <= N), or `env:VAR/N` where the environment variable `VAR` holds
    /// a 0-based index, as batch systems give one to each task of an array
    /// (`JOB_COMPLETION_INDEX` in a Kubernetes Indexed Job, `SLURM_ARRAY_TASK_ID` in a Slurm
    /// array started at 0).
    pub fn parse(s: &str) -> Result<Shard, String> {
        let bad = || format!("invalid shard {s:?}: expected K/N with 1 <= K <= N (e.g. 2/4), or env:VAR/N");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let of: usize = n.trim().parse().map_err(|_| bad())?;
        let index: usize = match k.strip_prefix("env:") {
            Some(var) => {
                let v = std::env::var(var)
                    .map_err(|_| format!("--shard {s}: environment variable {var} is not set"))?;
                let i: usize = v
                    .trim()
                    .parse()
                    .map_err(|_| format!("--shard {s}: {var}={v:?} is not a 0-based index"))?;
                i + 1
            }
            None => k.trim().parse().map_err(|_| bad())?,
        };
        if index == 0 || of == 0 || index > of {
            return Err(bad());
        }
        Ok(Shard { index, of })
    }

    fn owns(&self, cell: &Cell) -> bool {
        cell.index % self.of == self.index - 1
    }
}

/// How to run a sweep.
#[derive(Debug, Clone)]
pub struct SweepOptions {
    /// Output directory: `sweep.json` and `runs/<key>/`.
    pub out: PathBuf,
    /// Cells run at once.
    pub jobs: usize,
    /// Run only this shard's cells.
    pub shard: Option<Shard>,
    /// Keep cells whose `runs/<key>/cell.json` has the same input hash.
    pub resume: bool,
}

/// sweep.json.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SweepResult {
    /// [`SWEEP_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// `[sweep] name`.
    pub name: String,
    /// How many cells the whole sweep has.
    pub cells_total: usize,
    /// The shard these cells are, absent for a whole (or merged) sweep.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub shard: Option<Shard>,
    /// The sweep file and every file its cells read, with their SHA-256 (the whole sweep's,
    /// in every shard).
    #[serde(default)]
    pub inputs: Vec<inputs::InputFile>,
    /// The cells run, in cross-product order.
    pub cells: Vec<CellResult>,
}

impl SweepResult {
    /// Cells that failed to run, and cells whose expectations failed.
    pub fn failures(&self) -> (usize, usize) {
        let failed = self.cells.iter().filter(|c| c.status != "ok").count();
        let unmet = self
            .cells
            .iter()
            .filter(|c| c.scores.as_ref().is_some_and(|s| !s.passed))
            .count();
        (failed, unmet)
    }
}

/// A complete earlier run of `cell` in `dir`, if its inputs are unchanged.
fn resumable(cell: &Cell, dir: &Path) -> Option<CellResult> {
    let text = std::fs::read_to_string(dir.join("cell.json")).ok()?;
    let done: CellResult = serde_json::from_str(&text).ok()?;
    (done.key == cell.key && done.input_hash == input_hash(cell, &cell.exercise) && done.status == "ok")
        .then_some(done)
}

/// Runs the sweep's cells (this shard's) on `opts.jobs` threads and writes sweep.json.
pub fn run_sweep(sweep: &Sweep, opts: &SweepOptions) -> anyhow::Result<SweepResult> {
    let runs = opts.out.join("runs");
    std::fs::create_dir_all(&runs).with_context(|| format!("creating {}", runs.display()))?;
    let mine: Vec<&Cell> = sweep
        .cells
        .iter()
        .filter(|c| opts.shard.is_none_or(|s| s.owns(c)))
        .collect();
    // Cells that share a simulation run together, in the order their first cell appears.
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut slot: std::collections::BTreeMap<usize, usize> = Default::default();
    for (i, c) in mine.iter().enumerate() {
        let g = *slot.entry(c.group).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[g].push(i);
    }
    let results: Mutex<Vec<Option<CellResult>>> = Mutex::new(vec![None; mine.len()]);
    let next = AtomicUsize::new(0);
    let bar = progress::Progress::new(mine.len());
    std::thread::scope(|s| {
        for _ in 0..opts.jobs.max(1).min(groups.len().max(1)) {
            s.spawn(|| {
                loop {
                    let g = next.fetch_add(1, Ordering::Relaxed);
                    let Some(members) = groups.get(g) else { break };
                    let mut done: Vec<(usize, CellResult, bool)> = Vec::new();
                    let mut to_run: Vec<usize> = Vec::new();
                    for &i in members {
                        let cell = mine[i];
                        match opts
                            .resume
                            .then(|| resumable(cell, &runs.join(&cell.key)))
                            .flatten()
                        {
                            Some(r) => done.push((i, r, true)),
                            None => to_run.push(i),
                        }
                    }
                    let cells: Vec<&Cell> = to_run.iter().map(|&i| mine[i]).collect();
                    for (&i, r) in to_run.iter().zip(run_cells(&cells, &runs)) {
                        // A cell that cannot write its directory is a failed cell.
                        let dir = runs.join(&r.key);
                        let written = std::fs::create_dir_all(&dir)
                            .map_err(anyhow::Error::from)
                            .and_then(|()| write_json(&dir.join("cell.json"), &r));
                        if let Err(e) = written {
                            eprintln!("warning: {}: {e:#}", r.key);
                        }
                        done.push((i, r, false));
                    }
                    for (i, r, kept) in done {
                        bar.done(&r, kept);
                        results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(r);
                    }
                }
            });
        }
    });
    bar.finish();
    let cells: Vec<CellResult> = results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(|r| r.expect("every cell ran"))
        .collect();
    let result = SweepResult {
        schema_version: SWEEP_SCHEMA_VERSION,
        name: sweep.name.clone(),
        cells_total: sweep.cells.len(),
        shard: opts.shard,
        inputs: sweep.inputs(),
        cells,
    };
    write_outputs(&opts.out, &result)?;
    Ok(result)
}

/// Joins shard directories into `out`: one sweep.json holding every cell, and each cell's
/// run directory. Fails if a cell is missing or present twice.
pub fn merge(dirs: &[PathBuf], out: &Path) -> anyhow::Result<SweepResult> {
    let mut parts = Vec::new();
    for d in dirs {
        let path = d.join("sweep.json");
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let part: SweepResult =
            serde_json::from_str(&text).with_context(|| format!("{}: not a sweep.json", path.display()))?;
        parts.push((d, part));
    }
    let Some((_, first)) = parts.first() else {
        anyhow::bail!("merge needs at least one sweep directory");
    };
    let (name, total, inputs) = (first.name.clone(), first.cells_total, first.inputs.clone());
    let mut cells: Vec<Option<CellResult>> = vec![None; total];
    std::fs::create_dir_all(out.join("runs"))?;
    for (d, part) in &parts {
        anyhow::ensure!(
            part.name == name && part.cells_total == total,
            "{}: sweep {:?} of {} cells, not {:?} of {}",
            d.display(),
            part.name,
            part.cells_total,
            name,
            total
        );
        if let Some(diff) = inputs::difference(&inputs, &part.inputs) {
            anyhow::bail!(
                "{}: this shard ran on other inputs than {}: {diff}",
                d.display(),
                parts[0].0.display()
            );
        }
        for c in &part.cells {
            let slot = cells
                .get_mut(c.index)
                .with_context(|| format!("{}: cell {} beyond the sweep's {total}", d.display(), c.index))?;
            anyhow::ensure!(slot.is_none(), "cell {} ({}) is in two shards", c.index, c.key);
            *slot = Some(c.clone());
            let (from, to) = (d.join("runs").join(&c.key), out.join("runs").join(&c.key));
            if from != to && from.is_dir() {
                copy_dir(&from, &to)?;
            }
        }
    }
    let missing: Vec<usize> = (0..total).filter(|i| cells[*i].is_none()).collect();
    anyhow::ensure!(
        missing.is_empty(),
        "{} of {total} cells are in no shard (first: cell {})",
        missing.len(),
        missing[0]
    );
    let result = SweepResult {
        schema_version: SWEEP_SCHEMA_VERSION,
        name,
        cells_total: total,
        shard: None,
        inputs,
        cells: cells.into_iter().flatten().collect(),
    };
    write_outputs(out, &result)?;
    Ok(result)
}

/// sweep.json, junit.xml and report.md.
fn write_outputs(out: &Path, r: &SweepResult) -> anyhow::Result<()> {
    write_json(&out.join("sweep.json"), r)?;
    for (name, text) in [
        ("junit.xml", report::junit_xml(r)),
        ("report.md", report::report_md(r)),
    ] {
        let path = out.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        if e.file_type()?.is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()))?;
        } else {
            std::fs::copy(e.path(), to.join(e.file_name()))?;
        }
    }
    Ok(())
}
