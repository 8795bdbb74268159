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
    /// What happened; serialised flat, as `event` and the kind's own fields.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// What happened. Host and device names are carried as strings so the log reads on its own.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    /// A frame left its sender (logged only when frame logging is on: it is the bulk of traffic).
    FrameSent {
        /// The frame's id, counted from 1 in sending order.
        frame: u64,
        /// The sender's host name.
        src: String,
        /// The destination's host name.
        dst: String,
        /// The application service (`modbus`, `rdp`, `smb`, ...).
        service: &'static str,
        /// Payload length in bytes (a Modbus TCP ADU's length, or an IT exchange's size).
        bytes: u32,
        /// The Modbus function code at byte 7 of the ADU (bit 7 set in an exception answer);
        /// None when the frame carries no Modbus.
        #[serde(skip_serializing_if = "Option::is_none")]
        function: Option<u8>,
    },
    /// A frame reached its destination (logged only when frame logging is on).
    FrameDelivered {
        /// The frame's id.
        frame: u64,
        /// The destination's host name.
        dst: String,
        /// Nanoseconds from sending to delivery: serialisation, propagation and queueing on
        /// every hop.
        latency_ns: u64,
    },
    /// A policy denied a frame at an enforcement point.
    FrameBlocked {
        /// The frame's id.
        frame: u64,
        /// The sender's host name.
        src: String,
        /// The destination's host name.
        dst: String,
        /// The application service the frame carries.
        service: &'static str,
        /// The enforcement point: a router or firewall, the destination's own filter, or the
        /// switch or firewall of an inline detector.
        at: String,
        /// The policy rule that denied it, `default deny`, or `<detector> sid <id>` for a
        /// detector in prevention mode.
        rule: String,
        /// What the frame lacked when an identity-aware allow rule would otherwise have let
        /// it through (`MFA required by "..."`); absent for an ordinary denial.
        #[serde(skip_serializing_if = "Option::is_none")]
        why: Option<String>,
    },
    /// A TSN stream's frame reached a listener after its deadline (the first 100 of each
    /// stream are logged; the stream's summary counts them all).
    StreamDeadlineMissed {
        /// The stream's name.
        stream: String,
        /// The frame's cycle number, from 0.
        seq: u64,
        /// The listener it reached late.
        listener: String,
        /// Its latency from release to the end of reception.
        latency_ns: u64,
        /// The stream's deadline.
        deadline_ns: u64,
        /// Where it waited longest; none when it waited nowhere.
        node: Option<String>,
        /// The traffic class (queue) it waited in there.
        queue: Option<u8>,
        /// How long it waited there.
        wait_ns: Option<u64>,
        /// Why: "gate closed", "port busy sending a class 1 frame", "inline inspection delay", ...
        cause: Option<String>,
        /// Every wait on its way, in order: "node, queue N: wait ns, cause".
        waits: Vec<String>,
    },
    /// A remote I/O module's watchdog tripped (no output frame for longer than its
    /// watchdog: outputs go to their safe values) or cleared (frames came back).
    RemoteIoWatchdog {
        /// The module.
        device: String,
        /// True when it tripped, false when it cleared.
        tripped: bool,
        /// Time since the last output frame arrived.
        silent_ns: u64,
    },
    /// A frame was lost: no route, a full queue, or a device that dropped it.
    FrameDropped {
        /// The frame's id.
        frame: u64,
        /// The sender's host name.
        src: String,
        /// The destination's host name.
        dst: String,
        /// The name of the node where it was lost.
        at: String,
        /// Why: `no route to host`, `transmit queue full`, or a device overload.
        reason: String,
    },
    /// A Modbus device answered with an exception.
    ModbusException {
        /// The request's frame id.
        frame: u64,
        /// The PLC that answered.
        device: String,
        /// The host that asked.
        client: String,
        /// The request's function code.
        function: u8,
        /// The Modbus exception code (1 illegal function, 2 illegal data address, 3 illegal
        /// data value, 4 server failure, 6 server busy).
        code: u8,
    },
    /// A safety limit of the physical process was crossed.
    Impact {
        /// The limit's ATT&CK impact technique id (`T0880`, ...).
        technique: &'static str,
        /// That technique's name (`Loss of Safety`, ...).
        technique_name: &'static str,
        /// The limit's name in the plant file.
        limit: String,
        /// The component whose signal crossed.
        component: String,
        /// The signal that crossed (`component.signal`).
        signal: String,
        /// The signal's value at the crossing, in the signal's own unit.
        value: f64,
        /// The limit it crossed, in the same unit.
        threshold: f64,
        /// The limit's text, for people.
        description: String,
    },
    /// A device-level impact: an HMI lost its view of a PLC (T0815, then T0829), an
    /// operator's command failed (T0813), or a protection PLC stopped its logic (T0837).
    DeviceImpact {
        /// The ATT&CK impact technique id (`T0815`, ...).
        technique: &'static str,
        /// That technique's name (`Denial of View`, ...).
        technique_name: &'static str,
        /// The PLC whose view, control or protection was lost.
        device: String,
        /// The HMI that lost it; absent for a protection PLC's own impact.
        #[serde(skip_serializing_if = "Option::is_none")]
        hmi: Option<String>,
        /// What happened, for people.
        description: String,
    },
    /// A PLC alarm was raised or cleared.
    Alarm {
        /// The PLC whose alarm block decided it.
        device: String,
        /// The alarm block's name.
        name: String,
        /// True when raised, false when cleared.
        raised: bool,
        /// The process value, in raw register units.
        value: f64,
        /// The limit it was compared with, in raw register units.
        threshold: f64,
    },
    /// An operator at an HMI acted on what the HMI showed.
    OperatorAction {
        /// The HMI the write was sent from.
        hmi: String,
        /// The alarm the operator reacted to, or `procedure: <name>` for a site procedure.
        alarm: String,
        /// The response's description, or `write <address> = <value>` without one.
        action: String,
        /// The PLC written.
        device: String,
    },
    /// A PLC changed operating mode (run, program, stop, firmware update, bricked).
    ModeChange {
        /// The PLC.
        device: String,
        /// The mode it left: `run`, `program`, `stop` or `firmware_update`.
        from: String,
        /// The mode it entered: `run`, `program`, `stop`, `firmware_update` or `bricked`.
        to: String,
    },
    /// A client gave up waiting for an answer.
    PollTimeout {
        /// The polling client (an HMI or historian).
        client: String,
        /// The PLC that did not answer within the poll period (at least 1 s).
        device: String,
    },
    /// A detector flagged something.
    Alert(AlertRecord),
    /// A PLC received a program over the network (FC 90 download): installed, or rejected.
    ProgramDownload {
        /// The PLC that received the program.
        device: String,
        /// Whether the PLC installed it at its next scan.
        accepted: bool,
        /// How many blocks it installed, or why it rejected the program.
        detail: String,
    },
    /// A PLC installed a firmware image received over the network (FC 90) and rebooted:
    /// into the image's version, or, if the image does not boot, into nothing (bricked).
    FirmwareInstall {
        /// The PLC.
        device: String,
        /// Whether the image booted (the PLC runs again) or bricked the PLC.
        booted: bool,
        /// The image's size and the version it booted, or that it does not boot.
        detail: String,
    },
    /// A playbook step began (its frames carry `label`).
    StepStarted {
        /// The step's number in the playbook, from 1; its frames carry it.
        step: u32,
        /// The step's name in the playbook.
        id: String,
        /// The step's ATT&CK technique id.
        technique: String,
        /// The actor that carries it out.
        actor: String,
        /// The host it aims at; None for a step without one.
        #[serde(skip_serializing_if = "Option::is_none")]
        target: Option<String>,
    },
    /// A playbook step ended: succeeded, blocked or failed, with why.
    StepEnded {
        /// The step's number in the playbook, from 1.
        step: u32,
        /// The step's name in the playbook.
        id: String,
        /// The step's ATT&CK technique id.
        technique: String,
        /// `succeeded`, `blocked` or `failed`.
        status: String,
        /// What the step achieved, where and by which rule it was blocked, or why it failed.
        detail: String,
        /// For a blocked step: the enforcement point that stopped it.
        #[serde(skip_serializing_if = "Option::is_none")]
        blocked_at: Option<String>,
        /// For a blocked step: the rule that stopped its frame.
        #[serde(skip_serializing_if = "Option::is_none")]
        rule: Option<String>,
        /// For a step an identity or MFA requirement stopped: what its frame lacked.
        #[serde(skip_serializing_if = "Option::is_none")]
        why: Option<String>,
    },
    /// A playbook step as planned, logged for every step when the run starts, so that a
    /// step the chain never reached is still in the log.
    StepPlanned {
        /// The step's number in the playbook, from 1.
        step: u32,
        /// The step's name in the playbook.
        id: String,
        /// The step's ATT&CK technique id, from the catalogue.
        technique: String,
        /// That technique's name, from the catalogue.
        technique_name: String,
        /// The technique's primary tactic, against which alerts are scored.
        tactic: String,
        /// The actor that carries it out.
        actor: String,
        /// The host it aims at; None for a step without one.
        #[serde(skip_serializing_if = "Option::is_none")]
        target: Option<String>,
    },
    /// A device's account of the run, logged for every device when the run ends.
    DeviceSummary {
        /// The device's name.
        device: String,
        /// Its `kind` and the kind's figures, serialised flat as in results.json.
        #[serde(flatten)]
        figures: crate::devices::summary::DeviceFigures,
    },
    /// The process's account of the run, logged when it ends: time spent outside each
    /// band, and every signal's final value in signal order.
    ProcessSummary {
        /// Each band's signal, limits, observed range and seconds outside.
        bands: Vec<crate::process::BandStats>,
        /// Every signal's name and final value, in signal order.
        final_values: Vec<(String, f64)>,
        /// What integrating in sub-steps cost, when some physics step needed them (absent
        /// otherwise, so plants whose step is short enough log what they always logged).
        #[serde(skip_serializing_if = "Option::is_none")]
        integration: Option<crate::process::IntegrationStats>,
    },
    /// The network's account of the run, logged when it ends: its counters and the
    /// policy's own (decisions, denials, hits per rule; null without a policy).
    NetworkSummary {
        /// The policy's name.
        policy: String,
        /// The policy's decisions and hits per rule; null without a policy.
        policy_summary: serde_json::Value,
        /// The network's counters (results.json's `network`).
        stats: crate::net::NetStats,
    },
    /// A TSN stream's account of the run, logged when it ends.
    StreamSummary {
        /// The stream's name.
        stream: String,
        /// Its figures, serialised flat as in results.json.
        #[serde(flatten)]
        figures: crate::net::tsn::StreamFigures,
    },
    /// A TSN egress port's counters, logged when the run ends.
    TsnPortSummary {
        /// "switch -> neighbour".
        port: String,
        /// Frames sent and dropped per traffic class, deepest queues, preemptions, overruns.
        #[serde(flatten)]
        stats: crate::net::tsn::port::PortStats,
    },
    /// A sensor's own figures, logged when the run ends (its alerts are `alert` events).
    SensorSummary {
        /// The tap's or detector's name.
        sensor: String,
        /// Its own figures, in its own shape.
        summary: serde_json::Value,
    },
    /// The run began, at this calendar time: an event at `t` happened at `start` plus `t`
    /// nanoseconds (the same time EVE alerts and pcap timestamps carry).
    RunStarted {
        /// The run's start, RFC 3339 as the exercise gives it (`2024-01-22T06:00:00Z`).
        start: String,
        /// The same, in nanoseconds since 1970-01-01T00:00:00Z.
        start_unix_ns: u64,
    },
    /// The run ended; `ticks` is the simulation work it took (identical for identical
    /// inputs).
    RunEnded {
        /// The number of ticks the world ran.
        ticks: u64,
    },
    /// Live mode: the instructor acted from the console (pause, resume, a new speed).
    InstructorAction {
        /// What they did.
        action: String,
    },
    /// Live mode: a request from a real client (anything but the plant's own HMIs and
    /// historians, which the simulation logs as in batch mode): what the red team did, as
    /// it happened.
    ClientRequest {
        /// The request's frame id (as taps and detectors saw it).
        frame: u64,
        /// The PLC whose socket received it.
        device: String,
        /// The simulated host the connection is attributed to.
        client: String,
        /// The real socket address, `ip:port`.
        peer: String,
        /// The function code.
        function: u8,
        /// What it asked, in plant-file register notation (`write hr:2 = 500`).
        request: String,
        /// `answered`, `exception N (name)`, or why nothing was answered.
        answer: String,
    },
    /// Live mode: bytes on a real connection that are no Modbus TCP request (wrong protocol
    /// id, a length that lies, truncated or oversized); the connection was closed.
    MalformedRequest {
        /// The PLC whose socket received it.
        device: String,
        /// The simulated host the connection is attributed to.
        client: String,
        /// The real socket address, `ip:port`.
        peer: String,
        /// What was wrong with the bytes.
        reason: String,
    },
    /// Live mode: a real connection refused because a limit was reached.
    ConnectionRefused {
        /// The PLC whose socket refused it.
        device: String,
        /// The real socket address, `ip:port`.
        peer: String,
        /// Which limit was reached, or that the peer is no simulated host.
        reason: String,
    },
}

/// A detector's alert as the log carries it: enough to score it (technique, tactic, the
/// attack steps its frames belong to) and to write it in an alert format such as Suricata's
/// EVE without the detector at hand.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AlertRecord {
    /// The detector's name.
    pub detector: String,
    /// The rule's sid, or the detector's own signature id.
    pub signature_id: u64,
    /// The rule's message, or the detector's own signature.
    pub signature: String,
    /// 1 high, 2 medium, 3 low (Suricata's scale).
    pub severity: u8,
    /// The frame's source host name.
    pub src: String,
    /// The frame's destination host name.
    pub dst: String,
    /// The ATT&CK technique id the alert names; None when it names none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub technique: Option<String>,
    /// Ids of the frames the alert rests on.
    pub frames: Vec<u64>,
    /// Attack steps the frames belong to (ground truth, for scoring).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<u32>,
    /// The ATT&CK tactic's name, where the detector knows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tactic: Option<String>,
    /// The frame's source port.
    pub src_port: u16,
    /// The frame's destination port.
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
            | EventKind::ModbusException { frame, .. }
            | EventKind::ClientRequest { frame, .. } => *frame = id,
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
