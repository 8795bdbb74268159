//! The `otrange` command line.

use anyhow::Context;
use clap::{Parser, Subcommand};
use otrange::live::{LiveRunOptions, live};
use otrange::runner::{RunOptions, run};
use otrange::scenario::Exercise;
use otrange_defenses::detect::register::Columns;
use otrange_sim::base::config_error::FileError;
use otrange_sim::base::time::{SimDuration, parse_duration};
use std::path::PathBuf;
use std::process::ExitCode;

mod detect;
mod techniques_cmd;

/// mimalloc instead of the C library's allocator: a large plant's state is hundreds of
/// megabytes read a few bytes per host at a time, and spread over 4 KiB pages each of those
/// reads also pays for its page's address translation. mimalloc asks the kernel for
/// transparent huge pages (2 MiB) and packs objects of one size together: 0.90x the CPU
/// time at 1,000 PLCs and at 10,000, about what glibc gains with its own huge-page setting
/// (`GLIBC_TUNABLES=glibc.malloc.hugetlb=1`), which a program cannot give itself
/// (docs/src/performance.md, "The allocator").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
        #[arg(long, value_parser = duration_arg)]
        duration: Option<SimDuration>,
        /// Output directory.
        #[arg(long, default_value = "otrange-out")]
        out: PathBuf,
        /// Also write capture.pcap (Ethernet/IPv4/TCP, opens in Wireshark).
        #[arg(long)]
        pcap: bool,
        /// Record every frame sent and delivered in events.jsonl.
        #[arg(long)]
        log_frames: bool,
        /// Segmentation policy file, replacing the exercise's (e.g. scenarios/policies/purdue.toml).
        #[arg(long)]
        policy: Option<PathBuf>,
        /// Detector-set file, replacing the exercise's (e.g. scenarios/detectors/control-allow-list.toml).
        #[arg(long)]
        detectors: Option<PathBuf>,
        /// Assume breach: start the playbook from this host (e.g. ews-01), skipping the
        /// steps that only get in.
        #[arg(long, value_name = "HOST")]
        foothold: Option<String>,
        /// Do not write report.html, nis2.md and navigator-layer.json.
        #[arg(long)]
        no_report: bool,
        /// Asset register (CSV) to compare with the inventory detector's observations
        /// (results.json's asset_register); the detector set needs an inventory detector.
        #[arg(long, value_name = "FILE")]
        assets: Option<PathBuf>,
        /// The register's headers, e.g. name=Hostname,address="IP Address",revision=Firmware
        /// (default: name,address,vendor,product,revision,zone).
        #[arg(long, value_name = "MAP", requires = "assets", value_parser = Columns::parse)]
        asset_columns: Option<Columns>,
    },
    /// Validate an exercise and every file it names, without running it.
    Check {
        scenario: PathBuf,
        /// Also check this policy file against the exercise's plant.
        #[arg(long)]
        policy: Option<PathBuf>,
        /// Also check this detector-set file (and the rules files it names).
        #[arg(long)]
        detectors: Option<PathBuf>,
    },
    /// Run the plant in real time on loopback sockets, for exercises with real tools.
    Live {
        /// Exercise file, e.g. scenarios/water-treatment.toml
        scenario: PathBuf,
        /// Simulated seconds per wall-clock second.
        #[arg(long, default_value_t = 1.0)]
        speed: f64,
        /// Port for PLCs when 502 cannot be bound (it needs privileges).
        #[arg(long, default_value_t = 5020)]
        port: u16,
        /// Write the device table as JSON here.
        #[arg(long)]
        manifest: Option<PathBuf>,
        /// Output directory for events.jsonl and results.json.
        #[arg(long, default_value = "otrange-live")]
        out: PathBuf,
        /// Master seed (default: the exercise's seed).
        #[arg(long)]
        seed: Option<u64>,
        /// Stop after this much simulated time (default: run until Ctrl-C or SIGTERM).
        #[arg(long, value_parser = duration_arg)]
        duration: Option<SimDuration>,
        /// Allow an address map that leaves 127.0.0.0/8. This exposes deliberately
        /// vulnerable devices to the network.
        #[arg(long)]
        allow_non_loopback: bool,
        /// Segmentation policy file, replacing the exercise's.
        #[arg(long)]
        policy: Option<PathBuf>,
        /// Detector-set file, replacing the exercise's.
        #[arg(long)]
        detectors: Option<PathBuf>,
        /// Serve the web console (process, network, exercise, alerts; the instructor's
        /// controls) on this address, 127.0.0.1:8080 when given without one. With it the
        /// playbook waits for the instructor to start it from the page.
        #[arg(long, value_name = "ADDR:PORT", num_args = 0..=1, default_missing_value = "127.0.0.1:8080")]
        console: Option<std::net::SocketAddr>,
    },
    /// Run detectors over a real capture (pcap/pcapng): Modbus TCP reassembled, hosts from its addresses.
    Detect(detect::DetectArgs),
    /// Run the cross product of a sweep file's axes (exercises, policies, detector sets,
    /// seeds, durations), one run per cell, into DIR/runs/<cell>/ and DIR/sweep.json.
    Sweep {
        /// Sweep file, e.g. scenarios/sweeps/policies.toml
        sweep: PathBuf,
        /// Output directory.
        #[arg(long, default_value = "otrange-sweep")]
        out: PathBuf,
        /// Cells run at once (default: every core).
        #[arg(long)]
        jobs: Option<usize>,
        /// Run only shard K of N (cells whose index is K-1 modulo N); join shards with `merge`.
        #[arg(long, value_parser = otrange::sweep::Shard::parse)]
        shard: Option<otrange::sweep::Shard>,
        /// Keep cells already complete in DIR whose inputs are unchanged.
        #[arg(long)]
        resume: bool,
        /// Do not write report.html and the Navigator layers.
        #[arg(long)]
        no_report: bool,
    },
    /// Write report.html and ATT&CK Navigator layers for a run's or a sweep's output
    /// directory (run and sweep write them at the end unless --no-report).
    Report {
        /// The directory `run` or `sweep` wrote.
        dir: PathBuf,
        /// Asset register (CSV) to compare with the run's inventory detector, written into
        /// its results.json (asset_register) and the NIS2 evidence.
        #[arg(long, value_name = "FILE")]
        assets: Option<PathBuf>,
        /// The register's headers (see `run --asset-columns`).
        #[arg(long, value_name = "MAP", requires = "assets", value_parser = Columns::parse)]
        asset_columns: Option<Columns>,
    },
    /// Join sweep shard directories into one sweep, identical to the unsharded run.
    Merge {
        /// The shards' output directories.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Output directory of the merged sweep.
        #[arg(long)]
        out: PathBuf,
    },
    /// List the ATT&CK for ICS techniques and what each means in the range; groups,
    /// campaigns and software; and how much of MITRE's records the playbooks replay.
    Techniques(techniques_cmd::TechniquesArgs),
}

/// Exit codes: 0 success, 1 an expectation failed or the run failed, 2 bad input.
fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Detect(args) => detect::main(&args),
        Command::Sweep {
            sweep,
            out,
            jobs,
            shard,
            resume,
            no_report,
        } => sweep_command(&sweep, out, jobs, shard, resume, no_report),
        Command::Report {
            dir,
            assets,
            asset_columns,
        } => match report_command(&dir, assets.as_deref(), asset_columns) {
            Ok(files) => {
                for f in files
                    .iter()
                    .filter(|f| f.extension().is_some_and(|e| e == "html"))
                {
                    println!("wrote {}", f.display());
                }
                println!("wrote {} files", files.len());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(2)
            }
        },
        Command::Merge { dirs, out } => match otrange::sweep::merge(&dirs, &out) {
            Ok(r) => sweep_exit(&r, &out),
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(2)
            }
        },
        Command::Techniques(args) => techniques_cmd::main(&args),
        Command::Check {
            scenario,
            policy,
            detectors,
        } => match load(&scenario, policy.as_deref(), detectors.as_deref()) {
            Ok(ex) => {
                println!(
                    "ok: {} ({}; plant {:?}, {} hosts, {} PLCs, {} HMIs){}",
                    scenario.display(),
                    ex.info.name,
                    ex.plant.plant.name,
                    ex.plant.hosts.len(),
                    ex.plant.plcs.len(),
                    ex.plant.hmis.len(),
                    match ex.warnings.len() {
                        0 => String::new(),
                        1 => ", 1 warning".to_string(),
                        n => format!(", {n} warnings"),
                    }
                );
                ExitCode::SUCCESS
            }
            Err(e) => input_error(&e),
        },
        Command::Live {
            scenario,
            speed,
            port,
            manifest,
            out,
            seed,
            duration,
            allow_non_loopback,
            policy,
            detectors,
            console,
        } => live_command(
            scenario,
            speed,
            port,
            manifest,
            out,
            seed,
            duration,
            allow_non_loopback,
            policy,
            detectors,
            console,
        ),
        Command::Run {
            scenario,
            seed,
            duration,
            out,
            pcap,
            log_frames,
            policy,
            detectors,
            foothold,
            no_report,
            assets,
            asset_columns,
        } => {
            let loaded = load(&scenario, policy.as_deref(), detectors.as_deref()).and_then(|mut ex| {
                if let Some(h) = &foothold {
                    ex.set_foothold(h)?;
                }
                Ok(ex)
            });
            let mut ex = match loaded {
                Ok(ex) => ex,
                Err(e) => return input_error(&e),
            };
            if let Some(path) = &assets
                && let Err(e) = ex.set_assets(path, &asset_columns.unwrap_or_default())
            {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
            let duration = duration.unwrap_or(ex.duration);
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
                    if r.network.blocked > 0 {
                        println!(
                            "  blocked: {} legitimate (no attacker sent them), by rule: {}",
                            r.network.blocked_legitimate,
                            r.network
                                .blocked_by_rule
                                .iter()
                                .map(|(rule, n)| format!("{n} {rule:?}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        );
                    }
                    for h in &r.hmis {
                        println!(
                            "  {}: {} polls, {} timeouts, latency p50 {:.2} ms, p99 {:.2} ms",
                            h.name, h.polls, h.timeouts, h.latency.p50_ms, h.latency.p99_ms
                        );
                    }
                    // Detection is only worth a word when some detector was watching.
                    let watched = r.taps.iter().any(|t| t.summary.get("alerts").is_some());
                    for s in &r.steps {
                        let how = match (&s.step.rule, s.time_to_detect_s) {
                            (Some(rule), _) => format!("{} by {rule:?}", s.step.status),
                            _ if !watched => s.step.status.clone(),
                            (None, Some(t)) => format!(
                                "{}; detected ({}) after {} by {}",
                                s.step.status,
                                s.detection.as_str(),
                                if t < 1.0 {
                                    format!("{:.3} ms", t * 1e3)
                                } else {
                                    format!("{t:.1} s")
                                },
                                s.detected_by
                                    .iter()
                                    .map(|d| d.detector.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                            (None, None) => format!("{}; not detected", s.step.status),
                        };
                        println!("  step {} {} {}: {how}", s.step.step, s.step.technique, s.step.id);
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
                    for line in r.asset_register.iter().flat_map(|c| c.summary_lines()) {
                        println!("  {line}");
                    }
                    println!("  wrote {} ({} events)", opts.out.display(), o.events);
                    if !no_report {
                        match otrange::report::write_report(&opts.out) {
                            Ok(_) => println!("  report: {}", opts.out.join("report.html").display()),
                            Err(e) => eprintln!("warning: the report could not be written: {e:#}"),
                        }
                    }
                    if r.passed {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::from(1)
                    }
                }
                Err(e) => match e.downcast_ref::<FileError>() {
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

#[allow(clippy::too_many_arguments)]
fn live_command(
    scenario: PathBuf,
    speed: f64,
    port: u16,
    manifest: Option<PathBuf>,
    out: PathBuf,
    seed: Option<u64>,
    duration: Option<SimDuration>,
    allow_non_loopback: bool,
    policy: Option<PathBuf>,
    detectors: Option<PathBuf>,
    console: Option<std::net::SocketAddr>,
) -> ExitCode {
    let ex = match load(&scenario, policy.as_deref(), detectors.as_deref()) {
        Ok(ex) => ex,
        Err(e) => return input_error(&e),
    };
    if !(speed.is_finite() && speed > 0.0) {
        eprintln!("error: --speed: expected a positive number, got {speed}");
        return ExitCode::from(2);
    }
    let opts = LiveRunOptions {
        seed: seed.unwrap_or(ex.info.seed),
        speed,
        port,
        manifest,
        out,
        duration,
        allow_non_loopback,
        console,
    };
    match live(&ex, &opts) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(le) = e.downcast_ref::<otrange_sim::live::LiveError>()
                && matches!(le, otrange_sim::live::LiveError::NotLoopback { .. })
            {
                eprintln!("error: {le}");
                return ExitCode::from(2);
            }
            if let Some(ce) = e.downcast_ref::<otrange::console::ConsoleError>() {
                eprintln!("error: {ce}");
                return ExitCode::from(2);
            }
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Loads an exercise, with the policy replaced when `--policy` was given.
fn load(
    scenario: &std::path::Path,
    policy: Option<&std::path::Path>,
    detectors: Option<&std::path::Path>,
) -> Result<Exercise, FileError> {
    let mut ex = Exercise::load(scenario)?;
    if let Some(p) = policy {
        ex.set_policy(p)?;
    }
    if let Some(d) = detectors {
        ex.set_detectors(d)?;
    }
    for w in &ex.warnings {
        eprintln!("warning: {w}");
    }
    Ok(ex)
}

/// `otrange report`: a bad register is bad input (exit 2), like every other failure here.
fn report_command(
    dir: &std::path::Path,
    assets: Option<&std::path::Path>,
    columns: Option<Columns>,
) -> anyhow::Result<Vec<PathBuf>> {
    let register = match assets {
        Some(path) => Some(
            otrange_defenses::detect::register::AssetRegister::load(path, &columns.unwrap_or_default())
                .map_err(|e| anyhow::anyhow!("{e}"))?,
        ),
        None => None,
    };
    otrange::report::write_report_with(dir, register.as_ref())
}

/// `--duration`: clap reports a bad value with the option's name and exit code 2.
fn duration_arg(s: &str) -> Result<SimDuration, String> {
    parse_duration(s).map_err(|e| e.to_string())
}

fn sweep_command(
    file: &std::path::Path,
    out: PathBuf,
    jobs: Option<usize>,
    shard: Option<otrange::sweep::Shard>,
    resume: bool,
    no_report: bool,
) -> ExitCode {
    let sweep = match otrange::sweep::file::Sweep::load(file) {
        Ok(s) => s,
        Err(e) => return input_error(&e),
    };
    let jobs = jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let opts = otrange::sweep::SweepOptions {
        out: out.clone(),
        jobs,
        shard,
        resume,
    };
    let started = std::time::Instant::now();
    match otrange::sweep::run_sweep(&sweep, &opts) {
        Ok(r) => {
            println!(
                "sweep {}: {} of {} cells in {:.1} s wall time on {jobs} jobs",
                r.name,
                r.cells.len(),
                r.cells_total,
                started.elapsed().as_secs_f64()
            );
            if !no_report && r.shard.is_none() {
                match otrange::report::write_sweep_report(&out, &r) {
                    Ok(_) => println!("  report: {}", out.join("report.html").display()),
                    Err(e) => eprintln!("warning: the report could not be written: {e:#}"),
                }
            }
            sweep_exit(&r, &out)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// 0 when every cell ran and met its expectations, 1 otherwise.
fn sweep_exit(r: &otrange::sweep::SweepResult, out: &std::path::Path) -> ExitCode {
    let (failed, unmet) = r.failures();
    println!(
        "  {failed} cells failed to run, {unmet} missed an expectation; wrote {}",
        out.join("sweep.json").display()
    );
    if failed + unmet > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn input_error(e: &FileError) -> ExitCode {
    eprintln!("error: {e}");
    if e.count() > 1 {
        eprintln!("{} errors", e.count());
    }
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
