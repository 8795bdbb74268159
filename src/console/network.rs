//! The console's network view: the plant's network drawn once, as SVG, from its topology,
//! on the Purdue model; the page marks it from live figures.
//!
//! One horizontal band per Purdue level, the internet edge (level 5) at the top and the
//! field (level 0) at the bottom, zones of the same level side by side in their band. In a
//! zone the network devices (routers, firewalls, switches) stand in the middle of the first
//! row with the end hosts to their left and right, in the order of the device they hang
//! off; a crowded zone wraps its end hosts onto further rows, leaving a lane under the
//! devices. Links are orthogonal lines beneath the hosts, no two sharing a stretch so that
//! each can be lit alone:
//!
//! * a device reaches the hosts of its row over nested brackets above the row (those of
//!   further rows from its bottom, down the lane), and the device beside it side to side;
//! * a device goes down to another zone straight from its bottom into the gap under its
//!   band, along the gap and into the other device's top (down a lane on the right edge of
//!   the drawing when bands lie between);
//! * anything else leaves an end host upwards and runs along its zone's right edge.
//!
//! What the page's script relies on:
//!
//! * `class="host" data-host="NAME"` on each host's group, which holds its shape
//!   (`class="box"`) and an empty `<text class="marks" data-marks="NAME">` under its box
//!   that the page fills ("2 denied · 5 alerts"); the page toggles classes `hot` (alerts or
//!   denials) and `asked` (a real client's requests) on the group;
//! * `class="link" data-link="INDEX"` on each link's polyline, INDEX its [`LinkId`] (its
//!   position in [`Topology::links`]); the page toggles class `busy` and sets its
//!   `stroke-width`.
//!
//! [`LinkId`]: otrange_sim::net::topology::LinkId

use crate::console::diagram::text_width;
use crate::console::geometry::Rect;
use crate::report::svg::esc;
use otrange_sim::net::topology::{Host, PurdueLevel, Role, Topology};
use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The plant's network drawn once at start; the page marks it from live figures.
pub struct NetworkDiagram {
    /// The SVG element (width="100%", a viewBox; inline `<style>` whose rules are all
    /// prefixed `.otr-net`; no script, no external references).
    pub svg: String,
}

const MARGIN: f64 = 16.0;
/// A host's box: its name and its role.
const BOX_H: f64 = 34.0;
/// Under a box, the line the page writes its marks on.
const MARKS_H: f64 = 13.0;
const MIN_W: f64 = 92.0;
/// Room at a box's left for its icon.
const ICON_W: f64 = 27.0;
/// Between boxes in a row.
const HGAP: f64 = 14.0;
/// Inside a zone's left and right edges.
const PAD: f64 = 14.0;
/// Between zones of the same level.
const ZONE_GAP: f64 = 12.0;
/// A zone's label, above the brackets of its first row.
const LABEL_H: f64 = 24.0;
/// Between parallel lines in a zone.
const STEP: f64 = 4.0;
/// Between parallel lines in the gaps between bands and in the lane on the right.
const GAP_STEP: f64 = 5.0;
/// The widest a zone's first row may be before its end hosts wrap onto further rows.
const MAX_ROW: f64 = 1500.0;
/// Room for one item of the legend.
const LEGEND_W: f64 = 175.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Side {
    Left,
    Right,
}

/// Where a host stands in its zone: devices (no side) in the middle of row 0, end hosts
/// left or right of them, `index` counted from the left.
#[derive(Clone, Copy, Debug, Default)]
struct Place {
    zone: usize,
    row: usize,
    side: Option<Side>,
    index: usize,
}

/// How a link is drawn.
#[derive(Clone, Copy, Debug)]
enum Plan {
    /// Two devices next to each other in a zone, left one first: side to side.
    Beside(usize, usize),
    /// A device and an end host of its zone: a bracket over the host's row.
    Comb(usize, usize),
    /// Anything else inside a zone: over the row, or along the zone's right edge.
    Local(usize, usize),
    /// Between zones, the upper one's host first.
    Cross(usize, usize),
}

/// A request for a port: where along the edge (group 0 left, 1 middle, 2 right, then the
/// order within the group), the link and its end.
type PortAsk = ((i64, i64, i64), usize, usize);

/// Who gets which port on a box's edge, which track over a row, which lane and which line
/// in a gap. Requests are (link, end) pairs, `end` 0 or 1 for the plan's first or second
/// host; everything is handed out in a fixed order, so the same topology draws the same.
#[derive(Default)]
struct Alloc {
    /// (host, on its bottom edge) → requests ordered left to right.
    ports: BTreeMap<(usize, bool), Vec<PortAsk>>,
    /// (zone, row, side) → brackets from devices to the hosts of that side, nearest first
    /// (the nearest gets the lowest track, so that brackets nest).
    combs: BTreeMap<(usize, usize, Side), Vec<(i64, usize)>>,
    /// (zone, row) → other lines over that row, above the brackets.
    odd: BTreeMap<(usize, usize), Vec<(usize, usize)>>,
    /// Zone → lines along its right edge.
    side: BTreeMap<usize, Vec<(usize, usize)>>,
    /// Band → lines along the gap under it.
    gaps: BTreeMap<usize, Vec<(usize, usize)>>,
    /// Links down the lane right of every band.
    right: Vec<usize>,
}

fn position<T: PartialEq>(v: Option<&Vec<T>>, x: &T) -> usize {
    v.and_then(|v| v.iter().position(|y| y == x))
        .expect("every line asked for its place")
}

impl Alloc {
    fn port(&mut self, host: usize, bottom: bool, key: (i64, i64, i64), link: usize, end: usize) {
        self.ports
            .entry((host, bottom))
            .or_default()
            .push((key, link, end));
    }
    fn comb_max(&self, zone: usize, row: usize) -> usize {
        [Side::Left, Side::Right]
            .iter()
            .map(|&s| self.combs.get(&(zone, row, s)).map_or(0, Vec::len))
            .max()
            .unwrap_or(0)
    }
    fn comb_at(&self, zone: usize, row: usize, side: Side, link: usize) -> usize {
        let v = self.combs.get(&(zone, row, side));
        v.and_then(|v| v.iter().position(|c| c.1 == link))
            .expect("every bracket asked for")
    }
    fn odd_at(&self, zone: usize, row: usize, link: usize, end: usize) -> usize {
        self.comb_max(zone, row) + position(self.odd.get(&(zone, row)), &(link, end))
    }
    /// Lines over a row: brackets, then the others.
    fn tracks(&self, zone: usize, row: usize) -> usize {
        self.comb_max(zone, row) + self.odd.get(&(zone, row)).map_or(0, Vec::len)
    }
    fn side_count(&self, zone: usize) -> usize {
        self.side.get(&zone).map_or(0, Vec::len)
    }
    fn gap_count(&self, band: usize) -> usize {
        self.gaps.get(&band).map_or(0, Vec::len)
    }
}

/// A zone's devices and its rows of end hosts (left side, right side, each left to right).
struct ZonePlan {
    devices: Vec<usize>,
    rows: Vec<[Vec<usize>; 2]>,
}

/// A zone as drawn.
struct ZoneBox {
    rect: Rect,
    label: String,
    /// Where the label's text is, for the tests.
    #[cfg_attr(not(test), allow(dead_code))]
    label_box: Rect,
}

/// Where everything goes; apart from the drawing so that tests can check it.
struct Layout {
    width: f64,
    height: f64,
    /// By [`ZoneId`](otrange_sim::net::topology::ZoneId).
    zones: Vec<ZoneBox>,
    /// Each host's box, by [`HostId`](otrange_sim::net::topology::HostId).
    boxes: Vec<Rect>,
    /// Each link's line, by [`LinkId`](otrange_sim::net::topology::LinkId).
    routes: Vec<Vec<(f64, f64)>>,
    /// Per link, whether it joins zones: those are drawn last, over the others.
    trunk: Vec<bool>,
    legend_top: f64,
}

/// A host's box: its icon, then its name (11px) or its role (9px), whichever is wider.
fn box_width(h: &Host) -> f64 {
    let text = text_width(&h.name).max(text_width(h.role.as_str()) * 9.0 / 11.0);
    (ICON_W + text + 8.0).max(MIN_W).ceil()
}

/// How a zone's level reads: "level 1", "level 3.5 (DMZ)".
fn level_name(l: PurdueLevel) -> &'static str {
    match l {
        PurdueLevel::L0 => "level 0",
        PurdueLevel::L1 => "level 1",
        PurdueLevel::L2 => "level 2",
        PurdueLevel::L3 => "level 3",
        PurdueLevel::Dmz => "level 3.5 (DMZ)",
        PurdueLevel::L4 => "level 4",
        PurdueLevel::L5 => "level 5",
    }
}

/// The zone's tint: IT, the DMZ, or OT.
fn tint(l: PurdueLevel) -> &'static str {
    match l {
        PurdueLevel::L4 | PurdueLevel::L5 => "it",
        PurdueLevel::Dmz => "dmz",
        _ => "ot",
    }
}

/// Boxes side by side: their widths and the gaps between them.
fn span(hosts: &[usize], widths: &[f64]) -> f64 {
    let w: f64 = hosts.iter().map(|&h| widths[h]).sum();
    w + HGAP * hosts.len().saturating_sub(1) as f64
}

/// Where to split a row into its left and right sides so that they are about as wide.
fn balance(row: &[usize], widths: &[f64]) -> usize {
    let total = span(row, widths);
    (0..=row.len())
        .rev()
        .min_by(|&a, &b| {
            let d = |k: usize| (span(&row[..k], widths) - span(&row[k..], widths)).abs();
            d(a).total_cmp(&d(b))
        })
        .filter(|_| total > 0.0)
        .unwrap_or(0)
}

fn layout(topo: &Topology) -> Layout {
    let nh = topo.hosts.len();
    let nz = topo.zones.len();
    let dev: Vec<bool> = topo.hosts.iter().map(|h| h.role.forwards()).collect();
    let zone: Vec<usize> = topo.hosts.iter().map(|h| h.zone.0 as usize).collect();
    let widths: Vec<f64> = topo.hosts.iter().map(box_width).collect();
    let ends: Vec<(usize, usize)> = (topo.links.iter())
        .map(|l| (l.a.0 as usize, l.b.0 as usize))
        .collect();

    // Bands: Purdue levels from the top down; zones of one level in file order.
    let mut order: Vec<usize> = (0..nz).collect();
    order.sort_by_key(|&z| (Reverse(topo.zones[z].level), z));
    let mut bands: Vec<Vec<usize>> = Vec::new();
    let mut band = vec![0usize; nz];
    for z in order {
        match bands.last_mut() {
            Some(b) if topo.zones[b[0]].level == topo.zones[z].level => b.push(z),
            _ => bands.push(vec![z]),
        }
        band[z] = bands.len() - 1;
    }

    // Rows: the devices in the middle of the first; end hosts grouped by the device they
    // hang off (the leftmost linked), so that each device's hosts stand together.
    let mut place = vec![Place::default(); nh];
    let mut plan_z: Vec<ZonePlan> = Vec::with_capacity(nz);
    for z in 0..nz {
        let devices: Vec<usize> = (0..nh).filter(|&h| zone[h] == z && dev[h]).collect();
        for (i, &d) in devices.iter().enumerate() {
            place[d] = Place {
                zone: z,
                row: 0,
                side: None,
                index: i,
            };
        }
        let parent = |h: usize| {
            let other = |&(a, b): &(usize, usize)| match (a == h, b == h) {
                (true, _) => Some(b),
                (_, true) => Some(a),
                _ => None,
            };
            (ends.iter().filter_map(other))
                .filter_map(|o| devices.iter().position(|&d| d == o))
                .min()
                .unwrap_or(devices.len())
        };
        let mut end_hosts: Vec<usize> = (0..nh).filter(|&h| zone[h] == z && !dev[h]).collect();
        end_hosts.sort_by_key(|&h| (parent(h), h));
        let total = span(&devices, &widths) + end_hosts.iter().map(|&h| widths[h] + HGAP).sum::<f64>();
        let nrows = ((total / MAX_ROW).ceil() as usize).clamp(1, end_hosts.len().max(1));
        let per = end_hosts.len().div_ceil(nrows).max(1);
        let mut rows = Vec::new();
        for (r, chunk) in end_hosts.chunks(per).enumerate() {
            let (left, right) = chunk.split_at(balance(chunk, &widths));
            for (side, hosts) in [(Side::Left, left), (Side::Right, right)] {
                for (i, &h) in hosts.iter().enumerate() {
                    place[h] = Place {
                        zone: z,
                        row: r,
                        side: Some(side),
                        index: i,
                    };
                }
            }
            rows.push([left.to_vec(), right.to_vec()]);
        }
        if rows.is_empty() {
            rows.push([Vec::new(), Vec::new()]);
        }
        plan_z.push(ZonePlan { devices, rows });
    }

    // Plans, and the ports, tracks, lanes and gap lines they need, in link order.
    let mut alloc = Alloc::default();
    let mut plans = Vec::with_capacity(ends.len());
    for (l, &(a, b)) in ends.iter().enumerate() {
        let li = l as i64;
        let plan = if zone[a] == zone[b] {
            match (dev[a], dev[b]) {
                (true, true) if place[a].index.abs_diff(place[b].index) == 1 => {
                    let (x, y) = if place[a].index < place[b].index {
                        (a, b)
                    } else {
                        (b, a)
                    };
                    Plan::Beside(x, y)
                }
                (true, false) => Plan::Comb(a, b),
                (false, true) => Plan::Comb(b, a),
                _ => Plan::Local(a, b),
            }
        } else if (band[zone[a]], zone[a]) <= (band[zone[b]], zone[b]) {
            Plan::Cross(a, b)
        } else {
            Plan::Cross(b, a)
        };
        match plan {
            Plan::Beside(..) => {}
            Plan::Comb(d, h) => {
                let p = place[h];
                let (side, i, r) = (p.side.unwrap_or(Side::Left), p.index as i64, p.row as i64);
                // Row 0 from the top edge: the farthest host innermost. Further rows from
                // the bottom edge: the farthest host outermost, deeper rows inside.
                let key = match (p.row, side) {
                    (0, Side::Left) => (0, -i, 0),
                    (0, Side::Right) => (2, -i, 0),
                    (_, Side::Left) => (0, r, i),
                    (_, Side::Right) => (2, -r, i),
                };
                alloc.port(d, p.row > 0, key, l, 0);
                alloc.port(h, false, (1, li, 1), l, 1);
                let near = if side == Side::Left { -i } else { i };
                alloc
                    .combs
                    .entry((p.zone, p.row, side))
                    .or_default()
                    .push((near, l));
            }
            Plan::Local(a, b) => {
                let (pa, pb) = (place[a], place[b]);
                alloc.port(a, false, (1, li, 0), l, 0);
                alloc.port(b, false, (1, li, 1), l, 1);
                alloc.odd.entry((pa.zone, pa.row)).or_default().push((l, 0));
                if pa.row != pb.row {
                    alloc.odd.entry((pb.zone, pb.row)).or_default().push((l, 1));
                    alloc.side.entry(pa.zone).or_default().push((l, 0));
                }
            }
            Plan::Cross(u, v) => {
                let (bu, bv) = (band[zone[u]], band[zone[v]]);
                for (end, h) in [(0, u), (1, v)] {
                    if dev[h] {
                        let bottom = end == 0 || bu == bv;
                        alloc.port(h, bottom, (1, li, end as i64), l, end);
                    } else {
                        alloc.port(h, false, (1, li, end as i64), l, end);
                        alloc
                            .odd
                            .entry((zone[h], place[h].row))
                            .or_default()
                            .push((l, end));
                        alloc.side.entry(zone[h]).or_default().push((l, end));
                    }
                }
                alloc.gaps.entry(bu).or_default().push((l, 0));
                if bv > bu + 1 {
                    alloc.gaps.entry(bv - 1).or_default().push((l, 1));
                    alloc.right.push(l);
                }
            }
        }
        plans.push(plan);
    }
    for v in alloc.ports.values_mut() {
        v.sort();
    }
    for v in alloc.combs.values_mut() {
        v.sort();
    }

    // Widths: each zone as wide as its widest row (the label's room in it), the widest band
    // sets the page's width and the others' zones share what is left.
    let side_w = |z: usize| match alloc.side_count(z) {
        0 => 0.0,
        n => 10.0 + STEP * n as f64,
    };
    let labels: Vec<String> = (topo.zones.iter())
        .map(|z| format!("{} · {}", z.name, level_name(z.level)))
        .collect();
    let label_w: Vec<f64> = labels.iter().map(|s| (text_width(s) * 1.2).ceil()).collect();
    let mut centre_w = vec![0.0; nz];
    let mut natural = vec![0.0; nz];
    for (z, p) in plan_z.iter().enumerate() {
        let group = span(&p.devices, &widths);
        centre_w[z] = if p.devices.is_empty() {
            HGAP
        } else {
            group + 2.0 * HGAP
        };
        let sides = (p.rows.iter())
            .map(|[l, r]| span(l, &widths).max(span(r, &widths)))
            .fold(0.0, f64::max);
        let mut inner = 2.0 * (centre_w[z] / 2.0 + sides);
        if !p.devices.is_empty() {
            // Lines come down into the devices' tops: keep them clear of the label.
            inner = inner.max(2.0 * (label_w[z] + 16.0 - PAD) + group);
        }
        natural[z] = (inner + 2.0 * PAD).max(label_w[z] + 20.0).ceil() + side_w(z);
    }
    let band_w =
        |b: &Vec<usize>| b.iter().map(|&z| natural[z]).sum::<f64>() + ZONE_GAP * (b.len() - 1) as f64;
    let inner = bands.iter().map(band_w).fold(2.0 * LEGEND_W, f64::max);
    let right_w = match alloc.right.len() {
        0 => 0.0,
        n => 10.0 + GAP_STEP * n as f64,
    };
    let width = (2.0 * MARGIN + inner + right_w).ceil();
    let mut zx = vec![(0.0, 0.0); nz];
    for b in &bands {
        let extra = (inner - band_w(b)) / b.len() as f64;
        let mut x = MARGIN;
        for &z in b {
            zx[z] = (x, natural[z] + extra);
            x += natural[z] + extra + ZONE_GAP;
        }
    }
    let mut bx = vec![0.0; nh];
    for (z, p) in plan_z.iter().enumerate() {
        let (x, w) = zx[z];
        let cx = (x + PAD + x + w - PAD - side_w(z)) / 2.0;
        let mut at = cx - span(&p.devices, &widths) / 2.0;
        for &d in &p.devices {
            bx[d] = at;
            at += widths[d] + HGAP;
        }
        for [left, right] in &p.rows {
            let mut at = cx - centre_w[z] / 2.0;
            for &h in left.iter().rev() {
                at -= widths[h];
                bx[h] = at;
                at -= HGAP;
            }
            let mut at = cx + centre_w[z] / 2.0;
            for &h in right {
                bx[h] = at;
                at += widths[h] + HGAP;
            }
        }
    }

    // Heights: a band's first rows level with each other, room over each row for its lines.
    let region = |n: usize| 10.0 + STEP * n as f64;
    let mut by = vec![0.0; nh];
    let mut row_top: Vec<Vec<f64>> = vec![Vec::new(); nz];
    let mut band_y = vec![(0.0, 0.0); bands.len()];
    let mut gap_first = vec![0.0; bands.len()];
    let mut y = MARGIN;
    for (i, b) in bands.iter().enumerate() {
        let first = y + LABEL_H + b.iter().map(|&z| region(alloc.tracks(z, 0))).fold(0.0, f64::max);
        let mut bottom = y + LABEL_H + 12.0;
        for &z in b {
            let p = &plan_z[z];
            let mut top = first;
            for r in 0..p.rows.len() {
                if r > 0 {
                    top += BOX_H + MARKS_H + 2.0 + region(alloc.tracks(z, r));
                }
                row_top[z].push(top);
                for &h in p.rows[r].iter().flatten() {
                    by[h] = top;
                }
            }
            for &d in &p.devices {
                by[d] = first;
            }
            if (0..nh).any(|h| zone[h] == z) {
                bottom = bottom.max(top + BOX_H + MARKS_H + 6.0);
            }
        }
        band_y[i] = (y, bottom);
        let n = alloc.gap_count(i);
        let g = (10.0 + GAP_STEP * n as f64).max(18.0);
        gap_first[i] = bottom + (g - GAP_STEP * n.saturating_sub(1) as f64) / 2.0;
        y = bottom + g;
    }
    let legend_top = y + 2.0;
    let height = (legend_top + 20.0 * legend_rows(width) as f64 + MARGIN - 6.0).ceil();

    let boxes: Vec<Rect> = (0..nh)
        .map(|h| Rect {
            x: bx[h],
            y: by[h],
            w: widths[h],
            h: BOX_H,
        })
        .collect();
    let zones: Vec<ZoneBox> = (0..nz)
        .map(|z| {
            let (top, bottom) = band_y[band[z]];
            ZoneBox {
                rect: Rect {
                    x: zx[z].0,
                    y: top,
                    w: zx[z].1,
                    h: bottom - top,
                },
                label: labels[z].clone(),
                label_box: Rect {
                    x: zx[z].0 + 10.0,
                    y: top + 5.0,
                    w: label_w[z],
                    h: 15.0,
                },
            }
        })
        .collect();

    // The lines.
    // Ports spread evenly along their edge, by (link, end).
    let mut ports: BTreeMap<(usize, usize), f64> = BTreeMap::new();
    for (&(h, _), v) in &alloc.ports {
        let b = boxes[h];
        for (i, &(_, l, end)) in v.iter().enumerate() {
            ports.insert(
                (l, end),
                b.x + 6.0 + (b.w - 12.0) * (i as f64 + 0.5) / v.len() as f64,
            );
        }
    }
    // A line between devices of neighbouring bands goes straight down when one end can move
    // to the other's x along its edge without crossing that edge's brackets.
    let fits = |ports: &BTreeMap<(usize, usize), f64>, h: usize, bottom: bool, me: (usize, usize), x: f64| {
        let b = boxes[h];
        let clear = |&(key, l, end): &PortAsk| {
            let o = ports[&(l, end)];
            (l, end) == me
                || match key.0 {
                    0 => o <= x - 3.0,
                    2 => o >= x + 3.0,
                    _ => (o - x).abs() >= 3.0,
                }
        };
        x >= b.x + 4.0 && x <= b.right() - 4.0 && alloc.ports[&(h, bottom)].iter().all(clear)
    };
    for (l, plan) in plans.iter().enumerate() {
        if let Plan::Cross(u, v) = *plan
            && dev[u]
            && dev[v]
            && band[zone[v]] == band[zone[u]] + 1
        {
            let (ex, nx) = (ports[&(l, 0)], ports[&(l, 1)]);
            if fits(&ports, v, false, (l, 1), ex) {
                ports.insert((l, 1), ex);
            } else if fits(&ports, u, true, (l, 0), nx) {
                ports.insert((l, 0), nx);
            }
        }
    }
    let port_x = |l: usize, end: usize| ports[&(l, end)];
    let track = |z: usize, r: usize, k: usize| row_top[z][r] - 6.0 - STEP * k as f64;
    let side_x = |z: usize, m: usize| zx[z].0 + zx[z].1 - 8.0 - STEP * m as f64;
    let gap_y = |b: usize, l: usize, which: usize| {
        gap_first[b] + GAP_STEP * position(alloc.gaps.get(&b), &(l, which)) as f64
    };
    let mut routes = Vec::with_capacity(plans.len());
    for (l, plan) in plans.iter().enumerate() {
        // An end host's line up over its row and along its zone's right edge to `to`.
        let edge = |h: usize, end: usize, to: f64| {
            let z = zone[h];
            let x = port_x(l, end);
            let t = track(z, place[h].row, alloc.odd_at(z, place[h].row, l, end));
            let s = side_x(z, position(alloc.side.get(&z), &(l, end)));
            vec![(x, boxes[h].y), (x, t), (s, t), (s, to)]
        };
        // From a host down to the bottom of its band.
        let down = |h: usize, end: usize| {
            let bottom = band_y[band[zone[h]]].1;
            if dev[h] {
                let x = port_x(l, end);
                vec![(x, boxes[h].bottom()), (x, bottom)]
            } else {
                edge(h, end, bottom)
            }
        };
        // From the top of its band down to a host.
        let from_top = |h: usize, end: usize| {
            let top = band_y[band[zone[h]]].0;
            let mut pts = if dev[h] {
                let x = port_x(l, end);
                vec![(x, boxes[h].y), (x, top)]
            } else {
                edge(h, end, top)
            };
            pts.reverse();
            pts
        };
        let pts = match *plan {
            Plan::Beside(a, b) => {
                let y = boxes[a].y + BOX_H / 2.0;
                vec![(boxes[a].right(), y), (boxes[b].x, y)]
            }
            Plan::Comb(d, h) => {
                let p = place[h];
                let t = track(
                    p.zone,
                    p.row,
                    alloc.comb_at(p.zone, p.row, p.side.unwrap_or(Side::Left), l),
                );
                let xd = port_x(l, 0);
                let yd = if p.row > 0 { boxes[d].bottom() } else { boxes[d].y };
                let xh = port_x(l, 1);
                vec![(xd, yd), (xd, t), (xh, t), (xh, boxes[h].y)]
            }
            Plan::Local(a, b) => {
                let (pa, pb, z) = (place[a], place[b], zone[a]);
                let (xa, xb) = (port_x(l, 0), port_x(l, 1));
                let ta = track(z, pa.row, alloc.odd_at(z, pa.row, l, 0));
                if pa.row == pb.row {
                    vec![(xa, boxes[a].y), (xa, ta), (xb, ta), (xb, boxes[b].y)]
                } else {
                    let tb = track(z, pb.row, alloc.odd_at(z, pb.row, l, 1));
                    let s = side_x(z, position(alloc.side.get(&z), &(l, 0)));
                    vec![
                        (xa, boxes[a].y),
                        (xa, ta),
                        (s, ta),
                        (s, tb),
                        (xb, tb),
                        (xb, boxes[b].y),
                    ]
                }
            }
            Plan::Cross(u, v) => {
                let (bu, bv) = (band[zone[u]], band[zone[v]]);
                let mut pts = down(u, 0);
                let (ex, _) = pts[pts.len() - 1];
                let g = gap_y(bu, l, 0);
                pts.push((ex, g));
                let rest = if bu == bv {
                    let mut back = down(v, 1);
                    back.reverse();
                    back
                } else {
                    from_top(v, 1)
                };
                if bv > bu + 1 {
                    let r = MARGIN + inner + 10.0 + GAP_STEP * position(Some(&alloc.right), &l) as f64;
                    let g2 = gap_y(bv - 1, l, 1);
                    pts.extend([(r, g), (r, g2), (rest[0].0, g2)]);
                } else {
                    pts.push((rest[0].0, g));
                }
                pts.extend(rest);
                pts
            }
        };
        routes.push(simplify(pts));
    }

    let trunk = plans.iter().map(|p| matches!(p, Plan::Cross(..))).collect();
    Layout {
        width,
        height,
        zones,
        boxes,
        routes,
        trunk,
        legend_top,
    }
}

/// Drops repeated points and the middle of three in a line.
fn simplify(pts: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::with_capacity(pts.len());
    for p in pts {
        if out.last() == Some(&p) {
            continue;
        }
        if let [.., a, b] = out[..] {
            let straight = (a.0 == b.0 && b.0 == p.0) || (a.1 == b.1 && b.1 == p.1);
            let onward = (b.0 - a.0) * (p.0 - b.0) + (b.1 - a.1) * (p.1 - b.1) > 0.0;
            if straight && onward {
                out.pop();
            }
        }
        out.push(p);
    }
    out
}

/// A coordinate to a tenth: short, and the same on every machine.
fn n(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// A bandwidth as people read it: "100 Mbit/s".
fn bandwidth(bps: u64) -> String {
    let (v, unit) = match bps {
        1_000_000_000.. => (bps as f64 / 1e9, "Gbit/s"),
        1_000_000.. => (bps as f64 / 1e6, "Mbit/s"),
        1_000.. => (bps as f64 / 1e3, "kbit/s"),
        _ => (bps as f64, "bit/s"),
    };
    format!("{} {unit}", (v * 1000.0).round() / 1000.0)
}

/// A role's class (its colours) and its icon, drawn in a 14×12 box.
fn looks(role: Role) -> (&'static str, &'static str) {
    match role {
        Role::Firewall => (
            "fw",
            r#"<rect class="wall" width="14" height="12"/><path class="mortar" d="M0,4H14M0,8H14M7,0V4M3.5,4V8M10.5,4V8M7,8V12"/>"#,
        ),
        Role::Switch => (
            "sw",
            r#"<rect class="ico" y="2" width="14" height="8" rx="1"/><path class="dot" d="M2,5h2v2h-2zM6,5h2v2h-2zM10,5h2v2h-2z"/>"#,
        ),
        Role::Router => (
            "rt",
            r#"<circle class="ico" cx="7" cy="6" r="6"/><path class="ico" d="M3,6H11M7,2V10"/>"#,
        ),
        Role::Plc | Role::RemoteIo => (
            "end",
            r#"<rect class="ico" x="1" width="12" height="12" rx="1"/><path class="ico" d="M4.5,3V9M7,3V9M9.5,3V9"/>"#,
        ),
        Role::Server | Role::Historian | Role::RemoteAccessGateway => (
            "end",
            r#"<rect class="ico" x="1" width="12" height="5" rx="1"/><rect class="ico" x="1" y="7" width="12" height="5" rx="1"/>"#,
        ),
        Role::Hmi | Role::EngineeringWorkstation | Role::Workstation | Role::JumpHost => (
            "end",
            r#"<rect class="ico" width="14" height="9" rx="1"/><path class="ico" d="M7,9V12M4,12H10"/>"#,
        ),
    }
}

const STYLE: &str = "\
.otr-net text{font-family:sans-serif;font-size:11px;fill:#24292f}\
.otr-net .zone rect{stroke:#d0d7de;stroke-width:1}\
.otr-net .zone.it rect{fill:#f2f7fd}\
.otr-net .zone.dmz rect{fill:#fdf8ec}\
.otr-net .zone.ot rect{fill:#f2f9f3}\
.otr-net .zone text{font-size:12px;font-weight:bold;fill:#57606a}\
.otr-net .casing{fill:none;stroke:#fff;stroke-width:3.5}\
.otr-net .link{fill:none;stroke:#9aa4ae;stroke-width:1.2}\
.otr-net .link.busy{stroke:#0969da}\
.otr-net .box{fill:#fff;stroke:#6e7781;stroke-width:1.2}\
.otr-net .fw .box{fill:#fcefea;stroke:#9a3412}\
.otr-net .sw .box{fill:#e8edf2;stroke:#424a53}\
.otr-net .rt .box{fill:#f3eefe;stroke:#6639ba}\
.otr-net .role{font-size:9px;fill:#57606a}\
.otr-net .marks{font-size:9px;font-weight:bold;fill:#cf222e;stroke:#fff;stroke-width:3px;\
stroke-linejoin:round;paint-order:stroke}\
.otr-net .ico{fill:none;stroke:#57606a;stroke-width:1.2}\
.otr-net .dot{fill:#424a53}\
.otr-net .wall{fill:#b7472a}\
.otr-net .mortar{fill:none;stroke:#fff;stroke-width:1}\
.otr-net .host.hot .box{fill:#ffcdc7;stroke:#cf222e;stroke-width:2.5}\
.otr-net .host.asked .box{fill:#fff1b8;stroke:#bf8700;stroke-width:2.5}\
.otr-net .host.asked .marks{fill:#7d4e00}\
.otr-net .legend text{fill:#57606a}";

/// Drawn once per exercise from the topology alone (the same plant, the same bytes), so that
/// the page only has to mark hosts and links.
pub fn draw(topo: &Topology) -> NetworkDiagram {
    let l = layout(topo);
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"otr-net\" width=\"100%\" viewBox=\"0 0 {} {}\" \
         role=\"img\" aria-label=\"network: zones by Purdue level, hosts and links\"><style>{STYLE}</style>",
        n(l.width),
        n(l.height)
    );
    for (z, zb) in topo.zones.iter().zip(&l.zones) {
        let Rect { x, y, w, h } = zb.rect;
        let _ = write!(
            s,
            "<g class=\"zone {}\" data-zone=\"{}\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"8\"/>\
             <text x=\"{}\" y=\"{}\">{}</text></g>",
            tint(z.level),
            esc(&z.name),
            n(x),
            n(y),
            n(w),
            n(h),
            n(x + 10.0),
            n(y + 17.0),
            esc(&zb.label)
        );
    }
    // Links between zones last, so that they pass over the brackets they cross; each on a
    // white casing that shows where one line passes over another.
    s.push_str("<g class=\"links\">");
    let order = (0..topo.links.len()).filter(|&k| !l.trunk[k]);
    for k in order.chain((0..topo.links.len()).filter(|&k| l.trunk[k])) {
        let link = &topo.links[k];
        let pts: Vec<String> = (l.routes[k].iter())
            .map(|(x, y)| format!("{},{}", n(*x), n(*y)))
            .collect();
        let pts = pts.join(" ");
        let _ = write!(
            s,
            "<polyline class=\"casing\" points=\"{pts}\"/><polyline class=\"link\" data-link=\"{}\" \
             points=\"{pts}\"><title>{} – {} · {}</title></polyline>",
            link.id.0,
            esc(&topo.host(link.a).name),
            esc(&topo.host(link.b).name),
            bandwidth(link.bandwidth_bps)
        );
    }
    s.push_str("</g>");
    for (h, b) in topo.hosts.iter().zip(&l.boxes) {
        let (class, icon) = looks(h.role);
        let (name, role) = (esc(&h.name), h.role.as_str());
        let rx = match h.role {
            Role::Router => 14.0,
            Role::Firewall | Role::Switch => 2.0,
            _ => 5.0,
        };
        let (x, y, text_x) = (n(b.x), n(b.y), n(b.x + ICON_W));
        let _ = write!(
            s,
            "<g class=\"host {class}\" data-host=\"{name}\"><title>{name} · {role} · {}</title>\
             <rect class=\"box\" x=\"{x}\" y=\"{y}\" width=\"{}\" height=\"{BOX_H}\" rx=\"{rx}\"/>\
             <g transform=\"translate({},{})\">{icon}</g>\
             <text x=\"{text_x}\" y=\"{}\">{name}</text><text class=\"role\" x=\"{text_x}\" y=\"{}\">{role}</text>\
             <text class=\"marks\" data-marks=\"{name}\" x=\"{}\" y=\"{}\" text-anchor=\"middle\"></text></g>",
            h.address,
            n(b.w),
            n(b.x + 7.0),
            n(b.y + 11.0),
            n(b.y + 15.0),
            n(b.y + 27.0),
            n(b.x + b.w / 2.0),
            n(b.bottom() + 10.0)
        );
    }
    legend(&mut s, l.width, l.legend_top);
    s.push_str("</svg>");
    NetworkDiagram { svg: s }
}

/// What the lines, colours and shapes mean.
const LEGEND: [(&str, &str); 7] = [
    (r#"<line class="link" x2="28"/>"#, "link, idle"),
    (
        r#"<line class="link busy" x2="28" style="stroke-width:2.5"/>"#,
        "link carrying traffic",
    ),
    (
        r#"<g class="host hot"><rect class="box" x="4" y="-7" width="22" height="14" rx="3"/></g>"#,
        "alerts or denials",
    ),
    (
        r#"<g class="host asked"><rect class="box" x="4" y="-7" width="22" height="14" rx="3"/></g>"#,
        "asked by a real client",
    ),
    (
        r#"<g transform="translate(8,-6)"><rect class="wall" width="14" height="12"/><path class="mortar" d="M0,4H14M0,8H14M7,0V4M3.5,4V8M10.5,4V8M7,8V12"/></g>"#,
        "firewall",
    ),
    (
        r#"<g transform="translate(8,-6)"><rect class="ico" y="2" width="14" height="8" rx="1"/><path class="dot" d="M2,5h2v2h-2zM6,5h2v2h-2zM10,5h2v2h-2z"/></g>"#,
        "switch",
    ),
    (
        r#"<g transform="translate(8,-6)"><circle class="ico" cx="7" cy="6" r="6"/><path class="ico" d="M3,6H11M7,2V10"/></g>"#,
        "router",
    ),
];

fn legend_rows(width: f64) -> usize {
    LEGEND
        .len()
        .div_ceil(((width - 2.0 * MARGIN) / LEGEND_W).floor().max(1.0) as usize)
}

fn legend(s: &mut String, width: f64, top: f64) {
    let per_row = LEGEND.len().div_ceil(legend_rows(width));
    s.push_str("<g class=\"legend\">");
    for (i, (mark, label)) in LEGEND.iter().enumerate() {
        let x = MARGIN + LEGEND_W * (i % per_row) as f64;
        let y = n(top + 10.0 + 20.0 * (i / per_row) as f64);
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
    use otrange_sim::plant::PlantConfig;
    use std::path::Path;

    fn topology(plant: &PlantConfig) -> Topology {
        Topology::build(&plant.zones, &plant.hosts, &plant.links).unwrap_or_else(|e| panic!("{e}"))
    }

    fn reference() -> Topology {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/water-treatment/plant.toml");
        let source = std::fs::read_to_string(&path).expect("the reference plant");
        let plant: PlantConfig =
            crate::scenario::parse_toml(&path, &source).unwrap_or_else(|e| panic!("{e}"));
        topology(&plant)
    }

    /// A plant file's network part, from zones `(name, level)`, hosts `(name, role, zone)`
    /// and links.
    fn plant(zones: &[(&str, &str)], hosts: &[(&str, &str, &str)], links: &[(&str, &str)]) -> Topology {
        let mut src = String::from("[plant]\nname = \"t\"\n");
        for (name, level) in zones {
            let _ = write!(src, "[[zone]]\nname = {name:?}\nlevel = \"{level}\"\n");
        }
        for (i, (name, role, zone)) in hosts.iter().enumerate() {
            let _ = write!(
                src,
                "[[host]]\nname = {name:?}\nrole = \"{role}\"\nzone = {zone:?}\naddress = \"10.0.{}.{}\"\n",
                i / 200,
                i % 200 + 1
            );
        }
        for (a, b) in links {
            let _ = write!(src, "[[link]]\na = {a:?}\nb = {b:?}\n");
        }
        topology(&toml::from_str(&src).unwrap_or_else(|e| panic!("{e}\n{src}")))
    }

    /// Whether an orthogonal segment runs through the inside of `r` (touching its edge is fine).
    fn crosses(a: (f64, f64), b: (f64, f64), r: &Rect) -> bool {
        let (x0, x1) = (a.0.min(b.0), a.0.max(b.0));
        let (y0, y1) = (a.1.min(b.1), a.1.max(b.1));
        let (inside_x, inside_y) = (x1 > r.x && x0 < r.right(), y1 > r.y && y0 < r.bottom());
        if x0 == x1 {
            x0 > r.x && x0 < r.right() && inside_y
        } else {
            y0 > r.y && y0 < r.bottom() && inside_x
        }
    }

    fn within(inner: &Rect, outer: &Rect) -> bool {
        inner.x >= outer.x
            && inner.y >= outer.y
            && inner.right() <= outer.right()
            && inner.bottom() <= outer.bottom()
    }

    /// Boxes apart and in their zone's band, the line under each for its marks clear of
    /// boxes (and an end host's of lines), labels clear, lines orthogonal and clear of boxes
    /// and labels, no two links sharing a stretch, everything on the page.
    fn check_layout(topo: &Topology) {
        let l = layout(topo);
        let page = Rect {
            x: 0.0,
            y: 0.0,
            w: l.width,
            h: l.height,
        };
        let marks = |b: &Rect| Rect {
            x: b.x,
            y: b.bottom(),
            w: b.w,
            h: MARKS_H,
        };
        for (i, a) in l.boxes.iter().enumerate() {
            let name = &topo.hosts[i].name;
            let z = &l.zones[topo.hosts[i].zone.0 as usize];
            assert!(
                within(a, &z.rect),
                "{name} {a:?} is outside its zone {:?}",
                z.rect
            );
            assert!(within(&marks(a), &z.rect), "{name}'s marks are outside its zone");
            assert!(
                !a.overlaps(&z.label_box),
                "{name} {a:?} covers the label of {}",
                z.label
            );
            for (j, b) in l.boxes.iter().enumerate().filter(|&(j, _)| j != i) {
                let other = &topo.hosts[j].name;
                assert!(!a.overlaps(b), "{name} {a:?} overlaps {other} {b:?}");
                assert!(!marks(a).overlaps(b), "{name}'s marks run into {other}");
            }
            if !topo.hosts[i].role.forwards() {
                for (k, pts) in l.routes.iter().enumerate() {
                    for w in pts.windows(2) {
                        assert!(
                            !crosses(w[0], w[1], &marks(a)),
                            "link {k} runs through {name}'s marks"
                        );
                    }
                }
            }
        }
        for (i, z) in l.zones.iter().enumerate() {
            assert!(within(&z.rect, &page), "zone {} is off the page", z.label);
            assert!(within(&z.label_box, &z.rect), "label {} sticks out", z.label);
            for w in &l.zones[i + 1..] {
                assert!(
                    !z.rect.overlaps(&w.rect),
                    "zones {} and {} overlap",
                    z.label,
                    w.label
                );
            }
        }
        assert!(l.legend_top >= l.zones.iter().map(|z| z.rect.bottom()).fold(0.0, f64::max));
        let mut stretches = Vec::new();
        for (k, pts) in l.routes.iter().enumerate() {
            assert!(pts.len() >= 2, "link {k} has no line");
            for p in pts {
                assert!(
                    p.0 >= 0.0 && p.0 <= l.width && p.1 >= 0.0 && p.1 <= l.legend_top,
                    "link {k} leaves the page at {p:?}"
                );
            }
            for w in pts.windows(2) {
                assert!(
                    w[0].0 == w[1].0 || w[0].1 == w[1].1,
                    "link {k} is not orthogonal: {pts:?}"
                );
                for (h, b) in l.boxes.iter().enumerate() {
                    assert!(
                        !crosses(w[0], w[1], b),
                        "link {k} {pts:?} runs through {}",
                        topo.hosts[h].name
                    );
                }
                for z in &l.zones {
                    assert!(
                        !crosses(w[0], w[1], &z.label_box),
                        "link {k} runs through the label {}",
                        z.label
                    );
                }
                stretches.push((k, w[0], w[1]));
            }
        }
        for (i, &(k, a, b)) in stretches.iter().enumerate() {
            for &(k2, c, d) in &stretches[i + 1..] {
                if k == k2 {
                    continue;
                }
                let shared = if a.0 == b.0 && c.0 == d.0 && a.0 == c.0 {
                    a.1.max(b.1).min(c.1.max(d.1)) > a.1.min(b.1).max(c.1.min(d.1))
                } else if a.1 == b.1 && c.1 == d.1 && a.1 == c.1 {
                    a.0.max(b.0).min(c.0.max(d.0)) > a.0.min(b.0).max(c.0.min(d.0))
                } else {
                    false
                };
                assert!(
                    !shared,
                    "links {k} and {k2} share a stretch: {a:?}-{b:?}, {c:?}-{d:?}"
                );
            }
        }
    }

    #[test]
    fn every_host_and_link_has_its_hook() {
        let topo = reference();
        assert_eq!((topo.hosts.len(), topo.links.len()), (42, 41));
        let d = draw(&topo);
        crate::console::xml_check::well_formed(&d.svg).unwrap();
        for h in &topo.hosts {
            for attr in ["data-host", "data-marks"] {
                let hook = format!("{attr}=\"{}\"", h.name);
                assert_eq!(d.svg.matches(&hook).count(), 1, "{hook}");
            }
            let group = format!("<g class=\"host {}\" data-host=\"{}\">", looks(h.role).0, h.name);
            assert!(d.svg.contains(&group), "{group}");
            let marks = format!("<text class=\"marks\" data-marks=\"{}\"", h.name);
            let after = &d.svg[d.svg.find(&group).unwrap()..];
            let inside = &after[..after.find("></text></g>").unwrap()];
            assert!(inside.contains("<rect class=\"box\""), "{} has no box", h.name);
            assert!(inside.contains(&marks), "{} has no marks", h.name);
        }
        for i in 0..topo.links.len() {
            let hook = format!("<polyline class=\"link\" data-link=\"{i}\" ");
            assert_eq!(d.svg.matches(&hook).count(), 1, "{hook}");
        }
        assert_eq!(d.svg.matches("data-link=").count(), topo.links.len());
        assert_eq!(d.svg.matches("data-marks=").count(), topo.hosts.len());
        assert_eq!(d.svg.matches("data-host=").count(), topo.hosts.len());
        assert_eq!(
            d.svg.matches("data-marks=\"").count(),
            d.svg.matches("class=\"marks\"").count()
        );
        assert!(d.svg.contains("width=\"100%\" viewBox=\"0 0 "));
        assert!(!d.svg.contains("<script") && !d.svg.contains("href"));
    }

    #[test]
    fn the_style_is_scoped_and_marks_hot_asked_and_busy() {
        for rule in STYLE.split('}').filter(|r| !r.is_empty()) {
            let (selectors, _) = rule.split_once('{').unwrap();
            for sel in selectors.split(',') {
                assert!(sel.starts_with(".otr-net "), "{sel} is not scoped");
            }
        }
        for sel in [
            ".otr-net .host.hot .box{",
            ".otr-net .host.asked .box{",
            ".otr-net .link{",
            ".otr-net .link.busy{stroke:#0969da",
        ] {
            assert!(STYLE.contains(sel), "{sel}");
        }
        // Later rules win at equal specificity: hot and asked override the role colours.
        assert!(STYLE.find(".host.hot").unwrap() > STYLE.find(".fw .box").unwrap());
        let d = draw(&reference());
        for label in [
            "link, idle",
            "link carrying traffic",
            "alerts or denials",
            "asked by a real client",
        ] {
            assert!(d.svg.contains(&format!(">{label}</text>")), "legend: {label}");
        }
    }

    #[test]
    fn bands_follow_the_purdue_levels_top_down() {
        let topo = reference();
        let l = layout(&topo);
        let y = |name: &str| l.boxes[topo.host_by_name(name).unwrap().0 as usize].y;
        let order = [
            "inet-rtr",
            "ws-01",
            "jump-01",
            "historian",
            "hmi-1",
            "plc-intake",
            "analyzer-naoh",
        ];
        for w in order.windows(2) {
            assert!(y(w[0]) < y(w[1]), "{} is not above {}", w[0], w[1]);
        }
        for (a, za) in topo.zones.iter().zip(&l.zones) {
            for (b, zb) in topo.zones.iter().zip(&l.zones) {
                if a.level > b.level {
                    assert!(za.rect.bottom() < zb.rect.y, "{} is not above {}", a.name, b.name);
                }
            }
        }
        let label = |z: &str| &l.zones[topo.zones.iter().position(|x| x.name == z).unwrap()].label;
        assert_eq!(label("control"), "control · level 1");
        assert_eq!(label("idmz"), "idmz · level 3.5 (DMZ)");
        // The devices stand between their hosts: the switch has some on either side.
        let sw = l.boxes[topo.host_by_name("sw-ent").unwrap().0 as usize];
        let ws = |n: &str| l.boxes[topo.host_by_name(n).unwrap().0 as usize];
        assert!(ws("ws-01").x < sw.x && ws("erp-01").x > sw.x);
        assert_eq!(ws("ws-01").y, sw.y, "one row suffices for the enterprise");
    }

    #[test]
    fn nothing_overlaps_and_lines_keep_clear() {
        check_layout(&reference());
    }

    #[test]
    fn the_same_topology_draws_the_same() {
        let topo = reference();
        assert_eq!(draw(&topo).svg, draw(&topo).svg);
        assert_eq!(draw(&topo).svg, draw(&reference()).svg);
    }

    #[test]
    fn names_are_escaped() {
        let topo = plant(
            &[("it<&>", "L4"), ("ot", "L1")],
            &[
                ("ws<&\"1", "workstation", "it<&>"),
                ("fw'x", "firewall", "it<&>"),
                ("plc", "plc", "ot"),
            ],
            &[("ws<&\"1", "fw'x"), ("fw'x", "plc")],
        );
        let d = draw(&topo);
        crate::console::xml_check::well_formed(&d.svg).unwrap();
        assert!(d.svg.contains("data-host=\"ws&lt;&amp;&quot;1\""));
        assert!(d.svg.contains("data-marks=\"ws&lt;&amp;&quot;1\""));
        assert!(d.svg.contains("data-host=\"fw&#39;x\""));
        assert!(d.svg.contains(">it&lt;&amp;&gt; · level 4</text>"));
        assert!(!d.svg.contains("ws<&") && !d.svg.contains("it<&>"));
        check_layout(&topo);
    }

    #[test]
    fn odd_networks_still_draw() {
        let empty = plant(&[], &[], &[]);
        crate::console::xml_check::well_formed(&draw(&empty).svg).unwrap();
        check_layout(&empty);
        // The live benchmark's plant: a workstation cabled straight to a switch three levels down.
        let bench = plant(
            &[("office", "L4"), ("control", "L1")],
            &[
                ("bench-ws", "workstation", "office"),
                ("sw-bench", "switch", "control"),
                ("plc-bench", "plc", "control"),
            ],
            &[("bench-ws", "sw-bench"), ("plc-bench", "sw-bench")],
        );
        check_layout(&bench);
        // No devices: an HMI cabled to a PLC.
        let minimal = plant(
            &[("control", "L1")],
            &[("hmi", "hmi", "control"), ("plc-1", "plc", "control")],
            &[("hmi", "plc-1")],
        );
        check_layout(&minimal);
        // Two zones of one level, a link skipping bands, devices not side by side, an empty
        // zone, a host cabled into another zone and a crowded switch that wraps its hosts.
        let mut hosts = vec![
            ("rtr", "router", "edge"),
            ("fw-a", "firewall", "cell-a"),
            ("sw-a", "switch", "cell-a"),
            ("fw-a2", "firewall", "cell-a"),
            ("sw-b", "switch", "cell-b"),
            ("hmi-b", "hmi", "cell-b"),
            ("sw-f", "switch", "field"),
            ("lonely", "workstation", "edge"),
        ];
        let names: Vec<String> = (0..40).map(|i| format!("plc-{i:02}")).collect();
        hosts.extend(names.iter().map(|n| (n.as_str(), "plc", "cell-a")));
        let mut links = vec![
            ("rtr", "fw-a"),
            ("rtr", "sw-b"),
            ("fw-a", "sw-a"),
            ("fw-a", "fw-a2"),
            ("sw-a", "fw-a2"),
            ("sw-a", "sw-b"),
            ("hmi-b", "sw-b"),
            ("hmi-b", "sw-a"),
            ("rtr", "sw-f"),
            ("lonely", "hmi-b"),
            ("plc-00", "plc-39"),
            ("plc-01", "sw-f"),
        ];
        links.extend(names.iter().map(|n| (n.as_str(), "sw-a")));
        let busy = plant(
            &[
                ("edge", "L5"),
                ("cell-a", "L1"),
                ("cell-b", "L1"),
                ("empty", "L3"),
                ("field", "L0"),
            ],
            &hosts,
            &links,
        );
        let d = draw(&busy);
        crate::console::xml_check::well_formed(&d.svg).unwrap();
        check_layout(&busy);
        let l = layout(&busy);
        let y = |n: &str| l.boxes[busy.host_by_name(n).unwrap().0 as usize].y;
        assert!(y("plc-39") > y("sw-a"), "forty PLCs wrap onto a second row");
        assert_eq!(y("sw-a"), y("sw-b"), "zones of one level share a band");
    }
}
