//! The `otrange` command line.

use anyhow::Context;
use clap::{Parser, Subcommand};
use otrange::runner::{RunOptions, run};
use otrange::scenario::{Exercise, ScenarioError};
use otrange_sim::time::parse_duration;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "otrange",
    version,
    about = "A cyber range for industrial control systems: a deterministic digital twin on real Modbus TCP bytes"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run an exercise in batch mode, as fast as the CPU allows.
    Run {
        /// Exercise file, e.g. scenarios/water-treatment.toml
        scenario: PathBuf,
        /// Master seed (default: the exercise's seed).
        #[arg(long)]
        seed: Option<u64>,
        /// Simulated duration, e.g. 1h, 30m, 24h (default: the exercise's duration).
        #[arg(long)]
        duration: Option<String>,
        /// Output directory.
        #[arg(long, default_value = "otrange-out")]
        out: PathBuf,
        /// Also write capture.pcap (Ethernet/IPv4/TCP, opens in Wireshark).
        #[arg(long)]
        pcap: bool,
        /// Record every frame sent and delivered in events.jsonl.
        #[arg(long)]
        log_frames: bool,
    },
    /// Validate an exercise and every file it names, without running it.
    Check { scenario: PathBuf },
}

/// Exit codes: 0 success, 1 an expectation failed or the run failed, 2 bad input.
fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { scenario } => match Exercise::load(&scenario) {
            Ok(ex) => {
                println!(
                    "ok: {} ({}; plant {:?}, {} hosts, {} PLCs, {} HMIs)",
                    scenario.display(),
                    ex.info.name,
                    ex.plant.plant.name,
                    ex.plant.hosts.len(),
                    ex.plant.plcs.len(),
                    ex.plant.hmis.len()
                );
                ExitCode::SUCCESS
            }
            Err(e) => input_error(&e),
        },
        Command::Run {
            scenario,
            seed,
            duration,
            out,
            pcap,
            log_frames,
        } => {
            let ex = match Exercise::load(&scenario) {
                Ok(ex) => ex,
                Err(e) => return input_error(&e),
            };
            let duration = match duration.as_deref().map(parse_duration).transpose() {
                Ok(d) => d.unwrap_or(ex.duration),
                Err(e) => {
                    eprintln!("error: --duration: {e}");
                    return ExitCode::from(2);
                }
            };
            let opts = RunOptions {
                seed: seed.unwrap_or(ex.info.seed),
                duration,
                out,
                pcap,
                log_frames,
            };
            match run(&ex, &opts).with_context(|| format!("running {}", scenario.display())) {
                Ok(o) => {
                    let r = &o.results;
                    let rtf = duration.as_secs_f64() / o.wall.as_secs_f64().max(1e-9);
                    println!("{} — {} (seed {})", r.exercise, r.plant, r.seed);
                    println!(
                        "  simulated {} in {:.3} s wall time: {:.0}x real time, {} ticks",
                        humanize(duration.as_secs_f64()),
                        o.wall.as_secs_f64(),
                        rtf,
                        r.ticks
                    );
                    println!(
                        "  network: {} frames sent, {} delivered, {} blocked, {} dropped ({} Modbus)",
                        r.network.sent,
                        r.network.delivered,
                        r.network.blocked,
                        r.network.dropped,
                        r.network.modbus_frames
                    );
                    for h in &r.hmis {
                        println!(
                            "  {}: {} polls, {} timeouts, latency p50 {:.2} ms, p99 {:.2} ms",
                            h.name, h.polls, h.timeouts, h.latency.p50_ms, h.latency.p99_ms
                        );
                    }
                    println!("  impacts: {}", r.impacts.len());
                    for i in &r.impacts {
                        println!(
                            "    {:>10.1} s  {} {}: {}",
                            i.t_s, i.technique, i.technique_name, i.description
                        );
                    }
                    for e in &r.expectations {
                        println!(
                            "  expect {}: {} (actual {}) {}",
                            e.name,
                            e.expected,
                            e.actual,
                            if e.passed { "ok" } else { "FAILED" }
                        );
                    }
                    println!("  wrote {} ({} events)", opts.out.display(), o.events);
                    if r.passed {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::from(1)
                    }
                }
                Err(e) => match e.downcast_ref::<ScenarioError>() {
                    Some(se) => input_error(se),
                    None => {
                        eprintln!("error: {e:#}");
                        ExitCode::from(1)
                    }
                },
            }
        }
    }
}

fn input_error(e: &ScenarioError) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(2)
}

fn humanize(secs: f64) -> String {
    if secs >= 3600.0 {
        format!("{:.2} h", secs / 3600.0)
    } else if secs >= 60.0 {
        format!("{:.1} min", secs / 60.0)
    } else {
        format!("{secs:.1} s")
    }
}
