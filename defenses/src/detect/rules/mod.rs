//! The rules detector: Suricata's rule language for Modbus, so rule sets written for
//! Suricata (the Digital Bond Quickdraw set among them) run on the range's traffic.
//!
//! ```text
//! alert modbus !$MODBUS_CLIENT any -> $MODBUS_SERVER 502 (msg:"..."; modbus: access write; sid:1;)
//! ```
//!
//! * [`parse`]: rules text to compiled rules, errors naming file, line and keyword.
//! * [`address`]: address and port sets, and the variables (`$HOME_NET`, `$MODBUS_CLIENT`, ...).
//! * [`modbus`]: the `modbus` keyword and the Modbus `app-layer-event`s.
//! * [`payload`]: `content`, `byte_test`, `dsize`.
//! * [`threshold`]: `threshold` and `detection_filter`, in simulated time.
//! * [`rule`]: a compiled rule and its per-frame checks.
//!
//! Speed comes from doing the work once: addresses become range sets, contents byte
//! patterns, and rules are indexed by the kind of frame they can match (Modbus or not,
//! request or response) and by function code, so a frame only meets the few rules that can
//! match it, and a frame that raises nothing allocates nothing.

pub mod address;
pub mod modbus;
pub mod num;
pub mod parse;
pub mod payload;
pub mod rule;
pub mod threshold;

use super::{Alert, BuildContext, ConfigFault, Detector, DetectorConfig};
use address::Vars;
use otrange_sim::base::time::SimTime;
use otrange_sim::net::topology::{HostId, Topology, Transport};
use otrange_sim::net::{Frame, Payload};
use otrange_sim::wire::modbus::Adu;
use rule::{Action, FlowDir, Proto, Rule};
use std::collections::BTreeMap;
use threshold::{Track, Window};

/// A problem in a rules file: where, which keyword, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct RuleError {
    /// The rules file as the caller named it (`origin`).
    pub file: String,
    /// The rule's first line; 0 for a problem in a variable's value (the detector's vars).
    pub line: usize,
    /// The option, header token or `$VARIABLE` at fault.
    pub keyword: String,
    /// Why, for people.
    pub message: String,
}

impl RuleError {
    /// `file:line: keyword: message`, or, for a variable's value (line 0: no line of the
    /// file is at fault), the variable and the file whose rules were given it.
    fn describe(&self) -> String {
        if self.line == 0 {
            format!(
                "{:?}: {} (a variable given to the rules of {})",
                self.keyword, self.message, self.file
            )
        } else {
            format!(
                "{}:{}: {:?}: {}",
                self.file, self.line, self.keyword, self.message
            )
        }
    }
}

/// Bucket of a Modbus frame too short to carry a function code.
const NO_FC: usize = 256;

/// Rule indices by the frames they can match, each list in evaluation order (pass rules
/// first, then file order).
struct Index {
    /// [request, response][function code or NO_FC].
    modbus: [Vec<Vec<u32>>; 2],
    /// Non-Modbus flows: [request, response].
    flows: [Vec<u32>; 2],
}

impl Index {
    fn build(rules: &[Rule]) -> Index {
        let mut order: Vec<u32> = (0..rules.len() as u32).collect();
        // Stable: pass rules first, each group in file order.
        order.sort_by_key(|&i| rules[i as usize].action != Action::Pass);
        let mut ix = Index {
            modbus: [vec![Vec::new(); NO_FC + 1], vec![Vec::new(); NO_FC + 1]],
            flows: [Vec::new(), Vec::new()],
        };
        for i in order {
            let r = &rules[i as usize];
            let dirs = [
                r.flow != Some(FlowDir::ToClient),
                r.flow != Some(FlowDir::ToServer) && !r.needs_modbus_request(),
            ];
            let fcs = r.function_codes();
            let unconstrained = fcs == [u64::MAX; 4];
            for (d, ok) in dirs.into_iter().enumerate() {
                if !ok {
                    continue;
                }
                for fc in 0..NO_FC {
                    if fcs[fc >> 6] & (1 << (fc & 63)) != 0 {
                        ix.modbus[d][fc].push(i);
                    }
                }
                if unconstrained {
                    ix.modbus[d][NO_FC].push(i);
                }
                if r.proto != Proto::Modbus && !r.needs_bytes() {
                    ix.flows[d].push(i);
                }
            }
        }
        ix
    }
}

/// The rules detector: every rule compiled and indexed. Pass rules are evaluated first and
/// silence the rest for the frame; each other rule that matches (and that its threshold
/// admits) raises one alert.
pub struct RulesDetector {
    name: String,
    rules: Vec<Rule>,
    by_sid: BTreeMap<u64, usize>,
    index: Index,
    /// Threshold windows by (rule index, tracked host).
    windows: BTreeMap<(u32, u32), Option<Window>>,
    alerts: Vec<Alert>,
    frames: u64,
    per_sid: BTreeMap<u64, u64>,
}

impl RulesDetector {
    /// From a `[[detector]] kind = "rules"` entry: `rules` is the file (relative to the
    /// detector-set file), `vars` the rule variables.
    pub fn from_config(cfg: &DetectorConfig, cx: &BuildContext) -> Result<Self, ConfigFault> {
        cfg.only(&["rules", "vars"])?;
        let file = cfg.rules.as_deref().ok_or_else(|| {
            (
                "rules".to_string(),
                "a rules detector needs a rules file".to_string(),
            )
        })?;
        let path = cx.base.join(file);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            (
                "rules".to_string(),
                format!("cannot read {}: {e}", path.display()),
            )
        })?;
        RulesDetector::from_text(&cfg.name, &text, &path.display().to_string(), &cfg.vars, cx.topo).map_err(
            |e| {
                let field = match e.keyword.strip_prefix('$') {
                    Some(var) if e.line == 0 => format!("vars.{var}"),
                    _ => "rules".to_string(),
                };
                (field, e.to_string())
            },
        )
    }

    /// From rules text; `origin` names the file in errors.
    pub fn from_text(
        name: &str,
        text: &str,
        origin: &str,
        vars: &BTreeMap<String, String>,
        topo: &Topology,
    ) -> Result<Self, RuleError> {
        let v = Vars::new(vars, topo);
        v.check_given().map_err(|e| RuleError {
            file: origin.to_string(),
            line: 0,
            keyword: e.keyword,
            message: e.message,
        })?;
        let mut rules = Vec::new();
        let mut by_sid: BTreeMap<u64, usize> = BTreeMap::new();
        for (line, text) in parse::logical_lines(text) {
            let r = parse::parse_rule(origin, line, &text, &v)?;
            if let Some(&first) = by_sid.get(&r.sid) {
                return Err(RuleError {
                    file: origin.to_string(),
                    line,
                    keyword: "sid".into(),
                    message: format!(
                        "duplicate sid {}: already used on line {}",
                        r.sid,
                        rules_line(&rules, first)
                    ),
                });
            }
            by_sid.insert(r.sid, rules.len());
            rules.push(r);
        }
        let index = Index::build(&rules);
        Ok(RulesDetector {
            name: name.to_string(),
            rules,
            by_sid,
            index,
            windows: BTreeMap::new(),
            alerts: Vec::new(),
            frames: 0,
            per_sid: BTreeMap::new(),
        })
    }

    /// How many rules the file compiled to.
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// Whether the rule that raised an alert was a `drop` rule (prevention mode uses this).
    pub fn is_drop(&self, sid: u64) -> bool {
        self.by_sid
            .get(&sid)
            .is_some_and(|&i| self.rules[i].action == Action::Drop)
    }
}

fn rules_line(rules: &[Rule], i: usize) -> usize {
    rules.get(i).map_or(0, |r| r.line)
}

/// ATT&CK names are written with underscores in rule metadata (values are single words in
/// most Suricata tooling); alerts carry them with spaces, as ATT&CK spells them.
fn attack_name(v: &str) -> String {
    v.replace('_', " ")
}

impl Detector for RulesDetector {
    fn name(&self) -> &str {
        &self.name
    }

    fn observe(&mut self, _node: HostId, frame: &Frame, now: SimTime, topo: &Topology) {
        self.frames += 1;
        let dir = usize::from(frame.dst_port != frame.service.port());
        let (bytes, len, list): (&[u8], u64, &[u32]) = match &frame.payload {
            Payload::Modbus(b) => {
                let bucket = Adu::new_unchecked(b).map_or(NO_FC, |a| usize::from(a.function()));
                (b, b.len() as u64, &self.index.modbus[dir][bucket])
            }
            Payload::Flow { bytes, .. } => (&[], u64::from(*bytes), &self.index.flows[dir]),
            // Rules match IP traffic; a stream's layer-2 frames carry none.
            Payload::Stream(_) => return,
        };
        if list.is_empty() {
            return;
        }
        let addr = |h: HostId| topo.hosts.get(h.0 as usize).map_or(0, |x| u32::from(x.address));
        let (src, dst) = (addr(frame.src), addr(frame.dst));
        let tcp = frame.transport() == Transport::Tcp;
        for &i in list {
            let r = &self.rules[i as usize];
            if (r.proto == Proto::Tcp && !tcp)
                || !r.endpoints_match(src, frame.src_port, dst, frame.dst_port)
                || !r.checks_match(bytes, len)
            {
                continue;
            }
            if let Some(t) = &r.threshold {
                let host = match t.track {
                    Track::BySrc => frame.src.0,
                    Track::ByDst => frame.dst.0,
                };
                if !t.admit(self.windows.entry((i, host)).or_insert(None), now) {
                    continue;
                }
            }
            if r.action == Action::Pass {
                // Suricata's action order: a pass rule silences every other rule.
                return;
            }
            let mut a = Alert::on(frame, now, &self.name, r.sid, r.msg.clone());
            a.severity = r.severity;
            a.technique = r.meta("mitre_technique_id").map(str::to_string);
            a.tactic = r.meta("mitre_tactic_name").map(attack_name);
            self.alerts.push(a);
            *self.per_sid.entry(r.sid).or_default() += 1;
        }
    }

    fn alerts(&self) -> &[Alert] {
        &self.alerts
    }

    /// Inline, only `drop` rules drop, as in Suricata's IPS mode; `alert` rules only report.
    fn drops(&self, alert: &Alert) -> bool {
        self.is_drop(alert.signature_id)
    }

    fn summary(&self) -> serde_json::Value {
        serde_json::json!({
            "rules": self.rules.len(),
            "frames_inspected": self.frames,
            "alerts": self.alerts.len(),
            "alerts_per_sid": self.per_sid,
        })
    }
}
