//! Capture of the simulated traffic to a pcap file Wireshark reads as real traffic.
//! Frame numbers of every data segment are kept, so ground-truth labels can point at them.

use super::frame::{Frame, Payload};
use super::network::Capture;
use crate::base::time::SimTime;
use crate::net::pcap::{Endpoint, PcapWriter};
use crate::net::topology::{Service, Topology, Transport};
use std::io::Write;

/// Filler for flow payloads: a repeating printable pattern, which dissectors of the
/// services' ports do not mistake for a valid (or malformed) protocol message as easily
/// as zeros.
const FILL: &[u8] = b"otrange simulated flow payload; ";

/// IEEE Std 802 "Local Experimental Ethertype 1": the Ethernet type of layer-2 frames
/// (TSN streams' process data), which Wireshark shows as data without guessing a protocol.
const LOCAL_EXPERIMENTAL_ETHERTYPE: u16 = 0x88b5;

/// A stream frame's payload as captured: stream index (u16), cycle (u32), then the process
/// data words, big-endian, padded with zeros to the stream's payload size.
fn stream_payload(s: &crate::net::tsn::stream::StreamFrame) -> Vec<u8> {
    let mut b = Vec::with_capacity(s.bytes as usize);
    b.extend((s.stream as u16).to_be_bytes());
    b.extend((s.seq as u32).to_be_bytes());
    for w in s.words.iter() {
        b.extend(w.to_be_bytes());
    }
    b.resize(
        (s.bytes as usize).max(b.len().min(crate::net::pcap::MTU_PAYLOAD)),
        0,
    );
    b
}

/// What a capture wrote for a frame, for the labels file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapturedFrame {
    /// The simulation's frame id.
    pub frame_id: u64,
    /// The frame's label (an attack step's number), never 0 here.
    pub label: u32,
    /// 1-based pcap frame numbers of its data segments (handshakes and pure ACKs excluded).
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
    /// A capture writing to `out`, its timestamps the run's calendar `start_unix_ns` plus
    /// simulated time; fails if the pcap header cannot be written.
    pub fn new(out: W, start_unix_ns: u64) -> std::io::Result<Self> {
        let mut writer = PcapWriter::new(out)?;
        writer.set_epoch(start_unix_ns);
        Ok(PcapCapture {
            writer: Some(writer),
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
            Payload::Stream(s) => {
                filler = stream_payload(s);
                &filler
            }
            Payload::Flow { .. } if frame.service == Service::Dns => {
                filler = dns_message(frame);
                &filler
            }
            Payload::Flow { bytes, .. } => {
                filler = FILL
                    .iter()
                    .copied()
                    .cycle()
                    .take(capture_len(frame.service, *bytes))
                    .collect::<Vec<u8>>();
                &filler
            }
        };
        let result = match frame.transport() {
            Transport::Tcp => w.tcp_payload(t.as_nanos(), src, dst, bytes),
            Transport::Udp => w.udp_payload(t.as_nanos(), src, dst, bytes).map(|n| vec![n]),
            Transport::Ethernet => w
                .ethernet_payload(
                    t.as_nanos(),
                    src.ip,
                    dst.ip,
                    frame.tag.map(|g| (g.pcp, g.vid)),
                    LOCAL_EXPERIMENTAL_ETHERTYPE,
                    bytes,
                )
                .map(|n| vec![n]),
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

/// A well-formed DNS message for a DNS flow: the DNS dissector parses whatever reaches UDP
/// port 53, and filler text would be a malformed packet. A query asks for the A record of
/// a name in the plant's domain; the answer (from port 53) carries one address. The
/// transaction id is the client's port, the same in both halves.
fn dns_message(frame: &Frame) -> Vec<u8> {
    // RFC 1035 §4.1: header, then question (QNAME, QTYPE A = 1, QCLASS IN = 1).
    let answer = frame.src_port == Service::Dns.port();
    let mut m = Vec::with_capacity(64);
    let id = if answer { frame.dst_port } else { frame.src_port };
    m.extend(id.to_be_bytes());
    m.extend(if answer { [0x81, 0x80] } else { [0x01, 0x00] }); // flags: RD (+ QR, RA)
    m.extend([0, 1, 0, u8::from(answer), 0, 0, 0, 0]); // QD 1, AN 0/1, NS 0, AR 0
    for label in ["fileserver", "plant", "local"] {
        m.push(label.len() as u8);
        m.extend(label.as_bytes());
    }
    m.push(0);
    m.extend([0, 1, 0, 1]);
    if answer {
        // Name pointer to the question (offset 12), A, IN, TTL 300 s, 4 bytes of address.
        m.extend([0xC0, 12, 0, 1, 0, 1, 0, 0, 0x01, 0x2C, 0, 4, 10, 40, 2, 20]);
    }
    m
}

/// Bytes a flow's filler takes in the capture. Wireshark reads an SSH segment without a
/// handshake as an encrypted packet and calls one of a few bytes malformed, so an SSH
/// flow never ends in a segment that short; the flow's size in the model is unchanged.
fn capture_len(service: Service, bytes: u32) -> usize {
    let mss = crate::net::frame::MSS as usize;
    let n = bytes as usize;
    if service == Service::Ssh && !n.is_multiple_of(mss) && n % mss < 16 {
        n + 16
    } else {
        n
    }
}
