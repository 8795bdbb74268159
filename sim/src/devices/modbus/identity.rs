//! Device identification: FC 43 / MEI 14 (read device identification) and
//! FC 17 (report server id).
//!
//! Scanners (nmap `modbus-discover`, Metasploit, ...) fingerprint PLCs with
//! these two functions, so the simulated devices answer them byte-exactly as
//! described in the Modbus Application Protocol spec v1.1b3, 6.17 and 6.21.

use crate::wire::modbus::{EX_ILLEGAL_DATA_ADDRESS, EX_ILLEGAL_DATA_VALUE, MAX_PDU_LEN, MEI_READ_DEVICE_ID};

/// Object id 0x00, basic category, mandatory.
pub const OBJ_VENDOR_NAME: u8 = 0x00;
/// Object id 0x01, basic category, mandatory.
pub const OBJ_PRODUCT_CODE: u8 = 0x01;
/// Object id 0x02, basic category, mandatory.
pub const OBJ_MAJOR_MINOR_REVISION: u8 = 0x02;
/// Object id 0x03, regular category, optional.
pub const OBJ_VENDOR_URL: u8 = 0x03;
/// Object id 0x04, regular category, optional.
pub const OBJ_PRODUCT_NAME: u8 = 0x04;
/// Object id 0x05, regular category, optional.
pub const OBJ_MODEL_NAME: u8 = 0x05;
/// Object id 0x06, regular category, optional.
pub const OBJ_USER_APPLICATION_NAME: u8 = 0x06;

/// Bytes of an FC 43/14 response PDU before the object list:
/// FC, MEI type, read device id code, conformity level, more follows, next object id, number of objects.
pub const DEVICE_ID_HEADER_LEN: usize = 7;
/// Longest object value that fits in one response with its id and length bytes.
pub const MAX_OBJECT_LEN: usize = MAX_PDU_LEN - DEVICE_ID_HEADER_LEN - 2;
/// Longest FC 17 additional data: PDU = FC, byte count, server id, run indicator, data.
pub const MAX_SERVER_ID_DATA_LEN: usize = MAX_PDU_LEN - 4;

/// What a device says about itself. Strings are ASCII (validated by the config).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceIdentity {
    /// Object 0.
    pub vendor_name: String,
    /// Object 1.
    pub product_code: String,
    /// Object 2.
    pub major_minor_revision: String,
    /// Object 3.
    pub vendor_url: Option<String>,
    /// Object 4.
    pub product_name: Option<String>,
    /// Object 5.
    pub model_name: Option<String>,
    /// Object 6.
    pub user_application_name: Option<String>,
    /// First byte of the FC 17 answer ("server id", device specific).
    pub server_id: u8,
    /// Additional data of the FC 17 answer, after the run indicator.
    pub server_id_data: Vec<u8>,
}

impl Default for DeviceIdentity {
    fn default() -> Self {
        Self {
            vendor_name: "otrange".to_owned(),
            product_code: "OTR-PLC".to_owned(),
            major_minor_revision: "1.0".to_owned(),
            vendor_url: None,
            product_name: None,
            model_name: None,
            user_application_name: None,
            server_id: 1,
            server_id_data: b"OTR-PLC".to_vec(),
        }
    }
}

impl DeviceIdentity {
    /// Value of object `id`, `None` if the device has no such object.
    pub fn object(&self, id: u8) -> Option<&str> {
        match id {
            OBJ_VENDOR_NAME => Some(&self.vendor_name),
            OBJ_PRODUCT_CODE => Some(&self.product_code),
            OBJ_MAJOR_MINOR_REVISION => Some(&self.major_minor_revision),
            OBJ_VENDOR_URL => self.vendor_url.as_deref(),
            OBJ_PRODUCT_NAME => self.product_name.as_deref(),
            OBJ_MODEL_NAME => self.model_name.as_deref(),
            OBJ_USER_APPLICATION_NAME => self.user_application_name.as_deref(),
            _ => None,
        }
    }

    /// Conformity level byte: 0x81 (basic, stream and individual access) when
    /// only the mandatory objects exist, 0x82 (regular, stream and individual)
    /// when at least one regular object (3..=6) is configured.
    pub fn conformity_level(&self) -> u8 {
        if (OBJ_VENDOR_URL..=OBJ_USER_APPLICATION_NAME).any(|id| self.object(id).is_some()) {
            0x82
        } else {
            0x81
        }
    }

    /// Data of an FC 43/14 response (everything after the function code), or
    /// an exception code.
    ///
    /// * `code` 1/2/3 = stream access of the basic / regular / extended
    ///   category; this device has no extended objects, so 3 answers like 2
    ///   ("respond in accordance with its actual conformity level", 6.21).
    ///   An object id that is not part of the stream restarts at object 0.
    ///   Objects that do not fit in one 253-byte PDU are announced with
    ///   more-follows = 0xFF and the next object id.
    /// * `code` 4 = one object; unknown id -> exception 2.
    /// * other codes -> exception 3.
    pub fn read_device_identification(&self, code: u8, object_id: u8) -> Result<Vec<u8>, u8> {
        let ids: Vec<u8> = match code {
            1 => (OBJ_VENDOR_NAME..=OBJ_MAJOR_MINOR_REVISION).collect(),
            2 | 3 => (OBJ_VENDOR_NAME..=OBJ_USER_APPLICATION_NAME)
                .filter(|&id| self.object(id).is_some())
                .collect(),
            4 => {
                if self.object(object_id).is_none() {
                    return Err(EX_ILLEGAL_DATA_ADDRESS);
                }
                vec![object_id]
            }
            _ => return Err(EX_ILLEGAL_DATA_VALUE),
        };
        let start = ids.iter().position(|&id| id == object_id).unwrap_or(0);
        let mut objects = Vec::new();
        let mut count: u8 = 0;
        let mut next: Option<u8> = None;
        let budget = MAX_PDU_LEN - DEVICE_ID_HEADER_LEN;
        for &id in &ids[start..] {
            let value = self.object(id).unwrap_or_default().as_bytes();
            // Config validation keeps every value <= MAX_OBJECT_LEN; truncate defensively.
            let value = &value[..value.len().min(MAX_OBJECT_LEN)];
            if objects.len() + 2 + value.len() > budget {
                next = Some(id);
                break;
            }
            objects.push(id);
            objects.push(value.len() as u8);
            objects.extend_from_slice(value);
            count += 1;
        }
        let mut out = Vec::with_capacity(DEVICE_ID_HEADER_LEN - 1 + objects.len());
        out.push(MEI_READ_DEVICE_ID);
        out.push(code);
        out.push(self.conformity_level());
        out.push(if next.is_some() { 0xFF } else { 0x00 });
        out.push(next.unwrap_or(0));
        out.push(count);
        out.extend_from_slice(&objects);
        Ok(out)
    }

    /// Data of an FC 17 response (after the function code): byte count,
    /// server id, run indicator (0xFF = running, 0x00 = stopped), additional data.
    pub fn report_server_id(&self, running: bool) -> Vec<u8> {
        let extra = &self.server_id_data[..self.server_id_data.len().min(MAX_SERVER_ID_DATA_LEN)];
        let mut out = Vec::with_capacity(3 + extra.len());
        out.push((2 + extra.len()) as u8);
        out.push(self.server_id);
        out.push(if running { 0xFF } else { 0x00 });
        out.extend_from_slice(extra);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_stream() {
        let id = DeviceIdentity {
            vendor_name: "AB".into(),
            product_code: "C".into(),
            major_minor_revision: "1".into(),
            ..DeviceIdentity::default()
        };
        // 0E code=01 conformity=81 more=00 next=00 n=03 | 00 02 'A' 'B' | 01 01 'C' | 02 01 '1'
        assert_eq!(
            id.read_device_identification(1, 0).unwrap(),
            vec![
                0x0E, 0x01, 0x81, 0x00, 0x00, 0x03, 0x00, 0x02, b'A', b'B', 0x01, 0x01, b'C', 0x02, 0x01,
                b'1'
            ]
        );
        // Unknown start object in stream access restarts at 0.
        assert_eq!(
            id.read_device_identification(1, 0x55).unwrap(),
            id.read_device_identification(1, 0).unwrap()
        );
        assert_eq!(id.read_device_identification(4, 3), Err(0x02));
        assert_eq!(id.read_device_identification(0, 0), Err(0x03));
        assert_eq!(id.read_device_identification(5, 0), Err(0x03));
    }

    #[test]
    fn server_id() {
        let id = DeviceIdentity {
            server_id: 0x42,
            server_id_data: b"XY".to_vec(),
            ..DeviceIdentity::default()
        };
        assert_eq!(id.report_server_id(true), vec![4, 0x42, 0xFF, b'X', b'Y']);
        assert_eq!(id.report_server_id(false), vec![4, 0x42, 0x00, b'X', b'Y']);
    }
}
