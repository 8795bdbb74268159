//! A stiff plant is stable at every physics step a plant file may choose (1 ms to 10 s):
//! no oscillation, no damage the plant would not suffer, the same steady state.

use otrange_sim::process::{Impact, Process, ProcessConfig};

/// A stiff pressure loop and a fast heater (tests/fixtures/plants/stiff-loop.toml). The
/// vessel holds 500 bar per m³; a pump pushes 0.02 m³/s in and a valve lets out
/// 0.02 × √(p / 3 bar) m³/s, so pressure settles at 3 bar with a rate constant of
/// 500 × 0.02 / (2 × 3) = 1.7 /s (0.6 s time constant), far shorter than a 10 s step. The
/// heater's C/UA is 2 s. A relief valve sits at 6 bar (reseat 5.5) and the vessel is rated
/// for 10 bar.
const STIFF: &str = include_str!("../../tests/fixtures/plants/stiff-loop.toml");

fn run(step_s: f64, seconds: f64) -> (Process, Vec<Impact>, f64, f64) {
    let cfg = ProcessConfig::from_plant_toml(STIFF).unwrap();
    let mut p = Process::from_config(&cfg).unwrap();
    let pressure = p.signal_id("loop.pressure").unwrap();
    let mut impacts = Vec::new();
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for i in 0..(seconds / step_s).round() as u64 {
        p.step(step_s, &mut impacts);
        // After the first minute, the loop must stay near its 3 bar set point.
        if (i + 1) as f64 * step_s > 60.0 {
            lo = lo.min(p.get(pressure));
            hi = hi.max(p.get(pressure));
        }
    }
    (p, impacts, lo, hi)
}

#[test]
fn a_stiff_plant_is_stable_at_every_allowed_step() {
    for step_s in [0.001, 0.01, 0.1, 1.0, 2.5, 10.0] {
        let (p, impacts, lo, hi) = run(step_s, 2.0 * 3600.0);
        assert!(impacts.is_empty(), "step {step_s} s: {impacts:?}");
        assert!(
            (2.99..=3.01).contains(&lo) && (2.99..=3.01).contains(&hi),
            "step {step_s} s: pressure between {lo} and {hi} bar after the first minute"
        );
        let t = p.value("coil.temperature").unwrap();
        assert!((t - 30.0).abs() < 1e-6, "step {step_s} s: coil at {t} °C");
        let stats = p.integration();
        if step_s >= 1.0 {
            assert!(stats.substepped(), "step {step_s} s: {stats:?}");
            assert!(stats.stiffest_component.is_some(), "{stats:?}");
            assert_eq!(stats.capped_steps, 0, "{stats:?}");
        }
    }
}

/// The cost is what the plant's stiffness needs, not more: a 10 s step of this plant is
/// cut into a handful of sub-steps, and the shortest is set by the component that needs it.
#[test]
fn sub_steps_follow_the_stiffest_component() {
    let (p, ..) = run(10.0, 3600.0);
    let stats = p.integration();
    assert_eq!(stats.steps, 360);
    let name = stats.stiffest_component.clone().unwrap();
    let h = stats.shortest_substep_s.unwrap();
    assert!(["outlet", "loop", "coil"].contains(&name.as_str()), "{stats:?}");
    assert!(h <= 2.0 && h > 0.01, "{stats:?}");
    assert!(stats.max_substeps_per_step <= 1000, "{stats:?}");
}

/// The reference plant's 100 ms step needs no cutting: its outputs are those of a plain
/// Euler step.
#[test]
fn the_reference_plant_needs_no_sub_steps() {
    let src = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scenarios/water-treatment/plant.toml"
    ))
    .unwrap();
    let cfg = ProcessConfig::from_plant_toml(&src).unwrap();
    let mut p = Process::from_config(&cfg).unwrap();
    let mut impacts = Vec::new();
    for _ in 0..36_000 {
        p.step(0.1, &mut impacts);
    }
    assert!(!p.integration().substepped(), "{:?}", p.integration());
}
