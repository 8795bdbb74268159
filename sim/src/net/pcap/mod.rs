//! Synthetic packet capture of simulated traffic.
//!
//! The simulator exchanges application payloads (Modbus/TCP ADUs, DNS messages, ...) between
//! hosts without a real network stack. For training and forensics exercises those exchanges must
//! open in Wireshark exactly like traffic captured on a plant network: this module wraps each
//! payload in Ethernet II / IPv4 / TCP or UDP headers with correct checksums, and synthesises
//! TCP connection state (handshakes, sequence and acknowledgement numbers, window ACKs, FIN
//! teardown) so Wireshark's TCP analysis raises no warnings and its reassembly feeds the real
//! protocol dissectors (Modbus/TCP on port 502 and so on).
//!
//! * [`writer`]: the pcap file format and [`PcapWriter`], the entry point.
//! * `packet`: header layout and checksums.
//! * `tcp_session`: per-connection sequence state.

use std::fmt;

pub mod writer;

pub(crate) mod packet;
pub(crate) mod tcp_session;

pub use writer::PcapWriter;

/// Largest payload a layer-2 frame carries (the Ethernet MTU).
pub const MTU_PAYLOAD: usize = packet::MTU;

/// An IPv4 transport endpoint (address and TCP/UDP port).
///
/// Ordered by address, then port; [`PcapWriter::finish`] relies on that order to close
/// connections deterministically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    /// IPv4 address, network byte order (`[10, 0, 0, 1]` is 10.0.0.1).
    pub ip: [u8; 4],
    /// TCP or UDP port.
    pub port: u16,
}

impl fmt::Display for Endpoint {
    /// `a.b.c.d:port`, as Wireshark prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d] = self.ip;
        write!(f, "{a}.{b}.{c}.{d}:{}", self.port)
    }
}
