//! `otrange techniques`: the ATT&CK for ICS catalogue with each technique's meaning in the
//! range, threat groups, MITRE's campaign and software records, and how much of those
//! records the playbooks replay.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use otrange::coverage::{Measured, exercises_in, measure};
use otrange_attacks::catalogue::{self, Meaning, Record, RecordKind};
use otrange_attacks::coverage::{Coverage, Status};
use otrange_attacks::techniques::meaning;
use serde_json::{Value, json};

/// The `techniques` subcommand's arguments.
#[derive(Args)]
pub(crate) struct TechniquesArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Only the techniques ATT&CK says this group uses (ID, name or alias, e.g. XENOTIME).
    #[arg(long, value_name = "NAME", conflicts_with_all = ["groups", "campaign", "software", "campaigns", "coverage"])]
    group: Option<String>,
    /// One row per ATT&CK for ICS group: its techniques and how many otrange can execute.
    #[arg(long, conflicts_with_all = ["campaign", "software", "campaigns", "coverage"])]
    groups: bool,
    /// A campaign's techniques (ID or name, e.g. C0041 or FrostyGoop) and, for each FILE (or
    /// each shipped exercise whose playbook lists it), which of them it executes.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["software", "campaigns", "coverage"])]
    campaign: Option<String>,
    /// The same for a piece of software (ID or name, e.g. S1165 or Industroyer2).
    #[arg(long, value_name = "NAME", conflicts_with_all = ["campaigns", "coverage"])]
    software: Option<String>,
    /// One row per ATT&CK for ICS campaign and piece of software: how many of its techniques
    /// the range can replay (an executor or an impact).
    #[arg(long, conflicts_with = "coverage")]
    campaigns: bool,
    /// One row per exercise (FILEs, or the shipped ones in ./scenarios): its playbook's
    /// records and the share of their in-scope techniques it covers.
    #[arg(long)]
    coverage: bool,
    /// Exercise or playbook files for --campaign, --software and --coverage (default: the
    /// exercises in ./scenarios that replay a playbook).
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,
}

/// Runs the subcommand: 0 on success, 2 on bad input (an unknown name, an unreadable file).
pub(crate) fn main(args: &TechniquesArgs) -> ExitCode {
    match run(args) {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(a: &TechniquesArgs) -> Result<String, String> {
    if !(a.files.is_empty() || a.coverage || a.campaign.is_some() || a.software.is_some()) {
        return Err("FILE arguments go with --coverage, --campaign or --software".into());
    }
    if let Some(query) = &a.group {
        let g = catalogue::group(query).map_err(|e| e.to_string())?;
        return Ok(if a.json {
            format!("{:#}\n", catalogue::group_to_json(g, meaning))
        } else {
            catalogue::group_table(g, meaning)
        });
    }
    if a.groups {
        let has_executor = |id: &str| meaning(id) == Meaning::Executor;
        return Ok(if a.json {
            format!("{:#}\n", catalogue::groups_to_json(has_executor))
        } else {
            catalogue::groups_table(has_executor)
        });
    }
    if a.campaigns {
        return Ok(records_view(a.json));
    }
    if let Some((query, kind)) = a
        .campaign
        .as_ref()
        .map(|q| (q, RecordKind::Campaign))
        .or(a.software.as_ref().map(|q| (q, RecordKind::Software)))
    {
        let record = catalogue::record(query, kind).map_err(|e| e.to_string())?;
        let measured = files_for(&a.files, Some(record))?;
        return Ok(if a.json {
            format!("{:#}\n", record_json(record, &measured))
        } else {
            record_table(record, &measured)
        });
    }
    if a.coverage {
        let measured = files_for(&a.files, None)?;
        return Ok(if a.json {
            format!("{:#}\n", coverage_json(&measured))
        } else {
            coverage_table(&measured)
        });
    }
    Ok(if a.json {
        format!("{:#}\n", catalogue::to_json(meaning))
    } else {
        catalogue::table(meaning)
    })
}

/// The files named, or the shipped exercises in ./scenarios (only those whose playbook
/// lists `record`, when one is given).
fn files_for(files: &[PathBuf], record: Option<Record>) -> Result<Vec<Measured>, String> {
    let given = !files.is_empty();
    let paths = if given {
        files.to_vec()
    } else {
        let dir = Path::new("scenarios");
        if !dir.is_dir() {
            return Err(
                "no FILE given and there is no ./scenarios directory: name exercise or playbook files".into(),
            );
        }
        exercises_in(dir).map_err(|e| e.to_string())?
    };
    let mut out = Vec::new();
    for p in &paths {
        let m = measure(p).map_err(|e| e.to_string())?;
        let lists_it = match (&m.coverage, record) {
            (_, None) => true,
            (Some(c), Some(r)) => c.records.contains(&r),
            (None, Some(_)) => false,
        };
        if given || lists_it {
            out.push(m);
        }
    }
    Ok(out)
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into_owned())
}

fn cell(status: &Status) -> String {
    match status {
        Status::Executed(steps) => {
            let n: Vec<String> = steps.iter().map(ToString::to_string).collect();
            format!("step {}", n.join(", "))
        }
        other => other.label().to_owned(),
    }
}

fn share(c: &Coverage) -> String {
    format!("{} of {} ({:.0}%)", c.covered(), c.in_scope(), c.percent())
}

/// `--campaign` / `--software`: the record's techniques, one column per file.
fn record_table(record: Record, measured: &[Measured]) -> String {
    let mut out = format!("{} {} {}\n", record.kind(), record.id(), record.name());
    let covs: Vec<Coverage> = measured.iter().map(|m| m.against(&[record])).collect();
    let mut header = vec!["ID".to_owned(), "NAME".to_owned(), "MEANING".to_owned()];
    header.extend(measured.iter().map(|m| file_name(&m.file)));
    let rows: Vec<Vec<String>> = record
        .resolved_techniques()
        .iter()
        .map(|t| {
            let mut row = vec![
                t.id.to_owned(),
                t.name.to_owned(),
                meaning(t.id).label().to_owned(),
            ];
            for c in &covs {
                let status = c.rows.iter().find(|r| r.technique.id == t.id).map(|r| &r.status);
                row.push(status.map_or("-".into(), cell));
            }
            row
        })
        .collect();
    out.push_str(&columns(&header, &rows));
    if measured.is_empty() {
        out.push_str(
            "no shipped exercise lists this record; name exercise or playbook files to measure them\n",
        );
    }
    for (m, c) in measured.iter().zip(&covs) {
        out.push_str(&format!(
            "{} covers {} of {} in-scope techniques ({:.0}%)\n",
            file_name(&m.file),
            c.covered(),
            c.in_scope(),
            c.percent()
        ));
        for r in &c.rows {
            match &r.status {
                Status::LeftOut(why) => out.push_str(&format!("  left out {}: {why}\n", r.technique.id)),
                Status::OutOfScope(why) => {
                    out.push_str(&format!("  out of scope {}: {why}\n", r.technique.id));
                }
                _ => {}
            }
        }
    }
    out
}

fn record_json(record: Record, measured: &[Measured]) -> Value {
    json!({
        "attack": attack_json(),
        "record": record_summary(record),
        "files": measured.iter().map(|m| measured_json(m, &m.against(&[record]))).collect::<Vec<_>>(),
    })
}

/// `--coverage`: one line per exercise.
fn coverage_table(measured: &[Measured]) -> String {
    let header: Vec<String> = ["EXERCISE", "RECORDS", "COVERED", "LEFT OUT", "MISSING"]
        .map(str::to_owned)
        .to_vec();
    let rows: Vec<Vec<String>> = measured
        .iter()
        .map(|m| match &m.coverage {
            Some(c) => vec![
                file_name(&m.file),
                c.records.iter().map(|r| r.id()).collect::<Vec<_>>().join(", "),
                share(c),
                ids(c, "left out"),
                ids(c, "missing"),
            ],
            None => vec![
                file_name(&m.file),
                "-".into(),
                "not measured: the playbook lists no MITRE record".into(),
                String::new(),
                String::new(),
            ],
        })
        .collect();
    columns(&header, &rows)
}

fn ids(c: &Coverage, label: &str) -> String {
    let found: Vec<&str> = c.with(label).iter().map(|r| r.technique.id).collect();
    if found.is_empty() {
        "-".into()
    } else {
        found.join(", ")
    }
}

fn coverage_json(measured: &[Measured]) -> Value {
    json!({
        "attack": attack_json(),
        "exercises": measured
            .iter()
            .map(|m| match &m.coverage {
                Some(c) => measured_json(m, c),
                None => json!({ "file": m.file, "playbook": m.playbook, "records": [] }),
            })
            .collect::<Vec<_>>(),
    })
}

fn measured_json(m: &Measured, c: &Coverage) -> Value {
    json!({
        "file": m.file,
        "playbook_file": m.playbook_file,
        "playbook": m.playbook,
        "records": c.records.iter().map(|r| r.id()).collect::<Vec<_>>(),
        "in_scope": c.in_scope(),
        "covered": c.covered(),
        "percent": c.percent(),
        "techniques": c.rows.iter().map(|r| {
            let (steps, why) = match &r.status {
                Status::Executed(s) => (s.clone(), None),
                Status::LeftOut(w) => (Vec::new(), Some(w.clone())),
                Status::OutOfScope(w) => (Vec::new(), Some((*w).to_owned())),
                _ => (Vec::new(), None),
            };
            json!({
                "id": r.technique.id,
                "name": r.technique.name,
                "records": r.records,
                "status": r.status.label(),
                "steps": steps,
                "why": why,
            })
        }).collect::<Vec<_>>(),
    })
}

/// `--campaigns`: every campaign, then every piece of software.
fn records_view(as_json: bool) -> String {
    let all: Vec<Record> = catalogue::campaigns()
        .iter()
        .map(Record::Campaign)
        .chain(catalogue::software().iter().map(Record::Software))
        .collect();
    if as_json {
        let v = json!({
            "attack": attack_json(),
            "records": all.iter().map(|r| record_summary(*r)).collect::<Vec<_>>(),
        });
        return format!("{v:#}\n");
    }
    let header: Vec<String> = ["ID", "KIND", "NAME", "TECHNIQUES", "IN RANGE", "SHARE"]
        .map(str::to_owned)
        .to_vec();
    let rows: Vec<Vec<String>> = all
        .iter()
        .map(|r| {
            let (n, in_range) = counts(*r);
            let share = if n == 0 {
                "-".into()
            } else {
                format!("{:.0}%", in_range as f64 * 100.0 / n as f64)
            };
            vec![
                r.id().into(),
                r.kind().into(),
                r.name().into(),
                n.to_string(),
                in_range.to_string(),
                share,
            ]
        })
        .collect();
    let mut out = columns(&header, &rows);
    out.push_str("IN RANGE: techniques with an executor or produced as an impact by the plant\n");
    out
}

fn counts(r: Record) -> (usize, usize) {
    let n = r.techniques().len();
    let in_range = r
        .techniques()
        .iter()
        .filter(|t| matches!(meaning(t), Meaning::Executor | Meaning::Impact))
        .count();
    (n, in_range)
}

fn record_summary(r: Record) -> Value {
    let (n, in_range) = counts(r);
    let (first, last) = match r {
        Record::Campaign(c) => (Some(c.first_seen), Some(c.last_seen)),
        Record::Software(_) => (None, None),
    };
    json!({
        "id": r.id(),
        "kind": r.kind(),
        "name": r.name(),
        "first_seen": first,
        "last_seen": last,
        "techniques": r.techniques(),
        "in_range": in_range,
        "percent": (n > 0).then(|| (in_range as f64 * 1000.0 / n as f64).round() / 10.0),
    })
}

fn attack_json() -> Value {
    json!({
        "domain": "ics-attack",
        "version": catalogue::ATTACK_VERSION,
        "notice": catalogue::NOTICE,
    })
}

/// Rows under a header, padded to the widest cell; the last column is not padded.
fn columns(header: &[String], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(header).chain(rows.iter().map(Vec::as_slice)) {
        let mut line = String::new();
        for (i, (c, w)) in row.iter().zip(&widths).enumerate() {
            if i + 1 == row.len() {
                line.push_str(c);
            } else {
                line.push_str(&format!("{c:<w$}  "));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
