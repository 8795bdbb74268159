//! The instructor's hold on a playbook, as live mode's console uses it, run in simulated
//! time: a held playbook starts nothing; a step lets exactly one step through; start runs
//! the rest with `at` times counted from the start; an ad-hoc step runs at once, and its
//! failure does not stop the playbook.

mod common;

use otrange::scenario::Exercise;
use otrange_attacks::agent::{Campaign, ControlError, Pace};
use otrange_sim::base::events::{Event, EventKind};
use otrange_sim::{SimDuration, SimTime};
use std::sync::Arc;

fn started(events: &[Event]) -> Vec<(u32, f64)> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::StepStarted { step, .. } => Some((*step, e.t.as_secs_f64())),
            _ => None,
        })
        .collect()
}

fn ended(events: &[Event]) -> Vec<(u32, String)> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::StepEnded { step, status, .. } => Some((*step, status.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn a_held_playbook_waits_steps_once_and_runs_from_its_start() {
    let ex = Exercise::load(&common::repo_path("scenarios/oldsmar.toml")).unwrap();
    let mut sim = ex.build(1).unwrap();
    let (_, playbook) = ex.playbook.clone().unwrap();
    let topo = Arc::clone(sim.network().topology());
    sim.world.insert_resource(Campaign::held(playbook, topo));
    let at = |s: f64| SimTime::ZERO + SimDuration::from_secs_f64(s);
    let mut log = Vec::new();

    // Held: step 1 (at 10 min in the playbook) does not start by itself.
    sim.run_until(at(900.0));
    log.extend(sim.drain_events());
    assert!(started(&log).is_empty(), "{:?}", started(&log));

    // One step: step 1 now, then the playbook holds (step 2 would follow 30 s later).
    let mut c = sim.world.resource_mut::<Campaign>();
    c.step_once(at(900.0)).unwrap();
    assert_eq!(c.pace(), Pace::OneStep);
    sim.world
        .resource_mut::<otrange_sim::base::clock::Wakeups>()
        .at(at(900.0));
    sim.run_until(at(1200.0));
    log.extend(sim.drain_events());
    assert_eq!(started(&log).len(), 1, "{:?}", started(&log));
    assert!((started(&log)[0].1 - 900.0).abs() < 0.01);
    assert_eq!(sim.world.resource::<Campaign>().pace(), Pace::Held);

    // An ad-hoc step runs at once and may fail without stopping the playbook: writing a
    // register far beyond the PLC's, from a new red-team actor on a workstation.
    let params: toml::Table = "register = \"hr:999\"\nvalue = 1".parse().unwrap();
    let n = sim
        .world
        .resource_mut::<Campaign>()
        .run_adhoc("T0855", Some("plc-dosing"), Some("ws-01"), params)
        .unwrap();
    assert_eq!(n, 5, "numbered after the playbook's four steps");
    let bad = sim.world.resource_mut::<Campaign>().run_adhoc(
        "T0855",
        Some("plc-nowhere"),
        None,
        toml::Table::new(),
    );
    assert!(
        matches!(&bad, Err(ControlError::Technique(m)) if m.contains("unknown target host \"plc-nowhere\"")),
        "{bad:?}"
    );
    sim.world
        .resource_mut::<otrange_sim::base::clock::Wakeups>()
        .at(at(1200.0));
    sim.run_until(at(1260.0));
    log.extend(sim.drain_events());
    let adhoc = started(&log)
        .into_iter()
        .find(|(s, _)| *s == 5)
        .expect("the ad-hoc step ran");
    assert!((adhoc.1 - 1200.0).abs() < 0.01);
    assert_eq!(ended(&log).last(), Some(&(5, "failed".to_string())));
    assert!(
        sim.world
            .resource::<Campaign>()
            .actors()
            .iter()
            .any(|a| a.name == "red team at ws-01"),
        "a red-team actor placed on ws-01"
    );

    // Start: the rest runs, and the chain reaches its impact as in a batch run.
    sim.world.resource_mut::<Campaign>().start(at(1260.0)).unwrap();
    sim.world
        .resource_mut::<otrange_sim::base::clock::Wakeups>()
        .at(at(1260.0));
    sim.run_until(at(3000.0));
    log.extend(sim.drain_events());
    let playbook: Vec<(u32, String)> = ended(&log).into_iter().filter(|(s, _)| *s <= 4).collect();
    assert_eq!(
        playbook,
        (1..=4).map(|s| (s, "succeeded".to_string())).collect::<Vec<_>>()
    );
    assert!(
        log.iter()
            .any(|e| matches!(&e.kind, EventKind::Impact { technique, .. } if *technique == "T0880")),
        "the impact"
    );
    let c = sim.world.resource::<Campaign>();
    assert!(c.finished());
    let mut c = sim.world.resource_mut::<Campaign>();
    assert_eq!(c.start(at(3000.0)), Err(ControlError::Finished));
}
