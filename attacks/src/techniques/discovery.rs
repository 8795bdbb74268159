//! Discovery (TA0102): learning what is on the plant's networks and what each device is,
//! before anything is done to it.
//!
//! * T0846 Remote System Discovery: a sweep for Modbus servers with FC 17 Report Server ID.
//! * T0888 Remote System Information Discovery: FC 43/14 device identification and FC 17.
//! * T0842 Network Sniffing: listening on a held host's interface; it sends nothing.
//!
//! They belong together because each one only learns: none changes a device, and what the
//! Modbus ones find (the servers that answer, their vendor strings) goes into the actor's loot
//! for the steps that follow.

use super::modbus_client::{ANSWER_TIMEOUT, Book, target};
use super::{ConfigError, Executor, Outcome, Progress, StepCx, param};
use otrange_sim::base::time::SimTime;
use otrange_sim::net::topology::{HostId, Role, Topology};
use otrange_sim::net::{Delivered, Fate};
use otrange_sim::wire::modbus::{
    ResponseBody, parse_device_identification, read_device_identification, report_server_id,
};

// ── T0846 Remote System Discovery: a sweep for Modbus servers ─────────────────────────

struct Discovery {
    zone: Option<String>,
    book: Book,
    found: Vec<HostId>,
    probed: usize,
    deadline: SimTime,
}

/// T0846: `params.zone` (default: the target's zone, or every zone the actor can route
/// to) is swept with FC 17 Report Server ID, as scanners such as nmap's modbus-discover do.
pub fn build_discovery(
    _: &'static str,
    t: Option<HostId>,
    p: &toml::Table,
    topo: &Topology,
) -> Result<Box<dyn Executor>, ConfigError> {
    param::only(p, &["zone"])?;
    let zone = match (p.get("zone"), t) {
        (Some(_), _) => {
            let z = param::string(p, "zone", None)?;
            if !topo.zones.iter().any(|x| x.name == z) {
                return Err(ConfigError::unlocated(
                    "params.zone",
                    format!("unknown zone {z:?}"),
                ));
            }
            Some(z)
        }
        (None, Some(h)) => Some(topo.zone_of(h).name.clone()),
        (None, None) => None,
    };
    Ok(Box::new(Discovery {
        zone,
        book: Book::default(),
        found: Vec::new(),
        probed: 0,
        deadline: SimTime::ZERO,
    }))
}

impl Executor for Discovery {
    fn start(&mut self, cx: &mut StepCx) -> Progress {
        let me = cx.source();
        let hosts: Vec<HostId> = cx
            .topo
            .hosts
            .iter()
            .filter(|h| h.id != me && !matches!(h.role, Role::Switch | Role::Router | Role::Firewall))
            .filter(|h| {
                self.zone
                    .as_ref()
                    .is_none_or(|z| cx.topo.zone_of(h.id).name == *z)
            })
            .map(|h| h.id)
            .collect();
        for h in hosts {
            self.book.send(cx, h, 0, |tid| report_server_id(tid, 1));
            self.probed += 1;
        }
        self.deadline = cx.now + ANSWER_TIMEOUT;
        Progress::Wait(Some(self.deadline))
    }
    fn reply(&mut self, cx: &mut StepCx, d: &Delivered) -> Progress {
        if let Some((dev, _, _)) = self.book.take(d) {
            self.found.push(dev);
            cx.actor.loot.modbus_devices.insert(dev);
        }
        Progress::Wait(Some(self.deadline))
    }
    fn timer(&mut self, cx: &mut StepCx) -> Progress {
        if self.found.is_empty() {
            return Progress::Done(self.book.blocked.clone().unwrap_or(Outcome::Failed {
                reason: format!("no Modbus server answered among {} hosts probed", self.probed),
            }));
        }
        self.found.sort();
        let names: Vec<&str> = self.found.iter().map(|h| cx.name(*h)).collect();
        Progress::Done(Outcome::Succeeded {
            detail: format!(
                "{} of {} hosts answer Modbus: {}",
                names.len(),
                self.probed,
                names.join(", ")
            ),
        })
    }
    fn fate(&mut self, cx: &mut StepCx, f: &Fate) -> Progress {
        self.book.note_fate(cx, f);
        Progress::Wait(Some(self.deadline))
    }
}

// ── T0888 Remote System Information Discovery: FC 43/14 and FC 17 ─────────────────────

struct Identify {
    target: HostId,
    book: Book,
    vendor: Option<String>,
    deadline: SimTime,
}

/// T0888: asks the target for its basic device identification (FC 43/14, read code 1) and
/// its server ID (FC 17); succeeds if the identification came back, and its strings go into
/// the actor's loot. No parameters.
pub fn build_identify(
    _: &'static str,
    t: Option<HostId>,
    p: &toml::Table,
    _: &Topology,
) -> Result<Box<dyn Executor>, ConfigError> {
    param::only(p, &[])?;
    Ok(Box::new(Identify {
        target: target(t)?,
        book: Book::default(),
        vendor: None,
        deadline: SimTime::ZERO,
    }))
}

impl Executor for Identify {
    fn start(&mut self, cx: &mut StepCx) -> Progress {
        // Basic device identification (read code 1, from object 0), then the server id.
        self.book.send(cx, self.target, 43, |tid| {
            read_device_identification(tid, 1, 1, 0)
        });
        self.book
            .send(cx, self.target, 17, |tid| report_server_id(tid, 1));
        self.deadline = cx.now + ANSWER_TIMEOUT;
        Progress::Wait(Some(self.deadline))
    }
    fn reply(&mut self, cx: &mut StepCx, d: &Delivered) -> Progress {
        if let Some((dev, 43, ResponseBody::Raw(raw))) = self.book.take(d)
            && let Some(id) = parse_device_identification(&raw)
        {
            let text: Vec<String> = id
                .objects
                .iter()
                .map(|o| String::from_utf8_lossy(&o.value).into_owned())
                .collect();
            let v = text.join(" ");
            cx.actor.loot.identities.insert(dev, v.clone());
            self.vendor = Some(v);
        }
        if self.book.outstanding.is_empty() {
            return self.timer(cx);
        }
        Progress::Wait(Some(self.deadline))
    }
    fn timer(&mut self, cx: &mut StepCx) -> Progress {
        Progress::Done(match (&self.vendor, &self.book.blocked) {
            (Some(v), _) => Outcome::Succeeded {
                detail: format!("{} is {v}", cx.name(self.target)),
            },
            (None, Some(b)) => b.clone(),
            (None, None) => Outcome::Failed {
                reason: format!(
                    "{} did not identify itself (exceptions {:?})",
                    cx.name(self.target),
                    self.book.exceptions
                ),
            },
        })
    }
}

// ── T0842 Network Sniffing: passive, so only the host could tell ─────────────────────────

struct Sniff;

/// T0842: succeeds at once on the actor's source host and sends nothing, so no sensor on
/// the network can see it. No parameters; the target is ignored.
pub fn build_sniff(
    _: &'static str,
    _: Option<HostId>,
    p: &toml::Table,
    _: &Topology,
) -> Result<Box<dyn Executor>, ConfigError> {
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
