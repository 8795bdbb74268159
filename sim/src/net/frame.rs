//! Frames: what travels between hosts. Modbus traffic is carried as the real ADU bytes;
//! other IT traffic as a flow summary (service, size), which is all a network model or a
//! flow-level sensor needs from it.

use crate::base::time::SimTime;
use crate::net::topology::{HostId, Service, Transport};

/// Stable id of a frame within a run: the order in which frames were sent.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FrameId(pub u64);

/// The bytes or the summary a frame carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Payload {
    /// A complete Modbus TCP ADU (MBAP header + PDU), inline when short.
    Modbus(crate::wire::modbus::AduBytes),
    /// Application data of a non-Modbus service, summarised by its size in bytes; a request
    /// carries the size of the reply it asks for, so servers need no per-service model.
    Flow {
        /// Size of this message's application data, in bytes.
        bytes: u32,
        /// Size in bytes of the reply a request asks for; 0 in a reply (nothing answers it).
        reply_bytes: u32,
    },
    /// A TSN stream's frame: layer 2, its process data and where it waited.
    Stream(Box<crate::net::tsn::stream::StreamFrame>),
}

/// An IEEE 802.1Q tag: the frame's priority, which a TSN switch maps to a traffic class,
/// and its VLAN.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct VlanTag {
    /// Priority code point, 0 to 7.
    pub pcp: u8,
    /// VLAN id, 1 to 4094.
    pub vid: u16,
}

/// One application message between two hosts.
#[derive(Clone, Debug)]
pub struct Frame {
    /// Its id, assigned when it is sent (0 for a live frame not yet recorded).
    pub id: FrameId,
    /// The sending host.
    pub src: HostId,
    /// The destination host.
    pub dst: HostId,
    /// The sender's port: a client's ephemeral port (49152 up), or the service's port in a reply.
    pub src_port: u16,
    /// The destination's port: the service's port in a request, the client's in a reply.
    pub dst_port: u16,
    /// The application service; it sets the transport (TCP or UDP) and the well-known port.
    pub service: Service,
    /// What it carries: Modbus ADU bytes or an IT flow's size.
    pub payload: Payload,
    /// When it left the sender.
    pub sent_at: SimTime,
    /// Opaque mark from the sender (an attacker labels its frames with a step number) that
    /// ground-truth outputs carry through; 0 means unlabelled.
    pub label: u32,
    /// Its 802.1Q tag, if it carries one (TSN streams, layer-2 traffic with a priority);
    /// untagged frames have priority 0 at a TSN port.
    pub tag: Option<VlanTag>,
}

/// Bytes of Ethernet II + IPv4 + TCP headers and FCS around each segment.
const TCP_OVERHEAD: u32 = 14 + 20 + 20 + 4;
/// UDP instead of TCP.
const UDP_OVERHEAD: u32 = 14 + 20 + 8 + 4;
/// Layer-2 frames: Ethernet header and FCS.
const ETHERNET_OVERHEAD: u32 = 14 + 4;
/// An 802.1Q tag.
const VLAN_TAG: u32 = 4;
/// Preamble, start-of-frame delimiter and inter-frame gap: the layer-1 cost of every frame.
const L1_OVERHEAD: u32 = 8 + 12;
/// Ethernet's minimum frame size (padding below it).
const MIN_FRAME: u32 = 64;
/// TCP maximum segment size on Ethernet.
pub const MSS: u32 = 1460;

impl Frame {
    /// A Modbus TCP frame that crossed a real socket (live mode). Its id is 0 until the
    /// simulation records it; it carries no label.
    pub fn live_modbus(
        src: HostId,
        dst: HostId,
        src_port: u16,
        dst_port: u16,
        payload: Payload,
        at: SimTime,
    ) -> Self {
        Frame {
            id: FrameId(0),
            src,
            dst,
            src_port,
            dst_port,
            service: Service::Modbus,
            payload,
            sent_at: at,
            label: 0,
            tag: None,
        }
    }

    /// TCP or UDP, as its service uses.
    pub fn transport(&self) -> Transport {
        self.service.transport()
    }
    /// Application payload length in bytes.
    pub fn payload_len(&self) -> u32 {
        match &self.payload {
            Payload::Modbus(b) => b.len() as u32,
            Payload::Flow { bytes, .. } => *bytes,
            Payload::Stream(s) => s.bytes,
        }
    }
    /// Modbus function code, if this is a Modbus ADU long enough to carry one.
    pub fn modbus_function(&self) -> Option<u8> {
        match &self.payload {
            Payload::Modbus(b) => crate::wire::modbus::Adu::new_unchecked(b).map(|a| a.function()),
            Payload::Flow { .. } | Payload::Stream(_) => None,
        }
    }
    /// Bits a transmitter needs to put this message on the wire: payload split into MSS
    /// segments, each with its headers, padded to the Ethernet minimum, plus layer-1 overhead.
    pub fn wire_bits(&self) -> u64 {
        let len = self.payload_len();
        let tag = if self.tag.is_some() { VLAN_TAG } else { 0 };
        let overhead = tag
            + match self.transport() {
                Transport::Tcp => TCP_OVERHEAD,
                Transport::Udp => UDP_OVERHEAD,
                Transport::Ethernet => ETHERNET_OVERHEAD,
            };
        // TCP splits a message into MSS segments; a layer-2 frame carries up to the MTU.
        let mss = match self.transport() {
            Transport::Ethernet => 1500,
            _ => MSS,
        };
        let segments = len.div_ceil(mss).max(1);
        let full = segments - 1;
        let last = len - full * mss;
        let frame_bytes = |p: u32| (p + overhead).max(MIN_FRAME) + L1_OVERHEAD;
        let bytes = u64::from(full) * u64::from(frame_bytes(mss)) + u64::from(frame_bytes(last));
        bytes * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(payload: Payload, service: Service) -> Frame {
        Frame {
            id: FrameId(0),
            src: HostId(0),
            dst: HostId(1),
            src_port: 49152,
            dst_port: service.port(),
            service,
            payload,
            sent_at: SimTime::ZERO,
            label: 0,
            tag: None,
        }
    }

    #[test]
    fn wire_size_counts_headers_padding_and_layer1() {
        // A 12-byte Modbus read request: 12 + 58 = 70 bytes of frame, + 20 on layer 1 = 90 bytes.
        let f = frame(Payload::Modbus(smallvec::smallvec![0; 12]), Service::Modbus);
        assert_eq!(f.wire_bits(), 90 * 8);
        // A 0-byte flow is padded to the 64-byte minimum: 84 bytes.
        let f = frame(
            Payload::Flow {
                bytes: 0,
                reply_bytes: 0,
            },
            Service::Smb,
        );
        assert_eq!(f.wire_bits(), 84 * 8);
        // 3000 bytes: segments of 1460, 1460, 80: (1518+20)*2 + (138+20) = 3234 bytes.
        let f = frame(
            Payload::Flow {
                bytes: 3000,
                reply_bytes: 0,
            },
            Service::Smb,
        );
        assert_eq!(f.wire_bits(), 3234 * 8);
    }

    #[test]
    fn a_tagged_layer2_frame_costs_its_payload_plus_42_bytes() {
        // NeSTiNg's length-aware scheduling case: 100 bytes of payload + 42 (header 14,
        // VLAN tag 4, FCS 4, preamble and SFD 8, inter-frame gap 12) = 142 bytes.
        let mut f = frame(
            Payload::Flow {
                bytes: 100,
                reply_bytes: 0,
            },
            Service::Ethernet,
        );
        f.tag = Some(VlanTag { pcp: 7, vid: 1 });
        assert_eq!(f.wire_bits(), 142 * 8);
        // A short payload is padded to the 64-byte minimum frame.
        f.payload = Payload::Flow {
            bytes: 10,
            reply_bytes: 0,
        };
        assert_eq!(f.wire_bits(), 84 * 8);
    }
}
