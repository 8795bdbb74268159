//! Real captures as detector input (`otrange detect --pcap`): a pcap or pcapng file is
//! decoded, its Modbus TCP streams reassembled and framed, and the result replayed to the
//! same detectors that watch the simulated plant.
//!
//! * [`reader`]: pcap and pcapng files, record by record, with Wireshark's frame numbers.
//! * [`packet`]: link layer, IPv4, TCP and UDP headers; what is skipped and why.
//! * [`reassembly`]: per-direction TCP reassembly and MBAP framing.
//! * [`hosts`]: the topology the capture implies (one host per address, a tap).
//! * [`replay`](mod@replay): packets to [`otrange_sim::net::Frame`]s to detectors, with the figures.
//! * [`events`]: those frames kept compactly until the detectors can run.
//!
//! A capture has no plant file, so the hosts are built from the addresses it contains.
//! The file is read once: each packet is decoded once, its hosts noted and its Modbus
//! reassembled, and the frames for the detectors are kept (as [`events::Events`]) until the
//! last address is known and the topology built; then they are handed over from memory.

pub mod events;
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
    /// The file could not be opened or read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The capture's path.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The first bytes are no pcap or pcapng header, or the header does not parse.
    #[error("{}: not a pcap or pcapng capture: {why}", path.display())]
    NotACapture {
        /// The capture's path.
        path: PathBuf,
        /// What the check found: too short, an unknown magic number, a bad header.
        why: String,
    },
    /// The hosts seen do not make a valid topology (not expected: names and addresses
    /// are unique by construction).
    #[error("building hosts from the capture: {0}")]
    Topology(String),
}

/// A capture read: its hosts, and the frames its replay makes, ready for
/// [`Capture::run_detectors`].
pub struct Capture {
    /// The file read; a capture over the one-pass limit is read again from it.
    pub file: CaptureFile,
    /// The addresses seen, in order of first appearance: `hosts` is built from it.
    pub table: HostTable,
    /// The topology the capture implies and the tap node; the kept frames' host ids are
    /// this topology's.
    pub hosts: CaptureHosts,
    /// The frames, kept from the one reading; None for a capture too large to keep, whose
    /// detectors run in a second pass over the file.
    events: Option<events::Events>,
    stats: CaptureStats,
}

/// Captures up to this size are read once and their frames kept in memory (about a
/// quarter of the file's size); larger ones are read twice in constant memory.
pub const ONE_PASS_LIMIT: u64 = 256 << 20;

impl Capture {
    /// Reads the file: once, keeping its frames, or for a file over [`ONE_PASS_LIMIT`]
    /// only its hosts (the detectors then read it again).
    pub fn open(path: &std::path::Path) -> Result<Capture, CaptureError> {
        Self::open_with_limit(path, ONE_PASS_LIMIT)
    }

    /// [`Capture::open`] with another size limit for keeping the frames in memory.
    pub fn open_with_limit(path: &std::path::Path, one_pass_limit: u64) -> Result<Capture, CaptureError> {
        let file = CaptureFile::open(path)?;
        if file.len() > one_pass_limit {
            return Self::scan(file);
        }
        Self::read(file)
    }

    /// Notes the hosts in a first pass and keeps no frames: the detectors read the file
    /// again ([`Capture::run_detectors`]), in constant memory, for a capture too large to
    /// keep. (Mapping the file instead of reading it was measured: 49 ms against 52 ms on
    /// the benchmark's capture, not worth an unsafe map; memory bandwidth bounds both.)
    pub fn scan(file: CaptureFile) -> Result<Capture, CaptureError> {
        let table = collect_hosts(&file);
        let hosts = table.build()?;
        Ok(Capture {
            file,
            table,
            hosts,
            events: None,
            stats: CaptureStats::default(),
        })
    }

    /// [`Capture::open`] for a file already opened (or in memory), read once.
    pub fn read(file: CaptureFile) -> Result<Capture, CaptureError> {
        let mut r = replay::Replay::growing(file.len());
        let end = file.for_each(|rec| r.record(&rec));
        let (table, events, stats) = r.finish_growing(end);
        let hosts = table.build()?;
        Ok(Capture {
            file,
            table,
            hosts,
            events: Some(events),
            stats,
        })
    }

    /// Names the capture's hosts after a plant's (see [`HostTable::build_with_plant`]);
    /// the frames keep their hosts.
    pub fn with_plant(mut self, plant: &otrange_sim::plant::PlantConfig) -> Result<Capture, CaptureError> {
        self.hosts = self.table.build_with_plant(Some(plant))?;
        Ok(self)
    }

    /// The figures of the replay (of the one reading; a large capture's come from
    /// [`Capture::run_detectors`]).
    pub fn stats(&self) -> &CaptureStats {
        &self.stats
    }

    /// Hands every frame to `emit`, as [`replay()`] would from the file.
    pub fn replay(&self, emit: &mut dyn FnMut(&otrange_sim::net::Frame, otrange_sim::base::time::SimTime)) {
        match &self.events {
            Some(ev) => ev.replay(emit),
            None => {
                replay(&self.file, &self.hosts, emit);
            }
        }
    }

    /// Shows every frame to every detector, all at the capture's one tap node, as
    /// [`run_detectors()`] would from the file.
    pub fn run_detectors(&self, detectors: &mut [Box<dyn crate::detect::Detector>]) -> CaptureStats {
        match &self.events {
            Some(ev) => {
                ev.replay(&mut replay::observer(&self.hosts, detectors));
                self.stats.clone()
            }
            None => run_detectors(&self.file, &self.hosts, detectors),
        }
    }
}
