//! The network's own table of the paths its frames take, by a small id.
//!
//! A frame in flight carries its path from hop to hop. Carried as a shared pointer, the
//! path cost a lookup in a cache inside the topology (behind a lock, as the topology is
//! shared with live mode's threads) and two atomic reference counts per frame, and made
//! every queued event larger. The network owns this table alone, so a frame's path is
//! found with one hash probe, without a lock, and travels as four bytes.

use super::topology::{Hop, HostId, Topology};
use rustc_hash::FxHashMap;

/// A path in the network's table: the hops from a source to a destination, possibly none
/// (no route).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PathId(u32);

/// The paths used so far: each one's hops, stored end to end in one vector.
#[derive(Debug)]
pub(crate) struct Paths {
    /// By (source, destination). Fx hashing, as the key is two small integers that no
    /// outsider chooses; never iterated, so its order cannot reach an output.
    ids: FxHashMap<(u32, u32), PathId>,
    /// Each path's first hop in `hops` and its length.
    spans: Vec<(u32, u32)>,
    hops: Vec<Hop>,
}

impl Default for Paths {
    fn default() -> Self {
        Paths {
            ids: FxHashMap::default(),
            // Path 0 is the empty one, for a frame that has no way to its destination.
            spans: vec![(0, 0)],
            hops: Vec::new(),
        }
    }
}

impl Paths {
    /// The empty path: no hops.
    pub(crate) const NONE: PathId = PathId(0);

    /// The path from `src` to `dst` (the empty one when there is none), found in the
    /// topology's next-hop tables on first use.
    pub(crate) fn between(&mut self, topo: &Topology, src: HostId, dst: HostId) -> PathId {
        if let Some(&id) = self.ids.get(&(src.0, dst.0)) {
            return id;
        }
        let start = self.hops.len();
        let id = if topo.route_into(src, dst, &mut self.hops) {
            self.spans.push((start as u32, (self.hops.len() - start) as u32));
            PathId((self.spans.len() - 1) as u32)
        } else {
            Self::NONE
        };
        self.ids.insert((src.0, dst.0), id);
        id
    }

    /// The hops of a path.
    pub(crate) fn hops(&self, id: PathId) -> &[Hop] {
        let (start, len) = self.spans[id.0 as usize];
        &self.hops[start as usize..(start + len) as usize]
    }

    /// How many hops a path has.
    pub(crate) fn len(&self, id: PathId) -> usize {
        self.spans[id.0 as usize].1 as usize
    }

    /// Hop `i` of a path.
    pub(crate) fn hop(&self, id: PathId, i: usize) -> Hop {
        self.hops(id)[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::topology::tests::{NET, topo};

    #[test]
    fn a_path_is_the_topologys_route_and_is_found_once() {
        let topo = topo(NET).unwrap();
        let (a, c) = (
            topo.host_by_name("ws").unwrap(),
            topo.host_by_name("plc").unwrap(),
        );
        let mut paths = Paths::default();
        let id = paths.between(&topo, a, c);
        assert_eq!(paths.hops(id), &*topo.route(a, c).unwrap());
        assert_eq!(paths.len(id), 3);
        assert_eq!(paths.between(&topo, a, c), id);
        let back = paths.between(&topo, c, a);
        assert_ne!(back, id);
        assert_eq!(paths.hop(back, 0).from, c);
        assert_eq!(paths.between(&topo, a, a), Paths::NONE);
        assert!(paths.hops(Paths::NONE).is_empty());
    }
}
