//! What a sweep tells CI and people: `junit.xml` (one test case per expectation per cell,
//! which GitHub Actions and GitLab display) and `report.md` (the comparison as
//! GitHub-flavoured tables, for a pull-request comment).

use super::SweepResult;
use super::cell::{CellResult, Scores};
use std::fmt::Write as _;

/// One defence configuration (policy x detector set): what it did against the attacks,
/// and what it cost in benign operation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConfigRow {
    /// The policy's label.
    pub policy: String,
    /// The detector set's label (with `-tT` for an anomaly threshold T).
    pub detectors: String,
    /// The detector set without the threshold, and the threshold its anomaly detectors ran
    /// at (the sweep's `anomaly_thresholds` axis).
    pub detector_set: String,
    /// See `detector_set`.
    pub anomaly_threshold: Option<f64>,
    /// 1 for the best configuration (see [`configurations`]).
    pub rank: usize,
    /// Attack cells with a playbook that ran.
    pub attacked: usize,
    /// Of them, chains blocked or failed before their last step.
    pub chains_stopped: usize,
    /// Attack cells with at least one impact.
    pub impacted: usize,
    /// Attack cells whose undefended counterpart (same exercise, foothold, seed and
    /// duration) had an impact.
    pub preventable: usize,
    /// Of them, cells without an impact here.
    pub prevented: usize,
    /// Steps that started, over the attack cells.
    pub steps_run: usize,
    /// Of them, with any detection, telemetry included.
    pub steps_visible: usize,
    /// Of them, with an alert that counts (general, tactic, technique).
    pub steps_analytic: usize,
    /// Median seconds from a step's start to its first counting alert.
    pub median_ttd_s: Option<f64>,
    /// The slowest of those.
    pub max_ttd_s: Option<f64>,
    /// Attack cells with an impact and a detection before it.
    pub detected_before_impact: usize,
    /// Benign hours run under this configuration.
    pub benign_hours: f64,
    /// Alerts in benign operation per hour: false alarms.
    pub false_alarms_per_h: Option<f64>,
    /// Legitimate frames blocked per benign hour.
    pub blocked_legitimate_per_h: Option<f64>,
    /// Mean over the benign cells of the worst HMI's p50, p99 and max latency, ms.
    pub hmi_p50_ms: Option<f64>,
    /// See `hmi_p50_ms`.
    pub hmi_p99_ms: Option<f64>,
    /// See `hmi_p50_ms`.
    pub hmi_max_ms: Option<f64>,
    /// Mean difference of the p99 from the undefended baseline's (same plant, seed and
    /// duration), ms: the control loop's cost of the configuration.
    pub p99_cost_ms: Option<f64>,
    /// HMI poll timeouts in benign operation.
    pub poll_timeouts: u64,
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// Whether two cells are the same attack or the same benign run under different defences.
fn counterpart(a: &CellResult, b: &CellResult) -> bool {
    a.kind == b.kind
        && a.exercise == b.exercise
        && a.foothold == b.foothold
        && a.seed == b.seed
        && a.duration_s == b.duration_s
}

/// The defence configurations, ranked: protection first (fewest attacks that reached an
/// impact, then most chains stopped), then sight (analytic coverage, then visibility),
/// then cost (false alarms, legitimate frames blocked, latency); ties keep axis order.
pub fn configurations(r: &SweepResult) -> Vec<ConfigRow> {
    let scored: Vec<(&CellResult, &Scores)> = r
        .cells
        .iter()
        .filter_map(|c| c.scores.as_ref().map(|s| (c, s)))
        .collect();
    let mut rows: Vec<ConfigRow> = Vec::new();
    for (c, _) in &scored {
        if !rows
            .iter()
            .any(|row| row.policy == c.policy && row.detectors == c.detectors)
        {
            rows.push(ConfigRow {
                policy: c.policy.clone(),
                detectors: c.detectors.clone(),
                detector_set: super::file::untuned_label(&c.detectors, c.anomaly_threshold).to_string(),
                anomaly_threshold: c.anomaly_threshold,
                ..ConfigRow::default()
            });
        }
    }
    let undefended = |c: &CellResult| {
        scored
            .iter()
            .find(|(u, _)| u.undefended && counterpart(u, c))
            .map(|(_, s)| *s)
    };
    for row in &mut rows {
        let mine = scored
            .iter()
            .filter(|(c, _)| c.policy == row.policy && c.detectors == row.detectors);
        let (mut ttd, mut p50, mut p99, mut max, mut cost) = (vec![], vec![], vec![], vec![], vec![]);
        let (mut alerts, mut blocked) = (0u64, 0u64);
        for (c, s) in mine {
            if c.kind == "baseline" {
                row.benign_hours += c.duration_s / 3600.0;
                alerts += s.alerts;
                blocked += s.blocked_legitimate;
                row.poll_timeouts += s.poll_timeouts;
                p50.push(s.hmi_p50_ms);
                p99.push(s.hmi_p99_ms);
                max.push(s.hmi_max_ms);
                if let Some(u) = undefended(c) {
                    cost.push(s.hmi_p99_ms - u.hmi_p99_ms);
                }
                continue;
            }
            if s.steps.is_empty() {
                continue;
            }
            row.attacked += 1;
            row.chains_stopped += usize::from(s.chain == "blocked" || s.chain == "failed");
            row.impacted += usize::from(s.impacts > 0);
            row.detected_before_impact += usize::from(s.detected_before_impact == Some(true));
            if undefended(c).is_some_and(|u| u.impacts > 0) {
                row.preventable += 1;
                row.prevented += usize::from(s.impacts == 0);
            }
            row.steps_run += s.steps_run;
            row.steps_visible += s.steps_visible;
            row.steps_analytic += s.steps_analytic;
            ttd.extend(s.steps.iter().filter_map(|st| st.time_to_detect_s));
        }
        row.max_ttd_s = ttd.iter().copied().reduce(f64::max);
        row.median_ttd_s = median(ttd);
        if row.benign_hours > 0.0 {
            row.false_alarms_per_h = Some(alerts as f64 / row.benign_hours);
            row.blocked_legitimate_per_h = Some(blocked as f64 / row.benign_hours);
        }
        (row.hmi_p50_ms, row.hmi_p99_ms, row.hmi_max_ms) = (mean(&p50), mean(&p99), mean(&max));
        row.p99_cost_ms = mean(&cost);
    }
    let share = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (&rows[a], &rows[b]);
        share(x.impacted, x.attacked)
            .total_cmp(&share(y.impacted, y.attacked))
            .then(share(y.chains_stopped, y.attacked).total_cmp(&share(x.chains_stopped, x.attacked)))
            .then(share(y.steps_analytic, y.steps_run).total_cmp(&share(x.steps_analytic, x.steps_run)))
            .then(share(y.steps_visible, y.steps_run).total_cmp(&share(x.steps_visible, x.steps_run)))
            .then(
                x.false_alarms_per_h
                    .unwrap_or(0.0)
                    .total_cmp(&y.false_alarms_per_h.unwrap_or(0.0)),
            )
            .then(
                x.blocked_legitimate_per_h
                    .unwrap_or(0.0)
                    .total_cmp(&y.blocked_legitimate_per_h.unwrap_or(0.0)),
            )
            .then(
                x.p99_cost_ms
                    .unwrap_or(0.0)
                    .total_cmp(&y.p99_cost_ms.unwrap_or(0.0)),
            )
            .then(a.cmp(&b))
    });
    for (rank, &i) in order.iter().enumerate() {
        rows[i].rank = rank + 1;
    }
    order.into_iter().map(|i| rows[i].clone()).collect()
}

/// One policy and detector set over the sweep's anomaly thresholds: the detection versus
/// false-alarm curve that choosing a threshold moves along.
#[derive(Debug, Clone, PartialEq)]
pub struct ThresholdCurve {
    /// The policy's label.
    pub policy: String,
    /// The detector set's label, without the threshold.
    pub detectors: String,
    /// One configuration per threshold, in ascending threshold order.
    pub points: Vec<ConfigRow>,
}

/// The curves of a sweep with an `anomaly_thresholds` axis (none without one), ordered by
/// policy and detector set.
pub fn threshold_curves(rows: &[ConfigRow]) -> Vec<ThresholdCurve> {
    let mut curves: std::collections::BTreeMap<(String, String), Vec<ConfigRow>> = Default::default();
    for r in rows.iter().filter(|r| r.anomaly_threshold.is_some()) {
        curves
            .entry((r.policy.clone(), r.detector_set.clone()))
            .or_default()
            .push(r.clone());
    }
    curves
        .into_iter()
        .map(|((policy, detectors), mut points)| {
            points.sort_by(|a, b| {
                a.anomaly_threshold
                    .unwrap_or(0.0)
                    .total_cmp(&b.anomaly_threshold.unwrap_or(0.0))
            });
            ThresholdCurve {
                policy,
                detectors,
                points,
            }
        })
        .collect()
}

/// How far the attacks got from each foothold under each policy (detector sets watch and
/// change nothing, so their cells are counted once each).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FootholdRow {
    /// The policy's label.
    pub policy: String,
    /// `entry` or the host.
    pub foothold: String,
    /// Attack cells with a playbook.
    pub attacked: usize,
    /// Of them, chains blocked or failed.
    pub stopped: usize,
    /// Steps that succeeded, summed over the cells.
    pub steps_succeeded: usize,
    /// Steps the playbooks have from this foothold, summed over the cells.
    pub steps: usize,
    /// Cells with an impact.
    pub impacted: usize,
}

/// One row per (policy, foothold), in the order they first appear.
pub fn by_foothold(r: &SweepResult) -> Vec<FootholdRow> {
    let mut rows: Vec<FootholdRow> = Vec::new();
    for c in &r.cells {
        let Some(s) = &c.scores else { continue };
        if c.kind != "attack" || s.steps.is_empty() {
            continue;
        }
        let i = match rows
            .iter()
            .position(|row| row.policy == c.policy && row.foothold == c.foothold)
        {
            Some(i) => i,
            None => {
                rows.push(FootholdRow {
                    policy: c.policy.clone(),
                    foothold: c.foothold.clone(),
                    ..FootholdRow::default()
                });
                rows.len() - 1
            }
        };
        let row = &mut rows[i];
        row.attacked += 1;
        row.stopped += usize::from(s.chain == "blocked" || s.chain == "failed");
        row.steps_succeeded += s.steps.iter().filter(|st| st.status == "succeeded").count();
        row.steps += s.steps.len();
        row.impacted += usize::from(s.impacts > 0);
    }
    rows
}

/// Escapes text for an XML attribute or element.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 allows no other control characters.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// junit.xml: a test suite per cell, a test case per expectation (a failed run is one
/// test case with an error). No timings: the file is as deterministic as sweep.json.
pub fn junit_xml(r: &SweepResult) -> String {
    let cases = |c: &CellResult| c.scores.as_ref().map_or(1, |s| s.expectations.len());
    let failures = |c: &CellResult| {
        c.scores
            .as_ref()
            .map_or(0, |s| s.expectations.iter().filter(|e| !e.passed).count())
    };
    let errors = |c: &CellResult| usize::from(c.scores.is_none());
    let total: usize = r.cells.iter().map(cases).sum();
    let failed: usize = r.cells.iter().map(failures).sum();
    let errored: usize = r.cells.iter().map(errors).sum();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"{}\" tests=\"{total}\" failures=\"{failed}\" errors=\"{errored}\">",
        xml(&r.name)
    );
    for c in &r.cells {
        let _ = writeln!(
            x,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\">",
            xml(&c.key),
            cases(c),
            failures(c),
            errors(c)
        );
        match &c.scores {
            None => {
                let _ = writeln!(
                    x,
                    "    <testcase classname=\"{}\" name=\"run\">\n      <error message=\"{}\"/>\n    </testcase>",
                    xml(&c.key),
                    xml(c.error.as_deref().unwrap_or("failed"))
                );
            }
            Some(s) => {
                for e in &s.expectations {
                    let _ = write!(
                        x,
                        "    <testcase classname=\"{}\" name=\"{}\"",
                        xml(&c.key),
                        xml(&e.name)
                    );
                    if e.passed {
                        x.push_str("/>\n");
                    } else {
                        let _ = writeln!(
                            x,
                            ">\n      <failure message=\"{}: expected {}, actual {}\"/>\n    </testcase>",
                            xml(&e.name),
                            xml(&e.expected),
                            xml(&e.actual)
                        );
                    }
                }
            }
        }
        x.push_str("  </testsuite>\n");
    }
    x.push_str("</testsuites>\n");
    x
}

/// A step list in a few characters: `SSB-` (succeeded, succeeded, blocked, not reached).
fn chain(c: &CellResult) -> String {
    let Some(s) = &c.scores else {
        return "run failed".into();
    };
    if s.steps.is_empty() {
        return "benign".into();
    }
    let marks: String = s
        .steps
        .iter()
        .map(|st| match st.status.as_str() {
            "succeeded" => 'S',
            "blocked" => 'B',
            "failed" => 'F',
            _ => '-',
        })
        .collect();
    match (s.blocked_at_step, &s.blocked_by) {
        (Some(k), Some(rule)) => format!("`{marks}` blocked at step {k} by `{rule}`"),
        _ => format!("`{marks}`"),
    }
}

const CONFIG_TABLE_INTRO: &str = "## Defence configurations\n\n\
Ranked by protection (attacks that reached an impact, then chains stopped), then sight \
(analytic coverage, then visibility), then cost (false alarms, legitimate frames blocked, \
latency). Impacts prevented: of the attacks that caused an impact on the undefended \
network, those that caused none here. Visibility: steps with any detection, telemetry \
included; analytic coverage: steps an alert counted for (MITRE's ICS Evaluations). Costs \
come from the benign baselines: alerts per hour of benign operation are false alarms; \
p99 cost is the worst HMI's p99 poll latency minus the undefended network's.\n\n";

const FOOTHOLD_TABLE_INTRO: &str = "\n## Where the attacks stopped, by foothold\n\n\
Each playbook from its own entry and from hosts inside (assume breach). Detector sets \
only watch, so every cell counts.\n\n";

const THRESHOLD_TABLE_INTRO: &str = "\n## Anomaly detector thresholds\n\n\
The same detector set with its anomaly detectors at each threshold of the sweep's \
`anomaly_thresholds`: a lower threshold detects more steps and raises more false alarms \
(from the benign baselines).\n\n";

/// report.md: the ranked configurations, the footholds, the anomaly thresholds, then
/// every cell.
pub fn report_md(r: &SweepResult) -> String {
    let (failed, unmet) = r.failures();
    let mut m = String::new();
    let _ = writeln!(m, "# Sweep `{}`\n", r.name);
    let _ = writeln!(
        m,
        "{} of {} cells; {failed} failed to run, {unmet} missed an expectation.\n",
        r.cells.len(),
        r.cells_total
    );
    m.push_str(CONFIG_TABLE_INTRO);
    m.push_str("| rank | policy | detectors | chains stopped | impacts prevented | visibility | analytic coverage | TTD median / max | false alarms /h | legit blocked /h | HMI p99 ms | p99 cost ms | timeouts |\n");
    m.push_str("|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    let pct = |a: usize, b: usize| {
        if b == 0 {
            "-".to_string()
        } else {
            format!("{a}/{b} ({:.0} %)", 100.0 * a as f64 / b as f64)
        }
    };
    let num = |v: Option<f64>, digits: usize| v.map_or("-".to_string(), |x| format!("{x:.digits$}"));
    // Alerts on a step's own frames come within a millisecond; a detector that judges the
    // plant's state takes minutes.
    let ttd = |v: Option<f64>| match v {
        None => "-".to_string(),
        Some(s) if s < 1.0 => format!("{:.1} ms", s * 1e3),
        Some(s) => format!("{s:.1} s"),
    };
    for c in configurations(r) {
        let _ = writeln!(
            m,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            c.rank,
            c.policy,
            c.detectors,
            pct(c.chains_stopped, c.attacked),
            pct(c.prevented, c.preventable),
            pct(c.steps_visible, c.steps_run),
            pct(c.steps_analytic, c.steps_run),
            match c.max_ttd_s {
                Some(_) => format!("{} / {}", ttd(c.median_ttd_s), ttd(c.max_ttd_s)),
                None => "-".into(),
            },
            num(c.false_alarms_per_h, 1),
            num(c.blocked_legitimate_per_h, 1),
            num(c.hmi_p99_ms, 1),
            num(c.p99_cost_ms.map(|x| if x.abs() < 0.05 { 0.0 } else { x }), 1),
            if c.benign_hours > 0.0 {
                c.poll_timeouts.to_string()
            } else {
                "-".into()
            },
        );
    }
    let footholds = by_foothold(r);
    if footholds.iter().any(|f| f.foothold != "entry") {
        m.push_str(FOOTHOLD_TABLE_INTRO);
        m.push_str("| policy | foothold | chains stopped | steps succeeded | attacks with an impact |\n");
        m.push_str("|---|---|---:|---:|---:|\n");
        for f in &footholds {
            let _ = writeln!(
                m,
                "| {} | {} | {} | {} | {} |",
                f.policy,
                f.foothold,
                pct(f.stopped, f.attacked),
                pct(f.steps_succeeded, f.steps),
                pct(f.impacted, f.attacked)
            );
        }
    }
    let curves = threshold_curves(&configurations(r));
    if !curves.is_empty() {
        m.push_str(THRESHOLD_TABLE_INTRO);
        m.push_str("| policy | detectors | anomaly threshold | analytic coverage | detected before impact | TTD median | false alarms /h |\n");
        m.push_str("|---|---|---:|---:|---:|---:|---:|\n");
        for c in &curves {
            for p in &c.points {
                let _ = writeln!(
                    m,
                    "| {} | {} | {} | {} | {} | {} | {} |",
                    c.policy,
                    c.detectors,
                    p.anomaly_threshold.unwrap_or_default(),
                    pct(p.steps_analytic, p.steps_run),
                    pct(p.detected_before_impact, p.impacted),
                    ttd(p.median_ttd_s),
                    num(p.false_alarms_per_h, 1),
                );
            }
        }
    }
    m.push_str("\n## Cells\n\nSteps: S succeeded, B blocked, F failed, - not reached.\n\n");
    m.push_str("| cell | steps | impacts | detections | alerts | expectations |\n");
    m.push_str("|---|---|---:|---|---:|---|\n");
    for c in &r.cells {
        let (impacts, detections, alerts, exp) = match &c.scores {
            None => (
                String::new(),
                String::new(),
                String::new(),
                format!("error: {}", c.error.as_deref().unwrap_or("")),
            ),
            Some(s) => (
                s.impacts.to_string(),
                s.steps
                    .iter()
                    .map(|st| st.detection.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                s.alerts.to_string(),
                if s.passed {
                    "ok".into()
                } else {
                    let n = s.expectations.iter().filter(|e| !e.passed).count();
                    format!("{n} failed")
                },
            ),
        };
        let _ = writeln!(
            m,
            "| `{}` | {} | {impacts} | {detections} | {alerts} | {exp} |",
            c.key,
            chain(c).replace('|', "\\|")
        );
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escapes_what_it_must() {
        assert_eq!(
            xml("a<b & \"c\" 'd'>\u{1}"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt; "
        );
    }
}
