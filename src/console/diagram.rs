//! The console's process diagram: the plant's process drawn once, as SVG, from the plant
//! file, in the manner of a P&ID overview screen; the page animates it from live values.
//!
//! Water flows left to right: flow components (pumps, valves, tanks, vessels, in-line
//! dosing points) stand in columns by their longest path from a source through the
//! `inflows`/`outflows`/`suction` wiring, parallel ones stacked. Breakers stand in a row
//! above, each over the column of what it feeds, and PLCs in a top row with dashed lines to
//! the components whose signals they read or drive. Lines run in the gaps between columns
//! and in bands between rows, so that they keep clear of breakers and components.
//!
//! What the page's script relies on (each value a full signal name, e.g. `raw_tank.level`):
//!
//! * `data-signal` (+ `data-unit`) on a `<text>`: the text becomes the signal's value;
//! * `data-fill`, `data-min`, `data-max`, `data-top`, `data-height` on a tank's level
//!   `<rect>`: its `y`/`height` follow the level;
//! * `data-on` on a symbol: class `on` above 0.5, `off` otherwise;
//! * `data-state` on a component's `<g>`: class `normal`, `outside-band` or `beyond-limit`;
//! * `class="component" data-component="NAME"` and `class="plc" data-plc="HOST"` on groups.

use crate::console::geometry::Rect;
use crate::report::svg::esc;
use otrange_sim::plant::PlantConfig;
use otrange_sim::process::ProcessConfig;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use toml::Spanned;

/// A plant's process drawn once at start; the page animates it from live values.
pub struct Diagram {
    /// The SVG element, self-contained (inline styles/classes only, no script, no external refs).
    pub svg: String,
    /// Every signal name the SVG refers to in a data-* attribute, sorted, deduplicated
    /// (the console sends their live values).
    pub signals: Vec<String>,
}

const MARGIN: f64 = 16.0;
/// Between columns: a pipe's elbow in the middle, a power line left of it, PLC lines right.
const GAP: f64 = 48.0;
/// From one stacked row of components to the next.
const ROW: f64 = 150.0;
/// Room for one item of the legend.
const LEGEND_W: f64 = 165.0;
const PLC_TOP: f64 = 36.0;
const PLC_H: f64 = 36.0;
/// Centre of the breakers' row.
const BREAKER_Y: f64 = 140.0;
/// One colour per PLC, so that each one's lines can be followed.
const PLC_COLOURS: [&str; 7] = [
    "#8250df", "#bc4c00", "#0a7f8c", "#bf3989", "#1a7f37", "#0550ae", "#6e7781",
];

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Kind {
    #[default]
    Breaker,
    Pump,
    Valve,
    Vessel,
    Tank,
    Dosing,
    Heater,
}

impl Kind {
    /// The symbol's half-width, half-height, and what sticks out above it (stem, quill).
    fn size(self) -> (f64, f64, f64) {
        match self {
            Kind::Tank => (30.0, 40.0, 0.0),
            Kind::Vessel => (22.0, 40.0, 0.0),
            Kind::Pump => (18.0, 18.0, 0.0),
            Kind::Valve => (16.0, 10.0, 12.0),
            Kind::Dosing => (12.0, 12.0, 10.0),
            Kind::Heater => (26.0, 15.0, 0.0),
            Kind::Breaker => (13.0, 13.0, 0.0),
        }
    }

    /// The symbol around (0, 0); `{hook}` is where the live attributes (or a tank's level) go.
    fn shape(self) -> &'static str {
        match self {
            Kind::Tank => {
                r#"<rect class="sym" x="-30" y="-40" width="60" height="80"/>{hook}<rect class="sym hollow" x="-30" y="-40" width="60" height="80"/>"#
            }
            Kind::Vessel => r#"<rect class="sym" x="-22" y="-40" width="44" height="80" rx="22"/>"#,
            Kind::Pump => {
                r#"<circle class="sym" r="18"{hook}/><path class="mark" d="M-7,-10 L12,0 L-7,10 Z"/>"#
            }
            Kind::Valve => {
                r#"<line class="blade" x1="0" y1="0" x2="0" y2="-16"/><path class="sym" d="M-8,-16 A8,6 0 0 1 8,-16 Z"/><path class="sym" d="M-16,-10 L16,10 L16,-10 L-16,10 Z"/>"#
            }
            Kind::Dosing => {
                r#"<line class="blade" x1="0" y1="-19" x2="0" y2="-12"/><circle class="sym" cy="-19" r="3"/><path class="sym" d="M0,-12 L12,0 L0,12 L-12,0 Z"/>"#
            }
            Kind::Heater => {
                r#"<rect class="sym" x="-26" y="-15" width="52" height="30" rx="3"{hook}/><polyline class="coil" points="-20,7 -15,-7 -10,7 -5,-7 0,7 5,-7 10,7 15,-7 20,7"/>"#
            }
            Kind::Breaker => {
                r#"<rect class="sym" x="-13" y="-13" width="26" height="26"{hook}/><line class="blade" x1="-7" y1="7" x2="7" y2="-7"/>"#
            }
        }
    }

    /// The signal written under the symbol, and its unit.
    fn value(self) -> Option<(&'static str, &'static str)> {
        match self {
            Kind::Tank => Some(("level", "m")),
            Kind::Vessel => Some(("pressure", "bar")),
            Kind::Pump | Kind::Valve => Some(("flow", "m³/s")),
            Kind::Dosing => Some(("concentration", "mg/l")),
            Kind::Heater => Some(("temperature", "°C")),
            Kind::Breaker => None,
        }
    }

    /// The 0/1 signal that colours the symbol (a valve's and a dosing point's are fractions).
    fn on(self) -> Option<&'static str> {
        match self {
            Kind::Pump => Some("running"),
            Kind::Breaker => Some("energized"),
            Kind::Heater => Some("power"),
            _ => None,
        }
    }
}

/// One process component and the wiring the layout follows.
#[derive(Default)]
struct Part<'a> {
    name: &'a str,
    kind: Kind,
    inflows: Vec<&'a str>,
    outflows: Vec<&'a str>,
    /// The level a pump sucks from or a valve drains.
    upstream: Option<&'a str>,
    /// The flow a dosing point doses.
    doses: Option<&'a str>,
    /// The `energized` signal that powers it.
    power: Option<&'a str>,
    /// What a breaker feeds, by name.
    feeds: Vec<&'a str>,
    /// A tank's height (0 for other kinds).
    height: f64,
}

fn opt(s: &Option<Spanned<String>>) -> Option<&str> {
    s.as_ref().map(|s| s.get_ref().as_str())
}

fn list(v: &[Spanned<String>]) -> Vec<&str> {
    v.iter().map(|s| s.get_ref().as_str()).collect()
}

/// The components in file order (the order the process evaluates them), which decides
/// stacking, so that the drawing reads like the plant file.
fn parts(p: &ProcessConfig) -> Vec<Part<'_>> {
    let mut out = Vec::new();
    macro_rules! each {
        ($field:ident, $kind:ident, $r:ident => { $($f:ident: $v:expr),* }) => {
            for (i, c) in p.$field.iter().enumerate() {
                let $r = c.get_ref();
                let part = Part { $($f: $v,)* name: &$r.name, kind: Kind::$kind, ..Part::default() };
                out.push(((c.span().start, Kind::$kind as usize, i), part));
            }
        };
    }
    each!(breaker, Breaker, r => { feeds: list(&r.feeds) });
    each!(pump, Pump, r => { upstream: opt(&r.suction), power: opt(&r.power) });
    each!(valve, Valve, r => { upstream: opt(&r.upstream_level) });
    each!(pressure_vessel, Vessel, r => { inflows: list(&r.inflows), outflows: list(&r.outflows) });
    each!(tank, Tank, r => { inflows: list(&r.inflows), outflows: list(&r.outflows), height: r.height_m });
    each!(dosing, Dosing, r => { doses: Some(r.water_flow.get_ref()), power: opt(&r.power) });
    each!(heater, Heater, r => { power: opt(&r.power) });
    out.sort_by_key(|(order, _)| *order);
    out.into_iter().map(|(_, p)| p).collect()
}

fn rect(x: f64, y: f64, w: f64, h: f64) -> Rect {
    Rect { x, y, w, h }
}

/// A PLC's box and what it is wired to: component index → whether it drives a signal of it.
struct Plc<'a> {
    host: &'a str,
    rect: Rect,
    links: BTreeMap<usize, bool>,
    /// Signals it reads, signals it drives.
    io: (usize, usize),
}

/// Where everything goes; apart from the drawing so that tests can check it.
struct Layout<'a> {
    parts: Vec<Part<'a>>,
    /// Per part: column, row (0 for breakers), symbol centre, and the box it and its labels fill.
    col: Vec<usize>,
    row: Vec<usize>,
    at: Vec<(f64, f64)>,
    boxes: Vec<Rect>,
    /// Pipes, upstream first.
    pipes: Vec<(usize, usize)>,
    /// Power feeds, breaker first.
    fed: Vec<(usize, usize)>,
    plcs: Vec<Plc<'a>>,
    /// Where each breaker's feeds run across.
    bus: BTreeMap<usize, f64>,
    /// Under the process: where pipes that skip columns (or go back) run across.
    channel: f64,
    width: f64,
    height: f64,
}

fn dfs(v: usize, adj: &[Vec<usize>], mark: &mut [u8], back: &mut BTreeSet<(usize, usize)>) {
    mark[v] = 1;
    for &w in &adj[v] {
        if mark[w] == 1 {
            back.insert((v, w));
        } else if mark[w] == 0 {
            dfs(w, adj, mark, back);
        }
    }
    mark[v] = 2;
}

fn layout(plant: &PlantConfig) -> Layout<'_> {
    let parts = parts(&plant.process);
    let n = parts.len();
    let index: BTreeMap<&str, usize> = parts.iter().enumerate().map(|(i, p)| (p.name, i)).collect();
    let owner = |s: &str| index.get(s.rsplit_once('.').map_or(s, |(c, _)| c)).copied();

    // The flow graph: water goes from a pump or valve into what lists its flow as an
    // inflow, and from a tank or vessel into what lists it as suction or an outflow.
    let mut inline: Vec<bool> = (parts.iter())
        .map(|p| matches!(p.kind, Kind::Pump | Kind::Valve | Kind::Vessel | Kind::Tank))
        .collect();
    let mut pipes: Vec<(usize, usize)> = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        let ins = p
            .inflows
            .iter()
            .chain(&p.upstream)
            .filter_map(|s| owner(s))
            .map(|j| (j, i));
        for e in ins.chain(p.outflows.iter().filter_map(|s| owner(s)).map(|j| (i, j))) {
            if e.0 != e.1 && inline[e.0] && inline[e.1] && !pipes.contains(&e) {
                pipes.push(e);
            }
        }
    }
    // A dosing point is its contact volume, in the line just downstream of the flow it doses.
    for (d, p) in parts.iter().enumerate() {
        let Some(x) = p.doses.and_then(owner).filter(|&x| inline[x]) else {
            continue;
        };
        pipes.iter_mut().filter(|e| e.0 == x).for_each(|e| e.0 = d);
        pipes.push((x, d));
        inline[d] = true;
    }
    // Columns by longest path from the sources, leaving out the back edges of loops.
    let mut adj = vec![Vec::new(); n];
    pipes.iter().for_each(|&(a, b)| adj[a].push(b));
    let (mut mark, mut back) = (vec![0u8; n], BTreeSet::new());
    let sources: Vec<usize> = (0..n)
        .filter(|&i| !pipes.iter().any(|e| e.1 == i))
        .chain(0..n)
        .collect();
    for r in sources {
        if inline[r] && mark[r] == 0 {
            dfs(r, &adj, &mut mark, &mut back);
        }
    }
    let mut col = vec![0usize; n];
    for _ in 0..n {
        for &(a, b) in pipes.iter().filter(|e| !back.contains(e)) {
            col[b] = col[b].max(col[a] + 1);
        }
    }
    let (mut row, mut rows) = (vec![0usize; n], BTreeMap::new());
    let mut next_row = |c: usize| {
        let r = rows.entry(c).or_insert(0);
        *r += 1;
        *r - 1
    };
    let flow_cols = (0..n)
        .filter(|&i| inline[i])
        .map(|i| col[i] + 1)
        .max()
        .unwrap_or(0);
    for i in (0..n).filter(|&i| inline[i]) {
        row[i] = next_row(col[i]);
    }
    // The rest (heaters, a dosing point off the flow) under what shares their power, else
    // next to what they dose, else in a column of their own.
    let mut placed = inline.clone();
    for i in 0..n {
        if placed[i] || parts[i].kind == Kind::Breaker {
            continue;
        }
        let power = parts[i].power;
        let sibling = (0..n).find(|&j| j != i && placed[j] && power.is_some() && parts[j].power == power);
        col[i] = match (sibling, parts[i].doses.and_then(owner).filter(|&x| placed[x])) {
            (Some(j), _) => col[j],
            (None, Some(x)) => col[x] + 1,
            (None, None) => flow_cols,
        };
        row[i] = next_row(col[i]);
        placed[i] = true;
    }
    // Breakers over the (mean) column of what they feed, one per column.
    let breakers: Vec<usize> = (0..n).filter(|&b| parts[b].kind == Kind::Breaker).collect();
    let mut fed = Vec::new();
    for &b in &breakers {
        for j in (0..n).filter(|&j| parts[j].kind != Kind::Breaker) {
            if parts[b].feeds.contains(&parts[j].name) || parts[j].power.and_then(owner) == Some(b) {
                fed.push((b, j));
            }
        }
    }
    let last = (0..n)
        .filter(|&i| placed[i])
        .map(|i| col[i] + 1)
        .max()
        .unwrap_or(0);
    let mut wanted: Vec<(usize, usize)> = (breakers.iter())
        .map(|&b| {
            let cols: Vec<usize> = fed.iter().filter(|f| f.0 == b).map(|f| col[f.1]).collect();
            let mean = cols.iter().sum::<usize>() as f64 / cols.len().max(1) as f64;
            let want = if cols.is_empty() {
                last
            } else {
                mean.round() as usize
            };
            (want, b)
        })
        .collect();
    wanted.sort();
    let mut taken = BTreeSet::new();
    for &(want, b) in &wanted {
        let mut near = (0..=n + want)
            .flat_map(|k| [Some(want + k), want.checked_sub(k)])
            .flatten();
        col[b] = near.find(|c| !taken.contains(c)).unwrap_or(want);
        taken.insert(col[b]);
    }

    // Geometry: each column as wide as its longest label.
    let ncols = (0..n).map(|i| col[i] + 1).max().unwrap_or(0);
    let mut widths = vec![70.0f64; ncols];
    for (i, p) in parts.iter().enumerate() {
        let label = text_width(p.name) + if p.kind == Kind::Breaker { 36.0 } else { 8.0 };
        widths[col[i]] = widths[col[i]].max(label.ceil());
    }
    let lefts: Vec<f64> = (widths.iter())
        .scan(MARGIN + GAP / 2.0, |x, w| {
            Some(std::mem::replace(x, *x + w + GAP))
        })
        .collect();
    let bus: BTreeMap<usize, f64> = wanted
        .iter()
        .enumerate()
        .map(|(k, &(_, b))| (b, BREAKER_Y + 41.0 + 6.0 * k as f64))
        .collect();
    let top = BREAKER_Y + 53.0 + 6.0 * wanted.len() as f64;
    let (mut at, mut boxes) = (Vec::new(), Vec::new());
    for (i, p) in parts.iter().enumerate() {
        let (hw, hh, extra) = p.kind.size();
        let (x, w) = (lefts[col[i]], widths[col[i]]);
        if p.kind == Kind::Breaker {
            at.push((x + hw, BREAKER_Y));
            boxes.push(rect(x, BREAKER_Y - hh, w, 2.0 * hh));
        } else {
            let cy = top + 40.0 + row[i] as f64 * ROW;
            at.push((x + w / 2.0, cy));
            boxes.push(rect(x, cy - hh - extra, w, 2.0 * hh + extra + 32.0));
        }
    }
    let channel = boxes.iter().map(|b| b.y + b.h).fold(top, f64::max) + 14.0;
    let long = pipes.iter().filter(|&&(a, b)| col[b] != col[a] + 1).count();

    // PLCs over the mean of what they are wired to, pushed apart.
    let mut plcs: Vec<(f64, Plc<'_>)> = Vec::new();
    for plc in &plant.plcs {
        let mut links = BTreeMap::new();
        for io in &plc.io {
            if let Some(j) = owner(io.signal.get_ref()) {
                *links.entry(j).or_insert(false) |= io.from.is_some();
            }
        }
        let drives = plc.io.iter().filter(|io| io.from.is_some()).count();
        let host = plc.host.get_ref().as_str();
        let caption = text_width(&format!("reads {} · drives {drives}", plc.io.len() - drives));
        let w = (text_width(host) * 1.15)
            .max(caption * 10.0 / 11.0)
            .max(80.0)
            .ceil()
            + 16.0;
        let want = match links.len() {
            0 => f64::INFINITY,
            l => links.keys().map(|&j| at[j].0).sum::<f64>() / l as f64,
        };
        let (rect, io) = (rect(0.0, PLC_TOP, w, PLC_H), (plc.io.len() - drives, drives));
        plcs.push((
            want,
            Plc {
                host,
                rect,
                links,
                io,
            },
        ));
    }
    let mut order: Vec<usize> = (0..plcs.len()).collect();
    order.sort_by(|&a, &b| plcs[a].0.total_cmp(&plcs[b].0).then(a.cmp(&b)));
    let mut x = MARGIN;
    for k in order {
        let (want, p) = &mut plcs[k];
        let centred = if want.is_finite() {
            *want - p.rect.w / 2.0
        } else {
            x
        };
        p.rect.x = centred.max(x);
        x = p.rect.x + p.rect.w + 14.0;
    }
    let right = lefts
        .last()
        .zip(widths.last())
        .map_or(0.0, |(l, w)| l + w + GAP / 2.0);
    let width = (right + MARGIN)
        .max(x - 14.0 + MARGIN)
        .max(4.0 * LEGEND_W + 2.0 * MARGIN);
    let height = channel + 8.0 * long as f64 + 16.0 + 20.0 * legend_rows(width) as f64;
    let plcs = plcs.into_iter().map(|p| p.1).collect();
    Layout {
        parts,
        col,
        row,
        at,
        boxes,
        pipes,
        fed,
        plcs,
        bus,
        channel,
        width,
        height,
    }
}

/// The width of `s` in 11px sans-serif, erring wide so that labels never touch (the
/// network drawing sizes its labels with it too).
pub(crate) fn text_width(s: &str) -> f64 {
    let w = |c: char| match c {
        'm' | 'M' | 'W' => 11.0,
        'w' => 9.0,
        'i' | 'j' | 'l' | 'I' | '.' | ',' | ':' | ';' | '\'' | '|' | '!' => 3.5,
        'f' | 'r' | 't' | ' ' => 5.0,
        'A'..='Z' => 8.5,
        _ => 7.0,
    };
    s.chars().map(w).sum()
}

/// A coordinate to a tenth: short, and the same on every machine.
fn n(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn polyline(s: &mut String, attrs: &str, pts: &[(f64, f64)]) {
    let pts: Vec<String> = pts.iter().map(|(x, y)| format!("{},{}", n(*x), n(*y))).collect();
    let _ = write!(s, "<polyline {attrs} points=\"{}\"/>", pts.join(" "));
}

const STYLE: &str = "\
.otr-diagram text{font-family:sans-serif;font-size:11px;fill:#24292f}\
.otr-diagram .title{font-size:14px;font-weight:bold}\
.otr-diagram .value{font-weight:bold;fill:#0550ae}\
.otr-diagram .sym{fill:#fff;stroke:#57606a;stroke-width:1.5}\
.otr-diagram .hollow{fill:none}\
.otr-diagram .mark{fill:#57606a}\
.otr-diagram .coil,.otr-diagram .blade{fill:none;stroke:#24292f;stroke-width:1.5}\
.otr-diagram .level{fill:#54aeff;opacity:.85}\
.otr-diagram .pipe{fill:none;stroke:#0969da;stroke-width:3}\
.otr-diagram .power{fill:none;stroke:#8c959f;stroke-width:1}\
.otr-diagram .io{fill:none;stroke-width:1;stroke-dasharray:2 3}\
.otr-diagram .io.drives{stroke-dasharray:6 3}\
.otr-diagram .sym.on{fill:#2da44e}\
.otr-diagram .sym.off{fill:#d0d7de}\
.otr-diagram .outside-band .sym{stroke:#bf8700;stroke-width:3}\
.otr-diagram .beyond-limit .sym{stroke:#d1242f;stroke-width:4.5}\
.otr-diagram .plc rect{fill:#f6f8fa;stroke-width:1.5}\
.otr-diagram .plc .caption{font-size:10px;fill:#57606a}";

const DEFS: &str = r##"<defs><marker id="otr-flow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="10" markerHeight="10" markerUnits="userSpaceOnUse" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#0969da"/></marker><marker id="otr-drive" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" markerUnits="userSpaceOnUse" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#57606a"/></marker></defs>"##;

/// Drawn once per exercise from the plant file alone (the same file, the same bytes), so that
/// the page only has to move values, whatever the run.
pub fn draw(plant: &PlantConfig) -> Diagram {
    let l = layout(plant);
    let (mut s, mut signals) = (String::new(), BTreeSet::new());
    let (width, height, name) = (n(l.width), n(l.height), esc(&plant.plant.name));
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"otr-diagram\" width=\"100%\" viewBox=\"0 0 {width} \
         {height}\" role=\"img\" aria-label=\"{name}: process\"><style>{STYLE}</style>{DEFS}\
         <text class=\"title\" x=\"{MARGIN}\" y=\"22\">{name}</text>"
    );
    // Pipes: to the next column by an elbow in the gap, further or back by the channel.
    let mut k = 0.0;
    for &(a, b) in &l.pipes {
        let ((ax, ay), (bx, by), ra, rb) = (l.at[a], l.at[b], l.boxes[a], l.boxes[b]);
        let (start, end) = (
            (ax + l.parts[a].kind.size().0, ay),
            (bx - l.parts[b].kind.size().0, by),
        );
        let (out, into) = (ra.x + ra.w + GAP / 2.0, rb.x - GAP / 2.0);
        let pts = if l.col[b] == l.col[a] + 1 {
            vec![start, (into, ay), (into, by), end]
        } else {
            k += 1.0;
            let y = l.channel + 8.0 * (k - 1.0);
            vec![start, (out, ay), (out, y), (into, y), (into, by), end]
        };
        polyline(&mut s, "class=\"pipe\" marker-end=\"url(#otr-flow)\"", &pts);
    }
    // Power: down from the breaker to its bus, along it, down to what it feeds (in the gap
    // left of its column to reach a lower row).
    for &(b, j) in &l.fed {
        let ((bx, by), (cx, _), r) = (l.at[b], l.at[j], l.boxes[j]);
        let bus = l.bus[&b];
        let mut pts = vec![(bx, by + 13.0), (bx, bus)];
        if l.row[j] > 0 {
            pts.extend([(r.x - 6.0, bus), (r.x - 6.0, r.y - 8.0), (cx - 6.0, r.y - 8.0)]);
        } else {
            pts.push((cx - 6.0, bus));
        }
        pts.push((cx - 6.0, r.y));
        polyline(&mut s, "class=\"power\"", &pts);
    }
    // PLC wiring: to a breaker straight, to the process down a lane right of the column.
    for (k, p) in l.plcs.iter().enumerate() {
        let colour = PLC_COLOURS[k % PLC_COLOURS.len()];
        let from = (p.rect.x + p.rect.w / 2.0, p.rect.y + p.rect.h);
        for (&j, &drives) in &p.links {
            let ((cx, cy), r, hw) = (l.at[j], l.boxes[j], l.parts[j].kind.size().0);
            let lane = r.x + r.w + 3.0 + 2.5 * (k % 7) as f64;
            let pts = match (l.parts[j].kind, l.row[j]) {
                (Kind::Breaker, _) => vec![from, (cx, cy - 13.0)],
                (_, 0) => vec![
                    from,
                    (lane, BREAKER_Y - 23.0),
                    (lane, BREAKER_Y + 19.0),
                    (cx + 8.0, r.y),
                ],
                _ => vec![
                    from,
                    (lane, BREAKER_Y - 23.0),
                    (lane, r.y + 6.0),
                    (cx + hw, r.y + 6.0),
                ],
            };
            let class = if drives {
                "io drives\" marker-end=\"url(#otr-drive)"
            } else {
                "io"
            };
            polyline(&mut s, &format!("class=\"{class}\" stroke=\"{colour}\""), &pts);
        }
    }
    let bands = plant
        .process
        .band
        .iter()
        .map(|b| b.get_ref().signal.get_ref().as_str());
    let limits = plant
        .process
        .limit
        .iter()
        .map(|l| l.get_ref().signal.get_ref().as_str());
    let watched: BTreeSet<&str> = bands.chain(limits).collect();
    for (i, p) in l.parts.iter().enumerate() {
        component(&mut s, &mut signals, p, l.at[i], &watched);
    }
    for (k, p) in l.plcs.iter().enumerate() {
        let (Rect { x, y, w, h }, host) = (p.rect, esc(p.host));
        let (mid, colour, (reads, drives)) = (n(x + w / 2.0), PLC_COLOURS[k % PLC_COLOURS.len()], p.io);
        let _ = write!(
            s,
            "<g class=\"plc\" data-plc=\"{host}\"><rect x=\"{}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" rx=\"4\" \
             stroke=\"{colour}\"/><text x=\"{mid}\" y=\"{}\" text-anchor=\"middle\" font-weight=\"bold\">{host}\
             </text><text class=\"caption\" x=\"{mid}\" y=\"{}\" text-anchor=\"middle\">reads {reads} · drives \
             {drives}</text></g>",
            n(x),
            y + 15.0,
            y + 29.0
        );
    }
    legend(&mut s, l.width, l.height);
    s.push_str("</svg>");
    Diagram {
        svg: s,
        signals: signals.into_iter().collect(),
    }
}

/// One component's group (symbol, name, value) with its live hooks.
fn component(
    s: &mut String,
    signals: &mut BTreeSet<String>,
    p: &Part<'_>,
    at: (f64, f64),
    watched: &BTreeSet<&str>,
) {
    let (_, hh, _) = p.kind.size();
    let sig = |what: &str| format!("{}.{what}", p.name);
    let mut attr = |name: &str, signal: String| {
        let a = format!(" {name}=\"{}\"", esc(&signal));
        signals.insert(signal);
        a
    };
    // The state flagged is that of the value shown if it has a band or limit, else another's.
    let shown = p
        .kind
        .value()
        .map(|(v, _)| sig(v))
        .filter(|m| watched.contains(m.as_str()));
    let state = shown.or_else(|| {
        let mine = |w: &&&str| w.rsplit_once('.').is_some_and(|(c, _)| c == p.name);
        watched.iter().find(mine).map(|w| w.to_string())
    });
    let state = state.map_or(String::new(), |st| attr("data-state", st));
    let hook = match (p.kind, p.kind.on()) {
        (Kind::Tank, _) => format!(
            "<rect class=\"level\" x=\"-28\" y=\"38\" width=\"56\" height=\"0\"{} data-min=\"0\" \
             data-max=\"{}\" data-top=\"-38\" data-height=\"76\"/>",
            attr("data-fill", sig("level")),
            p.height
        ),
        (_, Some(on)) => attr("data-on", sig(on)),
        _ => String::new(),
    };
    let _ = write!(
        s,
        "<g class=\"component\" data-component=\"{}\"{state} transform=\"translate({},{})\">{}",
        esc(p.name),
        n(at.0),
        n(at.1),
        p.kind.shape().replace("{hook}", &hook)
    );
    if p.kind == Kind::Breaker {
        let _ = write!(s, "<text x=\"19\" y=\"4\">{}</text>", esc(p.name));
    } else {
        let _ = write!(
            s,
            "<text y=\"{}\" text-anchor=\"middle\">{}</text>",
            hh + 14.0,
            esc(p.name)
        );
    }
    if let Some((what, unit)) = p.kind.value() {
        let live = attr("data-signal", sig(what));
        let y = hh + 28.0;
        let _ = write!(
            s,
            "<text class=\"value\" y=\"{y}\" text-anchor=\"middle\"{live} data-unit=\"{unit}\">–</text>"
        );
    }
    s.push_str("</g>");
}

fn legend_rows(width: f64) -> usize {
    LEGEND
        .len()
        .div_ceil(((width - 2.0 * MARGIN) / LEGEND_W).floor().max(1.0) as usize)
}

/// What the lines and colours mean, for someone who has never read a P&ID.
const LEGEND: [(&str, &str); 8] = [
    (
        r#"<line class="pipe" x2="26" marker-end="url(#otr-flow)"/>"#,
        "water flow",
    ),
    (r#"<line class="power" x2="28"/>"#, "power feed"),
    (r##"<line class="io" stroke="#57606a" x2="28"/>"##, "PLC reads"),
    (
        r##"<line class="io drives" stroke="#57606a" x2="28" marker-end="url(#otr-drive)"/>"##,
        "PLC drives",
    ),
    (
        r#"<rect class="sym on" x="6" y="-6" width="12" height="12"/>"#,
        "running / energized",
    ),
    (
        r#"<rect class="sym off" x="6" y="-6" width="12" height="12"/>"#,
        "stopped / open",
    ),
    (
        r#"<g class="outside-band"><rect class="sym" x="6" y="-6" width="12" height="12"/></g>"#,
        "outside band",
    ),
    (
        r#"<g class="beyond-limit"><rect class="sym" x="6" y="-6" width="12" height="12"/></g>"#,
        "beyond limit",
    ),
];

fn legend(s: &mut String, width: f64, height: f64) {
    let per_row = LEGEND.len().div_ceil(legend_rows(width));
    let top = height - 20.0 * legend_rows(width) as f64 + 4.0;
    s.push_str("<g class=\"legend\">");
    for (i, (mark, label)) in LEGEND.iter().enumerate() {
        let x = MARGIN + LEGEND_W * (i % per_row) as f64;
        let y = n(top + 20.0 * (i / per_row) as f64);
        let _ = write!(
            s,
            "<g transform=\"translate({x},{y})\">{mark}<text x=\"36\" y=\"4\">{label}</text></g>"
        );
    }
    s.push_str("</g>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn reference() -> PlantConfig {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/water-treatment/plant.toml");
        let source = std::fs::read_to_string(&path).expect("the reference plant");
        crate::scenario::parse_toml(&path, &source).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_reference_plant_is_drawn_whole_and_live() {
        let plant = reference();
        let d = draw(&plant);
        crate::console::xml_check::well_formed(&d.svg).unwrap();
        let p = &plant.process;
        let names = p.breaker.iter().map(|c| c.get_ref().name.clone());
        let names = names
            .chain(p.pump.iter().map(|c| c.get_ref().name.clone()))
            .chain(p.valve.iter().map(|c| c.get_ref().name.clone()))
            .chain(p.pressure_vessel.iter().map(|c| c.get_ref().name.clone()))
            .chain(p.tank.iter().map(|c| c.get_ref().name.clone()))
            .chain(p.dosing.iter().map(|c| c.get_ref().name.clone()))
            .chain(p.heater.iter().map(|c| c.get_ref().name.clone()));
        for name in names {
            assert!(
                d.svg.contains(&format!("data-component=\"{name}\"")),
                "{name} is not drawn"
            );
        }
        for t in &p.tank {
            let t = t.get_ref();
            let fill = format!(
                "data-fill=\"{}.level\" data-min=\"0\" data-max=\"{}\"",
                t.name, t.height_m
            );
            assert!(d.svg.contains(&fill), "{} has no level fill", t.name);
        }
        for plc in &plant.plcs {
            assert!(d.svg.contains(&format!("data-plc=\"{}\"", plc.host.get_ref())));
        }
        for s in [
            "raw_tank.level",
            "naoh_dosing.concentration",
            "dist_mcc.energized",
            "intake_pump_1.running",
        ] {
            assert!(
                d.signals.iter().any(|x| x == s),
                "{s} missing from {:?}",
                d.signals
            );
        }
        assert!(d.svg.contains("data-state=\"filter_vessel.pressure\""));
        let mut sorted = d.signals.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, d.signals);
        for attr in ["data-signal", "data-fill", "data-on", "data-state"] {
            for part in d.svg.split(&format!("{attr}=\"")).skip(1) {
                let s = &part[..part.find('"').unwrap()];
                assert!(d.signals.iter().any(|x| x == s), "{attr}={s} is not in signals");
            }
        }
    }

    #[test]
    fn water_flows_left_to_right_and_nothing_overlaps() {
        let plant = reference();
        let l = layout(&plant);
        let col = |name: &str| l.col[l.parts.iter().position(|p| p.name == name).unwrap()];
        let order = [
            "intake_pump_1",
            "raw_tank",
            "filter_feed_pump",
            "naoh_dosing",
            "filter_vessel",
        ];
        let more = [
            "filter_outlet",
            "clear_well",
            "dist_pump_1",
            "town_reservoir",
            "town_demand",
        ];
        let cols: Vec<usize> = order.iter().chain(&more).map(|n| col(n)).collect();
        assert!(cols.windows(2).all(|w| w[0] < w[1]), "{cols:?}");
        assert_eq!(col("intake_pump_1"), col("intake_pump_2"));
        assert_eq!(
            col("naoh_heater"),
            col("naoh_dosing"),
            "the heater shares the dosing's breaker"
        );
        let mut boxes: Vec<(&str, Rect)> = l
            .parts
            .iter()
            .map(|p| p.name)
            .zip(l.boxes.iter().copied())
            .collect();
        boxes.extend(l.plcs.iter().map(|p| (p.host, p.rect)));
        for (i, (a, ra)) in boxes.iter().enumerate() {
            assert!(
                ra.x >= 0.0 && ra.y >= 0.0 && ra.x + ra.w <= l.width && ra.y + ra.h <= l.height,
                "{a} is off the page"
            );
            for (b, rb) in &boxes[i + 1..] {
                assert!(!ra.overlaps(rb), "{a} {ra:?} overlaps {b} {rb:?}");
            }
        }
    }

    #[test]
    fn the_same_plant_draws_the_same() {
        let plant = reference();
        let (a, b) = (draw(&plant), draw(&plant));
        assert_eq!(a.svg, b.svg);
        assert_eq!(a.signals, b.signals);
    }

    #[test]
    fn text_from_the_plant_file_is_escaped() {
        let plant: PlantConfig = toml::from_str(
            "[plant]\nname = \"R&D <works> \\\"x\\\" 'y'\"\n\
             [[process.tank]]\nname = \"t<&>\"\narea_m2 = 1\nheight_m = 2\ninflows = [\"v&.flow\"]\n\
             [[process.valve]]\nname = \"v&\"\nmax_flow_m3s = 1\n",
        )
        .unwrap();
        let d = draw(&plant);
        crate::console::xml_check::well_formed(&d.svg).unwrap();
        assert!(d.svg.contains("R&amp;D &lt;works&gt; &quot;x&quot; &#39;y&#39;"));
        assert!(d.svg.contains("data-component=\"t&lt;&amp;&gt;\""));
        assert!(d.svg.contains("data-fill=\"t&lt;&amp;&gt;.level\""));
        assert!(!d.svg.contains("<works>") && !d.svg.contains("t<&>"));
        assert!(
            d.signals.contains(&"t<&>.level".to_string()),
            "signals are names, not markup"
        );
        assert_eq!(layout(&plant).pipes, [(1, 0)], "the valve fills the tank");
    }

    #[test]
    fn the_substation_is_drawn_with_every_breaker() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/substation/plant.toml");
        let source = std::fs::read_to_string(&path).expect("the substation");
        let plant: PlantConfig =
            crate::scenario::parse_toml(&path, &source).unwrap_or_else(|e| panic!("{e}"));
        let d = draw(&plant);
        crate::console::xml_check::well_formed(&d.svg).unwrap();
        for b in &plant.process.breaker {
            let name = &b.get_ref().name;
            assert!(
                d.svg.contains(&format!("data-component=\"{name}\"")),
                "{name} is not drawn"
            );
        }
    }

    #[test]
    fn odd_plants_still_draw() {
        let empty: PlantConfig = toml::from_str("[plant]\nname = \"empty\"\n").unwrap();
        crate::console::xml_check::well_formed(&draw(&empty).svg).unwrap();
        // A recirculation loop, a breaker feeding nothing, a heater on its own.
        let looped: PlantConfig = toml::from_str(
            "[plant]\nname = \"loop\"\n\
             [[process.pump]]\nname = \"p\"\nmax_flow_m3s = 1\nsuction = \"t.level\"\n\
             [[process.tank]]\nname = \"t\"\narea_m2 = 1\nheight_m = 3\ninflows = [\"p.flow\"]\n\
             outflows = [\"p.flow\"]\n\
             [[process.breaker]]\nname = \"b\"\nload_kw = 1\n\
             [[process.heater]]\nname = \"h\"\nmax_power_w = 1\nheat_capacity_j_per_k = 1\n\
             ua_w_per_k = 1\nambient_c = 5\n",
        )
        .unwrap();
        let d = draw(&looped);
        crate::console::xml_check::well_formed(&d.svg).unwrap();
        let l = layout(&looped);
        assert_eq!(l.pipes.len(), 2, "{:?}", l.pipes);
        for (i, a) in l.boxes.iter().enumerate() {
            assert!(l.boxes[i + 1..].iter().all(|b| !a.overlaps(b)), "{:?}", l.boxes);
        }
    }
}
