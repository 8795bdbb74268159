//! The attacker: actors holding footholds, a campaign running a playbook's steps in order,
//! and the system that drives it each tick. It plugs into the simulation like any agent
//! (the `Agents` set), sends labelled frames through the same network (so policies and
//! detectors see it as they see anyone) and learns what became of them: answers, and
//! frames a firewall denied.

use crate::playbook::{CredentialRef, Playbook, Timing};
use crate::techniques::{self, Executor, Outcome, Progress, StepCx};
use bevy_ecs::prelude::*;
use otrange_sim::base::clock::{Clock, Wakeups};
use otrange_sim::base::events::{EventKind, EventLog};
use otrange_sim::base::time::SimTime;
use otrange_sim::devices::host::LabelledReplies;
use otrange_sim::devices::host_log::HostLog;
use otrange_sim::devices::procedure::HostHealth;
use otrange_sim::net::Network;
use otrange_sim::net::topology::{HostId, Topology};
use otrange_sim::{Sim, SimSet};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// What an actor has learned so far; later steps build on it.
#[derive(Debug, Default, Clone)]
pub struct Loot {
    /// Hosts that answered Modbus.
    pub modbus_devices: BTreeSet<HostId>,
    /// Vendor and product from device identification, per device.
    pub identities: BTreeMap<HostId, String>,
    /// Highest holding register found readable, per device.
    pub points: BTreeMap<HostId, u16>,
}

/// One attacker.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The `[[actor]]` name in the playbook; step results and events name the actor by it.
    pub name: String,
    /// Hosts held, in the order gained; the last is where the actor works from.
    footholds: Vec<HostId>,
    /// Credentials the actor can try: the playbook's to begin with, plus a phished host's
    /// own accounts once its implant has called home. Tried before vendor defaults.
    pub credentials: Vec<CredentialRef>,
    /// What discovery and collection steps found, for the steps after them.
    pub loot: Loot,
    /// Its place in the middle of a segment, once it has one (T0830).
    pub aitm: Option<otrange_sim::net::MiddleboxId>,
}

impl Actor {
    /// Whether `h` is among the actor's footholds (a step's `params.from` counts only if so).
    pub fn holds(&self, h: HostId) -> bool {
        self.footholds.contains(&h)
    }
    /// Where the actor works from now.
    pub fn current(&self) -> HostId {
        *self
            .footholds
            .last()
            .expect("an actor always holds its start host")
    }
    /// Hosts held, in the order gained (a host taken again moves to the end): the last is
    /// the current one, and beacons call home to the first. Never empty.
    pub fn footholds(&self) -> &[HostId] {
        &self.footholds
    }
    /// Takes a host (lateral movement succeeded): it becomes where the actor works from.
    pub fn gain(&mut self, h: HostId) {
        self.footholds.retain(|x| *x != h);
        self.footholds.push(h);
    }
    /// A credential that opens `host`, from what the actor holds or the host's vendor
    /// defaults (T0812): returns the user.
    pub fn credential_for(&self, topo: &Topology, host: HostId, defaults: bool) -> Option<String> {
        let accepted = &topo.host(host).credentials;
        for c in &self.credentials {
            let here = c.host.as_deref().is_none_or(|h| h == topo.host(host).name);
            if here && accepted.iter().any(|a| a.user == c.user) {
                return Some(c.user.clone());
            }
        }
        if defaults {
            return accepted.iter().find(|a| a.default).map(|a| a.user.clone());
        }
        None
    }
}

enum StepState {
    Pending,
    Running {
        exec: Box<dyn Executor>,
        wake: Option<SimTime>,
    },
    Finished {
        outcome: Outcome,
        ended: SimTime,
    },
    NotReached,
}

/// Whether a campaign's playbook steps may start. A batch run's always may; a live
/// exercise's waits for the instructor, who can also let one step through at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Pace {
    /// Each step starts at its time (`at` counts from when the playbook started).
    Running,
    /// No new playbook step starts; a running one finishes.
    Held,
    /// The next step starts now, whatever its time, then the playbook holds again.
    OneStep,
}

/// Why the instructor's request to the campaign was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    /// The exercise runs no playbook (ad-hoc steps only).
    #[error("this exercise has no playbook: run techniques ad hoc")]
    NoPlaybook,
    /// Every playbook step has ended (or will never be reached).
    #[error("the playbook has no step left to run")]
    Finished,
    /// An ad-hoc step's technique, target, origin or parameters do not fit.
    #[error("{0}")]
    Technique(String),
}

/// A playbook being replayed, and the ad-hoc steps an instructor adds during a live run.
///
/// Steps `0..chain` are the playbook's, run in order, each after the previous one
/// succeeded; steps from `chain` on are ad-hoc, each started as soon as it is added and
/// independent of the others. A step's frames carry its number (index + 1) as their label.
#[derive(Resource)]
pub struct Campaign {
    playbook: Playbook,
    actors: Vec<Actor>,
    states: Vec<StepState>,
    topo: Arc<Topology>,
    /// How many steps have their `step_planned` event in the log.
    planned: usize,
    /// The playbook's own steps; the rest are ad-hoc.
    chain: usize,
    pace: Pace,
    /// When the playbook started: `at` times count from here. None until it starts.
    origin: Option<SimTime>,
}

impl Campaign {
    /// A campaign with every step pending and each actor holding only its start host.
    /// `topo` must be the topology the playbook was resolved against.
    pub fn new(playbook: Playbook, topo: Arc<Topology>) -> Self {
        let actors = playbook
            .actors
            .iter()
            .map(|a| Actor {
                name: a.name.clone(),
                footholds: std::iter::once(a.start).chain(a.held.iter().copied()).collect(),
                credentials: a.credentials.clone(),
                loot: Loot::default(),
                aitm: None,
            })
            .collect();
        let states = playbook.steps.iter().map(|_| StepState::Pending).collect();
        Campaign {
            chain: playbook.steps.len(),
            playbook,
            actors,
            states,
            topo,
            planned: 0,
            pace: Pace::Running,
            origin: Some(SimTime::ZERO),
        }
    }

    /// A campaign that waits for [`Campaign::start`] or [`Campaign::step_once`]: a live
    /// exercise's, started by the instructor; its `at` times then count from that moment.
    pub fn held(playbook: Playbook, topo: Arc<Topology>) -> Self {
        Campaign {
            pace: Pace::Held,
            origin: None,
            ..Campaign::new(playbook, topo)
        }
    }

    /// Whether playbook steps may start now.
    pub fn pace(&self) -> Pace {
        self.pace
    }

    /// Whether the playbook has been started (by the run, or by the instructor).
    pub fn started(&self) -> bool {
        self.origin.is_some()
    }

    /// Whether no playbook step is left to start or running.
    pub fn finished(&self) -> bool {
        !self.states[..self.chain]
            .iter()
            .any(|s| matches!(s, StepState::Pending | StepState::Running { .. }))
    }

    /// Whether a playbook step is pending: one the chain may still reach.
    fn check_pending(&self) -> Result<(), ControlError> {
        if self.chain == 0 {
            Err(ControlError::NoPlaybook)
        } else if self.states[..self.chain]
            .iter()
            .any(|s| matches!(s, StepState::Pending))
        {
            Ok(())
        } else {
            Err(ControlError::Finished)
        }
    }

    /// Lets the playbook run from `now` (its first start fixes the origin of `at` times).
    pub fn start(&mut self, now: SimTime) -> Result<(), ControlError> {
        self.check_pending()?;
        self.origin.get_or_insert(now);
        self.pace = Pace::Running;
        Ok(())
    }

    /// Stops new playbook steps from starting; a running step finishes.
    pub fn hold(&mut self) {
        self.pace = Pace::Held;
    }

    /// Starts the next playbook step now, whatever its time, then holds.
    pub fn step_once(&mut self, now: SimTime) -> Result<(), ControlError> {
        self.check_pending()?;
        self.origin.get_or_insert(now);
        self.pace = Pace::OneStep;
        Ok(())
    }

    /// Adds an ad-hoc step: `technique` against `target`, acted from `from` (a host some
    /// actor holds, or else a new actor placed there; by default where the first actor is),
    /// started at the next tick. Checked as a playbook step is; returns its step number.
    pub fn run_adhoc(
        &mut self,
        technique: &str,
        target: Option<&str>,
        from: Option<&str>,
        params: toml::Table,
    ) -> Result<u32, ControlError> {
        let bad = |m: String| ControlError::Technique(m);
        let tech = crate::catalogue::technique(technique).map_err(|e| bad(e.to_string()))?;
        let host = |name: &str, what: &str| {
            self.topo.host_by_name(name).ok_or_else(|| {
                bad(format!(
                    "unknown {what} host {name:?}: expected one of the plant's hosts"
                ))
            })
        };
        let target = target.map(|t| host(t, "target")).transpose()?;
        let from = from.map(|f| host(f, "origin")).transpose()?;
        crate::techniques::check(tech.id, target, &params, &self.topo).map_err(|e| bad(e.message))?;
        let actor = match from {
            Some(h) => match self.actors.iter().position(|a| a.holds(h)) {
                Some(i) => i,
                None => {
                    let name = format!("red team at {}", self.topo.host(h).name);
                    match self.actors.iter().position(|a| a.name == name) {
                        Some(i) => i,
                        None => {
                            self.actors.push(Actor {
                                name: name.clone(),
                                footholds: vec![h],
                                credentials: Vec::new(),
                                loot: Loot::default(),
                                aitm: None,
                            });
                            self.playbook.actors.push(crate::playbook::ActorSpec {
                                name,
                                entry: crate::playbook::EntryKind::Insider,
                                start: h,
                                held: Vec::new(),
                                credentials: Vec::new(),
                            });
                            self.actors.len() - 1
                        }
                    }
                }
            },
            None if !self.actors.is_empty() => 0,
            None => {
                return Err(bad(
                    "the exercise has no attacker yet: choose the host the red team acts from".into(),
                ));
            }
        };
        let n = self.playbook.steps.len() + 1;
        let on = target.map_or(String::new(), |t| format!(" on {}", self.topo.host(t).name));
        self.playbook.steps.push(crate::playbook::StepSpec {
            id: format!("ad hoc {}: {}{on}", n - self.chain, tech.id),
            technique: tech.id,
            technique_name: tech.name,
            tactic: tech.primary_tactic().name,
            actor,
            target,
            timing: Timing::After(otrange_sim::SimDuration::ZERO),
            params,
            description: "run by the instructor".into(),
        });
        self.states.push(StepState::Pending);
        Ok(n as u32)
    }

    /// The playbook being replayed.
    pub fn playbook(&self) -> &Playbook {
        &self.playbook
    }

    /// The actors as they stand now, in the playbook's order (what they hold and found).
    pub fn actors(&self) -> &[Actor] {
        &self.actors
    }

    /// Logs every step not yet planned, so a step the chain never reaches is in the log too.
    fn log_plan(&mut self, now: SimTime, log: &mut EventLog) {
        let from = self.planned;
        self.planned = self.playbook.steps.len();
        for (i, spec) in self.playbook.steps.iter().enumerate().skip(from) {
            log.push(
                now,
                EventKind::StepPlanned {
                    step: i as u32 + 1,
                    id: spec.id.clone(),
                    technique: spec.technique.to_string(),
                    technique_name: spec.technique_name.to_string(),
                    tactic: spec.tactic.to_string(),
                    actor: self.playbook.actors[spec.actor].name.clone(),
                    target: spec.target.map(|t| self.topo.host(t).name.clone()),
                },
            );
        }
    }

    /// When the next pending playbook step may start, if the one before it has ended
    /// and the playbook has started.
    fn start_time(&self, i: usize) -> Option<SimTime> {
        let origin = self.origin?;
        let prev_end = if i == 0 {
            Some(origin)
        } else {
            match &self.states[i - 1] {
                StepState::Finished {
                    outcome: Outcome::Succeeded { .. },
                    ended,
                    ..
                } => Some(*ended),
                _ => None,
            }
        }?;
        Some(match self.playbook.steps[i].timing {
            Timing::At(d) => (origin + d).max(prev_end),
            Timing::After(d) => prev_end + d,
        })
    }

    fn finish(&mut self, i: usize, outcome: Outcome, now: SimTime, log: &mut EventLog) {
        let StepState::Running { .. } = self.states[i] else {
            return;
        };
        let spec = &self.playbook.steps[i];
        let (status, detail) = match &outcome {
            Outcome::Succeeded { detail } => ("succeeded", detail.clone()),
            Outcome::Blocked { at, rule, .. } => ("blocked", format!("at {at} by rule {rule:?}")),
            Outcome::Failed { reason } => ("failed", reason.clone()),
        };
        let (blocked_at, rule, why) = match &outcome {
            Outcome::Blocked { at, rule, why } => (Some(at.clone()), Some(rule.clone()), why.clone()),
            _ => (None, None, None),
        };
        log.push(
            now,
            EventKind::StepEnded {
                step: i as u32 + 1,
                id: spec.id.clone(),
                technique: spec.technique.to_string(),
                status: status.into(),
                detail,
                blocked_at,
                rule,
                why,
            },
        );
        let stop = !matches!(outcome, Outcome::Succeeded { .. }) && i < self.chain;
        self.states[i] = StepState::Finished { outcome, ended: now };
        if stop {
            for s in &mut self.states[i + 1..self.chain] {
                *s = StepState::NotReached;
            }
        }
    }

    /// Runs one call of a running step's executor.
    fn drive(
        &mut self,
        i: usize,
        now: SimTime,
        env: &mut Env,
        call: impl FnOnce(&mut dyn Executor, &mut StepCx) -> Progress,
    ) -> Option<SimTime> {
        let spec = &self.playbook.steps[i];
        let StepState::Running { exec, wake, .. } = &mut self.states[i] else {
            return None;
        };
        let topo = Arc::clone(&self.topo);
        let mut cx = StepCx {
            now,
            net: &mut *env.net,
            health: &mut *env.health,
            hosts: &mut *env.hosts,
            topo: &topo,
            actor: &mut self.actors[spec.actor],
            target: spec.target,
            params: &spec.params,
            label: i as u32 + 1,
        };
        match call(exec.as_mut(), &mut cx) {
            Progress::Wait(w) => {
                *wake = w;
                w
            }
            Progress::Done(outcome) => {
                self.finish(i, outcome, now, env.log);
                None
            }
        }
    }

    /// Starts step `i` now: logs it, builds its executor and runs its first call.
    fn begin(&mut self, i: usize, now: SimTime, env: &mut Env) -> Option<SimTime> {
        let spec = &self.playbook.steps[i];
        env.log.push(
            now,
            EventKind::StepStarted {
                step: i as u32 + 1,
                id: spec.id.clone(),
                technique: spec.technique.to_string(),
                actor: self.playbook.actors[spec.actor].name.clone(),
                target: spec.target.map(|t| self.topo.host(t).name.clone()),
            },
        );
        match techniques::build(spec.technique, spec.target, &spec.params, &self.topo) {
            Ok(exec) => {
                self.states[i] = StepState::Running { exec, wake: None };
                self.drive(i, now, env, |e, cx| e.start(cx))
            }
            Err(e) => {
                // Checked when the playbook loaded; kept as a failure, never a panic.
                self.states[i] = StepState::Running {
                    exec: Box::new(Never),
                    wake: None,
                };
                self.finish(i, Outcome::Failed { reason: e.message }, now, env.log);
                None
            }
        }
    }
}

/// What a step's calls may change besides the campaign: the network, hosts' health and
/// logs, and the event log.
struct Env<'a> {
    net: &'a mut Network,
    health: &'a mut HostHealth,
    hosts: &'a mut HostLog,
    log: &'a mut EventLog,
}

/// Agents: start due steps, hand each running step its answers, fates and timers.
#[allow(clippy::too_many_arguments)] // a system's resources are its arguments
pub fn attacker_tick(
    clock: Res<Clock>,
    mut net: ResMut<Network>,
    mut wake: ResMut<Wakeups>,
    mut log: ResMut<EventLog>,
    mut replies: ResMut<LabelledReplies>,
    mut campaign: ResMut<Campaign>,
    mut health: ResMut<HostHealth>,
    mut hosts: ResMut<HostLog>,
) {
    let now = clock.now;
    let c = &mut *campaign;
    let net = &mut *net;
    if c.planned < c.playbook.steps.len() {
        c.log_plan(now, &mut log);
    }
    let fates = net.take_fates();
    let mut env = Env {
        net,
        health: &mut health,
        hosts: &mut hosts,
        log: &mut log,
    };
    for f in fates {
        let i = f.label as usize - 1;
        if i < c.states.len()
            && matches!(c.states[i], StepState::Running { .. })
            && let Some(w) = c.drive(i, now, &mut env, |e, cx| e.fate(cx, &f))
        {
            wake.at(w);
        }
    }
    for d in std::mem::take(&mut replies.0) {
        let i = d.frame.label as usize - 1;
        if i < c.states.len()
            && matches!(c.states[i], StepState::Running { .. })
            && let Some(w) = c.drive(i, now, &mut env, |e, cx| e.reply(cx, &d))
        {
            wake.at(w);
        }
    }
    for i in 0..c.states.len() {
        let due = matches!(c.states[i], StepState::Running { wake: Some(w), .. } if w <= now);
        if due && let Some(w) = c.drive(i, now, &mut env, |e, cx| e.timer(cx)) {
            wake.at(w);
        }
    }
    // Ad-hoc steps start as soon as they are added, each on its own.
    for i in c.chain..c.states.len() {
        if matches!(c.states[i], StepState::Pending)
            && let Some(w) = c.begin(i, now, &mut env)
        {
            wake.at(w);
        }
    }
    // Start the next playbook step when its time has come and the playbook may run.
    while c.pace != Pace::Held
        && let Some(i) = c.states[..c.chain]
            .iter()
            .position(|s| matches!(s, StepState::Pending))
    {
        let Some(t) = c.start_time(i) else { break };
        if c.pace == Pace::Running && t > now {
            wake.at(t);
            break;
        }
        if c.pace == Pace::OneStep {
            c.pace = Pace::Held;
        }
        if let Some(w) = c.begin(i, now, &mut env) {
            wake.at(w);
        }
        if matches!(c.states[i], StepState::Running { .. }) {
            break; // steps run one at a time, in order
        }
    }
}

/// Placeholder executor for a step that could not be built.
struct Never;
impl Executor for Never {
    fn start(&mut self, _: &mut StepCx) -> Progress {
        Progress::Wait(None)
    }
    fn reply(&mut self, _: &mut StepCx, _: &otrange_sim::net::Delivered) -> Progress {
        Progress::Wait(None)
    }
    fn timer(&mut self, _: &mut StepCx) -> Progress {
        Progress::Wait(None)
    }
}

/// Puts a playbook into a simulation: the campaign resource and its system, among the
/// agents, after the plant's own.
pub fn install(sim: &mut Sim, playbook: Playbook) {
    let topo = Arc::clone(sim.network().topology());
    sim.world.insert_resource(Campaign::new(playbook, topo));
    sim.schedule.add_systems(
        attacker_tick
            .in_set(SimSet::Agents)
            .after(otrange_sim::devices::procedure::procedures_tick)
            .after(otrange_sim::devices::host_activity::host_activity_tick),
    );
}
