//! The pcap file format and the [`PcapWriter`] front end.
//!
//! Format: classic libpcap with nanosecond timestamps (magic `0xa1b23c4d`, written
//! little-endian), version 2.4, linktype 1 (Ethernet). Each record is a 16-byte header
//! (seconds, nanoseconds, captured length, original length) followed by the frame.

use std::collections::HashMap;
use std::io::{self, Write};

use crate::net::pcap::Endpoint;
use crate::net::pcap::packet::{self, MAX_UDP_PAYLOAD};
use crate::net::pcap::tcp_session::{Seg, SegKind, SessionTable};

/// Magic number of nanosecond-resolution pcap files.
const MAGIC_NANOS: u32 = 0xa1b2_3c4d;
/// Largest frame we promise to store whole; our frames never exceed 1514 bytes.
const SNAPLEN: u32 = 65535;
/// pcap link type for Ethernet II.
const LINKTYPE_ETHERNET: u32 = 1;
/// Per-record header: seconds, nanoseconds, captured length, original length.
const RECORD_HEADER_LEN: usize = 16;
const NS_PER_SEC: u64 = 1_000_000_000;
/// Spacing between handshake packets (and between a refused SYN and its RST).
const HANDSHAKE_STEP_NS: u64 = 1_000;

/// The 24-byte pcap global header.
fn global_header() -> [u8; 24] {
    let mut h = [0u8; 24];
    h[0..4].copy_from_slice(&MAGIC_NANOS.to_le_bytes());
    h[4..6].copy_from_slice(&2u16.to_le_bytes());
    h[6..8].copy_from_slice(&4u16.to_le_bytes());
    // thiszone (8..12) and sigfigs (12..16) are zero.
    h[16..20].copy_from_slice(&SNAPLEN.to_le_bytes());
    h[20..24].copy_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
    h
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// Writes simulated application traffic as an Ethernet/IPv4/TCP/UDP capture that Wireshark
/// dissects and reassembles as if it had been captured on a real switch mirror port.
///
/// TCP connections are synthesised on demand: the first message on a 4-tuple opens a connection
/// with a three-way handshake, later messages continue its sequence space, and [`finish`]
/// closes whatever is still open. Everything is deterministic (no clock, no randomness): the same
/// calls produce byte-identical files, which keeps simulator runs reproducible and diffable.
///
/// **Timestamps.** Frames are written in call order and pcap readers expect time order, so any
/// timestamp earlier than the last frame written is clamped up to it (it is never an error).
///
/// **Performance.** One `write_all` is issued per frame; wrap files in a
/// [`std::io::BufWriter`].
///
/// [`finish`]: PcapWriter::finish
pub struct PcapWriter<W: Write> {
    out: W,
    frames: u64,
    last_ts: u64,
    /// Calendar time of simulated time zero, added to every record's timestamp.
    epoch_ns: u64,
    /// Next IPv4 identification per source address (real stacks keep a per-host counter).
    ip_ids: HashMap<[u8; 4], u16>,
    sessions: SessionTable,
    /// Reused frame buffer (record header + frame) to avoid an allocation per frame.
    buf: Vec<u8>,
}

impl<W: Write> PcapWriter<W> {
    /// Start a capture by writing the pcap global header (nanosecond resolution so simulated
    /// timestamps survive exactly, Ethernet link type, snaplen 65535).
    pub fn new(mut out: W) -> io::Result<Self> {
        out.write_all(&global_header())?;
        Ok(PcapWriter {
            out,
            frames: 0,
            last_ts: 0,
            epoch_ns: 0,
            ip_ids: HashMap::new(),
            sessions: SessionTable::default(),
            buf: Vec::with_capacity(1600),
        })
    }

    /// Timestamps from now on are `unix_ns` plus simulated time: the run's calendar start.
    pub fn set_epoch(&mut self, unix_ns: u64) {
        self.epoch_ns = unix_ns;
    }

    /// Number of frames written so far, which is also the frame number of the last frame
    /// (Wireshark numbers frames from 1).
    pub fn frames_written(&self) -> u64 {
        self.frames
    }

    /// One application message from `src` to `dst` at simulated time `ts_ns`.
    ///
    /// The first message on a 4-tuple (either direction; whoever sends first is the client)
    /// is preceded by SYN, SYN-ACK, ACK stamped 3, 2 and 1 µs earlier (never earlier than the
    /// previous frame). Payloads larger than the MSS (1460) are split into several PSH/ACK
    /// segments; if the sender's unacknowledged bytes would fill the 65535-byte window, the
    /// receiver's pure ACK is inserted first.
    ///
    /// Returns the 1-based frame numbers of the data segments, so callers can label frames
    /// (handshake and window ACK frames are not included). An empty payload only opens the
    /// connection (if needed) and returns no frames, because a zero-length data segment would
    /// show up in Wireshark as a duplicate ACK.
    pub fn tcp_payload(
        &mut self,
        ts_ns: u64,
        src: Endpoint,
        dst: Endpoint,
        payload: &[u8],
    ) -> io::Result<Vec<u64>> {
        self.ensure_open(ts_ns, src, dst)?;
        let segs = self
            .sessions
            .get_mut(src, dst)
            .expect("connection was just opened")
            .data(src, payload.len());
        let mut frames = Vec::with_capacity(segs.len());
        for seg in &segs {
            let frame = self.write_seg(ts_ns, seg, &payload[seg.payload.clone()])?;
            if seg.kind == SegKind::Data {
                frames.push(frame);
            }
        }
        Ok(frames)
    }

    /// Open a connection from `client` to `server` with a three-way handshake ending at `ts_ns`,
    /// without sending data.
    ///
    /// Needed for server-speaks-first protocols (SSH, SMTP banners), where the first message's
    /// sender is not the client. Does nothing if the connection is already open.
    pub fn tcp_connect(&mut self, ts_ns: u64, client: Endpoint, server: Endpoint) -> io::Result<()> {
        self.ensure_open(ts_ns, client, server)
    }

    /// Close the connection between `a` and `b` (FIN/ACK from the client, FIN/ACK from the
    /// server, final ACK) at `ts_ns`. Returns whether a connection was open.
    ///
    /// A later message on the same 4-tuple opens a new connection with a new ISN; Wireshark
    /// marks its SYN "TCP port numbers reused" (a note, as in real captures).
    pub fn tcp_close(&mut self, ts_ns: u64, a: Endpoint, b: Endpoint) -> io::Result<bool> {
        let segs = self.sessions.close(a, b);
        for seg in &segs {
            self.write_seg(ts_ns, seg, &[])?;
        }
        Ok(!segs.is_empty())
    }

    /// One UDP datagram (DNS, syslog, ...) from `src` to `dst` at `ts_ns`; UDP has no session
    /// state. Datagrams that do not fit a 1500-byte MTU are IPv4-fragmented like a real stack
    /// would; the returned frame number is the last fragment's, which is where Wireshark shows
    /// the reassembled datagram. Payloads over 65507 bytes cannot be represented in IPv4 and
    /// are rejected with [`io::ErrorKind::InvalidInput`].
    pub fn udp_payload(
        &mut self,
        ts_ns: u64,
        src: Endpoint,
        dst: Endpoint,
        payload: &[u8],
    ) -> io::Result<u64> {
        if payload.len() > MAX_UDP_PAYLOAD {
            return Err(invalid(format!(
                "UDP payload of {} bytes exceeds the IPv4 maximum of {MAX_UDP_PAYLOAD}",
                payload.len()
            )));
        }
        let id = self.next_ip_id(src.ip);
        for frame in packet::udp_frames(src, dst, id, payload) {
            self.begin_record();
            self.buf.extend_from_slice(&frame);
            self.write_buf(ts_ns)?;
        }
        Ok(self.frames)
    }

    /// A layer-2 frame (no IP) from the host with address `src` to the host with `dst`, with
    /// an 802.1Q tag (priority, VLAN id) if given, as a TSN stream's frame appears on a
    /// mirror port. Returns its frame number.
    pub fn ethernet_payload(
        &mut self,
        ts_ns: u64,
        src: [u8; 4],
        dst: [u8; 4],
        tag: Option<(u8, u16)>,
        ethertype: u16,
        payload: &[u8],
    ) -> io::Result<u64> {
        if payload.len() > packet::MTU {
            return Err(invalid(format!(
                "layer-2 payload of {} bytes exceeds the {}-byte MTU",
                payload.len(),
                packet::MTU
            )));
        }
        let frame = packet::ethernet_frame(src, dst, tag, ethertype, payload);
        self.begin_record();
        self.buf.extend_from_slice(&frame);
        self.write_buf(ts_ns)
    }

    /// A TCP SYN from `src` answered by an RST-ACK from `dst` (a scan hitting a closed port, or
    /// a firewall reject): SYN 1 µs before `ts_ns`, RST-ACK at `ts_ns`.
    ///
    /// Fails with [`io::ErrorKind::InvalidInput`] if a connection on this 4-tuple is open,
    /// since a stack would not send that SYN. Wireshark flags the RST with its usual
    /// "Connection reset" warning-level expert item, which is the point of a refused connection.
    pub fn tcp_refused(&mut self, ts_ns: u64, src: Endpoint, dst: Endpoint) -> io::Result<()> {
        if self.sessions.is_open(src, dst) {
            return Err(invalid(format!(
                "tcp_refused {src} -> {dst}: a connection on this 4-tuple is open"
            )));
        }
        for seg in self.sessions.refused(src, dst) {
            let ts = match seg.kind {
                SegKind::Handshake { .. } => ts_ns.saturating_sub(HANDSHAKE_STEP_NS),
                _ => ts_ns,
            };
            self.write_seg(ts, &seg, &[])?;
        }
        Ok(())
    }

    /// Close every open connection with FIN/ACK exchanges at `ts_ns`, in ascending order of
    /// (lower endpoint, higher endpoint) so the output is deterministic, flush, and return the
    /// underlying writer. Closing acknowledges every byte sent, so Wireshark sees complete
    /// conversations.
    pub fn finish(mut self, ts_ns: u64) -> io::Result<W> {
        for seg in self.sessions.drain_sorted() {
            self.write_seg(ts_ns, &seg, &[])?;
        }
        self.out.flush()?;
        Ok(self.out)
    }

    /// Open the connection between `src` and `dst` with `src` as client, if not open yet.
    fn ensure_open(&mut self, ts_ns: u64, src: Endpoint, dst: Endpoint) -> io::Result<()> {
        if src == dst {
            return Err(invalid(format!("TCP source and destination are both {src}")));
        }
        if self.sessions.is_open(src, dst) {
            return Ok(());
        }
        for seg in self.sessions.open(src, dst) {
            let SegKind::Handshake { step } = seg.kind else {
                unreachable!("open() only returns handshake segments")
            };
            let back = HANDSHAKE_STEP_NS * (3 - u64::from(step));
            self.write_seg(ts_ns.saturating_sub(back), &seg, &[])?;
        }
        Ok(())
    }

    fn next_ip_id(&mut self, ip: [u8; 4]) -> u16 {
        // Start each host's counter at a value derived from its address, like the differing
        // counters of real hosts, but deterministic.
        let id = self
            .ip_ids
            .entry(ip)
            .or_insert_with(|| u16::from_be_bytes([ip[2], ip[3]]).wrapping_mul(257));
        let cur = *id;
        *id = id.wrapping_add(1);
        cur
    }

    fn write_seg(&mut self, ts_ns: u64, seg: &Seg, payload: &[u8]) -> io::Result<u64> {
        let id = self.next_ip_id(seg.header.src.ip);
        self.begin_record();
        packet::push_tcp_frame(&mut self.buf, id, &seg.header, payload);
        self.write_buf(ts_ns)
    }

    /// Reset `self.buf` to a zeroed record header, ready for the frame bytes.
    fn begin_record(&mut self) {
        self.buf.clear();
        self.buf.extend_from_slice(&[0; RECORD_HEADER_LEN]);
    }

    /// Write `self.buf` (record header placeholder + frame) as one record at `ts_ns` (clamped
    /// to be non-decreasing); returns its frame number.
    fn write_buf(&mut self, ts_ns: u64) -> io::Result<u64> {
        let sim_ts = ts_ns.max(self.last_ts);
        let ts = sim_ts.saturating_add(self.epoch_ns);
        let len = u32::try_from(self.buf.len() - RECORD_HEADER_LEN).expect("frame fits in u32");
        debug_assert!(len <= SNAPLEN);
        let secs = u32::try_from(ts / NS_PER_SEC).map_err(|_| {
            invalid(format!(
                "timestamp {ts} ns is beyond the pcap 32-bit seconds range"
            ))
        })?;
        let rec = &mut self.buf[..RECORD_HEADER_LEN];
        rec[0..4].copy_from_slice(&secs.to_le_bytes());
        rec[4..8].copy_from_slice(&((ts % NS_PER_SEC) as u32).to_le_bytes());
        rec[8..12].copy_from_slice(&len.to_le_bytes());
        rec[12..16].copy_from_slice(&len.to_le_bytes());
        self.out.write_all(&self.buf)?;
        self.last_ts = sim_ts;
        self.frames += 1;
        Ok(self.frames)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(ip: [u8; 4], port: u16) -> Endpoint {
        Endpoint { ip, port }
    }

    /// Minimal reader for our own output: (ts_ns, frame bytes) per record.
    fn records(file: &[u8]) -> Vec<(u64, Vec<u8>)> {
        assert_eq!(&file[0..4], &[0x4d, 0x3c, 0xb2, 0xa1]);
        assert_eq!(&file[20..24], &[1, 0, 0, 0]);
        let mut out = Vec::new();
        let mut i = 24;
        while i < file.len() {
            let word = |o: usize| u32::from_le_bytes(file[i + o..i + o + 4].try_into().unwrap());
            let ts = u64::from(word(0)) * NS_PER_SEC + u64::from(word(4));
            let len = word(8) as usize;
            assert_eq!(len, word(12) as usize);
            out.push((ts, file[i + 16..i + 16 + len].to_vec()));
            i += 16 + len;
        }
        out
    }

    /// TCP flags byte, or 0 for non-TCP frames.
    fn tcp_flags(frame: &[u8]) -> u8 {
        if frame[23] != 6 {
            return 0;
        }
        frame[14 + 20 + 13]
    }

    #[test]
    fn frame_numbers_handshake_timing_and_split() {
        let hmi = ep([10, 0, 1, 5], 50000);
        let plc = ep([10, 0, 2, 7], 502);
        let mut w = PcapWriter::new(Vec::new()).unwrap();
        let t0 = 5 * NS_PER_SEC;
        assert_eq!(w.tcp_payload(t0, hmi, plc, &[0u8; 12]).unwrap(), vec![4]);
        assert_eq!(w.tcp_payload(t0 + 100, plc, hmi, &[0u8; 29]).unwrap(), vec![5]);
        // 4000 bytes -> 1460 + 1460 + 1080, frames 6, 7, 8.
        assert_eq!(
            w.tcp_payload(t0 + 200, plc, hmi, &[7u8; 4000]).unwrap(),
            vec![6, 7, 8]
        );
        // Earlier timestamp is clamped, not an error.
        assert_eq!(w.udp_payload(t0 - 1, hmi, plc, b"x").unwrap(), 9);
        assert_eq!(w.frames_written(), 9);
        let file = w.finish(t0 + 1000).unwrap();
        let recs = records(&file);
        assert_eq!(recs.len(), 12);
        let ts: Vec<u64> = recs.iter().map(|r| r.0).collect();
        assert_eq!(&ts[..4], &[t0 - 3000, t0 - 2000, t0 - 1000, t0]);
        assert_eq!(ts[8], t0 + 200);
        assert!(ts.windows(2).all(|w| w[0] <= w[1]));
        let sizes: Vec<usize> = recs[5..8].iter().map(|r| r.1.len() - 54).collect();
        assert_eq!(sizes, vec![1460, 1460, 1080]);
        use packet::flags::*;
        let fl: Vec<u8> = recs.iter().map(|r| tcp_flags(&r.1)).collect();
        assert_eq!(&fl[..4], &[SYN, SYN | ACK, ACK, PSH | ACK]);
        assert_eq!(&fl[9..], &[FIN | ACK, FIN | ACK, ACK]);
        assert_eq!(recs[8].1[23], 17, "frame 9 is UDP");
    }

    #[test]
    fn handshake_never_precedes_previous_frame() {
        let a = ep([10, 0, 0, 1], 40000);
        let b = ep([10, 0, 0, 2], 80);
        let c = ep([10, 0, 0, 3], 40001);
        let mut w = PcapWriter::new(Vec::new()).unwrap();
        w.tcp_payload(10_000, a, b, b"GET").unwrap();
        w.tcp_payload(10_500, c, b, b"GET").unwrap();
        let recs = records(&w.finish(20_000).unwrap());
        let ts: Vec<u64> = recs.iter().map(|r| r.0).collect();
        assert_eq!(
            &ts[..8],
            &[7000, 8000, 9000, 10_000, 10_000, 10_000, 10_000, 10_500]
        );
    }

    #[test]
    fn output_is_deterministic_and_refused_rejects_open_tuple() {
        let run = || {
            let a = ep([10, 0, 0, 1], 40000);
            let b = ep([10, 0, 0, 2], 445);
            let mut w = PcapWriter::new(Vec::new()).unwrap();
            w.tcp_payload(1_000_000, a, b, &[1; 3000]).unwrap();
            assert!(w.tcp_refused(2_000_000, a, b).is_err());
            w.tcp_refused(2_000_000, a, ep([10, 0, 0, 2], 446)).unwrap();
            w.finish(3_000_000).unwrap()
        };
        assert_eq!(run(), run());
    }
}
