//! Components every host entity carries: its identity in the topology and the mailboxes
//! that delivered frames are sorted into.

use crate::net::topology::HostId;
use crate::net::{Delivered, Network, Payload};
use bevy_ecs::prelude::*;

/// Which topology host this entity is.
#[derive(Component, Debug, Clone, Copy)]
pub struct HostRef(pub HostId);

/// Requests that arrived on one of the host's service ports, for its servers.
#[derive(Component, Debug, Default)]
pub struct ServerInbox(pub Vec<Delivered>);

/// Answers that arrived on the host's client ports, for its clients (HMI, historian, ...).
/// One host may run several clients (an HMI that also logs on to the domain), so each
/// takes only the answers of its own protocol.
#[derive(Component, Debug, Default)]
pub struct ClientInbox(pub Vec<Delivered>);

impl ClientInbox {
    /// Takes the Modbus answers, leaving the rest, in arrival order.
    pub fn take_modbus(&mut self) -> Vec<Delivered> {
        self.take_where(|d| matches!(d.frame.payload, Payload::Modbus(_)))
    }
    /// Gives back a vector taken from this inbox, emptied, so that a busy client (a SCADA
    /// server's thousand answers a round) keeps its room: grown again from nothing at each
    /// tick, the larger sizes went through the allocator's slow path.
    pub fn give_back(&mut self, mut taken: Vec<Delivered>) {
        if self.0.is_empty() && taken.capacity() > self.0.capacity() {
            taken.clear();
            self.0 = taken;
        }
    }
    /// Takes the IT flow answers, leaving the rest, in arrival order.
    pub fn take_flows(&mut self) -> Vec<Delivered> {
        self.take_where(|d| matches!(d.frame.payload, Payload::Flow { .. }))
    }
    fn take_where(&mut self, wanted: impl Fn(&Delivered) -> bool) -> Vec<Delivered> {
        if self.0.iter().all(&wanted) {
            return std::mem::take(&mut self.0);
        }
        let (taken, kept) = std::mem::take(&mut self.0).into_iter().partition(|d| wanted(d));
        self.0 = kept;
        taken
    }
}

/// Answers to labelled frames (an attacker's, whatever host it sends from), kept apart
/// from the answers the host's own clients wait for: an intruder on an HMI's host must not
/// feed the HMI's screen, nor the HMI eat the intruder's answers.
#[derive(Resource, Debug, Default)]
pub struct LabelledReplies(pub Vec<Delivered>);

/// What the mail sorted this tick leaves to do: the hosts holding mail nobody may claim, so
/// that it is discarded without visiting every host
/// ([`crate::devices::traffic::discard_unclaimed`]), whether any mail was sorted, and
/// whether any of it was a request to a host's IT service, which a scan tick must then
/// serve.
#[derive(Resource, Debug, Default)]
pub struct MailedThisTick {
    /// The hosts whose mail nobody may claim: requests to a host without a PLC, answers to
    /// a host without a client agent. A PLC's requests and an agent's answers are always
    /// claimed, and their hosts are not looked up again to find that out (a lookup of an
    /// entity's components per frame: 1.1 % of a 1,000-PLC run's instructions).
    hosts: Vec<Entity>,
    /// Whether any mail was sorted since the unclaimed was last discarded.
    sorted: bool,
    flow_requests: bool,
}

/// By entity index: whether the host's request inbox holds anything, so that a PLC whose
/// scan ends with nothing to serve is not looked up at all.
#[derive(Resource, Debug, Default)]
pub struct RequestsWaiting(Vec<bool>);

impl RequestsWaiting {
    fn set(&mut self, e: Entity, waiting: bool) {
        let i = e.index_u32() as usize;
        if i >= self.0.len() {
            self.0.resize(i + 1, false);
        }
        self.0[i] = waiting;
    }
    fn get(&self, e: Entity) -> bool {
        self.0.get(e.index_u32() as usize).copied().unwrap_or(false)
    }
}

/// Host id to entity, so systems can reach a host's components in host order.
#[derive(Resource, Debug, Default)]
pub struct HostIndex(pub Vec<Entity>);

/// Sorts each host's delivered frames into its server or client inbox.
pub fn dispatch_deliveries(
    mut net: ResMut<Network>,
    mut pending: ResMut<crate::base::clock::AgentsPending>,
    mut mail: Mail,
) {
    mail.sort(&mut net, &mut pending);
}

/// The hosts' inboxes and what sorting mail into them keeps: what the mail systems, the
/// PLCs' service and the runner's scan tick ([`crate::world::Sim`]) work on.
#[derive(bevy_ecs::system::SystemParam)]
pub struct Mail<'w, 's> {
    index: Res<'w, HostIndex>,
    labelled: ResMut<'w, LabelledReplies>,
    mailed: ResMut<'w, MailedThisTick>,
    waiting: ResMut<'w, RequestsWaiting>,
    #[allow(clippy::type_complexity)]
    hosts: Query<
        'w,
        's,
        (
            &'static mut ServerInbox,
            &'static mut ClientInbox,
            Has<super::plc::Plc>,
            Has<super::ClientAgent>,
            Has<super::ModbusPoller>,
            Has<super::traffic::FlowServer>,
        ),
    >,
}

impl Mail<'_, '_> {
    /// Sorts what the network delivered: a frame addressed to a well-known service port is
    /// a request; anything else answers one of the host's own connections, and the agents
    /// have it waiting (`pending`): a Modbus answer for an HMI or historian as one of the
    /// answers a poller tick can hand over, anything else as mail for a full tick.
    pub(crate) fn sort(&mut self, net: &mut Network, pending: &mut crate::base::clock::AgentsPending) {
        let hosts = net.take_hosts_with_mail();
        for &host in &hosts {
            let mut mail = net.take_inbox(host);
            let entity = self.index.0[host.0 as usize];
            let Ok((mut server, mut client, plc, agent, poller, flows)) = self.hosts.get_mut(entity) else {
                continue;
            };
            self.mailed.sorted = true;
            let mut unclaimed = false;
            for d in mail.drain(..) {
                if d.frame.dst_port == d.frame.service.port() {
                    self.waiting.set(entity, true);
                    self.mailed.flow_requests |= flows && matches!(d.frame.payload, Payload::Flow { .. });
                    unclaimed |= !plc;
                    server.0.push(d);
                } else if d.frame.label != 0 {
                    self.labelled.0.push(d);
                    pending.mail = true;
                } else {
                    if poller && matches!(d.frame.payload, Payload::Modbus(_)) {
                        pending.answers = true;
                    } else {
                        pending.mail = true;
                    }
                    unclaimed |= !agent;
                    client.0.push(d);
                }
            }
            if unclaimed {
                self.mailed.hosts.push(entity);
            }
            net.give_back_inbox(host, mail);
        }
        net.give_back_hosts(hosts);
    }

    /// The request inbox of the host entity `e`, if it holds anything.
    pub(crate) fn server_inbox(&mut self, e: Entity) -> Option<&mut ServerInbox> {
        if !self.waiting.get(e) {
            return None;
        }
        let inbox = self.hosts.get_mut(e).ok().map(|(s, ..)| s.into_inner())?;
        // Found empty (served since it was last filled), it is not looked up again until
        // mail comes.
        if inbox.0.is_empty() {
            self.waiting.set(e, false);
            return None;
        }
        Some(inbox)
    }

    /// Whether the host entity `e` may have requests waiting (true until a look finds its
    /// inbox empty, see [`Self::server_inbox`]).
    pub(crate) fn requests_waiting(&self, e: Entity) -> bool {
        self.waiting.get(e)
    }

    /// Whether mail sorted this tick is still to be served or discarded.
    pub(crate) fn sorted_this_tick(&self) -> bool {
        self.mailed.flow_requests || self.mailed.sorted
    }

    /// The answer inbox of the host entity `e`, if it holds anything.
    pub(crate) fn client_inbox(&mut self, e: Entity) -> Option<&mut ClientInbox> {
        let inbox = self.hosts.get_mut(e).ok().map(|(_, c, ..)| c.into_inner())?;
        (!inbox.0.is_empty()).then_some(inbox)
    }

    /// Whether mail sorted this tick holds a request to a host's IT service (see
    /// [`crate::devices::traffic::flow_serve`]).
    pub(crate) fn flow_requests(&self) -> bool {
        self.mailed.flow_requests
    }

    /// Discards what nobody claims in the inboxes of the hosts that got mail this tick:
    /// requests to a host without a PLC (one serves at the end of its scan), answers to a
    /// host without a client agent.
    pub(crate) fn discard_unclaimed(&mut self) {
        self.mailed.flow_requests = false;
        self.mailed.sorted = false;
        for e in self.mailed.hosts.drain(..) {
            let Ok((mut server, mut client, plc, agent, ..)) = self.hosts.get_mut(e) else {
                continue;
            };
            if !plc && !server.0.is_empty() {
                server.0.clear();
                self.waiting.set(e, false);
            }
            if !agent && !client.0.is_empty() {
                client.0.clear();
            }
        }
    }
}
