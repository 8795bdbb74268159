//! `otrange report DIR`: what a run or a sweep found, for people. Written from the
//! directory's own outputs (results.json, events.jsonl and process.csv of a run; sweep.json
//! of a sweep), so a report can be made again, or later, from an archived directory.
//!
//! * `report.html`: one self-contained page, charts as inline SVG ([`svg`], [`page`]);
//!   [`run`] for a run, [`sweep_page`] for a sweep.
//! * `nis2.md` (a run): the run's evidence under NIS2 Article 21(2) and 23 ([`nis2`]).
//! * `navigator-layer.json` (a run), `navigator-layers/` (a sweep, one per defence
//!   configuration): ATT&CK Navigator layers ([`navigator`]).

pub mod navigator;
pub mod nis2;
pub mod nis2_sweep;
pub mod page;
pub mod run;
pub mod svg;
pub mod sweep_page;

use anyhow::Context;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Reads a JSON file, naming it in the error.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> anyhow::Result<T> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{}: not the JSON otrange writes", path.display()))
}

fn write(path: &Path, text: &str) -> anyhow::Result<PathBuf> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok(path.to_path_buf())
}

/// A finished run's inventory compared with an asset register (`otrange report --assets`),
/// as results.json's `asset_register` would hold it had the run been given the register.
pub fn compare_register(
    results: &serde_json::Value,
    register: &otrange_defenses::detect::register::AssetRegister,
) -> anyhow::Result<otrange_defenses::detect::register::Comparison> {
    use otrange_defenses::detect::register::{ObservedAsset, compare};
    let tap = results["taps"].as_array().into_iter().flatten().find_map(|t| {
        let observed = ObservedAsset::from_inventory_figures(&t["summary"]["figures"])?;
        Some((t["name"].as_str().unwrap_or_default().to_string(), observed))
    });
    let (detector, observed) = tap.context(
        "the run had no inventory detector, so there is nothing to compare the register with (run it with a detector set that has one, e.g. scenarios/detectors/plant-inventory.toml)",
    )?;
    Ok(compare(register, &observed, &detector))
}

/// Writes the report of the run or sweep in `dir`; returns the files written. With a
/// register, a run's inventory is compared with it first, as `run --assets` does.
pub fn write_report_with(
    dir: &Path,
    register: Option<&otrange_defenses::detect::register::AssetRegister>,
) -> anyhow::Result<Vec<PathBuf>> {
    let Some(register) = register else {
        return write_report(dir);
    };
    anyhow::ensure!(
        dir.join("results.json").is_file() && !dir.join("sweep.json").is_file(),
        "{}: --assets applies to a run's directory (results.json)",
        dir.display()
    );
    let path = dir.join("results.json");
    let r: serde_json::Value = read_json(&path)?;
    let comparison =
        compare_register(&r, register).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    for line in comparison.summary_lines() {
        println!("{line}");
    }
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let text = with_top_level_key(&text, "asset_register", "expectations", &comparison)?;
    write(&path, &text)?;
    write_report(dir)
}

/// results.json with its top-level `key` set to `value`, placed before `before`, the rest
/// of the file byte for byte as it was: the same bytes `run --assets` writes, so rewriting
/// a file keeps its key order (a `serde_json::Value` would sort the keys).
fn with_top_level_key(
    text: &str,
    key: &str,
    before: &str,
    value: &impl serde::Serialize,
) -> anyhow::Result<String> {
    let top = |line: &str| line.starts_with("  \"") && !line.starts_with("   ");
    let mut out = String::with_capacity(text.len());
    let mut skipping = false;
    let mut placed = false;
    for line in text.split_inclusive('\n') {
        if top(line) {
            skipping = line.starts_with(&format!("  \"{key}\": "));
            if !skipping && line.starts_with(&format!("  \"{before}\": ")) {
                let pretty = serde_json::to_string_pretty(value)?.replace('\n', "\n  ");
                out.push_str(&format!("  \"{key}\": {pretty},\n"));
                placed = true;
            }
        } else if skipping && line.starts_with('}') {
            skipping = false;
        }
        if !skipping {
            out.push_str(line);
        }
    }
    anyhow::ensure!(
        placed,
        "results.json has no top-level \"{before}\" to place {key} before"
    );
    Ok(out)
}

/// Writes the report of the run or sweep in `dir`; returns the files written.
pub fn write_report(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    if dir.join("sweep.json").is_file() {
        let r: crate::sweep::SweepResult = read_json(&dir.join("sweep.json"))?;
        return write_sweep_report(dir, &r);
    }
    anyhow::ensure!(
        dir.join("results.json").is_file(),
        "{}: neither a run's directory (results.json) nor a sweep's (sweep.json)",
        dir.display()
    );
    let mut files = vec![write(&dir.join("report.html"), &run::html(dir)?)?];
    let r: serde_json::Value = read_json(&dir.join("results.json"))?;
    let marks = run::read_marks(&dir.join("events.jsonl"))?;
    let evidence = nis2::evidence(&r, &marks, &marks.operator_actions);
    let title = r["exercise"].as_str().unwrap_or("").to_string();
    files.push(write(&dir.join("nis2.md"), &nis2::markdown(&title, &evidence))?);
    let mut techniques = BTreeMap::new();
    for s in r["steps"].as_array().into_iter().flatten() {
        if s["started_s"].is_null() {
            continue;
        }
        let names = |k: &str, field: Option<&str>| -> Vec<String> {
            s[k].as_array()
                .into_iter()
                .flatten()
                .filter_map(|d| match field {
                    Some(f) => d[f].as_str().map(String::from),
                    None => d.as_str().map(String::from),
                })
                .collect()
        };
        let mut by = names("detected_by", Some("detector"));
        by.extend(names("seen_by", None));
        navigator::add(
            &mut techniques,
            s["technique"].as_str().unwrap_or_default(),
            s["detection"].as_str().unwrap_or("none"),
            &by,
        );
    }
    let name = format!("otrange: {}", r["exercise"].as_str().unwrap_or(""));
    let description = format!(
        "Techniques the run executed, scored by their best detection (seed {}, policy {})",
        r["seed"],
        r["policy"].as_str().unwrap_or("")
    );
    let layer = navigator::layer(&name, &description, &techniques);
    files.push(write(
        &dir.join("navigator-layer.json"),
        &serde_json::to_string_pretty(&layer)?,
    )?);
    Ok(files)
}

/// report.html and one Navigator layer per defence configuration.
pub fn write_sweep_report(dir: &Path, r: &crate::sweep::SweepResult) -> anyhow::Result<Vec<PathBuf>> {
    let rows = crate::sweep::report::configurations(r);
    // When the sweep ran: sweep.json's modification time, as the file system has it.
    let written = std::fs::metadata(dir.join("sweep.json"))
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| {
            let ts = otrange_sim::base::wallclock::eve_timestamp(d.as_nanos() as u64);
            format!(
                "{} UTC (sweep.json's modification time)",
                ts[..19].replace('T', " ")
            )
        });
    let evidence = nis2_sweep::evidence(r, &rows, written.as_deref());
    let title = format!("sweep {}", r.name);
    let mut files = vec![
        write(&dir.join("report.html"), &sweep_page::html(r, &evidence))?,
        write(
            &dir.join("nis2.md"),
            &nis2::markdown_of("sweep", &title, &evidence),
        )?,
    ];
    let layers = dir.join("navigator-layers");
    std::fs::create_dir_all(&layers).with_context(|| format!("creating {}", layers.display()))?;
    for ((label, techniques), c) in sweep_page::coverage(r, &rows).iter().zip(&rows) {
        let name = format!("otrange {}: {label}", r.name);
        let description = format!(
            "Techniques the sweep's attacks executed under policy {} and detector set {}, scored by their best detection (rank {})",
            c.policy, c.detectors, c.rank
        );
        let layer = navigator::layer(&name, &description, techniques);
        let file = layers.join(format!("{}.{}.json", c.policy, c.detectors));
        files.push(write(&file, &serde_json::to_string_pretty(&layer)?)?);
    }
    Ok(files)
}
