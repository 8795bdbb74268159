//! Behavioural tests of compiled programs. Expected values are computed by
//! hand in the comments.

use crate::base::config_error::ConfigError;
use crate::plc_logic::{
    AlarmKind, AlarmTransition, Area, OperatingMode, PlcLogicConfig, PlcMemory, PlcProgram, VecMemory,
};

fn mem() -> VecMemory {
    VecMemory::new(16, 16, 16, 16)
}

fn build(src: &str, mem: &VecMemory) -> PlcProgram {
    let cfg = PlcLogicConfig::from_toml_str(src).unwrap();
    PlcProgram::from_config(&cfg, mem).unwrap()
}

fn compile_err(src: &str, mem: &VecMemory) -> ConfigError {
    let cfg = PlcLogicConfig::from_toml_str(src).unwrap();
    PlcProgram::from_config(&cfg, mem).unwrap_err()
}

/// Set `area:addr`, run one scan, return the events.
fn scan(p: &mut PlcProgram, m: &mut VecMemory, dt: f64) -> Vec<AlarmTransition> {
    let mut ev = Vec::new();
    p.scan(m, dt, &mut ev);
    ev
}

fn get(m: &VecMemory, area: Area, addr: u16) -> u16 {
    m.get(area, addr).unwrap()
}

const IR: Area = Area::InputRegister;
const HR: Area = Area::HoldingRegister;
const CO: Area = Area::Coil;
const DI: Area = Area::DiscreteInput;

// ---------------------------------------------------------------- onoff

const FILL: &str = r#"
[[plc.program]]
type = "onoff"
pv = "ir:0"
out = "co:0"
on_below = 20
off_above = 80
"#;

#[test]
fn onoff_fill_cycle_holds_between_thresholds() {
    let mut m = mem();
    let mut p = build(FILL, &m);
    assert_eq!(p.block_count(), 1);
    // (pv, expected pump): starts off, stays off in band; strict comparisons.
    let steps = [
        (50, 0), // in band, initial output 0 held
        (20, 0), // 20 is not < 20
        (19, 1), // below on threshold -> on
        (50, 1), // in band -> hold on
        (80, 1), // 80 is not > 80 -> still on
        (81, 0), // above off threshold -> off
        (50, 0), // in band -> hold off
        (5, 1),
    ];
    for (i, (pv, want)) in steps.into_iter().enumerate() {
        m.set(IR, 0, pv);
        scan(&mut p, &mut m, 0.1);
        assert_eq!(get(&m, CO, 0), want, "step {i}: pv {pv}");
    }
}

#[test]
fn onoff_starts_from_current_output() {
    let mut m = mem();
    let mut p = build(FILL, &m);
    m.set(CO, 0, 1); // pump already running before the program starts
    m.set(IR, 0, 50);
    scan(&mut p, &mut m, 0.1);
    assert_eq!(
        get(&m, CO, 0),
        1,
        "a restart in the band must not toggle the pump"
    );
}

#[test]
fn onoff_drain_variant() {
    let src = r#"
[[plc.program]]
type = "onoff"
pv = "ir:0"
out = "co:1"
on_above = 80
off_below = 20
"#;
    let mut m = mem();
    let mut p = build(src, &m);
    for (pv, want) in [(50, 0), (81, 1), (50, 1), (20, 1), (19, 0), (50, 0)] {
        m.set(IR, 0, pv);
        scan(&mut p, &mut m, 0.1);
        assert_eq!(get(&m, CO, 1), want, "pv {pv}");
    }
}

#[test]
fn onoff_setpoints_in_holding_registers_take_effect_mid_run() {
    let src = r#"
[[plc.program]]
type = "onoff"
pv = "ir:0"
out = "co:0"
on_below = "hr:0"
off_above = "hr:1"
"#;
    let mut m = mem();
    let mut p = build(src, &m);
    m.set(HR, 0, 20);
    m.set(HR, 1, 80);
    m.set(IR, 0, 30);
    scan(&mut p, &mut m, 0.1);
    assert_eq!(get(&m, CO, 0), 0); // 30 in band 20..80
    m.set(HR, 0, 40); // HMI raises the low level: 30 < 40 -> on
    scan(&mut p, &mut m, 0.1);
    assert_eq!(get(&m, CO, 0), 1);
    m.set(HR, 1, 25); // HMI (or attacker) lowers high level: 30 > 25 -> off
    // Thresholds now overlap (on_below 40 > off_above 25): off wins.
    scan(&mut p, &mut m, 0.1);
    assert_eq!(get(&m, CO, 0), 0);
}

#[test]
fn onoff_constant_thresholds_in_wrong_order_rejected() {
    let src = FILL.replace("on_below = 20", "on_below = 90");
    let e = compile_err(&src, &mem());
    assert_eq!(e.field, "program[0].on_below");
    assert_eq!(&src[e.span.clone().unwrap()], "90");
    assert!(e.message.contains("on_below <= off_above"), "{}", e.message);
}

// ---------------------------------------------------------------- pid

fn pid_src(extra: &str) -> String {
    format!(
        r#"
[[plc.program]]
type = "pid"
pv = "ir:0"
sp = "hr:0"
out = "hr:10"
out_min = 0
out_max = 1000
{extra}
"#
    )
}

#[test]
fn pid_proportional_only_is_exactly_kp_times_error() {
    let mut m = mem();
    let mut p = build(&pid_src("kp = 2.0"), &m);
    m.set(HR, 10, 777); // ki = 0: no bumpless preload, output is kp*e at once
    m.set(HR, 0, 500);
    m.set(IR, 0, 400);
    scan(&mut p, &mut m, 0.1);
    assert_eq!(get(&m, HR, 10), 200); // 2 * (500 - 400)
    m.set(IR, 0, 450);
    scan(&mut p, &mut m, 0.1);
    assert_eq!(get(&m, HR, 10), 100); // 2 * 50, no integral offset
    m.set(IR, 0, 550);
    scan(&mut p, &mut m, 0.1);
    assert_eq!(get(&m, HR, 10), 0); // 2 * -50 = -100 clamped to out_min
    m.set(IR, 0, 499);
    scan(&mut p, &mut m, 0.1);
    assert_eq!(get(&m, HR, 10), 2);

    let mut m = mem();
    let mut p = build(&pid_src("kp = 0.5"), &m);
    m.set(HR, 0, 500);
    m.set(IR, 0, 497);
    scan(&mut p, &mut m, 0.1);
    assert_eq!(get(&m, HR, 10), 2); // 0.5 * 3 = 1.5 rounds to 2
}

#[test]
fn pid_reverse_acting() {
    let mut m = mem();
    let mut p = build(&pid_src("kp = 2.0\nreverse = true"), &m);
    m.set(HR, 0, 500);
    m.set(IR, 0, 600);
    scan(&mut p, &mut m, 0.1);
    assert_eq!(get(&m, HR, 10), 200); // e = pv - sp = 100, 2 * 100
    m.set(IR, 0, 400);
    scan(&mut p, &mut m, 0.1);
    assert_eq!(get(&m, HR, 10), 0); // e = -100 -> clamped at 0
}

#[test]
fn pid_integral_accumulates_ki_e_dt_per_scan_with_bumpless_start() {
    let mut m = mem();
    let mut p = build(&pid_src("kp = 1.0\nki = 0.5"), &m);
    m.set(HR, 0, 500);
    m.set(IR, 0, 400);
    m.set(HR, 10, 300); // output left by a previous mode
    // Scan 1 (bumpless): P = 100, I preloaded to 300 - 100 = 200 -> out 300.
    scan(&mut p, &mut m, 0.1);
    assert_eq!(get(&m, HR, 10), 300);
    // Each later scan: I += 0.5 * 100 * 0.1 = 5.
    for n in 1..=10u16 {
        scan(&mut p, &mut m, 0.1);
        assert_eq!(get(&m, HR, 10), 300 + 5 * n, "scan {n}");
    }
    // dt = 0 freezes the integral.
    scan(&mut p, &mut m, 0.0);
    assert_eq!(get(&m, HR, 10), 350);
}

#[test]
fn pid_anti_windup_holds_integral_while_saturated_and_recovers_at_once() {
    let src = r#"
[[plc.program]]
type = "pid"
pv = "ir:0"
sp = "hr:0"
out = "hr:10"
kp = 1
ki = 1
out_max = 150
"#;
    let mut m = mem();
    let mut p = build(src, &m);
    m.set(HR, 0, 100);
    m.set(IR, 0, 0);
    // Scan 1: P = 100, I = 0 - 100 = -100 (bumpless from 0) -> out 0.
    scan(&mut p, &mut m, 1.0);
    assert_eq!(get(&m, HR, 10), 0);
    // Scan 2: step 100 -> I = 0 -> out 100.
    scan(&mut p, &mut m, 1.0);
    assert_eq!(get(&m, HR, 10), 100);
    // Scan 3: I + 100 = 100 would give 200 > 150: integrate only to 50.
    scan(&mut p, &mut m, 1.0);
    assert_eq!(get(&m, HR, 10), 150);
    // 50 more saturated scans: without anti-windup I would reach 5050.
    for _ in 0..50 {
        scan(&mut p, &mut m, 1.0);
        assert_eq!(get(&m, HR, 10), 150);
    }
    // pv reaches sp: e = 0, P = 0 -> out = I = 50 exactly (did not grow).
    m.set(IR, 0, 100);
    scan(&mut p, &mut m, 1.0);
    assert_eq!(get(&m, HR, 10), 50);
    // Overshoot: e = -20, P = -20, I = 50 - 20 = 30 -> out 10 on this scan.
    m.set(IR, 0, 120);
    scan(&mut p, &mut m, 1.0);
    assert_eq!(get(&m, HR, 10), 10);
}

#[test]
fn pid_saturated_low_does_not_wind_down() {
    let mut m = mem();
    let mut p = build(&pid_src("kp = 1\nki = 1"), &m);
    m.set(HR, 0, 100);
    m.set(IR, 0, 100);
    scan(&mut p, &mut m, 1.0); // e = 0, I = 0 -> out 0
    m.set(IR, 0, 200); // e = -100 for many scans, output pinned at 0
    for _ in 0..100 {
        scan(&mut p, &mut m, 1.0);
        assert_eq!(get(&m, HR, 10), 0);
    }
    // Each of those scans: P = -100, step = -100, next I = -100 is below the
    // room 0 - (-100) = 100, so I = min(0, 100) = 0: it never winds down.
    // Back at e = 0 the output is I = 0 (a wound-down I would give 0 too but
    // would then hold the output at 0 below).
    m.set(IR, 0, 100);
    scan(&mut p, &mut m, 1.0);
    assert_eq!(get(&m, HR, 10), 0);
    // e = +10: P = 10, I = 0 + 10 = 10 -> 20, responds immediately
    // (with windup I would be about -10000 and the output stuck at 0).
    m.set(IR, 0, 90);
    scan(&mut p, &mut m, 1.0);
    assert_eq!(get(&m, HR, 10), 20);
}

#[test]
fn pid_derivative_on_measurement_has_no_setpoint_kick() {
    let mut m = mem();
    let mut p = build(&pid_src("kp = 0\nkd = 1"), &m);
    m.set(IR, 0, 100);
    scan(&mut p, &mut m, 1.0); // first scan: no previous pv, D = 0
    assert_eq!(get(&m, HR, 10), 0);
    m.set(HR, 0, 500); // setpoint step: derivative of pv is 0 -> no kick
    scan(&mut p, &mut m, 1.0);
    assert_eq!(get(&m, HR, 10), 0);
    m.set(IR, 0, 90); // pv falls 10 in 1 s: D = -1 * (-10) = +10
    scan(&mut p, &mut m, 1.0);
    assert_eq!(get(&m, HR, 10), 10);
}

#[test]
fn pid_closed_loop_first_order_plant_converges() {
    // Plant: tank level y (raw counts) with pump command u: dy/dt = (u - y) / tau,
    // tau = 5 s, gain 1. The PLC sees round(y) in ir:0 and drives hr:10.
    let src = r#"
[[plc.program]]
type = "pid"
pv = "ir:0"
sp = "hr:0"
out = "hr:10"
kp = 0.8
ki = 0.3
kd = 0.2
out_max = 1000
"#;
    let mut m = mem();
    let mut p = build(src, &m);
    m.set(HR, 0, 600);
    let (dt, tau) = (0.1, 5.0);
    let mut y: f64 = 0.0;
    for _ in 0..3000 {
        m.set(IR, 0, y.round() as u16);
        scan(&mut p, &mut m, dt);
        let u = f64::from(get(&m, HR, 10));
        y += dt * (u - y) / tau;
    }
    assert!((y - 600.0).abs() < 1.5, "level {y} did not settle at 600");
    // Steady state needs u = y ~ 600.
    let u = get(&m, HR, 10);
    assert!((598..=602).contains(&u), "output {u}");
    // Setpoint change via HMI register is followed too.
    m.set(HR, 0, 300);
    for _ in 0..3000 {
        m.set(IR, 0, y.round() as u16);
        scan(&mut p, &mut m, dt);
        y += dt * (f64::from(get(&m, HR, 10)) - y) / tau;
    }
    assert!((y - 300.0).abs() < 1.5, "level {y} did not settle at 300");
}

// ---------------------------------------------------------------- interlock

#[test]
fn interlock_overrides_onoff_and_latches_until_reset() {
    let src = format!(
        r#"{FILL}
[[plc.program]]
type = "interlock"
name = "high-high level switch"
when = {{ operand = "di:0", equals = 1 }}
out = "co:0"
value = 0
latch = true
reset = "co:9"
"#
    );
    let mut m = mem();
    let mut p = build(&src, &m);
    m.set(IR, 0, 10);
    scan(&mut p, &mut m, 0.1);
    assert_eq!(get(&m, CO, 0), 1, "onoff fills");
    m.set(DI, 0, 1); // switch trips: same scan the onoff writes 1, interlock forces 0
    scan(&mut p, &mut m, 0.1);
    assert_eq!(get(&m, CO, 0), 0);
    m.set(DI, 0, 0); // cause gone, no reset: stays latched
    for _ in 0..5 {
        scan(&mut p, &mut m, 0.1);
        assert_eq!(get(&m, CO, 0), 0);
    }
    m.set(DI, 0, 1); // reset while the cause is present is ignored
    m.set(CO, 9, 1);
    scan(&mut p, &mut m, 0.1);
    assert_eq!(get(&m, CO, 0), 0);
    m.set(CO, 9, 0);
    m.set(DI, 0, 0);
    scan(&mut p, &mut m, 0.1);
    assert_eq!(get(&m, CO, 0), 0, "still latched");
    m.set(CO, 9, 1); // reset with cause gone: released, onoff output stands
    scan(&mut p, &mut m, 0.1);
    assert_eq!(get(&m, CO, 0), 1);
    m.set(CO, 9, 0);
    scan(&mut p, &mut m, 0.1);
    assert_eq!(get(&m, CO, 0), 1);
}

#[test]
fn interlock_non_latching_with_any_all_conditions_and_value_operand() {
    let src = r#"
[[plc.program]]
type = "move"
in = "hr:0"
out = "hr:10"

[[plc.program]]
type = "interlock"
when = { any = [
    { operand = "ir:0", above = 90 },
    { all = [ { operand = "co:2", equals = 1 }, { operand = "ir:1", below = 5 } ] },
] }
out = "hr:10"
value = "hr:1"
"#;
    let mut m = mem();
    let mut p = build(src, &m);
    m.set(HR, 0, 700);
    m.set(HR, 1, 123);
    m.set(IR, 1, 50);
    scan(&mut p, &mut m, 0.1);
    assert_eq!(get(&m, HR, 10), 700, "no cause: move's value stands");
    m.set(IR, 0, 91);
    scan(&mut p, &mut m, 0.1);
    assert_eq!(get(&m, HR, 10), 123, "first branch");
    m.set(IR, 0, 90);
    scan(&mut p, &mut m, 0.1);
    assert_eq!(get(&m, HR, 10), 700, "not latching");
    m.set(CO, 2, 1);
    scan(&mut p, &mut m, 0.1);
    assert_eq!(get(&m, HR, 10), 700, "all: only one of two true");
    m.set(IR, 1, 4);
    scan(&mut p, &mut m, 0.1);
    assert_eq!(get(&m, HR, 10), 123, "all: both true");
}

// ---------------------------------------------------------------- alarm

const ALARM: &str = r#"
[[plc.program]]
type = "alarm"
name = "LT101"
pv = "ir:0"
high = 80
low = 20
deadband = 5
delay_s = 1.0
out = "co:5"
"#;

#[test]
fn alarm_raises_after_delay_clears_with_deadband_reports_once() {
    let mut m = mem();
    let mut p = build(ALARM, &m);
    m.set(IR, 0, 50);
    assert!(scan(&mut p, &mut m, 0.25).is_empty());
    m.set(IR, 0, 85);
    // delay 1.0 s at 0.25 s per scan: raised on the 4th scan above 80.
    for _ in 0..3 {
        assert!(scan(&mut p, &mut m, 0.25).is_empty());
        assert_eq!(get(&m, CO, 5), 0);
    }
    let ev = scan(&mut p, &mut m, 0.25);
    assert_eq!(
        ev,
        vec![AlarmTransition {
            name: "LT101".into(),
            kind: AlarmKind::High,
            raised: true,
            value: 85.0,
            threshold: 80.0
        }]
    );
    assert_eq!(get(&m, CO, 5), 1);
    assert_eq!(p.active_alarms(), vec![("LT101", AlarmKind::High)]);
    assert!(scan(&mut p, &mut m, 0.25).is_empty(), "reported once");
    m.set(IR, 0, 76); // below limit but inside deadband (clear at <= 75)
    assert!(scan(&mut p, &mut m, 0.25).is_empty());
    assert_eq!(get(&m, CO, 5), 1);
    m.set(IR, 0, 75);
    let ev = scan(&mut p, &mut m, 0.25);
    assert_eq!(ev.len(), 1);
    assert!(!ev[0].raised);
    assert_eq!((ev[0].value, ev[0].threshold), (75.0, 80.0));
    assert_eq!(get(&m, CO, 5), 0);
    assert!(scan(&mut p, &mut m, 0.25).is_empty(), "cleared reported once");
    assert!(p.active_alarms().is_empty());
}

#[test]
fn alarm_delay_restarts_when_condition_drops() {
    let mut m = mem();
    let mut p = build(ALARM, &m);
    m.set(IR, 0, 85);
    for _ in 0..3 {
        assert!(scan(&mut p, &mut m, 0.25).is_empty());
    }
    m.set(IR, 0, 80); // not > 80: pending time resets
    assert!(scan(&mut p, &mut m, 0.25).is_empty());
    m.set(IR, 0, 85);
    for _ in 0..3 {
        assert!(scan(&mut p, &mut m, 0.25).is_empty());
    }
    assert_eq!(scan(&mut p, &mut m, 0.25).len(), 1);
}

#[test]
fn alarm_low_limit() {
    let mut m = mem();
    let mut p = build(&ALARM.replace("delay_s = 1.0", "delay_s = 0"), &m);
    m.set(IR, 0, 19);
    let ev = scan(&mut p, &mut m, 0.25);
    assert_eq!(ev.len(), 1);
    assert_eq!(
        (ev[0].kind, ev[0].raised, ev[0].threshold),
        (AlarmKind::Low, true, 20.0)
    );
    m.set(IR, 0, 24); // clear at >= 25
    assert!(scan(&mut p, &mut m, 0.25).is_empty());
    m.set(IR, 0, 25);
    let ev = scan(&mut p, &mut m, 0.25);
    assert_eq!((ev[0].kind, ev[0].raised), (AlarmKind::Low, false));
}

// ---------------------------------------------------------------- scale / timer

#[test]
fn scale_and_move() {
    let src = r#"
[[plc.program]]
type = "scale"
in = "hr:3"
out = "hr:11"
gain = 40
offset = 100

[[plc.program]]
type = "scale"
in = "hr:11"
out = "ir:2"
gain = 0.5
offset = -3000

[[plc.program]]
type = "move"
in = "hr:11"
out = "ir:3"
"#;
    let mut m = mem();
    let mut p = build(src, &m);
    m.set(HR, 3, 50);
    scan(&mut p, &mut m, 0.1);
    assert_eq!(get(&m, HR, 11), 2100); // 50 * 40 + 100
    assert_eq!(get(&m, IR, 2), 0); // 2100 * 0.5 - 3000 < 0 -> clamped
    assert_eq!(get(&m, IR, 3), 2100); // later block sees earlier write
    m.set(HR, 3, 2000);
    scan(&mut p, &mut m, 0.1);
    assert_eq!(get(&m, HR, 11), 65535); // 80100 clamped
}

#[test]
fn timers_on_and_off_delay() {
    let src = r#"
[[plc.program]]
type = "timer"
when = { operand = "co:0", equals = 1 }
preset_s = 0.3
out = "co:1"

[[plc.program]]
type = "timer"
kind = "off_delay"
when = { operand = "co:0", equals = 1 }
preset_s = 0.2
out = "co:2"
"#;
    let mut m = mem();
    let mut p = build(src, &m);
    m.set(CO, 0, 1);
    let mut on = Vec::new();
    for _ in 0..4 {
        scan(&mut p, &mut m, 0.1);
        on.push((get(&m, CO, 1), get(&m, CO, 2)));
    }
    // TON turns on at 3 x 0.1 s = 0.3 s; TOF follows the input at once.
    assert_eq!(on, vec![(0, 1), (0, 1), (1, 1), (1, 1)]);
    m.set(CO, 0, 0);
    let mut off = Vec::new();
    for _ in 0..3 {
        scan(&mut p, &mut m, 0.1);
        off.push((get(&m, CO, 1), get(&m, CO, 2)));
    }
    // TON drops at once; TOF holds for 0.2 s (off after the 2nd scan).
    assert_eq!(off, vec![(0, 1), (0, 0), (0, 0)]);
}

// ---------------------------------------------------------------- math

fn math_src(op: &str, ins: &str) -> String {
    format!("[[plc.program]]\ntype = \"math\"\nop = \"{op}\"\nin = {ins}\nout = \"hr:10\"\n")
}

/// Compile `src`, run one scan, return `hr:10`.
fn math_once(src: &str, m: &mut VecMemory) -> u16 {
    let mut p = build(src, m);
    scan(&mut p, m, 0.1);
    get(m, HR, 10)
}

#[test]
fn math_each_op_by_hand() {
    let mut m = mem();
    m.set(IR, 0, 1000);
    m.set(HR, 3, 4);
    let ins = r#"["ir:0", "hr:3", 10]"#;
    for (op, want) in [
        ("add", 1014),  // 1000 + 4 + 10
        ("sub", 986),   // 1000 - 4 - 10 (folds left)
        ("mul", 40000), // 1000 * 4 * 10
        ("div", 25),    // 1000 / 4 / 10 (folds left)
        ("min", 4),
        ("max", 1000),
    ] {
        assert_eq!(math_once(&math_src(op, ins), &mut m), want, "{op}");
    }
    // min/max find the extreme wherever it is in the list; numeric strings
    // are constants like bare numbers.
    let ins = r#"["hr:3", "2.5", "ir:0"]"#;
    assert_eq!(math_once(&math_src("min", ins), &mut m), 3); // 2.5 rounds to 3
    assert_eq!(math_once(&math_src("max", ins), &mut m), 1000);
    let ins = r#"[500, "ir:0", 20]"#;
    assert_eq!(math_once(&math_src("max", ins), &mut m), 1000);
    assert_eq!(math_once(&math_src("min", ins), &mut m), 20);
    // Rounding of a fractional quotient: 1000 / 3 = 333.3.
    assert_eq!(math_once(&math_src("div", r#"["ir:0", 3]"#), &mut m), 333);
    // Only the result is clamped: 10 - 20 - (-15) = 5, not 0 - (-15).
    assert_eq!(math_once(&math_src("sub", "[10, 20, -15]"), &mut m), 5);
}

#[test]
fn math_clamps_on_write() {
    let mut m = mem();
    m.set(IR, 0, 1000);
    assert_eq!(math_once(&math_src("sub", r#"[10, "ir:0"]"#), &mut m), 0); // -990
    assert_eq!(math_once(&math_src("mul", r#"["ir:0", "ir:0"]"#), &mut m), 65535); // 1e6
    assert_eq!(math_once(&math_src("add", "[65000, 600]"), &mut m), 65535);
}

#[test]
fn math_div_by_zero_holds_the_previous_output() {
    let mut m = mem();
    let mut p = build(&math_src("div", r#"["ir:0", "hr:3"]"#), &m);
    m.set(IR, 0, 1000);
    m.set(HR, 3, 4);
    scan(&mut p, &mut m, 0.1);
    assert_eq!(get(&m, HR, 10), 250);
    m.set(HR, 3, 0); // math fault: nothing written
    for _ in 0..3 {
        scan(&mut p, &mut m, 0.1);
        assert_eq!(get(&m, HR, 10), 250);
    }
    m.set(HR, 3, 5);
    scan(&mut p, &mut m, 0.1);
    assert_eq!(get(&m, HR, 10), 200);
}

// ---------------------------------------------------------------- select

#[test]
fn select_follows_the_condition() {
    let src = r#"
[[plc.program]]
type = "select"
name = "night set-back"
when = { operand = "ir:0", above = 50 }
if_true = "hr:1"
if_false = 7
out = "hr:10"
"#;
    let mut m = mem();
    let mut p = build(src, &m);
    m.set(HR, 1, 300);
    m.set(IR, 0, 50); // not > 50
    scan(&mut p, &mut m, 0.1);
    assert_eq!(get(&m, HR, 10), 7);
    m.set(IR, 0, 51);
    scan(&mut p, &mut m, 0.1);
    assert_eq!(get(&m, HR, 10), 300);
    m.set(HR, 1, 301); // the chosen operand is read every scan
    scan(&mut p, &mut m, 0.1);
    assert_eq!(get(&m, HR, 10), 301);
    m.set(IR, 0, 10);
    scan(&mut p, &mut m, 0.1);
    assert_eq!(get(&m, HR, 10), 7);
}

// ---------------------------------------------------------------- curve

#[test]
fn curve_interpolates_and_clamps_to_the_end_values() {
    // Outdoor temperature (°C) to supply set point (°C). Negative x can only
    // come from a constant: registers are unsigned.
    let src = |x: i32| {
        format!(
            "[[plc.program]]\ntype = \"curve\"\nin = {x}\nout = \"hr:10\"\n\
             points = [[-20, 80], [0, 60], [20, 30]]\n"
        )
    };
    let mut m = mem();
    for (x, want) in [
        (-40, 80), // below the first point: first y
        (-20, 80),
        (-10, 70), // halfway between 80 and 60
        (0, 60),
        (5, 53), // 60 - 30 * 5 / 20 = 52.5, rounds to 53
        (10, 45),
        (20, 30),
        (30, 30), // beyond the last point: last y
    ] {
        let mut p = build(&src(x), &m);
        scan(&mut p, &mut m, 0.1);
        assert_eq!(get(&m, HR, 10), want, "x = {x}");
    }
}

#[test]
fn curve_on_an_offset_register() {
    // The same curve with the outdoor temperature wired as T + 50 into ir:0.
    let src = r#"
[[plc.program]]
type = "curve"
in = "ir:0"
out = "hr:10"
points = [[30, 80], [50, 60], [70.0, 30]]
"#;
    let mut m = mem();
    let mut p = build(src, &m);
    for (raw, want) in [
        (0, 80),
        (30, 80),
        (40, 70),
        (50, 60),
        (60, 45),
        (70, 30),
        (65535, 30),
    ] {
        m.set(IR, 0, raw);
        scan(&mut p, &mut m, 0.1);
        assert_eq!(get(&m, HR, 10), want, "ir:0 = {raw}");
    }
}

// ---------------------------------------------------------------- ramp

const RAMP: &str = r#"
[[plc.program]]
type = "ramp"
in = "hr:0"
out = "hr:10"
rate = 10
initial = 0
"#;

#[test]
fn ramp_moves_at_the_rate_without_overshoot_and_restarts_on_reset() {
    let mut m = mem();
    let mut p = build(RAMP, &m);
    m.set(HR, 0, 100);
    // 10 units/s * 0.5 s = 5 per scan.
    for k in 1..=30u16 {
        scan(&mut p, &mut m, 0.5);
        assert_eq!(get(&m, HR, 10), (5 * k).min(100), "scan {k}");
        if k == 10 {
            assert_eq!(get(&m, HR, 10), 50);
        }
    }
    // Down to 92: 95, then 92 (not 90).
    m.set(HR, 0, 92);
    scan(&mut p, &mut m, 0.5);
    assert_eq!(get(&m, HR, 10), 95);
    scan(&mut p, &mut m, 0.5);
    assert_eq!(get(&m, HR, 10), 92);
    scan(&mut p, &mut m, 0.5);
    assert_eq!(get(&m, HR, 10), 92);
    // A restart begins again from `initial`.
    p.reset();
    scan(&mut p, &mut m, 0.5);
    assert_eq!(get(&m, HR, 10), 5);
    // dt = 0 holds.
    scan(&mut p, &mut m, 0.0);
    assert_eq!(get(&m, HR, 10), 5);
}

#[test]
fn ramp_defaults_to_the_target_and_accumulates_slow_rates() {
    let src = r#"
[[plc.program]]
type = "ramp"
in = "hr:0"
out = "hr:10"
rate = "hr:1"
"#;
    let mut m = mem();
    let mut p = build(src, &m);
    m.set(HR, 0, 60);
    m.set(HR, 1, 1);
    scan(&mut p, &mut m, 0.1);
    assert_eq!(get(&m, HR, 10), 60, "no initial: starts at the target");
    // 1 unit/s at 0.1 s: 0.1 per scan, visible once it has accumulated.
    m.set(HR, 0, 70);
    let mut seen = Vec::new();
    for _ in 0..20 {
        scan(&mut p, &mut m, 0.1);
        seen.push(get(&m, HR, 10));
    }
    assert_eq!(seen[3], 60); // 60.4
    assert_eq!(seen[4], 61); // 60.5 rounds up
    assert_eq!(seen[19], 62); // 62.0
    // A rate cleared over Modbus freezes the output.
    m.set(HR, 1, 0);
    for _ in 0..5 {
        scan(&mut p, &mut m, 0.1);
        assert_eq!(get(&m, HR, 10), 62);
    }
}

// ---------------------------------------------------------------- leadlag

fn leadlag_src(extra: &str) -> String {
    format!(
        "[[plc.program]]\ntype = \"leadlag\"\nname = \"network pumps\"\ndemand = \"hr:0\"\n\
         outs = [\"co:0\", \"co:1\", \"co:2\"]\nrotate_s = 10\n{extra}"
    )
}

fn pumps(m: &VecMemory) -> [u16; 3] {
    [get(m, CO, 0), get(m, CO, 1), get(m, CO, 2)]
}

#[test]
fn leadlag_rotates_the_lead_and_starts_in_order() {
    let mut m = mem();
    let mut p = build(&leadlag_src(""), &m);
    m.set(HR, 0, 1);
    // 1 s scans: the lead moves when 10 s have accumulated, on the 10th scan.
    for k in 1..=9 {
        scan(&mut p, &mut m, 1.0);
        assert_eq!(pumps(&m), [1, 0, 0], "scan {k}");
    }
    scan(&mut p, &mut m, 1.0);
    assert_eq!(pumps(&m), [0, 1, 0]);
    m.set(HR, 0, 2); // lead and the next
    scan(&mut p, &mut m, 1.0);
    assert_eq!(pumps(&m), [0, 1, 1]);
    for _ in 0..9 {
        scan(&mut p, &mut m, 1.0);
    }
    assert_eq!(pumps(&m), [1, 0, 1], "lead 2, next wraps to 0");
    m.set(HR, 0, 5); // above N: all
    scan(&mut p, &mut m, 1.0);
    assert_eq!(pumps(&m), [1, 1, 1]);
    m.set(HR, 0, 0);
    scan(&mut p, &mut m, 1.0);
    assert_eq!(pumps(&m), [0, 0, 0]);
    // The lead survives a stop/start.
    p.apply_safe_state(&mut m);
    m.set(HR, 0, 1);
    scan(&mut p, &mut m, 1.0);
    assert_eq!(pumps(&m), [0, 0, 1]);
}

#[test]
fn leadlag_skips_unavailable_pumps() {
    let mut m = mem();
    let mut p = build(&leadlag_src("available = [\"di:0\", \"di:1\", \"di:2\"]\n"), &m);
    for i in 0..3 {
        m.set(DI, i, 1);
    }
    m.set(HR, 0, 1);
    scan(&mut p, &mut m, 1.0);
    assert_eq!(pumps(&m), [1, 0, 0]);
    m.set(DI, 0, 0); // lead pump tripped: the next one takes over at once
    scan(&mut p, &mut m, 1.0);
    assert_eq!(pumps(&m), [0, 1, 0]);
    m.set(HR, 0, 2);
    scan(&mut p, &mut m, 1.0);
    assert_eq!(pumps(&m), [0, 1, 1]);
    m.set(DI, 2, 0); // only one left for a demand of 2
    scan(&mut p, &mut m, 1.0);
    assert_eq!(pumps(&m), [0, 1, 0]);
    m.set(DI, 0, 1);
    scan(&mut p, &mut m, 1.0);
    assert_eq!(pumps(&m), [1, 1, 0]);
}

// ---------------------------------------------------------------- new blocks: errors

#[test]
fn new_block_compile_errors_name_the_field() {
    let cases: Vec<(String, &str, &str, &str)> = vec![
        // (source, field, text under the span, message fragment)
        (
            math_src("add", r#"["ir:0"]"#),
            "program[0].in",
            r#"["ir:0"]"#,
            "expected 2 or more operands",
        ),
        (
            math_src("add", r#"["ir:0", "ir:99"]"#),
            "program[0].in[1]",
            r#""ir:99""#,
            "outside the PLC memory",
        ),
        (
            math_src("div", r#"["ir:0", 0]"#),
            "program[0].in[1]",
            "0",
            "non-zero divisor",
        ),
        (
            "[[plc.program]]\ntype = \"curve\"\nin = \"ir:0\"\nout = \"hr:10\"\n\
             points = [[0, 60], [20, 30], [10, 30]]\n"
                .to_owned(),
            "program[0].points[2]",
            "[10, 30]",
            "x to increase strictly",
        ),
        (
            "[[plc.program]]\ntype = \"curve\"\nin = \"ir:0\"\nout = \"hr:10\"\n\
             points = [[0, 60], [20, 30, 1]]\n"
                .to_owned(),
            "program[0].points[1]",
            "[20, 30, 1]",
            "two numbers",
        ),
        (
            "[[plc.program]]\ntype = \"curve\"\nin = \"ir:0\"\nout = \"hr:10\"\npoints = [[0, 60]]\n"
                .to_owned(),
            "program[0].points",
            "[[0, 60]]",
            "2 or more points",
        ),
        (
            "[[plc.program]]\ntype = \"curve\"\nin = \"ir:0\"\nout = \"hr:10\"\n\
             points = [[0, 60], [nan, 30]]\n"
                .to_owned(),
            "program[0].points[1]",
            "[nan, 30]",
            "finite",
        ),
        (
            RAMP.replace("rate = 10", "rate = 0"),
            "program[0].rate",
            "0",
            "rate > 0",
        ),
        (
            leadlag_src("").replace("rotate_s = 10", "rotate_s = 0"),
            "program[0].rotate_s",
            "0",
            "seconds > 0",
        ),
        (
            leadlag_src("").replace("\"co:1\"", "\"hr:1\""),
            "program[0].outs[1]",
            r#""hr:1""#,
            "expected a bit",
        ),
        (
            leadlag_src("").replace("\"co:2\"", "\"co:0\""),
            "program[0].outs[2]",
            r#""co:0""#,
            "outs[0]",
        ),
        (
            leadlag_src("").replace(r#"["co:0", "co:1", "co:2"]"#, r#"["co:0"]"#),
            "program[0].outs",
            r#"["co:0"]"#,
            "2 or more pump outputs",
        ),
        (
            leadlag_src("available = [\"di:0\", \"di:1\"]\n"),
            "program[0].available",
            r#"["di:0", "di:1"]"#,
            "one operand per pump",
        ),
    ];
    for (src, field, text, msg) in cases {
        let e = compile_err(&src, &mem());
        assert_eq!(e.field, field, "{src}");
        assert_eq!(&src[e.span.clone().unwrap()], text, "{src}");
        assert!(e.message.contains(msg), "{} does not contain {msg}", e.message);
    }
}

#[test]
fn new_block_toml_errors_name_the_key() {
    let select = "[[plc.program]]\ntype = \"select\"\nwhen = { operand = \"ir:0\", above = 5 }\n\
                  if_true = 1\nif_false = 2\nout = \"hr:10\"\n";
    for (src, want) in [
        // Missing keys.
        (
            math_src("add", "[1, 2]").replace("op = \"add\"\n", ""),
            "a `math` block needs `op`",
        ),
        (
            select.replace("if_false = 2\n", ""),
            "a `select` block needs `if_false`",
        ),
        (
            "[[plc.program]]\ntype = \"curve\"\nin = \"ir:0\"\nout = \"hr:10\"\n".to_owned(),
            "a `curve` block needs `points`",
        ),
        (RAMP.replace("rate = 10\n", ""), "a `ramp` block needs `rate`"),
        (
            leadlag_src("").replace("rotate_s = 10\n", ""),
            "a `leadlag` block needs `rotate_s`",
        ),
        (
            leadlag_src("").replace("demand = \"hr:0\"\n", ""),
            "a `leadlag` block needs `demand`",
        ),
        // Keys of other blocks.
        (
            format!("{}gain = 2\n", math_src("add", "[1, 2]")),
            "`gain` is not a setting of a `math` block",
        ),
        (
            format!("{RAMP}points = [[0, 1], [1, 2]]\n"),
            "`points` is not a setting of a `ramp` block",
        ),
        (
            format!("{select}in = 3\n"),
            "`in` is not a setting of a `select` block",
        ),
        (
            leadlag_src("out = \"co:5\"\n"),
            "`out` is not a setting of a `leadlag` block",
        ),
        // Wrong shapes of `in` and `op`.
        (math_src("add", "\"ir:0\""), "is a list of 2 or more operands"),
        (
            "[[plc.program]]\ntype = \"move\"\nin = [\"hr:0\", \"hr:1\"]\nout = \"hr:2\"\n".to_owned(),
            "`in` of a `move` block is one operand",
        ),
        (math_src("pow", "[1, 2]"), "unknown variant `pow`"),
    ] {
        let e = PlcLogicConfig::from_toml_str(&src).unwrap_err();
        assert!(e.message.contains(want), "{} does not contain {want}", e.message);
        assert!(e.span.is_some(), "{src}");
    }
}

#[test]
fn weather_compensated_heating_loop() {
    // Outdoor temperature + 50 in ir:0, supply temperature in ir:1, pump
    // speed out of hr:12. The curve gives the set point, the ramp limits its
    // change to 0.5 °C/s, the PID follows the ramped set point.
    let src = r#"
[[plc.program]]
type = "curve"
in = "ir:0"
out = "hr:10"
points = [[30, 80], [50, 60], [70, 30]]

[[plc.program]]
type = "ramp"
in = "hr:10"
out = "hr:11"
rate = 0.5
initial = "ir:1"

[[plc.program]]
type = "pid"
pv = "ir:1"
sp = "hr:11"
out = "hr:12"
kp = 10
out_max = 1000
"#;
    let mut m = mem();
    let mut p = build(src, &m);
    m.set(IR, 0, 60); // 10 °C outside: set point 45 °C
    m.set(IR, 1, 40); // network at 40 °C
    scan(&mut p, &mut m, 1.0);
    assert_eq!(get(&m, HR, 10), 45);
    // The ramped set point starts at the supply temperature: 40.5, written
    // as 41; the PID reads the register, so P = 10 * (41 - 40) = 10.
    assert_eq!(get(&m, HR, 11), 41);
    assert_eq!(get(&m, HR, 12), 10);
    for _ in 0..9 {
        scan(&mut p, &mut m, 1.0);
    }
    assert_eq!(get(&m, HR, 11), 45); // 40 + 10 * 0.5
    assert_eq!(get(&m, HR, 12), 50);
}

// ---------------------------------------------------------------- modes / safe state

const WITH_SAFE: &str = r#"
[[plc.program]]
type = "pid"
pv = "ir:0"
sp = "hr:0"
out = "hr:10"
kp = 1
ki = 1
out_max = 1000

[[plc.program]]
type = "onoff"
pv = "ir:0"
out = "co:0"
on_below = 20
off_above = 80

[[plc.safe_state]]
out = "co:0"
value = 0

[[plc.safe_state]]
out = "hr:10"
value = 0
"#;

#[test]
fn stop_applies_safe_state_and_run_resumes_bumplessly() {
    let mut m = mem();
    let mut p = build(WITH_SAFE, &m);
    assert_eq!(p.safe_outputs(), &[(CO, 0, 0), (HR, 10, 0)]);
    m.set(HR, 0, 500);
    m.set(IR, 0, 10);
    m.set(HR, 10, 400);
    let mut ev = Vec::new();
    p.execute(OperatingMode::Run, &mut m, 1.0, &mut ev);
    assert_eq!((get(&m, CO, 0), get(&m, HR, 10)), (1, 400)); // bumpless from 400
    p.execute(OperatingMode::Run, &mut m, 1.0, &mut ev);
    assert_eq!(get(&m, HR, 10), 890); // P 490 + I (400 - 490 + 490 * 1)
    p.execute(OperatingMode::Stop, &mut m, 1.0, &mut ev);
    assert_eq!((get(&m, CO, 0), get(&m, HR, 10)), (0, 0));
    p.execute(OperatingMode::Program, &mut m, 1.0, &mut ev);
    assert_eq!((get(&m, CO, 0), get(&m, HR, 10)), (0, 0));
    // Back to Run: PID restarts from the safe value 0, not from its old 890.
    p.execute(OperatingMode::Run, &mut m, 1.0, &mut ev);
    assert_eq!(get(&m, HR, 10), 0);
    assert_eq!(get(&m, CO, 0), 1); // pv 10 < 20
    p.execute(OperatingMode::Run, &mut m, 1.0, &mut ev);
    assert_eq!(get(&m, HR, 10), 490); // P 490 + I (-490 + 490)
}

#[test]
fn operating_mode_codes_and_serde() {
    for (mode, code, text) in [
        (OperatingMode::Run, 1, "run"),
        (OperatingMode::Program, 2, "program"),
        (OperatingMode::Stop, 3, "stop"),
    ] {
        assert_eq!(mode.code(), code);
        assert_eq!(OperatingMode::from_code(code), Some(mode));
        assert_eq!(mode.to_string(), text);
        #[derive(serde::Deserialize)]
        struct W {
            mode: OperatingMode,
        }
        let w: W = toml::from_str(&format!("mode = \"{text}\"")).unwrap();
        assert_eq!(w.mode, mode);
    }
    assert_eq!(OperatingMode::from_code(0), None);
    // The two modes only the network enters: codes and names, but no power-up in them.
    for (mode, code, text) in [
        (OperatingMode::FirmwareUpdate, 4, "firmware_update"),
        (OperatingMode::Bricked, 5, "bricked"),
    ] {
        assert_eq!(mode.code(), code);
        assert_eq!(OperatingMode::from_code(code), Some(mode));
        assert_eq!(mode.to_string(), text);
        assert!(!mode.scans());
        let e = toml::from_str::<toml::Table>(&format!("mode = \"{text}\""))
            .unwrap()
            .get("mode")
            .cloned()
            .unwrap()
            .try_into::<OperatingMode>()
            .unwrap_err();
        assert!(e.to_string().contains("unknown variant"), "{e}");
    }
}

#[test]
fn scans_are_deterministic() {
    let run = || {
        let mut m = mem();
        let mut p = build(&format!("{WITH_SAFE}{ALARM}"), &m);
        let mut ev = Vec::new();
        m.set(HR, 0, 300);
        for i in 0..500u16 {
            m.set(IR, 0, (i * 7) % 100);
            p.scan(&mut m, 0.1, &mut ev);
        }
        (m, ev)
    };
    assert_eq!(run(), run());
}

// ---------------------------------------------------------------- errors

#[test]
fn operand_parse_error_names_field_and_span() {
    let src = r#"
[[plc.program]]
type = "onoff"
pv = "ir:0"
out = "co:0"
on_below = 20
off_above = 80

[[plc.program]]
type = "pid"
pv = "ir:0"
sp = "xx:1"
out = "hr:10"
kp = 1
"#;
    let e = compile_err(src, &mem());
    assert_eq!(e.field, "program[1].sp");
    assert_eq!(&src[e.span.clone().unwrap()], r#""xx:1""#);
    assert_eq!(
        e.message,
        r#"expected an operand like "hr:7", "ir:0", "co:1", "di:2" or a number, found "xx:1""#
    );
    assert_eq!(e.line_col(src), Some((12, 6)));
    assert!(e.to_string().starts_with("program[1].sp: expected"));
}

#[test]
fn out_of_map_operand_names_field_and_span() {
    let src = r#"
[[plc.program]]
type = "scale"
in = "hr:3"
out = "hr:99"
"#;
    let e = compile_err(src, &mem());
    assert_eq!(e.field, "program[0].out");
    assert_eq!(&src[e.span.clone().unwrap()], r#""hr:99""#);
    assert_eq!(
        e.message,
        "hr:99 is outside the PLC memory: expected hr:0..=hr:15 (16 holding registers)"
    );

    let e = compile_err(src, &VecMemory::new(4, 4, 4, 0));
    assert_eq!(e.field, "program[0].in");
    assert!(e.message.contains("it has no holding registers"), "{}", e.message);
}

#[test]
fn nested_condition_error_path() {
    let src = r#"
[[plc.program]]
type = "interlock"
when = { all = [ { operand = "ir:0", above = 5 }, { operand = "ir:99", below = 3 } ] }
out = "co:0"
"#;
    let e = compile_err(src, &mem());
    assert_eq!(e.field, "program[0].when.all[1].operand");
    assert_eq!(&src[e.span.clone().unwrap()], r#""ir:99""#);

    let bad_shape = src.replace(r#", below = 3"#, r#", below = 3, above = 1"#);
    let e = compile_err(&bad_shape, &mem());
    assert_eq!(e.field, "program[0].when.all[1].operand");
    assert!(e.message.contains("exactly one of"), "{}", e.message);
}

#[test]
fn output_kind_errors() {
    let constant_out = r#"
[[plc.program]]
type = "move"
in = "hr:0"
out = 5
"#;
    let e = compile_err(constant_out, &mem());
    assert_eq!(e.field, "program[0].out");
    assert_eq!(&constant_out[e.span.clone().unwrap()], "5");
    assert!(
        e.message.contains("expected a register to write"),
        "{}",
        e.message
    );

    let word_alarm_out = ALARM.replace(r#"out = "co:5""#, r#"out = "hr:5""#);
    let e = compile_err(&word_alarm_out, &mem());
    assert_eq!(e.field, "program[0].out");
    assert!(e.message.contains("expected a bit"), "{}", e.message);
}

#[test]
fn safe_state_errors() {
    let dup = format!("{WITH_SAFE}\n[[plc.safe_state]]\nout = \"co:0\"\nvalue = 1\n");
    let e = compile_err(&dup, &mem());
    assert_eq!(e.field, "safe_state[2].out");
    assert!(e.message.contains("safe_state[0]"), "{}", e.message);

    let bit2 = WITH_SAFE.replacen("value = 0", "value = 2", 1);
    let e = compile_err(&bit2, &mem());
    assert_eq!(e.field, "safe_state[0].value");
    assert_eq!(&bit2[e.span.clone().unwrap()], "2");
}

#[test]
fn duplicate_alarm_names_rejected() {
    let src = format!("{ALARM}{}", ALARM.replace("co:5", "co:6"));
    let e = compile_err(&src, &mem());
    assert_eq!(e.field, "program[1].name");
    assert!(e.message.contains("program[0]"), "{}", e.message);
}

#[test]
fn toml_level_errors_have_spans() {
    // Unknown key anywhere.
    let src = pid_src("kp = 1\nkpp = 2");
    let e = PlcLogicConfig::from_toml_str(&src).unwrap_err();
    assert!(e.message.contains("kpp"), "{}", e.message);
    assert_eq!(&src[e.span.clone().unwrap()], "kpp");

    // A key of another block type.
    let src = pid_src("kp = 1\non_below = 3");
    let e = PlcLogicConfig::from_toml_str(&src).unwrap_err();
    assert!(
        e.message.contains("`on_below` is not a setting of a `pid` block"),
        "{}",
        e.message
    );
    assert!(e.span.is_some());

    // Missing required key, unknown type, half-configured onoff, lone latch.
    for (src, want) in [
        (pid_src(""), "a `pid` block needs `kp`"),
        (FILL.replace("onoff", "onof"), "unknown variant `onof`"),
        (FILL.replace("off_above", "off_below"), "either `on_below` and `off_above`"),
        (
            "[[plc.program]]\ntype = \"interlock\"\nwhen = { operand = \"di:0\", equals = 1 }\nout = \"co:0\"\nlatch = true\n"
                .to_owned(),
            "needs both `latch = true` and `reset",
        ),
    ] {
        let e = PlcLogicConfig::from_toml_str(&src).unwrap_err();
        assert!(e.message.contains(want), "{} does not contain {want}", e.message);
        assert!(e.span.is_some());
    }
}

#[test]
fn runtime_loop_scan_or_safe_state_restarts_bumplessly() {
    // The sim's PLC runtime calls scan() in Run and apply_safe_state()
    // otherwise, without telling the program about mode transitions.
    let mut m = mem();
    let mut p = build(WITH_SAFE, &m);
    m.set(HR, 0, 500);
    m.set(IR, 0, 10);
    m.set(HR, 10, 400);
    scan(&mut p, &mut m, 1.0);
    scan(&mut p, &mut m, 1.0);
    assert_eq!(get(&m, HR, 10), 890); // as in the test above
    p.apply_safe_state(&mut m);
    assert_eq!(get(&m, HR, 10), 0);
    // Without the automatic restart: 490 + (400 + 490) = 1380, clamped to 1000.
    scan(&mut p, &mut m, 1.0);
    assert_eq!(get(&m, HR, 10), 0);
}

#[test]
fn embeds_in_a_larger_plc_table_with_relative_error_paths() {
    #[derive(serde::Deserialize)]
    struct Plant {
        plc: Vec<PlcTable>,
    }
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct PlcTable {
        #[allow(dead_code)]
        host: String,
        #[serde(default)]
        program: Vec<crate::plc_logic::BlockConfig>,
        #[serde(default)]
        safe_state: Vec<crate::plc_logic::SafeStateConfig>,
    }
    let src = r#"
[[plc]]
host = "plc1"

[[plc.program]]
type = "move"
in = "hr:0"
out = "hr:1"

[[plc.safe_state]]
out = "co:16"
value = 0
"#;
    let plant: Plant = toml::from_str(src).unwrap();
    let cfg = &plant.plc[0];
    let e = PlcProgram::compile(&cfg.program, &cfg.safe_state, &mem()).unwrap_err();
    assert_eq!(e.field, "safe_state[0].out");
    assert_eq!(&src[e.span.clone().unwrap()], r#""co:16""#);
    assert_eq!(e.line_col(src), Some((11, 7)));
}

/// An appended task runs after the program, which keeps its state (the PID's integral);
/// a task reusing an alarm name or a safe output is refused and changes nothing.
#[test]
fn an_appended_task_runs_last_and_the_running_blocks_keep_their_state() {
    let mut m = mem();
    let mut p = build(&format!("{WITH_SAFE}{ALARM}"), &m);
    m.set(HR, 0, 500);
    m.set(IR, 0, 10);
    for _ in 0..3 {
        scan(&mut p, &mut m, 1.0);
    }
    let pid_out = m.get(HR, 10).unwrap();
    let task = build(
        r#"
[[plc.program]]
type = "interlock"
name = "task"
when = { operand = "ir:0", above = -1 }
out = "co:0"
value = 0
"#,
        &m,
    );
    p.append(task).unwrap();
    assert_eq!(p.block_count(), 4);
    scan(&mut p, &mut m, 1.0);
    // The on/off controller turns co:0 on below 20; the task, last, turns it off.
    assert_eq!(m.get(CO, 0), Some(0));
    // The PID went on integrating from where it was, not from a fresh start.
    assert!(
        m.get(HR, 10).unwrap() > pid_out,
        "{pid_out} -> {:?}",
        m.get(HR, 10)
    );
    let dup_alarm = build(&ALARM.replace("co:5", "co:6"), &m);
    assert_eq!(
        p.append(dup_alarm).unwrap_err(),
        "alarm name \"LT101\" is already used by the running program"
    );
    let dup_safe = build("[[plc.safe_state]]\nout = \"hr:10\"\nvalue = 1\n", &m);
    assert_eq!(
        p.append(dup_safe).unwrap_err(),
        "hr:10 already has a safe value in the running program"
    );
    assert_eq!(p.block_count(), 4);
}
