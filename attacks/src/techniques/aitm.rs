//! Adversary in the middle: once an actor sits on a switched segment (T0830, by ARP
//! spoofing from a host it holds; layer 2 itself is not modelled, its effect is), frames
//! crossing that segment's switch pass through it. Later steps set what it does to them:
//! T0832 Manipulation of View replays the answers it recorded while the process was normal,
//! T0856 Spoof Reporting Message rewrites a reported value, T0803 Block Command Message and
//! T0804 Block Reporting Message swallow commands or answers. Stuxnet fed the operators
//! recorded normal values this way while it drove the centrifuges.

use super::{ConfigError, Executor, Outcome, Progress, StepCx, param};
use otrange_sim::net::topology::{HostId, Role, Topology};
use otrange_sim::net::{Action, Delivered, Frame, Hop, Middlebox, Payload, Stage};
use otrange_sim::wire::modbus::{Adu, emit_adu, set_data_u16};
use std::collections::BTreeMap;

/// The adversary in the middle: a middlebox inline at the switch, which later steps
/// reconfigure through the network (`Network::middlebox_mut`).
#[derive(Debug, Default)]
pub struct Mitm {
    /// Requests seen, by (client, server, transaction id): function, address, quantity.
    requests: BTreeMap<(HostId, HostId, u16), (u8, u16, u16)>,
    /// The last normal answer per (client, server, function, address, quantity).
    recorded: BTreeMap<(HostId, HostId, u8, u16, u16), otrange_sim::wire::modbus::AduBytes>,
    /// Servers whose answers to these clients are replaced by recorded ones (T0832).
    replay: Vec<(HostId, HostId)>,
    /// Answers from these servers to these clients are swallowed (T0804).
    block_reports: Vec<(HostId, HostId)>,
    /// Write requests from these clients to these servers are swallowed (T0803).
    block_commands: Vec<(HostId, HostId)>,
    /// (server, holding register, value) rewritten in read answers (T0856).
    spoof: Vec<(HostId, u16, u16)>,
}

fn is_write(fc: u8) -> bool {
    matches!(fc, 5 | 6 | 15 | 16 | 22 | 23)
}

impl Middlebox for Mitm {
    fn name(&self) -> &str {
        "adversary in the middle"
    }
    fn on_frame(&mut self, _hop: &Hop<'_>, frame: &mut Frame) -> Action {
        let Payload::Modbus(adu) = &mut frame.payload else {
            return Action::Pass;
        };
        let Some(view) = Adu::new_unchecked(adu) else {
            return Action::Pass;
        };
        let (tid, unit, fc) = (view.transaction_id(), view.unit_id(), view.function());
        let fields = (view.data_u16(0), view.data_u16(2));
        let st = self;
        let request = frame.dst_port == frame.service.port();
        if request {
            if st.block_commands.contains(&(frame.src, frame.dst)) && is_write(fc) {
                return Action::Drop;
            }
            if let (Some(addr), Some(qty)) = fields {
                st.requests.insert((frame.src, frame.dst, tid), (fc, addr, qty));
            }
            return Action::Pass;
        }
        // An answer: server = frame.src, client = frame.dst.
        let (server, client) = (frame.src, frame.dst);
        if st.block_reports.contains(&(server, client)) {
            return Action::Drop;
        }
        let Some((rfc, addr, qty)) = st.requests.remove(&(client, server, tid)) else {
            return Action::Pass;
        };
        if fc != rfc || !matches!(fc, 1..=4) {
            return Action::Pass;
        }
        let key = (client, server, fc, addr, qty);
        if st.replay.contains(&(server, client)) {
            if let Some(old) = st.recorded.get(&key) {
                // Keep this answer's transaction id, replay the old PDU.
                if let Some(old) = Adu::new_unchecked(old) {
                    *adu = emit_adu(tid, unit, old.pdu());
                }
            }
            return Action::Pass;
        }
        st.recorded.insert(key, adu.clone());
        if fc == 3 {
            let spoofs: Vec<(u16, u16)> = st
                .spoof
                .iter()
                .filter(|s| s.0 == server)
                .map(|s| (s.1, s.2))
                .collect();
            for (reg, value) in spoofs {
                if reg >= addr && reg < addr + qty {
                    // After the byte count, the register's word.
                    set_data_u16(adu, 1 + 2 * usize::from(reg - addr), value);
                }
            }
        }
        Action::Pass
    }
}

/// The switch a host hangs off: where an ARP spoofer gets in the middle.
fn switch_of(topo: &Topology, h: HostId) -> Option<HostId> {
    topo.links.iter().find_map(|l| {
        let other = if l.a == h {
            l.b
        } else if l.b == h {
            l.a
        } else {
            return None;
        };
        (topo.host(other).role == Role::Switch).then_some(other)
    })
}

struct Position;

/// T0830: the actor's current foothold spoofs its way into the middle of its segment.
pub fn build_position(
    _: &'static str,
    _: Option<HostId>,
    p: &toml::Table,
    _: &Topology,
) -> Result<Box<dyn Executor>, ConfigError> {
    param::only(p, &[])?;
    Ok(Box::new(Position))
}

impl Executor for Position {
    fn start(&mut self, cx: &mut StepCx) -> Progress {
        let me = cx.source();
        let Some(sw) = switch_of(cx.topo, me) else {
            return Progress::Done(Outcome::Failed {
                reason: format!("{} hangs off no switch to spoof on", cx.name(me)),
            });
        };
        if cx.actor.aitm.is_none() {
            let id = cx
                .net
                .add_middlebox(Box::new(Mitm::default()), Stage::Inline, &[sw]);
            cx.actor.aitm = Some(id);
        }
        Progress::Done(Outcome::Succeeded {
            detail: format!("{} in the middle of {}'s segment", cx.name(me), cx.name(sw)),
        })
    }
    fn reply(&mut self, _: &mut StepCx, _: &Delivered) -> Progress {
        Progress::Wait(None)
    }
    fn timer(&mut self, _: &mut StepCx) -> Progress {
        Progress::Wait(None)
    }
}

/// T0832, T0856, T0803, T0804: what the adversary in the middle does from now on.
struct Manipulate {
    technique: &'static str,
    server: HostId,
    client: Option<HostId>,
    register: u16,
    value: u16,
}

/// `target` is the PLC; `params.client` the HMI (or other client) whose traffic is
/// manipulated (T0832, T0803, T0804); T0856 takes `register` ("hr:N") and `value`.
pub fn build_manipulate(
    id: &'static str,
    t: Option<HostId>,
    p: &toml::Table,
    topo: &Topology,
) -> Result<Box<dyn Executor>, ConfigError> {
    let server =
        t.ok_or_else(|| ConfigError::unlocated("target", "this technique needs the target device"))?;
    let (client, register, value) = if id == "T0856" {
        param::only(p, &["register", "value"])?;
        let s = param::string(p, "register", None)?;
        let (area, reg) = otrange_sim::plc_logic::parse_address(&s)
            .map_err(|m| ConfigError::unlocated("params.register", m))?;
        if area != otrange_sim::plc_logic::Area::HoldingRegister {
            return Err(ConfigError::unlocated(
                "params.register",
                "spoofing rewrites holding registers (hr:N)",
            ));
        }
        (None, reg, param::u16_(p, "value", None)?)
    } else {
        param::only(p, &["client"])?;
        let c = param::string(p, "client", None)?;
        let h = topo
            .host_by_name(&c)
            .ok_or_else(|| ConfigError::unlocated("params.client", format!("unknown host {c:?}")))?;
        (Some(h), 0, 0)
    };
    Ok(Box::new(Manipulate {
        technique: id,
        server,
        client,
        register,
        value,
    }))
}

impl Executor for Manipulate {
    fn start(&mut self, cx: &mut StepCx) -> Progress {
        let Some(st) = cx.actor.aitm.and_then(|id| cx.net.middlebox_mut::<Mitm>(id)) else {
            return Progress::Done(Outcome::Failed {
                reason: "missing precondition: the actor is in no one's middle (run T0830 first)".into(),
            });
        };
        let pair = |c: Option<HostId>| (self.server, c.unwrap_or(self.server));
        let what = match self.technique {
            "T0832" => {
                st.replay.push(pair(self.client));
                "answers replaced by recorded normal ones"
            }
            "T0804" => {
                st.block_reports.push(pair(self.client));
                "answers swallowed"
            }
            "T0803" => {
                let (s, c) = pair(self.client);
                st.block_commands.push((c, s));
                "write commands swallowed"
            }
            _ => {
                st.spoof.push((self.server, self.register, self.value));
                "a reported value rewritten"
            }
        };
        let client = self
            .client
            .map_or("every client".to_string(), |c| cx.name(c).to_string());
        Progress::Done(Outcome::Succeeded {
            detail: format!(
                "{}: {what} between {} and {client}",
                self.technique,
                cx.name(self.server)
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
