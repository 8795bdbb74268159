//! What every component kind provides, and the runtime enum over them.

use crate::base::config_error::ConfigError;
use crate::process::at::At;
use crate::process::boiler::Boiler;
use crate::process::branch::Branch;
use crate::process::breaker::Breaker;
use crate::process::building::Building;
use crate::process::bus::Bus;
use crate::process::dosing::Dosing;
use crate::process::heat_exchanger::HeatExchanger;
use crate::process::heater::Heater;
use crate::process::hydraulic_loop::HydraulicLoop;
use crate::process::junction::Junction;
use crate::process::limits::Limit;
use crate::process::mixing_valve::MixingValve;
use crate::process::noise::Noise;
use crate::process::pipe::Pipe;
use crate::process::pressure::PressureVessel;
use crate::process::profile::Profile;
use crate::process::pump::Pump;
use crate::process::resolve::Resolver;
use crate::process::series::Series;
use crate::process::signals::{SignalId, Signals};
use crate::process::tank::Tank;
use crate::process::valve::Valve;

/// The config table of one component kind.
pub(crate) trait ComponentConfig {
    /// Key under `[process]`, e.g. `"tank"` for `[[process.tank]]`.
    const TABLE: &'static str;
    /// Fields of the signals the component owns, in id order.
    const SIGNALS: &'static [&'static str];
    /// Of them, the commands: what a PLC output or an operator may drive. The others are
    /// the component's state or results, which it overwrites every step.
    const COMMANDS: &'static [&'static str];
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
    Profile(Profile),
    Series(Series),
    Noise(Noise),
    Breaker(Breaker),
    Bus(Bus),
    Pump(Pump),
    Valve(Valve),
    Tank(Tank),
    Dosing(Dosing),
    Heater(Heater),
    PressureVessel(PressureVessel),
    Loop(HydraulicLoop),
    Branch(Branch),
    MixingValve(MixingValve),
    Boiler(Boiler),
    Pipe(Pipe),
    HeatExchanger(HeatExchanger),
    Building(Building),
    Junction(Junction),
}

impl Component {
    /// Advances the component by `dt_s` seconds, reading its inputs and
    /// writing its outputs in `signals`.
    pub(crate) fn step(&mut self, signals: &mut Signals, dt_s: f64) {
        match self {
            Self::Profile(c) => c.step(signals, dt_s),
            Self::Series(c) => c.step(signals, dt_s),
            Self::Noise(c) => c.step(signals, dt_s),
            Self::Breaker(c) => c.step(signals, dt_s),
            Self::Bus(c) => c.step(signals, dt_s),
            Self::Pump(c) => c.step(signals, dt_s),
            Self::Valve(c) => c.step(signals, dt_s),
            Self::Tank(c) => c.step(signals, dt_s),
            Self::Dosing(c) => c.step(signals, dt_s),
            Self::Heater(c) => c.step(signals, dt_s),
            Self::PressureVessel(c) => c.step(signals, dt_s),
            Self::Loop(c) => c.step(signals, dt_s),
            Self::Branch(c) => c.step(signals, dt_s),
            Self::MixingValve(c) => c.step(signals, dt_s),
            Self::Boiler(c) => c.step(signals, dt_s),
            Self::Pipe(c) => c.step(signals, dt_s),
            Self::HeatExchanger(c) => c.step(signals, dt_s),
            Self::Building(c) => c.step(signals, dt_s),
            Self::Junction(c) => c.step(signals, dt_s),
        }
    }

    /// The longest step explicit Euler can take from the current state without overshooting
    /// (a time constant, or the time to cross a relief valve's blowdown); infinite for a
    /// component whose update is exact at any step (a breaker, a pump, a tank of given flows,
    /// a source: a function of time or a draw, with no state to overshoot; a loop, branch,
    /// mixing valve, junction, boiler or heat exchanger, algebraic in this step's inputs; a pipe, whose
    /// transport and loss are solved exactly).
    pub(crate) fn max_step_s(&self, signals: &Signals) -> f64 {
        match self {
            Self::Valve(c) => c.max_step_s(signals),
            Self::Dosing(c) => c.max_step_s(signals),
            Self::Heater(c) => c.max_step_s(),
            Self::PressureVessel(c) => c.max_step_s(signals),
            Self::Building(c) => c.max_step_s(signals),
            _ => f64::INFINITY,
        }
    }

    /// Whether [`Component::max_step_s`] can be finite: the process asks only these for the
    /// stable step, so a plant of ten thousand tanks and pumps is not read twice per step.
    /// Asked once the valves know how their heads respond (after `link_heads`).
    pub(crate) fn may_limit_step(&self) -> bool {
        match self {
            Self::Valve(c) => c.may_limit_step(),
            Self::Dosing(_) | Self::Heater(_) | Self::PressureVessel(_) | Self::Building(_) => true,
            Self::Breaker(_)
            | Self::Bus(_)
            | Self::Pump(_)
            | Self::Tank(_)
            | Self::Profile(_)
            | Self::Series(_)
            | Self::Noise(_)
            | Self::Loop(_)
            | Self::Branch(_)
            | Self::MixingValve(_)
            | Self::Boiler(_)
            | Self::Pipe(_)
            | Self::HeatExchanger(_)
            | Self::Junction(_) => false,
        }
    }

    /// How fast the state signal `id`, if this component integrates it, moves per m³/s of
    /// net flow: 1/area for a tank's level (m per m³), the stiffness for a vessel's pressure
    /// (bar per m³). A valve draining through that head uses it for its own stability limit.
    pub(crate) fn head_per_m3(&self, id: SignalId) -> Option<f64> {
        match self {
            Self::Tank(c) => c.level_per_m3(id),
            Self::PressureVessel(c) => c.pressure_per_m3(id),
            _ => None,
        }
    }

    /// Places simulated time 0 of a calendar-driven source at `unix_ns` and shows its value
    /// at the current time; nothing for other components.
    pub(crate) fn set_calendar_start(&mut self, unix_ns: u64, signals: &mut Signals) {
        match self {
            Self::Profile(c) => c.set_calendar_start(unix_ns, signals),
            Self::Series(c) => c.set_calendar_start(unix_ns, signals),
            _ => {}
        }
    }
}
