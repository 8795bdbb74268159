//! Modbus TCP framing (MBAP header) and protocol constants.
//!
//! Modbus TCP frames are delimited by the MBAP *length* field, never by the
//! function code. `modbus_core::tcp::decode` guesses the PDU length from the
//! function code, which fails for FC 8, 17 and 43 and can index past the end of
//! a short buffer for FC 15/16, so this module checks the header itself and only
//! then hands the bytes to `modbus_core::tcp::extract_frame`.
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

/// Function code: read coils.
pub const FC_READ_COILS: u8 = 0x01;
/// Function code: read discrete inputs.
pub const FC_READ_DISCRETE_INPUTS: u8 = 0x02;
/// Function code: read holding registers.
pub const FC_READ_HOLDING_REGISTERS: u8 = 0x03;
/// Function code: read input registers.
pub const FC_READ_INPUT_REGISTERS: u8 = 0x04;
/// Function code: write single coil.
pub const FC_WRITE_SINGLE_COIL: u8 = 0x05;
/// Function code: write single register.
pub const FC_WRITE_SINGLE_REGISTER: u8 = 0x06;
/// Function code: diagnostics (serial line function, answered over TCP by many PLCs).
pub const FC_DIAGNOSTICS: u8 = 0x08;
/// Function code: write multiple coils.
pub const FC_WRITE_MULTIPLE_COILS: u8 = 0x0F;
/// Function code: write multiple registers.
pub const FC_WRITE_MULTIPLE_REGISTERS: u8 = 0x10;
/// Function code: report server id.
pub const FC_REPORT_SERVER_ID: u8 = 0x11;
/// Function code: mask write register.
pub const FC_MASK_WRITE_REGISTER: u8 = 0x16;
/// Function code: read/write multiple registers.
pub const FC_READ_WRITE_MULTIPLE_REGISTERS: u8 = 0x17;
/// Function code: encapsulated interface transport (MEI); MEI type 14 is read device identification.
pub const FC_ENCAPSULATED_INTERFACE: u8 = 0x2B;
/// MEI type of read device identification inside FC 43.
pub const MEI_READ_DEVICE_ID: u8 = 0x0E;

/// Exception code 1: the function code (or sub-function / MEI type) is not supported.
pub const EX_ILLEGAL_FUNCTION: u8 = 0x01;
/// Exception code 2: the addressed range does not exist or is not writable.
pub const EX_ILLEGAL_DATA_ADDRESS: u8 = 0x02;
/// Exception code 3: a value in the request (quantity, byte count, structure) is not allowed.
pub const EX_ILLEGAL_DATA_VALUE: u8 = 0x03;
/// Exception code 4: unrecoverable error while performing the action.
pub const EX_SERVER_DEVICE_FAILURE: u8 = 0x04;
/// Exception code 6: the server is busy processing other requests.
pub const EX_SERVER_DEVICE_BUSY: u8 = 0x06;

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

/// A validated Modbus TCP frame borrowed from the ADU bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// MBAP transaction id.
    pub transaction_id: u16,
    /// MBAP unit id.
    pub unit_id: u8,
    /// Function code and data; never empty.
    pub pdu: &'a [u8],
}

/// Validates one complete ADU (exactly one frame, no trailing bytes) and
/// returns its header fields and PDU.
///
/// The checks run in a fixed order so that the reported reason is deterministic:
/// size bounds, protocol id, then the MBAP length against the real byte count.
pub fn parse_adu(adu: &[u8]) -> Result<Frame<'_>, MalformedReason> {
    if adu.len() < MBAP_HEADER_LEN + 1 {
        return Err(MalformedReason::TooShort { len: adu.len() });
    }
    if adu.len() > MAX_ADU_LEN {
        return Err(MalformedReason::TooLong { len: adu.len() });
    }
    let protocol = u16::from_be_bytes([adu[2], adu[3]]);
    if protocol != 0 {
        return Err(MalformedReason::ProtocolId(protocol));
    }
    let declared = u16::from_be_bytes([adu[4], adu[5]]);
    let actual = adu.len() - 6;
    if usize::from(declared) != actual {
        return Err(MalformedReason::LengthMismatch { declared, actual });
    }
    // The checks above guarantee `extract_frame` succeeds; map its errors anyway
    // so that a future modbus-core change cannot turn into a panic.
    match modbus_core::tcp::extract_frame(adu, actual - 1) {
        Ok(Some(frame)) => Ok(Frame {
            transaction_id: frame.transaction_id,
            unit_id: frame.unit_id,
            pdu: frame.pdu,
        }),
        Ok(None) | Err(_) => Err(MalformedReason::LengthMismatch { declared, actual }),
    }
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

/// Splits a TCP byte stream into ADUs by the MBAP length field.
///
/// Meant for the network layer that feeds [`crate::modbus::server::ModbusServer::handle_adu`].
pub fn next_frame_len(stream: &[u8]) -> FrameStatus {
    if stream.len() < 6 {
        return FrameStatus::Incomplete;
    }
    let protocol = u16::from_be_bytes([stream[2], stream[3]]);
    if protocol != 0 {
        return FrameStatus::Invalid(MalformedReason::ProtocolId(protocol));
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

/// Reads a big-endian `u16` at `at`; `None` when the slice is too short.
pub(crate) fn be_u16(bytes: &[u8], at: usize) -> Option<u16> {
    let hi = *bytes.get(at)?;
    let lo = *bytes.get(at + 1)?;
    Some(u16::from_be_bytes([hi, lo]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_valid_frame() {
        // tid 0x0102, proto 0, len 6, unit 0x11, PDU 03 0000 0001
        let adu = [0x01, 0x02, 0, 0, 0, 6, 0x11, 0x03, 0, 0, 0, 1];
        let f = parse_adu(&adu).unwrap();
        assert_eq!(f.transaction_id, 0x0102);
        assert_eq!(f.unit_id, 0x11);
        assert_eq!(f.pdu, &[0x03, 0, 0, 0, 1]);
    }

    #[test]
    fn parse_rejections() {
        assert_eq!(parse_adu(&[0, 1, 0]), Err(MalformedReason::TooShort { len: 3 }));
        assert_eq!(parse_adu(&[0u8; 261]), Err(MalformedReason::TooLong { len: 261 }));
        assert_eq!(
            parse_adu(&[0, 1, 0, 1, 0, 6, 1, 3, 0, 0, 0, 1]),
            Err(MalformedReason::ProtocolId(1))
        );
        assert_eq!(
            parse_adu(&[0, 1, 0, 0, 0, 9, 1, 3, 0, 0, 0, 1]),
            Err(MalformedReason::LengthMismatch {
                declared: 9,
                actual: 6
            })
        );
    }

    #[test]
    fn stream_split() {
        let two = [
            0, 1, 0, 0, 0, 6, 1, 3, 0, 0, 0, 1, // frame 1
            0, 2, 0, 0, 0, 6, 1, 3, 0, 0, // frame 2, incomplete
        ];
        assert_eq!(next_frame_len(&two), FrameStatus::Complete(12));
        assert_eq!(next_frame_len(&two[12..]), FrameStatus::Incomplete);
        assert_eq!(next_frame_len(&two[..4]), FrameStatus::Incomplete);
        assert_eq!(
            next_frame_len(&[0, 1, 0, 0, 0xFF, 0xFF]),
            FrameStatus::Invalid(MalformedReason::TooLong { len: 6 + 0xFFFF })
        );
        assert_eq!(
            next_frame_len(&[0, 1, 0, 0, 0, 1, 1]),
            FrameStatus::Invalid(MalformedReason::TooShort { len: 7 })
        );
    }
}
