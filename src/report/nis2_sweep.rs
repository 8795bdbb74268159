//! nis2.md of a sweep: what a benchmark of defence configurations measured, filed under
//! NIS2 Article 21(2) and Article 23 as a run's evidence is ([`super::nis2`]), but per
//! defence configuration, and with what makes the benchmark itself evidence under (f): when
//! it ran, its seeds, and the SHA-256 of every file it read.

use super::nis2::{Evidence, blank_letters};
use crate::sweep::SweepResult;
use crate::sweep::report::ConfigRow;
use std::collections::{BTreeMap, BTreeSet};

/// Techniques whose steps come through a supplier's or vendor's path: External Remote
/// Services (the vendor VPN) and Supply Chain Compromise.
const SUPPLY_CHAIN: [&str; 2] = ["T0822", "T0862"];

fn pct(a: usize, b: usize) -> String {
    if b == 0 {
        "-".into()
    } else {
        format!("{a} of {b} ({:.0} %)", 100.0 * a as f64 / b as f64)
    }
}

fn configuration(c: &ConfigRow) -> String {
    format!("policy {} with detectors {}", c.policy, c.detectors)
}

/// The sweep's evidence; `written` is when sweep.json was written (its modification time,
/// the one fact of a sweep that is not in its deterministic outputs).
pub fn evidence(r: &SweepResult, rows: &[ConfigRow], written: Option<&str>) -> Evidence {
    let mut letters = blank_letters();
    let mut say = |letter: char, line: String| {
        if let Some(l) = letters.iter_mut().find(|l| l.letter == letter) {
            l.evidence.push(line);
        }
    };
    let attacked: Vec<&ConfigRow> = rows.iter().filter(|c| c.attacked > 0).collect();

    // (b) Incident handling: per configuration, what the detectors saw and how fast.
    for c in &attacked {
        say(
            'b',
            format!(
                "Rank {}, {}: {} attack steps detected by an alert, {} visible at all; median time to detect {}; attacks with an impact detected before it: {}.",
                c.rank,
                configuration(c),
                pct(c.steps_analytic, c.steps_run),
                pct(c.steps_visible, c.steps_run),
                c.median_ttd_s.map_or("-".into(), |t| if t < 1.0 {
                    format!("{:.1} ms", t * 1e3)
                } else {
                    format!("{t:.1} s")
                }),
                pct(c.detected_before_impact, c.impacted)
            ),
        );
    }

    // (c) Business continuity: the physical harm each configuration let through.
    for c in &attacked {
        say(
            'c',
            format!(
                "{}: {} attacks reached a physical impact; impacts prevented: {} of the attacks that reach one on the undefended network.",
                configuration(c),
                pct(c.impacted, c.attacked),
                if c.preventable == 0 {
                    "-".to_string()
                } else {
                    format!("{} of {}", c.prevented, c.preventable)
                }
            ),
        );
    }

    // (d) Supply chain: the steps that came through the vendor's paths, per policy.
    let mut supply: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
    // (j) Identity and MFA: the steps such a requirement stopped, per policy.
    let mut identity: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
    // (i) The rules that stopped attack chains, per policy.
    let mut blocking: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
    // Detector sets only watch: count each attack once per policy.
    let mut seen: BTreeSet<(&str, &str, &str, u64, u64)> = BTreeSet::new();
    for cell in r.cells.iter().filter(|c| c.kind == "attack") {
        let Some(s) = &cell.scores else { continue };
        let once = (
            cell.policy.as_str(),
            cell.exercise.as_str(),
            cell.foothold.as_str(),
            cell.seed,
            cell.duration_s.to_bits(),
        );
        if !seen.insert(once) {
            continue;
        }
        for st in s.steps.iter().filter(|st| st.status != "not_reached") {
            if SUPPLY_CHAIN.contains(&st.technique.as_str()) {
                *supply
                    .entry(&cell.policy)
                    .or_default()
                    .entry(st.status.as_str())
                    .or_default() += 1;
            }
            if let Some(why) = &st.why {
                let kind = if why.starts_with("MFA required") {
                    "a second factor"
                } else {
                    "a named identity"
                };
                *identity.entry(&cell.policy).or_default().entry(kind).or_default() += 1;
            }
        }
        if let Some(rule) = &s.blocked_by {
            *blocking.entry(&cell.policy).or_default().entry(rule).or_default() += 1;
        }
    }
    let counts = |m: &BTreeMap<&str, usize>| -> String {
        m.iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for (policy, by_status) in &supply {
        say(
            'd',
            format!(
                "Policy {policy}: steps through the vendor's remote access or a supplier (T0822, T0862): {}.",
                counts(by_status)
            ),
        );
    }

    // (f) Assessing effectiveness: the benchmark itself, reproducible from its inputs.
    let attacks = r.cells.iter().filter(|c| c.kind == "attack").count();
    let seeds: BTreeSet<u64> = r.cells.iter().map(|c| c.seed).collect();
    let (failed, unmet) = r.failures();
    let expectations: usize = r
        .cells
        .iter()
        .filter_map(|c| c.scores.as_ref())
        .map(|s| s.expectations.len())
        .sum();
    say(
        'f',
        format!(
            "Sweep \"{}\": {} of {} cells ({attacks} attacks, {} benign baselines), seeds {}{}; {failed} cells failed to run, {unmet} missed an expectation ({expectations} expectations checked). The same inputs give the same sweep.json, byte for byte.",
            r.name,
            r.cells.len(),
            r.cells_total,
            r.cells.len() - attacks,
            seeds.iter().map(u64::to_string).collect::<Vec<_>>().join(", "),
            written.map_or(String::new(), |w| format!("; written {w}"))
        ),
    );
    for f in &r.inputs {
        say('f', format!("Input {}: SHA-256 {}.", f.file, f.sha256));
    }

    // (i) Access control: what each policy's rules stopped, and what they cost.
    for (policy, rules) in &blocking {
        say(
            'i',
            format!(
                "Policy {policy}: attack chains stopped by rule: {}.",
                rules
                    .iter()
                    .map(|(rule, n)| format!("\"{rule}\" {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
    for c in rows
        .iter()
        .filter(|c| c.benign_hours > 0.0 && c.blocked_legitimate_per_h > Some(0.0))
    {
        say(
            'i',
            format!(
                "{}: {:.1} legitimate frames blocked per hour of benign operation.",
                configuration(c),
                c.blocked_legitimate_per_h.unwrap_or_default()
            ),
        );
    }

    // (j) Multi-factor authentication.
    for (policy, kinds) in &identity {
        say(
            'j',
            format!(
                "Policy {policy}: attack steps stopped for want of {}.",
                kinds
                    .iter()
                    .map(|(k, n)| format!("{k}: {n}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        );
    }

    // Article 23: could the entity have known of each impact in time?
    let reporting = attacked
        .iter()
        .filter(|c| c.impacted > 0)
        .map(|c| {
            format!(
                "{}: {} attacks reached an impact; an alert came before it in {} (the entity could have become aware and reported within 24 h); {} would have been UNKNOWN TO THE ENTITY.",
                configuration(c),
                c.impacted,
                c.detected_before_impact,
                c.impacted - c.detected_before_impact
            )
        })
        .collect();
    Evidence { letters, reporting }
}
