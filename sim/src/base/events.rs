//! The append-only event log: everything worth scoring happens here once, in time order,
//! and scoring reads nothing else. Serialised one JSON object per line (events.jsonl).

use crate::base::time::SimTime;
use bevy_ecs::resource::Resource;
use serde::Serialize;

/// One entry of the event log.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Event {
    /// Simulated time in nanoseconds.
    pub t: SimTime,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// What happened. Host and device names are carried as strings so the log reads on its own.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    /// A frame left its sender (logged only when frame logging is on: it is the bulk of traffic).
    FrameSent {
        frame: u64,
        src: String,
        dst: String,
        service: &'static str,
        bytes: u32,
        #[serde(skip_serializing_if = "Option::is_none")]
        function: Option<u8>,
    },
    /// A frame reached its destination (logged only when frame logging is on).
    FrameDelivered {
        frame: u64,
        dst: String,
        latency_ns: u64,
    },
    /// A policy denied a frame at an enforcement point.
    FrameBlocked {
        frame: u64,
        src: String,
        dst: String,
        service: &'static str,
        at: String,
        rule: String,
    },
    /// A frame was lost: no route, a full queue, or a device that dropped it.
    FrameDropped {
        frame: u64,
        src: String,
        dst: String,
        at: String,
        reason: String,
    },
    /// A Modbus device answered with an exception.
    ModbusException {
        frame: u64,
        device: String,
        client: String,
        function: u8,
        code: u8,
    },
    /// A safety limit of the physical process was crossed.
    Impact {
        technique: &'static str,
        technique_name: &'static str,
        limit: String,
        component: String,
        signal: String,
        value: f64,
        threshold: f64,
        description: String,
    },
    /// A PLC alarm was raised or cleared.
    Alarm {
        device: String,
        name: String,
        raised: bool,
        value: f64,
        threshold: f64,
    },
    /// An operator at an HMI acted on what the HMI showed.
    OperatorAction {
        hmi: String,
        alarm: String,
        action: String,
        device: String,
    },
    /// A PLC changed operating mode (run, program, stop).
    ModeChange {
        device: String,
        from: String,
        to: String,
    },
    /// A client gave up waiting for an answer.
    PollTimeout { client: String, device: String },
    /// A detector flagged something.
    Alert(AlertRecord),
    /// A PLC received a program over the network (FC 90 download): installed, or rejected.
    ProgramDownload {
        device: String,
        accepted: bool,
        detail: String,
    },
    /// A playbook step began (its frames carry `label`).
    StepStarted {
        step: u32,
        id: String,
        technique: String,
        actor: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        target: Option<String>,
    },
    /// A playbook step ended: succeeded, blocked or failed, with why.
    StepEnded {
        step: u32,
        id: String,
        technique: String,
        status: String,
        detail: String,
        /// For a blocked step: the enforcement point that stopped it.
        #[serde(skip_serializing_if = "Option::is_none")]
        blocked_at: Option<String>,
        /// For a blocked step: the rule that stopped its frame.
        #[serde(skip_serializing_if = "Option::is_none")]
        rule: Option<String>,
    },
    /// A playbook step as planned, logged for every step when the run starts, so that a
    /// step the chain never reached is still in the log.
    StepPlanned {
        step: u32,
        id: String,
        technique: String,
        technique_name: String,
        tactic: String,
        actor: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        target: Option<String>,
    },
    /// A device's account of the run, logged for every device when the run ends.
    DeviceSummary {
        device: String,
        #[serde(flatten)]
        figures: crate::devices::summary::DeviceFigures,
    },
    /// The process's account of the run, logged when it ends: time spent outside each
    /// band, and every signal's final value in signal order.
    ProcessSummary {
        bands: Vec<crate::process::BandStats>,
        final_values: Vec<(String, f64)>,
    },
    /// The network's account of the run, logged when it ends: its counters and the
    /// policy's own (decisions, denials, hits per rule; null without a policy).
    NetworkSummary {
        policy: String,
        policy_summary: serde_json::Value,
        stats: crate::net::NetStats,
    },
    /// A sensor's own figures, logged when the run ends (its alerts are `alert` events).
    SensorSummary {
        sensor: String,
        summary: serde_json::Value,
    },
    /// The run ended; `ticks` is the simulation work it took (identical for identical
    /// inputs).
    RunEnded { ticks: u64 },
    /// Live mode: bytes on a real connection that are no Modbus TCP request (wrong protocol
    /// id, a length that lies, truncated or oversized); the connection was closed.
    MalformedRequest {
        device: String,
        client: String,
        peer: String,
        reason: String,
    },
    /// Live mode: a real connection refused because a limit was reached.
    ConnectionRefused {
        device: String,
        peer: String,
        reason: String,
    },
}

/// A detector's alert as the log carries it: enough to score it (technique, tactic, the
/// attack steps its frames belong to) and to write it in an alert format such as Suricata's
/// EVE without the detector at hand.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AlertRecord {
    pub detector: String,
    pub signature_id: u64,
    pub signature: String,
    /// 1 high, 2 medium, 3 low (Suricata's scale).
    pub severity: u8,
    pub src: String,
    pub dst: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub technique: Option<String>,
    pub frames: Vec<u64>,
    /// Attack steps the frames belong to (ground truth, for scoring).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<u32>,
    /// The ATT&CK tactic's name, where the detector knows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tactic: Option<String>,
    pub src_port: u16,
    pub dst_port: u16,
    /// "TCP" or "UDP".
    pub proto: &'static str,
    /// In prevention mode: the frame the alert rests on was dropped.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub blocked: bool,
}

/// The log itself, a resource every system may append to. Sources log in time order
/// (the network logs what it computes ahead of the clock at the time it happens, before the
/// next tick); the log counts any event that arrives behind one already logged, so a test
/// can hold every source to that.
#[derive(Resource, Default, Debug)]
pub struct EventLog {
    events: Vec<Event>,
    /// Whether per-frame sent/delivered events are recorded.
    pub log_frames: bool,
    last: SimTime,
    out_of_order: u64,
}

impl EventLog {
    /// Appends an event that happened at `t`.
    pub fn push(&mut self, t: SimTime, kind: EventKind) {
        if t < self.last {
            self.out_of_order += 1;
        } else {
            self.last = t;
        }
        self.events.push(Event { t, kind });
    }
    /// Sets the frame id of an event about a frame whose id was assigned after the event was
    /// made (live mode's socket tasks learn ids only when the simulation records the frame).
    pub fn with_frame(mut kind: EventKind, id: u64) -> EventKind {
        match &mut kind {
            EventKind::FrameSent { frame, .. }
            | EventKind::FrameDelivered { frame, .. }
            | EventKind::FrameBlocked { frame, .. }
            | EventKind::FrameDropped { frame, .. }
            | EventKind::ModbusException { frame, .. } => *frame = id,
            _ => {}
        }
        kind
    }
    /// Takes the events recorded so far, so a long run can stream them to disk.
    pub fn drain(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }
    /// The events recorded and not yet drained.
    pub fn events(&self) -> &[Event] {
        &self.events
    }
    /// Events logged at a time earlier than an event logged before them: zero when every
    /// source keeps time order.
    pub fn out_of_order(&self) -> u64 {
        self.out_of_order
    }
}
