//! Attribution maps as pictures: colour scales, heatmaps, overlays and grey-scale inputs.
//!
//! All functions take a flat row-major buffer of `height × width` values (one channel; sum or
//! average channels before calling) and return an [`RgbImage`] upscaled by an integer factor
//! with nearest-neighbour sampling, so that one map cell is one crisp `scale × scale` square.

use image::{Rgb, RgbImage};

use crate::error::VizError;

/// How values are mapped to colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MapKind {
    /// A diverging map centred at zero ([`colorous::RED_BLUE`]): positive values are red,
    /// negative values blue, zero the map's near-white middle. The scale is symmetric, so equal
    /// magnitudes get equal intensities whatever their sign.
    #[default]
    Signed,
    /// A sequential map ([`colorous::VIRIDIS`]) from zero to the scale's limit, coloured by the
    /// magnitude `|v|` (for non-negative maps such as saliency that is the value itself).
    Absolute,
}

/// How [`heatmap()`] and [`overlay`] draw a map.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeatmapOptions {
    /// Diverging (signed) or sequential (magnitude) colours.
    pub kind: MapKind,
    /// The percentage of largest magnitudes that saturate, in `[0, 100)`: the colour scale's
    /// limit is the `(100 − clip_percentile)`-th percentile of `|values|` (linear
    /// interpolation, like NumPy's default). `2.0` (the default) lets a few outliers saturate
    /// instead of washing out the rest of the map, in the spirit of Captum's `outlier_perc`
    /// (which thresholds the cumulative sum instead). `0.0` uses the maximum.
    pub clip_percentile: f64,
    /// Each map cell becomes a `scale × scale` square of pixels (at least 1), e.g. 16 for 8×8
    /// digits.
    pub scale: u32,
}

impl Default for HeatmapOptions {
    fn default() -> Self {
        Self {
            kind: MapKind::Signed,
            clip_percentile: 2.0,
            scale: 16,
        }
    }
}

/// A fitted colour scale: a kind and the magnitude at which colours saturate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ColourScale {
    /// Diverging or sequential.
    pub kind: MapKind,
    /// The magnitude mapped to the most intense colour; `0.0` only for an all-zero map, which
    /// is drawn entirely in the zero colour.
    pub limit: f64,
}

impl ColourScale {
    /// Fits the scale to `values` as described on [`HeatmapOptions::clip_percentile`].
    ///
    /// If the percentile is zero but some value is not (a sparse map), the limit falls back to
    /// the largest magnitude so that the non-zero values still show.
    ///
    /// # Errors
    ///
    /// [`VizError::NonFinite`] for a NaN or infinite value, [`VizError::InvalidOption`] for a
    /// `clip_percentile` outside `[0, 100)`.
    pub fn fit(values: &[f32], kind: MapKind, clip_percentile: f64) -> Result<Self, VizError> {
        check_clip(clip_percentile)?;
        check_finite("values", values)?;
        let mut magnitudes: Vec<f64> = values.iter().map(|&v| f64::from(v).abs()).collect();
        magnitudes.sort_by(f64::total_cmp);
        let max = magnitudes.last().copied().unwrap_or(0.0);
        let mut limit = percentile_sorted(&magnitudes, 100.0 - clip_percentile);
        if limit <= 0.0 {
            limit = max;
        }
        Ok(Self { kind, limit })
    }

    /// The colour of one value: saturated beyond the limit, the zero colour for an all-zero
    /// scale.
    pub fn colour(&self, value: f32) -> Rgb<u8> {
        let ratio = if self.limit > 0.0 {
            (f64::from(value) / self.limit).clamp(-1.0, 1.0)
        } else {
            0.0
        };
        let c = match self.kind {
            // RED_BLUE runs red (0) → white (0.5) → blue (1): positive goes to the red end.
            MapKind::Signed => colorous::RED_BLUE.eval_continuous(0.5 - 0.5 * ratio),
            MapKind::Absolute => colorous::VIRIDIS.eval_continuous(ratio.abs()),
        };
        Rgb([c.r, c.g, c.b])
    }

    /// The colour of zero (the diverging map's middle, or the sequential map's start).
    pub fn zero_colour(&self) -> Rgb<u8> {
        self.colour(0.0)
    }
}

/// Draws a map of attributions in colour.
///
/// # Arguments
///
/// - `values`: the map, row-major.
/// - `height`, `width`: the map's shape.
/// - `opts`: colours, clipping and upscaling.
///
/// # Shapes
///
/// `values`: `[height × width]`. Output: `(width · scale) × (height · scale)` pixels.
///
/// # Errors
///
/// [`VizError::ShapeMismatch`] if `values.len() != height × width`, [`VizError::EmptyMap`] for
/// a zero side, [`VizError::NonFinite`], [`VizError::InvalidOption`] for a bad clip or a zero
/// scale, [`VizError::TooLarge`] if a side would not fit a `u32` or the image would have more
/// than [`MAX_PIXELS`] pixels.
pub fn heatmap(
    values: &[f32],
    height: usize,
    width: usize,
    opts: &HeatmapOptions,
) -> Result<RgbImage, VizError> {
    check_shape("values", values, height, width)?;
    let (out_w, out_h) = output_size(height, width, opts.scale)?;
    let scale = ColourScale::fit(values, opts.kind, opts.clip_percentile)?;
    let colours: Vec<Rgb<u8>> = values.iter().map(|&v| scale.colour(v)).collect();
    Ok(upscale(&colours, width, out_w, out_h, opts.scale))
}

/// Draws a map of attributions blended over the grey-scale input it explains.
///
/// Each pixel is `alpha · heat + (1 − alpha) · grey`, where `grey` is the input normalised to
/// its own `min..max` (see [`grayscale`]).
///
/// # Arguments
///
/// - `values`: the attributions, row-major.
/// - `input`: the explained input, row-major (one channel).
/// - `height`, `width`: the shape of both.
/// - `opts`: colours, clipping and upscaling.
/// - `alpha`: the heatmap's weight in `[0, 1]`.
///
/// # Errors
///
/// Those of [`heatmap()`] for either buffer, and [`VizError::InvalidOption`] for an `alpha`
/// outside `[0, 1]`.
pub fn overlay(
    values: &[f32],
    input: &[f32],
    height: usize,
    width: usize,
    opts: &HeatmapOptions,
    alpha: f32,
) -> Result<RgbImage, VizError> {
    check_alpha(alpha)?;
    let heat = heatmap(values, height, width, opts)?;
    let grey = grayscale(input, height, width, opts.scale)?;
    Ok(blend(heat, &grey, alpha))
}

/// A heatmap of `values` blended over a colour input (a photo), as [`overlay`] does over a
/// grey one.
///
/// # Arguments
///
/// - `values`: the attributions, row-major, one value per pixel (`[height × width]`: sum a
///   map's channels first).
/// - `input`: the explained image, planar RGB (`[3 × height × width]`, as a `[3, H, W]` tensor
///   row-major).
/// - `height`, `width`, `opts`, `alpha`: as [`overlay`].
///
/// # Errors
///
/// Those of [`heatmap()`] and [`colour`], and [`VizError::InvalidOption`] for an `alpha`
/// outside `[0, 1]`.
pub fn overlay_colour(
    values: &[f32],
    input: &[f32],
    height: usize,
    width: usize,
    opts: &HeatmapOptions,
    alpha: f32,
) -> Result<RgbImage, VizError> {
    check_alpha(alpha)?;
    let heat = heatmap(values, height, width, opts)?;
    let base = colour(input, height, width, opts.scale)?;
    Ok(blend(heat, &base, alpha))
}

fn check_alpha(alpha: f32) -> Result<(), VizError> {
    if (0.0..=1.0).contains(&alpha) {
        Ok(())
    } else {
        Err(VizError::InvalidOption {
            name: "alpha",
            value: alpha.to_string(),
            expected: "a number in [0, 1]",
        })
    }
}

/// `alpha · heat + (1 − alpha) · base`, pixel by pixel (the same size).
fn blend(mut heat: RgbImage, base: &RgbImage, alpha: f32) -> RgbImage {
    for (h, b) in heat.pixels_mut().zip(base.pixels()) {
        for (hc, bc) in h.0.iter_mut().zip(b.0) {
            let blended = alpha * f32::from(*hc) + (1.0 - alpha) * f32::from(bc);
            *hc = blended.round().clamp(0.0, 255.0) as u8;
        }
    }
    heat
}

/// Draws a colour input (a photo), planar RGB, normalised to its own `min..max` over all three
/// channels together (so the colours keep their balance); a constant input is drawn black.
///
/// # Shapes
///
/// `input`: `[3 × height × width]` (a `[3, H, W]` tensor, row-major). Output:
/// `(width · scale) × (height · scale)` pixels.
///
/// # Errors
///
/// [`VizError::LengthMismatch`] if `input` is not three planes of `height × width`;
/// [`VizError::EmptyMap`], [`VizError::NonFinite`], [`VizError::InvalidOption`] for a zero
/// scale, [`VizError::TooLarge`].
pub fn colour(
    input: &[f32],
    height: usize,
    width: usize,
    scale: u32,
) -> Result<RgbImage, VizError> {
    let plane = height * width;
    if input.len() != 3 * plane {
        return Err(VizError::LengthMismatch {
            what: "colour image",
            left: "input",
            left_len: input.len(),
            right: "3 × height × width",
            right_len: 3 * plane,
        });
    }
    check_shape("input", &input[..plane], height, width)?;
    let (out_w, out_h) = output_size(height, width, scale)?;
    check_finite("input", input)?;
    let level = levels(input);
    let colours: Vec<Rgb<u8>> = (0..plane)
        .map(|p| {
            Rgb([
                level(input[p]),
                level(input[plane + p]),
                level(input[2 * plane + p]),
            ])
        })
        .collect();
    Ok(upscale(&colours, width, out_w, out_h, scale))
}

/// Draws an input in grey levels, normalised to its own `min..max` (black..white); a constant
/// input is drawn black.
///
/// # Shapes
///
/// `input`: `[height × width]`. Output: `(width · scale) × (height · scale)` pixels.
///
/// # Errors
///
/// [`VizError::ShapeMismatch`], [`VizError::EmptyMap`], [`VizError::NonFinite`],
/// [`VizError::InvalidOption`] for a zero scale, [`VizError::TooLarge`].
pub fn grayscale(
    input: &[f32],
    height: usize,
    width: usize,
    scale: u32,
) -> Result<RgbImage, VizError> {
    check_shape("input", input, height, width)?;
    let (out_w, out_h) = output_size(height, width, scale)?;
    check_finite("input", input)?;
    let level = levels(input);
    let colours: Vec<Rgb<u8>> = input.iter().map(|&v| Rgb([level(v); 3])).collect();
    Ok(upscale(&colours, width, out_w, out_h, scale))
}

/// The 0–255 level of a value within `values`' own `min..max` (0 for every value of a
/// constant input).
fn levels(values: &[f32]) -> impl Fn(f32) -> u8 {
    let (lo, hi) = values
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    let range = f64::from(hi) - f64::from(lo);
    move |v| {
        if range > 0.0 {
            ((f64::from(v) - f64::from(lo)) / range * 255.0).round() as u8
        } else {
            0
        }
    }
}

/// The `p`-th percentile (`0..=100`) of ascending `sorted` values with linear interpolation;
/// `0.0` for an empty slice.
fn percentile_sorted(sorted: &[f64], p: f64) -> f64 {
    match sorted.len() {
        0 => 0.0,
        1 => sorted[0],
        n => {
            let rank = p / 100.0 * (n - 1) as f64;
            let below = rank.floor() as usize;
            let above = (below + 1).min(n - 1);
            let frac = rank - below as f64;
            sorted[below] + frac * (sorted[above] - sorted[below])
        }
    }
}

fn check_clip(clip_percentile: f64) -> Result<(), VizError> {
    if (0.0..100.0).contains(&clip_percentile) {
        Ok(())
    } else {
        Err(VizError::InvalidOption {
            name: "clip_percentile",
            value: clip_percentile.to_string(),
            expected: "a percentage in [0, 100)",
        })
    }
}

pub(crate) fn check_finite(what: &'static str, values: &[f32]) -> Result<(), VizError> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(VizError::NonFinite {
            what,
            index,
            value: f64::from(values[index]),
        }),
        None => Ok(()),
    }
}

fn check_shape(
    what: &'static str,
    values: &[f32],
    height: usize,
    width: usize,
) -> Result<(), VizError> {
    if height == 0 || width == 0 {
        return Err(VizError::EmptyMap { height, width });
    }
    let expected = height.checked_mul(width);
    if expected != Some(values.len()) {
        return Err(VizError::ShapeMismatch {
            what,
            expected: expected.unwrap_or(usize::MAX),
            got: values.len(),
            height,
            width,
        });
    }
    Ok(())
}

/// The most pixels an output image may have (2²⁸, about 268 million, 805 MB of RGB): far
/// beyond any useful map, well below an allocation that would abort the process.
pub const MAX_PIXELS: u64 = 1 << 28;

/// `(width · scale, height · scale)`, checked against `u32` sides and [`MAX_PIXELS`].
fn output_size(height: usize, width: usize, scale: u32) -> Result<(u32, u32), VizError> {
    if scale == 0 {
        return Err(VizError::InvalidOption {
            name: "scale",
            value: "0".into(),
            expected: "an integer of at least 1",
        });
    }
    let side = |n: usize| {
        u32::try_from(n)
            .ok()
            .and_then(|n| n.checked_mul(scale))
            .ok_or(VizError::TooLarge {
                height,
                width,
                scale,
            })
    };
    let (out_w, out_h) = (side(width)?, side(height)?);
    if u64::from(out_w) * u64::from(out_h) > MAX_PIXELS {
        return Err(VizError::TooLarge {
            height,
            width,
            scale,
        });
    }
    Ok((out_w, out_h))
}

/// Nearest-neighbour upscaling of row-major `colours` (`width` per row).
fn upscale(colours: &[Rgb<u8>], width: usize, out_w: u32, out_h: u32, scale: u32) -> RgbImage {
    RgbImage::from_fn(out_w, out_h, |x, y| {
        colours[(y / scale) as usize * width + (x / scale) as usize]
    })
}

#[cfg(test)]
mod tests {

    #[test]
    fn colour_draws_planar_rgb_normalised_over_all_channels() {
        // Two pixels: (0, 0, 1) and (1, 0.5, 0), planar.
        let input = [0.0, 1.0, 0.0, 0.5, 1.0, 0.0];
        let img = colour(&input, 1, 2, 1).unwrap();
        assert_eq!(img.get_pixel(0, 0).0, [0, 0, 255]);
        assert_eq!(img.get_pixel(1, 0).0, [255, 128, 0]);
        assert!(matches!(
            colour(&input[..4], 1, 2, 1),
            Err(VizError::LengthMismatch { .. })
        ));
        // With alpha 0 an overlay is the photo itself; a bad alpha is an error.
        let opts = HeatmapOptions {
            kind: MapKind::Absolute,
            clip_percentile: 0.0,
            scale: 1,
        };
        let over = overlay_colour(&[0.3, 0.9], &input, 1, 2, &opts, 0.0).unwrap();
        assert_eq!(over, img);
        assert!(overlay_colour(&[0.3, 0.9], &input, 1, 2, &opts, 1.5).is_err());
    }
    use super::*;

    fn opts(kind: MapKind, clip: f64, scale: u32) -> HeatmapOptions {
        HeatmapOptions {
            kind,
            clip_percentile: clip,
            scale,
        }
    }

    fn middle_of_red_blue() -> Rgb<u8> {
        let c = colorous::RED_BLUE.eval_continuous(0.5);
        Rgb([c.r, c.g, c.b])
    }

    #[test]
    fn zero_is_the_diverging_middle_and_signs_differ_in_hue() {
        let img = heatmap(&[-1.0, 0.0, 1.0, 0.5], 2, 2, &opts(MapKind::Signed, 0.0, 1)).unwrap();
        let zero = *img.get_pixel(1, 0);
        assert_eq!(zero, middle_of_red_blue());
        // Near white.
        assert!(zero.0.iter().all(|&c| c > 230), "zero colour {zero:?}");
        let negative = img.get_pixel(0, 0).0;
        let positive = img.get_pixel(0, 1).0;
        assert!(
            positive[0] > positive[2],
            "positive should be red: {positive:?}"
        );
        assert!(
            negative[2] > negative[0],
            "negative should be blue: {negative:?}"
        );
        // Half the magnitude is paler than the full one.
        let half = img.get_pixel(1, 1).0;
        assert!(half[1] > positive[1], "{half:?} vs {positive:?}");
    }

    #[test]
    fn equal_magnitudes_have_equal_intensity_across_signs() {
        let scale = ColourScale::fit(&[-2.0, 2.0, 1.0], MapKind::Signed, 0.0).unwrap();
        assert_eq!(scale.limit, 2.0);
        let pos = scale.colour(2.0);
        let neg = scale.colour(-2.0);
        assert_eq!(pos, Rgb(colorous::RED_BLUE.eval_continuous(0.0).as_array()));
        assert_eq!(neg, Rgb(colorous::RED_BLUE.eval_continuous(1.0).as_array()));
    }

    #[test]
    fn clipping_keeps_an_outlier_from_compressing_the_scale() {
        // 1, 2, …, 99 and one huge outlier.
        let mut values: Vec<f32> = (1..=99).map(|v| v as f32).collect();
        values.push(1.0e6);
        let clipped = ColourScale::fit(&values, MapKind::Signed, 2.0).unwrap();
        // The 98th percentile of 100 values: between the 98th and 99th smallest.
        assert!((clipped.limit - 98.02).abs() < 1e-9, "{}", clipped.limit);
        let saturated = clipped.colour(1.0e6);
        assert_eq!(clipped.colour(99.0), saturated);
        // The middle of the range is visibly coloured, not near white.
        assert!(
            clipped.colour(49.0).0[2] < 200,
            "{:?}",
            clipped.colour(49.0)
        );

        let unclipped = ColourScale::fit(&values, MapKind::Signed, 0.0).unwrap();
        assert_eq!(unclipped.limit, 1.0e6);
        assert_ne!(unclipped.colour(99.0), saturated);

        // The same through the image.
        let img = heatmap(&values, 10, 10, &opts(MapKind::Signed, 2.0, 1)).unwrap();
        assert_eq!(img.get_pixel(8, 9), img.get_pixel(9, 9));
    }

    #[test]
    fn absolute_maps_magnitude_from_the_sequential_start() {
        let img = heatmap(
            &[0.0, 1.0, -1.0, 0.5],
            1,
            4,
            &opts(MapKind::Absolute, 0.0, 1),
        )
        .unwrap();
        let start = Rgb(colorous::VIRIDIS.eval_continuous(0.0).as_array());
        let end = Rgb(colorous::VIRIDIS.eval_continuous(1.0).as_array());
        assert_eq!(*img.get_pixel(0, 0), start);
        assert_eq!(*img.get_pixel(1, 0), end);
        assert_eq!(*img.get_pixel(2, 0), end);
        assert_ne!(*img.get_pixel(3, 0), start);
        assert_ne!(*img.get_pixel(3, 0), end);
    }

    #[test]
    fn all_zero_map_is_the_zero_colour() {
        for kind in [MapKind::Signed, MapKind::Absolute] {
            let img = heatmap(&[0.0; 64], 8, 8, &opts(kind, 2.0, 2)).unwrap();
            let zero = ColourScale { kind, limit: 0.0 }.zero_colour();
            assert!(img.pixels().all(|p| *p == zero), "{kind:?}");
        }
    }

    #[test]
    fn sparse_map_falls_back_to_the_maximum() {
        // 99 zeros and one 5: the 98th percentile is 0, the 5 must still show.
        let mut values = vec![0.0_f32; 99];
        values.push(5.0);
        let scale = ColourScale::fit(&values, MapKind::Signed, 2.0).unwrap();
        assert_eq!(scale.limit, 5.0);
        assert_ne!(scale.colour(5.0), scale.zero_colour());
    }

    #[test]
    fn upscaling_is_nearest_neighbour() {
        let img = heatmap(&[1.0, -1.0], 1, 2, &opts(MapKind::Signed, 0.0, 4)).unwrap();
        assert_eq!(img.dimensions(), (8, 4));
        assert_eq!(img.get_pixel(0, 0), img.get_pixel(3, 3));
        assert_eq!(img.get_pixel(4, 0), img.get_pixel(7, 3));
        assert_ne!(img.get_pixel(3, 0), img.get_pixel(4, 0));
    }

    #[test]
    fn shape_errors_name_expected_and_got() {
        let err = heatmap(&[0.0; 63], 8, 8, &HeatmapOptions::default()).unwrap_err();
        assert!(matches!(
            err,
            VizError::ShapeMismatch {
                what: "values",
                expected: 64,
                got: 63,
                ..
            }
        ));
        let msg = err.to_string();
        assert!(
            msg.contains("63") && msg.contains("64") && msg.contains("8×8"),
            "{msg}"
        );

        let err = overlay(&[0.0; 4], &[0.0; 5], 2, 2, &HeatmapOptions::default(), 0.5).unwrap_err();
        assert!(matches!(
            err,
            VizError::ShapeMismatch {
                what: "input",
                expected: 4,
                got: 5,
                ..
            }
        ));
        assert!(matches!(
            heatmap(&[], 0, 3, &HeatmapOptions::default()),
            Err(VizError::EmptyMap {
                height: 0,
                width: 3
            })
        ));
    }

    #[test]
    fn bad_values_and_options_are_errors() {
        let d = HeatmapOptions::default();
        assert!(matches!(
            heatmap(&[0.0, f32::NAN], 1, 2, &d),
            Err(VizError::NonFinite { index: 1, .. })
        ));
        assert!(matches!(
            grayscale(&[f32::INFINITY], 1, 1, 1),
            Err(VizError::NonFinite {
                what: "input",
                index: 0,
                ..
            })
        ));
        for clip in [-1.0, 100.0, f64::NAN] {
            assert!(matches!(
                heatmap(&[1.0], 1, 1, &opts(MapKind::Signed, clip, 1)),
                Err(VizError::InvalidOption {
                    name: "clip_percentile",
                    ..
                })
            ));
        }
        assert!(matches!(
            heatmap(&[1.0], 1, 1, &opts(MapKind::Signed, 2.0, 0)),
            Err(VizError::InvalidOption { name: "scale", .. })
        ));
        assert!(matches!(
            overlay(&[1.0], &[1.0], 1, 1, &d, 1.5),
            Err(VizError::InvalidOption { name: "alpha", .. })
        ));
        // A side overflowing u32, and a total over the pixel cap.
        assert!(matches!(
            heatmap(&[1.0, 1.0], 1, 2, &opts(MapKind::Signed, 2.0, u32::MAX)),
            Err(VizError::TooLarge { .. })
        ));
        assert!(matches!(
            heatmap(&[1.0], 1, 1, &opts(MapKind::Signed, 2.0, 1 << 15)),
            Err(VizError::TooLarge { .. })
        ));
    }

    #[test]
    fn grayscale_normalises_to_min_max() {
        let img = grayscale(&[-3.0, -1.0, 1.0], 1, 3, 1).unwrap();
        assert_eq!(img.get_pixel(0, 0).0, [0; 3]);
        assert_eq!(img.get_pixel(1, 0).0, [128; 3]);
        assert_eq!(img.get_pixel(2, 0).0, [255; 3]);
        let flat = grayscale(&[7.0; 4], 2, 2, 1).unwrap();
        assert!(flat.pixels().all(|p| p.0 == [0; 3]));
    }

    #[test]
    fn overlay_blends_heat_and_grey() {
        let values = [1.0, 0.0];
        let input = [0.0, 1.0];
        let o = opts(MapKind::Signed, 0.0, 1);
        let heat = heatmap(&values, 1, 2, &o).unwrap();
        assert_eq!(overlay(&values, &input, 1, 2, &o, 1.0).unwrap(), heat);
        assert_eq!(
            overlay(&values, &input, 1, 2, &o, 0.0).unwrap(),
            grayscale(&input, 1, 2, 1).unwrap()
        );
        let half = overlay(&values, &input, 1, 2, &o, 0.5).unwrap();
        let h = heat.get_pixel(0, 0).0;
        let expected: Vec<u8> = h
            .iter()
            .map(|&c| (f32::from(c) * 0.5).round() as u8)
            .collect();
        assert_eq!(half.get_pixel(0, 0).0.to_vec(), expected);
    }
}
