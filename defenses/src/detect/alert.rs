//! An alert, and its form as a Suricata EVE `alert` event (eve.json), so that the SIEM
//! pipelines that ingest Suricata ingest otrange too. Field names follow Suricata's EVE
//! JSON format documentation (event_type "alert", src_ip, dest_ip, alert.signature_id,
//! alert.severity 1 = high ... 3 = low, alert.metadata).

use otrange_sim::base::events::AlertRecord;
use otrange_sim::base::time::SimTime;
use otrange_sim::net::Frame;
use otrange_sim::net::topology::{HostId, Topology, Transport};
use serde_json::{Value, json};

/// One detection: what a detector flagged, between which hosts, resting on which frames.
/// Detectors keep every alert of a run; scoring joins them to attack steps by `steps`.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// When it was raised, in simulated time since the start of the run.
    pub t: SimTime,
    /// The name of the detector that raised it.
    pub detector: String,
    /// Rule or model id; for EVE, the signature id.
    pub signature_id: u64,
    /// What was seen, in words; EVE's `alert.signature`.
    pub signature: String,
    /// 1 high, 2 medium, 3 low (Suricata's scale).
    pub severity: u8,
    /// ATT&CK for ICS technique and tactic, where the detector knows them.
    pub technique: Option<String>,
    /// The tactic's name ("Impair Process Control"), where the detector knows it.
    pub tactic: Option<String>,
    /// Source host of the frame it is about (for EVE, `src_ip` is its address).
    pub src: HostId,
    /// Destination host of the frame it is about.
    pub dst: HostId,
    /// Source port of the frame it is about.
    pub src_port: u16,
    /// Destination port of the frame it is about.
    pub dst_port: u16,
    /// TCP or UDP, for EVE's `proto`.
    pub transport: Transport,
    /// The frames the alert rests on.
    pub frames: Vec<u64>,
    /// The attack steps those frames (or host-log entries) belong to (their labels; ground
    /// truth for scoring, never seen by the detector's logic).
    pub steps: Vec<u32>,
    /// It rests on an entry of a host's log, not on frames (a host detector's): `src` and
    /// `dst` are that host, and EVE's `proto` is empty.
    pub on_host: bool,
}

impl Alert {
    /// An alert about one frame.
    pub fn on(frame: &Frame, t: SimTime, detector: &str, signature_id: u64, signature: String) -> Self {
        Alert {
            t,
            detector: detector.to_string(),
            signature_id,
            signature,
            severity: 2,
            technique: None,
            tactic: None,
            src: frame.src,
            dst: frame.dst,
            src_port: frame.src_port,
            dst_port: frame.dst_port,
            transport: frame.transport(),
            frames: vec![frame.id.0],
            steps: if frame.label == 0 {
                Vec::new()
            } else {
                vec![frame.label]
            },
            on_host: false,
        }
    }

    /// An alert about an entry of `host`'s log, labelled `label` (0 for benign activity),
    /// under a rule's title, severity and ATT&CK tags.
    #[allow(clippy::too_many_arguments)]
    pub fn on_host(
        host: HostId,
        t: SimTime,
        detector: &str,
        signature_id: u64,
        signature: String,
        severity: u8,
        technique: Option<String>,
        tactic: Option<String>,
        label: u32,
    ) -> Self {
        Alert {
            t,
            detector: detector.to_string(),
            signature_id,
            signature,
            severity,
            technique,
            tactic,
            src: host,
            dst: host,
            src_port: 0,
            dst_port: 0,
            transport: Transport::Ethernet,
            frames: Vec::new(),
            steps: if label == 0 { Vec::new() } else { vec![label] },
            on_host: true,
        }
    }

    /// The alert as the event log carries it; `blocked` when its frame was dropped inline.
    pub fn record(&self, topo: &Topology, blocked: bool) -> AlertRecord {
        AlertRecord {
            detector: self.detector.clone(),
            signature_id: self.signature_id,
            signature: self.signature.clone(),
            severity: self.severity,
            src: topo.host(self.src).name.clone(),
            dst: topo.host(self.dst).name.clone(),
            technique: self.technique.clone(),
            frames: self.frames.clone(),
            steps: self.steps.clone(),
            tactic: self.tactic.clone(),
            src_port: self.src_port,
            dst_port: self.dst_port,
            proto: match self.transport {
                // No frame: an entry of a host's log.
                _ if self.on_host => "",
                Transport::Tcp => "TCP",
                Transport::Udp => "UDP",
                // No IP: a layer-2 frame (a TSN stream's, say).
                Transport::Ethernet => "ETH",
            },
            blocked,
        }
    }

    /// The EVE `alert` event (see [`eve`]).
    pub fn to_eve(&self, start_unix_ns: u64, topo: &Topology) -> Value {
        eve(self.t, start_unix_ns, &self.record(topo, false), topo)
    }
}

/// The EVE `alert` event of a logged alert raised at `t`, with the addresses of the hosts
/// it names in `topo`. Its timestamp is the run's calendar start (`start_unix_ns`) plus
/// `t`, as a SIEM expects; otrange's own fields live under "otrange".
pub fn eve(t: SimTime, start_unix_ns: u64, r: &AlertRecord, topo: &Topology) -> Value {
    let mut metadata = serde_json::Map::new();
    if let Some(t) = &r.technique {
        metadata.insert("mitre_technique_id".into(), json!([t]));
    }
    if let Some(t) = &r.tactic {
        metadata.insert("mitre_tactic_name".into(), json!([t]));
    }
    let address = |name: &str| {
        topo.host_by_name(name)
            .map(|h| topo.host(h).address.to_string())
            .unwrap_or_default()
    };
    json!({
        "timestamp": otrange_sim::base::wallclock::eve_timestamp(start_unix_ns.saturating_add(t.as_nanos())),
        "event_type": "alert",
        "src_ip": address(&r.src),
        "src_port": r.src_port,
        "dest_ip": address(&r.dst),
        "dest_port": r.dst_port,
        "proto": r.proto,
        "alert": {
            "action": if r.blocked { "blocked" } else { "allowed" },
            "gid": 1,
            "signature_id": r.signature_id,
            "rev": 1,
            "signature": r.signature,
            "category": "",
            "severity": r.severity,
            "metadata": metadata,
        },
        "otrange": {
            "t_ns": t.as_nanos(),
            "detector": r.detector,
            "src": r.src,
            "dest": r.dst,
            "frames": r.frames,
            "steps": r.steps,
        }
    })
}
