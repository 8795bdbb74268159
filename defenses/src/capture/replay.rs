//! Replaying a capture to detectors: every packet is decoded, Modbus TCP is reassembled and
//! framed, and what comes out becomes the same [`Frame`]s the simulation hands its taps, so
//! any detector runs unchanged on recorded traffic.
//!
//! Times are relative to the capture's first packet (detectors reason in simulated time
//! since the start of a run). They never go backwards: a capture merged from several
//! interfaces can be slightly out of order, and detectors are promised time order.

use super::hosts::CaptureHosts;
use super::packet::{self, Packet, Transport};
use super::reader::{CaptureFile, ReadEnd, Record};
use super::reassembly::{ReassemblyStats, Segment, Stream, Unit};
use crate::detect::Detector;
use otrange_sim::net::{Frame, FrameId, Payload};
use otrange_sim::time::SimTime;
use otrange_sim::topology::{HostId, Service, Topology, Transport as L4};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// Every service with a well-known port, to name the flows that use one.
const SERVICES: [Service; 12] = [
    Service::Modbus,
    Service::Rdp,
    Service::Smb,
    Service::Http,
    Service::Https,
    Service::Ssh,
    Service::Dns,
    Service::Kerberos,
    Service::Ldap,
    Service::Winrm,
    Service::Vpn,
    Service::Historian,
];

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
    pub bytes: usize,
}

/// Modbus figures of a capture.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ModbusStats {
    /// TCP connections with port 502 on one side.
    pub connections: u64,
    /// Complete ADUs, client to server and back.
    pub adus: u64,
    pub requests: u64,
    pub responses: u64,
    /// Units of bytes that cannot be Modbus, and their size.
    pub non_modbus_units: u64,
    pub non_modbus_bytes: u64,
    /// The first of them, one by one.
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
    pub end_unix_ns: Option<u64>,
    pub ipv4: u64,
    pub tcp: u64,
    pub udp: u64,
    /// Records not decoded to TCP/UDP over IPv4, by reason (truncated, malformed, ...).
    pub skipped: BTreeMap<String, u64>,
    /// How reading the file ended (cut short or damaged part-way).
    pub read_end: ReadEnd,
    pub modbus: ModbusStats,
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

/// The replay in progress.
pub struct Replay<'h> {
    hosts: &'h CaptureHosts,
    conns: BTreeMap<(Endpoint, Endpoint), Conn>,
    stats: CaptureStats,
    t0: Option<u64>,
    now: SimTime,
    units: Vec<Unit>,
}

fn service_of(transport: L4, src_port: u16, dst_port: u16) -> Option<(Service, u16)> {
    let find = |p: u16| {
        SERVICES
            .iter()
            .copied()
            .find(|s| s.port() == p && s.transport() == transport)
    };
    find(dst_port).or_else(|| find(src_port)).map(|s| (s, s.port()))
}

impl<'h> Replay<'h> {
    pub fn new(hosts: &'h CaptureHosts) -> Self {
        Replay {
            hosts,
            conns: BTreeMap::new(),
            stats: CaptureStats::default(),
            t0: None,
            now: SimTime::ZERO,
            units: Vec::new(),
        }
    }

    pub fn topology(&self) -> &Topology {
        &self.hosts.topology
    }

    /// Takes one record; `emit` receives the frames it completes, with the time to
    /// observe them at.
    pub fn record(&mut self, rec: &Record<'_>, emit: &mut dyn FnMut(&Frame, SimTime)) {
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
                *s.skipped.entry(skip.key()).or_insert(0) += 1;
                return;
            }
        };
        s.ipv4 += 1;
        match p.transport {
            Transport::Tcp { .. } => s.tcp += 1,
            Transport::Udp { .. } => s.udp += 1,
        }
        let is_tcp = matches!(p.transport, Transport::Tcp { .. });
        if is_tcp && (p.src_port == 502 || p.dst_port == 502) {
            self.modbus(&p, rec.number, emit);
        } else {
            self.flow(&p, rec.number, emit);
        }
    }

    /// Non-Modbus TCP and UDP: counted by port, and given to detectors as a flow when the
    /// port is a known service's.
    fn flow(&mut self, p: &Packet<'_>, number: u64, emit: &mut dyn FnMut(&Frame, SimTime)) {
        let (l4, name, len) = match p.transport {
            Transport::Tcp { payload, .. } => (L4::Tcp, "tcp", payload.len()),
            Transport::Udp { payload } => (L4::Udp, "udp", payload.len()),
        };
        let service = service_of(l4, p.src_port, p.dst_port);
        let port = service.map_or(p.src_port.min(p.dst_port), |(_, port)| port);
        *self
            .stats
            .other_ports
            .entry(format!("{name}/{port}"))
            .or_insert(0) += 1;
        let Some((service, _)) = service else { return };
        if l4 == L4::Tcp && len == 0 {
            return; // handshakes and bare ACKs carry no application data
        }
        self.stats.flows += 1;
        self.stats.frames += 1;
        let frame = Frame {
            id: FrameId(number),
            src: self.hosts.host(p.src),
            dst: self.hosts.host(p.dst),
            src_port: p.src_port,
            dst_port: p.dst_port,
            service,
            payload: Payload::Flow {
                bytes: u32::try_from(len).unwrap_or(u32::MAX),
                reply_bytes: 0,
            },
            sent_at: self.now,
            label: 0,
        };
        emit(&frame, self.now);
    }

    fn modbus(&mut self, p: &Packet<'_>, number: u64, emit: &mut dyn FnMut(&Frame, SimTime)) {
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
        let conn = self.conns.entry(key).or_insert_with(|| {
            self.stats.modbus.connections += 1;
            Conn::default()
        });
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
        for (i, u) in units.drain(..).enumerate() {
            let forward = (i >= from_other) == to_server;
            self.unit(key, forward, u, emit);
        }
        self.units = units;
    }

    /// Hands one framed unit to the detectors; `to_server` gives its direction.
    fn unit(
        &mut self,
        key: (Endpoint, Endpoint),
        to_server: bool,
        u: Unit,
        emit: &mut dyn FnMut(&Frame, SimTime),
    ) {
        let ((ca, cp), (sa, sp)) = key;
        let (src, src_port, dst, dst_port) = if to_server {
            (ca, cp, sa, sp)
        } else {
            (sa, sp, ca, cp)
        };
        let m = &mut self.stats.modbus;
        if u.valid {
            m.adus += 1;
            if to_server {
                m.requests += 1;
            } else {
                m.responses += 1;
            }
        } else {
            m.non_modbus_units += 1;
            m.non_modbus_bytes += u.bytes.len() as u64;
            if m.non_modbus.len() < LISTED {
                m.non_modbus.push(NonModbus {
                    frame: u.frame,
                    connection: format!("{ca}:{cp} -> {sa}:{sp}"),
                    direction: if to_server { "request" } else { "response" },
                    bytes: u.bytes.len(),
                });
            }
        }
        self.stats.frames += 1;
        let frame = Frame {
            id: FrameId(u.frame),
            src: self.hosts.host(src),
            dst: self.hosts.host(dst),
            src_port,
            dst_port,
            service: Service::Modbus,
            payload: Payload::Modbus(u.bytes),
            sent_at: self.now,
            label: 0,
        };
        emit(&frame, self.now);
    }

    /// End of the capture: held-back segments are delivered across their holes.
    pub fn finish(mut self, read_end: ReadEnd, emit: &mut dyn FnMut(&Frame, SimTime)) -> CaptureStats {
        let conns = std::mem::take(&mut self.conns);
        for (key, mut conn) in conns {
            for to_server in [true, false] {
                let mut units = Vec::new();
                let stream = if to_server {
                    &mut conn.to_server
                } else {
                    &mut conn.to_client
                };
                stream.finish(&mut self.stats.reassembly, &mut units);
                for u in units {
                    self.unit(key, to_server, u, emit);
                }
            }
        }
        self.stats.read_end = read_end;
        self.stats
    }
}

/// Collects the capture's hosts (the first pass).
pub fn collect_hosts(file: &CaptureFile) -> super::hosts::HostTable {
    let mut table = super::hosts::HostTable::default();
    file.for_each(|rec| {
        if let Ok(p) = packet::decode(&rec) {
            table.see(&p);
        }
    });
    table
}

/// Replays `file` through `emit` (the second pass).
pub fn replay(
    file: &CaptureFile,
    hosts: &CaptureHosts,
    emit: &mut dyn FnMut(&Frame, SimTime),
) -> CaptureStats {
    let mut r = Replay::new(hosts);
    let end = file.for_each(|rec| r.record(&rec, emit));
    r.finish(end, emit)
}

/// Replays `file` to every detector, all at the capture's one tap node.
pub fn run_detectors(
    file: &CaptureFile,
    hosts: &CaptureHosts,
    detectors: &mut [Box<dyn Detector>],
) -> CaptureStats {
    let tap: HostId = hosts.tap;
    let topo = &hosts.topology;
    replay(file, hosts, &mut |frame, now| {
        for d in detectors.iter_mut() {
            d.observe(tap, frame, now, topo);
        }
    })
}
