//! Sub-stepping: how a physics step longer than the plant's fastest dynamics is integrated.
//!
//! Explicit Euler is exact for a tank fed by given flows, but not for a state that feeds
//! back on itself: a heater losing heat in proportion to its temperature, a vessel draining
//! through a valve in proportion to the root of its pressure, a relief valve that vents
//! while pressure is inside its blowdown. A step longer than the component's time constant
//! overshoots; longer still, it oscillates with growing amplitude, and the limits report
//! damage the plant would never suffer. So each step is cut into sub-steps no longer than
//! the shortest stable step of any component, re-evaluated before every sub-step from the
//! current state. A plant whose step is already short enough takes one sub-step of exactly
//! the step, bit for bit what it took before sub-stepping existed.

use serde::{Deserialize, Serialize};

/// The most sub-steps one physics step is cut into. A component stiffer than the physics
/// step / this bound is integrated with sub-steps of that length anyway (and the run
/// reports it in `capped_steps`), so a mis-sized component slows the run by at most this
/// factor.
pub const MAX_SUBSTEPS: u32 = 10_000;

/// What sub-stepping cost a run, in results.json's `process.integration` (absent when no
/// step needed cutting).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct IntegrationStats {
    /// Physics steps integrated.
    pub steps: u64,
    /// Sub-steps they were integrated in (equal to `steps` when none needed cutting).
    pub substeps: u64,
    /// The most sub-steps one step needed.
    pub max_substeps_per_step: u32,
    /// The component whose stability limit set the shortest sub-step.
    pub stiffest_component: Option<String>,
    /// That shortest sub-step, seconds.
    pub shortest_substep_s: Option<f64>,
    /// Steps that needed more than [`MAX_SUBSTEPS`] and were integrated with that many: their
    /// result may overshoot.
    pub capped_steps: u64,
}

impl IntegrationStats {
    /// True once any step was cut into sub-steps.
    pub fn substepped(&self) -> bool {
        self.substeps > self.steps
    }
}

/// The next sub-step: the stable step `stable_s`, but not past the end of the step
/// (`remaining_s`), not shorter than `step_s / MAX_SUBSTEPS`, and stretched to the end of
/// the step when less than a thousandth of a sub-step would be left over (so rounding never
/// produces a sliver step).
pub(crate) fn next_substep(step_s: f64, remaining_s: f64, stable_s: f64) -> f64 {
    let h = stable_s.max(step_s / f64::from(MAX_SUBSTEPS));
    if h >= remaining_s * (1.0 - 1e-3) {
        remaining_s
    } else {
        // Even sub-steps over what remains, each no longer than the stable step.
        let n = (remaining_s / h).ceil();
        remaining_s / n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stable_step_takes_the_whole_step() {
        assert_eq!(next_substep(0.1, 0.1, f64::INFINITY), 0.1);
        assert_eq!(next_substep(0.1, 0.1, 0.25), 0.1);
        assert_eq!(next_substep(10.0, 10.0, 9.995), 10.0, "no sliver");
    }

    #[test]
    fn a_stiff_step_is_cut_evenly_and_bounded() {
        assert_eq!(next_substep(10.0, 10.0, 3.0), 2.5);
        assert_eq!(next_substep(10.0, 10.0, 1e-9), 10.0 / 10_000.0);
    }
}
