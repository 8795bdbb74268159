//! Routes as switches and routers keep them: a next-hop table per forwarding node, keyed by
//! destination, instead of a stored path for every pair of hosts.
//!
//! A path for every pair costs memory and start-up time in the square of the host count
//! (about 14 GB at 10,000 PLCs). A forwarder's table needs one entry per *anchor* only:
//! the forwarders themselves and the end hosts with several links. An end host on a single
//! link (a PLC on its access switch) is reached through that link's other end, so its
//! route is its neighbour's plus one hop, and it needs no table of its own.
//!
//! Paths are shortest by hop count and pass frames through forwarders only (end hosts
//! receive, they do not pass frames on). Where several shortest paths exist, each node
//! takes the neighbour a breadth-first search from the destination, in link order, reached
//! it from first: what a network with static next-hop routes would do. A path is walked
//! through the tables when asked for; the network keeps the paths its frames take
//! (`net::paths`), so a frame costs one lookup.

use super::topology::{Hop, Host};
use std::collections::VecDeque;
use std::sync::Arc;

/// No entry: not an anchor, no table, or no way on.
const NONE: u32 = u32::MAX;

/// The routing state of a topology: adjacency and next-hop tables.
#[derive(Debug, Clone)]
pub(crate) struct Routes {
    /// Each node's hops to its neighbours, in link order.
    adj: Vec<Vec<Hop>>,
    /// Which nodes forward frames.
    forwards: Vec<bool>,
    /// Each node's position among the anchors (its table's row), or [`NONE`].
    anchor_of: Vec<u32>,
    /// `tables[row][anchor]`: the index in `adj[node]` of the node's first hop towards the
    /// anchor, or [`NONE`] when it cannot reach it (or is it).
    tables: Vec<Vec<u32>>,
}

impl Routes {
    /// The tables of a network of `hosts` joined by `hops` (each link once per direction,
    /// in link order).
    pub(crate) fn build(hosts: &[Host], hops: impl IntoIterator<Item = Hop>) -> Routes {
        let n = hosts.len();
        let mut adj: Vec<Vec<Hop>> = vec![Vec::new(); n];
        for h in hops {
            adj[h.from.0 as usize].push(h);
        }
        let forwards: Vec<bool> = hosts.iter().map(|h| h.role.forwards()).collect();
        let mut anchor_of = vec![NONE; n];
        let mut anchors = Vec::new();
        for u in 0..n {
            if forwards[u] || adj[u].len() > 1 {
                anchor_of[u] = anchors.len() as u32;
                anchors.push(u);
            }
        }
        // Where each hop comes back: the index in adj[to] of the same link the other way.
        let back: Vec<Vec<u32>> = adj
            .iter()
            .map(|hops| {
                hops.iter()
                    .map(|h| {
                        adj[h.to.0 as usize]
                            .iter()
                            .position(|r| r.link == h.link)
                            .expect("every link is in both ends' lists") as u32
                    })
                    .collect()
            })
            .collect();
        let mut tables = vec![vec![NONE; anchors.len()]; anchors.len()];
        let mut seen = vec![false; n];
        let mut queue = VecDeque::new();
        for (col, &a) in anchors.iter().enumerate() {
            seen.iter_mut().for_each(|s| *s = false);
            seen[a] = true;
            queue.clear();
            queue.push_back(a);
            while let Some(v) = queue.pop_front() {
                if v != a && !forwards[v] {
                    continue;
                }
                for (k, hop) in adj[v].iter().enumerate() {
                    let u = hop.to.0 as usize;
                    if seen[u] {
                        continue;
                    }
                    seen[u] = true;
                    // u reaches the anchor through v: its first hop is this link, back.
                    if anchor_of[u] != NONE {
                        tables[anchor_of[u] as usize][col] = back[v][k];
                    }
                    queue.push_back(u);
                }
            }
        }
        Routes {
            adj,
            forwards,
            anchor_of,
            tables,
        }
    }

    /// The index in `adj[u]` of `u`'s first hop towards `dst`, if `u` can reach it.
    fn first_hop(&self, u: usize, dst: usize) -> Option<usize> {
        if u == dst {
            return None;
        }
        let col = self.anchor_of[dst];
        if col == NONE {
            // An end host on one link (or none): through its one neighbour s.
            let to_dst = self.adj[dst].first()?;
            let s = to_dst.to.0 as usize;
            if u == s {
                return self.adj[u].iter().position(|h| h.link == to_dst.link);
            }
            if !self.forwards[s] {
                return None;
            }
            return self.first_hop(u, s);
        }
        match self.anchor_of[u] {
            NONE => {
                // An end host on one link: out over it, if its neighbour gets the frame on.
                let w = self.adj[u].first()?.to.0 as usize;
                let on = w == dst || (self.forwards[w] && self.first_hop(w, dst).is_some());
                on.then_some(0)
            }
            row => {
                let k = self.tables[row as usize][col as usize];
                (k != NONE).then_some(k as usize)
            }
        }
    }

    /// The hops from `src` to `dst`, or `None` when no path exists.
    pub(crate) fn path(&self, src: usize, dst: usize) -> Option<Arc<[Hop]>> {
        let mut path = Vec::new();
        self.walk_into(src, dst, &mut path).then(|| path.into())
    }

    /// Appends the hops from `src` to `dst` to `path`; false (and `path` as it was) when no
    /// path exists.
    pub(crate) fn walk_into(&self, src: usize, dst: usize, path: &mut Vec<Hop>) -> bool {
        if src == dst {
            return false;
        }
        let start = path.len();
        let mut cur = src;
        while cur != dst {
            let found = self.first_hop(cur, dst);
            // More hops than nodes cannot happen with consistent tables; never loop.
            let Some(k) = found.filter(|_| path.len() - start <= self.adj.len()) else {
                path.truncate(start);
                return false;
            };
            let hop = self.adj[cur][k];
            path.push(hop);
            cur = hop.to.0 as usize;
        }
        true
    }
}
