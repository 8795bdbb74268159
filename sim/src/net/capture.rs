//! Capture of the simulated traffic to a pcap file Wireshark reads as real traffic.
//! Frame numbers of every data segment are kept, so ground-truth labels can point at them.

use super::frame::{Frame, Payload};
use super::network::Capture;
use crate::pcap::{Endpoint, PcapWriter};
use crate::time::SimTime;
use crate::topology::{Topology, Transport};
use std::io::Write;

/// Filler for flow payloads: a repeating printable pattern, which dissectors of the
/// services' ports do not mistake for a valid (or malformed) protocol message as easily
/// as zeros.
const FILL: &[u8] = b"otrange simulated flow payload; ";

/// What a capture wrote for a frame, for the labels file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapturedFrame {
    pub frame_id: u64,
    pub label: u32,
    pub pcap_frames: Vec<u64>,
}

/// A [`Capture`] writing pcap through [`PcapWriter`].
pub struct PcapCapture<W: Write + Send + Sync> {
    writer: Option<PcapWriter<W>>,
    error: Option<std::io::Error>,
    /// Pcap frame numbers of labelled frames (label != 0).
    pub labelled: Vec<CapturedFrame>,
    last: SimTime,
}

impl<W: Write + Send + Sync> PcapCapture<W> {
    pub fn new(out: W) -> std::io::Result<Self> {
        Ok(PcapCapture {
            writer: Some(PcapWriter::new(out)?),
            error: None,
            labelled: Vec::new(),
            last: SimTime::ZERO,
        })
    }
}

impl<W: Write + Send + Sync> Capture for PcapCapture<W> {
    fn frame(&mut self, t: SimTime, frame: &Frame, topo: &Topology) {
        if self.error.is_some() {
            return;
        }
        let Some(w) = self.writer.as_mut() else { return };
        self.last = self.last.max(t);
        let src = Endpoint {
            ip: topo.host(frame.src).address.octets(),
            port: frame.src_port,
        };
        let dst = Endpoint {
            ip: topo.host(frame.dst).address.octets(),
            port: frame.dst_port,
        };
        let filler;
        let bytes: &[u8] = match &frame.payload {
            Payload::Modbus(b) => b,
            Payload::Flow { bytes, .. } => {
                filler = FILL
                    .iter()
                    .copied()
                    .cycle()
                    .take(*bytes as usize)
                    .collect::<Vec<u8>>();
                &filler
            }
        };
        let result = match frame.transport() {
            Transport::Tcp => w.tcp_payload(t.as_nanos(), src, dst, bytes),
            Transport::Udp => w.udp_payload(t.as_nanos(), src, dst, bytes).map(|n| vec![n]),
        };
        match result {
            Ok(numbers) if frame.label != 0 => self.labelled.push(CapturedFrame {
                frame_id: frame.id.0,
                label: frame.label,
                pcap_frames: numbers,
            }),
            Ok(_) => {}
            Err(e) => self.error = Some(e),
        }
    }

    fn finish(mut self: Box<Self>, at: SimTime) -> std::io::Result<Vec<CapturedFrame>> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let w = self.writer.take().expect("finish is called once");
        let mut out = w.finish(at.max(self.last).as_nanos())?;
        out.flush()?;
        Ok(std::mem::take(&mut self.labelled))
    }
}
