//! Function and exception codes of the Modbus Application Protocol Specification V1.1b3
//! (sections 5, 6 and 7), and the four data tables they address.

use std::fmt;

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

/// One of the four Modbus data tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Table {
    /// Read/write single bits (FC 1, 5, 15).
    Coils,
    /// Read-only single bits (FC 2).
    DiscreteInputs,
    /// Read-only 16-bit registers (FC 4).
    InputRegisters,
    /// Read/write 16-bit registers (FC 3, 6, 16, 22, 23).
    HoldingRegisters,
}

impl Table {
    /// The table a read function (FC 1 to 4) reads.
    pub fn read_by(function: u8) -> Option<Table> {
        match function {
            FC_READ_COILS => Some(Table::Coils),
            FC_READ_DISCRETE_INPUTS => Some(Table::DiscreteInputs),
            FC_READ_HOLDING_REGISTERS => Some(Table::HoldingRegisters),
            FC_READ_INPUT_REGISTERS => Some(Table::InputRegisters),
            _ => None,
        }
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Coils => "coils",
            Self::DiscreteInputs => "discrete inputs",
            Self::InputRegisters => "input registers",
            Self::HoldingRegisters => "holding registers",
        })
    }
}
