//! The report of one run: a timeline of the key process variables with the attack's steps,
//! the alerts, the blocked frames and the impacts on the same time axis; the steps with
//! their detection; the alerts by detector; the HMIs' latency. Read from the run's own
//! outputs (results.json, events.jsonl, process.csv), nothing else.

use super::page::{Page, category_colour, row};
use super::svg::{Scale, Svg, fmt_num, ticks};
use anyhow::Context;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// What the timeline marks, read from events.jsonl.
#[derive(Default)]
pub struct Marks {
    /// (t_s, detector, signature, technique)
    pub alerts: Vec<(f64, String, String, Option<String>)>,
    /// (t_s, what)
    pub blocks: Vec<(f64, String)>,
    /// (t_s, technique, description, threshold, signal)
    pub impacts: Vec<(f64, String, String, f64, String)>,
    /// (t_s, what the operator did and why)
    pub operator_actions: Vec<(f64, String)>,
}

/// Reads the marks from a run's event log.
pub fn read_marks(path: &Path) -> anyhow::Result<Marks> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut m = Marks::default();
    for (i, line) in text.lines().enumerate() {
        let e: Value =
            serde_json::from_str(line).with_context(|| format!("{}:{}: not JSON", path.display(), i + 1))?;
        let t = e["t"].as_u64().unwrap_or(0) as f64 / 1e9;
        let s = |k: &str| e[k].as_str().unwrap_or_default().to_string();
        match e["event"].as_str() {
            Some("alert") => m.alerts.push((
                t,
                s("detector"),
                s("signature"),
                e["technique"].as_str().map(String::from),
            )),
            Some("frame_blocked") => m.blocks.push((
                t,
                format!(
                    "{} -> {} ({}) blocked at {} by {}",
                    s("src"),
                    s("dst"),
                    s("service"),
                    s("at"),
                    s("rule")
                ),
            )),
            Some("operator_action") => m.operator_actions.push((
                t,
                format!(
                    "{} operator: {} on {} (alarm \"{}\")",
                    s("hmi"),
                    s("action"),
                    s("device"),
                    s("alarm")
                ),
            )),
            Some("impact") => m.impacts.push((
                t,
                s("technique"),
                s("description"),
                e["threshold"].as_f64().unwrap_or(f64::NAN),
                s("signal"),
            )),
            Some("device_impact") => {
                m.impacts
                    .push((t, s("technique"), s("description"), f64::NAN, s("device")));
            }
            _ => {}
        }
    }
    Ok(m)
}

/// process.csv: the variable names and the rows.
pub fn read_trace(path: &Path) -> anyhow::Result<(Vec<String>, Vec<Vec<f64>>)> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut lines = text.lines();
    let head: Vec<String> = lines
        .next()
        .with_context(|| format!("{}: empty", path.display()))?
        .split(',')
        .skip(1)
        .map(String::from)
        .collect();
    let mut rows = Vec::new();
    for (i, l) in lines.enumerate() {
        let r: Result<Vec<f64>, _> = l.split(',').map(str::parse::<f64>).collect();
        rows.push(r.with_context(|| format!("{}:{}: not numbers", path.display(), i + 2))?);
    }
    Ok((head, rows))
}

const WIDTH: f64 = 1000.0;
const LEFT: f64 = 200.0;
const RIGHT: f64 = 20.0;
const LANE: f64 = 22.0;
const PANEL: f64 = 70.0;
const GAP: f64 = 14.0;

/// A step's outcome in words: a blocked step says where, by which rule and, when an
/// identity or MFA requirement stopped it, what it lacked.
fn outcome(s: &Value) -> String {
    let status = s["status"].as_str().unwrap_or("");
    let (Some(at), Some(rule)) = (s["blocked_at"].as_str(), s["rule"].as_str()) else {
        return status.to_string();
    };
    match s["why"].as_str() {
        Some(why) => format!("{status} at {at} by \"{rule}\": {why}"),
        None => format!("{status} at {at} by \"{rule}\""),
    }
}

/// Step colours by status.
fn status_colour(status: &str) -> &'static str {
    match status {
        "succeeded" => "#8250df",
        "blocked" => "#1f6feb",
        "failed" => "#6e7781",
        _ => "#bf8700",
    }
}

/// The timeline figure.
fn timeline(r: &Value, marks: &Marks, trace: &(Vec<String>, Vec<Vec<f64>>)) -> String {
    let duration = r["duration_s"].as_f64().unwrap_or(1.0).max(1.0);
    let (names, rows) = trace;
    let lanes_h = 4.0 * LANE + 10.0;
    let height = 20.0 + lanes_h + names.len() as f64 * (PANEL + GAP) + 30.0;
    let x = Scale {
        d0: 0.0,
        d1: duration,
        p0: LEFT,
        p1: WIDTH - RIGHT,
    };
    let mut s = Svg::new(WIDTH, height, "Timeline of the run");
    let top = 20.0;
    for (k, lane) in ["attack steps", "alerts", "blocked frames", "impacts"]
        .iter()
        .enumerate()
    {
        let y = top + k as f64 * LANE;
        s.text(LEFT - 8.0, y + 15.0, lane, "end", 12.0);
        s.line((LEFT, y + LANE), (WIDTH - RIGHT, y + LANE), "grid", "#eee", "");
    }
    for step in r["steps"].as_array().into_iter().flatten() {
        let Some(start) = step["started_s"].as_f64() else {
            continue;
        };
        let end = step["ended_s"].as_f64().unwrap_or(duration);
        let status = step["status"].as_str().unwrap_or("");
        let title = format!(
            "step {} {} ({}): {status} at {:.1} s, detection {}",
            step["step"],
            step["id"].as_str().unwrap_or(""),
            step["technique"].as_str().unwrap_or(""),
            start,
            step["detection"].as_str().unwrap_or("")
        );
        let (x0, x1) = (x.at(start), x.at(end));
        s.rect(
            (x0, top + 4.0),
            ((x1 - x0).max(3.0), LANE - 8.0),
            "mark step",
            status_colour(status),
            Some(&title),
        );
    }
    for (t, detector, signature, technique) in &marks.alerts {
        let title = format!(
            "{t:.1} s: {detector}: {signature}{}",
            technique
                .as_deref()
                .map(|t| format!(" ({t})"))
                .unwrap_or_default()
        );
        s.circle(
            x.at(*t),
            top + LANE + 11.0,
            3.5,
            "mark alert",
            "#d1242f",
            Some(&title),
        );
    }
    for (t, what) in &marks.blocks {
        let (cx, cy) = (x.at(*t), top + 2.0 * LANE + 11.0);
        s.rect(
            (cx - 3.0, cy - 3.0),
            (6.0, 6.0),
            "mark block",
            "#1f6feb",
            Some(&format!("{t:.1} s: {what}")),
        );
    }
    let panels_top = top + lanes_h;
    let bottom = panels_top + names.len() as f64 * (PANEL + GAP);
    for (t, technique, description, _, _) in &marks.impacts {
        let (cx, cy) = (x.at(*t), top + 3.0 * LANE + 11.0);
        s.polygon(
            &[(cx, cy - 7.0), (cx + 7.0, cy), (cx, cy + 7.0), (cx - 7.0, cy)],
            "mark impact",
            "#cf222e",
            Some(&format!("{t:.1} s: {technique}: {description}")),
        );
    }
    let bands: BTreeMap<&str, (f64, f64)> = r["process"]["bands"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|b| Some((b["signal"].as_str()?, (b["min"].as_f64()?, b["max"].as_f64()?))))
        .collect();
    for (k, name) in names.iter().enumerate() {
        let y0 = panels_top + k as f64 * (PANEL + GAP);
        let values: Vec<(f64, f64)> = rows.iter().filter_map(|r| Some((r[0], *r.get(k + 1)?))).collect();
        let mut lo = values.iter().map(|v| v.1).fold(f64::INFINITY, f64::min);
        let mut hi = values.iter().map(|v| v.1).fold(f64::NEG_INFINITY, f64::max);
        let band = bands.get(name.as_str()).copied();
        let limits: Vec<f64> = marks
            .impacts
            .iter()
            .filter(|i| i.4 == *name && i.3.is_finite())
            .map(|i| i.3)
            .collect();
        for v in band
            .iter()
            .flat_map(|(a, b)| [*a, *b])
            .chain(limits.iter().copied())
        {
            lo = lo.min(v);
            hi = hi.max(v);
        }
        if !lo.is_finite() {
            continue;
        }
        let pad = ((hi - lo) * 0.08).max(1e-6);
        let y = Scale {
            d0: lo - pad,
            d1: hi + pad,
            p0: y0 + PANEL,
            p1: y0,
        };
        s.text(LEFT - 8.0, y0 + PANEL / 2.0 + 4.0, name, "end", 12.0);
        s.rect(
            (LEFT, y0),
            (WIDTH - RIGHT - LEFT, PANEL),
            "panel",
            "#fafafa",
            None,
        );
        if let Some((a, b)) = band {
            let title = format!("{name}: normal band {} to {}", fmt_num(a), fmt_num(b));
            s.rect(
                (LEFT, y.at(b)),
                (WIDTH - RIGHT - LEFT, y.at(a) - y.at(b)),
                "band",
                "#dafbe1",
                Some(&title),
            );
        }
        for l in &limits {
            s.line(
                (LEFT, y.at(*l)),
                (WIDTH - RIGHT, y.at(*l)),
                "limit",
                "#cf222e",
                "5 3",
            );
        }
        for v in ticks(lo, hi, 2) {
            s.text(LEFT + 2.0, y.at(v) - 2.0, &fmt_num(v), "start", 9.0);
        }
        let pts: Vec<(f64, f64)> = values.iter().map(|(t, v)| (x.at(*t), y.at(*v))).collect();
        s.polyline(&pts, "series", "#0969da");
    }
    // Each impact's time, across every panel, drawn over them.
    for (t, ..) in &marks.impacts {
        let cx = x.at(*t);
        s.line(
            (cx, top + 3.0 * LANE + 18.0),
            (cx, bottom - GAP),
            "impact-line",
            "#cf222e",
            "4 3",
        );
    }
    for t in time_ticks(duration) {
        let px = x.at(t);
        s.line((px, bottom - GAP), (px, bottom - GAP + 4.0), "axis", "#555", "");
        s.text(px, bottom + 6.0, &fmt_duration(t), "middle", 11.0);
    }
    s.text(
        (LEFT + WIDTH - RIGHT) / 2.0,
        bottom + 24.0,
        "simulated time",
        "middle",
        12.0,
    );
    s.finish()
}

/// Ticks at round times (seconds, minutes, hours), about eight over the run.
fn time_ticks(duration: f64) -> Vec<f64> {
    const STEPS: [f64; 17] = [
        1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 10800.0,
        21600.0, 43200.0,
    ];
    let step = STEPS
        .iter()
        .copied()
        .find(|s| duration / s <= 8.0)
        .unwrap_or(86400.0);
    (0..=(duration / step).floor() as u64)
        .map(|k| k as f64 * step)
        .collect()
}

/// `90` -> `1m30s`, for time-axis labels.
fn fmt_duration(t: f64) -> String {
    let t = t.round() as u64;
    match (t / 3600, (t % 3600) / 60, t % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, 0, _) => format!("{h}h"),
        (h, m, _) => format!("{h}h{m}m"),
    }
}

/// report.html of a run directory.
pub fn html(dir: &Path) -> anyhow::Result<String> {
    let r: Value = super::read_json(&dir.join("results.json"))?;
    let marks = read_marks(&dir.join("events.jsonl"))?;
    let trace = read_trace(&dir.join("process.csv"))?;
    let title = format!("otrange run: {}", r["exercise"].as_str().unwrap_or(""));
    let mut page = Page::new(&title);
    page.p(&format!(
        "Plant {}, seed {}, {} simulated seconds from {}, policy {}{}. {} impacts, {} alerts, {} frames blocked.",
        r["plant"].as_str().unwrap_or(""),
        r["seed"],
        r["duration_s"],
        r["start"].as_str().unwrap_or(""),
        r["policy"].as_str().unwrap_or(""),
        r["foothold"]["host"]
            .as_str()
            .map(|h| format!(", the playbook started from {h}"))
            .unwrap_or_default(),
        marks.impacts.len(),
        marks.alerts.len(),
        marks.blocks.len()
    ));
    page.h2("Timeline");
    page.legend(&[
        ("step succeeded", status_colour("succeeded")),
        ("step blocked", status_colour("blocked")),
        ("step failed", status_colour("failed")),
        ("alert", "#d1242f"),
        ("blocked frame", "#1f6feb"),
        ("impact (and the limit crossed)", "#cf222e"),
        ("normal band", "#dafbe1"),
    ]);
    page.figure(
        timeline(&r, &marks, &trace),
        "The plant's watched process variables (process.csv) under the attack's steps, the detectors' alerts, the frames a policy blocked and the impacts. Hover over a mark for what it is.",
    );
    let steps = r["steps"].as_array().cloned().unwrap_or_default();
    if !steps.is_empty() {
        page.h2("Attack steps");
        let rows: Vec<Vec<(String, Option<&str>)>> = steps
            .iter()
            .map(|s| {
                let det = s["detection"].as_str().unwrap_or("none").to_string();
                let first = &s["detected_by"][0];
                vec![
                    (s["step"].to_string(), None),
                    (s["id"].as_str().unwrap_or("").to_string(), None),
                    (s["technique"].as_str().unwrap_or("").to_string(), None),
                    (outcome(s), None),
                    (det.clone(), Some(category_colour(&det))),
                    (
                        s["time_to_detect_s"]
                            .as_f64()
                            .map(|t| format!("{t:.3} s"))
                            .unwrap_or_default(),
                        None,
                    ),
                    (
                        first["detector"]
                            .as_str()
                            .map(|d| format!("{d} ({})", first["attributed_by"].as_str().unwrap_or("")))
                            .unwrap_or_default(),
                        None,
                    ),
                ]
            })
            .collect();
        page.table(
            &[
                "step",
                "id",
                "technique",
                "outcome",
                "detection",
                "time to detect",
                "first detector (attributed by)",
            ],
            &rows,
        );
    }
    page.h2("Alerts by detector");
    let mut by: BTreeMap<&str, (usize, f64, BTreeMap<&str, usize>)> = BTreeMap::new();
    for (t, d, sig, _) in &marks.alerts {
        let e = by.entry(d.as_str()).or_insert((0, *t, BTreeMap::new()));
        e.0 += 1;
        *e.2.entry(sig.as_str()).or_default() += 1;
    }
    if by.is_empty() {
        page.p("No alerts.");
    } else {
        let rows: Vec<_> = by
            .iter()
            .map(|(d, (n, first, sigs))| {
                let mut sigs: Vec<(&&str, &usize)> = sigs.iter().collect();
                sigs.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
                let top: Vec<String> = sigs.iter().take(3).map(|(s, n)| format!("{n} x {s}")).collect();
                row(vec![
                    d.to_string(),
                    n.to_string(),
                    format!("{first:.1} s"),
                    top.join("; "),
                ])
            })
            .collect();
        page.table(
            &["detector", "alerts", "first", "most frequent signatures"],
            &rows,
        );
    }
    let evidence = super::nis2::evidence(&r, &marks, &marks.operator_actions);
    super::nis2::html_section(&mut page, "run", &evidence);
    page.h2("HMI poll latency");
    let rows: Vec<_> = r["hmis"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|h| {
            let l = &h["latency"];
            let ms = |k: &str| format!("{:.1}", l[k].as_f64().unwrap_or(0.0));
            row(vec![
                h["name"].as_str().unwrap_or("").to_string(),
                h["polls"].to_string(),
                ms("p50_ms"),
                ms("p99_ms"),
                ms("max_ms"),
                h["timeouts"].to_string(),
            ])
        })
        .collect();
    page.table(&["HMI", "polls", "p50 ms", "p99 ms", "max ms", "timeouts"], &rows);
    Ok(page.finish(&title))
}
