//! A self-contained HTML report: one `index.html` that works offline from `file://`.
//!
//! Build a [`Page`] and call [`render`] (or [`write()`]). The page uses inline CSS only: no
//! script, no web font, nothing fetched. Images are either inlined as base64 `data:` URIs
//! ([`ImageRef::InlinePng`]) or referenced by a path relative to the page ([`ImageRef::File`]).
//! Every string of the data model is escaped, except [`Page::plots`], which are SVG produced by
//! [`crate::bar_chart_svg`] and [`crate::line_plot_svg`] (they escape their own text).

use std::fmt::Write as _;
use std::path::Path;

use base64::Engine as _;

use crate::error::VizError;
use crate::text::{escape_html, format_number};

/// Everything on the page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    /// The page's heading and `<title>`.
    pub title: String,
    /// One line under the title, e.g. "cnn on 16 digits test images, flex".
    pub subtitle: String,
    /// The settings used (model, device, examples, seed, steps, …) as name–value pairs.
    pub settings: Vec<(String, String)>,
    /// Software versions (ember, burn, rustc, …) as name–value pairs.
    pub versions: Vec<(String, String)>,
    /// The metrics, one row per method.
    pub metrics: MetricTable,
    /// Images, each with a title and a caption.
    pub figures: Vec<Figure>,
    /// Raw SVG charts from [`crate::bar_chart_svg`] and [`crate::line_plot_svg`]: trusted,
    /// inserted unescaped.
    pub plots: Vec<String>,
    /// More tables of numbers, each in its own section after the metrics (e.g. the rank
    /// agreement between methods).
    pub tables: Vec<Table>,
    /// Labelled grids of images (e.g. examples × methods), shown before the figures.
    pub grids: Vec<ImageGrid>,
    /// Free-text paragraphs (escaped; line breaks are kept).
    pub notes: Vec<String>,
}

/// A grid of images with a header per column and a label per row, rendered as an HTML table
/// so that every column is named (e.g. rows: examples, columns: methods).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImageGrid {
    /// The grid's heading.
    pub title: String,
    /// One line under the grid.
    pub caption: String,
    /// The column headers.
    pub columns: Vec<String>,
    /// Each row's label and its images, one per column (each image's alt text is
    /// "row label, column header").
    pub rows: Vec<(String, Vec<ImageRef>)>,
}

/// A table of numbers with a label per row, e.g. a method × method matrix.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    /// The section's heading.
    pub title: String,
    /// The table's HTML `id` (letters, digits, `-` and `_`; anything else is dropped).
    pub id: String,
    /// One line under the table.
    pub caption: String,
    /// The column headers (the row labels' column is unnamed).
    pub columns: Vec<String>,
    /// Each row's label and values (`None` is shown as "—").
    pub rows: Vec<(String, Vec<Option<f64>>)>,
}

/// A table of metrics: columns are metrics, rows are methods.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricTable {
    /// The metrics.
    pub columns: Vec<MetricColumn>,
    /// One row per method, each with one value per column.
    pub rows: Vec<MetricRow>,
}

/// One metric.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricColumn {
    /// Its short name (the column header).
    pub name: String,
    /// A one-line meaning, listed under the table.
    pub meaning: String,
    /// Which direction is better; the best value of the column is shown in bold.
    pub better: Better,
}

/// Which values of a metric are better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Better {
    /// Higher is better (shown as ↑).
    Higher,
    /// Lower is better (shown as ↓).
    Lower,
    /// Neither: a descriptive number.
    #[default]
    None,
}

impl Better {
    /// The arrow shown after the column name (`""` for [`Better::None`]).
    pub fn arrow(self) -> &'static str {
        match self {
            Better::Higher => "↑",
            Better::Lower => "↓",
            Better::None => "",
        }
    }
}

/// One method's metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricRow {
    /// The method's name.
    pub method: String,
    /// One value per column; `None` is shown as "—".
    pub values: Vec<Option<f64>>,
    /// An optional sanity-check verdict, shown as a pass/fail badge.
    pub pass: Option<bool>,
}

/// One image with its title and caption.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// A short title (also the image's alt text).
    pub title: String,
    /// What the image shows.
    pub caption: String,
    /// The image.
    pub image: ImageRef,
}

/// Where a figure's image comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum ImageRef {
    /// PNG bytes (e.g. from [`crate::png_bytes`]), inlined as a base64 `data:` URI.
    InlinePng(Vec<u8>),
    /// A file path relative to the page, e.g. `"grid.png"` (a plain path, not a URL: it is
    /// percent-encoded where needed).
    File(String),
}

const CSS: &str = "\
:root{color-scheme:light;--fg:#1d1d1f;--muted:#5f6368;--line:#d9dce1;--bg:#fff;--head:#f5f6f8}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}
main{max-width:1100px;margin:0 auto;padding:24px 20px 48px}
h1{font-size:1.7em;margin:0 0 4px}
h2{font-size:1.2em;margin:32px 0 10px;padding-bottom:4px;border-bottom:1px solid var(--line)}
.subtitle{color:var(--muted);margin:0 0 8px}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
th,td{padding:5px 12px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
thead th{background:var(--head);font-weight:600}
td.num,th.num{text-align:right}
#metrics td.best{font-weight:700}
.kv th{font-weight:500;color:var(--muted)}
.meanings{color:var(--muted);font-size:.92em;margin:10px 0 0;padding-left:18px}
.badge{display:inline-block;padding:0 8px;border-radius:9px;font-size:.85em;font-weight:600}
.badge.pass{background:#e6f4ea;color:#137333}
.badge.fail{background:#fce8e6;color:#a50e0e}
.cols{display:flex;flex-wrap:wrap;align-items:flex-start;gap:12px 48px}
table.grid th,table.grid td{padding:2px 4px;border:0;text-align:center;vertical-align:middle;font-size:.85em}
table.grid img{display:block;image-rendering:pixelated}
figure{margin:16px 0}
figure img{max-width:100%;height:auto;image-rendering:pixelated;border:1px solid var(--line)}
figure svg{max-width:100%;height:auto}
figcaption{color:var(--muted);font-size:.92em;margin-top:4px}
figcaption strong{color:var(--fg)}
.notes p{white-space:pre-line}
footer{margin-top:40px;color:var(--muted);font-size:.85em}
";

/// Renders the page as one self-contained HTML5 document.
///
/// Empty sections (no settings, no metrics, no figures, …) are left out.
///
/// # Errors
///
/// [`VizError::MetricRowLength`] if a metric row does not have one value per column.
pub fn render(page: &Page) -> Result<String, VizError> {
    for row in &page.metrics.rows {
        if row.values.len() != page.metrics.columns.len() {
            return Err(VizError::MetricRowLength {
                method: row.method.clone(),
                expected: page.metrics.columns.len(),
                got: row.values.len(),
            });
        }
    }
    let mut html = String::new();
    let _ = write!(
        html,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n<main>\n",
        escape_html(&page.title)
    );
    let _ = writeln!(html, "<h1>{}</h1>", escape_html(&page.title));
    if !page.subtitle.is_empty() {
        let _ = writeln!(
            html,
            "<p class=\"subtitle\">{}</p>",
            escape_html(&page.subtitle)
        );
    }
    render_metrics(&mut html, &page.metrics);
    for table in &page.tables {
        render_table(&mut html, table)?;
    }
    for grid in &page.grids {
        render_grid(&mut html, grid)?;
    }
    if !page.figures.is_empty() {
        html.push_str("<section>\n<h2>Figures</h2>\n");
        for figure in &page.figures {
            render_figure(&mut html, figure);
        }
        html.push_str("</section>\n");
    }
    if !page.plots.is_empty() {
        html.push_str("<section>\n<h2>Plots</h2>\n");
        for plot in &page.plots {
            let _ = writeln!(html, "<figure class=\"plot\">{plot}</figure>");
        }
        html.push_str("</section>\n");
    }
    if !page.notes.is_empty() {
        html.push_str("<section class=\"notes\">\n<h2>Notes</h2>\n");
        for note in &page.notes {
            let _ = writeln!(html, "<p>{}</p>", escape_html(note));
        }
        html.push_str("</section>\n");
    }
    if !page.settings.is_empty() || !page.versions.is_empty() {
        html.push_str("<section>\n<h2>Run</h2>\n<div class=\"cols\">\n");
        render_pairs(&mut html, "Settings", &page.settings);
        render_pairs(&mut html, "Versions", &page.versions);
        html.push_str("</div>\n</section>\n");
    }
    let _ = write!(
        html,
        "<footer>Made by ember-viz {}. This page is self-contained: it loads nothing and works \
         offline.</footer>\n</main>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION")
    );
    Ok(html)
}

/// Renders the page and writes it to `path` (e.g. `out/index.html`).
///
/// # Errors
///
/// Those of [`render`], and [`VizError::Write`] naming the path if it cannot be written.
pub fn write(page: &Page, path: &Path) -> Result<(), VizError> {
    let html = render(page)?;
    std::fs::write(path, html).map_err(|e| VizError::Write {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

fn render_metrics(html: &mut String, table: &MetricTable) {
    if table.columns.is_empty() && table.rows.is_empty() {
        return;
    }
    let with_verdict = table.rows.iter().any(|r| r.pass.is_some());
    html.push_str("<section>\n<h2>Metrics</h2>\n<table id=\"metrics\">\n<thead><tr><th scope=\"col\">method</th>");
    for column in &table.columns {
        let arrow = column.better.arrow();
        let sep = if arrow.is_empty() { "" } else { " " };
        let _ = write!(
            html,
            "<th scope=\"col\" class=\"num\" title=\"{}\">{}{sep}{arrow}</th>",
            escape_html(&column.meaning),
            escape_html(&column.name)
        );
    }
    if with_verdict {
        html.push_str("<th scope=\"col\">sanity check</th>");
    }
    html.push_str("</tr></thead>\n<tbody>\n");
    let best: Vec<Option<f64>> = table
        .columns
        .iter()
        .enumerate()
        .map(|(c, column)| best_value(table, c, column.better))
        .collect();
    for row in &table.rows {
        let _ = write!(
            html,
            "<tr><th scope=\"row\">{}</th>",
            escape_html(&row.method)
        );
        for (value, best) in row.values.iter().zip(&best) {
            match value {
                Some(v) => {
                    let class = if Some(*v) == *best { "num best" } else { "num" };
                    let _ = write!(
                        html,
                        "<td class=\"{class}\">{}</td>",
                        escape_html(&format_number(*v))
                    );
                }
                None => html.push_str("<td class=\"num\">—</td>"),
            }
        }
        if with_verdict {
            html.push_str(match row.pass {
                Some(true) => "<td><span class=\"badge pass\">pass</span></td>",
                Some(false) => "<td><span class=\"badge fail\">fail</span></td>",
                None => "<td>—</td>",
            });
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</tbody>\n</table>\n");
    if !table.columns.is_empty() {
        html.push_str("<ul class=\"meanings\">\n");
        for column in &table.columns {
            let direction = match column.better {
                Better::Higher => " (higher is better)",
                Better::Lower => " (lower is better)",
                Better::None => "",
            };
            let _ = writeln!(
                html,
                "<li><strong>{}</strong>: {}{direction}</li>",
                escape_html(&column.name),
                escape_html(&column.meaning)
            );
        }
        html.push_str("</ul>\n");
    }
    html.push_str("</section>\n");
}

fn render_table(html: &mut String, table: &Table) -> Result<(), VizError> {
    if let Some((label, values)) = table
        .rows
        .iter()
        .find(|(_, v)| v.len() != table.columns.len())
    {
        return Err(VizError::MetricRowLength {
            method: label.clone(),
            expected: table.columns.len(),
            got: values.len(),
        });
    }
    let id: String = table
        .id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    let _ = write!(
        html,
        "<section>\n<h2>{}</h2>\n<table id=\"{id}\">\n<thead><tr><th></th>",
        escape_html(&table.title)
    );
    for column in &table.columns {
        let _ = write!(
            html,
            "<th scope=\"col\" class=\"num\">{}</th>",
            escape_html(column)
        );
    }
    html.push_str("</tr></thead>\n<tbody>\n");
    for (label, values) in &table.rows {
        let _ = write!(html, "<tr><th scope=\"row\">{}</th>", escape_html(label));
        for value in values {
            match value {
                Some(v) => {
                    let _ = write!(
                        html,
                        "<td class=\"num\">{}</td>",
                        escape_html(&format_number(*v))
                    );
                }
                None => html.push_str("<td class=\"num\">—</td>"),
            }
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</tbody>\n</table>\n");
    if !table.caption.is_empty() {
        let _ = writeln!(
            html,
            "<p class=\"meanings\">{}</p>",
            escape_html(&table.caption)
        );
    }
    html.push_str("</section>\n");
    Ok(())
}

/// The best finite value of column `c`, if the column has a direction and at least two
/// finite values to compare.
fn best_value(table: &MetricTable, c: usize, better: Better) -> Option<f64> {
    let values = table
        .rows
        .iter()
        .filter_map(|r| r.values.get(c).copied().flatten())
        .filter(|v| v.is_finite());
    let (count, best) = values.fold((0usize, None::<f64>), |(n, best), v| {
        let better_v = match (best, better) {
            (None, _) => v,
            (Some(b), Better::Higher) => b.max(v),
            (Some(b), Better::Lower) => b.min(v),
            (Some(b), Better::None) => b,
        };
        (n + 1, Some(better_v))
    });
    if better == Better::None || count < 2 {
        None
    } else {
        best
    }
}

/// The `src` of an image: a base64 `data:` URI or an escaped relative URL.
fn image_src(image: &ImageRef) -> String {
    match image {
        ImageRef::InlinePng(bytes) => format!(
            "data:image/png;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        ),
        ImageRef::File(path) => escape_html(&relative_url(path)),
    }
}

fn render_grid(html: &mut String, grid: &ImageGrid) -> Result<(), VizError> {
    if let Some((label, images)) = grid
        .rows
        .iter()
        .find(|(_, i)| i.len() != grid.columns.len())
    {
        return Err(VizError::MetricRowLength {
            method: label.clone(),
            expected: grid.columns.len(),
            got: images.len(),
        });
    }
    let _ = write!(
        html,
        "<section>\n<h2>{}</h2>\n<table class=\"grid\">\n<thead><tr><th></th>",
        escape_html(&grid.title)
    );
    for column in &grid.columns {
        let _ = write!(html, "<th scope=\"col\">{}</th>", escape_html(column));
    }
    html.push_str("</tr></thead>\n<tbody>\n");
    for (label, images) in &grid.rows {
        let _ = write!(html, "<tr><th scope=\"row\">{}</th>", escape_html(label));
        for (image, column) in images.iter().zip(&grid.columns) {
            let _ = write!(
                html,
                "<td><img src=\"{}\" alt=\"{}, {}\"></td>",
                image_src(image),
                escape_html(label),
                escape_html(column)
            );
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</tbody>\n</table>\n");
    if !grid.caption.is_empty() {
        let _ = writeln!(
            html,
            "<p class=\"meanings\">{}</p>",
            escape_html(&grid.caption)
        );
    }
    html.push_str("</section>\n");
    Ok(())
}

fn render_figure(html: &mut String, figure: &Figure) {
    let src = image_src(&figure.image);
    let alt = if figure.title.is_empty() {
        &figure.caption
    } else {
        &figure.title
    };
    let _ = write!(
        html,
        "<figure>\n<img src=\"{src}\" alt=\"{}\">\n<figcaption>",
        escape_html(alt)
    );
    if !figure.title.is_empty() {
        let _ = write!(html, "<strong>{}</strong>", escape_html(&figure.title));
        if !figure.caption.is_empty() {
            html.push_str(". ");
        }
    }
    let _ = write!(
        html,
        "{}</figcaption>\n</figure>\n",
        escape_html(&figure.caption)
    );
}

fn render_pairs(html: &mut String, heading: &str, pairs: &[(String, String)]) {
    if pairs.is_empty() {
        return;
    }
    let _ = write!(
        html,
        "<table class=\"kv\">\n<thead><tr><th scope=\"col\" colspan=\"2\">{heading}</th></tr></thead>\n<tbody>\n"
    );
    for (name, value) in pairs {
        let _ = writeln!(
            html,
            "<tr><th scope=\"row\">{}</th><td>{}</td></tr>",
            escape_html(name),
            escape_html(value)
        );
    }
    html.push_str("</tbody>\n</table>\n");
}

/// A relative URL for a plain file path: backslashes become `/`, characters that would end
/// or alter a URL path are percent-encoded, and a leading `name:` (which a browser would read
/// as a URL scheme, e.g. `javascript:`) is made relative with `./`.
fn relative_url(path: &str) -> String {
    let mut url = String::with_capacity(path.len());
    for c in path.chars() {
        match c {
            '\\' => url.push('/'),
            '%' => url.push_str("%25"),
            ' ' => url.push_str("%20"),
            '#' => url.push_str("%23"),
            '?' => url.push_str("%3F"),
            c => url.push(c),
        }
    }
    let first_segment = url.split('/').next().unwrap_or("");
    if first_segment.contains(':') {
        url.insert_str(0, "./");
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVIL: &str = r#"<script>alert(1)</script>"&'"#;

    fn sample_page() -> Page {
        Page {
            title: "ember report".into(),
            subtitle: "cnn on 16 digits test images, flex".into(),
            settings: vec![
                ("model".into(), "cnn".into()),
                ("steps".into(), "50".into()),
            ],
            versions: vec![("ember".into(), "0.1.0".into())],
            metrics: MetricTable {
                columns: vec![
                    MetricColumn {
                        name: "completeness error".into(),
                        meaning: "|Σ attributions − (f(x) − f(x′))|".into(),
                        better: Better::Lower,
                    },
                    MetricColumn {
                        name: "deletion AUC".into(),
                        meaning: "area under the deletion curve".into(),
                        better: Better::Higher,
                    },
                ],
                rows: vec![
                    MetricRow {
                        method: "integrated gradients".into(),
                        values: vec![Some(1.234e-6), Some(0.5)],
                        pass: Some(true),
                    },
                    MetricRow {
                        method: "saliency".into(),
                        values: vec![None, Some(0.25)],
                        pass: Some(false),
                    },
                ],
            },
            figures: vec![
                Figure {
                    title: "grid".into(),
                    caption: "rows: examples; columns: methods".into(),
                    image: ImageRef::File("grid.png".into()),
                },
                Figure {
                    title: "one".into(),
                    caption: String::new(),
                    image: ImageRef::InlinePng(vec![1, 2, 3, 250]),
                },
            ],
            plots: vec![crate::line_plot_svg("curves", "x", "y", &[])],
            tables: vec![Table {
                title: "Rank agreement".into(),
                id: "rank agreement!".into(),
                caption: "mean Spearman".into(),
                columns: vec!["a".into(), "b".into()],
                rows: vec![
                    ("a".into(), vec![Some(1.0), Some(0.25)]),
                    ("b".into(), vec![Some(0.25), None]),
                ],
            }],
            grids: vec![ImageGrid {
                title: "Maps".into(),
                caption: "rows: examples".into(),
                columns: vec!["input".into(), "saliency".into()],
                rows: vec![(
                    "digit 0".into(),
                    vec![
                        ImageRef::File("cells/0-input.png".into()),
                        ImageRef::InlinePng(vec![7]),
                    ],
                )],
            }],
            notes: vec!["first note\nsecond line".into()],
        }
    }

    #[test]
    fn page_is_html5_with_the_metric_table_and_one_img_per_figure() {
        let page = sample_page();
        let html = render(&page).unwrap();
        assert!(html.starts_with("<!doctype html>\n"));
        assert!(html.contains("<meta charset=\"utf-8\">"));
        assert_eq!(html.matches("id=\"metrics\"").count(), 1);
        assert_eq!(html.matches("<img ").count(), page.figures.len() + 2);
        // The grid names every column and every image.
        assert!(html.contains("<table class=\"grid\">"));
        assert!(html.contains("<th scope=\"col\">saliency</th>"));
        assert!(html.contains("src=\"cells/0-input.png\" alt=\"digit 0, input\""));
        let mut ragged_grid = page.clone();
        ragged_grid.grids[0].rows[0].1.pop();
        assert!(matches!(
            render(&ragged_grid),
            Err(VizError::MetricRowLength { .. })
        ));
        assert_eq!(
            html.matches("<img ").count(),
            html.matches(" alt=\"").count(),
            "every img needs an alt"
        );
        assert!(html.contains("src=\"grid.png\" alt=\"grid\""));
        assert!(html.contains("src=\"data:image/png;base64,AQID+g==\""));
        assert!(html.contains("<svg"));
        // The extra table, with its id sanitised.
        assert!(html.contains("<table id=\"rankagreement\">"));
        assert!(html.contains(
            "<tr><th scope=\"row\">b</th><td class=\"num\">0.25</td><td class=\"num\">—</td></tr>"
        ));
        let mut ragged = page.clone();
        ragged.tables[0].rows[1].1.pop();
        assert!(matches!(
            render(&ragged),
            Err(VizError::MetricRowLength { .. })
        ));
        for (open, close) in [
            ("<html", "</html>"),
            ("<head>", "</head>"),
            ("<body>", "</body>"),
            ("<main>", "</main>"),
            ("<section", "</section>"),
            ("<table", "</table>"),
            ("<tr>", "</tr>"),
            ("<figure", "</figure>"),
            ("<svg", "</svg>"),
            ("<figcaption>", "</figcaption>"),
        ] {
            assert_eq!(
                html.matches(open).count(),
                html.matches(close).count(),
                "{open}"
            );
        }
        let paragraphs = html.matches("<p>").count() + html.matches("<p class").count();
        assert_eq!(paragraphs, html.matches("</p>").count());
    }

    #[test]
    fn page_loads_nothing_from_outside() {
        let html = render(&sample_page()).unwrap();
        assert!(!html.contains("<script"));
        assert!(!html.contains("<link"));
        assert!(!html.contains("url("));
        assert!(!html.contains("@import"));
        // The only absolute URL is the SVG namespace, which is a name, not a fetch.
        let without_ns = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
        assert!(!without_ns.contains("http:") && !without_ns.contains("https:"));
    }

    #[test]
    fn metric_cells_arrows_badges_and_best_values() {
        let html = render(&sample_page()).unwrap();
        assert!(html.contains("completeness error ↓</th>"));
        assert!(html.contains("deletion AUC ↑</th>"));
        // Only one value in the column: nothing to compare, so no highlight.
        assert!(html.contains("<td class=\"num\">1.234e-6</td>"));
        assert!(html.contains("<td class=\"num\">—</td>"));
        assert!(html.contains("<td class=\"num best\">0.5</td>"));
        assert!(html.contains("<td class=\"num\">0.25</td>"));
        assert!(html.contains("badge pass\">pass<") && html.contains("badge fail\">fail<"));
        assert!(html.contains("area under the deletion curve (higher is better)"));

        let mut no_verdicts = sample_page();
        for row in &mut no_verdicts.metrics.rows {
            row.pass = None;
        }
        let html = render(&no_verdicts).unwrap();
        assert!(!html.contains("sanity check"));
    }

    #[test]
    fn every_user_string_is_escaped() {
        let evil = || EVIL.to_string();
        let page = Page {
            title: evil(),
            subtitle: evil(),
            settings: vec![(evil(), evil())],
            versions: vec![(evil(), evil())],
            metrics: MetricTable {
                columns: vec![MetricColumn {
                    name: evil(),
                    meaning: evil(),
                    better: Better::Higher,
                }],
                rows: vec![MetricRow {
                    method: evil(),
                    values: vec![Some(1.0)],
                    pass: None,
                }],
            },
            figures: vec![
                Figure {
                    title: evil(),
                    caption: evil(),
                    image: ImageRef::File(evil()),
                },
                Figure {
                    title: String::new(),
                    caption: evil(),
                    image: ImageRef::InlinePng(vec![0]),
                },
            ],
            plots: vec![
                crate::bar_chart_svg(&[evil(), "b".into()], &[1.0, -2.0], 5, EVIL).unwrap(),
                crate::line_plot_svg(
                    EVIL,
                    EVIL,
                    EVIL,
                    &[crate::Series::new(EVIL, vec![(0.0, 1.0)])],
                ),
            ],
            grids: vec![ImageGrid {
                title: evil(),
                caption: evil(),
                columns: vec![evil()],
                rows: vec![(evil(), vec![ImageRef::File(evil())])],
            }],
            tables: vec![Table {
                title: evil(),
                id: evil(),
                caption: evil(),
                columns: vec![evil()],
                rows: vec![(evil(), vec![Some(1.0)])],
            }],
            notes: vec![evil()],
        };
        let html = render(&page).unwrap();
        assert!(!html.contains("<script"), "raw script tag in page");
        assert!(!html.contains(r#""&'"#), "raw quote/ampersand in page");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    }

    #[test]
    fn file_paths_become_relative_urls() {
        assert_eq!(relative_url("grid.png"), "grid.png");
        assert_eq!(
            relative_url("figs\\my map #1?.png"),
            "figs/my%20map%20%231%3F.png"
        );
        assert_eq!(relative_url("100%.png"), "100%25.png");
        assert_eq!(relative_url("javascript:alert(1)"), "./javascript:alert(1)");
        assert_eq!(relative_url("C:\\x.png"), "./C:/x.png");
        assert_eq!(relative_url("dir/a:b.png"), "dir/a:b.png");
    }

    #[test]
    fn metric_row_of_the_wrong_length_is_an_error() {
        let mut page = sample_page();
        page.metrics.rows[1].values.pop();
        let err = render(&page).unwrap_err();
        assert!(matches!(
            err,
            VizError::MetricRowLength {
                expected: 2,
                got: 1,
                ..
            }
        ));
        assert!(err.to_string().contains("`saliency`"), "{err}");
    }

    #[test]
    fn write_creates_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.html");
        write(&sample_page(), &path).unwrap();
        let written = std::fs::read_to_string(&path).unwrap();
        assert_eq!(written, render(&sample_page()).unwrap());
    }
}
