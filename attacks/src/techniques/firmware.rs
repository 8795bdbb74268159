//! Controller firmware over FC 90, the vendor protocol, kept whole across its tactics: every
//! step talks to the PLC's boot loader.
//!
//! * T0800 Activate Firmware Update Mode (Inhibit Response Function): sub-function 0x60. At
//!   its next scan the PLC stops its program, drives its outputs to their safe state, and
//!   answers ordinary Modbus requests with exception 6 (server busy) until a restart (FC 8
//!   sub-function 1, T0816) or a firmware install. A protection PLC thereby loses its
//!   protective function (T0837). After Industroyer's SIPROTEC module, which used
//!   CVE-2015-5374 to leave protection relays unresponsive until restarted by hand (ESET,
//!   "Win32/Industroyer", 2017).
//! * T0857 System Firmware (Persistence, Inhibit Response Function) and T0839 Module
//!   Firmware (Persistence, Impair Process Control): a firmware image in 240-byte blocks,
//!   0x61 begin (the size), 0x62 blocks, 0x63 end; the PLC must be in firmware-update mode,
//!   else it refuses the image and the step fails. `params.image = "brick"` (T0857's
//!   default) sends an image that does not boot: the PLC installs it, never runs again and
//!   answers nothing, as the Ukraine 2015 attackers bricked serial-to-Ethernet gateways with
//!   their own firmware (E-ISAC/SANS, "Analysis of the Cyber Attack on the Ukrainian Power
//!   Grid", 2016). `"implant"` (T0839's default) sends a well-formed image: the PLC reboots
//!   into it and runs as before, but its identity (FC 90 read id, FC 43 revision) reports
//!   the implant's version: the actor's code now persists in the device.
//!
//! `params.size` is the image's size in bytes (default 65536: 274 requests, a visible
//! burst of a few tens of seconds at a 100 ms scan, where a real image of megabytes would
//! take thousands; 256 to 1048576).

use super::modbus_client::target;
use super::vendor_client::{Answer, Conversation, refusal};
use super::{ConfigError, Executor, Outcome, Progress, StepCx, param};
use otrange_sim::net::Delivered;
use otrange_sim::net::topology::{HostId, Topology};
use otrange_sim::wire::modbus::vendor::{IMAGE_BLOCK, MAX_IMAGE, MIN_IMAGE, error, firmware_image, sub};
use std::collections::VecDeque;

/// The image size when `params.size` is absent.
const DEFAULT_SIZE: i64 = 65536;
/// The version an implant reports when `params.version` is absent: a plausible next
/// revision, so the change passes a casual look at the identity.
const DEFAULT_VERSION: &str = "v3.21";

struct Firmware {
    technique: &'static str,
    conv: Conversation,
    /// For an image: its kind, size and (implant) version.
    image: Option<(&'static str, usize, Option<String>)>,
}

/// T0800 takes no parameters; T0857 and T0839 take `image` ("brick" or "implant"), `size`
/// and, for an implant, `version`.
pub fn build(
    id: &'static str,
    t: Option<HostId>,
    p: &toml::Table,
    _: &Topology,
) -> Result<Box<dyn Executor>, ConfigError> {
    let mut queue = VecDeque::new();
    let mut image = None;
    if id == "T0800" {
        param::only(p, &[])?;
        queue.push_back((sub::FIRMWARE_MODE, Vec::new()));
    } else {
        param::only(p, &["image", "size", "version"])?;
        let default = if id == "T0857" { "brick" } else { "implant" };
        let kind = match param::string(p, "image", Some(default))?.as_str() {
            "brick" => "brick",
            "implant" => "implant",
            other => {
                return Err(ConfigError::unlocated(
                    "params.image",
                    format!(
                        "{other:?}: expected \"brick\" (an image that does not boot) or \"implant\" (one that runs, with its own version)"
                    ),
                ));
            }
        };
        let size = param::int(p, "size", Some(DEFAULT_SIZE))?;
        let size = usize::try_from(size)
            .ok()
            .filter(|s| (MIN_IMAGE..=MAX_IMAGE).contains(s))
            .ok_or_else(|| {
                ConfigError::unlocated(
                    "params.size",
                    format!("{size} bytes: expected {MIN_IMAGE}..={MAX_IMAGE}"),
                )
            })?;
        let version = match kind {
            "implant" => {
                let v = param::string(p, "version", Some(DEFAULT_VERSION))?;
                if v.is_empty() || v.len() > 64 {
                    return Err(ConfigError::unlocated(
                        "params.version",
                        "expected 1 to 64 bytes of text",
                    ));
                }
                Some(v)
            }
            _ if p.contains_key("version") => {
                return Err(ConfigError::unlocated(
                    "params.version",
                    "only an implant image carries a version; a brick image does not boot",
                ));
            }
            _ => None,
        };
        let bytes = firmware_image(version.as_deref(), size);
        queue.push_back((sub::FIRMWARE_BEGIN, (size as u32).to_be_bytes().to_vec()));
        for (i, chunk) in bytes.chunks(IMAGE_BLOCK).enumerate() {
            let mut d = (i as u16).to_be_bytes().to_vec();
            d.extend_from_slice(chunk);
            queue.push_back((sub::FIRMWARE_BLOCK, d));
        }
        queue.push_back((sub::FIRMWARE_END, Vec::new()));
        image = Some((kind, size, version));
    }
    Ok(Box::new(Firmware {
        technique: id,
        conv: Conversation::new(target(t)?, queue),
        image,
    }))
}

impl Firmware {
    fn succeeded(&self, cx: &StepCx) -> Outcome {
        let name = cx.name(self.conv.target);
        let detail = match &self.image {
            None => format!(
                "{name} put in firmware-update mode: its program stops and ordinary Modbus \
                 requests get exception 6 until a restart or a firmware install"
            ),
            Some((kind, size, version)) => {
                let then = match version {
                    Some(v) => format!("it reboots into it and reports version {v}"),
                    None => "it does not boot: the device is bricked".to_string(),
                };
                format!(
                    "{size}-byte {kind} image installed on {name} in {} FC 90 requests; {then}",
                    self.conv.sent
                )
            }
        };
        Outcome::Succeeded { detail }
    }

    fn refused(&self, cx: &StepCx, s: u8, code: u8) -> Outcome {
        let name = cx.name(self.conv.target);
        let what = if s == sub::FIRMWARE_MODE {
            "firmware-update mode"
        } else {
            "the firmware image"
        };
        let hint = if code == error::WRONG_MODE && s != sub::FIRMWARE_MODE {
            format!(
                " ({} needs firmware-update mode first: T0800 Activate Firmware Update Mode)",
                self.technique
            )
        } else {
            String::new()
        };
        Outcome::Failed {
            reason: format!("{name} refused {what} (FC 90 0x{s:02X}): {}{hint}", refusal(code)),
        }
    }
}

impl Executor for Firmware {
    fn start(&mut self, cx: &mut StepCx) -> Progress {
        self.conv
            .next(cx)
            .unwrap_or_else(|| Progress::Done(self.succeeded(cx)))
    }
    fn reply(&mut self, cx: &mut StepCx, d: &Delivered) -> Progress {
        match self.conv.answer(d) {
            None => self.conv.wait(),
            Some(Answer::Ok { .. }) => match self.conv.next(cx) {
                Some(p) => p,
                None => Progress::Done(self.succeeded(cx)),
            },
            Some(Answer::Refused { sub, code }) => Progress::Done(self.refused(cx, sub, code)),
            Some(Answer::Other) => Progress::Done(self.conv.end(cx)),
        }
    }
    fn timer(&mut self, cx: &mut StepCx) -> Progress {
        Progress::Done(self.conv.end(cx))
    }
}
