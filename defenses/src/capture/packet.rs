//! What a record holds: link layer (Ethernet with 802.1Q/QinQ tags, Linux cooked SLL, raw
//! IP, BSD loopback), then IPv4 and TCP or UDP, decoded with `etherparse`. Everything else
//! is sorted into a reason for skipping it, so the report can say what was not looked at.
//!
//! The common case (untagged Ethernet, IPv4, TCP or UDP, all lengths consistent) is read
//! by hand first ([`fast`]): etherparse's general walk over link extensions cost more than
//! everything else done per packet. Whatever the fast path is not sure of goes to
//! etherparse ([`decode_reference`]), so both give the same answer on every record (a test
//! holds them to it on real and mutated captures).

use super::reader::{Record, linktype};
use etherparse::err::packet::SliceError;
use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use std::net::Ipv4Addr;

/// TCP flags the reassembly needs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcpFlags {
    /// SYN: the sequence number is the initial one.
    pub syn: bool,
    /// ACK: the acknowledgement number is valid.
    pub ack: bool,
    /// FIN: the sender's direction ends after this payload.
    pub fin: bool,
    /// RST: the connection is aborted.
    pub rst: bool,
}

/// The transport part of an IPv4 packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport<'a> {
    /// A TCP segment.
    Tcp {
        /// Sequence number of the segment (of the SYN, when SYN is set).
        seq: u32,
        /// Acknowledgement number; meaningful only with the ACK flag.
        ack: u32,
        /// The flags reassembly needs.
        flags: TcpFlags,
        /// The segment's data, within the IP length (padding excluded).
        payload: &'a [u8],
    },
    /// A UDP datagram.
    Udp {
        /// The datagram's data.
        payload: &'a [u8],
    },
}

/// An IPv4 packet carrying TCP or UDP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    /// IPv4 source address.
    pub src: Ipv4Addr,
    /// IPv4 destination address.
    pub dst: Ipv4Addr,
    /// TCP or UDP source port.
    pub src_port: u16,
    /// TCP or UDP destination port.
    pub dst_port: u16,
    /// The TCP or UDP header fields and payload.
    pub transport: Transport<'a>,
}

/// Why a record was not decoded to TCP or UDP over IPv4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Skip {
    /// Fewer bytes captured than the headers or the IP length say (snap length, damage).
    Truncated,
    /// Headers that do not parse (bad version, lengths, offsets).
    Malformed,
    /// A link type this reader does not decode.
    LinkType(u32),
    /// ARP, IPv6 and other non-IPv4 traffic.
    NotIpv4,
    /// An IPv4 fragment: Modbus stacks do not fragment, so fragments are not reassembled.
    Fragment,
    /// IPv4 carrying neither TCP nor UDP (ICMP, IGMP, ...).
    OtherProtocol,
}

impl Skip {
    /// A stable key for counting.
    pub fn key(self) -> String {
        match self {
            Skip::Truncated => "truncated".into(),
            Skip::Malformed => "malformed".into(),
            Skip::LinkType(t) => format!("link-type-{t}"),
            Skip::NotIpv4 => "not-ipv4".into(),
            Skip::Fragment => "ipv4-fragment".into(),
            Skip::OtherProtocol => "other-ip-protocol".into(),
        }
    }
}

/// Decodes a record down to TCP or UDP over IPv4.
#[inline]
pub fn decode<'a>(rec: &Record<'a>) -> Result<Packet<'a>, Skip> {
    match fast(rec) {
        Some(r) => r,
        None => decode_reference(rec),
    }
}

/// Ethernet II with EtherType IPv4, IPv4 without fragments carrying TCP or UDP, decoded
/// with the checks etherparse makes on that path (version, header and total lengths, TCP
/// data offset, UDP length). None when the record is anything else, or when one of those
/// checks fails: etherparse then decides, and names the reason.
#[inline]
pub fn fast<'a>(rec: &Record<'a>) -> Option<Result<Packet<'a>, Skip>> {
    if rec.linktype != linktype::ETHERNET {
        return None;
    }
    let d = rec.data;
    if d.len() < 14 + 20 || d[12..14] != [0x08, 0x00] {
        return None;
    }
    let ip = &d[14..];
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    if ip[0] >> 4 != 4 || ihl < 20 || total < ihl || ip.len() < total {
        return None;
    }
    let protocol = ip[9];
    if protocol != 6 && protocol != 17 {
        return None; // ICMP, IGMP and IPsec AH have their own checks in etherparse
    }
    // More-fragments flag or a fragment offset.
    if u16::from_be_bytes([ip[6], ip[7]]) & 0x3fff != 0 {
        return Some(Err(Skip::Fragment));
    }
    let src = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
    let dst = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
    let l4 = &ip[ihl..total];
    let be16 = |i: usize| u16::from_be_bytes([l4[i], l4[i + 1]]);
    let be32 = |i: usize| u32::from_be_bytes([l4[i], l4[i + 1], l4[i + 2], l4[i + 3]]);
    if protocol == 6 {
        if l4.len() < 20 {
            return None;
        }
        let hl = usize::from(l4[12] >> 4) * 4;
        if hl < 20 || l4.len() < hl {
            return None;
        }
        let f = l4[13];
        Some(Ok(Packet {
            src,
            dst,
            src_port: be16(0),
            dst_port: be16(2),
            transport: Transport::Tcp {
                seq: be32(4),
                ack: be32(8),
                flags: TcpFlags {
                    fin: f & 0x01 != 0,
                    syn: f & 0x02 != 0,
                    rst: f & 0x04 != 0,
                    ack: f & 0x10 != 0,
                },
                payload: &l4[hl..],
            },
        }))
    } else {
        if l4.len() < 8 {
            return None;
        }
        let len = usize::from(be16(4));
        if len < 8 || l4.len() < len {
            return None; // a zero length means "to the end", an etherparse detail
        }
        Some(Ok(Packet {
            src,
            dst,
            src_port: be16(0),
            dst_port: be16(2),
            transport: Transport::Udp { payload: &l4[8..len] },
        }))
    }
}

/// Decodes a record with etherparse alone: every link type and every error.
pub fn decode_reference<'a>(rec: &Record<'a>) -> Result<Packet<'a>, Skip> {
    let sliced = match rec.linktype {
        linktype::ETHERNET => SlicedPacket::from_ethernet(rec.data),
        linktype::LINUX_SLL => SlicedPacket::from_linux_sll(rec.data),
        linktype::RAW | linktype::RAW_12 | linktype::RAW_14 | linktype::IPV4 => {
            SlicedPacket::from_ip(rec.data)
        }
        linktype::NULL => match rec.data.get(4..) {
            Some(ip) => SlicedPacket::from_ip(ip),
            None => return Err(Skip::Truncated),
        },
        other => return Err(Skip::LinkType(other)),
    };
    let sliced = sliced.map_err(|e| match e {
        SliceError::Len(_) => Skip::Truncated,
        _ => Skip::Malformed,
    })?;
    let Some(NetSlice::Ipv4(ip)) = &sliced.net else {
        return Err(Skip::NotIpv4);
    };
    if ip.is_payload_fragmented() {
        return Err(Skip::Fragment);
    }
    let h = ip.header();
    let (src, dst) = (h.source_addr(), h.destination_addr());
    match sliced.transport {
        Some(TransportSlice::Tcp(t)) => Ok(Packet {
            src,
            dst,
            src_port: t.source_port(),
            dst_port: t.destination_port(),
            transport: Transport::Tcp {
                seq: t.sequence_number(),
                ack: t.acknowledgment_number(),
                flags: TcpFlags {
                    syn: t.syn(),
                    ack: t.ack(),
                    fin: t.fin(),
                    rst: t.rst(),
                },
                payload: t.payload(),
            },
        }),
        Some(TransportSlice::Udp(u)) => Ok(Packet {
            src,
            dst,
            src_port: u.source_port(),
            dst_port: u.destination_port(),
            transport: Transport::Udp { payload: u.payload() },
        }),
        _ => Err(Skip::OtherProtocol),
    }
}
