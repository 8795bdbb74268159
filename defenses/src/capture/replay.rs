//! Replaying a capture to detectors: every packet is decoded, Modbus TCP is reassembled and
//! framed, and what comes out becomes the same [`Frame`]s the simulation hands its taps, so
//! any detector runs unchanged on recorded traffic.
//!
//! Times are relative to the capture's first packet (detectors reason in simulated time
//! since the start of a run). They never go backwards: a capture merged from several
//! interfaces can be slightly out of order, and detectors are promised time order.
//!
//! [`Capture::open`](super::Capture::open) reads the file once: the replay collects the
//! hosts as it goes (their ids are their order of appearance, known at once) and keeps
//! its frames as [`Events`] until the topology, and so the detectors, can be built.
//! [`replay`] is the streaming form for hosts already known.

use super::events::{Events, Head};
use super::hosts::{CaptureHosts, HostTable};
use super::packet::{self, Packet, Skip, Transport};
use super::reader::{CaptureFile, ReadEnd, Record};
use super::reassembly::{ReassemblyStats, Segment, Stream, Units};
use crate::detect::Detector;
use foldhash::HashMap as FxMap;
use otrange_sim::base::time::SimTime;
use otrange_sim::net::Frame;
use otrange_sim::net::topology::{HostId, Service, Transport as L4};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// How many non-Modbus events are listed one by one (all are counted).
const LISTED: usize = 100;

/// Bytes on port 502 that cannot be Modbus.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NonModbus {
    /// The packet whose bytes completed the unit.
    pub frame: u64,
    /// Client and server, `a.b.c.d:port -> a.b.c.d:502`.
    pub connection: String,
    /// "request" (client to server) or "response".
    pub direction: &'static str,
    /// Size of the unit in bytes.
    pub bytes: usize,
}

/// Modbus figures of a capture.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ModbusStats {
    /// TCP connections with port 502 on one side.
    pub connections: u64,
    /// Complete ADUs, client to server and back.
    pub adus: u64,
    /// Complete ADUs from client to server.
    pub requests: u64,
    /// Complete ADUs from server to client.
    pub responses: u64,
    /// Units of bytes that cannot be Modbus, and their size.
    pub non_modbus_units: u64,
    /// Bytes in those units.
    pub non_modbus_bytes: u64,
    /// The first of them (up to 100), one by one.
    pub non_modbus: Vec<NonModbus>,
}

/// Figures of one replay.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CaptureStats {
    /// Records in the file.
    pub packets: u64,
    /// Bytes captured (as stored, not as on the wire).
    pub captured_bytes: u64,
    /// Time of the first and last packet, nanoseconds since the Unix epoch.
    pub start_unix_ns: Option<u64>,
    /// Time of the latest packet (the largest timestamp, whatever the order of records),
    /// nanoseconds since the Unix epoch; None for a capture without packets.
    pub end_unix_ns: Option<u64>,
    /// Records decoded to TCP or UDP over IPv4 (the sum of `tcp` and `udp`).
    pub ipv4: u64,
    /// Of those, TCP segments.
    pub tcp: u64,
    /// Of those, UDP datagrams.
    pub udp: u64,
    /// Records not decoded to TCP/UDP over IPv4, by reason (truncated, malformed, ...).
    pub skipped: BTreeMap<String, u64>,
    /// How reading the file ended (cut short or damaged part-way).
    pub read_end: ReadEnd,
    /// Modbus TCP: connections, ADUs and bytes that cannot be Modbus.
    pub modbus: ModbusStats,
    /// TCP reassembly of the Modbus connections: retransmissions, reordering, holes.
    pub reassembly: ReassemblyStats,
    /// Packets of TCP and UDP other than Modbus, by server port ("tcp/80", "udp/53"): the
    /// well-known port of a service when one side uses it, else the lower port.
    pub other_ports: BTreeMap<String, u64>,
    /// Non-Modbus packets handed to detectors as flows (their port is a known service's).
    pub flows: u64,
    /// Frames handed to the detectors in all.
    pub frames: u64,
}

/// Both directions of a connection with port 502 on one side.
#[derive(Debug, Default)]
struct Conn {
    to_server: Stream,
    to_client: Stream,
}

type Endpoint = (Ipv4Addr, u16);

/// Where a frame's hosts come from.
enum Hosts<'h> {
    /// A topology built beforehand.
    Built(&'h CaptureHosts),
    /// The table growing with the capture; its ids are the topology's to be.
    Growing(HostTable),
}

/// The replay in progress.
pub struct Replay<'h> {
    hosts: Hosts<'h>,
    /// Connections in order of appearance, found by `conn_index` (hashed: looked up once a
    /// Modbus packet, and skipped when the packet is on the last one's connection);
    /// sorted when the capture ends.
    conns: Vec<((Endpoint, Endpoint), Conn)>,
    conn_index: FxMap<(Endpoint, Endpoint), usize>,
    last_conn: Option<((Endpoint, Endpoint), usize)>,
    /// The hosts of the packet being taken, so its frames need no lookup.
    ends: [(Ipv4Addr, HostId); 2],
    stats: CaptureStats,
    /// `stats.skipped` and `stats.other_ports` with keys that cost no allocation per
    /// packet; turned into names at the end.
    skipped: BTreeMap<Skip, u64>,
    other_ports: BTreeMap<(&'static str, u16), u64>,
    t0: Option<u64>,
    now: SimTime,
    units: Units,
    events: Events,
}

fn service_of(transport: L4, src_port: u16, dst_port: u16) -> Option<(Service, u16)> {
    let find = |p: u16| {
        // Layer-2 frames (port 0) name no flow.
        Service::ALL
            .into_iter()
            .find(|s| s.port() != 0 && s.port() == p && s.transport() == transport)
    };
    find(dst_port).or_else(|| find(src_port)).map(|s| (s, s.port()))
}

impl<'h> Replay<'h> {
    /// A replay onto hosts known beforehand.
    pub fn new(hosts: &'h CaptureHosts) -> Self {
        Self::with(Hosts::Built(hosts))
    }

    /// A replay that collects the hosts as it goes (see [`Replay::finish_growing`]).
    pub fn growing(file_len: u64) -> Replay<'static> {
        let mut r = Replay::with(Hosts::Growing(HostTable::default()));
        r.events = Events::for_capture(file_len);
        r
    }

    fn with(hosts: Hosts<'h>) -> Self {
        Replay {
            hosts,
            conns: Vec::new(),
            conn_index: FxMap::default(),
            last_conn: None,
            ends: [(Ipv4Addr::UNSPECIFIED, HostId(u32::MAX)); 2],
            stats: CaptureStats::default(),
            skipped: BTreeMap::new(),
            other_ports: BTreeMap::new(),
            t0: None,
            now: SimTime::ZERO,
            units: Units::default(),
            events: Events::default(),
        }
    }

    /// The frames made so far and not yet taken.
    pub fn events(&mut self) -> &mut Events {
        &mut self.events
    }

    fn host(&self, a: Ipv4Addr) -> HostId {
        if let Some(&(_, h)) = self.ends.iter().find(|(e, _)| *e == a) {
            return h;
        }
        match &self.hosts {
            Hosts::Built(h) => h.host(a),
            Hosts::Growing(t) => t.id(a),
        }
    }

    fn head(&self, id: u64, src: Endpoint, dst: Endpoint) -> Head {
        Head {
            id,
            at: self.now,
            src: self.host(src.0),
            dst: self.host(dst.0),
            src_port: src.1,
            dst_port: dst.1,
        }
    }

    /// Takes one record; the frames it completes go to [`Replay::events`].
    pub fn record(&mut self, rec: &Record<'_>) {
        let s = &mut self.stats;
        s.packets += 1;
        s.captured_bytes += rec.data.len() as u64;
        let t0 = *self.t0.get_or_insert(rec.ts_ns);
        s.start_unix_ns.get_or_insert(rec.ts_ns);
        s.end_unix_ns = Some(s.end_unix_ns.map_or(rec.ts_ns, |e| e.max(rec.ts_ns)));
        self.now = self.now.max(SimTime(rec.ts_ns.saturating_sub(t0)));
        let p = match packet::decode(rec) {
            Ok(p) => p,
            Err(skip) => {
                *self.skipped.entry(skip).or_insert(0) += 1;
                return;
            }
        };
        let (src, dst) = match &mut self.hosts {
            Hosts::Growing(t) => t.see_ids(&p),
            Hosts::Built(h) => (h.host(p.src), h.host(p.dst)),
        };
        self.ends = [(p.src, src), (p.dst, dst)];
        s.ipv4 += 1;
        match p.transport {
            Transport::Tcp { .. } => s.tcp += 1,
            Transport::Udp { .. } => s.udp += 1,
        }
        let is_tcp = matches!(p.transport, Transport::Tcp { .. });
        if is_tcp && (p.src_port == 502 || p.dst_port == 502) {
            self.modbus(&p, rec.number);
        } else {
            self.flow(&p, rec.number);
        }
    }

    /// Non-Modbus TCP and UDP: counted by port, and given to detectors as a flow when the
    /// port is a known service's.
    fn flow(&mut self, p: &Packet<'_>, number: u64) {
        let (l4, name, len) = match p.transport {
            Transport::Tcp { payload, .. } => (L4::Tcp, "tcp", payload.len()),
            Transport::Udp { payload } => (L4::Udp, "udp", payload.len()),
        };
        let service = service_of(l4, p.src_port, p.dst_port);
        let port = service.map_or(p.src_port.min(p.dst_port), |(_, port)| port);
        *self.other_ports.entry((name, port)).or_insert(0) += 1;
        let Some((service, _)) = service else { return };
        if l4 == L4::Tcp && len == 0 {
            return; // handshakes and bare ACKs carry no application data
        }
        self.stats.flows += 1;
        self.stats.frames += 1;
        let head = self.head(number, (p.src, p.src_port), (p.dst, p.dst_port));
        self.events
            .flow(head, service, u32::try_from(len).unwrap_or(u32::MAX));
    }

    fn modbus(&mut self, p: &Packet<'_>, number: u64) {
        let Transport::Tcp {
            seq,
            ack,
            flags,
            payload,
        } = p.transport
        else {
            return;
        };
        let src = (p.src, p.src_port);
        let dst = (p.dst, p.dst_port);
        // The server is the side on 502 (the greater endpoint when both are).
        let to_server = if p.dst_port == 502 && p.src_port == 502 {
            dst > src
        } else {
            p.dst_port == 502
        };
        let key = if to_server { (src, dst) } else { (dst, src) };
        let i = match self.last_conn {
            Some((k, i)) if k == key => i,
            _ => {
                let i = *self.conn_index.entry(key).or_insert_with(|| {
                    self.stats.modbus.connections += 1;
                    self.conns.push((key, Conn::default()));
                    self.conns.len() - 1
                });
                self.last_conn = Some((key, i));
                i
            }
        };
        let conn = &mut self.conns[i].1;
        let (this, other) = if to_server {
            (&mut conn.to_server, &mut conn.to_client)
        } else {
            (&mut conn.to_client, &mut conn.to_server)
        };
        let mut units = std::mem::take(&mut self.units);
        // An ACK may show that the other direction lost bytes to the capture: its held-back
        // data (older than this segment) comes out first.
        if flags.ack {
            other.peer_ack(ack, &mut self.stats.reassembly, &mut units);
        }
        let from_other = units.len();
        this.segment(
            &Segment {
                seq,
                syn: flags.syn,
                fin: flags.fin,
                rst: flags.rst,
                payload,
                frame: number,
            },
            &mut self.stats.reassembly,
            &mut units,
        );
        for (i, (u, bytes)) in units.iter().enumerate() {
            let forward = (i >= from_other) == to_server;
            self.unit(key, forward, u.valid, u.frame, bytes);
        }
        units.clear();
        self.units = units;
    }

    /// Hands one framed unit to the detectors; `to_server` gives its direction.
    fn unit(&mut self, key: (Endpoint, Endpoint), to_server: bool, valid: bool, frame: u64, bytes: &[u8]) {
        let ((ca, cp), (sa, sp)) = key;
        let m = &mut self.stats.modbus;
        if valid {
            m.adus += 1;
            if to_server {
                m.requests += 1;
            } else {
                m.responses += 1;
            }
        } else {
            m.non_modbus_units += 1;
            m.non_modbus_bytes += bytes.len() as u64;
            if m.non_modbus.len() < LISTED {
                m.non_modbus.push(NonModbus {
                    frame,
                    connection: format!("{ca}:{cp} -> {sa}:{sp}"),
                    direction: if to_server { "request" } else { "response" },
                    bytes: bytes.len(),
                });
            }
        }
        self.stats.frames += 1;
        let (client, server) = key;
        let head = if to_server {
            self.head(frame, client, server)
        } else {
            self.head(frame, server, client)
        };
        self.events.modbus(head, bytes);
    }

    /// End of the capture: held-back segments are delivered across their holes (to
    /// [`Replay::events`]), connections in address order.
    pub fn finish(&mut self, read_end: ReadEnd) -> CaptureStats {
        self.ends = [(Ipv4Addr::UNSPECIFIED, HostId(u32::MAX)); 2];
        self.conn_index.clear();
        self.last_conn = None;
        let mut conns = std::mem::take(&mut self.conns);
        conns.sort_unstable_by_key(|(key, _)| *key);
        let mut units = std::mem::take(&mut self.units);
        for (key, mut conn) in conns {
            for to_server in [true, false] {
                let stream = if to_server {
                    &mut conn.to_server
                } else {
                    &mut conn.to_client
                };
                stream.finish(&mut self.stats.reassembly, &mut units);
                for (u, bytes) in units.iter() {
                    self.unit(key, to_server, u.valid, u.frame, bytes);
                }
                units.clear();
            }
        }
        let s = &mut self.stats;
        s.read_end = read_end;
        s.skipped = self.skipped.iter().map(|(k, n)| (k.key(), *n)).collect();
        s.other_ports = self
            .other_ports
            .iter()
            .map(|((name, port), n)| (format!("{name}/{port}"), *n))
            .collect();
        std::mem::take(&mut self.stats)
    }

    /// [`Replay::finish`] for a replay made with [`Replay::growing`]: also the hosts
    /// collected, and every frame made.
    pub fn finish_growing(mut self, read_end: ReadEnd) -> (HostTable, Events, CaptureStats) {
        let stats = self.finish(read_end);
        let table = match self.hosts {
            Hosts::Growing(t) => t,
            Hosts::Built(_) => HostTable::default(),
        };
        (table, self.events, stats)
    }
}

/// Collects the capture's hosts (a pass of its own; [`super::Capture::open`] does this
/// and the replay in one).
pub fn collect_hosts(file: &CaptureFile) -> HostTable {
    let mut table = HostTable::default();
    file.for_each(|rec| {
        if let Ok(p) = packet::decode(&rec) {
            table.see(&p);
        }
    });
    table
}

/// Replays `file` through `emit`, onto hosts known beforehand, frame by frame as the file
/// is read.
pub fn replay(
    file: &CaptureFile,
    hosts: &CaptureHosts,
    emit: &mut dyn FnMut(&Frame, SimTime),
) -> CaptureStats {
    let mut r = Replay::new(hosts);
    let end = file.for_each(|rec| {
        r.record(&rec);
        let ev = r.events();
        if !ev.is_empty() {
            ev.replay(emit);
            ev.clear();
        }
    });
    let stats = r.finish(end);
    r.events().replay(emit);
    stats
}

/// Replays `file` to every detector, all at the capture's one tap node.
pub fn run_detectors(
    file: &CaptureFile,
    hosts: &CaptureHosts,
    detectors: &mut [Box<dyn Detector>],
) -> CaptureStats {
    replay(file, hosts, &mut observer(hosts, detectors))
}

/// Shows a frame to every detector, at the tap.
pub(super) fn observer<'a>(
    hosts: &'a CaptureHosts,
    detectors: &'a mut [Box<dyn Detector>],
) -> impl FnMut(&Frame, SimTime) + 'a {
    let tap: HostId = hosts.tap;
    let topo = &hosts.topology;
    move |frame, now| {
        for d in detectors.iter_mut() {
            d.observe(tap, frame, now, topo);
        }
    }
}
