//! Sensor noise: a clean process signal as a real transmitter reports it, with a
//! calibration offset and random scatter. Wire a PLC input to `<noise>.value` instead of
//! the clean signal, so that the control loop, the historian and the detectors see a plant
//! that does not sit on exact values (an anomaly detector tuned on a noiseless plant
//! alarms on the first real one).
//!
//! `value = signal + bias + N(0, std_dev)`, a fresh Gaussian draw every physics step
//! (every sub-step, when a step is cut). The draws come from the run's seed, one stream per
//! noise component (`noise/<name>`, [`crate::process::Process::seed`]), so a seed gives
//! the same scatter every run and adding a noise component does not change another's;
//! before a seed is given the stream is that of seed 0. Before the first step the value
//! is `signal + bias`, so what a device reads at time 0 does not depend on the seed.
//!
//! Signals: `value`.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;
use toml::Spanned;

use crate::base::config_error::ConfigError;
use crate::base::rng::MasterSeed;
use crate::process::at::At;
use crate::process::component::{Built, Component, ComponentConfig};
use crate::process::resolve::Resolver;
use crate::process::signals::{SignalId, Signals};

/// `[[process.noise]]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoiseConfig {
    /// Component name.
    pub name: String,
    /// The clean signal, e.g. `"raw_tank.level"`.
    pub signal: Spanned<String>,
    /// Standard deviation of the scatter, in the signal's unit (> 0).
    pub std_dev: f64,
    /// Constant offset, in the signal's unit (default 0): a transmitter out of calibration.
    #[serde(default)]
    pub bias: f64,
}

/// A noise source being simulated.
#[derive(Clone, Debug)]
pub(crate) struct Noise {
    signal: SignalId,
    std_dev: f64,
    bias: f64,
    /// Boxed: a ChaCha state is large, and every component is the size of the largest.
    rng: Box<ChaCha8Rng>,
    value: SignalId,
}

impl ComponentConfig for NoiseConfig {
    const TABLE: &'static str = "noise";
    const SIGNALS: &'static [&'static str] = &["value"];
    const COMMANDS: &'static [&'static str] = &[];

    fn name(&self) -> &str {
        &self.name
    }

    fn build(&self, at: &At, r: &mut Resolver) -> Result<Built, ConfigError> {
        let noise = Noise {
            signal: r.resolve(&self.signal, at.field("signal"))?,
            std_dev: at.positive("std_dev", self.std_dev)?,
            bias: at.finite("bias", self.bias)?,
            rng: Box::new(stream(&MasterSeed(0), &self.name)),
            value: r.own(&self.name, "value"),
        };
        let initial = r.initial(noise.signal) + noise.bias;
        r.init(noise.value, initial);
        Ok(Built {
            component: Component::Noise(noise),
            limits: Vec::new(),
        })
    }
}

/// The random stream of the noise component `name` under `seed`.
pub(crate) fn stream(seed: &MasterSeed, name: &str) -> ChaCha8Rng {
    seed.stream(&format!("noise/{name}"))
}

impl Noise {
    /// Draws from `rng` from now on.
    pub(crate) fn reseed(&mut self, rng: ChaCha8Rng) {
        *self.rng = rng;
    }

    /// Sets the value before the first step from the clean signal: the signal may belong
    /// to a component built after this one, whose initial value was not known at build.
    pub(crate) fn settle(&self, s: &mut Signals) {
        s.set(self.value, s.get(self.signal) + self.bias);
    }

    /// A fresh draw on the clean signal as it is now.
    pub(crate) fn step(&mut self, s: &mut Signals, _dt_s: f64) {
        let z = standard_normal(&mut self.rng);
        s.set(self.value, s.get(self.signal) + self.bias + self.std_dev * z);
    }
}

/// A standard normal deviate by the Box-Muller transform (the cosine half; the sine half
/// is dropped to keep one draw per step independent of the previous one).
fn standard_normal(rng: &mut ChaCha8Rng) -> f64 {
    // 1 - [0, 1) is (0, 1]: the logarithm never sees 0.
    let u1 = 1.0 - rng.random::<f64>();
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

#[cfg(test)]
mod tests {
    use crate::base::config_error::ConfigError;
    use crate::base::rng::MasterSeed;
    use crate::process::testutil::{build, get, run, set};
    use crate::process::{Process, ProcessConfig};

    /// A level held at 2.5 m by a valve with nothing moving it, read through a noisy
    /// transmitter listed before the tank (so its initial value comes from `settle`).
    const PLANT: &str = r#"
        [[process.noise]]
        name = "lt_101"
        signal = "t.level"
        std_dev = 0.02
        bias = 0.05
        [[process.tank]]
        name = "t"
        area_m2 = 10
        height_m = 5
        initial_level_m = 2.5
    "#;

    fn trace(p: &mut Process, steps: usize) -> Vec<f64> {
        (0..steps)
            .map(|_| {
                run(p, 1, 0.1);
                get(p, "lt_101.value")
            })
            .collect()
    }

    fn seeded(seed: u64) -> Process {
        let mut p = build(PLANT);
        p.seed(&MasterSeed(seed));
        p
    }

    #[test]
    fn starts_at_signal_plus_bias() {
        let p = build(PLANT);
        assert_eq!(get(&p, "lt_101.value"), 2.5 + 0.05);
        assert_eq!(get(&seeded(7), "lt_101.value"), 2.5 + 0.05);
    }

    #[test]
    fn same_seed_same_draws_and_seeds_differ() {
        let a = trace(&mut seeded(7), 100);
        assert_eq!(a, trace(&mut seeded(7), 100));
        assert_ne!(a, trace(&mut seeded(8), 100));
        // Unseeded is seed 0, and deterministic too.
        let unseeded = trace(&mut build(PLANT), 100);
        assert_eq!(unseeded, trace(&mut build(PLANT), 100));
        assert_eq!(unseeded, trace(&mut seeded(0), 100));
        assert_ne!(unseeded, a);
    }

    #[test]
    fn each_noise_has_its_own_stream() {
        // Adding a second noise source leaves the first one's draws as they were.
        let two =
            format!("{PLANT}[[process.noise]]\nname = \"lt_102\"\nsignal = \"t.level\"\nstd_dev = 0.02\n");
        let mut p = build(&two);
        p.seed(&MasterSeed(7));
        let a = trace(&mut p, 50);
        assert_eq!(a, trace(&mut seeded(7), 50));
        assert_ne!(get(&p, "lt_101.value") - 0.05, get(&p, "lt_102.value"));
    }

    #[test]
    fn draws_have_the_configured_mean_and_spread() {
        let n = 100_000;
        let xs = trace(&mut seeded(42), n);
        let nf = n as f64;
        let mean = xs.iter().sum::<f64>() / nf;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (nf - 1.0);
        let sd = var.sqrt();
        // The standard error of the mean is σ/√n = 0.0032 σ: 0.01 σ is three of them.
        assert!((mean - 2.55).abs() < 0.01 * 0.02, "mean {mean}");
        // That of the standard deviation is σ/√(2n) = 0.22 %: 2 % is nine of them.
        assert!((sd - 0.02).abs() < 0.02 * 0.02, "sd {sd}");
        // Gaussian tails: about 0.27 % of draws beyond 3σ.
        let beyond = xs.iter().filter(|x| (*x - 2.55).abs() > 0.06).count() as f64 / nf;
        assert!((0.0017..0.0037).contains(&beyond), "{beyond}");
    }

    #[test]
    fn follows_the_clean_signal() {
        let mut p = build(
            r#"
            [[process.valve]]
            name = "v"
            max_flow_m3s = 1
            stroke_s = 10
            [[process.noise]]
            name = "zt"
            signal = "v.position"
            std_dev = 1e-9
            "#,
        );
        set(&mut p, "v.command", 1.0);
        run(&mut p, 50, 0.1);
        assert!((get(&p, "zt.value") - 0.5).abs() < 1e-7);
        assert!(p.check_drivable("zt.value").is_err());
    }

    #[test]
    fn bad_noise_names_the_field() {
        let error = |body: &str| -> ConfigError {
            let src = format!(
                "[[process.valve]]\nname = \"v\"\nmax_flow_m3s = 1\n[[process.noise]]\nname = \"n\"\n{body}\n"
            );
            let cfg = ProcessConfig::from_plant_toml(&src).unwrap_or_else(|e| panic!("{e}"));
            Process::from_config(&cfg).expect_err(body)
        };
        let err = error("signal = \"v.flow\"\nstd_dev = 0");
        assert_eq!(err.field, "process.noise[0].std_dev");
        let err = error("signal = \"v.flow\"\nstd_dev = -1");
        assert_eq!(err.field, "process.noise[0].std_dev");
        let err = error("signal = \"v.flow\"\nstd_dev = 1\nbias = nan");
        assert_eq!(err.field, "process.noise[0].bias");
        let err = error("signal = \"v.flwo\"\nstd_dev = 1");
        assert_eq!(err.field, "process.noise[0].signal");
        assert!(err.message.contains("known signals of v"), "{}", err.message);
    }
}
