//! Several runs in one simulation: exercises that differ only in passive detector sets.
//!
//! A detector in detection mode watches and changes nothing: no frame, no timer, no random
//! draw. Runs of one plant, playbook, policy, seed and duration with different passive
//! detector sets therefore simulate the same world, and a sweep's detector axis would
//! simulate it once per set. Here it is simulated once with every set's detectors placed
//! side by side, each under a tag, and the event stream is split by tag into one run
//! directory per set. Each directory holds the bytes its run alone would have written
//! (tests/sweep.rs compares them with `otrange run`), at the cost of one simulation plus the
//! detectors.

use crate::results::Results;
use crate::runner::{EventSink, Finished, drive};
use crate::scenario::Exercise;
use crate::trace::ProcessTrace;
use anyhow::Context;
use otrange_sim::base::events::{Event, EventKind};
use otrange_sim::net::{Action, Frame, Hop, Middlebox};
use otrange_sim::{SimDuration, SimTime};
use std::path::PathBuf;

/// Separates a member's index from a detector's name while they share the simulation; no
/// name in a detector-set file contains it (a control character).
const TAG: char = '\u{1f}';

/// A detector of member `k`, renamed `k<TAG>name` while it shares the simulation.
struct Tagged {
    inner: Box<dyn Middlebox>,
    name: String,
}

impl Middlebox for Tagged {
    fn name(&self) -> &str {
        &self.name
    }
    fn on_frame(&mut self, hop: &Hop<'_>, frame: &mut Frame) -> Action {
        self.inner.on_frame(hop, frame)
    }
    fn reports_events(&self) -> bool {
        self.inner.reports_events()
    }
    fn take_events(&mut self) -> Vec<(SimTime, EventKind)> {
        let mut events = self.inner.take_events();
        for (_, e) in &mut events {
            if let EventKind::Alert(a) = e {
                a.detector = format!("{}{TAG}{}", self.member(), a.detector);
            }
        }
        events
    }
    fn sensor_summary(&self) -> Option<serde_json::Value> {
        self.inner.sensor_summary()
    }
    fn on_host_event(
        &mut self,
        event: &otrange_sim::devices::host_log::HostEvent,
        topo: &otrange_sim::net::topology::Topology,
    ) -> bool {
        self.inner.on_host_event(event, topo)
    }
}

impl Tagged {
    fn member(&self) -> &str {
        self.name.split(TAG).next().unwrap_or_default()
    }
}

/// The member a tagged name belongs to, and the name as its own run has it; `None` for a
/// name no member's detector carries (the plant's own taps).
fn untag(name: &str) -> Option<(usize, &str)> {
    let (k, rest) = name.split_once(TAG)?;
    Some((k.parse().ok()?, rest))
}

/// The events member `k` sees: everything but other members' detectors, its own untagged.
fn events_for(k: usize, batch: &[Event]) -> Vec<Event> {
    batch
        .iter()
        .filter_map(|e| {
            let name = match &e.kind {
                EventKind::Alert(a) => &a.detector,
                EventKind::SensorSummary { sensor, .. } => sensor,
                _ => return Some(e.clone()),
            };
            let Some((member, own)) = untag(name) else {
                return Some(e.clone());
            };
            if member != k {
                return None;
            }
            let mut e = e.clone();
            match &mut e.kind {
                EventKind::Alert(a) => a.detector = own.to_string(),
                EventKind::SensorSummary { sensor, .. } => *sensor = own.to_string(),
                _ => {}
            }
            Some(e)
        })
        .collect()
}

/// Runs `members` (one exercise each, differing from the others only in their passive
/// detector sets) as one simulation and writes each one's outputs into its directory, as
/// `runner::run` would without a capture. The results come back in member order.
pub fn run_group(
    members: &[(&Exercise, PathBuf)],
    seed: u64,
    duration: SimDuration,
) -> anyhow::Result<Vec<Results>> {
    let Some((first, _)) = members.first() else {
        return Ok(Vec::new());
    };
    let mut base = (*first).clone();
    base.detectors = None;
    let mut sim = base.build(seed)?;
    let mut sinks = Vec::with_capacity(members.len());
    for (k, (ex, out)) in members.iter().enumerate() {
        anyhow::ensure!(
            ex.detectors_passive(),
            "{}: a detector set in prevention mode changes the run and cannot share it",
            ex.file.display()
        );
        for placed in ex.placed_detectors(&sim)? {
            let name = format!("{k}{TAG}{}", placed.middlebox.name());
            let tagged = Tagged {
                inner: placed.middlebox,
                name,
            };
            sim.network_mut()
                .add_middlebox(Box::new(tagged), placed.stage, &placed.nodes);
        }
        std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
        sinks.push(EventSink::create(&out.join("events.jsonl"), ex)?);
    }
    sim.world
        .resource_mut::<otrange_sim::base::events::EventLog>()
        .log_frames = base.info.log_frames;
    let mut trace = ProcessTrace::new(&base.plant, &sim, duration);
    let wall = drive(&mut sim, duration, &mut trace, |batch| {
        for (k, sink) in sinks.iter_mut().enumerate() {
            sink.write(&events_for(k, batch))?;
        }
        Ok(())
    })?;
    let finished = Finished {
        seed,
        duration,
        wall,
        ticks: sim.ticks(),
    };
    let mut results = Vec::with_capacity(members.len());
    for ((ex, out), sink) in members.iter().zip(sinks) {
        trace.write_csv(&out.join("process.csv"))?;
        let (tally, _) = sink.close()?;
        results.push(finished.write(out, ex, tally, sim.network().topology())?);
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tagged_name_goes_back_to_its_member_only() {
        assert_eq!(untag("2\u{1f}plant rules"), Some((2, "plant rules")));
        assert_eq!(untag("control-span"), None);
        let summary = |sensor: &str| Event {
            t: SimTime::ZERO,
            kind: EventKind::SensorSummary {
                sensor: sensor.into(),
                summary: serde_json::Value::Null,
            },
        };
        let batch = [
            summary("control-span"),
            summary("0\u{1f}rules"),
            summary("1\u{1f}rules"),
        ];
        let names = |k| -> Vec<String> {
            events_for(k, &batch)
                .into_iter()
                .map(|e| match e.kind {
                    EventKind::SensorSummary { sensor, .. } => sensor,
                    _ => unreachable!(),
                })
                .collect()
        };
        assert_eq!(names(0), ["control-span", "rules"]);
        assert_eq!(names(1), ["control-span", "rules"]);
        assert_eq!(names(2), ["control-span"]);
    }
}
