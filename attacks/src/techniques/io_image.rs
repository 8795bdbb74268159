//! A controller's I/O image over FC 90, the vendor protocol, kept whole across its
//! tactics: both steps use the PLC's I/O object sub-functions (UMAS's READ_IO_OBJECT 0x70
//! and WRITE_IO_OBJECT 0x71, after "The Secrets of Schneider UMAS", Kaspersky ICS CERT,
//! 2022).
//!
//! * T0877 I/O Image (Collection): 0x70, page by page (40 entries an answer): every input
//!   as the PLC's scan last latched it, the wired sensors' registers and any forced input,
//!   forced ones marked.
//! * T0835 Manipulate I/O Image (Inhibit Response Function): 0x71 forces an input
//!   (`params.register`, a discrete input "di:N" or an input register "ir:N", typed as in
//!   programs, e.g. "ir:2:f32"; `params.value`). From the PLC's next scan on, its program
//!   sees the forced value instead of the sensor's, until the PLC restarts: the force table
//!   real PLCs have for commissioning, used as Stuxnet fed its controllers' logic values of
//!   its own choosing. The HMI reading the register sees the forced value too.

use super::impair_process_control::typed_value;
use super::modbus_client::target;
use super::vendor_client::{Answer, Conversation, refusal};
use super::{ConfigError, Executor, Outcome, Progress, StepCx, param};
use otrange_sim::net::Delivered;
use otrange_sim::net::topology::{HostId, Topology};
use otrange_sim::plc_logic::{Area, parse_typed_address};
use otrange_sim::wire::modbus::value::ValueType;
use otrange_sim::wire::modbus::vendor::{IoPoint, parse_io_page, sub};
use std::collections::VecDeque;

struct IoImage {
    conv: Conversation,
    /// T0835: the register forced and its value, as written.
    force: Option<(String, f64)>,
    /// T0877: the entries read so far.
    read: Vec<IoPoint>,
}

/// T0877 takes no parameters; T0835 takes `register` (an input: "di:N", "ir:N", or a
/// typed input register) and `value` (0 or 1 for a discrete input; a number the type holds
/// for a register).
pub fn build(
    id: &'static str,
    t: Option<HostId>,
    p: &toml::Table,
    _: &Topology,
) -> Result<Box<dyn Executor>, ConfigError> {
    let mut queue = VecDeque::new();
    let mut force = None;
    if id == "T0877" {
        param::only(p, &[])?;
        queue.push_back((sub::READ_IO_OBJECT, vec![0, 0]));
    } else {
        param::only(p, &["register", "value"])?;
        let text = param::string(p, "register", None)?;
        let reg = parse_typed_address(&text).map_err(|m| ConfigError::unlocated("params.register", m))?;
        if reg.area.is_client_writable() {
            return Err(ConfigError::unlocated(
                "params.register",
                format!(
                    "{text} is not an input: only discrete inputs (di:) and input registers (ir:) \
                     can be forced; T0836 Modify Parameter writes coils and holding registers"
                ),
            ));
        }
        if reg.area == Area::DiscreteInput && reg.ty != ValueType::U16 {
            return Err(ConfigError::unlocated(
                "params.register",
                format!("{text}: a discrete input is a bit, it has no type"),
            ));
        }
        let v = typed_value(p, reg)?;
        if reg.area == Area::DiscreteInput && v > 1.0 {
            return Err(ConfigError::unlocated(
                "params.value",
                format!("{v}: a discrete input is 0 or 1"),
            ));
        }
        let words = reg.ty.encode(reg.order, v);
        for k in 0..reg.ty.words() {
            let mut d = vec![reg.area.read_function()];
            d.extend(reg.addr.wrapping_add(k).to_be_bytes());
            d.extend(words[usize::from(k)].to_be_bytes());
            queue.push_back((sub::WRITE_IO_OBJECT, d));
        }
        force = Some((text, v));
    }
    Ok(Box::new(IoImage {
        conv: Conversation::new(target(t)?, queue),
        force,
        read: Vec::new(),
    }))
}

impl IoImage {
    fn succeeded(&self, cx: &StepCx) -> Outcome {
        let name = cx.name(self.conv.target);
        let detail = match &self.force {
            Some((reg, v)) => format!(
                "{name} forces {reg} to {v}: its program sees that instead of the field's value \
                 until a restart"
            ),
            None => {
                let points: Vec<String> = self
                    .read
                    .iter()
                    .map(|p| {
                        let prefix = Area::from_read_function(p.area).map_or("?", |a| a.prefix());
                        let forced = if p.forced { " (forced)" } else { "" };
                        format!("{prefix}:{} = {}{forced}", p.addr, p.value)
                    })
                    .collect();
                format!("{name}'s input image: {}", points.join(", "))
            }
        };
        Outcome::Succeeded { detail }
    }
}

impl Executor for IoImage {
    fn start(&mut self, cx: &mut StepCx) -> Progress {
        self.conv
            .next(cx)
            .unwrap_or_else(|| Progress::Done(self.succeeded(cx)))
    }
    fn reply(&mut self, cx: &mut StepCx, d: &Delivered) -> Progress {
        match self.conv.answer(d) {
            None => self.conv.wait(),
            Some(Answer::Ok { sub: s, data }) => {
                if s == sub::READ_IO_OBJECT {
                    let Some((total, page)) = parse_io_page(&data) else {
                        return Progress::Done(Outcome::Failed {
                            reason: format!("{} answered a malformed input image", cx.name(self.conv.target)),
                        });
                    };
                    self.read.extend(page.iter().copied());
                    if !page.is_empty() && self.read.len() < usize::from(total) {
                        let next = (self.read.len() as u16).to_be_bytes().to_vec();
                        self.conv.queue.push_back((sub::READ_IO_OBJECT, next));
                    }
                }
                match self.conv.next(cx) {
                    Some(p) => p,
                    None => Progress::Done(self.succeeded(cx)),
                }
            }
            Some(Answer::Refused { sub: s, code }) => Progress::Done(Outcome::Failed {
                reason: format!(
                    "{} refused FC 90 0x{s:02X}: {}",
                    cx.name(self.conv.target),
                    refusal(code)
                ),
            }),
            Some(Answer::Other) => Progress::Done(self.conv.end(cx)),
        }
    }
    fn timer(&mut self, cx: &mut StepCx) -> Progress {
        Progress::Done(self.conv.end(cx))
    }
}
