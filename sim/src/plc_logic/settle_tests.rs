//! A scan that would change nothing is skipped ([`PlcProgram::scan`]): what a user must
//! never see is a skipped scan that would have changed something.

use crate::devices::modbus::map::RegisterMap;
use crate::plc_logic::{Area, PlcLogicConfig, PlcMemory, PlcProgram};
use std::cell::Cell;

const IR: Area = Area::InputRegister;
const CO: Area = Area::Coil;

/// A PLC's register map that counts the program's reads: a skipped scan reads nothing.
struct Counted {
    map: RegisterMap,
    reads: Cell<u32>,
}

impl PlcMemory for Counted {
    fn get(&self, area: Area, addr: u16) -> Option<u16> {
        self.reads.set(self.reads.get() + 1);
        self.map.get(area, addr)
    }
    fn set(&mut self, area: Area, addr: u16, v: u16) -> bool {
        self.map.set(area, addr, v)
    }
    fn len(&self, area: Area) -> u16 {
        PlcMemory::len(&self.map, area)
    }
    fn changes(&self) -> Option<u64> {
        PlcMemory::changes(&self.map)
    }
}

fn memory() -> Counted {
    Counted {
        map: RegisterMap::new(8, 8, 8, 8),
        reads: Cell::new(0),
    }
}

fn build(src: &str, m: &Counted) -> PlcProgram {
    let cfg = PlcLogicConfig::from_toml_str(src).unwrap();
    PlcProgram::from_config(&cfg, m).unwrap()
}

/// Runs one scan (period 0.1 s) and returns how many values the program read.
fn scan(p: &mut PlcProgram, m: &mut Counted) -> u32 {
    m.reads.set(0);
    p.scan(m, 0.1, &mut Vec::new());
    m.reads.get()
}

const FILL: &str = r#"
[[plc.program]]
type = "onoff"
pv = "ir:0"
out = "co:0"
on_below = 100
off_above = 200
"#;

#[test]
fn an_onoff_loop_on_an_unchanged_input_is_skipped_and_wakes_on_a_change() {
    let mut m = memory();
    let mut p = build(FILL, &m);
    m.map.set(IR, 0, 150);
    assert!(scan(&mut p, &mut m) > 0, "the first scan runs");
    assert!(scan(&mut p, &mut m) == 0, "nothing changed: skipped");
    m.map.set(IR, 0, 150); // the same value written again: no change
    assert_eq!(scan(&mut p, &mut m), 0);
    m.map.set(IR, 0, 99);
    assert!(scan(&mut p, &mut m) > 0, "the level fell below 100");
    assert_eq!(m.map.get(CO, 0), Some(1), "the pump starts");
    // The run that started the pump changed a value: the next one runs, then settles.
    assert!(scan(&mut p, &mut m) > 0);
    assert_eq!(scan(&mut p, &mut m), 0);
    m.map.set(IR, 0, 150);
    assert!(scan(&mut p, &mut m) > 0);
    assert_eq!(m.map.get(CO, 0), Some(1), "in the band the pump keeps running");
}

#[test]
fn a_client_writing_the_output_wakes_the_program_which_writes_it_back() {
    let mut m = memory();
    let mut p = build(FILL, &m);
    m.map.set(IR, 0, 50);
    scan(&mut p, &mut m);
    scan(&mut p, &mut m);
    assert_eq!(scan(&mut p, &mut m), 0, "settled with the pump on");
    // A Modbus client (an attacker's FC 5) stops the pump.
    assert_eq!(m.map.write_coils(0, &[false]), Ok(true));
    assert!(scan(&mut p, &mut m) > 0);
    assert_eq!(m.map.get(CO, 0), Some(1), "the controller holds its state");
}

#[test]
fn a_program_that_reads_the_scan_period_runs_every_scan() {
    let src = r#"
[[plc.program]]
type = "timer"
when = { operand = "ir:0", equals = 1 }
preset_s = 0.3
out = "co:1"
"#;
    let mut m = memory();
    let mut p = build(src, &m);
    m.map.set(IR, 0, 1);
    for _ in 0..3 {
        assert!(
            scan(&mut p, &mut m) > 0,
            "a timer counts scans on unchanged memory"
        );
    }
    assert_eq!(m.map.get(CO, 1), Some(1), "and its output comes on after 0.3 s");
}

#[test]
fn a_chain_of_blocks_settles_only_once_every_block_agrees() {
    // The scale reads what the on/off block writes later in the scan: two scans to settle.
    let src = r#"
[[plc.program]]
type = "scale"
in = "co:0"
gain = 7
out = "hr:0"

[[plc.program]]
type = "onoff"
pv = "ir:0"
out = "co:0"
on_below = 100
off_above = 200
"#;
    let mut m = memory();
    let mut p = build(src, &m);
    m.map.set(IR, 0, 50);
    assert!(scan(&mut p, &mut m) > 0); // the pump starts, the scale saw it off
    assert_eq!(m.map.get(Area::HoldingRegister, 0), Some(0));
    assert!(scan(&mut p, &mut m) > 0, "the last scan changed the coil");
    assert_eq!(m.map.get(Area::HoldingRegister, 0), Some(7));
    assert!(scan(&mut p, &mut m) > 0, "the last scan changed the register");
    assert_eq!(scan(&mut p, &mut m), 0);
}

#[test]
fn a_restart_runs_the_program_again() {
    let mut m = memory();
    let mut p = build(FILL, &m);
    m.map.set(IR, 0, 150);
    scan(&mut p, &mut m);
    assert_eq!(scan(&mut p, &mut m), 0);
    p.apply_safe_state(&mut m); // no safe outputs: nothing written
    assert!(scan(&mut p, &mut m) > 0, "the restart re-reads the held state");
}

#[test]
fn a_memory_without_a_change_count_runs_every_scan() {
    let mut m = crate::plc_logic::VecMemory::new(8, 8, 8, 8);
    let cfg = PlcLogicConfig::from_toml_str(FILL).unwrap();
    let mut p = PlcProgram::from_config(&cfg, &m).unwrap();
    m.input_registers[0] = 50;
    p.scan(&mut m, 0.1, &mut Vec::new());
    p.scan(&mut m, 0.1, &mut Vec::new());
    m.coils[0] = 0; // a direct write the memory cannot count
    p.scan(&mut m, 0.1, &mut Vec::new());
    assert_eq!(m.coils[0], 1);
}

#[test]
fn an_alarm_runs_while_its_delay_runs_and_settles_once_raised() {
    let src = r#"
[[plc.program]]
type = "alarm"
name = "level high"
pv = "ir:0"
high = 200
delay_s = 0.3
out = "co:2"
"#;
    let mut m = memory();
    let mut p = build(src, &m);
    m.map.set(IR, 0, 150);
    scan(&mut p, &mut m);
    assert_eq!(scan(&mut p, &mut m), 0, "below the limit: settled");
    m.map.set(IR, 0, 250);
    let mut raised = Vec::new();
    for k in 0..3 {
        m.reads.set(0);
        let mut events = Vec::new();
        p.scan(&mut m, 0.1, &mut events);
        assert!(m.reads.get() > 0, "scan {k}: the delay runs on unchanged memory");
        raised.extend(events);
    }
    assert_eq!(raised.len(), 1, "raised once the level held 0.3 s");
    assert_eq!(m.map.get(CO, 2), Some(1));
    assert!(
        scan(&mut p, &mut m) > 0,
        "the scan that raised it changed the coil"
    );
    assert_eq!(scan(&mut p, &mut m), 0, "raised and steady: settled");
}
