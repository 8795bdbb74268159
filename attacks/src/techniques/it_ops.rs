//! IT-side collection: pulling data from the historian or a file share (T0811 Data from
//! Information Repositories, T0882 Theft of Operational Information) is one large
//! exchange from the actor's foothold; T0842 Network Sniffing is passive and sends
//! nothing, so it is a step a detector can only see on the host.

use super::{Executor, Outcome, ParamError, Progress, StepCx, param};
use otrange_sim::net::Delivered;
use otrange_sim::time::{SimDuration, SimTime};
use otrange_sim::topology::{HostId, Service, Topology};

const TIMEOUT: SimDuration = SimDuration::from_secs(60);

struct Pull {
    target: HostId,
    service: Service,
    bytes: u32,
    deadline: SimTime,
}

/// `params.service` (default "historian"), `bytes` pulled (default 5 MB).
pub fn build(
    _: &'static str,
    t: Option<HostId>,
    p: &toml::Table,
    topo: &Topology,
) -> Result<Box<dyn Executor>, ParamError> {
    param::only(p, &["service", "bytes"])?;
    let target = t.ok_or_else(|| ParamError::new("target", "this technique needs a target host"))?;
    let name = param::string(p, "service", Some("historian"))?;
    let service: Service = toml::Value::String(name.clone())
        .try_into()
        .map_err(|_| ParamError::new("params.service", format!("unknown service {name:?}")))?;
    if !topo.host(target).services.contains(&service) {
        return Err(ParamError::new(
            "params.service",
            format!("{} offers no {name} service", topo.host(target).name),
        ));
    }
    let bytes = param::int(p, "bytes", Some(5_000_000))?;
    Ok(Box::new(Pull {
        target,
        service,
        bytes: u32::try_from(bytes).map_err(|_| ParamError::new("params.bytes", "too large"))?,
        deadline: SimTime::ZERO,
    }))
}

impl Executor for Pull {
    fn start(&mut self, cx: &mut StepCx) -> Progress {
        cx.send_flow(self.target, self.service, 600, self.bytes);
        self.deadline = cx.now + TIMEOUT;
        Progress::Wait(Some(self.deadline))
    }
    fn reply(&mut self, cx: &mut StepCx, _d: &Delivered) -> Progress {
        Progress::Done(Outcome::Succeeded {
            detail: format!(
                "{} bytes of {} data from {}",
                self.bytes,
                self.service.as_str(),
                cx.name(self.target)
            ),
        })
    }
    fn timer(&mut self, cx: &mut StepCx) -> Progress {
        Progress::Done(Outcome::Failed {
            reason: format!("no answer from {}", cx.name(self.target)),
        })
    }
}

struct Sniff;

pub fn build_sniff(
    _: &'static str,
    _: Option<HostId>,
    p: &toml::Table,
    _: &Topology,
) -> Result<Box<dyn Executor>, ParamError> {
    param::only(p, &[])?;
    Ok(Box::new(Sniff))
}

impl Executor for Sniff {
    fn start(&mut self, cx: &mut StepCx) -> Progress {
        Progress::Done(Outcome::Succeeded {
            detail: format!(
                "listening on {}'s interface (passive: no frames)",
                cx.name(cx.source())
            ),
        })
    }
    fn reply(&mut self, _: &mut StepCx, _: &Delivered) -> Progress {
        Progress::Wait(None)
    }
    fn timer(&mut self, _: &mut StepCx) -> Progress {
        Progress::Wait(None)
    }
}

// ── Command and control: T0869, T0885, T0884 ──────────────────────────────────────────

struct C2 {
    service: Service,
    beacons: u32,
    interval: SimDuration,
    /// T0884: a held host that relays the beacons.
    via: Option<HostId>,
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
    _: Option<HostId>,
    p: &toml::Table,
    topo: &Topology,
) -> Result<Box<dyn Executor>, ParamError> {
    param::only(p, &["service", "beacons", "interval", "via"])?;
    let name = param::string(p, "service", Some("https"))?;
    let service: Service = toml::Value::String(name.clone())
        .try_into()
        .map_err(|_| ParamError::new("params.service", format!("unknown service {name:?}")))?;
    let via = match (id, p.get("via")) {
        ("T0884", None) => {
            return Err(ParamError::new(
                "params.via",
                "a connection proxy needs the host that relays",
            ));
        }
        (_, Some(_)) => {
            let v = param::string(p, "via", None)?;
            Some(
                topo.host_by_name(&v)
                    .ok_or_else(|| ParamError::new("params.via", format!("unknown host {v:?}")))?,
            )
        }
        _ => None,
    };
    Ok(Box::new(C2 {
        service,
        beacons: param::int(p, "beacons", Some(3))?.clamp(1, 10_000) as u32,
        interval: param::duration(p, "interval", "60s")?,
        via,
        sent: 0,
        answered: 0,
        next: SimTime::ZERO,
    }))
}

impl C2 {
    fn beacon(&mut self, cx: &mut StepCx) -> Progress {
        let home = cx.actor.footholds()[0];
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
        if cx.source() == cx.actor.footholds()[0] {
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
                detail: format!(
                    "{} beacons from {} to its C2 over {}",
                    self.beacons,
                    cx.name(cx.source()),
                    self.service.as_str()
                ),
            }
        } else {
            Outcome::Failed {
                reason: format!("{} of {expected} beacons answered", self.answered),
            }
        })
    }
}

// ── T0809 Data Destruction: ransomware encrypting a host's data ────────────────────────

struct Encrypt {
    target: HostId,
    deadline: SimTime,
}

/// The actor's foothold pushes the encryptor over SMB and the target's data is encrypted:
/// the host is marked so (other systems and the site's procedures react), and its IT
/// services keep answering only as far as the model goes (the effect that matters is the
/// operators' response).
pub fn build_encrypt(
    _: &'static str,
    t: Option<HostId>,
    p: &toml::Table,
    _: &Topology,
) -> Result<Box<dyn Executor>, ParamError> {
    param::only(p, &[])?;
    Ok(Box::new(Encrypt {
        target: t.ok_or_else(|| ParamError::new("target", "this technique needs a target host"))?,
        deadline: SimTime::ZERO,
    }))
}

impl Executor for Encrypt {
    fn start(&mut self, cx: &mut StepCx) -> Progress {
        if cx.source() == self.target {
            // Already on the host: the encryptor runs locally, nothing on the wire.
            cx.health.encrypt(self.target);
            return Progress::Done(Outcome::Succeeded {
                detail: format!("{}'s data encrypted (locally)", cx.name(self.target)),
            });
        }
        if !cx.topo.host(self.target).services.contains(&Service::Smb) {
            return Progress::Done(Outcome::Failed {
                reason: format!("{} offers no SMB share to reach", cx.name(self.target)),
            });
        }
        cx.send_flow(self.target, Service::Smb, 3_000_000, 2_000);
        self.deadline = cx.now + TIMEOUT;
        Progress::Wait(Some(self.deadline))
    }
    fn reply(&mut self, cx: &mut StepCx, _: &Delivered) -> Progress {
        cx.health.encrypt(self.target);
        Progress::Done(Outcome::Succeeded {
            detail: format!("{}'s data encrypted", cx.name(self.target)),
        })
    }
    fn timer(&mut self, cx: &mut StepCx) -> Progress {
        Progress::Done(Outcome::Failed {
            reason: format!("no answer from {}", cx.name(self.target)),
        })
    }
}
