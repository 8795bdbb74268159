//! `otrange live`: runs an exercise's plant in real time on loopback sockets, prints what
//! matters to the people in the exercise as it happens, and writes the same outputs as a
//! batch run when stopped.

use crate::results::Results;
use crate::runner::EventSink;
use crate::scenario::Exercise;
use anyhow::Context;
use otrange_sim::base::events::{Event, EventKind};
use otrange_sim::live::{LiveOptions, LivePlant, ManifestEntry};
use otrange_sim::{SimDuration, SimTime};
use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
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

/// Runs until stopped; returns the results of the live run.
pub fn live(ex: &Exercise, opts: &LiveRunOptions) -> anyhow::Result<Results> {
    std::fs::create_dir_all(&opts.out)
        .with_context(|| format!("creating output directory {}", opts.out.display()))?;
    let mut sim = ex.build(opts.seed)?;
    let plant = LivePlant::start(
        &mut sim,
        LiveOptions {
            speed: opts.speed,
            fallback_port: opts.port,
            allow_non_loopback: opts.allow_non_loopback,
            settings: ex.live.clone(),
        },
    )?;
    if opts.allow_non_loopback {
        println!(
            "WARNING: --allow-non-loopback: these are deliberately vulnerable devices, reachable \
             from beyond this machine"
        );
    }
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
    let mut events = EventSink::create(&opts.out.join("events.jsonl"), ex)?;
    println!(
        "live: {} at {}x real time; Ctrl-C stops and writes {}",
        ex.info.name,
        opts.speed,
        opts.out.display()
    );
    let end = opts.duration.map(|d| SimTime::ZERO + d);
    let console = match opts.console {
        None => None,
        Some(addr) => {
            let c = crate::console::Console::start(
                &plant.runtime(),
                addr,
                opts.allow_non_loopback,
                plant.clock(),
            )?;
            println!("console: http://{}/  (instructor token: {})", c.addr, c.token);
            Some((c, crate::console::view::ViewBuilder::new(ex, &sim)))
        }
    };
    let mut console = console;
    let mut last_publish: Option<Instant> = None;
    let mut plant = plant;
    let mut last_flush = Instant::now();
    let started_at = sim.now();
    let mut lag = crate::lag::LagMeter::new(opts.speed, Instant::now());
    loop {
        let behind = plant.step(&mut sim, MAX_WAIT, end);
        let clock = plant.clock();
        if let Some(warning) = lag.observe(behind, sim.now(), Instant::now(), clock.speed(), clock.paused()) {
            println!("{warning}");
        }
        if let Some((c, _)) = &console {
            let now = sim.now();
            for action in c.actions.try_iter() {
                sim.world
                    .resource_mut::<otrange_sim::base::events::EventLog>()
                    .push(now, EventKind::InstructorAction { action });
            }
        }
        let batch = sim.drain_events();
        events.write(&batch)?;
        if let Some((c, view)) = &mut console {
            view.events(&batch);
            if last_publish.is_none_or(|t| t.elapsed() >= crate::console::PUBLISH_EVERY) {
                let clock = plant.clock();
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
        if plant.shutdown_requested() || end.is_some_and(|end| sim.now() >= end) {
            break;
        }
    }
    plant.stop();
    sim.finish();
    events.write(&sim.drain_events())?;
    let (tally, _) = events.close()?;
    let ran = SimDuration(sim.now().as_nanos());
    let mut results = tally.results(ex, opts.seed, ran, sim.network().topology());
    let figures = lag.figures(sim.now().saturating_since(started_at), Instant::now());
    println!(
        "speed: {:.1}x asked, {:.1}x achieved; the plant was at most {:.3} s behind the wall clock",
        figures.requested_speed, figures.achieved_speed, figures.max_lag_wall_s
    );
    results.live = Some(figures);
    crate::runner::write_eve(&opts.out.join("alerts.eve.json"), &results)?;
    crate::runner::write_json(&opts.out.join("results.json"), &results)?;
    println!(
        "stopped after {:.1} simulated seconds; wrote {}",
        ran.as_secs_f64(),
        opts.out.display()
    );
    Ok(results)
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
