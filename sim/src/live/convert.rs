//! Between our Modbus ADU bytes and tokio-modbus's typed requests and responses, so that
//! the plant's own clients can poll over real sockets with tokio-modbus's client while the
//! simulation keeps its byte-level view. Function codes tokio-modbus has no type for travel
//! as its `Custom` variant, byte for byte.

use crate::wire::modbus::Adu;
use std::borrow::Cow;
use tokio_modbus::{ExceptionCode, Request, Response};

/// A request ADU split into what tokio-modbus needs: transaction id, unit id, function
/// code, request.
pub fn request_of(adu: &[u8]) -> Option<(u16, u8, u8, Request<'static>)> {
    let adu = Adu::new_unchecked(adu)?;
    let (tid, unit, fc) = (adu.transaction_id(), adu.unit_id(), adu.function());
    let d = adu.data();
    let w = |i: usize| adu.data_u16(i);
    let req = match fc {
        1 => Request::ReadCoils(w(0)?, w(2)?),
        2 => Request::ReadDiscreteInputs(w(0)?, w(2)?),
        3 => Request::ReadHoldingRegisters(w(0)?, w(2)?),
        4 => Request::ReadInputRegisters(w(0)?, w(2)?),
        5 => Request::WriteSingleCoil(w(0)?, w(2)? == 0xFF00),
        6 => Request::WriteSingleRegister(w(0)?, w(2)?),
        15 => {
            let (addr, qty) = (w(0)?, usize::from(w(2)?));
            let bytes = d.get(5..5 + qty.div_ceil(8))?;
            let bits = (0..qty).map(|i| bytes[i / 8] >> (i % 8) & 1 == 1).collect();
            Request::WriteMultipleCoils(addr, Cow::Owned(bits))
        }
        16 => {
            let (addr, qty) = (w(0)?, usize::from(w(2)?));
            let words = (0..qty).map(|i| w(5 + 2 * i)).collect::<Option<Vec<_>>>()?;
            Request::WriteMultipleRegisters(addr, Cow::Owned(words))
        }
        _ => Request::Custom(fc, Cow::Owned(d.to_vec())),
    };
    Some((tid, unit, fc, req))
}

/// The PDU bytes of a tokio-modbus answer for function code `fc`, as the server sent them.
pub fn response_pdu(fc: u8, answer: Result<Response, ExceptionCode>) -> Vec<u8> {
    let bits = |b: &[bool]| -> Vec<u8> {
        let mut out = vec![0u8; b.len().div_ceil(8)];
        for (i, &on) in b.iter().enumerate() {
            out[i / 8] |= u8::from(on) << (i % 8);
        }
        out
    };
    let mut pdu = vec![fc];
    match answer {
        Err(code) => {
            pdu[0] = fc | 0x80;
            pdu.push(u8::from(code));
        }
        Ok(Response::ReadCoils(b)) | Ok(Response::ReadDiscreteInputs(b)) => {
            let packed = bits(&b);
            pdu.push(packed.len() as u8);
            pdu.extend(packed);
        }
        Ok(Response::ReadHoldingRegisters(r))
        | Ok(Response::ReadInputRegisters(r))
        | Ok(Response::ReadWriteMultipleRegisters(r)) => {
            pdu.push((r.len() * 2) as u8);
            pdu.extend(r.iter().flat_map(|v| v.to_be_bytes()));
        }
        Ok(Response::WriteSingleCoil(a, on)) => {
            pdu.extend(a.to_be_bytes());
            pdu.extend(if on { [0xFF, 0x00] } else { [0x00, 0x00] });
        }
        Ok(Response::WriteSingleRegister(a, v))
        | Ok(Response::WriteMultipleCoils(a, v))
        | Ok(Response::WriteMultipleRegisters(a, v)) => {
            pdu.extend(a.to_be_bytes());
            pdu.extend(v.to_be_bytes());
        }
        Ok(Response::MaskWriteRegister(a, and, or)) => {
            pdu.extend(a.to_be_bytes());
            pdu.extend(and.to_be_bytes());
            pdu.extend(or.to_be_bytes());
        }
        Ok(Response::Custom(_, data)) => pdu.extend_from_slice(&data),
        // Answers to requests this module never sends as typed requests.
        Ok(_) => {}
    }
    pdu
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::modbus::{read_holding_registers, write_multiple_coils, write_multiple_registers};

    #[test]
    fn requests_round_trip_their_fields() {
        let (tid, unit, _, r) = request_of(&read_holding_registers(9, 1, 100, 10)).unwrap();
        assert_eq!((tid, unit), (9, 1));
        assert_eq!(r, Request::ReadHoldingRegisters(100, 10));
        let (_, _, _, r) = request_of(&write_multiple_coils(1, 1, 3, &[true, false, true])).unwrap();
        assert_eq!(
            r,
            Request::WriteMultipleCoils(3, Cow::Owned(vec![true, false, true]))
        );
        let (_, _, _, r) = request_of(&write_multiple_registers(1, 1, 7, &[1, 0xABCD])).unwrap();
        assert_eq!(r, Request::WriteMultipleRegisters(7, Cow::Owned(vec![1, 0xABCD])));
    }

    #[test]
    fn responses_become_spec_pdus() {
        // FC 3, two registers 0x000A 0x0102: 03 04 00 0A 01 02 (spec §6.3).
        let pdu = response_pdu(3, Ok(Response::ReadHoldingRegisters(vec![10, 0x0102])));
        assert_eq!(pdu, [3, 4, 0, 10, 1, 2]);
        // FC 1, bits 1,0,1 packed LSB first: 01 01 05.
        assert_eq!(
            response_pdu(1, Ok(Response::ReadCoils(vec![true, false, true]))),
            [1, 1, 5]
        );
        // Exception 2 to FC 3: 83 02.
        assert_eq!(response_pdu(3, Err(ExceptionCode::IllegalDataAddress)), [0x83, 2]);
        assert_eq!(
            crate::wire::modbus::emit_adu(7, 1, &[0x83, 2]),
            [0, 7, 0, 0, 0, 3, 1, 0x83, 2]
        );
    }
}
