//! Frame transport: routes, link queues and delivery at the exact arrival time.
//!
//! A frame moves hop by hop as events in one time-ordered queue. At each hop it meets the
//! middleboxes placed at that node (sensors, inline boxes, enforcement points; see
//! [`super::middlebox`]) and a link transmitter whose queue delays it: delivery time =
//! serialisation (bandwidth, with layer-1 overhead) + propagation + queueing + the time
//! inline boxes hold it, summed over the hops. A transmitter is a FIFO, or a TSN port
//! ([`super::tsn`]) where the plant declares one; TSN streams' frames are released here
//! too, on their talkers' clocks, without a tick of the world. Events are processed
//! strictly in (time, sequence) order, so every middlebox and capture sees the traffic in
//! time order.

use super::frame::{Frame, FrameId, Payload, VlanTag};
use super::hooks::{EnforcementPoint, FrameBridge, PolicyHook, SharedPolicy};
use super::identity::IdentityHandle;
use super::link_state::LinkState;
use super::middlebox::{Action, Enforcement, Hop, Middlebox, MiddleboxId, Stage};
use super::paths::{PathId, Paths};
use super::service_bytes::ServiceBytes;
use super::tsn::Tsn;
use super::tsn::stream::{StreamFrame, StreamSpec, WaitCause, note_wait};
use crate::base::events::{EventKind, EventLog};
use crate::base::time::{SimDuration, SimTime};
use crate::net::topology::{HostId, Role, Service, Topology, Transport};
use bevy_ecs::resource::Resource;
use serde::Serialize;
use std::any::Any;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Something that records frames as they go on the wire (a pcap writer).
pub trait Capture: Send + Sync {
    /// A frame leaving its sender at `t`.
    fn frame(&mut self, t: SimTime, frame: &Frame, topo: &Topology);
    /// Ends the capture at `at` (closing connections) and returns the labelled frames.
    fn finish(self: Box<Self>, at: SimTime) -> std::io::Result<Vec<super::capture::CapturedFrame>>;
}

/// A frame that arrived, as its receiver finds it in its inbox.
#[derive(Clone, Debug)]
pub struct Delivered {
    /// The frame as it arrived (a middlebox on the way may have altered it).
    pub frame: Frame,
    /// When it arrived.
    pub at: SimTime,
}

/// Counters for results.json.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct NetStats {
    /// Frames sent, live mode's socket traffic included.
    pub sent: u64,
    /// Frames that reached their destination.
    pub delivered: u64,
    /// Frames stopped by a policy or an inline detector in prevention mode.
    pub blocked: u64,
    /// Blocked frames that no attacker sent: what a policy or an inline detector costs the
    /// plant's own operations.
    pub blocked_legitimate: u64,
    /// Blocked frames by the rule that stopped them.
    pub blocked_by_rule: BTreeMap<String, u64>,
    /// Frames lost on the way: no route, a full transmit queue, or swallowed by an inline
    /// box (those are counted here but not logged).
    pub dropped: u64,
    /// Frames sent that carry a Modbus ADU with a function code.
    pub modbus_frames: u64,
    /// Payload bytes sent, by service (shown by service name).
    pub bytes_by_service: ServiceBytes,
}

/// A queued event of the network.
struct Pending {
    at: SimTime,
    seq: u64,
    step: Step,
}

/// The bound of the loop processing the network's events, if one is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Draining {
    /// No loop runs (a device sending, a PLC replying): events go into the queue.
    Off,
    /// [`Network::run_until`]: events at or before this time.
    UpTo(SimTime),
    /// [`Network::lookahead`]: events before this time, up to a delivery that wakes a host.
    Before(SimTime),
}

/// What happens at a pending event.
enum Step {
    /// A frame reaches the node before hop `hop` of its route (`hop` == route length: it
    /// arrived). The route travels with the frame: looked up once when it is sent, not at
    /// every hop.
    Hop {
        hop: u16,
        frame: Box<Frame>,
        route: PathId,
    },
    /// A TSN port's wake-up: a transmission ends, a gate opens, credit returns.
    Port(u32),
    /// A TSN stream's talker sends its next frame.
    Release(u32),
    /// A frame, through the node before hop `hop`, reaches that hop's TSN port (the
    /// node's processing done); a port must see its frames in time order.
    Egress {
        hop: u16,
        frame: Box<Frame>,
        route: PathId,
    },
}

impl PartialEq for Pending {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Pending {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(o.at, o.seq))
    }
}

/// The network as a resource of the world.
#[derive(Resource)]
pub struct Network {
    topo: Arc<Topology>,
    /// The paths frames take, by id (a frame carries its path's id from hop to hop).
    paths: Paths,
    /// Per link: its transmitters' state and what timing a frame on it needs (see
    /// [`LinkState`]).
    links: Vec<LinkState>,
    queue: super::event_queue::EventQueue<Pending>,
    /// How far the loop processing the queue goes, while one runs: a hop it would pop next
    /// anyway is done at once instead ([`Network::next_hop`]).
    draining: Draining,
    /// Whether such hops may be done at once (off: every event through the queue).
    direct_hops: bool,
    /// Set while a stream frame's copies to several listeners leave a node one after the
    /// other: none of them is taken further at once ([`Self::next_in_line`]).
    splitting: bool,
    seq: u64,
    next_frame: u64,
    inboxes: Vec<Vec<Delivered>>,
    /// Emptied small inboxes, handed to the next host that gets mail: a PLC receives a
    /// request now and then, and an inbox grown from nothing at each one cost an allocation
    /// and a free per request.
    spare_inboxes: Vec<Vec<Delivered>>,
    /// Hosts whose inbox went from empty to not empty, in delivery order.
    with_mail: Vec<HostId>,
    /// The list of hosts with mail last handed out, emptied, to be `with_mail` next time
    /// (the two swap, so neither grows from nothing at every delivery).
    spare_hosts: Vec<HostId>,
    /// Boxes of frames delivered, for the next frames sent (see [`Self::boxed`]): the boxes
    /// themselves are what is kept, so a `Vec<Frame>` would not do.
    #[allow(clippy::vec_box)]
    spare_frames: Vec<Box<Frame>>,
    /// Hosts whose deliveries need a tick at the arrival time (servers answer then);
    /// deliveries to other hosts wait in the inbox for the receiver's next turn.
    wake_on_delivery: Vec<bool>,
    bridge: Option<Box<dyn FrameBridge>>,
    /// Every middlebox, in the order placed (results list sensors in this order).
    boxes: Vec<Box<dyn Middlebox>>,
    /// Per node, the middleboxes placed there, in (stage, placement) order.
    boxes_at: Vec<Vec<(Stage, usize)>>,
    /// The middleboxes that may have findings to log ([`Middlebox::reports_events`]), in
    /// placement order, and the same by box: the others are never asked.
    reporting: Vec<usize>,
    reports: Vec<bool>,
    /// The policy's enforcement middlebox, once a policy is installed; without one the
    /// network is flat.
    policy: Option<usize>,
    capture: Option<Box<dyn Capture>>,
    /// Client ports per (client, server, server port): one TCP connection per pair. Looked
    /// up at every send (a SCADA server's thousands of connections); never iterated, and a
    /// new pair's port depends only on the pairs before it, not on the map's order.
    ports: rustc_hash::FxHashMap<(HostId, HostId, u16), u16>,
    next_port: Vec<u16>,
    /// A transmitter queue longer than this drops the frame (tail drop), as a switch with
    /// finite buffers does under a flood.
    pub max_queue_delay: SimDuration,
    /// Counters for results.json, updated as frames move.
    pub stats: NetStats,
    fates: Vec<Fate>,
    /// Who is signed in where: the installed policy's table, or an empty one nobody reads.
    identities: IdentityHandle,
    /// TSN ports, clocks and streams (empty in a plant without `[tsn]`).
    tsn: Tsn,
}

/// What became of a labelled frame that never arrived: a sender of labelled frames (an
/// attacker replaying a playbook) learns here that a firewall stopped it, and which rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fate {
    /// The frame's id.
    pub frame: FrameId,
    /// The sender's label on it (an attack step's number).
    pub label: u32,
    /// When it was stopped.
    pub at: SimTime,
    /// Blocked or dropped, where and why.
    pub kind: FateKind,
}

/// How a labelled frame was lost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FateKind {
    /// Denied by the policy at an enforcement point.
    Blocked {
        /// Where: a router or firewall, the destination's own filter, or an inline
        /// detector's node.
        point: HostId,
        /// The rule that denied it, as logged in `frame_blocked`.
        rule: String,
        /// What the frame lacked, when an identity or MFA requirement stopped it.
        why: Option<String>,
    },
    /// Dropped on the way (no route, a full queue).
    Dropped {
        /// The node where it was lost.
        node: HostId,
        /// Why, as logged in `frame_dropped`.
        reason: String,
    },
}

impl Network {
    /// A network over `topo` with nothing in flight: no policy (flat), no middleboxes, no
    /// capture, a 200 ms transmit queue limit.
    pub fn new(topo: Arc<Topology>) -> Self {
        let n = topo.hosts.len();
        Network {
            links: topo.links.iter().map(LinkState::new).collect(),
            queue: Default::default(),
            draining: Draining::Off,
            direct_hops: true,
            splitting: false,
            seq: 0,
            next_frame: 1,
            inboxes: vec![Vec::new(); n],
            spare_inboxes: Vec::new(),
            with_mail: Vec::new(),
            spare_hosts: Vec::new(),
            spare_frames: Vec::new(),
            wake_on_delivery: vec![false; n],
            bridge: None,
            boxes: Vec::new(),
            boxes_at: vec![Vec::new(); n],
            reporting: Vec::new(),
            reports: Vec::new(),
            policy: None,
            capture: None,
            ports: rustc_hash::FxHashMap::default(),
            next_port: vec![49152; n],
            max_queue_delay: SimDuration::from_millis(200),
            stats: NetStats::default(),
            fates: Vec::new(),
            identities: IdentityHandle::default(),
            tsn: Tsn::default(),
            paths: Paths::default(),
            topo,
        }
    }

    /// Whether a hop the event loop would pop next is done at once (see `next_hop`):
    /// on by default; off sends every event through the queue, for the check that this
    /// changes no output (`OTRANGE_FULL_TICKS=1`, tests/local_ticks.rs).
    pub fn set_direct_hops(&mut self, on: bool) {
        self.direct_hops = on;
    }

    /// Installs the plant's TSN ports, clocks and streams, and schedules the streams' first
    /// frames.
    pub fn install_tsn(&mut self, tsn: Tsn) {
        self.tsn = tsn;
        for s in 0..self.tsn.streams.len() {
            self.schedule_release(s, SimTime::ZERO);
        }
    }
    /// The TSN state: streams' figures and images, ports, clocks.
    pub fn tsn(&self) -> &Tsn {
        &self.tsn
    }
    /// The TSN state, for a device that keeps its stream's process data current.
    pub fn tsn_mut(&mut self) -> &mut Tsn {
        &mut self.tsn
    }
    /// Adds a stream (a device's cyclic I/O) and schedules its first frame; errors are
    /// (field, message) for the device's configuration error.
    pub fn add_stream(&mut self, spec: StreamSpec) -> Result<usize, (&'static str, String)> {
        let topo = Arc::clone(&self.topo);
        let id = self.tsn.add_stream(spec, &topo)?;
        self.schedule_release(id, SimTime::ZERO);
        Ok(id)
    }

    /// Schedules stream `s`'s next frame at its talker's clock's reading of its time.
    fn schedule_release(&mut self, s: usize, now: SimTime) {
        let st = &self.tsn.streams[s];
        let due = st.release_local(st.next_seq);
        let clock = &mut self.tsn.clocks[st.clock];
        clock.advance(now.0);
        let at = SimTime(clock.global_ahead(due).max(now.0));
        self.push(at, Step::Release(s as u32));
    }

    /// Stream `s`'s talker sends its frame if its clock says it is time (a correction may
    /// have moved the clock since the release was scheduled).
    fn release(&mut self, s: usize, at: SimTime, log: &mut EventLog) {
        let st = &self.tsn.streams[s];
        let clock = &mut self.tsn.clocks[st.clock];
        clock.advance(at.0);
        if clock.local(at.0) >= st.release_local(st.next_seq) {
            let id = self.next_id();
            let st = &mut self.tsn.streams[s];
            let frame = Frame {
                id,
                src: st.spec.talker,
                dst: st.spec.listeners[0],
                src_port: 0,
                dst_port: 0,
                service: Service::Ethernet,
                payload: Payload::Stream(Box::new(StreamFrame {
                    stream: s as u32,
                    seq: st.next_seq,
                    words: Arc::clone(&st.data),
                    bytes: st.spec.payload_bytes,
                    listeners: if st.spec.listeners.len() > 1 {
                        st.spec.listeners.clone()
                    } else {
                        Vec::new()
                    },
                    waits: Vec::new(),
                })),
                sent_at: at,
                label: 0,
                tag: Some(VlanTag {
                    pcp: st.spec.pcp,
                    vid: st.spec.vid,
                }),
            };
            st.next_seq += 1;
            st.sent += 1;
            self.schedule_release(s, at);
            let (paths, topo) = (&mut self.paths, &self.topo);
            let route = *self.tsn.streams[s]
                .route
                .get_or_insert_with(|| paths.between(topo, frame.src, frame.dst));
            self.hop(at, 0, Box::new(frame), route, log);
            return;
        }
        self.schedule_release(s, at);
    }

    /// Serves TSN port `p` at `now`: sends on what finished, keeps one wake-up pending.
    /// A single frame sent, when its next hop would be the queue's next event even with the
    /// port's wake-up queued ([`Self::hop_at_once`], the wake-up later), is done at once as
    /// any frame off a link is ([`Self::next_hop`]), the wake-up queued first so that what
    /// the hop pushes still comes after it. Otherwise the frames sent queue in the order
    /// they left, then the wake-up.
    fn serve_port(&mut self, p: usize, now: SimTime, log: &mut EventLog) {
        let clock_id = self.tsn.ports[p].setup.clock;
        self.tsn.clocks[clock_id].advance(now.0);
        let served = {
            let (ports, clocks) = (&mut self.tsn.ports, &self.tsn.clocks);
            ports[p].serve(now.0, &clocks[clock_id])
        };

        let link = self.tsn.ports[p].setup.link;
        let latency = self.links[link.0 as usize].latency;
        let wake = served.wake.filter(|&w| self.tsn.ports[p].wake != Some(w));
        let mut sent = served.sent;
        if let [(q, end)] = &sent[..]
            && let at = SimTime(*end) + latency
            && wake.is_none_or(|w| SimTime(w) > at)
            && self.hop_at_once(at, q.hop, &q.frame, q.route)
        {
            let (q, _) = sent.pop().expect("one frame");
            self.links[link.0 as usize].frames += 1;
            debug_assert_eq!(q.route, self.route_of(&q.frame), "a frame keeps its route");
            if let Some(w) = wake {
                self.tsn.ports[p].wake = Some(w);
                self.push(SimTime(w), Step::Port(p as u32));
            }
            self.hop(at, q.hop, q.frame, q.route, log);
            return;
        }
        for (q, end) in sent {
            self.links[link.0 as usize].frames += 1;
            let route = q.route;
            debug_assert_eq!(route, self.route_of(&q.frame), "a frame keeps its route");
            self.push(
                SimTime(end) + latency,
                Step::Hop {
                    hop: q.hop,
                    frame: q.frame,
                    route,
                },
            );
        }
        if let Some(w) = wake {
            self.tsn.ports[p].wake = Some(w);
            self.push(SimTime(w), Step::Port(p as u32));
        }
    }

    /// Frames that crossed each link so far, indexed by [`LinkId`](crate::net::topology::LinkId).
    pub fn link_frames(&self) -> impl ExactSizeIterator<Item = u64> + '_ {
        self.links.iter().map(|l| l.frames)
    }

    /// The topology frames travel over, shared with whoever needs names and routes.
    pub fn topology(&self) -> &Arc<Topology> {
        &self.topo
    }
    /// Installs the segmentation policy consulted at enforcement points (replacing any
    /// earlier one): an [`Enforcement`] middlebox at every node.
    pub fn set_policy(&mut self, policy: Box<dyn PolicyHook>) {
        self.identities = policy.identities().unwrap_or_default();
        let enforcement = Enforcement::new(policy);
        match self.policy {
            Some(i) => self.boxes[i] = Box::new(enforcement),
            None => {
                let nodes: Vec<HostId> = (0..self.topo.hosts.len() as u32).map(HostId).collect();
                let id = self.add_middlebox(Box::new(enforcement), Stage::Enforce, &nodes);
                self.policy = Some(id.0);
            }
        }
    }
    fn enforcement(&self) -> Option<&Enforcement> {
        let b: &dyn Any = self.boxes[self.policy?].as_ref();
        b.downcast_ref::<Enforcement>()
    }
    /// The policy, for live mode's socket tasks, which decide on real connections with the
    /// same rules as the simulated network. From then on the network locks it too; without
    /// a policy, a flat one.
    pub fn share_policy(&mut self) -> SharedPolicy {
        if self.policy.is_none() {
            self.set_policy(Box::new(super::hooks::AllowAll));
        }
        let i = self.policy.expect("installed above");
        let b: &mut dyn Any = self.boxes[i].as_mut();
        b.downcast_mut::<Enforcement>()
            .expect("the policy slot holds the enforcement")
            .share()
    }
    /// Diverts some sent frames out of the simulated network (live mode sends them over
    /// real sockets).
    pub fn set_bridge(&mut self, bridge: Box<dyn FrameBridge>) {
        self.bridge = Some(bridge);
    }
    /// The installed policy's name ("allow-all" on a flat network).
    pub fn policy_name(&self) -> String {
        self.enforcement()
            .map_or("allow-all", |e| e.policy_name())
            .to_string()
    }
    /// Who is signed in on each host, as the installed policy's identity rules see it: an
    /// actor that logs in from a machine of its own signs in here.
    pub fn identities(&self) -> &IdentityHandle {
        &self.identities
    }
    /// The policy's own account of the run, for results.json.
    pub fn policy_summary(&self) -> serde_json::Value {
        self.enforcement()
            .map_or(serde_json::Value::Null, |e| e.summary())
    }
    /// Places a middlebox at the given nodes, asked at the hops its stage names.
    pub fn add_middlebox(&mut self, mb: Box<dyn Middlebox>, stage: Stage, nodes: &[HostId]) -> MiddleboxId {
        let idx = self.boxes.len();
        let reports = mb.reports_events();
        if reports {
            self.reporting.push(idx);
        }
        self.reports.push(reports);
        self.boxes.push(mb);
        for n in nodes {
            let here = &mut self.boxes_at[n.0 as usize];
            if !here.contains(&(stage, idx)) {
                here.push((stage, idx));
                here.sort_unstable();
            }
        }
        MiddleboxId(idx)
    }
    /// A middlebox placed earlier, as its own type (an attacker reconfiguring its adversary
    /// in the middle); `None` if the id names another type.
    pub fn middlebox_mut<T: Middlebox>(&mut self, id: MiddleboxId) -> Option<&mut T> {
        let b: &mut dyn Any = self.boxes.get_mut(id.0)?.as_mut();
        b.downcast_mut::<T>()
    }
    /// The sensors' accounts of the run ([`Middlebox::sensor_summary`]), in placement
    /// order: (name, summary).
    pub fn sensor_summaries(&self) -> Vec<(String, serde_json::Value)> {
        self.boxes
            .iter()
            .filter_map(|b| Some((b.name().to_string(), b.sensor_summary()?)))
            .collect()
    }
    /// Records every frame sent from now on (replacing any earlier capture).
    pub fn set_capture(&mut self, capture: Box<dyn Capture>) {
        self.capture = Some(capture);
    }
    /// Takes the capture back (to finish the file) at the end of a run.
    pub fn take_capture(&mut self) -> Option<Box<dyn Capture>> {
        self.capture.take()
    }
    /// Makes a frame's arrival at `host` a tick of its own, for hosts that answer at once
    /// (IT servers); others find their frames at their next turn.
    pub fn set_wake_on_delivery(&mut self, host: HostId) {
        self.wake_on_delivery[host.0 as usize] = true;
    }

    /// The stable client port for a client talking to a server's service.
    pub fn client_port(&mut self, client: HostId, server: HostId, server_port: u16) -> u16 {
        let next = &mut self.next_port[client.0 as usize];
        *self
            .ports
            .entry((client, server, server_port))
            .or_insert_with(|| {
                let p = *next;
                *next = if p == u16::MAX { 49152 } else { p + 1 };
                p
            })
    }

    /// Sends an application message at `at` (not before the current time). Returns its id.
    pub fn send(
        &mut self,
        at: SimTime,
        src: HostId,
        dst: HostId,
        service: Service,
        payload: Payload,
        label: u32,
    ) -> FrameId {
        let port = service.port();
        let src_port = self.client_port(src, dst, port);
        self.send_raw(at, src, dst, src_port, port, service, payload, label)
    }

    /// Sends a raw layer-2 frame of `bytes` payload bytes (no IP: it stays within switches),
    /// with an 802.1Q tag if given: what a device on a cell's switch floods it with.
    pub fn send_layer2(
        &mut self,
        at: SimTime,
        src: HostId,
        dst: HostId,
        bytes: u32,
        tag: Option<VlanTag>,
        label: u32,
    ) -> FrameId {
        let id = self.next_id();
        let frame = Frame {
            id,
            src,
            dst,
            src_port: 0,
            dst_port: 0,
            service: Service::Ethernet,
            payload: Payload::Flow {
                bytes: bytes.min(1500),
                reply_bytes: 0,
            },
            sent_at: at,
            label,
            tag,
        };
        let route = self.route_of(&frame);
        let frame = self.boxed(frame);
        self.push(at, Step::Hop { hop: 0, frame, route });
        id
    }

    /// Sends a reply to a delivered frame, on the same connection in the other direction.
    pub fn reply(&mut self, at: SimTime, to: &Frame, payload: Payload) -> FrameId {
        self.send_raw(
            at,
            to.dst,
            to.src,
            to.dst_port,
            to.src_port,
            to.service,
            payload,
            to.label,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn send_raw(
        &mut self,
        at: SimTime,
        src: HostId,
        dst: HostId,
        src_port: u16,
        dst_port: u16,
        service: Service,
        payload: Payload,
        label: u32,
    ) -> FrameId {
        let id = self.next_id();
        let frame = Frame {
            id,
            src,
            dst,
            src_port,
            dst_port,
            service,
            payload,
            sent_at: at,
            label,
            tag: None,
        };
        if let Some(bridge) = self.bridge.as_mut()
            && bridge.divert(at, &frame)
        {
            return id;
        }
        let route = self.route_of(&frame);
        let frame = self.boxed(frame);
        self.push(at, Step::Hop { hop: 0, frame, route });
        id
    }

    /// A frame in a box of a frame delivered before, if one is spare. A poll round sends a
    /// thousand frames at once at a thousand PLCs, more than the allocator keeps at hand
    /// for one size, so each box went through its slow path on the way in and out; these
    /// boxes come back as their frames arrive (0.98x at 1,000 PLCs, docs/src/performance.md).
    fn boxed(&mut self, frame: Frame) -> Box<Frame> {
        match self.spare_frames.pop() {
            Some(mut b) => {
                *b = frame;
                b
            }
            None => Box::new(frame),
        }
    }

    /// The frame out of its box, the box kept for [`Self::boxed`] (up to a bound, so a
    /// burst once does not hold its boxes for the rest of the run).
    fn unboxed(&mut self, mut frame: Box<Frame>) -> Frame {
        const SPARES: usize = 4096;
        // What the box holds until [`Self::boxed`] overwrites it: nothing on the heap, so
        // nothing to free then.
        let empty = Frame {
            id: FrameId(0),
            src: HostId(0),
            dst: HostId(0),
            src_port: 0,
            dst_port: 0,
            service: Service::Ethernet,
            payload: Payload::Flow {
                bytes: 0,
                reply_bytes: 0,
            },
            sent_at: SimTime::ZERO,
            label: 0,
            tag: None,
        };
        let out = std::mem::replace(&mut *frame, empty);
        if self.spare_frames.len() < SPARES {
            self.spare_frames.push(frame);
        }
        out
    }

    fn next_id(&mut self) -> FrameId {
        let id = FrameId(self.next_frame);
        self.next_frame += 1;
        id
    }

    /// Records a frame that travelled outside the simulated network (a real socket in live
    /// mode): it gets an id, counts as sent and delivered, and every tap on its route sees
    /// it, so detectors watch live traffic as they watch simulated traffic.
    pub fn observe_external(&mut self, mut frame: Frame, log: &mut EventLog) -> FrameId {
        frame.id = self.next_id();
        let at = frame.sent_at;
        self.on_sent(at, &frame, log);
        let topo = Arc::clone(&self.topo);
        self.observe(frame.src, at, &mut frame);
        for hop in topo.route(frame.src, frame.dst).iter().flat_map(|r| r.iter()) {
            self.links[hop.link.0 as usize].frames += 1;
            self.observe(hop.to, at, &mut frame);
        }
        self.stats.delivered += 1;
        frame.id
    }

    /// Puts a frame that arrived from outside the simulated network (a live reply) straight
    /// into its destination's inbox.
    pub fn deliver_external(&mut self, at: SimTime, mut frame: Frame) {
        frame.id = self.next_id();
        self.post(Delivered { frame, at });
    }

    /// Puts a delivery in its destination's inbox, noting the host if it had no mail.
    fn post(&mut self, d: Delivered) {
        let dst = d.frame.dst;
        let inbox = &mut self.inboxes[dst.0 as usize];
        if inbox.is_empty() {
            self.with_mail.push(dst);
            if inbox.capacity() == 0
                && let Some(spare) = self.spare_inboxes.pop()
            {
                *inbox = spare;
            }
        }
        inbox.push(d);
    }

    /// A frame's route from its source to its destination; empty when there is none (a
    /// route always has a hop, as no frame is sent to its own source).
    fn route_of(&mut self, frame: &Frame) -> PathId {
        self.paths.between(&self.topo, frame.src, frame.dst)
    }

    fn push(&mut self, at: SimTime, step: Step) {
        self.seq += 1;
        self.queue.push(Pending {
            at,
            seq: self.seq,
            step,
        });
    }

    /// Whether fates of labelled frames wait to be taken (an attacker's step learns them).
    pub fn has_fates(&self) -> bool {
        !self.fates.is_empty()
    }

    /// Whether frames were delivered since the hosts' mail was last sorted.
    pub fn mail_waiting(&self) -> bool {
        !self.with_mail.is_empty()
    }

    /// Time of the earliest pending network event.
    pub fn next_event(&self) -> Option<SimTime> {
        self.queue.peek().map(|p| p.at)
    }

    /// Shows every middlebox new entries of the hosts' logs, in order
    /// ([`Middlebox::on_host_event`]), then moves the findings of those that read host logs
    /// into the event log (only theirs: a frame sensor's findings keep the moment they are
    /// collected at).
    pub fn observe_host_events(
        &mut self,
        events: &[crate::devices::host_log::HostEvent],
        log: &mut EventLog,
    ) {
        let topo = std::sync::Arc::clone(&self.topo);
        for b in &mut self.boxes {
            let mut reads = false;
            for e in events {
                reads |= b.on_host_event(e, &topo);
            }
            if reads {
                for (at, kind) in b.take_events() {
                    log.push(at, kind);
                }
            }
        }
    }

    /// Moves middleboxes' findings (detectors' alerts) into the event log.
    pub fn collect_tap_events(&mut self, log: &mut EventLog) {
        for &i in &self.reporting {
            for (at, kind) in self.boxes[i].take_events() {
                log.push(at, kind);
            }
        }
    }

    /// Moves the findings of the boxes at `node` into the event log.
    fn collect_findings(&mut self, node: HostId, log: &mut EventLog) {
        for k in 0..self.boxes_at[node.0 as usize].len() {
            let (_, i) = self.boxes_at[node.0 as usize][k];
            if !self.reports[i] {
                continue;
            }
            for (at, kind) in self.boxes[i].take_events() {
                log.push(at, kind);
            }
        }
    }

    /// Processes every event due at or before `now`: hops, middleboxes, deliveries.
    pub fn run_until(&mut self, now: SimTime, log: &mut EventLog) {
        self.draining = Draining::UpTo(now);
        while let Some(p) = self.queue.peek() {
            if p.at > now {
                break;
            }
            let p = self.queue.pop().expect("peeked");
            self.process(p, log);
        }
        self.draining = Draining::Off;
    }

    /// Moves frames along ahead of the clock, up to (not including) `bound`, stopping at
    /// the first delivery to a host that must be woken for it. Nothing can be sent before
    /// the next tick, so processing these events early changes nothing but saves ticks.
    /// Returns the time of the next tick the network needs, if any before `bound`.
    pub fn lookahead(&mut self, bound: SimTime, log: &mut EventLog) -> Option<SimTime> {
        self.draining = Draining::Before(bound);
        let mut stop = None;
        while let Some(p) = self.queue.peek() {
            if p.at >= bound {
                break;
            }
            if let Step::Hop { hop, frame, route } = &p.step
                && self.wakes_on_arrival(*hop, frame, *route)
            {
                stop = Some(p.at);
                break;
            }
            let p = self.queue.pop().expect("peeked");
            self.process(p, log);
        }
        self.draining = Draining::Off;
        stop
    }

    /// Whether hop `hop` of `frame` delivers it to a host that must be woken for it, where
    /// look-ahead stops.
    fn wakes_on_arrival(&self, hop: u16, frame: &Frame, route: PathId) -> bool {
        let len = self.paths.len(route);
        let arrival = usize::from(hop) >= len && len > 0;
        arrival && !matches!(frame.payload, Payload::Stream(_)) && self.wake_on_delivery[frame.dst.0 as usize]
    }

    /// Hop `hop` of `frame` at `at`, a frame's next after crossing a FIFO link. The queue
    /// would hand it straight back when nothing in it comes before `at` (a later sequence
    /// number loses ties, so strictly before) and the running loop goes as far: then it is
    /// done at once, sparing a push, a pop and the loop's tests. The order of everything is
    /// the queue's: later events keep their order among themselves, their sequence numbers
    /// only lower. The recursion is as deep as a route is long.
    fn next_hop(&mut self, at: SimTime, hop: u16, frame: Box<Frame>, route: PathId, log: &mut EventLog) {
        if self.hop_at_once(at, hop, &frame, route) {
            self.hop(at, hop, frame, route, log);
        } else {
            self.push(at, Step::Hop { hop, frame, route });
        }
    }

    /// Whether hop `hop` of `frame` at `at` may be done at once ([`Self::next_in_line`]),
    /// not being a delivery that must stop look-ahead to wake its host.
    #[inline]
    fn hop_at_once(&self, at: SimTime, hop: u16, frame: &Frame, route: PathId) -> bool {
        self.next_in_line(at)
            && !(matches!(self.draining, Draining::Before(_)) && self.wakes_on_arrival(hop, frame, route))
    }

    /// Whether an event at `at` pushed now would be the next the running loop pops: nothing
    /// queued comes before it or at its time (a later sequence number loses ties), and the
    /// loop goes as far. Such an event may be done at once instead. Never while a stream
    /// frame's copies to several listeners are sent one after the other
    /// ([`Self::splitting`]): the copies after the first must not wait for its next hops.
    #[inline]
    fn next_in_line(&self, at: SimTime) -> bool {
        let within = match self.draining {
            Draining::Off => false,
            Draining::UpTo(now) => at <= now,
            Draining::Before(bound) => at < bound,
        };
        self.direct_hops && !self.splitting && within && self.queue.peek().is_none_or(|p| p.at > at)
    }

    /// Takes the frames delivered to a host so far.
    pub fn take_inbox(&mut self, host: HostId) -> Vec<Delivered> {
        std::mem::take(&mut self.inboxes[host.0 as usize])
    }
    /// Gives back an inbox taken and emptied, so a busy host's (an HMI polling thousands of
    /// PLCs) keeps its room: grown again from nothing at every tick, its larger sizes went
    /// through the allocator's slow path (about 3 % of a 10,000-PLC run). A quiet host's
    /// small inbox goes to a list of spares for the next host that gets mail, so ten
    /// thousand PLCs do not each keep one and none grows one from nothing. The list holds
    /// up to 4,096: a poll round's requests are all delivered before the mail is sorted, a
    /// thousand PLCs' inboxes at once, and with 64 spares the others were allocated and
    /// freed at every round (42,225 times in two simulated minutes of 1,000 PLCs).
    pub fn give_back_inbox(&mut self, host: HostId, mut inbox: Vec<Delivered>) {
        const KEPT_FROM: usize = 8;
        const SPARES: usize = 4096;
        inbox.clear();
        let slot = &mut self.inboxes[host.0 as usize];
        if inbox.capacity() >= KEPT_FROM && slot.is_empty() {
            *slot = inbox;
        } else if inbox.capacity() > 0 && self.spare_inboxes.len() < SPARES {
            self.spare_inboxes.push(inbox);
        }
    }
    /// Takes the fates of labelled frames recorded so far, in the order they happened.
    pub fn take_fates(&mut self) -> Vec<Fate> {
        std::mem::take(&mut self.fates)
    }

    /// Hosts with frames waiting, in host order (deterministic), emptying the list. Give
    /// the list back when done ([`Self::give_back_hosts`]) to spare an allocation.
    pub fn take_hosts_with_mail(&mut self) -> Vec<HostId> {
        let spare = std::mem::take(&mut self.spare_hosts);
        let mut hosts = std::mem::replace(&mut self.with_mail, spare);
        hosts.sort_unstable();
        hosts.dedup();
        hosts.retain(|h| !self.inboxes[h.0 as usize].is_empty());
        hosts
    }
    /// Gives back a list [`Self::take_hosts_with_mail`] handed out, for its room.
    pub fn give_back_hosts(&mut self, mut hosts: Vec<HostId>) {
        hosts.clear();
        self.spare_hosts = hosts;
    }
    /// Whether a host has anything waiting.
    pub fn has_mail(&self, host: HostId) -> bool {
        !self.inboxes[host.0 as usize].is_empty()
    }

    fn process(&mut self, p: Pending, log: &mut EventLog) {
        let Pending { at, step, .. } = p;
        match step {
            Step::Hop { hop, frame, route } => self.hop(at, hop, frame, route, log),
            Step::Port(port) => {
                let port = port as usize;

                if self.tsn.ports[port].wake == Some(at.0) {
                    self.tsn.ports[port].wake = None;
                    self.serve_port(port, at, log);
                }
            }
            Step::Release(s) => self.release(s as usize, at, log),
            Step::Egress { hop, frame, route } => {
                let hop = usize::from(hop);
                let node = if hop == 0 {
                    frame.src
                } else {
                    self.paths.hop(route, hop - 1).to
                };
                self.transmit(at, at, node, hop, frame, route, log);
            }
        }
    }

    fn hop(&mut self, at: SimTime, hop: u16, frame: Box<Frame>, route: PathId, log: &mut EventLog) {
        // The topology is read through `self.topo` at each use, never held in an `Arc` clone
        // across the hop: the clone's and drop's atomic operations were four fifths of a
        // hop's samples (`perf annotate`, 1,000-PLC plant, on the Xeon of the performance
        // notes' "Atomic counts on a larger server").
        let len = self.paths.len(route);
        if len == 0 {
            self.drop_frame(at, &frame, frame.src, "no route to host", log);
            return;
        }
        let hop = usize::from(hop);
        if hop == 0 {
            self.on_sent(at, &frame, log);
        }
        let node = if hop == 0 {
            frame.src
        } else {
            self.paths.hop(route, hop - 1).to
        };
        let mut frame = frame;
        let arrived = hop == len;
        let layer2 = frame.transport() == Transport::Ethernet;
        if layer2 && hop > 0 && !arrived && self.topo.host(node).role != Role::Switch {
            self.drop_frame(
                at,
                &frame,
                node,
                "layer-2 frame: routers and firewalls do not forward it",
                log,
            );
            return;
        }
        // Sender: sensors only. A forwarding node: sensors, inline boxes, and enforcement if
        // it enforces. The receiver: sensors, then its own enforcement. Layer-2 frames
        // carry no IP, so no IP filter decides on them.
        let enforcement = if layer2 {
            None
        } else if arrived {
            Some(EnforcementPoint::Host(frame.dst))
        } else if hop > 0 && self.topo.host(node).role.enforces() {
            Some(EnforcementPoint::Network(node))
        } else {
            None
        };
        let inline = hop > 0 && !arrived;
        let held = self.pass_middleboxes(node, at, &mut frame, inline, enforcement, log);
        // What the boxes found on this frame goes into the log now, at the frame's time:
        // look-ahead may run this hop before the clock gets there, and a finding collected
        // later would land behind events of later times.
        self.collect_findings(node, log);
        let Some(held) = held else {
            return;
        };
        if arrived {
            let frame = self.unboxed(frame);
            self.arrive(at, frame, log);
            return;
        }
        let mut t = at;
        if hop > 0 {
            t += self.topo.host(node).forwarding_delay + held;
            if held > SimDuration::ZERO {
                let pcp = frame.tag.map_or(0, |g| g.pcp);
                note_wait(&mut frame, node, pcp, held.as_nanos(), WaitCause::Inspection);
            }
        }
        if let Payload::Stream(s) = &frame.payload
            && s.listeners.len() > 1
        {
            self.splitting = true;
            for copy in split_by_next_hop(&self.topo, &mut self.paths, frame, hop) {
                let route = self.route_of(&copy);
                self.egress(at, t, node, hop, copy, route, log);
            }
            self.splitting = false;
        } else {
            self.egress(at, t, node, hop, frame, route, log);
        }
    }

    /// A frame at `node` at `at`, ready to leave over hop `hop` at `t`: a FIFO transmitter
    /// takes it now (its queue is a formula); a TSN port, whose choices depend on what
    /// else arrives, takes it at `t`.
    #[allow(clippy::too_many_arguments)]
    fn egress(
        &mut self,
        at: SimTime,
        t: SimTime,
        node: HostId,
        hop: usize,
        frame: Box<Frame>,
        route: PathId,
        log: &mut EventLog,
    ) {
        let h = self.paths.hop(route, hop);
        if t > at && self.tsn.port_at(h.link.0 as usize, h.reverse).is_some() {
            if self.next_in_line(t) {
                // What the queued event would do when popped at `t`.
                self.transmit(t, t, node, hop, frame, route, log);
            } else {
                self.push(
                    t,
                    Step::Egress {
                        hop: hop as u16,
                        frame,
                        route,
                    },
                );
            }
        } else {
            self.transmit(at, t, node, hop, frame, route, log);
        }
    }

    /// Puts a frame ready at `t` on the link of its hop `hop`: into the TSN port there, or
    /// the link's FIFO transmitter.
    #[allow(clippy::too_many_arguments)]
    fn transmit(
        &mut self,
        at: SimTime,
        t: SimTime,
        node: HostId,
        hop: usize,
        frame: Box<Frame>,
        route: PathId,
        log: &mut EventLog,
    ) {
        let h = self.paths.hop(route, hop);
        if let Some(p) = self.tsn.port_at(h.link.0 as usize, h.reverse) {
            let clock = self.tsn.ports[p].setup.clock;
            self.tsn.clocks[clock].advance(t.0);
            let refused = {
                let (ports, clocks) = (&mut self.tsn.ports, &self.tsn.clocks);
                ports[p].enqueue(t.0, frame, (hop + 1) as u16, route, &clocks[clock])
            };
            match refused {
                Ok(()) => self.serve_port(p, t, log),
                Err(super::tsn::port::Refused::QueueFull(f, class)) => {
                    self.drop_frame(at, &f, node, &format!("TSN queue {class} full"), log);
                }
                Err(super::tsn::port::Refused::TooLong(f, class)) => {
                    let why = format!("frame longer than any window of TSN queue {class}'s gate");
                    self.drop_frame(at, &f, node, &why, log);
                }
            }
            return;
        }
        let dir = usize::from(h.reverse);
        let start = t.max(self.links[h.link.0 as usize].busy_until[dir]);
        if start - t > self.max_queue_delay {
            self.drop_frame(at, &frame, node, "transmit queue full", log);
            return;
        }
        let mut frame = frame;
        if start > t {
            // A first-in first-out link: no classes, so the priority stands for the queue.
            let pcp = frame.tag.map_or(0, |g| g.pcp);
            note_wait(&mut frame, node, pcp, (start - t).as_nanos(), WaitCause::LinkBusy);
        }
        let link = &mut self.links[h.link.0 as usize];
        let done = start + link.serialisation(frame.wire_bits());
        link.busy_until[dir] = done;
        link.frames += 1;
        let latency = link.latency;
        self.next_hop(done + latency, (hop + 1) as u16, frame, route, log);
    }

    fn on_sent(&mut self, at: SimTime, frame: &Frame, log: &mut EventLog) {
        self.stats.sent += 1;
        self.stats
            .bytes_by_service
            .add(frame.service, u64::from(frame.payload_len()));
        if frame.modbus_function().is_some() {
            self.stats.modbus_frames += 1;
        }
        if let Some(cap) = self.capture.as_mut() {
            cap.frame(at, frame, &self.topo);
        }
        if log.log_frames {
            log.push(
                at,
                EventKind::FrameSent {
                    frame: frame.id.0,
                    src: self.topo.host(frame.src).name.clone(),
                    dst: self.topo.host(frame.dst).name.clone(),
                    service: frame.service.as_str(),
                    bytes: frame.payload_len(),
                    function: frame.modbus_function(),
                },
            );
        }
    }

    fn arrive(&mut self, at: SimTime, frame: Frame, log: &mut EventLog) {
        self.stats.delivered += 1;
        if matches!(frame.payload, Payload::Stream(_)) {
            if log.log_frames {
                log.push(
                    at,
                    EventKind::FrameDelivered {
                        frame: frame.id.0,
                        dst: self.topo.host(frame.dst).name.clone(),
                        latency_ns: (at - frame.sent_at).as_nanos(),
                    },
                );
            }
            if let Some(miss) = self.tsn.receive(at.0, frame, &self.topo) {
                log.push(at, miss);
            }
            return;
        }
        if log.log_frames {
            log.push(
                at,
                EventKind::FrameDelivered {
                    frame: frame.id.0,
                    dst: self.topo.host(frame.dst).name.clone(),
                    latency_ns: (at - frame.sent_at).as_nanos(),
                },
            );
        }
        self.post(Delivered { frame, at });
    }

    /// The sensors at `node` see a frame that travelled outside the simulated network.
    fn observe(&mut self, node: HostId, at: SimTime, frame: &mut Frame) {
        let hop = Hop {
            node,
            now: at,
            topo: &self.topo,
            enforcement: None,
        };
        for &(stage, i) in &self.boxes_at[node.0 as usize] {
            if stage == Stage::Observe {
                self.boxes[i].on_frame(&hop, frame);
            }
        }
    }

    /// Takes a frame through the middleboxes at `node`: sensors always, inline boxes when
    /// `inline`, enforcement at an enforcement point. `None` when one stopped it; otherwise
    /// how long the inline boxes held it.
    fn pass_middleboxes(
        &mut self,
        node: HostId,
        at: SimTime,
        frame: &mut Frame,
        inline: bool,
        enforcement: Option<EnforcementPoint>,
        log: &mut EventLog,
    ) -> Option<SimDuration> {
        // The boxes see the topology borrowed from `self.topo`, not through a clone of its
        // `Arc` (see `hop`), so a stop is acted on once they are done with it.
        let hop = Hop {
            node,
            now: at,
            topo: &self.topo,
            enforcement,
        };
        /// How a box stopped the frame.
        enum Stop {
            Drop,
            Block { rule: String, why: Option<String> },
        }
        let mut held = SimDuration::ZERO;
        let mut stopped = None;
        for &(stage, i) in &self.boxes_at[node.0 as usize] {
            let asked = match stage {
                Stage::Observe => true,
                Stage::Inline => inline,
                Stage::Enforce => enforcement.is_some(),
            };
            if !asked {
                continue;
            }
            match self.boxes[i].on_frame(&hop, frame) {
                Action::Pass => {}
                // A sensor cannot stop traffic.
                _ if stage == Stage::Observe => {}
                Action::Drop => {
                    stopped = Some(Stop::Drop);
                    break;
                }
                Action::Block { rule, why } => {
                    stopped = Some(Stop::Block { rule, why });
                    break;
                }
            }
            if inline && stage != Stage::Observe {
                held = held + self.boxes[i].inline_delay();
            }
        }
        match stopped {
            None => Some(held),
            // Swallowed in the path: the sender learns nothing, as on a real network.
            Some(Stop::Drop) => {
                self.stats.dropped += 1;
                None
            }
            Some(Stop::Block { rule, why }) => {
                self.block(at, frame, node, rule, why, log);
                None
            }
        }
    }

    /// A frame stopped at `node` by `rule` (a policy's or an inline prevention system's).
    fn block(
        &mut self,
        at: SimTime,
        frame: &Frame,
        node: HostId,
        rule: String,
        why: Option<String>,
        log: &mut EventLog,
    ) {
        self.stats.blocked += 1;
        if frame.label == 0 {
            self.stats.blocked_legitimate += 1;
        }
        *self.stats.blocked_by_rule.entry(rule.clone()).or_default() += 1;
        if frame.label != 0 {
            self.fates.push(Fate {
                frame: frame.id,
                label: frame.label,
                at,
                kind: FateKind::Blocked {
                    point: node,
                    rule: rule.clone(),
                    why: why.clone(),
                },
            });
        }
        log.push(
            at,
            EventKind::FrameBlocked {
                frame: frame.id.0,
                src: self.topo.host(frame.src).name.clone(),
                dst: self.topo.host(frame.dst).name.clone(),
                service: frame.service.as_str(),
                at: self.topo.host(node).name.clone(),
                rule,
                why,
            },
        );
    }

    fn drop_frame(&mut self, at: SimTime, frame: &Frame, node: HostId, reason: &str, log: &mut EventLog) {
        self.stats.dropped += 1;
        self.tsn.lost(frame, &self.topo.host(node).name, reason);
        if frame.label != 0 {
            self.fates.push(Fate {
                frame: frame.id,
                label: frame.label,
                at,
                kind: FateKind::Dropped {
                    node,
                    reason: reason.to_string(),
                },
            });
        }
        log.push(
            at,
            EventKind::FrameDropped {
                frame: frame.id.0,
                src: self.topo.host(frame.src).name.clone(),
                dst: self.topo.host(frame.dst).name.clone(),
                at: self.topo.host(node).name.clone(),
                reason: reason.to_string(),
            },
        );
    }
}

/// Copies of a stream frame bound for several listeners, one per link its hop `hop` takes
/// towards them, as a switch replicates a multicast frame per output port. Routes from one
/// talker form a tree, so every listener's route shares the hops already taken.
#[allow(clippy::vec_box)] // frames travel boxed; the copies go on as they came
fn split_by_next_hop(topo: &Topology, paths: &mut Paths, frame: Box<Frame>, hop: usize) -> Vec<Box<Frame>> {
    let Payload::Stream(s) = &frame.payload else {
        return vec![frame];
    };
    let mut groups: Vec<(u32, Vec<HostId>)> = Vec::new();
    for l in &s.listeners {
        let path = paths.between(topo, frame.src, *l);
        let Some(link) = paths.hops(path).get(hop).map(|h| h.link.0) else {
            continue;
        };
        match groups.iter_mut().find(|g| g.0 == link) {
            Some(g) => g.1.push(*l),
            None => groups.push((link, vec![*l])),
        }
    }
    groups
        .into_iter()
        .map(|(_, listeners)| {
            let mut copy = frame.clone();
            copy.dst = listeners[0];
            if let Payload::Stream(s) = &mut copy.payload {
                s.listeners = listeners;
            }
            copy
        })
        .collect()
}
