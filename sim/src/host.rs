//! Components every host entity carries: its identity in the topology and the mailboxes
//! that delivered frames are sorted into.

use crate::net::{Delivered, Network};
use crate::topology::HostId;
use bevy_ecs::prelude::*;

/// Which topology host this entity is.
#[derive(Component, Debug, Clone, Copy)]
pub struct HostRef(pub HostId);

/// Requests that arrived on one of the host's service ports, for its servers.
#[derive(Component, Debug, Default)]
pub struct ServerInbox(pub Vec<Delivered>);

/// Answers that arrived on the host's client ports, for its clients (HMI, historian, ...).
#[derive(Component, Debug, Default)]
pub struct ClientInbox(pub Vec<Delivered>);

/// Host id to entity, so systems can reach a host's components in host order.
#[derive(Resource, Debug, Default)]
pub struct HostIndex(pub Vec<Entity>);

/// Sorts each host's delivered frames into its server or client inbox. A frame addressed
/// to a well-known service port is a request; anything else answers one of the host's own
/// connections.
pub fn dispatch_deliveries(
    mut net: ResMut<Network>,
    index: Res<HostIndex>,
    mut hosts: Query<(&mut ServerInbox, &mut ClientInbox)>,
) {
    for host in net.take_hosts_with_mail() {
        let mail = net.take_inbox(host);
        let Ok((mut server, mut client)) = hosts.get_mut(index.0[host.0 as usize]) else {
            continue;
        };
        for d in mail {
            if d.frame.dst_port == d.frame.service.port() {
                server.0.push(d);
            } else {
                client.0.push(d);
            }
        }
    }
}
