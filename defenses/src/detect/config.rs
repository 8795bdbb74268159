//! Detector-set files: which detectors, where their sensors sit, and their settings.
//!
//! ```toml
//! [[detector]]
//! kind = "rules"                 # allow-list | rules | anomaly | invariants | inventory | host
//! name = "quickdraw"
//! at = ["sw-ctl"]                # the switches / firewalls whose traffic it sees
//! mode = "detect"                # or "prevent": inline at `at`, drops what it flags
//! inspection_delay = "20us"      # prevention only: time each frame spends in it
//! rules = "rules/quickdraw-modbus.rules"   # rules: file, relative to this file
//! vars = { MODBUS_CLIENT = "[hmi-1, hmi-2]" }
//! ```

use super::{Detector, DetectorTap};
use otrange_sim::base::time::{DurationField, SimDuration, SimTime};
use otrange_sim::net::topology::{HostId, Topology};
use otrange_sim::net::{Action, Frame, Hop, Middlebox, Stage};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// What building a detector may fail on: the field (relative to the `[[detector]]` table,
/// e.g. "rules" or "vars.MODBUS_CLIENT") and why.
pub type ConfigFault = (String, String);

/// Whether a detector only watches or also drops what it flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Passive, on a span port or tap: sees everything, stops nothing (an IDS).
    #[default]
    Detect,
    /// Inline at its nodes: a frame it raises an alert on is dropped there (an IPS).
    Prevent,
}

/// `[[detector]]` in a detector-set file. Fields not used by a kind are rejected by
/// that kind's constructor, so a typo never passes silently.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectorConfig {
    /// "allow-list", "rules", "anomaly", "invariants", "inventory" or "host".
    pub kind: String,
    /// What alerts, events and results.json call it; in prevention mode its drops are
    /// named after it.
    pub name: String,
    /// The hosts (switches, firewalls) whose traffic it sees: names, or selectors as in
    /// policies (`"role:switch & level:L1"`, the control network's switches on any plant).
    /// For a host detector, the hosts whose logs it reads (default: every host).
    #[serde(default)]
    pub at: Vec<String>,
    /// Detect (the default) or prevent; prevention needs every `at` host to forward
    /// (a switch, router or firewall).
    #[serde(default)]
    pub mode: Mode,
    /// Learning window from the start of the run, e.g. "1h" (allow-list, anomaly).
    #[serde(default)]
    pub learn: Option<DurationField>,
    /// Rules file, relative to the detector-set file (rules); a Sigma rule file or a
    /// directory of them (host).
    #[serde(default)]
    pub rules: Option<String>,
    /// Rule variables such as MODBUS_CLIENT: addresses, CIDRs, plant host names, lists
    /// in brackets, other `$VARS` (rules).
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    /// Alert threshold on the anomaly score (anomaly).
    #[serde(default)]
    pub threshold: Option<f64>,
    /// Kind-specific tables (invariants: the checks), kept as TOML for the kind to read.
    #[serde(default)]
    pub check: Vec<toml::Table>,
    /// Prevention mode: the time each frame spends in the detector before it goes on (deep
    /// inspection is not free); it adds to every frame's latency at the detector's nodes,
    /// the cyclic streams of a TSN cell's included. Default 0.
    #[serde(default)]
    pub inspection_delay: Option<DurationField>,
}

/// What a detector's constructor may need besides its config.
pub struct BuildContext<'a> {
    /// Directory of the detector-set file: other files it names are relative to it.
    pub base: &'a Path,
    /// The topology the detectors watch: the plant's, or the one a capture implies.
    pub topo: &'a Arc<Topology>,
    /// The plant's declared configuration, when there is one (not for a capture).
    pub plant: Option<&'a otrange_sim::plant::PlantConfig>,
}

/// A detector-set file: which detectors, where.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectorSet {
    /// The `[[detector]]` tables, in file order.
    #[serde(rename = "detector", default)]
    pub detectors: Vec<DetectorConfig>,
}

/// A detector ready to install at its nodes: a sensor ([`Stage::Observe`]) in detection
/// mode, inline in the frames' path ([`Stage::Inline`]) in prevention mode.
pub struct Placed {
    /// The detector wrapped for the network: it reports its alerts as events and its
    /// summary as a sensor's.
    pub middlebox: Box<dyn Middlebox>,
    /// Observe in detection mode, Inline in prevention mode.
    pub stage: Stage,
    /// The `at` hosts, in file order; empty for a host detector, which reads host logs
    /// and sits at no network node.
    pub nodes: Vec<HostId>,
}

/// A detector in prevention mode: inline at forwarding nodes, it stops the frames its own
/// alerts name, and reports like a sensor.
struct InlineDetector {
    tap: DetectorTap<Box<dyn Detector>>,
    name: String,
    delay: SimDuration,
}

impl Middlebox for InlineDetector {
    fn name(&self) -> &str {
        &self.name
    }
    fn on_frame(&mut self, hop: &Hop<'_>, frame: &mut Frame) -> Action {
        match self.tap.inline(hop.node, frame, hop.now) {
            Some(rule) => Action::Block { rule, why: None },
            None => Action::Pass,
        }
    }
    fn take_events(&mut self) -> Vec<(SimTime, otrange_sim::base::events::EventKind)> {
        self.tap.take_alert_events()
    }
    fn inline_delay(&self) -> SimDuration {
        self.delay
    }
    fn sensor_summary(&self) -> Option<serde_json::Value> {
        let mut s = self.tap.summary();
        s["mode"] = "prevent".into();
        if self.delay > SimDuration::ZERO {
            s["inspection_delay_ns"] = self.delay.as_nanos().into();
        }
        Some(s)
    }
}

impl DetectorConfig {
    /// The learning window's end: `learn` from the start of the run, or `default`.
    pub fn learn_until(&self, default: SimDuration) -> SimTime {
        SimTime::ZERO + self.learn.as_ref().map_or(default, |d| d.value)
    }

    /// Rejects fields this kind does not read.
    pub fn only(&self, allowed: &[&str]) -> Result<(), ConfigFault> {
        let used = [
            ("learn", self.learn.is_some()),
            ("rules", self.rules.is_some()),
            ("vars", !self.vars.is_empty()),
            ("threshold", self.threshold.is_some()),
            ("check", !self.check.is_empty()),
        ];
        for (field, set) in used {
            if set && !allowed.contains(&field) {
                return Err((
                    field.to_string(),
                    format!("a {:?} detector has no {field:?} setting", self.kind),
                ));
            }
        }
        Ok(())
    }

    /// The detector this entry describes.
    pub fn detector(&self, cx: &BuildContext) -> Result<Box<dyn Detector>, ConfigFault> {
        Ok(match self.kind.as_str() {
            "allow-list" => {
                self.only(&["learn"])?;
                Box::new(super::AllowList::new(
                    self.name.clone(),
                    self.learn_until(SimDuration::from_secs(3600)),
                ))
            }
            "rules" => Box::new(super::rules::RulesDetector::from_config(self, cx)?),
            "anomaly" => Box::new(super::anomaly::Anomaly::from_config(self, cx)?),
            "invariants" => Box::new(super::invariants::Invariants::from_config(self, cx)?),
            "inventory" => Box::new(super::inventory::Inventory::from_config(self, cx)?),
            "host" => Box::new(super::host::HostDetector::from_config(self, cx)?),
            other => {
                return Err((
                    "kind".into(),
                    format!(
                        "unknown detector kind {other:?}: expected \"allow-list\", \"rules\", \
                         \"anomaly\", \"invariants\", \"inventory\" or \"host\""
                    ),
                ));
            }
        })
    }
}

/// A host detector, reading the logs of `hosts` (every host when none is named). It sits
/// at no network node: it is fed host-log entries, not frames.
fn place_host_detector(
    d: &DetectorConfig,
    cx: &BuildContext,
    hosts: Vec<HostId>,
) -> Result<Placed, ConfigFault> {
    if d.mode == Mode::Prevent {
        return Err((
            "mode".into(),
            "a host detector reads logs after the fact and drops no frame: it has detect mode only".into(),
        ));
    }
    if d.inspection_delay.is_some() {
        return Err((
            "inspection_delay".into(),
            "a host detector holds no frame: it has no inspection delay".into(),
        ));
    }
    let mut det = super::host::HostDetector::from_config(d, cx)?;
    if !hosts.is_empty() {
        det = det.reading(hosts);
    }
    let det: Box<dyn Detector> = Box::new(det);
    Ok(Placed {
        middlebox: Box::new(DetectorTap::new(det, Arc::clone(cx.topo))),
        stage: Stage::Observe,
        nodes: Vec::new(),
    })
}

impl DetectorSet {
    /// The detectors alone, for a capture read from a file (`otrange detect --pcap`), where
    /// the capture is the one sensor and `at` does not apply. Errors name `detector[i].field`.
    pub fn detectors(&self, cx: &BuildContext) -> Result<Vec<Box<dyn Detector>>, ConfigFault> {
        self.detectors
            .iter()
            .enumerate()
            .map(|(i, d)| d.detector(cx).map_err(|(f, m)| (format!("detector[{i}].{f}"), m)))
            .collect()
    }

    /// Builds the detectors against the plant and places them at their nodes; errors name
    /// `detector[i].field`.
    pub fn build(&self, cx: &BuildContext) -> Result<Vec<Placed>, ConfigFault> {
        let mut out = Vec::new();
        for (i, d) in self.detectors.iter().enumerate() {
            let f = |k: &str| format!("detector[{i}].{k}");
            let mut nodes = Vec::new();
            for (k, h) in d.at.iter().enumerate() {
                let set = crate::policy::matcher::resolve_hosts(h, cx.topo)
                    .map_err(|m| (f(&format!("at[{k}]")), m))?;
                let found = crate::policy::matcher::members(&set, cx.topo);
                if found.is_empty() {
                    return Err((
                        f(&format!("at[{k}]")),
                        format!("{h:?} names no host of this plant"),
                    ));
                }
                for n in found {
                    if !nodes.contains(&n) {
                        nodes.push(n);
                    }
                }
            }
            if d.kind == "host" {
                out.push(place_host_detector(d, cx, nodes).map_err(|(k, m)| (f(&k), m))?);
                continue;
            }
            if nodes.is_empty() {
                return Err((f("at"), "a detector needs at least one host to sit at".into()));
            }
            let det = d.detector(cx).map_err(|(k, m)| (f(&k), m))?;
            if d.inspection_delay.is_some() && d.mode != Mode::Prevent {
                return Err((
                    f("inspection_delay"),
                    "an inspection delay needs mode = \"prevent\": a detector on a span port holds no frame"
                        .into(),
                ));
            }
            let tap = DetectorTap::new(det, Arc::clone(cx.topo)).at(&nodes);
            out.push(match d.mode {
                Mode::Detect => Placed {
                    middlebox: Box::new(tap),
                    stage: Stage::Observe,
                    nodes,
                },
                Mode::Prevent => {
                    if let Some((k, n)) = nodes.iter().enumerate().find(|(_, n)| !cx.topo.host(**n).role.forwards()) {
                        return Err((
                            f(&format!("at[{k}]")),
                            format!(
                                "prevention mode sits inline, in a switch, router or firewall; {:?} is an end host",
                                cx.topo.host(*n).name
                            ),
                        ));
                    }
                    Placed {
                        middlebox: Box::new(InlineDetector {
                            tap,
                            name: d.name.clone(),
                            delay: d.inspection_delay.as_ref().map_or(SimDuration::ZERO, |x| x.value),
                        }),
                        stage: Stage::Inline,
                        nodes,
                    }
                }
            });
        }
        Ok(out)
    }
}
