//! What the console shows, as one JSON document: built on the simulation thread from the
//! events it logs and the process state it holds, published a few times a second, and sent
//! whole to every viewer (a snapshot is a few kilobytes; a viewer that missed one loses
//! nothing).

use crate::scenario::Exercise;
use otrange_sim::base::events::{Event, EventKind};
use otrange_sim::process::SignalId;
use otrange_sim::process::state::ProcessState;
use otrange_sim::{Sim, SimTime};
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};

/// Alerts kept for the blue team's stream.
const ALERTS_KEPT: usize = 200;
/// Real clients' requests kept for the instructor.
const REQUESTS_KEPT: usize = 100;

/// One watched process variable.
#[derive(Debug, Clone, Serialize)]
pub struct SignalView {
    /// The signal's name in the plant file.
    pub name: String,
    /// Its value now.
    pub value: f64,
    /// The normal band, if the plant gives one.
    pub band: Option<[f64; 2]>,
    /// Safety limits: (name, above or below, value).
    pub limits: Vec<LimitView>,
    /// `normal`, `outside band` or `beyond limit`.
    pub state: &'static str,
}

/// A safety limit on a signal.
#[derive(Debug, Clone, Serialize)]
pub struct LimitView {
    /// The limit's name.
    pub name: String,
    /// Crossed when the value goes above it.
    pub above: Option<f64>,
    /// Crossed when the value goes below it.
    pub below: Option<f64>,
}

/// A host on the network view.
#[derive(Debug, Clone, Serialize)]
pub struct HostView {
    /// Its name.
    pub name: String,
    /// Its zone.
    pub zone: String,
    /// Its role.
    pub role: &'static str,
    /// Its plant address.
    pub address: String,
    /// Frames a policy denied to or from it.
    pub denials: u64,
    /// Alerts naming it as source or destination.
    pub alerts: u64,
    /// Requests real clients made to it (a PLC) or from it (the host they are attributed to).
    pub requests: u64,
}

/// A playbook step.
#[derive(Debug, Clone, Serialize)]
pub struct StepView {
    /// Its number, from 1.
    pub step: u32,
    /// Its id in the playbook.
    pub id: String,
    /// ATT&CK technique.
    pub technique: String,
    /// Its name.
    pub technique_name: String,
    /// planned, running, succeeded, blocked or failed.
    pub status: String,
    /// What it did, or why it stopped.
    pub detail: String,
    /// Simulated seconds it started at.
    pub started_s: Option<f64>,
    /// Seconds from its start to the first alert counted for it (its own frames).
    pub time_to_detect_s: Option<f64>,
}

/// An alert in the blue team's stream.
#[derive(Debug, Clone, Serialize)]
pub struct AlertView {
    /// When, simulated seconds.
    pub t_s: f64,
    /// The detector.
    pub detector: String,
    /// The rule's message.
    pub signature: String,
    /// ATT&CK technique it names.
    pub technique: Option<String>,
    /// ATT&CK tactic it names.
    pub tactic: Option<String>,
    /// Source host.
    pub src: String,
    /// Destination host.
    pub dst: String,
}

/// A line of the exercise log: an impact, a denial, a real client's request.
#[derive(Debug, Clone, Serialize)]
pub struct LogLine {
    /// When, simulated seconds.
    pub t_s: f64,
    /// `impact`, `blocked`, `request`.
    pub kind: &'static str,
    /// In words.
    pub text: String,
}

/// The whole console document.
#[derive(Debug, Clone, Serialize)]
pub struct View {
    /// The exercise's name.
    pub exercise: String,
    /// Which run of the exercise this is: 0, then one more at each restart.
    pub run: u32,
    /// The seed of this run.
    pub seed: u64,
    /// The playbook's name, if the exercise has one.
    pub playbook: Option<String>,
    /// `not started`, `running`, `held`, `stepping` or `finished` (no step left).
    pub playbook_state: &'static str,
    /// Every signal the process diagram shows, by name, with its value now.
    pub values: BTreeMap<String, f64>,
    /// Frames that crossed each link so far, in the plant's link order: the page draws the
    /// flows from the difference between two views.
    pub links: Vec<u64>,
    /// Simulated seconds since the start.
    pub t_s: f64,
    /// The clock's speed.
    pub speed: f64,
    /// Whether the instructor paused the plant.
    pub paused: bool,
    /// Watched process variables, in plant order.
    pub signals: Vec<SignalView>,
    /// Hosts, in plant order.
    pub hosts: Vec<HostView>,
    /// The playbook's steps.
    pub steps: Vec<StepView>,
    /// The newest alerts, newest last.
    pub alerts: VecDeque<AlertView>,
    /// Alerts since the start.
    pub alerts_total: u64,
    /// Impacts since the start.
    pub impacts: Vec<LogLine>,
    /// The newest denials and real clients' requests, newest last.
    pub log: VecDeque<LogLine>,
}

/// Builds the [`View`] from the events as they are logged.
pub struct ViewBuilder {
    view: View,
    ids: Vec<SignalId>,
    /// The diagram's signals, resolved.
    drawn: Vec<(String, SignalId)>,
    host_index: BTreeMap<String, usize>,
}

impl ViewBuilder {
    /// The view of `ex`'s plant, before anything happened, in run `run` with `seed`;
    /// `drawn` are the signals the process diagram shows.
    pub fn new(ex: &Exercise, sim: &Sim, run: u32, seed: u64, drawn: &[String]) -> ViewBuilder {
        let process = &sim.world.resource::<ProcessState>().process;
        let drawn: Vec<(String, SignalId)> = drawn
            .iter()
            .filter_map(|n| Some((n.clone(), process.signal_id(n)?)))
            .collect();
        let plant = &ex.plant;
        let mut names: Vec<String> = Vec::new();
        for n in plant
            .process
            .band
            .iter()
            .map(|b| b.get_ref().signal.get_ref())
            .chain(plant.process.limit.iter().map(|l| l.get_ref().signal.get_ref()))
        {
            if !names.contains(n) {
                names.push(n.clone());
            }
        }
        let mut ids = Vec::new();
        let mut signals = Vec::new();
        for n in names {
            let Some(id) = process.signal_id(&n) else { continue };
            ids.push(id);
            let band = plant
                .process
                .band
                .iter()
                .map(|b| b.get_ref())
                .find(|b| b.signal.get_ref() == &n)
                .map(|b| [b.min, b.max]);
            let limits = plant
                .process
                .limit
                .iter()
                .map(|l| l.get_ref())
                .filter(|l| l.signal.get_ref() == &n)
                .map(|l| LimitView {
                    name: l.name.clone(),
                    above: l.above,
                    below: l.below,
                })
                .collect();
            signals.push(SignalView {
                name: n,
                value: 0.0,
                band,
                limits,
                state: "normal",
            });
        }
        let topo = sim.network().topology();
        let hosts: Vec<HostView> = topo
            .hosts
            .iter()
            .map(|h| HostView {
                name: h.name.clone(),
                zone: topo.zone_of(h.id).name.clone(),
                role: h.role.as_str(),
                address: h.address.to_string(),
                denials: 0,
                alerts: 0,
                requests: 0,
            })
            .collect();
        let host_index = hosts
            .iter()
            .enumerate()
            .map(|(i, h)| (h.name.clone(), i))
            .collect();
        ViewBuilder {
            view: View {
                exercise: ex.info.name.clone(),
                run,
                seed,
                playbook: ex.playbook.as_ref().map(|(_, pb)| pb.name.clone()),
                playbook_state: "not started",
                values: BTreeMap::new(),
                links: Vec::new(),
                t_s: 0.0,
                speed: 1.0,
                paused: false,
                signals,
                hosts,
                steps: Vec::new(),
                alerts: VecDeque::new(),
                alerts_total: 0,
                impacts: Vec::new(),
                log: VecDeque::new(),
            },
            ids,
            drawn,
            host_index,
        }
    }

    fn host(&mut self, name: &str) -> Option<&mut HostView> {
        let i = *self.host_index.get(name)?;
        self.view.hosts.get_mut(i)
    }

    fn log(&mut self, t: SimTime, kind: &'static str, text: String) {
        self.view.log.push_back(LogLine {
            t_s: t.as_secs_f64(),
            kind,
            text,
        });
        if self.view.log.len() > REQUESTS_KEPT {
            self.view.log.pop_front();
        }
    }

    /// Takes in a batch of logged events.
    pub fn events(&mut self, events: &[Event]) {
        for e in events {
            match &e.kind {
                EventKind::StepPlanned {
                    step,
                    id,
                    technique,
                    technique_name,
                    ..
                } => self.view.steps.push(StepView {
                    step: *step,
                    id: id.clone(),
                    technique: technique.clone(),
                    technique_name: technique_name.clone(),
                    status: "planned".into(),
                    detail: String::new(),
                    started_s: None,
                    time_to_detect_s: None,
                }),
                EventKind::StepStarted { step, .. } => {
                    if let Some(s) = self.view.steps.iter_mut().find(|s| s.step == *step) {
                        s.status = "running".into();
                        s.started_s = Some(e.t.as_secs_f64());
                    }
                }
                EventKind::StepEnded {
                    step, status, detail, ..
                } => {
                    if let Some(s) = self.view.steps.iter_mut().find(|s| s.step == *step) {
                        s.status = status.clone();
                        s.detail = detail.clone();
                    }
                }
                EventKind::Alert(a) => {
                    self.view.alerts_total += 1;
                    for st in &a.steps {
                        if let Some(s) = self.view.steps.iter_mut().find(|s| s.step == *st)
                            && s.time_to_detect_s.is_none()
                        {
                            s.time_to_detect_s = s.started_s.map(|t0| e.t.as_secs_f64() - t0);
                        }
                    }
                    for h in [&a.src, &a.dst] {
                        if let Some(h) = self.host(h) {
                            h.alerts += 1;
                        }
                    }
                    self.view.alerts.push_back(AlertView {
                        t_s: e.t.as_secs_f64(),
                        detector: a.detector.clone(),
                        signature: a.signature.clone(),
                        technique: a.technique.clone(),
                        tactic: a.tactic.clone(),
                        src: a.src.clone(),
                        dst: a.dst.clone(),
                    });
                    if self.view.alerts.len() > ALERTS_KEPT {
                        self.view.alerts.pop_front();
                    }
                }
                EventKind::FrameBlocked {
                    src, dst, at, rule, ..
                } => {
                    for h in [src, dst] {
                        if let Some(h) = self.host(h) {
                            h.denials += 1;
                        }
                    }
                    let text = format!("{src} -> {dst} blocked at {at} by {rule:?}");
                    self.log(e.t, "blocked", text);
                }
                EventKind::ClientRequest {
                    device,
                    client,
                    peer,
                    request,
                    answer,
                    ..
                } => {
                    for h in [device, client] {
                        if let Some(h) = self.host(h) {
                            h.requests += 1;
                        }
                    }
                    let text = crate::live::client_request_line(peer, client, device, request, answer);
                    self.log(e.t, "request", text);
                }
                EventKind::Impact {
                    technique,
                    technique_name,
                    description,
                    ..
                }
                | EventKind::DeviceImpact {
                    technique,
                    technique_name,
                    description,
                    ..
                } => self.view.impacts.push(LogLine {
                    t_s: e.t.as_secs_f64(),
                    kind: "impact",
                    text: format!("{technique} {technique_name}: {description}"),
                }),
                _ => {}
            }
        }
    }

    /// The view as the plant is now.
    pub fn snapshot(&mut self, sim: &Sim, speed: f64, paused: bool) -> &View {
        let process = &sim.world.resource::<ProcessState>().process;
        for (name, id) in &self.drawn {
            self.view.values.insert(name.clone(), process.get(*id));
        }
        self.view.links.clear();
        self.view.links.extend(sim.network().link_frames());
        self.view.playbook_state = match sim.world.get_resource::<otrange_attacks::agent::Campaign>() {
            None => "none",
            Some(c) if c.finished() => "finished",
            Some(c) if !c.started() => "not started",
            Some(c) => match c.pace() {
                otrange_attacks::agent::Pace::Running => "running",
                otrange_attacks::agent::Pace::Held => "held",
                otrange_attacks::agent::Pace::OneStep => "stepping",
            },
        };
        for (s, &id) in self.view.signals.iter_mut().zip(&self.ids) {
            s.value = process.get(id);
            let beyond = s
                .limits
                .iter()
                .any(|l| l.above.is_some_and(|a| s.value > a) || l.below.is_some_and(|b| s.value < b));
            let outside = s.band.is_some_and(|[lo, hi]| s.value < lo || s.value > hi);
            s.state = if beyond {
                "beyond limit"
            } else if outside {
                "outside band"
            } else {
                "normal"
            };
        }
        self.view.t_s = sim.now().as_secs_f64();
        self.view.speed = speed;
        self.view.paused = paused;
        &self.view
    }
}
