//! What a sweep tells CI and people: `junit.xml` (one test case per expectation per cell,
//! which GitHub Actions and GitLab display) and `report.md` (the comparison as
//! GitHub-flavoured tables, for a pull-request comment).

use super::SweepResult;
use super::cell::CellResult;
use std::fmt::Write as _;

/// One defence configuration (policy x detector set), summed over its cells.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConfigRow {
    /// The policy's label.
    pub policy: String,
    /// The detector set's label.
    pub detectors: String,
    /// Cells that ran.
    pub cells: usize,
    /// Cells with a playbook.
    pub attacked: usize,
    /// Attacked cells whose chain did not complete.
    pub chains_stopped: usize,
    /// Impacts over the cells.
    pub impacts: u64,
    /// Playbook steps over the cells.
    pub steps: usize,
    /// Steps with a detection of any category.
    pub steps_detected: usize,
    /// Detector alerts over the cells.
    pub alerts: u64,
    /// Frames blocked that no attacker sent.
    pub blocked_legitimate: u64,
    /// The worst HMI p99 poll latency over the cells, ms.
    pub worst_hmi_p99_ms: f64,
}

/// The configurations in the order they first appear in the sweep (its axis order).
pub fn configurations(r: &SweepResult) -> Vec<ConfigRow> {
    let mut rows: Vec<ConfigRow> = Vec::new();
    for c in &r.cells {
        let Some(s) = &c.scores else { continue };
        let i = match rows
            .iter()
            .position(|row| row.policy == c.policy && row.detectors == c.detectors)
        {
            Some(i) => i,
            None => {
                rows.push(ConfigRow {
                    policy: c.policy.clone(),
                    detectors: c.detectors.clone(),
                    ..ConfigRow::default()
                });
                rows.len() - 1
            }
        };
        let row = &mut rows[i];
        row.cells += 1;
        if !s.steps.is_empty() {
            row.attacked += 1;
            row.chains_stopped += usize::from(!s.chain_completed);
        }
        row.impacts += s.impacts;
        row.steps += s.steps.len();
        row.steps_detected += s.steps.iter().filter(|st| st.detection != "none").count();
        row.alerts += s.alerts;
        row.blocked_legitimate += s.blocked_legitimate;
        row.worst_hmi_p99_ms = row.worst_hmi_p99_ms.max(s.hmi_p99_ms);
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

/// report.md: the per-configuration table, then every cell.
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
    m.push_str("## Defence configurations\n\n");
    m.push_str("| policy | detectors | cells | chains stopped | impacts | steps detected | alerts | legitimate frames blocked | worst HMI p99 ms |\n");
    m.push_str("|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for c in configurations(r) {
        let _ = writeln!(
            m,
            "| {} | {} | {} | {}/{} | {} | {}/{} | {} | {} | {:.1} |",
            c.policy,
            c.detectors,
            c.cells,
            c.chains_stopped,
            c.attacked,
            c.impacts,
            c.steps_detected,
            c.steps,
            c.alerts,
            c.blocked_legitimate,
            c.worst_hmi_p99_ms
        );
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
