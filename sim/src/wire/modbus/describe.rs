//! A request in a few words, in the register notation plant files use (`hr:2 = 500`), for
//! the event log of live mode: what a real client asked a PLC, readable by the instructor
//! and the blue team without a dissector.

use super::adu::Adu;
use super::codes::Table;
use super::request::RequestRepr;

fn prefix(t: Table) -> &'static str {
    match t {
        Table::Coils => "co",
        Table::DiscreteInputs => "di",
        Table::InputRegisters => "ir",
        Table::HoldingRegisters => "hr",
    }
}

/// `first` or `first-last` for `qty` items from `addr`.
fn range(table: &str, addr: u16, qty: u16) -> String {
    if qty <= 1 {
        format!("{table}:{addr}")
    } else {
        format!("{table}:{addr}-{}", u32::from(addr) + u32::from(qty) - 1)
    }
}

fn words(bytes: &[u8]) -> Vec<u16> {
    bytes
        .chunks_exact(2)
        .map(|w| u16::from_be_bytes([w[0], w[1]]))
        .collect()
}

fn values(v: &[u16]) -> String {
    match v {
        [one] => one.to_string(),
        _ => format!("{v:?}"),
    }
}

/// What the request in `adu` asks, e.g. `read hr:0-4`, `write hr:2 = 500`,
/// `FC 43 data 0e 01 00`; `malformed (...)` for bytes that are no request.
pub fn describe_request(adu: &[u8]) -> String {
    let parsed = match Adu::new_checked(adu) {
        Ok(a) => a,
        Err(e) => return format!("malformed ({e})"),
    };
    match RequestRepr::parse(&parsed) {
        Err(e) => format!("FC {} malformed ({e:?})", parsed.function()),
        Ok(RequestRepr::Read { table, addr, qty }) => format!("read {}", range(prefix(table), addr, qty)),
        Ok(RequestRepr::WriteSingleCoil { addr, value }) => {
            format!("write co:{addr} = {}", if value == 0xFF00 { 1 } else { 0 })
        }
        Ok(RequestRepr::WriteSingleRegister { addr, value }) => format!("write hr:{addr} = {value}"),
        Ok(RequestRepr::WriteMultipleCoils { addr, qty, bits }) => {
            let v: Vec<u16> = (0..qty)
                .map(|i| {
                    u16::from(
                        bits.get(usize::from(i / 8))
                            .is_some_and(|b| b >> (i % 8) & 1 == 1),
                    )
                })
                .collect();
            format!("write {} = {}", range("co", addr, qty), values(&v))
        }
        Ok(RequestRepr::WriteMultipleRegisters { addr, qty, words: w }) => {
            format!("write {} = {}", range("hr", addr, qty), values(&words(w)))
        }
        Ok(RequestRepr::MaskWriteRegister {
            addr,
            and_mask,
            or_mask,
        }) => format!("mask-write hr:{addr} and 0x{and_mask:04x} or 0x{or_mask:04x}"),
        Ok(RequestRepr::ReadWriteMultipleRegisters {
            read_addr,
            read_qty,
            write_addr,
            write_qty,
            words: w,
        }) => format!(
            "write {} = {}, read {}",
            range("hr", write_addr, write_qty),
            values(&words(w)),
            range("hr", read_addr, read_qty)
        ),
        Ok(RequestRepr::Other { function, data }) => {
            let hex: Vec<String> = data.iter().take(16).map(|b| format!("{b:02x}")).collect();
            let more = if data.len() > 16 { " ..." } else { "" };
            format!("FC {function} data {}{more}", hex.join(" "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::modbus::request as rq;

    #[test]
    fn requests_read_as_plant_files_write_registers() {
        assert_eq!(
            describe_request(&rq::read_holding_registers(1, 1, 0, 5)),
            "read hr:0-4"
        );
        assert_eq!(
            describe_request(&rq::read_input_registers(1, 1, 3, 1)),
            "read ir:3"
        );
        assert_eq!(
            describe_request(&rq::write_single_register(1, 1, 2, 500)),
            "write hr:2 = 500"
        );
        assert_eq!(
            describe_request(&rq::write_single_coil(1, 1, 7, true)),
            "write co:7 = 1"
        );
        assert_eq!(
            describe_request(&rq::write_multiple_registers(1, 1, 4, &[1, 2])),
            "write hr:4-5 = [1, 2]"
        );
        assert_eq!(
            describe_request(&rq::write_multiple_coils(1, 1, 0, &[true, false, true])),
            "write co:0-2 = [1, 0, 1]"
        );
        assert_eq!(
            describe_request(&rq::read_device_identification(1, 1, 1, 0)),
            "FC 43 data 0e 01 00"
        );
        assert!(describe_request(&[0, 1, 0, 0]).starts_with("malformed"));
    }
}
