//! Checks of a playbook against the plant that the playbook's own resolution cannot make:
//! the register addresses its Modbus steps name, against the register map of the device
//! they target (a warning), and the inputs its forces name (an error).

use otrange_attacks::playbook::{Playbook, PlaybookConfig};
use otrange_sim::Sim;
use otrange_sim::base::config_error::ConfigError;
use otrange_sim::plc_logic::parse_typed_address;

/// A warning for every step whose `register` (with its `count`, default 1, or the two
/// registers of a 32-bit type) falls outside the
/// target's map: the device answers every such request with exception 2, so the step
/// cannot do what it says. A warning rather than an error, because an attacker probing
/// addresses that do not exist may be the point of the step. Located at the step's
/// `technique`, the params table having no positions of its own.
pub fn register_warnings(cfg: &PlaybookConfig, resolved: &Playbook, sim: &Sim) -> Vec<ConfigError> {
    register_checks(cfg, resolved, sim, false)
}

/// An error for every T0835 Manipulate I/O Image step whose input (with the second register
/// of a 32-bit type) is outside the target's map: a force table holds the PLC's own inputs
/// only, so such a force is a mistake in the playbook, not a probe.
pub fn register_errors(cfg: &PlaybookConfig, resolved: &Playbook, sim: &Sim) -> Vec<ConfigError> {
    register_checks(cfg, resolved, sim, true)
}

/// The register checks: of T0835 steps (`forces`) or of every other step.
fn register_checks(cfg: &PlaybookConfig, resolved: &Playbook, sim: &Sim, forces: bool) -> Vec<ConfigError> {
    let mut out = Vec::new();
    for (i, (written, step)) in cfg.steps.iter().zip(&resolved.steps).enumerate() {
        if (step.technique == "T0835") != forces {
            continue;
        }
        let (Some(target), Some(register)) =
            (step.target, step.params.get("register").and_then(|v| v.as_str()))
        else {
            continue;
        };
        let Ok(reg) = parse_typed_address(register) else {
            continue;
        };
        let (area, start) = (reg.area, reg.addr);
        // A typed value (hr:10:f32) occupies its registers; a `count` reads that many.
        let count = step
            .params
            .get("count")
            .and_then(|v| v.as_integer())
            .and_then(|c| u32::try_from(c).ok())
            .unwrap_or(1)
            .max(u32::from(reg.ty.words()));
        let Some(map) = sim.modbus_map(target) else {
            continue;
        };
        let name = &sim.network().topology().host(target).name;
        if let Some(why) = map.out_of_range(name, area, start, count) {
            // A force is refused by the PLC (FC 90 error 3), not answered with exception 2.
            let why = match (forces, why.split_once(": every such request")) {
                (true, Some((head, _))) => {
                    format!("{head}: a force (T0835) needs one of the PLC's own inputs")
                }
                _ => why,
            };
            out.push(ConfigError::new(
                format!("step[{i}].params.register"),
                Some(written.technique.span()),
                why,
            ));
        }
    }
    out
}
