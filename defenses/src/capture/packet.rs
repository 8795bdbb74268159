//! What a record holds: link layer (Ethernet with 802.1Q/QinQ tags, Linux cooked SLL, raw
//! IP, BSD loopback), then IPv4 and TCP or UDP, decoded with `etherparse`. Everything else
//! is sorted into a reason for skipping it, so the report can say what was not looked at.

use super::reader::{Record, linktype};
use etherparse::err::packet::SliceError;
use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use std::net::Ipv4Addr;

/// TCP flags the reassembly needs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcpFlags {
    pub syn: bool,
    pub ack: bool,
    pub fin: bool,
    pub rst: bool,
}

/// The transport part of an IPv4 packet.
#[derive(Debug, Clone, Copy)]
pub enum Transport<'a> {
    Tcp {
        seq: u32,
        ack: u32,
        flags: TcpFlags,
        payload: &'a [u8],
    },
    Udp {
        payload: &'a [u8],
    },
}

/// An IPv4 packet carrying TCP or UDP.
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub src_port: u16,
    pub dst_port: u16,
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
pub fn decode<'a>(rec: &Record<'a>) -> Result<Packet<'a>, Skip> {
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
