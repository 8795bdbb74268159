//! The plant's network as built from its plan: zones on the Purdue model, hosts with roles
//! and addresses, links, and the routes between any two hosts through switches, routers
//! and firewalls. Next-hop tables are computed once at build time; a route is walked through
//! them (the network keeps the paths its frames take, so sending a frame costs a lookup).

use crate::base::config_error::ConfigError;
use crate::base::time::{DurationField, SimDuration};
use crate::base::units::parse_bandwidth;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use toml::Spanned;

/// Index of a host in the topology; stable for a given plant file.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct HostId(pub u32);

/// Index of a zone in the topology.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ZoneId(pub u32);

/// Index of a link in the topology.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct LinkId(pub u32);

/// Purdue Enterprise Reference Architecture level of a zone, which segmentation policies
/// reason about ("nothing direct from L4 to L1").
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PurdueLevel {
    /// Physical process: sensors and actuators.
    L0,
    /// Basic control: PLCs, safety controllers.
    L1,
    /// Supervisory control: HMIs, local engineering.
    L2,
    /// Site operations: historian, site servers.
    L3,
    /// The industrial DMZ between IT and OT ("level 3.5").
    #[serde(rename = "DMZ")]
    Dmz,
    /// Business logistics: enterprise IT.
    L4,
    /// Enterprise network and internet edge.
    L5,
}

/// What a host is; devices, policies and attackers dispatch on it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// A programmable logic controller; a `[[plc]]` makes it a Modbus server with a scan cycle.
    Plc,
    /// An operator screen; an `[[hmi]]` makes it poll PLCs and show alarms.
    Hmi,
    /// Stores process history; a `[[historian]]` makes it poll and keep samples.
    Historian,
    /// Where engineers program and maintain PLCs (`[[engineering_workstation]]`).
    EngineeringWorkstation,
    /// A user's PC: an IT end point.
    Workstation,
    /// An IT server (files, domain, web, ...): an end point that answers services.
    Server,
    /// A host administrators pass through to reach another zone.
    JumpHost,
    /// The entry point for remote users and vendors (VPN, remote desktop).
    RemoteAccessGateway,
    /// Forwards frames, and is an enforcement point of the policy.
    Router,
    /// Forwards frames, and is an enforcement point of the policy.
    Firewall,
    /// Forwards frames; never an enforcement point (inline detectors may sit there).
    Switch,
    /// A remote I/O module in the field; a `[[remote_io]]` makes it exchange process data
    /// with its PLC over TSN streams.
    RemoteIo,
}

impl Role {
    /// Only network devices forward frames; every other host is an end point.
    pub fn forwards(self) -> bool {
        matches!(self, Role::Router | Role::Firewall | Role::Switch)
    }
    /// Routers and firewalls are where a segmentation policy is enforced.
    pub fn enforces(self) -> bool {
        matches!(self, Role::Router | Role::Firewall)
    }
    /// The role as plant files write it (`plc`, `engineering-workstation`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Plc => "plc",
            Role::RemoteIo => "remote-io",
            Role::Hmi => "hmi",
            Role::Historian => "historian",
            Role::EngineeringWorkstation => "engineering-workstation",
            Role::Workstation => "workstation",
            Role::Server => "server",
            Role::JumpHost => "jump-host",
            Role::RemoteAccessGateway => "remote-access-gateway",
            Role::Router => "router",
            Role::Firewall => "firewall",
            Role::Switch => "switch",
        }
    }
}

/// Application services a host offers; each has its well-known port.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Service {
    /// Modbus TCP, port 502: the one service whose frames carry real bytes.
    Modbus,
    /// Remote desktop, TCP 3389.
    Rdp,
    /// Windows file sharing, TCP 445.
    Smb,
    /// Plain web, TCP 80.
    Http,
    /// Web over TLS, TCP 443.
    Https,
    /// Secure shell, TCP 22.
    Ssh,
    /// Name lookups, UDP 53 (the only UDP service).
    Dns,
    /// Domain logons, TCP 88.
    Kerberos,
    /// Directory queries, TCP 389.
    Ldap,
    /// Windows remote management, TCP 5985.
    Winrm,
    /// Remote-access VPN, TCP 1194.
    Vpn,
    /// Historian data access, TCP 5450 (OSIsoft PI's port).
    Historian,
    /// Raw layer-2 frames (TSN streams' cyclic data, a layer-2 flood): no IP, so they
    /// never cross a router or firewall and no IP filter sees them. No host offers it and
    /// no policy names it, so files cannot spell it.
    #[serde(skip_deserializing)]
    Ethernet,
}

/// Layer-4 protocol of a service.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// Connections: captures show handshakes, acknowledgements and teardowns.
    Tcp,
    /// Datagrams, no connection state.
    Udp,
    /// No IP at all: frames of an Ethernet type of their own within one layer-2 network.
    Ethernet,
}

impl Service {
    /// Every service, in declaration order: `ALL[s as usize] == s`.
    pub const ALL: [Service; 13] = [
        Service::Modbus,
        Service::Rdp,
        Service::Smb,
        Service::Http,
        Service::Https,
        Service::Ssh,
        Service::Dns,
        Service::Kerberos,
        Service::Ldap,
        Service::Winrm,
        Service::Vpn,
        Service::Historian,
        Service::Ethernet,
    ];

    /// IANA well-known ports (Modbus 502 per the Modbus TCP spec; the historian port is
    /// OSIsoft PI's 5450, a common choice in the field).
    pub fn port(self) -> u16 {
        match self {
            Service::Modbus => 502,
            Service::Rdp => 3389,
            Service::Smb => 445,
            Service::Http => 80,
            Service::Https => 443,
            Service::Ssh => 22,
            Service::Dns => 53,
            Service::Kerberos => 88,
            Service::Ldap => 389,
            Service::Winrm => 5985,
            Service::Vpn => 1194,
            Service::Historian => 5450,
            Service::Ethernet => 0,
        }
    }
    /// UDP for DNS, none for layer-2 frames, TCP for every other service.
    pub fn transport(self) -> Transport {
        match self {
            Service::Dns => Transport::Udp,
            Service::Ethernet => Transport::Ethernet,
            _ => Transport::Tcp,
        }
    }
    /// The service as plant files and the event log write it (`modbus`, `rdp`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Modbus => "modbus",
            Service::Rdp => "rdp",
            Service::Smb => "smb",
            Service::Http => "http",
            Service::Https => "https",
            Service::Ssh => "ssh",
            Service::Dns => "dns",
            Service::Kerberos => "kerberos",
            Service::Ldap => "ldap",
            Service::Winrm => "winrm",
            Service::Vpn => "vpn",
            Service::Historian => "historian",
            Service::Ethernet => "ethernet",
        }
    }
}

/// `[[zone]]` in a plant file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneConfig {
    /// Unique among zones; hosts name their zone by it.
    pub name: Spanned<String>,
    /// Its Purdue level, which policies reason about.
    pub level: PurdueLevel,
    /// Free text for people; the simulation ignores it.
    #[serde(default)]
    pub description: String,
}

/// `[[host]]` in a plant file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostConfig {
    /// Unique, non-empty, no spaces; everything else refers to the host by it.
    pub name: Spanned<String>,
    /// What the host is: which devices it may carry, whether it forwards or enforces.
    pub role: Role,
    /// The name of a declared zone.
    pub zone: Spanned<String>,
    /// Its IPv4 address as a dotted quad, unique in the plant.
    pub address: Spanned<String>,
    /// What it serves, each on its well-known port; any but Modbus makes it answer IT flows.
    #[serde(default)]
    pub services: Vec<Service>,
    /// Free text for people; the simulation ignores it.
    #[serde(default)]
    pub description: String,
    /// Delay a frame spends inside a forwarding device (store-and-forward lookup).
    #[serde(default)]
    pub forwarding_delay: Option<Spanned<DurationField>>,
    /// Credentials held or accepted by the host (user names only matter to attackers).
    #[serde(default)]
    pub credentials: Vec<CredentialConfig>,
    /// Whether the owner's asset register lists this host (default yes). Attackers' machines,
    /// rogue and forgotten devices are not: passive asset discovery flags them as unknown.
    #[serde(default = "yes")]
    pub declared: bool,
}

fn yes() -> bool {
    true
}

/// A credential a host accepts, for attackers' lateral movement.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialConfig {
    /// The user name an attacker's login must present.
    pub user: String,
    /// Whether it is a vendor default (ATT&CK T0812 Default Credentials).
    #[serde(default)]
    pub default: bool,
}

/// `[[link]]` in a plant file: a full-duplex cable between two hosts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkConfig {
    /// One end: a host's name.
    pub a: Spanned<String>,
    /// The other end: another host's name.
    pub b: Spanned<String>,
    /// Each direction's bandwidth, e.g. "100Mbps" (the default), "1Gbps", "9600bps".
    #[serde(default = "default_bandwidth")]
    pub bandwidth: Spanned<String>,
    /// Propagation delay (default 1 us).
    #[serde(default = "default_latency")]
    pub latency: Spanned<DurationField>,
}

fn default_bandwidth() -> Spanned<String> {
    Spanned::new(0..0, "100Mbps".to_string())
}
fn default_latency() -> Spanned<DurationField> {
    Spanned::new(0..0, DurationField::default_of("1us"))
}

/// A zone as built.
#[derive(Debug, Clone, Serialize)]
pub struct Zone {
    /// Its index in [`Topology::zones`].
    pub id: ZoneId,
    /// Its name in the plant file.
    pub name: String,
    /// Its Purdue level.
    pub level: PurdueLevel,
}

/// A host as built.
#[derive(Debug, Clone, Serialize)]
pub struct Host {
    /// Its index in [`Topology::hosts`].
    pub id: HostId,
    /// Its unique name.
    pub name: String,
    /// What it is.
    pub role: Role,
    /// The zone it is in.
    pub zone: ZoneId,
    /// Its address on the simulated network.
    pub address: Ipv4Addr,
    /// The services it answers, in plant file order.
    pub services: Vec<Service>,
    /// Time a frame spends inside it before going on: 5 us by default for a forwarding
    /// device, 0 for an end host.
    pub forwarding_delay: SimDuration,
    /// The credentials it accepts.
    pub credentials: Vec<CredentialConfig>,
    /// In the owner's asset register (see [`HostConfig::declared`]).
    pub declared: bool,
}

/// A link as built. Each direction has its own transmitter (full duplex).
#[derive(Debug, Clone, Serialize)]
pub struct Link {
    /// Its index in [`Topology::links`].
    pub id: LinkId,
    /// One end.
    pub a: HostId,
    /// The other end.
    pub b: HostId,
    /// Each direction's bandwidth, in bits per second.
    pub bandwidth_bps: u64,
    /// Propagation delay.
    pub latency: SimDuration,
}

/// One step of a route: leave `from` over `link` towards `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hop {
    /// The node the frame leaves.
    pub from: HostId,
    /// The node it reaches.
    pub to: HostId,
    /// The link between them.
    pub link: LinkId,
    /// Direction on the link: false = a to b, true = b to a. Each has its own queue.
    pub reverse: bool,
}

/// The plant network, ready for the simulation.
#[derive(Debug, Clone)]
pub struct Topology {
    /// Every zone, in plant file order ([`ZoneId`] indexes it).
    pub zones: Vec<Zone>,
    /// Every host, in plant file order ([`HostId`] indexes it).
    pub hosts: Vec<Host>,
    /// Every link, in plant file order ([`LinkId`] indexes it).
    pub links: Vec<Link>,
    by_name: BTreeMap<String, HostId>,
    by_address: BTreeMap<Ipv4Addr, HostId>,
    /// Next-hop tables (`net::routes`).
    routes: super::routes::Routes,
}

impl Topology {
    /// Builds and checks zones, hosts and links, and computes every route.
    pub fn build(
        zones: &[ZoneConfig],
        hosts: &[HostConfig],
        links: &[LinkConfig],
    ) -> Result<Topology, ConfigError> {
        let mut zone_list = Vec::new();
        let mut zone_by_name = BTreeMap::new();
        for (i, z) in zones.iter().enumerate() {
            let name = z.name.get_ref().clone();
            if zone_by_name.insert(name.clone(), ZoneId(i as u32)).is_some() {
                return Err(ConfigError::new(
                    format!("zone[{i}].name"),
                    Some(z.name.span()),
                    format!("duplicate zone name {name:?}: zone names must be unique"),
                ));
            }
            zone_list.push(Zone {
                id: ZoneId(i as u32),
                name,
                level: z.level,
            });
        }
        let mut host_list = Vec::new();
        let mut by_name = BTreeMap::new();
        let mut by_address = BTreeMap::new();
        for (i, h) in hosts.iter().enumerate() {
            let id = HostId(i as u32);
            let name = h.name.get_ref().clone();
            if name.is_empty() || name.contains(char::is_whitespace) {
                return Err(ConfigError::new(
                    format!("host[{i}].name"),
                    Some(h.name.span()),
                    "a host name must be non-empty and contain no spaces",
                ));
            }
            if by_name.insert(name.clone(), id).is_some() {
                return Err(ConfigError::new(
                    format!("host[{i}].name"),
                    Some(h.name.span()),
                    format!("duplicate host name {name:?}: host names must be unique"),
                ));
            }
            let zone = *zone_by_name.get(h.zone.get_ref()).ok_or_else(|| {
                ConfigError::new(
                    format!("host[{i}].zone"),
                    Some(h.zone.span()),
                    format!(
                        "unknown zone {:?}; declared zones: {}",
                        h.zone.get_ref(),
                        zone_by_name.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                )
            })?;
            let address: Ipv4Addr = h.address.get_ref().parse().map_err(|_| {
                ConfigError::new(
                    format!("host[{i}].address"),
                    Some(h.address.span()),
                    format!(
                        "invalid IPv4 address {:?}: expected dotted quad such as \"10.10.1.21\"",
                        h.address.get_ref()
                    ),
                )
            })?;
            if let Some(prev) = by_address.insert(address, id) {
                return Err(ConfigError::new(
                    format!("host[{i}].address"),
                    Some(h.address.span()),
                    format!(
                        "address {address} is already used by host {:?}",
                        host_list
                            .get(prev.0 as usize)
                            .map_or("?", |p: &Host| p.name.as_str())
                    ),
                ));
            }
            let forwarding_delay = match &h.forwarding_delay {
                Some(d) => d.get_ref().value,
                None if h.role.forwards() => SimDuration::from_micros(5),
                None => SimDuration::ZERO,
            };
            host_list.push(Host {
                id,
                name,
                role: h.role,
                zone,
                address,
                services: h.services.clone(),
                forwarding_delay,
                credentials: h.credentials.clone(),
                declared: h.declared,
            });
        }
        let mut link_list = Vec::new();
        for (i, l) in links.iter().enumerate() {
            let end = |s: &Spanned<String>, f: &str| {
                by_name.get(s.get_ref()).copied().ok_or_else(|| {
                    ConfigError::new(
                        format!("link[{i}].{f}"),
                        Some(s.span()),
                        format!("unknown host {:?}: a link joins two declared hosts", s.get_ref()),
                    )
                })
            };
            let a = end(&l.a, "a")?;
            let b = end(&l.b, "b")?;
            if a == b {
                return Err(ConfigError::new(
                    format!("link[{i}].b"),
                    Some(l.b.span()),
                    "a link must join two different hosts",
                ));
            }
            let bandwidth_bps = parse_bandwidth(l.bandwidth.get_ref())
                .map_err(|m| ConfigError::new(format!("link[{i}].bandwidth"), Some(l.bandwidth.span()), m))?;
            let latency = l.latency.get_ref().value;
            link_list.push(Link {
                id: LinkId(i as u32),
                a,
                b,
                bandwidth_bps,
                latency,
            });
        }
        let mut topo = Topology {
            zones: zone_list,
            hosts: host_list,
            links: link_list,
            by_name,
            by_address,
            routes: super::routes::Routes::build(&[], []),
        };
        topo.routes = super::routes::Routes::build(&topo.hosts, topo.hops());
        Ok(topo)
    }

    /// Every link as a hop in each direction, in link order: what routing starts from.
    fn hops(&self) -> Vec<Hop> {
        let mut hops = Vec::with_capacity(2 * self.links.len());
        for l in &self.links {
            hops.push(Hop {
                from: l.a,
                to: l.b,
                link: l.id,
                reverse: false,
            });
            hops.push(Hop {
                from: l.b,
                to: l.a,
                link: l.id,
                reverse: true,
            });
        }
        hops
    }

    /// The host `id` indexes; panics if it is out of range.
    pub fn host(&self, id: HostId) -> &Host {
        &self.hosts[id.0 as usize]
    }
    /// The zone host `id` is in.
    pub fn zone_of(&self, id: HostId) -> &Zone {
        &self.zones[self.host(id).zone.0 as usize]
    }
    /// The host with this name, if any.
    pub fn host_by_name(&self, name: &str) -> Option<HostId> {
        self.by_name.get(name).copied()
    }
    /// The host with this simulated address, if any.
    pub fn host_by_address(&self, addr: Ipv4Addr) -> Option<HostId> {
        self.by_address.get(&addr).copied()
    }
    /// The hops from `src` to `dst`, or None when no path exists: shortest by hop count,
    /// through forwarders only, from the forwarders' next-hop tables (`net::routes`).
    pub fn route(&self, src: HostId, dst: HostId) -> Option<std::sync::Arc<[Hop]>> {
        self.routes.path(src.0 as usize, dst.0 as usize)
    }
    /// Appends the hops of [`Topology::route`] to `path`, without the shared cache (for
    /// the network's own path table); false when no path exists.
    pub(crate) fn route_into(&self, src: HostId, dst: HostId, path: &mut Vec<Hop>) -> bool {
        self.routes.walk_into(src.0 as usize, dst.0 as usize, path)
    }
    /// Resolves a host reference in a scenario file, with an error naming the field.
    pub fn resolve(&self, name: &Spanned<String>, field: &str) -> Result<HostId, ConfigError> {
        self.host_by_name(name.get_ref()).ok_or_else(|| {
            ConfigError::new(
                field,
                Some(name.span()),
                format!(
                    "unknown host {:?}: expected the name of a [[host]]",
                    name.get_ref()
                ),
            )
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn topo(src: &str) -> Result<Topology, ConfigError> {
        #[derive(Deserialize)]
        struct F {
            zone: Vec<ZoneConfig>,
            host: Vec<HostConfig>,
            link: Vec<LinkConfig>,
        }
        let f: F = toml::from_str(src).unwrap();
        Topology::build(&f.zone, &f.host, &f.link)
    }

    pub(crate) const NET: &str = r#"
        [[zone]]
        name = "it"
        level = "L4"
        [[zone]]
        name = "ot"
        level = "L1"
        [[host]]
        name = "ws"
        role = "workstation"
        zone = "it"
        address = "10.0.4.10"
        [[host]]
        name = "fw"
        role = "firewall"
        zone = "it"
        address = "10.0.4.1"
        [[host]]
        name = "sw"
        role = "switch"
        zone = "ot"
        address = "10.0.1.2"
        [[host]]
        name = "plc"
        role = "plc"
        zone = "ot"
        address = "10.0.1.21"
        [[host]]
        name = "hmi"
        role = "hmi"
        zone = "ot"
        address = "10.0.1.30"
        [[link]]
        a = "ws"
        b = "fw"
        [[link]]
        a = "fw"
        b = "sw"
        [[link]]
        a = "sw"
        b = "plc"
        [[link]]
        a = "sw"
        b = "hmi"
        [[link]]
        a = "hmi"
        b = "ws"
    "#;

    #[test]
    fn routes_go_through_forwarders_only() {
        let t = topo(NET).unwrap();
        let ws = t.host_by_name("ws").unwrap();
        let plc = t.host_by_name("plc").unwrap();
        let path: Vec<_> = t
            .route(ws, plc)
            .unwrap()
            .iter()
            .map(|h| t.host(h.to).name.clone())
            .collect();
        // The direct ws-hmi cable does not make the HMI a router.
        assert_eq!(path, ["fw", "sw", "plc"]);
        let back = t.route(plc, ws).unwrap();
        assert_eq!(back.len(), 3);
        assert!(back[0].reverse);
    }

    fn names(t: &Topology, from: &str, to: &str) -> Option<Vec<String>> {
        let (a, b) = (t.host_by_name(from).unwrap(), t.host_by_name(to).unwrap());
        t.route(a, b)
            .map(|p| p.iter().map(|h| t.host(h.to).name.clone()).collect())
    }

    #[test]
    fn direct_cables_and_single_links_route_as_a_frame_would_go() {
        let t = topo(NET).unwrap();
        // A cable between two end hosts carries their own frames, nobody else's.
        assert_eq!(names(&t, "ws", "hmi").unwrap(), ["hmi"]);
        assert_eq!(names(&t, "hmi", "ws").unwrap(), ["ws"]);
        // A host on one link reaches everything through it.
        assert_eq!(names(&t, "plc", "hmi").unwrap(), ["sw", "hmi"]);
        assert_eq!(names(&t, "plc", "fw").unwrap(), ["sw", "fw"]);
        assert_eq!(names(&t, "sw", "ws").unwrap(), ["fw", "ws"]);
        assert_eq!(names(&t, "plc", "plc"), None);
        // Asked twice, the same path.
        assert_eq!(names(&t, "ws", "plc"), names(&t, "ws", "plc"));
    }

    #[test]
    fn an_island_is_unreachable_and_a_ring_takes_the_shortest_way() {
        let mut net = NET.to_string();
        for (name, addr) in [
            ("sw2", "10.0.1.3"),
            ("sw3", "10.0.1.4"),
            ("lone", "10.0.1.99"),
            ("plc2", "10.0.1.22"),
        ] {
            let role = if name.starts_with("sw") { "switch" } else { "plc" };
            net.push_str(&format!(
                "[[host]]\nname = \"{name}\"\nrole = \"{role}\"\nzone = \"ot\"\naddress = \"{addr}\"\n"
            ));
        }
        // sw - sw2 - sw3 - sw: a ring; plc2 hangs off sw3.
        for (a, b) in [("sw", "sw2"), ("sw2", "sw3"), ("sw3", "sw"), ("sw3", "plc2")] {
            net.push_str(&format!("[[link]]\na = \"{a}\"\nb = \"{b}\"\n"));
        }
        let t = topo(&net).unwrap();
        assert_eq!(names(&t, "plc", "lone"), None);
        assert_eq!(names(&t, "lone", "plc"), None);
        assert_eq!(names(&t, "plc", "plc2").unwrap(), ["sw", "sw3", "plc2"]);
        assert_eq!(names(&t, "plc2", "plc").unwrap(), ["sw3", "sw", "plc"]);
    }

    #[test]
    fn unknown_zone_names_field_and_span() {
        let bad = NET.replace(
            "zone = \"ot\"\n        address = \"10.0.1.21\"",
            "zone = \"otx\"\n        address = \"10.0.1.21\"",
        );
        let e = topo(&bad).unwrap_err();
        assert_eq!(e.field, "host[3].zone");
        assert!(e.message.contains("unknown zone \"otx\""), "{}", e.message);
        assert_eq!(&bad[e.span.unwrap()], "\"otx\"");
    }

    #[test]
    fn duplicate_address_is_an_error() {
        let bad = NET.replace("10.0.1.30", "10.0.1.21");
        let e = topo(&bad).unwrap_err();
        assert_eq!(e.field, "host[4].address");
        assert!(e.message.contains("already used by host \"plc\""));
    }
}
