//! A vendor function code: FC 90 (0x5A), after Schneider Electric's UMAS, which engineering
//! tools use to read a PLC's identity and state, start and stop it, move its program and
//! read and force its I/O, and which attackers (TRITON's sibling toolkits, PIPEDREAM's) use
//! for the same. Sub-function codes and the OK/error status bytes follow public analyses of
//! UMAS (e.g. "The Secrets of Schneider UMAS", Kaspersky ICS CERT, 2022): 0x02 read id,
//! 0x04 read PLC info, 0x30/0x31 initialise and read an upload, 0x33/0x34/0x35 initialise,
//! write and end a download, 0x40 start, 0x41 stop, 0x70 READ_IO_OBJECT, 0x71
//! WRITE_IO_OBJECT; a response carries 0xFE for success, 0xFD and an error code for a
//! refusal. The bytes are in [`crate::wire::modbus::vendor`].
//!
//! Firmware is not part of UMAS (Schneider updates it with a separate tool); its
//! sub-functions are otrange's own: 0x60 enter firmware-update mode, 0x61 begin an image
//! (its size, 4 bytes), 0x62 one block (index, then up to 240 bytes), 0x63 end it. The
//! image's format is otrange's own too (see [`firmware_image`](crate::wire::modbus::vendor::firmware_image)).
//!
//! * A program travels as text: the `[plc]` table of a plant file (`[[plc.program]]` blocks
//!   and `[[plc.safe_state]]`), in blocks of up to 200 bytes. The scan compiles a completed
//!   download against the PLC's memory and runs it from the next scan on, if it compiles:
//!   replacing the program, or, after an initialise with the append byte, appended to it as
//!   a new task whose blocks run after the running ones, which keep their state.
//! * Firmware-update mode (0x60) is taken at the next scan: the program stops, outputs go
//!   to their safe state, and the Modbus server answers only FC 90 and FC 8 sub-function 1
//!   (restart); everything else gets exception 6, server busy. An image (0x61 to 0x63) is
//!   accepted only in that mode. At the next scan the PLC installs it and reboots: an image
//!   that boots sets the identity's revision and the PLC returns to its power-up mode; one
//!   that does not leaves it bricked, answering nothing, for good. A restart (FC 8
//!   sub-function 1) leaves firmware-update mode without an image. This is how Industroyer's
//!   SIPROTEC module (CVE-2015-5374) left relays unresponsive until restarted by hand, and how
//!   the Ukraine 2015 attackers bricked serial-to-Ethernet gateways with their own firmware.
//! * The input image (0x70) is the inputs as the scan last latched them: every wired sensor
//!   register, and every forced input. A force (0x71) replaces an input's latched value at
//!   every scan from the next on, as a real PLC's force table does, until a restart.

use crate::plc_logic::{Area, OperatingMode, PlcMemory};
use crate::wire::modbus::vendor::{
    APPEND, ERR, IMAGE_BLOCK, IO_POINTS_PER_ANSWER, IoPoint, MAX_IMAGE, MIN_IMAGE, OK, error, sub,
};
use std::collections::BTreeMap;

pub use crate::wire::modbus::vendor::FC_VENDOR;

/// What a PLC exposes to its vendor protocol.
#[derive(Debug, Clone, Default)]
pub struct VendorState {
    /// The mode the PLC runs in (the scan keeps this up to date).
    pub mode: OperatingMode,
    /// A mode change asked for over the network; the next scan applies it.
    pub requested_mode: Option<OperatingMode>,
    /// Identity text answered to sub-function 0x02.
    pub ident: String,
    /// What an upload returns: a listing of the running program.
    pub upload: Vec<u8>,
    /// A download in progress.
    pub download: Vec<u8>,
    /// Whether the download in progress appends to the running program.
    pub appending: bool,
    /// A completed download, for the next scan to compile and install.
    pub downloaded: Option<Download>,
    /// A firmware image in transfer: its announced size and the bytes so far.
    pub image: Option<(usize, Vec<u8>)>,
    /// A completed image, for the next scan to install.
    pub installed: Option<Vec<u8>>,
    /// A restart (FC 8 sub-function 1) asked for; the next scan applies it.
    pub restart: bool,
    /// The force table: input (area, address) to the raw value the program sees instead of
    /// the field's. Changed only through [`VendorState::force`] and
    /// [`VendorState::clear_forces`], which mark the image's points for laying out again.
    forces: BTreeMap<(Area, u16), u16>,
    /// The input image as the last scan latched it, by (area, address).
    pub(crate) io_image: BTreeMap<(Area, u16), IoPoint>,
    /// Whether `io_image` holds the points the force table and the wiring make (the wired
    /// inputs and the forced points) since the table last changed: a scan then only
    /// refreshes their values. A check of the points against the table at every scan was
    /// about 2 % of the reference hour's instructions.
    image_laid_out: bool,
}

/// A completed program download.
#[derive(Debug, Clone, PartialEq)]
pub struct Download {
    /// The program, as the `[plc]` table of a plant file.
    pub text: String,
    /// Whether it is appended to the running program (a new task) rather than replacing it.
    pub append: bool,
}

impl VendorState {
    /// A PLC's vendor protocol at power-up: in `mode`, answering `ident`, nothing forced.
    pub fn new(mode: OperatingMode, ident: String) -> Self {
        VendorState {
            mode,
            ident,
            ..Default::default()
        }
    }

    /// The force table (see the field).
    pub fn forces(&self) -> &BTreeMap<(Area, u16), u16> {
        &self.forces
    }

    /// Forces input `(area, addr)` to `value`: the program sees it instead of the field's.
    pub fn force(&mut self, area: Area, addr: u16, value: u16) {
        self.forces.insert((area, addr), value);
        self.image_laid_out = false;
    }

    /// Lifts every force (a restart, a firmware install).
    pub fn clear_forces(&mut self) {
        self.forces.clear();
        self.image_laid_out = false;
    }

    /// Latches the input image at a scan: its points' values as `memory` holds them (the
    /// forces applied), the points laid out again first (the `wired` inputs' addresses and
    /// the forced ones) if the force table changed since.
    pub(crate) fn latch_image(&mut self, wired: impl Iterator<Item = (Area, u16)>, memory: &impl PlcMemory) {
        if self.image_laid_out {
            for (&(area, addr), p) in self.io_image.iter_mut() {
                p.value = memory.get(area, addr).unwrap_or(0);
            }
            return;
        }
        self.io_image.clear();
        for (area, addr) in wired.chain(self.forces.keys().copied()) {
            self.io_image.insert(
                (area, addr),
                IoPoint {
                    area: area.read_function(),
                    addr,
                    value: memory.get(area, addr).unwrap_or(0),
                    forced: self.forces.contains_key(&(area, addr)),
                },
            );
        }
        self.image_laid_out = true;
    }

    /// Whether the PLC is in firmware-update mode, or will be at its next scan.
    pub fn in_firmware_update(&self) -> bool {
        self.requested_mode.unwrap_or(self.mode) == OperatingMode::FirmwareUpdate
    }
}

/// Bytes per upload or download block.
pub const BLOCK: usize = 200;

/// Answers one FC 90 request PDU (`pdu[0] == 0x5A`) with its response PDU; `memory` is
/// the PLC's register memory, against which forces are checked.
pub fn handle(pdu: &[u8], st: &mut VendorState, memory: &impl PlcMemory) -> Vec<u8> {
    let session = pdu.get(1).copied().unwrap_or(0);
    let mut out = vec![FC_VENDOR, session];
    let Some(&sub) = pdu.get(2) else {
        out.extend([ERR, error::MALFORMED]);
        return out;
    };
    match answer(sub, pdu, st, memory) {
        Ok(data) => {
            out.push(OK);
            out.extend(data);
        }
        Err(code) => out.extend([ERR, code]),
    }
    out
}

/// The data of a successful answer, or the error code.
fn answer(sub: u8, pdu: &[u8], st: &mut VendorState, memory: &impl PlcMemory) -> Result<Vec<u8>, u8> {
    let firmware = st.in_firmware_update();
    let mut out = Vec::new();
    match sub {
        sub::READ_ID => {
            out.push(st.ident.len().min(200) as u8);
            out.extend(st.ident.as_bytes().iter().take(200));
        }
        // PLC info: the current mode as its code (1 run, 2 program, 3 stop, 4 firmware update).
        sub::READ_PLC_INFO => out.extend(st.mode.code().to_be_bytes()),
        sub::INIT_UPLOAD => out.extend((st.upload.len() as u16).to_be_bytes()),
        sub::UPLOAD_BLOCK => {
            let idx = usize::from(crate::wire::modbus::be_u16(pdu, 3).unwrap_or(0));
            let chunk: Vec<u8> = st.upload.iter().skip(idx * BLOCK).take(BLOCK).copied().collect();
            out.extend((idx as u16).to_be_bytes());
            out.push(chunk.len() as u8);
            out.extend(chunk);
        }
        sub::INIT_DOWNLOAD => {
            st.download.clear();
            st.appending = pdu.get(3) == Some(&APPEND);
        }
        sub::DOWNLOAD_BLOCK => {
            // index (2 bytes), then the block's bytes
            if pdu.len() < 5 || st.download.len() > 64 * 1024 {
                return Err(error::OUT_OF_RANGE);
            }
            st.download.extend_from_slice(&pdu[5..]);
        }
        sub::END_DOWNLOAD => {
            st.downloaded = Some(Download {
                text: String::from_utf8_lossy(&std::mem::take(&mut st.download)).into_owned(),
                append: std::mem::take(&mut st.appending),
            });
        }
        sub::START | sub::STOP if firmware => return Err(error::WRONG_MODE),
        sub::START => st.requested_mode = Some(OperatingMode::Run),
        sub::STOP => st.requested_mode = Some(OperatingMode::Stop),
        sub::FIRMWARE_MODE => st.requested_mode = Some(OperatingMode::FirmwareUpdate),
        sub::FIRMWARE_BEGIN | sub::FIRMWARE_BLOCK | sub::FIRMWARE_END if !firmware => {
            return Err(error::WRONG_MODE);
        }
        sub::FIRMWARE_BEGIN => {
            let size = pdu
                .get(3..7)
                .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
                .ok_or(error::MALFORMED)?;
            if !(MIN_IMAGE..=MAX_IMAGE).contains(&size) {
                return Err(error::OUT_OF_RANGE);
            }
            st.image = Some((size, Vec::with_capacity(size)));
        }
        sub::FIRMWARE_BLOCK => {
            let idx = crate::wire::modbus::be_u16(pdu, 3).ok_or(error::MALFORMED)?;
            let (size, bytes) = st.image.as_mut().ok_or(error::SEQUENCE)?;
            let block = &pdu[5..];
            if usize::from(idx) * IMAGE_BLOCK != bytes.len() || block.len() > IMAGE_BLOCK {
                return Err(error::SEQUENCE);
            }
            if bytes.len() + block.len() > *size {
                return Err(error::OUT_OF_RANGE);
            }
            bytes.extend_from_slice(block);
        }
        sub::FIRMWARE_END => {
            let (size, bytes) = st.image.take().ok_or(error::SEQUENCE)?;
            if bytes.len() != size {
                return Err(error::SEQUENCE);
            }
            st.installed = Some(bytes);
        }
        sub::READ_IO_OBJECT => {
            let first = usize::from(crate::wire::modbus::be_u16(pdu, 3).unwrap_or(0));
            let page: Vec<&IoPoint> = st
                .io_image
                .values()
                .skip(first)
                .take(IO_POINTS_PER_ANSWER)
                .collect();
            out.extend((st.io_image.len().min(usize::from(u16::MAX)) as u16).to_be_bytes());
            out.push(page.len() as u8);
            for p in page {
                p.emit(&mut out);
            }
        }
        sub::WRITE_IO_OBJECT => {
            let (Some(&code), Some(addr), Some(value)) = (
                pdu.get(3),
                crate::wire::modbus::be_u16(pdu, 4),
                crate::wire::modbus::be_u16(pdu, 6),
            ) else {
                return Err(error::MALFORMED);
            };
            let area = Area::from_read_function(code).ok_or(error::OUT_OF_RANGE)?;
            if area.is_client_writable() {
                return Err(error::NOT_AN_INPUT);
            }
            if memory.get(area, addr).is_none() || (area.is_bit() && value > 1) {
                return Err(error::OUT_OF_RANGE);
            }
            st.force(area, addr, value);
        }
        _ => return Err(error::UNKNOWN),
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plc_logic::VecMemory;
    use crate::wire::modbus::vendor::{firmware_image, parse_io_page};

    fn mem() -> VecMemory {
        VecMemory::new(4, 4, 4, 4)
    }

    #[test]
    fn stop_is_requested_and_info_reports_the_mode() {
        let mut st = VendorState {
            ident: "Modicon M340".into(),
            ..Default::default()
        };
        let m = mem();
        assert_eq!(handle(&[0x5A, 0, 0x04], &mut st, &m), [0x5A, 0, 0xFE, 0, 1]);
        assert_eq!(handle(&[0x5A, 7, 0x41], &mut st, &m), [0x5A, 7, 0xFE]);
        assert_eq!(st.requested_mode, Some(OperatingMode::Stop));
        assert_eq!(handle(&[0x5A, 0, 0x99], &mut st, &m), [0x5A, 0, 0xFD, 0x02]);
        let id = handle(&[0x5A, 0, 0x02], &mut st, &m);
        assert_eq!(&id[..4], &[0x5A, 0, 0xFE, 12]);
        assert_eq!(&id[4..], b"Modicon M340");
    }

    #[test]
    fn an_image_needs_firmware_update_mode_and_arrives_in_sequence() {
        let mut st = VendorState::default();
        let m = mem();
        let size = 300u32.to_be_bytes();
        let begin = [&[0x5A, 0, 0x61][..], &size].concat();
        // Outside firmware-update mode: refused, wrong mode.
        assert_eq!(handle(&begin, &mut st, &m), [0x5A, 0, 0xFD, 0x04]);
        assert_eq!(handle(&[0x5A, 0, 0x60], &mut st, &m), [0x5A, 0, 0xFE]);
        assert_eq!(st.requested_mode, Some(OperatingMode::FirmwareUpdate));
        // Start and stop are refused in (or on the way into) firmware-update mode.
        assert_eq!(handle(&[0x5A, 0, 0x40], &mut st, &m), [0x5A, 0, 0xFD, 0x04]);
        assert_eq!(handle(&begin, &mut st, &m), [0x5A, 0, 0xFE]);
        let image = firmware_image(Some("9.9"), 300);
        let block = |i: u16| {
            let mut b = vec![0x5A, 0, 0x62];
            b.extend(i.to_be_bytes());
            b.extend(image.chunks(240).nth(usize::from(i)).unwrap());
            b
        };
        // Block 1 before block 0: out of sequence.
        assert_eq!(handle(&block(1), &mut st, &m), [0x5A, 0, 0xFD, 0x05]);
        assert_eq!(handle(&block(0), &mut st, &m), [0x5A, 0, 0xFE]);
        // Ended early: out of sequence; the transfer is dropped.
        let mut st2 = st.clone();
        assert_eq!(handle(&[0x5A, 0, 0x63], &mut st2, &m), [0x5A, 0, 0xFD, 0x05]);
        assert_eq!(handle(&block(1), &mut st, &m), [0x5A, 0, 0xFE]);
        assert_eq!(handle(&[0x5A, 0, 0x63], &mut st, &m), [0x5A, 0, 0xFE]);
        assert_eq!(st.installed.as_deref(), Some(&image[..]));
        // Too small an image.
        let tiny = [&[0x5A, 0, 0x61][..], &16u32.to_be_bytes()].concat();
        assert_eq!(handle(&tiny, &mut st, &m), [0x5A, 0, 0xFD, 0x03]);
    }

    #[test]
    fn forces_take_inputs_in_the_map_only_and_the_image_reads_back() {
        let mut st = VendorState::default();
        let m = mem();
        // ir:2 = 500
        assert_eq!(
            handle(&[0x5A, 0, 0x71, 4, 0, 2, 0x01, 0xF4], &mut st, &m),
            [0x5A, 0, 0xFE]
        );
        assert_eq!(st.forces().get(&(Area::InputRegister, 2)), Some(&500));
        // hr:0: not an input; ir:9: outside the map; di:0 = 2: not a bit.
        assert_eq!(
            handle(&[0x5A, 0, 0x71, 3, 0, 0, 0, 1], &mut st, &m),
            [0x5A, 0, 0xFD, 0x06]
        );
        assert_eq!(
            handle(&[0x5A, 0, 0x71, 4, 0, 9, 0, 1], &mut st, &m),
            [0x5A, 0, 0xFD, 0x03]
        );
        assert_eq!(
            handle(&[0x5A, 0, 0x71, 2, 0, 0, 0, 2], &mut st, &m),
            [0x5A, 0, 0xFD, 0x03]
        );
        assert_eq!(handle(&[0x5A, 0, 0x71, 4, 0], &mut st, &m), [0x5A, 0, 0xFD, 0x01]);
        for (k, (area, addr)) in [(4, (Area::InputRegister, 2)), (2, (Area::DiscreteInput, 1))] {
            st.io_image.insert(
                (area, addr),
                IoPoint {
                    area: k,
                    addr,
                    value: 7,
                    forced: k == 4,
                },
            );
        }
        let r = handle(&[0x5A, 0, 0x70, 0, 0], &mut st, &m);
        assert_eq!(&r[..3], &[0x5A, 0, 0xFE]);
        assert_eq!(
            r[3..],
            [0, 2, 2, 2, 0, 1, 0, 7, 0, 4, 0, 2, 0, 7, 1],
            "discrete inputs sort before input registers"
        );
        let (total, points) = parse_io_page(&r[3..]).unwrap();
        assert_eq!((total, points.len()), (2, 2));
        // From entry 1 on: one entry.
        let r = handle(&[0x5A, 0, 0x70, 0, 1], &mut st, &m);
        assert_eq!(r[3..6], [0, 2, 1]);
    }

    #[test]
    fn an_append_download_is_marked() {
        let mut st = VendorState::default();
        let m = mem();
        handle(&[0x5A, 0, 0x33, 0x01], &mut st, &m);
        handle(&[0x5A, 0, 0x34, 0, 0, b'x'], &mut st, &m);
        handle(&[0x5A, 0, 0x35], &mut st, &m);
        assert_eq!(
            st.downloaded,
            Some(Download {
                text: "x".into(),
                append: true
            })
        );
        handle(&[0x5A, 0, 0x33], &mut st, &m);
        handle(&[0x5A, 0, 0x35], &mut st, &m);
        assert!(!st.downloaded.unwrap().append);
    }
}
