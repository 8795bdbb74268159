//! What each device reports at the end of a run. Every kind fills its own figures
//! ([`super::kind::DeviceKind::summaries`]); the run logs them as
//! [`crate::base::events::EventKind::DeviceSummary`] events, and results.json is computed
//! from those events, never from the devices' state.

use super::ews::EwsFigures;
use super::historian::HistorianFigures;
use super::hmi::HmiFigures;
use super::plc::PlcFigures;
use super::remote_io::RemoteIoFigures;
use super::traffic::{ItClientFigures, ItServerFigures};
use serde::Serialize;

/// One device's figures, tagged with the kind that reported them (`"kind": "plc"`). A kind
/// with figures of its own adds its variant here.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DeviceFigures {
    /// A PLC: its final mode, scans and what its Modbus server did.
    Plc(PlcFigures),
    /// An HMI: its polls, their latency, and its operator's actions.
    Hmi(HmiFigures),
    /// A historian: its polls, samples stored and timeouts.
    Historian(HistorianFigures),
    /// An engineering workstation: its sessions and the answers they brought.
    EngineeringWorkstation(EwsFigures),
    /// An IT host that starts background exchanges.
    ItClient(ItClientFigures),
    /// An IT host that answers them.
    ItServer(ItServerFigures),
    /// A remote I/O module: frames taken in each way, watchdog trips.
    RemoteIo(RemoteIoFigures),
}
