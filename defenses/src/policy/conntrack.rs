//! Connection state per enforcement point, as a stateful firewall keeps it: a reply on a
//! connection whose request was allowed here passes without the rules being evaluated
//! again. One hash-set probe per frame, with foldhash (fixed seed: the keys are the
//! simulation's own host ids and ports, and a fixed seed keeps runs identical).

use otrange_sim::net::topology::HostId;
use std::collections::HashSet;

/// Where state is kept: a router or firewall keeps its own; every device's own filter
/// shares one "host layer" table, because a request is filtered at the server and its
/// reply at the client, which lets replies to its own connections in.
pub(crate) const HOST_LAYER: u32 = u32::MAX;

/// Allowed connections: (point, client, client port, server, server port).
#[derive(Default, Debug)]
pub(crate) struct ConnTable {
    set: HashSet<u128, foldhash::fast::FixedState>,
}

#[inline]
pub(crate) fn key(point: u32, client: HostId, client_port: u16, server: HostId, server_port: u16) -> u128 {
    (u128::from(point) << 96)
        | (u128::from(client.0) << 64)
        | (u128::from(server.0) << 32)
        | (u128::from(client_port) << 16)
        | u128::from(server_port)
}

impl ConnTable {
    #[inline]
    pub(crate) fn contains(&self, k: u128) -> bool {
        self.set.contains(&k)
    }
    #[inline]
    pub(crate) fn insert(&mut self, k: u128) {
        self.set.insert(k);
    }
    pub(crate) fn len(&self) -> usize {
        self.set.len()
    }
}
