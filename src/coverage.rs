//! Exercises and playbooks measured against MITRE's records (`otrange techniques
//! --coverage`, `--campaign`, `--software`): the file-reading half of
//! [`otrange_attacks::coverage`].
//!
//! An exercise is measured with the impacts its `[expect]` requires, since the run asserts
//! them; a playbook file on its own is measured by its steps only.

use std::path::{Path, PathBuf};

use otrange_attacks::coverage::Coverage;
use otrange_attacks::playbook::{LeftOut, PlaybookConfig};
use otrange_attacks::techniques::meaning;
use otrange_sim::base::config_error::FileError;

use crate::impact_expect::ImpactsExpectation;
use crate::scenario::{Exercise, parse_toml};

/// One file measured.
#[derive(Debug, Clone)]
pub struct Measured {
    /// The file given (an exercise or a playbook).
    pub file: PathBuf,
    /// The playbook's file (the same file for a playbook).
    pub playbook_file: PathBuf,
    /// The playbook's name.
    pub playbook: String,
    /// Techniques of its steps, in step order.
    pub executed: Vec<&'static str>,
    /// Impact techniques the exercise expects (none for a playbook file).
    pub impacts: Vec<String>,
    /// The playbook's `left_out`.
    pub left_out: Vec<LeftOut>,
    /// Against its own records; `None` when the playbook lists none.
    pub coverage: Option<Coverage>,
}

impl Measured {
    /// The same steps and impacts against other records (`--campaign`, `--software`).
    pub fn against(&self, records: &[otrange_attacks::catalogue::Record]) -> Coverage {
        let impacts: Vec<&str> = self.impacts.iter().map(String::as_str).collect();
        Coverage::of(records, &self.executed, &impacts, &self.left_out, meaning)
    }
}

/// Measures an exercise file (one with `[exercise]` and a playbook) or a playbook file.
pub fn measure(file: &Path) -> Result<Measured, FileError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| FileError::whole_file(file, format!("cannot read: {e}")))?;
    let table: toml::Table = parse_toml(file, &text)?;
    if table.contains_key("exercise") {
        measure_exercise(file)
    } else if table.contains_key("playbook") {
        measure_playbook(file, &text)
    } else {
        Err(FileError::whole_file(
            file,
            "neither an exercise (no [exercise] table) nor a playbook (no [playbook] table)",
        ))
    }
}

fn measure_exercise(file: &Path) -> Result<Measured, FileError> {
    let ex = Exercise::load(file)?;
    let (Some((playbook_file, _)), Some(pb)) = (&ex.playbook, ex.playbook_as_written()) else {
        return Err(FileError::whole_file(
            file,
            "the exercise replays no playbook (no `playbook` in [exercise]), so there is nothing to measure",
        ));
    };
    let impacts = expected_impacts(&ex);
    let executed: Vec<&'static str> = pb.steps.iter().map(|s| s.technique).collect();
    let coverage = (!pb.records.is_empty()).then(|| {
        let refs: Vec<&str> = impacts.iter().map(String::as_str).collect();
        Coverage::of(&pb.records, &executed, &refs, &pb.left_out, meaning)
    });
    Ok(Measured {
        file: file.to_path_buf(),
        playbook_file: playbook_file.clone(),
        playbook: pb.name.clone(),
        executed,
        impacts,
        left_out: pb.left_out.clone(),
        coverage,
    })
}

fn measure_playbook(file: &Path, text: &str) -> Result<Measured, FileError> {
    let cfg: PlaybookConfig = parse_toml(file, text)?;
    let (records, left_out) = cfg.records().map_err(|e| FileError::locate(file, text, e))?;
    let mut executed = Vec::new();
    for (i, s) in cfg.steps.iter().enumerate() {
        let t = otrange_attacks::catalogue::technique(s.technique.get_ref()).map_err(|e| {
            FileError::at(
                file,
                text,
                Some(s.technique.span()),
                format!("step[{i}].technique"),
                e.to_string(),
            )
        })?;
        executed.push(t.id);
    }
    let coverage = (!records.is_empty()).then(|| Coverage::of(&records, &executed, &[], &left_out, meaning));
    Ok(Measured {
        file: file.to_path_buf(),
        playbook_file: file.to_path_buf(),
        playbook: cfg.playbook.name.clone(),
        executed,
        impacts: Vec::new(),
        left_out,
        coverage,
    })
}

/// The impact techniques `[expect]` requires: `impact_techniques`, and the techniques named
/// by `impacts` and `impacts_include` entries that must fire.
fn expected_impacts(ex: &Exercise) -> Vec<String> {
    let e = &ex.expect;
    let mut out: Vec<String> = e.impact_techniques.clone().unwrap_or_default();
    let limits = match &e.impacts {
        Some(ImpactsExpectation::Exactly(l)) => l.as_slice(),
        _ => &[],
    };
    let include = e.impacts_include.as_deref().unwrap_or(&[]);
    for l in limits.iter().chain(include) {
        if l.count != Some(0)
            && let Some(t) = &l.technique
        {
            out.push(t.get_ref().to_ascii_uppercase());
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The shipped exercises that replay a playbook: `*.toml` files directly in `dir` with an
/// `[exercise]` table naming a `playbook`, by file name.
pub fn exercises_in(dir: &Path) -> Result<Vec<PathBuf>, FileError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| FileError::whole_file(dir, format!("cannot list the exercises: {e}")))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .filter(|p| {
            std::fs::read_to_string(p)
                .ok()
                .and_then(|t| t.parse::<toml::Table>().ok())
                .and_then(|t| t.get("exercise")?.get("playbook").cloned())
                .is_some()
        })
        .collect();
    files.sort();
    Ok(files)
}
