//! Real captures as detector input (`otrange detect --pcap`): a pcap or pcapng file is
//! decoded, its Modbus TCP streams reassembled and framed, and the result replayed to the
//! same detectors that watch the simulated plant.
//!
//! * [`reader`]: pcap and pcapng files, record by record, with Wireshark's frame numbers.
//! * [`packet`]: link layer, IPv4, TCP and UDP headers; what is skipped and why.
//! * [`reassembly`]: per-direction TCP reassembly and MBAP framing.
//! * [`hosts`]: the topology the capture implies (one host per address, a tap).
//! * [`replay`]: packets to [`otrange_sim::net::Frame`]s to detectors, with the figures.
//!
//! A capture has no plant file, so the hosts are built from the addresses it contains, on
//! a first pass; the second pass feeds the detectors.

pub mod hosts;
pub mod packet;
pub mod reader;
pub mod reassembly;
pub mod replay;

pub use hosts::{CaptureHosts, HostTable};
pub use reader::{CaptureFile, Format, ReadEnd, Record};
pub use replay::{CaptureStats, ModbusStats, NonModbus, collect_hosts, replay, run_detectors};

use std::path::PathBuf;

/// Why a capture cannot be read at all.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}: not a pcap or pcapng capture: {why}", path.display())]
    NotACapture { path: PathBuf, why: String },
    /// The hosts seen do not make a valid topology (not expected: names and addresses
    /// are unique by construction).
    #[error("building hosts from the capture: {0}")]
    Topology(String),
}

/// A capture opened and its hosts collected: ready for [`run_detectors`].
pub struct Capture {
    pub file: CaptureFile,
    pub table: HostTable,
    pub hosts: CaptureHosts,
}

impl Capture {
    /// Reads the file and builds its hosts (the first pass).
    pub fn open(path: &std::path::Path) -> Result<Capture, CaptureError> {
        let file = CaptureFile::open(path)?;
        let table = collect_hosts(&file);
        let hosts = table.build()?;
        Ok(Capture { file, table, hosts })
    }
}
