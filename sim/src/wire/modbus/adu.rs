//! The Modbus TCP ADU: MBAP header checks, a checked view of the fields, stream framing.
//!
//! Modbus TCP frames are delimited by the MBAP *length* field, never by the
//! function code. `modbus_core::tcp::decode` guesses the PDU length from the
//! function code, which fails for FC 8, 17 and 43 and can index past the end of
//! a short buffer for FC 15/16, so this module checks the header itself; modbus-core
//! encodes and decodes the PDUs inside ([`super::request`], [`super::response`]).
//!
//! MBAP header layout (Modbus Messaging on TCP/IP Implementation Guide v1.0b, 3.1.3):
//!
//! ```text
//! byte 0..2  transaction id   (echoed by the server)
//! byte 2..4  protocol id      (0 = Modbus)
//! byte 4..6  length           (number of following bytes: unit id + PDU)
//! byte 6     unit id
//! byte 7..   PDU              (function code + data, at most 253 bytes)
//! ```

use std::fmt;

/// Size of the MBAP header including the unit id.
pub const MBAP_HEADER_LEN: usize = 7;
/// Largest PDU allowed by the Modbus Application Protocol spec v1.1b3, 4.1
/// (256 bytes of a serial ADU minus address and CRC).
pub const MAX_PDU_LEN: usize = 253;
/// Largest Modbus TCP ADU: MBAP header plus the largest PDU.
pub const MAX_ADU_LEN: usize = MBAP_HEADER_LEN + MAX_PDU_LEN;

/// Why an ADU was rejected before its PDU was looked at.
///
/// A Modbus TCP server cannot answer such frames in a meaningful way (it may
/// not even know where the next frame starts), so the server drops them and
/// reports the reason for the range's event log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MalformedReason {
    /// Fewer than 8 bytes: no room for MBAP header and function code.
    TooShort {
        /// Number of bytes received.
        len: usize,
    },
    /// More than [`MAX_ADU_LEN`] (260) bytes.
    TooLong {
        /// Number of bytes received.
        len: usize,
    },
    /// The protocol id is not 0 (Modbus).
    ProtocolId(u16),
    /// The MBAP length field does not match the bytes that follow it.
    LengthMismatch {
        /// Value of the MBAP length field.
        declared: u16,
        /// Number of bytes actually following the length field.
        actual: usize,
    },
}

impl fmt::Display for MalformedReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooShort { len } => write!(f, "ADU of {len} bytes is shorter than 8 bytes"),
            Self::TooLong { len } => {
                write!(f, "ADU of {len} bytes is longer than {MAX_ADU_LEN} bytes")
            }
            Self::ProtocolId(id) => write!(f, "protocol id {id} is not 0 (Modbus)"),
            Self::LengthMismatch { declared, actual } => write!(
                f,
                "MBAP length field says {declared} bytes but {actual} bytes follow it"
            ),
        }
    }
}

impl std::error::Error for MalformedReason {}

/// A Modbus TCP ADU borrowed from its bytes, in the style of smoltcp's wire types: build it
/// with [`Adu::new_checked`] (exactly one valid ADU) or [`Adu::first_in`] (the first ADU of a
/// buffer that may carry more), then read its fields without further checks. Every component
/// that looks at Modbus bytes (servers, clients, the live sockets, capture reassembly, the
/// policy matcher, detectors, attack techniques) reads them through this view, so what
/// counts as a valid ADU is decided here once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Adu<'a> {
    bytes: &'a [u8],
}

impl<'a> Adu<'a> {
    /// Validates one complete ADU (exactly one frame, no trailing bytes).
    ///
    /// The checks run in a fixed order so that the reported reason is deterministic:
    /// size bounds, protocol id, then the MBAP length against the real byte count.
    pub fn new_checked(bytes: &'a [u8]) -> Result<Adu<'a>, MalformedReason> {
        if bytes.len() < MBAP_HEADER_LEN + 1 {
            return Err(MalformedReason::TooShort { len: bytes.len() });
        }
        if bytes.len() > MAX_ADU_LEN {
            return Err(MalformedReason::TooLong { len: bytes.len() });
        }
        let protocol = u16::from_be_bytes([bytes[2], bytes[3]]);
        if protocol != 0 {
            return Err(MalformedReason::ProtocolId(protocol));
        }
        let declared = u16::from_be_bytes([bytes[4], bytes[5]]);
        let actual = bytes.len() - 6;
        if usize::from(declared) != actual {
            return Err(MalformedReason::LengthMismatch { declared, actual });
        }
        Ok(Adu { bytes })
    }

    /// The first ADU of `bytes` when its header is sound (what [`frame_len`] accepts) and
    /// the bytes hold all of it; trailing bytes (a second ADU in the same segment of a
    /// capture) are left out. For observers of arbitrary traffic, which skip what they
    /// cannot read rather than say why.
    pub fn first_in(bytes: &'a [u8]) -> Option<Adu<'a>> {
        match frame_len(bytes) {
            FrameStatus::Complete(n) => Some(Adu { bytes: &bytes[..n] }),
            FrameStatus::Incomplete | FrameStatus::Invalid(_) => None,
        }
    }

    /// A view of bytes that are at least long enough to hold a header and a function code,
    /// nothing else checked: for observers that must look at broken frames too (an
    /// allow-list flags a malformed frame's function like any other).
    pub fn new_unchecked(bytes: &'a [u8]) -> Option<Adu<'a>> {
        (bytes.len() > MBAP_HEADER_LEN).then_some(Adu { bytes })
    }

    /// The whole ADU.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }
    /// MBAP transaction id, which the server echoes.
    pub fn transaction_id(&self) -> u16 {
        u16::from_be_bytes([self.bytes[0], self.bytes[1]])
    }
    /// MBAP unit id (the serial address behind a gateway; 0 or 255 for the device itself).
    pub fn unit_id(&self) -> u8 {
        self.bytes[6]
    }
    /// The function code (with the 0x80 bit of an exception answer).
    pub fn function(&self) -> u8 {
        self.bytes[7]
    }
    /// Function code and data; never empty.
    pub fn pdu(&self) -> &'a [u8] {
        &self.bytes[MBAP_HEADER_LEN..]
    }
    /// The PDU after its function code.
    pub fn data(&self) -> &'a [u8] {
        &self.bytes[MBAP_HEADER_LEN + 1..]
    }
    /// The big-endian word at byte `at` of [`Adu::data`], if the data reaches that far.
    pub fn data_u16(&self, at: usize) -> Option<u16> {
        be_u16(self.data(), at)
    }
    /// The data byte at `at`, if the data reaches that far.
    pub fn data_u8(&self, at: usize) -> Option<u8> {
        self.data().get(at).copied()
    }
}

/// What is wrong with an MBAP header, field by field, as an IDS reports it (Suricata's
/// `modbus.invalid_protocol_id` and `modbus.invalid_length` events).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderFaults {
    /// The protocol id is not 0.
    pub protocol_id: bool,
    /// The length field is outside 2..=254 or disagrees with the bytes that follow it.
    pub length: bool,
}

impl HeaderFaults {
    /// The header's faults; `None` when the 7 header bytes are not all there (a field
    /// must be present to be wrong).
    pub fn of(bytes: &[u8]) -> Option<HeaderFaults> {
        if bytes.len() < MBAP_HEADER_LEN {
            return None;
        }
        let len = usize::from(u16::from_be_bytes([bytes[4], bytes[5]]));
        Some(HeaderFaults {
            protocol_id: bytes[2] != 0 || bytes[3] != 0,
            length: !(2..=MAX_PDU_LEN + 1).contains(&len) || len != bytes.len() - 6,
        })
    }
}

/// An ADU's bytes as the emitters produce them and frames carry them: held inline up to
/// 32 bytes (every read request, and every answer of up to eleven registers), on the heap
/// beyond. A SCADA server polling ten thousand PLCs sends and receives thousands of frames
/// a simulated second; a vector of their own for each was an allocation and a free (a cold
/// one, by the time the answer is read) per frame.
pub type AduBytes = smallvec::SmallVec<[u8; 32]>;

/// Writes an MBAP header for a PDU of `pdu_len` bytes: protocol 0, the length field from
/// the PDU (saturating, so over-long PDUs can be produced for robustness tests).
pub fn emit_header(out: &mut impl Extend<u8>, transaction_id: u16, unit_id: u8, pdu_len: usize) {
    let len = u16::try_from(1 + pdu_len).unwrap_or(u16::MAX);
    out.extend(transaction_id.to_be_bytes());
    out.extend([0, 0]);
    out.extend(len.to_be_bytes());
    out.extend([unit_id]);
}

/// An ADU carrying `pdu` (function code and data) under the given header fields.
pub fn emit_adu(transaction_id: u16, unit_id: u8, pdu: &[u8]) -> AduBytes {
    let mut out = AduBytes::with_capacity(MBAP_HEADER_LEN + pdu.len());
    emit_header(&mut out, transaction_id, unit_id, pdu.len());
    out.extend_from_slice(pdu);
    out
}

/// Result of looking for the first frame in a TCP byte stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameStatus {
    /// More bytes are needed before the frame length is known or complete.
    Incomplete,
    /// The first `n` bytes of the buffer are one frame (pass them to the server).
    Complete(usize),
    /// The header cannot start a valid frame; a real device closes the connection.
    Invalid(MalformedReason),
}

/// Splits a TCP byte stream into ADUs by the MBAP length field: a live server's socket, a
/// capture's reassembled stream and a simulated client all frame through here.
///
/// A protocol id other than 0 is refused as soon as its two bytes have arrived; a length
/// field outside 2..=254 (unit id and function code at least, a PDU of at most 253 bytes)
/// as soon as it has.
pub fn frame_len(stream: &[u8]) -> FrameStatus {
    if stream.len() >= 4 {
        let protocol = u16::from_be_bytes([stream[2], stream[3]]);
        if protocol != 0 {
            return FrameStatus::Invalid(MalformedReason::ProtocolId(protocol));
        }
    }
    if stream.len() < 6 {
        return FrameStatus::Incomplete;
    }
    let declared = u16::from_be_bytes([stream[4], stream[5]]);
    let total = 6 + usize::from(declared);
    if declared < 2 {
        return FrameStatus::Invalid(MalformedReason::TooShort { len: total });
    }
    if total > MAX_ADU_LEN {
        return FrameStatus::Invalid(MalformedReason::TooLong { len: total });
    }
    if stream.len() < total {
        FrameStatus::Incomplete
    } else {
        FrameStatus::Complete(total)
    }
}

/// Overwrites an ADU's transaction id (the MBAP header's first two bytes), if it has a
/// header: a client that lays a request out once sends it again under each new id.
pub fn set_transaction_id(adu: &mut [u8], transaction_id: u16) -> bool {
    match adu.get_mut(..2) {
        Some(id) => {
            id.copy_from_slice(&transaction_id.to_be_bytes());
            true
        }
        None => false,
    }
}

/// Overwrites the big-endian word at byte `at` of an ADU's data (after the function code),
/// if the bytes reach that far; an adversary in the middle rewrites answers this way.
pub fn set_data_u16(adu: &mut [u8], at: usize, value: u16) -> bool {
    let start = MBAP_HEADER_LEN + 1 + at;
    match adu.get_mut(start..start + 2) {
        Some(word) => {
            word.copy_from_slice(&value.to_be_bytes());
            true
        }
        None => false,
    }
}

/// Reads a big-endian `u16` at `at`; `None` when the slice is too short. For PDU fields;
/// the header's are read through [`Adu`].
pub fn be_u16(bytes: &[u8], at: usize) -> Option<u16> {
    let hi = *bytes.get(at)?;
    let lo = *bytes.get(at + 1)?;
    Some(u16::from_be_bytes([hi, lo]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_sent_again_carries_only_its_new_transaction_id() {
        let mut adu = emit_adu(0, 0x11, &[0x03, 0, 0x10, 0, 4]);
        assert!(set_transaction_id(&mut adu, 0xBEEF));
        assert_eq!(&adu[..], &[0xBE, 0xEF, 0, 0, 0, 6, 0x11, 0x03, 0, 0x10, 0, 4]);
        assert!(!set_transaction_id(&mut [0x01], 7), "no header to write into");
    }

    #[test]
    fn parse_valid_frame() {
        // tid 0x0102, proto 0, len 6, unit 0x11, PDU 03 0000 0001
        let adu = [0x01, 0x02, 0, 0, 0, 6, 0x11, 0x03, 0, 0, 0, 1];
        let f = Adu::new_checked(&adu).unwrap();
        assert_eq!(f.transaction_id(), 0x0102);
        assert_eq!(f.unit_id(), 0x11);
        assert_eq!(f.function(), 0x03);
        assert_eq!(f.pdu(), &[0x03, 0, 0, 0, 1]);
        assert_eq!(f.data_u16(2), Some(1));
        assert_eq!(f.data_u16(3), None);
        assert_eq!(emit_adu(0x0102, 0x11, f.pdu()).as_slice(), adu);
    }

    #[test]
    fn parse_rejections() {
        assert_eq!(
            Adu::new_checked(&[0, 1, 0]),
            Err(MalformedReason::TooShort { len: 3 })
        );
        assert_eq!(
            Adu::new_checked(&[0u8; 261]),
            Err(MalformedReason::TooLong { len: 261 })
        );
        assert_eq!(
            Adu::new_checked(&[0, 1, 0, 1, 0, 6, 1, 3, 0, 0, 0, 1]),
            Err(MalformedReason::ProtocolId(1))
        );
        assert_eq!(
            Adu::new_checked(&[0, 1, 0, 0, 0, 9, 1, 3, 0, 0, 0, 1]),
            Err(MalformedReason::LengthMismatch {
                declared: 9,
                actual: 6
            })
        );
    }

    #[test]
    fn first_in_a_buffer() {
        let two = [0, 1, 0, 0, 0, 3, 1, 3, 9, 0, 2, 0, 0, 0, 2, 1, 4];
        assert_eq!(Adu::first_in(&two).unwrap().as_bytes(), &two[..9]);
        assert_eq!(Adu::first_in(&two[..8]), None);
        assert_eq!(Adu::first_in(&[0, 1, 0, 7, 0, 2, 1, 3]), None);
    }

    #[test]
    fn stream_split() {
        let two = [
            0, 1, 0, 0, 0, 6, 1, 3, 0, 0, 0, 1, // frame 1
            0, 2, 0, 0, 0, 6, 1, 3, 0, 0, // frame 2, incomplete
        ];
        assert_eq!(frame_len(&two), FrameStatus::Complete(12));
        assert_eq!(frame_len(&two[12..]), FrameStatus::Incomplete);
        assert_eq!(frame_len(&two[..4]), FrameStatus::Incomplete);
        assert_eq!(
            frame_len(&[0, 1, 0, 2]),
            FrameStatus::Invalid(MalformedReason::ProtocolId(2))
        );
        assert_eq!(
            frame_len(&[0, 1, 0, 0, 0xFF, 0xFF]),
            FrameStatus::Invalid(MalformedReason::TooLong { len: 6 + 0xFFFF })
        );
        assert_eq!(
            frame_len(&[0, 1, 0, 0, 0, 1, 1]),
            FrameStatus::Invalid(MalformedReason::TooShort { len: 7 })
        );
    }
}
