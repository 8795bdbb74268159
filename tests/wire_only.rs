//! Modbus bytes are interpreted in one place, `sim/src/wire/`: a change to what counts as a
//! valid ADU must be one edit. This test fails when header parsing creeps back elsewhere
//! (a private big-endian helper, an index into an ADU, modbus-core's MBAP codec).

use std::path::{Path, PathBuf};

/// What header parsing outside the wire layer looks like, and why it is refused.
const FORBIDDEN: [(&str, &str); 8] = [
    (
        "fn be16",
        "a private big-endian reader: use Adu::data_u16 or wire::modbus::be_u16",
    ),
    (
        "fn be_u16",
        "a private big-endian reader: use Adu::data_u16 or wire::modbus::be_u16",
    ),
    ("fn first_adu", "ADU framing: use Adu::first_in"),
    ("fn parse_adu", "ADU checks: use Adu::new_checked"),
    ("modbus_core::tcp", "the MBAP codec: use wire::modbus"),
    ("adu[", "an index into an ADU: use the Adu view's accessors"),
    (".get(6)", "the unit id by offset: use Adu::unit_id"),
    (".get(7)", "the function code by offset: use Adu::function"),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn modbus_header_parsing_lives_in_the_wire_module_only() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let wire = root.join("sim/src/wire");
    let mut files = Vec::new();
    for dir in ["sim/src", "attacks/src", "defenses/src", "src"] {
        rust_files(&root.join(dir), &mut files);
    }
    files.sort();
    assert!(files.len() > 50, "found only {} source files", files.len());
    let mut found = Vec::new();
    for file in files.iter().filter(|f| !f.starts_with(&wire)) {
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            for (pattern, why) in FORBIDDEN {
                if line.contains(pattern) {
                    let rel = file.strip_prefix(root).unwrap().display();
                    found.push(format!("{rel}:{}: `{pattern}`: {why}", n + 1));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "Modbus bytes read outside sim/src/wire:\n{}",
        found.join("\n")
    );
}

/// The check above would see a violation: it is not vacuous.
#[test]
fn the_wire_module_itself_matches_the_patterns() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("sim/src/wire/modbus/adu.rs")).unwrap();
    assert!(text.contains("fn be_u16"));
}
