//! Properties of the water that carries heat between the heat and flow components
//! (`boiler`, `pipe`, `mixing_valve`, `heat_exchanger`, `building`, `loop`, `branch`).
//!
//! One set of constants for every component, so the heat one component puts into a flow is
//! the heat the next one finds in it: density 1000 kg/m³ and specific heat 4186 J/(kg·K),
//! so a flow `Q` in m³/s carries `ρ·cp·Q = 4.186e6 · Q` W per kelvin. Both vary by a few
//! per cent between 10 and 90 °C; a plant model this size does not follow them.

use crate::process::signals::{SignalId, Signals};

/// Volumetric heat capacity of water, ρ·cp, J/(m³·K).
pub(crate) const HEAT_J_PER_M3_K: f64 = 1000.0 * 4186.0;

/// Hydrostatic pressure of one metre of water, ρ·g, in bar (1000 kg/m³ × 9.81 m/s² = 9810 Pa).
pub(crate) const BAR_PER_M: f64 = 1000.0 * 9.81 / 1e5;

/// Heat capacity rate of a flow of water, W/K.
pub(crate) fn capacity_rate(flow_m3s: f64) -> f64 {
    HEAT_J_PER_M3_K * flow_m3s
}

/// Reads a temperature input, °C: a non-finite value (a garbage write) reads as `fallback`,
/// so it cannot poison a component's state for the rest of the run.
pub(crate) fn temperature(s: &Signals, id: SignalId, fallback: f64) -> f64 {
    let v = s.get(id);
    if v.is_finite() { v } else { fallback }
}
