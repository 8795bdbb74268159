//! Inhibit Response Function (TA0107): taking away what the plant relies on to respond to
//! trouble.
//!
//! * T0814 Denial of Service: a Modbus request flood beyond the device's capacity, or a
//!   layer-2 frame flood that fills a cell network's links and queues (tagged with a VLAN
//!   priority, it competes with a TSN cell's protected class).
//! * T0816 Device Restart/Shutdown: FC 8 restart communications, or listen-only mode. On a
//!   PLC with the vendor protocol a restart also restarts the CPU's runtime: it leaves
//!   firmware-update mode (T0800) and clears the force table (T0835).
//! * T0809 Data Destruction: ransomware encrypting a host's data, pushed over SMB.
//!
//! They belong together because none of them commands the process: each silences a controller
//! or ruins a host that the operators and the site's procedures need when something goes wrong.

use super::modbus_client::{ANSWER_TIMEOUT, Book, finish_commands, target};
use super::{ConfigError, Executor, Outcome, Progress, StepCx, TRANSFER_TIMEOUT, blocked, param};
use otrange_sim::base::time::{SimDuration, SimTime};
use otrange_sim::net::topology::{HostId, Service, Topology};
use otrange_sim::net::{Delivered, Fate};
use otrange_sim::wire::modbus::{ResponseBody, diagnostics, read_holding_registers};

// ── T0814 Denial of Service: a request flood beyond the device's capacity ─────────────

struct Flood {
    target: HostId,
    rate: u32,
    duration: SimDuration,
    end: SimTime,
    book: Book,
    busy: u64,
    next: SimTime,
    /// A layer-2 flood: frames of this payload size and priority instead of requests.
    layer2: Option<(u32, Option<u8>)>,
    frames: u64,
}

/// `params.kind`: "modbus" (default) floods the target with read requests; "layer2" with
/// raw Ethernet frames of `size` payload bytes (default 1500), tagged with VLAN priority
/// `pcp` if given (the flooder must sit in the target's layer-2 network). `rate` requests
/// or frames per second (default 2000), `duration` (default "30s").
pub fn build_flood(
    _: &'static str,
    t: Option<HostId>,
    p: &toml::Table,
    _: &Topology,
) -> Result<Box<dyn Executor>, ConfigError> {
    param::only(p, &["rate", "duration", "kind", "size", "pcp"])?;
    let kind = param::string(p, "kind", Some("modbus"))?;
    let layer2 = match kind.as_str() {
        "modbus" => {
            for k in ["size", "pcp"] {
                if p.contains_key(k) {
                    return Err(ConfigError::unlocated(
                        format!("params.{k}"),
                        "only a layer-2 flood (kind = \"layer2\") has this setting",
                    ));
                }
            }
            None
        }
        "layer2" => {
            let size = param::int(p, "size", Some(1500))?;
            if !(1..=1500).contains(&size) {
                return Err(ConfigError::unlocated(
                    "params.size",
                    "expected 1..=1500 payload bytes",
                ));
            }
            let pcp = match p.get("pcp") {
                None => None,
                Some(_) => {
                    let v = param::int(p, "pcp", None)?;
                    if !(0..=7).contains(&v) {
                        return Err(ConfigError::unlocated("params.pcp", "expected a priority 0..=7"));
                    }
                    Some(v as u8)
                }
            };
            Some((size as u32, pcp))
        }
        other => {
            return Err(ConfigError::unlocated(
                "params.kind",
                format!("{other:?}: expected \"modbus\" or \"layer2\""),
            ));
        }
    };
    let rate = param::int(p, "rate", Some(2000))?;
    if !(1..=1_000_000).contains(&rate) {
        return Err(ConfigError::unlocated(
            "params.rate",
            "expected 1..=1000000 requests or frames per second",
        ));
    }
    Ok(Box::new(Flood {
        target: target(t)?,
        rate: rate as u32,
        duration: param::duration(p, "duration", "30s")?,
        end: SimTime::ZERO,
        book: Book::default(),
        busy: 0,
        next: SimTime::ZERO,
        layer2,
        frames: 0,
    }))
}

/// Requests sent per timer call: a flood is sent in bursts of 10 ms.
const FLOOD_SLICE: SimDuration = SimDuration::from_millis(10);

impl Executor for Flood {
    fn start(&mut self, cx: &mut StepCx) -> Progress {
        self.end = cx.now + self.duration;
        self.next = cx.now;
        self.timer(cx)
    }
    fn reply(&mut self, _cx: &mut StepCx, d: &Delivered) -> Progress {
        if let Some((_, _, ResponseBody::Exception(6))) = self.book.take(d) {
            self.busy += 1;
        }
        Progress::Wait(Some(self.next))
    }
    fn timer(&mut self, cx: &mut StepCx) -> Progress {
        if let Some(b) = &self.book.blocked {
            return Progress::Done(b.clone());
        }
        if cx.now >= self.end && self.layer2.is_some() {
            return Progress::Done(Outcome::Succeeded {
                detail: format!(
                    "{} layer-2 frames in {:.0} s towards {}",
                    self.frames,
                    self.duration.as_secs_f64(),
                    cx.name(self.target)
                ),
            });
        }
        if cx.now >= self.end {
            let sent = self.book.sent_total;
            return Progress::Done(Outcome::Succeeded {
                detail: format!(
                    "{sent} requests in {:.0} s: {} answered ({} busy), {} unanswered",
                    self.duration.as_secs_f64(),
                    self.book.answers,
                    self.busy,
                    self.book.outstanding.len()
                ),
            });
        }
        let n = (f64::from(self.rate) * FLOOD_SLICE.as_secs_f64()).ceil() as u32;
        if let Some((size, pcp)) = self.layer2 {
            // Spread over the slice as a flooding tool paces its frames.
            let gap = FLOOD_SLICE.as_nanos() / u64::from(n.max(1));
            let now = cx.now;
            for k in 0..n {
                cx.now = now + SimDuration(gap * u64::from(k));
                cx.send_layer2(self.target, size, pcp);
            }
            cx.now = now;
            self.frames += u64::from(n);
            self.next = now + FLOOD_SLICE;
            return Progress::Wait(Some(self.next));
        }
        for _ in 0..n {
            self.book
                .send(cx, self.target, 0, |tid| read_holding_registers(tid, 1, 0, 10));
            self.book.sent_total += 1;
        }
        self.next = cx.now + FLOOD_SLICE;
        Progress::Wait(Some(self.next))
    }
    fn fate(&mut self, cx: &mut StepCx, f: &Fate) -> Progress {
        self.book.note_fate(cx, f);
        Progress::Wait(Some(self.next))
    }
}

// ── T0816 Device Restart/Shutdown: FC 8 restart communications or listen-only ────────

struct Restart {
    target: HostId,
    listen_only: bool,
    book: Book,
    deadline: SimTime,
}

/// `params.mode`: "restart" (FC 8/1, default) or "listen-only" (FC 8/4, after which the
/// device answers nothing until restarted).
pub fn build_restart(
    _: &'static str,
    t: Option<HostId>,
    p: &toml::Table,
    _: &Topology,
) -> Result<Box<dyn Executor>, ConfigError> {
    param::only(p, &["mode"])?;
    let mode = param::string(p, "mode", Some("restart"))?;
    let listen_only = match mode.as_str() {
        "restart" => false,
        "listen-only" => true,
        other => {
            return Err(ConfigError::unlocated(
                "params.mode",
                format!("{other:?}: expected \"restart\" or \"listen-only\""),
            ));
        }
    };
    Ok(Box::new(Restart {
        target: target(t)?,
        listen_only,
        book: Book::default(),
        deadline: SimTime::ZERO,
    }))
}

impl Executor for Restart {
    fn start(&mut self, cx: &mut StepCx) -> Progress {
        let (sub, data): (u16, [u8; 2]) = if self.listen_only {
            (4, [0, 0])
        } else {
            (1, [0, 0])
        };
        self.book
            .send(cx, self.target, 0, |tid| diagnostics(tid, 1, sub, &data));
        self.deadline = cx.now + ANSWER_TIMEOUT;
        Progress::Wait(Some(self.deadline))
    }
    fn reply(&mut self, cx: &mut StepCx, d: &Delivered) -> Progress {
        self.book.take(d);
        Progress::Done(finish_commands(
            cx,
            self.target,
            &self.book,
            "diagnostics request",
        ))
    }
    fn timer(&mut self, cx: &mut StepCx) -> Progress {
        if let Some(b) = &self.book.blocked {
            return Progress::Done(b.clone());
        }
        if self.listen_only {
            // Listen-only mode is answered by silence (spec §6.8.1, sub-function 4).
            return Progress::Done(Outcome::Succeeded {
                detail: format!("{} forced into listen-only mode", cx.name(self.target)),
            });
        }
        Progress::Done(finish_commands(
            cx,
            self.target,
            &self.book,
            "diagnostics request",
        ))
    }
    fn fate(&mut self, cx: &mut StepCx, f: &Fate) -> Progress {
        Progress::Done(blocked(cx.topo, f))
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
) -> Result<Box<dyn Executor>, ConfigError> {
    param::only(p, &[])?;
    Ok(Box::new(Encrypt {
        target: t.ok_or_else(|| ConfigError::unlocated("target", "this technique needs a target host"))?,
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
        self.deadline = cx.now + TRANSFER_TIMEOUT;
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
