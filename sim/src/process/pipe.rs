//! Pipe carrying hot water with a transport delay, losing heat to the ground (a district
//! heating main, a long connection to a building).
//!
//! Plug flow: water leaves the pipe in the order it entered, so a change of inlet
//! temperature reaches the outlet after the time the flow takes to displace the pipe's
//! volume, `delay = volume_m3 / Q`, which depends on the current flow: half the flow, twice
//! the delay; no flow, the water stands still (and cools).
//!
//! Discretisation: the pipe is a ring of `segments` equal parcels of `volume_m3 / segments`
//! each, the oldest at the outlet. Inflow fills a new parcel at the inlet (mixing what comes
//! in during its filling); when it is full it enters the pipe and the oldest parcel leaves,
//! so the total volume is conserved. The outlet shows the parcel draining. A front arriving
//! at the inlet therefore reaches the outlet after `volume_m3 / Q`, up to one parcel's
//! transit `volume_m3 / (segments × Q)` early, smeared over one parcel; more segments, a
//! sharper front (and more work per step). A long step moves several parcels at once.
//!
//! Heat loss: each parcel relaxes toward `ground_c` with the time constant
//! `ρ·cp·volume_m3 / ua_w_per_k` (`ua_w_per_k` for the whole pipe), solved exactly over the
//! step (`T ← T_ground + (T − T_ground)·e^(−dt·UA/C)`). Transport and loss are exact for any
//! step, so the pipe never cuts a step: nothing in it can overshoot.
//!
//! Signals: `outlet` (°C), `loss_kw` (kW lost to the ground, from the mean temperature of
//! the pipe's water). A negative or non-finite flow reads as none (the model has one flow
//! direction). No commands.

use serde::Deserialize;
use toml::Spanned;

use crate::base::config_error::ConfigError;
use crate::process::at::At;
use crate::process::component::{Built, Component, ComponentConfig};
use crate::process::resolve::Resolver;
use crate::process::signals::{SignalId, Signals};
use crate::process::water;

/// `[[process.pipe]]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipeConfig {
    /// Component name.
    pub name: String,
    /// Water volume of the pipe, m³ (> 0): length × π × inner diameter² / 4.
    pub volume_m3: f64,
    /// Inlet temperature, a signal in °C.
    pub inlet: Spanned<String>,
    /// Flow through the pipe, a signal in m³/s.
    pub flow: Spanned<String>,
    /// Temperature of the water in the pipe at t = 0, °C.
    pub initial_temperature_c: f64,
    /// Parcels the volume is cut into (1 to 10 000, default 50).
    #[serde(default = "segments_default")]
    pub segments: i64,
    /// Heat loss coefficient of the whole pipe to the ground, W/K (>= 0, default 0).
    #[serde(default)]
    pub ua_w_per_k: f64,
    /// Ground temperature, °C (required when `ua_w_per_k` > 0).
    #[serde(default)]
    pub ground_c: Option<f64>,
}

fn segments_default() -> i64 {
    50
}

/// A pipe being simulated.
#[derive(Clone, Debug)]
pub(crate) struct Pipe {
    /// Parcel temperatures, °C; `oldest` is the one at the outlet.
    cells: Vec<f64>,
    oldest: usize,
    cell_m3: f64,
    /// The parcel being filled at the inlet: its volume so far and its temperature.
    filling_m3: f64,
    filling_c: f64,
    /// 1 / time constant of the loss, 1/s.
    loss_rate: f64,
    ua_w_per_k: f64,
    ground_c: f64,
    last_inlet_c: f64,
    inlet: SignalId,
    flow: SignalId,
    outlet: SignalId,
    loss_kw: SignalId,
}

impl ComponentConfig for PipeConfig {
    const TABLE: &'static str = "pipe";
    const SIGNALS: &'static [&'static str] = &["outlet", "loss_kw"];
    const COMMANDS: &'static [&'static str] = &[];

    fn name(&self) -> &str {
        &self.name
    }

    fn build(&self, at: &At, r: &mut Resolver) -> Result<Built, ConfigError> {
        let volume = at.positive("volume_m3", self.volume_m3)?;
        if !(1..=10_000).contains(&self.segments) {
            return Err(at.non_physical(
                "segments",
                format!("expected a whole number in 1..10000, got {}", self.segments),
            ));
        }
        let n = usize::try_from(self.segments).expect("checked above");
        let ua = at.non_negative("ua_w_per_k", self.ua_w_per_k)?;
        let ground_c = match self.ground_c {
            Some(g) => at.finite("ground_c", g)?,
            None if ua > 0.0 => {
                return Err(at.non_physical("ground_c", "expected `ground_c` with `ua_w_per_k` > 0"));
            }
            None => 0.0,
        };
        let t0 = at.finite("initial_temperature_c", self.initial_temperature_c)?;
        let name = &self.name;
        let pipe = Pipe {
            cells: vec![t0; n],
            oldest: 0,
            cell_m3: volume / n as f64,
            filling_m3: 0.0,
            filling_c: t0,
            loss_rate: ua / (water::HEAT_J_PER_M3_K * volume),
            ua_w_per_k: ua,
            ground_c,
            last_inlet_c: t0,
            inlet: r.resolve(&self.inlet, at.field("inlet"))?,
            flow: r.resolve(&self.flow, at.field("flow"))?,
            outlet: r.own(name, "outlet"),
            loss_kw: r.own(name, "loss_kw"),
        };
        r.init(pipe.outlet, t0);
        r.init(pipe.loss_kw, ua * (t0 - ground_c) / 1000.0);
        Ok(Built {
            component: Component::Pipe(pipe),
            limits: Vec::new(),
        })
    }
}

impl Pipe {
    /// Cools every parcel toward the ground, then moves the step's inflow in.
    pub(crate) fn step(&mut self, s: &mut Signals, dt_s: f64) {
        let t_in = water::temperature(s, self.inlet, self.last_inlet_c);
        self.last_inlet_c = t_in;
        if self.loss_rate > 0.0 {
            let keep = (-dt_s * self.loss_rate).exp();
            let g = self.ground_c;
            for t in self.cells.iter_mut().chain(std::iter::once(&mut self.filling_c)) {
                *t = g + (*t - g) * keep;
            }
        }
        let mut incoming = s.non_negative(self.flow) * dt_s;
        // After a whole pipe's worth plus one parcel, every parcel holds inlet water.
        let mut moves = 0;
        while incoming > 0.0 && moves <= self.cells.len() + 1 {
            let take = (self.cell_m3 - self.filling_m3).min(incoming);
            self.filling_c = (self.filling_c * self.filling_m3 + t_in * take) / (self.filling_m3 + take);
            self.filling_m3 += take;
            incoming -= take;
            if self.filling_m3 >= self.cell_m3 * (1.0 - 1e-12) {
                self.cells[self.oldest] = self.filling_c;
                self.oldest = (self.oldest + 1) % self.cells.len();
                self.filling_m3 = 0.0;
                moves += 1;
            }
        }
        let mean = self.cells.iter().sum::<f64>() / self.cells.len() as f64;
        s.set(self.outlet, self.cells[self.oldest]);
        s.set(self.loss_kw, self.ua_w_per_k * (mean - self.ground_c) / 1000.0);
    }
}

#[cfg(test)]
mod tests {
    use crate::process::testutil::{build, close, get, run, set};
    use crate::process::{Process, ProcessConfig};

    /// A 36 m³ main in 36 parcels; the inlet is a valve's flow (so a test can step it from 0
    /// to 1, read as °C ×100 through a 100 m³/s valve) and the flow a valve in m³/s.
    fn plant(extra: &str) -> Process {
        build(&format!(
            r#"
            [[process.valve]]
            name = "tin"
            max_flow_m3s = 100
            initial_opening = 0.5
            [[process.valve]]
            name = "q"
            max_flow_m3s = 1
            initial_opening = 0.1
            [[process.pipe]]
            name = "main"
            volume_m3 = 36
            segments = 36
            inlet = "tin.flow"
            flow = "q.flow"
            initial_temperature_c = 50
            {extra}
            "#
        ))
    }

    /// Seconds until the outlet first reads at least `level`, in steps of `dt`.
    fn arrival(p: &mut Process, level: f64, dt: f64) -> f64 {
        for n in 1..=100_000 {
            run(p, 1, dt);
            if get(p, "main.outlet") >= level {
                return n as f64 * dt;
            }
        }
        panic!("never arrived");
    }

    #[test]
    fn delay_is_volume_over_flow() {
        // 0.1 m³/s through 36 m³: 360 s. The step enters with the first parcel, so it
        // arrives exactly: that parcel is full at 10 s and reaches the outlet 35 parcels
        // (350 s) later, when the pipe has displaced its whole volume.
        let mut p = plant("");
        assert_eq!(get(&p, "main.outlet"), 50.0);
        set(&mut p, "tin.command", 0.8); // 80 °C from now
        let t = arrival(&mut p, 80.0, 1.0);
        close(t, 360.0, 1e-9);
        // Half the flow, twice the delay: back to 50 °C at 0.05 m³/s takes 720 s.
        set(&mut p, "q.command", 0.05);
        set(&mut p, "tin.command", 0.5);
        run(&mut p, 1, 1.0);
        let mut steps = 1;
        while get(&p, "main.outlet") > 50.0 {
            run(&mut p, 1, 1.0);
            steps += 1;
        }
        assert!((719..=721).contains(&steps), "{steps}");
    }

    #[test]
    fn stands_still_without_flow_and_is_exact_at_long_steps() {
        let mut p = plant("");
        set(&mut p, "q.command", 0.0);
        set(&mut p, "tin.command", 0.8);
        run(&mut p, 1000, 10.0);
        assert_eq!(get(&p, "main.outlet"), 50.0, "no flow: nothing arrives");
        // At 10 s steps the delay is still 360 s: 36 steps.
        set(&mut p, "q.command", 0.1);
        let t = arrival(&mut p, 80.0, 10.0);
        close(t, 360.0, 10.0 + 1e-9);
        // A step flushing the pipe twice over leaves it all at inlet temperature.
        set(&mut p, "tin.command", 0.3);
        run(&mut p, 1, 1000.0);
        assert_eq!(get(&p, "main.outlet"), 30.0);
    }

    #[test]
    fn cools_toward_ground_with_its_time_constant() {
        // UA 4186 W/K over 36 m³ of water (1.50696e8 J/K): τ = 36 000 s. Standing still
        // for τ, the water goes from 50 °C to 10 + 40/e = 24.715 °C, at any step.
        for dt in [10.0, 600.0] {
            let mut p = plant("ua_w_per_k = 4186\nground_c = 10");
            set(&mut p, "q.command", 0.0);
            close(get(&p, "main.loss_kw"), 4.186 * 40.0, 1e-9);
            run(&mut p, (36_000.0 / dt) as usize, dt);
            close(get(&p, "main.outlet"), 10.0 + 40.0 / std::f64::consts::E, 1e-9);
        }
    }

    #[test]
    fn bad_values_are_reported() {
        for (extra, field) in [
            ("segments = 0", "process.pipe[0].segments"),
            ("ua_w_per_k = 10", "process.pipe[0].ground_c"),
            ("ua_w_per_k = -1\nground_c = 5", "process.pipe[0].ua_w_per_k"),
        ] {
            let src = format!(
                "[[process.valve]]\nname = \"q\"\nmax_flow_m3s = 1\n[[process.pipe]]\nname = \"p\"\n\
                 volume_m3 = 1\ninlet = \"q.flow\"\nflow = \"q.flow\"\ninitial_temperature_c = 20\n{extra}\n"
            );
            let cfg = ProcessConfig::from_plant_toml(&src).unwrap();
            let err = Process::from_config(&cfg).unwrap_err();
            assert_eq!(err.field, field);
            assert_eq!(&src[err.span.unwrap()], "[[process.pipe]]");
        }
    }
}
