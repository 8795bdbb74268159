//! The bytes of FC 90 (0x5A), the vendor function code PLCs with `vendor_function = true`
//! answer (after Schneider Electric's UMAS): sub-function codes, status bytes, request
//! builders, and the layouts of the answers and of a firmware image that clients decode.
//! What a PLC does with each request is in `devices::vendor`.
//!
//! ```text
//! Request PDU:  5A <session> <sub-function> <data...>
//! Response PDU: 5A <session> FE <data...>  or  5A <session> FD <error code>
//! ```

use super::custom_request;

/// The function code.
pub const FC_VENDOR: u8 = 0x5A;
/// Status byte of a successful answer.
pub const OK: u8 = 0xFE;
/// Status byte of a refusal; an error code follows.
pub const ERR: u8 = 0xFD;

/// Sub-function codes. 0x02 to 0x41 and 0x70/0x71 follow public analyses of UMAS (e.g.
/// "The Secrets of Schneider UMAS", Kaspersky ICS CERT, 2022, which lists 0x70
/// READ_IO_OBJECT and 0x71 WRITE_IO_OBJECT); the firmware sub-functions 0x60 to 0x63 are
/// not part of UMAS (Schneider updates firmware with a separate tool) and are otrange's own.
pub mod sub {
    /// Read the identity text.
    pub const READ_ID: u8 = 0x02;
    /// Read the PLC's state: its operating mode's code.
    pub const READ_PLC_INFO: u8 = 0x04;
    /// Begin an upload: answers the listing's length.
    pub const INIT_UPLOAD: u8 = 0x30;
    /// One upload block: index (2 bytes) in, index, length and bytes out.
    pub const UPLOAD_BLOCK: u8 = 0x31;
    /// Begin a download; an optional data byte [`APPEND`](super::APPEND) makes it an append.
    pub const INIT_DOWNLOAD: u8 = 0x33;
    /// One download block: index (2 bytes), then the bytes.
    pub const DOWNLOAD_BLOCK: u8 = 0x34;
    /// End a download: the PLC installs it at its next scan.
    pub const END_DOWNLOAD: u8 = 0x35;
    /// Start the program (run mode).
    pub const START: u8 = 0x40;
    /// Stop the program (stop mode).
    pub const STOP: u8 = 0x41;
    /// Enter firmware-update mode (otrange's own).
    pub const FIRMWARE_MODE: u8 = 0x60;
    /// Begin a firmware image: its size, 4 bytes (otrange's own).
    pub const FIRMWARE_BEGIN: u8 = 0x61;
    /// One image block: index (2 bytes), then the bytes (otrange's own).
    pub const FIRMWARE_BLOCK: u8 = 0x62;
    /// End the image: the PLC installs it and reboots into it (otrange's own).
    pub const FIRMWARE_END: u8 = 0x63;
    /// Read the input image, from an entry index (2 bytes) on.
    pub const READ_IO_OBJECT: u8 = 0x70;
    /// Force an input: area code, address (2 bytes), value (2 bytes).
    pub const WRITE_IO_OBJECT: u8 = 0x71;
}

/// Error codes after [`ERR`] (otrange's own; UMAS's are not public).
pub mod error {
    /// The request has no sub-function or is too short for it.
    pub const MALFORMED: u8 = 0x01;
    /// No such sub-function.
    pub const UNKNOWN: u8 = 0x02;
    /// A size, index or address out of range, or a transfer too large.
    pub const OUT_OF_RANGE: u8 = 0x03;
    /// Not in the mode the request needs (an image outside firmware-update mode, a start
    /// or stop inside it).
    pub const WRONG_MODE: u8 = 0x04;
    /// A block out of sequence, or an image ended before all its bytes came.
    pub const SEQUENCE: u8 = 0x05;
    /// A force on something that is not an input (only discrete inputs and input
    /// registers can be forced).
    pub const NOT_AN_INPUT: u8 = 0x06;
}

/// The data byte of an [`INIT_DOWNLOAD`](sub::INIT_DOWNLOAD) that appends the download to
/// the running program (a new task) instead of replacing it.
pub const APPEND: u8 = 0x01;

/// Bytes of a firmware image per [`FIRMWARE_BLOCK`](sub::FIRMWARE_BLOCK) request: 240, so
/// a block request's PDU (5 bytes of header) stays under Modbus's 253.
pub const IMAGE_BLOCK: usize = 240;
/// The largest image a PLC accepts: 1 MiB.
pub const MAX_IMAGE: usize = 1 << 20;
/// The smallest image: the header and a version fit.
pub const MIN_IMAGE: usize = 256;
/// The magic an image that boots starts with (otrange's own format).
pub const IMAGE_MAGIC: &[u8; 4] = b"OTFW";

/// An FC 90 request ADU (unit 1, session 0).
pub fn vendor_request(tid: u16, sub: u8, data: &[u8]) -> Vec<u8> {
    let mut pdu = vec![0, sub];
    pdu.extend_from_slice(data);
    custom_request(tid, 1, FC_VENDOR, &pdu)
}

/// A firmware image of `size` bytes. With a `version`, a well-formed image: the magic,
/// the version's length and text, then code (a fixed pseudo-random filler); it boots and
/// reports that version. Without, a wiper's image: no magic, every byte 0xFF, as an erased
/// flash reads; a device that installs it never boots again.
pub fn firmware_image(version: Option<&str>, size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(size);
    if let Some(v) = version {
        out.extend_from_slice(IMAGE_MAGIC);
        let v = &v.as_bytes()[..v.len().min(64)];
        out.push(v.len() as u8);
        out.extend_from_slice(v);
        // A 32-bit LCG (Numerical Recipes' constants): "code" that is not all one byte.
        let mut x: u32 = 0x1234_5678;
        while out.len() < size {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            out.push((x >> 24) as u8);
        }
    }
    out.resize(size, 0xFF);
    out
}

/// The version a firmware image boots into, or `None` if it does not boot (no magic, or a
/// version that is not text).
pub fn firmware_version(image: &[u8]) -> Option<String> {
    let rest = image.strip_prefix(IMAGE_MAGIC)?;
    let (&len, rest) = rest.split_first()?;
    let v = rest.get(..usize::from(len))?;
    std::str::from_utf8(v).ok().map(str::to_string)
}

/// One entry of the input image ([`READ_IO_OBJECT`](sub::READ_IO_OBJECT)): 6 bytes on the
/// wire, area code (the function code that reads the area: 2 discrete inputs, 4 input
/// registers), address, raw value, and 1 if the value is forced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IoPoint {
    /// The area's code.
    pub area: u8,
    /// The address in the area.
    pub addr: u16,
    /// The raw value the program sees.
    pub value: u16,
    /// Whether a force put it there rather than the field.
    pub forced: bool,
}

/// Bytes per [`IoPoint`] on the wire.
pub const IO_POINT_LEN: usize = 6;
/// Entries per [`READ_IO_OBJECT`](sub::READ_IO_OBJECT) answer at most (the PDU stays
/// under 253 bytes).
pub const IO_POINTS_PER_ANSWER: usize = 40;

impl IoPoint {
    /// Appends the entry's 6 bytes.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.push(self.area);
        out.extend(self.addr.to_be_bytes());
        out.extend(self.value.to_be_bytes());
        out.push(u8::from(self.forced));
    }
}

/// The data of a successful [`READ_IO_OBJECT`](sub::READ_IO_OBJECT) answer, after its status
/// byte: the image's total entry count (2 bytes), this answer's count (1 byte), the entries.
/// `None` if the bytes do not add up.
pub fn parse_io_page(data: &[u8]) -> Option<(u16, Vec<IoPoint>)> {
    let total = u16::from_be_bytes([*data.first()?, *data.get(1)?]);
    let n = usize::from(*data.get(2)?);
    let body = data.get(3..3 + n * IO_POINT_LEN)?;
    let points = body
        .chunks(IO_POINT_LEN)
        .map(|c| IoPoint {
            area: c[0],
            addr: u16::from_be_bytes([c[1], c[2]]),
            value: u16::from_be_bytes([c[3], c[4]]),
            forced: c[5] != 0,
        })
        .collect();
    Some((total, points))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_boots_with_its_version_and_a_wipers_does_not() {
        let good = firmware_image(Some("2.80-x"), 1000);
        assert_eq!(good.len(), 1000);
        assert_eq!(&good[..5], b"OTFW\x06");
        assert_eq!(firmware_version(&good).as_deref(), Some("2.80-x"));
        let brick = firmware_image(None, 300);
        assert!(brick.iter().all(|&b| b == 0xFF));
        assert_eq!(firmware_version(&brick), None);
    }

    #[test]
    fn an_io_page_round_trips() {
        let p = IoPoint {
            area: 4,
            addr: 7,
            value: 0x1234,
            forced: true,
        };
        let mut data = vec![0, 9, 1];
        p.emit(&mut data);
        assert_eq!(data, [0, 9, 1, 4, 0, 7, 0x12, 0x34, 1]);
        assert_eq!(parse_io_page(&data), Some((9, vec![p])));
        assert_eq!(parse_io_page(&data[..5]), None);
    }

    #[test]
    fn a_request_is_an_fc90_adu() {
        assert_eq!(
            vendor_request(3, sub::FIRMWARE_MODE, &[]),
            [0, 3, 0, 0, 0, 4, 1, 0x5A, 0, 0x60]
        );
    }
}
