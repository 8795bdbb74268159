//! Closed hydraulic loop driven by a circulating pump (a district-heating network's primary
//! loop, a building's heating circuit): the flow is where the pump's curve meets the loop's.
//!
//! Pump curve at speed `s` (0..1), by the affinity laws (flow ∝ s, head ∝ s²):
//! `H_pump = H0·s² − a·Q²`, with `H0` the shut-off head (`shutoff_head_m`) and
//! `a = (H0 − H_r) / Q_r²` from one rated point (`rated_flow_m3s`, `rated_head_m`) at full
//! speed.
//!
//! System curve: `H_sys = H_static + R·Q²`. In a closed loop the static head cancels (0, the
//! default); `static_head_m` is there for a loop lifting water to an open tank. `R` is the
//! loop's pipes, `R_pipe = pipe_head_m / pipe_flow_m3s²`, plus its **branches**: every
//! `[[process.branch]]` naming this loop is a consumer branch in parallel with the others,
//! with a control valve whose opening `x` gives it the conductance `x·k` (`Q_branch =
//! x·k·√ΔH`), so together they add `1 / G²` with `G = Σ xᵢ·kᵢ`. Closing valves raises
//! `R`: the flow falls and the pump's head rises toward `H0·s²`; with every branch shut there
//! is no flow and the pump works at shut-off head.
//!
//! The operating point is the intersection, in closed form:
//! `Q = √((H0·s² − H_static) / (R + a))`, `H = H0·s² − a·Q²`, and 0 when the pump cannot
//! overcome the static head. The head across the branches, `branch_head_m = (Q / G)²`, is
//! what each branch's flow follows, so the branches' flows add up to the loop's.
//!
//! Pressure: the expansion vessel holds the pump's suction at `fill_pressure_bar`; the
//! discharge is at `fill + ρ·g·H` (bar g, `pressure_bar`). A stopped pump (its `run`
//! command 0 or its `power` enable lost) shows as no flow and the loop at fill pressure; a
//! shut loop as full shut-off pressure: put `[[process.limit]]`s on `flow` and
//! `pressure_bar`.
//!
//! Why one component: the pump's flow depends on every valve in the loop and the valves'
//! flows on the pump, so neither a pump nor a valve can compute its flow alone; the loop
//! owns the pump (its commands `run` and `speed`) and solves the whole circuit. A duty and
//! standby pair, only one running at a time, is one pump to the hydraulics. The water has
//! no inertia here (no water hammer): flow and head follow within the step, so the loop
//! never cuts a step.
//!
//! Signals: `run` (command 0/1), `speed` (command 0..1, default 1), `running` (0/1),
//! `flow` (m³/s), `head_m` (m, pump head), `pressure_bar` (bar g, discharge),
//! `branch_head_m` (m, across the branches).

use serde::Deserialize;
use toml::Spanned;

use crate::base::config_error::ConfigError;
use crate::process::at::At;
use crate::process::component::{Built, Component, ComponentConfig};
use crate::process::resolve::Resolver;
use crate::process::signals::{SignalId, Signals, bit};
use crate::process::water;

/// `[[process.loop]]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoopConfig {
    /// Component name.
    pub name: String,
    /// Pump head at zero flow and full speed, m (> 0).
    pub shutoff_head_m: f64,
    /// A rated point of the pump at full speed: flow, m³/s (> 0) ...
    pub rated_flow_m3s: f64,
    /// ... and head, m (>= 0, below `shutoff_head_m`).
    pub rated_head_m: f64,
    /// Head lost in the loop's pipes (mains, boiler) at `pipe_flow_m3s`, m (>= 0).
    pub pipe_head_m: f64,
    /// The flow at which `pipe_head_m` is lost, m³/s (> 0).
    pub pipe_flow_m3s: f64,
    /// Static head the pump must lift before anything flows, m (>= 0, default 0: closed loop).
    #[serde(default)]
    pub static_head_m: f64,
    /// Pressure the expansion vessel holds at the pump's suction, bar g (>= 0, default 0).
    #[serde(default)]
    pub fill_pressure_bar: f64,
    /// `run` at t = 0 (0 or 1, default 0).
    #[serde(default)]
    pub initial_run: f64,
    /// `speed` at t = 0 (0..1, default 1).
    #[serde(default = "one")]
    pub initial_speed: f64,
    /// The pump motor's enable signal, e.g. `"mcc_1.energized"`; unwired means always powered.
    #[serde(default)]
    pub power: Option<Spanned<String>>,
}

fn one() -> f64 {
    1.0
}

/// A branch on the loop: its valve position signal and fully-open conductance.
#[derive(Clone, Debug)]
pub(crate) struct BranchLink {
    pub position: SignalId,
    pub conductance: f64,
}

/// A loop being simulated.
#[derive(Clone, Debug)]
pub(crate) struct HydraulicLoop {
    shutoff_m: f64,
    curve_a: f64,
    pipe_r: f64,
    static_m: f64,
    fill_bar: f64,
    branches: Vec<BranchLink>,
    supply: Option<SignalId>,
    run: SignalId,
    speed: SignalId,
    running: SignalId,
    flow: SignalId,
    head_m: SignalId,
    pressure_bar: SignalId,
    branch_head_m: SignalId,
}

impl ComponentConfig for LoopConfig {
    const TABLE: &'static str = "loop";
    const SIGNALS: &'static [&'static str] = &[
        "run",
        "speed",
        "running",
        "flow",
        "head_m",
        "pressure_bar",
        "branch_head_m",
    ];
    const COMMANDS: &'static [&'static str] = &["run", "speed"];

    fn name(&self) -> &str {
        &self.name
    }

    fn build(&self, at: &At, r: &mut Resolver) -> Result<Built, ConfigError> {
        let shutoff_m = at.positive("shutoff_head_m", self.shutoff_head_m)?;
        let rated_q = at.positive("rated_flow_m3s", self.rated_flow_m3s)?;
        let rated_h = at.non_negative("rated_head_m", self.rated_head_m)?;
        if rated_h >= shutoff_m {
            return Err(at.non_physical(
                "rated_head_m",
                format!("expected a head below shutoff_head_m ({shutoff_m}), got {rated_h}"),
            ));
        }
        let pipe_h = at.non_negative("pipe_head_m", self.pipe_head_m)?;
        let pipe_q = at.positive("pipe_flow_m3s", self.pipe_flow_m3s)?;
        let n = &self.name;
        let lp = HydraulicLoop {
            shutoff_m,
            curve_a: (shutoff_m - rated_h) / (rated_q * rated_q),
            pipe_r: pipe_h / (pipe_q * pipe_q),
            static_m: at.non_negative("static_head_m", self.static_head_m)?,
            fill_bar: at.non_negative("fill_pressure_bar", self.fill_pressure_bar)?,
            branches: Vec::new(),
            supply: self
                .power
                .as_ref()
                .map(|s| r.resolve(s, at.field("power")))
                .transpose()?,
            run: r.own(n, "run"),
            speed: r.own(n, "speed"),
            running: r.own(n, "running"),
            flow: r.own(n, "flow"),
            head_m: r.own(n, "head_m"),
            pressure_bar: r.own(n, "pressure_bar"),
            branch_head_m: r.own(n, "branch_head_m"),
        };
        r.init(lp.run, at.fraction("initial_run", self.initial_run)?);
        r.init(lp.speed, at.fraction("initial_speed", self.initial_speed)?);
        r.init(lp.pressure_bar, lp.fill_bar);
        Ok(Built {
            component: Component::Loop(lp),
            limits: Vec::new(),
        })
    }
}

impl HydraulicLoop {
    /// The signal its branches read their head from: the loop's identity to them.
    pub(crate) fn branch_head_signal(&self) -> SignalId {
        self.branch_head_m
    }

    /// Adds a branch found naming this loop.
    pub(crate) fn add_branch(&mut self, branch: BranchLink) {
        self.branches.push(branch);
    }

    /// Solves the operating point for this step's commands and valve positions.
    pub(crate) fn step(&mut self, s: &mut Signals, _dt_s: f64) {
        let running = s.on(self.run) && s.enabled(self.supply);
        let speed = s.unit(self.speed);
        let g: f64 = self
            .branches
            .iter()
            .map(|b| s.unit(b.position) * b.conductance)
            .sum();
        let open = self.branches.is_empty() || g > 0.0;
        let resistance = self.pipe_r
            + if self.branches.is_empty() || !open {
                0.0
            } else {
                1.0 / (g * g)
            };
        let shutoff = self.shutoff_m * speed * speed;
        let (q, head) = if !running {
            (0.0, 0.0)
        } else if open && shutoff > self.static_m {
            let q = ((shutoff - self.static_m) / (resistance + self.curve_a)).sqrt();
            (q, shutoff - self.curve_a * q * q)
        } else {
            (0.0, shutoff)
        };
        let branch_head = if self.branches.is_empty() {
            0.0
        } else if open {
            (q / g) * (q / g)
        } else {
            (head - self.static_m).max(0.0)
        };
        s.set(self.running, bit(running));
        s.set(self.flow, q);
        s.set(self.head_m, head);
        s.set(self.pressure_bar, self.fill_bar + head * water::BAR_PER_M);
        s.set(self.branch_head_m, branch_head);
    }
}

#[cfg(test)]
mod tests {
    use crate::process::testutil::{build, close, get, run, set};
    use crate::process::water::BAR_PER_M;
    use crate::process::{Process, ProcessConfig};

    /// H0 = 40 m, rated 0.1 m³/s at 30 m: a = 1000 s²/m⁵. Pipes: 10 m at 0.1 m³/s, R = 1000.
    const LOOP: &str = r#"
        [[process.loop]]
        name = "primary"
        shutoff_head_m = 40
        rated_flow_m3s = 0.1
        rated_head_m = 30
        pipe_head_m = 10
        pipe_flow_m3s = 0.1
        fill_pressure_bar = 2
        initial_run = 1
        "#;

    /// Two branches, each 0.05 m³/s at 10 m fully open: k = 0.05/√10.
    const BRANCHES: &str = r#"
        [[process.branch]]
        name = "sub_1"
        loop = "primary"
        design_flow_m3s = 0.05
        design_head_m = 10
        initial_opening = 1
        [[process.branch]]
        name = "sub_2"
        loop = "primary"
        design_flow_m3s = 0.05
        design_head_m = 10
        initial_opening = 1
        "#;

    #[test]
    fn operating_point_is_where_the_curves_meet() {
        // No branches: 40 − 1000 Q² = 1000 Q² ⇒ Q = √0.02 = 0.141421 m³/s, H = 20 m.
        let mut p = build(LOOP);
        run(&mut p, 1, 10.0);
        let q = get(&p, "primary.flow");
        close(q, 0.02f64.sqrt(), 1e-12);
        close(get(&p, "primary.head_m"), 20.0, 1e-9);
        close(get(&p, "primary.head_m"), 1000.0 * q * q, 1e-9); // on the system curve
        close(get(&p, "primary.pressure_bar"), 2.0 + 20.0 * BAR_PER_M, 1e-12);
        // Half speed (affinity): flow halves, head quarters.
        set(&mut p, "primary.speed", 0.5);
        run(&mut p, 1, 10.0);
        close(get(&p, "primary.flow"), 0.02f64.sqrt() / 2.0, 1e-12);
        close(get(&p, "primary.head_m"), 5.0, 1e-9);
        // Stopped: no flow, the loop at fill pressure.
        set(&mut p, "primary.run", 0.0);
        run(&mut p, 1, 10.0);
        assert_eq!(get(&p, "primary.flow"), 0.0);
        assert_eq!(get(&p, "primary.running"), 0.0);
        assert_eq!(get(&p, "primary.pressure_bar"), 2.0);
    }

    #[test]
    fn closing_branches_cuts_flow_and_raises_pressure() {
        // Both open: G = 2k, 1/G² = 10/(4 × 0.0025) = 1000; R = 2000:
        // Q = √(40/3000) = 0.115470, H = 40 − 1000 Q² = 26.667 m, ΔH_branches = 13.333 m,
        // each branch k√13.333 = 0.057735 = Q/2.
        let mut p = build(&format!("{LOOP}{BRANCHES}"));
        run(&mut p, 1, 10.0);
        let q = get(&p, "primary.flow");
        close(q, (40.0f64 / 3000.0).sqrt(), 1e-12);
        close(get(&p, "primary.head_m"), 80.0 / 3.0, 1e-9);
        close(get(&p, "primary.branch_head_m"), 40.0 / 3.0, 1e-9);
        close(get(&p, "sub_1.flow"), q / 2.0, 1e-12);
        close(get(&p, "sub_1.flow") + get(&p, "sub_2.flow"), q, 1e-12);
        // One shut (the loop sees the position one step late): R = 1000 + 4000,
        // Q = √(40/6000) = 0.081650, all through sub_2.
        set(&mut p, "sub_1.command", 0.0);
        run(&mut p, 2, 10.0);
        let q = get(&p, "primary.flow");
        close(q, (40.0f64 / 6000.0).sqrt(), 1e-12);
        assert_eq!(get(&p, "sub_1.flow"), 0.0);
        close(get(&p, "sub_2.flow"), q, 1e-12);
        // Both shut: no flow, the pump at shut-off head: 2 + 40 × 0.0981 = 5.924 bar.
        set(&mut p, "sub_2.command", 0.0);
        run(&mut p, 2, 10.0);
        assert_eq!(get(&p, "primary.flow"), 0.0);
        close(get(&p, "primary.head_m"), 40.0, 1e-12);
        close(get(&p, "primary.pressure_bar"), 5.924, 1e-9);
        assert_eq!(get(&p, "sub_2.flow"), 0.0);
    }

    #[test]
    fn a_pump_without_power_stops_the_flow() {
        let mut p = build(&format!(
            "[[process.breaker]]\nname = \"mcc\"\nload_kw = 5\n{}power = \"mcc.energized\"\n",
            LOOP
        ));
        run(&mut p, 1, 10.0);
        assert!(get(&p, "primary.flow") > 0.1);
        set(&mut p, "mcc.trip", 1.0);
        run(&mut p, 1, 10.0);
        assert_eq!(get(&p, "primary.flow"), 0.0);
        assert_eq!(get(&p, "primary.running"), 0.0);
        assert_eq!(get(&p, "primary.run"), 1.0, "still commanded");
        assert_eq!(get(&p, "primary.pressure_bar"), 2.0);
    }

    #[test]
    fn bad_values_are_reported() {
        for (change, field) in [
            (
                "rated_head_m = 30",
                "rated_head_m = 45",
                "process.loop[0].rated_head_m",
            ),
            (
                "pipe_flow_m3s = 0.1",
                "pipe_flow_m3s = 0",
                "process.loop[0].pipe_flow_m3s",
            ),
        ]
        .map(|(a, b, f)| ((a, b), f))
        {
            let src = LOOP.replace(change.0, change.1);
            let cfg = ProcessConfig::from_plant_toml(&src).unwrap();
            let err = Process::from_config(&cfg).unwrap_err();
            assert_eq!(err.field, field);
            assert_eq!(&src[err.span.unwrap()], "[[process.loop]]");
        }
    }
}
