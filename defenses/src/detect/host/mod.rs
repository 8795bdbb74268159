//! The `host` detector: Sigma rules evaluated over the hosts' own logs (process starts,
//! logons, file writes, service changes, program transfers), the telemetry an endpoint
//! agent ships to a SIEM. Host-local techniques (a script run on a held workstation, a
//! masqueraded binary, a cleared event log) put nothing on the wire, so every network
//! sensor scores them none; this one reads where they do leave a trace.
//!
//! * [`sigma`]: the rule format, in the subset that matches single events.
//! * `condition`, `matcher`, `tags`, `yaml`, `fields`: its condition grammar, value matching,
//!   the ATT&CK tags alerts carry, the YAML reader that keeps line numbers, the fields
//!   each logsource records.
//!
//! ```toml
//! [[detector]]
//! kind = "host"
//! name = "sigma"
//! rules = "rules/host"        # a rule file, or a directory of *.yml rules
//! at = ["ews-1", "hmi-1"]      # the hosts whose logs it reads (default: every host)
//! ```

mod condition;
mod fields;
mod matcher;
pub mod sigma;
mod tags;
mod yaml;

use super::config::{BuildContext, ConfigFault, DetectorConfig};
use super::{Alert, Detector};
use otrange_sim::base::time::SimTime;
use otrange_sim::devices::host_log::HostEvent;
use otrange_sim::net::Frame;
use otrange_sim::net::topology::{HostId, Topology};
use sigma::Rule;
use std::path::{Path, PathBuf};

/// A rule with where it came from and the signature id its alerts carry.
#[derive(Debug, Clone)]
struct Loaded {
    rule: Rule,
    file: String,
    sid: u64,
    matches: u64,
}

/// Sigma rules over the host logs of the hosts it reads. Each event is tried against every
/// rule (in file-name order); each rule that matches raises one alert, on the host whose log
/// holds the event, naming the rule's title, level and its ATT&CK technique and tactic tags.
pub struct HostDetector {
    name: String,
    rules: Vec<Loaded>,
    /// The hosts whose logs it reads; `None`: every host.
    scope: Option<Vec<HostId>>,
    alerts: Vec<Alert>,
    events_read: u64,
}

impl HostDetector {
    /// The detector a `[[detector]]` table describes: `rules`, a file or a directory of
    /// `.yml`/`.yaml` files, relative to the detector-set file. A rule's error names its
    /// file, line and column.
    pub fn from_config(cfg: &DetectorConfig, cx: &BuildContext) -> Result<Self, ConfigFault> {
        cfg.only(&["rules"])?;
        let rel = cfg.rules.as_deref().ok_or_else(|| {
            (
                "rules".to_string(),
                "a host detector needs `rules`: a Sigma rule file or a directory of them".to_string(),
            )
        })?;
        let path = cx.base.join(rel);
        let mut rules = load_rules(&path).map_err(|m| ("rules".to_string(), m))?;
        // Named as the detector set names them, so results.json does not depend on where
        // the run was started from.
        if path.is_dir() {
            for (file, _) in &mut rules {
                let name = Path::new(file.as_str())
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                *file = format!("{}/{name}", rel.trim_end_matches('/'));
            }
        } else if let Some((file, _)) = rules.first_mut() {
            *file = rel.to_string();
        }
        Ok(HostDetector::new(&cfg.name, rules))
    }

    /// A detector over rules already parsed, each with the file it came from (for
    /// results.json); it reads every host until [`HostDetector::reading`] says otherwise.
    pub fn new(name: &str, rules: Vec<(String, Rule)>) -> Self {
        let rules = rules
            .into_iter()
            .map(|(file, rule)| Loaded {
                sid: signature_id(&rule),
                rule,
                file,
                matches: 0,
            })
            .collect();
        HostDetector {
            name: name.to_string(),
            rules,
            scope: None,
            alerts: Vec::new(),
            events_read: 0,
        }
    }

    /// Reads the logs of these hosts only.
    pub fn reading(mut self, hosts: Vec<HostId>) -> Self {
        self.scope = Some(hosts);
        self
    }

    /// Evaluates every rule over one host-log entry; true if the entry is one it reads.
    pub fn observe_event(&mut self, e: &HostEvent) -> bool {
        if self.scope.as_ref().is_some_and(|s| !s.contains(&e.host)) {
            return false;
        }
        self.events_read += 1;
        let src = e.activity.logsource();
        let fields = e.activity.fields();
        for l in &mut self.rules {
            if !l.rule.matches(&src, &fields) {
                continue;
            }
            l.matches += 1;
            self.alerts.push(Alert::on_host(
                e.host,
                e.t,
                &self.name,
                l.sid,
                l.rule.title.clone(),
                l.rule.level.severity(),
                l.rule.technique.clone(),
                l.rule.tactic.clone(),
                e.label,
            ));
        }
        true
    }
}

/// The signature id of a rule's alerts: the first 32 bits of its UUID, stable across rule
/// sets; for a rule without an id, an FNV-1a hash of its title.
fn signature_id(rule: &Rule) -> u64 {
    if let Some(id) = &rule.id
        && let Ok(n) = u64::from_str_radix(&id[..8], 16)
    {
        return n;
    }
    // FNV-1a, 32 bits (offset basis and prime from the FNV specification).
    let mut h: u32 = 0x811c_9dc5;
    for b in rule.title.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    u64::from(h)
}

/// The rules of a file, or of every `.yml`/`.yaml` file in a directory (by name, so the
/// order, and with it the order of alerts raised on one event, is the same everywhere).
/// An error names the rule file, line and column: `rules/host/x.yml:12:5: field: why`.
pub fn load_rules(path: &Path) -> Result<Vec<(String, Rule)>, String> {
    let files: Vec<PathBuf> = if path.is_dir() {
        let mut v: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
            .collect();
        v.sort();
        if v.is_empty() {
            return Err(format!("{}: no .yml rule in this directory", path.display()));
        }
        v
    } else {
        vec![path.to_path_buf()]
    };
    files
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(f).map_err(|e| format!("cannot read {}: {e}", f.display()))?;
            let rule = Rule::parse(&text).map_err(|e| format!("{}:{e}", f.display()))?;
            Ok((f.display().to_string(), rule))
        })
        .collect()
}

impl Detector for HostDetector {
    fn name(&self) -> &str {
        &self.name
    }
    /// Frames are not its telemetry: it sits at no network node.
    fn observe(&mut self, _node: HostId, _frame: &Frame, _now: SimTime, _topo: &Topology) {}
    fn observe_host(&mut self, event: &HostEvent, _topo: &Topology) -> bool {
        self.observe_event(event)
    }
    fn reads_host_logs(&self) -> bool {
        true
    }
    fn alerts(&self) -> &[Alert] {
        &self.alerts
    }
    fn summary(&self) -> serde_json::Value {
        serde_json::json!({
            "events_read": self.events_read,
            "rules": self.rules.iter().map(|l| serde_json::json!({
                "title": l.rule.title,
                "id": l.rule.id,
                "file": l.file,
                "level": l.rule.level.name(),
                "technique": l.rule.technique,
                "tactic": l.rule.tactic,
                "signature_id": l.sid,
                "matches": l.matches,
            })).collect::<Vec<_>>(),
        })
    }
    /// Nothing to drop: a host detector reads logs after the fact.
    fn drops(&self, _alert: &Alert) -> bool {
        false
    }
}
