//! Requests: emitted by the simulated HMIs, historians and attackers, read by the policy
//! matcher and the detectors.
//!
//! Requests go through modbus-core's encoder wherever it produces correct
//! bytes. It cannot encode the serial-line request variants (it reaches
//! `todo!()`), and for register data whose byte length disagrees with its
//! quantity it would emit an inconsistent frame, so those cases are encoded
//! here field by field with the same layout. Attack tooling that wants
//! deliberately inconsistent frames uses [`custom_request`] or raw bytes.

use modbus_core::tcp::client::encode_request as core_encode_request;
use modbus_core::tcp::{Header, RequestAdu};
use modbus_core::{Coils, Data, FunctionCode, Request, RequestPdu};

use super::adu::{Adu, AduBytes, MAX_ADU_LEN, MBAP_HEADER_LEN, be_u16};
use super::codes::*;
use super::response::PduDefect;

/// Encodes a request ADU with MBAP header (protocol id 0, length from the PDU).
///
/// Preconditions for `WriteMultipleCoils`: build the `Coils` with
/// `Coils::from_bools` (modbus-core cannot tell us the length of their buffer).
pub fn encode_request(tid: u16, unit: u8, req: Request<'_>) -> Vec<u8> {
    encode_request_inline(tid, unit, req).into_vec()
}

/// [`encode_request`] into the bytes a frame carries, inline when short: what a poller
/// sends at every round, without a vector of its own per request.
pub fn encode_request_inline(tid: u16, unit: u8, req: Request<'_>) -> AduBytes {
    match req {
        Request::ReadExceptionStatus => custom_request(tid, unit, 0x07, &[]).into(),
        Request::GetCommEventCounter => custom_request(tid, unit, 0x0B, &[]).into(),
        Request::GetCommEventLog => custom_request(tid, unit, 0x0C, &[]).into(),
        Request::ReportServerId => custom_request(tid, unit, FC_REPORT_SERVER_ID, &[]).into(),
        Request::Diagnostics(sub, data) => diagnostics(tid, unit, sub, data.payload()).into(),
        Request::Custom(fc, data) => custom_request(tid, unit, fc.value(), data).into(),
        Request::WriteMultipleRegisters(addr, data) if !consistent(&data) => {
            let mut body = Vec::with_capacity(5 + data.payload().len());
            body.extend_from_slice(&addr.to_be_bytes());
            push_words_field(&mut body, &data);
            custom_request(tid, unit, 0x10, &body).into()
        }
        Request::ReadWriteMultipleRegisters(ra, rq, wa, data) if !consistent(&data) => {
            let mut body = Vec::with_capacity(9 + data.payload().len());
            body.extend_from_slice(&ra.to_be_bytes());
            body.extend_from_slice(&rq.to_be_bytes());
            body.extend_from_slice(&wa.to_be_bytes());
            push_words_field(&mut body, &data);
            custom_request(tid, unit, 0x17, &body).into()
        }
        // modbus-core computes the MBAP length as `1 + len as u16`, which
        // overflows for absurd PDUs; no real request comes near this.
        _ if req.pdu_len() >= usize::from(u16::MAX) - 1 => {
            custom_request(tid, unit, FunctionCode::from(req).value(), &[]).into()
        }
        _ => {
            let hdr = Header {
                transaction_id: tid,
                unit_id: unit,
            };
            // Encoded on the stack and copied out (a zeroed vector would come from `calloc`,
            // which skips the allocator's per-thread cache): a SCADA HMI polling 10,000
            // PLCs sends thousands a simulated second. Longer (custom) requests need the heap.
            let len = MBAP_HEADER_LEN + req.pdu_len();
            let mut stack = [0u8; MAX_ADU_LEN];
            let mut heap = Vec::new();
            let buf = if len <= stack.len() {
                &mut stack[..len]
            } else {
                heap.resize(len, 0);
                &mut heap[..]
            };
            match core_encode_request(
                RequestAdu {
                    hdr,
                    pdu: RequestPdu(req),
                },
                buf,
            ) {
                Ok(n) => AduBytes::from_slice(&buf[..n]),
                // Cannot happen with a buffer of exactly the PDU length; keep a frame anyway.
                Err(_) => custom_request(tid, unit, FunctionCode::from(req).value(), &[]).into(),
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
    let mut out = Vec::with_capacity(MBAP_HEADER_LEN + 1 + data.len());
    super::adu::emit_header(&mut out, tid, unit, 1 + data.len());
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

/// Decodes the PDU of a standard data-access request (FC 1 to 6, 15, 16, 23) with
/// modbus-core, into the typed request a server dispatches on. modbus-core rejects
/// truncated PDUs, byte counts beyond the PDU and FC 5 values other than 0xFF00/0x0000;
/// it ignores trailing bytes, which the MBAP length makes part of this PDU, so they are
/// refused here.
pub fn decode_request_pdu(pdu: &[u8]) -> Result<Request<'_>, PduDefect> {
    let req = Request::try_from(pdu).map_err(|_| PduDefect::Truncated)?;
    if Some(pdu.len()) != expected_pdu_len(pdu) {
        return Err(PduDefect::TrailingBytes);
    }
    Ok(req)
}

/// Exact PDU length implied by the header fields of FC 1-6, 15, 16, 23.
fn expected_pdu_len(pdu: &[u8]) -> Option<usize> {
    match pdu.first()? {
        0x01..=0x06 => Some(5),
        0x0F | 0x10 => Some(6 + usize::from(*pdu.get(5)?)),
        0x17 => Some(10 + usize::from(*pdu.get(9)?)),
        _ => None,
    }
}

/// What a request asks a server to do, read from a valid ADU with the length rules a
/// server applies (Modbus Application Protocol Specification V1.1b3, section 6): exact
/// PDU lengths, and byte counts that agree with the quantity and with the bytes present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestRepr<'a> {
    /// FC 1 to 4.
    Read {
        /// The table read.
        table: Table,
        /// First address.
        addr: u16,
        /// Number of bits or registers.
        qty: u16,
    },
    /// FC 5: the raw value (0xFF00 on, 0x0000 off; anything else is for the server to refuse).
    WriteSingleCoil {
        /// Address.
        addr: u16,
        /// Value as sent.
        value: u16,
    },
    /// FC 6.
    WriteSingleRegister {
        /// Address.
        addr: u16,
        /// Value.
        value: u16,
    },
    /// FC 15: packed bits, least significant first.
    WriteMultipleCoils {
        /// First address.
        addr: u16,
        /// Number of coils (at least 1).
        qty: u16,
        /// `ceil(qty / 8)` bytes.
        bits: &'a [u8],
    },
    /// FC 16: big-endian words.
    WriteMultipleRegisters {
        /// First address.
        addr: u16,
        /// Number of registers (at least 1).
        qty: u16,
        /// `2 * qty` bytes.
        words: &'a [u8],
    },
    /// FC 22: `result = (current AND and_mask) OR (or_mask AND NOT and_mask)`.
    MaskWriteRegister {
        /// Address.
        addr: u16,
        /// AND mask.
        and_mask: u16,
        /// OR mask.
        or_mask: u16,
    },
    /// FC 23: written first, then read.
    ReadWriteMultipleRegisters {
        /// First address read.
        read_addr: u16,
        /// Number of registers read.
        read_qty: u16,
        /// First address written.
        write_addr: u16,
        /// Number of registers written (at least 1).
        write_qty: u16,
        /// `2 * write_qty` bytes.
        words: &'a [u8],
    },
    /// Any other function (diagnostics, identification, vendor codes): its data as sent.
    Other {
        /// Function code.
        function: u8,
        /// The PDU after the function code.
        data: &'a [u8],
    },
}

impl<'a> RequestRepr<'a> {
    /// Reads the request an ADU carries; a PDU whose structure its function code does not
    /// allow is a [`PduDefect`].
    pub fn parse(adu: &Adu<'a>) -> Result<RequestRepr<'a>, PduDefect> {
        let d = adu.data();
        let w = |at: usize| be_u16(d, at).ok_or(PduDefect::Truncated);
        let exact = |n: usize| match d.len().cmp(&n) {
            std::cmp::Ordering::Less => Err(PduDefect::Truncated),
            std::cmp::Ordering::Greater => Err(PduDefect::TrailingBytes),
            std::cmp::Ordering::Equal => Ok(()),
        };
        let function = adu.function();
        Ok(match function {
            FC_READ_COILS..=FC_READ_INPUT_REGISTERS => {
                exact(4)?;
                let table = Table::read_by(function).ok_or(PduDefect::Truncated)?;
                RequestRepr::Read {
                    table,
                    addr: w(0)?,
                    qty: w(2)?,
                }
            }
            FC_WRITE_SINGLE_COIL | FC_WRITE_SINGLE_REGISTER => {
                exact(4)?;
                let (addr, value) = (w(0)?, w(2)?);
                if function == FC_WRITE_SINGLE_COIL {
                    RequestRepr::WriteSingleCoil { addr, value }
                } else {
                    RequestRepr::WriteSingleRegister { addr, value }
                }
            }
            FC_WRITE_MULTIPLE_COILS | FC_WRITE_MULTIPLE_REGISTERS => {
                let (addr, qty) = (w(0)?, w(2)?);
                let count = usize::from(*d.get(4).ok_or(PduDefect::Truncated)?);
                let data = &d[5..];
                let need = if function == FC_WRITE_MULTIPLE_COILS {
                    usize::from(qty).div_ceil(8)
                } else {
                    2 * usize::from(qty)
                };
                if qty == 0 || data.len() != count || count != need {
                    return Err(PduDefect::ByteCount);
                }
                if function == FC_WRITE_MULTIPLE_COILS {
                    RequestRepr::WriteMultipleCoils {
                        addr,
                        qty,
                        bits: data,
                    }
                } else {
                    RequestRepr::WriteMultipleRegisters {
                        addr,
                        qty,
                        words: data,
                    }
                }
            }
            FC_MASK_WRITE_REGISTER => {
                exact(6)?;
                RequestRepr::MaskWriteRegister {
                    addr: w(0)?,
                    and_mask: w(2)?,
                    or_mask: w(4)?,
                }
            }
            FC_READ_WRITE_MULTIPLE_REGISTERS => {
                let (read_addr, read_qty, write_addr, write_qty) = (w(0)?, w(2)?, w(4)?, w(6)?);
                let count = usize::from(*d.get(8).ok_or(PduDefect::Truncated)?);
                let words = &d[9..];
                if write_qty == 0 || words.len() != count || count != 2 * usize::from(write_qty) {
                    return Err(PduDefect::ByteCount);
                }
                RequestRepr::ReadWriteMultipleRegisters {
                    read_addr,
                    read_qty,
                    write_addr,
                    write_qty,
                    words,
                }
            }
            _ => RequestRepr::Other { function, data: d },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::modbus::Adu;

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
    }

    #[test]
    fn a_request_longer_than_the_modbus_limit_is_encoded_whole() {
        // 2,000 coils: a PDU of 256 bytes, an ADU of 263, past the 260 that fit the stack
        // buffer. What a fuzzing client may send; the bytes must still be exact.
        let adu = write_multiple_coils(10, 1, 0, &[true; 2000]);
        assert_eq!(adu.len(), 263);
        assert_eq!(
            &adu[..13],
            &[0, 10, 0, 0, 0x01, 0x01, 1, 0x0F, 0, 0, 0x07, 0xD0, 250]
        );
        assert!(adu[13..].iter().all(|&b| b == 0xFF));
    }

    #[test]
    fn a_poll_request_travels_inside_its_frame_and_a_long_one_on_the_heap() {
        // What a poller sends every round: 12 bytes, held in the frame with no allocation
        // of its own (tid 0001, proto 0000, len 0006, unit 01 | 03 0000 000A).
        let read = encode_request_inline(1, 1, Request::ReadHoldingRegisters(0, 10));
        assert!(!read.spilled());
        assert_eq!(
            read.as_slice(),
            [
                0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x01, 0x03, 0x00, 0x00, 0x00, 0x0A
            ]
        );
        // A write of 123 registers is 259 bytes: on the heap, every byte exact (len 00FD,
        // unit 01 | 10 0000 007B F6, then 1234 123 times).
        let values = [0x1234u16; 123];
        let mut buf = [0u8; 246];
        let data = Data::from_words(&values, &mut buf).expect("123 words fit");
        let long = encode_request_inline(2, 1, Request::WriteMultipleRegisters(0, data));
        assert!(long.spilled());
        assert_eq!(
            &long[..13],
            [
                0x00, 0x02, 0x00, 0x00, 0x00, 0xFD, 0x01, 0x10, 0x00, 0x00, 0x00, 0x7B, 0xF6
            ]
        );
        assert!(long[13..].chunks(2).all(|w| w == [0x12, 0x34]));
        assert_eq!(long.len(), 7 + 6 + 246);
        // The vector the builders return carries the same bytes.
        assert_eq!(
            long.as_slice(),
            write_multiple_registers(2, 1, 0, &values).as_slice()
        );
    }

    #[test]
    fn parse_requests() {
        fn parse(b: &[u8]) -> Result<RequestRepr<'_>, PduDefect> {
            RequestRepr::parse(&Adu::new_checked(b).unwrap())
        }
        assert_eq!(
            parse(&read_holding_registers(1, 1, 10, 3)),
            Ok(RequestRepr::Read {
                table: Table::HoldingRegisters,
                addr: 10,
                qty: 3
            })
        );
        assert_eq!(
            parse(&write_multiple_registers(1, 1, 4, &[7, 8])),
            Ok(RequestRepr::WriteMultipleRegisters {
                addr: 4,
                qty: 2,
                words: &[0, 7, 0, 8]
            })
        );
        assert_eq!(
            parse(&custom_request(1, 1, 3, &[0, 0, 0, 1, 9])),
            Err(PduDefect::TrailingBytes)
        );
        assert_eq!(
            parse(&custom_request(1, 1, 16, &[0, 0, 0, 2, 2, 0, 1])),
            Err(PduDefect::ByteCount)
        );
        assert_eq!(
            parse(&custom_request(1, 1, 16, &[0, 0])),
            Err(PduDefect::Truncated)
        );
        assert_eq!(
            parse(&report_server_id(1, 1)),
            Ok(RequestRepr::Other {
                function: 17,
                data: &[]
            })
        );
    }
}
