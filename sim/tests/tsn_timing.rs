//! TSN timing against values computed by hand: a time-aware shaper's windows (the set-up of
//! INET's time-aware shaping showcase), NeSTiNg's length-aware scheduling bound, the
//! credit-based shaper's rate, preemption, floods, inline inspection and a lost sync.

use otrange_sim::base::events::{Event, EventKind, EventLog};
use otrange_sim::base::time::{SimDuration, SimTime};
use otrange_sim::net::tsn::StreamFigures;
use otrange_sim::net::tsn::port::PortStats;
use otrange_sim::net::{Action, Frame, Hop, Middlebox, Stage};
use otrange_sim::plant::{PlantConfig, build};
use std::collections::BTreeMap;

/// Hosts on one switch, every clock perfect unless the plant says otherwise.
fn plant(hosts: &[&str], links: &str, tsn: &str) -> String {
    let mut s = String::from(
        "[plant]\nname = \"tsn\"\n[[zone]]\nname = \"cell\"\nlevel = \"L1\"\n\
         [[host]]\nname = \"s0\"\nrole = \"switch\"\nzone = \"cell\"\naddress = \"10.0.0.1\"\nforwarding_delay = \"2us\"\n",
    );
    for (i, h) in hosts.iter().enumerate() {
        s += &format!(
            "[[host]]\nname = \"{h}\"\nrole = \"plc\"\nzone = \"cell\"\naddress = \"10.0.0.{}\"\n",
            i + 10
        );
    }
    s += links;
    s += "[tsn]\ndrift_ppm = 0.0\nsync_precision = \"0s\"\n";
    s += tsn;
    s
}

fn links(hosts: &[&str], bandwidth: &str, latency: &str) -> String {
    hosts
        .iter()
        .map(|h| {
            format!(
                "[[link]]\na = \"{h}\"\nb = \"s0\"\nbandwidth = \"{bandwidth}\"\nlatency = \"{latency}\"\n"
            )
        })
        .collect()
}

struct Run {
    events: Vec<Event>,
}

impl Run {
    fn new(src: &str, secs: f64, boxes: Vec<(Box<dyn Middlebox>, &str)>) -> Run {
        let cfg: PlantConfig = toml::from_str(src).expect("test plant parses");
        let mut sim = build(&cfg, 7).expect("test plant builds");
        sim.world.resource_mut::<EventLog>().log_frames = true;
        for (b, at) in boxes {
            let node = sim.network().topology().host_by_name(at).unwrap();
            sim.network_mut().add_middlebox(b, Stage::Inline, &[node]);
        }
        sim.run_until(SimTime(SimDuration::from_secs_f64(secs).as_nanos()));
        sim.finish();
        Run {
            events: sim.drain_events(),
        }
    }
    fn stream(&self, name: &str) -> StreamFigures {
        self.events
            .iter()
            .find_map(|e| match &e.kind {
                EventKind::StreamSummary { stream, figures } if stream == name => Some(figures.clone()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no summary of stream {name}"))
    }
    fn port(&self, name: &str) -> PortStats {
        self.events
            .iter()
            .find_map(|e| match &e.kind {
                EventKind::TsnPortSummary { port, stats } if port == name => Some(stats.clone()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no summary of port {name}"))
    }
    /// Latency of every delivered frame to `dst`, in frame order.
    fn latencies_to(&self, dst: &str) -> Vec<u64> {
        self.events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::FrameDelivered {
                    dst: d, latency_ns, ..
                } if d == dst => Some(*latency_ns),
                _ => None,
            })
            .collect()
    }
    fn misses(&self) -> Vec<&EventKind> {
        self.events
            .iter()
            .map(|e| &e.kind)
            .filter(|k| matches!(k, EventKind::StreamDeadlineMissed { .. }))
            .collect()
    }
}

/// Nanoseconds to send `bytes` at `bps`.
fn ser(bytes: u64, bps: u64) -> u64 {
    (bytes * 8 * 1_000_000_000).div_ceil(bps)
}

#[test]
fn each_class_in_its_own_window_has_the_latency_computed_by_hand() {
    // INET's time-aware shaping showcase: two talkers, one switch, one server port, two
    // classes each with its own window of a 1 ms cycle, 100 Mb/s. Here video (PCP 4 ->
    // class 4) may send in [0, 300 us), best effort (PCP 0 -> class 1) in [300 us, 1 ms).
    let hosts = ["client1", "client2", "server"];
    let src = plant(
        &hosts,
        &links(&hosts, "100Mbps", "1us"),
        r#"
        [[tsn.switch]]
        host = "s0"
        ports = ["server"]
        gates = [
            { open = [4], duration = "300us" },
            { open = [0, 1, 2, 3, 5, 6, 7], duration = "700us" },
        ]
        [[tsn.stream]]
        name = "video"
        talker = "client1"
        listeners = ["server"]
        pcp = 4
        period = "1ms"
        payload = 500
        [[tsn.stream]]
        name = "best-effort"
        talker = "client2"
        listeners = ["server"]
        pcp = 0
        period = "1ms"
        payload = 1000
        "#,
    );
    let run = Run::new(&src, 0.0495, vec![]);
    // Serialisation counts the frame (payload + 14 header + 4 FCS) and 24 bytes more:
    // preamble and SFD 8, inter-frame gap 12, VLAN tag 4.
    let video_wire = ser(500 + 18 + 24, 100_000_000);
    let be_wire = ser(1000 + 18 + 24, 100_000_000);
    assert_eq!(video_wire, 43_360);
    assert_eq!(be_wire, 83_360);
    let (prop, fwd) = (1_000, 2_000);
    // Video: talker's link, propagation, the switch, its window is open: no wait.
    let video = video_wire + prop + fwd + video_wire + prop;
    assert_eq!(video, 90_720);
    // Best effort reaches the port at 86.36 us and waits for its gate at 300 us.
    let at_port = be_wire + prop + fwd;
    let gate_wait = 300_000 - at_port;
    assert_eq!(gate_wait, 213_640);
    let be = at_port + gate_wait + be_wire + prop;
    assert_eq!(be, 384_360);
    let v = run.stream("video");
    let b = run.stream("best-effort");
    assert_eq!((v.sent, v.delivered, b.sent, b.delivered), (50, 50, 50, 50));
    let l = v.latency.unwrap();
    assert_eq!((l.min_ns, l.max_ns, l.jitter_ns), (video, video, 0));
    let l = b.latency.unwrap();
    assert_eq!((l.min_ns, l.max_ns), (be, be));
    // Frame by frame, from the log.
    let all = run.latencies_to("server");
    assert_eq!(all.len(), 100);
    assert!(all.iter().all(|&x| x == video || x == be), "{all:?}");
}

/// NeSTiNg's length-aware scheduling case: h0 - s0 - h1 at 1 Gb/s, 2 us processing, a
/// 100-byte time-triggered flow; h2 sends maximum-size best-effort frames to h1 too.
fn nesting(tsn_switch: &str, be_period: &str) -> String {
    let hosts = ["h0", "h1", "h2"];
    plant(
        &hosts,
        &links(&hosts, "1Gbps", "0s"),
        &format!(
            r#"
            {tsn_switch}
            [[tsn.stream]]
            name = "tt"
            talker = "h0"
            listeners = ["h1"]
            pcp = 7
            period = "1ms"
            payload = 100
            deadline = "4272ns"
            [[tsn.stream]]
            name = "be"
            talker = "h2"
            listeners = ["h1"]
            pcp = 0
            period = "{be_period}"
            offset = "1us"
            payload = 1500
            deadline = "1ms"
            "#
        ),
    )
}

/// 2 x (100 + 42) x 8 / 1e9 s + 2 us.
const NESTING_BOUND: u64 = 4_272;
/// A 1,542-byte best-effort frame at 1 Gb/s.
const MAX_FRAME_1G: u64 = 12_336;

#[test]
fn a_guard_band_keeps_the_time_triggered_flow_within_nesting_s_bound() {
    assert_eq!(2 * ser(142, 1_000_000_000) + 2_000, NESTING_BOUND);
    assert_eq!(ser(1542, 1_000_000_000), MAX_FRAME_1G);
    // Class 7 alone in [0, 10 us) of each 1 ms cycle; length-aware: a best-effort frame
    // starts only if it ends by the close of its window, so the port is idle at 0.
    let run = Run::new(
        &nesting(
            r#"[[tsn.switch]]
            host = "s0"
            gates = [{ open = [7], duration = "10us" }, { open = [0, 1, 2, 3, 4, 5, 6], duration = "990us" }]"#,
            "12499ns",
        ),
        1.0,
        vec![],
    );
    let tt = run.stream("tt");
    assert_eq!(tt.delivered, 1000);
    let l = tt.latency.unwrap();
    assert_eq!((l.min_ns, l.max_ns), (NESTING_BOUND, NESTING_BOUND));
    assert_eq!(tt.deadline_misses, 0);
    // The best-effort flow really loaded the port.
    let be = run.stream("be");
    assert!(be.delivered > 75_000, "{be:?}");
}

#[test]
fn without_a_guard_band_a_best_effort_frame_on_the_wire_delays_the_flow_by_up_to_its_length() {
    // Strict priority only: no gates. The best-effort period (12.499 us) slides its phase
    // by 80 ns a cycle against the 1 ms flow, so the flow meets every point of a frame.
    let run = Run::new(&nesting("[[tsn.switch]]\nhost = \"s0\"", "12499ns"), 1.0, vec![]);
    let tt = run.stream("tt");
    let l = tt.latency.unwrap();
    assert_eq!(l.min_ns, NESTING_BOUND);
    assert!(l.max_ns > NESTING_BOUND + MAX_FRAME_1G - 200, "{l:?}");
    assert!(l.max_ns <= NESTING_BOUND + MAX_FRAME_1G, "{l:?}");
    assert!(tt.deadline_misses > 0);
    let (cause, _) = tt.misses_by_cause.iter().next().unwrap();
    assert_eq!(cause, "s0, queue 7: port busy sending a class 1 frame");
    // Gates without the length-aware rule: a frame started late in its window overruns it.
    let run = Run::new(
        &nesting(
            r#"[[tsn.switch]]
            host = "s0"
            length_aware = false
            gates = [{ open = [7], duration = "10us" }, { open = [0, 1, 2, 3, 4, 5, 6], duration = "990us" }]"#,
            "12499ns",
        ),
        1.0,
        vec![],
    );
    assert!(run.stream("tt").latency.unwrap().max_ns > NESTING_BOUND + 6_000);
    assert!(run.port("s0 -> h1").overruns > 0);
}

#[test]
fn preemption_bounds_the_wait_to_a_minimum_fragment() {
    let run = Run::new(
        &nesting(
            "[[tsn.switch]]\nhost = \"s0\"\npreemption = true\nexpress = [7]",
            "12499ns",
        ),
        1.0,
        vec![],
    );
    let l = run.stream("tt").latency.unwrap();
    // At worst the flow waits for 60 bytes + preamble to be sent and the fragment to end
    // (mCRC and gap): 84 bytes, 672 ns at 1 Gb/s.
    assert!(l.max_ns > NESTING_BOUND, "{l:?}");
    assert!(l.max_ns <= NESTING_BOUND + ser(84, 1_000_000_000), "{l:?}");
    let port = run.port("s0 -> h1");
    assert!(port.preemptions > 0);
    // Preempted best-effort frames still all arrive.
    let be = run.stream("be");
    assert_eq!(be.dropped, 0);
    assert!(be.sent - be.delivered <= 3, "{be:?}");
}

#[test]
fn the_credit_based_shaper_holds_its_class_to_the_idle_slope() {
    // A talker offers 1042-byte frames every 10 us (834 Mb/s) to a 100 Mb/s port whose
    // class 5 is shaped to 20 Mb/s: the class leaves at the idle slope, the rest is dropped.
    let hosts = ["talker", "listener"];
    let src = plant(
        &hosts,
        "[[link]]\na = \"talker\"\nb = \"s0\"\nbandwidth = \"1Gbps\"\nlatency = \"0s\"\n\
         [[link]]\na = \"s0\"\nb = \"listener\"\nbandwidth = \"100Mbps\"\nlatency = \"0s\"\n",
        r#"
        [[tsn.switch]]
        host = "s0"
        cbs = [{ class = 5, idle_slope = "20Mbps" }]
        [[tsn.stream]]
        name = "av"
        talker = "talker"
        listeners = ["listener"]
        pcp = 5
        period = "10us"
        payload = 1000
        deadline = "1s"
        "#,
    );
    let secs = 10.0;
    let run = Run::new(&src, secs, vec![]);
    let port = run.port("s0 -> listener");
    let bits = port.sent[5] as f64 * 1042.0 * 8.0;
    let rate = bits / secs;
    assert!((rate - 20e6).abs() / 20e6 < 0.001, "{rate} b/s");
    assert!(port.dropped[5] > 0);
    let av = run.stream("av");
    assert!(
        av.drops_by_cause.keys().any(|k| k == "s0: TSN queue 5 full"),
        "{av:?}"
    );
}

/// The NeSTiNg set-up at 100 Mb/s with a tight window and a flood source: full-size
/// best-effort frames, or, tagged into the protected class, frames short enough for its
/// window.
fn protected(switch: &str, flood_pcp: u8) -> String {
    let (flood_period, flood_payload) = if flood_pcp == 7 {
        ("20us", 200)
    } else {
        ("123us", 1500)
    };
    let hosts = ["h0", "h1", "h2"];
    plant(
        &hosts,
        &links(&hosts, "100Mbps", "1us"),
        &format!(
            r#"
            {switch}
            [[tsn.stream]]
            name = "io"
            talker = "h0"
            listeners = ["h1"]
            pcp = 7
            period = "1ms"
            payload = 64
            deadline = "40us"
            [[tsn.stream]]
            name = "flood"
            talker = "h2"
            listeners = ["h1"]
            pcp = {flood_pcp}
            period = "{flood_period}"
            payload = {flood_payload}
            deadline = "1s"
            "#
        ),
    )
}

const GATED: &str = r#"[[tsn.switch]]
host = "s0"
gates = [{ open = [7], duration = "50us" }, { open = [0, 1, 2, 3, 4, 5, 6], duration = "950us" }]"#;

#[test]
fn under_a_best_effort_flood_the_window_keeps_the_stream_on_time_and_strict_priority_does_not() {
    let gated = Run::new(&protected(GATED, 0), 2.0, vec![]);
    let io = gated.stream("io");
    assert_eq!(io.deadline_misses, 0, "{io:?}");
    assert!(io.latency.unwrap().max_ns <= 50_000);
    let strict = Run::new(&protected("[[tsn.switch]]\nhost = \"s0\"", 0), 2.0, vec![]);
    let io = strict.stream("io");
    assert!(io.deadline_misses > 0, "{io:?}");
    let miss = strict.misses()[0];
    let EventKind::StreamDeadlineMissed {
        node, queue, cause, ..
    } = miss
    else {
        unreachable!()
    };
    assert_eq!((node.as_deref(), *queue), (Some("s0"), Some(7)));
    assert_eq!(cause.as_deref(), Some("port busy sending a class 1 frame"));
}

#[test]
fn a_flood_into_the_protected_class_makes_the_stream_miss_and_says_where() {
    // The flood is tagged PCP 7: same window, same queue.
    let run = Run::new(&protected(GATED, 7), 2.0, vec![]);
    let io = run.stream("io");
    assert!(io.deadline_misses > 0, "{io:?}");
    assert!(
        io.misses_by_cause.keys().all(|k| k.starts_with("s0, queue 7: ")),
        "{:?}",
        io.misses_by_cause
    );
}

/// An inline inspection box that holds every frame.
struct Inspection(SimDuration);
impl Middlebox for Inspection {
    fn name(&self) -> &str {
        "inspection"
    }
    fn on_frame(&mut self, _: &Hop<'_>, _: &mut Frame) -> Action {
        Action::Pass
    }
    fn inline_delay(&self) -> SimDuration {
        self.0
    }
}

#[test]
fn an_inline_inspection_longer_than_the_slack_makes_every_frame_late_at_its_node() {
    // Slack: deadline 40 us - (2 x 8.48 us + 2 x 1 us + 2 us) = 19.04 us.
    let small = Run::new(
        &protected(GATED, 0),
        0.5,
        vec![(Box::new(Inspection(SimDuration::from_micros(15))), "s0")],
    );
    assert_eq!(small.stream("io").deadline_misses, 0);
    let large = Run::new(
        &protected(GATED, 0),
        0.5,
        vec![(Box::new(Inspection(SimDuration::from_micros(25))), "s0")],
    );
    let io = large.stream("io");
    assert_eq!(io.deadline_misses, io.delivered);
    let causes: BTreeMap<_, _> = io.misses_by_cause.into_iter().collect();
    assert_eq!(
        causes.keys().collect::<Vec<_>>(),
        ["s0, queue 7: inline inspection delay"]
    );
}

#[test]
fn a_switch_that_loses_sync_slides_its_window_away_from_the_talker() {
    // The switch runs 100 ppm fast; from 1 s on it gets no corrections: 50 us later its
    // 50 us window no longer holds the stream's arrival.
    let clocked =
        format!("{GATED}\n[[tsn.clock]]\nhost = \"s0\"\ndrift_ppm = 100.0\nsync_lost_at = \"1s\"\n");
    let src = protected(&clocked, 0).replace("drift_ppm = 0.0", "drift_ppm = 0.0\nsync_interval = \"125ms\"");
    let run = Run::new(&src, 3.0, vec![]);
    let io = run.stream("io");
    assert!(io.deadline_misses > 500, "{io:?}");
    let first = run
        .events
        .iter()
        .find(|e| matches!(e.kind, EventKind::StreamDeadlineMissed { .. }))
        .unwrap();
    assert!(first.t.as_secs_f64() > 1.0, "first miss at {}", first.t);
    // The window has slid: the frame finds its gate closed, or the port already sending
    // best-effort traffic in what the switch now takes for the best-effort window.
    assert!(
        io.misses_by_cause.keys().all(|k| k.starts_with("s0, queue 7: ")),
        "{:?}",
        io.misses_by_cause
    );
    assert!(io.misses_by_cause.keys().any(|k| k.ends_with("gate closed")));
}

/// An inline box that swallows every frame from `after` on: a cut cable, in effect.
struct Cut(SimTime);
impl Middlebox for Cut {
    fn name(&self) -> &str {
        "cut"
    }
    fn on_frame(&mut self, hop: &Hop<'_>, _: &mut Frame) -> Action {
        if hop.now >= self.0 {
            Action::Drop
        } else {
            Action::Pass
        }
    }
}

#[test]
fn lost_output_frames_trip_the_remote_io_watchdog_and_its_actuator_goes_safe() {
    let hosts = ["plc", "rio"];
    let mut src = plant(&hosts, &links(&hosts, "100Mbps", "1us"), "");
    src = src.replace(
        "role = \"plc\"\nzone = \"cell\"\naddress = \"10.0.0.11\"",
        "role = \"remote-io\"\nzone = \"cell\"\naddress = \"10.0.0.11\"",
    );
    src += r#"
        [[process.pump]]
        name = "pump"
        max_flow_m3s = 0.1
        initial_run = 1
        initial_speed = 0.2
        [[plc]]
        host = "plc"
        scan_period = "10ms"
        [plc.modbus]
        unit_ids = [1]
        coils = 8
        discrete_inputs = 8
        input_registers = 8
        holding_registers = 8
        [[plc.init]]
        address = "hr:0"
        value = 800
        [[remote_io]]
        host = "rio"
        plc = "plc"
        cycle = "4ms"
        watchdog = "12ms"
        inputs = [{ signal = "pump.flow", to = "ir:0", scale = 10000.0 }]
        outputs = [{ from = "hr:0", signal = "pump.speed", scale = 0.001, safe = 0.0 }]
    "#;
    let cfg: PlantConfig = toml::from_str(&src).expect("test plant parses");
    let mut sim = build(&cfg, 1).expect("test plant builds");
    let s0 = sim.network().topology().host_by_name("s0").unwrap();
    let cut = SimTime(SimDuration::from_secs(2).as_nanos());
    sim.network_mut()
        .add_middlebox(Box::new(Cut(cut)), Stage::Inline, &[s0]);
    let speed = |sim: &otrange_sim::Sim| {
        let ps = sim.world.resource::<otrange_sim::process::state::ProcessState>();
        let id = ps.process.signal_id("pump.speed").unwrap();
        ps.process.get(id)
    };
    sim.run_until(SimTime(SimDuration::from_secs(1).as_nanos()));
    // The PLC's 800 per mille came down the stream.
    assert!((speed(&sim) - 0.8).abs() < 1e-9, "{}", speed(&sim));
    sim.run_until(SimTime(SimDuration::from_secs(3).as_nanos()));
    assert_eq!(speed(&sim), 0.0, "the watchdog put the pump in its safe state");
    sim.finish();
    let events = sim.drain_events();
    let trip = events
        .iter()
        .find(|e| matches!(&e.kind, EventKind::RemoteIoWatchdog { tripped: true, .. }))
        .expect("a watchdog trip is logged");
    assert!(
        trip.t > cut && trip.t.as_nanos() < cut.as_nanos() + 30_000_000,
        "{}",
        trip.t
    );
}

#[test]
fn bad_tsn_sections_are_refused_naming_the_field() {
    let hosts = ["h0", "h1"];
    let base = plant(&hosts, &links(&hosts, "100Mbps", "1us"), "");
    let err = |tsn: &str| {
        let src = format!("{base}{tsn}");
        let cfg: PlantConfig = toml::from_str(&src).expect("parses");
        let e = build(&cfg, 1).err().expect("refused");
        let span = e.span.clone().map(|s| src[s].to_string());
        (e.field, e.message, span)
    };
    let (field, msg, span) =
        err("[[tsn.switch]]\nhost = \"s0\"\ngates = [{ open = [9], duration = \"1ms\" }]\n");
    assert_eq!(field, "tsn.switch[0].gates[0].open");
    assert!(msg.contains("traffic class 9"), "{msg}");
    assert_eq!(span.as_deref(), Some("[9]"));
    let (field, msg, _) = err("[[tsn.switch]]\nhost = \"h0\"\n");
    assert_eq!(field, "tsn.switch[0].host");
    assert!(msg.contains("expected switch"), "{msg}");
    let (field, msg, _) = err(
        "[[tsn.stream]]\nname = \"x\"\ntalker = \"h0\"\nlisteners = [\"h1\"]\nperiod = \"1ms\"\noffset = \"2ms\"\n",
    );
    assert_eq!(field, "tsn.stream[0].offset");
    assert!(msg.contains("shorter than the period"), "{msg}");
    let (field, msg, _) =
        err("[[tsn.stream]]\nname = \"x\"\ntalker = \"h0\"\nlisteners = [\"nobody\"]\nperiod = \"1ms\"\n");
    assert_eq!(field, "tsn.stream[0].listeners[0]");
    assert!(msg.contains("unknown host \"nobody\""), "{msg}");
    let (field, msg, _) =
        err("[[tsn.switch]]\nhost = \"s0\"\ncbs = [{ class = 5, idle_slope = \"200Mbps\" }]\n");
    assert_eq!(field, "tsn.switch[0].cbs[0].idle_slope");
    assert!(msg.contains("below the port's rate"), "{msg}");
}

#[test]
fn a_stream_cannot_cross_a_router() {
    let src = plant(&["h0", "h1"], "", "").replace(
        "[tsn]",
        "[[host]]\nname = \"r0\"\nrole = \"router\"\nzone = \"cell\"\naddress = \"10.0.0.2\"\n\
         [[link]]\na = \"h0\"\nb = \"s0\"\n[[link]]\na = \"s0\"\nb = \"r0\"\n[[link]]\na = \"r0\"\nb = \"h1\"\n[tsn]",
    ) + "[[tsn.stream]]\nname = \"x\"\ntalker = \"h0\"\nlisteners = [\"h1\"]\nperiod = \"1ms\"\n";
    let cfg: PlantConfig = toml::from_str(&src).expect("parses");
    let e = build(&cfg, 1).err().expect("refused");
    assert_eq!(e.field, "tsn.stream[0].listeners");
    assert!(e.message.contains("crosses router \"r0\""), "{}", e.message);
}

/// Frames taken on at once when the queue would hand them back next (the network's direct
/// hops, on by default) change nothing, here where it is hardest: a stream to three
/// listeners split at two switches, the copies' branches of different lengths through gated
/// ports, drifting clocks, and a second stream and best-effort traffic on the same ports.
/// Each copy must leave its switch before any goes further, so that the log stays in time
/// order and ties keep the queue's order.
#[test]
fn frames_taken_on_at_once_change_nothing_even_when_a_stream_fans_out() {
    let src = String::from("[plant]\nname = \"fan-out\"\n[[zone]]\nname = \"cell\"\nlevel = \"L1\"\n")
        + &["s0", "s1", "s2"]
            .iter()
            .enumerate()
            .map(|(i, s)| {
                format!(
                    "[[host]]\nname = \"{s}\"\nrole = \"switch\"\nzone = \"cell\"\naddress = \"10.0.0.{}\"\n\
                 forwarding_delay = \"2us\"\n",
                    i + 1
                )
            })
            .collect::<String>()
        + &["h0", "h1", "h2", "h3", "h4"]
            .iter()
            .enumerate()
            .map(|(i, h)| {
                format!(
                    "[[host]]\nname = \"{h}\"\nrole = \"plc\"\nzone = \"cell\"\naddress = \"10.0.0.{}\"\n",
                    i + 10
                )
            })
            .collect::<String>()
        + &[
            ("h0", "s0"),
            ("h1", "s0"),
            ("s0", "s1"),
            ("h2", "s1"),
            ("s1", "s2"),
            ("h3", "s2"),
            ("h4", "s1"),
        ]
        .iter()
        .map(|(a, b)| {
            format!("[[link]]\na = \"{a}\"\nb = \"{b}\"\nbandwidth = \"100Mbps\"\nlatency = \"1us\"\n")
        })
        .collect::<String>()
        + r#"
        [tsn]
        sync_interval = "10ms"
        sync_precision = "100ns"
        drift_ppm = 20.0
        [[tsn.switch]]
        host = "s1"
        gates = [
            { open = [7], duration = "200us" },
            { open = [0, 1, 2, 3, 4, 5, 6], duration = "300us" },
        ]
        [[tsn.switch]]
        host = "s2"
        gates = [
            { open = [7], duration = "100us" },
            { open = [0, 1, 2, 3, 4, 5, 6], duration = "400us" },
        ]
        [[tsn.stream]]
        name = "fan-out"
        talker = "h0"
        listeners = ["h3", "h2", "h4", "h1"]
        pcp = 7
        period = "500us"
        payload = 200
        [[tsn.stream]]
        name = "back"
        talker = "h3"
        listeners = ["h0"]
        pcp = 7
        period = "1ms"
        offset = "30us"
        payload = 100
        [[tsn.stream]]
        name = "bulk"
        talker = "h4"
        listeners = ["h3", "h1"]
        pcp = 0
        period = "2ms"
        offset = "10us"
        payload = 1000
        "#;
    let cfg: PlantConfig = toml::from_str(&src).expect("test plant parses");
    let run = |direct: bool| {
        let mut sim = build(&cfg, 3).expect("test plant builds");
        sim.world.resource_mut::<EventLog>().log_frames = true;
        sim.network_mut().set_direct_hops(direct);
        sim.run_until(SimTime(SimDuration::from_millis(200).as_nanos()));
        sim.finish();
        sim.drain_events()
    };
    let (direct, queued) = (run(true), run(false));
    let delivered = |events: &[Event]| {
        events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::FrameDelivered { .. }))
            .count()
    };
    // 400 fan-out frames to four listeners, 200 back, 100 bulk frames to two.
    assert_eq!(delivered(&queued), 2_000);
    assert_eq!(direct.len(), queued.len());
    for (i, (d, q)) in direct.iter().zip(&queued).enumerate() {
        assert_eq!(format!("{d:?}"), format!("{q:?}"), "event {i} differs");
    }
    assert!(
        direct.windows(2).all(|w| w[0].t <= w[1].t),
        "the log is in time order"
    );
}
