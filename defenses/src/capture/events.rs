//! What the replay hands to detectors, kept compactly until they can run.
//!
//! Detectors are built from the topology and the topology from every address in the
//! capture, so nothing can be shown to a detector before the end of the file. Rather than
//! read the file twice (once for the hosts, once for the detectors), the one pass keeps
//! its output here: about 40 bytes a frame plus the bytes of each Modbus ADU, side by side
//! in one buffer. Handing them over reuses one [`Frame`] per kind, so replaying allocates
//! nothing per frame either.

use otrange_sim::base::time::SimTime;
use otrange_sim::net::topology::{HostId, Service};
use otrange_sim::net::{Frame, FrameId, Payload};

/// One frame for the detectors, without its payload bytes.
#[derive(Debug, Clone, Copy)]
struct Event {
    id: u64,
    /// When it is observed (and sent: a capture has one time per packet).
    at: SimTime,
    src: HostId,
    dst: HostId,
    src_port: u16,
    dst_port: u16,
    service: Service,
    /// Modbus: the ADU's length in `Events::bytes`, after the previous ADU's; other
    /// services: the flow's size in bytes.
    len: u32,
}

/// The frame a packet or unit makes, but its payload.
#[derive(Debug, Clone, Copy)]
pub struct Head {
    /// The capture's frame number (1-based, as Wireshark's) of the packet that carried it,
    /// or that completed a Modbus unit; it becomes the frame's id.
    pub id: u64,
    /// When it is observed: time since the capture's first packet, never going backwards.
    pub at: SimTime,
    /// The sending host in the capture's topology.
    pub src: HostId,
    /// The receiving host in the capture's topology.
    pub dst: HostId,
    /// The sender's TCP or UDP port.
    pub src_port: u16,
    /// The receiver's TCP or UDP port.
    pub dst_port: u16,
}

/// Frames in the order they were made.
#[derive(Debug, Default)]
pub struct Events {
    list: Vec<Event>,
    bytes: Vec<u8>,
}

impl Events {
    /// Room for the frames of a capture of `file_len` bytes, so that keeping them never
    /// copies what is kept. A Modbus packet takes at least 78 bytes of a file (record
    /// header, Ethernet, IPv4, TCP, MBAP) and its ADU about a quarter of that; reserving is
    /// cheap because pages never written are never faulted in.
    pub fn for_capture(file_len: u64) -> Events {
        let len = usize::try_from(file_len).unwrap_or(usize::MAX);
        Events {
            list: Vec::with_capacity(len / 80),
            bytes: Vec::with_capacity(len / 4),
        }
    }

    /// A flow of a known service, `bytes` of application data.
    pub fn flow(&mut self, h: Head, service: Service, bytes: u32) {
        self.push(h, service, bytes);
    }

    /// A Modbus unit (an ADU, or bytes on port 502 that cannot be one).
    pub fn modbus(&mut self, h: Head, adu: &[u8]) {
        self.bytes.extend_from_slice(adu);
        self.push(h, Service::Modbus, adu.len() as u32);
    }

    fn push(&mut self, h: Head, service: Service, len: u32) {
        self.list.push(Event {
            id: h.id,
            at: h.at,
            src: h.src,
            dst: h.dst,
            src_port: h.src_port,
            dst_port: h.dst_port,
            service,
            len,
        });
    }

    /// How many frames are kept.
    pub fn len(&self) -> usize {
        self.list.len()
    }
    /// Whether no frame is kept.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Hands every frame to `emit`, in order, with the time to observe it at.
    pub fn replay(&self, emit: &mut dyn FnMut(&Frame, SimTime)) {
        let blank = |payload| Frame {
            id: FrameId(0),
            src: HostId(0),
            dst: HostId(0),
            src_port: 0,
            dst_port: 0,
            service: Service::Modbus,
            payload,
            sent_at: SimTime::ZERO,
            label: 0,
            tag: None,
        };
        let mut modbus = blank(Payload::Modbus(
            otrange_sim::wire::modbus::AduBytes::with_capacity(260),
        ));
        let mut flow = blank(Payload::Flow {
            bytes: 0,
            reply_bytes: 0,
        });
        let mut off = 0usize;
        for e in &self.list {
            let frame = if e.service == Service::Modbus {
                let end = off + e.len as usize;
                if let Payload::Modbus(v) = &mut modbus.payload {
                    v.clear();
                    v.extend_from_slice(&self.bytes[off..end]);
                }
                off = end;
                &mut modbus
            } else {
                flow.payload = Payload::Flow {
                    bytes: e.len,
                    reply_bytes: 0,
                };
                flow.service = e.service;
                &mut flow
            };
            frame.id = FrameId(e.id);
            frame.src = e.src;
            frame.dst = e.dst;
            frame.src_port = e.src_port;
            frame.dst_port = e.dst_port;
            frame.sent_at = e.at;
            emit(frame, e.at);
        }
    }

    /// Forgets every frame kept, keeping the buffers' room (a streaming replay empties them
    /// after each record).
    pub fn clear(&mut self) {
        self.list.clear();
        self.bytes.clear();
    }
}
