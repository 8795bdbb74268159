//! Responses: emitted by the simulated servers, read by clients, attack techniques and
//! detectors. Decoded into owned values with modbus-core where it reads the spec's layout,
//! field by field where it does not (FC 5's echoed value).

use std::fmt;

use modbus_core::tcp::server::encode_response;
use modbus_core::tcp::{Header, ResponseAdu};
use modbus_core::{Exception, ExceptionResponse, FunctionCode, Response, ResponsePdu};

use super::adu::{Adu, AduBytes, MalformedReason, emit_adu};
use super::codes::{
    EX_ILLEGAL_DATA_ADDRESS, EX_ILLEGAL_DATA_VALUE, EX_ILLEGAL_FUNCTION, EX_SERVER_DEVICE_BUSY,
    EX_SERVER_DEVICE_FAILURE, MEI_READ_DEVICE_ID,
};

/// Largest ADU a client should ever need to buffer.
pub const MAX_RESPONSE_ADU_LEN: usize = super::adu::MAX_ADU_LEN;

/// A normal response ADU, encoded by modbus-core; should it refuse, exception 4 (server
/// device failure) instead.
pub fn emit_response(hdr: Header, resp: Response<'_>) -> AduBytes {
    encode_pdu(hdr, ResponsePdu(Ok(resp)))
        .unwrap_or_else(|| raw_exception(hdr, FunctionCode::from(resp).value(), EX_SERVER_DEVICE_FAILURE))
}

/// An exception response (function code | 0x80, exception code).
pub fn emit_exception(hdr: Header, fc: u8, code: u8) -> AduBytes {
    let exception = match code {
        EX_ILLEGAL_FUNCTION => Exception::IllegalFunction,
        EX_ILLEGAL_DATA_ADDRESS => Exception::IllegalDataAddress,
        EX_ILLEGAL_DATA_VALUE => Exception::IllegalDataValue,
        EX_SERVER_DEVICE_BUSY => Exception::ServerDeviceBusy,
        _ => Exception::ServerDeviceFailure,
    };
    if fc >= 0x80 {
        // A request "function code" with the exception bit already set cannot
        // be expressed by `ExceptionResponse` (it asserts fc < 0x80); answer
        // it like libmodbus does, with the code unchanged and exception 1.
        return raw_exception(hdr, fc, code);
    }
    let pdu = ResponsePdu(Err(ExceptionResponse {
        function: FunctionCode::new(fc),
        exception,
    }));
    encode_pdu(hdr, pdu).unwrap_or_else(|| raw_exception(hdr, fc, code))
}

fn encode_pdu(hdr: Header, pdu: ResponsePdu<'_>) -> Option<AduBytes> {
    let mut buf = [0u8; super::adu::MAX_ADU_LEN];
    let n = encode_response(ResponseAdu { hdr, pdu }, &mut buf).ok()?;
    Some(AduBytes::from_slice(&buf[..n]))
}

/// Last-resort exception ADU built by hand, used only if modbus-core refuses to encode.
fn raw_exception(hdr: Header, fc: u8, code: u8) -> AduBytes {
    emit_adu(hdr.transaction_id, hdr.unit_id, &[fc | 0x80, code])
}

/// A decoded response with owned data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedResponse {
    /// MBAP transaction id.
    pub tid: u16,
    /// MBAP unit id.
    pub unit: u8,
    /// Function code of the request answered (the 0x80 bit is removed for exceptions).
    pub function: u8,
    /// Decoded body.
    pub body: ResponseBody,
}

/// Body of a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseBody {
    /// FC 3, 4, 23.
    Registers(Vec<u16>),
    /// FC 1, 2: all `8 * byte count` bits; the response does not carry the
    /// requested quantity, so truncate to what was asked for.
    Bits(Vec<bool>),
    /// FC 5 (address, value), 6 (address, value), 15 and 16 (address, quantity).
    WriteAck {
        /// Echoed start address.
        addr: u16,
        /// Echoed value (FC 5, 6) or quantity (FC 15, 16).
        value_or_qty: u16,
    },
    /// Exception response: the exception code.
    Exception(u8),
    /// Any other function (8, 17, 22, 43, ...): the bytes after the function code.
    Raw(Vec<u8>),
}

/// Why a response ADU could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModbusParseError {
    /// The MBAP frame itself is invalid.
    #[error("malformed frame: {0}")]
    Frame(MalformedReason),
    /// The PDU does not have the structure its function code requires.
    #[error("bad PDU for function {function:#04x}: {detail}")]
    Pdu {
        /// Function code byte.
        function: u8,
        /// What is wrong.
        detail: PduDefect,
    },
}

/// Structural defect of a response PDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PduDefect {
    /// Fewer bytes than the function requires.
    Truncated,
    /// The byte count field disagrees with the PDU length, or is odd for registers.
    ByteCount,
    /// More bytes than the function allows.
    TrailingBytes,
}

impl fmt::Display for PduDefect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Truncated => "truncated",
            Self::ByteCount => "byte count does not match the data",
            Self::TrailingBytes => "trailing bytes",
        })
    }
}

/// Decodes one response ADU (framed by its MBAP length, at most 260 bytes).
pub fn decode_response(adu: &[u8]) -> Result<ParsedResponse, ModbusParseError> {
    let frame = Adu::new_checked(adu).map_err(ModbusParseError::Frame)?;
    let pdu = frame.pdu();
    let fc = pdu[0];
    let bad = |detail| ModbusParseError::Pdu { function: fc, detail };
    let done = |function, body| ParsedResponse {
        tid: frame.transaction_id(),
        unit: frame.unit_id(),
        function,
        body,
    };
    if fc & 0x80 != 0 {
        return match pdu.len() {
            2 => Ok(done(fc & 0x7F, ResponseBody::Exception(pdu[1]))),
            0 | 1 => Err(bad(PduDefect::Truncated)),
            _ => Err(bad(PduDefect::TrailingBytes)),
        };
    }
    let body = match fc {
        0x01..=0x04 | 0x17 => {
            let Some(&count) = pdu.get(1) else {
                return Err(bad(PduDefect::Truncated));
            };
            let count = usize::from(count);
            if pdu.len() != 2 + count || (fc >= 0x03 && count % 2 != 0) {
                return Err(bad(PduDefect::ByteCount));
            }
            match Response::try_from(pdu) {
                Ok(Response::ReadCoils(c) | Response::ReadDiscreteInputs(c)) => {
                    ResponseBody::Bits(c.into_iter().collect())
                }
                Ok(
                    Response::ReadHoldingRegisters(d)
                    | Response::ReadInputRegisters(d)
                    | Response::ReadWriteMultipleRegisters(d),
                ) => ResponseBody::Registers(d.into_iter().collect()),
                _ => return Err(bad(PduDefect::Truncated)),
            }
        }
        0x05 | 0x06 | 0x0F | 0x10 => {
            if pdu.len() < 5 {
                return Err(bad(PduDefect::Truncated));
            }
            if pdu.len() > 5 {
                return Err(bad(PduDefect::TrailingBytes));
            }
            if fc == 0x05 {
                // modbus-core's `Response::WriteSingleCoil` drops the echoed
                // value, so FC 5 is read field by field.
                ResponseBody::WriteAck {
                    addr: u16::from_be_bytes([pdu[1], pdu[2]]),
                    value_or_qty: u16::from_be_bytes([pdu[3], pdu[4]]),
                }
            } else {
                match Response::try_from(pdu) {
                    Ok(
                        Response::WriteSingleRegister(addr, v)
                        | Response::WriteMultipleCoils(addr, v)
                        | Response::WriteMultipleRegisters(addr, v),
                    ) => ResponseBody::WriteAck {
                        addr,
                        value_or_qty: v,
                    },
                    _ => return Err(bad(PduDefect::Truncated)),
                }
            }
        }
        _ => ResponseBody::Raw(pdu[1..].to_vec()),
    };
    Ok(done(fc, body))
}

/// One object of a read device identification answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceIdObject {
    /// Object id (0 VendorName, 1 ProductCode, 2 MajorMinorRevision, ...).
    pub id: u8,
    /// Raw value (ASCII on conforming devices).
    pub value: Vec<u8>,
}

/// Decoded FC 43/14 answer (from [`ResponseBody::Raw`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceIdResponse {
    /// Read device id code echoed.
    pub code: u8,
    /// Conformity level.
    pub conformity_level: u8,
    /// Whether more objects follow (0xFF).
    pub more_follows: bool,
    /// Object id to request next when `more_follows`.
    pub next_object_id: u8,
    /// Objects in this answer.
    pub objects: Vec<DeviceIdObject>,
}

/// Parses the body (after the FC byte) of an FC 43/14 answer; `None` if
/// it is not MEI 14, its "more follows" is neither 0x00 nor 0xFF, or its lengths are
/// inconsistent.
pub fn parse_device_identification(raw: &[u8]) -> Option<DeviceIdResponse> {
    let (&mei, rest) = raw.split_first()?;
    if mei != MEI_READ_DEVICE_ID || rest.len() < 5 {
        return None;
    }
    let (code, conformity_level, more, next, count) = (rest[0], rest[1], rest[2], rest[3], rest[4]);
    // "More follows" is 0x00 or 0xFF (spec 6.21); anything else is not a conforming answer.
    if more != 0x00 && more != 0xFF {
        return None;
    }
    let mut objects = Vec::with_capacity(usize::from(count));
    let mut pos = 5;
    for _ in 0..count {
        let id = *rest.get(pos)?;
        let len = usize::from(*rest.get(pos + 1)?);
        let value = rest.get(pos + 2..pos + 2 + len)?.to_vec();
        objects.push(DeviceIdObject { id, value });
        pos += 2 + len;
    }
    if pos != rest.len() {
        return None;
    }
    Some(DeviceIdResponse {
        code,
        conformity_level,
        more_follows: more == 0xFF,
        next_object_id: next,
        objects,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_responses() {
        let r = decode_response(&[0, 1, 0, 0, 0, 7, 1, 0x03, 4, 0x02, 0x2B, 0x00, 0x00]).unwrap();
        assert_eq!(r.body, ResponseBody::Registers(vec![0x022B, 0]));
        let r = decode_response(&[0, 1, 0, 0, 0, 4, 1, 0x01, 1, 0b0000_0101]).unwrap();
        assert_eq!(
            r.body,
            ResponseBody::Bits(vec![true, false, true, false, false, false, false, false])
        );
        let r = decode_response(&[0, 1, 0, 0, 0, 6, 1, 0x05, 0, 0xAC, 0xFF, 0]).unwrap();
        assert_eq!(
            r.body,
            ResponseBody::WriteAck {
                addr: 0xAC,
                value_or_qty: 0xFF00
            }
        );
        let r = decode_response(&[0, 1, 0, 0, 0, 3, 1, 0x83, 0x02]).unwrap();
        assert_eq!((r.function, r.body), (3, ResponseBody::Exception(2)));
        let r = decode_response(&[0, 1, 0, 0, 0, 3, 1, 0x11, 0x02]).unwrap();
        assert_eq!(r.body, ResponseBody::Raw(vec![2]));
        assert!(matches!(
            decode_response(&[0, 1, 0, 0, 0, 4, 1, 0x03, 4, 0]),
            Err(ModbusParseError::Pdu {
                detail: PduDefect::ByteCount,
                ..
            })
        ));
        assert!(matches!(
            decode_response(&[0, 1, 0, 0, 0, 2, 1, 0x83]),
            Err(ModbusParseError::Pdu {
                detail: PduDefect::Truncated,
                ..
            })
        ));
        assert!(matches!(
            decode_response(&[0, 1, 0, 1, 0, 3, 1, 0x83, 2]),
            Err(ModbusParseError::Frame(MalformedReason::ProtocolId(1)))
        ));
    }

    #[test]
    fn device_id_parse() {
        let raw = [0x0E, 1, 0x81, 0, 0, 2, 0, 1, b'A', 1, 2, b'B', b'C'];
        let d = parse_device_identification(&raw).unwrap();
        assert_eq!(d.objects.len(), 2);
        assert_eq!(d.objects[1].value, b"BC".to_vec());
        assert!(parse_device_identification(&raw[..12]).is_none());
    }
}
