//! The plant file's `[tsn]` section: clock synchronisation, TSN switches (gate control
//! lists, shapers, preemption) and streams.

use crate::base::time::DurationField;
use serde::Deserialize;
use toml::Spanned;

/// `[tsn]` in a plant file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TsnConfig {
    /// Time between two clock corrections, as gPTP's sync messages (default 125 ms, the
    /// 802.1AS default sync interval).
    #[serde(default = "default_sync")]
    pub sync_interval: Spanned<DurationField>,
    /// Bound of a clock's offset right after a correction (default 100 ns).
    #[serde(default = "default_precision")]
    pub sync_precision: Spanned<DurationField>,
    /// Bound of a clock's rate error, drawn ± per device and run (default 10 ppm); a
    /// `[[tsn.clock]]` entry sets one device's exactly.
    #[serde(default = "default_drift")]
    pub drift_ppm: Spanned<f64>,
    /// `[[tsn.switch]]`: switches with TSN egress ports.
    #[serde(default, rename = "switch")]
    pub switches: Vec<TsnSwitchConfig>,
    /// `[[tsn.clock]]`: one device's clock.
    #[serde(default, rename = "clock")]
    pub clocks: Vec<ClockConfig>,
    /// `[[tsn.stream]]`: cyclic streams between hosts.
    #[serde(default, rename = "stream")]
    pub streams: Vec<StreamConfig>,
}

impl Default for TsnConfig {
    fn default() -> Self {
        TsnConfig {
            sync_interval: default_sync(),
            sync_precision: default_precision(),
            drift_ppm: default_drift(),
            switches: Vec::new(),
            clocks: Vec::new(),
            streams: Vec::new(),
        }
    }
}

fn default_sync() -> Spanned<DurationField> {
    Spanned::new(0..0, DurationField::default_of("125ms"))
}
fn default_precision() -> Spanned<DurationField> {
    Spanned::new(0..0, DurationField::default_of("100ns"))
}
fn default_drift() -> Spanned<f64> {
    Spanned::new(0..0, 10.0)
}
fn yes() -> bool {
    true
}
fn default_queue() -> Spanned<u32> {
    Spanned::new(0..0, 64)
}
fn default_vlan() -> Spanned<u16> {
    Spanned::new(0..0, 1)
}
fn default_pcp() -> Spanned<u8> {
    Spanned::new(0..0, 7)
}
fn default_payload() -> Spanned<u32> {
    Spanned::new(0..0, 46)
}

/// `[[tsn.switch]]`: a switch whose egress ports are TSN ports.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TsnSwitchConfig {
    /// The `[[host]]` (role `switch`).
    pub host: Spanned<String>,
    /// The gate control list, applied to each of its TSN ports; empty: gates always open
    /// (strict priority only).
    #[serde(default)]
    pub gates: Vec<GateEntryConfig>,
    /// Cycle time (default: the entries' sum).
    pub cycle: Option<Spanned<DurationField>>,
    /// Where cycles start on the switch's clock (default 0).
    pub base_time: Option<Spanned<DurationField>>,
    /// Start a frame only if it ends before its gate closes (default true: the
    /// transmission-overrun rule). False: a frame may start until the close and overrun it,
    /// as a schedule without guard bands does.
    #[serde(default = "yes")]
    pub length_aware: bool,
    /// Frames each traffic class's queue holds (default 64); a frame more is dropped.
    #[serde(default = "default_queue")]
    pub queue_frames: Spanned<u32>,
    /// Frame preemption (802.1Qbu / 802.3br): express frames interrupt preemptable ones.
    #[serde(default)]
    pub preemption: bool,
    /// With preemption, the express traffic classes (default: class 7 alone).
    pub express: Option<Spanned<Vec<u8>>>,
    /// Credit-based shapers (802.1Qav), one per shaped class.
    #[serde(default)]
    pub cbs: Vec<CbsConfig>,
    /// The neighbours whose ports are TSN ports (default: every port of the switch).
    #[serde(default)]
    pub ports: Vec<Spanned<String>>,
    /// The traffic class of each priority 0..7 (default 802.1Q's table for eight queues:
    /// [1, 0, 2, 3, 4, 5, 6, 7]).
    pub class_of_pcp: Option<Spanned<Vec<u8>>>,
}

/// One gate control list entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateEntryConfig {
    /// The traffic classes whose gates are open (0..7); the others are closed.
    pub open: Spanned<Vec<u8>>,
    /// How long the entry holds.
    pub duration: Spanned<DurationField>,
}

/// A credit-based shaper on one traffic class.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CbsConfig {
    /// The traffic class.
    pub class: Spanned<u8>,
    /// Its reserved rate, e.g. "20Mbps".
    pub idle_slope: Spanned<String>,
}

/// `[[tsn.clock]]`: one device's clock.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockConfig {
    /// The `[[host]]`.
    pub host: Spanned<String>,
    /// Rate error in ppm (default: drawn within `[tsn] drift_ppm`).
    pub drift_ppm: Option<Spanned<f64>>,
    /// Offset from network time until the first correction, in nanoseconds (default 0).
    #[serde(default)]
    pub offset_ns: i64,
    /// Whether it takes part in synchronisation (default true).
    #[serde(default = "yes")]
    pub synced: bool,
    /// Simulated time from which its corrections stop arriving (a lost grandmaster or link).
    pub sync_lost_at: Option<Spanned<DurationField>>,
}

/// `[[tsn.stream]]`: a cyclic stream.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamConfig {
    /// Unique among streams.
    pub name: Spanned<String>,
    /// The sending host.
    pub talker: Spanned<String>,
    /// The receiving hosts.
    pub listeners: Vec<Spanned<String>>,
    /// VLAN priority (default 7), mapped to a traffic class by each switch.
    #[serde(default = "default_pcp")]
    pub pcp: Spanned<u8>,
    /// VLAN id (default 1).
    #[serde(default = "default_vlan")]
    pub vlan: Spanned<u16>,
    /// Time between frames.
    pub period: Spanned<DurationField>,
    /// Time of the first frame within the period, on the talker's clock (default 0).
    pub offset: Option<Spanned<DurationField>>,
    /// Payload bytes per frame (default 46; at most 1500).
    #[serde(default = "default_payload")]
    pub payload: Spanned<u32>,
    /// Latency beyond which a frame counts as late (default: the period).
    pub deadline: Option<Spanned<DurationField>>,
}
