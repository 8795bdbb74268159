//! Passive asset discovery: an inventory of the devices on the network built from their
//! traffic alone, and its comparison with the declared inventory (the owner's asset
//! register, which NIS2 and IEC 62443 ask operators to keep).
//!
//! Nothing is sent: OT networks are fragile and active scans have stopped PLCs, so OT
//! monitoring products learn assets by listening. From each frame the detector learns
//! who talks, when (first and last seen), in which role (a host that answers Modbus is a
//! server, a PLC; one that polls servers with reads is an HMI or SCADA server; one that
//! reads identities, runs diagnostics or speaks the vendor's programming function is an
//! engineering workstation; one with only IT services is an IT host), and, from the
//! answers to device identification (FC 43 / MEI 14) and report server id (FC 17) that
//! engineering tools ask for anyway, each PLC's vendor, product code and revision.
//!
//! Against the declared inventory (hosts of the plant file with `declared = true` that are
//! end hosts, not switches, routers or firewalls) it reports coverage (declared hosts heard
//! from, in percent), the declared hosts never heard (missing: silent, or behind no
//! sensor) and the hosts heard that nobody declared (unknown: an intruder, a rogue or a
//! forgotten device), each unknown host raising one alert at first sight. A PLC whose
//! identity differs from the one declared for it has been replaced, or is being
//! impersonated: one alert per host. Over a capture file there is no declared inventory:
//! the inventory alone, no coverage and no alerts.
//!
//! The plant's `declared` flags are the range's own register; a site's real one, exported
//! from its CMDB, is compared with what this detector saw by [`super::register`].

use super::register::ObservedAsset;
use super::{Alert, BuildContext, ConfigFault, Detector, DetectorConfig};
use otrange_sim::base::time::SimTime;
use otrange_sim::net::topology::{HostId, Service, Topology};
use otrange_sim::net::{Frame, Payload};
use otrange_sim::plant::PlantConfig;
use otrange_sim::wire::modbus::{Adu, FC_ENCAPSULATED_INTERFACE, parse_device_identification};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// A host heard that is not in the declared inventory.
pub const UNKNOWN_HOST: u64 = 9_300_001;
/// A device identifying itself otherwise than the plant declares.
pub const IDENTITY_MISMATCH: u64 = 9_300_002;

/// Read requests a client must send before it counts as polling (an HMI or SCADA server)
/// rather than looking once.
const POLLING_READS: u64 = 10;

/// Function codes only engineering tools send in normal operation: diagnostics, report
/// server id, encapsulated interface (device identification), and the vendor function
/// (Schneider's UMAS: programming, start and stop).
const ENGINEERING_FCS: [u8; 4] = [8, 17, 43, 90];

/// What the traffic says about one host.
#[derive(Debug, Clone)]
struct Asset {
    first_seen: SimTime,
    last_seen: SimTime,
    frames: u64,
    /// Modbus function codes sent in requests.
    fc_client: BTreeSet<u8>,
    /// Modbus function codes answered normally (not with an exception).
    fc_server: BTreeSet<u8>,
    /// Unit ids answered.
    units: BTreeSet<u8>,
    read_requests: u64,
    services_used: BTreeSet<Service>,
    services_served: BTreeSet<Service>,
    vendor: Option<String>,
    product_code: Option<String>,
    revision: Option<String>,
    product_name: Option<String>,
    /// FC 17 answer after the byte count (server id, run indicator, data), in hex.
    server_id: Option<String>,
}

impl Asset {
    fn new(now: SimTime) -> Self {
        Asset {
            first_seen: now,
            last_seen: now,
            frames: 0,
            fc_client: BTreeSet::new(),
            fc_server: BTreeSet::new(),
            units: BTreeSet::new(),
            read_requests: 0,
            services_used: BTreeSet::new(),
            services_served: BTreeSet::new(),
            vendor: None,
            product_code: None,
            revision: None,
            product_name: None,
            server_id: None,
        }
    }

    /// The role the traffic suggests, strongest evidence first.
    fn role(&self) -> &'static str {
        if !self.fc_server.is_empty() || self.services_served.contains(&Service::Modbus) {
            "modbus-server (plc)"
        } else if self.fc_client.iter().any(|fc| ENGINEERING_FCS.contains(fc)) {
            "engineering-workstation"
        } else if self.read_requests >= POLLING_READS {
            "hmi/scada"
        } else if !self.fc_client.is_empty() {
            "modbus-client"
        } else if !self.services_used.is_empty() || !self.services_served.is_empty() {
            "it-host"
        } else {
            "unknown"
        }
    }
}

/// Identity objects of an FC 43 / MEI 14 answer: (vendor, product code, revision, product
/// name), each present only if the answer carried it. `None` unless the PDU is exactly a
/// device identification answer whose object list fills it to the byte.
pub fn parse_identity(pdu: &[u8]) -> Option<[Option<String>; 4]> {
    let (&fc, raw) = pdu.split_first()?;
    if fc != FC_ENCAPSULATED_INTERFACE {
        return None;
    }
    let answer = parse_device_identification(raw)?;
    let mut out: [Option<String>; 4] = Default::default();
    for object in answer.objects {
        let slot = match object.id {
            0 => 0,
            1 => 1,
            2 => 2,
            4 => 3,
            _ => continue,
        };
        // Conforming devices answer ASCII; anything else is shown escaped, never trusted
        // as text.
        out[slot] = Some(object.value.escape_ascii().to_string());
    }
    Some(out)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The passive inventory. See the module documentation.
pub struct Inventory {
    name: String,
    topo: Arc<Topology>,
    /// Declared end hosts; `None` without a plant (a capture).
    declared: Option<BTreeSet<HostId>>,
    /// (vendor, product code) each PLC is declared with.
    identities: BTreeMap<HostId, (String, String)>,
    assets: BTreeMap<HostId, Asset>,
    reported: BTreeSet<(u64, HostId)>,
    alerts: Vec<Alert>,
}

impl Inventory {
    /// An inventory over `topo`; with a plant, compared with its declared hosts and PLC
    /// identities. Counts every frame it is given (placed at taps, [`super::DetectorTap`]
    /// shows it each frame once).
    pub fn new(name: impl Into<String>, topo: Arc<Topology>, plant: Option<&PlantConfig>) -> Self {
        let declared = plant.map(|_| {
            topo.hosts
                .iter()
                .filter(|h| h.declared && !h.role.forwards())
                .map(|h| h.id)
                .collect()
        });
        let identities = plant
            .map(|p| {
                p.plcs
                    .iter()
                    .filter_map(|c| {
                        let id = topo.host_by_name(c.host.get_ref())?;
                        let i = &c.modbus.identity;
                        Some((id, (i.vendor.clone(), i.product_code.clone())))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Inventory {
            name: name.into(),
            topo,
            declared,
            identities,
            assets: BTreeMap::new(),
            reported: BTreeSet::new(),
            alerts: Vec::new(),
        }
    }

    /// From a `[[detector]]` entry; the inventory kind has no settings.
    pub fn from_config(cfg: &DetectorConfig, cx: &BuildContext) -> Result<Self, ConfigFault> {
        cfg.only(&[])?;
        Ok(Inventory::new(cfg.name.clone(), Arc::clone(cx.topo), cx.plant))
    }

    /// Declared end hosts heard from, in percent; `None` without a declared inventory.
    pub fn coverage(&self) -> Option<f64> {
        let declared = self.declared.as_ref()?;
        let seen = declared.iter().filter(|h| self.assets.contains_key(h)).count();
        Some(if declared.is_empty() {
            100.0
        } else {
            100.0 * seen as f64 / declared.len() as f64
        })
    }

    /// Declared end hosts never heard, by address.
    pub fn missing(&self) -> Vec<HostId> {
        let mut v: Vec<HostId> = self
            .declared
            .iter()
            .flatten()
            .filter(|h| !self.assets.contains_key(h))
            .copied()
            .collect();
        v.sort_by_key(|h| self.topo.host(*h).address);
        v
    }

    /// Hosts heard that are not declared, by address (empty without a declared inventory).
    pub fn unknown(&self) -> Vec<HostId> {
        let Some(declared) = &self.declared else {
            return Vec::new();
        };
        let mut v: Vec<HostId> = self
            .assets
            .keys()
            .filter(|h| !declared.contains(h) && !self.topo.host(**h).role.forwards())
            .copied()
            .collect();
        v.sort_by_key(|h| self.topo.host(*h).address);
        v
    }

    /// The hosts heard, by address, with the identity they reported: what
    /// [`super::register::compare`] holds an asset register against.
    pub fn observed(&self) -> Vec<ObservedAsset> {
        let mut v: Vec<ObservedAsset> = self
            .assets
            .iter()
            .map(|(h, a)| {
                let host = self.topo.host(*h);
                ObservedAsset {
                    address: host.address,
                    name: (host.name != host.address.to_string()).then(|| host.name.clone()),
                    role: a.role().to_string(),
                    vendor: a.vendor.clone(),
                    product_code: a.product_code.clone(),
                    product_name: a.product_name.clone(),
                    revision: a.revision.clone(),
                }
            })
            .collect();
        v.sort_by_key(|o| o.address);
        v
    }

    /// The inventory as JSON, one entry per host heard, by address.
    pub fn inventory(&self) -> Vec<serde_json::Value> {
        let mut hosts: Vec<(&HostId, &Asset)> = self.assets.iter().collect();
        hosts.sort_by_key(|(h, _)| self.topo.host(**h).address);
        hosts
            .into_iter()
            .map(|(h, a)| {
                let host = self.topo.host(*h);
                let address = host.address.to_string();
                // Over a capture, hosts are named by their address: no name to add.
                let name = (host.name != address).then(|| host.name.clone());
                serde_json::json!({
                    "address": address,
                    "name": name,
                    "declared": self.declared.as_ref().map(|d| d.contains(h)),
                    "role": a.role(),
                    "first_seen_s": a.first_seen.as_secs_f64(),
                    "last_seen_s": a.last_seen.as_secs_f64(),
                    "frames": a.frames,
                    "vendor": a.vendor,
                    "product_code": a.product_code,
                    "revision": a.revision,
                    "product_name": a.product_name,
                    "server_id": a.server_id,
                    "unit_ids": a.units,
                    "function_codes_as_client": a.fc_client,
                    "function_codes_as_server": a.fc_server,
                    "services_used": a.services_used.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
                    "services_served": a.services_served.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
                })
            })
            .collect()
    }

    fn raise(&mut self, frame: &Frame, now: SimTime, sid: u64, host: HostId, text: String) {
        if self.reported.insert((sid, host)) {
            let mut a = Alert::on(frame, now, &self.name, sid, text);
            a.severity = 1;
            self.alerts.push(a);
        }
    }

    /// What a Modbus frame tells about its sender (`a` is the sender's entry).
    fn modbus(&mut self, frame: &Frame, bytes: &[u8], request: bool, now: SimTime) {
        let Some(adu) = Adu::first_in(bytes) else {
            return;
        };
        let (unit, fc) = (adu.unit_id(), adu.function());
        let Some(a) = self.assets.get_mut(&frame.src) else {
            return;
        };
        if request {
            a.fc_client.insert(fc);
            if matches!(fc, 1..=4) {
                a.read_requests += 1;
            }
            return;
        }
        if fc & 0x80 != 0 {
            return;
        }
        a.fc_server.insert(fc);
        a.units.insert(unit);
        let pdu = adu.pdu();
        match fc {
            0x2B => {
                let Some([vendor, product, revision, name]) = parse_identity(pdu) else {
                    return;
                };
                let fields = [
                    (&mut a.vendor, vendor),
                    (&mut a.product_code, product),
                    (&mut a.revision, revision),
                    (&mut a.product_name, name),
                ];
                for (slot, v) in fields {
                    if v.is_some() {
                        *slot = v;
                    }
                }
                let (seen_vendor, seen_product) = (a.vendor.clone(), a.product_code.clone());
                if let Some((vendor, product)) = self.identities.get(&frame.src) {
                    let differs = |seen: &Option<String>, declared: &String| {
                        seen.as_ref().is_some_and(|s| s != declared)
                    };
                    if differs(&seen_vendor, vendor) || differs(&seen_product, product) {
                        let text = format!(
                            "{} identifies as {} {}, declared {vendor} {product}",
                            self.topo.host(frame.src).name,
                            seen_vendor.as_deref().unwrap_or("?"),
                            seen_product.as_deref().unwrap_or("?"),
                        );
                        self.raise(frame, now, IDENTITY_MISMATCH, frame.src, text);
                    }
                }
            }
            0x11 => {
                // Byte count, then server id, run indicator and device-specific data.
                if let Some((&bc, rest)) = pdu[1..].split_first()
                    && bc >= 2
                    && usize::from(bc) == rest.len()
                {
                    a.server_id = Some(hex(rest));
                }
            }
            _ => {}
        }
    }
}

impl Detector for Inventory {
    fn name(&self) -> &str {
        &self.name
    }

    fn observe(&mut self, _node: HostId, frame: &Frame, now: SimTime, _topo: &Topology) {
        let port = frame.service.port();
        let request = frame.dst_port == port;
        let a = self.assets.entry(frame.src).or_insert_with(|| Asset::new(now));
        let first = a.frames == 0;
        a.frames += 1;
        a.last_seen = now;
        if request {
            a.services_used.insert(frame.service);
        } else if frame.src_port == port {
            a.services_served.insert(frame.service);
        }
        if first
            && let Some(declared) = &self.declared
            && !declared.contains(&frame.src)
            && !self.topo.host(frame.src).role.forwards()
        {
            let h = self.topo.host(frame.src);
            let text = format!(
                "unknown device {} ({}) not in the asset register",
                h.name, h.address
            );
            self.raise(frame, now, UNKNOWN_HOST, frame.src, text);
        }
        if let Payload::Modbus(bytes) = &frame.payload
            && (request || frame.src_port == port)
        {
            self.modbus(frame, bytes, request, now);
        }
    }

    fn alerts(&self) -> &[Alert] {
        &self.alerts
    }

    fn summary(&self) -> serde_json::Value {
        let names =
            |v: Vec<HostId>| -> Vec<String> { v.iter().map(|h| self.topo.host(*h).name.clone()).collect() };
        let declared = self.declared.as_ref();
        serde_json::json!({
            "inventory": self.inventory(),
            "coverage_percent": self.coverage(),
            "declared": declared.map(|d| d.len()),
            "seen": self.assets.len(),
            "seen_declared": declared.map(|d| d.iter().filter(|h| self.assets.contains_key(h)).count()),
            "missing": declared.map(|_| names(self.missing())),
            "unknown": declared.map(|_| names(self.unknown())),
            "alerts": self.alerts.len(),
        })
    }
}
