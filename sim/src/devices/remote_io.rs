//! Remote I/O: a field module that exchanges its process data with a PLC over two TSN
//! streams every cycle, as PROFINET or EtherNet/IP I/O devices do: inputs (sensors) go up to
//! the PLC, outputs (actuator commands) come down from it.
//!
//! The PLC's program sees an input as of the last uplink frame that arrived, so late or
//! lost frames reach its control as stale values; the module drives its actuators from the
//! last downlink frame, and when none has come for its watchdog time it puts them in their
//! safe state (the substitute values of a lost I/O connection) until frames come back.
//!
//! Frames are released by the network on the module's and the PLC's clocks without ticking
//! the world: between two ticks neither the process nor the PLC's registers change, so each
//! tick refreshes the data the next frames carry and applies the last frames received.

use super::kind::{BuildCx, DeviceKind, KindSystems};
use super::plc::Plc;
use crate::base::clock::Clock;
use crate::base::config_error::ConfigError;
use crate::base::events::{EventKind, EventLog};
use crate::base::time::{DurationField, SimDuration, SimTime};
use crate::net::Network;
use crate::net::topology::{HostId, Role};
use crate::net::tsn::stream::{self, StreamSpec};
use crate::plc_logic::operand::to_raw;
use crate::plc_logic::{Area, PlcMemory, parse_address};
use crate::process::SignalId;
use crate::process::state::ProcessState;
use crate::world::SimSet;
use bevy_ecs::prelude::*;
use serde::{Deserialize, Serialize};
use toml::Spanned;

/// `[[remote_io]]` in a plant file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteIoConfig {
    /// The `[[host]]` (role `remote-io`).
    pub host: Spanned<String>,
    /// The PLC it exchanges data with (a `[[plc]]`).
    pub plc: Spanned<String>,
    /// Time between two exchanges (the streams' period).
    pub cycle: Spanned<DurationField>,
    /// VLAN priority of both streams (default 7).
    #[serde(default = "default_pcp")]
    pub pcp: u8,
    /// When the module sends its inputs within the cycle, on its clock (default 0).
    pub uplink_offset: Option<Spanned<DurationField>>,
    /// When the PLC sends the outputs within the cycle, on its clock (default half a cycle).
    pub downlink_offset: Option<Spanned<DurationField>>,
    /// Latency beyond which a frame is late (default: the cycle).
    pub deadline: Option<Spanned<DurationField>>,
    /// Silence after which outputs go to their safe state (default three cycles).
    pub watchdog: Option<Spanned<DurationField>>,
    /// Sensors: process signal into a PLC register (`to`, "ir:" or "hr:").
    #[serde(default)]
    pub inputs: Vec<RemoteInput>,
    /// Actuators: a PLC register (`from`) out to a process signal.
    #[serde(default)]
    pub outputs: Vec<RemoteOutput>,
}

fn default_pcp() -> u8 {
    7
}

/// A sensor wired to the module: raw = value x scale + offset, into the PLC's `to`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteInput {
    /// The process signal.
    pub signal: Spanned<String>,
    /// The PLC register it lands in.
    pub to: Spanned<String>,
    /// Multiplier (default 1).
    #[serde(default = "one")]
    pub scale: f64,
    /// Added after scaling (default 0).
    #[serde(default)]
    pub offset: f64,
}

/// An actuator wired to the module: value = raw x scale + offset, from the PLC's `from`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteOutput {
    /// The PLC register whose value is sent down.
    pub from: Spanned<String>,
    /// The process signal it drives.
    pub signal: Spanned<String>,
    /// Multiplier (default 1).
    #[serde(default = "one")]
    pub scale: f64,
    /// Added after scaling (default 0).
    #[serde(default)]
    pub offset: f64,
    /// The signal's value when the watchdog has tripped (default 0: off, closed).
    #[serde(default)]
    pub safe: f64,
}

fn one() -> f64 {
    1.0
}

#[derive(Debug, Clone)]
struct Wire {
    signal: SignalId,
    area: Area,
    addr: u16,
    scale: f64,
    offset: f64,
    safe: f64,
}

/// A remote I/O module.
#[derive(Component, Debug)]
pub struct RemoteIo {
    name: String,
    plc: Entity,
    plc_host: HostId,
    uplink: usize,
    downlink: usize,
    inputs: Vec<Wire>,
    outputs: Vec<Wire>,
    watchdog: SimDuration,
    /// Whether the outputs are in their safe state for lack of frames.
    tripped: bool,
    trips: u64,
    last_in_seq: Option<u64>,
    last_out_seq: Option<u64>,
}

/// A remote I/O module's account of the run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RemoteIoFigures {
    /// The PLC it serves.
    pub plc: String,
    /// Input frames the PLC took in.
    pub inputs_received: u64,
    /// Output frames the module took in.
    pub outputs_received: u64,
    /// The cycle of the last input frame the PLC took in, from 0.
    pub last_input_cycle: Option<u64>,
    /// The cycle of the last output frame the module took in.
    pub last_output_cycle: Option<u64>,
    /// Times its watchdog put the outputs in their safe state.
    pub watchdog_trips: u64,
}

impl RemoteIo {
    /// Field I/O: the module's inputs go into the data its next uplink frames carry, and the
    /// last uplink frame the PLC received goes into the PLC's registers.
    pub(crate) fn mirror_inputs(&self, process: &ProcessState, net: &mut Network, plc: Option<&mut Plc>) {
        let value = |w: &Wire| to_raw(process.process.get(w.signal) * w.scale + w.offset);
        let tsn = net.tsn_mut();
        let stream = &mut tsn.streams[self.uplink];
        // Most ticks change nothing the module measures: a new image only when one does.
        if stream.data.len() != self.inputs.len()
            || self
                .inputs
                .iter()
                .zip(stream.data.iter())
                .any(|(w, v)| value(w) != *v)
        {
            stream.data = self.inputs.iter().map(value).collect();
        }
        let Some(stream::Received { words, .. }) = &tsn.streams[self.uplink].received[0] else {
            return;
        };
        let Some(plc) = plc else {
            return;
        };
        let mut cpu = plc.cpu.get();
        let map = cpu.server.map_mut();
        for (w, v) in self.inputs.iter().zip(words.iter()) {
            map.set(w.area, w.addr, *v);
        }
    }

    /// Control, after the PLCs' scans: the PLC's output registers go into the module's next
    /// downlink frames; the module drives its actuators from the last downlink frame, or
    /// its safe values when the watchdog has tripped.
    pub(crate) fn mirror_outputs(
        &mut self,
        now: SimTime,
        process: &mut ProcessState,
        net: &mut Network,
        log: &mut EventLog,
        plc: Option<&mut Plc>,
    ) {
        let rio = self;
        if let Some(plc) = plc {
            let cpu = plc.cpu.get();
            let map = cpu.server.map();
            let value = |w: &Wire| map.get(w.area, w.addr).unwrap_or(0);
            let stream = &mut net.tsn_mut().streams[rio.downlink];
            if stream.data.len() != rio.outputs.len()
                || rio
                    .outputs
                    .iter()
                    .zip(stream.data.iter())
                    .any(|(w, v)| value(w) != *v)
            {
                stream.data = rio.outputs.iter().map(value).collect();
            }
        }
        let tsn = net.tsn();
        rio.last_in_seq = tsn.streams[rio.uplink].received[0].as_ref().map(|r| r.seq);
        // Borrowed, not cloned: a clone's atomic count up and down was half this call's samples.
        let Some(stream::Received { seq, at, words }) = tsn.streams[rio.downlink].received[0].as_ref() else {
            return;
        };
        let (seq, at) = (*seq, *at);
        rio.last_out_seq = Some(seq);
        let silent = now.saturating_since(SimTime(at));
        let trip = silent > rio.watchdog;
        if trip != rio.tripped {
            rio.tripped = trip;
            rio.trips += u64::from(trip);
            log.push(
                now,
                EventKind::RemoteIoWatchdog {
                    device: rio.name.clone(),
                    tripped: trip,
                    silent_ns: silent.as_nanos(),
                },
            );
        }
        for (w, v) in rio.outputs.iter().zip(words.iter()) {
            let value = if trip {
                w.safe
            } else {
                f64::from(*v) * w.scale + w.offset
            };
            process.process.set(w.signal, value);
        }
    }

    /// The PLC it serves.
    pub(crate) fn plc(&self) -> Entity {
        self.plc
    }
}

/// Field I/O: every module mirrors its inputs (`RemoteIo::mirror_inputs`).
pub fn remote_io_inputs(
    process: Res<ProcessState>,
    mut net: ResMut<Network>,
    rios: Query<&RemoteIo>,
    mut plcs: Query<&mut Plc>,
) {
    for rio in &rios {
        let plc = plcs.get_mut(rio.plc).ok();
        rio.mirror_inputs(&process, &mut net, plc.map(|p| p.into_inner()));
    }
}

/// Control, after the PLCs' scans: every module mirrors its outputs
/// (`RemoteIo::mirror_outputs`).
pub fn remote_io_outputs(
    clock: Res<Clock>,
    mut process: ResMut<ProcessState>,
    mut net: ResMut<Network>,
    mut log: ResMut<EventLog>,
    mut rios: Query<&mut RemoteIo>,
    mut plcs: Query<&mut Plc>,
) {
    for mut rio in &mut rios {
        let plc = plcs.get_mut(rio.plc).ok();
        rio.mirror_outputs(
            clock.now,
            &mut process,
            &mut net,
            &mut log,
            plc.map(|p| p.into_inner()),
        );
    }
}

/// The kind: `[[remote_io]]`.
pub struct RemoteIoKind;

/// Builds the `i`th `[[remote_io]]` module: its wires into its PLC's registers, its two
/// streams and its entity.
fn build_module(c: &RemoteIoConfig, i: usize, cx: &mut BuildCx<'_>) -> Result<(), ConfigError> {
    let f = |s: &str| format!("remote_io[{i}].{s}");
    let id = cx.claim_host(&c.host, f("host"), &[Role::RemoteIo], "remote I/O module")?;
    let plc_host = cx.topo.resolve(&c.plc, &f("plc"))?;
    let plc_entity = cx.entity(plc_host);
    let name = cx.topo.host(id).name.clone();
    let Some(mut plc) = cx.world.get_mut::<Plc>(plc_entity) else {
        return Err(ConfigError::new(
            f("plc"),
            Some(c.plc.span()),
            format!("host {:?} is not configured as a [[plc]]", c.plc.get_ref()),
        ));
    };
    let plc_io = plc.io.clone();
    let sizes = super::kind::MapSizes::of(plc.cpu.get().server.map());
    let len_of = |a: Area| sizes.len(a);
    let cycle = c.cycle.get_ref().value;
    if cycle < SimDuration::from_micros(10) {
        return Err(ConfigError::new(
            f("cycle"),
            Some(c.cycle.span()),
            "a cycle must be at least 10us",
        ));
    }
    let wire = |signal: &Spanned<String>, reg: &Spanned<String>, sfield: String, rfield: String| {
        let sig = cx.process.signal_id(signal.get_ref()).ok_or_else(|| {
            ConfigError::new(
                sfield,
                Some(signal.span()),
                cx.process.unknown_signal(signal.get_ref()),
            )
        })?;
        let (area, addr) = parse_address(reg.get_ref())
            .map_err(|m| ConfigError::new(rfield.clone(), Some(reg.span()), m))?;
        if u32::from(addr) >= len_of(area) {
            return Err(ConfigError::new(
                rfield,
                Some(reg.span()),
                format!(
                    "{} is outside {:?}'s register map",
                    reg.get_ref(),
                    c.plc.get_ref()
                ),
            ));
        }
        Ok((sig, area, addr))
    };
    let mut inputs = Vec::new();
    for (k, w) in c.inputs.iter().enumerate() {
        let (signal, area, addr) = wire(
            &w.signal,
            &w.to,
            f(&format!("inputs[{k}].signal")),
            f(&format!("inputs[{k}].to")),
        )?;
        if !matches!(area, Area::InputRegister | Area::HoldingRegister) {
            return Err(ConfigError::new(
                f(&format!("inputs[{k}].to")),
                Some(w.to.span()),
                "an input lands in a register: \"ir:N\" or \"hr:N\"",
            ));
        }
        if plc_io.iter().any(|p| p.input && p.area == area && p.addr == addr) {
            return Err(ConfigError::new(
                f(&format!("inputs[{k}].to")),
                Some(w.to.span()),
                format!(
                    "{} is already wired to a sensor by the PLC's own io",
                    w.to.get_ref()
                ),
            ));
        }
        inputs.push(Wire {
            signal,
            area,
            addr,
            scale: w.scale,
            offset: w.offset,
            safe: 0.0,
        });
    }
    let mut outputs = Vec::new();
    for (k, w) in c.outputs.iter().enumerate() {
        let (signal, area, addr) = wire(
            &w.signal,
            &w.from,
            f(&format!("outputs[{k}].signal")),
            f(&format!("outputs[{k}].from")),
        )?;
        if plc_io.iter().any(|p| !p.input && p.signal == signal) {
            return Err(ConfigError::new(
                f(&format!("outputs[{k}].signal")),
                Some(w.signal.span()),
                format!("{} is already driven by the PLC's own io", w.signal.get_ref()),
            ));
        }
        outputs.push(Wire {
            signal,
            area,
            addr,
            scale: w.scale,
            offset: w.offset,
            safe: w.safe,
        });
    }
    for (k, w) in c.outputs.iter().enumerate() {
        cx.drive_signal(&w.signal, f(&format!("outputs[{k}].signal")))?;
    }
    // The module runs at every tick: its PLC, and any PLC wired across it, scans only at
    // its own instant.
    cx.world
        .get_resource_or_init::<super::plc::PlcSchedule>()
        .ahead
        .pin(
            plc_entity,
            inputs.iter().map(|w| w.signal),
            outputs.iter().map(|w| w.signal),
        );
    let dur = |d: &Option<Spanned<DurationField>>, default: SimDuration| {
        d.as_ref().map_or(default, |d| d.get_ref().value)
    };
    let deadline = dur(&c.deadline, cycle);
    let watchdog = dur(&c.watchdog, SimDuration(cycle.as_nanos() * 3));
    if watchdog < cycle {
        let span = c.watchdog.as_ref().map_or(c.cycle.span(), |w| w.span());
        return Err(ConfigError::new(
            f("watchdog"),
            Some(span),
            "the watchdog must be at least one cycle: shorter, it trips between any two frames",
        ));
    }
    let stream = |suffix: &str, talker, listener, offset: SimDuration, words: usize| StreamSpec {
        name: format!("{name}/{suffix}"),
        talker,
        listeners: vec![listener],
        pcp: c.pcp,
        vid: 1,
        period_ns: cycle.as_nanos(),
        offset_ns: offset.as_nanos(),
        // Stream index, cycle and the data words, at least the 46-byte minimum.
        payload_bytes: (6 + 2 * words as u32).max(46),
        deadline_ns: deadline.as_nanos(),
    };
    let up = stream(
        "in",
        id,
        plc_host,
        dur(&c.uplink_offset, SimDuration::ZERO),
        inputs.len(),
    );
    let down = stream(
        "out",
        plc_host,
        id,
        dur(&c.downlink_offset, SimDuration(cycle.as_nanos() / 2)),
        outputs.len(),
    );
    // A stream's fault named by the module's own key for it.
    let located =
        |offset_key: &str, offset: &Option<Spanned<DurationField>>, (field, msg): (&'static str, String)| {
            let (key, span) = match field {
                "offset" => (
                    offset_key.to_string(),
                    offset.as_ref().map_or(c.cycle.span(), |o| o.span()),
                ),
                "deadline" => (
                    "deadline".into(),
                    c.deadline.as_ref().map_or(c.cycle.span(), |d| d.span()),
                ),
                "listeners" => ("plc".into(), c.plc.span()),
                "name" => ("host".into(), c.host.span()),
                "pcp" => ("pcp".into(), c.host.span()),
                _ => ("cycle".into(), c.cycle.span()),
            };
            ConfigError::new(f(&key), Some(span), msg)
        };
    let uplink = cx
        .net
        .add_stream(up)
        .map_err(|e| located("uplink_offset", &c.uplink_offset, e))?;
    let downlink = cx
        .net
        .add_stream(down)
        .map_err(|e| located("downlink_offset", &c.downlink_offset, e))?;
    let e = cx.entity(id);
    cx.world.entity_mut(e).insert(RemoteIo {
        name,
        plc: plc_entity,
        plc_host,
        uplink,
        downlink,
        inputs,
        outputs,
        watchdog,
        tripped: false,
        trips: 0,
        last_in_seq: None,
        last_out_seq: None,
    });
    Ok(())
}

impl DeviceKind for RemoteIoKind {
    type Config = RemoteIoConfig;

    fn build(configs: &[RemoteIoConfig], cx: &mut BuildCx<'_>) -> Result<(), ConfigError> {
        for (i, c) in configs.iter().enumerate() {
            if let Err(e) = build_module(c, i, cx) {
                cx.report(e);
            }
        }
        Ok(())
    }

    fn systems(s: &mut KindSystems<'_>) {
        // Local: they mirror the streams and check the watchdog on whatever tick comes.
        s.add_local(SimSet::FieldIo, remote_io_inputs);
        s.add_local(SimSet::Control, remote_io_outputs);
    }

    fn summaries(world: &mut World) -> Vec<(HostId, super::summary::DeviceFigures)> {
        let net = world.resource::<Network>();
        let topo = std::sync::Arc::clone(net.topology());
        let delivered: Vec<u64> = net.tsn().streams.iter().map(|s| s.delivered).collect();
        let mut q = world.query::<(&super::host::HostRef, &RemoteIo)>();
        q.iter(world)
            .map(|(h, r)| {
                (
                    h.0,
                    super::summary::DeviceFigures::RemoteIo(RemoteIoFigures {
                        plc: topo.host(r.plc_host).name.clone(),
                        inputs_received: delivered[r.uplink],
                        outputs_received: delivered[r.downlink],
                        last_input_cycle: r.last_in_seq,
                        last_output_cycle: r.last_out_seq,
                        watchdog_trips: r.trips,
                    }),
                )
            })
            .collect()
    }
}
