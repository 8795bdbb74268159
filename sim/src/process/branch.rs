//! A consumer branch on a hydraulic `loop` with its control valve (a building's connection
//! to the district-heating network, with the substation's two-way valve).
//!
//! The branch passes `Q = x·k·√ΔH` (m³/s), where `x` is its valve's position (0..1, a
//! linear characteristic), `ΔH` the head across the loop's branches (`<loop>.branch_head_m`)
//! and `k = design_flow_m3s / √design_head_m` its conductance fully open. The loop adds up
//! its branches' conductances to find its operating point, so the branches' flows add up to
//! the loop's flow: open one valve and the others get a little less.
//!
//! The valve's actuator moves at most `1 / stroke_s` of travel per second, as a `valve`'s
//! does. List branches after their loop: each step the loop solves with the valve positions
//! of the previous step, then the branches move their valves and take their flow from this
//! step's head (while a valve travels, the branches' sum lags the loop's flow by a step).
//! Algebraic, so it never cuts a step.
//!
//! Signals: `command` (0..1), `position` (0..1), `flow` (m³/s, wire it to the building, the
//! exchanger's primary side, or whatever the branch feeds).

use serde::Deserialize;
use toml::Spanned;

use crate::base::config_error::ConfigError;
use crate::process::at::At;
use crate::process::component::{Built, Component, ComponentConfig};
use crate::process::hydraulic_loop::BranchLink;
use crate::process::resolve::Resolver;
use crate::process::signals::{SignalId, Signals};

/// `[[process.branch]]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BranchConfig {
    /// Component name.
    pub name: String,
    /// The `[[process.loop]]` this branch hangs on, by name.
    #[serde(rename = "loop")]
    pub loop_name: Spanned<String>,
    /// Flow through the branch fully open at `design_head_m`, m³/s (> 0).
    pub design_flow_m3s: f64,
    /// Head across the branch at which it passes `design_flow_m3s`, m (> 0).
    pub design_head_m: f64,
    /// Seconds for the valve to travel from shut to fully open (default 0: instant).
    #[serde(default)]
    pub stroke_s: f64,
    /// Command and position at t = 0 (0..1, default 0: shut).
    #[serde(default)]
    pub initial_opening: f64,
}

/// A branch being simulated.
#[derive(Clone, Debug)]
pub(crate) struct Branch {
    conductance: f64,
    stroke_s: f64,
    position_frac: f64,
    loop_head: SignalId,
    command: SignalId,
    position: SignalId,
    flow: SignalId,
}

impl ComponentConfig for BranchConfig {
    const TABLE: &'static str = "branch";
    const SIGNALS: &'static [&'static str] = &["command", "position", "flow"];
    const COMMANDS: &'static [&'static str] = &["command"];

    fn name(&self) -> &str {
        &self.name
    }

    fn build(&self, at: &At, r: &mut Resolver) -> Result<Built, ConfigError> {
        let loop_name = self.loop_name.get_ref();
        if r.table_of(loop_name) != Some("loop") {
            let span = Some(self.loop_name.span()).filter(|s| s.end > s.start);
            return Err(ConfigError::new(
                at.field("loop"),
                span,
                format!("expected the name of a [[process.loop]], got {loop_name:?}"),
            ));
        }
        let head = Spanned::new(self.loop_name.span(), format!("{loop_name}.branch_head_m"));
        let q = at.positive("design_flow_m3s", self.design_flow_m3s)?;
        let h = at.positive("design_head_m", self.design_head_m)?;
        let x = at.fraction("initial_opening", self.initial_opening)?;
        let n = &self.name;
        let b = Branch {
            conductance: q / h.sqrt(),
            stroke_s: at.non_negative("stroke_s", self.stroke_s)?,
            position_frac: x,
            loop_head: r.resolve(&head, at.field("loop"))?,
            command: r.own(n, "command"),
            position: r.own(n, "position"),
            flow: r.own(n, "flow"),
        };
        r.init(b.command, x);
        r.init(b.position, x);
        Ok(Built {
            component: Component::Branch(b),
            limits: Vec::new(),
        })
    }
}

impl Branch {
    /// What the loop needs of this branch, and which loop (by its head signal).
    pub(crate) fn link(&self) -> (SignalId, BranchLink) {
        let link = BranchLink {
            position: self.position,
            conductance: self.conductance,
        };
        (self.loop_head, link)
    }

    /// Moves the valve toward its command, then takes the flow the loop's head drives.
    pub(crate) fn step(&mut self, s: &mut Signals, dt_s: f64) {
        let target = s.unit(self.command);
        self.position_frac = if self.stroke_s > 0.0 {
            let max_move = dt_s / self.stroke_s;
            self.position_frac + (target - self.position_frac).clamp(-max_move, max_move)
        } else {
            target
        };
        let head = s.non_negative(self.loop_head);
        s.set(self.position, self.position_frac);
        s.set(self.flow, self.position_frac * self.conductance * head.sqrt());
    }
}

#[cfg(test)]
mod tests {
    use crate::process::{Process, ProcessConfig};

    fn error(src: &str) -> (String, String) {
        let cfg = ProcessConfig::from_plant_toml(src).unwrap();
        let err = Process::from_config(&cfg).unwrap_err();
        (err.field, src[err.span.unwrap()].to_string())
    }

    #[test]
    fn must_name_a_loop_and_have_a_design_point() {
        let src = "[[process.valve]]\nname = \"v\"\nmax_flow_m3s = 1\n[[process.branch]]\nname = \"b\"\n\
                   loop = \"v\"\ndesign_flow_m3s = 0.01\ndesign_head_m = 5\n";
        assert_eq!(error(src), ("process.branch[0].loop".into(), "\"v\"".into()));
        let src = "[[process.loop]]\nname = \"l\"\nshutoff_head_m = 10\nrated_flow_m3s = 1\n\
                   rated_head_m = 5\npipe_head_m = 1\npipe_flow_m3s = 1\n[[process.branch]]\n\
                   name = \"b\"\nloop = \"l\"\ndesign_flow_m3s = 0.01\ndesign_head_m = 0\n";
        assert_eq!(
            error(src),
            (
                "process.branch[0].design_head_m".into(),
                "[[process.branch]]".into()
            )
        );
    }
}
