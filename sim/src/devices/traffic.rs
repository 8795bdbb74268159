//! Benign IT traffic: workstations and servers talking RDP, SMB, HTTP(S), SSH, DNS and
//! domain logons. It is the background a detector must not alarm on, and the load links
//! and firewalls carry.

use crate::base::clock::{Clock, Wakeups};
use crate::base::config_error::{ConfigError, MIN_CLIENT_PERIOD, period_field};
use crate::base::time::{DurationField, SimDuration, SimTime};
use crate::devices::host::{ClientInbox, HostRef, Mail, ServerInbox};
use crate::devices::host_log::{HostActivity, HostLog, LogonMethod};
use crate::net::topology::{HostId, Service, Topology};
use crate::net::{Network, Payload};
use bevy_ecs::prelude::*;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;
use toml::Spanned;

/// `[[traffic]]` in a plant file: a recurring exchange from clients to a server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrafficConfig {
    /// Client hosts; each runs the exchange independently.
    pub from: Vec<Spanned<String>>,
    /// The server host; it must offer `service`.
    pub to: Spanned<String>,
    /// The IT service the exchange uses (rdp, smb, https, dns, ...).
    pub service: Service,
    /// Mean time between exchanges per client (exponentially distributed).
    pub every: Spanned<DurationField>,
    /// Request size in bytes, drawn uniformly from [min, max].
    #[serde(default = "default_req")]
    pub request_bytes: [u32; 2],
    /// Response size in bytes, drawn uniformly from [min, max].
    #[serde(default = "default_resp")]
    pub response_bytes: [u32; 2],
}

fn default_req() -> [u32; 2] {
    [200, 600]
}
fn default_resp() -> [u32; 2] {
    [500, 5000]
}

#[derive(Debug, Clone)]
struct Exchange {
    to: HostId,
    service: Service,
    mean: SimDuration,
    req: [u32; 2],
    resp: [u32; 2],
    next: SimTime,
}

/// An IT host's background exchanges over the run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ItClientFigures {
    /// Exchanges started (request flows sent).
    pub exchanges: u64,
    /// Answers received.
    pub answered: u64,
}

/// What an IT server answered over the run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ItServerFigures {
    /// Requests answered.
    pub served: u64,
}

/// A host's recurring client exchanges.
#[derive(Component, Debug)]
pub struct TrafficSource {
    exchanges: Vec<Exchange>,
    rng: ChaCha8Rng,
    /// Request flows sent so far.
    pub sent: u64,
    /// Answers received so far.
    pub answered: u64,
}

/// A host that answers the flow requests of its IT services.
#[derive(Component, Debug, Default)]
pub struct FlowServer {
    /// Requests answered so far.
    pub served: u64,
}

impl TrafficSource {
    /// A source with no exchanges yet, drawing gaps and sizes from `rng` (the host's own stream).
    pub fn new(rng: ChaCha8Rng) -> Self {
        TrafficSource {
            exchanges: Vec::new(),
            rng,
            sent: 0,
            answered: 0,
        }
    }

    /// Adds one `[[traffic]]` entry's exchange for this client.
    pub fn add(&mut self, cfg: &TrafficConfig, idx: usize, topo: &Topology) -> Result<(), ConfigError> {
        let f = |s: &str| format!("traffic[{idx}].{s}");
        let to = topo.resolve(&cfg.to, &f("to"))?;
        if !topo.host(to).services.contains(&cfg.service) {
            return Err(ConfigError::new(
                f("service"),
                Some(cfg.to.span()),
                format!(
                    "host {:?} does not offer {}: add it to the host's services",
                    cfg.to.get_ref(),
                    cfg.service.as_str()
                ),
            ));
        }
        let mean = period_field(&cfg.every, f("every"), MIN_CLIENT_PERIOD)?;
        for (k, r) in [
            ("request_bytes", cfg.request_bytes),
            ("response_bytes", cfg.response_bytes),
        ] {
            if r[0] > r[1] || r[1] > 100_000_000 {
                return Err(ConfigError::new(
                    f(k),
                    None,
                    "expected [min, max] with min <= max <= 100000000",
                ));
            }
        }
        let mut ex = Exchange {
            to,
            service: cfg.service,
            mean,
            req: cfg.request_bytes,
            resp: cfg.response_bytes,
            next: SimTime::ZERO,
        };
        ex.next = SimTime::ZERO + crate::base::rng::exponential_gap(&mut self.rng, mean);
        self.exchanges.push(ex);
        Ok(())
    }

    /// When this source first needs a tick.
    pub fn first_wake(&self) -> Option<SimTime> {
        self.exchanges.iter().map(|e| e.next).min()
    }
}

/// Agents: IT clients start their exchanges when due.
pub fn traffic_tick(
    clock: Res<Clock>,
    mut net: ResMut<Network>,
    mut wake: ResMut<Wakeups>,
    mut log: ResMut<HostLog>,
    mut q: Query<(&HostRef, &mut TrafficSource, &mut ClientInbox)>,
) {
    let now = clock.now;
    for (host, mut src, mut inbox) in &mut q {
        if inbox.0.is_empty() && src.first_wake().is_none_or(|t| t > now) {
            continue;
        }
        let src = &mut *src;
        src.answered += inbox.take_flows().len() as u64;
        // Traffic runs last among the agents: whatever no client of this host claimed is
        // discarded, as a closed port would.
        inbox.0.clear();
        for i in 0..src.exchanges.len() {
            if src.exchanges[i].next <= now {
                let ex = src.exchanges[i].clone();
                let bytes = src.rng.random_range(ex.req[0]..=ex.req[1]);
                let reply = src.rng.random_range(ex.resp[0]..=ex.resp[1]);
                net.send(
                    now,
                    host.0,
                    ex.to,
                    ex.service,
                    Payload::Flow {
                        bytes,
                        reply_bytes: reply,
                    },
                    0,
                );
                src.sent += 1;
                record_logon(&mut log, now, host.0, ex.to, ex.service, net.topology());
                src.exchanges[i].next = now + crate::base::rng::exponential_gap(&mut src.rng, ex.mean);
                wake.at(src.exchanges[i].next);
            }
        }
    }
}

/// What the server's security log keeps of an exchange that opens a session: a remote
/// desktop or a network logon under the client's account, or a domain logon on the
/// domain controller. File shares, web and DNS exchanges are not logged as logons here.
fn record_logon(
    log: &mut HostLog,
    now: SimTime,
    client: HostId,
    server: HostId,
    service: Service,
    topo: &Topology,
) {
    let method = match service {
        Service::Rdp => LogonMethod::RemoteInteractive,
        Service::Ssh | Service::Winrm | Service::Kerberos => LogonMethod::Network,
        _ => return,
    };
    log.record(
        now,
        server,
        0,
        HostActivity::Logon {
            user: crate::devices::host_activity::account_of(topo, client),
            method,
            source: Some(topo.host(client).name.clone()),
            success: true,
        },
    );
}

/// Services: IT servers answer flow requests with the size the request asked for.
pub fn flow_serve(
    clock: Res<Clock>,
    mut net: ResMut<Network>,
    mut q: Query<(&mut FlowServer, &mut ServerInbox)>,
) {
    for (mut server, mut inbox) in &mut q {
        server.serve(&mut inbox, clock.now, &mut net);
    }
}

/// The flow servers, as a scan tick reaches them (their inboxes are [`Mail`]'s).
pub(crate) type FlowServers<'w, 's> = Query<'w, 's, (Entity, &'static mut FlowServer)>;

/// What [`flow_serve`] does, for a scan tick (`world::Sim`) at which flow requests came:
/// the servers in the same order, each answering what it has waiting.
pub(crate) fn serve_flows(now: SimTime, servers: &mut FlowServers, mail: &mut Mail, net: &mut Network) {
    for (e, mut server) in servers {
        if let Some(inbox) = mail.server_inbox(e) {
            server.serve(inbox, now, net);
        }
    }
}

impl FlowServer {
    /// Answers every flow request waiting, at `now` or when it arrived if later (a server
    /// answers as soon as it has the request). Other requests stay: a PLC that also offers
    /// an IT service serves its Modbus requests at the end of its scan.
    fn serve(&mut self, inbox: &mut ServerInbox, now: SimTime, net: &mut Network) {
        inbox.0.retain(|d| {
            let Payload::Flow { reply_bytes, .. } = d.frame.payload else {
                return true;
            };
            if reply_bytes > 0 {
                net.reply(
                    now.max(d.at),
                    &d.frame,
                    Payload::Flow {
                        bytes: reply_bytes,
                        reply_bytes: 0,
                    },
                );
                self.served += 1;
            }
            false
        });
    }
}

/// Observe: frames nobody listens for are discarded, as a host's closed port would. A PLC
/// keeps its requests until the end of its scan. Only the hosts that got mail this tick
/// can hold any (every other inbox of these kinds was emptied when its mail came).
pub fn discard_unclaimed(mut mail: super::host::Mail) {
    mail.discard_unclaimed();
}

/// Benign IT traffic as a device kind: `[[traffic]]` entries, one source per sending host
/// (with its own random stream), served by the hosts that offer the service.
pub struct TrafficKind;

impl super::kind::DeviceKind for TrafficKind {
    type Config = TrafficConfig;
    fn build(configs: &[TrafficConfig], cx: &mut super::kind::BuildCx<'_>) -> Result<(), ConfigError> {
        let mut sources: std::collections::BTreeMap<HostId, TrafficSource> = Default::default();
        for (i, t) in configs.iter().enumerate() {
            for (k, from) in t.from.iter().enumerate() {
                let id = cx.topo.resolve(from, &format!("traffic[{i}].from[{k}]"))?;
                let src = sources.entry(id).or_insert_with(|| {
                    TrafficSource::new(cx.seed.stream(&format!("traffic/{}", cx.topo.host(id).name)))
                });
                src.add(t, i, cx.topo)?;
            }
        }
        for (id, src) in sources {
            // Every exchange's first time, not only the earliest: an exchange starts when
            // it is due, not at whatever tick comes after.
            for e in &src.exchanges {
                cx.wake.at(e.next);
            }
            let e = cx.entity(id);
            cx.world.entity_mut(e).insert((src, super::ClientAgent));
        }
        Ok(())
    }
    fn systems(s: &mut super::kind::KindSystems<'_>) {
        s.add(crate::world::SimSet::Agents, traffic_tick);
        s.add(crate::world::SimSet::Services, flow_serve);
        s.add_local(crate::world::SimSet::Observe, discard_unclaimed);
    }
    fn summaries(world: &mut World) -> Vec<(HostId, super::summary::DeviceFigures)> {
        use super::summary::DeviceFigures;
        let mut out = Vec::new();
        let mut q = world.query::<(&super::host::HostRef, &TrafficSource)>();
        for (h, s) in q.iter(world) {
            let figures = ItClientFigures {
                exchanges: s.sent,
                answered: s.answered,
            };
            out.push((h.0, DeviceFigures::ItClient(figures)));
        }
        let mut q = world.query::<(&super::host::HostRef, &FlowServer)>();
        for (h, s) in q.iter(world) {
            out.push((h.0, DeviceFigures::ItServer(ItServerFigures { served: s.served })));
        }
        out
    }
}
