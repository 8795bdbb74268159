//! Configuration of one Modbus device, as it appears under `[plc.modbus]` in a
//! plant TOML.
//!
//! ```toml
//! [plc.modbus]
//! unit_ids = [1]                 # unit ids answered besides 0 and 255; empty/absent = any
//! coils = 32                     # table sizes, 0..=65536 each, default 0 (table absent)
//! discrete_inputs = 32
//! input_registers = 64
//! holding_registers = 64
//! read_only_holding = [[0, 9]]   # inclusive [first, last] ranges clients may not write
//! read_only_coils = [[0, 3]]
//! capacity_rps = 200             # requests per simulated second, >= 1, default 200
//! burst = 20                     # bucket size, >= 1, default max(capacity_rps / 10, 1)
//! overload = "busy"              # "busy" (exception 6) | "drop" (no answer), default "busy"
//!
//! [plc.modbus.identity]
//! vendor = "Schneider Electric"  # FC 43 object 0
//! product_code = "BMX P34 2020"  # object 1
//! revision = "v3.20"             # object 2
//! vendor_url = "..."             # object 3, optional
//! product_name = "..."           # object 4, optional
//! model_name = "..."             # object 5, optional
//! user_application_name = "..."  # object 6, optional
//! server_id = 1                  # FC 17 server id byte
//! server_id_data = "..."         # FC 17 additional data, default product_name or product_code
//! ```
//!
//! Unknown keys are errors, so a typo cannot silently leave a default in place.

use crate::base::config_error::ConfigError;
use serde::Deserialize;

use crate::devices::modbus::capacity::OverloadPolicy;
use crate::devices::modbus::identity::{DeviceIdentity, MAX_OBJECT_LEN, MAX_SERVER_ID_DATA_LEN};
use crate::devices::modbus::map::{AddrRange, MAX_TABLE_LEN};

/// Default `capacity_rps`: a mid-range PLC CPU.
pub const DEFAULT_CAPACITY_RPS: u32 = 200;

/// `[plc.modbus]`: register map sizes, protections, capacity and identity.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModbusDeviceConfig {
    /// Unit ids the device answers besides 0 and 255; empty = any unit id.
    #[serde(default)]
    pub unit_ids: Vec<u8>,
    /// Number of coils.
    #[serde(default)]
    pub coils: u32,
    /// Number of discrete inputs.
    #[serde(default)]
    pub discrete_inputs: u32,
    /// Number of input registers.
    #[serde(default)]
    pub input_registers: u32,
    /// Number of holding registers.
    #[serde(default)]
    pub holding_registers: u32,
    /// Inclusive holding register ranges that clients may not write.
    #[serde(default)]
    pub read_only_holding: Vec<[u32; 2]>,
    /// Inclusive coil ranges that clients may not write.
    #[serde(default)]
    pub read_only_coils: Vec<[u32; 2]>,
    /// Requests per simulated second the CPU can serve.
    #[serde(default = "default_capacity")]
    pub capacity_rps: u32,
    /// Token bucket size; `None` = `max(capacity_rps / 10, 1)`.
    #[serde(default)]
    pub burst: Option<u32>,
    /// Behaviour when over capacity.
    #[serde(default)]
    pub overload: OverloadPolicy,
    /// Identification answered to FC 43/14 and FC 17.
    #[serde(default)]
    pub identity: IdentityConfig,
}

fn default_capacity() -> u32 {
    DEFAULT_CAPACITY_RPS
}

impl Default for ModbusDeviceConfig {
    fn default() -> Self {
        Self {
            unit_ids: Vec::new(),
            coils: 0,
            discrete_inputs: 0,
            input_registers: 0,
            holding_registers: 0,
            read_only_holding: Vec::new(),
            read_only_coils: Vec::new(),
            capacity_rps: DEFAULT_CAPACITY_RPS,
            burst: None,
            overload: OverloadPolicy::Busy,
            identity: IdentityConfig::default(),
        }
    }
}

/// `[plc.modbus.identity]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityConfig {
    /// Object 0, VendorName.
    #[serde(default = "default_vendor")]
    pub vendor: String,
    /// Object 1, ProductCode.
    #[serde(default = "default_product_code")]
    pub product_code: String,
    /// Object 2, MajorMinorRevision.
    #[serde(default = "default_revision")]
    pub revision: String,
    /// Object 3, VendorUrl.
    #[serde(default)]
    pub vendor_url: Option<String>,
    /// Object 4, ProductName.
    #[serde(default)]
    pub product_name: Option<String>,
    /// Object 5, ModelName.
    #[serde(default)]
    pub model_name: Option<String>,
    /// Object 6, UserApplicationName.
    #[serde(default)]
    pub user_application_name: Option<String>,
    /// FC 17 server id byte.
    #[serde(default = "default_server_id")]
    pub server_id: u8,
    /// FC 17 additional data; `None` = product name, else product code.
    #[serde(default)]
    pub server_id_data: Option<String>,
}

fn default_vendor() -> String {
    DeviceIdentity::default().vendor_name
}
fn default_product_code() -> String {
    DeviceIdentity::default().product_code
}
fn default_revision() -> String {
    DeviceIdentity::default().major_minor_revision
}
fn default_server_id() -> u8 {
    1
}

impl Default for IdentityConfig {
    fn default() -> Self {
        Self {
            vendor: default_vendor(),
            product_code: default_product_code(),
            revision: default_revision(),
            vendor_url: None,
            product_name: None,
            model_name: None,
            user_application_name: None,
            server_id: default_server_id(),
            server_id_data: None,
        }
    }
}

/// Validated configuration in the form the server uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ResolvedConfig {
    pub(crate) sizes: [usize; 4],
    pub(crate) read_only_coils: Vec<AddrRange>,
    pub(crate) read_only_holding: Vec<AddrRange>,
    pub(crate) unit_ids: Vec<u8>,
    pub(crate) capacity_rps: u64,
    pub(crate) burst: u64,
    pub(crate) identity: DeviceIdentity,
}

impl ModbusDeviceConfig {
    /// Parses the body of a `[plc.modbus]` table (as a standalone TOML document) and validates it.
    pub fn from_toml_str(text: &str) -> Result<Self, ConfigError> {
        let cfg: Self = toml::from_str(text).map_err(|e| ConfigError::new("modbus", None, e.message()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks every value; paths in errors start with `modbus.`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.resolve().map(|_| ())
    }

    pub(crate) fn resolve(&self) -> Result<ResolvedConfig, ConfigError> {
        let sizes = [
            check_size("modbus.coils", self.coils)?,
            check_size("modbus.discrete_inputs", self.discrete_inputs)?,
            check_size("modbus.input_registers", self.input_registers)?,
            check_size("modbus.holding_registers", self.holding_registers)?,
        ];
        let read_only_coils =
            check_ranges("modbus.read_only_coils", &self.read_only_coils, sizes[0], "coils")?;
        let read_only_holding = check_ranges(
            "modbus.read_only_holding",
            &self.read_only_holding,
            sizes[3],
            "holding registers",
        )?;
        if self.capacity_rps == 0 {
            return Err(ConfigError::new(
                "modbus.capacity_rps",
                None,
                "expected at least 1 request per second",
            ));
        }
        let burst = match self.burst {
            Some(0) => {
                return Err(ConfigError::new(
                    "modbus.burst",
                    None,
                    "expected at least 1 (or omit it for capacity_rps / 10)",
                ));
            }
            Some(b) => u64::from(b),
            None => {
                crate::devices::modbus::capacity::TokenBucket::default_burst(u64::from(self.capacity_rps))
            }
        };
        let mut unit_ids = self.unit_ids.clone();
        unit_ids.sort_unstable();
        unit_ids.dedup();
        Ok(ResolvedConfig {
            sizes,
            read_only_coils,
            read_only_holding,
            unit_ids,
            capacity_rps: u64::from(self.capacity_rps),
            burst,
            identity: self.identity.resolve()?,
        })
    }
}

impl IdentityConfig {
    fn resolve(&self) -> Result<DeviceIdentity, ConfigError> {
        let obj = |key: &str, v: &str| check_ascii(&format!("modbus.identity.{key}"), v, MAX_OBJECT_LEN);
        obj("vendor", &self.vendor)?;
        obj("product_code", &self.product_code)?;
        obj("revision", &self.revision)?;
        for (key, v) in [
            ("vendor_url", &self.vendor_url),
            ("product_name", &self.product_name),
            ("model_name", &self.model_name),
            ("user_application_name", &self.user_application_name),
        ] {
            if let Some(v) = v {
                obj(key, v)?;
            }
        }
        let data = self
            .server_id_data
            .clone()
            .or_else(|| self.product_name.clone())
            .unwrap_or_else(|| self.product_code.clone());
        check_ascii("modbus.identity.server_id_data", &data, MAX_SERVER_ID_DATA_LEN)?;
        Ok(DeviceIdentity {
            vendor_name: self.vendor.clone(),
            product_code: self.product_code.clone(),
            major_minor_revision: self.revision.clone(),
            vendor_url: self.vendor_url.clone(),
            product_name: self.product_name.clone(),
            model_name: self.model_name.clone(),
            user_application_name: self.user_application_name.clone(),
            server_id: self.server_id,
            server_id_data: data.into_bytes(),
        })
    }
}

fn check_size(field: &str, n: u32) -> Result<usize, ConfigError> {
    let n = n as usize;
    if n > MAX_TABLE_LEN {
        return Err(ConfigError::new(
            field,
            None,
            format!("{n} entries: expected at most {MAX_TABLE_LEN} (addresses 0..=65535)"),
        ));
    }
    Ok(n)
}

fn check_ranges(
    field: &str,
    ranges: &[[u32; 2]],
    size: usize,
    what: &str,
) -> Result<Vec<AddrRange>, ConfigError> {
    let mut out = Vec::with_capacity(ranges.len());
    for (i, &[first, last]) in ranges.iter().enumerate() {
        let path = format!("{field}[{i}]");
        if first > last {
            return Err(ConfigError::new(
                path,
                None,
                format!("[{first}, {last}]: expected an inclusive range [first, last] with first <= last"),
            ));
        }
        if last as usize >= size {
            return Err(ConfigError::new(
                path,
                None,
                format!(
                    "[{first}, {last}] goes beyond the {size} {what} of the map (expected last <= {})",
                    size as i64 - 1
                ),
            ));
        }
        // last < size <= 65536, so both fit in u16.
        out.push(AddrRange::new(first as u16, last as u16));
    }
    out.sort();
    Ok(out)
}

fn check_ascii(field: &str, v: &str, max: usize) -> Result<(), ConfigError> {
    if !v.is_ascii() {
        return Err(ConfigError::new(
            field,
            None,
            "expected an ASCII string (device identification objects are ASCII)",
        ));
    }
    if v.len() > max {
        return Err(ConfigError::new(
            field,
            None,
            format!(
                "{} bytes: expected at most {max} so it fits in one Modbus PDU",
                v.len()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
unit_ids = [1]
coils = 32
discrete_inputs = 32
input_registers = 64
holding_registers = 64
read_only_holding = [[0, 9]]
capacity_rps = 200
overload = "busy"
[identity]
vendor = "Schneider Electric"
product_code = "BMX P34 2020"
revision = "v3.20"
vendor_url = "http://www.schneider-electric.com"
product_name = "Modicon M340"
model_name = "BMX P34 2020"
server_id = 1
"#;

    #[test]
    fn parses_example() {
        let cfg = ModbusDeviceConfig::from_toml_str(EXAMPLE).unwrap();
        assert_eq!(cfg.unit_ids, vec![1]);
        assert_eq!(cfg.read_only_holding, vec![[0, 9]]);
        assert_eq!(cfg.overload, OverloadPolicy::Busy);
        let r = cfg.resolve().unwrap();
        assert_eq!(r.burst, 20);
        assert_eq!(r.identity.server_id_data, b"Modicon M340".to_vec());
    }

    #[test]
    fn defaults() {
        let cfg = ModbusDeviceConfig::from_toml_str("").unwrap();
        assert_eq!(cfg, ModbusDeviceConfig::default());
        let r = cfg.resolve().unwrap();
        assert_eq!(r.capacity_rps, 200);
        assert_eq!(r.identity.vendor_name, "otrange");
    }

    #[test]
    fn errors_name_the_field() {
        let e = ModbusDeviceConfig::from_toml_str("holding_registers = 8\nread_only_holding = [[0, 9]]")
            .unwrap_err();
        assert_eq!(e.field, "modbus.read_only_holding[0]");
        assert!(e.message.contains("beyond the 8 holding registers"), "{e}");
        assert_eq!(
            e.clone().under("plc[3]").field,
            "plc[3].modbus.read_only_holding[0]"
        );

        let e = ModbusDeviceConfig::from_toml_str("coils = 4\nread_only_coils = [[3, 1]]").unwrap_err();
        assert_eq!(e.field, "modbus.read_only_coils[0]");

        let e = ModbusDeviceConfig::from_toml_str("coils = 70000").unwrap_err();
        assert_eq!(e.field, "modbus.coils");

        let e = ModbusDeviceConfig::from_toml_str("capacity_rps = 0").unwrap_err();
        assert_eq!(e.field, "modbus.capacity_rps");

        let e = ModbusDeviceConfig::from_toml_str("burst = 0").unwrap_err();
        assert_eq!(e.field, "modbus.burst");

        let e = ModbusDeviceConfig::from_toml_str("colis = 4").unwrap_err();
        assert!(e.message.contains("colis"), "{e}");

        let e = ModbusDeviceConfig::from_toml_str("overload = \"explode\"").unwrap_err();
        assert!(e.message.contains("explode"), "{e}");

        let long = "x".repeat(245);
        let e = ModbusDeviceConfig::from_toml_str(&format!("[identity]\nvendor = \"{long}\"")).unwrap_err();
        assert_eq!(e.field, "modbus.identity.vendor");

        let e = ModbusDeviceConfig::from_toml_str("[identity]\nproduct_name = \"Pümpe\"").unwrap_err();
        assert_eq!(e.field, "modbus.identity.product_name");
    }
}
