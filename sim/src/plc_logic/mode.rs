//! PLC operating mode (the key switch on a real PLC).

use std::fmt;

use serde::{Deserialize, Serialize};

/// Operating mode. Held by the PLC runtime, not by the program: in `Run` the
/// runtime calls [`PlcProgram::scan`](crate::plc_logic::PlcProgram::scan) every
/// scan period; in `Program` and `Stop` it does not scan and instead applies
/// the safe state ([`PlcProgram::apply_safe_state`](crate::plc_logic::PlcProgram::apply_safe_state)),
/// as a real PLC drives its outputs to their configured stop values.
/// Attacks that stop a PLC (e.g. a Modbus/engineering "stop CPU" command)
/// therefore take effect through the safe state.
///
/// Two modes are entered only over the network, never configured at power-up:
/// `FirmwareUpdate` (the boot loader waits for an image: outputs in safe state,
/// ordinary Modbus requests answered with exception 6) and `Bricked` (an image
/// that does not boot was installed: nothing runs, nothing answers, outputs are
/// de-energised). Every mode but `Run` stops the program, so a protection PLC
/// entering any of them has lost its protective function.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperatingMode {
    /// Executing the program. Code 1.
    #[default]
    Run,
    /// Being programmed; outputs in safe state. Code 2.
    Program,
    /// Halted; outputs in safe state. Code 3.
    Stop,
    /// Firmware-update mode (ATT&CK T0800): the CPU's boot loader waits for a firmware
    /// image; the program does not run, outputs are in safe state, ordinary Modbus requests
    /// are answered with exception 6 (server busy). Left only by a restart or by installing
    /// an image. Code 4.
    #[serde(skip_deserializing)]
    FirmwareUpdate,
    /// A firmware image that does not boot was installed (ATT&CK T0857): the CPU runs
    /// nothing and answers nothing, its outputs are de-energised, and nothing done over the
    /// network brings it back. Code 5 (never read over the network: it answers nothing).
    #[serde(skip_deserializing)]
    Bricked,
}

impl OperatingMode {
    /// Numeric code for publishing the mode in a status register:
    /// `Run = 1`, `Program = 2`, `Stop = 3`, `FirmwareUpdate = 4`, `Bricked = 5` (0 is left
    /// free for "unknown").
    pub fn code(self) -> u16 {
        match self {
            OperatingMode::Run => 1,
            OperatingMode::Program => 2,
            OperatingMode::Stop => 3,
            OperatingMode::FirmwareUpdate => 4,
            OperatingMode::Bricked => 5,
        }
    }

    /// Inverse of [`code`](Self::code), e.g. to accept a mode change written
    /// to a holding register; `None` for any other value.
    pub fn from_code(code: u16) -> Option<Self> {
        match code {
            1 => Some(OperatingMode::Run),
            2 => Some(OperatingMode::Program),
            3 => Some(OperatingMode::Stop),
            4 => Some(OperatingMode::FirmwareUpdate),
            5 => Some(OperatingMode::Bricked),
            _ => None,
        }
    }

    /// Lowercase name as in TOML (`"run"`, `"program"`, `"stop"`; `"firmware_update"`,
    /// `"bricked"`), for event logs and result files.
    pub fn as_str(self) -> &'static str {
        match self {
            OperatingMode::Run => "run",
            OperatingMode::Program => "program",
            OperatingMode::Stop => "stop",
            OperatingMode::FirmwareUpdate => "firmware_update",
            OperatingMode::Bricked => "bricked",
        }
    }

    /// Whether the program is scanned in this mode.
    pub fn scans(self) -> bool {
        self == OperatingMode::Run
    }
}

impl fmt::Display for OperatingMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
