//! results.json: what a run produced, deterministic (no wall-clock values) and versioned,
//! so CI can diff two runs byte for byte and tools can read it without guessing.

use crate::scenario::{Exercise, Expectations};
use otrange_sim::base::stats::LatencySummary;
use otrange_sim::devices::ews::EngineeringWorkstation;
use otrange_sim::devices::historian::Historian;
use otrange_sim::devices::hmi::Hmi;
use otrange_sim::devices::host::HostRef;
use otrange_sim::devices::plc::Plc;
use otrange_sim::devices::traffic::{FlowServer, TrafficSource};
use otrange_sim::net::NetStats;
use otrange_sim::process::BandStats;
use otrange_sim::process::state::ProcessState;
use otrange_sim::{Sim, SimDuration};
use serde::Serialize;

/// Bumped whenever a field changes meaning or disappears.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Serialize)]
pub struct Results {
    pub schema_version: u32,
    pub exercise: String,
    pub plant: String,
    pub seed: u64,
    pub duration_s: f64,
    pub policy: String,
    /// The policy's own account: decisions, denials, hits per rule (null without a policy).
    pub policy_summary: serde_json::Value,
    /// Ticks the world ran: a measure of simulation work, identical for identical inputs.
    pub ticks: u64,
    pub network: NetStats,
    pub plcs: Vec<PlcResult>,
    pub hmis: Vec<HmiResult>,
    pub historians: Vec<HistorianResult>,
    pub engineering_workstations: Vec<EwsResult>,
    pub it: ItResult,
    pub process: ProcessResult,
    pub impacts: Vec<ImpactResult>,
    /// The playbook's steps, how each ended and what detected it (empty in benign operation).
    pub steps: Vec<StepOutcome>,
    pub taps: Vec<TapResult>,
    pub expectations: Vec<ExpectationResult>,
    /// True when every expectation held.
    pub passed: bool,
}

/// A playbook step's outcome with its detection, scored in the vocabulary of MITRE's
/// ATT&CK Evaluations: `technique` (an alert named the step's technique), `tactic` (its
/// tactic), `general` (flagged, without either), `none`.
#[derive(Debug, Serialize)]
pub struct StepOutcome {
    #[serde(flatten)]
    pub step: otrange_attacks::agent::StepResult,
    pub detection: &'static str,
    /// Seconds from the step's start to its first alert.
    pub time_to_detect_s: Option<f64>,
    /// The first alert of each detector that rests on the step's frames.
    pub detected_by: Vec<StepDetection>,
}

#[derive(Debug, Serialize)]
pub struct StepDetection {
    pub detector: String,
    pub signature_id: u64,
    pub signature: String,
    pub technique: Option<String>,
    pub t_s: f64,
}

/// Compares tactic names however they are spelt ("Impair_Process_Control").
fn same_name(a: &str, b: &str) -> bool {
    let norm = |s: &str| s.to_lowercase().replace(['_', '-'], " ");
    norm(a) == norm(b)
}

/// Joins the alerts in the taps' EVE summaries to the steps whose frames they rest on.
fn step_outcomes(steps: Vec<otrange_attacks::agent::StepResult>, taps: &[TapResult]) -> Vec<StepOutcome> {
    let alerts: Vec<&serde_json::Value> = taps
        .iter()
        .filter_map(|t| t.summary.get("alerts").and_then(|a| a.as_array()))
        .flatten()
        .collect();
    steps
        .into_iter()
        .map(|step| {
            let mut detected_by: Vec<StepDetection> = Vec::new();
            let mut detection = "none";
            let rank = |d: &str| {
                ["none", "general", "tactic", "technique"]
                    .iter()
                    .position(|x| *x == d)
            };
            for a in &alerts {
                let o = &a["otrange"];
                let on_step = o["steps"]
                    .as_array()
                    .is_some_and(|v| v.iter().any(|s| s.as_u64() == Some(u64::from(step.step))));
                if !on_step {
                    continue;
                }
                let meta = &a["alert"]["metadata"];
                let names = |k: &str| -> Vec<String> {
                    meta[k]
                        .as_array()
                        .map(|v| v.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
                        .unwrap_or_default()
                };
                let techniques = names("mitre_technique_id");
                let category = if techniques.contains(&step.technique) {
                    "technique"
                } else if names("mitre_tactic_name")
                    .iter()
                    .any(|t| same_name(t, &step.tactic))
                {
                    "tactic"
                } else {
                    "general"
                };
                if rank(category) > rank(detection) {
                    detection = category;
                }
                let detector = o["detector"].as_str().unwrap_or_default().to_string();
                let t_s = o["t_ns"].as_u64().unwrap_or(0) as f64 / 1e9;
                match detected_by.iter_mut().find(|d| d.detector == detector) {
                    Some(d) if d.t_s <= t_s => {}
                    Some(d) => *d = detection_of(a, detector, techniques, t_s),
                    None => detected_by.push(detection_of(a, detector, techniques, t_s)),
                }
            }
            detected_by.sort_by(|a, b| a.t_s.total_cmp(&b.t_s).then(a.detector.cmp(&b.detector)));
            let time_to_detect_s = match (detected_by.first(), step.started_s) {
                (Some(d), Some(start)) => Some(((d.t_s - start) * 1e9).round() / 1e9),
                _ => None,
            };
            StepOutcome {
                step,
                detection,
                time_to_detect_s,
                detected_by,
            }
        })
        .collect()
}

fn detection_of(a: &serde_json::Value, detector: String, techniques: Vec<String>, t_s: f64) -> StepDetection {
    StepDetection {
        detector,
        signature_id: a["alert"]["signature_id"].as_u64().unwrap_or(0),
        signature: a["alert"]["signature"].as_str().unwrap_or_default().to_string(),
        technique: techniques.into_iter().next(),
        t_s,
    }
}

#[derive(Debug, Serialize)]
pub struct PlcResult {
    pub name: String,
    pub mode: String,
    pub scans: u64,
    pub requests: u64,
    pub exceptions: u64,
    pub busy: u64,
    pub dropped: u64,
}

#[derive(Debug, Serialize)]
pub struct HmiResult {
    pub name: String,
    pub polls: u64,
    pub answers: u64,
    pub timeouts: u64,
    pub exceptions: u64,
    pub latency: LatencySummary,
    pub operator_actions: u64,
    pub alarms_shown_at_end: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct HistorianResult {
    pub name: String,
    pub polls: u64,
    pub samples: u64,
    pub timeouts: u64,
}

#[derive(Debug, Serialize)]
pub struct EwsResult {
    pub name: String,
    pub sessions: u64,
    pub answers: u64,
}

#[derive(Debug, Serialize)]
pub struct ItResult {
    pub exchanges: u64,
    pub answered: u64,
    pub served: u64,
}

#[derive(Debug, Serialize)]
pub struct ProcessResult {
    pub bands: Vec<BandStats>,
    /// Value of every signal at the end of the run, in signal order.
    pub final_values: Vec<(String, f64)>,
}

#[derive(Debug, Serialize)]
pub struct ImpactResult {
    pub t_s: f64,
    pub technique: &'static str,
    pub technique_name: &'static str,
    pub limit: String,
    pub component: String,
    pub description: String,
}

#[derive(Debug, Serialize)]
pub struct TapResult {
    pub name: String,
    pub summary: serde_json::Value,
}

#[derive(Debug, Serialize, Clone)]
pub struct ExpectationResult {
    pub name: String,
    pub expected: String,
    pub actual: String,
    pub passed: bool,
}

fn host_name(sim: &Sim, h: &HostRef) -> String {
    sim.network().topology().host(h.0).name.clone()
}

/// Collects results from a finished simulation.
pub fn collect(sim: &mut Sim, ex: &Exercise, seed: u64, duration: SimDuration) -> Results {
    let mut plcs = Vec::new();
    let mut q = sim.world.query::<(&HostRef, &Plc)>();
    for (h, p) in q.iter(&sim.world) {
        let c = p.cpu.stats();
        plcs.push(PlcResult {
            name: host_name(sim, h),
            mode: p.mode.as_str().to_string(),
            scans: p.scans,
            requests: c.requests,
            exceptions: c.exceptions,
            busy: c.busy,
            dropped: c.dropped,
        });
    }
    let mut hmis = Vec::new();
    let mut q = sim.world.query::<(&HostRef, &Hmi)>();
    for (h, hmi) in q.iter(&sim.world) {
        let p = &hmi.poller;
        hmis.push(HmiResult {
            name: host_name(sim, h),
            polls: p.polls,
            answers: p.answers,
            timeouts: p.timeouts,
            exceptions: p.exceptions,
            latency: p.latency.summary(),
            operator_actions: hmi.operator_actions,
            alarms_shown_at_end: hmi.shown_alarms().into_iter().map(String::from).collect(),
        });
    }
    let mut historians = Vec::new();
    let mut q = sim.world.query::<(&HostRef, &Historian)>();
    for (h, hist) in q.iter(&sim.world) {
        historians.push(HistorianResult {
            name: host_name(sim, h),
            polls: hist.poller.polls,
            samples: hist.stored,
            timeouts: hist.poller.timeouts,
        });
    }
    let mut engineering_workstations = Vec::new();
    let mut q = sim.world.query::<(&HostRef, &EngineeringWorkstation)>();
    for (h, e) in q.iter(&sim.world) {
        engineering_workstations.push(EwsResult {
            name: host_name(sim, h),
            sessions: e.sessions,
            answers: e.answers,
        });
    }
    let mut it = ItResult {
        exchanges: 0,
        answered: 0,
        served: 0,
    };
    let mut q = sim.world.query::<&TrafficSource>();
    for s in q.iter(&sim.world) {
        it.exchanges += s.sent;
        it.answered += s.answered;
    }
    let mut q = sim.world.query::<&FlowServer>();
    for s in q.iter(&sim.world) {
        it.served += s.served;
    }
    // Entity iteration order is spawn order (host order), but sort to make it explicit.
    plcs.sort_by(|a, b| a.name.cmp(&b.name));
    hmis.sort_by(|a, b| a.name.cmp(&b.name));
    historians.sort_by(|a, b| a.name.cmp(&b.name));
    engineering_workstations.sort_by(|a, b| a.name.cmp(&b.name));

    let ps = sim.world.resource::<ProcessState>();
    let process = ProcessResult {
        bands: ps.process.bands().to_vec(),
        final_values: ps
            .process
            .signal_names()
            .map(|(id, n)| (n.to_string(), ps.process.get(id)))
            .collect(),
    };
    let impacts = ps
        .impact_log
        .iter()
        .map(|(t, i)| ImpactResult {
            t_s: t.as_secs_f64(),
            technique: i.technique.id(),
            technique_name: i.technique.name(),
            limit: i.limit.clone(),
            component: i.component.clone(),
            description: i.description.clone(),
        })
        .collect::<Vec<_>>();
    let net = sim.network();
    let taps = net
        .sensor_summaries()
        .into_iter()
        .map(|(name, summary)| TapResult { name, summary })
        .collect::<Vec<_>>();
    let mut r = Results {
        schema_version: SCHEMA_VERSION,
        exercise: ex.info.name.clone(),
        plant: ex.plant.plant.name.clone(),
        seed,
        duration_s: duration.as_secs_f64(),
        policy: net.policy_name().to_string(),
        policy_summary: net.policy_summary(),
        ticks: sim.ticks(),
        network: net.stats.clone(),
        plcs,
        hmis,
        historians,
        engineering_workstations,
        it,
        process,
        impacts,
        steps: step_outcomes(
            sim.world
                .get_resource::<otrange_attacks::agent::Campaign>()
                .map(|c| c.results())
                .unwrap_or_default(),
            &taps,
        ),
        taps,
        expectations: Vec::new(),
        passed: true,
    };
    r.expectations = evaluate(&ex.expect, &r);
    r.passed = r.expectations.iter().all(|e| e.passed);
    r
}

/// Checks the exercise's expectations against the results.
pub fn evaluate(exp: &Expectations, r: &Results) -> Vec<ExpectationResult> {
    let mut out = Vec::new();
    let mut check = |name: &str, expected: String, actual: String, passed: bool| {
        out.push(ExpectationResult {
            name: name.to_string(),
            expected,
            actual,
            passed,
        });
    };
    if let Some(want) = &exp.impact_techniques {
        let mut seen: Vec<&str> = r.impacts.iter().map(|i| i.technique).collect();
        seen.sort_unstable();
        seen.dedup();
        let missing: Vec<&str> = want
            .iter()
            .map(String::as_str)
            .filter(|t| !seen.contains(t))
            .collect();
        check(
            "impact_techniques",
            want.join(", "),
            if seen.is_empty() {
                "none".into()
            } else {
                seen.join(", ")
            },
            missing.is_empty(),
        );
    }
    if let Some(want) = &exp.steps {
        let actual: Vec<&str> = r.steps.iter().map(|s| s.step.status.as_str()).collect();
        check(
            "steps",
            want.join(", "),
            actual.join(", "),
            actual.len() == want.len() && actual.iter().zip(want).all(|(a, w)| a == w),
        );
    }
    if let Some(want) = &exp.detections {
        let actual: Vec<&str> = r.steps.iter().map(|s| s.detection).collect();
        let want: Vec<&str> = want.iter().map(|d| d.as_str()).collect();
        check("detections", want.join(", "), actual.join(", "), actual == want);
    }
    if let Some(max) = exp.max_alerts {
        let actual: u64 = r
            .taps
            .iter()
            .filter_map(|t| t.summary.get("alerts").and_then(|a| a.as_array()))
            .map(|a| a.len() as u64)
            .sum();
        check(
            "max_alerts",
            format!("<= {max}"),
            actual.to_string(),
            actual <= max,
        );
    }
    if let Some(max) = exp.max_blocked_legitimate {
        let actual = r.network.blocked_legitimate;
        check(
            "max_blocked_legitimate",
            format!("<= {max}"),
            actual.to_string(),
            actual <= max,
        );
    }
    if let Some(n) = exp.impacts {
        let actual = r.impacts.len() as u64;
        check("impacts", n.to_string(), actual.to_string(), actual == n);
    }
    if let Some(want) = exp.within_bands {
        let outside: Vec<&str> = r
            .process
            .bands
            .iter()
            .filter(|b| b.seconds_outside > 0.0)
            .map(|b| b.signal.as_str())
            .collect();
        let actual = outside.is_empty();
        check(
            "within_bands",
            want.to_string(),
            if actual {
                "true".into()
            } else {
                format!("false (outside: {})", outside.join(", "))
            },
            actual == want,
        );
    }
    if let Some(max) = exp.max_poll_timeouts {
        let actual: u64 = r.hmis.iter().map(|h| h.timeouts).sum();
        check(
            "max_poll_timeouts",
            format!("<= {max}"),
            actual.to_string(),
            actual <= max,
        );
    }
    if let Some(max) = exp.max_hmi_p99_latency_ms {
        let actual = r.hmis.iter().map(|h| h.latency.p99_ms).fold(0.0, f64::max);
        check(
            "max_hmi_p99_latency_ms",
            format!("<= {max}"),
            format!("{actual}"),
            actual <= max,
        );
    }
    if let Some(max) = exp.max_modbus_exceptions {
        let actual: u64 = r.plcs.iter().map(|p| p.exceptions).sum();
        check(
            "max_modbus_exceptions",
            format!("<= {max}"),
            actual.to_string(),
            actual <= max,
        );
    }
    out
}
