//! `otrange live`: runs an exercise's plant in real time on loopback sockets, prints what
//! matters to the people in the exercise as it happens, and writes the same outputs as a
//! batch run when stopped.

use crate::console::{Command, Outcome, Refusal};
use crate::results::Results;
use crate::runner::EventSink;
use crate::scenario::Exercise;
use anyhow::Context;
use otrange_attacks::agent::{Campaign, ControlError};
use otrange_sim::base::clock::Wakeups;
use otrange_sim::base::events::{Event, EventKind};
use otrange_sim::live::pacing::LiveClock;
use otrange_sim::live::{LiveOptions, LivePlant, ManifestEntry};
use otrange_sim::{SimDuration, SimTime};
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How to go live, from the command line.
#[derive(Debug, Clone)]
pub struct LiveRunOptions {
    /// The seed of every random stream in the run.
    pub seed: u64,
    /// Simulated seconds per wall-clock second.
    pub speed: f64,
    /// The Modbus TCP port every device listens on, each on its own loopback address.
    pub port: u16,
    /// Where to write the address of every device, for the tools of the exercise.
    pub manifest: Option<PathBuf>,
    /// Output directory, created if missing.
    pub out: PathBuf,
    /// Stop after this much simulated time (default: run until Ctrl-C or SIGTERM).
    pub duration: Option<SimDuration>,
    /// Bind addresses outside 127.0.0.0/8 too (off: the plant stays on this machine).
    pub allow_non_loopback: bool,
    /// Serve the console on this address.
    pub console: Option<std::net::SocketAddr>,
}

/// The longest the simulation thread sleeps: PLC scans and HMI polls stay within this of
/// their wall-clock time.
const MAX_WAIT: Duration = Duration::from_millis(2);

/// How a run of the exercise ended.
enum Ended {
    /// Ctrl-C, SIGTERM or `--duration`.
    Stopped,
    /// The instructor asked for a new run with this seed.
    Restart(u64),
}

/// Runs until stopped; returns the results of the live run (the last one, after restarts).
pub fn live(ex: &Exercise, opts: &LiveRunOptions) -> anyhow::Result<Results> {
    if opts.allow_non_loopback {
        println!(
            "WARNING: --allow-non-loopback: these are deliberately vulnerable devices, reachable \
             from beyond this machine"
        );
    }
    // The first run's plant, built here so that the console can draw its network.
    let mut sim = ex.build(opts.seed)?;
    let console = match opts.console {
        None => None,
        Some(addr) => {
            let drawn = crate::console::diagram::draw(&ex.plant);
            let network = crate::console::network::draw(sim.network().topology()).svg;
            let c = crate::console::Console::start(
                addr,
                opts.allow_non_loopback,
                crate::console::Static {
                    diagram: drawn.svg,
                    network,
                    techniques: ad_hoc_techniques(),
                },
            )?;
            println!("console: http://{}/  (instructor token: {})", c.addr, c.token);
            Some((c, drawn.signals))
        }
    };
    let mut seed = opts.seed;
    let mut run = 0u32;
    loop {
        let out = if run == 0 {
            opts.out.clone()
        } else {
            opts.out.join(format!("restart-{run}"))
        };
        let (results, ended) = run_once(ex, opts, sim, seed, run, &out, console.as_ref())?;
        match ended {
            Ended::Stopped => return Ok(results),
            Ended::Restart(next) => {
                seed = next;
                run += 1;
                sim = ex.build(seed)?;
                println!(
                    "restarting the exercise with seed {seed}; this run writes {}",
                    opts.out.join(format!("restart-{run}")).display()
                );
            }
        }
    }
}

/// The techniques an instructor can run ad hoc: those with an executor.
fn ad_hoc_techniques() -> serde_json::Value {
    otrange_attacks::catalogue::techniques()
        .iter()
        .filter(|t| otrange_attacks::techniques::has_executor(t.id))
        .map(|t| serde_json::json!({ "id": t.id, "name": t.name, "tactic": t.primary_tactic().name }))
        .collect()
}

/// One run of the exercise, from `sim`, a fresh plant built with `seed`, to its outputs in
/// `out`.
fn run_once(
    ex: &Exercise,
    opts: &LiveRunOptions,
    mut sim: otrange_sim::Sim,
    seed: u64,
    run: u32,
    out: &Path,
    console: Option<&(crate::console::Console, Vec<String>)>,
) -> anyhow::Result<(Results, Ended)> {
    std::fs::create_dir_all(out).with_context(|| format!("creating output directory {}", out.display()))?;
    if console.is_some() {
        hold_playbook(ex, &mut sim);
    }
    let plant = LivePlant::start(
        &mut sim,
        LiveOptions {
            speed: opts.speed,
            fallback_port: opts.port,
            allow_non_loopback: opts.allow_non_loopback,
            settings: ex.live.clone(),
        },
    )?;
    print_manifest(&plant.manifest);
    let topo = std::sync::Arc::clone(sim.network().topology());
    let unmapped: Vec<String> = topo
        .hosts
        .iter()
        .filter(|h| !plant.manifest.iter().any(|m| m.name == h.name))
        .map(|h| format!("{} ({}, zone {})", h.name, h.address, topo.zone_of(h.id).name))
        .collect();
    if !unmapped.is_empty() {
        println!(
            "not on a live address (no loopback mapping in [live] address_map; they act only inside the simulation): {}",
            unmapped.join(", ")
        );
    }
    if let Some(path) = &opts.manifest {
        let f = File::create(path).with_context(|| format!("creating {}", path.display()))?;
        serde_json::to_writer_pretty(BufWriter::new(f), &plant.manifest)?;
    }
    let mut events = EventSink::create(&out.join("events.jsonl"), ex)?;
    println!(
        "live: {} at {}x real time, seed {seed}; Ctrl-C stops and writes {}",
        ex.info.name,
        opts.speed,
        out.display()
    );
    if let (Some(_), Some((_, pb))) = (console, &ex.playbook) {
        println!(
            "playbook {:?} waits for the instructor: start or step it from the console",
            pb.name
        );
    }
    let mut view =
        console.map(|(_, drawn)| crate::console::view::ViewBuilder::new(ex, &sim, run, seed, drawn));
    let end = opts.duration.map(|d| SimTime::ZERO + d);
    let mut last_publish: Option<Instant> = None;
    let mut plant = plant;
    let mut last_flush = Instant::now();
    let started_at = sim.now();
    let mut lag = crate::lag::LagMeter::new(opts.speed, Instant::now());
    let mut ended = Ended::Stopped;
    loop {
        let behind = plant.step(&mut sim, MAX_WAIT, end);
        let clock = plant.clock();
        if let Some(warning) = lag.observe(behind, sim.now(), Instant::now(), clock.speed(), clock.paused()) {
            println!("{warning}");
        }
        if let Some((c, _)) = console {
            for (command, answer) in c.commands.try_iter() {
                let outcome = obey(&command, &mut sim, &clock, seed);
                if let Ok(done) = &outcome {
                    let now = sim.now();
                    sim.world
                        .resource_mut::<otrange_sim::base::events::EventLog>()
                        .push(now, EventKind::InstructorAction { action: done.clone() });
                    if let Command::Restart { seed: next } = command {
                        ended = Ended::Restart(next.unwrap_or(seed));
                    }
                }
                let _ = answer.send(outcome);
            }
        }
        let batch = sim.drain_events();
        events.write(&batch)?;
        if let (Some((c, _)), Some(view)) = (console, &mut view) {
            view.events(&batch);
            if last_publish.is_none_or(|t| t.elapsed() >= crate::console::PUBLISH_EVERY) {
                c.publish(view.snapshot(&sim, clock.speed(), clock.paused()));
                last_publish = Some(Instant::now());
            }
        }
        for line in batch.iter().filter_map(terminal_line) {
            println!("{line}");
        }
        if last_flush.elapsed() > Duration::from_millis(250) {
            events.flush()?;
            last_flush = Instant::now();
        }
        if matches!(ended, Ended::Restart(_))
            || plant.shutdown_requested()
            || end.is_some_and(|end| sim.now() >= end)
        {
            break;
        }
    }
    plant.stop();
    sim.finish();
    events.write(&sim.drain_events())?;
    let (tally, _) = events.close()?;
    let ran = SimDuration(sim.now().as_nanos());
    let mut results = tally.results(ex, seed, ran, sim.network().topology());
    let (simulated, now) = (sim.now().saturating_since(started_at), Instant::now());
    if let Some(warning) = lag.closing_warning(simulated, now) {
        println!("{warning}");
    }
    let figures = lag.figures(simulated, now);
    println!(
        "speed: {:.1}x asked, {:.1}x achieved; the plant was at most {:.3} s behind the wall clock",
        figures.requested_speed, figures.achieved_speed, figures.max_lag_wall_s
    );
    results.live = Some(figures);
    crate::runner::write_eve(&out.join("alerts.eve.json"), &results)?;
    crate::runner::write_json(&out.join("results.json"), &results)?;
    println!(
        "stopped after {:.1} simulated seconds; wrote {}",
        ran.as_secs_f64(),
        out.display()
    );
    Ok((results, ended))
}

/// With a console the playbook waits for the instructor; without a playbook an empty
/// campaign is installed all the same, for the instructor's ad-hoc techniques.
fn hold_playbook(ex: &Exercise, sim: &mut otrange_sim::Sim) {
    let topo = std::sync::Arc::clone(sim.network().topology());
    match &ex.playbook {
        Some((_, pb)) => sim.world.insert_resource(Campaign::held(pb.clone(), topo)),
        None => otrange_attacks::agent::install(sim, otrange_attacks::playbook::Playbook::default()),
    }
}

/// Carries out one of the instructor's commands; says what was done, as the event log and
/// the terminal put it.
fn obey(command: &Command, sim: &mut otrange_sim::Sim, clock: &LiveClock, seed: u64) -> Outcome {
    let refuse = |status: u16, message: String| Err(Refusal { status, message });
    let now = sim.now();
    let done = match command {
        Command::Pause => {
            clock.pause();
            "pause".to_string()
        }
        Command::Resume => {
            clock.resume();
            "resume".to_string()
        }
        Command::Speed(x) => {
            clock.set_speed(*x);
            format!("speed {x}")
        }
        Command::Restart { seed: next } => format!("restart with seed {}", next.unwrap_or(seed)),
        Command::PlaybookStart
        | Command::PlaybookHold
        | Command::PlaybookStep
        | Command::Technique { .. } => {
            let mut campaign = sim
                .world
                .get_resource_mut::<Campaign>()
                .expect("a live run with a console always has a campaign");
            let did = match command {
                Command::PlaybookStart => campaign.start(now).map(|()| "playbook start".to_string()),
                Command::PlaybookHold => {
                    campaign.hold();
                    Ok("playbook hold".to_string())
                }
                Command::PlaybookStep => campaign.step_once(now).map(|()| "playbook step".to_string()),
                Command::Technique {
                    technique,
                    target,
                    from,
                    params,
                } => campaign
                    .run_adhoc(technique, target.as_deref(), from.as_deref(), params.clone())
                    .map(|n| {
                        let on = target.as_ref().map_or(String::new(), |t| format!(" on {t}"));
                        let at = from.as_ref().map_or(String::new(), |f| format!(" from {f}"));
                        format!("technique {technique}{on}{at} (step {n})")
                    }),
                _ => unreachable!("matched above"),
            };
            match did {
                Ok(d) => d,
                Err(e @ (ControlError::Finished | ControlError::NoPlaybook)) => {
                    return refuse(409, e.to_string());
                }
                Err(e) => return refuse(400, e.to_string()),
            }
        }
    };
    // The campaign acts at the next tick.
    sim.world.resource_mut::<Wakeups>().at(now);
    Ok(done)
}

fn print_manifest(m: &[ManifestEntry]) {
    println!(
        "{:<16} {:<24} {:<12} {:<15} address",
        "device", "role", "zone", "plant"
    );
    for e in m {
        let addr = match e.port {
            Some(p) => format!("{}:{p}", e.address),
            None => e.address.to_string(),
        };
        println!(
            "{:<16} {:<24} {:<12} {:<15} {addr}",
            e.name,
            e.role,
            e.zone,
            e.plant_address.to_string()
        );
    }
}

/// What an exercise participant should see as it happens.
fn terminal_line(e: &Event) -> Option<String> {
    let t = e.t;
    Some(match &e.kind {
        EventKind::Impact {
            technique,
            technique_name,
            description,
            ..
        } => format!("{t}  IMPACT {technique} {technique_name}: {description}"),
        EventKind::DeviceImpact {
            technique,
            technique_name,
            description,
            ..
        } => format!("{t}  IMPACT {technique} {technique_name}: {description}"),
        EventKind::Alarm {
            device,
            name,
            raised,
            value,
            ..
        } => format!(
            "{t}  alarm {} on {device}: {name} (value {value:.1})",
            if *raised { "RAISED" } else { "cleared" }
        ),
        EventKind::FrameBlocked {
            src, dst, at, rule, ..
        } => format!("{t}  BLOCKED {src} -> {dst} at {at} by rule {rule:?}"),
        EventKind::OperatorAction { hmi, action, .. } => format!("{t}  operator at {hmi}: {action}"),
        EventKind::ModeChange { device, from, to } => format!("{t}  {device} mode {from} -> {to}"),
        EventKind::MalformedRequest {
            device, peer, reason, ..
        } => format!("{t}  malformed request from {peer} to {device}: {reason} (connection closed)"),
        EventKind::Alert(a) => format!(
            "{t}  ALERT [{}] {} ({} -> {})",
            a.detector, a.signature, a.src, a.dst
        ),
        EventKind::ClientRequest {
            device,
            client,
            peer,
            request,
            answer,
            ..
        } => format!(
            "{t}  {}",
            client_request_line(peer, client, device, request, answer)
        ),
        EventKind::InstructorAction { action } => format!("{t}  instructor: {action}"),
        EventKind::StepStarted {
            step,
            id,
            technique,
            actor,
            target,
        } => format!(
            "{t}  step {step} {technique} ({id}) started by {actor}{}",
            target.as_ref().map_or(String::new(), |h| format!(" against {h}"))
        ),
        EventKind::StepEnded {
            step,
            technique,
            status,
            detail,
            ..
        } => format!("{t}  step {step} {technique} {status}: {detail}"),
        EventKind::ConnectionRefused { device, peer, reason } => {
            format!("{t}  refused {peer} at {device}: {reason}")
        }
        _ => return None,
    })
}

/// A real client's request in words, as the terminal and the console show it.
pub(crate) fn client_request_line(
    peer: &str,
    client: &str,
    device: &str,
    request: &str,
    answer: &str,
) -> String {
    format!("{peer} ({client}) -> {device}: {request}: {answer}")
}
