//! A vendor function code: FC 90 (0x5A), after Schneider Electric's UMAS, which engineering
//! tools use to read a PLC's identity and state and to start and stop it, and which
//! attackers (TRITON's sibling toolkits, PIPEDREAM's) use for the same. Sub-function codes
//! and the OK/error status bytes follow public analyses of UMAS (e.g. "The Secrets of
//! Schneider UMAS", Kaspersky ICS CERT, 2022): 0x02 read id, 0x04 read PLC info, 0x30/0x31
//! initialise and read an upload, 0x33/0x34/0x35 initialise, write and end a download,
//! 0x40 start, 0x41 stop; a response carries 0xFE for success, 0xFD for an error.
//!
//! A program travels as text: the `[plc]` table of a plant file (`[[plc.program]]` blocks and
//! `[[plc.safe_state]]`), in blocks of up to 200 bytes. The scan compiles a completed
//! download against the PLC's memory and runs it from the next scan on, if it compiles.
//!
//! ```text
//! Request PDU:  5A <session> <sub-function> <data...>
//! Response PDU: 5A <session> FE <data...>  or  5A <session> FD <error code>
//! ```

use crate::plc_logic::OperatingMode;

/// The function code.
pub const FC_VENDOR: u8 = 0x5A;
const OK: u8 = 0xFE;
const ERR: u8 = 0xFD;

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
    /// A completed download, for the next scan to compile and install.
    pub downloaded: Option<String>,
}

/// Bytes per upload or download block.
pub const BLOCK: usize = 200;

/// Answers one FC 90 request PDU (`pdu[0] == 0x5A`) with its response PDU.
pub fn handle(pdu: &[u8], st: &mut VendorState) -> Vec<u8> {
    let session = pdu.get(1).copied().unwrap_or(0);
    let mut out = vec![FC_VENDOR, session];
    let Some(&sub) = pdu.get(2) else {
        out.extend([ERR, 0x01]);
        return out;
    };
    match sub {
        0x02 => {
            out.push(OK);
            out.push(st.ident.len().min(200) as u8);
            out.extend(st.ident.as_bytes().iter().take(200));
        }
        0x04 => {
            // PLC info: the current mode as its code (1 run, 2 program, 3 stop).
            out.push(OK);
            out.extend(st.mode.code().to_be_bytes());
        }
        0x30 => {
            out.push(OK);
            out.extend((st.upload.len() as u16).to_be_bytes());
        }
        0x31 => {
            let idx = usize::from(u16::from_be_bytes([
                pdu.get(3).copied().unwrap_or(0),
                pdu.get(4).copied().unwrap_or(0),
            ]));
            let chunk: Vec<u8> = st.upload.iter().skip(idx * BLOCK).take(BLOCK).copied().collect();
            out.push(OK);
            out.extend((idx as u16).to_be_bytes());
            out.push(chunk.len() as u8);
            out.extend(chunk);
        }
        0x33 => {
            st.download.clear();
            out.push(OK);
        }
        0x34 => {
            // index (2 bytes), then the block's bytes
            if pdu.len() < 5 || st.download.len() > 64 * 1024 {
                out.extend([ERR, 0x03]);
            } else {
                st.download.extend_from_slice(&pdu[5..]);
                out.push(OK);
            }
        }
        0x35 => {
            st.downloaded = Some(String::from_utf8_lossy(&std::mem::take(&mut st.download)).into_owned());
            out.push(OK);
        }
        0x40 => {
            st.requested_mode = Some(OperatingMode::Run);
            out.push(OK);
        }
        0x41 => {
            st.requested_mode = Some(OperatingMode::Stop);
            out.push(OK);
        }
        _ => out.extend([ERR, 0x02]),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_is_requested_and_info_reports_the_mode() {
        let mut st = VendorState {
            ident: "Modicon M340".into(),
            ..Default::default()
        };
        assert_eq!(handle(&[0x5A, 0, 0x04], &mut st), [0x5A, 0, 0xFE, 0, 1]);
        assert_eq!(handle(&[0x5A, 7, 0x41], &mut st), [0x5A, 7, 0xFE]);
        assert_eq!(st.requested_mode, Some(OperatingMode::Stop));
        assert_eq!(handle(&[0x5A, 0, 0x99], &mut st), [0x5A, 0, 0xFD, 0x02]);
        let id = handle(&[0x5A, 0, 0x02], &mut st);
        assert_eq!(&id[..4], &[0x5A, 0, 0xFE, 12]);
        assert_eq!(&id[4..], b"Modicon M340");
    }
}
