//! Per-connection TCP sequence state.
//!
//! This is a pure state machine: it decides which segments (flags, seq, ack, payload range) a
//! message turns into, and the writer turns them into bytes and timestamps. Keeping it free of
//! I/O lets the unit tests check sequence/ack progression directly.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use crate::net::pcap::Endpoint;
use crate::net::pcap::packet::{MSS, TcpHeader, flags};

/// Receive window advertised by both sides (no window scaling, so at most 65535).
pub(crate) const WINDOW: u16 = 65535;

/// Connection key independent of direction: (lower endpoint, higher endpoint).
/// Ordering by this key is what makes [`SessionTable::drain_sorted`] deterministic.
pub(crate) type ConnKey = (Endpoint, Endpoint);

/// Direction-independent key of the connection between `a` and `b`.
pub(crate) fn conn_key(a: Endpoint, b: Endpoint) -> ConnKey {
    if a <= b { (a, b) } else { (b, a) }
}

/// What a planned segment is for; the writer uses it to pick a timestamp and to decide which
/// frame numbers to report to the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SegKind {
    /// One of SYN, SYN-ACK, ACK; `step` is 0, 1, 2.
    Handshake { step: u8 },
    /// Carries application bytes.
    Data,
    /// A pure ACK the receiver sends so the sender never fills the receive window.
    WindowAck,
    /// FIN/ACK, FIN/ACK, ACK at close, or the RST answering a refused SYN.
    Teardown,
}

/// One segment to emit: header fields plus the byte range of the caller's payload it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Seg {
    pub kind: SegKind,
    pub header: TcpHeader,
    pub payload: Range<usize>,
}

/// One direction's state.
#[derive(Debug, Clone, Copy)]
struct Side {
    ep: Endpoint,
    /// Sequence number of the next byte this side sends.
    next_seq: u32,
    /// Highest acknowledgement number this side has sent (how much of the peer's stream it has
    /// acknowledged on the wire).
    acked: u32,
}

/// An established connection.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    client: Side,
    server: Side,
}

fn seg(kind: SegKind, from: &Side, to: &Side, seq: u32, ack: u32, fl: u8) -> Seg {
    Seg {
        kind,
        header: TcpHeader {
            src: from.ep,
            dst: to.ep,
            seq,
            ack,
            flags: fl,
            window: WINDOW,
            mss_option: fl & flags::SYN != 0,
        },
        payload: 0..0,
    }
}

impl Session {
    /// Open a connection and return it with its SYN, SYN-ACK, ACK.
    fn open(client: Endpoint, server: Endpoint, generation: u32) -> (Self, Vec<Seg>) {
        let c_isn = isn(client, server, generation, 0);
        let s_isn = isn(client, server, generation, 1);
        let mut c = Side {
            ep: client,
            next_seq: c_isn,
            acked: 0,
        };
        let mut s = Side {
            ep: server,
            next_seq: s_isn,
            acked: 0,
        };
        let syn = seg(SegKind::Handshake { step: 0 }, &c, &s, c_isn, 0, flags::SYN);
        c.next_seq = c_isn.wrapping_add(1);
        s.acked = c.next_seq;
        let syn_ack = seg(
            SegKind::Handshake { step: 1 },
            &s,
            &c,
            s_isn,
            s.acked,
            flags::SYN | flags::ACK,
        );
        s.next_seq = s_isn.wrapping_add(1);
        c.acked = s.next_seq;
        let ack = seg(
            SegKind::Handshake { step: 2 },
            &c,
            &s,
            c.next_seq,
            c.acked,
            flags::ACK,
        );
        (Session { client: c, server: s }, vec![syn, syn_ack, ack])
    }

    /// Segments carrying `len` application bytes sent by `from` (which must be one of the two
    /// endpoints). Every data segment acknowledges everything the peer has sent so far; if the
    /// bytes in flight would reach the peer's window, the peer first sends a pure ACK, as a real
    /// receiver would long before that point, so Wireshark never sees "window full".
    pub(crate) fn data(&mut self, from: Endpoint, len: usize) -> Vec<Seg> {
        let (tx, rx) = if from == self.client.ep {
            (&mut self.client, &mut self.server)
        } else {
            debug_assert_eq!(from, self.server.ep);
            (&mut self.server, &mut self.client)
        };
        let mut out = Vec::with_capacity(len.div_ceil(MSS));
        let mut off = 0;
        while off < len {
            let n = (len - off).min(MSS);
            let in_flight = tx.next_seq.wrapping_sub(rx.acked) as usize;
            if in_flight + n >= usize::from(WINDOW) {
                rx.acked = tx.next_seq;
                out.push(seg(SegKind::WindowAck, rx, tx, rx.next_seq, rx.acked, flags::ACK));
            }
            tx.acked = rx.next_seq;
            let mut s = seg(
                SegKind::Data,
                tx,
                rx,
                tx.next_seq,
                tx.acked,
                flags::PSH | flags::ACK,
            );
            s.payload = off..off + n;
            out.push(s);
            tx.next_seq = tx.next_seq.wrapping_add(n as u32);
            off += n;
        }
        out
    }

    /// Orderly close initiated by the client: FIN/ACK, FIN/ACK, ACK. The FINs acknowledge all
    /// outstanding data, so no byte is left unacknowledged.
    fn close(&self) -> Vec<Seg> {
        let (c, s) = (&self.client, &self.server);
        let fin_ack = flags::FIN | flags::ACK;
        let c_fin = seg(SegKind::Teardown, c, s, c.next_seq, s.next_seq, fin_ack);
        let c_after = c.next_seq.wrapping_add(1);
        let s_fin = seg(SegKind::Teardown, s, c, s.next_seq, c_after, fin_ack);
        let s_after = s.next_seq.wrapping_add(1);
        let last = seg(SegKind::Teardown, c, s, c_after, s_after, flags::ACK);
        vec![c_fin, s_fin, last]
    }
}

/// Deterministic initial sequence number: 32-bit FNV-1a over the 4-tuple (client first), the
/// number of earlier connections on this 4-tuple, and the role (0 client, 1 server).
///
/// Including the generation makes a reused 4-tuple start from a different ISN, so Wireshark sees
/// a new connection rather than a retransmitted SYN.
pub(crate) fn isn(client: Endpoint, server: Endpoint, generation: u32, role: u8) -> u32 {
    const OFFSET: u32 = 0x811c_9dc5;
    const PRIME: u32 = 0x0100_0193;
    let mut h = OFFSET;
    let mut bytes = [0u8; 17];
    bytes[0..4].copy_from_slice(&client.ip);
    bytes[4..6].copy_from_slice(&client.port.to_be_bytes());
    bytes[6..10].copy_from_slice(&server.ip);
    bytes[10..12].copy_from_slice(&server.port.to_be_bytes());
    bytes[12..16].copy_from_slice(&generation.to_be_bytes());
    bytes[16] = role;
    for b in bytes {
        h ^= u32::from(b);
        h = h.wrapping_mul(PRIME);
    }
    h
}

/// All open connections plus, per 4-tuple, how many connections it has carried.
#[derive(Debug, Default)]
pub(crate) struct SessionTable {
    open: BTreeMap<ConnKey, Session>,
    generations: HashMap<ConnKey, u32>,
}

impl SessionTable {
    fn next_generation(&mut self, key: ConnKey) -> u32 {
        let g = self.generations.entry(key).or_insert(0);
        let cur = *g;
        *g += 1;
        cur
    }

    /// Whether a connection between `a` and `b` is open (in either direction).
    pub(crate) fn is_open(&self, a: Endpoint, b: Endpoint) -> bool {
        self.open.contains_key(&conn_key(a, b))
    }

    /// The open connection between `a` and `b`, if any.
    pub(crate) fn get_mut(&mut self, a: Endpoint, b: Endpoint) -> Option<&mut Session> {
        self.open.get_mut(&conn_key(a, b))
    }

    /// Open a connection from `client` to `server` (must not be open) and return its handshake.
    pub(crate) fn open(&mut self, client: Endpoint, server: Endpoint) -> Vec<Seg> {
        let key = conn_key(client, server);
        debug_assert!(!self.open.contains_key(&key));
        let generation = self.next_generation(key);
        let (session, segs) = Session::open(client, server, generation);
        self.open.insert(key, session);
        segs
    }

    /// Close the connection between `a` and `b`, returning its teardown (empty if not open).
    pub(crate) fn close(&mut self, a: Endpoint, b: Endpoint) -> Vec<Seg> {
        self.open
            .remove(&conn_key(a, b))
            .map(|s| s.close())
            .unwrap_or_default()
    }

    /// SYN from `client` answered by RST-ACK from `server`; the 4-tuple must not be open.
    pub(crate) fn refused(&mut self, client: Endpoint, server: Endpoint) -> Vec<Seg> {
        let key = conn_key(client, server);
        let generation = self.next_generation(key);
        let c_isn = isn(client, server, generation, 0);
        let c = Side {
            ep: client,
            next_seq: c_isn,
            acked: 0,
        };
        let s = Side {
            ep: server,
            next_seq: 0,
            acked: 0,
        };
        let syn = seg(SegKind::Handshake { step: 0 }, &c, &s, c_isn, 0, flags::SYN);
        let rst = seg(
            SegKind::Teardown,
            &s,
            &c,
            0,
            c_isn.wrapping_add(1),
            flags::RST | flags::ACK,
        );
        vec![syn, rst]
    }

    /// Close every open connection, in ascending [`ConnKey`] order.
    pub(crate) fn drain_sorted(&mut self) -> Vec<Seg> {
        std::mem::take(&mut self.open)
            .into_values()
            .flat_map(|s| s.close())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HMI: Endpoint = Endpoint {
        ip: [10, 0, 1, 5],
        port: 50000,
    };
    const PLC: Endpoint = Endpoint {
        ip: [10, 0, 2, 7],
        port: 502,
    };

    #[test]
    fn handshake_then_request_response_progression() {
        let mut t = SessionTable::default();
        let hs = t.open(HMI, PLC);
        let c_isn = isn(HMI, PLC, 0, 0);
        let s_isn = isn(HMI, PLC, 0, 1);
        assert_ne!(c_isn, s_isn);
        assert_eq!(
            hs.iter()
                .map(|s| (s.header.src, s.header.seq, s.header.flags))
                .collect::<Vec<_>>(),
            vec![
                (HMI, c_isn, flags::SYN),
                (PLC, s_isn, flags::SYN | flags::ACK),
                (HMI, c_isn + 1, flags::ACK)
            ]
        );
        assert_eq!(hs[1].header.ack, c_isn + 1);
        assert_eq!(hs[2].header.ack, s_isn + 1);

        let sess = t.get_mut(PLC, HMI).expect("lookup is direction independent");
        for round in 0..3u32 {
            // 12-byte request, 29-byte response.
            let req = sess.data(HMI, 12);
            assert_eq!(req.len(), 1);
            assert_eq!(req[0].header.seq, c_isn + 1 + round * 12);
            assert_eq!(req[0].header.ack, s_isn + 1 + round * 29);
            assert_eq!(req[0].header.flags, flags::PSH | flags::ACK);
            let resp = sess.data(PLC, 29);
            assert_eq!(resp.len(), 1);
            assert_eq!(resp[0].header.seq, s_isn + 1 + round * 29);
            assert_eq!(resp[0].header.ack, c_isn + 1 + (round + 1) * 12);
        }
        let fin = t.close(HMI, PLC);
        let h: Vec<_> = fin.iter().map(|s| s.header).collect();
        assert_eq!((h[0].seq, h[0].ack), (c_isn + 37, s_isn + 88));
        assert_eq!((h[1].seq, h[1].ack), (s_isn + 88, c_isn + 38));
        assert_eq!((h[2].seq, h[2].ack), (c_isn + 38, s_isn + 89));
        assert!(!t.is_open(HMI, PLC));
    }

    #[test]
    fn payload_split_at_mss() {
        let mut t = SessionTable::default();
        t.open(HMI, PLC);
        let segs = t.get_mut(HMI, PLC).unwrap().data(PLC, 4000);
        let ranges: Vec<_> = segs.iter().map(|s| s.payload.clone()).collect();
        assert_eq!(ranges, vec![0..1460, 1460..2920, 2920..4000]);
        assert_eq!(segs[1].header.seq, segs[0].header.seq + 1460);
        assert_eq!(segs[2].header.seq, segs[0].header.seq + 2920);
    }

    #[test]
    fn receiver_acks_before_window_fills() {
        let mut t = SessionTable::default();
        t.open(HMI, PLC);
        let segs = t.get_mut(HMI, PLC).unwrap().data(PLC, 200_000);
        let mut acked = segs[0].header.seq;
        let mut next = segs[0].header.seq;
        for s in &segs {
            match s.kind {
                SegKind::Data => {
                    let len = s.payload.len() as u32;
                    assert!(next.wrapping_add(len).wrapping_sub(acked) < u32::from(WINDOW));
                    next = next.wrapping_add(len);
                }
                SegKind::WindowAck => {
                    assert_eq!(s.header.src, HMI);
                    assert_eq!(s.header.ack, next);
                    acked = next;
                }
                k => panic!("unexpected {k:?}"),
            }
        }
        assert!(segs.iter().any(|s| s.kind == SegKind::WindowAck));
    }

    #[test]
    fn reused_tuple_gets_fresh_isn_and_drain_is_sorted() {
        let mut t = SessionTable::default();
        let first = t.open(HMI, PLC)[0].header.seq;
        t.close(HMI, PLC);
        let second = t.open(HMI, PLC)[0].header.seq;
        assert_ne!(first, second);
        let other = Endpoint {
            ip: [10, 0, 0, 1],
            port: 40000,
        };
        t.open(other, PLC);
        let order: Vec<_> = t.drain_sorted().iter().map(|s| s.header.src).collect();
        assert_eq!(order, vec![other, PLC, other, HMI, PLC, HMI]);
    }
}
