//! `[live]` in an exercise file: how the plant meets real sockets.

use crate::base::config_error::ConfigError;
use crate::base::time::{DurationField, SimDuration};
use crate::live::addr::AddressMap;
use crate::net::topology::{HostId, Topology};
use serde::Deserialize;
use toml::Spanned;

/// One address-map entry, e.g. `{ from = "198.51.100.0/24", to = "127.198.51.0/24" }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MapEntry {
    /// A plant network, `address/prefix`.
    pub from: String,
    /// The network its addresses map to, same prefix length, `address/prefix`.
    pub to: String,
}

/// When a live PLC answers a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResponseTime {
    /// At the end of the scan in progress plus the CPU's communication time, as in batch
    /// mode and on a real PLC.
    #[default]
    Modelled,
    /// At once: for load tests of the server itself.
    Zero,
}

/// The `[live]` table as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveConfig {
    /// Plant networks to loopback networks; default 10.0.0.0/8 to 127.0.0.0/8.
    #[serde(default)]
    pub address_map: Vec<MapEntry>,
    /// The plant host that a connection from an address of no simulated host is
    /// attributed to (an intruder's laptop, a vendor's session): the policy decides on its
    /// path. Without one, such connections are refused.
    pub external_host: Option<Spanned<String>>,
    /// Open connections one PLC accepts (default 64); more are refused.
    #[serde(default = "default_per_device")]
    pub max_connections_per_device: usize,
    /// Open connections all PLCs together accept (default 4096); more are refused.
    #[serde(default = "default_total")]
    pub max_connections: usize,
    /// A connection with no request for this long (wall time, default 120 s) is closed.
    #[serde(default = "default_idle")]
    pub idle_timeout: Spanned<DurationField>,
    /// When a PLC answers (default `modelled`).
    #[serde(default)]
    pub response_time: ResponseTime,
    /// How long a connection keeps checking for its client's next request after answering
    /// one, before it sleeps until the socket is readable; "0s" turns it off.
    #[serde(default = "default_busy_poll")]
    pub busy_poll: Spanned<DurationField>,
}

fn default_per_device() -> usize {
    64
}
fn default_total() -> usize {
    4096
}
fn default_idle() -> Spanned<DurationField> {
    Spanned::new(0..0, DurationField::default_of("120s"))
}
/// Half a loopback round trip under load on a 2-core machine: long enough to catch a
/// client that sends its next request at once, short enough that a client polling every
/// 100 ms costs well under 0.1 % of a core (see the README's live-mode benchmark).
fn default_busy_poll() -> Spanned<DurationField> {
    Spanned::new(0..0, DurationField::default_of("50us"))
}
/// Busy polling beyond this would only burn a core: past it, sleeping costs less.
const MAX_BUSY_POLL_NS: u64 = 10_000_000;

impl Default for LiveConfig {
    fn default() -> Self {
        LiveConfig {
            address_map: Vec::new(),
            external_host: None,
            max_connections_per_device: default_per_device(),
            max_connections: default_total(),
            idle_timeout: default_idle(),
            response_time: ResponseTime::Modelled,
            busy_poll: default_busy_poll(),
        }
    }
}

/// `[live]` checked against the plant.
#[derive(Debug, Clone)]
pub struct LiveSettings {
    /// Plant addresses to live addresses.
    pub map: AddressMap,
    /// The host a connection from an unknown address is attributed to; None refuses it.
    pub external_host: Option<HostId>,
    /// Open connections one PLC accepts, at least 1.
    pub max_connections_per_device: usize,
    /// Open connections all PLCs together accept, at least 1.
    pub max_connections: usize,
    /// Wall time a connection may stay silent before it is closed.
    pub idle_timeout: std::time::Duration,
    /// When a PLC answers.
    pub response_time: ResponseTime,
    /// Wall time a connection spins for its next request before sleeping; at most 10 ms.
    pub busy_poll: std::time::Duration,
}

impl LiveConfig {
    /// Checks the table against the plant; errors name the field under `live.`.
    pub fn resolve(&self, topo: &Topology) -> Result<LiveSettings, ConfigError> {
        let map = if self.address_map.is_empty() {
            AddressMap::default()
        } else {
            let pairs: Vec<_> = self
                .address_map
                .iter()
                .map(|e| (e.from.clone(), e.to.clone()))
                .collect();
            AddressMap::new(&pairs).map_err(|m| ConfigError::new("live.address_map", None, m))?
        };
        let external_host = match &self.external_host {
            Some(h) => Some(topo.resolve(h, "live.external_host")?),
            None => None,
        };
        let idle: SimDuration = self.idle_timeout.get_ref().value;
        let busy: SimDuration = self.busy_poll.get_ref().value;
        if busy.as_nanos() > MAX_BUSY_POLL_NS {
            return Err(ConfigError::new(
                "live.busy_poll",
                Some(self.busy_poll.span()),
                format!(
                    "{:?} is too long: at most 10ms (a longer spin only burns a core)",
                    self.busy_poll.get_ref().text
                ),
            ));
        }
        for (field, v) in [
            ("live.max_connections_per_device", self.max_connections_per_device),
            ("live.max_connections", self.max_connections),
        ] {
            if v == 0 {
                return Err(ConfigError::new(field, None, "expected at least 1"));
            }
        }
        Ok(LiveSettings {
            map,
            external_host,
            max_connections_per_device: self.max_connections_per_device,
            max_connections: self.max_connections,
            idle_timeout: std::time::Duration::from_nanos(idle.as_nanos()),
            response_time: self.response_time,
            busy_poll: std::time::Duration::from_nanos(busy.as_nanos()),
        })
    }
}
