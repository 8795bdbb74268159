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
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OperatingMode {
    /// Executing the program. Code 1.
    #[default]
    Run,
    /// Being programmed; outputs in safe state. Code 2.
    Program,
    /// Halted; outputs in safe state. Code 3.
    Stop,
}

impl OperatingMode {
    /// Numeric code for publishing the mode in a status register:
    /// `Run = 1`, `Program = 2`, `Stop = 3` (0 is left free for "unknown").
    pub fn code(self) -> u16 {
        match self {
            OperatingMode::Run => 1,
            OperatingMode::Program => 2,
            OperatingMode::Stop => 3,
        }
    }

    /// Inverse of [`code`](Self::code), e.g. to accept a mode change written
    /// to a holding register; `None` for any other value.
    pub fn from_code(code: u16) -> Option<Self> {
        match code {
            1 => Some(OperatingMode::Run),
            2 => Some(OperatingMode::Program),
            3 => Some(OperatingMode::Stop),
            _ => None,
        }
    }

    /// Lowercase name as in TOML (`"run"`, `"program"`, `"stop"`), for
    /// event logs and result files.
    pub fn as_str(self) -> &'static str {
        match self {
            OperatingMode::Run => "run",
            OperatingMode::Program => "program",
            OperatingMode::Stop => "stop",
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
