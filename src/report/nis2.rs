//! nis2.md: what a run measured, filed under the risk-management measures of NIS2 (Directive
//! (EU) 2022/2555) Article 21(2), letter by letter, and under Article 23's reporting
//! deadlines, impact by impact. A letter the run has no evidence for is listed as such and
//! never filled in: the file is evidence, not a compliance claim.

use super::run::Marks;
use otrange_sim::base::wallclock::{eve_timestamp, parse_rfc3339};
use serde_json::Value;
use std::fmt::Write as _;

/// Article 21(2)'s letters, as the Directive names them (shortened).
const MEASURES: [(char, &str); 10] = [
    ('a', "policies on risk analysis and information system security"),
    ('b', "incident handling"),
    (
        'c',
        "business continuity, backup management, disaster recovery and crisis management",
    ),
    ('d', "supply chain security"),
    (
        'e',
        "security in acquisition, development and maintenance, including vulnerability handling",
    ),
    (
        'f',
        "policies and procedures to assess the effectiveness of cybersecurity risk-management measures",
    ),
    ('g', "basic cyber hygiene practices and cybersecurity training"),
    ('h', "cryptography and encryption"),
    (
        'i',
        "human resources security, access control policies and asset management",
    ),
    ('j', "multi-factor authentication, secured communications"),
];

/// Article 23(4): an early warning within 24 hours of becoming aware, a notification
/// within 72 hours.
const EARLY_WARNING_S: f64 = 24.0 * 3600.0;
const NOTIFICATION_S: f64 = 72.0 * 3600.0;

/// One letter's evidence: lines of text, or none.
pub struct Letter {
    /// `a` to `j`.
    pub letter: char,
    /// The measure's name.
    pub measure: &'static str,
    /// What the run measured for it; empty when it has no evidence.
    pub evidence: Vec<String>,
}

/// The evidence of one run.
pub struct Evidence {
    /// Article 21(2), a to j.
    pub letters: Vec<Letter>,
    /// Article 23, one paragraph per impact.
    pub reporting: Vec<String>,
}

/// Article 21(2)'s letters with no evidence yet.
pub(crate) fn blank_letters() -> Vec<Letter> {
    MEASURES
        .iter()
        .map(|(letter, measure)| Letter {
            letter: *letter,
            measure,
            evidence: Vec::new(),
        })
        .collect()
}

/// A moment of the run: seconds into it, and the calendar time (the run's start plus them).
fn when(start_ns: u64, t_s: f64) -> String {
    format!("{t_s:.1} s into the run ({})", calendar(start_ns, t_s))
}

/// The calendar time `t_s` into the run.
fn calendar(start_ns: u64, t_s: f64) -> String {
    let ts = eve_timestamp(start_ns + (t_s.max(0.0) * 1e9) as u64);
    format!("{} UTC", ts[..19].replace('T', " "))
}

fn dur(s: f64) -> String {
    if s < 1.0 {
        format!("{:.1} ms", s * 1e3)
    } else if s < 60.0 {
        format!("{s:.1} s")
    } else if s < 7200.0 {
        format!("{:.1} min ({s:.1} s)", s / 60.0)
    } else {
        format!("{:.1} h", s / 3600.0)
    }
}

/// What a run's results and events show, letter by letter.
pub fn evidence(r: &Value, marks: &Marks, operator_actions: &[(f64, String)]) -> Evidence {
    let start_ns = r["start"]
        .as_str()
        .and_then(|s| parse_rfc3339(s).ok())
        .unwrap_or(0);
    let steps: Vec<&Value> = r["steps"].as_array().into_iter().flatten().collect();
    let ran: Vec<&&Value> = steps.iter().filter(|s| !s["started_s"].is_null()).collect();
    let watched = r["taps"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|t| t["summary"].get("detector").is_some());
    let mut letters = blank_letters();
    let mut say = |letter: char, line: String| {
        if let Some(l) = letters.iter_mut().find(|l| l.letter == letter) {
            l.evidence.push(line);
        }
    };

    // (b) Incident handling: could the attack be seen, and how fast.
    if !ran.is_empty() {
        let analytic = ran
            .iter()
            .filter(|s| matches!(s["detection"].as_str(), Some("general" | "tactic" | "technique")))
            .count();
        let telemetry = ran.iter().filter(|s| s["detection"] == "telemetry").count();
        say(
            'b',
            format!(
                "Detection coverage: {analytic} of the {} attack steps that ran were detected by an alert, {telemetry} more were only in a sensor's telemetry{}.",
                ran.len(),
                if watched {
                    ""
                } else {
                    " (no detector watched this run)"
                }
            ),
        );
        for s in &ran {
            let detected = match (
                s["time_to_detect_s"].as_f64(),
                s["detected_by"][0]["detector"].as_str(),
            ) {
                (Some(t), Some(d)) => format!(
                    "detected ({}) after {} by {d}",
                    s["detection"].as_str().unwrap_or(""),
                    dur(t)
                ),
                _ => format!("not detected ({})", s["detection"].as_str().unwrap_or("none")),
            };
            say(
                'b',
                format!(
                    "Step {} {} ({}), {}: {detected}.",
                    s["step"],
                    s["id"].as_str().unwrap_or(""),
                    s["technique"].as_str().unwrap_or(""),
                    s["status"].as_str().unwrap_or("")
                ),
            );
        }
    }

    // (c) Business continuity: what the process lost, and what the procedures did.
    let first_step = ran
        .iter()
        .filter_map(|s| s["started_s"].as_f64())
        .fold(f64::INFINITY, f64::min);
    if marks.impacts.is_empty() {
        if !ran.is_empty() {
            say('c', "No impact: the process stayed within its limits.".into());
        }
    } else {
        for (t, technique, description, _, _) in &marks.impacts {
            let after = if first_step.is_finite() {
                format!(", {} after the attack's first step", dur(t - first_step))
            } else {
                String::new()
            };
            say(
                'c',
                format!(
                    "Impact {technique} at {}{after}: {description}.",
                    when(start_ns, *t)
                ),
            );
        }
    }
    for (t, what) in operator_actions {
        say(
            'c',
            format!("Operator procedure at {}: {what}.", when(start_ns, *t)),
        );
    }
    for b in r["process"]["bands"].as_array().into_iter().flatten() {
        let out = b["seconds_outside"].as_f64().unwrap_or(0.0);
        if out > 0.0 {
            say(
                'c',
                format!(
                    "{} was outside its normal band for {}.",
                    b["signal"].as_str().unwrap_or(""),
                    dur(out)
                ),
            );
        }
    }

    // (d) Supply chain: the steps that came through remote-access and supplier paths.
    for s in ran
        .iter()
        .filter(|s| matches!(s["technique"].as_str(), Some("T0822" | "T0862")))
    {
        say(
            'd',
            format!(
                "Step {} {} ({} into {}): {}{}.",
                s["step"],
                s["id"].as_str().unwrap_or(""),
                s["technique_name"].as_str().unwrap_or(""),
                s["target"].as_str().unwrap_or("-"),
                s["status"].as_str().unwrap_or(""),
                s["rule"]
                    .as_str()
                    .map(|r| format!(" by rule \"{r}\""))
                    .unwrap_or_default()
            ),
        );
    }
    if let Some(h) = r["foothold"]["host"].as_str() {
        say(
            'd',
            format!(
                "The attack started inside, from {h} (assume breach): the steps that got in were not played."
            ),
        );
    }

    // (f) Assessing effectiveness: the run is a repeatable test of the measures.
    let exp = r["expectations"].as_array().cloned().unwrap_or_default();
    let held = exp.iter().filter(|e| e["passed"] == true).count();
    say(
        'f',
        format!(
            "This run is a repeatable test: exercise \"{}\", seed {}, starting {}, policy {}; the same inputs give the same bytes. {held} of its {} expectations held.",
            r["exercise"].as_str().unwrap_or(""),
            r["seed"],
            r["start"].as_str().unwrap_or(""),
            r["policy"].as_str().unwrap_or(""),
            exp.len()
        ),
    );
    for e in exp.iter().filter(|e| e["passed"] == false) {
        say(
            'f',
            format!(
                "Expectation {} failed: expected {}, measured {}.",
                e["name"].as_str().unwrap_or(""),
                e["expected"].as_str().unwrap_or(""),
                e["actual"].as_str().unwrap_or("")
            ),
        );
    }

    // (i) Access control and asset management.
    let ps = &r["policy_summary"];
    if !ps.is_null() {
        say(
            'i',
            format!(
                "Policy \"{}\": {} decisions, {} denied; {} legitimate frames blocked.",
                r["policy"].as_str().unwrap_or(""),
                ps["decisions"],
                ps["denied"],
                r["network"]["blocked_legitimate"]
            ),
        );
        for rule in ps["rules"].as_array().into_iter().flatten() {
            if rule["action"] == "deny" && rule["hits"].as_u64().unwrap_or(0) > 0 {
                say(
                    'i',
                    format!(
                        "Denials by rule \"{}\": {}.",
                        rule["name"].as_str().unwrap_or(""),
                        rule["hits"]
                    ),
                );
            }
        }
    }
    for t in r["taps"].as_array().into_iter().flatten() {
        let f = &t["summary"]["figures"];
        if let Some(c) = f["coverage_percent"].as_f64() {
            let list = |k: &str| {
                let v: Vec<&str> = f[k]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|h| h.as_str())
                    .collect();
                if v.is_empty() {
                    "none".to_string()
                } else {
                    v.join(", ")
                }
            };
            say(
                'i',
                format!(
                    "Passive asset discovery ({}): {c:.0} % of the declared assets seen; never seen: {}; seen but not declared: {}.",
                    t["name"].as_str().unwrap_or(""),
                    list("missing"),
                    list("unknown")
                ),
            );
        }
    }

    let reg = &r["asset_register"];
    if !reg.is_null() {
        let refs = |k: &str| {
            let v: Vec<String> = reg[k]
                .as_array()
                .into_iter()
                .flatten()
                .map(|a| match a["name"].as_str() {
                    Some(n) => format!("{n} ({})", a["address"].as_str().unwrap_or("")),
                    None => a["address"].as_str().unwrap_or("").to_string(),
                })
                .collect();
            if v.is_empty() {
                "none".to_string()
            } else {
                v.join(", ")
            }
        };
        say(
            'i',
            format!(
                "Asset register {}: {} of {} registered assets seen; registered but never seen: {}; seen but not registered: {}.",
                reg["file"].as_str().unwrap_or(""),
                reg["registered_seen"],
                reg["registered"],
                refs("not_seen"),
                refs("not_registered")
            ),
        );
        for m in reg["identity_mismatches"].as_array().into_iter().flatten() {
            say(
                'i',
                format!(
                    "Identity mismatch: {} ({}) {}: registered \"{}\", the device reports \"{}\".",
                    m["name"].as_str().unwrap_or(""),
                    m["address"].as_str().unwrap_or(""),
                    m["field"].as_str().unwrap_or(""),
                    m["registered"].as_str().unwrap_or(""),
                    m["observed"].as_str().unwrap_or("")
                ),
            );
        }
    }

    // (j) Multi-factor authentication: what identity-aware rules denied, and the steps an
    // MFA or identity requirement stopped (the policy names what a denied frame lacked).
    let idd = &ps["identity_denials"];
    if idd.is_object() {
        say(
            'j',
            format!(
                "Policy \"{}\" grants some flows to named identities with MFA: it denied {} frames for want of a second factor, {} from a user its rules do not name, {} with nobody signed in on the source.",
                r["policy"].as_str().unwrap_or(""),
                idd["mfa"],
                idd["user"],
                idd["nobody"]
            ),
        );
        for s in r["steps"].as_array().into_iter().flatten() {
            if let Some(why) = s["why"].as_str() {
                say(
                    'j',
                    format!(
                        "Step {} ({} {}, \"{}\") stopped at {}: {why}.",
                        s["step"],
                        s["technique"].as_str().unwrap_or(""),
                        s["technique_name"].as_str().unwrap_or(""),
                        s["id"].as_str().unwrap_or(""),
                        s["blocked_at"].as_str().unwrap_or("")
                    ),
                );
            }
        }
    }

    // Article 23: when the entity could have become aware, and its deadlines from then.
    let reporting = marks
        .impacts
        .iter()
        .map(|(t, technique, _, _, _)| {
            let before = marks.alerts.iter().find(|a| a.0 <= *t);
            match before {
                Some((ta, detector, signature, _)) => format!(
                    "Impact {technique} at {}: the first alert came {} before it, at {} ({detector}: \"{signature}\"), when the entity could have become aware. Early warning due by {} (24 h), incident notification by {} (72 h).",
                    when(start_ns, *t),
                    dur(t - ta),
                    when(start_ns, *ta),
                    calendar(start_ns, ta + EARLY_WARNING_S),
                    calendar(start_ns, ta + NOTIFICATION_S)
                ),
                None => {
                    let after = marks.alerts.iter().find(|a| a.0 > *t);
                    format!(
                        "Impact {technique} at {}: UNKNOWN TO THE ENTITY: no alert came before it{}.",
                        when(start_ns, *t),
                        after
                            .map(|a| format!("; the first alert came {} after it ({}: \"{}\")", dur(a.0 - t), a.1, a.2))
                            .unwrap_or_else(|| ", nor after it".into())
                    )
                }
            }
        })
        .collect();
    Evidence { letters, reporting }
}

/// nis2.md.
pub fn markdown(title: &str, e: &Evidence) -> String {
    markdown_of("run", title, e)
}

/// The evidence as a section of report.html, for a run or a sweep (`what`).
pub(crate) fn html_section(page: &mut super::page::Page, what: &str, e: &Evidence) {
    page.h2("NIS2 evidence");
    page.p(&format!(
        "What this {what} measured under NIS2 Article 21(2) and Article 23 (also in nis2.md); a measure without evidence says so."
    ));
    for l in &e.letters {
        let head = format!("Article 21(2)({}) {}", l.letter, l.measure);
        if l.evidence.is_empty() {
            page.list(&head, &[format!("No evidence in this {what}.")]);
        } else {
            page.list(&head, &l.evidence);
        }
    }
    if !e.reporting.is_empty() {
        page.list("Article 23: reporting", &e.reporting);
    }
}

/// nis2.md of a run or a sweep (`what`).
pub(crate) fn markdown_of(what: &str, title: &str, e: &Evidence) -> String {
    let mut m = String::new();
    let _ = writeln!(m, "# NIS2 evidence: {title}\n");
    let _ = write!(
        m,
        "What this {what} measured, filed under the cybersecurity risk-management measures of NIS2 \
         (Directive (EU) 2022/2555) Article 21(2) and the reporting obligations of Article 23. \
         Evidence from a simulated exercise, not a compliance statement; a measure the {what} has \
         no evidence for says so.\n\n## Article 21(2)\n\n",
    );
    for l in &e.letters {
        let _ = writeln!(m, "### ({}) {}\n", l.letter, l.measure);
        if l.evidence.is_empty() {
            let _ = write!(m, "No evidence in this {what}.\n\n");
        } else {
            for line in &l.evidence {
                let _ = writeln!(m, "- {line}");
            }
            m.push('\n');
        }
    }
    m.push_str("## Article 23: reporting\n\n");
    if e.reporting.is_empty() {
        m.push_str("No impact: nothing to report.\n");
    }
    for p in &e.reporting {
        let _ = writeln!(m, "- {p}");
    }
    m
}
