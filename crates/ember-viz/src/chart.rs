//! Charts as standalone SVG: feature-importance bars and line plots.
//!
//! Every piece of text (titles, labels, feature and series names) is escaped with
//! [`escape_html`], so the SVG can be embedded as is in an HTML page
//! ([`crate::report::Page::plots`]) or written to a `.svg` file. The charts are returned as
//! [`Svg`], which only this crate can make: markup from anywhere else cannot pass for a chart.

use std::fmt::{self, Write as _};

use crate::error::VizError;
use crate::text::{escape_html, format_number};

/// The colour of positive bars (red, as positive values in a signed heatmap).
pub const POSITIVE_COLOUR: &str = "#b2182b";
/// The colour of negative bars (blue, as negative values in a signed heatmap).
pub const NEGATIVE_COLOUR: &str = "#2166ac";

const WIDTH: f64 = 640.0;
const FONT: &str =
    r#"font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="12""#;

/// A chart drawn by this crate ([`bar_chart_svg`], [`line_plot_svg`]): one standalone
/// `<svg>` element whose text is all escaped.
///
/// It can only be made inside ember-viz, so it is safe to insert unescaped in an HTML page
/// ([`crate::report::Page::plots`]). Read the markup with [`Svg::as_str`], [`Svg::into_string`]
/// or [`Display`](fmt::Display), e.g. to write a `.svg` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Svg(String);

impl Svg {
    /// Wraps markup drawn by this crate, which must escape every piece of text it contains.
    pub(crate) fn new(markup: String) -> Self {
        Self(markup)
    }

    /// The SVG markup.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The SVG markup, as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Svg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One named curve of a line plot.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Series {
    /// The legend's label.
    pub name: String,
    /// `(x, y)` points, drawn in the given order; non-finite points are skipped.
    pub points: Vec<(f64, f64)>,
}

impl Series {
    /// A series from a name and its points.
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Self {
            name: name.into(),
            points,
        }
    }
}

/// A horizontal bar chart of the `top` features of largest `|value|`, largest first.
///
/// Positive bars are [`POSITIVE_COLOUR`] and extend right of the zero line, negative bars are
/// [`NEGATIVE_COLOUR`] and extend left; each bar is labelled with its value. Names longer than
/// 32 characters are shortened with `…` (the full name is the bar's tooltip).
///
/// # Arguments
///
/// - `names`, `values`: one entry per feature.
/// - `top`: how many features to show (all if there are fewer).
/// - `title`: the chart's title.
///
/// # Errors
///
/// [`VizError::LengthMismatch`] if `names` and `values` differ in length,
/// [`VizError::NonFinite`] for a NaN or infinite value.
pub fn bar_chart_svg(
    names: &[String],
    values: &[f64],
    top: usize,
    title: &str,
) -> Result<Svg, VizError> {
    if names.len() != values.len() {
        return Err(VizError::LengthMismatch {
            what: "bar chart",
            left: "names",
            left_len: names.len(),
            right: "values",
            right_len: values.len(),
        });
    }
    if let Some(index) = values.iter().position(|v| !v.is_finite()) {
        return Err(VizError::NonFinite {
            what: "bar values",
            index,
            value: values[index],
        });
    }
    let mut order: Vec<usize> = (0..values.len()).collect();
    // Stable: ties keep the features' order.
    order.sort_by(|&a, &b| values[b].abs().total_cmp(&values[a].abs()));
    order.truncate(top);

    const TOP: f64 = 40.0;
    const ROW: f64 = 22.0;
    const BAR: f64 = 16.0;
    const VALUE_ROOM: f64 = 64.0;
    let shown: Vec<String> = order.iter().map(|&i| shorten(&names[i], 32)).collect();
    let longest = shown.iter().map(|s| s.chars().count()).max().unwrap_or(0);
    let label_w = (longest as f64 * 7.0 + 16.0).clamp(60.0, 250.0);
    let height = TOP + ROW * order.len().max(1) as f64 + 16.0;

    let mut svg = open_svg(WIDTH, height, title);
    text(
        &mut svg,
        WIDTH / 2.0,
        22.0,
        "middle",
        r#"font-size="14" font-weight="600""#,
        title,
    );
    if order.is_empty() {
        text(
            &mut svg,
            WIDTH / 2.0,
            TOP + 14.0,
            "middle",
            "",
            "no features",
        );
        svg.push_str("</svg>");
        return Ok(Svg::new(svg));
    }

    let lo = order.iter().map(|&i| values[i]).fold(0.0, f64::min);
    let hi = order.iter().map(|&i| values[i]).fold(0.0, f64::max);
    let left = label_w + if lo < 0.0 { VALUE_ROOM } else { 8.0 };
    let right = WIDTH - if hi > 0.0 { VALUE_ROOM } else { 8.0 };
    let span = if hi > lo { hi - lo } else { 1.0 };
    let x_of = |v: f64| left + (v - lo) / span * (right - left);
    let zero = x_of(0.0);

    for (row, &i) in order.iter().enumerate() {
        let v = values[i];
        let y = TOP + ROW * row as f64;
        let (x0, x1) = if v >= 0.0 {
            (zero, x_of(v))
        } else {
            (x_of(v), zero)
        };
        let colour = if v >= 0.0 {
            POSITIVE_COLOUR
        } else {
            NEGATIVE_COLOUR
        };
        let _ = write!(
            svg,
            r#"<g><title>{}: {}</title><rect x="{:.2}" y="{:.2}" width="{:.2}" height="{BAR}" fill="{colour}"/>"#,
            escape_html(&names[i]),
            format_number(v),
            x0,
            y + (ROW - BAR) / 2.0,
            (x1 - x0).max(0.5),
        );
        let mid = y + ROW / 2.0 + 4.0;
        text(&mut svg, label_w, mid, "end", "", &shown[row]);
        let (vx, anchor) = if v >= 0.0 {
            (x1 + 4.0, "start")
        } else {
            (x0 - 4.0, "end")
        };
        text(
            &mut svg,
            vx,
            mid,
            anchor,
            r##"fill="#444""##,
            &format_number(v),
        );
        svg.push_str("</g>");
    }
    let bottom = TOP + ROW * order.len() as f64;
    let _ = write!(
        svg,
        r##"<line x1="{zero:.2}" y1="{:.2}" x2="{zero:.2}" y2="{:.2}" stroke="#333" stroke-width="1"/>"##,
        TOP - 4.0,
        bottom + 4.0
    );
    svg.push_str("</svg>");
    Ok(Svg::new(svg))
}

/// A line plot with axes, ticks, grid lines and a legend, e.g. for deletion and insertion
/// curves (x: fraction of features removed, y: model output).
///
/// Axis ranges cover every finite point of every series, widened to round tick values.
/// Non-finite points are skipped; series with few points (at most 30) get markers.
///
/// # Arguments
///
/// - `title`, `x_label`, `y_label`: the texts (escaped).
/// - `series`: the curves, coloured from [`colorous::CATEGORY10`] in order.
pub fn line_plot_svg(title: &str, x_label: &str, y_label: &str, series: &[Series]) -> Svg {
    const HEIGHT: f64 = 400.0;
    const LEFT: f64 = 72.0;
    const RIGHT: f64 = WIDTH - 170.0;
    const TOP: f64 = 40.0;
    const BOTTOM: f64 = HEIGHT - 56.0;

    let finite = |s: &Series| -> Vec<(f64, f64)> {
        s.points
            .iter()
            .copied()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .collect()
    };
    let curves: Vec<Vec<(f64, f64)>> = series.iter().map(finite).collect();
    let all = curves.iter().flatten();
    let x_range = range(all.clone().map(|p| p.0));
    let y_range = range(all.map(|p| p.1));
    let (x_ticks, x_lo, x_hi) = ticks(x_range);
    let (y_ticks, y_lo, y_hi) = ticks(y_range);
    let x_of = |x: f64| LEFT + (x - x_lo) / (x_hi - x_lo) * (RIGHT - LEFT);
    let y_of = |y: f64| BOTTOM - (y - y_lo) / (y_hi - y_lo) * (BOTTOM - TOP);

    let mut svg = open_svg(WIDTH, HEIGHT, title);
    text(
        &mut svg,
        (LEFT + RIGHT) / 2.0,
        22.0,
        "middle",
        r#"font-size="14" font-weight="600""#,
        title,
    );
    // Grid and ticks.
    for &t in &x_ticks {
        let x = x_of(t);
        let _ = write!(
            svg,
            r##"<line x1="{x:.2}" y1="{TOP}" x2="{x:.2}" y2="{BOTTOM}" stroke="#e5e5e5"/>"##
        );
        text(&mut svg, x, BOTTOM + 16.0, "middle", "", &format_number(t));
    }
    for &t in &y_ticks {
        let y = y_of(t);
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" y1="{y:.2}" x2="{RIGHT}" y2="{y:.2}" stroke="#e5e5e5"/>"##
        );
        text(&mut svg, LEFT - 6.0, y + 4.0, "end", "", &format_number(t));
    }
    let _ = write!(
        svg,
        r##"<rect x="{LEFT}" y="{TOP}" width="{}" height="{}" fill="none" stroke="#333"/>"##,
        RIGHT - LEFT,
        BOTTOM - TOP
    );
    text(
        &mut svg,
        (LEFT + RIGHT) / 2.0,
        HEIGHT - 16.0,
        "middle",
        "",
        x_label,
    );
    let _ = write!(
        svg,
        r#"<text x="0" y="0" text-anchor="middle" transform="translate(18 {:.2}) rotate(-90)">{}</text>"#,
        (TOP + BOTTOM) / 2.0,
        escape_html(y_label)
    );

    if curves.iter().all(Vec::is_empty) {
        text(
            &mut svg,
            (LEFT + RIGHT) / 2.0,
            (TOP + BOTTOM) / 2.0,
            "middle",
            r##"fill="#888""##,
            "no data",
        );
    }
    for (k, (s, points)) in series.iter().zip(&curves).enumerate() {
        let colour = series_colour(k);
        let dash = if k >= colorous::CATEGORY10.len() {
            r#" stroke-dasharray="6 3""#
        } else {
            ""
        };
        let _ = write!(svg, "<g><title>{}</title>", escape_html(&s.name));
        if points.len() > 1 {
            svg.push_str(r#"<polyline fill="none" stroke-width="2" points=""#);
            for (i, &(x, y)) in points.iter().enumerate() {
                let sep = if i == 0 { "" } else { " " };
                let _ = write!(svg, "{sep}{:.2},{:.2}", x_of(x), y_of(y));
            }
            let _ = write!(svg, r#"" stroke="{colour}"{dash}/>"#);
        }
        if points.len() <= 30 {
            for &(x, y) in points {
                let _ = write!(
                    svg,
                    r#"<circle cx="{:.2}" cy="{:.2}" r="2.5" fill="{colour}"/>"#,
                    x_of(x),
                    y_of(y)
                );
            }
        }
        svg.push_str("</g>");
        // Legend entry.
        let ly = TOP + 8.0 + 20.0 * k as f64;
        let _ = write!(
            svg,
            r#"<line x1="{:.2}" y1="{ly:.2}" x2="{:.2}" y2="{ly:.2}" stroke="{colour}" stroke-width="2"{dash}/>"#,
            RIGHT + 12.0,
            RIGHT + 36.0
        );
        text(
            &mut svg,
            RIGHT + 42.0,
            ly + 4.0,
            "start",
            "",
            &shorten(&s.name, 18),
        );
    }
    svg.push_str("</svg>");
    Svg::new(svg)
}

/// The SVG's opening tag (with an accessible title) as a string to append to.
fn open_svg(width: f64, height: f64, title: &str) -> String {
    let title = escape_html(title);
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{title}" {FONT}><title>{title}</title><rect width="100%" height="100%" fill="white"/>"#
    )
}

/// Appends an escaped `<text>` element.
fn text(svg: &mut String, x: f64, y: f64, anchor: &str, extra: &str, content: &str) {
    let _ = write!(
        svg,
        r#"<text x="{x:.2}" y="{y:.2}" text-anchor="{anchor}" {extra}>{}</text>"#,
        escape_html(content)
    );
}

/// The hex colour of the `k`-th series.
fn series_colour(k: usize) -> String {
    let c = colorous::CATEGORY10[k % colorous::CATEGORY10.len()];
    format!("#{c:x}")
}

/// At most `max` characters, the last replaced by `…` when cut.
fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut cut: String = s.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

/// The `(min, max)` of some numbers, `None` if there are none.
fn range(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values.fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

/// Round tick values covering `range` (`0..1` if empty, widened if a single value), and the
/// axis limits (the outermost ticks).
fn ticks(range: Option<(f64, f64)>) -> (Vec<f64>, f64, f64) {
    let (mut lo, mut hi) = range.unwrap_or((0.0, 1.0));
    if hi - lo <= f64::EPSILON * hi.abs().max(lo.abs()).max(1.0) {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        lo -= pad;
        hi += pad;
    }
    let step = nice_step((hi - lo) / 5.0);
    let first = (lo / step).floor();
    let last = (hi / step).ceil();
    let ticks: Vec<f64> = (0..=(last - first) as i64)
        .map(|i| {
            let t = (first + i as f64) * step;
            // Snap float noise such as 3e-17 to zero.
            if t.abs() < step * 1e-9 { 0.0 } else { t }
        })
        .collect();
    (ticks, first * step, last * step)
}

/// The 1, 2 or 5 × 10ᵏ at least `raw`.
fn nice_step(raw: f64) -> f64 {
    let magnitude = 10f64.powf(raw.log10().floor());
    let fraction = raw / magnitude;
    let nice = if fraction <= 1.0 {
        1.0
    } else if fraction <= 2.0 {
        2.0
    } else if fraction <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn bar_chart_keeps_the_top_magnitudes_in_order() {
        let svg = bar_chart_svg(
            &names(&["small", "big negative", "medium", "tiny"]),
            &[0.1, -3.0, 2.0, 0.01],
            3,
            "importance",
        )
        .unwrap()
        .into_string();
        let pos = |s: &str| svg.find(&format!(">{s}</text>"));
        let (big, medium, small) = (pos("big negative"), pos("medium"), pos("small"));
        assert!(
            big.is_some() && medium.is_some() && small.is_some(),
            "{svg}"
        );
        assert!(big < medium && medium < small);
        assert!(pos("tiny").is_none(), "top 3 should drop `tiny`");
        assert_eq!(svg.matches(NEGATIVE_COLOUR).count(), 1);
        assert_eq!(svg.matches(POSITIVE_COLOUR).count(), 2);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains(">-3</text>"));
    }

    #[test]
    fn bar_chart_escapes_names_and_title() {
        let evil = r#"<script>alert(1)</script>"&'"#;
        let svg = bar_chart_svg(&names(&[evil, "x"]), &[1.0, -1.0], 10, evil)
            .unwrap()
            .into_string();
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(!svg.contains(r#""&'"#), "{svg}");
        assert!(svg.contains("&lt;script&gt;"));
    }

    #[test]
    fn bar_chart_errors_and_empty() {
        assert!(matches!(
            bar_chart_svg(&names(&["a"]), &[1.0, 2.0], 5, "t"),
            Err(VizError::LengthMismatch {
                left_len: 1,
                right_len: 2,
                ..
            })
        ));
        assert!(matches!(
            bar_chart_svg(&names(&["a", "b"]), &[1.0, f64::NAN], 5, "t"),
            Err(VizError::NonFinite { index: 1, .. })
        ));
        let empty = bar_chart_svg(&[], &[], 5, "t").unwrap().into_string();
        assert!(empty.contains("no features") && empty.ends_with("</svg>"));
    }

    #[test]
    fn long_names_are_shortened_with_the_full_name_as_tooltip() {
        let long = "a".repeat(50);
        let svg = bar_chart_svg(std::slice::from_ref(&long), &[1.0], 1, "t")
            .unwrap()
            .into_string();
        assert!(svg.contains(&format!("<title>{long}: 1</title>")));
        assert!(svg.contains(&format!(">{}…</text>", "a".repeat(31))));
    }

    #[test]
    fn line_plot_has_axes_ticks_and_legend() {
        let series = [
            Series::new("deletion", vec![(0.0, 1.0), (0.5, 0.4), (1.0, 0.1)]),
            Series::new(
                "insertion <b>",
                vec![(0.0, 0.1), (0.5, f64::NAN), (1.0, 0.9)],
            ),
        ];
        let svg =
            line_plot_svg("curves & more", "fraction removed", "p(class)", &series).into_string();
        assert_eq!(svg.matches("<polyline").count(), 2);
        // NaN point skipped: 3 + 2 markers.
        assert_eq!(svg.matches("<circle").count(), 5);
        assert!(svg.contains(">deletion</text>"));
        assert!(svg.contains("insertion &lt;b&gt;"));
        assert!(!svg.contains("<b>"));
        assert!(svg.contains("curves &amp; more"));
        assert!(svg.contains(">fraction removed</text>") && svg.contains(">p(class)</text>"));
        // Ticks at 0, 0.2, …, 1 on both axes.
        for t in ["0", "0.2", "0.4", "0.6", "0.8", "1"] {
            assert!(svg.contains(&format!(">{t}</text>")), "tick {t} missing");
        }
        assert!(!svg.contains("NaN"));
    }

    #[test]
    fn line_plot_without_data_still_renders() {
        let svg = line_plot_svg("t", "x", "y", &[]).into_string();
        assert!(svg.contains("no data") && svg.ends_with("</svg>"));
        let one =
            line_plot_svg("t", "x", "y", &[Series::new("one", vec![(2.0, 3.0)])]).into_string();
        assert_eq!(one.matches("<circle").count(), 1);
        assert!(!one.contains("NaN") && !one.contains("inf"));
    }

    #[test]
    fn svg_reads_back_as_its_markup() {
        let svg = line_plot_svg("t", "x", "y", &[]);
        let markup = svg.as_str().to_owned();
        assert!(markup.starts_with("<svg") && markup.ends_with("</svg>"));
        assert_eq!(svg.to_string(), markup);
        assert_eq!(svg.into_string(), markup);
    }

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        let (t, lo, hi) = ticks(Some((0.03, 0.97)));
        assert_eq!((lo, hi), (0.0, 1.0));
        assert_eq!(t.len(), 6);
        let (t, lo, hi) = ticks(Some((-13.0, 42.0)));
        assert!(lo <= -13.0 && hi >= 42.0 && t.len() <= 12, "{t:?}");
        assert!(t.contains(&0.0));
        let (_, lo, hi) = ticks(Some((5.0, 5.0)));
        assert!(lo < 5.0 && hi > 5.0);
        assert_eq!(nice_step(0.17), 0.2);
        assert_eq!(nice_step(3.0), 5.0);
        assert_eq!(nice_step(7.0), 10.0);
    }
}
