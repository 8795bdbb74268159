//! Capture files: classic pcap (micro- and nanosecond) and pcapng.
//!
//! The file is streamed through a buffer and walked with `pcap-file`'s slice parsers. Records are handed out raw (link
//! type, bytes, timestamp); what is inside them is [`super::packet`]'s business.
//!
//! A damaged file is read up to the damage: a record cut short at the end of the file or
//! a block that does not parse ends the walk and is reported in [`ReadEnd`], not as an
//! error, because everything before it is still evidence.

use super::CaptureError;
use pcap_file::PcapError;
use pcap_file::TsResolution;
use pcap_file::pcap::PcapParser;
use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;
use pcap_file::pcapng::{Block, PcapNgParser};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Link-layer header types (tcpdump.org LINKTYPE_ values) the packet decoder knows.
pub mod linktype {
    /// BSD loopback: a 4-byte address family in host byte order, then the IP packet.
    pub const NULL: u32 = 0;
    /// Ethernet II, with 802.1Q and QinQ tags if any.
    pub const ETHERNET: u32 = 1;
    /// Raw IP; 12 and 14 are the values some BSDs write for it.
    pub const RAW: u32 = 101;
    /// Raw IP as some BSDs number it (see [`RAW`]).
    pub const RAW_12: u32 = 12;
    /// Raw IP as some BSDs number it (see [`RAW`]).
    pub const RAW_14: u32 = 14;
    /// Linux cooked capture, version 1 (SLL).
    pub const LINUX_SLL: u32 = 113;
    /// Raw IPv4, no link header.
    pub const IPV4: u32 = 228;
}

/// The capture's format, for the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Classic libpcap, microsecond or nanosecond timestamps, either byte order.
    Pcap,
    /// pcapng: blocks, possibly several interfaces with their own link types.
    Pcapng,
}

/// One captured packet, as stored.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    /// 1-based, as Wireshark numbers frames.
    pub number: u64,
    /// Capture time, nanoseconds since the Unix epoch.
    pub ts_ns: u64,
    /// The record's link-layer header type (see [`linktype`]): the file's for pcap, its
    /// interface's for pcapng.
    pub linktype: u32,
    /// The bytes captured (may be fewer than were on the wire).
    pub data: &'a [u8],
    /// Length on the wire.
    pub orig_len: u32,
}

/// How a walk over the file ended.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReadEnd {
    /// The file ends inside a record (a capture cut off while being written).
    pub cut_short: bool,
    /// A record or block that does not parse stopped the walk: where and why.
    pub damaged: Option<String>,
}

/// A capture file: where its bytes come from, and its format.
pub struct CaptureFile {
    path: PathBuf,
    source: Source,
    format: Format,
    len: u64,
}

/// Files are streamed through a fixed buffer rather than read whole: a large capture then
/// costs neither its size in memory nor the page faults of allocating it, on both passes.
/// Bytes already in memory are parsed in place.
enum Source {
    File,
    Memory(Vec<u8>),
}

const PCAP_MAGICS: [[u8; 4]; 4] = [
    [0xd4, 0xc3, 0xb2, 0xa1],
    [0xa1, 0xb2, 0xc3, 0xd4],
    [0x4d, 0x3c, 0xb2, 0xa1],
    [0xa1, 0xb2, 0x3c, 0x4d],
];
const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];
/// Read size, and the first buffer's size. Small enough to stay in the core's L2 cache
/// between the kernel's copy and the parse (1 MiB measured slower), large enough that
/// system calls do not count.
const CHUNK: usize = 256 << 10;
/// Largest record or block accepted (the buffer grows to hold one); beyond it the file is
/// taken as damaged rather than allocated for.
const MAX_RECORD: usize = 256 << 20;

impl CaptureFile {
    /// Opens `path` and checks that it is a pcap or pcapng file.
    pub fn open(path: &Path) -> Result<CaptureFile, CaptureError> {
        let io = |source| CaptureError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut f = File::open(path).map_err(io)?;
        let len = f.metadata().map_err(io)?.len();
        let mut head = Vec::new();
        f.by_ref().take(CHUNK as u64).read_to_end(&mut head).map_err(io)?;
        let format = sniff(path, &head)?;
        Ok(CaptureFile {
            path: path.to_path_buf(),
            source: Source::File,
            format,
            len,
        })
    }

    /// A capture already in memory; `path` only names it in errors.
    pub fn from_bytes(path: &Path, bytes: Vec<u8>) -> Result<CaptureFile, CaptureError> {
        let format = sniff(path, &bytes)?;
        Ok(CaptureFile {
            path: path.to_path_buf(),
            len: bytes.len() as u64,
            source: Source::Memory(bytes),
            format,
        })
    }

    /// Where the capture was read from (for one made from bytes, the name it was given).
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// Whether the file is pcap or pcapng, as its magic number says.
    pub fn format(&self) -> Format {
        self.format
    }
    /// Size in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }
    /// Whether the file has no bytes (never true of a file [`CaptureFile::open`] accepted,
    /// which has at least a header).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Calls `f` on every packet record in file order and says how the walk ended.
    pub fn for_each<F: FnMut(Record<'_>)>(&self, f: F) -> ReadEnd {
        match &self.source {
            Source::Memory(b) => self.walk(Chunks::<File>::whole(b), f),
            Source::File => match File::open(&self.path) {
                Ok(file) => self.walk(Chunks::new(file), f),
                Err(e) => ReadEnd {
                    cut_short: false,
                    damaged: Some(format!("cannot reopen: {e}")),
                },
            },
        }
    }

    fn walk<R: Read, F: FnMut(Record<'_>)>(&self, mut c: Chunks<'_, R>, f: F) -> ReadEnd {
        let res = match self.format {
            Format::Pcap => walk_pcap(&mut c, f),
            Format::Pcapng => walk_pcapng(&mut c, f),
        };
        res.unwrap_or_else(|e| ReadEnd {
            cut_short: false,
            damaged: Some(format!("read error: {e}")),
        })
    }
}

/// The format from the first bytes, with the header checked.
fn sniff(path: &Path, head: &[u8]) -> Result<Format, CaptureError> {
    let not = |why: String| CaptureError::NotACapture {
        path: path.to_path_buf(),
        why,
    };
    let magic: [u8; 4] = match head.get(..4) {
        Some(m) => m.try_into().expect("four bytes"),
        None => {
            return Err(not(format!(
                "{} bytes is too short for a capture header",
                head.len()
            )));
        }
    };
    if PCAP_MAGICS.contains(&magic) {
        PcapParser::new(head).map_err(|e| not(format!("bad pcap header: {e}")))?;
        Ok(Format::Pcap)
    } else if magic == PCAPNG_MAGIC {
        PcapNgParser::new(head).map_err(|e| not(format!("bad pcapng section header: {e}")))?;
        Ok(Format::Pcapng)
    } else {
        Err(not(format!(
            "unknown magic number {:02x}{:02x}{:02x}{:02x}: neither pcap nor pcapng",
            magic[0], magic[1], magic[2], magic[3]
        )))
    }
}

/// A window on the input: the bytes read and not yet parsed.
struct Chunks<'a, R> {
    /// None when `buf` already holds the whole input.
    r: Option<R>,
    buf: std::borrow::Cow<'a, [u8]>,
    start: usize,
    end: usize,
}

impl<'a, R: Read> Chunks<'a, R> {
    fn new(r: R) -> Self {
        Chunks {
            r: Some(r),
            buf: std::borrow::Cow::Owned(vec![0; CHUNK]),
            start: 0,
            end: 0,
        }
    }

    /// Input that is all in memory: parsed where it lies, never copied.
    fn whole(bytes: &'a [u8]) -> Self {
        Chunks {
            r: None,
            buf: std::borrow::Cow::Borrowed(bytes),
            start: 0,
            end: bytes.len(),
        }
    }

    fn data(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Reads more input after what is buffered; false at its end (or when a record would
    /// exceed [`MAX_RECORD`]).
    fn more(&mut self) -> std::io::Result<bool> {
        let Some(r) = self.r.as_mut() else {
            return Ok(false);
        };
        let buf = self.buf.to_mut();
        if self.start > 0 {
            buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == buf.len() {
            if buf.len() >= MAX_RECORD {
                return Ok(false);
            }
            buf.resize(buf.len() * 2, 0);
        }
        loop {
            match r.read(&mut buf[self.end..]) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    self.end += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

/// The file's header parsed with `parse`, reading more input until it is whole; Err names
/// `what` and why it does not parse once the input has no more to give.
fn file_header<R: Read, P>(
    c: &mut Chunks<'_, R>,
    what: &str,
    parse: impl Fn(&[u8]) -> Result<(&[u8], P), PcapError>,
) -> std::io::Result<Result<P, String>> {
    loop {
        let parsed = parse(c.data()).map(|(rest, p)| (rest.len(), p));
        match parsed {
            Ok((rest, p)) => {
                c.start = c.end - rest;
                return Ok(Ok(p));
            }
            Err(e) => {
                if !c.more()? {
                    return Ok(Err(format!("{what}: {e}")));
                }
            }
        }
    }
}

fn walk_pcap<R: Read, F: FnMut(Record<'_>)>(c: &mut Chunks<'_, R>, mut f: F) -> std::io::Result<ReadEnd> {
    let mut end = ReadEnd::default();
    let parser = match file_header(c, "pcap header", PcapParser::new)? {
        Ok(p) => p,
        Err(damaged) => {
            end.damaged = Some(damaged);
            return Ok(end);
        }
    };
    let header = parser.header();
    let frac_ns: u64 = match header.ts_resolution {
        TsResolution::MicroSecond => 1_000,
        TsResolution::NanoSecond => 1,
    };
    let linktype = u32::from(header.datalink);
    let mut number = 0u64;
    loop {
        let data = &c.buf[c.start..c.end];
        // Raw records: the lengths are checked here, leniently, instead of by the crate,
        // which refuses a record whose original length exceeds the snap length, a thing
        // real capture tools write.
        match parser.next_raw_packet(data) {
            Ok((rest, raw)) => {
                let used = data.len() - rest.len();
                number += 1;
                let ts_ns = u64::from(raw.ts_sec) * 1_000_000_000 + u64::from(raw.ts_frac) * frac_ns;
                f(Record {
                    number,
                    ts_ns,
                    linktype,
                    data: &raw.data,
                    orig_len: raw.orig_len,
                });
                c.start += used;
            }
            Err(PcapError::IncompleteBuffer) => {
                if !c.more()? {
                    end.cut_short = !c.data().is_empty();
                    break;
                }
            }
            Err(e) => {
                end.damaged = Some(format!("record {}: {e}", number + 1));
                break;
            }
        }
    }
    Ok(end)
}

/// An interface of a pcapng section: link type and timestamp unit.
struct Interface {
    linktype: u32,
    /// Timestamp units per second, from `if_tsresol` (default microseconds).
    units_per_sec: u128,
}

fn units_per_sec(options: &[InterfaceDescriptionOption<'_>]) -> u128 {
    for o in options {
        if let InterfaceDescriptionOption::IfTsResol(r) = o {
            let exp = u32::from(r & 0x7f).min(30);
            return if r & 0x80 != 0 {
                1u128 << exp
            } else {
                10u128.pow(exp)
            };
        }
    }
    1_000_000
}

/// An interface's link type and the time of a raw timestamp in nanoseconds. pcap-file
/// hands timestamps over in raw units labelled nanoseconds; they are converted here with
/// the interface's if_tsresol.
fn interface_time(ifaces: &[Interface], id: usize, raw: u128) -> Option<(u32, u64)> {
    let i = ifaces.get(id)?;
    let ns = raw.saturating_mul(1_000_000_000) / i.units_per_sec.max(1);
    Some((i.linktype, u64::try_from(ns).unwrap_or(u64::MAX)))
}

fn walk_pcapng<R: Read, F: FnMut(Record<'_>)>(c: &mut Chunks<'_, R>, mut f: F) -> std::io::Result<ReadEnd> {
    let mut end = ReadEnd::default();
    let mut parser = match file_header(c, "pcapng section header", PcapNgParser::new)? {
        Ok(p) => p,
        Err(damaged) => {
            end.damaged = Some(damaged);
            return Ok(end);
        }
    };
    let mut interfaces: Vec<Interface> = Vec::new();
    let mut number = 0u64;
    let mut last_ts = 0u64;
    loop {
        let data = &c.buf[c.start..c.end];
        let (rest, block) = match parser.next_block(data) {
            Ok(x) => x,
            Err(PcapError::IncompleteBuffer) => {
                if !c.more()? {
                    end.cut_short = !c.data().is_empty();
                    break;
                }
                continue;
            }
            Err(e) => {
                end.damaged = Some(format!("block after frame {number}: {e}"));
                break;
            }
        };
        let used = data.len() - rest.len();
        let packet = match &block {
            Block::SectionHeader(_) => {
                interfaces.clear();
                None
            }
            Block::InterfaceDescription(idb) => {
                interfaces.push(Interface {
                    linktype: u32::from(idb.linktype),
                    units_per_sec: units_per_sec(&idb.options),
                });
                None
            }
            Block::EnhancedPacket(epb) => Some((
                interface_time(&interfaces, epb.interface_id as usize, epb.timestamp.as_nanos()),
                &epb.data,
                epb.original_len,
                epb.interface_id,
            )),
            Block::Packet(pb) => Some((
                interface_time(
                    &interfaces,
                    usize::from(pb.interface_id),
                    u128::from(pb.timestamp),
                ),
                &pb.data,
                pb.original_len,
                u32::from(pb.interface_id),
            )),
            // No timestamp of its own: it keeps the previous packet's time.
            Block::SimplePacket(spb) => Some((
                interfaces.first().map(|i| (i.linktype, last_ts)),
                &spb.data,
                spb.original_len,
                0,
            )),
            _ => None,
        };
        if let Some((lt_ts, data, orig_len, iface)) = packet {
            number += 1;
            let Some((linktype, ts_ns)) = lt_ts else {
                end.damaged = Some(format!("frame {number}: unknown interface {iface}"));
                break;
            };
            last_ts = ts_ns;
            f(Record {
                number,
                ts_ns,
                linktype,
                data,
                orig_len,
            });
        }
        c.start += used;
    }
    Ok(end)
}
