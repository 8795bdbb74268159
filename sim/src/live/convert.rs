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
        // tokio-modbus has types for these and matches the answer's type to the request's:
        // sent as `Custom`, their answers would not match. (FC 43's type needs a `ReadCode`,
        // which tokio-modbus 0.17 does not export: it goes as `Custom`, and the bridge takes
        // the mismatched answer as it is.)
        17 => Request::ReportServerId,
        22 => Request::MaskWriteRegister(w(0)?, w(2)?, w(4)?),
        23 => {
            let (read, qty, write) = (w(0)?, w(2)?, w(4)?);
            let n = usize::from(w(6)?);
            let words = (0..n).map(|i| w(9 + 2 * i)).collect::<Option<Vec<_>>>()?;
            Request::ReadWriteMultipleRegisters(read, qty, write, Cow::Owned(words))
        }
        _ => Request::Custom(fc, Cow::Owned(d.to_vec())),
    };
    Some((tid, unit, fc, req))
}

/// The answer in what tokio-modbus's client returned, if one came. A request it has no
/// type for (an FC 43, whose type needs a `ReadCode` tokio-modbus 0.17 does not export)
/// travels as `Custom`, and its answer, decoded as a typed one, does not match the request:
/// the answer is whole all the same, and the connection still in step.
pub fn answer_of(
    called: Result<Result<Response, ExceptionCode>, tokio_modbus::Error>,
) -> Option<Result<Response, ExceptionCode>> {
    match called {
        Ok(answer) => Some(answer),
        Err(tokio_modbus::Error::Protocol(tokio_modbus::ProtocolError::FunctionCodeMismatch {
            result,
            ..
        })) => Some(result.map_err(|e| e.exception)),
        Err(_) => None,
    }
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
        // tokio-modbus decodes FC 17 and FC 43/14 answers into typed responses even for a
        // request sent as `Custom`: they are put back as the spec lays them out (FC 17:
        // byte count, server id, run indicator, data; FC 43/14: MEI type 0x0E, read code,
        // conformity level, more follows, next object id, object count, then id, length
        // and value per object). Dropping them lost a live attack step's T0888 answer.
        Ok(Response::ReportServerId(id, running, data)) => {
            pdu.push((2 + data.len()) as u8);
            pdu.push(id);
            pdu.push(if running { 0xFF } else { 0x00 });
            pdu.extend(data);
        }
        Ok(Response::ReadDeviceIdentification(r)) => {
            pdu.extend([
                0x0E,
                r.read_code.value(),
                r.conformity_level.value(),
                if r.more_follows { 0xFF } else { 0x00 },
                r.next_object_id,
                r.device_id_objects.len() as u8,
            ]);
            for o in &r.device_id_objects {
                pdu.push(o.id);
                pdu.push(o.value.len() as u8);
                pdu.extend_from_slice(&o.value);
            }
        }
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
            crate::wire::modbus::emit_adu(7, 1, &[0x83, 2]).as_slice(),
            [0, 7, 0, 0, 0, 3, 1, 0x83, 2]
        );
    }

    /// FC 17 and FC 43/14 answers, as a PLC sends them, read by tokio-modbus's client (the
    /// live bridge's) from a socket and put back: the same bytes.
    #[test]
    fn identification_answers_survive_the_bridge() {
        let id = crate::devices::modbus::identity::DeviceIdentity::default();
        let mut device_id = vec![43];
        device_id.extend(id.read_device_identification(1, 0).unwrap());
        let mut server_id = vec![17];
        server_id.extend(id.report_server_id(true));
        for pdu in [server_id, device_id] {
            let request = if pdu[0] == 43 {
                crate::wire::modbus::read_device_identification(1, 1, 1, 0)
            } else {
                crate::wire::modbus::report_server_id(1, 1)
            };
            let (_, _, fc, req) = request_of(&request).unwrap();
            let answer = answered_by_socket(req, &pdu);
            assert_eq!(response_pdu(fc, answer), pdu, "FC {fc}");
        }
    }

    /// What tokio-modbus's TCP client makes of `pdu` sent back by a server on loopback.
    fn answered_by_socket(req: Request<'static>, pdu: &[u8]) -> Result<Response, ExceptionCode> {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let pdu = pdu.to_vec();
        let server = std::thread::spawn(move || {
            use crate::wire::modbus::{FrameStatus, emit_adu, frame_len};
            let (mut s, _) = listener.accept().unwrap();
            // Read until the wire layer sees one whole request, then answer it in kind.
            let mut buf = Vec::new();
            let n = loop {
                if let FrameStatus::Complete(n) = frame_len(&buf) {
                    break n;
                }
                let mut chunk = [0u8; 260];
                let got = s.read(&mut chunk).unwrap();
                assert!(got > 0, "the client closed before a whole request");
                buf.extend_from_slice(&chunk[..got]);
            };
            let adu = Adu::new_unchecked(&buf[..n]).expect("a request ADU");
            s.write_all(&emit_adu(adu.transaction_id(), adu.unit_id(), &pdu))
                .unwrap();
        });
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let answer = rt.block_on(async {
            use tokio_modbus::client::Client;
            let mut ctx = tokio_modbus::client::tcp::connect(addr).await.unwrap();
            answer_of(ctx.call(req).await).expect("an answer")
        });
        server.join().unwrap();
        answer
    }
}
