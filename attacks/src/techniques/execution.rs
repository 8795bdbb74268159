//! Execution (TA0104): making a controller run, or stop running, at the adversary's word.
//!
//! * T0858 Change Operating Mode (Execution, Evasion): FC 90, the vendor protocol,
//!   sub-function 0x40 run or 0x41 stop.
//!
//! The same executor serves T0868 Detect Operating Mode (Collection): the same FC 90 request
//! in its read form (0x04 read PLC info), which is how an actor checks the mode before and
//! after changing it. It is here with its primary tactic, the change.
//! T0863 User Execution is an IT exchange and lives with the other such steps in
//! [`initial_access`](super::initial_access).

use super::modbus_client::{ANSWER_TIMEOUT, Book, finish_commands, target};
use super::{ConfigError, Executor, Outcome, Progress, StepCx, param};
use otrange_sim::base::time::SimTime;
use otrange_sim::net::Delivered;
use otrange_sim::net::topology::{HostId, Topology};
use otrange_sim::wire::modbus::{ResponseBody, custom_request};

// ── FC 90, the vendor protocol: T0868 Detect Operating Mode, T0858 Change Operating Mode ──

struct Vendor {
    target: HostId,
    /// Sub-function: 0x04 read PLC info, 0x40 start, 0x41 stop.
    sub: u8,
    book: Book,
    result: Option<Vec<u8>>,
    deadline: SimTime,
}

/// T0868 reads the PLC's state (FC 90 sub-function 0x04); T0858 takes `params.mode`,
/// "stop" (0x41, the default) or "run" (0x40).
pub fn build_vendor(
    id: &'static str,
    t: Option<HostId>,
    p: &toml::Table,
    _: &Topology,
) -> Result<Box<dyn Executor>, ConfigError> {
    let sub = if id == "T0858" {
        param::only(p, &["mode"])?;
        match param::string(p, "mode", Some("stop"))?.as_str() {
            "stop" => 0x41,
            "run" => 0x40,
            other => {
                return Err(ConfigError::unlocated(
                    "params.mode",
                    format!("{other:?}: expected \"stop\" or \"run\""),
                ));
            }
        }
    } else {
        param::only(p, &[])?;
        0x04
    };
    Ok(Box::new(Vendor {
        target: target(t)?,
        sub,
        book: Book::default(),
        result: None,
        deadline: SimTime::ZERO,
    }))
}

impl Executor for Vendor {
    fn start(&mut self, cx: &mut StepCx) -> Progress {
        let sub = self.sub;
        self.book
            .send(cx, self.target, 0, |tid| custom_request(tid, 1, 0x5A, &[0, sub]));
        self.deadline = cx.now + ANSWER_TIMEOUT;
        Progress::Wait(Some(self.deadline))
    }
    fn reply(&mut self, cx: &mut StepCx, d: &Delivered) -> Progress {
        if let Some((_, _, ResponseBody::Raw(raw))) = self.book.take(d) {
            self.result = Some(raw);
        }
        self.timer(cx)
    }
    fn timer(&mut self, cx: &mut StepCx) -> Progress {
        let name = cx.name(self.target).to_string();
        Progress::Done(match (&self.result, &self.book.blocked) {
            // Response data after the function code: session, status, data.
            (Some(r), _) if r.get(1) == Some(&0xFE) => {
                let detail = match self.sub {
                    0x04 => {
                        let code = u16::from_be_bytes([
                            r.get(2).copied().unwrap_or(0),
                            r.get(3).copied().unwrap_or(0),
                        ]);
                        let mode = otrange_sim::plc_logic::OperatingMode::from_code(code)
                            .map_or("unknown", |m| m.as_str());
                        format!("{name} is in {mode} mode")
                    }
                    0x40 => format!("{name} told to run"),
                    _ => format!("{name} told to stop"),
                };
                Outcome::Succeeded { detail }
            }
            (Some(r), _) => Outcome::Failed {
                reason: format!("{name} refused the FC 90 request: {r:02x?}"),
            },
            (None, Some(b)) => b.clone(),
            (None, None) => finish_commands(cx, self.target, &self.book, "FC 90 request"),
        })
    }
}
