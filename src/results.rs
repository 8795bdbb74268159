//! results.json: what a run produced, deterministic (no wall-clock values) and versioned,
//! so CI can diff two runs byte for byte and tools can read it without guessing.
//!
//! Results are computed from the run's events only ([`Tally`]): the step outcomes from the
//! steps' events, detections from the typed alerts, and every figure from the summaries the
//! devices, the process, the network and the sensors log when the run ends.

use crate::impact_expect::{self, ImpactsExpectation};
use crate::scenario::{Detection, Exercise, Expectations, Foothold};
use otrange_defenses::detect::register::{Comparison, ObservedAsset, compare};
use otrange_sim::SimDuration;
use otrange_sim::base::events::{AlertRecord, Event, EventKind};
use otrange_sim::base::time::SimTime;
use otrange_sim::devices::ews::EwsFigures;
use otrange_sim::devices::historian::HistorianFigures;
use otrange_sim::devices::hmi::HmiFigures;
use otrange_sim::devices::plc::PlcFigures;
use otrange_sim::devices::remote_io::RemoteIoFigures;
use otrange_sim::devices::summary::DeviceFigures;
use otrange_sim::net::NetStats;
use otrange_sim::net::topology::Topology;
use otrange_sim::net::tsn::StreamFigures;
use otrange_sim::net::tsn::port::PortStats;
use otrange_sim::process::BandStats;
use serde::Serialize;

/// Bumped whenever a field changes meaning or disappears.
pub const SCHEMA_VERSION: u32 = 1;

/// Everything results.json holds, field for field (docs/src/reference/results.md).
#[derive(Debug, Serialize)]
pub struct Results {
    /// [`SCHEMA_VERSION`], so a reader knows which meaning the fields have.
    pub schema_version: u32,
    /// The exercise's name.
    pub exercise: String,
    /// The plant's name.
    pub plant: String,
    /// The seed the run used: the same seed gives the same file.
    pub seed: u64,
    /// The run's calendar start (RFC 3339): EVE alerts and pcap timestamps are this plus
    /// simulated time.
    pub start: String,
    /// Simulated seconds the run covered.
    pub duration_s: f64,
    /// Where the playbook started when the exercise assumes a breach: the host and the
    /// steps skipped; null for the playbook's own entry.
    pub foothold: Option<Foothold>,
    /// The policy's name, `allow-all` without one.
    pub policy: String,
    /// The policy's own account: decisions, denials, hits per rule (null without a policy).
    pub policy_summary: serde_json::Value,
    /// Ticks the world ran: a measure of simulation work, identical for identical inputs.
    pub ticks: u64,
    /// Frames sent, delivered, blocked and dropped, over the whole network.
    pub network: NetStats,
    /// Per PLC, in plant order.
    pub plcs: Vec<Named<PlcFigures>>,
    /// Per HMI, in plant order, with its poll latency: the control loop's cost of defences.
    pub hmis: Vec<Named<HmiFigures>>,
    /// Per historian, in plant order.
    pub historians: Vec<Named<HistorianFigures>>,
    /// Per engineering workstation, in plant order.
    pub engineering_workstations: Vec<Named<EwsFigures>>,
    /// Per remote I/O module, by name; absent in a plant without them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub remote_io: Vec<Named<RemoteIoFigures>>,
    /// TSN streams and ports; absent in a plant without them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tsn: Option<TsnResult>,
    /// The benign IT traffic, summed over its hosts.
    pub it: ItResult,
    /// How the physical process fared: band excursions and the final values.
    pub process: ProcessResult,
    /// Physical harm, in time order.
    pub impacts: Vec<ImpactResult>,
    /// The playbook's steps, how each ended and what detected it (empty in benign operation).
    pub steps: Vec<StepOutcome>,
    /// Each tap's and detector's own account, in placement order.
    pub taps: Vec<TapResult>,
    /// The asset register (`--assets`) against the inventory detector's observations;
    /// absent (not null) without `--assets`, so other runs' files are unchanged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asset_register: Option<Comparison>,
    /// Live mode only: the speed asked for and achieved, and how far the plant fell behind
    /// the wall clock; absent in batch runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live: Option<crate::lag::LiveFigures>,
    /// Each `[expect]` entry of the exercise, checked.
    pub expectations: Vec<ExpectationResult>,
    /// True when every expectation held.
    pub passed: bool,
}

/// A playbook step's outcome with its detection, scored in the vocabulary of MITRE's
/// ATT&CK Evaluations: `technique` (an alert named the step's technique), `tactic` (its
/// tactic), `general` (flagged, without either), `telemetry` (a detector's sensor saw its
/// frames, no alert counted), `none`.
#[derive(Debug, Serialize)]
pub struct StepOutcome {
    /// How the step ran, flattened into the same JSON object.
    #[serde(flatten)]
    pub step: StepResult,
    /// The best category among the alerts that count for the step (results.md, "Attribution").
    pub detection: Detection,
    /// Seconds from the step's start to its first alert.
    pub time_to_detect_s: Option<f64>,
    /// The first alert of each detector that counts for the step.
    pub detected_by: Vec<StepDetection>,
    /// The detectors whose sensors saw the step's frames, alert or not, in placement order.
    pub seen_by: Vec<String>,
}

/// One step's outcome for results.json.
#[derive(Debug, Clone, Serialize)]
pub struct StepResult {
    /// 1-based position in the playbook; also the label on the step's frames.
    pub step: u32,
    /// The step's `id` from the playbook, or "step N" when it has none.
    pub id: String,
    /// ATT&CK for ICS technique ID, such as "T0855".
    pub technique: String,
    /// The technique's name in the catalogue.
    pub technique_name: String,
    /// The technique's primary tactic, by name.
    pub tactic: String,
    /// The actor's name.
    pub actor: String,
    /// The target host's name; `None` for a step without a target.
    pub target: Option<String>,
    /// succeeded, blocked, failed or not_reached; "running" for a step still under way
    /// when the results are taken.
    pub status: String,
    /// What a succeeded step achieved, or why a failed one failed; `None` otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// For a blocked step: the enforcement point and the rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked_at: Option<String>,
    /// For a blocked step: the rule that stopped its frame (a policy's, or a detector's in
    /// prevention mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// For a step an identity or MFA requirement stopped: what its frame lacked, and which
    /// allow rule asked for it (NIS2 Article 21(2)(j)'s evidence).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// Simulated seconds since the start of the run when the step started; `None` if it
    /// never did.
    pub started_s: Option<f64>,
    /// Simulated seconds since the start of the run when the step ended; `None` while
    /// running or if it never started.
    pub ended_s: Option<f64>,
}

/// A detector's first alert that counts for a step: who saw the step, with what, when and why.
#[derive(Debug, Serialize)]
pub struct StepDetection {
    /// The detector's name in the detector set.
    pub detector: String,
    /// The alert's signature id, as in alerts.eve.json.
    pub signature_id: u64,
    /// The alert's signature text.
    pub signature: String,
    /// The ATT&CK technique the alert named, if any.
    pub technique: Option<String>,
    /// Simulated seconds since the start of the run.
    pub t_s: f64,
    /// Why the alert counts for the step: `frames` (it rests on the step's frames),
    /// `technique` or `tactic` (it names the step's, while the step's effect is in force),
    /// `host` (it concerns the step's target while the step runs).
    pub attributed_by: &'static str,
}

/// How long after a step ends an alert about its target, or naming its technique, still
/// counts for a step whose effect does not persist: a detector's analysis delay.
const ATTRIBUTION_GRACE_S: f64 = 60.0;

/// Tactics whose effect persists after the step: a frozen view, a changed set point, a
/// downloaded program stay until someone restores them, so an alert naming the step's
/// technique counts until the end of the run.
const PERSISTENT_TACTICS: [&str; 5] = [
    "impair process control",
    "inhibit response function",
    "impact",
    "persistence",
    "evasion",
];

/// Whether, and by which rule, an alert at `t_s` counts for `step`, with its category.
/// Rules in order: the alert rests on the step's frames; or, for an alert on no step's frames
/// (a detector judging the plant's own traffic), it names the step's technique or
/// tactic while the step's effect is in force (from the step's start to the end of the run
/// for a persistent tactic, to [`ATTRIBUTION_GRACE_S`] after its end otherwise); it concerns
/// the step's target host in that window of a non-persistent step, or while a persistent one
/// runs and for the grace after.
fn attribute(step: &StepResult, t_s: f64, a: &AlertRecord) -> Option<(Detection, &'static str)> {
    let names_technique = a.technique.as_deref() == Some(step.technique.as_str());
    let names_tactic = a.tactic.as_deref().is_some_and(|t| same_name(t, &step.tactic));
    let category = if names_technique {
        Detection::Technique
    } else if names_tactic {
        Detection::Tactic
    } else {
        Detection::General
    };
    if a.steps.contains(&step.step) {
        return Some((category, "frames"));
    }
    // An alert on another step's frames is that step's detection, not this one's.
    if !a.steps.is_empty() {
        return None;
    }
    let (Some(start), true) = (step.started_s, step.status == "succeeded") else {
        return None;
    };
    let end = step.ended_s.unwrap_or(start) + ATTRIBUTION_GRACE_S;
    let persistent = PERSISTENT_TACTICS.iter().any(|p| same_name(p, &step.tactic));
    let in_effect = t_s >= start && (persistent || t_s <= end);
    if in_effect && names_technique {
        return Some((category, "technique"));
    }
    if in_effect && names_tactic {
        return Some((category, "tactic"));
    }
    let touches = step.target.as_deref().is_some_and(|h| h == a.src || h == a.dst);
    (touches && t_s >= start && t_s <= end).then_some((category, "host"))
}

/// Compares tactic names however they are spelt ("Impair_Process_Control").
fn same_name(a: &str, b: &str) -> bool {
    let norm = |s: &str| s.to_lowercase().replace(['_', '-'], " ");
    norm(a) == norm(b)
}

/// The steps whose frames each sensor saw (`steps_seen` in a detector's summary), by
/// sensor name in placement order.
fn steps_seen(sensors: &[(String, serde_json::Value)]) -> Vec<(String, Vec<u32>)> {
    sensors
        .iter()
        .filter_map(|(name, summary)| {
            let seen = summary.get("steps_seen")?.as_array()?;
            Some((
                name.clone(),
                seen.iter().filter_map(|v| v.as_u64().map(|n| n as u32)).collect(),
            ))
        })
        .collect()
}

/// Joins the alerts to the steps they count for ([`attribute`]); a step no alert counts
/// for but whose frames a detector saw scores `telemetry`.
fn step_outcomes(
    steps: Vec<StepResult>,
    alerts: &[(SimTime, AlertRecord)],
    seen: &[(String, Vec<u32>)],
) -> Vec<StepOutcome> {
    steps
        .into_iter()
        .map(|step| {
            let mut detected_by: Vec<StepDetection> = Vec::new();
            let mut detection = Detection::None;
            for (t, a) in alerts {
                let t_s = t.as_nanos() as f64 / 1e9;
                let Some((category, attributed_by)) = attribute(&step, t_s, a) else {
                    continue;
                };
                detection = detection.max(category);
                let first = StepDetection {
                    detector: a.detector.clone(),
                    signature_id: a.signature_id,
                    signature: a.signature.clone(),
                    technique: a.technique.clone(),
                    t_s,
                    attributed_by,
                };
                match detected_by.iter_mut().find(|d| d.detector == a.detector) {
                    Some(d) if d.t_s <= t_s => {}
                    Some(d) => *d = first,
                    None => detected_by.push(first),
                }
            }
            detected_by.sort_by(|a, b| a.t_s.total_cmp(&b.t_s).then(a.detector.cmp(&b.detector)));
            let time_to_detect_s = match (detected_by.first(), step.started_s) {
                (Some(d), Some(start)) => Some(((d.t_s - start) * 1e9).round() / 1e9),
                _ => None,
            };
            let seen_by: Vec<String> = seen
                .iter()
                .filter(|(_, steps)| steps.contains(&step.step))
                .map(|(name, _)| name.clone())
                .collect();
            if detection == Detection::None && !seen_by.is_empty() {
                detection = Detection::Telemetry;
            }
            StepOutcome {
                step,
                detection,
                time_to_detect_s,
                detected_by,
                seen_by,
            }
        })
        .collect()
}

/// A device's figures under its name, as results.json lists them.
#[derive(Debug, Serialize)]
pub struct Named<T> {
    /// The device's name in the plant.
    pub name: String,
    /// The device kind's figures, flattened into the same JSON object.
    #[serde(flatten)]
    pub figures: T,
}

/// A plant's TSN streams and egress ports.
#[derive(Debug, Serialize, Default)]
pub struct TsnResult {
    /// Every stream: latency, jitter, deadline misses with where and why, drops.
    pub streams: Vec<Named<StreamFigures>>,
    /// Every TSN egress port ("switch -> neighbour"): frames sent and dropped per traffic
    /// class, deepest queues, preemptions, gate overruns.
    pub ports: Vec<Named<PortStats>>,
}

impl TsnResult {
    /// Deadline misses over every stream.
    pub fn deadline_misses(&self) -> u64 {
        self.streams.iter().map(|s| s.figures.deadline_misses).sum()
    }
}

/// `plc.scans` reads as the figure itself.
impl<T> std::ops::Deref for Named<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.figures
    }
}

/// The benign IT traffic: the background that detectors must not alarm on.
#[derive(Debug, Default, Serialize)]
pub struct ItResult {
    /// Exchanges the IT hosts started.
    pub exchanges: u64,
    /// Of them, those answered.
    pub answered: u64,
    /// Requests the IT hosts served.
    pub served: u64,
}

/// How the physical process fared.
#[derive(Debug, Default, Serialize)]
pub struct ProcessResult {
    /// Per band: its limits, the range observed and the seconds spent outside.
    pub bands: Vec<BandStats>,
    /// Value of every signal at the end of the run, in signal order.
    pub final_values: Vec<(String, f64)>,
    /// Physics steps cut into sub-steps for stability: how many, how finely and for which
    /// component; absent when the plant's step never needed cutting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integration: Option<otrange_sim::process::IntegrationStats>,
}

/// An impact, named as the ATT&CK technique it amounts to: physical harm (a process limit
/// crossed), or view, control or protection lost (recorded by the devices).
#[derive(Debug, Serialize)]
pub struct ImpactResult {
    /// Simulated seconds since the start of the run.
    pub t_s: f64,
    /// The impact's ATT&CK technique ID, such as "T0879".
    pub technique: String,
    /// The technique's name in the catalogue.
    pub technique_name: String,
    /// The plant's limit that was crossed; absent for a device impact (T0813, T0815,
    /// T0829, T0837), which no limit stands for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
    /// Where: the process component the limit watches, or the PLC whose view, control or
    /// protection was lost.
    pub component: String,
    /// The HMI that lost its view of, or its control over, `component`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hmi: Option<String>,
    /// What happened, in words for the report.
    pub description: String,
}

/// A tap's or detector's own account of the run.
#[derive(Debug, Serialize)]
pub struct TapResult {
    /// Its name in the plant or the detector set.
    pub name: String,
    /// What it counted; its shape is the tap's own (docs/src/reference/results.md).
    pub summary: serde_json::Value,
}

/// One `[expect]` entry, checked: what CI reads to pass or fail a run.
#[derive(Debug, Serialize, serde::Deserialize, Clone, PartialEq)]
pub struct ExpectationResult {
    /// The entry's key, such as `max_poll_timeouts`.
    pub name: String,
    /// What the exercise asked for, in words (`<= 0`).
    pub expected: String,
    /// What the run produced.
    pub actual: String,
    /// Whether the entry held.
    pub passed: bool,
}

/// Folds a run's events into what results.json needs, as they stream past: a run's
/// results are its events' and nothing else's. Frame-level events are skipped; alerts are
/// kept (steps are scored against them when the run ends).
#[derive(Debug, Default)]
pub struct Tally {
    steps: Vec<StepResult>,
    alerts: Vec<(SimTime, AlertRecord)>,
    impacts: Vec<ImpactResult>,
    plcs: Vec<Named<PlcFigures>>,
    hmis: Vec<Named<HmiFigures>>,
    historians: Vec<Named<HistorianFigures>>,
    engineering_workstations: Vec<Named<EwsFigures>>,
    remote_io: Vec<Named<RemoteIoFigures>>,
    tsn: Option<TsnResult>,
    it: ItResult,
    process: Option<ProcessResult>,
    network: Option<(String, serde_json::Value, NetStats)>,
    sensors: Vec<(String, serde_json::Value)>,
    ticks: u64,
}

impl Tally {
    /// Takes one event into account.
    pub fn add(&mut self, e: &Event) {
        match &e.kind {
            EventKind::StepPlanned {
                step,
                id,
                technique,
                technique_name,
                tactic,
                actor,
                target,
            } => self.steps.push(StepResult {
                step: *step,
                id: id.clone(),
                technique: technique.clone(),
                technique_name: technique_name.clone(),
                tactic: tactic.clone(),
                actor: actor.clone(),
                target: target.clone(),
                status: "not_reached".into(),
                detail: None,
                blocked_at: None,
                rule: None,
                why: None,
                started_s: None,
                ended_s: None,
            }),
            EventKind::StepStarted { step, .. } => {
                if let Some(s) = self.step_mut(*step) {
                    s.status = "running".into();
                    s.started_s = Some(e.t.as_secs_f64());
                }
            }
            EventKind::StepEnded {
                step,
                status,
                detail,
                blocked_at,
                rule,
                why,
                ..
            } => {
                if let Some(s) = self.step_mut(*step) {
                    s.status = status.clone();
                    s.ended_s = Some(e.t.as_secs_f64());
                    s.blocked_at = blocked_at.clone();
                    s.rule = rule.clone();
                    s.why = why.clone();
                    // A blocked step's detail is its enforcement point and rule, above.
                    s.detail = (status != "blocked").then(|| detail.clone());
                }
            }
            EventKind::Alert(a) => self.alerts.push((e.t, a.clone())),
            EventKind::Impact {
                technique,
                technique_name,
                limit,
                component,
                description,
                ..
            } => self.impacts.push(ImpactResult {
                t_s: e.t.as_secs_f64(),
                technique: technique.to_string(),
                technique_name: technique_name.to_string(),
                limit: Some(limit.clone()),
                component: component.clone(),
                hmi: None,
                description: description.clone(),
            }),
            EventKind::DeviceImpact {
                technique,
                technique_name,
                device,
                hmi,
                description,
            } => self.impacts.push(ImpactResult {
                t_s: e.t.as_secs_f64(),
                technique: technique.to_string(),
                technique_name: technique_name.to_string(),
                limit: None,
                component: device.clone(),
                hmi: hmi.clone(),
                description: description.clone(),
            }),
            EventKind::DeviceSummary { device, figures } => {
                let name = device.clone();
                match figures.clone() {
                    DeviceFigures::Plc(figures) => self.plcs.push(Named { name, figures }),
                    DeviceFigures::Hmi(figures) => self.hmis.push(Named { name, figures }),
                    DeviceFigures::Historian(figures) => self.historians.push(Named { name, figures }),
                    DeviceFigures::EngineeringWorkstation(figures) => {
                        self.engineering_workstations.push(Named { name, figures });
                    }
                    DeviceFigures::ItClient(f) => {
                        self.it.exchanges += f.exchanges;
                        self.it.answered += f.answered;
                    }
                    DeviceFigures::ItServer(f) => self.it.served += f.served,
                    DeviceFigures::RemoteIo(figures) => self.remote_io.push(Named { name, figures }),
                }
            }
            EventKind::StreamSummary { stream, figures } => {
                self.tsn.get_or_insert_default().streams.push(Named {
                    name: stream.clone(),
                    figures: figures.clone(),
                });
            }
            EventKind::TsnPortSummary { port, stats } => {
                self.tsn.get_or_insert_default().ports.push(Named {
                    name: port.clone(),
                    figures: stats.clone(),
                });
            }
            EventKind::ProcessSummary {
                bands,
                final_values,
                integration,
            } => {
                self.process = Some(ProcessResult {
                    bands: bands.clone(),
                    final_values: final_values.clone(),
                    integration: integration.clone(),
                });
            }
            EventKind::NetworkSummary {
                policy,
                policy_summary,
                stats,
            } => self.network = Some((policy.clone(), policy_summary.clone(), stats.clone())),
            EventKind::SensorSummary { sensor, summary } => {
                self.sensors.push((sensor.clone(), summary.clone()));
            }
            EventKind::RunEnded { ticks } => self.ticks = *ticks,
            _ => {}
        }
    }

    fn step_mut(&mut self, step: u32) -> Option<&mut StepResult> {
        self.steps.iter_mut().find(|s| s.step == step)
    }

    /// The results of a run whose events have all been added (through `run_ended`).
    /// `topo` is the plant's topology, for the addresses in the alerts' EVE form.
    pub fn results(mut self, ex: &Exercise, seed: u64, duration: SimDuration, topo: &Topology) -> Results {
        // Devices are logged kind by kind in host order; results.json lists them by name.
        self.plcs.sort_by(|a, b| a.name.cmp(&b.name));
        self.hmis.sort_by(|a, b| a.name.cmp(&b.name));
        self.historians.sort_by(|a, b| a.name.cmp(&b.name));
        self.engineering_workstations.sort_by(|a, b| a.name.cmp(&b.name));
        self.remote_io.sort_by(|a, b| a.name.cmp(&b.name));
        let seen = steps_seen(&self.sensors);
        let taps = self
            .sensors
            .into_iter()
            .map(|(name, mut summary)| {
                let alerts: Vec<serde_json::Value> = self
                    .alerts
                    .iter()
                    .filter(|(_, a)| a.detector == name)
                    .map(|(t, a)| otrange_defenses::detect::alert::eve(*t, ex.info.start.unix_ns, a, topo))
                    .collect();
                // A detector's summary names it; its alerts (none is an answer too) join
                // it there. A plain sensor's summary has no alerts to list.
                if let Some(m) = summary.as_object_mut().filter(|m| m.contains_key("detector")) {
                    m.insert("alerts".into(), alerts.into());
                }
                TapResult { name, summary }
            })
            .collect::<Vec<TapResult>>();
        let asset_register = register_comparison(ex, &taps);
        let (policy, policy_summary, network) = self.network.unwrap_or_default();
        let n_alerts = self.alerts.len() as u64;
        let mut r = Results {
            schema_version: SCHEMA_VERSION,
            exercise: ex.info.name.clone(),
            plant: ex.plant.plant.name.clone(),
            seed,
            start: ex.info.start.text.clone(),
            duration_s: duration.as_secs_f64(),
            foothold: ex.foothold.clone(),
            policy,
            policy_summary,
            ticks: self.ticks,
            network,
            plcs: self.plcs,
            hmis: self.hmis,
            historians: self.historians,
            engineering_workstations: self.engineering_workstations,
            remote_io: self.remote_io,
            tsn: self.tsn,
            it: self.it,
            process: self.process.unwrap_or_default(),
            impacts: self.impacts,
            steps: step_outcomes(self.steps, &self.alerts, &seen),
            taps,
            asset_register,
            live: None,
            expectations: Vec::new(),
            passed: true,
        };
        r.expectations = evaluate(&ex.expect, &r, n_alerts);
        r.passed = r.expectations.iter().all(|e| e.passed);
        r
    }
}

/// The exercise's asset register compared with what its inventory detector logged at the
/// end of the run (the `inventory` list of its figures); `None` without a register, or
/// when the detector logged no summary (a live run stopped before it ended).
fn register_comparison(ex: &Exercise, taps: &[TapResult]) -> Option<Comparison> {
    let register = ex.assets.as_ref()?;
    let detector = ex.inventory_detector()?;
    let tap = taps.iter().find(|t| t.name == detector)?;
    let observed = ObservedAsset::from_inventory_figures(&tap.summary["figures"])?;
    Some(compare(register, &observed, detector))
}

/// The limits that fired, in order of first impact, with technique and count; device
/// impacts have no limit and are left out (`impact_techniques` checks them).
fn fired_limits(impacts: &[ImpactResult]) -> impact_expect::Fired<'_> {
    let mut out: impact_expect::Fired<'_> = Vec::new();
    for i in impacts {
        let Some(limit) = &i.limit else { continue };
        match out.iter_mut().find(|(l, _, _)| *l == limit) {
            Some(f) => f.2 += 1,
            None => out.push((limit.as_str(), i.technique.as_str(), 1)),
        }
    }
    out
}

/// Checks the exercise's expectations against the results.
/// `alerts` is the number of alerts the run raised.
pub fn evaluate(exp: &Expectations, r: &Results, alerts: u64) -> Vec<ExpectationResult> {
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
        let mut seen: Vec<&str> = r.impacts.iter().map(|i| i.technique.as_str()).collect();
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
        let actual: Vec<&str> = r.steps.iter().map(|s| s.detection.as_str()).collect();
        let want: Vec<&str> = want.iter().map(|d| d.as_str()).collect();
        check("detections", want.join(", "), actual.join(", "), actual == want);
    }
    if let Some(max) = exp.max_alerts {
        let actual = alerts;
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
    let fired = fired_limits(&r.impacts);
    let fired_text = || {
        if fired.is_empty() {
            "none".to_string()
        } else {
            fired
                .iter()
                .map(|(l, t, n)| format!("{l} {t} x{n}"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    match &exp.impacts {
        Some(ImpactsExpectation::Count(n)) => {
            // Limits crossed: physical harm. View, control and protection lost are
            // checked by `impact_techniques`.
            let actual = r.impacts.iter().filter(|i| i.limit.is_some()).count() as u64;
            check("impacts", n.to_string(), actual.to_string(), actual == *n);
        }
        Some(ImpactsExpectation::Exactly(want)) => {
            let each = want.iter().all(|e| impact_expect::satisfied(e, &fired).0);
            let nothing_else = fired
                .iter()
                .all(|(l, _, _)| want.iter().any(|e| e.limit.get_ref() == l));
            let expected: Vec<String> = want.iter().map(impact_expect::describe).collect();
            check(
                "impacts",
                if expected.is_empty() {
                    "none".into()
                } else {
                    expected.join(", ")
                },
                fired_text(),
                each && nothing_else,
            );
        }
        None => {}
    }
    if let Some(want) = &exp.impacts_include {
        let expected: Vec<String> = want.iter().map(impact_expect::describe).collect();
        let seen: Vec<String> = want
            .iter()
            .map(|e| impact_expect::satisfied(e, &fired).1)
            .collect();
        let ok = want.iter().all(|e| impact_expect::satisfied(e, &fired).0);
        check("impacts_include", expected.join(", "), seen.join(", "), ok);
    }
    if let Some(none) = &exp.no_impacts_from {
        let hit: Vec<String> = fired
            .iter()
            .filter(|(l, _, _)| none.iter().any(|n| n.get_ref() == l))
            .map(|(l, t, n)| format!("{l} {t} x{n}"))
            .collect();
        let names: Vec<&str> = none.iter().map(|n| n.get_ref().as_str()).collect();
        check(
            "no_impacts_from",
            names.join(", "),
            if hit.is_empty() {
                "none of them".into()
            } else {
                hit.join(", ")
            },
            hit.is_empty(),
        );
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
    if let Some(max) = exp.max_deadline_misses {
        let actual = r.tsn.as_ref().map_or(0, TsnResult::deadline_misses);
        check(
            "max_deadline_misses",
            format!("<= {max}"),
            actual.to_string(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: u64) -> SimTime {
        SimTime(s * 1_000_000_000)
    }

    fn planned(step: u32, technique: &str, tactic: &str) -> EventKind {
        EventKind::StepPlanned {
            step,
            id: format!("step {step}"),
            technique: technique.into(),
            technique_name: String::new(),
            tactic: tactic.into(),
            actor: "apt".into(),
            target: Some("plc-1".into()),
        }
    }

    fn alert(detector: &str, step: u32, technique: Option<&str>, tactic: Option<&str>) -> EventKind {
        EventKind::Alert(AlertRecord {
            detector: detector.into(),
            signature_id: 1,
            signature: "sig".into(),
            severity: 2,
            src: "ews".into(),
            dst: "plc-1".into(),
            technique: technique.map(Into::into),
            frames: vec![7],
            steps: vec![step],
            tactic: tactic.map(Into::into),
            src_port: 40000,
            dst_port: 502,
            proto: "TCP",
            blocked: false,
        })
    }

    fn fold(events: Vec<(SimTime, EventKind)>) -> Vec<StepOutcome> {
        let mut tally = Tally::default();
        for (t, kind) in events {
            tally.add(&Event { t, kind });
        }
        step_outcomes(tally.steps, &tally.alerts, &steps_seen(&tally.sensors))
    }

    fn started(step: u32) -> EventKind {
        EventKind::StepStarted {
            step,
            id: format!("step {step}"),
            technique: String::new(),
            actor: "apt".into(),
            target: None,
        }
    }

    #[test]
    fn a_step_scores_its_best_detection_and_the_first_alert_times_it() {
        let out = fold(vec![
            (at(0), planned(1, "T0855", "Impair Process Control")),
            (at(0), planned(2, "T0801", "Collection")),
            (at(0), planned(3, "T0836", "Impair Process Control")),
            (at(10), started(1)),
            // A general alert first, the technique's later: the category is the best, the
            // time the first.
            (at(12), alert("anomaly", 1, None, None)),
            (at(15), alert("rules", 1, Some("T0855"), None)),
            (at(20), started(2)),
            (at(21), alert("rules", 2, Some("T0802"), Some("collection"))),
        ]);
        let cats: Vec<_> = out.iter().map(|o| o.detection.as_str()).collect();
        assert_eq!(cats, ["technique", "tactic", "none"]);
        assert_eq!(out[0].time_to_detect_s, Some(2.0));
        let by: Vec<_> = out[0].detected_by.iter().map(|d| d.detector.as_str()).collect();
        assert_eq!(by, ["anomaly", "rules"]);
        assert_eq!(out[1].time_to_detect_s, Some(1.0));
        // Never started, never detected: not reached, no time.
        assert_eq!(out[2].step.status, "not_reached");
        assert_eq!(out[2].time_to_detect_s, None);
    }

    #[test]
    fn a_blocked_step_keeps_where_and_by_which_rule() {
        let out = fold(vec![
            (at(0), planned(1, "T0886", "Lateral Movement")),
            (at(5), started(1)),
            (
                at(6),
                EventKind::StepEnded {
                    step: 1,
                    id: "step 1".into(),
                    technique: "T0886".into(),
                    status: "blocked".into(),
                    detail: "blocked at fw-1 by no-rdp".into(),
                    blocked_at: Some("fw-1".into()),
                    rule: Some("no-rdp".into()),
                    why: None,
                },
            ),
        ]);
        let s = &out[0].step;
        assert_eq!(s.status, "blocked");
        assert_eq!(
            (s.blocked_at.as_deref(), s.rule.as_deref()),
            (Some("fw-1"), Some("no-rdp"))
        );
        assert_eq!(s.detail, None);
        assert_eq!((s.started_s, s.ended_s), (Some(5.0), Some(6.0)));
    }

    fn succeeded(step: u32, technique: &str) -> EventKind {
        EventKind::StepEnded {
            step,
            id: format!("step {step}"),
            technique: technique.into(),
            status: "succeeded".into(),
            detail: String::new(),
            blocked_at: None,
            rule: None,
            why: None,
        }
    }

    /// An alert on no step's frames: a detector judging the plant's own traffic.
    fn plant_alert(t: &str, src: &str, dst: &str) -> EventKind {
        let EventKind::Alert(mut a) = alert("invariants", 0, Some(t), None) else {
            unreachable!()
        };
        a.steps.clear();
        (a.src, a.dst) = (src.into(), dst.into());
        EventKind::Alert(a)
    }

    /// The Stuxnet case: the invariants detector's T0832 alert rests on the safety PLC's
    /// answers, not on the step's frames, 122 s after the view was frozen.
    #[test]
    fn an_alert_naming_a_persistent_steps_technique_counts_while_its_effect_lasts() {
        let out = fold(vec![
            (at(0), planned(1, "T0832", "Impact")),
            (at(0), planned(2, "T0846", "Discovery")),
            (at(510), started(1)),
            (at(510), succeeded(1, "T0832")),
            (at(520), started(2)),
            (at(521), succeeded(2, "T0846")),
            (at(632), plant_alert("T0832", "plc-sis", "hmi-2")),
            // Naming a non-persistent step's technique, long after it ended: not its.
            (at(900), plant_alert("T0846", "ews", "hmi-2")),
        ]);
        assert_eq!(out[0].detection, Detection::Technique);
        assert_eq!(out[0].detected_by[0].attributed_by, "technique");
        assert_eq!(out[0].time_to_detect_s, Some(122.0));
        assert_eq!(out[1].detection, Detection::None);
    }

    #[test]
    fn an_alert_about_the_target_counts_while_the_step_runs() {
        let out = fold(vec![
            (at(0), planned(1, "T0846", "Discovery")),
            (at(10), started(1)),
            (at(20), succeeded(1, "T0846")),
            // plc-1 is the step's target (see `planned`); an unrelated technique: general.
            (at(30), plant_alert("T0856", "plc-1", "hmi-1")),
        ]);
        assert_eq!(out[0].detection, Detection::General);
        assert_eq!(out[0].detected_by[0].attributed_by, "host");
        // After the grace, the same alert is not the step's.
        let late = fold(vec![
            (at(0), planned(1, "T0846", "Discovery")),
            (at(10), started(1)),
            (at(20), succeeded(1, "T0846")),
            (at(81), plant_alert("T0856", "plc-1", "hmi-1")),
        ]);
        assert_eq!(late[0].detection, Detection::None);
    }

    /// MITRE's Telemetry: the rules detector saw step 1's frames and raised nothing; step 2
    /// happened on a host, where no sensor looks.
    #[test]
    fn a_step_seen_but_not_flagged_scores_telemetry() {
        let out = fold(vec![
            (at(0), planned(1, "T0801", "Collection")),
            (at(0), planned(2, "T0872", "Evasion")),
            (at(10), started(1)),
            (at(11), succeeded(1, "T0801")),
            (at(12), started(2)),
            (at(13), succeeded(2, "T0872")),
            (
                at(60),
                EventKind::SensorSummary {
                    sensor: "plant rules".into(),
                    summary: serde_json::json!({"detector": "plant rules", "steps_seen": [1]}),
                },
            ),
        ]);
        assert_eq!(out[0].detection, Detection::Telemetry);
        assert_eq!(out[0].seen_by, ["plant rules"]);
        assert_eq!(out[0].time_to_detect_s, None);
        assert_eq!(out[1].detection, Detection::None);
        assert!(out[1].seen_by.is_empty());
    }
}
