//! Byte-exact tests of the server against ADUs computed by hand from the
//! Modbus Application Protocol spec v1.1b3 (chapter 6 examples where there is
//! one) and the Modbus TCP implementation guide (MBAP header).
//!
//! MBAP header layout used in every comment: `tid(2) proto(2) len(2) unit(1)`,
//! where `len` counts the unit id plus the PDU.

use crate::devices::modbus::config::ModbusDeviceConfig;
use crate::devices::modbus::map::Table;
use crate::devices::modbus::server::{DropReason, Handled, ModbusServer, ServerReply, WrittenRange};
use crate::wire::modbus::{AduBytes, MalformedReason};
use crate::wire::modbus::{ResponseBody, decode_response, parse_device_identification};

const CFG: &str = r#"
unit_ids = [1]
coils = 256
discrete_inputs = 256
input_registers = 64
holding_registers = 64
read_only_holding = [[50, 59]]
read_only_coils = [[240, 255]]
capacity_rps = 1000000
burst = 100000
[identity]
vendor = "Schneider Electric"
product_code = "BMX P34 2020"
revision = "v3.20"
vendor_url = "www.se.com"
product_name = "Modicon M340"
server_id = 1
"#;

fn server() -> ModbusServer {
    server_from(CFG)
}

fn server_from(toml: &str) -> ModbusServer {
    let cfg = ModbusDeviceConfig::from_toml_str(toml).expect("valid config");
    ModbusServer::from_config(&cfg).expect("valid server")
}

/// Sends `req` at t=0 and returns the response bytes; panics on no answer.
fn respond(s: &mut ModbusServer, req: &[u8]) -> Vec<u8> {
    match s.handle_adu(req, 0).reply {
        ServerReply::Respond(bytes) => bytes.to_vec(),
        ServerReply::Drop => panic!("no answer to {req:02X?}"),
    }
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

// ---------------------------------------------------------------- reads

#[test]
fn fc03_read_holding_registers() {
    let mut s = server();
    for i in 0..10u16 {
        s.map_mut().set_holding_register(i, 0x1000 + i).unwrap();
    }
    // req: 0001 0000 0006 01 | 03 addr=0000 qty=000A
    let req = [
        0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x01, 0x03, 0x00, 0x00, 0x00, 0x0A,
    ];
    // rsp: 0001 0000 0017(=1+1+1+20) 01 | 03 bc=14(20) then 10 words
    let rsp = [
        0x00, 0x01, 0x00, 0x00, 0x00, 0x17, 0x01, 0x03, 0x14, //
        0x10, 0x00, 0x10, 0x01, 0x10, 0x02, 0x10, 0x03, 0x10, 0x04, //
        0x10, 0x05, 0x10, 0x06, 0x10, 0x07, 0x10, 0x08, 0x10, 0x09,
    ];
    let h = s.handle_adu(&req, 0);
    assert_eq!(h.reply, ServerReply::Respond(AduBytes::from_slice(&rsp)));
    assert_eq!((h.function, h.exception, h.wrote), (3, None, false));
    assert_eq!((h.transaction_id, h.unit_id), (Some(1), Some(1)));
}

#[test]
fn fc01_read_coils_spec_example() {
    // Spec 6.1: coils 20..38 (addresses 0x13..0x25) read as CD 6B 05.
    let mut s = server();
    for a in [19, 21, 22, 25, 26, 27, 28, 30, 32, 33, 35, 37] {
        s.map_mut().set_coil(a, true).unwrap();
    }
    // req: 0002 0000 0006 01 | 01 addr=0013 qty=0013
    let req = [
        0x00, 0x02, 0x00, 0x00, 0x00, 0x06, 0x01, 0x01, 0x00, 0x13, 0x00, 0x13,
    ];
    // rsp: 0002 0000 0006 01 | 01 bc=03 CD 6B 05
    let rsp = [
        0x00, 0x02, 0x00, 0x00, 0x00, 0x06, 0x01, 0x01, 0x03, 0xCD, 0x6B, 0x05,
    ];
    assert_eq!(respond(&mut s, &req), rsp);
}

#[test]
fn fc02_read_discrete_inputs_spec_example() {
    // Spec 6.2: inputs 197..218 (addresses 0xC4..0xD9) read as AC DB 35.
    let mut s = server();
    for a in [
        198, 199, 201, 203, 204, 205, 207, 208, 210, 211, 212, 214, 216, 217,
    ] {
        s.map_mut().set_discrete_input(a, true).unwrap();
    }
    // req: 0003 0000 0006 01 | 02 addr=00C4 qty=0016
    let req = [
        0x00, 0x03, 0x00, 0x00, 0x00, 0x06, 0x01, 0x02, 0x00, 0xC4, 0x00, 0x16,
    ];
    // rsp: 0003 0000 0006 01 | 02 bc=03 AC DB 35
    let rsp = [
        0x00, 0x03, 0x00, 0x00, 0x00, 0x06, 0x01, 0x02, 0x03, 0xAC, 0xDB, 0x35,
    ];
    assert_eq!(respond(&mut s, &req), rsp);
}

#[test]
fn fc04_read_input_registers_spec_example() {
    // Spec 6.4: input register 9 (address 8) = 0x000A.
    let mut s = server();
    s.map_mut().set_input_register(8, 0x000A).unwrap();
    // req: 0004 0000 0006 01 | 04 addr=0008 qty=0001
    let req = [
        0x00, 0x04, 0x00, 0x00, 0x00, 0x06, 0x01, 0x04, 0x00, 0x08, 0x00, 0x01,
    ];
    // rsp: 0004 0000 0005 01 | 04 bc=02 000A
    let rsp = [0x00, 0x04, 0x00, 0x00, 0x00, 0x05, 0x01, 0x04, 0x02, 0x00, 0x0A];
    assert_eq!(respond(&mut s, &req), rsp);
}

#[test]
fn read_exceptions() {
    let mut s = server();
    let cases: &[(&[u8], &[u8])] = &[
        // FC 3 addr=003C(60) qty=000A: 60+10 > 64 holding registers -> 83 02
        (
            &[
                0x00, 0x20, 0x00, 0x00, 0x00, 0x06, 0x01, 0x03, 0x00, 0x3C, 0x00, 0x0A,
            ],
            &[0x00, 0x20, 0x00, 0x00, 0x00, 0x03, 0x01, 0x83, 0x02],
        ),
        // FC 3 qty=0 -> 83 03
        (
            &[
                0x00, 0x21, 0x00, 0x00, 0x00, 0x06, 0x01, 0x03, 0x00, 0x00, 0x00, 0x00,
            ],
            &[0x00, 0x21, 0x00, 0x00, 0x00, 0x03, 0x01, 0x83, 0x03],
        ),
        // FC 3 qty=007E(126) -> 83 03 (quantity is checked before the address)
        (
            &[
                0x00, 0x22, 0x00, 0x00, 0x00, 0x06, 0x01, 0x03, 0x00, 0x00, 0x00, 0x7E,
            ],
            &[0x00, 0x22, 0x00, 0x00, 0x00, 0x03, 0x01, 0x83, 0x03],
        ),
        // FC 1 qty=07D1(2001) -> 81 03
        (
            &[
                0x00, 0x23, 0x00, 0x00, 0x00, 0x06, 0x01, 0x01, 0x00, 0x00, 0x07, 0xD1,
            ],
            &[0x00, 0x23, 0x00, 0x00, 0x00, 0x03, 0x01, 0x81, 0x03],
        ),
        // FC 1 addr=00FF qty=0002: beyond 256 coils -> 81 02
        (
            &[
                0x00, 0x24, 0x00, 0x00, 0x00, 0x06, 0x01, 0x01, 0x00, 0xFF, 0x00, 0x02,
            ],
            &[0x00, 0x24, 0x00, 0x00, 0x00, 0x03, 0x01, 0x81, 0x02],
        ),
        // FC 2 qty=0 -> 82 03
        (
            &[
                0x00, 0x25, 0x00, 0x00, 0x00, 0x06, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00,
            ],
            &[0x00, 0x25, 0x00, 0x00, 0x00, 0x03, 0x01, 0x82, 0x03],
        ),
        // FC 4 addr=0040(64) qty=1 -> 84 02
        (
            &[
                0x00, 0x26, 0x00, 0x00, 0x00, 0x06, 0x01, 0x04, 0x00, 0x40, 0x00, 0x01,
            ],
            &[0x00, 0x26, 0x00, 0x00, 0x00, 0x03, 0x01, 0x84, 0x02],
        ),
        // FC 3 truncated PDU (03 00 00): structure error -> 83 03
        (
            &[0x00, 0x27, 0x00, 0x00, 0x00, 0x04, 0x01, 0x03, 0x00, 0x00],
            &[0x00, 0x27, 0x00, 0x00, 0x00, 0x03, 0x01, 0x83, 0x03],
        ),
        // FC 3 with a trailing byte inside the MBAP length -> 83 03
        (
            &[
                0x00, 0x28, 0x00, 0x00, 0x00, 0x07, 0x01, 0x03, 0x00, 0x00, 0x00, 0x01, 0xEE,
            ],
            &[0x00, 0x28, 0x00, 0x00, 0x00, 0x03, 0x01, 0x83, 0x03],
        ),
        // FC 3 qty=7D(125) at 0: 125 > 64 registers -> 83 02
        (
            &[
                0x00, 0x29, 0x00, 0x00, 0x00, 0x06, 0x01, 0x03, 0x00, 0x00, 0x00, 0x7D,
            ],
            &[0x00, 0x29, 0x00, 0x00, 0x00, 0x03, 0x01, 0x83, 0x02],
        ),
    ];
    for (req, rsp) in cases {
        let h = s.handle_adu(req, 0);
        assert_eq!(
            h.reply,
            ServerReply::Respond(AduBytes::from_slice(rsp)),
            "request {req:02X?}"
        );
        assert_eq!(h.exception, Some(rsp[8]));
    }
}

#[test]
fn read_maximum_quantities() {
    let cfg = CFG
        .replace("holding_registers = 64", "holding_registers = 200")
        .replace("coils = 256", "coils = 2000");
    let mut s = server_from(&cfg);
    // FC 3 qty=007D(125): rsp len = 1+1+1+250 = 253 (0x00FD), bc = FA
    let r = respond(&mut s, &[0, 1, 0, 0, 0, 6, 1, 0x03, 0, 0, 0, 0x7D]);
    assert_eq!(r.len(), 7 + 2 + 250);
    assert_eq!(&r[..9], &[0, 1, 0, 0, 0x00, 0xFD, 1, 0x03, 0xFA]);
    // FC 1 qty=07D0(2000): bc = 250 (0xFA), len = 253
    let r = respond(&mut s, &[0, 2, 0, 0, 0, 6, 1, 0x01, 0, 0, 0x07, 0xD0]);
    assert_eq!(&r[..9], &[0, 2, 0, 0, 0x00, 0xFD, 1, 0x01, 0xFA]);
}

// ---------------------------------------------------------------- writes

#[test]
fn fc05_write_single_coil() {
    let mut s = server();
    // Spec 6.5: coil 173 (address 00AC) ON. The response echoes address AND value.
    // req: 0005 0000 0006 01 | 05 00AC FF00
    let req = [
        0x00, 0x05, 0x00, 0x00, 0x00, 0x06, 0x01, 0x05, 0x00, 0xAC, 0xFF, 0x00,
    ];
    let h = s.handle_adu(&req, 0);
    assert_eq!(h.reply, ServerReply::Respond(AduBytes::from_slice(&req)));
    assert!(h.wrote);
    assert_eq!(
        h.written,
        Some(WrittenRange {
            table: Table::Coils,
            start: 0xAC,
            count: 1
        })
    );
    assert_eq!(s.map().coil(0xAC), Some(true));
    // Same value again: answered, but nothing changed.
    let h = s.handle_adu(&req, 0);
    assert!(!h.wrote && h.written.is_none());
    // OFF: 05 00AC 0000
    let off = [
        0x00, 0x06, 0x00, 0x00, 0x00, 0x06, 0x01, 0x05, 0x00, 0xAC, 0x00, 0x00,
    ];
    assert_eq!(respond(&mut s, &off), off);
    assert_eq!(s.map().coil(0xAC), Some(false));

    // Value 1234 is neither FF00 nor 0000 -> 85 03
    let bad = [
        0x00, 0x07, 0x00, 0x00, 0x00, 0x06, 0x01, 0x05, 0x00, 0xAC, 0x12, 0x34,
    ];
    assert_eq!(
        respond(&mut s, &bad),
        [0x00, 0x07, 0x00, 0x00, 0x00, 0x03, 0x01, 0x85, 0x03]
    );
    // Read-only coil 240 (00F0) -> 85 02
    let ro = [
        0x00, 0x08, 0x00, 0x00, 0x00, 0x06, 0x01, 0x05, 0x00, 0xF0, 0xFF, 0x00,
    ];
    assert_eq!(
        respond(&mut s, &ro),
        [0x00, 0x08, 0x00, 0x00, 0x00, 0x03, 0x01, 0x85, 0x02]
    );
    assert_eq!(s.map().coil(0xF0), Some(false));
    // Beyond the map (0100) -> 85 02
    let far = [
        0x00, 0x09, 0x00, 0x00, 0x00, 0x06, 0x01, 0x05, 0x01, 0x00, 0xFF, 0x00,
    ];
    assert_eq!(
        respond(&mut s, &far),
        [0x00, 0x09, 0x00, 0x00, 0x00, 0x03, 0x01, 0x85, 0x02]
    );
}

#[test]
fn fc06_write_single_register() {
    let mut s = server();
    // Spec 6.6: register 2 (address 0001) = 0003. req/rsp: 0007 0000 0006 01 | 06 0001 0003
    let req = [
        0x00, 0x07, 0x00, 0x00, 0x00, 0x06, 0x01, 0x06, 0x00, 0x01, 0x00, 0x03,
    ];
    let h = s.handle_adu(&req, 0);
    assert_eq!(h.reply, ServerReply::Respond(AduBytes::from_slice(&req)));
    assert!(h.wrote);
    assert_eq!(s.map().holding_register(1), Some(3));
    // Read-only register 50 (0032) -> 86 02, value unchanged
    let ro = [
        0x00, 0x08, 0x00, 0x00, 0x00, 0x06, 0x01, 0x06, 0x00, 0x32, 0x12, 0x34,
    ];
    let h = s.handle_adu(&ro, 0);
    assert_eq!(
        h.reply,
        ServerReply::Respond(AduBytes::from_slice(&[
            0x00, 0x08, 0x00, 0x00, 0x00, 0x03, 0x01, 0x86, 0x02
        ]))
    );
    assert!(!h.wrote);
    assert_eq!(s.map().holding_register(50), Some(0));
    // Beyond the map (0040) -> 86 02
    let far = [
        0x00, 0x09, 0x00, 0x00, 0x00, 0x06, 0x01, 0x06, 0x00, 0x40, 0x00, 0x01,
    ];
    assert_eq!(
        respond(&mut s, &far),
        [0x00, 0x09, 0x00, 0x00, 0x00, 0x03, 0x01, 0x86, 0x02]
    );
}

#[test]
fn fc15_write_multiple_coils() {
    let mut s = server();
    // Spec 6.11: 10 coils from address 0013: CD 01.
    // req: 0008 0000 0009 01 | 0F 0013 000A bc=02 CD 01
    let req = [
        0x00, 0x08, 0x00, 0x00, 0x00, 0x09, 0x01, 0x0F, 0x00, 0x13, 0x00, 0x0A, 0x02, 0xCD, 0x01,
    ];
    // rsp: 0008 0000 0006 01 | 0F 0013 000A
    let rsp = [
        0x00, 0x08, 0x00, 0x00, 0x00, 0x06, 0x01, 0x0F, 0x00, 0x13, 0x00, 0x0A,
    ];
    let h = s.handle_adu(&req, 0);
    assert_eq!(h.reply, ServerReply::Respond(AduBytes::from_slice(&rsp)));
    assert_eq!(
        h.written,
        Some(WrittenRange {
            table: Table::Coils,
            start: 0x13,
            count: 10
        })
    );
    // CD = 1100 1101 -> addr 19..26 = 1,0,1,1,0,0,1,1 ; 01 -> addr 27 = 1, 28 = 0
    let got: Vec<bool> = (19..29).map(|a| s.map().coil(a).unwrap()).collect();
    assert_eq!(
        got,
        [true, false, true, true, false, false, true, true, true, false]
    );

    let exc = |tid: u8, code: u8| vec![0x00, tid, 0x00, 0x00, 0x00, 0x03, 0x01, 0x8F, code];
    // byte count 01 but 10 coils need 02 -> 8F 03
    let r = respond(
        &mut s,
        &[
            0x00, 0x10, 0, 0, 0, 0x08, 0x01, 0x0F, 0x00, 0x13, 0x00, 0x0A, 0x01, 0xCD,
        ],
    );
    assert_eq!(r, exc(0x10, 3));
    // quantity 0 -> 8F 03
    let r = respond(
        &mut s,
        &[
            0x00, 0x11, 0, 0, 0, 0x07, 0x01, 0x0F, 0x00, 0x00, 0x00, 0x00, 0x00,
        ],
    );
    assert_eq!(r, exc(0x11, 3));
    // quantity 07B1 (1969) with a matching byte count F7 (247): PDU = 6 + 247 = 253 -> 8F 03
    let mut big = vec![
        0x00, 0x12, 0, 0, 0x00, 0xFE, 0x01, 0x0F, 0x00, 0x00, 0x07, 0xB1, 0xF7,
    ];
    big.extend(std::iter::repeat_n(0u8, 247));
    assert_eq!(respond(&mut s, &big), exc(0x12, 3));
    // byte count says 2 bytes, only 1 present -> 8F 03
    let r = respond(
        &mut s,
        &[
            0x00, 0x13, 0, 0, 0, 0x08, 0x01, 0x0F, 0x00, 0x00, 0x00, 0x0A, 0x02, 0xFF,
        ],
    );
    assert_eq!(r, exc(0x13, 3));
    // addresses 00FC..0103 beyond 256 coils -> 8F 02
    let r = respond(
        &mut s,
        &[
            0x00, 0x14, 0, 0, 0, 0x08, 0x01, 0x0F, 0x00, 0xFC, 0x00, 0x08, 0x01, 0xFF,
        ],
    );
    assert_eq!(r, exc(0x14, 2));
    // addresses 00EE..00F1 touch read-only 240 -> 8F 02, nothing written
    let r = respond(
        &mut s,
        &[
            0x00, 0x15, 0, 0, 0, 0x08, 0x01, 0x0F, 0x00, 0xEE, 0x00, 0x04, 0x01, 0x0F,
        ],
    );
    assert_eq!(r, exc(0x15, 2));
    assert_eq!(s.map().coil(0xEE), Some(false));
}

#[test]
fn fc16_write_multiple_registers() {
    let mut s = server();
    // Spec 6.12: registers 2..3 (address 0001) = 000A 0102.
    // req: 0009 0000 000B 01 | 10 0001 0002 bc=04 000A 0102
    let req = [
        0x00, 0x09, 0x00, 0x00, 0x00, 0x0B, 0x01, 0x10, 0x00, 0x01, 0x00, 0x02, 0x04, 0x00, 0x0A, 0x01, 0x02,
    ];
    // rsp: 0009 0000 0006 01 | 10 0001 0002
    let rsp = [
        0x00, 0x09, 0x00, 0x00, 0x00, 0x06, 0x01, 0x10, 0x00, 0x01, 0x00, 0x02,
    ];
    let h = s.handle_adu(&req, 0);
    assert_eq!(h.reply, ServerReply::Respond(AduBytes::from_slice(&rsp)));
    assert!(h.wrote);
    assert_eq!(&s.map().holding_registers()[1..3], &[0x000A, 0x0102]);

    let exc = |tid: u8, code: u8| vec![0x00, tid, 0x00, 0x00, 0x00, 0x03, 0x01, 0x90, code];
    // quantity 2 but byte count 03 -> 90 03
    let r = respond(
        &mut s,
        &[
            0x00, 0x10, 0, 0, 0, 0x0A, 0x01, 0x10, 0x00, 0x01, 0x00, 0x02, 0x03, 0x00, 0x0A, 0x01,
        ],
    );
    assert_eq!(r, exc(0x10, 3));
    // quantity 0, byte count 0 -> 90 03
    let r = respond(
        &mut s,
        &[
            0x00, 0x11, 0, 0, 0, 0x07, 0x01, 0x10, 0x00, 0x01, 0x00, 0x00, 0x00,
        ],
    );
    assert_eq!(r, exc(0x11, 3));
    // quantity 007C (124) with byte count F6 (246): over the limit (and inconsistent) -> 90 03
    let mut big = vec![
        0x00, 0x12, 0, 0, 0x00, 0xFD, 0x01, 0x10, 0x00, 0x00, 0x00, 0x7C, 0xF6,
    ];
    big.extend(std::iter::repeat_n(0u8, 246));
    assert_eq!(respond(&mut s, &big), exc(0x12, 3));
    // address 003F + 2 registers > 64 -> 90 02
    let r = respond(
        &mut s,
        &[
            0x00, 0x13, 0, 0, 0, 0x0B, 0x01, 0x10, 0x00, 0x3F, 0x00, 0x02, 0x04, 0, 1, 0, 2,
        ],
    );
    assert_eq!(r, exc(0x13, 2));
    // addresses 0031..0032 touch read-only 50 -> 90 02, 49 untouched
    let r = respond(
        &mut s,
        &[
            0x00, 0x14, 0, 0, 0, 0x0B, 0x01, 0x10, 0x00, 0x31, 0x00, 0x02, 0x04, 0, 1, 0, 2,
        ],
    );
    assert_eq!(r, exc(0x14, 2));
    assert_eq!(s.map().holding_register(49), Some(0));
}

#[test]
fn fc22_mask_write_register() {
    let mut s = server();
    // Spec 6.16: address 0004 holds 0012; AND 00F2, OR 0025 -> 0017.
    s.map_mut().set_holding_register(4, 0x0012).unwrap();
    // req = rsp: 000A 0000 0008 01 | 16 0004 00F2 0025
    let req = [
        0x00, 0x0A, 0x00, 0x00, 0x00, 0x08, 0x01, 0x16, 0x00, 0x04, 0x00, 0xF2, 0x00, 0x25,
    ];
    let h = s.handle_adu(&req, 0);
    assert_eq!(h.reply, ServerReply::Respond(AduBytes::from_slice(&req)));
    assert!(h.wrote);
    assert_eq!(s.map().holding_register(4), Some(0x0017));
    // Read-only 0032 -> 96 02
    let ro = [
        0x00, 0x0B, 0x00, 0x00, 0x00, 0x08, 0x01, 0x16, 0x00, 0x32, 0x00, 0xF2, 0x00, 0x25,
    ];
    assert_eq!(
        respond(&mut s, &ro),
        [0x00, 0x0B, 0x00, 0x00, 0x00, 0x03, 0x01, 0x96, 0x02]
    );
    // Beyond the map 0040 -> 96 02
    let far = [
        0x00, 0x0C, 0x00, 0x00, 0x00, 0x08, 0x01, 0x16, 0x00, 0x40, 0x00, 0xF2, 0x00, 0x25,
    ];
    assert_eq!(
        respond(&mut s, &far),
        [0x00, 0x0C, 0x00, 0x00, 0x00, 0x03, 0x01, 0x96, 0x02]
    );
    // Short PDU (no OR mask) -> 96 03
    let short = [
        0x00, 0x0D, 0x00, 0x00, 0x00, 0x06, 0x01, 0x16, 0x00, 0x04, 0x00, 0xF2,
    ];
    assert_eq!(
        respond(&mut s, &short),
        [0x00, 0x0D, 0x00, 0x00, 0x00, 0x03, 0x01, 0x96, 0x03]
    );
}

#[test]
fn fc23_read_write_multiple_registers() {
    let mut s = server();
    // Spec 6.17: read 6 from 0003, write 3 (00FF each) at 000E.
    for (i, v) in [0x00FE, 0x0ACD, 0x0001, 0x0003, 0x000D, 0x00FF]
        .into_iter()
        .enumerate()
    {
        s.map_mut().set_holding_register(3 + i as u16, v).unwrap();
    }
    // req: 000B 0000 0011 01 | 17 0003 0006 000E 0003 bc=06 00FF 00FF 00FF
    let req = [
        0x00, 0x0B, 0x00, 0x00, 0x00, 0x11, 0x01, 0x17, 0x00, 0x03, 0x00, 0x06, 0x00, 0x0E, 0x00, 0x03,
        0x06, //
        0x00, 0xFF, 0x00, 0xFF, 0x00, 0xFF,
    ];
    // rsp: 000B 0000 000F 01 | 17 bc=0C 00FE 0ACD 0001 0003 000D 00FF
    let rsp = [
        0x00, 0x0B, 0x00, 0x00, 0x00, 0x0F, 0x01, 0x17, 0x0C, //
        0x00, 0xFE, 0x0A, 0xCD, 0x00, 0x01, 0x00, 0x03, 0x00, 0x0D, 0x00, 0xFF,
    ];
    let h = s.handle_adu(&req, 0);
    assert_eq!(h.reply, ServerReply::Respond(AduBytes::from_slice(&rsp)));
    assert_eq!(&s.map().holding_registers()[14..17], &[0xFF, 0xFF, 0xFF]);

    // Write happens before the read: write 1234 at 0003, read 1 at 0003.
    // req: 000C 0000 000D 01 | 17 0003 0001 0003 0001 bc=02 1234 ; rsp: 17 bc=02 1234
    let req = [
        0x00, 0x0C, 0x00, 0x00, 0x00, 0x0D, 0x01, 0x17, 0x00, 0x03, 0x00, 0x01, 0x00, 0x03, 0x00, 0x01, 0x02,
        0x12, 0x34,
    ];
    assert_eq!(
        respond(&mut s, &req),
        [0x00, 0x0C, 0x00, 0x00, 0x00, 0x05, 0x01, 0x17, 0x02, 0x12, 0x34]
    );

    let exc = |tid: u8, code: u8| vec![0x00, tid, 0x00, 0x00, 0x00, 0x03, 0x01, 0x97, code];
    // read quantity 007E (126) -> 97 03
    let r = respond(
        &mut s,
        &[
            0x00, 0x10, 0, 0, 0, 0x0D, 0x01, 0x17, 0x00, 0x00, 0x00, 0x7E, 0x00, 0x00, 0x00, 0x01, 0x02, 0, 1,
        ],
    );
    assert_eq!(r, exc(0x10, 3));
    // write quantity 0 -> 97 03
    let r = respond(
        &mut s,
        &[
            0x00, 0x11, 0, 0, 0, 0x0B, 0x01, 0x17, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
        ],
    );
    assert_eq!(r, exc(0x11, 3));
    // write quantity 1 with byte count 04 -> 97 03
    let r = respond(
        &mut s,
        &[
            0x00, 0x12, 0, 0, 0, 0x0F, 0x01, 0x17, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0,
            1, 0, 2,
        ],
    );
    assert_eq!(r, exc(0x12, 3));
    // read range 003F + 2 beyond the map -> 97 02
    let r = respond(
        &mut s,
        &[
            0x00, 0x13, 0, 0, 0, 0x0D, 0x01, 0x17, 0x00, 0x3F, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x02, 0, 1,
        ],
    );
    assert_eq!(r, exc(0x13, 2));
    // write to read-only 0032 -> 97 02, nothing written
    let r = respond(
        &mut s,
        &[
            0x00, 0x14, 0, 0, 0, 0x0D, 0x01, 0x17, 0x00, 0x00, 0x00, 0x01, 0x00, 0x32, 0x00, 0x01, 0x02,
            0xAB, 0xCD,
        ],
    );
    assert_eq!(r, exc(0x14, 2));
    assert_eq!(s.map().holding_register(0x32), Some(0));
}

// ---------------------------------------------------------------- diagnostics

#[test]
fn fc08_diagnostics() {
    let mut s = server();
    // Sub 0000 return query data, data A537: echoed. 000C 0000 0006 01 | 08 0000 A537
    let echo = [
        0x00, 0x0C, 0x00, 0x00, 0x00, 0x06, 0x01, 0x08, 0x00, 0x00, 0xA5, 0x37,
    ];
    assert_eq!(respond(&mut s, &echo), echo);
    // Sub 0001 restart communications, data 0000, not in listen-only mode: echoed.
    let restart = [
        0x00, 0x0D, 0x00, 0x00, 0x00, 0x06, 0x01, 0x08, 0x00, 0x01, 0x00, 0x00,
    ];
    assert_eq!(respond(&mut s, &restart), restart);
    // Sub 0001 with data FF00 (also clears the event log): echoed.
    let restart_ff = [
        0x00, 0x0E, 0x00, 0x00, 0x00, 0x06, 0x01, 0x08, 0x00, 0x01, 0xFF, 0x00,
    ];
    assert_eq!(respond(&mut s, &restart_ff), restart_ff);
    // Sub 0001 with data 1234 -> 88 03
    let bad = [
        0x00, 0x0F, 0x00, 0x00, 0x00, 0x06, 0x01, 0x08, 0x00, 0x01, 0x12, 0x34,
    ];
    assert_eq!(
        respond(&mut s, &bad),
        [0x00, 0x0F, 0x00, 0x00, 0x00, 0x03, 0x01, 0x88, 0x03]
    );
    // Sub 0002 (return diagnostic register) is not supported -> 88 01
    let sub2 = [
        0x00, 0x10, 0x00, 0x00, 0x00, 0x06, 0x01, 0x08, 0x00, 0x02, 0x00, 0x00,
    ];
    assert_eq!(
        respond(&mut s, &sub2),
        [0x00, 0x10, 0x00, 0x00, 0x00, 0x03, 0x01, 0x88, 0x01]
    );
    // No sub-function at all (PDU = 08) -> 88 03
    let none = [0x00, 0x11, 0x00, 0x00, 0x00, 0x02, 0x01, 0x08];
    assert_eq!(
        respond(&mut s, &none),
        [0x00, 0x11, 0x00, 0x00, 0x00, 0x03, 0x01, 0x88, 0x03]
    );

    // Counters: a few requests, then sub 000A clears them.
    assert!(s.counters().bus_message_count > 0);
    assert!(s.counters().bus_exception_error_count >= 3);
    // 0012 0000 0006 01 | 08 000A 0000
    let clear = [
        0x00, 0x12, 0x00, 0x00, 0x00, 0x06, 0x01, 0x08, 0x00, 0x0A, 0x00, 0x00,
    ];
    assert_eq!(respond(&mut s, &clear), clear);
    assert_eq!(s.counters(), Default::default());
    // Sub 000A with non-zero data -> 88 03
    let bad_clear = [
        0x00, 0x13, 0x00, 0x00, 0x00, 0x06, 0x01, 0x08, 0x00, 0x0A, 0x00, 0x01,
    ];
    assert_eq!(
        respond(&mut s, &bad_clear),
        [0x00, 0x13, 0x00, 0x00, 0x00, 0x03, 0x01, 0x88, 0x03]
    );
    let c = s.counters();
    assert_eq!(
        (
            c.bus_message_count,
            c.server_message_count,
            c.bus_exception_error_count
        ),
        (1, 1, 1)
    );
}

#[test]
fn listen_only_mode_silences_until_restart() {
    let mut s = server();
    let read = [
        0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x01, 0x03, 0x00, 0x00, 0x00, 0x01,
    ];
    // Sub 0004 force listen only, data 0000: no response at all.
    let force = [
        0x00, 0x02, 0x00, 0x00, 0x00, 0x06, 0x01, 0x08, 0x00, 0x04, 0x00, 0x00,
    ];
    let h = s.handle_adu(&force, 0);
    assert_eq!(h.reply, ServerReply::Drop);
    assert_eq!(h.dropped, Some(DropReason::ForcedListenOnly));
    assert!(h.listen_only && s.is_listen_only());

    // Everything else, including writes, diagnostics echo and unsupported functions, is ignored.
    let write = [
        0x00, 0x03, 0x00, 0x00, 0x00, 0x06, 0x01, 0x06, 0x00, 0x00, 0x00, 0x07,
    ];
    let echo = [
        0x00, 0x04, 0x00, 0x00, 0x00, 0x06, 0x01, 0x08, 0x00, 0x00, 0x00, 0x00,
    ];
    let unsupported = [0x00, 0x05, 0x00, 0x00, 0x00, 0x02, 0x01, 0x41];
    for req in [&read[..], &write, &echo, &unsupported] {
        let h = s.handle_adu(req, 0);
        assert_eq!(h.reply, ServerReply::Drop, "{req:02X?}");
        assert_eq!(h.dropped, Some(DropReason::ListenOnly));
        assert!(!h.wrote);
    }
    assert_eq!(
        s.map().holding_register(0),
        Some(0),
        "write ignored in listen-only mode"
    );
    assert!(s.counters().server_no_response_count >= 4);

    // Sub 0001 with bad data (1234) would be exception 3, but listen-only mode sends nothing.
    let bad_restart = [
        0x00, 0x08, 0x00, 0x00, 0x00, 0x06, 0x01, 0x08, 0x00, 0x01, 0x12, 0x34,
    ];
    let h = s.handle_adu(&bad_restart, 0);
    assert_eq!(h.reply, ServerReply::Drop);
    assert_eq!(h.dropped, Some(DropReason::ListenOnly));
    assert!(s.is_listen_only());

    // Sub 0001 leaves listen-only mode; per spec 6.8.1 no response is returned for it.
    let restart = [
        0x00, 0x06, 0x00, 0x00, 0x00, 0x06, 0x01, 0x08, 0x00, 0x01, 0x00, 0x00,
    ];
    let h = s.handle_adu(&restart, 0);
    assert_eq!(h.reply, ServerReply::Drop);
    assert_eq!(h.dropped, Some(DropReason::RestartedFromListenOnly));
    assert!(!h.listen_only);
    assert_eq!(s.counters(), Default::default(), "restart clears the counters");

    // The device answers again.
    assert_eq!(
        respond(&mut s, &read),
        [0x00, 0x01, 0x00, 0x00, 0x00, 0x05, 0x01, 0x03, 0x02, 0x00, 0x00]
    );
    // Sub 0004 with non-zero data is refused (and does not enter listen-only mode) -> 88 03
    let bad = [
        0x00, 0x07, 0x00, 0x00, 0x00, 0x06, 0x01, 0x08, 0x00, 0x04, 0xFF, 0x00,
    ];
    assert_eq!(
        respond(&mut s, &bad),
        [0x00, 0x07, 0x00, 0x00, 0x00, 0x03, 0x01, 0x88, 0x03]
    );
    assert!(!s.is_listen_only());
}

// ---------------------------------------------------------------- identification

#[test]
fn fc17_report_server_id() {
    let mut s = server();
    // req: 0010 0000 0002 01 | 11
    let req = [0x00, 0x10, 0x00, 0x00, 0x00, 0x02, 0x01, 0x11];
    // rsp: 0010 0000 0011(=1+1+1+14) 01 | 11 bc=0E id=01 run=FF "Modicon M340"
    let rsp = [
        0x00, 0x10, 0x00, 0x00, 0x00, 0x11, 0x01, 0x11, 0x0E, 0x01, 0xFF, //
        0x4D, 0x6F, 0x64, 0x69, 0x63, 0x6F, 0x6E, 0x20, 0x4D, 0x33, 0x34, 0x30,
    ];
    assert_eq!(respond(&mut s, &req), rsp);
    // CPU stopped: run indicator 00.
    s.set_running(false);
    assert_eq!(respond(&mut s, &req)[10], 0x00);
    // Extra byte in the PDU -> 91 03
    let bad = [0x00, 0x11, 0x00, 0x00, 0x00, 0x03, 0x01, 0x11, 0x00];
    assert_eq!(
        respond(&mut s, &bad),
        [0x00, 0x11, 0x00, 0x00, 0x00, 0x03, 0x01, 0x91, 0x03]
    );
}

#[test]
fn fc43_read_device_identification() {
    let mut s = server();
    // Basic stream from object 0. req: 0011 0000 0005 01 | 2B 0E code=01 obj=00
    let req = [0x00, 0x11, 0x00, 0x00, 0x00, 0x05, 0x01, 0x2B, 0x0E, 0x01, 0x00];
    // rsp PDU: 2B 0E 01 conformity=82 more=00 next=00 n=03
    //          00 12 "Schneider Electric" | 01 0C "BMX P34 2020" | 02 05 "v3.20"
    // PDU = 7 + 20 + 14 + 7 = 48 bytes, MBAP length = 49 = 0x31.
    let rsp = cat(&[
        &[0x00, 0x11, 0x00, 0x00, 0x00, 0x31, 0x01],
        &[0x2B, 0x0E, 0x01, 0x82, 0x00, 0x00, 0x03],
        &[0x00, 0x12],
        b"Schneider Electric",
        &[0x01, 0x0C],
        b"BMX P34 2020",
        &[0x02, 0x05],
        b"v3.20",
    ]);
    assert_eq!(respond(&mut s, &req), rsp);

    // Regular stream: objects 0..4 that exist (3 VendorUrl, 4 ProductName; 5, 6 absent).
    let req = [0x00, 0x12, 0x00, 0x00, 0x00, 0x05, 0x01, 0x2B, 0x0E, 0x02, 0x00];
    let r = decode_response(&respond(&mut s, &req)).unwrap();
    let ResponseBody::Raw(raw) = r.body else {
        panic!("raw body expected")
    };
    let d = parse_device_identification(&raw).unwrap();
    let ids: Vec<u8> = d.objects.iter().map(|o| o.id).collect();
    assert_eq!(ids, [0, 1, 2, 3, 4]);
    assert_eq!(d.objects[4].value, b"Modicon M340");

    // Individual access to object 01: 2B 0E 04 82 00 00 01 | 01 0C "BMX P34 2020"; len = 1+7+14 = 0x16
    let req = [0x00, 0x13, 0x00, 0x00, 0x00, 0x05, 0x01, 0x2B, 0x0E, 0x04, 0x01];
    let rsp = cat(&[
        &[0x00, 0x13, 0x00, 0x00, 0x00, 0x16, 0x01],
        &[0x2B, 0x0E, 0x04, 0x82, 0x00, 0x00, 0x01, 0x01, 0x0C],
        b"BMX P34 2020",
    ]);
    assert_eq!(respond(&mut s, &req), rsp);

    let exc = |tid: u8, code: u8| vec![0x00, tid, 0x00, 0x00, 0x00, 0x03, 0x01, 0xAB, code];
    // Individual access to object 05 (ModelName, not configured) -> AB 02
    assert_eq!(
        respond(&mut s, &[0x00, 0x14, 0, 0, 0, 0x05, 0x01, 0x2B, 0x0E, 0x04, 0x05]),
        exc(0x14, 2)
    );
    // Read device id code 00 and 05 -> AB 03
    assert_eq!(
        respond(&mut s, &[0x00, 0x15, 0, 0, 0, 0x05, 0x01, 0x2B, 0x0E, 0x00, 0x00]),
        exc(0x15, 3)
    );
    assert_eq!(
        respond(&mut s, &[0x00, 0x16, 0, 0, 0, 0x05, 0x01, 0x2B, 0x0E, 0x05, 0x00]),
        exc(0x16, 3)
    );
    // MEI type 0D (CANopen general reference) -> AB 01
    assert_eq!(
        respond(&mut s, &[0x00, 0x17, 0, 0, 0, 0x05, 0x01, 0x2B, 0x0D, 0x01, 0x00]),
        exc(0x17, 1)
    );
    // MEI 0E without object id -> AB 03
    assert_eq!(
        respond(&mut s, &[0x00, 0x18, 0, 0, 0, 0x04, 0x01, 0x2B, 0x0E, 0x01]),
        exc(0x18, 3)
    );
    // Extended stream (03) answers as regular on this regular-conformity device, echoing code 03.
    let r = respond(&mut s, &[0x00, 0x19, 0, 0, 0, 0x05, 0x01, 0x2B, 0x0E, 0x03, 0x00]);
    assert_eq!(&r[7..14], &[0x2B, 0x0E, 0x03, 0x82, 0x00, 0x00, 0x05]);
}

#[test]
fn fc43_more_follows_when_objects_do_not_fit() {
    let v = "V".repeat(100);
    let p = "P".repeat(100);
    let r = "R".repeat(100);
    let mut s = server_from(&format!(
        "[identity]\nvendor = \"{v}\"\nproduct_code = \"{p}\"\nrevision = \"{r}\"\n"
    ));
    // Objects of 2+100 bytes each; 7 + 3*102 = 313 > 253, so two fit in the first answer.
    // req: 0001 0000 0005 00 | 2B 0E 01 00
    let req = [0x00, 0x01, 0x00, 0x00, 0x00, 0x05, 0x00, 0x2B, 0x0E, 0x01, 0x00];
    // rsp: PDU = 7 + 204 = 211, MBAP length 212 = 0xD4;
    //      2B 0E 01 conformity=81 more=FF next=02 n=02 | 00 64 V*100 | 01 64 P*100
    let rsp = cat(&[
        &[0x00, 0x01, 0x00, 0x00, 0x00, 0xD4, 0x00],
        &[0x2B, 0x0E, 0x01, 0x81, 0xFF, 0x02, 0x02],
        &[0x00, 0x64],
        v.as_bytes(),
        &[0x01, 0x64],
        p.as_bytes(),
    ]);
    assert_eq!(respond(&mut s, &req), rsp);
    // Follow-up from object 02: 2B 0E 01 81 00 00 01 | 02 64 R*100 ; length = 1 + 7 + 102 = 110 = 0x6E
    let req = [0x00, 0x02, 0x00, 0x00, 0x00, 0x05, 0x00, 0x2B, 0x0E, 0x01, 0x02];
    let rsp = cat(&[
        &[0x00, 0x02, 0x00, 0x00, 0x00, 0x6E, 0x00],
        &[0x2B, 0x0E, 0x01, 0x81, 0x00, 0x00, 0x01],
        &[0x02, 0x64],
        r.as_bytes(),
    ]);
    assert_eq!(respond(&mut s, &req), rsp);
}

// ---------------------------------------------------------------- functions, units

#[test]
fn unsupported_functions_get_exception_1() {
    let mut s = server();
    // FC 41 (user-defined, not implemented): 0030 0000 0002 01 | 41 -> C1 01
    let r = respond(&mut s, &[0x00, 0x30, 0x00, 0x00, 0x00, 0x02, 0x01, 0x41]);
    assert_eq!(r, [0x00, 0x30, 0x00, 0x00, 0x00, 0x03, 0x01, 0xC1, 0x01]);
    // FC 07 read exception status (serial line only here) -> 87 01
    let r = respond(&mut s, &[0x00, 0x31, 0x00, 0x00, 0x00, 0x02, 0x01, 0x07]);
    assert_eq!(r, [0x00, 0x31, 0x00, 0x00, 0x00, 0x03, 0x01, 0x87, 0x01]);
    // FC 14 read file record -> 94 01
    let r = respond(&mut s, &[0x00, 0x32, 0x00, 0x00, 0x00, 0x03, 0x01, 0x14, 0x00]);
    assert_eq!(r, [0x00, 0x32, 0x00, 0x00, 0x00, 0x03, 0x01, 0x94, 0x01]);
    // FC 00 -> 80 01
    let r = respond(&mut s, &[0x00, 0x33, 0x00, 0x00, 0x00, 0x02, 0x01, 0x00]);
    assert_eq!(r, [0x00, 0x33, 0x00, 0x00, 0x00, 0x03, 0x01, 0x80, 0x01]);
    // "FC" 83 (an exception code sent as a request) -> 83 01, unchanged function byte
    let h = s.handle_adu(&[0x00, 0x34, 0x00, 0x00, 0x00, 0x03, 0x01, 0x83, 0x02], 0);
    assert_eq!(
        h.reply,
        ServerReply::Respond(AduBytes::from_slice(&[
            0x00, 0x34, 0x00, 0x00, 0x00, 0x03, 0x01, 0x83, 0x01
        ]))
    );
    assert_eq!((h.function, h.exception), (0x83, Some(1)));
}

#[test]
fn unit_ids() {
    let mut s = server();
    let req = |unit: u8| {
        [
            0x00, 0x01, 0x00, 0x00, 0x00, 0x06, unit, 0x03, 0x00, 0x00, 0x00, 0x01,
        ]
    };
    for unit in [0x01, 0x00, 0xFF] {
        let r = respond(&mut s, &req(unit));
        assert_eq!(
            r,
            [0x00, 0x01, 0x00, 0x00, 0x00, 0x05, unit, 0x03, 0x02, 0x00, 0x00]
        );
    }
    let h = s.handle_adu(&req(2), 0);
    assert_eq!(h.reply, ServerReply::Drop);
    assert_eq!(h.dropped, Some(DropReason::UnitNotServed(2)));
    // Without `unit_ids` every unit is served.
    let mut any = server_from("holding_registers = 1");
    assert!(matches!(
        any.handle_adu(&req(77), 0).reply,
        ServerReply::Respond(_)
    ));
}

// ---------------------------------------------------------------- capacity

fn flood(s: &mut ModbusServer) -> (usize, usize, usize) {
    let (mut ok, mut busy, mut dropped) = (0, 0, 0);
    for i in 0..1000u64 {
        let t = (i as u16).to_be_bytes();
        let req = [
            t[0], t[1], 0x00, 0x00, 0x00, 0x06, 0x01, 0x03, 0x00, 0x00, 0x00, 0x01,
        ];
        // 1000 requests spread over one simulated second.
        let h = s.handle_adu(&req, i * 1_000_000);
        match (&h.reply, h.exception) {
            (ServerReply::Respond(r), Some(6)) => {
                // tid echoed | 0000 0003 01 | 83 06
                assert_eq!(&r[..], &[t[0], t[1], 0x00, 0x00, 0x00, 0x03, 0x01, 0x83, 0x06]);
                busy += 1;
            }
            (ServerReply::Respond(_), None) => ok += 1,
            (ServerReply::Drop, _) => {
                assert_eq!(h.dropped, Some(DropReason::Overloaded));
                dropped += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    (ok, busy, dropped)
}

#[test]
fn capacity_busy() {
    let mut s = server_from("holding_registers = 4\ncapacity_rps = 200");
    let (ok, busy, dropped) = flood(&mut s);
    // 20 (full bucket) + 200/s * 0.999 s = 219 served; busy answers cost nothing.
    assert_eq!((ok, busy, dropped), (219, 781, 0));
    assert_eq!(s.counters().server_busy_count, 781);
    // After a one-second pause the bucket is full again: 20 in a row are served.
    for k in 0..20 {
        let h = s.handle_adu(&[0, 1, 0, 0, 0, 6, 1, 3, 0, 0, 0, 1], 2_000_000_000 + k);
        assert_eq!(h.exception, None, "request {k} after the pause");
    }
    let h = s.handle_adu(&[0, 1, 0, 0, 0, 6, 1, 3, 0, 0, 0, 1], 2_000_000_020);
    assert_eq!(h.exception, Some(6));
}

#[test]
fn capacity_drop() {
    let mut s = server_from("holding_registers = 4\ncapacity_rps = 200\nburst = 1\noverload = \"drop\"");
    let (ok, busy, dropped) = flood(&mut s);
    // 1 + 199 full 5 ms periods within 0..=999 ms = 200 served.
    assert_eq!((ok, busy, dropped), (200, 0, 800));
}

// ---------------------------------------------------------------- malformed input

fn assert_malformed(h: &Handled, reason: MalformedReason) {
    assert_eq!(h.reply, ServerReply::Drop);
    assert_eq!(h.malformed, Some(reason));
    assert_eq!(h.dropped, Some(DropReason::Malformed));
    assert_eq!((h.function, h.exception, h.wrote), (0, None, false));
}

#[test]
fn malformed_frames_are_dropped() {
    let mut s = server();
    // Protocol id 0001
    let h = s.handle_adu(
        &[
            0x00, 0x01, 0x00, 0x01, 0x00, 0x06, 0x01, 0x03, 0x00, 0x00, 0x00, 0x01,
        ],
        0,
    );
    assert_malformed(&h, MalformedReason::ProtocolId(1));
    // Length says 0x20 bytes follow, 6 do
    let h = s.handle_adu(
        &[
            0x00, 0x01, 0x00, 0x00, 0x00, 0x20, 0x01, 0x03, 0x00, 0x00, 0x00, 0x01,
        ],
        0,
    );
    assert_malformed(
        &h,
        MalformedReason::LengthMismatch {
            declared: 0x20,
            actual: 6,
        },
    );
    // Length says 2, 6 follow (two frames glued together are not split here)
    let h = s.handle_adu(
        &[
            0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x01, 0x03, 0x00, 0x00, 0x00, 0x01,
        ],
        0,
    );
    assert_malformed(
        &h,
        MalformedReason::LengthMismatch {
            declared: 2,
            actual: 6,
        },
    );
    // 3 bytes
    assert_malformed(
        &s.handle_adu(&[0x00, 0x01, 0x00], 0),
        MalformedReason::TooShort { len: 3 },
    );
    // Empty
    assert_malformed(&s.handle_adu(&[], 0), MalformedReason::TooShort { len: 0 });
    // Header only, no function code
    assert_malformed(
        &s.handle_adu(&[0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x01], 0),
        MalformedReason::TooShort { len: 7 },
    );
    // 300 bytes with a consistent length field (0x0126): over 260
    let mut big = vec![0x00, 0x01, 0x00, 0x00, 0x01, 0x26, 0x01, 0x10];
    big.resize(300, 0);
    assert_malformed(&s.handle_adu(&big, 0), MalformedReason::TooLong { len: 300 });
    assert_eq!(s.counters().bus_communication_error_count, 7);
    assert_eq!(s.counters().server_message_count, 0);
}

/// xorshift64*: a fixed-seed generator so the garbage is the same on every run.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// 10 000 random buffers; half get a valid MBAP header so the PDU decoding is
/// exercised too. Nothing may panic, every answer must be a well-formed
/// response to the request, and two servers fed the same bytes must agree.
#[test]
fn random_garbage_never_panics() {
    let mut rng = XorShift(0x0123_4567_89AB_CDEF);
    let mut a = server();
    let mut b = server();
    let (mut answered, mut malformed) = (0, 0);
    for i in 0..10_000u64 {
        let len = rng.below(301) as usize;
        let mut buf: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if i % 2 == 0 && (8..=260).contains(&len) {
            buf[2] = 0;
            buf[3] = 0;
            buf[4..6].copy_from_slice(&((len - 6) as u16).to_be_bytes());
            buf[6] = [0u8, 1, 0xFF][rng.below(3) as usize];
            // Bias towards implemented function codes.
            let fcs = [1u8, 2, 3, 4, 5, 6, 8, 15, 16, 17, 22, 23, 43];
            if rng.below(4) != 0 {
                buf[7] = fcs[rng.below(fcs.len() as u64) as usize];
            }
        }
        let now = i * 100_000;
        let ha = a.handle_adu(&buf, now);
        let hb = b.handle_adu(&buf, now);
        assert_eq!(ha, hb, "determinism");
        match &ha.reply {
            ServerReply::Respond(r) => {
                answered += 1;
                let parsed = decode_response(r).unwrap_or_else(|e| panic!("{e}: {r:02X?} for {buf:02X?}"));
                assert_eq!(parsed.tid, u16::from_be_bytes([buf[0], buf[1]]));
                assert_eq!(parsed.function, buf[7] & 0x7F);
                if let Some(code) = ha.exception {
                    assert_eq!(parsed.body, ResponseBody::Exception(code));
                }
            }
            ServerReply::Drop => {
                if ha.malformed.is_some() {
                    malformed += 1;
                }
            }
        }
        // The client side must not panic on garbage either.
        let _ = decode_response(&buf);
        let _ = crate::wire::modbus::frame_len(&buf);
        let _ = parse_device_identification(&buf);
    }
    assert!(answered > 3000, "answered {answered}");
    assert!(malformed > 4000, "malformed {malformed}");
}

/// The client helpers and the server agree with each other.
#[test]
fn client_server_round_trip() {
    use crate::wire::modbus as c;
    let mut s = server();
    let ack = |addr, value_or_qty| ResponseBody::WriteAck { addr, value_or_qty };
    let mut ask = |req: Vec<u8>| decode_response(&respond(&mut s, &req)).unwrap();

    let r = ask(c::write_multiple_registers(1, 1, 10, &[7, 8, 9]));
    assert_eq!((r.tid, r.unit, r.function, r.body), (1, 1, 0x10, ack(10, 3)));
    let r = ask(c::read_holding_registers(2, 1, 10, 3));
    assert_eq!(r.body, ResponseBody::Registers(vec![7, 8, 9]));
    assert_eq!(
        ask(c::write_single_register(3, 1, 11, 0xBEEF)).body,
        ack(11, 0xBEEF)
    );
    assert_eq!(ask(c::write_single_coil(4, 1, 5, true)).body, ack(5, 0xFF00));
    assert_eq!(
        ask(c::write_multiple_coils(5, 1, 6, &[true, true])).body,
        ack(6, 2)
    );
    let ResponseBody::Bits(bits) = ask(c::read_coils(6, 1, 4, 4)).body else {
        panic!("bits expected")
    };
    assert_eq!(&bits[..4], &[false, true, true, true]);
    let r = ask(c::read_write_multiple_registers(7, 1, 10, 2, 10, &[1]));
    assert_eq!(r.body, ResponseBody::Registers(vec![1, 0xBEEF]));
    let r = ask(c::mask_write_register(8, 1, 10, 0x00FF, 0x1200));
    assert_eq!(r.body, ResponseBody::Raw(vec![0, 10, 0x00, 0xFF, 0x12, 0x00]));
    assert_eq!(s.map().holding_register(10), Some(0x1201));
    let mut ask = |req: Vec<u8>| decode_response(&respond(&mut s, &req)).unwrap();
    assert_eq!(
        ask(c::read_input_registers(9, 1, 64, 1)).body,
        ResponseBody::Exception(2)
    );
    assert_eq!(
        ask(c::read_discrete_inputs(10, 1, 0, 0)).body,
        ResponseBody::Exception(3)
    );
    assert_eq!(
        ask(c::diagnostics(11, 1, 0, &[1, 2])).body,
        ResponseBody::Raw(vec![0, 0, 1, 2])
    );
    let ResponseBody::Raw(raw) = ask(c::report_server_id(12, 1)).body else {
        panic!("raw expected")
    };
    assert_eq!(&raw[..3], &[14, 1, 0xFF]);
    let ResponseBody::Raw(raw) = ask(c::read_device_identification(13, 1, 1, 0)).body else {
        panic!("raw expected")
    };
    let d = parse_device_identification(&raw).unwrap();
    assert_eq!(d.objects[0].value, b"Schneider Electric");
    assert!(!d.more_follows);
}

#[test]
fn a_boot_loader_answers_its_function_and_restart_and_busies_the_rest_and_a_dead_device_nothing() {
    let mut s = server();
    s.set_loader(Some(0x5A));
    let read = [
        0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x01, 0x03, 0x00, 0x00, 0x00, 0x01,
    ];
    // An ordinary read: exception 6, server busy.
    assert_eq!(
        respond(&mut s, &read),
        [0x00, 0x01, 0x00, 0x00, 0x00, 0x03, 0x01, 0x83, 0x06]
    );
    // The loader's function reaches the function dispatch (a plain server calls it illegal,
    // exception 1; a PLC's vendor protocol answers it instead).
    let vendor = [0x00, 0x02, 0x00, 0x00, 0x00, 0x04, 0x01, 0x5A, 0x00, 0x04];
    assert_eq!(s.handle_adu(&vendor, 0).exception, Some(1));
    // A restart is answered (FC 8/1 echoes its request).
    let restart = [
        0x00, 0x03, 0x00, 0x00, 0x00, 0x06, 0x01, 0x08, 0x00, 0x01, 0x00, 0x00,
    ];
    assert_eq!(respond(&mut s, &restart), restart);
    s.set_loader(None);
    assert_eq!(respond(&mut s, &read)[7], 0x03, "answered normally again");
    s.set_dead(true);
    for req in [&read[..], &restart, &vendor] {
        let h = s.handle_adu(req, 0);
        assert_eq!(h.reply, ServerReply::Drop, "{req:02X?}");
        assert_eq!(h.dropped, Some(DropReason::NoFirmware));
    }
}
