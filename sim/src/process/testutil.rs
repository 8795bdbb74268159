//! Helpers shared by the component tests.

use crate::process::{Impact, Process, ProcessConfig};

/// Builds a process from the body of a plant file; panics with the error.
pub(crate) fn build(src: &str) -> Process {
    let cfg = ProcessConfig::from_plant_toml(src).unwrap_or_else(|e| panic!("{e}"));
    Process::from_config(&cfg).unwrap_or_else(|e| panic!("{e}"))
}

/// Current value of a signal by name.
pub(crate) fn get(p: &Process, name: &str) -> f64 {
    p.get(p.signal_id(name).unwrap_or_else(|| panic!("no signal {name}")))
}

/// Writes a signal by name.
pub(crate) fn set(p: &mut Process, name: &str, v: f64) {
    let id = p.signal_id(name).unwrap_or_else(|| panic!("no signal {name}"));
    p.set(id, v);
}

/// Runs `steps` steps of `dt_s` and returns each impact with the 1-based
/// number of the step that produced it.
pub(crate) fn run(p: &mut Process, steps: usize, dt_s: f64) -> Vec<(usize, Impact)> {
    let mut out = Vec::new();
    for n in 1..=steps {
        let mut impacts = Vec::new();
        p.step(dt_s, &mut impacts);
        out.extend(impacts.into_iter().map(|i| (n, i)));
    }
    out
}

/// Asserts `a` is within `tol` of `b`.
#[track_caller]
pub(crate) fn close(a: f64, b: f64, tol: f64) {
    assert!((a - b).abs() <= tol, "{a} is not within {tol} of {b}");
}
