//! Live mode: the simulated plant on real sockets, paced to the wall clock, for red/blue
//! exercises and training. Real tools (mbpoll, pymodbus, Wireshark) talk to the PLCs on
//! loopback addresses; the plant's HMIs and historians poll them over real sockets too.
//!
//! Threads: the simulation runs in the caller's thread, exactly as in batch mode, only
//! paced ([`LivePlant::step`]); a tokio runtime owns the sockets. PLC memory is shared
//! ([`crate::devices::plc::SharedCpu`]), so a socket task answers from the same register
//! map the scan works on; everything else crosses as [`LiveMsg`]s, which the simulation
//! thread applies: frames for taps and statistics, events, answers for its clients.
//!
//! * [`addr`]: plant addresses to loopback addresses.
//! * [`pacing`]: simulated time paced to the wall clock.
//! * [`config`]: the `[live]` table of an exercise.
//! * [`server`]: PLCs as Modbus TCP servers.
//! * [`bridge`]: the plant's clients through tokio-modbus.
//! * [`busy_poll`]: sockets that check for data a moment before sleeping.
//! * [`convert`]: ADU bytes to tokio-modbus types and back.

pub mod addr;
pub mod bridge;
pub mod busy_poll;
pub mod config;
pub mod convert;
pub mod pacing;
pub mod server;

use crate::base::events::{EventKind, EventLog};
use crate::base::time::{SimDuration, SimTime};
use crate::net::topology::HostId;
use crate::net::{Frame, Network};
use crate::world::Sim;
use config::LiveSettings;
use pacing::LiveClock;
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

/// What the socket side tells the simulation thread.
pub enum LiveMsg {
    /// A frame that crossed a real socket: taps see it, statistics count it; `event` is
    /// about it and gets its frame id.
    Frame {
        /// The frame, stamped with the simulated time it crossed the socket.
        frame: Frame,
        /// Events about the frame (a real client's request, an exception, a dropped
        /// request, a denial), logged with its frame id.
        events: Vec<EventKind>,
    },
    /// An event with no frame.
    Event {
        /// When it happened; logged no earlier than the simulation's clock.
        at: SimTime,
        /// What happened.
        kind: EventKind,
    },
    /// An answer for a bridged client, into its inbox.
    Deliver {
        /// The answer, stamped with the simulated time it came back over the socket.
        frame: Frame,
    },
    /// Ctrl-C or SIGTERM.
    Shutdown,
}

/// How to go live.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// Simulated seconds per wall second.
    pub speed: f64,
    /// Port PLCs listen on when 502 cannot be bound.
    pub fallback_port: u16,
    /// Allow addresses outside 127.0.0.0/8 (exposes deliberately vulnerable devices).
    pub allow_non_loopback: bool,
    /// The exercise's `[live]` table, checked against the plant.
    pub settings: LiveSettings,
}

/// Why live mode could not start.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// The address map puts a host outside 127.0.0.0/8 and `allow_non_loopback` is off.
    #[error(
        "host {host} would listen on {address}, which is not a loopback address: live mode \
         binds 127.0.0.0/8 only unless run with --allow-non-loopback"
    )]
    NotLoopback {
        /// The host's name.
        host: String,
        /// The live address the map gave it.
        address: Ipv4Addr,
    },
    /// A PLC's listener could be opened neither on port 502 nor on the fallback port, or
    /// could not be handed to tokio.
    #[error("cannot listen for {host} on {address}: {source}")]
    Bind {
        /// The PLC's name.
        host: String,
        /// The live address it was to listen on.
        address: Ipv4Addr,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The tokio runtime or its driver thread could not be started.
    #[error("cannot start the tokio runtime: {0}")]
    Runtime(std::io::Error),
    /// `speed` was zero, negative, infinite or NaN.
    #[error("the speed factor must be a positive number, not {0}")]
    Speed(f64),
}

/// One row of the manifest: where a simulated host lives on the real network.
#[derive(Debug, Clone, Serialize)]
pub struct ManifestEntry {
    /// The host's name in the plant.
    pub name: String,
    /// Its role, as the plant file writes it (`plc`, `hmi`, ...).
    pub role: &'static str,
    /// The zone it is in.
    pub zone: String,
    /// Its address on the simulated network.
    pub plant_address: Ipv4Addr,
    /// Its address on the real network (the address map's image of `plant_address`).
    pub address: Ipv4Addr,
    /// The Modbus TCP port for a PLC; none for hosts that only act as clients.
    pub port: Option<u16>,
}

/// A plant gone live.
pub struct LivePlant {
    runtime: Arc<tokio::runtime::Runtime>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    rx: Receiver<LiveMsg>,
    clock: LiveClock,
    shutdown: Arc<AtomicBool>,
    /// Every host with a live address, in host order: what to point real tools at.
    pub manifest: Vec<ManifestEntry>,
}

impl LivePlant {
    /// Opens a listener for every PLC, installs the client bridge and starts the clock at
    /// the simulation's current time.
    pub fn start(sim: &mut Sim, opts: LiveOptions) -> Result<LivePlant, LiveError> {
        if !(opts.speed.is_finite() && opts.speed > 0.0) {
            return Err(LiveError::Speed(opts.speed));
        }
        let topo = Arc::clone(sim.network().topology());
        let mut live_addr: BTreeMap<HostId, Ipv4Addr> = BTreeMap::new();
        for h in &topo.hosts {
            if let Some(a) = opts.settings.map.live(h.address) {
                if !a.is_loopback() && !opts.allow_non_loopback {
                    return Err(LiveError::NotLoopback {
                        host: h.name.clone(),
                        address: a,
                    });
                }
                live_addr.insert(h.id, a);
            }
        }
        // Every core for the sockets: the simulation thread needs a few per cent of one. On
        // two cores, two workers beat one current-thread runtime (benches/live/run.sh: about
        // +25 % requests/s at 16 connections, +10 % at 4, the same at 1), most likely
        // because a worker that just went idle looks for work a little before it sleeps:
        // a request arriving meanwhile skips the wake-up of a sleeping thread, which costs
        // more than serving it on loopback. One core: a current-thread runtime, no thread
        // to hand work to.
        let workers = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        let waker = std::thread::current();
        let runtime = if std::env::var_os("OTR_RT_MULTI").is_none() && workers == 1 {
            tokio::runtime::Builder::new_current_thread().enable_all().build()
        } else {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(workers)
                .enable_all()
                .build()
        }
        .map_err(LiveError::Runtime)?;
        let runtime = Arc::new(runtime);
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        {
            let rt = Arc::clone(&runtime);
            std::thread::Builder::new()
                .name("otrange-sockets".into())
                .spawn(move || {
                    // Drives every socket task (a current-thread runtime runs only here).
                    rt.block_on(async move {
                        let _ = stop_rx.await;
                    });
                })
                .map_err(LiveError::Runtime)?;
        }
        let (tx, rx) = channel();
        let clock = LiveClock::start(sim.now(), opts.speed);
        let bridged: server::Bridged = Arc::default();
        let ctx = Arc::new(server::ServerCtx {
            topo: Arc::clone(&topo),
            policy: sim.network_mut().share_policy(),
            clock: clock.clone(),
            hosts_by_address: live_addr.iter().map(|(h, a)| (*a, *h)).collect(),
            settings: opts.settings.clone(),
            tx: tx.clone(),
            connections: AtomicUsize::new(0),
            bridged: Arc::clone(&bridged),
        });

        let mut targets = BTreeMap::new();
        let mut ports = BTreeMap::new();
        // Every registered kind's Modbus servers, as the simulation built them.
        for server in crate::plant::modbus_servers(&mut sim.world) {
            let host = server.host;
            let Some(&address) = live_addr.get(&host) else {
                continue;
            };
            let listener = server::bind(address, opts.fallback_port).map_err(|source| LiveError::Bind {
                host: server.name.clone(),
                address,
                source,
            })?;
            let port = listener
                .local_addr()
                .map(|a| a.port())
                .unwrap_or(opts.fallback_port);
            let sock = SocketAddr::from((address, port));
            let name = server.name;
            let dev = Arc::new(server::Device::new(
                host,
                name.clone(),
                server.cpu,
                server.timing,
                sock,
            ));
            let _guard = runtime.enter();
            let listener = tokio::net::TcpListener::from_std(listener).map_err(|source| LiveError::Bind {
                host: name.clone(),
                address,
                source,
            })?;
            runtime.spawn(server::serve_device(listener, dev, Arc::clone(&ctx)));
            targets.insert(host, sock);
            ports.insert(host, port);
        }

        let clients: BTreeMap<HostId, _> = crate::plant::modbus_clients(&mut sim.world)
            .into_iter()
            .filter_map(|h| live_addr.get(&h).map(|a| (h, *a)))
            .collect();
        let (btx, brx) = tokio::sync::mpsc::unbounded_channel();
        runtime.spawn(bridge::run_clients(
            brx,
            tx.clone(),
            clock.clone(),
            waker.clone(),
            bridged,
        ));
        sim.network_mut().set_bridge(Box::new(bridge::Bridge {
            clients,
            targets,
            tx: btx,
        }));

        let shutdown = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&shutdown);
        runtime.spawn(async move {
            wait_for_signal().await;
            flag.store(true, Ordering::SeqCst);
            let _ = tx.send(LiveMsg::Shutdown);
            waker.unpark();
        });

        let manifest = topo
            .hosts
            .iter()
            .filter_map(|h| {
                Some(ManifestEntry {
                    name: h.name.clone(),
                    role: h.role.as_str(),
                    zone: topo.zone_of(h.id).name.clone(),
                    plant_address: h.address,
                    address: *live_addr.get(&h.id)?,
                    port: ports.get(&h.id).copied(),
                })
            })
            .collect();
        Ok(LivePlant {
            runtime,
            stop: Some(stop_tx),
            rx,
            clock,
            shutdown,
            manifest,
        })
    }

    /// The clock that paces the simulation: a handle on the same clock, to pause it or
    /// change its speed.
    pub fn clock(&self) -> LiveClock {
        self.clock.clone()
    }

    /// The runtime that owns the sockets, for other servers of the live run (the console).
    pub fn runtime(&self) -> tokio::runtime::Handle {
        self.runtime.handle().clone()
    }

    /// Whether Ctrl-C or SIGTERM arrived.
    pub fn shutdown_requested(&self) -> bool {
        self.shutdown.load(Ordering::SeqCst)
    }

    /// Brings the simulation up to the wall clock, waits at most `max_wait` (less when an
    /// answer for the plant's clients arrives), then applies what the sockets did. Returns
    /// the lag: how far the wall clock had moved on (in simulated time) by the time the
    /// simulation caught up, which a machine that holds the speed keeps near zero. The
    /// simulation never runs past `until` (the run's end).
    pub fn step(&mut self, sim: &mut Sim, max_wait: Duration, until: Option<SimTime>) -> SimDuration {
        let wall = self.clock.sim_now();
        let target = until.map_or(wall, |u| wall.min(u));
        if target > sim.now() {
            sim.run_until(target);
        }
        let lag = match until {
            Some(u) if sim.now() >= u => SimDuration::ZERO,
            _ => self.clock.sim_now().saturating_since(sim.now()),
        };
        // Socket tasks never wake this thread for a frame (that would cost a futex call per
        // request); only answers for the plant's clients and shutdown unpark it.
        std::thread::park_timeout(max_wait);
        let msgs: Vec<LiveMsg> = self.rx.try_iter().collect();
        if msgs.is_empty() {
            return lag;
        }
        let now = sim.now();
        sim.world
            .resource_scope(|world, mut net: bevy_ecs::prelude::Mut<Network>| {
                let mut log = world.resource_mut::<EventLog>();
                for msg in msgs {
                    apply(msg, now, &mut net, &mut log);
                }
                net.collect_tap_events(&mut log);
            });
        lag
    }

    /// Stops every socket task at once.
    pub fn stop(self) {
        let LivePlant { runtime, stop, .. } = self;
        if let Some(s) = stop {
            let _ = s.send(());
        }
        // The driver thread drops its handle when its block_on returns.
        let deadline = std::time::Instant::now() + Duration::from_secs(1);
        let mut rt = runtime;
        loop {
            match Arc::try_unwrap(rt) {
                Ok(r) => {
                    r.shutdown_timeout(Duration::from_millis(200));
                    return;
                }
                Err(back) if std::time::Instant::now() < deadline => {
                    rt = back;
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(_) => return,
            }
        }
    }
}

/// Applies one message. Times are clamped to the simulation's clock: the event log stays
/// in time order even when a socket ran a little ahead of the simulation thread.
fn apply(msg: LiveMsg, now: SimTime, net: &mut Network, log: &mut EventLog) {
    match msg {
        LiveMsg::Frame { mut frame, events } => {
            frame.sent_at = frame.sent_at.max(now);
            let at = frame.sent_at;
            let id = net.observe_external(frame, log);
            for kind in events {
                log.push(at, EventLog::with_frame(kind, id.0));
            }
        }
        LiveMsg::Event { at, kind } => log.push(at.max(now), kind),
        LiveMsg::Deliver { frame } => {
            let at = frame.sent_at.max(now);
            net.deliver_external(at, frame);
        }
        LiveMsg::Shutdown => {}
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut term) = signal(SignalKind::terminate()) else {
            let _ = tokio::signal::ctrl_c().await;
            return;
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
