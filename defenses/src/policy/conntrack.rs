//! Connection state per enforcement point, as a stateful firewall keeps it: a reply on a
//! connection whose request was allowed here passes without the rules being evaluated
//! again. One hash-set probe per frame, with a multiply-xorshift hash (the keys are the
//! simulation's own host ids and ports; there is no adversarial hashing to defend).

use otrange_sim::topology::HostId;
use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

/// Where state is kept: a router or firewall keeps its own; every device's own filter
/// shares one "host layer" table, because a request is filtered at the server and its
/// reply at the client, which lets replies to its own connections in.
pub(crate) const HOST_LAYER: u32 = u32::MAX;

#[derive(Default)]
pub(crate) struct ConnHasher(u64);

impl Hasher for ConnHasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x100_0000_01B3);
        }
    }
    #[inline]
    fn write_u128(&mut self, v: u128) {
        let x = (v as u64) ^ ((v >> 64) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let h = x.wrapping_mul(0xD6E8_FEB8_6659_FD93);
        self.0 = h ^ (h >> 32);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Allowed connections: (point, client, client port, server, server port).
#[derive(Default, Debug)]
pub(crate) struct ConnTable {
    set: HashSet<u128, BuildHasherDefault<ConnHasher>>,
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
    pub fn contains(&self, k: u128) -> bool {
        self.set.contains(&k)
    }
    #[inline]
    pub fn insert(&mut self, k: u128) {
        self.set.insert(k);
    }
    pub fn len(&self) -> usize {
        self.set.len()
    }
}
