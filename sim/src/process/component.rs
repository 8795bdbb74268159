//! What every component kind provides, and the runtime enum over them.

use crate::base::config_error::ConfigError;
use crate::process::at::At;
use crate::process::breaker::Breaker;
use crate::process::dosing::Dosing;
use crate::process::heater::Heater;
use crate::process::limits::Limit;
use crate::process::pressure::PressureVessel;
use crate::process::pump::Pump;
use crate::process::resolve::Resolver;
use crate::process::signals::Signals;
use crate::process::tank::Tank;
use crate::process::valve::Valve;

/// The config table of one component kind.
pub(crate) trait ComponentConfig {
    /// Key under `[process]`, e.g. `"tank"` for `[[process.tank]]`.
    const TABLE: &'static str;
    /// Fields of the signals the component owns, in id order.
    const SIGNALS: &'static [&'static str];
    /// Component name, the first part of its signal names.
    fn name(&self) -> &str;
    /// Checks the config, resolves references and sets initial signal
    /// values. Called after every component has registered its signals, so
    /// references may point at components declared later.
    fn build(&self, at: &At, r: &mut Resolver) -> Result<Built, ConfigError>;
}

/// A built component and the limits it brings with it.
#[derive(Debug)]
pub(crate) struct Built {
    pub component: Component,
    pub limits: Vec<Limit>,
}

/// A component being simulated.
#[derive(Clone, Debug)]
pub(crate) enum Component {
    Breaker(Breaker),
    Pump(Pump),
    Valve(Valve),
    Tank(Tank),
    Dosing(Dosing),
    Heater(Heater),
    PressureVessel(PressureVessel),
}

impl Component {
    /// Advances the component by `dt_s` seconds, reading its inputs and
    /// writing its outputs in `signals`.
    pub(crate) fn step(&mut self, signals: &mut Signals, dt_s: f64) {
        match self {
            Self::Breaker(c) => c.step(signals, dt_s),
            Self::Pump(c) => c.step(signals, dt_s),
            Self::Valve(c) => c.step(signals, dt_s),
            Self::Tank(c) => c.step(signals, dt_s),
            Self::Dosing(c) => c.step(signals, dt_s),
            Self::Heater(c) => c.step(signals, dt_s),
            Self::PressureVessel(c) => c.step(signals, dt_s),
        }
    }
}
