#![warn(missing_docs)]
//! # ember-viz
//!
//! Pictures of attributions, rendered on the host with no Burn dependency and nothing
//! downloaded at run time:
//!
//! - [`heatmap()`], [`overlay`] and [`grayscale`] turn flat `height × width` maps into
//!   upscaled RGB images, with a diverging colour scale centred at zero ([`MapKind::Signed`])
//!   or a sequential one ([`MapKind::Absolute`]), clipped at a percentile so that outliers
//!   saturate instead of washing out the map.
//! - [`grid`] lays cells out as rows (examples) × columns (methods); [`png_bytes`] and
//!   [`write_png`] encode them.
//! - [`bar_chart_svg`] and [`line_plot_svg`] draw feature importances and deletion/insertion
//!   curves as standalone [`Svg`], a type only this crate can make.
//! - [`report`] renders one self-contained, offline `index.html` with the settings, a metric
//!   table, figures, plots and notes.
//! - [`tokens_page`] and [`tokens_terminal`] highlight text tokens by their scores, as an
//!   HTML page comparing methods row by row or with ANSI colours for a terminal.
//!
//! ```
//! use ember_viz::{heatmap, HeatmapOptions, MapKind};
//!
//! let values = [0.0, 1.0, -1.0, 0.5];
//! let opts = HeatmapOptions { kind: MapKind::Signed, clip_percentile: 0.0, scale: 8 };
//! let img = heatmap(&values, 2, 2, &opts)?;
//! assert_eq!(img.dimensions(), (16, 16));
//! let png = ember_viz::png_bytes(&img)?;
//! # Ok::<(), ember_viz::VizError>(())
//! ```

pub mod chart;
pub mod compose;
pub mod error;
pub mod heatmap;
pub mod outline;
pub mod report;
pub mod text;
pub mod tokens;

pub use chart::{Series, Svg, bar_chart_svg, line_plot_svg};
pub use compose::{grid, png_bytes, write_png};
pub use error::VizError;
pub use heatmap::{
    ColourScale, HeatmapOptions, MAX_PIXELS, MapKind, colour, grayscale, heatmap, overlay,
    overlay_colour,
};
pub use image::RgbImage;
pub use outline::{OUTLINE, outline_groups};
pub use text::{escape_html, format_number};
pub use tokens::{TokenLine, tokens_page, tokens_terminal};
