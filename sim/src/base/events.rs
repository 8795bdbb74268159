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
    Alert {
        detector: String,
        signature_id: u64,
        signature: String,
        severity: u8,
        src: String,
        dst: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        technique: Option<String>,
        frames: Vec<u64>,
        /// Attack steps the frames belong to (ground truth, for scoring).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        steps: Vec<u32>,
    },
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
    },
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

/// The log itself, a resource every system may append to.
#[derive(Resource, Default, Debug)]
pub struct EventLog {
    events: Vec<Event>,
    /// Whether per-frame sent/delivered events are recorded.
    pub log_frames: bool,
}

impl EventLog {
    pub fn push(&mut self, t: SimTime, kind: EventKind) {
        self.events.push(Event { t, kind });
    }
    /// Takes the events recorded so far, so a long run can stream them to disk.
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
    pub fn drain(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }
    pub fn events(&self) -> &[Event] {
        &self.events
    }
}
