//! Server side of a simulated Modbus TCP device (one per PLC).
//!
//! [`ModbusServer::handle_adu`] takes exactly one request ADU (split the TCP
//! stream with [`crate::wire::modbus::frame_len`]) and the simulated time,
//! and returns the bytes to send back, if any, plus a summary for the range's
//! event log. It never panics on any input.
//!
//! Processing order, which decides what an odd request gets:
//!
//! 1. MBAP framing (size, protocol id, length field) -> malformed: dropped.
//! 2. Unit id not served by this device -> dropped.
//! 3. Listen-only mode -> dropped, except FC 8 sub-function 1.
//! 4. Capacity (token bucket) -> exception 6 or dropped.
//! 5. Function code dispatch; per function, the checks follow the spec's
//!    state diagrams: unsupported function (1), then quantity / byte count /
//!    structure (3), then address range and write protection (2).
//!
//! All PDUs are decoded and encoded with `modbus-core`, except where it cannot
//! express the spec's bytes (see the comments at each `Response::Custom`).

use crate::wire::modbus::Header;
use modbus_core::{Coils, Data, FunctionCode, Request, Response};

use crate::base::config_error::ConfigError;
use crate::devices::modbus::capacity::{OverloadPolicy, TokenBucket};
use crate::devices::modbus::config::ModbusDeviceConfig;
use crate::devices::modbus::identity::DeviceIdentity;
use crate::devices::modbus::map::{RegisterMap, Table};
use crate::wire::modbus::{
    Adu, EX_ILLEGAL_DATA_ADDRESS, EX_ILLEGAL_DATA_VALUE, EX_ILLEGAL_FUNCTION, EX_SERVER_DEVICE_BUSY,
    EX_SERVER_DEVICE_FAILURE, FC_DIAGNOSTICS, FC_ENCAPSULATED_INTERFACE, FC_MASK_WRITE_REGISTER,
    FC_READ_COILS, FC_READ_DISCRETE_INPUTS, FC_READ_HOLDING_REGISTERS, FC_READ_INPUT_REGISTERS,
    FC_READ_WRITE_MULTIPLE_REGISTERS, FC_REPORT_SERVER_ID, FC_WRITE_MULTIPLE_COILS,
    FC_WRITE_MULTIPLE_REGISTERS, FC_WRITE_SINGLE_COIL, FC_WRITE_SINGLE_REGISTER, MEI_READ_DEVICE_ID,
    MalformedReason, be_u16, decode_request_pdu, emit_exception as encode_exception, emit_response as encode,
};

/// Quantity limit of FC 1/2 (spec 6.1, 6.2).
pub const MAX_READ_BITS: u16 = 2000;
/// Quantity limit of FC 3/4 and of the read part of FC 23.
pub const MAX_READ_REGISTERS: u16 = 125;
/// Quantity limit of FC 15.
pub const MAX_WRITE_BITS: u16 = 1968;
/// Quantity limit of FC 16.
pub const MAX_WRITE_REGISTERS: u16 = 123;
/// Quantity limit of the write part of FC 23.
pub const MAX_RW_WRITE_REGISTERS: u16 = 121;

/// FC 8 sub-function 0: return query data.
pub const DIAG_RETURN_QUERY_DATA: u16 = 0x0000;
/// FC 8 sub-function 1: restart communications option.
pub const DIAG_RESTART_COMMUNICATIONS: u16 = 0x0001;
/// FC 8 sub-function 4: force listen only mode.
pub const DIAG_FORCE_LISTEN_ONLY: u16 = 0x0004;
/// FC 8 sub-function 10: clear counters and diagnostic register.
pub const DIAG_CLEAR_COUNTERS: u16 = 0x000A;

/// What goes back on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerReply {
    /// Send this response ADU.
    Respond(crate::wire::modbus::AduBytes),
    /// Send nothing at all; the client will time out.
    Drop,
}

/// Why a request got no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DropReason {
    /// The ADU is not a valid frame; see [`Handled::malformed`].
    Malformed,
    /// The unit id is not one this device answers.
    UnitNotServed(u8),
    /// The device is in listen-only mode (FC 8 sub-function 4).
    ListenOnly,
    /// This request switched the device to listen-only mode; the spec says it gets no answer.
    ForcedListenOnly,
    /// FC 8 sub-function 1 received in listen-only mode: the device leaves
    /// listen-only mode and restarts, but the spec says no answer is returned.
    RestartedFromListenOnly,
    /// Over capacity with `overload = "drop"`.
    Overloaded,
    /// The device's firmware does not boot (see [`ModbusServer::set_dead`]): nothing answers.
    NoFirmware,
}

/// A client write that changed the map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WrittenRange {
    /// Table written.
    pub table: Table,
    /// First address of the request's write range.
    pub start: u16,
    /// Number of entries in the request's write range.
    pub count: u16,
}

/// Outcome of one ADU, for the caller (network layer) and the event log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handled {
    /// Bytes to send, or nothing.
    pub reply: ServerReply,
    /// Function code of the request; 0 (not a valid function code) when the frame was malformed.
    pub function: u8,
    /// Exception code sent, if the answer was an exception.
    pub exception: Option<u8>,
    /// Whether the request changed a value in the register map.
    pub wrote: bool,
    /// What was written, when `wrote` is true.
    pub written: Option<WrittenRange>,
    /// Whether the device is in listen-only mode after this request.
    pub listen_only: bool,
    /// Why the frame was rejected, when it was.
    pub malformed: Option<MalformedReason>,
    /// Why nothing was sent, when `reply` is `Drop`.
    pub dropped: Option<DropReason>,
    /// MBAP transaction id, when the frame was valid.
    pub transaction_id: Option<u16>,
    /// MBAP unit id, when the frame was valid.
    pub unit_id: Option<u8>,
}

/// Diagnostic counters of the Modbus serial line spec (FC 8 sub-functions 11..18
/// and FC 11), kept so later diagnostics functions and the range's dashboards
/// can read them. 16-bit and wrapping, like on a real device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DiagnosticCounters {
    /// Every ADU received, valid or not (sub-function 11).
    pub bus_message_count: u16,
    /// Malformed ADUs (sub-function 12; the TCP analogue of CRC errors).
    pub bus_communication_error_count: u16,
    /// Exception responses sent (sub-function 13).
    pub bus_exception_error_count: u16,
    /// Valid ADUs addressed to this device (sub-function 14).
    pub server_message_count: u16,
    /// Requests addressed to this device that got no answer (sub-function 15).
    pub server_no_response_count: u16,
    /// Negative acknowledges (sub-function 16); never sent by this device.
    pub server_nak_count: u16,
    /// Busy exceptions sent (sub-function 17).
    pub server_busy_count: u16,
    /// Character overruns (sub-function 18); cannot happen over TCP.
    pub bus_character_overrun_count: u16,
    /// Successful message completions (FC 11 event counter).
    pub comm_event_counter: u16,
}

/// Internal result of dispatching one PDU.
enum Outcome {
    Reply(crate::wire::modbus::AduBytes),
    Exception(u8),
    Silent(DropReason),
}

/// One simulated Modbus TCP device: register map, identity, diagnostics state
/// and CPU capacity.
#[derive(Debug, Clone)]
#[repr(C)]
pub struct ModbusServer {
    // In declaration order (`repr(C)`): the state a PLC's scan sets and the map first, what
    // only requests read after (see `Plc`'s layout).
    /// Only a boot loader runs: the one function code it answers (see [`ModbusServer::set_loader`]).
    loader: Option<u8>,
    /// Nothing runs (see [`ModbusServer::set_dead`]).
    dead: bool,
    listen_only: bool,
    running: bool,
    /// Set by FC 8 sub 1/10 so that the request that cleared the counters is not counted afterwards.
    cleared: bool,
    /// Always 0 in this model; cleared by FC 8 sub-function 10.
    diagnostic_register: u16,
    map: RegisterMap,
    overload: OverloadPolicy,
    bucket: TokenBucket,
    counters: DiagnosticCounters,
    /// Sorted, deduplicated; empty = any unit id.
    unit_ids: Vec<u8>,
    /// Boxed: read only by the identification requests, and large.
    identity: Box<DeviceIdentity>,
}

impl ModbusServer {
    /// Builds a device from its validated `[plc.modbus]` configuration.
    pub fn from_config(cfg: &ModbusDeviceConfig) -> Result<Self, ConfigError> {
        let r = cfg.resolve()?;
        let [coils, discrete_inputs, input_registers, holding_registers] = r.sizes;
        let mut map = RegisterMap::new(coils, discrete_inputs, input_registers, holding_registers);
        map.set_read_only_coils(&r.read_only_coils);
        map.set_read_only_holding(&r.read_only_holding);
        Ok(Self {
            map,
            identity: Box::new(r.identity),
            unit_ids: r.unit_ids,
            counters: DiagnosticCounters::default(),
            diagnostic_register: 0,
            listen_only: false,
            running: true,
            bucket: TokenBucket::new(r.capacity_rps, r.burst),
            overload: cfg.overload,
            cleared: false,
            loader: None,
            dead: false,
        })
    }

    /// While `Some(fc)`, only a boot loader runs (a PLC in firmware-update mode): it answers
    /// function `fc` (the vendor function its loader speaks) and FC 8 sub-function 1
    /// (restart), and every other request with exception 6, server device busy, which the
    /// spec reserves for a server "engaged in processing a long-duration program command".
    pub fn set_loader(&mut self, fc: Option<u8>) {
        self.loader = fc;
    }

    /// A device whose firmware does not boot: from now on it answers nothing, not even a
    /// restart (dropped with [`DropReason::NoFirmware`]).
    pub fn set_dead(&mut self, dead: bool) {
        self.dead = dead;
    }

    /// Mutable identity: a firmware install changes the revision the device reports.
    pub fn identity_mut(&mut self) -> &mut DeviceIdentity {
        &mut self.identity
    }

    /// The register map (what clients read).
    pub fn map(&self) -> &RegisterMap {
        &self.map
    }

    /// The register map, for the plant simulation to update inputs and read outputs.
    pub fn map_mut(&mut self) -> &mut RegisterMap {
        &mut self.map
    }

    /// Identification answered to FC 43/14 and FC 17.
    pub fn identity(&self) -> &DeviceIdentity {
        &self.identity
    }

    /// Diagnostic counters.
    pub fn counters(&self) -> DiagnosticCounters {
        self.counters
    }

    /// Diagnostic register (FC 8 sub-function 2 would return it); always 0 here.
    pub fn diagnostic_register(&self) -> u16 {
        self.diagnostic_register
    }

    /// Whether the device is in listen-only mode.
    pub fn is_listen_only(&self) -> bool {
        self.listen_only
    }

    /// Run indicator reported by FC 17 (an attacker may stop the CPU).
    pub fn set_running(&mut self, running: bool) {
        self.running = running;
    }

    /// Whether the CPU is in RUN.
    pub fn is_running(&self) -> bool {
        self.running
    }

    /// Overload policy in force.
    pub fn overload_policy(&self) -> OverloadPolicy {
        self.overload
    }

    /// Whole capacity tokens left at `now_ns` (refills the bucket up to then).
    pub fn capacity_available(&mut self, now_ns: u64) -> u64 {
        self.bucket.available(now_ns)
    }

    /// Whether this device answers `unit`: 0 and 255 always (Modbus TCP
    /// implementation guide 4.4.2: the unit id is not needed to reach a TCP
    /// device), others when configured or when no list is configured.
    pub fn serves_unit(&self, unit: u8) -> bool {
        unit == 0 || unit == 0xFF || self.unit_ids.is_empty() || self.unit_ids.binary_search(&unit).is_ok()
    }

    /// Handles one request ADU at simulated time `now_ns`. Never panics.
    pub fn handle_adu(&mut self, adu: &[u8], now_ns: u64) -> Handled {
        self.counters.bus_message_count = self.counters.bus_message_count.wrapping_add(1);
        self.cleared = false;
        let frame = match Adu::new_checked(adu) {
            Ok(f) => f,
            Err(reason) => {
                self.counters.bus_communication_error_count =
                    self.counters.bus_communication_error_count.wrapping_add(1);
                return Handled {
                    reply: ServerReply::Drop,
                    function: 0,
                    exception: None,
                    wrote: false,
                    written: None,
                    listen_only: self.listen_only,
                    malformed: Some(reason),
                    dropped: Some(DropReason::Malformed),
                    transaction_id: None,
                    unit_id: None,
                };
            }
        };
        let hdr = Header {
            transaction_id: frame.transaction_id(),
            unit_id: frame.unit_id(),
        };
        let pdu = frame.pdu();
        let fc = pdu[0];
        let mut written = None;

        let outcome = if self.dead {
            Outcome::Silent(DropReason::NoFirmware)
        } else if !self.serves_unit(frame.unit_id()) {
            Outcome::Silent(DropReason::UnitNotServed(frame.unit_id()))
        } else {
            self.counters.server_message_count = self.counters.server_message_count.wrapping_add(1);
            let restart = fc == FC_DIAGNOSTICS && be_u16(pdu, 1) == Some(DIAG_RESTART_COMMUNICATIONS);
            if self.listen_only && !restart {
                Outcome::Silent(DropReason::ListenOnly)
            } else if !self.bucket.try_acquire(now_ns) {
                match self.overload {
                    OverloadPolicy::Busy => Outcome::Exception(EX_SERVER_DEVICE_BUSY),
                    OverloadPolicy::Drop => Outcome::Silent(DropReason::Overloaded),
                }
            } else if self.loader.is_some_and(|l| l != fc) && !restart {
                Outcome::Exception(EX_SERVER_DEVICE_BUSY)
            } else {
                self.dispatch(hdr, pdu, &mut written)
            }
        };
        // A device in listen-only mode sends nothing, not even an exception to
        // a malformed restart request or a busy answer to one.
        let outcome = match outcome {
            Outcome::Exception(_) if self.listen_only => Outcome::Silent(DropReason::ListenOnly),
            other => other,
        };

        let (reply, exception, dropped) = match outcome {
            Outcome::Reply(bytes) => {
                if !self.cleared {
                    self.counters.comm_event_counter = self.counters.comm_event_counter.wrapping_add(1);
                }
                (ServerReply::Respond(bytes), None, None)
            }
            Outcome::Exception(code) => {
                self.counters.bus_exception_error_count =
                    self.counters.bus_exception_error_count.wrapping_add(1);
                if code == EX_SERVER_DEVICE_BUSY {
                    self.counters.server_busy_count = self.counters.server_busy_count.wrapping_add(1);
                }
                (
                    ServerReply::Respond(encode_exception(hdr, fc, code)),
                    Some(code),
                    None,
                )
            }
            Outcome::Silent(reason) => {
                if !matches!(reason, DropReason::UnitNotServed(_)) && !self.cleared {
                    self.counters.server_no_response_count =
                        self.counters.server_no_response_count.wrapping_add(1);
                }
                (ServerReply::Drop, None, Some(reason))
            }
        };
        Handled {
            reply,
            function: fc,
            exception,
            wrote: written.is_some(),
            written,
            listen_only: self.listen_only,
            malformed: None,
            dropped,
            transaction_id: Some(hdr.transaction_id),
            unit_id: Some(hdr.unit_id),
        }
    }

    fn dispatch(&mut self, hdr: Header, pdu: &[u8], written: &mut Option<WrittenRange>) -> Outcome {
        let fc = pdu[0];
        match fc {
            FC_READ_COILS
            | FC_READ_DISCRETE_INPUTS
            | FC_READ_HOLDING_REGISTERS
            | FC_READ_INPUT_REGISTERS
            | FC_WRITE_SINGLE_COIL
            | FC_WRITE_SINGLE_REGISTER
            | FC_WRITE_MULTIPLE_COILS
            | FC_WRITE_MULTIPLE_REGISTERS
            | FC_READ_WRITE_MULTIPLE_REGISTERS => {
                // modbus-core rejects truncated PDUs, byte counts beyond the
                // PDU and FC 5 values other than 0xFF00/0x0000; all are
                // "illegal data value" in the spec's state diagrams.
                let Ok(req) = decode_request_pdu(pdu) else {
                    return Outcome::Exception(EX_ILLEGAL_DATA_VALUE);
                };
                self.standard(hdr, req, pdu, written)
            }
            FC_DIAGNOSTICS => self.diagnostics(hdr, pdu),
            FC_REPORT_SERVER_ID => {
                if pdu.len() != 1 {
                    return Outcome::Exception(EX_ILLEGAL_DATA_VALUE);
                }
                let data = self.identity.report_server_id(self.running);
                // modbus-core's `Response::ReportServerId` hits `unimplemented!()`
                // in `encode`, so the body is built by `DeviceIdentity` and sent as Custom.
                Outcome::Reply(encode(hdr, Response::Custom(FunctionCode::new(fc), &data)))
            }
            FC_MASK_WRITE_REGISTER => self.mask_write(hdr, pdu, written),
            FC_ENCAPSULATED_INTERFACE => self.encapsulated(hdr, pdu),
            _ => Outcome::Exception(EX_ILLEGAL_FUNCTION),
        }
    }

    fn standard(
        &mut self,
        hdr: Header,
        req: Request<'_>,
        pdu: &[u8],
        written: &mut Option<WrittenRange>,
    ) -> Outcome {
        match req {
            Request::ReadCoils(addr, qty) => self.read_bits(hdr, Table::Coils, addr, qty),
            Request::ReadDiscreteInputs(addr, qty) => self.read_bits(hdr, Table::DiscreteInputs, addr, qty),
            Request::ReadHoldingRegisters(addr, qty) => {
                self.read_registers(hdr, Table::HoldingRegisters, addr, qty)
            }
            Request::ReadInputRegisters(addr, qty) => {
                self.read_registers(hdr, Table::InputRegisters, addr, qty)
            }
            Request::WriteSingleCoil(addr, value) => {
                match self.map.write_coils(addr, &[value]) {
                    Ok(changed) => note_write(written, changed, Table::Coils, addr, 1),
                    Err(_) => return Outcome::Exception(EX_ILLEGAL_DATA_ADDRESS),
                }
                // The spec's FC 5 response echoes address AND value (5 bytes),
                // but modbus-core's `Response::WriteSingleCoil` carries only the
                // address and encodes 3 bytes, so echo the request body verbatim.
                Outcome::Reply(encode(
                    hdr,
                    Response::Custom(FunctionCode::WriteSingleCoil, &pdu[1..5]),
                ))
            }
            Request::WriteSingleRegister(addr, value) => {
                match self.map.write_holding(addr, &[value]) {
                    Ok(changed) => note_write(written, changed, Table::HoldingRegisters, addr, 1),
                    Err(_) => return Outcome::Exception(EX_ILLEGAL_DATA_ADDRESS),
                }
                Outcome::Reply(encode(hdr, Response::WriteSingleRegister(addr, value)))
            }
            Request::WriteMultipleCoils(addr, coils) => {
                let qty = coils.len();
                let byte_count = usize::from(pdu[5]);
                if !(1..=usize::from(MAX_WRITE_BITS)).contains(&qty) || byte_count != qty.div_ceil(8) {
                    return Outcome::Exception(EX_ILLEGAL_DATA_VALUE);
                }
                // Safe to iterate: the byte count covers `qty` bits and the PDU length was checked.
                let values: Vec<bool> = coils.into_iter().collect();
                match self.map.write_coils(addr, &values) {
                    Ok(changed) => note_write(written, changed, Table::Coils, addr, qty),
                    Err(_) => return Outcome::Exception(EX_ILLEGAL_DATA_ADDRESS),
                }
                Outcome::Reply(encode(hdr, Response::WriteMultipleCoils(addr, qty as u16)))
            }
            Request::WriteMultipleRegisters(addr, data) => {
                let qty = data.len();
                if !(1..=usize::from(MAX_WRITE_REGISTERS)).contains(&qty) || data.payload().len() != 2 * qty {
                    return Outcome::Exception(EX_ILLEGAL_DATA_VALUE);
                }
                let values: Vec<u16> = data.into_iter().collect();
                match self.map.write_holding(addr, &values) {
                    Ok(changed) => note_write(written, changed, Table::HoldingRegisters, addr, qty),
                    Err(_) => return Outcome::Exception(EX_ILLEGAL_DATA_ADDRESS),
                }
                Outcome::Reply(encode(hdr, Response::WriteMultipleRegisters(addr, qty as u16)))
            }
            Request::ReadWriteMultipleRegisters(read_addr, read_qty, write_addr, data) => {
                let write_qty = data.len();
                if !(1..=MAX_READ_REGISTERS).contains(&read_qty)
                    || !(1..=usize::from(MAX_RW_WRITE_REGISTERS)).contains(&write_qty)
                    || data.payload().len() != 2 * write_qty
                {
                    return Outcome::Exception(EX_ILLEGAL_DATA_VALUE);
                }
                let table = Table::HoldingRegisters;
                // Both ranges are checked before anything is written.
                if self
                    .map
                    .check_range(table, read_addr, usize::from(read_qty))
                    .is_err()
                    || self.map.check_writable(table, write_addr, write_qty).is_err()
                {
                    return Outcome::Exception(EX_ILLEGAL_DATA_ADDRESS);
                }
                let values: Vec<u16> = data.into_iter().collect();
                // Spec 6.17: the write is performed before the read.
                match self.map.write_holding(write_addr, &values) {
                    Ok(changed) => note_write(written, changed, table, write_addr, write_qty),
                    Err(_) => return Outcome::Exception(EX_ILLEGAL_DATA_ADDRESS),
                }
                match self.map.read_registers(table, read_addr, usize::from(read_qty)) {
                    Ok(words) => {
                        let mut buf = [0u8; 2 * MAX_READ_REGISTERS as usize];
                        match Data::from_words(words, &mut buf) {
                            Ok(d) => Outcome::Reply(encode(hdr, Response::ReadWriteMultipleRegisters(d))),
                            Err(_) => Outcome::Exception(EX_SERVER_DEVICE_FAILURE),
                        }
                    }
                    Err(_) => Outcome::Exception(EX_ILLEGAL_DATA_ADDRESS),
                }
            }
            // Not produced by `Request::try_from` for the function codes routed here.
            _ => Outcome::Exception(EX_ILLEGAL_FUNCTION),
        }
    }

    fn read_bits(&self, hdr: Header, table: Table, addr: u16, qty: u16) -> Outcome {
        if !(1..=MAX_READ_BITS).contains(&qty) {
            return Outcome::Exception(EX_ILLEGAL_DATA_VALUE);
        }
        let Ok(bits) = self.map.read_bits(table, addr, usize::from(qty)) else {
            return Outcome::Exception(EX_ILLEGAL_DATA_ADDRESS);
        };
        let mut buf = [0u8; (MAX_READ_BITS as usize).div_ceil(8)];
        let Ok(coils) = Coils::from_bools(bits, &mut buf) else {
            return Outcome::Exception(EX_SERVER_DEVICE_FAILURE);
        };
        let resp = if table == Table::Coils {
            Response::ReadCoils(coils)
        } else {
            Response::ReadDiscreteInputs(coils)
        };
        Outcome::Reply(encode(hdr, resp))
    }

    fn read_registers(&self, hdr: Header, table: Table, addr: u16, qty: u16) -> Outcome {
        if !(1..=MAX_READ_REGISTERS).contains(&qty) {
            return Outcome::Exception(EX_ILLEGAL_DATA_VALUE);
        }
        let Ok(words) = self.map.read_registers(table, addr, usize::from(qty)) else {
            return Outcome::Exception(EX_ILLEGAL_DATA_ADDRESS);
        };
        let mut buf = [0u8; 2 * MAX_READ_REGISTERS as usize];
        let Ok(data) = Data::from_words(words, &mut buf) else {
            return Outcome::Exception(EX_SERVER_DEVICE_FAILURE);
        };
        let resp = if table == Table::HoldingRegisters {
            Response::ReadHoldingRegisters(data)
        } else {
            Response::ReadInputRegisters(data)
        };
        Outcome::Reply(encode(hdr, resp))
    }

    /// FC 22: result = (current AND and_mask) OR (or_mask AND NOT and_mask).
    fn mask_write(&mut self, hdr: Header, pdu: &[u8], written: &mut Option<WrittenRange>) -> Outcome {
        // PDU: 16 | addr(2) | and_mask(2) | or_mask(2)
        if pdu.len() != 7 {
            return Outcome::Exception(EX_ILLEGAL_DATA_VALUE);
        }
        let (Some(addr), Some(and_mask), Some(or_mask)) = (be_u16(pdu, 1), be_u16(pdu, 3), be_u16(pdu, 5))
        else {
            return Outcome::Exception(EX_ILLEGAL_DATA_VALUE);
        };
        if self.map.check_writable(Table::HoldingRegisters, addr, 1).is_err() {
            return Outcome::Exception(EX_ILLEGAL_DATA_ADDRESS);
        }
        let current = self.map.holding_register(addr).unwrap_or(0);
        let result = (current & and_mask) | (or_mask & !and_mask);
        match self.map.write_holding(addr, &[result]) {
            Ok(changed) => note_write(written, changed, Table::HoldingRegisters, addr, 1),
            Err(_) => return Outcome::Exception(EX_ILLEGAL_DATA_ADDRESS),
        }
        // modbus-core has no MaskWriteRegister response; the response echoes the request.
        Outcome::Reply(encode(
            hdr,
            Response::Custom(FunctionCode::MaskWriteRegister, &pdu[1..]),
        ))
    }

    /// FC 8, sub-functions 0, 1, 4 and 10.
    fn diagnostics(&mut self, hdr: Header, pdu: &[u8]) -> Outcome {
        // PDU: 08 | sub-function(2) | data(N x 2 bytes)
        let Some(sub) = be_u16(pdu, 1) else {
            return Outcome::Exception(EX_ILLEGAL_DATA_VALUE);
        };
        let data = &pdu[3..];
        // modbus-core's `Response::Diagnostics` hits `unimplemented!()` in
        // `encode`; all diagnostics answers echo the request, so use Custom.
        let echo = |hdr| {
            encode(
                hdr,
                Response::Custom(FunctionCode::new(FC_DIAGNOSTICS), &pdu[1..]),
            )
        };
        match sub {
            DIAG_RETURN_QUERY_DATA => Outcome::Reply(echo(hdr)),
            DIAG_RESTART_COMMUNICATIONS => {
                // Data 0x0000 keeps the comm event log, 0xFF00 clears it too;
                // this device keeps no event log, so both clear the counters only.
                if data != [0x00, 0x00] && data != [0xFF, 0x00] {
                    return Outcome::Exception(EX_ILLEGAL_DATA_VALUE);
                }
                let was_listen_only = self.listen_only;
                self.listen_only = false;
                self.clear_counters();
                if was_listen_only {
                    // Spec 6.8.1 sub 01: "If the port is currently in Listen Only
                    // Mode, no response is returned."
                    Outcome::Silent(DropReason::RestartedFromListenOnly)
                } else {
                    Outcome::Reply(echo(hdr))
                }
            }
            DIAG_FORCE_LISTEN_ONLY => {
                if data != [0x00, 0x00] {
                    return Outcome::Exception(EX_ILLEGAL_DATA_VALUE);
                }
                self.listen_only = true;
                Outcome::Silent(DropReason::ForcedListenOnly)
            }
            DIAG_CLEAR_COUNTERS => {
                if data != [0x00, 0x00] {
                    return Outcome::Exception(EX_ILLEGAL_DATA_VALUE);
                }
                self.clear_counters();
                Outcome::Reply(echo(hdr))
            }
            _ => Outcome::Exception(EX_ILLEGAL_FUNCTION),
        }
    }

    fn clear_counters(&mut self) {
        self.counters = DiagnosticCounters::default();
        self.diagnostic_register = 0;
        self.cleared = true;
    }

    /// FC 43; only MEI type 14 (read device identification) is supported.
    fn encapsulated(&self, hdr: Header, pdu: &[u8]) -> Outcome {
        // PDU: 2B | MEI type 0E | read device id code | object id
        let Some(&mei) = pdu.get(1) else {
            return Outcome::Exception(EX_ILLEGAL_DATA_VALUE);
        };
        if mei != MEI_READ_DEVICE_ID {
            return Outcome::Exception(EX_ILLEGAL_FUNCTION);
        }
        if pdu.len() != 4 {
            return Outcome::Exception(EX_ILLEGAL_DATA_VALUE);
        }
        match self.identity.read_device_identification(pdu[2], pdu[3]) {
            // modbus-core has no read-device-identification response type.
            Ok(data) => Outcome::Reply(encode(
                hdr,
                Response::Custom(FunctionCode::new(FC_ENCAPSULATED_INTERFACE), &data),
            )),
            Err(code) => Outcome::Exception(code),
        }
    }
}

fn note_write(written: &mut Option<WrittenRange>, changed: bool, table: Table, start: u16, count: usize) {
    if changed {
        *written = Some(WrittenRange {
            table,
            start,
            count: count as u16,
        });
    }
}
