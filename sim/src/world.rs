//! The simulation: a bevy_ecs world holding the plant, one schedule that is one tick, and
//! the runner that advances the clock from one due event to the next.
//!
//! A tick runs the system sets of DESIGN.md §3 in this order, on the single-threaded
//! executor, with ambiguity detection set to error so that no two systems touching the
//! same data are left unordered:
//! Process → FieldIo → Control → Agents → Network → Services → Observe.

use crate::base::clock::{AgentsPending, Clock, Wakeups};
use crate::base::events::{Event, EventKind, EventLog};
use crate::base::time::SimTime;
use crate::devices::host::dispatch_deliveries;
use crate::devices::plc::PlcSchedule;
use crate::devices::summary::DeviceFigures;
use crate::net::Network;
use crate::process::state::{ProcessState, integrate_process};
use bevy_ecs::prelude::*;
use bevy_ecs::schedule::{LogLevel, ScheduleBuildSettings, ScheduleLabel, SingleThreadedExecutor};
use bevy_ecs::system::{SystemParam, SystemState};
use std::sync::Arc;

/// The phases of a tick, in the order they run. Attack and defence crates add their
/// systems to these sets (attackers in `Agents`, detectors' analytics in `Observe`).
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SimSet {
    /// Integrate the physics; record impacts.
    Process,
    /// PLCs read sensors into their input image.
    FieldIo,
    /// PLC programs scan; outputs drive actuators.
    Control,
    /// HMIs, operators, historians, IT hosts and attackers act by sending frames.
    Agents,
    /// Frames move and are delivered.
    Network,
    /// Devices answer what was delivered.
    Services,
    /// Periodic analytics and housekeeping.
    Observe,
}

/// The label of the one schedule that is a tick.
#[derive(ScheduleLabel, Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tick;

/// Builds the tick schedule: the phases in order, on the single-threaded executor with
/// ambiguity detection as an error, holding the core systems and every kind's systems.
pub fn tick_schedule() -> Schedule {
    let mut s = Schedule::new(Tick);
    s.set_executor(SingleThreadedExecutor::new());
    s.set_build_settings(ScheduleBuildSettings {
        ambiguity_detection: LogLevel::Error,
        ..Default::default()
    });
    s.configure_sets(
        (
            SimSet::Process,
            SimSet::FieldIo,
            SimSet::Control,
            SimSet::Agents,
            SimSet::Network,
            SimSet::Services,
            SimSet::Observe,
        )
            .chain(),
    );
    s.add_systems(integrate_process.in_set(SimSet::Process));
    s.add_systems(deliver_frames.in_set(SimSet::Network));
    s.add_systems(dispatch_deliveries.in_set(SimSet::Services));
    s.add_systems(crate::devices::host_log::feed_host_sensors.in_set(SimSet::Observe));
    // Every device kind's systems, in registration order within each phase.
    crate::plant::add_device_systems(&mut s);
    s
}

/// Network: every frame event due by now is processed (hops, policy, taps, delivery).
fn deliver_frames(clock: Res<Clock>, mut net: ResMut<Network>, mut log: ResMut<EventLog>) {
    net.run_until(clock.now, &mut log);
    net.collect_tap_events(&mut log);
}

/// A plant, ready to run.
pub struct Sim {
    /// The plant's entities and resources (network, process, event log, clock).
    pub world: World,
    /// The tick schedule ([`tick_schedule`] plus whatever attack and defence crates add).
    pub schedule: Schedule,
    started: bool,
    ticks: TickCounts,
    /// Impact limits fired when the agents last ran: one fired since asks for a full tick.
    fired_seen: usize,
    /// Whether scan ticks are allowed ([`Sim::set_scan_ticks`]).
    scan_ticks_allowed: bool,
    /// What the runner reads and writes between ticks, fetched once per stretch.
    runner: SystemState<RunnerParams<'static, 'static>>,
}

impl Sim {
    /// Wraps a built world. See [`crate::plant::build`].
    pub fn new(mut world: World, schedule: Schedule) -> Self {
        world.init_resource::<crate::base::clock::AgentsPending>();
        world.init_resource::<PlcSchedule>();
        world.init_resource::<crate::devices::host_log::HostLog>();
        let runner = SystemState::new(&mut world);
        Sim {
            world,
            schedule,
            started: false,
            ticks: TickCounts::default(),
            fired_seen: 0,
            scan_ticks_allowed: true,
            runner,
        }
    }

    /// The time of the last tick run (zero before the first).
    pub fn now(&self) -> SimTime {
        self.world.resource::<Clock>().now
    }
    /// Ticks run so far (a measure of simulation work, for benchmarks).
    pub fn ticks(&self) -> u64 {
        self.ticks.total()
    }
    /// Ticks run so far, by how they ran: what a benchmark or test reads to see how much of
    /// a run needed the whole schedule.
    pub fn tick_counts(&self) -> TickCounts {
        self.ticks
    }
    /// Allows or forbids scan ticks. Forbidden, every tick runs the whole schedule: the
    /// outputs must be the same, only slower (the check that no system depends on being
    /// run at ticks it did not ask for).
    pub fn set_scan_ticks(&mut self, allowed: bool) {
        self.scan_ticks_allowed = allowed;
    }

    /// Allows or forbids scans done ahead of their instant (one sweep over the PLCs per
    /// physics step: docs/src/architecture.md, "Scans done ahead"). Forbidden, each PLC
    /// scans at its instant: the outputs must be the same, only slower.
    pub fn set_scan_ahead(&mut self, allowed: bool) {
        self.world.resource_mut::<PlcSchedule>().ahead.allowed = allowed;
    }

    /// Allows or forbids skipping the PLC scans that would change nothing (a program that
    /// settled on unchanged memory: `PlcProgram::scan`). Forbidden, every scan runs its
    /// program: the outputs must be the same, only slower.
    pub fn set_settled_scans(&mut self, allowed: bool) {
        let mut plcs = self.world.query::<&mut crate::devices::plc::Plc>();
        for mut plc in plcs.iter_mut(&mut self.world) {
            plc.program.allow_skipping(allowed);
        }
    }

    /// Runs the world until simulated time `until`, ticking only when something is due:
    /// a wake-up some system asked for, or a frame arriving at a host that must answer it.
    pub fn run_until(&mut self, until: SimTime) {
        self.advance(until, true);
    }

    /// Runs every tick due strictly before `until` and stops there without ticking at
    /// `until` itself: an observer (the runner's process trace) can read the world at any
    /// instant without adding a tick, so a run's outputs do not depend on how often it is
    /// looked at.
    pub fn run_before(&mut self, until: SimTime) {
        self.advance(until, false);
    }

    fn advance(&mut self, until: SimTime, tick_at_until: bool) {
        // Scans done ahead stop where this stretch does (see devices::scan_ahead).
        self.world.resource_mut::<PlcSchedule>().ahead.horizon = if tick_at_until {
            SimTime(until.0.saturating_add(1))
        } else {
            until
        };
        if !self.started {
            self.started = true;
            self.tick(SimTime::ZERO);
        }
        loop {
            // The runner's resources are fetched once for a whole stretch of physics steps
            // and scan ticks, which need no schedule: only a full tick hands the world back
            // to the executor.
            let cx = Decide {
                until,
                tick_at_until,
                fired_seen: self.fired_seen,
                scan_ticks_allowed: self.scan_ticks_allowed,
            };
            let mut p = self
                .runner
                .get_mut(&mut self.world)
                .expect("a plant's world holds the runner's resources (plant::build)");
            let t = loop {
                match cx.next(&mut p) {
                    Next::Stop => return,
                    Next::Step(step) => p.process.integrate_until(step, &mut p.log),
                    Next::Tick(t, TickKind::Scans) => {
                        if p.only_scans_ahead(t) {
                            self.ticks.scans += p.quiet_run(cx.quiet_bound(&p));
                        } else {
                            p.run_scans(t, None);
                        }
                        self.ticks.scans += 1;
                    }
                    Next::Tick(t, TickKind::Pollers(which)) => {
                        p.run_scans(t, Some(which));
                        self.ticks.pollers += 1;
                    }
                    Next::Tick(t, TickKind::Full) => break t,
                }
            };
            self.tick(t);
        }
    }

    /// Runs the schedule: a full tick at `t`.
    fn tick(&mut self, t: SimTime) {
        self.world.resource_mut::<Clock>().now = t;
        self.world.resource_mut::<Wakeups>().pop_due(t);
        // The agents run in this tick: what was waiting for them is theirs now, and mail
        // sorted later in the tick sets the flag again for the next one.
        *self.world.resource_mut::<AgentsPending>() = AgentsPending::default();
        self.schedule.run(&mut self.world);
        self.fired_seen = self.world.resource::<ProcessState>().fired.len();
        self.world.resource_mut::<Wakeups>().pop_due(t);
        self.world.clear_trackers();
        self.ticks.full += 1;
    }

    /// Every device's figures so far, by device name: kinds in registration order, each
    /// kind's devices in host order. [`Sim::finish`] logs them; a test may look mid-run.
    pub fn device_summaries(&mut self) -> Vec<(String, DeviceFigures)> {
        let figures = crate::plant::device_summaries(&mut self.world);
        let topo = Arc::clone(self.network().topology());
        figures
            .into_iter()
            .map(|(host, f)| (topo.host(host).name.clone(), f))
            .collect()
    }

    /// Ends the run at the current time: logs the findings middleboxes still hold, then the
    /// accounts of the run that results are computed from (every device's, the process's,
    /// the network's, each sensor's) and `run_ended`. Call once, after the last
    /// [`Sim::run_until`].
    pub fn finish(&mut self) {
        let now = self.now();
        let devices = self.device_summaries();
        let ticks = self.ticks.total();
        let ps = self.world.resource::<ProcessState>();
        let process = EventKind::ProcessSummary {
            bands: ps.process.bands().to_vec(),
            final_values: ps
                .process
                .signal_names()
                .map(|(id, n)| (n.to_string(), ps.process.get(id)))
                .collect(),
            integration: Some(ps.process.integration().clone()).filter(|i| i.substepped()),
        };
        self.world.resource_scope(|world, mut net: Mut<Network>| {
            let mut log = world.resource_mut::<EventLog>();
            net.collect_tap_events(&mut log);
            for (device, figures) in devices {
                log.push(now, EventKind::DeviceSummary { device, figures });
            }
            log.push(now, process);
            log.push(
                now,
                EventKind::NetworkSummary {
                    policy: net.policy_name(),
                    policy_summary: net.policy_summary(),
                    stats: net.stats.clone(),
                },
            );
            for (sensor, summary) in net.sensor_summaries() {
                log.push(now, EventKind::SensorSummary { sensor, summary });
            }
            let topo = Arc::clone(net.topology());
            for (stream, figures) in net.tsn().stream_figures(&topo) {
                log.push(now, EventKind::StreamSummary { stream, figures });
            }
            for (port, stats) in net.tsn().port_figures(&topo) {
                log.push(now, EventKind::TsnPortSummary { port, stats });
            }
            log.push(now, EventKind::RunEnded { ticks });
        });
    }

    /// Takes the events logged so far (to stream them to a file).
    pub fn drain_events(&mut self) -> Vec<Event> {
        self.world.resource_mut::<EventLog>().drain()
    }

    /// Sets the calendar time the run starts at (Unix nanoseconds), which the process's
    /// daily and weekly profiles, timestamped series and PLCs' schedules follow. Call before
    /// the first step.
    pub fn set_calendar_start(&mut self, unix_ns: u64) {
        self.world
            .resource_mut::<crate::base::calendar::Calendar>()
            .start_unix_ns = unix_ns;
        self.world
            .resource_mut::<ProcessState>()
            .process
            .set_calendar_start(unix_ns);
    }

    /// The physical process, as integrated so far.
    pub fn process(&self) -> &crate::process::Process {
        &self.world.resource::<ProcessState>().process
    }

    /// The register map of the Modbus server at `host`, as its device declared it (for
    /// checking the addresses a playbook reads and writes).
    pub fn modbus_map(&self, host: crate::net::topology::HostId) -> Option<crate::devices::kind::MapSizes> {
        self.world
            .get_resource::<crate::devices::kind::ModbusMaps>()
            .and_then(|m| m.0.get(&host).copied())
    }

    /// The simulated network: topology, counters, policy, middleboxes.
    pub fn network(&self) -> &Network {
        self.world.resource::<Network>()
    }
    /// The network, to install a policy or middleboxes or to send frames.
    pub fn network_mut(&mut self) -> Mut<'_, Network> {
        self.world.resource_mut::<Network>()
    }
}

/// Ticks run, by how they ran. Every tick does all that the schedule would at its instant;
/// the kinds differ only in cost.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TickCounts {
    /// Ticks that ran the whole schedule.
    pub full: u64,
    /// Scan ticks: only local work (PLC scans) was due.
    pub scans: u64,
    /// Poller ticks: scan ticks that also stepped the HMIs and historians (answers waiting
    /// for them, or a poll round due).
    pub pollers: u64,
}

impl TickCounts {
    /// Every tick, of whatever kind (results.json's `ticks`).
    pub fn total(&self) -> u64 {
        self.full + self.scans + self.pollers
    }
}

/// The resources the runner decides and runs scan ticks with ([`Sim`]'s `advance`).
#[derive(SystemParam)]
struct RunnerParams<'w, 's> {
    clock: ResMut<'w, Clock>,
    wake: ResMut<'w, Wakeups>,
    process: ResMut<'w, ProcessState>,
    net: ResMut<'w, Network>,
    log: ResMut<'w, EventLog>,
    pending: ResMut<'w, AgentsPending>,
    host_log: ResMut<'w, crate::devices::host_log::HostLog>,
    calendar: Res<'w, crate::base::calendar::Calendar>,
    plcs: crate::devices::plc::PlcParams<'w, 's>,
    mail: crate::devices::host::Mail<'w, 's>,
    rios: Query<'w, 's, &'static mut crate::devices::remote_io::RemoteIo>,
    procedures: crate::devices::procedure::ProcedureParams<'w, 's>,
    historians: crate::devices::poller_tick::Historians<'w, 's>,
    flow_servers: crate::devices::traffic::FlowServers<'w, 's>,
}

impl RunnerParams<'_, '_> {
    /// A scan tick at `t`: what the full tick's systems would have done at an instant where
    /// only local work is due, phase by phase (see [`TickKind::Scans`]); with `pollers`, a
    /// poller tick, which also steps those pollers ([`TickKind::Pollers`]).
    fn run_scans(&mut self, t: SimTime, pollers: Option<crate::devices::poller_tick::Step>) {
        // Each resource is borrowed once for the whole tick: every `&mut` through a `ResMut`
        // marks it changed again, a store per use that was a few per cent of a scan tick
        // (nothing reads resources' change ticks; the executor's full ticks mark them too).
        let RunnerParams {
            clock,
            wake,
            process,
            net,
            log,
            pending,
            host_log,
            calendar,
            plcs,
            mail,
            rios,
            procedures,
            historians,
            flow_servers,
        } = self;
        let (wake, process, net, log) = (&mut **wake, &mut **process, &mut **net, &mut **log);
        clock.now = t;
        wake.pop_due(t);
        // Field I/O: the PLCs due read their inputs, the remote I/O modules mirror theirs.
        plcs.read_inputs_due(t, process);
        for rio in &*rios {
            rio.mirror_inputs(process, net, plcs.plc_mut(rio.plc()));
        }
        // Control: the PLCs due scan, the modules mirror their outputs.
        plcs.scan_due(t, calendar, process, log);
        for mut rio in rios {
            let plc = plcs.plc_mut(rio.plc());
            rio.mirror_outputs(t, process, net, log, plc);
        }
        // Agents: the HMIs and historians, then the site's procedures, which look at their
        // triggers at every tick.
        if let Some(which) = pollers {
            pending.answers = false;
            let agents = (&mut procedures.hmis, &mut *historians);
            crate::devices::poller_tick::step(t, which, agents, mail, net, wake, log);
        }
        procedures.run(t, process, net, wake, log);
        // Network: what is due by now moves, and the taps' findings are logged.
        net.run_until(t, log);
        net.collect_tap_events(log);
        // Services: mail is sorted into the inboxes, the PLCs that scanned serve theirs.
        mail.sort(net, pending);
        plcs.serve_due(t, net, log, mail);
        if mail.flow_requests() {
            crate::devices::traffic::serve_flows(t, flow_servers, mail, net);
        }
        // Observe: unclaimed mail is discarded, the host sensors see what hosts logged.
        mail.discard_unclaimed();
        host_log.feed(net, log);
        wake.pop_due(t);
    }

    /// The scan tick at `t` when all that falls due is scans done ahead with no request
    /// waiting, nearly every tick of a plant of many PLCs: [`Self::run_scans`] less the
    /// calls that would find nothing to do (no remote I/O module, no frame due or mail to
    /// sort, no procedure waiting, no PLC to scan or serve). Returns false, having touched
    /// nothing, at any other tick.
    fn only_scans_ahead(&mut self, t: SimTime) -> bool {
        let quiet = self.rios.is_empty()
            && !self.net.mail_waiting()
            && self.net.next_event().is_none_or(|e| e > t)
            && !self.mail.sorted_this_tick()
            && self.procedures.all_done();
        quiet && self.quiet_tick(t)
    }

    /// The quiet scan ticks that follow one ([`Self::only_scans_ahead`]) before `bound` (the
    /// next wake-up, physics step or end of the stretch), run back to back. Between two of
    /// them the decision ([`Decide::next`]) could only find the next PLC's scan, moving the
    /// frames that need no tick up to it: that is all this does between them. Stops at the
    /// first instant that is not quiet, having changed nothing but those frames (the
    /// decision then finds the same instant, the same way); returns how many ticks ran.
    /// The rest of [`Self::only_scans_ahead`]'s conditions (no remote I/O module, no mail
    /// sorted, every procedure done) hold for the whole run: nothing in it changes them.
    /// At a thousand PLCs a quiet tick with its decision was about 700 instructions, half of
    /// a scan's share of the run, most of it spent finding again what had not changed.
    fn quiet_run(&mut self, bound: SimTime) -> u64 {
        let mut ran = 0;
        while let Some(t) = self.plcs.next_scan()
            && t < bound
        {
            let (net, log) = (&mut *self.net, &mut *self.log);
            // The peek first: most instants have no frame before them, and the call costs
            // more than the look (1 % of a plant without frames, counted by cachegrind).
            if net.next_event().is_some_and(|e| e < t) && net.lookahead(t, log).is_some() {
                break; // a delivery that needs a tick comes first
            }
            let quiet = !net.has_fates() && !net.mail_waiting() && net.next_event().is_none_or(|e| e > t);
            if !quiet {
                break;
            }
            let before = bound.min(net.next_event().unwrap_or(SimTime::MAX));
            let stretch = self.quiet_stretch(before);
            ran += if stretch > 0 {
                stretch
            } else if self.quiet_tick(t) {
                1
            } else {
                break;
            };
        }
        ran
    }

    /// The quiet scan ticks before `before` (the next frame's event or [`Self::quiet_run`]'s
    /// bound), one after the other without looking up again what cannot change until then:
    /// no frame moves, so no mail arrives and no middlebox finds anything; no wake-up falls
    /// due. Each instant is only its PLCs taken out of the index and put back
    /// ([`crate::devices::plc::PlcParams::quiet_instant`]); the end of a tick (the taps'
    /// findings collected, the hosts' logs fed to their sensors) is done after the first,
    /// as [`Self::quiet_tick`] does, and would find nothing new after the others. At a
    /// thousand PLCs with frames a quiet tick came every 0.1 ms at about 430 instructions
    /// (callgrind), most of them finding again the next scan, the next frame and the
    /// wake-ups; the stretch saves about 260 of them (docs/src/performance.md).
    /// Returns how many ticks ran: none when the first instant is not quiet, or when the
    /// PLCs' periods differ (then [`Self::quiet_tick`] takes it).
    fn quiet_stretch(&mut self, before: SimTime) -> u64 {
        let Some(first) = self.quiet_instant(before) else {
            return 0;
        };
        self.end_quiet_tick(first);
        // Each resource borrowed once for the stretch (see `run_scans`).
        let RunnerParams {
            clock,
            log,
            plcs,
            mail,
            ..
        } = self;
        let (clock, log) = (&mut **clock, &mut **log);
        let mut ran = 1;
        while let Some(t) = plcs.quiet_instant(before, |e| mail.requests_waiting(e), log) {
            clock.now = t;
            ran += 1;
        }
        ran
    }

    /// The PLCs' part of a quiet stretch's next instant before `before`, if it is one.
    fn quiet_instant(&mut self, before: SimTime) -> Option<SimTime> {
        let RunnerParams { log, plcs, mail, .. } = self;
        plcs.quiet_instant(before, |e| mail.requests_waiting(e), log)
    }

    /// The scan tick at `t`, once the rest of the plant is known to be quiet, if all that
    /// falls due is scans done ahead with no request waiting: their events are logged and
    /// they go back in the index. Returns false, having touched nothing, otherwise.
    fn quiet_tick(&mut self, t: SimTime) -> bool {
        let RunnerParams { log, plcs, mail, .. } = self;
        if !plcs.put_back_if_ahead(t, |e| mail.requests_waiting(e), log) {
            return false;
        }
        self.end_quiet_tick(t);
        true
    }

    /// The rest of a quiet tick at `t`, its PLCs put back: the clock set, and as at the end
    /// of any tick, the findings of the frames moved since and the hosts' new logs.
    fn end_quiet_tick(&mut self, t: SimTime) {
        let RunnerParams {
            clock,
            wake,
            net,
            log,
            host_log,
            ..
        } = self;
        let (net, log) = (&mut **net, &mut **log);
        clock.now = t;
        wake.pop_due(t);
        net.collect_tap_events(log);
        host_log.feed(net, log);
    }
}

/// What the runner does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    /// Nothing more before the end of the stretch asked for.
    Stop,
    /// A physics step ends before the next tick: it is integrated there, without a tick.
    Step(SimTime),
    /// A tick at this time, of this kind.
    Tick(SimTime, TickKind),
}

/// How a tick runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TickKind {
    /// The schedule: every system.
    Full,
    /// Only local work is due (see [`Decide::only_local_due`]): the work of the systems that
    /// have any there (PLCs, remote I/O, procedures, the network's events due, mail sorted
    /// and discarded, host sensors fed) is done as plain calls in the schedule's order
    /// ([`RunnerParams::run_scans`]), without the executor's cost per system, which at a
    /// thousand PLCs was most of a scan's cost.
    Scans,
    /// A scan tick that also steps the HMIs and historians, when they are all the agents
    /// have due: answers waiting for them, or a wake-up they asked for (a poll round, a
    /// timeout, an operator's reaction; see [`crate::devices::poller_tick`]). In a plant
    /// polled by one SCADA HMI, most of the ticks that are not scan ticks.
    Pollers(crate::devices::poller_tick::Step),
}

/// What the decision depends on besides the world.
struct Decide {
    until: SimTime,
    tick_at_until: bool,
    fired_seen: usize,
    scan_ticks_allowed: bool,
}

impl Decide {
    /// The next thing to do: the runner ticks only when something is due, a wake-up some
    /// system asked for or a frame arriving at a host that must answer it.
    fn next(&self, p: &mut RunnerParams) -> Next {
        let now = p.clock.now;
        if now >= self.until {
            return Next::Stop;
        }
        let bound = p
            .wake
            .next()
            .into_iter()
            .chain(p.plcs.next_scan())
            .min()
            .unwrap_or(SimTime::MAX)
            .clamp(now, self.until);
        // A physics step ending before the next tick is integrated when it ends, after the
        // network's events before it: its impacts are then logged in time order with the
        // frames that look-ahead moves (TSN streams' frames need no tick).
        let step = p.process.next_step();
        let early = step < bound && step > now;
        let ahead = if early { step } else { bound };
        let next = p.net.lookahead(ahead, &mut p.log);
        if early && next.is_none() {
            return Next::Step(step);
        }
        let next = next.unwrap_or(bound);
        // A tick never repeats a time: whatever is due "now" was served by this tick.
        let t = next
            .max(SimTime(now.0 + 1))
            .min(self.until.max(SimTime(now.0 + 1)));
        if !self.tick_at_until && t >= self.until {
            return Next::Stop;
        }
        let kind = if !self.scan_ticks_allowed || !self.only_local_due(p, t) {
            TickKind::Full
        } else if p.wake.next_pollers().is_some_and(|w| w <= t) {
            TickKind::Pollers(crate::devices::poller_tick::Step::All)
        } else if p.pending.answers {
            TickKind::Pollers(crate::devices::poller_tick::Step::Answered)
        } else {
            TickKind::Scans
        };
        Next::Tick(t, kind)
    }

    /// Where a run of quiet scan ticks must stop for the decision to look again: the next
    /// wake-up of any kind, the next physics step, the end of the stretch (a tick at it is
    /// left to the decision, which knows whether to run it). Until then nothing the
    /// decision reads changes but the PLCs' index and the network, which
    /// [`RunnerParams::quiet_run`] checks at every instant.
    fn quiet_bound(&self, p: &RunnerParams) -> SimTime {
        p.wake
            .next()
            .unwrap_or(SimTime::MAX)
            .min(p.process.next_step())
            .min(self.until)
    }

    /// Whether a scan tick at `t` (or a poller tick, if the pollers have something due) does
    /// all that a full one would: nothing but local work is due, no physics step ends at `t`
    /// (its impacts could trigger a procedure), and the agents have nothing else waiting
    /// (mail, an attacker's frame fates, an impact fired since they last ran). Every agent
    /// acts only at a wake-up it asked for or on what it was sent, so at such an instant the
    /// others would do nothing. Frames due at `t` need no full tick: the agents run before
    /// the network in a tick, so what those frames bring reaches them at a later tick
    /// either way, and a scan tick moves them, sorts them and serves IT requests as the
    /// schedule would.
    fn only_local_due(&self, p: &RunnerParams, t: SimTime) -> bool {
        p.wake.next_full().is_none_or(|f| f > t)
            && !p.pending.mail
            && !p.net.has_fates()
            && p.process.next_step() > t
            && p.process.fired.len() == self.fired_seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::plc::Plc;

    /// Three buildings of the scale benchmark's kind: a PLC each keeping a tank's level with
    /// a pump, every scan done ahead in the sweep, and an HMI polling them (a PLC answers at
    /// the end of its own scan, so one scanned in another's place answers late).
    fn plant() -> crate::plant::PlantConfig {
        let mut p = String::from(
            "[plant]\nname = \"three\"\n[[zone]]\nname = \"field\"\nlevel = \"L1\"\n\
             [[host]]\nname = \"sw\"\nrole = \"switch\"\nzone = \"field\"\naddress = \"10.0.0.1\"\n\
             [[host]]\nname = \"scada\"\nrole = \"hmi\"\nzone = \"field\"\naddress = \"10.0.0.2\"\n\
             [[link]]\na = \"scada\"\nb = \"sw\"\n\
             [[hmi]]\nhost = \"scada\"\npoll_period = \"1s\"\npoll = [\
             { plc = \"b0\", read = \"ir:0\" }, { plc = \"b1\", read = \"ir:0\" }, \
             { plc = \"b2\", read = \"ir:0\" }]\n",
        );
        for i in 0..3 {
            p += &format!(
                "[[host]]\nname = \"b{i}\"\nrole = \"plc\"\nzone = \"field\"\naddress = \"10.0.0.{}\"\n\
                 services = [\"modbus\"]\n[[link]]\na = \"b{i}\"\nb = \"sw\"\n",
                10 + i
            );
        }
        for i in 0..3 {
            p += &format!(
                "[[process.valve]]\nname = \"b{i}_draw\"\nmax_flow_m3s = 0.01\ninitial_opening = 0.5\n\
                 [[process.pump]]\nname = \"b{i}_pump\"\nmax_flow_m3s = 0.02\n\
                 [[process.tank]]\nname = \"b{i}_tank\"\narea_m2 = 4.0\nheight_m = 3.0\n\
                 initial_level_m = {}\ninflows = [\"b{i}_pump.flow\"]\noutflows = [\"b{i}_draw.flow\"]\n",
                1.0 + 0.2 * f64::from(i)
            );
        }
        for i in 0..3 {
            p += &format!(
                "[[plc]]\nhost = \"b{i}\"\nscan_period = \"100ms\"\n[plc.modbus]\ncoils = 4\n\
                 input_registers = 4\nholding_registers = 4\n\
                 [[plc.io]]\nsignal = \"b{i}_tank.level\"\nto = \"ir:0\"\nscale = 100.0\n\
                 [[plc.io]]\nsignal = \"b{i}_pump.run\"\nfrom = \"co:0\"\n\
                 [[plc.program]]\ntype = \"onoff\"\nname = \"level\"\npv = \"ir:0\"\nout = \"co:0\"\n\
                 on_below = {}\noff_above = {}\n",
                90 + 20 * i,
                180 + 20 * i
            );
        }
        toml::from_str(&p).expect("the test plant parses")
    }

    /// The run's event log (the PLCs' accounts and the tick count in it) and the process's
    /// signals after `secs` simulated seconds, the first PLC's entity moved to storage of
    /// its own halfway through when `moved`.
    fn run(moved: bool, secs: u64) -> (String, Vec<(String, f64)>) {
        #[derive(Component)]
        struct Marker;
        let mut sim = crate::plant::build(&plant(), 3).expect("the test plant builds");
        sim.run_until(SimTime(secs / 2 * 1_000_000_000));
        if moved {
            let mut plcs = sim.world.query::<(Entity, &Plc)>();
            let first = plcs.iter(&sim.world).next().expect("a PLC").0;
            sim.world.entity_mut(first).insert(Marker);
        }
        sim.run_until(SimTime(secs * 1_000_000_000));
        let signals = sim
            .process()
            .signal_names()
            .map(|(id, n)| (n.to_string(), sim.process().get(id)))
            .collect();
        sim.finish();
        (format!("{:?}", sim.drain_events()), signals)
    }

    #[test]
    fn a_plc_moved_in_storage_mid_run_still_scans_its_own_state() {
        // The sweep walks the PLC query in rank order; an entity moved to other storage
        // changes that order, and the walk must notice and look the rest up by entity. Were
        // a PLC scanned in another's place, it would keep that one's schedule, and at its
        // own instant the other would find it had not scanned and leave the HMI's request
        // waiting (checked: without the entity check, the event logs differ).
        let (still, moved) = (run(false, 600), run(true, 600));
        assert!(still.0 == moved.0, "the event logs differ");
        assert_eq!(still.1, moved.1);
        let levels: Vec<f64> = still
            .1
            .iter()
            .filter(|(n, _)| n.ends_with("_tank.level"))
            .map(|&(_, v)| v)
            .collect();
        assert_eq!(levels.len(), 3);
        assert!(
            levels.iter().all(|&l| (0.8..=2.2).contains(&l)),
            "each PLC keeps its tank between its thresholds: {levels:?}"
        );
    }
}
