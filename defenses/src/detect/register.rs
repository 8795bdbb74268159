//! The owner's asset register, read from a CSV export, compared with what passive discovery
//! saw.
//!
//! Sites keep their asset register in a CMDB or PLM system, not in otrange's plant file;
//! the register is what an auditor (NIS2, IEC 62443-2-1) holds the site to, and the
//! network is what is really there. Comparing the two finds the register's blind spots:
//! devices talking that nobody registered, registered devices that are gone (or silent,
//! or behind no sensor), and devices whose firmware or model is not what the register says
//! (an unrecorded upgrade, a swapped unit, or an impersonation).
//!
//! * [`AssetRegister::load`] reads the CSV. Every CMDB exports its own headers, so
//!   [`Columns`] maps ours (`name,address,vendor,product,revision,zone`) to theirs. Any
//!   mistake is a [`RegisterError`] naming the file, the line and the field.
//! * [`ObservedAsset`] is one host as the [`super::inventory`] detector learned it, from
//!   the live detector ([`super::inventory::Inventory::observed`]) or from the `inventory`
//!   list of its figures in results.json or detect.json
//!   ([`ObservedAsset::from_inventory_figures`]), so a report can compare a register with
//!   a finished run.
//! * [`compare`] gives the [`Comparison`]: coverage, assets seen but not registered,
//!   registered but never seen, and identity mismatches, every list in address order.
//!
//! Assets are matched by IPv4 address: the one key both a register and a capture have (a
//! capture has no host names, and names differ between systems more often than addresses).

use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

/// One column of the register, by its meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Column {
    /// The asset's name (hostname, tag).
    Name,
    /// Its IPv4 address: the key assets are matched by.
    Address,
    /// Vendor, compared with FC 43/14 object 0 (VendorName).
    Vendor,
    /// Product, compared with object 1 (ProductCode) or object 4 (ProductName).
    Product,
    /// Firmware or hardware revision, compared with object 2 (MajorMinorRevision).
    Revision,
    /// The zone the register places it in (carried into the report, not compared).
    Zone,
}

impl Column {
    /// Every column, in the default header order.
    pub const ALL: [Column; 6] = [
        Column::Name,
        Column::Address,
        Column::Vendor,
        Column::Product,
        Column::Revision,
        Column::Zone,
    ];

    /// Its key on the command line (`--asset-columns address=...`) and its default header.
    pub fn key(self) -> &'static str {
        match self {
            Column::Name => "name",
            Column::Address => "address",
            Column::Vendor => "vendor",
            Column::Product => "product",
            Column::Revision => "revision",
            Column::Zone => "zone",
        }
    }

    fn from_key(key: &str) -> Option<Column> {
        Column::ALL.into_iter().find(|c| c.key() == key)
    }
}

/// Which header of the CSV holds which [`Column`]. Headers are matched ignoring ASCII case
/// and surrounding spaces, because exports differ in both (`IP Address`, `ip address`).
///
/// `name` and `address` must be present. The identity columns and `zone` are optional
/// with their default headers (a register without firmware is common, and then revisions
/// are not compared), but a column the user mapped must be there: a mapping that names a
/// header the file lacks is a mistake, not a request to skip the comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Columns {
    headers: BTreeMap<Column, String>,
    mapped: BTreeSet<Column>,
}

impl Default for Columns {
    fn default() -> Self {
        Columns {
            headers: Column::ALL
                .into_iter()
                .map(|c| (c, c.key().to_string()))
                .collect(),
            mapped: BTreeSet::new(),
        }
    }
}

impl Columns {
    /// Parses `--asset-columns`: comma-separated `column=Header` pairs, e.g.
    /// `name=Hostname,address="IP Address",revision=Firmware`; a header may be quoted (to
    /// hold a comma). Columns not named keep their default header.
    pub fn parse(spec: &str) -> Result<Columns, String> {
        let mut cols = Columns::default();
        for pair in split_unquoted(spec) {
            let pair = pair.trim();
            if pair.is_empty() {
                continue;
            }
            let Some((key, header)) = pair.split_once('=') else {
                return Err(format!("expected column=Header, got {pair:?}"));
            };
            let key = key.trim();
            let column = Column::from_key(key).ok_or_else(|| {
                let keys: Vec<&str> = Column::ALL.iter().map(|c| c.key()).collect();
                format!("unknown column {key:?}: expected one of {}", keys.join(", "))
            })?;
            let header = unquote(header.trim());
            if header.is_empty() {
                return Err(format!("column {key:?} is mapped to an empty header"));
            }
            if !cols.mapped.insert(column) {
                return Err(format!("column {key:?} is mapped twice"));
            }
            cols.headers.insert(column, header.to_string());
        }
        Ok(cols)
    }

    /// The header this column is read from.
    pub fn header(&self, column: Column) -> &str {
        &self.headers[&column]
    }

    fn required(&self, column: Column) -> bool {
        matches!(column, Column::Name | Column::Address) || self.mapped.contains(&column)
    }
}

/// Splits on commas outside double quotes.
fn split_unquoted(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, ch) in s.char_indices() {
        match ch {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

fn unquote(s: &str) -> &str {
    s.strip_prefix('"').and_then(|s| s.strip_suffix('"')).unwrap_or(s)
}

/// A mistake in a register file, or in asking for the comparison: the file, the 1-based
/// line (0 when the problem is not on one line) and the field, in the form
/// `assets.csv:7: address: "10.0.0.300" is not an IPv4 address`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct RegisterError {
    /// The file, as the user named it.
    pub file: PathBuf,
    /// 1-based line of the offending record; 0 for the file as a whole.
    pub line: u64,
    /// The register column (`address`), `(header)` or `(file)`.
    pub field: String,
    /// What is wrong and what was expected.
    pub message: String,
}

impl RegisterError {
    /// An error at `line` of `file` (0: the file as a whole).
    pub fn new(file: &Path, line: u64, field: impl Into<String>, message: impl Into<String>) -> Self {
        RegisterError {
            file: file.to_path_buf(),
            line,
            field: field.into(),
            message: message.into(),
        }
    }

    fn render(&self) -> String {
        let file = self.file.display();
        if self.line == 0 {
            format!("{file}: {}: {}", self.field, self.message)
        } else {
            format!("{file}:{}: {}: {}", self.line, self.field, self.message)
        }
    }
}

/// One row of the register. Empty identity cells are `None`: nothing to compare.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegisteredAsset {
    /// 1-based line of its record in the file, for messages.
    #[serde(skip)]
    pub line: u64,
    /// Its name in the register.
    pub name: String,
    /// Its address: what it is matched by.
    pub address: Ipv4Addr,
    /// Registered vendor.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// Registered product.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// Registered firmware or revision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// Registered zone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
}

/// An asset register: its rows, in file order, one per address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetRegister {
    /// The file it was read from, as named.
    pub file: PathBuf,
    /// Its assets, in file order.
    pub assets: Vec<RegisteredAsset>,
}

impl AssetRegister {
    /// Reads a register from a CSV file with `columns`' headers.
    pub fn load(path: &Path, columns: &Columns) -> Result<AssetRegister, RegisterError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| RegisterError::new(path, 0, "(file)", format!("cannot read asset register: {e}")))?;
        AssetRegister::parse(path, &text, columns)
    }

    /// Parses register text; `file` only names it in errors.
    pub fn parse(file: &Path, text: &str, columns: &Columns) -> Result<AssetRegister, RegisterError> {
        // Spreadsheet exports often start with a UTF-8 byte order mark; it is not part of
        // the first header.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let csv_error = |e: csv::Error| {
            let line = e.position().map_or(0, |p| line_of(text, p));
            let message = match e.kind() {
                csv::ErrorKind::UnequalLengths {
                    expected_len, len, ..
                } => {
                    let fields = if *len == 1 { "field" } else { "fields" };
                    format!("{len} {fields} where the header has {expected_len}")
                }
                csv::ErrorKind::Utf8 { .. } => "not UTF-8 text".to_string(),
                _ => e.to_string(),
            };
            RegisterError::new(file, line, "(record)", message)
        };
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let headers = reader.headers().map_err(csv_error)?.clone();
        let mut index: BTreeMap<Column, usize> = BTreeMap::new();
        for column in Column::ALL {
            let wanted = columns.header(column);
            let found: Vec<usize> = headers
                .iter()
                .enumerate()
                .filter(|(_, h)| h.trim().eq_ignore_ascii_case(wanted.trim()))
                .map(|(i, _)| i)
                .collect();
            match found[..] {
                [i] => {
                    index.insert(column, i);
                }
                [] if !columns.required(column) => {}
                [] => {
                    let all: Vec<String> = headers.iter().map(|h| format!("{h:?}")).collect();
                    return Err(RegisterError::new(
                        file,
                        1,
                        "(header)",
                        format!(
                            "no column {wanted:?} for the asset's {} (headers found: {}); map it with --asset-columns {}=HEADER",
                            column.key(),
                            all.join(", "),
                            column.key()
                        ),
                    ));
                }
                _ => {
                    return Err(RegisterError::new(
                        file,
                        1,
                        "(header)",
                        format!(
                            "{} columns are headed {wanted:?}: which one holds the {}?",
                            found.len(),
                            column.key()
                        ),
                    ));
                }
            }
        }
        let mut assets: Vec<RegisteredAsset> = Vec::new();
        let mut lines: BTreeMap<Ipv4Addr, u64> = BTreeMap::new();
        for record in reader.records() {
            let record = record.map_err(csv_error)?;
            let line = record.position().map_or(0, |p| line_of(text, p));
            // A blank line between records, as spreadsheets leave at the end.
            if record.iter().all(str::is_empty) {
                continue;
            }
            let cell = |c: Column| {
                index
                    .get(&c)
                    .and_then(|&i| record.get(i))
                    .filter(|v| !v.is_empty())
                    .map(str::to_string)
            };
            let err = |c: Column, m: String| RegisterError::new(file, line, c.key(), m);
            let name = cell(Column::Name)
                .ok_or_else(|| err(Column::Name, "empty: every asset needs a name".into()))?;
            let raw =
                cell(Column::Address).ok_or_else(|| err(Column::Address, format!("empty for {name:?}")))?;
            let address: Ipv4Addr = raw
                .parse()
                .map_err(|_| err(Column::Address, format!("{raw:?} is not an IPv4 address")))?;
            if let Some(first) = lines.insert(address, line) {
                return Err(err(
                    Column::Address,
                    format!(
                        "{address} is registered twice (also on line {first}): assets are matched by address"
                    ),
                ));
            }
            assets.push(RegisteredAsset {
                line,
                name,
                address,
                vendor: cell(Column::Vendor),
                product: cell(Column::Product),
                revision: cell(Column::Revision),
                zone: cell(Column::Zone),
            });
        }
        Ok(AssetRegister {
            file: file.to_path_buf(),
            assets,
        })
    }
}

/// The 1-based line a record starts on. The csv crate's own line count does not count the
/// blank lines it skips, so it is recomputed from the record's byte offset (which may point
/// at such blank lines before the record: they are stepped over).
fn line_of(text: &str, pos: &csv::Position) -> u64 {
    let start = usize::try_from(pos.byte()).map_or(text.len(), |b| b.min(text.len()));
    let skipped = text[start..]
        .bytes()
        .take_while(|b| matches!(b, b'\n' | b'\r'))
        .count();
    let before = &text.as_bytes()[..start + skipped];
    before.iter().filter(|&&b| b == b'\n').count() as u64 + 1
}

/// One host as passive discovery saw it: its address, the name the plant gives it (none on
/// a capture without a plant), the role its traffic suggests and the identity it reported
/// in FC 43/14 answers (each object only if it was heard).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObservedAsset {
    /// Address it sent from.
    pub address: Ipv4Addr,
    /// The plant's name for it, if any.
    pub name: Option<String>,
    /// Role guessed from its traffic (`modbus-server (plc)`, `hmi/scada`, ...).
    pub role: String,
    /// FC 43/14 VendorName.
    pub vendor: Option<String>,
    /// FC 43/14 ProductCode.
    pub product_code: Option<String>,
    /// FC 43/14 ProductName.
    pub product_name: Option<String>,
    /// FC 43/14 MajorMinorRevision.
    pub revision: Option<String>,
}

impl ObservedAsset {
    /// The hosts in an inventory detector's figures: its `summary` in detect.json or the
    /// `figures` of its tap in results.json (both carry the `inventory` list). `None` when
    /// `figures` has no `inventory` list, i.e. it is not an inventory detector's.
    pub fn from_inventory_figures(figures: &serde_json::Value) -> Option<Vec<ObservedAsset>> {
        let list = figures.get("inventory")?.as_array()?;
        let text = |v: &serde_json::Value, k: &str| v.get(k).and_then(|s| s.as_str()).map(str::to_string);
        Some(
            list.iter()
                .filter_map(|h| {
                    Some(ObservedAsset {
                        address: text(h, "address")?.parse().ok()?,
                        name: text(h, "name"),
                        role: text(h, "role").unwrap_or_default(),
                        vendor: text(h, "vendor"),
                        product_code: text(h, "product_code"),
                        product_name: text(h, "product_name"),
                        revision: text(h, "revision"),
                    })
                })
                .collect(),
        )
    }
}

/// An asset named by the register and/or the network, for the report's lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AssetRef {
    /// The register's name, else the plant's, else none (a capture's unnamed host).
    pub name: Option<String>,
    /// Its address.
    pub address: Ipv4Addr,
    /// The register's zone, when the register has it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// The role passive discovery gave it, for hosts it saw.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

impl fmt::Display for AssetRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(n) => write!(f, "{n} ({})", self.address),
            None => write!(f, "{}", self.address),
        }
    }
}

/// A registered identity field that differs from what the device reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdentityMismatch {
    /// The register's name for the asset.
    pub name: String,
    /// Its address.
    pub address: Ipv4Addr,
    /// `vendor`, `product` or `revision`.
    pub field: &'static str,
    /// The register's value.
    pub registered: String,
    /// What the device reported over FC 43/14.
    pub observed: String,
}

impl fmt::Display for IdentityMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}) {}: registered {:?}, reports {:?}",
            self.name, self.address, self.field, self.registered, self.observed
        )
    }
}

/// The register against passive discovery. Every list is in address order, so the same
/// inputs give the same bytes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// The register file, as named.
    pub file: String,
    /// The inventory detector whose observations were compared.
    pub detector: String,
    /// Rows in the register.
    pub registered: usize,
    /// Registered assets passive discovery heard from.
    pub registered_seen: usize,
    /// `registered_seen` / `registered` in percent; `None` for an empty register.
    pub coverage_percent: Option<f64>,
    /// Registered but never heard: decommissioned and still registered, silent in this
    /// window, or behind no sensor.
    pub not_seen: Vec<AssetRef>,
    /// Heard but not registered: a rogue, an intruder, or a device the register forgot.
    pub not_registered: Vec<AssetRef>,
    /// Registered identity fields that differ from the device's own FC 43/14 answer.
    pub identity_mismatches: Vec<IdentityMismatch>,
    /// Registered assets with a vendor, product or revision that were heard but never
    /// answered a device identification request: their identity is not verified.
    pub identity_unverified: Vec<AssetRef>,
}

impl Comparison {
    /// Discrepancies found: not seen, not registered and identity mismatches.
    pub fn discrepancies(&self) -> usize {
        self.not_seen.len() + self.not_registered.len() + self.identity_mismatches.len()
    }

    /// What the terminal shows: one line of figures, then one line per discrepancy.
    pub fn summary_lines(&self) -> Vec<String> {
        let count = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let mut lines = vec![format!(
            "asset register {}: {} of {} seen ({}), {} not registered, {}, {} unverified",
            self.file,
            self.registered_seen,
            count(self.registered, "registered asset", "registered assets"),
            self.coverage_percent
                .map_or("-".to_string(), |c| format!("{c:.1} %")),
            self.not_registered.len(),
            count(
                self.identity_mismatches.len(),
                "identity mismatch",
                "identity mismatches"
            ),
            self.identity_unverified.len(),
        )];
        lines.extend(
            self.not_seen
                .iter()
                .map(|a| format!("  registered, not seen: {a}")),
        );
        lines.extend(
            self.not_registered
                .iter()
                .map(|a| format!("  seen, not registered: {a}")),
        );
        lines.extend(
            self.identity_mismatches
                .iter()
                .map(|m| format!("  identity: {m}")),
        );
        lines
    }
}

/// Compares `register` with what the inventory detector named `detector` observed.
///
/// Identity fields are compared only where both sides have a value: a register cell left
/// empty or a device that never answered FC 43/14 is not a mismatch (the latter is listed
/// in `identity_unverified`). Values are compared exactly after trimming spaces: `v3.20`
/// and `3.20` differ, as a register that writes them differently cannot be checked by a
/// machine. A registered product matches the reported product code or product name, as
/// registers record either the order code or the marketing name.
pub fn compare(register: &AssetRegister, observed: &[ObservedAsset], detector: &str) -> Comparison {
    let seen: BTreeMap<Ipv4Addr, &ObservedAsset> = observed.iter().map(|o| (o.address, o)).collect();
    let registered: BTreeMap<Ipv4Addr, &RegisteredAsset> =
        register.assets.iter().map(|a| (a.address, a)).collect();
    let reg_ref = |a: &RegisteredAsset, role: Option<String>| AssetRef {
        name: Some(a.name.clone()),
        address: a.address,
        zone: a.zone.clone(),
        role,
    };
    let mut not_seen = Vec::new();
    let mut mismatches = Vec::new();
    let mut unverified = Vec::new();
    for (address, asset) in &registered {
        let Some(o) = seen.get(address) else {
            not_seen.push(reg_ref(asset, None));
            continue;
        };
        let reported = [&o.vendor, &o.product_code, &o.revision];
        let registers_identity =
            asset.vendor.is_some() || asset.product.is_some() || asset.revision.is_some();
        if registers_identity && reported.iter().all(|r| r.is_none()) {
            unverified.push(reg_ref(asset, Some(o.role.clone())));
            continue;
        }
        let fields = [
            ("vendor", &asset.vendor, &o.vendor, None),
            (
                "product",
                &asset.product,
                &o.product_code,
                o.product_name.as_deref(),
            ),
            ("revision", &asset.revision, &o.revision, None),
        ];
        for (field, registered, observed, alias) in fields {
            if let (Some(r), Some(obs)) = (registered, observed)
                && r.trim() != obs.trim()
                && alias.is_none_or(|a| r.trim() != a.trim())
            {
                mismatches.push(IdentityMismatch {
                    name: asset.name.clone(),
                    address: *address,
                    field,
                    registered: r.clone(),
                    observed: obs.clone(),
                });
            }
        }
    }
    let not_registered = seen
        .values()
        .filter(|o| !registered.contains_key(&o.address))
        .map(|o| AssetRef {
            name: o.name.clone(),
            address: o.address,
            zone: None,
            role: Some(o.role.clone()),
        })
        .collect();
    let n = registered.len();
    let registered_seen = n - not_seen.len();
    Comparison {
        file: register.file.display().to_string(),
        detector: detector.to_string(),
        registered: n,
        registered_seen,
        coverage_percent: (n > 0).then(|| 100.0 * registered_seen as f64 / n as f64),
        not_seen,
        not_registered,
        identity_mismatches: mismatches,
        identity_unverified: unverified,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, columns: &Columns) -> Result<AssetRegister, RegisterError> {
        AssetRegister::parse(Path::new("assets.csv"), text, columns)
    }

    const PLANT: &str = "\
name,address,vendor,product,revision,zone
plc-1,10.0.0.1,Schneider Electric,BMX P34 2020,v3.10,control
hmi-1,10.0.0.11,,,,supervisory
old-plc,10.0.0.9,Schneider Electric,BMX P34 2020,v2.70,control
";

    fn observed(address: &str, identity: Option<(&str, &str, &str)>) -> ObservedAsset {
        ObservedAsset {
            address: address.parse().unwrap(),
            name: None,
            role: "modbus-server (plc)".into(),
            vendor: identity.map(|i| i.0.into()),
            product_code: identity.map(|i| i.1.into()),
            product_name: identity.map(|_| "Modicon M340".into()),
            revision: identity.map(|i| i.2.into()),
        }
    }

    #[test]
    fn default_headers() {
        let r = parse(PLANT, &Columns::default()).unwrap();
        assert_eq!(r.assets.len(), 3);
        let plc = &r.assets[0];
        assert_eq!(
            (plc.name.as_str(), plc.address, plc.revision.as_deref(), plc.line),
            ("plc-1", Ipv4Addr::new(10, 0, 0, 1), Some("v3.10"), 2)
        );
        assert_eq!(r.assets[1].vendor, None, "an empty cell is no value");
    }

    #[test]
    fn mapped_headers_any_order_and_case() {
        let text = "\u{feff}Firmware,Hostname,IP Address,Manufacturer,Location\n\
                    3.1, plc-1 ,10.0.0.1,Acme,Hall 2\n";
        let cols =
            Columns::parse(r#"name=Hostname,address="IP Address",revision=firmware,vendor=Manufacturer"#)
                .unwrap();
        let r = parse(text, &cols).unwrap();
        let a = &r.assets[0];
        assert_eq!(a.name, "plc-1", "cells are trimmed");
        assert_eq!(a.address, Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(a.revision.as_deref(), Some("3.1"));
        assert_eq!(a.vendor.as_deref(), Some("Acme"));
        assert_eq!(
            (a.product.as_deref(), a.zone.as_deref()),
            (None, None),
            "unmapped optional columns"
        );
    }

    #[test]
    fn column_map_mistakes() {
        assert!(
            Columns::parse("adress=IP")
                .unwrap_err()
                .contains("unknown column \"adress\"")
        );
        assert!(
            Columns::parse("name")
                .unwrap_err()
                .contains("expected column=Header")
        );
        assert!(
            Columns::parse("name=A,name=B")
                .unwrap_err()
                .contains("mapped twice")
        );
        assert!(Columns::parse("name=").unwrap_err().contains("empty header"));
        // A comma inside quotes belongs to the header.
        let c = Columns::parse(r#"address="IP, v4",name=Host"#).unwrap();
        assert_eq!(
            (c.header(Column::Address), c.header(Column::Name)),
            ("IP, v4", "Host")
        );
    }

    #[test]
    fn bad_address_names_file_line_and_field() {
        // The blank line counts: line numbers are the editor's.
        let text = "name,address\r\nplc-1,10.0.0.1\r\n\r\nplc-2,10.0.0.300\r\n";
        let e = parse(text, &Columns::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"assets.csv:4: address: "10.0.0.300" is not an IPv4 address"#
        );
    }

    #[test]
    fn missing_column_names_the_header_sought_and_found() {
        let e = parse("Hostname,IP\nplc-1,10.0.0.1\n", &Columns::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"assets.csv:1: (header): no column "name" for the asset's name (headers found: "Hostname", "IP"); map it with --asset-columns name=HEADER"#
        );
        // A mapped optional column must exist too.
        let cols = Columns::parse("revision=Firmware").unwrap();
        let e = parse("name,address\nplc-1,10.0.0.1\n", &cols).unwrap_err();
        assert!(
            e.to_string()
                .contains(r#"no column "Firmware" for the asset's revision"#),
            "{e}"
        );
    }

    #[test]
    fn other_record_mistakes() {
        let e = parse("name,address\nplc-1,10.0.0.1\nplc-2\n", &Columns::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "assets.csv:3: (record): 1 field where the header has 2"
        );
        let e = parse(
            "name,address\nplc-1,10.0.0.1\nplc-2,10.0.0.1\n",
            &Columns::default(),
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("assets.csv:3: address: 10.0.0.1 is registered twice (also on line 2)"),
            "{e}"
        );
        let e = parse("name,address\n,10.0.0.1\n", &Columns::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "assets.csv:2: name: empty: every asset needs a name"
        );
        let e = AssetRegister::load(Path::new("/nonexistent/assets.csv"), &Columns::default()).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("/nonexistent/assets.csv: (file): cannot read asset register"),
            "{e}"
        );
    }

    #[test]
    fn comparison_finds_each_kind_of_discrepancy_in_address_order() {
        let r = parse(PLANT, &Columns::default()).unwrap();
        let seen = [
            observed("10.0.0.66", None),
            observed("10.0.0.11", None),
            observed("10.0.0.1", Some(("Schneider Electric", "BMX P34 2020", "v3.20"))),
            observed("10.0.0.5", None),
        ];
        let c = compare(&r, &seen, "inv");
        assert_eq!((c.registered, c.registered_seen), (3, 2));
        assert!((c.coverage_percent.unwrap() - 66.666).abs() < 0.01);
        let names = |v: &[AssetRef]| v.iter().map(ToString::to_string).collect::<Vec<_>>();
        assert_eq!(names(&c.not_seen), ["old-plc (10.0.0.9)"]);
        assert_eq!(names(&c.not_registered), ["10.0.0.5", "10.0.0.66"]);
        assert_eq!(
            c.identity_mismatches
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            [r#"plc-1 (10.0.0.1) revision: registered "v3.10", reports "v3.20""#]
        );
        assert!(c.identity_unverified.is_empty(), "hmi-1 registers no identity");
        assert_eq!(c.discrepancies(), 4);
        assert!(c.summary_lines()[0].starts_with("asset register assets.csv: 2 of 3 registered assets seen (66.7 %), 2 not registered, 1 identity mismatch, 0 unverified"));
    }

    #[test]
    fn product_matches_code_or_name_and_silence_is_unverified() {
        let text =
            "name,address,vendor,product,revision\nplc-1,10.0.0.1,Schneider Electric,Modicon M340,v3.20\n";
        let r = parse(text, &Columns::default()).unwrap();
        let ok = [observed(
            "10.0.0.1",
            Some(("Schneider Electric", "BMX P34 2020", "v3.20")),
        )];
        assert!(compare(&r, &ok, "inv").identity_mismatches.is_empty());
        let silent = [observed("10.0.0.1", None)];
        let c = compare(&r, &silent, "inv");
        assert!(c.identity_mismatches.is_empty());
        assert_eq!(c.identity_unverified.len(), 1);
    }

    #[test]
    fn observed_from_inventory_figures() {
        let figures = serde_json::json!({"inventory": [
            {"address": "10.0.0.1", "name": "plc-1", "role": "modbus-server (plc)",
             "vendor": "Acme", "product_code": "X1", "revision": "1.0", "product_name": null},
            {"address": "10.0.0.2", "name": null, "role": "it-host"},
        ]});
        let o = ObservedAsset::from_inventory_figures(&figures).unwrap();
        assert_eq!(o.len(), 2);
        assert_eq!(
            (o[0].name.as_deref(), o[0].revision.as_deref()),
            (Some("plc-1"), Some("1.0"))
        );
        assert_eq!((o[1].name.as_deref(), o[1].vendor.as_deref()), (None, None));
        assert!(ObservedAsset::from_inventory_figures(&serde_json::json!({"alerts": 0})).is_none());
    }
}
