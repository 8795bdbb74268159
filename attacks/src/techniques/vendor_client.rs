//! What every FC 90 executor shares: a conversation with one PLC's vendor protocol, one
//! request after the other, each waiting for its answer before the next goes, as
//! engineering software talks to a PLC. An answer is an OK with its data, a refusal with
//! its error code (explained in words for the step's reason), or anything else (an
//! exception from a PLC without the vendor protocol, or silence), which the Modbus
//! judgement of [`finish_commands`] explains.

use super::modbus_client::{ANSWER_TIMEOUT, Book, finish_commands};
use super::{Outcome, Progress, StepCx};
use otrange_sim::base::time::SimTime;
use otrange_sim::net::Delivered;
use otrange_sim::net::topology::HostId;
use otrange_sim::wire::modbus::ResponseBody;
use otrange_sim::wire::modbus::vendor::{ERR, OK, error, vendor_request};
use std::collections::VecDeque;

/// An answer to one FC 90 request.
pub(super) enum Answer {
    /// Accepted: the sub-function asked and the answer's data after the status byte.
    Ok { sub: u8, data: Vec<u8> },
    /// Refused: the sub-function asked and the error code.
    Refused { sub: u8, code: u8 },
    /// Not a vendor answer (an exception); the step ends on the Modbus judgement.
    Other,
}

/// Requests to one PLC, sent in turn.
pub(super) struct Conversation {
    pub(super) target: HostId,
    /// (sub-function, data after it) still to send.
    pub(super) queue: VecDeque<(u8, Vec<u8>)>,
    pub(super) book: Book,
    pub(super) deadline: SimTime,
    /// Requests sent so far.
    pub(super) sent: u32,
}

impl Conversation {
    pub(super) fn new(target: HostId, queue: VecDeque<(u8, Vec<u8>)>) -> Self {
        Conversation {
            target,
            queue,
            book: Book::default(),
            deadline: SimTime::ZERO,
            sent: 0,
        }
    }

    /// Sends the next request and waits for its answer; `None` when none is left.
    pub(super) fn next(&mut self, cx: &mut StepCx) -> Option<Progress> {
        let (sub, data) = self.queue.pop_front()?;
        self.book.send(cx, self.target, u16::from(sub), |tid| {
            vendor_request(tid, sub, &data)
        });
        self.sent += 1;
        self.deadline = cx.now + ANSWER_TIMEOUT;
        Some(Progress::Wait(Some(self.deadline)))
    }

    /// The answer `d` carries, if it answers one of this conversation's requests.
    pub(super) fn answer(&mut self, d: &Delivered) -> Option<Answer> {
        let (_, tag, body) = self.book.take(d)?;
        let sub = tag as u8;
        Some(match body {
            // Response data after the function code: session, status, data.
            ResponseBody::Raw(raw) => match raw.get(1) {
                Some(&OK) => Answer::Ok {
                    sub,
                    data: raw.get(2..).unwrap_or_default().to_vec(),
                },
                Some(&ERR) => Answer::Refused {
                    sub,
                    code: raw.get(2).copied().unwrap_or(0),
                },
                _ => Answer::Other,
            },
            _ => Answer::Other,
        })
    }

    /// Waiting for the current answer.
    pub(super) fn wait(&self) -> Progress {
        Progress::Wait(Some(self.deadline))
    }

    /// The outcome when the conversation ends without a vendor answer: blocked, an
    /// exception, or silence.
    pub(super) fn end(&self, cx: &StepCx) -> Outcome {
        finish_commands(cx, self.target, &self.book, "FC 90 request")
    }
}

/// An FC 90 error code in words, for a failed step's reason.
pub(super) fn refusal(code: u8) -> &'static str {
    match code {
        error::MALFORMED => "malformed request",
        error::UNKNOWN => "unknown sub-function",
        error::OUT_OF_RANGE => "size, index or address out of range",
        error::WRONG_MODE => "not in the mode the request needs",
        error::SEQUENCE => "out of sequence",
        error::NOT_AN_INPUT => "not an input",
        _ => "unknown error",
    }
}
