//! Lateral Movement (TA0109) into a controller: a program downloaded over FC 90, the vendor
//! protocol, in 200-byte blocks; the PLC installs it at its next scan if it compiles.
//!
//! * T0843 Program Download.
//!
//! The same executor serves T0889 Modify Program (Persistence), which is the same download
//! of a changed program, replacing the running one (every block starts afresh), T0845
//! Program Upload (Collection), the transfer the other way, and T0821 Modify Controller
//! Tasking (Execution): an upload of the running program's listing, as engineering software
//! does before an online change, then a download whose initialise carries the append byte:
//! the PLC adds the blocks as a new task that runs after its program every scan, the
//! running blocks untouched and keeping their state (as Stuxnet added its own code to
//! the S7 cyclic task OB1 and interrupt task OB35: Falliere, Murchu, Chien, "W32.Stuxnet
//! Dossier", Symantec, 2011).
//! It is here with its primary tactic, Program Download's. Lateral movement between IT hosts
//! (T0866, T0859, T0812, T0886, T0867) is one IT exchange each and lives with initial access
//! in [`initial_access`](super::initial_access).

use super::modbus_client::{ANSWER_TIMEOUT, Book, finish_commands, target};
use super::{ConfigError, Executor, Outcome, Progress, StepCx, param};
use otrange_sim::base::time::SimTime;
use otrange_sim::net::Delivered;
use otrange_sim::net::topology::{HostId, Topology};
use otrange_sim::wire::modbus::{ResponseBody, custom_request};

// ── FC 90 programs: T0845 Program Upload, T0843 Program Download, T0889 Modify Program ──

struct Program {
    technique: &'static str,
    target: HostId,
    /// FC 90 request data still to send, one after the other.
    queue: std::collections::VecDeque<Vec<u8>>,
    uploaded: Vec<u8>,
    /// T0821: the append download, queued once the upload is done.
    then: Vec<Vec<u8>>,
    book: Book,
    deadline: SimTime,
    sent: u32,
}

/// T0845 reads the running program; T0843 and T0889 take `params.program`, the program as
/// the `[plc]` table of a plant file (`[[plc.program]]` blocks, `[[plc.safe_state]]`), and
/// download it in 200-byte blocks. The PLC installs it at its next scan if it compiles.
/// T0821 takes `program` too, the task's blocks, uploads first and appends them.
pub fn build_program(
    id: &'static str,
    t: Option<HostId>,
    p: &toml::Table,
    _: &Topology,
) -> Result<Box<dyn Executor>, ConfigError> {
    let mut queue = std::collections::VecDeque::new();
    let mut then = Vec::new();
    if id == "T0845" {
        param::only(p, &[])?;
        queue.push_back(vec![0, 0x30]);
    } else {
        param::only(p, &["program"])?;
        let text = param::string(p, "program", None)?;
        otrange_sim::plc_logic::PlcLogicConfig::from_toml_str(&text)
            .map_err(|e| ConfigError::unlocated("params.program", format!("not a [plc] program: {e}")))?;
        queue.push_back(if id == "T0821" {
            vec![0, 0x33, otrange_sim::wire::modbus::vendor::APPEND]
        } else {
            vec![0, 0x33]
        });
        for (i, chunk) in text
            .as_bytes()
            .chunks(otrange_sim::devices::vendor::BLOCK)
            .enumerate()
        {
            let mut d = vec![0, 0x34];
            d.extend((i as u16).to_be_bytes());
            d.extend_from_slice(chunk);
            queue.push_back(d);
        }
        queue.push_back(vec![0, 0x35]);
        if id == "T0821" {
            then = Vec::from(std::mem::take(&mut queue));
            queue.push_back(vec![0, 0x30]);
        }
    }
    Ok(Box::new(Program {
        technique: id,
        target: target(t)?,
        queue,
        uploaded: Vec::new(),
        then,
        book: Book::default(),
        deadline: SimTime::ZERO,
        sent: 0,
    }))
}

impl Program {
    fn next(&mut self, cx: &mut StepCx) -> Progress {
        let Some(data) = self.queue.pop_front() else {
            let name = cx.name(self.target).to_string();
            self.record(cx, &name);
            return Progress::Done(Outcome::Succeeded {
                detail: if self.technique == "T0845" {
                    format!(
                        "uploaded from {name}: {:?}",
                        String::from_utf8_lossy(&self.uploaded)
                    )
                } else if self.technique == "T0821" {
                    format!(
                        "task appended to {name}'s program ({:?} before) in {} FC 90 requests",
                        String::from_utf8_lossy(&self.uploaded),
                        self.sent
                    )
                } else {
                    format!("program downloaded to {name} in {} FC 90 requests", self.sent)
                },
            });
        };
        let tag = u16::from(data[1]);
        self.book
            .send(cx, self.target, tag, |tid| custom_request(tid, 1, 0x5A, &data));
        self.sent += 1;
        self.deadline = cx.now + ANSWER_TIMEOUT;
        Progress::Wait(Some(self.deadline))
    }
}

impl Program {
    /// From an engineering workstation, the transfer goes through its engineering software,
    /// whose audit trail records it: the one host log a program download shows in.
    fn record(&self, cx: &mut StepCx, controller: &str) {
        use otrange_sim::devices::host_log::{HostActivity, Transfer};
        let src = cx.source();
        if cx.topo.host(src).role != otrange_sim::net::topology::Role::EngineeringWorkstation {
            return;
        }
        let user = cx
            .actor
            .credential_for(cx.topo, src, true)
            .unwrap_or_else(|| otrange_sim::devices::host_activity::account_of(cx.topo, src));
        cx.record(
            src,
            HostActivity::ProgramTransfer {
                controller: controller.to_string(),
                direction: if self.technique == "T0845" {
                    Transfer::Upload
                } else {
                    Transfer::Download
                },
                project: format!(r"C:\Projects\{controller}.stu"),
                user,
            },
        );
    }
}

impl Executor for Program {
    fn start(&mut self, cx: &mut StepCx) -> Progress {
        self.next(cx)
    }
    fn reply(&mut self, cx: &mut StepCx, d: &Delivered) -> Progress {
        let (sub, raw) = match self.book.take(d) {
            Some((_, tag, ResponseBody::Raw(raw))) => (tag as u8, raw),
            Some(_) => return Progress::Done(finish_commands(cx, self.target, &self.book, "FC 90 request")),
            None => return Progress::Wait(Some(self.deadline)),
        };
        // session, status, data
        if raw.get(1) != Some(&0xFE) {
            return Progress::Done(Outcome::Failed {
                reason: format!("{} refused FC 90: {raw:02x?}", cx.name(self.target)),
            });
        }
        match sub {
            0x30 => {
                let len = usize::from(u16::from_be_bytes([
                    raw.get(2).copied().unwrap_or(0),
                    raw.get(3).copied().unwrap_or(0),
                ]));
                for i in 0..len.div_ceil(otrange_sim::devices::vendor::BLOCK) {
                    let mut d = vec![0, 0x31];
                    d.extend((i as u16).to_be_bytes());
                    self.queue.push_back(d);
                }
                self.queue.extend(std::mem::take(&mut self.then));
            }
            0x31 => self.uploaded.extend(raw.iter().skip(5)),
            _ => {}
        }
        self.next(cx)
    }
    fn timer(&mut self, cx: &mut StepCx) -> Progress {
        Progress::Done(
            self.book
                .blocked
                .clone()
                .unwrap_or_else(|| finish_commands(cx, self.target, &self.book, "FC 90 request")),
        )
    }
}
