//! `[process]`: the schema of a plant's physical process, and the order in
//! which its components are evaluated.
//!
//! Components are evaluated **in the order their tables appear in the TOML
//! file**, across kinds. Each step is one explicit-Euler pass, and a
//! component reads whatever its inputs hold when its turn comes: inputs from
//! components listed earlier are this step's values, inputs from components
//! listed later are last step's. List sources of flow (breakers, pumps,
//! valves) before the tanks and vessels that integrate those flows; that is
//! the config author's responsibility, the process does not reorder. The same
//! holds for signals from outside the plant: list profiles and series before
//! what reads them, and a noise source after the component whose signal it
//! perturbs (otherwise it scatters around last step's value). Heat and flow components
//! read the water coming in: list them in the direction the water flows (a loop before its
//! branches, a boiler before the pipe it feeds, a pipe before the building at its end);
//! where a loop of water closes, the first of them reads last step's value.

use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;

use crate::base::config_error::ConfigError;
use crate::process::at::At;
use crate::process::bands::BandConfig;
use crate::process::boiler::BoilerConfig;
use crate::process::branch::BranchConfig;
use crate::process::breaker::BreakerConfig;
use crate::process::building::BuildingConfig;
use crate::process::bus::BusConfig;
use crate::process::component::{Built, ComponentConfig};
use crate::process::dosing::DosingConfig;
use crate::process::heat_exchanger::HeatExchangerConfig;
use crate::process::heater::HeaterConfig;
use crate::process::hydraulic_loop::LoopConfig;
use crate::process::junction::JunctionConfig;
use crate::process::limits::LimitConfig;
use crate::process::mixing_valve::MixingValveConfig;
use crate::process::noise::NoiseConfig;
use crate::process::pipe::PipeConfig;
use crate::process::pressure::PressureVesselConfig;
use crate::process::profile::ProfileConfig;
use crate::process::pump::PumpConfig;
use crate::process::resolve::Resolver;
use crate::process::series::SeriesConfig;
use crate::process::tank::TankConfig;
use crate::process::valve::ValveConfig;

/// Everything under `[process]` in a plant file.
///
/// Every table is an array (`[[process.tank]]`, ...) and every one is
/// optional. Configs built in code rather than parsed have no spans
/// (`Spanned::new(0..0, ..)`); their components are evaluated in the order
/// of the fields below, which lists signals from outside the plant first, then
/// flow sources, and noise last.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessConfig {
    /// `[[process.profile]]`: values following the time of day or the day of the week.
    #[serde(default)]
    pub profile: Vec<Spanned<ProfileConfig>>,
    /// `[[process.series]]`: recorded time series read from CSV files.
    #[serde(default)]
    pub series: Vec<Spanned<SeriesConfig>>,
    /// `[[process.breaker]]`: circuit breakers feeding loads.
    #[serde(default)]
    pub breaker: Vec<Spanned<BreakerConfig>>,
    /// `[[process.bus]]`: busbars, live while any supply is.
    #[serde(default)]
    pub bus: Vec<Spanned<BusConfig>>,
    /// `[[process.pump]]`: pumps.
    #[serde(default)]
    pub pump: Vec<Spanned<PumpConfig>>,
    /// `[[process.valve]]`: control valves.
    #[serde(default)]
    pub valve: Vec<Spanned<ValveConfig>>,
    /// `[[process.loop]]`: closed hydraulic loops, each with its circulating pump.
    #[serde(default, rename = "loop")]
    pub loops: Vec<Spanned<LoopConfig>>,
    /// `[[process.branch]]`: consumer branches on a loop, with their control valves.
    #[serde(default)]
    pub branch: Vec<Spanned<BranchConfig>>,
    /// `[[process.mixing_valve]]`: three-way mixing valves.
    #[serde(default)]
    pub mixing_valve: Vec<Spanned<MixingValveConfig>>,
    /// `[[process.junction]]`: where flows of water meet and mix.
    #[serde(default)]
    pub junction: Vec<Spanned<JunctionConfig>>,
    /// `[[process.pressure_vessel]]`: vessels with relief valves.
    #[serde(default)]
    pub pressure_vessel: Vec<Spanned<PressureVesselConfig>>,
    /// `[[process.tank]]`: open tanks.
    #[serde(default)]
    pub tank: Vec<Spanned<TankConfig>>,
    /// `[[process.dosing]]`: chemical dosing points.
    #[serde(default)]
    pub dosing: Vec<Spanned<DosingConfig>>,
    /// `[[process.heater]]`: heaters.
    #[serde(default)]
    pub heater: Vec<Spanned<HeaterConfig>>,
    /// `[[process.boiler]]`: boilers heating a flow of water.
    #[serde(default)]
    pub boiler: Vec<Spanned<BoilerConfig>>,
    /// `[[process.pipe]]`: pipes delaying and cooling the water they carry.
    #[serde(default)]
    pub pipe: Vec<Spanned<PipeConfig>>,
    /// `[[process.heat_exchanger]]`: heat exchangers between two flows of water.
    #[serde(default)]
    pub heat_exchanger: Vec<Spanned<HeatExchangerConfig>>,
    /// `[[process.building]]`: buildings heated by the water through their radiators.
    #[serde(default)]
    pub building: Vec<Spanned<BuildingConfig>>,
    /// `[[process.noise]]`: sensor noise on a clean signal.
    #[serde(default)]
    pub noise: Vec<Spanned<NoiseConfig>>,
    /// `[[process.limit]]`: safety limits that record impacts.
    #[serde(default)]
    pub limit: Vec<Spanned<LimitConfig>>,
    /// `[[process.band]]`: normal operating bands that record statistics.
    #[serde(default)]
    pub band: Vec<Spanned<BandConfig>>,
    /// Where `[[process.series]]` files are, the plant file's directory: set by whoever
    /// read the plant file, as only it knows where the file was. `None` reads them
    /// relative to the working directory.
    #[serde(skip)]
    pub base_dir: Option<PathBuf>,
}

/// Builds one component once every signal is registered.
type BuildFn<'a> = Box<dyn Fn(&At, &mut Resolver) -> Result<Built, ConfigError> + 'a>;

/// One component table, located and ready to build.
pub(crate) struct Entry<'a> {
    pub at: At,
    pub name: &'a str,
    pub signals: &'static [&'static str],
    pub commands: &'static [&'static str],
    pub table: &'static str,
    pub build: BuildFn<'a>,
    order: (usize, usize, usize),
}

impl ProcessConfig {
    /// Parses the `[process]` table of a whole plant file, ignoring the
    /// other top-level tables (those belong to other modules).
    pub fn from_plant_toml(src: &str) -> Result<Self, ConfigError> {
        #[derive(Deserialize)]
        struct Plant {
            #[serde(default)]
            process: ProcessConfig,
        }
        toml::from_str::<Plant>(src)
            .map(|p| p.process)
            .map_err(|e| ConfigError::new("process", e.span(), e.message()))
    }

    /// All components in evaluation order: by position in the source, ties
    /// (configs built in code) broken by kind, then by index.
    pub(crate) fn components(&self) -> Vec<Entry<'_>> {
        let mut out = Vec::new();
        let base_dir = self.base_dir.as_deref();
        collect(0, &self.profile, &mut out);
        collect_with(1, &self.series, &mut out, move |c, at, r| {
            c.build_in(at, r, base_dir)
        });
        collect(2, &self.breaker, &mut out);
        collect(3, &self.pump, &mut out);
        collect(4, &self.valve, &mut out);
        collect(5, &self.loops, &mut out);
        collect(6, &self.branch, &mut out);
        collect(7, &self.mixing_valve, &mut out);
        collect(8, &self.pressure_vessel, &mut out);
        collect(9, &self.tank, &mut out);
        collect(10, &self.dosing, &mut out);
        collect(11, &self.heater, &mut out);
        collect(12, &self.boiler, &mut out);
        collect(13, &self.pipe, &mut out);
        collect(14, &self.heat_exchanger, &mut out);
        collect(15, &self.building, &mut out);
        collect(16, &self.junction, &mut out);
        collect(17, &self.bus, &mut out);
        collect(18, &self.noise, &mut out);
        out.sort_by_key(|e| e.order);
        out
    }
}

fn collect<'a, C: ComponentConfig>(kind: usize, tables: &'a [Spanned<C>], out: &mut Vec<Entry<'a>>) {
    collect_with(kind, tables, out, |c, at, r| c.build(at, r));
}

/// [`collect`] for a kind whose build needs more than its own table (a series, the
/// plant file's directory).
fn collect_with<'a, C: ComponentConfig>(
    kind: usize,
    tables: &'a [Spanned<C>],
    out: &mut Vec<Entry<'a>>,
    build: impl Fn(&'a C, &At, &mut Resolver) -> Result<Built, ConfigError> + Copy + 'a,
) {
    for (i, t) in tables.iter().enumerate() {
        let span = t.span();
        let config = t.get_ref();
        out.push(Entry {
            at: At::new(format!("process.{}[{i}]", C::TABLE), span.clone()),
            name: config.name(),
            signals: C::SIGNALS,
            commands: C::COMMANDS,
            table: C::TABLE,
            build: Box::new(move |at, r| build(config, at, r)),
            order: (span.start, kind, i),
        });
    }
}

#[cfg(test)]
mod tests {
    use crate::base::config_error::ConfigError;
    use crate::process::testutil::{build, get, run, set};
    use crate::process::{Process, ProcessConfig};

    fn error(src: &str) -> (ConfigError, String) {
        let cfg = ProcessConfig::from_plant_toml(src).unwrap_or_else(|e| panic!("{e}"));
        let err = Process::from_config(&cfg).expect_err("config should be rejected");
        let text = err.span.clone().map(|s| src[s].to_string()).unwrap_or_default();
        (err, text)
    }

    const TANK_HEADER: &str = "[[process.valve]]\nname = \"v\"\nmax_flow_m3s = 1\n";

    #[test]
    fn unknown_signal_names_field_span_and_alternatives() {
        let src = format!(
            "{TANK_HEADER}[[process.tank]]\nname = \"raw_tank\"\narea_m2 = 1\nheight_m = 1\n\
             inflows = [\"v.flow\", \"raw_tank.levl\"]\n"
        );
        let (err, text) = error(&src);
        assert_eq!(err.field, "process.tank[0].inflows[1]");
        assert_eq!(text, "\"raw_tank.levl\"");
        assert_eq!(
            err.message,
            "unknown signal \"raw_tank.levl\"; known signals of raw_tank: level, volume, overflow_rate"
        );
        assert_eq!(
            err.to_string(),
            format!("process.tank[0].inflows[1]: {}", err.message)
        );
    }

    #[test]
    fn unknown_component_lists_known_components() {
        let src = format!(
            "{TANK_HEADER}[[process.limit]]\nname = \"l\"\nsignal = \"nope.level\"\nabove = 1\n\
             technique = \"T0879\"\ndescription = \"d\"\n"
        );
        let (err, text) = error(&src);
        assert_eq!(err.field, "process.limit[0].signal");
        assert_eq!(text, "\"nope.level\"");
        assert!(err.message.ends_with("known components: v"), "{}", err.message);
    }

    #[test]
    fn negative_area_is_non_physical() {
        let src = format!("{TANK_HEADER}[[process.tank]]\nname = \"t\"\narea_m2 = -2\nheight_m = 1\n");
        let (err, text) = error(&src);
        assert_eq!(err.field, "process.tank[0].area_m2");
        assert_eq!(text, "[[process.tank]]", "points at the table header");
        assert!(err.message.contains("> 0, got -2"), "{}", err.message);
    }

    #[test]
    fn other_non_physical_values() {
        let cases = [
            (
                "[[process.tank]]\nname = \"t\"\narea_m2 = 1\nheight_m = 0\n",
                "process.tank[0].height_m",
            ),
            (
                "[[process.tank]]\nname = \"t\"\narea_m2 = 1\nheight_m = 2\ninitial_level_m = 2.5\n",
                "process.tank[0].initial_level_m",
            ),
            (
                "[[process.valve]]\nname = \"v\"\nmax_flow_m3s = 1\ninitial_opening = 1.5\n",
                "process.valve[0].initial_opening",
            ),
            (
                "[[process.pressure_vessel]]\nname = \"p\"\nstiffness_bar_per_m3 = 1\nrelief_set_bar = 5\n\
                 relief_reseat_bar = 6\nrelief_capacity_m3s = 1\ndesign_pressure_bar = 10\n",
                "process.pressure_vessel[0].relief_reseat_bar",
            ),
            (
                "[[process.heater]]\nname = \"h\"\nmax_power_w = 1\nheat_capacity_j_per_k = 0\n\
                 ua_w_per_k = 1\nambient_c = 20\n",
                "process.heater[0].heat_capacity_j_per_k",
            ),
            (
                "[[process.dosing]]\nname = \"d\"\nvolume_m3 = -1\nmax_dose_g_s = 1\nwater_flow = \"d.stroke\"\n",
                "process.dosing[0].volume_m3",
            ),
        ];
        for (src, field) in cases {
            let (err, _) = error(src);
            assert_eq!(err.field, field);
        }
    }

    #[test]
    fn duplicate_names_are_rejected() {
        let src = format!("{TANK_HEADER}[[process.tank]]\nname = \"v\"\narea_m2 = 1\nheight_m = 1\n");
        let (err, text) = error(&src);
        assert_eq!(err.field, "process.tank[0].name");
        assert_eq!(text, "[[process.tank]]");
        assert!(err.message.contains("process.valve[0]"), "{}", err.message);

        let limit = "[[process.limit]]\nname = \"l\"\nsignal = \"v.flow\"\nabove = 1\n\
                     technique = \"T0879\"\ndescription = \"d\"\n";
        let (err, _) = error(&format!("{TANK_HEADER}{limit}{limit}"));
        assert_eq!(err.field, "process.limit[1].name");
    }

    #[test]
    fn limit_needs_exactly_one_direction() {
        let src = format!(
            "{TANK_HEADER}[[process.limit]]\nname = \"l\"\nsignal = \"v.flow\"\nabove = 1\nbelow = 0\n\
             technique = \"T0879\"\ndescription = \"d\"\n"
        );
        let (err, _) = error(&src);
        assert_eq!(err.field, "process.limit[0]");
        assert!(
            err.message.contains("above") && err.message.contains("below"),
            "{}",
            err.message
        );
    }

    #[test]
    fn schema_errors_carry_spans() {
        let src = "[[process.tank]]\nname = \"t\"\narea_m2 = 1\nheight_m = 1\nbogus = 3\n";
        let err = ProcessConfig::from_plant_toml(src).unwrap_err();
        assert_eq!(err.field, "process");
        assert_eq!(&src[err.span.unwrap()], "bogus");
        let err = ProcessConfig::from_plant_toml("[[process.limit]]\ntechnique = \"T0001\"").unwrap_err();
        assert!(err.message.contains("T0001"), "{}", err.message);
    }

    #[test]
    fn components_run_in_file_order() {
        // The tank is listed before the valve that fills it, so in each step
        // it integrates the flow the valve had at the end of the previous
        // step: one step of lag that a flows-first order would not have.
        let src = "[[process.tank]]\nname = \"t\"\narea_m2 = 1\nheight_m = 10\ninflows = [\"v.flow\"]\n\
                   [[process.valve]]\nname = \"v\"\nmax_flow_m3s = 1\n";
        let mut p = build(src);
        let first: Vec<&str> = p.signal_names().map(|(_, n)| n).take(1).collect();
        assert_eq!(first, ["t.level"]);
        set(&mut p, "v.command", 1.0);
        run(&mut p, 1, 1.0);
        assert_eq!(get(&p, "t.level"), 0.0);
        run(&mut p, 1, 1.0);
        assert_eq!(get(&p, "t.level"), 1.0);
    }

    #[test]
    fn other_top_level_tables_are_ignored() {
        let cfg = ProcessConfig::from_plant_toml(
            "[plc]\nanything = 1\n\n[[process.valve]]\nname = \"v\"\nmax_flow_m3s = 1\n",
        )
        .unwrap();
        assert_eq!(cfg.valve.len(), 1);
    }
}
