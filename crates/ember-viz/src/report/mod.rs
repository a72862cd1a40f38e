//! A self-contained HTML report: one `index.html` that works offline from `file://`.
//!
//! Build a [`Page`] and call [`render()`] (or [`write()`]). The page uses inline CSS only: no
//! script, no web font, nothing fetched. Images are either inlined as base64 `data:` URIs
//! ([`ImageRef::InlinePng`]) or referenced by a path relative to the page ([`ImageRef::File`]).
//! Every string of the data model is escaped, except [`Page::plots`], which are [`Svg`] charts:
//! only this crate's [`crate::bar_chart_svg`] and [`crate::line_plot_svg`] can make one (they
//! escape their own text), so nothing else reaches the page unescaped.

pub(crate) mod render;
mod style;
#[cfg(test)]
mod tests;

pub use render::{render, write};

use crate::chart::Svg;

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
    /// SVG charts from [`crate::bar_chart_svg`] and [`crate::line_plot_svg`], inserted
    /// unescaped (an [`Svg`] can only come from those functions).
    pub plots: Vec<Svg>,
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
