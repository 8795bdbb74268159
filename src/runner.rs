//! Runs an exercise in batch mode and writes its outputs: results.json, events.jsonl and,
//! on request, capture.pcap. Events are streamed to disk as the run goes, so a long run
//! does not hold its whole log in memory.

use crate::results::{Results, Tally};
use crate::scenario::Exercise;
use crate::trace::ProcessTrace;
use anyhow::Context;
use otrange_sim::base::events::{Event, EventKind};
use otrange_sim::net::capture::PcapCapture;
use otrange_sim::{SimDuration, SimTime};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The seed of every random stream in the run.
    pub seed: u64,
    /// Simulated time to run for.
    pub duration: SimDuration,
    /// Output directory, created if missing.
    pub out: PathBuf,
    /// Also write capture.pcap and capture-labels.csv.
    pub pcap: bool,
    /// Record every frame sent and delivered in events.jsonl (large).
    pub log_frames: bool,
}

/// What the terminal summary needs.
#[derive(Debug)]
pub struct RunOutcome {
    /// What results.json holds.
    pub results: Results,
    /// Wall-clock time of the simulation itself (not of loading or writing results).
    pub wall: Duration,
    /// Events written to events.jsonl.
    pub events: u64,
}

/// Simulated time between two flushes of the event log to disk.
const CHUNK: SimDuration = SimDuration::from_secs(60);

/// Runs the exercise and writes its outputs into `opts.out`.
pub fn run(ex: &Exercise, opts: &RunOptions) -> anyhow::Result<RunOutcome> {
    std::fs::create_dir_all(&opts.out)
        .with_context(|| format!("creating output directory {}", opts.out.display()))?;
    let mut sim = ex.build(opts.seed)?;
    sim.world
        .resource_mut::<otrange_sim::base::events::EventLog>()
        .log_frames = opts.log_frames || ex.info.log_frames;
    let pcap_path = opts.out.join("capture.pcap");
    if opts.pcap {
        let f = File::create(&pcap_path).with_context(|| format!("creating {}", pcap_path.display()))?;
        let cap = PcapCapture::new(BufWriter::new(f), ex.info.start.unix_ns)?;
        sim.network_mut().set_capture(Box::new(cap));
    }
    let mut events = EventSink::create(&opts.out.join("events.jsonl"), ex)?;
    let end = SimTime::ZERO + opts.duration;
    let mut trace = ProcessTrace::new(&ex.plant, &sim, opts.duration);
    let wall = drive(&mut sim, opts.duration, &mut trace, |batch| events.write(batch))?;
    trace.write_csv(&opts.out.join("process.csv"))?;
    write_host_log(&opts.out.join("host-events.jsonl"), &sim)?;
    let (tally, n_events) = events.close()?;
    if let Some(cap) = sim.network_mut().take_capture() {
        let labelled = cap
            .finish(end)
            .with_context(|| format!("writing {}", pcap_path.display()))?;
        write_labels(&opts.out.join("capture-labels.csv"), ex, &labelled)?;
    }
    let finished = Finished {
        seed: opts.seed,
        duration: opts.duration,
        wall,
        ticks: sim.ticks(),
    };
    let results = finished.write(&opts.out, ex, tally, sim.network().topology())?;
    Ok(RunOutcome {
        results,
        wall,
        events: n_events,
    })
}

/// Runs `sim` for `duration`, a chunk of simulated time at a time, handing each chunk's
/// events to `take` as they are drained (the last chunk ends with the run's summaries) and
/// sampling `trace` between ticks. Returns the wall-clock time the simulation took.
pub(crate) fn drive(
    sim: &mut otrange_sim::Sim,
    duration: SimDuration,
    trace: &mut ProcessTrace,
    mut take: impl FnMut(&[Event]) -> anyhow::Result<()>,
) -> anyhow::Result<Duration> {
    let end = SimTime::ZERO + duration;
    let started = Instant::now();
    let mut t = SimTime::ZERO;
    let mut next_sample = SimTime::ZERO;
    loop {
        t = (t + CHUNK).min(end);
        // Samples inside the chunk look between ticks; the chunk's end is a tick anyway.
        while next_sample < t {
            sim.run_before(next_sample);
            trace.sample(next_sample, sim);
            next_sample += trace.every();
        }
        sim.run_until(t);
        if t >= end {
            sim.finish();
            if next_sample == end {
                trace.sample(end, sim);
            }
        }
        take(&sim.drain_events())?;
        if t >= end {
            return Ok(started.elapsed());
        }
    }
}

/// Writes every host's log (host-events.jsonl): one JSON object per line, in time order,
/// as an endpoint agent would ship it to a SIEM. `step` is the ground truth (the attacker's
/// step whose action the event records), absent for benign activity.
fn write_host_log(path: &Path, sim: &otrange_sim::Sim) -> anyhow::Result<()> {
    use std::io::Write;
    let topo = sim.network().topology();
    let log = sim.world.resource::<otrange_sim::devices::host_log::HostLog>();
    let f = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut w = BufWriter::new(f);
    for e in log.events() {
        let src = e.activity.logsource();
        let mut line = serde_json::json!({
            "t": e.t.as_nanos(),
            "host": topo.host(e.host).name,
            "product": src.product,
        });
        let obj = line.as_object_mut().expect("an object");
        if let Some(c) = src.category {
            obj.insert("category".into(), c.into());
        }
        if let Some(s) = src.service {
            obj.insert("service".into(), s.into());
        }
        if e.label != 0 {
            obj.insert("step".into(), e.label.into());
        }
        if let serde_json::Value::Object(a) = serde_json::to_value(&e.activity)? {
            obj.extend(a);
        }
        serde_json::to_writer(&mut w, &line)?;
        w.write_all(b"\n")?;
    }
    w.flush().with_context(|| format!("writing {}", path.display()))
}

/// A finished simulation, for writing a run's outputs from its tally.
pub(crate) struct Finished {
    pub(crate) seed: u64,
    pub(crate) duration: SimDuration,
    pub(crate) wall: Duration,
    pub(crate) ticks: u64,
}

impl Finished {
    /// Writes results.json, alerts.eve.json and timing.json into `out`.
    pub(crate) fn write(
        &self,
        out: &Path,
        ex: &Exercise,
        tally: Tally,
        topo: &otrange_sim::net::topology::Topology,
    ) -> anyhow::Result<Results> {
        let results = tally.results(ex, self.seed, self.duration, topo);
        write_eve(&out.join("alerts.eve.json"), &results)?;
        write_json(&out.join("results.json"), &results)?;
        let timing = serde_json::json!({
            "wall_seconds": self.wall.as_secs_f64(),
            "simulated_seconds": self.duration.as_secs_f64(),
            "real_time_factor": self.duration.as_secs_f64() / self.wall.as_secs_f64().max(1e-9),
            "ticks": self.ticks,
        });
        write_json(&out.join("timing.json"), &timing)?;
        Ok(results)
    }
}

/// Where a run's events go as they are drained: events.jsonl, line by line, and the
/// [`Tally`] results.json is computed from. Batch and live mode write through it alike.
pub(crate) struct EventSink {
    out: BufWriter<File>,
    tally: Tally,
    written: u64,
}

impl EventSink {
    /// Creates events.jsonl and writes its first event, `run_started` with the exercise's
    /// calendar start.
    pub(crate) fn create(path: &Path, ex: &Exercise) -> anyhow::Result<Self> {
        let f = File::create(path).with_context(|| format!("creating {}", path.display()))?;
        let mut sink = EventSink {
            out: BufWriter::new(f),
            tally: Tally::default(),
            written: 0,
        };
        let start = &ex.info.start;
        sink.write(&[Event {
            t: SimTime::ZERO,
            kind: EventKind::RunStarted {
                start: start.text.clone(),
                start_unix_ns: start.unix_ns,
            },
        }])?;
        Ok(sink)
    }

    /// Writes a drained batch. Every source logs in time order (tests/event_log.rs holds them
    /// to it), so nothing is sorted here.
    pub(crate) fn write(&mut self, batch: &[Event]) -> anyhow::Result<()> {
        for e in batch {
            serde_json::to_writer(&mut self.out, e)?;
            self.out.write_all(b"\n")?;
            self.tally.add(e);
        }
        self.written += batch.len() as u64;
        Ok(())
    }

    /// Makes what was written so far visible to a reader of the file (live mode's tail).
    pub(crate) fn flush(&mut self) -> anyhow::Result<()> {
        Ok(self.out.flush()?)
    }

    /// Flushes the file; the tally and the number of events written.
    pub(crate) fn close(mut self) -> anyhow::Result<(Tally, u64)> {
        self.flush()?;
        Ok((self.tally, self.written))
    }
}

pub(crate) fn write_json<T: serde::Serialize>(path: &Path, v: &T) -> anyhow::Result<()> {
    let mut f = BufWriter::new(File::create(path).with_context(|| format!("creating {}", path.display()))?);
    serde_json::to_writer_pretty(&mut f, v)?;
    f.write_all(b"\n")?;
    f.flush()?;
    Ok(())
}

/// Ground truth beside the capture: for every pcap frame an attacker's step produced, the
/// step and its ATT&CK technique and tactic, so a run is a labelled dataset. Frame numbers
/// are 1-based, as Wireshark counts.
fn write_labels(
    path: &Path,
    ex: &Exercise,
    frames: &[otrange_sim::net::capture::CapturedFrame],
) -> anyhow::Result<()> {
    let mut f = BufWriter::new(File::create(path).with_context(|| format!("creating {}", path.display()))?);
    writeln!(f, "frame,step,step_id,technique,tactic,sim_frame")?;
    let mut rows: Vec<(u64, u32, u64)> = frames
        .iter()
        .flat_map(|c| c.pcap_frames.iter().map(move |&n| (n, c.label, c.frame_id)))
        .collect();
    rows.sort_unstable();
    for (n, label, id) in rows {
        let step = ex
            .playbook
            .as_ref()
            .and_then(|(_, pb)| pb.steps.get(label as usize - 1));
        let (sid, tech, tactic) = step.map_or(("", "", ""), |s| (s.id.as_str(), s.technique, s.tactic));
        writeln!(f, "{n},{label},\"{sid}\",{tech},\"{tactic}\",{id}")?;
    }
    f.flush()?;
    Ok(())
}

/// Detectors' alerts as Suricata EVE lines (one JSON object per line), for SIEM tooling.
pub fn write_eve(path: &Path, results: &Results) -> anyhow::Result<()> {
    let mut f = BufWriter::new(File::create(path).with_context(|| format!("creating {}", path.display()))?);
    let mut alerts: Vec<&serde_json::Value> = results
        .taps
        .iter()
        .filter_map(|t| t.summary.get("alerts").and_then(|a| a.as_array()))
        .flatten()
        .collect();
    alerts.sort_by_key(|a| a["otrange"]["t_ns"].as_u64().unwrap_or(0));
    for a in alerts {
        serde_json::to_writer(&mut f, a)?;
        f.write_all(b"\n")?;
    }
    f.flush()?;
    Ok(())
}
