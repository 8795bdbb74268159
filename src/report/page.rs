//! The HTML page around a report: one self-contained file (styles inline, charts as inline
//! SVG, no script, no network), so it opens from `file://` and can be mailed or archived.

use super::svg::esc;
use std::fmt::Write as _;

/// Colours of the detection categories, worst to best, shared by tables, charts and the
/// Navigator layer: none red, telemetry orange, general yellow, tactic light green,
/// technique green.
pub const CATEGORY_COLOURS: [(&str, &str); 5] = [
    ("none", "#e5534b"),
    ("telemetry", "#f0883e"),
    ("general", "#e3b341"),
    ("tactic", "#a5d66f"),
    ("technique", "#3fa34d"),
];

/// The colour of a detection category by name.
pub fn category_colour(name: &str) -> &'static str {
    CATEGORY_COLOURS
        .iter()
        .find(|(n, _)| *n == name)
        .map_or("#bbbbbb", |(_, c)| c)
}

/// A page being written: sections of headings, paragraphs, tables and figures.
pub struct Page {
    body: String,
}

const STYLE: &str = "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}\
table{border-collapse:collapse;margin:1em 0;font-size:14px}th,td{border:1px solid #ccc;padding:3px 8px;text-align:left}\
th{background:#f3f3f3}td.num{text-align:right}figure{margin:1em 0}figcaption{font-size:13px;color:#555}\
.legend span{display:inline-block;margin-right:1.2em;font-size:13px}.swatch{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:middle}";

impl Page {
    /// A page whose first heading is `title`.
    pub fn new(title: &str) -> Page {
        let mut body = String::new();
        let _ = write!(body, "<h1>{}</h1>", esc(title));
        Page { body }
    }

    /// A section heading.
    pub fn h2(&mut self, s: &str) {
        let _ = write!(self.body, "<h2>{}</h2>", esc(s));
    }

    /// A paragraph of text.
    pub fn p(&mut self, s: &str) {
        let _ = write!(self.body, "<p>{}</p>", esc(s));
    }

    /// A figure: an SVG and its caption.
    pub fn figure(&mut self, svg: String, caption: &str) {
        let _ = write!(
            self.body,
            "<figure>{svg}<figcaption>{}</figcaption></figure>",
            esc(caption)
        );
    }

    /// A short heading and a bulleted list.
    pub fn list(&mut self, head: &str, items: &[String]) {
        let _ = write!(self.body, "<h3>{}</h3><ul>", esc(head));
        for i in items {
            let _ = write!(self.body, "<li>{}</li>", esc(i));
        }
        self.body.push_str("</ul>");
    }

    /// A legend of coloured swatches.
    pub fn legend(&mut self, items: &[(&str, &str)]) {
        self.body.push_str(r#"<div class="legend">"#);
        for (label, colour) in items {
            let _ = write!(
                self.body,
                r#"<span><i class="swatch" style="background:{}"></i>{}</span>"#,
                esc(colour),
                esc(label)
            );
        }
        self.body.push_str("</div>");
    }

    /// A table; cells that parse as numbers are right-aligned. A cell may carry a colour
    /// (`(text, Some(colour))`) shown as its background.
    pub fn table(&mut self, head: &[&str], rows: &[Vec<(String, Option<&str>)>]) {
        self.body.push_str("<table><tr>");
        for h in head {
            let _ = write!(self.body, "<th>{}</th>", esc(h));
        }
        self.body.push_str("</tr>");
        for row in rows {
            self.body.push_str("<tr>");
            for (text, colour) in row {
                let numeric = text.trim_end_matches([' ', '%', 's']).parse::<f64>().is_ok();
                let class = if numeric { r#" class="num""# } else { "" };
                match colour {
                    Some(c) => {
                        let _ = write!(
                            self.body,
                            r#"<td{class} style="background:{}">{}</td>"#,
                            esc(c),
                            esc(text)
                        );
                    }
                    None => {
                        let _ = write!(self.body, "<td{class}>{}</td>", esc(text));
                    }
                }
            }
            self.body.push_str("</tr>");
        }
        self.body.push_str("</table>");
    }

    /// The whole document.
    pub fn finish(self, title: &str) -> String {
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>{}</body></html>\n",
            esc(title),
            self.body
        )
    }
}

/// Plain cells, uncoloured.
pub fn row(cells: Vec<String>) -> Vec<(String, Option<&'static str>)> {
    cells.into_iter().map(|c| (c, None)).collect()
}
