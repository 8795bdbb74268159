//! Command and Control (TA0101): a foothold inside the plant calling home.
//!
//! * T0869 Standard Application Layer Protocol, T0885 Commonly Used Port: beacons from the
//!   actor's foothold to where it started, over HTTPS (port 443) unless told otherwise.
//! * T0884 Connection Proxy: the same beacons relayed through another host the actor holds.
//!
//! * With a `target`, T0869 and T0885 are the actor's own channel to a device it commands
//!   rather than a beacon home: FrostyGoop "communicates with ENCO controllers via Modbus
//!   TCP" on port 502 (ATT&CK S1165). Over `service = "modbus"` each exchange is a real
//!   Modbus request (FC 3, one holding register), so the channel looks on the wire like
//!   what it is.
//!
//! One executor for all three: they differ only in the service and the path the beacons take.

use super::{ConfigError, Executor, Outcome, Progress, StepCx, param};
use otrange_sim::base::time::{SimDuration, SimTime};
use otrange_sim::net::Delivered;
use otrange_sim::net::topology::{HostId, Service, Topology};

// ── Command and control: T0869, T0885, T0884 ──────────────────────────────────────────

struct C2 {
    service: Service,
    beacons: u32,
    interval: SimDuration,
    /// T0884: a held host that relays the beacons.
    via: Option<HostId>,
    /// A device the actor talks to directly instead of calling home.
    target: Option<HostId>,
    sent: u32,
    answered: u32,
    next: SimTime,
}

/// Beacons from the actor's foothold to where it started (its C2 server): `beacons`
/// (default 3) exchanges, `interval` apart (default "60s"), over `service` (default
/// "https", the commonly used port 443); T0884 sends them through `via`, a host the actor
/// holds, which relays them home.
pub fn build_c2(
    id: &'static str,
    target: Option<HostId>,
    p: &toml::Table,
    topo: &Topology,
) -> Result<Box<dyn Executor>, ConfigError> {
    param::only(p, &["service", "beacons", "interval", "via"])?;
    let name = param::string(p, "service", Some("https"))?;
    let service: Service = toml::Value::String(name.clone())
        .try_into()
        .map_err(|_| ConfigError::unlocated("params.service", format!("unknown service {name:?}")))?;
    let via = match (id, p.get("via")) {
        ("T0884", None) => {
            return Err(ConfigError::unlocated(
                "params.via",
                "a connection proxy needs the host that relays",
            ));
        }
        (_, Some(_)) => {
            let v = param::string(p, "via", None)?;
            Some(
                topo.host_by_name(&v)
                    .ok_or_else(|| ConfigError::unlocated("params.via", format!("unknown host {v:?}")))?,
            )
        }
        _ => None,
    };
    Ok(Box::new(C2 {
        service,
        beacons: param::int(p, "beacons", Some(3))?.clamp(1, 10_000) as u32,
        interval: param::duration(p, "interval", "60s")?,
        via,
        target: if id == "T0884" { None } else { target },
        sent: 0,
        answered: 0,
        next: SimTime::ZERO,
    }))
}

impl C2 {
    fn beacon(&mut self, cx: &mut StepCx) -> Progress {
        let home = cx.actor.footholds()[0];
        if let Some(t) = self.target {
            if self.service == Service::Modbus {
                let adu = otrange_sim::wire::modbus::read_holding_registers(self.sent as u16 + 1, 1, 0, 1);
                cx.send_modbus(t, adu);
            } else {
                cx.send_flow(t, self.service, 300, 2_000);
            }
            self.sent += 1;
            self.next = cx.now + self.interval;
            return Progress::Wait(Some(self.next));
        }
        match self.via {
            Some(relay) => {
                if !cx.actor.holds(relay) {
                    return Progress::Done(Outcome::Failed {
                        reason: format!(
                            "the actor holds no foothold on {} to relay through",
                            cx.name(relay)
                        ),
                    });
                }
                cx.send_flow(relay, self.service, 300, 2_000);
                cx.net.send(
                    cx.now,
                    relay,
                    home,
                    Service::Https,
                    otrange_sim::net::Payload::Flow {
                        bytes: 300,
                        reply_bytes: 2_000,
                    },
                    cx.label,
                );
            }
            None => cx.send_flow(home, self.service, 300, 2_000),
        }
        self.sent += 1;
        self.next = cx.now + self.interval;
        Progress::Wait(Some(self.next))
    }
}

impl Executor for C2 {
    fn start(&mut self, cx: &mut StepCx) -> Progress {
        if self.target.is_none() && cx.source() == cx.actor.footholds()[0] {
            return Progress::Done(Outcome::Failed {
                reason: "the actor holds no foothold inside the plant to call home from".into(),
            });
        }
        self.beacon(cx)
    }
    fn reply(&mut self, _: &mut StepCx, _: &Delivered) -> Progress {
        self.answered += 1;
        Progress::Wait(Some(self.next))
    }
    fn timer(&mut self, cx: &mut StepCx) -> Progress {
        if self.sent < self.beacons {
            return self.beacon(cx);
        }
        let expected = self.beacons * if self.via.is_some() { 2 } else { 1 };
        Progress::Done(if self.answered >= expected {
            Outcome::Succeeded {
                detail: match self.target {
                    Some(t) => format!(
                        "{} exchanges from {} with {} over {}",
                        self.beacons,
                        cx.name(cx.source()),
                        cx.name(t),
                        self.service.as_str()
                    ),
                    None => format!(
                        "{} beacons from {} to its C2 over {}",
                        self.beacons,
                        cx.name(cx.source()),
                        self.service.as_str()
                    ),
                },
            }
        } else {
            Outcome::Failed {
                reason: format!("{} of {expected} beacons answered", self.answered),
            }
        })
    }
}
