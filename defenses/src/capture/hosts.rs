//! The plant as a capture shows it: one host per IPv4 address, in order of first
//! appearance, named by its address so rule variables and reports can name hosts the way
//! the capture does (`10.0.0.57`). Hosts that answer on TCP 502 are PLCs offering Modbus;
//! the rest are workstations. One extra host, "capture", a switch, stands for the sensor
//! that recorded the file: it is the tap node detectors are told they sit at.
//!
//! Nothing in a capture says which assets are on the owner's register, so every host is
//! taken as declared; the inventory detector then reports what it saw rather than
//! intruders. Given the plant the capture was taken in ([`HostTable::build_with_plant`]),
//! an address the plant declares becomes that host (its name, role, zone and whether the
//! asset register lists it), and the plant's hosts the capture never shows are added after
//! the capture's own: rules can name hosts, and the inventory counts what is missing.

use super::CaptureError;
use super::packet::{Packet, Transport};
use foldhash::HashMap as FxMap;
use otrange_sim::net::topology::{HostConfig, HostId, PurdueLevel, Role, Service, Topology, ZoneConfig};
use otrange_sim::plant::PlantConfig;
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use toml::Spanned;

/// Most hosts given their own entry. `Topology::build` keeps a route table of hosts
/// squared, so a capture full of scanned or spoofed addresses must not become a topology of
/// tens of thousands of hosts; addresses beyond this share the host "other".
pub const MAX_HOSTS: usize = 2048;

/// Name of the sensor host.
pub const TAP_NAME: &str = "capture";
/// Name of the host standing for addresses beyond [`MAX_HOSTS`].
pub const OTHER_NAME: &str = "other";
/// Zone every capture host is in.
pub const ZONE: &str = "capture";

/// Addresses collected while reading the capture.
///
/// Hosts are numbered in order of first appearance and [`HostTable::build`] gives them
/// the same [`HostId`]s, so the replay can name a frame's ends ([`HostTable::id`]) while
/// the table is still growing, in the one pass over the file.
#[derive(Debug, Default, Clone)]
pub struct HostTable {
    order: Vec<Ipv4Addr>,
    /// Index in `order` of each address there (a hash map: it is asked twice a packet).
    seen: FxMap<Ipv4Addr, u32>,
    /// Parallel to `order`: the address answered on TCP 502.
    plc: Vec<bool>,
    /// Addresses beyond [`MAX_HOSTS`] that answered on TCP 502.
    folded_servers: BTreeSet<Ipv4Addr>,
    /// Distinct addresses beyond [`MAX_HOSTS`].
    folded: BTreeSet<Ipv4Addr>,
    /// The last pair of listed addresses seen together, with their indexes.
    last: Option<(Ipv4Addr, u32, Ipv4Addr, u32)>,
}

/// The topology built from a capture, with the address lookup the replay uses.
#[derive(Debug, Clone)]
pub struct CaptureHosts {
    /// The capture's hosts in order of first appearance (at most [`MAX_HOSTS`]), then
    /// "other" if any address was folded, then the tap, then any plant hosts the capture
    /// does not show.
    pub topology: Topology,
    /// The sensor: the node passed to `Detector::observe`.
    pub tap: HostId,
    /// Where addresses beyond [`MAX_HOSTS`] went, if any were seen.
    pub other: Option<HostId>,
    /// How many distinct addresses were folded into "other".
    pub folded: usize,
}

impl CaptureHosts {
    /// The host an address belongs to (addresses not seen on the first pass go to
    /// "other" when there is one, else to the tap so a frame always has ends).
    pub fn host(&self, addr: Ipv4Addr) -> HostId {
        self.topology
            .host_by_address(addr)
            .or(self.other)
            .unwrap_or(self.tap)
    }
}

impl HostTable {
    /// Notes an address; its index in `order`, if it has one.
    fn add(&mut self, a: Ipv4Addr) -> Option<u32> {
        if let Some(&i) = self.seen.get(&a) {
            return Some(i);
        }
        if self.order.len() < MAX_HOSTS {
            let i = self.order.len() as u32;
            self.seen.insert(a, i);
            self.order.push(a);
            self.plc.push(false);
            Some(i)
        } else {
            self.folded.insert(a);
            None
        }
    }

    /// Notes the addresses of a decoded packet.
    pub fn see(&mut self, p: &Packet<'_>) {
        self.see_ids(p);
    }

    /// [`HostTable::see`], giving the hosts of the packet's source and destination.
    pub fn see_ids(&mut self, p: &Packet<'_>) -> (HostId, HostId) {
        // Most packets are between the same two hosts as the one before (a poll and its
        // answer): that pair is remembered, saving two lookups.
        let src = match self.last {
            Some((a, ia, b, ib)) if (a, b) == (p.src, p.dst) => Some((Some(ia), Some(ib))),
            Some((a, ia, b, ib)) if (b, a) == (p.src, p.dst) => Some((Some(ib), Some(ia))),
            _ => None,
        };
        let (src, dst) = match src {
            Some(ids) => ids,
            None => {
                let ids = (self.add(p.src), self.add(p.dst));
                if let (Some(ia), Some(ib)) = ids {
                    self.last = Some((p.src, ia, p.dst, ib));
                }
                ids
            }
        };
        if matches!(p.transport, Transport::Tcp { .. }) && p.src_port == 502 {
            match src {
                Some(i) => self.plc[i as usize] = true,
                None => {
                    self.folded_servers.insert(p.src);
                }
            }
        }
        let id = |i: Option<u32>| HostId(i.unwrap_or(MAX_HOSTS as u32));
        (id(src), id(dst))
    }

    /// The host an address already seen will have in the topology [`HostTable::build`]
    /// makes: its place in order of appearance, or "other" (which comes right after the
    /// [`MAX_HOSTS`] hosts) for an address beyond them.
    pub fn id(&self, a: Ipv4Addr) -> HostId {
        HostId(self.seen.get(&a).copied().unwrap_or(MAX_HOSTS as u32))
    }

    /// Addresses in order of first appearance.
    pub fn addresses(&self) -> &[Ipv4Addr] {
        &self.order
    }

    /// Whether the address has sent TCP from port 502 (answered as a Modbus server) in
    /// what was read so far.
    pub fn is_modbus_server(&self, a: Ipv4Addr) -> bool {
        match self.seen.get(&a) {
            Some(&i) => self.plc[i as usize],
            None => self.folded_servers.contains(&a),
        }
    }

    /// Builds the topology: the capture's hosts, then "other" if needed, then the tap.
    pub fn build(&self) -> Result<CaptureHosts, CaptureError> {
        self.build_with_plant(None)
    }

    /// [`HostTable::build`], naming the capture's addresses after the plant's hosts and
    /// adding the plant's hosts the capture does not show (after the tap, so the ids the
    /// replay already gave stay valid).
    pub fn build_with_plant(&self, plant: Option<&PlantConfig>) -> Result<CaptureHosts, CaptureError> {
        let span = |s: &str| Spanned::new(0..0, s.to_string());
        let declared: BTreeMap<Ipv4Addr, &HostConfig> = plant
            .map(|p| {
                p.hosts
                    .iter()
                    .filter_map(|h| h.address.get_ref().parse().ok().map(|a| (a, h)))
                    .collect()
            })
            .unwrap_or_default();
        let mut taken: BTreeSet<Ipv4Addr> = self
            .order
            .iter()
            .chain(&self.folded)
            .chain(declared.keys())
            .copied()
            .collect();
        // Synthetic hosts need addresses of their own: the lowest ones the capture does not use.
        let mut free = || {
            let a = (0u32..)
                .map(Ipv4Addr::from)
                .find(|a| !taken.contains(a))
                .expect("a free address");
            taken.insert(a);
            a
        };
        let host = |name: String, role: Role, address: Ipv4Addr, services: Vec<Service>| HostConfig {
            name: span(&name),
            role,
            zone: span(ZONE),
            address: span(&address.to_string()),
            services,
            description: String::new(),
            forwarding_delay: None,
            credentials: Vec::new(),
            declared: true,
        };
        let mut hosts: Vec<HostConfig> = self
            .order
            .iter()
            .zip(&self.plc)
            .map(|(a, &plc)| {
                if let Some(h) = declared.get(a) {
                    let mut h = (*h).clone();
                    h.forwarding_delay = None;
                    h
                } else if plc {
                    host(a.to_string(), Role::Plc, *a, vec![Service::Modbus])
                } else {
                    host(a.to_string(), Role::Workstation, *a, Vec::new())
                }
            })
            .collect();
        let other = if self.folded.is_empty() {
            None
        } else {
            hosts.push(host(OTHER_NAME.into(), Role::Workstation, free(), Vec::new()));
            Some(HostId(hosts.len() as u32 - 1))
        };
        // What `id` promised while the table grew.
        debug_assert!(other.is_none_or(|o| o.0 as usize == MAX_HOSTS));
        hosts.push(host(TAP_NAME.into(), Role::Switch, free(), Vec::new()));
        let tap = HostId(hosts.len() as u32 - 1);
        let seen: BTreeSet<&Ipv4Addr> = self.order.iter().collect();
        for (a, h) in &declared {
            if !seen.contains(a) {
                let mut h = (*h).clone();
                h.forwarding_delay = None;
                hosts.push(h);
            }
        }
        let mut zones: Vec<ZoneConfig> = plant.map(|p| p.zones.clone()).unwrap_or_default();
        if !zones.iter().any(|z| z.name.get_ref() == ZONE) {
            zones.push(ZoneConfig {
                name: span(ZONE),
                level: PurdueLevel::L3,
                description: "hosts seen in a capture file".into(),
            });
        }
        let topology =
            Topology::build(&zones, &hosts, &[]).map_err(|e| CaptureError::Topology(e.to_string()))?;
        Ok(CaptureHosts {
            topology,
            tap,
            other,
            folded: self.folded.len(),
        })
    }

    /// Host counts for the report, by role name.
    pub fn roles(&self) -> BTreeMap<&'static str, usize> {
        let mut m = BTreeMap::new();
        for &plc in &self.plc {
            let r = if plc { "plc" } else { "workstation" };
            *m.entry(r).or_insert(0) += 1;
        }
        m
    }
}
