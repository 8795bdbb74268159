//! `otrange detect --pcap FILE`: the range's detectors on a real capture.
//!
//! The capture is read once: its hosts (a capture has no plant file, so the topology is
//! the addresses it contains), its reassembled Modbus TCP and its other flows are collected
//! in one pass, and the frames are replayed to the detectors from memory once the
//! topology they are built on is known. Without `--detectors` the Quickdraw Modbus rules run,
//! embedded in the binary so the command works from any directory.
//!
//! Outputs go to `--out` (default `out/detect/<capture stem>`): `alerts.eve.json`, one
//! Suricata EVE alert per line in time order, with the capture's own wall-clock time, and
//! `detect.json`, the capture's figures, each detector's summary and the alerts.

use anyhow::Context;
use otrange_defenses::capture::{Capture, CaptureStats};
use otrange_defenses::detect::register::{AssetRegister, Columns, Comparison, ObservedAsset, compare};
use otrange_defenses::detect::rules::RulesDetector;
use otrange_defenses::detect::{Alert, BuildContext, Detector, DetectorSet};
use otrange_sim::base::wallclock::eve_timestamp;
use otrange_sim::net::topology::Topology;
use otrange_sim::plant::PlantConfig;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// The built-in detector set: Digital Bond's Quickdraw Modbus rules.
const QUICKDRAW: &str = include_str!("../scenarios/detectors/rules/quickdraw-modbus.rules");
const QUICKDRAW_ORIGIN: &str = "scenarios/detectors/rules/quickdraw-modbus.rules";

/// How many frame numbers the terminal summary lists per line.
const SHOWN_FRAMES: usize = 12;

#[derive(clap::Args, Debug)]
pub(crate) struct DetectArgs {
    /// Capture file, pcap or pcapng (Ethernet, 802.1Q, Linux cooked or raw IPv4).
    #[arg(long)]
    pub pcap: PathBuf,
    /// Detector-set file (default: the Quickdraw Modbus rules).
    #[arg(long)]
    pub detectors: Option<PathBuf>,
    /// Output directory (default: out/detect/<capture file stem>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The plant the capture was taken in: its hosts name the capture's addresses (so rule
    /// variables may name hosts) and the inventory compares with its declared assets.
    #[arg(long)]
    pub plant: Option<PathBuf>,
    /// Rule variable for every rules detector, e.g. --var MODBUS_CLIENT=10.0.0.57 (repeatable).
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = var_arg)]
    pub vars: Vec<(String, String)>,
    /// Asset register (CSV) to compare with the inventory detector's observations
    /// (detect.json's asset_register); the detector set needs an inventory detector.
    #[arg(long, value_name = "FILE")]
    pub assets: Option<PathBuf>,
    /// The register's headers, e.g. name=Hostname,address="IP Address",revision=Firmware
    /// (default: name,address,vendor,product,revision,zone).
    #[arg(long, value_name = "MAP", requires = "assets", value_parser = Columns::parse)]
    pub asset_columns: Option<Columns>,
}

/// `NAME=VALUE`; clap reports a bad one with exit code 2.
fn var_arg(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_string(), value.trim().to_string()))
        }
        _ => Err(format!("expected NAME=VALUE, got {s:?}")),
    }
}

/// Bad input (exit 2) or a failure while running (exit 1).
enum Failure {
    Input(String),
    Run(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Run(e)
    }
}

/// Runs the command; exit codes as the rest of the CLI: 0 success (alerts are not a
/// failure), 1 a failure while running, 2 bad input.
pub(crate) fn main(args: &DetectArgs) -> ExitCode {
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Input(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(2)
        }
        Err(Failure::Run(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(args: &DetectArgs) -> Result<(), Failure> {
    let started = std::time::Instant::now();
    let plant: Option<PlantConfig> = match &args.plant {
        Some(path) => Some(
            otrange::scenario::load_plant(path)
                .map_err(|e| Failure::Input(e.to_string()))?
                .0,
        ),
        None => None,
    };
    let register = match &args.assets {
        Some(path) => Some(
            AssetRegister::load(path, &args.asset_columns.clone().unwrap_or_default())
                .map_err(|e| Failure::Input(e.to_string()))?,
        ),
        None => None,
    };
    let mut capture = Capture::open(&args.pcap).map_err(|e| Failure::Input(e.to_string()))?;
    if let Some(p) = &plant {
        capture = capture.with_plant(p).map_err(|e| Failure::Input(e.to_string()))?;
    }
    let topo = Arc::new(capture.hosts.topology.clone());
    let vars: BTreeMap<String, String> = args.vars.iter().cloned().collect();
    let (mut detectors, inventory) =
        build_detectors(args.detectors.as_deref(), &vars, &topo, plant.as_ref())?;
    if register.is_some() && inventory.is_none() {
        let set = match &args.detectors {
            Some(p) => format!(
                "{}: --assets: this detector set has no `inventory` detector",
                p.display()
            ),
            None => "--assets: without --detectors only the built-in Quickdraw rules run".into(),
        };
        return Err(Failure::Input(format!(
            "{set}: the asset register is compared with what an `inventory` detector sees \
             (e.g. --detectors scenarios/detectors/plant-inventory.toml)"
        )));
    }
    let stats = capture.run_detectors(&mut detectors);
    let wall = started.elapsed();

    let alerts = alerts_in_time_order(&detectors);
    let out = args.out.clone().unwrap_or_else(|| {
        let stem = args
            .pcap
            .file_stem()
            .map_or("capture".into(), |s| s.to_string_lossy().into_owned());
        Path::new("out/detect").join(stem)
    });
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let start = stats.start_unix_ns.unwrap_or(0);
    let eve: Vec<Value> = alerts.iter().map(|a| a.to_eve(start, &topo)).collect();
    write_eve(&out.join("alerts.eve.json"), &eve)?;
    // The register against the first inventory detector's figures (its `inventory` list).
    let comparison = register.as_ref().zip(inventory).and_then(|(reg, i)| {
        let observed = ObservedAsset::from_inventory_figures(&detectors[i].summary())?;
        Some(compare(reg, &observed, detectors[i].name()))
    });
    let mut report = json!({
        "capture": {
            "file": args.pcap.display().to_string(),
            "format": capture.file.format(),
            "size_bytes": capture.file.len(),
            "start": stats.start_unix_ns.map(eve_timestamp),
            "duration_s": duration_s(&stats),
            "hosts": topo.hosts.len() - 1,
            "hosts_by_role": capture.table.roles(),
            "hosts_folded_into_other": capture.hosts.folded,
            "stats": &stats,
        },
        "detectors": detectors.iter().map(|d| json!({
            "name": d.name(),
            "alerts": d.alerts().len(),
            "summary": d.summary(),
        })).collect::<Vec<_>>(),
        "alerts_by_sid": by_sid(&alerts).iter().map(|(sid, (sig, frames))| json!({
            "signature_id": sid,
            "signature": sig,
            "count": frames.len(),
            "frames": frames,
        })).collect::<Vec<_>>(),
        "alerts": eve,
    });
    if let (Some(c), Some(m)) = (&comparison, report.as_object_mut()) {
        m.insert("asset_register".into(), json!(c));
    }
    let path = out.join("detect.json");
    std::fs::write(&path, format!("{report:#}\n")).with_context(|| format!("writing {}", path.display()))?;
    print_summary(args, &capture, &stats, &alerts, comparison.as_ref(), &out);
    // Wall time is for the terminal only: detect.json is the same for the same capture.
    println!("  detected in {:.3} s wall time", wall.as_secs_f64());
    Ok(())
}

/// The detectors built, and the index of the first `inventory` detector among them.
type Built = (Vec<Box<dyn Detector>>, Option<usize>);

/// The detectors of `--detectors`, or the built-in Quickdraw rules; `vars` are added to
/// (and override) every rules detector's variables. With them, the index of the first
/// `inventory` detector, if any (what `--assets` compares with).
fn build_detectors(
    set_path: Option<&Path>,
    vars: &BTreeMap<String, String>,
    topo: &Arc<Topology>,
    plant: Option<&PlantConfig>,
) -> Result<Built, Failure> {
    let Some(path) = set_path else {
        let d = RulesDetector::from_text("quickdraw", QUICKDRAW, QUICKDRAW_ORIGIN, vars, topo)
            .map_err(|e| Failure::Input(format!("{QUICKDRAW_ORIGIN}: {e}")))?;
        return Ok((vec![Box::new(d)], None));
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::Input(format!("{}: cannot read detector-set file: {e}", path.display())))?;
    let mut set: DetectorSet =
        otrange::scenario::parse_toml(path, &text).map_err(|e| Failure::Input(e.to_string()))?;
    for cfg in set.detectors.iter_mut().filter(|c| c.kind == "rules") {
        cfg.vars.extend(vars.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    let cx = BuildContext {
        base: path.parent().unwrap_or(Path::new(".")),
        topo,
        plant,
    };
    let inventory = set.detectors.iter().position(|d| d.kind == "inventory");
    let detectors = set
        .detectors(&cx)
        .map_err(|(field, message)| Failure::Input(format!("{}: {field}: {message}", path.display())))?;
    Ok((detectors, inventory))
}

/// Every detector's alerts, by time (ties: detector order, then raising order).
fn alerts_in_time_order(detectors: &[Box<dyn Detector>]) -> Vec<Alert> {
    let mut all: Vec<Alert> = detectors
        .iter()
        .flat_map(|d| d.alerts().iter().cloned())
        .collect();
    all.sort_by_key(|a| a.t);
    all
}

/// Alerts grouped by signature id: the signature text and the frames of each alert.
fn by_sid(alerts: &[Alert]) -> BTreeMap<u64, (String, Vec<u64>)> {
    let mut m: BTreeMap<u64, (String, Vec<u64>)> = BTreeMap::new();
    for a in alerts {
        let e = m
            .entry(a.signature_id)
            .or_insert_with(|| (a.signature.clone(), Vec::new()));
        e.1.extend(a.frames.iter().copied());
    }
    m
}

fn write_eve(path: &Path, eve: &[Value]) -> anyhow::Result<()> {
    let f = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut w = std::io::BufWriter::new(f);
    for e in eve {
        writeln!(w, "{e}").with_context(|| format!("writing {}", path.display()))?;
    }
    w.flush().with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

fn duration_s(s: &CaptureStats) -> f64 {
    match (s.start_unix_ns, s.end_unix_ns) {
        (Some(a), Some(b)) => b.saturating_sub(a) as f64 / 1e9,
        _ => 0.0,
    }
}

fn frame_list(frames: &[u64]) -> String {
    let mut s: Vec<String> = frames.iter().take(SHOWN_FRAMES).map(u64::to_string).collect();
    if frames.len() > SHOWN_FRAMES {
        s.push(format!("... ({} more)", frames.len() - SHOWN_FRAMES));
    }
    s.join(", ")
}

fn print_summary(
    args: &DetectArgs,
    capture: &Capture,
    s: &CaptureStats,
    alerts: &[Alert],
    register: Option<&Comparison>,
    out: &Path,
) {
    let fmt = match capture.file.format() {
        otrange_defenses::capture::Format::Pcap => "pcap",
        otrange_defenses::capture::Format::Pcapng => "pcapng",
    };
    println!(
        "{} ({fmt}, {} bytes, {:.1} s of traffic from {})",
        args.pcap.display(),
        capture.file.len(),
        duration_s(s),
        s.start_unix_ns.map_or("-".into(), eve_timestamp)
    );
    let skipped: Vec<String> = s.skipped.iter().map(|(k, n)| format!("{n} {k}")).collect();
    println!(
        "  packets: {} ({} IPv4: {} TCP, {} UDP); skipped: {}",
        s.packets,
        s.ipv4,
        s.tcp,
        s.udp,
        if skipped.is_empty() {
            "none".into()
        } else {
            skipped.join(", ")
        }
    );
    if s.read_end.cut_short {
        println!("  the file ends inside a record: read up to it");
    }
    if let Some(d) = &s.read_end.damaged {
        println!("  damaged file, read stopped at {d}");
    }
    let roles: Vec<String> = capture
        .table
        .roles()
        .iter()
        .map(|(r, n)| format!("{n} {r}"))
        .collect();
    println!(
        "  hosts: {} ({})",
        capture.table.addresses().len(),
        roles.join(", ")
    );
    let m = &s.modbus;
    println!(
        "  modbus: {} connections, {} ADUs ({} requests, {} responses)",
        m.connections, m.adus, m.requests, m.responses
    );
    if m.non_modbus_units > 0 {
        let frames: Vec<u64> = m.non_modbus.iter().map(|n| n.frame).collect();
        println!(
            "  non-Modbus on 502: {} units, {} bytes, frames {}",
            m.non_modbus_units,
            m.non_modbus_bytes,
            frame_list(&frames)
        );
        let mut conns: Vec<&str> = m.non_modbus.iter().map(|n| n.connection.as_str()).collect();
        conns.sort_unstable();
        conns.dedup();
        println!("    on {}", conns.join("; "));
    } else {
        println!("  non-Modbus on 502: none");
    }
    let r = &s.reassembly;
    println!(
        "  tcp: {} retransmitted segments ({} bytes dropped), {} gaps ({} bytes), {} out of order, {} out of window",
        r.retransmitted_segments,
        r.retransmitted_bytes,
        r.gaps,
        r.gap_bytes,
        r.out_of_order_segments,
        r.out_of_window_segments
    );
    if !s.other_ports.is_empty() {
        let ports: Vec<String> = s.other_ports.iter().map(|(p, n)| format!("{p} {n}")).collect();
        println!("  other traffic (packets by port): {}", ports.join(", "));
    }
    println!("  alerts: {}", alerts.len());
    for (sid, (sig, frames)) in by_sid(alerts) {
        let n = alerts.iter().filter(|a| a.signature_id == sid).count();
        println!("    sid {sid:<9} x{n:<4} {sig}  (frames {})", frame_list(&frames));
    }
    for line in register.iter().flat_map(|c| c.summary_lines()) {
        println!("  {line}");
    }
    println!("  wrote {}", out.display());
}
