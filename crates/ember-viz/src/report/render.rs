//! Rendering a [`Page`] as HTML: every string is escaped, except the [`Svg`] plots.

use std::fmt::Write as _;
use std::path::Path;

use base64::Engine as _;

use super::style::CSS;
use super::{Better, Figure, ImageGrid, ImageRef, MetricTable, Page, Table};
use crate::chart::Svg;
use crate::error::VizError;
use crate::text::{escape_html, format_number};

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
    let mut html = page_start(&page.title, &page.subtitle, "");
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
            render_plot(&mut html, plot);
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
    page_end(&mut html);
    Ok(html)
}

/// The start of a self-contained page in the report's style (plus `extra_css`): the head, the
/// title and the subtitle (left out when empty), all escaped.
pub(crate) fn page_start(title: &str, subtitle: &str, extra_css: &str) -> String {
    let mut html = String::new();
    let _ = write!(
        html,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>\n{CSS}{extra_css}</style>\n</head>\n<body>\n<main>\n",
        escape_html(title)
    );
    let _ = writeln!(html, "<h1>{}</h1>", escape_html(title));
    if !subtitle.is_empty() {
        let _ = writeln!(html, "<p class=\"subtitle\">{}</p>", escape_html(subtitle));
    }
    html
}

/// The footer and the end of a page begun by [`page_start`].
pub(crate) fn page_end(html: &mut String) {
    let _ = write!(
        html,
        "<footer>Made by ember-viz {}. This page is self-contained: it loads nothing and works \
         offline.</footer>\n</main>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION")
    );
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

/// Appends a chart as is: an [`Svg`] is drawn by this crate with its text escaped.
fn render_plot(html: &mut String, plot: &Svg) {
    let _ = writeln!(html, "<figure class=\"plot\">{}</figure>", plot.as_str());
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
}
