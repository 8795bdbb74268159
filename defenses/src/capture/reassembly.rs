//! TCP stream reassembly for Modbus TCP, and MBAP framing of the reassembled bytes.
//!
//! A detector must see each ADU once, whole, in stream order, however TCP cut it up on the
//! wire. Per direction of a connection this module tracks sequence numbers (the SYN gives
//! the initial one; a stream first seen mid-way starts at its first segment), delivers
//! bytes in order, holds out-of-order segments (bounded), drops bytes already delivered
//! (retransmissions, counted) and skips holes the capture never saw (gaps, counted).
//!
//! A hole is declared when the other side acknowledges data beyond it (the data reached
//! the receiver, so the capture missed it and it will never come), when the held-back
//! segments exceed their bound, or at the end of the capture. Sequence numbers are turned
//! into 64-bit offsets from the stream's start so wrap-around needs no special case.
//!
//! Framing follows the MBAP header, as the wire layer's `frame_len` reads it (protocol id 0,
//! a length of 2..=254, so at most 260 bytes). Bytes that break this are not Modbus: they go out as one unit flagged invalid (detectors can see them),
//! whatever is buffered for that direction is discarded, and framing restarts at the
//! next segment, which is where a Modbus client starts a new request.

use otrange_sim::wire::modbus::{FrameStatus, frame_len};
use std::collections::BTreeMap;

/// Segments further than this from the expected sequence number are not this stream's.
const WINDOW: i64 = 1 << 20;
/// Bounds on what one direction holds back waiting for a missing segment.
const MAX_PENDING_SEGMENTS: usize = 256;
const MAX_PENDING_BYTES: usize = 256 * 1024;
/// Consecutive out-of-window segments after which the stream re-anchors on them.
const REANCHOR_AFTER: u32 = 3;

/// A TCP segment of one direction, as the reassembly needs it.
#[derive(Debug, Clone, Copy)]
pub struct Segment<'a> {
    /// TCP sequence number (of the SYN when `syn`: the data starts one after it).
    pub seq: u32,
    /// SYN: anchors the stream at `seq` + 1 (a new connection on the same ports re-anchors).
    pub syn: bool,
    /// FIN: the direction ends with this segment; bytes after it are not framed.
    pub fin: bool,
    /// RST: ignored by a stream not yet anchored, so it does not anchor on it.
    pub rst: bool,
    /// The segment's data.
    pub payload: &'a [u8],
    /// Frame number of the packet carrying it.
    pub frame: u64,
}

/// What framing made of reassembled bytes: a complete ADU, or (`valid` false) bytes that
/// cannot be Modbus. Its bytes are `range` of the [`Units`] buffer it came out in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    /// Where its bytes are in the [`Units`] buffer.
    pub range: std::ops::Range<usize>,
    /// A complete ADU by its MBAP header; false for bytes that cannot be Modbus.
    pub valid: bool,
    /// The packet whose bytes completed it.
    pub frame: u64,
}

/// The units framed while taking one packet, their bytes side by side in one buffer that
/// is reused from packet to packet: framing a capture then allocates nothing per ADU.
#[derive(Debug, Default)]
pub struct Units {
    bytes: Vec<u8>,
    list: Vec<Unit>,
}

impl Units {
    fn push(&mut self, bytes: &[u8], valid: bool, frame: u64) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(bytes);
        self.list.push(Unit {
            range: start..self.bytes.len(),
            valid,
            frame,
        });
    }

    /// How many units are held.
    pub fn len(&self) -> usize {
        self.list.len()
    }
    /// Whether no unit is held.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The units in framing order, each with its bytes.
    pub fn iter(&self) -> impl Iterator<Item = (&Unit, &[u8])> {
        self.list.iter().map(|u| (u, &self.bytes[u.range.clone()]))
    }

    /// Forgets the units, keeping the buffer's room for the next packet's.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.list.clear();
    }
}

/// Figures of the reassembly, summed over streams.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReassemblyStats {
    /// Segments with payload that were entirely already delivered.
    pub retransmitted_segments: u64,
    /// Bytes dropped because they were already delivered (whole or overlapping segments).
    pub retransmitted_bytes: u64,
    /// Segments that arrived ahead of a missing one and were held back.
    pub out_of_order_segments: u64,
    /// Holes skipped, and the bytes in them.
    pub gaps: u64,
    /// Bytes in the holes skipped (a re-anchored stream's hole is counted in `gaps` only).
    pub gap_bytes: u64,
    /// Segments far outside the stream's sequence space, ignored.
    pub out_of_window_segments: u64,
    /// Bytes of an unfinished ADU left when the capture ended.
    pub incomplete_bytes_at_end: u64,
}

/// MBAP framing of one direction's byte stream.
#[derive(Debug, Default)]
struct Framer {
    buf: Vec<u8>,
}

impl Framer {
    /// Frames `data`, the next in-order bytes of one segment. Invalid bytes take the rest
    /// of the segment with them, so framing resumes at the next segment.
    fn feed(&mut self, data: &[u8], frame: u64, out: &mut Units) {
        let mut rest = data;
        // Fast path: nothing buffered, frame straight from the segment.
        if self.buf.is_empty() {
            loop {
                match frame_len(rest) {
                    FrameStatus::Complete(n) => {
                        out.push(&rest[..n], true, frame);
                        rest = &rest[n..];
                        if rest.is_empty() {
                            return;
                        }
                    }
                    FrameStatus::Invalid(_) => {
                        out.push(rest, false, frame);
                        return;
                    }
                    FrameStatus::Incomplete => {
                        self.buf.extend_from_slice(rest);
                        return;
                    }
                }
            }
        }
        self.buf.extend_from_slice(rest);
        let mut start = 0;
        loop {
            match frame_len(&self.buf[start..]) {
                FrameStatus::Complete(n) => {
                    out.push(&self.buf[start..start + n], true, frame);
                    start += n;
                }
                FrameStatus::Invalid(_) => {
                    out.push(&self.buf[start..], false, frame);
                    self.buf.clear();
                    return;
                }
                FrameStatus::Incomplete => break,
            }
        }
        self.buf.drain(..start);
    }

    /// Bytes delivered to the framer are no longer contiguous: an ADU in progress is lost.
    fn reset(&mut self) -> usize {
        let n = self.buf.len();
        self.buf.clear();
        n
    }
}

/// A segment held back until the bytes before it arrive.
#[derive(Debug)]
struct Pending {
    data: Vec<u8>,
    fin: bool,
    frame: u64,
}

/// One direction of a TCP connection.
#[derive(Debug, Default)]
pub struct Stream {
    /// Sequence number at offset 0, once the stream is anchored.
    base: Option<u32>,
    /// Offset of the next byte expected.
    next: u64,
    /// Highest offset the other side has acknowledged.
    peer_acked: Option<u64>,
    pending: BTreeMap<u64, Pending>,
    pending_bytes: usize,
    out_of_window_run: u32,
    fin_done: bool,
    framer: Framer,
}

impl Stream {
    /// Offset of sequence number `seq`, or None when it is outside the window.
    fn offset(&self, seq: u32) -> Option<u64> {
        let base = self.base?;
        let next_seq = base.wrapping_add(self.next as u32);
        let diff = i64::from(seq.wrapping_sub(next_seq) as i32);
        if diff.abs() > WINDOW {
            return None;
        }
        u64::try_from(self.next as i64 + diff).ok()
    }

    /// Starts the stream so that `first_data_seq` is offset 0.
    fn anchor(&mut self, first_data_seq: u32) {
        self.base = Some(first_data_seq);
        self.next = 0;
        self.peer_acked = None;
        self.pending.clear();
        self.pending_bytes = 0;
        self.out_of_window_run = 0;
        self.fin_done = false;
        self.framer.reset();
    }

    /// The other side acknowledged up to `ack`: a hole before held-back data is now known
    /// to be lost to the capture.
    pub fn peer_ack(&mut self, ack: u32, stats: &mut ReassemblyStats, out: &mut Units) {
        let Some(off) = self.offset(ack) else { return };
        self.peer_acked = Some(self.peer_acked.map_or(off, |p| p.max(off)));
        if off > self.next && !self.pending.is_empty() {
            self.skip_to_pending(stats);
            self.drain(stats, out);
        }
    }

    /// Takes one segment of this direction.
    pub fn segment(&mut self, seg: &Segment<'_>, stats: &mut ReassemblyStats, out: &mut Units) {
        // A SYN sets the initial sequence number (a new connection on the same ports
        // re-anchors the stream); a retransmitted SYN changes nothing.
        if seg.syn && self.base != Some(seg.seq.wrapping_add(1)) {
            self.anchor(seg.seq.wrapping_add(1));
        }
        if self.base.is_none() {
            if seg.rst {
                return;
            }
            self.anchor(seg.seq);
        }
        let seq = if seg.syn { seg.seq.wrapping_add(1) } else { seg.seq };
        if seg.payload.is_empty() && !seg.fin {
            return;
        }
        let Some(mut off) = self.offset(seq) else {
            stats.out_of_window_segments += 1;
            self.out_of_window_run += 1;
            if self.out_of_window_run >= REANCHOR_AFTER {
                // The stream has moved on (or the capture lost a lot of it): follow it.
                stats.gaps += 1;
                self.anchor(seq);
                self.deliver(seg.payload, seg.fin, seg.frame, out);
            }
            return;
        };
        self.out_of_window_run = 0;
        let mut data = seg.payload;
        let end = off + data.len() as u64;
        if !data.is_empty() && end <= self.next {
            stats.retransmitted_segments += 1;
            stats.retransmitted_bytes += data.len() as u64;
            return;
        }
        if off < self.next {
            let dup = (self.next - off) as usize;
            stats.retransmitted_bytes += dup as u64;
            data = &data[dup.min(data.len())..];
            off = self.next;
        }
        if off > self.next {
            if self.peer_acked.is_some_and(|a| a > self.next) {
                // The receiver already has the bytes before this segment: the capture
                // missed them.
                stats.gaps += 1;
                stats.gap_bytes += off - self.next;
                self.next = off;
                self.framer.reset();
            } else {
                stats.out_of_order_segments += 1;
                let keep = self.pending.get(&off).is_none_or(|p| p.data.len() < data.len());
                if keep {
                    if let Some(old) = self.pending.insert(
                        off,
                        Pending {
                            data: data.to_vec(),
                            fin: seg.fin,
                            frame: seg.frame,
                        },
                    ) {
                        self.pending_bytes -= old.data.len();
                    }
                    self.pending_bytes += data.len();
                }
                if self.pending.len() > MAX_PENDING_SEGMENTS || self.pending_bytes > MAX_PENDING_BYTES {
                    self.skip_to_pending(stats);
                    self.drain(stats, out);
                }
                return;
            }
        }
        self.deliver(data, seg.fin, seg.frame, out);
        self.drain(stats, out);
    }

    /// Hands in-order bytes to the framer and advances.
    fn deliver(&mut self, data: &[u8], fin: bool, frame: u64, out: &mut Units) {
        if self.fin_done {
            // Bytes after the FIN belong to no stream; keep sequence tracking honest.
            self.next += data.len() as u64;
            return;
        }
        if !data.is_empty() {
            self.framer.feed(data, frame, out);
            self.next += data.len() as u64;
        }
        if fin {
            self.next += 1;
            self.fin_done = true;
        }
    }

    /// Delivers held-back segments that are now in order.
    fn drain(&mut self, stats: &mut ReassemblyStats, out: &mut Units) {
        while let Some(entry) = self.pending.first_entry() {
            let off = *entry.key();
            if off > self.next {
                break;
            }
            let p = entry.remove();
            self.pending_bytes -= p.data.len();
            let end = off + p.data.len() as u64;
            if end <= self.next && !p.data.is_empty() {
                stats.retransmitted_bytes += p.data.len() as u64;
                continue;
            }
            let skip = (self.next - off) as usize;
            stats.retransmitted_bytes += skip as u64;
            self.deliver(&p.data[skip.min(p.data.len())..], p.fin, p.frame, out);
        }
    }

    /// Declares the hole before the first held-back segment lost.
    fn skip_to_pending(&mut self, stats: &mut ReassemblyStats) {
        if let Some((&off, _)) = self.pending.first_key_value()
            && off > self.next
        {
            stats.gaps += 1;
            stats.gap_bytes += off - self.next;
            self.next = off;
            self.framer.reset();
        }
    }

    /// End of capture: whatever is held back is delivered across its holes.
    pub fn finish(&mut self, stats: &mut ReassemblyStats, out: &mut Units) {
        while !self.pending.is_empty() {
            self.skip_to_pending(stats);
            self.drain(stats, out);
        }
        stats.incomplete_bytes_at_end += self.framer.reset() as u64;
    }
}
