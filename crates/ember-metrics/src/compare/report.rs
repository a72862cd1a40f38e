//! The report of a comparison: `index.html` (self-contained), `results.json` and PNGs.

use std::path::{Path, PathBuf};

use ember_viz::report::{Figure, ImageGrid, ImageRef, Page};
use ember_viz::{HeatmapOptions, MapKind, RgbImage, VizError};

use super::Comparison;
use super::page::{agreement_table, completeness_table, curve_plots, describe, metric_table};

/// How the report draws an example's features.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportLayout {
    /// Images of `height × width` pixels: `[channels, height, width]` per example, any number
    /// of channels. A map is drawn as the sum of its channels; the input in colour when it has
    /// three channels (RGB, normalised to its own range), otherwise as the mean of its
    /// channels in grey.
    Image {
        /// Pixels per column.
        height: usize,
        /// Pixels per row.
        width: usize,
    },
    /// Named features (a table's columns): an examples × features map per method, and each
    /// method's top features of the first example.
    Features {
        /// One name per feature.
        names: Vec<String>,
    },
}

impl ReportLayout {
    /// The layout an input shape suggests: `[batch, channels, height, width]` and `[batch,
    /// height, width]` are images, anything else features named by their index.
    pub fn for_shape(shape: &[usize]) -> Self {
        match shape {
            [_, _, height, width] | [_, height, width] => ReportLayout::Image {
                height: *height,
                width: *width,
            },
            _ => ReportLayout::Features {
                names: (0..shape[1..].iter().product())
                    .map(|i| format!("feature {i}"))
                    .collect(),
            },
        }
    }
}

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// Drawing or writing a picture or the page failed.
    #[error(transparent)]
    Viz(#[from] VizError),
    /// A file or the directory could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The layout does not fit the examples' features.
    #[error("the report layout {layout} does not fit examples of {features} features")]
    Layout {
        /// The layout, in words.
        layout: String,
        /// Features per example.
        features: usize,
    },
}

/// Writes the report of `comparison` into `dir` (created; files of the same names replaced):
/// `index.html`, `results.json`, and `grid.png` (plus `overlays.png` for images). Records the
/// files in `comparison.results.files` and returns them.
///
/// # Errors
///
/// [`ReportError`]: the layout does not fit, or a file cannot be drawn or written.
pub fn write_report(
    comparison: &mut Comparison,
    layout: &ReportLayout,
    dir: &Path,
) -> Result<Vec<String>, ReportError> {
    std::fs::create_dir_all(dir).map_err(|source| ReportError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut page = Page {
        title: "ember compare".into(),
        subtitle: String::new(),
        settings: Vec::new(),
        versions: Vec::new(),
        metrics: metric_table(&comparison.results),
        figures: Vec::new(),
        plots: Vec::new(),
        tables: completeness_table(&comparison.results)
            .into_iter()
            .chain([agreement_table(&comparison.results)])
            .collect(),
        grids: Vec::new(),
        notes: Vec::new(),
    };
    let mut files = match layout {
        ReportLayout::Image { height, width } => {
            draw_images(comparison, *height, *width, dir, &mut page)?
        }
        ReportLayout::Features { names } => draw_features(comparison, names, dir, &mut page)?,
    };
    page.plots.extend(curve_plots(&comparison.results));
    describe(&comparison.results, &mut page);
    files.push("results.json".into());
    files.push("index.html".into());
    comparison.results.files = files.clone();
    let json = serde_json::to_string_pretty(&comparison.results)
        .expect("the results serialize: plain numbers, strings and lists");
    let path = dir.join("results.json");
    std::fs::write(&path, json).map_err(|source| ReportError::Io { path, source })?;
    ember_viz::report::write(&page, &dir.join("index.html"))?;
    Ok(files)
}

fn heat(signed: bool, scale: u32) -> HeatmapOptions {
    HeatmapOptions {
        kind: if signed {
            MapKind::Signed
        } else {
            MapKind::Absolute
        },
        clip_percentile: 2.0,
        scale,
    }
}

/// Example `i`'s pixels: the channels' mean (input) or sum (map).
fn pixels(values: &[f64], i: usize, pixels: usize, channels: usize, mean: bool) -> Vec<f32> {
    let row = &values[i * pixels * channels..(i + 1) * pixels * channels];
    let divisor = if mean { channels as f64 } else { 1.0 };
    (0..pixels)
        .map(|p| (0..channels).map(|c| row[c * pixels + p]).sum::<f64>() / divisor)
        .map(|v| v as f32)
        .collect()
}

/// Example `i`'s group per pixel: the group of its elements across the channels where they
/// share one, else a distinct id per channel combination (so the boundary shows).
fn pixel_groups(ids: &[i64], i: usize, pixels: usize, channels: usize) -> Vec<i64> {
    let row = &ids[i * pixels * channels..(i + 1) * pixels * channels];
    let mut seen: Vec<Vec<i64>> = Vec::new();
    (0..pixels)
        .map(|p| {
            let key: Vec<i64> = (0..channels).map(|c| row[c * pixels + p]).collect();
            if key.iter().all(|&id| id == key[0]) {
                return key[0];
            }
            let at = seen.iter().position(|k| *k == key).unwrap_or_else(|| {
                seen.push(key);
                seen.len() - 1
            });
            // Below every group id and NEVER_PERTURBED (−1).
            -2 - at as i64
        })
        .collect()
}

fn example_label(c: &Comparison, i: usize) -> String {
    let e = &c.results.examples[i];
    if e.name.is_some() || e.class_name.is_some() {
        return e.caption();
    }
    match e.label {
        Some(label) => format!("{label}→{}", e.predicted),
        None => format!("→{}", e.predicted),
    }
}

fn draw_images(
    c: &Comparison,
    height: usize,
    width: usize,
    dir: &Path,
    page: &mut Page,
) -> Result<Vec<String>, ReportError> {
    let n = c.shape[0];
    let features: usize = c.shape[1..].iter().product();
    let area = height * width;
    if area == 0 || !features.is_multiple_of(area) {
        return Err(ReportError::Layout {
            layout: format!("image {height}×{width}"),
            features,
        });
    }
    let channels = features / area;
    let names = &c.results.rank_agreement.methods;
    // The grid: one row per example, the input then one column per method.
    let scale = (96 / height.max(width)).clamp(1, 12) as u32;
    let mut rows = Vec::with_capacity(n);
    let mut overlays = Vec::with_capacity(n);
    for i in 0..n {
        let x = pixels(&c.input, i, area, channels, true);
        // A photo keeps its colours; other inputs are drawn in grey.
        let rgb: Option<Vec<f32>> = (channels == 3).then(|| {
            c.input[i * features..(i + 1) * features]
                .iter()
                .map(|&v| v as f32)
                .collect()
        });
        let input_image = match &rgb {
            Some(rgb) => ember_viz::colour(rgb, height, width, scale)?,
            None => ember_viz::grayscale(&x, height, width, scale)?,
        };
        let mut row = vec![input_image];
        let mut over = vec![row[0].clone()];
        for (m, map) in c.attributions.iter().enumerate() {
            let v = pixels(map, i, area, channels, false);
            let options = heat(c.signed[m], scale);
            let mut cell = ember_viz::heatmap(&v, height, width, &options)?;
            let mut blended = match &rgb {
                Some(rgb) => ember_viz::overlay_colour(&v, rgb, height, width, &options, 0.6)?,
                None => ember_viz::overlay(&v, &x, height, width, &options, 0.6)?,
            };
            // A method that perturbs groups of features: their boundaries.
            if let Some(ids) = c.groups.get(m).and_then(Option::as_ref) {
                let ids = pixel_groups(ids, i, area, channels);
                ember_viz::outline_groups(&mut cell, &ids, height, width, scale)?;
                ember_viz::outline_groups(&mut blended, &ids, height, width, scale)?;
            }
            row.push(cell);
            over.push(blended);
        }
        rows.push(row);
        overlays.push(over);
    }
    let headers: Vec<String> = std::iter::once("input".to_string())
        .chain(names.iter().cloned())
        .collect();
    let labelled = c.results.examples.iter().any(|e| e.label.is_some());
    let row_caption = if labelled {
        "Rows: examples (label → predicted class, the explained one)."
    } else {
        "Rows: examples (→ the explained class)."
    };
    let outlined: Vec<&str> = names
        .iter()
        .zip(&c.groups)
        .filter(|(_, g)| g.is_some())
        .map(|(name, _)| name.as_str())
        .collect();
    let outline_caption = if outlined.is_empty() {
        String::new()
    } else {
        format!(
            " Dark lines on the maps of {}: the boundaries of the groups of features perturbed \
             together (none where every pixel is its own group).",
            outlined.join(", ")
        )
    };
    page.grids.push(ImageGrid {
        title: "Attribution maps".into(),
        caption: format!(
            "{row_caption} Signed maps on a diverging scale centred at 0 (red raises the class \
             score, blue lowers it), non-negative maps on a sequential scale; each map clipped \
             at its 98th percentile of |value|.{outline_caption} The same grid is grid.png."
        ),
        columns: headers.clone(),
        rows: rows
            .iter()
            .zip(&c.results.examples)
            .map(|(cells, e)| {
                let images = cells
                    .iter()
                    .map(|cell| ember_viz::png_bytes(cell).map(ImageRef::InlinePng))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok((e.caption(), images))
            })
            .collect::<Result<Vec<_>, VizError>>()?,
    });
    let columns = headers.join(", ");
    let mut files = Vec::new();
    for (file, cells) in [("grid.png", &rows), ("overlays.png", &overlays)] {
        let image: RgbImage = ember_viz::grid(cells, 4)?;
        ember_viz::write_png(&image, &dir.join(file))?;
        files.push(file.to_string());
    }
    // grid.png is shown above as a labelled grid; the overlays as a figure.
    page.figures.push(Figure {
        title: "Maps over the inputs".into(),
        caption: format!(
            "Rows: examples ({}: {}). Columns: {columns}. Signed maps on a diverging scale \
             centred at 0 (red positive, blue negative), non-negative maps on a sequential \
             scale; each map clipped at its 98th percentile of |value|.",
            if labelled {
                "label → predicted"
            } else {
                "→ explained class"
            },
            (0..n)
                .map(|i| example_label(c, i))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        image: ImageRef::File("overlays.png".into()),
    });
    Ok(files)
}

fn draw_features(
    c: &Comparison,
    names: &[String],
    dir: &Path,
    page: &mut Page,
) -> Result<Vec<String>, ReportError> {
    let n = c.shape[0];
    let features: usize = c.shape[1..].iter().product();
    if names.len() != features {
        return Err(ReportError::Layout {
            layout: format!("{} named features", names.len()),
            features,
        });
    }
    let methods = &c.results.rank_agreement.methods;
    // An examples × features map per method, and the top features of example 0.
    let scale = 10;
    let cells = vec![
        c.attributions
            .iter()
            .enumerate()
            .map(|(m, map)| {
                let v: Vec<f32> = map.iter().map(|&x| x as f32).collect();
                ember_viz::heatmap(&v, n, features, &heat(c.signed[m], scale))
            })
            .collect::<Result<Vec<_>, _>>()?,
    ];
    let image = ember_viz::grid(&cells, 8)?;
    ember_viz::write_png(&image, &dir.join("grid.png"))?;
    page.figures.push(Figure {
        title: "Attribution maps".into(),
        caption: format!(
            "One panel per method ({}): rows are examples, columns the {features} features \
             in the dataset's order.",
            methods.join(", ")
        ),
        image: ImageRef::File("grid.png".into()),
    });
    for (m, map) in c.attributions.iter().enumerate() {
        page.plots.push(ember_viz::bar_chart_svg(
            names,
            &map[..features],
            10,
            &format!("{}: top features of example 0", methods[m]),
        )?);
    }
    Ok(vec!["grid.png".into()])
}
