//! The physical process inside the world: fixed-step integration that catches up to the
//! clock on every tick, and impacts recorded at the step they happened in.

use crate::base::clock::Clock;
use crate::base::events::{EventKind, EventLog};
use crate::base::time::{SimDuration, SimTime};
use crate::process::{Impact, Process};
use bevy_ecs::prelude::*;

/// The process and its integration step.
#[derive(Resource)]
pub struct ProcessState {
    /// The components, signals and limits; devices read and write signals through it.
    pub process: Process,
    /// Physics step. Fixed, so results do not depend on how often the world ticks.
    pub dt: SimDuration,
    /// Time the physics has been integrated up to.
    pub integrated_to: SimTime,
    impacts: Vec<Impact>,
    /// The limits that have fired so far, for site procedures that react to harm.
    pub fired: std::collections::BTreeSet<String>,
}

impl ProcessState {
    /// A process at time zero, not yet integrated.
    pub fn new(process: Process, dt: SimDuration) -> Self {
        ProcessState {
            process,
            dt,
            integrated_to: SimTime::ZERO,
            impacts: Vec::new(),
            fired: Default::default(),
        }
    }
}

/// Process: integrate whole physics steps up to now.
pub fn integrate_process(clock: Res<Clock>, mut state: ResMut<ProcessState>, mut log: ResMut<EventLog>) {
    state.integrate_until(clock.now, &mut log);
}

impl ProcessState {
    /// When the next physics step ends.
    pub fn next_step(&self) -> SimTime {
        self.integrated_to + self.dt
    }

    /// Integrates every whole step that ends at or before `to`, logging impacts at the end
    /// of the step they happened in. Between two ticks nothing the physics reads changes,
    /// so a step integrated as its time comes or at the next tick ends the same.
    pub fn integrate_until(&mut self, to: SimTime, log: &mut EventLog) {
        let state = self;
        let dt_s = state.dt.as_secs_f64();
        while state.integrated_to + state.dt <= to {
            state.process.step(dt_s, &mut state.impacts);
            state.integrated_to += state.dt;
            for imp in state.impacts.drain(..) {
                if !state.fired.contains(&imp.limit) {
                    state.fired.insert(imp.limit.clone());
                }
                log.push(
                    state.integrated_to,
                    EventKind::Impact {
                        technique: imp.technique.id(),
                        technique_name: imp.technique.name(),
                        limit: imp.limit,
                        component: imp.component,
                        signal: imp.signal,
                        value: imp.value,
                        threshold: imp.threshold,
                        description: imp.description,
                    },
                );
            }
        }
    }
}
