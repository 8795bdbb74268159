//! The report of a sweep: the defence configurations ranked, a heatmap of technique x
//! configuration coloured by the best detection, and what each configuration costs in
//! benign operation. Read from sweep.json alone.

use super::navigator::{self, Seen};
use super::page::{CATEGORY_COLOURS, Page, row};
use super::svg::{Scale, Svg, fmt_num, ticks};
use crate::sweep::SweepResult;
use crate::sweep::report::{ConfigRow, ThresholdCurve, configurations, threshold_curves};
use std::collections::BTreeMap;

/// Per configuration label, per technique: what its attack cells did with it.
pub fn coverage(r: &SweepResult, rows: &[ConfigRow]) -> Vec<(String, BTreeMap<String, Seen>)> {
    rows.iter()
        .map(|c| {
            let mut techniques = BTreeMap::new();
            for cell in r
                .cells
                .iter()
                .filter(|x| x.kind == "attack" && x.policy == c.policy && x.detectors == c.detectors)
            {
                let Some(s) = &cell.scores else { continue };
                for st in s.steps.iter().filter(|st| st.status != "not_reached") {
                    let by: Vec<String> = st.detected_by.iter().cloned().collect();
                    navigator::add(&mut techniques, &st.technique, &st.detection, &by);
                }
            }
            (label(c), techniques)
        })
        .collect()
}

/// `policy / detectors`.
pub fn label(c: &ConfigRow) -> String {
    format!("{} / {}", c.policy, c.detectors)
}

const CELL_W: f64 = 34.0;
const CELL_H: f64 = 18.0;

/// Technique rows x configuration columns, each cell the best detection category.
fn heatmap(cov: &[(String, BTreeMap<String, Seen>)]) -> String {
    let mut techniques: Vec<&String> = cov.iter().flat_map(|(_, t)| t.keys()).collect();
    techniques.sort();
    techniques.dedup();
    let left = 70.0;
    let top = 150.0;
    // Room on the right for the last column's slanted label.
    let w = left + cov.len() as f64 * CELL_W + 150.0;
    let h = top + techniques.len() as f64 * CELL_H + 10.0;
    let mut s = Svg::new(w, h, "Best detection per technique and defence configuration");
    for (j, (name, _)) in cov.iter().enumerate() {
        let x = left + j as f64 * CELL_W + CELL_W / 2.0;
        // Column labels slanted upwards, to fit over narrow columns.
        s.text_rotated(x + 4.0, top - 6.0, &format!("{}. {name}", j + 1), -60.0, 10.0);
    }
    for (i, t) in techniques.iter().enumerate() {
        let y = top + i as f64 * CELL_H;
        s.text(left - 6.0, y + 13.0, t, "end", 11.0);
        for (j, (name, seen)) in cov.iter().enumerate() {
            let x = left + j as f64 * CELL_W;
            match seen.get(*t) {
                Some(v) => {
                    let (cat, colour) = CATEGORY_COLOURS[v.score];
                    let title = format!("{t} under {name}: {cat} (best of {} step runs)", v.steps);
                    s.rect(
                        (x + 1.0, y + 1.0),
                        (CELL_W - 2.0, CELL_H - 2.0),
                        "cell",
                        colour,
                        Some(&title),
                    );
                }
                None => {
                    let title = format!("{t} under {name}: never ran (the chain was stopped before it)");
                    s.rect(
                        (x + 1.0, y + 1.0),
                        (CELL_W - 2.0, CELL_H - 2.0),
                        "cell not-run",
                        "#eeeeee",
                        Some(&title),
                    );
                }
            }
        }
    }
    s.finish()
}

/// Horizontal bars, one per configuration.
fn bars(
    rows: &[ConfigRow],
    label_of: &str,
    value: impl Fn(&ConfigRow) -> Option<f64>,
    colour: &str,
) -> String {
    let left = 260.0;
    let width = 760.0;
    let bar_h = 16.0;
    let h = 30.0 + rows.len() as f64 * (bar_h + 4.0);
    let max = rows.iter().filter_map(&value).fold(0.0, f64::max).max(1e-9);
    let mut s = Svg::new(width, h, label_of);
    for (i, c) in rows.iter().enumerate() {
        let y = 10.0 + i as f64 * (bar_h + 4.0);
        s.text(
            left - 6.0,
            y + 12.0,
            &format!("{}. {}", c.rank, label(c)),
            "end",
            11.0,
        );
        let v = value(c);
        let len = v.map_or(0.0, |v| v / max * (width - left - 80.0));
        let title = format!("{}: {label_of} {}", label(c), v.map_or("-".into(), fmt_num));
        s.rect((left, y), (len.max(1.0), bar_h), "bar", colour, Some(&title));
        s.text(
            left + len + 4.0,
            y + 12.0,
            &v.map_or("-".into(), fmt_num),
            "start",
            11.0,
        );
    }
    s.finish()
}

/// Colours of the threshold curves, in order (cycled).
const CURVE_COLOURS: [&str; 6] = ["#1f6feb", "#d1242f", "#1a7f37", "#8250df", "#bf8700", "#57606a"];

/// The share of steps an alert counted for, in percent.
fn analytic_pct(c: &ConfigRow) -> f64 {
    if c.steps_run == 0 {
        0.0
    } else {
        100.0 * c.steps_analytic as f64 / c.steps_run as f64
    }
}

/// Analytic coverage against false alarms per hour, one line per policy and detector set
/// through its thresholds. False alarms span decades, so the x axis is logarithmic; a
/// threshold with no false alarm at all sits on the left edge, marked 0.
fn threshold_chart(curves: &[ThresholdCurve]) -> String {
    let (w, h) = (760.0, 380.0);
    let (left, right, top, bottom) = (60.0, 20.0, 14.0, 46.0);
    let fa: Vec<f64> = curves
        .iter()
        .flat_map(|c| c.points.iter().filter_map(|p| p.false_alarms_per_h))
        .collect();
    let lo = fa
        .iter()
        .copied()
        .filter(|v| *v > 0.0)
        .fold(f64::INFINITY, f64::min)
        .min(1.0)
        .log10()
        .floor();
    let hi = fa
        .iter()
        .copied()
        .fold(1.0, f64::max)
        .log10()
        .ceil()
        .max(lo + 1.0);
    // Half a decade left of the lowest for the zero column.
    let zero = lo - 0.5;
    let x = Scale {
        d0: zero,
        d1: hi,
        p0: left,
        p1: w - right,
    };
    let y = Scale {
        d0: 0.0,
        d1: 100.0,
        p0: h - bottom,
        p1: top,
    };
    let xpos = |v: f64| x.at(if v > 0.0 { v.log10() } else { zero });
    let mut s = Svg::new(
        w,
        h,
        "anomaly threshold: analytic coverage against false alarms per hour",
    );
    for t in ticks(0.0, 100.0, 5) {
        s.line((left, y.at(t)), (w - right, y.at(t)), "grid", "#e5e5e5", "");
        s.text(left - 6.0, y.at(t) + 4.0, &format!("{t:.0} %"), "end", 11.0);
    }
    s.line((x.at(zero), top), (x.at(zero), h - bottom), "grid", "#e5e5e5", "");
    s.text(x.at(zero), h - bottom + 16.0, "0", "middle", 11.0);
    let mut k = lo;
    while k <= hi + 1e-9 {
        s.line((x.at(k), top), (x.at(k), h - bottom), "grid", "#e5e5e5", "");
        s.text(
            x.at(k),
            h - bottom + 16.0,
            &fmt_num(10f64.powf(k)),
            "middle",
            11.0,
        );
        k += 1.0;
    }
    s.text(
        (left + w - right) / 2.0,
        h - 8.0,
        "false alarms per hour of benign operation (log scale)",
        "middle",
        12.0,
    );
    s.text_rotated(
        14.0,
        (top + h - bottom) / 2.0 + 70.0,
        "steps with an alert (analytic coverage)",
        -90.0,
        12.0,
    );
    for (i, c) in curves.iter().enumerate() {
        let colour = CURVE_COLOURS[i % CURVE_COLOURS.len()];
        let pts: Vec<(f64, f64, &ConfigRow)> = c
            .points
            .iter()
            .filter_map(|p| Some((xpos(p.false_alarms_per_h?), y.at(analytic_pct(p)), p)))
            .collect();
        s.polyline(
            &pts.iter().map(|(x, y, _)| (*x, *y)).collect::<Vec<_>>(),
            "curve",
            colour,
        );
        for (px, py, p) in &pts {
            let t = p.anomaly_threshold.unwrap_or_default();
            let title = format!(
                "{} / {} at threshold {t}: {:.0} % of steps with an alert ({}/{}), {} false alarms per hour",
                c.policy,
                c.detectors,
                analytic_pct(p),
                p.steps_analytic,
                p.steps_run,
                fmt_num(p.false_alarms_per_h.unwrap_or_default())
            );
            s.circle(*px, *py, 4.0, "mark threshold", colour, Some(&title));
            s.text(px + 6.0, py - 6.0, &fmt_num(t), "start", 10.0);
        }
    }
    s.finish()
}

/// report.html of a sweep.
pub fn html(r: &SweepResult, nis2: &super::nis2::Evidence) -> String {
    let rows = configurations(r);
    let title = format!("otrange sweep: {}", r.name);
    let mut page = Page::new(&title);
    let (failed, unmet) = r.failures();
    page.p(&format!(
        "{} of {} cells; {failed} failed to run, {unmet} missed an expectation.",
        r.cells.len(),
        r.cells_total
    ));
    page.h2("Defence configurations, ranked");
    page.p("Ranked by protection (attacks that reached an impact, then chains stopped), then sight (analytic coverage, then visibility), then cost (false alarms, legitimate frames blocked, latency). Costs come from the benign baselines.");
    let pct = |a: usize, b: usize| {
        if b == 0 {
            "-".to_string()
        } else {
            format!("{:.0} %", 100.0 * a as f64 / b as f64)
        }
    };
    let opt = |v: Option<f64>| v.map_or("-".to_string(), |x| format!("{x:.1}"));
    let table: Vec<_> = rows
        .iter()
        .map(|c| {
            row(vec![
                c.rank.to_string(),
                c.policy.clone(),
                c.detectors.clone(),
                format!("{}/{}", c.chains_stopped, c.attacked),
                format!("{}/{}", c.prevented, c.preventable),
                pct(c.steps_visible, c.steps_run),
                pct(c.steps_analytic, c.steps_run),
                opt(c.false_alarms_per_h),
                opt(c.blocked_legitimate_per_h),
                opt(c.hmi_p99_ms),
            ])
        })
        .collect();
    page.table(
        &[
            "rank",
            "policy",
            "detectors",
            "chains stopped",
            "impacts prevented",
            "visibility",
            "analytic coverage",
            "false alarms /h",
            "legit blocked /h",
            "HMI p99 ms",
        ],
        &table,
    );
    page.h2("Detection per technique");
    page.legend(
        &CATEGORY_COLOURS
            .iter()
            .map(|(n, c)| (*n, *c))
            .chain([("never ran", "#eeeeee")])
            .collect::<Vec<_>>(),
    );
    let cov = coverage(r, &rows);
    page.figure(
        heatmap(&cov),
        "Each cell: the best detection of the technique's steps over the configuration's attack cells (columns in rank order). Grey: the technique never ran, because the configuration stopped the chains before it.",
    );
    page.h2("Threat groups");
    page.p("For each ATT&CK for ICS group with techniques in MITRE's data: how many of its techniques otrange can execute, and, per configuration, how many of them the sweep's attacks ran and an alert detected (general, tactic or technique). A group's techniques the playbooks never use are not tested here.");
    let groups: Vec<&otrange_attacks::catalogue::Group> = otrange_attacks::catalogue::groups()
        .iter()
        .filter(|g| !g.techniques.is_empty())
        .collect();
    let mut head: Vec<String> = vec!["configuration".into()];
    head.extend(groups.iter().map(|g| {
        format!(
            "{} ({} of {} executable)",
            g.name,
            g.executable(otrange_attacks::techniques::has_executor),
            g.techniques.len()
        )
    }));
    let head_refs: Vec<&str> = head.iter().map(String::as_str).collect();
    let table: Vec<_> = cov
        .iter()
        .map(|(name, seen)| {
            let mut cells = vec![name.clone()];
            cells.extend(groups.iter().map(|g| {
                let detected = g
                    .techniques
                    .iter()
                    .filter(|t| {
                        seen.get(**t)
                            .is_some_and(|s| s.score >= navigator::score("general"))
                    })
                    .count();
                let ran = g.techniques.iter().filter(|t| seen.contains_key(**t)).count();
                format!("{detected} detected of {ran} run")
            }));
            row(cells)
        })
        .collect();
    page.table(&head_refs, &table);
    let curves = threshold_curves(&rows);
    if !curves.is_empty() {
        page.h2("Anomaly detector thresholds: detection against false alarms");
        page.p("Each line is one policy and detector set with its anomaly detectors at each of the sweep's thresholds (the number by each point): a lower threshold puts an alert on more of the attacks' steps, and raises more false alarms in benign operation.");
        page.legend(
            &curves
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    (
                        format!("{} / {}", c.policy, c.detectors),
                        CURVE_COLOURS[i % CURVE_COLOURS.len()],
                    )
                })
                .collect::<Vec<_>>()
                .iter()
                .map(|(n, c)| (n.as_str(), *c))
                .collect::<Vec<_>>(),
        );
        page.figure(
            threshold_chart(&curves),
            "Analytic coverage (steps an alert counted for, over the attack cells) against false alarms per hour (alerts in the benign baselines).",
        );
    }
    super::nis2::html_section(&mut page, "sweep", nis2);
    page.h2("What each configuration costs in benign operation");
    page.figure(
        bars(
            &rows,
            "false alarms per hour",
            |c| c.false_alarms_per_h,
            "#d1242f",
        ),
        "Alerts per hour of benign operation: every one a false alarm.",
    );
    page.figure(
        bars(
            &rows,
            "legitimate frames blocked per hour",
            |c| c.blocked_legitimate_per_h,
            "#1f6feb",
        ),
        "Frames no attacker sent that the policy blocked, per hour of benign operation.",
    );
    page.figure(
        bars(&rows, "HMI p99 poll latency, ms", |c| c.hmi_p99_ms, "#8250df"),
        "The worst HMI's 99th-percentile poll latency in benign operation.",
    );
    page.finish(&title)
}
