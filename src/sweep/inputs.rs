//! The files a sweep read, each with its SHA-256: what an auditor needs to know that a
//! benchmark's figures came from these exercises, plants, playbooks, policies, detector sets
//! and rules, and what `otrange merge` checks so that shards run on different inputs are not
//! joined into one sweep.

use super::file::Sweep;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// One input file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct InputFile {
    /// The path relative to the sweep file's directory, `/`-separated, so that the same
    /// sweep gives the same sweep.json wherever it is checked out and however it is named
    /// on the command line.
    pub file: String,
    /// SHA-256 of its bytes, hex; `unreadable` when it could not be read.
    pub sha256: String,
}

/// `path` with `.` and `..` resolved without asking the file system.
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// `path` relative to `base` (both made absolute against the working directory first).
fn relative(path: &Path, base: &Path) -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    let (p, b) = (lexical(&cwd.join(path)), lexical(&cwd.join(base)));
    let (pc, bc): (Vec<_>, Vec<_>) = (p.components().collect(), b.components().collect());
    let common = pc.iter().zip(&bc).take_while(|(x, y)| x == y).count();
    let mut parts: Vec<String> = vec!["..".into(); bc.len() - common];
    parts.extend(
        pc[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}

fn sha256(path: &Path) -> String {
    match std::fs::read(path) {
        Ok(bytes) => Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
        Err(_) => "unreadable".into(),
    }
}

/// The first way two input lists differ, in words; None when they are the same.
pub fn difference(a: &[InputFile], b: &[InputFile]) -> Option<String> {
    let a: BTreeMap<&str, &str> = a.iter().map(|f| (f.file.as_str(), f.sha256.as_str())).collect();
    let b: BTreeMap<&str, &str> = b.iter().map(|f| (f.file.as_str(), f.sha256.as_str())).collect();
    let files: std::collections::BTreeSet<&str> = a.keys().chain(b.keys()).copied().collect();
    files.into_iter().find_map(|f| match (a.get(f), b.get(f)) {
        (Some(x), Some(y)) if x == y => None,
        (Some(x), Some(y)) => Some(format!("{f} has SHA-256 {x} in one and {y} in the other")),
        (Some(_), None) | (None, Some(_)) => Some(format!("{f} is an input of one and not of the other")),
        (None, None) => None,
    })
}

impl Sweep {
    /// The sweep file and every file its cells read, sorted by path, each once.
    pub fn inputs(&self) -> Vec<InputFile> {
        let base = self.file.parent().unwrap_or(Path::new("."));
        let mut files: BTreeMap<String, PathBuf> = BTreeMap::new();
        let mut add = |p: &Path| {
            files.entry(relative(p, base)).or_insert_with(|| p.to_path_buf());
        };
        add(&self.file);
        for c in &self.cells {
            for f in super::cell::inputs(&c.exercise) {
                add(&f);
            }
        }
        files
            .into_iter()
            .map(|(file, path)| InputFile {
                sha256: sha256(&path),
                file,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_relative_to_the_sweep_and_tidy() {
        assert_eq!(
            relative(Path::new("/a/s/benchmark/../water/plant.toml"), Path::new("/a/s")),
            "water/plant.toml"
        );
        assert_eq!(
            relative(
                Path::new("/a/scenarios/x.toml"),
                Path::new("/a/tests/fixtures/sweeps")
            ),
            "../../../scenarios/x.toml"
        );
        assert_eq!(relative(Path::new("/a/s/./b.toml"), Path::new("/a/s/")), "b.toml");
    }
}
