//! The plant's own clients on real sockets. HMIs and historians keep running in the
//! simulation (polls, alarms, operators), but their Modbus frames to PLCs leave the
//! simulated network here and travel through tokio-modbus clients bound to the client
//! host's own loopback address, so `tshark -i lo` shows the plant talking. Answers come
//! back into the client's inbox.

use crate::base::time::{SimDuration, SimTime};
use crate::live::LiveMsg;
use crate::live::convert::{answer_of, request_of, response_pdu};
use crate::live::pacing::LiveClock;
use crate::net::topology::{HostId, Service};
use crate::net::{Frame, FrameBridge, Payload};
use crate::wire::modbus::emit_adu;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::mpsc::Sender;
use std::time::Duration;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio_modbus::client::{Client, Context};
use tokio_modbus::prelude::SlaveContext;
use tokio_modbus::{Slave, client::tcp::attach_slave};

/// How long a bridged request may take before the connection is dropped and reopened.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// A request leaving the simulation.
pub struct Outgoing {
    frame: Frame,
    source: Ipv4Addr,
    target: SocketAddr,
}

/// The simulation side: decides which frames leave.
pub struct Bridge {
    /// Client hosts whose Modbus requests go over real sockets, with their live address.
    pub clients: BTreeMap<HostId, Ipv4Addr>,
    /// PLC hosts with a live listener.
    pub targets: BTreeMap<HostId, SocketAddr>,
    /// Where diverted requests go: the socket side, [`run_clients`].
    pub tx: UnboundedSender<Outgoing>,
}

impl FrameBridge for Bridge {
    fn divert(&mut self, _at: SimTime, frame: &Frame) -> bool {
        if frame.service != Service::Modbus || !matches!(frame.payload, Payload::Modbus(_)) {
            return false;
        }
        let (Some(&source), Some(&target)) = (self.clients.get(&frame.src), self.targets.get(&frame.dst))
        else {
            return false;
        };
        self.tx
            .send(Outgoing {
                frame: frame.clone(),
                source,
                target,
            })
            .is_ok()
    }
}

/// The socket side: one connection per (client, PLC) pair, opened on first use and
/// reopened after an error (a denied path stays closed, and the client sees timeouts).
pub async fn run_clients(
    mut rx: UnboundedReceiver<Outgoing>,
    tx: Sender<LiveMsg>,
    clock: LiveClock,
    waker: std::thread::Thread,
    bridged: crate::live::server::Bridged,
) {
    let mut pairs: BTreeMap<(HostId, HostId), UnboundedSender<Outgoing>> = BTreeMap::new();
    while let Some(o) = rx.recv().await {
        let sender = pairs.entry((o.frame.src, o.frame.dst)).or_insert_with(|| {
            let (t, r) = unbounded_channel();
            tokio::spawn(pair(r, tx.clone(), clock.clone(), waker.clone(), bridged.clone()));
            t
        });
        let _ = sender.send(o);
    }
}

async fn connect(
    source: Ipv4Addr,
    target: SocketAddr,
    bridged: &crate::live::server::Bridged,
) -> std::io::Result<(Context, SocketAddr)> {
    let sock = tokio::net::TcpSocket::new_v4()?;
    sock.bind(SocketAddr::from((source, 0)))?;
    // Known before the first byte is sent: the server logs this connection's requests as
    // the plant's own, not as a real client's.
    let local = sock.local_addr()?;
    bridged.lock().unwrap_or_else(|e| e.into_inner()).insert(local, 0);
    let stream = tokio::time::timeout(Duration::from_secs(2), sock.connect(target))
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
    stream.set_nodelay(true)?;
    Ok((attach_slave(stream, Slave(1)), local))
}

async fn pair(
    mut rx: UnboundedReceiver<Outgoing>,
    tx: Sender<LiveMsg>,
    clock: LiveClock,
    waker: std::thread::Thread,
    bridged: crate::live::server::Bridged,
) {
    let mut conn: Option<(Context, SocketAddr)> = None;
    while let Some(o) = rx.recv().await {
        let Payload::Modbus(bytes) = &o.frame.payload else {
            continue;
        };
        let Some((tid, unit, fc, req)) = request_of(bytes) else {
            continue;
        };
        if conn.is_none() {
            conn = connect(o.source, o.target, &bridged).await.ok();
        }
        let Some((ctx, local)) = conn.as_mut() else {
            continue; // no path: the request is lost, as on a real network
        };
        // Whose request this is, for the server that will serve it.
        bridged
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(*local, o.frame.label);
        ctx.set_slave(Slave(unit));
        let asked = std::time::Instant::now();
        let answer = tokio::time::timeout(CALL_TIMEOUT, ctx.call(req))
            .await
            .ok()
            .and_then(answer_of);
        match answer {
            Some(answer) => {
                let reply = emit_adu(tid, unit, &response_pdu(fc, answer));
                // The answer keeps the request's label: an attack step's request (label
                // != 0) is answered to the step, not to the HMI that shares its host and
                // its connection to the PLC.
                let mut frame = Frame::live_modbus(
                    o.frame.dst,
                    o.frame.src,
                    Service::Modbus.port(),
                    local.port(),
                    Payload::Modbus(reply),
                    // The request's own simulated time plus the real round trip at the
                    // clock's speed: a simulation running behind the wall clock delays
                    // nothing, so lag alone never turns into HMI latency or timeouts.
                    o.frame.sent_at
                        + SimDuration::from_secs_f64(asked.elapsed().as_secs_f64() * clock.speed()),
                );
                frame.label = o.frame.label;
                let _ = tx.send(LiveMsg::Deliver { frame });
                // The simulation thread applies answers for its clients at once.
                waker.unpark();
            }
            None => conn = None,
        }
    }
}
