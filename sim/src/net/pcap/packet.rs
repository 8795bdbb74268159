//! Ethernet II / IPv4 / TCP / UDP header emission.
//!
//! Everything here is a pure function from header fields to bytes, so the byte layout can be unit
//! tested against hand-computed arrays without any session state or I/O.

use crate::net::pcap::Endpoint;

/// TCP flag bits (RFC 9293 §3.1), as they appear in byte 13 of the TCP header.
pub(crate) mod flags {
    pub(crate) const FIN: u8 = 0x01;
    pub(crate) const SYN: u8 = 0x02;
    pub(crate) const RST: u8 = 0x04;
    pub(crate) const PSH: u8 = 0x08;
    pub(crate) const ACK: u8 = 0x10;
}

/// Ethernet header length (no 802.1Q tag, no FCS: captures taken on a host never contain the FCS).
pub(crate) const ETH_HEADER_LEN: usize = 14;
/// IPv4 header length without options.
pub(crate) const IPV4_HEADER_LEN: usize = 20;
/// TCP header length without options.
pub(crate) const TCP_HEADER_LEN: usize = 20;
/// UDP header length.
pub(crate) const UDP_HEADER_LEN: usize = 8;
/// Ethernet MTU: the largest IPv4 packet a frame carries.
pub(crate) const MTU: usize = 1500;
/// TCP maximum segment size on a 1500-byte MTU link (1500 - 20 - 20), also advertised in SYNs.
pub(crate) const MSS: usize = MTU - IPV4_HEADER_LEN - TCP_HEADER_LEN;
/// Largest UDP payload an IPv4 datagram can carry (65535 - 20 - 8).
pub(crate) const MAX_UDP_PAYLOAD: usize = 65535 - IPV4_HEADER_LEN - UDP_HEADER_LEN;

const ETHERTYPE_IPV4: u16 = 0x0800;
const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;
const TTL: u8 = 64;
/// IPv4 "don't fragment" flag in the flags/fragment-offset word.
const IP_DF: u16 = 0x4000;
/// IPv4 "more fragments" flag in the flags/fragment-offset word.
const IP_MF: u16 = 0x2000;

/// Locally administered unicast MAC `02:00:a:b:c:d` for IPv4 address `a.b.c.d`.
///
/// Deriving the MAC from the IP gives every simulated host exactly one stable MAC, so Wireshark's
/// Ethernet conversations and endpoints line up with the IP ones (no routers are modelled: the
/// destination MAC is the destination host's own MAC).
pub(crate) fn mac_for_ip(ip: [u8; 4]) -> [u8; 6] {
    [0x02, 0x00, ip[0], ip[1], ip[2], ip[3]]
}

/// RFC 1071 one's-complement sum of `data` (odd length padded with a zero byte), not yet folded.
fn ones_sum(mut acc: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        acc += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        acc += u32::from(*last) << 8;
    }
    acc
}

/// Fold a 32-bit one's-complement accumulator to 16 bits and complement it.
fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// RFC 1071 Internet checksum of `data`.
pub(crate) fn internet_checksum(data: &[u8]) -> u16 {
    fold(ones_sum(0, data))
}

/// TCP/UDP checksum: Internet checksum over the IPv4 pseudo-header followed by `segment`
/// (whose checksum field must be zero).
fn transport_checksum(src: [u8; 4], dst: [u8; 4], proto: u8, segment: &[u8]) -> u16 {
    let mut acc = ones_sum(0, &src);
    acc = ones_sum(acc, &dst);
    acc += u32::from(proto);
    acc += segment.len() as u32;
    fold(ones_sum(acc, segment))
}

/// IEEE 802.1Q tag protocol identifier.
const TPID_8021Q: u16 = 0x8100;
/// Smallest Ethernet frame as captured (64 bytes less the FCS a capture does not hold).
const MIN_CAPTURED: usize = 60;

/// A layer-2 frame: MAC addresses derived from the hosts' IPv4 addresses, an optional
/// 802.1Q tag (priority and VLAN id; DEI 0), the Ethernet type and the payload, padded
/// to the minimum frame size (IEEE 802.1Q-2018 §9.6: the tag's TCI is PCP(3) DEI(1) VID(12)).
pub(crate) fn ethernet_frame(
    src: [u8; 4],
    dst: [u8; 4],
    tag: Option<(u8, u16)>,
    ethertype: u16,
    payload: &[u8],
) -> Vec<u8> {
    let mut buf = Vec::with_capacity(ETH_HEADER_LEN + 4 + payload.len().max(MIN_CAPTURED));
    buf.extend_from_slice(&mac_for_ip(dst));
    buf.extend_from_slice(&mac_for_ip(src));
    let min = match tag {
        Some((pcp, vid)) => {
            buf.extend_from_slice(&TPID_8021Q.to_be_bytes());
            let tci = (u16::from(pcp & 7) << 13) | (vid & 0x0fff);
            buf.extend_from_slice(&tci.to_be_bytes());
            MIN_CAPTURED + 4
        }
        None => MIN_CAPTURED,
    };
    buf.extend_from_slice(&ethertype.to_be_bytes());
    buf.extend_from_slice(payload);
    if buf.len() < min {
        buf.resize(min, 0);
    }
    buf
}

fn push_ethernet(buf: &mut Vec<u8>, src: [u8; 4], dst: [u8; 4]) {
    buf.extend_from_slice(&mac_for_ip(dst));
    buf.extend_from_slice(&mac_for_ip(src));
    buf.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
}

/// Append an IPv4 header (no options) with a correct header checksum.
/// `frag_word` holds the flags (DF/MF) and the fragment offset in 8-byte units.
fn push_ipv4(
    buf: &mut Vec<u8>,
    src: [u8; 4],
    dst: [u8; 4],
    proto: u8,
    ip_id: u16,
    frag_word: u16,
    payload_len: usize,
) {
    let start = buf.len();
    let total = u16::try_from(IPV4_HEADER_LEN + payload_len).expect("IPv4 packet over 65535 bytes");
    buf.extend_from_slice(&[0x45, 0x00]);
    buf.extend_from_slice(&total.to_be_bytes());
    buf.extend_from_slice(&ip_id.to_be_bytes());
    buf.extend_from_slice(&frag_word.to_be_bytes());
    buf.extend_from_slice(&[TTL, proto, 0, 0]);
    buf.extend_from_slice(&src);
    buf.extend_from_slice(&dst);
    let sum = internet_checksum(&buf[start..]);
    buf[start + 10..start + 12].copy_from_slice(&sum.to_be_bytes());
}

/// One TCP segment's header fields; the payload is passed separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TcpHeader {
    pub src: Endpoint,
    pub dst: Endpoint,
    pub seq: u32,
    pub ack: u32,
    /// Bit set of [`flags`].
    pub flags: u8,
    pub window: u16,
    /// Advertise an MSS option (SYN and SYN-ACK only).
    pub mss_option: bool,
}

/// Append a complete Ethernet/IPv4/TCP frame to `buf`.
///
/// The acknowledgement number is written as zero unless ACK is set, as real stacks do.
pub(crate) fn push_tcp_frame(buf: &mut Vec<u8>, ip_id: u16, h: &TcpHeader, payload: &[u8]) {
    let opt_len = if h.mss_option { 4 } else { 0 };
    let tcp_len = TCP_HEADER_LEN + opt_len + payload.len();
    push_ethernet(buf, h.src.ip, h.dst.ip);
    push_ipv4(buf, h.src.ip, h.dst.ip, PROTO_TCP, ip_id, IP_DF, tcp_len);
    let start = buf.len();
    buf.extend_from_slice(&h.src.port.to_be_bytes());
    buf.extend_from_slice(&h.dst.port.to_be_bytes());
    buf.extend_from_slice(&h.seq.to_be_bytes());
    let ack = if h.flags & flags::ACK != 0 { h.ack } else { 0 };
    buf.extend_from_slice(&ack.to_be_bytes());
    let data_offset_words = ((TCP_HEADER_LEN + opt_len) / 4) as u8;
    buf.extend_from_slice(&[data_offset_words << 4, h.flags]);
    buf.extend_from_slice(&h.window.to_be_bytes());
    buf.extend_from_slice(&[0, 0, 0, 0]); // checksum (filled below), urgent pointer
    if h.mss_option {
        buf.extend_from_slice(&[2, 4]);
        buf.extend_from_slice(&(MSS as u16).to_be_bytes());
    }
    buf.extend_from_slice(payload);
    let sum = transport_checksum(h.src.ip, h.dst.ip, PROTO_TCP, &buf[start..]);
    buf[start + 16..start + 18].copy_from_slice(&sum.to_be_bytes());
}

/// Build the frames carrying one UDP datagram, IPv4-fragmented when it exceeds the MTU.
///
/// Fragmenting (rather than refusing) keeps large datagrams such as EDNS responses or syslog
/// bursts representable; Wireshark reassembles them and dissects the datagram in the last
/// fragment. Unfragmented datagrams carry DF like the TCP packets; fragments cannot.
/// The caller must ensure `payload.len() <= MAX_UDP_PAYLOAD`.
pub(crate) fn udp_frames(src: Endpoint, dst: Endpoint, ip_id: u16, payload: &[u8]) -> Vec<Vec<u8>> {
    debug_assert!(payload.len() <= MAX_UDP_PAYLOAD);
    let mut dgram = Vec::with_capacity(UDP_HEADER_LEN + payload.len());
    dgram.extend_from_slice(&src.port.to_be_bytes());
    dgram.extend_from_slice(&dst.port.to_be_bytes());
    dgram.extend_from_slice(&((UDP_HEADER_LEN + payload.len()) as u16).to_be_bytes());
    dgram.extend_from_slice(&[0, 0]);
    dgram.extend_from_slice(payload);
    let mut sum = transport_checksum(src.ip, dst.ip, PROTO_UDP, &dgram);
    if sum == 0 {
        sum = 0xffff; // RFC 768: a computed zero is sent as all ones (zero means "no checksum")
    }
    dgram[6..8].copy_from_slice(&sum.to_be_bytes());

    let max_frag = (MTU - IPV4_HEADER_LEN) / 8 * 8;
    if dgram.len() <= MTU - IPV4_HEADER_LEN {
        let mut f = Vec::with_capacity(ETH_HEADER_LEN + IPV4_HEADER_LEN + dgram.len());
        push_ethernet(&mut f, src.ip, dst.ip);
        push_ipv4(&mut f, src.ip, dst.ip, PROTO_UDP, ip_id, IP_DF, dgram.len());
        f.extend_from_slice(&dgram);
        return vec![f];
    }
    let mut frames = Vec::new();
    let mut offset = 0;
    while offset < dgram.len() {
        let end = (offset + max_frag).min(dgram.len());
        let more = if end < dgram.len() { IP_MF } else { 0 };
        let frag_word = more | (offset / 8) as u16;
        let mut f = Vec::with_capacity(ETH_HEADER_LEN + IPV4_HEADER_LEN + end - offset);
        push_ethernet(&mut f, src.ip, dst.ip);
        push_ipv4(&mut f, src.ip, dst.ip, PROTO_UDP, ip_id, frag_word, end - offset);
        f.extend_from_slice(&dgram[offset..end]);
        frames.push(f);
        offset = end;
    }
    frames
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(ip: [u8; 4], port: u16) -> Endpoint {
        Endpoint { ip, port }
    }

    /// A SYN 192.168.1.10:49152 -> 192.168.1.20:502, seq 0x12345678, IP id 1, MSS 1460.
    ///
    /// Checksums by hand (16-bit words, checksum field zero):
    ///
    /// ```text
    /// IPv4: 4500 + 002c + 0001 + 4000 + 4006 + c0a8 + 010a + c0a8 + 0114 = 0x248a1
    ///       fold 0x48a1 + 0x2 = 0x48a3, complement = 0xb75c
    /// TCP:  pseudo-header c0a8 + 010a + c0a8 + 0114 + 0006 + 0018 (src, dst, proto, length 24)
    ///       + header c000 + 01f6 + 1234 + 5678 + 0000 + 0000 + 6002 + ffff + 0000 + 0000
    ///       + MSS option 0204 + 05b4
    ///       = 0x415e7, fold 0x15e7 + 0x4 = 0x15eb, complement = 0xea14
    /// ```
    #[test]
    fn syn_bytes_match_hand_computed_frame() {
        let h = TcpHeader {
            src: ep([192, 168, 1, 10], 49152),
            dst: ep([192, 168, 1, 20], 502),
            seq: 0x1234_5678,
            ack: 0xdead_beef, // must be zeroed: ACK flag not set
            flags: flags::SYN,
            window: 65535,
            mss_option: true,
        };
        let mut buf = Vec::new();
        push_tcp_frame(&mut buf, 1, &h, &[]);
        #[rustfmt::skip]
        let expected: [u8; 58] = [
            // Ethernet: dst MAC, src MAC, type IPv4
            0x02, 0x00, 192, 168, 1, 20,
            0x02, 0x00, 192, 168, 1, 10,
            0x08, 0x00,
            // IPv4: ver/ihl, tos, total 44, id 1, DF, ttl 64, proto 6, checksum, src, dst
            0x45, 0x00, 0x00, 0x2c, 0x00, 0x01, 0x40, 0x00, 0x40, 0x06, 0xb7, 0x5c,
            192, 168, 1, 10, 192, 168, 1, 20,
            // TCP: ports, seq, ack, offset 6 words, SYN, window, checksum, urgent
            0xc0, 0x00, 0x01, 0xf6,
            0x12, 0x34, 0x56, 0x78,
            0x00, 0x00, 0x00, 0x00,
            0x60, 0x02, 0xff, 0xff,
            0xea, 0x14, 0x00, 0x00,
            // MSS option 1460
            0x02, 0x04, 0x05, 0xb4,
        ];
        assert_eq!(buf, expected);
        // A header including its correct checksum sums to zero.
        assert_eq!(internet_checksum(&buf[14..34]), 0);
    }

    #[test]
    fn a_tagged_frame_carries_priority_and_vlan_in_its_tci() {
        let f = ethernet_frame([10, 0, 0, 1], [10, 0, 0, 2], Some((7, 100)), 0x88b5, &[0xab; 4]);
        assert_eq!(&f[..6], &[0x02, 0x00, 10, 0, 0, 2]);
        assert_eq!(&f[12..18], &[0x81, 0x00, 0xe0, 0x64, 0x88, 0xb5]);
        assert_eq!(&f[18..22], &[0xab; 4]);
        // Padded to 64 bytes: 60 untagged plus the tag (the FCS is not captured).
        assert_eq!(f.len(), 64);
    }

    #[test]
    fn checksum_handles_odd_length() {
        // RFC 1071 example bytes 00 01 f2 03 f4 f5 f6 f7 sum to 0xddf2 -> checksum 0x220d.
        assert_eq!(
            internet_checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            0x220d
        );
        // Odd length pads with a zero byte.
        assert_eq!(internet_checksum(&[0x01]), !0x0100);
    }

    #[test]
    fn large_udp_is_fragmented_on_8_byte_boundaries() {
        let payload = vec![0xab; 3000];
        let frames = udp_frames(ep([10, 0, 0, 1], 5000), ep([10, 0, 0, 2], 514), 7, &payload);
        assert_eq!(frames.len(), 3);
        let mut total = 0;
        for (i, f) in frames.iter().enumerate() {
            let ip = &f[14..34];
            assert_eq!(internet_checksum(ip), 0);
            let word = u16::from_be_bytes([ip[6], ip[7]]);
            assert_eq!(usize::from(word & 0x1fff) * 8, total);
            assert_eq!(word & IP_MF != 0, i < 2);
            total += f.len() - 34;
        }
        assert_eq!(total, 3008);
    }
}
