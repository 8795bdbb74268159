//! PLCs as real Modbus TCP servers. Each PLC listens on its own loopback address and
//! answers through the same byte-level handler as in batch mode ([`crate::devices::plc::ModbusCpu::serve`]), at
//! the modelled time (end of the scan in progress plus communication time).
//!
//! tokio-modbus's server hands its service decoded requests and takes typed responses; it
//! cannot carry the handler that answers a PLC's every byte (vendor function codes, the
//! exception a malformed PDU earns, a capacity that drops requests), so the framing here
//! is our own: read the 7-byte MBAP header, check it, read the PDU, serve, answer.

use crate::base::events::EventKind;
use crate::devices::modbus::ServerReply;
use crate::devices::plc::{ScanTiming, SharedCpu, served_event};
use crate::live::LiveMsg;
use crate::live::busy_poll::BusyPoll;
use crate::live::config::{LiveSettings, ResponseTime};
use crate::live::pacing::LiveClock;
use crate::net::topology::{HostId, Service, Topology};
use crate::net::{Frame, Payload, SharedPolicy, decide_path, lock_policy};
use crate::wire::modbus::{FrameStatus, MAX_ADU_LEN, MalformedReason, frame_len};
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::Sender;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Time allowed for the rest of a frame once its header arrived.
const FRAME_TIMEOUT: Duration = Duration::from_secs(5);

/// One PLC on a real socket.
pub struct Device {
    /// The PLC's host.
    pub host: HostId,
    /// Its name, for events.
    pub name: String,
    /// Its Modbus server, shared with the simulation's scan.
    pub cpu: SharedCpu,
    /// Its scan timing, to answer at the modelled time.
    pub timing: Arc<ScanTiming>,
    /// The real socket address it listens on.
    pub address: SocketAddr,
    connections: AtomicUsize,
}

impl Device {
    /// A device with no connections yet.
    pub fn new(
        host: HostId,
        name: String,
        cpu: SharedCpu,
        timing: Arc<ScanTiming>,
        address: SocketAddr,
    ) -> Self {
        Device {
            host,
            name,
            cpu,
            timing,
            address,
            connections: AtomicUsize::new(0),
        }
    }
}

/// What every connection task shares.
pub struct ServerCtx {
    /// The plant's topology, for names and policy paths.
    pub topo: Arc<Topology>,
    /// The network's policy, the same one the simulation enforces.
    pub policy: SharedPolicy,
    /// The live clock: stamps frames and events, and times answers.
    pub clock: LiveClock,
    /// Live address to simulated host.
    pub hosts_by_address: BTreeMap<Ipv4Addr, HostId>,
    /// The `[live]` limits and timings.
    pub settings: LiveSettings,
    /// To the simulation thread: frames and events.
    pub tx: Sender<LiveMsg>,
    /// Connections open on all devices, against `max_connections`.
    pub connections: AtomicUsize,
    /// The plant's own clients' connections (the bridge's): their requests are the
    /// simulation's, logged as in batch mode; every other peer's is a
    /// [`EventKind::ClientRequest`].
    pub bridged: Bridged,
}

/// Per local socket address the bridge connects from, the label of the request in flight
/// on that connection (0 for the plant's own, an attack step's number for a step's), shared
/// with the servers: a bridged connection carries one request at a time, so the server
/// knows whose request it is serving, and taps and detectors see the step's frames as the
/// step's, as in batch mode.
pub type Bridged = Arc<std::sync::Mutex<BTreeMap<SocketAddr, u32>>>;

/// An exception code's name (Modbus Application Protocol Specification V1.1b3, 7).
fn exception_name(code: u8) -> &'static str {
    match code {
        1 => "illegal function",
        2 => "illegal data address",
        3 => "illegal data value",
        4 => "server device failure",
        5 => "acknowledge",
        6 => "server device busy",
        8 => "memory parity error",
        10 => "gateway path unavailable",
        11 => "gateway target failed to respond",
        _ => "unknown",
    }
}

impl ServerCtx {
    fn send(&self, msg: LiveMsg) {
        // The simulation thread is gone only when shutting down; nothing left to record.
        let _ = self.tx.send(msg);
    }
}

/// Accepts connections for one device until the runtime shuts down.
pub async fn serve_device(listener: TcpListener, dev: Arc<Device>, ctx: Arc<ServerCtx>) {
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            // Out of file descriptors or similar: back off instead of spinning.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let (dev, ctx) = (Arc::clone(&dev), Arc::clone(&ctx));
        tokio::spawn(async move { connection(stream, peer, dev, ctx).await });
    }
}

/// Counts a connection while it lives.
struct Slot<'a>(&'a AtomicUsize, &'a AtomicUsize);
impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
        self.1.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What the next read brought.
enum Next {
    Frame(Vec<u8>),
    /// The peer closed between frames.
    Closed,
    /// Nothing arrived for the idle timeout.
    Idle,
    /// The peer closed, or went quiet, in the middle of a frame.
    Truncated,
    /// A header no Modbus TCP request has.
    Malformed(MalformedReason),
}

/// Reads Modbus TCP frames through one buffer: a single `read` usually brings a whole
/// request (or several pipelined ones), and silence is noticed by one long-lived timer per
/// connection instead of a timer per read.
struct FrameReader {
    buf: Vec<u8>,
    idle: Duration,
    last_activity: tokio::time::Instant,
    timer: std::pin::Pin<Box<tokio::time::Sleep>>,
}

impl FrameReader {
    fn new(idle: Duration) -> Self {
        FrameReader {
            buf: Vec::with_capacity(2 * MAX_ADU_LEN),
            idle,
            last_activity: tokio::time::Instant::now(),
            timer: Box::pin(tokio::time::sleep(idle)),
        }
    }

    /// A complete frame at the front of the buffer, or why the buffer can never hold one.
    fn parse(&mut self) -> Option<Next> {
        match frame_len(&self.buf) {
            FrameStatus::Incomplete => None,
            FrameStatus::Invalid(reason) => Some(Next::Malformed(reason)),
            FrameStatus::Complete(n) => {
                let rest = self.buf.split_off(n);
                Some(Next::Frame(std::mem::replace(&mut self.buf, rest)))
            }
        }
    }

    async fn next(&mut self, stream: &mut Conn) -> Next {
        loop {
            if let Some(n) = self.parse() {
                return n;
            }
            let partial = !self.buf.is_empty();
            let limit = if partial {
                FRAME_TIMEOUT.min(self.idle)
            } else {
                self.idle
            };
            self.buf.reserve(MAX_ADU_LEN);
            let (buf, timer) = (&mut self.buf, &mut self.timer);
            tokio::select! {
                r = stream.read_buf(buf) => match r {
                    Ok(0) | Err(_) => return if partial { Next::Truncated } else { Next::Closed },
                    Ok(_) => self.last_activity = tokio::time::Instant::now(),
                },
                () = timer.as_mut() => {
                    let due = self.last_activity + limit;
                    if tokio::time::Instant::now() >= due {
                        return if partial { Next::Truncated } else { Next::Idle };
                    }
                    self.timer.as_mut().reset(due);
                }
            }
        }
    }
}

/// A client's connection, read with busy polling (`[live] busy_poll`).
type Conn = BusyPoll<TcpStream>;

/// Closes with a reset, as a firewall's reject or a full device does.
fn reset(stream: TcpStream) {
    let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
    drop(stream);
}

async fn connection(stream: TcpStream, peer: SocketAddr, dev: Arc<Device>, ctx: Arc<ServerCtx>) {
    let per_device = dev.connections.fetch_add(1, Ordering::Relaxed) + 1;
    let total = ctx.connections.fetch_add(1, Ordering::Relaxed) + 1;
    let _slot = Slot(&dev.connections, &ctx.connections);
    let refuse = if per_device > ctx.settings.max_connections_per_device {
        Some(format!(
            "device connection limit ({}) reached",
            ctx.settings.max_connections_per_device
        ))
    } else if total > ctx.settings.max_connections {
        Some(format!(
            "total connection limit ({}) reached",
            ctx.settings.max_connections
        ))
    } else {
        None
    };
    if let Some(reason) = refuse {
        ctx.send(LiveMsg::Event {
            at: ctx.clock.sim_now(),
            kind: EventKind::ConnectionRefused {
                device: dev.name.clone(),
                peer: peer.to_string(),
                reason,
            },
        });
        reset(stream);
        return;
    }
    let _ = stream.set_nodelay(true);
    let client = match peer.ip() {
        std::net::IpAddr::V4(a) => ctx.hosts_by_address.get(&a).copied(),
        std::net::IpAddr::V6(_) => None,
    }
    .or(ctx.settings.external_host);
    let Some(client) = client else {
        ctx.send(LiveMsg::Event {
            at: ctx.clock.sim_now(),
            kind: EventKind::ConnectionRefused {
                device: dev.name.clone(),
                peer: peer.to_string(),
                reason: "address of no simulated host and no [live] external_host".into(),
            },
        });
        reset(stream);
        return;
    };
    let client_name = ctx.topo.host(client).name.clone();
    let external = !ctx
        .bridged
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .contains_key(&peer);
    // The connection attempt itself crosses the policy: a denied path is a reset.
    let syn = |payload| {
        Frame::live_modbus(
            client,
            dev.host,
            peer.port(),
            Service::Modbus.port(),
            payload,
            ctx.clock.sim_now(),
        )
    };
    if let Err(reason) = check(
        &ctx,
        &dev,
        &syn(Payload::Flow {
            bytes: 0,
            reply_bytes: 0,
        }),
    ) {
        ctx.send(*reason);
        reset(stream);
        return;
    }
    // A policy that denies nothing need not be asked per request.
    let open_policy = lock_policy(&ctx.policy).allows_everything();
    let mut reader = FrameReader::new(ctx.settings.idle_timeout);
    // After each answer the connection checks for the next request before it sleeps.
    let mut stream = BusyPoll::new(stream, ctx.settings.busy_poll);
    loop {
        let adu = match reader.next(&mut stream).await {
            Next::Frame(adu) => adu,
            Next::Closed | Next::Idle => return,
            Next::Truncated => {
                malformed(
                    &ctx,
                    &dev,
                    &client_name,
                    peer,
                    "truncated: the length field promised more bytes",
                );
                return;
            }
            Next::Malformed(reason) => {
                malformed(&ctx, &dev, &client_name, peer, &reason.to_string());
                reset(stream.into_inner());
                return;
            }
        };
        let mut request = syn(Payload::Modbus(adu.into()));
        let label = if external {
            0
        } else {
            ctx.bridged
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&peer)
                .copied()
                .unwrap_or(0)
        };
        request.label = label;
        let at = request.sent_at;
        if !open_policy && let Err(reason) = check(&ctx, &dev, &request) {
            ctx.send(*reason);
            reset(stream.into_inner());
            return;
        }
        let Payload::Modbus(adu) = &request.payload else {
            unreachable!("built above")
        };
        let handled = dev.cpu.lock().unwrap_or_else(|e| e.into_inner()).serve(adu, at);
        let mut events: Vec<EventKind> = Vec::new();
        if external {
            let answer = match (&handled.reply, handled.exception) {
                (ServerReply::Respond(_), Some(code)) => {
                    format!("exception {code} ({})", exception_name(code))
                }
                (ServerReply::Respond(_), None) => "answered".to_string(),
                (ServerReply::Drop, _) => match handled.dropped {
                    Some(reason) => format!("no answer ({reason:?})"),
                    None => "no answer".to_string(),
                },
            };
            events.push(EventKind::ClientRequest {
                frame: 0,
                device: dev.name.clone(),
                client: client_name.clone(),
                peer: peer.to_string(),
                function: crate::wire::modbus::Adu::new_unchecked(adu).map_or(0, |a| a.function()),
                request: crate::wire::modbus::describe_request(adu),
                answer,
            });
        }
        events.extend(served_event(&handled, 0, || (&dev.name, &client_name)));
        ctx.send(LiveMsg::Frame {
            frame: request,
            events,
        });
        let ServerReply::Respond(reply) = handled.reply else {
            continue; // dropped by an overloaded CPU or a listen-only device: no answer
        };
        if ctx.settings.response_time == ResponseTime::Modelled {
            let due = dev.timing.book_answer(at);
            tokio::time::sleep_until(ctx.clock.wall_at(due).into()).await;
        }
        if stream.write_all(&reply).await.is_err() {
            return;
        }
        let mut answer = Frame::live_modbus(
            dev.host,
            client,
            Service::Modbus.port(),
            peer.port(),
            Payload::Modbus(reply),
            ctx.clock.sim_now(),
        );
        answer.label = label;
        ctx.send(LiveMsg::Frame {
            frame: answer,
            events: Vec::new(),
        });
    }
}

/// The policy's verdict on a frame's whole path; a denial becomes the event to log.
fn check(ctx: &ServerCtx, dev: &Device, frame: &Frame) -> Result<(), Box<LiveMsg>> {
    decide_path(&ctx.policy, &ctx.topo, frame, frame.sent_at).map_err(|(point, rule, why)| {
        Box::new(LiveMsg::Frame {
            frame: frame.clone(),
            events: vec![EventKind::FrameBlocked {
                frame: 0,
                src: ctx.topo.host(frame.src).name.clone(),
                dst: dev.name.clone(),
                service: Service::Modbus.as_str(),
                at: ctx.topo.host(point.node()).name.clone(),
                rule,
                why,
            }],
        })
    })
}

fn malformed(ctx: &ServerCtx, dev: &Device, client: &str, peer: SocketAddr, reason: &str) {
    ctx.send(LiveMsg::Event {
        at: ctx.clock.sim_now(),
        kind: EventKind::MalformedRequest {
            device: dev.name.clone(),
            client: client.to_string(),
            peer: peer.to_string(),
            reason: reason.to_string(),
        },
    });
}

/// Binds a device's listener: port 502 where the process may, else `fallback`.
pub fn bind(addr: Ipv4Addr, fallback: u16) -> std::io::Result<std::net::TcpListener> {
    let try_bind = |port| -> std::io::Result<std::net::TcpListener> {
        let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
        sock.set_reuse_address(true)?;
        sock.set_nonblocking(true)?;
        sock.bind(&SocketAddr::from((addr, port)).into())?;
        sock.listen(1024)?;
        Ok(sock.into())
    };
    try_bind(Service::Modbus.port()).or_else(|_| try_bind(fallback))
}
