//! A small SVG writer for the report's charts. Every mark carries a class naming what it
//! is (`mark step`, `mark alert`, `cell`) and a `<title>` that a browser shows on hover, so a
//! reader can ask any mark what it stands for and a test can count them. A charting crate's
//! SVG backend draws anonymous shapes; the report needs marks that say what they are.

use std::fmt::Write as _;

/// Escapes text for SVG and HTML, in text and in attributes alike.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A linear map from data values to pixels.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    /// Data range.
    pub d0: f64,
    /// See `d0`.
    pub d1: f64,
    /// Pixel range (may run backwards, as a y axis does).
    pub p0: f64,
    /// See `p0`.
    pub p1: f64,
}

impl Scale {
    /// Maps `v`; a degenerate data range maps everything to the middle.
    pub fn at(&self, v: f64) -> f64 {
        if (self.d1 - self.d0).abs() < f64::EPSILON {
            return (self.p0 + self.p1) / 2.0;
        }
        self.p0 + (v - self.d0) / (self.d1 - self.d0) * (self.p1 - self.p0)
    }
}

/// Round tick values covering `[lo, hi]`, about `n` of them.
pub fn ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    if hi.is_nan() || lo.is_nan() || hi <= lo || n == 0 {
        return vec![lo];
    }
    let raw = (hi - lo) / n as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let mut v = (lo / step).ceil() * step;
    let mut out = Vec::new();
    while v <= hi + step * 1e-9 {
        out.push(if v.abs() < step * 1e-9 { 0.0 } else { v });
        v += step;
    }
    out
}

/// A short label for a tick value.
pub fn fmt_num(v: f64) -> String {
    if v.abs() >= 1000.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// An SVG document being written.
pub struct Svg {
    body: String,
    width: f64,
    height: f64,
    label: String,
}

impl Svg {
    /// An empty drawing of this size; `label` is its accessible name.
    pub fn new(width: f64, height: f64, label: &str) -> Svg {
        Svg {
            body: String::new(),
            width,
            height,
            label: label.to_string(),
        }
    }

    /// A rectangle; `title` becomes its hover text.
    pub fn rect(
        &mut self,
        (x, y): (f64, f64),
        (w, h): (f64, f64),
        class: &str,
        fill: &str,
        title: Option<&str>,
    ) {
        let _ = write!(
            self.body,
            r#"<rect class="{}" x="{x:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{}">"#,
            esc(class),
            w.max(0.5),
            h.max(0.5),
            esc(fill)
        );
        self.title_and_close(title, "rect");
    }

    /// A circle.
    pub fn circle(&mut self, x: f64, y: f64, r: f64, class: &str, fill: &str, title: Option<&str>) {
        let _ = write!(
            self.body,
            r#"<circle class="{}" cx="{x:.1}" cy="{y:.1}" r="{r:.1}" fill="{}">"#,
            esc(class),
            esc(fill)
        );
        self.title_and_close(title, "circle");
    }

    /// A closed shape through `points`.
    pub fn polygon(&mut self, points: &[(f64, f64)], class: &str, fill: &str, title: Option<&str>) {
        let pts: Vec<String> = points.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
        let _ = write!(
            self.body,
            r#"<polygon class="{}" points="{}" fill="{}">"#,
            esc(class),
            pts.join(" "),
            esc(fill)
        );
        self.title_and_close(title, "polygon");
    }

    /// A line through `points`.
    pub fn polyline(&mut self, points: &[(f64, f64)], class: &str, stroke: &str) {
        let pts: Vec<String> = points.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
        let _ = write!(
            self.body,
            r#"<polyline class="{}" points="{}" fill="none" stroke="{}" stroke-width="1.5"/>"#,
            esc(class),
            pts.join(" "),
            esc(stroke)
        );
    }

    /// A straight segment; `dash` as in SVG (`"4 3"`), empty for solid.
    pub fn line(
        &mut self,
        (x1, y1): (f64, f64),
        (x2, y2): (f64, f64),
        class: &str,
        stroke: &str,
        dash: &str,
    ) {
        let _ = write!(
            self.body,
            r#"<line class="{}" x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="{}" stroke-width="1""#,
            esc(class),
            esc(stroke)
        );
        if !dash.is_empty() {
            let _ = write!(self.body, r#" stroke-dasharray="{dash}""#);
        }
        self.body.push_str("/>");
    }

    /// Text; `anchor` is `start`, `middle` or `end`.
    pub fn text(&mut self, x: f64, y: f64, s: &str, anchor: &str, size: f64) {
        let _ = write!(
            self.body,
            r#"<text x="{x:.1}" y="{y:.1}" text-anchor="{anchor}" font-size="{size}">{}</text>"#,
            esc(s)
        );
    }

    /// Text turned by `degrees` about its start.
    pub fn text_rotated(&mut self, x: f64, y: f64, s: &str, degrees: f64, size: f64) {
        let _ = write!(
            self.body,
            r#"<text x="{x:.1}" y="{y:.1}" transform="rotate({degrees} {x:.1} {y:.1})" font-size="{size}">{}</text>"#,
            esc(s)
        );
    }

    fn title_and_close(&mut self, title: Option<&str>, tag: &str) {
        if let Some(t) = title {
            let _ = write!(self.body, "<title>{}</title>", esc(t));
        }
        let _ = write!(self.body, "</{tag}>");
    }

    /// The finished `<svg>` element.
    pub fn finish(self) -> String {
        format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{}" width="{:.0}" height="{:.0}" viewBox="0 0 {:.0} {:.0}" font-family="sans-serif">{}</svg>"#,
            esc(&self.label),
            self.width,
            self.height,
            self.width,
            self.height,
            self.body
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(ticks(0.0, 1800.0, 6), [0.0, 500.0, 1000.0, 1500.0]);
        assert_eq!(ticks(2.0, 3.0, 4), [2.0, 2.5, 3.0]);
    }

    #[test]
    fn marks_carry_their_class_and_escaped_title() {
        let mut s = Svg::new(10.0, 10.0, "t");
        s.circle(1.0, 2.0, 3.0, "mark alert", "red", Some("a < b"));
        let out = s.finish();
        assert!(out.contains(r#"<circle class="mark alert""#), "{out}");
        assert!(out.contains("<title>a &lt; b</title></circle>"), "{out}");
    }
}
