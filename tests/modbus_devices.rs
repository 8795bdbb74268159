//! The reference plant's Modbus devices as a client on the simulated network meets them:
//! exact exception answers on the wire for requests a PLC cannot serve, write protection,
//! and a PLC's CPU capacity under a request flood, as the HMI polling it experiences it.
//!
//! Requests are sent with `Network::send` from the engineering workstation; answers are read
//! by a tap on the receiving host, which sees the frames delivered to it byte for byte.

mod common;

use otrange::scenario::Exercise;
use otrange_sim::base::events::{Event, EventKind};
use otrange_sim::devices::modbus::capacity::OverloadPolicy;
use otrange_sim::devices::summary::DeviceFigures;
use otrange_sim::net::topology::{HostId, Service};
use otrange_sim::net::{Action, Frame, Hop, Middlebox, Payload, Stage};
use otrange_sim::wire::modbus::{
    custom_request, read_holding_registers, read_input_registers, write_single_register,
};
use otrange_sim::{Sim, SimDuration, SimTime};
use std::sync::{Arc, Mutex};

/// A Modbus ADU as it crossed a tapped host.
#[derive(Clone, Debug)]
struct Seen {
    at: SimTime,
    node: HostId,
    src: HostId,
    dst: HostId,
    adu: Vec<u8>,
}

/// A tap recording every Modbus ADU that crosses its nodes (sent from or delivered to them).
struct WireTap(Arc<Mutex<Vec<Seen>>>);

impl Middlebox for WireTap {
    fn on_frame(&mut self, hop: &Hop<'_>, frame: &mut Frame) -> Action {
        if let Payload::Modbus(adu) = &frame.payload {
            self.0.lock().unwrap().push(Seen {
                at: hop.now,
                node: hop.node,
                src: frame.src,
                dst: frame.dst,
                adu: adu.to_vec(),
            });
        }
        Action::Pass
    }
    fn name(&self) -> &str {
        "test-wire-tap"
    }
}

/// A simulation of the reference plant with a wire tap on some hosts.
struct Bench {
    sim: Sim,
    wire: Arc<Mutex<Vec<Seen>>>,
}

fn reference() -> Exercise {
    let path = common::reference_exercise();
    Exercise::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

fn host(sim: &Sim, name: &str) -> HostId {
    sim.network()
        .topology()
        .host_by_name(name)
        .unwrap_or_else(|| panic!("no host {name} in the reference plant"))
}

impl Bench {
    fn new(ex: &Exercise, tapped: &[&str]) -> Bench {
        let mut sim = ex.build(1).unwrap_or_else(|e| panic!("{e}"));
        let wire = Arc::new(Mutex::new(Vec::new()));
        let nodes: Vec<HostId> = tapped.iter().map(|n| host(&sim, n)).collect();
        sim.network_mut()
            .add_middlebox(Box::new(WireTap(Arc::clone(&wire))), Stage::Observe, &nodes);
        Bench { sim, wire }
    }

    fn run_to(&mut self, secs_f: f64) {
        self.sim
            .run_until(SimTime::ZERO + SimDuration::from_secs_f64(secs_f));
    }

    fn send(&mut self, at: SimTime, from: &str, to: &str, adu: Vec<u8>) {
        let (src, dst) = (host(&self.sim, from), host(&self.sim, to));
        self.sim
            .network_mut()
            .send(at, src, dst, Service::Modbus, Payload::Modbus(adu.into()), 0);
    }

    /// ADUs delivered to `to` from `from`, in arrival order.
    fn delivered(&self, from: &str, to: &str) -> Vec<Seen> {
        let (src, dst) = (host(&self.sim, from), host(&self.sim, to));
        self.wire
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.node == dst && s.dst == dst && s.src == src)
            .cloned()
            .collect()
    }

    /// A device's figures so far, as its summary event (and results.json) reports them.
    fn figures(&mut self, name: &str) -> DeviceFigures {
        self.sim
            .device_summaries()
            .into_iter()
            .find(|(device, _)| device == name)
            .unwrap_or_else(|| panic!("no device {name}"))
            .1
    }

    /// A PLC's request counters so far.
    fn plc(&mut self, name: &str) -> PlcView {
        let DeviceFigures::Plc(p) = self.figures(name) else {
            panic!("{name} is no PLC")
        };
        PlcView {
            requests: p.requests,
            exceptions: p.exceptions,
            busy: p.busy,
            dropped: p.dropped,
        }
    }

    /// An HMI's poll counters so far.
    fn hmi(&mut self, name: &str) -> HmiView {
        let DeviceFigures::Hmi(h) = self.figures(name) else {
            panic!("{name} is no HMI")
        };
        HmiView {
            polls: h.polls,
            answers: h.answers,
            exceptions: h.exceptions,
            timeouts: h.timeouts,
            mean_latency_ms: h.latency.mean_ms,
        }
    }
}

/// What a PLC's Modbus server counted so far.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct PlcView {
    requests: u64,
    exceptions: u64,
    busy: u64,
    dropped: u64,
}

/// What an HMI's poller counted so far.
#[derive(Debug, Clone, Copy, PartialEq)]
struct HmiView {
    polls: u64,
    answers: u64,
    exceptions: u64,
    timeouts: u64,
    /// Mean poll latency so far, in milliseconds.
    mean_latency_ms: f64,
}

/// The answer with transaction id `tid` among `seen`, exactly one.
fn answer(seen: &[Seen], tid: u16) -> Vec<u8> {
    let hits: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.adu.get(..2) == Some(&tid.to_be_bytes()))
        .collect();
    assert_eq!(
        hits.len(),
        1,
        "expected one answer with transaction id {tid:#06x}, got {hits:?}"
    );
    hits[0].adu.clone()
}

/// An exception ADU: MBAP (tid, protocol 0, length 3, unit) + function | 0x80, code.
fn exception_adu(tid: u16, unit: u8, function: u8, code: u8) -> Vec<u8> {
    let [hi, lo] = tid.to_be_bytes();
    vec![hi, lo, 0, 0, 0, 3, unit, function | 0x80, code]
}

fn exception_events(events: &[Event], client: &str) -> Vec<(String, u8, u8)> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ModbusException {
                device,
                client: c,
                function,
                code,
                ..
            } if c == client => Some((device.clone(), *function, *code)),
            _ => None,
        })
        .collect()
}

#[test]
fn plcs_answer_bad_requests_with_exact_exception_frames() {
    let ex = reference();
    let mut b = Bench::new(&ex, &["ews-01"]);
    b.run_to(5.0);
    let t = b.sim.now();
    let before = b.plc("plc-dosing");
    // The SIS trip points as the plant file sets them at power-up.
    let sis_cfg = ex
        .plant
        .plcs
        .iter()
        .find(|p| p.host.get_ref() == "plc-sis")
        .unwrap();
    let init = |addr: &str| {
        sis_cfg
            .init
            .iter()
            .find(|i| i.address.get_ref() == addr)
            .map(|i| *i.value.get_ref() as u16)
            .unwrap_or_else(|| panic!("plc-sis has no init of {addr}"))
    };
    let trip_points = [init("hr:0"), init("hr:1")];
    let holding = ex
        .plant
        .plcs
        .iter()
        .find(|p| p.host.get_ref() == "plc-dosing")
        .unwrap()
        .modbus
        .holding_registers as u16;

    // 0x41 is no Modbus function: exception 1, illegal function.
    b.send(
        t,
        "ews-01",
        "plc-dosing",
        custom_request(0x7A01, 1, 0x41, &[0, 0, 0, 1]),
    );
    // Reading past the end of the holding registers: exception 2, illegal data address.
    b.send(
        t,
        "ews-01",
        "plc-dosing",
        read_holding_registers(0x7A02, 1, holding - 2, 8),
    );
    // A quantity of 0 registers: exception 3, illegal data value.
    b.send(t, "ews-01", "plc-dosing", read_input_registers(0x7A03, 1, 0, 0));
    // The last 8 holding registers exactly: a normal answer (8 registers, 16 bytes).
    b.send(
        t,
        "ews-01",
        "plc-dosing",
        read_holding_registers(0x7A04, 1, holding - 8, 8),
    );
    // The SIS trip points (hr:0..=1) are read-only over Modbus: exception 2, value unchanged.
    b.send(t, "ews-01", "plc-sis", write_single_register(0x7A05, 1, 0, 9999));
    // ...and a read right after it returns the configured trip points.
    b.send(t, "ews-01", "plc-sis", read_holding_registers(0x7A06, 1, 0, 2));
    b.run_to(6.0);

    let dosing = b.delivered("plc-dosing", "ews-01");
    assert_eq!(answer(&dosing, 0x7A01), exception_adu(0x7A01, 1, 0x41, 1));
    assert_eq!(answer(&dosing, 0x7A02), exception_adu(0x7A02, 1, 0x03, 2));
    assert_eq!(answer(&dosing, 0x7A03), exception_adu(0x7A03, 1, 0x04, 3));
    let ok = answer(&dosing, 0x7A04);
    assert_eq!(
        ok[..9],
        [0x7A, 0x04, 0, 0, 0, 19, 1, 0x03, 16],
        "read of the last 8 holding registers: {ok:02x?}"
    );
    assert_eq!(ok.len(), 9 + 16);

    let sis = b.delivered("plc-sis", "ews-01");
    assert_eq!(answer(&sis, 0x7A05), exception_adu(0x7A05, 1, 0x06, 2));
    let trip = answer(&sis, 0x7A06);
    assert_eq!(
        trip,
        [
            [0x7A, 0x06, 0, 0, 0, 7, 1, 0x03, 4].as_slice(),
            &trip_points[0].to_be_bytes(),
            &trip_points[1].to_be_bytes()
        ]
        .concat(),
        "read of the SIS trip points {trip_points:?} after a write attempt"
    );

    // Every answer arrives after the request, within one scan and a bit.
    for s in dosing.iter().chain(&sis) {
        let waited = s.at - t;
        assert!(
            waited > SimDuration::ZERO && waited < SimDuration::from_millis(200),
            "answer after {waited:?}: {s:?}"
        );
    }

    // The PLCs counted the exceptions and the event log names device, client, function, code.
    let after = b.plc("plc-dosing");
    // (The HMI and historian poll it meanwhile, so there are more requests than ours.)
    assert!(after.requests - before.requests >= 4);
    assert_eq!(after.exceptions - before.exceptions, 3);
    assert_eq!(after.busy, before.busy);
    let events = b.sim.drain_events();
    let mut logged = exception_events(&events, "ews-01");
    logged.sort();
    assert_eq!(
        logged,
        vec![
            ("plc-dosing".to_string(), 0x03, 2),
            ("plc-dosing".to_string(), 0x04, 3),
            ("plc-dosing".to_string(), 0x41, 1),
            ("plc-sis".to_string(), 0x06, 2),
        ]
    );
}

/// A flood of read requests far beyond a PLC's capacity.
struct Flood {
    plc: &'static str,
    rate_per_s: u64,
    start_s: u64,
    secs: u64,
}

impl Flood {
    fn count(&self) -> u64 {
        self.rate_per_s * self.secs
    }
    fn end_s(&self) -> u64 {
        self.start_s + self.secs
    }
    /// Queues every request of the flood at its send time, from the engineering workstation.
    fn launch(&self, b: &mut Bench) {
        let start = SimTime::ZERO + SimDuration::from_secs(self.start_s);
        let gap = 1_000_000_000 / self.rate_per_s;
        for i in 0..self.count() {
            let tid = (i % 0x7000) as u16 + 1;
            b.send(
                start + SimDuration(i * gap),
                "ews-01",
                self.plc,
                read_holding_registers(tid, 1, 0, 8),
            );
        }
    }
}

/// The PLC flooded: its plant file gives it `overload = "busy"`; the tests set the policy.
const TARGET: &str = "plc-intake";

/// The flood target's capacity from the plant file, and the HMIs that do and do not poll it.
fn setup(ex: &mut Exercise, policy: OverloadPolicy) -> (Flood, u64, String, String) {
    let cfg = ex
        .plant
        .plcs
        .iter_mut()
        .find(|p| p.host.get_ref() == TARGET)
        .expect("flood target in the plant");
    cfg.modbus.overload = policy;
    let rps = u64::from(cfg.modbus.capacity_rps);
    let burst = cfg.modbus.burst.map_or((rps / 10).max(1), u64::from);
    let polls = |h: &&otrange_sim::devices::hmi::HmiConfig| h.poll.iter().any(|p| p.plc.get_ref() == TARGET);
    let victim = ex
        .plant
        .hmis
        .iter()
        .find(polls)
        .expect("an HMI polls the flood target");
    let bystander = ex
        .plant
        .hmis
        .iter()
        .find(|h| !polls(h))
        .expect("an HMI that does not");
    // Ten times the capacity for 20 s, after the plant has run for 10 s.
    let flood = Flood {
        plc: TARGET,
        rate_per_s: 10 * rps,
        start_s: 10,
        secs: 20,
    };
    (
        flood,
        burst,
        victim.host.get_ref().clone(),
        bystander.host.get_ref().clone(),
    )
}

/// Runs the plant with and without the flood; returns (baseline, flooded) benches at the end,
/// and the flooded PLC's and HMIs' counters at the flood's start, just after it, and at the end.
struct FloodRun {
    baseline: Bench,
    flooded: Bench,
    flood: Flood,
    burst: u64,
    victim: String,
    bystander: String,
    plc_at: [PlcView; 3],
    victim_at: [HmiView; 3],
    /// The victim's counters at the same marks in the run without the flood.
    base_at: [HmiView; 3],
}

const SETTLE_S: f64 = 1.0;
const END_S: f64 = 45.0;

fn flood_run(policy: OverloadPolicy) -> FloodRun {
    let mut ex = reference();
    let (flood, burst, victim, bystander) = setup(&mut ex, policy);
    let tapped = [victim.as_str(), bystander.as_str()];
    let mut baseline = Bench::new(&ex, &tapped);
    let mut flooded = Bench::new(&ex, &tapped);
    flood.launch(&mut flooded);
    let marks = [flood.start_s as f64, flood.end_s() as f64 + SETTLE_S, END_S];
    let mut plc_at = [PlcView::default(); 3];
    let mut victim_at = [baseline.hmi(&victim); 3];
    let mut base_at = victim_at;
    for (i, t) in marks.into_iter().enumerate() {
        baseline.run_to(t);
        flooded.run_to(t);
        plc_at[i] = flooded.plc(flood.plc);
        victim_at[i] = flooded.hmi(&victim);
        base_at[i] = baseline.hmi(&victim);
    }
    FloodRun {
        baseline,
        flooded,
        flood,
        burst,
        victim,
        bystander,
        plc_at,
        victim_at,
        base_at,
    }
}

/// Checks shared by both overload policies: the CPU served what its capacity allows, no more
/// and not much less, every flood request reached it, and the HMI recovered afterwards.
fn check_capacity_and_recovery(r: &mut FloodRun, refused: fn(&PlcView) -> u64) {
    let [start, after, _] = r.plc_at;
    let requests = after.requests - start.requests;
    let refused_n = refused(&after) - refused(&start);
    let served = requests - refused_n;
    let window = r.flood.secs as f64 + SETTLE_S;
    let rps = r.flood.rate_per_s / 10;
    assert!(
        requests >= r.flood.count(),
        "{} flood requests sent, {requests} reached the PLC",
        r.flood.count()
    );
    assert_eq!(
        r.flooded.sim.network().stats.dropped,
        0,
        "the network itself dropped frames"
    );
    assert!(
        served as f64 <= rps as f64 * window + r.burst as f64,
        "{served} requests served in {window} s by a PLC with capacity {rps}/s, burst {}",
        r.burst
    );
    assert!(
        served as f64 >= 0.9 * rps as f64 * r.flood.secs as f64,
        "only {served} requests served in {window} s by a PLC with capacity {rps}/s"
    );
    assert!(
        refused_n as f64 >= 0.8 * r.flood.count() as f64,
        "{refused_n} of {} flood requests refused",
        r.flood.count()
    );

    // After the flood the HMI gets answers again, as in the baseline run.
    let [_, v_after, v_end] = r.victim_at;
    let base_end = r.baseline.hmi(&r.victim);
    assert_eq!(
        v_end.exceptions, v_after.exceptions,
        "exceptions after the flood ended"
    );
    assert_eq!(v_end.timeouts, v_after.timeouts, "timeouts after the flood ended");
    assert!(v_end.answers > v_after.answers);
    assert_eq!(
        v_end.polls, base_end.polls,
        "the flood changed how often the HMI polls"
    );
    assert_eq!(
        (base_end.exceptions, base_end.timeouts),
        (0, 0),
        "baseline run of {} is not clean",
        r.victim
    );

    // The HMI that does not poll the flooded PLC keeps getting its answers.
    let by = r.flooded.hmi(&r.bystander);
    assert_eq!(
        (by.exceptions, by.timeouts),
        (0, 0),
        "{} suffered from a flood on a PLC it does not poll",
        r.bystander
    );
    assert_eq!(by.answers, r.baseline.hmi(&r.bystander).answers);
}

#[test]
fn flood_beyond_capacity_gets_busy_answers_and_the_hmi_sees_them() {
    let mut r = flood_run(OverloadPolicy::Busy);
    check_capacity_and_recovery(&mut r, |s| s.busy);
    let [start, after, _] = r.plc_at;
    assert_eq!(
        after.exceptions - start.exceptions,
        after.busy - start.busy,
        "exceptions other than busy"
    );
    assert_eq!(after.dropped, start.dropped, "a busy-policy PLC dropped requests");

    // During the flood the victim HMI's polls of the PLC are answered "busy" (exception 6),
    // byte for byte on the wire, where the baseline run had none.
    let [v_start, v_after, _] = r.victim_at;
    let busy = v_after.exceptions - v_start.exceptions;
    assert!(busy > 0, "{} saw no busy answers during the flood", r.victim);
    let wire = r.flooded.delivered(r.flood.plc, &r.victim);
    let busy_on_wire: Vec<&Seen> = wire
        .iter()
        .filter(|s| s.adu.get(7).is_some_and(|f| f & 0x80 != 0))
        .collect();
    assert_eq!(busy_on_wire.len() as u64, busy);
    for s in &busy_on_wire {
        assert_eq!(s.adu.len(), 9, "exception ADU {:02x?}", s.adu);
        assert_eq!(s.adu[4..6], [0, 3]);
        assert!(matches!(s.adu[7], 0x81..=0x84), "function {:#04x}", s.adu[7]);
        assert_eq!(s.adu[8], 6, "exception code of {:02x?}", s.adu);
        let t = s.at.as_secs_f64();
        assert!(
            t >= r.flood.start_s as f64 && t <= r.flood.end_s() as f64 + SETTLE_S,
            "busy answer at {t} s, outside the flood"
        );
    }
    let baseline_wire = r.baseline.delivered(r.flood.plc, &r.victim);
    assert!(baseline_wire.iter().all(|s| s.adu[7] & 0x80 == 0));

    // The CPU answers one request after the other: the victim's polls queue behind the
    // flood (a scan's worth of flood is ~100 requests at 1 ms of communication time each).
    // A poll that arrives x ms into a scan waits the rest of the scan and then behind the x
    // flood requests that came before it: about a whole scan, where a clean PLC answers in
    // half of one on average. The victim's mean latency over the flood's window shows it,
    // diluted by its polls of PLCs that are not flooded (75.8 against 63.4 ms, seed 1).
    let window_mean = |a: HmiView, b: HmiView| {
        let sum = |v: HmiView| v.mean_latency_ms * v.answers as f64;
        (sum(b) - sum(a)) / (b.answers - a.answers) as f64
    };
    let flooded = window_mean(v_start, v_after);
    let clean = window_mean(r.base_at[0], r.base_at[1]);
    assert!(
        flooded > clean + 8.0,
        "mean poll latency during the flood {flooded:.1} ms, {clean:.1} ms without it"
    );
}

#[test]
fn flood_beyond_capacity_with_drop_policy_times_out_the_hmi() {
    let mut r = flood_run(OverloadPolicy::Drop);
    check_capacity_and_recovery(&mut r, |s| s.dropped);
    let [start, after, _] = r.plc_at;
    assert_eq!(
        after.exceptions, start.exceptions,
        "a drop-policy PLC answered exceptions"
    );

    // The victim HMI's polls go unanswered and time out, where the baseline had no timeouts.
    let [v_start, v_after, _] = r.victim_at;
    let timeouts = v_after.timeouts - v_start.timeouts;
    assert!(timeouts > 0, "{} had no poll timeouts during the flood", r.victim);
    let base = r.baseline.hmi(&r.victim);
    assert!(
        v_after.answers < base.answers,
        "{} got as many answers during the flood as without it",
        r.victim
    );
    let events = r.flooded.sim.drain_events();
    let logged: Vec<&str> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::PollTimeout { client, device } if *client == r.victim => Some(device.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(logged.len() as u64, timeouts, "poll timeouts in the event log");
    assert!(
        logged.iter().all(|d| *d == r.flood.plc),
        "timeouts on other PLCs: {logged:?}"
    );
}
