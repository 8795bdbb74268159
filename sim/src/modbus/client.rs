//! Client helpers for the simulated HMIs, historians and attackers: build
//! request ADUs and decode response ADUs into owned values.
//!
//! Requests go through modbus-core's encoder wherever it produces correct
//! bytes. It cannot encode the serial-line request variants (it reaches
//! `todo!()`), and for register data whose byte length disagrees with its
//! quantity it would emit an inconsistent frame, so those cases are encoded
//! here field by field with the same layout. Attack tooling that wants
//! deliberately inconsistent frames uses [`custom_request`] or raw bytes.

use std::fmt;

use modbus_core::tcp::client::encode_request as core_encode_request;
use modbus_core::tcp::{Header, RequestAdu};
use modbus_core::{Coils, Data, FunctionCode, Request, RequestPdu, Response};

use crate::modbus::pdu::{
    FC_DIAGNOSTICS, FC_ENCAPSULATED_INTERFACE, FC_MASK_WRITE_REGISTER, FC_REPORT_SERVER_ID, MAX_ADU_LEN,
    MBAP_HEADER_LEN, MEI_READ_DEVICE_ID, MalformedReason, be_u16, parse_adu,
};

/// Encodes a request ADU with MBAP header (protocol id 0, length from the PDU).
///
/// Preconditions for `WriteMultipleCoils`: build the `Coils` with
/// `Coils::from_bools` (modbus-core cannot tell us the length of their buffer).
pub fn encode_request(tid: u16, unit: u8, req: Request<'_>) -> Vec<u8> {
    match req {
        Request::ReadExceptionStatus => custom_request(tid, unit, 0x07, &[]),
        Request::GetCommEventCounter => custom_request(tid, unit, 0x0B, &[]),
        Request::GetCommEventLog => custom_request(tid, unit, 0x0C, &[]),
        Request::ReportServerId => custom_request(tid, unit, FC_REPORT_SERVER_ID, &[]),
        Request::Diagnostics(sub, data) => diagnostics(tid, unit, sub, data.payload()),
        Request::Custom(fc, data) => custom_request(tid, unit, fc.value(), data),
        Request::WriteMultipleRegisters(addr, data) if !consistent(&data) => {
            let mut body = Vec::with_capacity(5 + data.payload().len());
            body.extend_from_slice(&addr.to_be_bytes());
            push_words_field(&mut body, &data);
            custom_request(tid, unit, 0x10, &body)
        }
        Request::ReadWriteMultipleRegisters(ra, rq, wa, data) if !consistent(&data) => {
            let mut body = Vec::with_capacity(9 + data.payload().len());
            body.extend_from_slice(&ra.to_be_bytes());
            body.extend_from_slice(&rq.to_be_bytes());
            body.extend_from_slice(&wa.to_be_bytes());
            push_words_field(&mut body, &data);
            custom_request(tid, unit, 0x17, &body)
        }
        // modbus-core computes the MBAP length as `1 + len as u16`, which
        // overflows for absurd PDUs; no real request comes near this.
        _ if req.pdu_len() >= usize::from(u16::MAX) - 1 => {
            custom_request(tid, unit, FunctionCode::from(req).value(), &[])
        }
        _ => {
            let hdr = Header {
                transaction_id: tid,
                unit_id: unit,
            };
            let mut buf = vec![0u8; MBAP_HEADER_LEN + req.pdu_len()];
            match core_encode_request(
                RequestAdu {
                    hdr,
                    pdu: RequestPdu(req),
                },
                &mut buf,
            ) {
                Ok(n) => {
                    buf.truncate(n);
                    buf
                }
                // Cannot happen with a buffer of exactly the PDU length; keep a frame anyway.
                Err(_) => custom_request(tid, unit, FunctionCode::from(req).value(), &[]),
            }
        }
    }
}

/// Whether modbus-core would encode this register data consistently.
fn consistent(data: &Data<'_>) -> bool {
    data.len() <= 127 && data.payload().len() == 2 * data.len()
}

/// quantity(2) | byte count(1) | data, byte count from the actual data (clamped to a byte).
fn push_words_field(body: &mut Vec<u8>, data: &Data<'_>) {
    let bytes = data.payload();
    let bytes = &bytes[..bytes.len().min(2 * data.len()).min(255)];
    body.extend_from_slice(&(data.len() as u16).to_be_bytes());
    body.push(bytes.len() as u8);
    body.extend_from_slice(bytes);
}

/// Any PDU `fc | data` in an MBAP frame; the length field is computed from
/// the data (saturating), so over-long PDUs can be produced for robustness tests.
pub fn custom_request(tid: u16, unit: u8, fc: u8, data: &[u8]) -> Vec<u8> {
    let len = u16::try_from(2 + data.len()).unwrap_or(u16::MAX);
    let mut out = Vec::with_capacity(MBAP_HEADER_LEN + 1 + data.len());
    out.extend_from_slice(&tid.to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&len.to_be_bytes());
    out.push(unit);
    out.push(fc);
    out.extend_from_slice(data);
    out
}

/// FC 3 request.
pub fn read_holding_registers(tid: u16, unit: u8, addr: u16, qty: u16) -> Vec<u8> {
    encode_request(tid, unit, Request::ReadHoldingRegisters(addr, qty))
}

/// FC 4 request.
pub fn read_input_registers(tid: u16, unit: u8, addr: u16, qty: u16) -> Vec<u8> {
    encode_request(tid, unit, Request::ReadInputRegisters(addr, qty))
}

/// FC 1 request.
pub fn read_coils(tid: u16, unit: u8, addr: u16, qty: u16) -> Vec<u8> {
    encode_request(tid, unit, Request::ReadCoils(addr, qty))
}

/// FC 2 request.
pub fn read_discrete_inputs(tid: u16, unit: u8, addr: u16, qty: u16) -> Vec<u8> {
    encode_request(tid, unit, Request::ReadDiscreteInputs(addr, qty))
}

/// FC 5 request.
pub fn write_single_coil(tid: u16, unit: u8, addr: u16, value: bool) -> Vec<u8> {
    encode_request(tid, unit, Request::WriteSingleCoil(addr, value))
}

/// FC 6 request.
pub fn write_single_register(tid: u16, unit: u8, addr: u16, value: u16) -> Vec<u8> {
    encode_request(tid, unit, Request::WriteSingleRegister(addr, value))
}

/// FC 15 request; an empty slice gives quantity 0 (which a server rejects).
pub fn write_multiple_coils(tid: u16, unit: u8, addr: u16, values: &[bool]) -> Vec<u8> {
    let mut buf = vec![0u8; values.len().div_ceil(8)];
    match Coils::from_bools(values, &mut buf) {
        Ok(coils) => encode_request(tid, unit, Request::WriteMultipleCoils(addr, coils)),
        Err(_) => {
            let mut body = addr.to_be_bytes().to_vec();
            body.extend_from_slice(&[0, 0, 0]);
            custom_request(tid, unit, 0x0F, &body)
        }
    }
}

/// FC 16 request; an empty slice gives quantity 0 (which a server rejects).
pub fn write_multiple_registers(tid: u16, unit: u8, addr: u16, values: &[u16]) -> Vec<u8> {
    let mut buf = vec![0u8; 2 * values.len()];
    match Data::from_words(values, &mut buf) {
        Ok(data) => encode_request(tid, unit, Request::WriteMultipleRegisters(addr, data)),
        Err(_) => {
            let mut body = addr.to_be_bytes().to_vec();
            body.extend_from_slice(&[0, 0, 0]);
            custom_request(tid, unit, 0x10, &body)
        }
    }
}

/// FC 23 request (the server writes first, then reads).
pub fn read_write_multiple_registers(
    tid: u16,
    unit: u8,
    read_addr: u16,
    read_qty: u16,
    write_addr: u16,
    values: &[u16],
) -> Vec<u8> {
    let mut buf = vec![0u8; 2 * values.len()];
    match Data::from_words(values, &mut buf) {
        Ok(data) => encode_request(
            tid,
            unit,
            Request::ReadWriteMultipleRegisters(read_addr, read_qty, write_addr, data),
        ),
        Err(_) => {
            let mut body = Vec::new();
            body.extend_from_slice(&read_addr.to_be_bytes());
            body.extend_from_slice(&read_qty.to_be_bytes());
            body.extend_from_slice(&write_addr.to_be_bytes());
            body.extend_from_slice(&[0, 0, 0]);
            custom_request(tid, unit, 0x17, &body)
        }
    }
}

/// FC 8 request: sub-function and raw data.
pub fn diagnostics(tid: u16, unit: u8, sub_function: u16, data: &[u8]) -> Vec<u8> {
    let mut body = sub_function.to_be_bytes().to_vec();
    body.extend_from_slice(data);
    custom_request(tid, unit, FC_DIAGNOSTICS, &body)
}

/// FC 17 request.
pub fn report_server_id(tid: u16, unit: u8) -> Vec<u8> {
    custom_request(tid, unit, FC_REPORT_SERVER_ID, &[])
}

/// FC 22 request.
pub fn mask_write_register(tid: u16, unit: u8, addr: u16, and_mask: u16, or_mask: u16) -> Vec<u8> {
    let mut body = Vec::with_capacity(6);
    body.extend_from_slice(&addr.to_be_bytes());
    body.extend_from_slice(&and_mask.to_be_bytes());
    body.extend_from_slice(&or_mask.to_be_bytes());
    custom_request(tid, unit, FC_MASK_WRITE_REGISTER, &body)
}

/// FC 43 / MEI 14 request: read device id code (1 basic, 2 regular, 3 extended, 4 one object) and object id.
pub fn read_device_identification(tid: u16, unit: u8, code: u8, object_id: u8) -> Vec<u8> {
    custom_request(
        tid,
        unit,
        FC_ENCAPSULATED_INTERFACE,
        &[MEI_READ_DEVICE_ID, code, object_id],
    )
}

/// MBAP fields and function code of an ADU without validating anything:
/// `(transaction id, protocol id, length, unit id, function code)`.
/// Useful for IDS-style inspection of arbitrary traffic.
pub fn peek_header(adu: &[u8]) -> Option<(u16, u16, u16, u8, u8)> {
    Some((
        be_u16(adu, 0)?,
        be_u16(adu, 2)?,
        be_u16(adu, 4)?,
        *adu.get(6)?,
        *adu.get(7)?,
    ))
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
    let frame = parse_adu(adu).map_err(ModbusParseError::Frame)?;
    let pdu = frame.pdu;
    let fc = pdu[0];
    let bad = |detail| ModbusParseError::Pdu { function: fc, detail };
    let done = |function, body| ParsedResponse {
        tid: frame.transaction_id,
        unit: frame.unit_id,
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
/// it is not MEI 14 or its lengths are inconsistent.
pub fn parse_device_identification(raw: &[u8]) -> Option<DeviceIdResponse> {
    let (&mei, rest) = raw.split_first()?;
    if mei != MEI_READ_DEVICE_ID || rest.len() < 5 {
        return None;
    }
    let (code, conformity_level, more, next, count) = (rest[0], rest[1], rest[2], rest[3], rest[4]);
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

/// Largest ADU a client should ever need to buffer.
pub const MAX_RESPONSE_ADU_LEN: usize = MAX_ADU_LEN;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_standard_requests() {
        // tid 0001, proto 0000, len 0006, unit 01 | 03 0000 000A
        assert_eq!(
            read_holding_registers(1, 1, 0, 10),
            vec![
                0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x01, 0x03, 0x00, 0x00, 0x00, 0x0A
            ]
        );
        // 05 00AC FF00
        assert_eq!(
            write_single_coil(2, 1, 0xAC, true),
            vec![0, 2, 0, 0, 0, 6, 1, 0x05, 0x00, 0xAC, 0xFF, 0x00]
        );
        // 0F 0013 000A 02 CD 01  (spec 6.11 example)
        let bits = [true, false, true, true, false, false, true, true, true, false];
        assert_eq!(
            write_multiple_coils(3, 1, 0x13, &bits),
            vec![
                0, 3, 0, 0, 0, 9, 1, 0x0F, 0x00, 0x13, 0x00, 0x0A, 0x02, 0xCD, 0x01
            ]
        );
        // 10 0001 0002 04 000A 0102  (spec 6.12 example)
        assert_eq!(
            write_multiple_registers(4, 1, 1, &[0x000A, 0x0102]),
            vec![
                0, 4, 0, 0, 0, 0x0B, 1, 0x10, 0, 1, 0, 2, 4, 0x00, 0x0A, 0x01, 0x02
            ]
        );
        // 17 0003 0006 000E 0003 06 00FF 00FF 00FF (spec 6.17 example)
        assert_eq!(
            read_write_multiple_registers(5, 1, 3, 6, 0x0E, &[0xFF, 0xFF, 0xFF]),
            vec![
                0, 5, 0, 0, 0, 0x11, 1, 0x17, 0, 3, 0, 6, 0, 0x0E, 0, 3, 6, 0, 0xFF, 0, 0xFF, 0, 0xFF
            ]
        );
        // Serial-line variants that modbus-core cannot encode.
        assert_eq!(
            encode_request(6, 1, Request::ReportServerId),
            vec![0, 6, 0, 0, 0, 2, 1, 0x11]
        );
        let d = Data::from(&[0xA5u8, 0x37]);
        assert_eq!(
            encode_request(7, 1, Request::Diagnostics(0, d)),
            vec![0, 7, 0, 0, 0, 6, 1, 0x08, 0, 0, 0xA5, 0x37]
        );
        assert_eq!(
            mask_write_register(8, 1, 4, 0xF2, 0x25),
            vec![0, 8, 0, 0, 0, 8, 1, 0x16, 0, 4, 0, 0xF2, 0, 0x25]
        );
        assert_eq!(
            read_device_identification(9, 1, 1, 0),
            vec![0, 9, 0, 0, 0, 5, 1, 0x2B, 0x0E, 1, 0]
        );
        assert_eq!(
            peek_header(&[0, 9, 0, 0, 0, 5, 1, 0x2B]),
            Some((9, 0, 5, 1, 0x2B))
        );
        assert_eq!(peek_header(&[0, 9, 0, 0, 0, 5, 1]), None);
    }

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
