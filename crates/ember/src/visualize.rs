//! One attribution map as a picture, in one call: [`image_attr`], ember's counterpart of
//! Captum's `visualize_image_attr`.
//!
//! A map of an image (`[C, H, W]`, or one sample `[1, C, H, W]` of a method's values) is summed
//! over its channels, as Captum does, and drawn as a heat map ([`Style::HeatMap`]) or blended
//! over the image it explains ([`Style::BlendedHeatMap`]), showing the signs [`Sign`] asks for:
//!
//! | [`Sign`] | what is drawn | colours |
//! |---|---|---|
//! | `All` | every value, signed | diverging: red positive, white zero, blue negative |
//! | `Positive` | the positive values (negative ones as zero) | white to red |
//! | `Negative` | the negative values (positive ones as zero) | white to blue |
//! | `Absolute` (default, as Captum's) | the magnitudes `|v|` | sequential (viridis) |
//!
//! The colour scale saturates at the `(100 − clip_percentile)`-th percentile of the drawn
//! magnitudes (2 by default, Captum's `outlier_perc`), so a few outliers do not wash out the
//! rest of the map. Drawing is ember-viz's ([`ember_viz::heatmap()`], [`ember_viz::overlay`],
//! [`ember_viz::overlay_colour`]); this module reads the tensors and picks the colours.
//!
//! ```
//! use ember::prelude::*;
//! use ember::visualize::{self, ImageAttrOptions, Sign, Style};
//!
//! let device = Device::flex();
//! // A 1-channel 4×4 "image" and a model that scores its top half against its bottom half.
//! let image = Tensor::<4>::from_floats([[[[0.0, 0.2, 0.4, 0.6]; 4]]], &device);
//! let model = |x: Tensor<4>| {
//!     let top = x.clone().narrow(2, 0, 2).sum_dim(3).sum_dim(2).sum_dim(1);
//!     let bottom = x.narrow(2, 2, 2).sum_dim(3).sum_dim(2).sum_dim(1);
//!     (top - bottom).reshape([-1, 1])
//! };
//! let map = InputXGradientConfig::new().init()?.attribute(&model, image.clone(), 0)?;
//!
//! let options = ImageAttrOptions::new(Style::BlendedHeatMap, Sign::All).with_scale(8);
//! let picture = visualize::image_attr(&map.values, Some(&image), &options)?;
//! assert_eq!(picture.dimensions(), (32, 32));
//! // visualize::write_png(&picture, "map.png".as_ref())?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use burn::tensor::Tensor;
use ember_core::validate::read_f64;
use ember_viz::{HeatmapOptions, MapKind};

pub use ember_viz::{RgbImage, VizError, grid, png_bytes, write_png};

/// Which values of the map are drawn, and in which colours (Captum's `sign`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sign {
    /// Every value, signed, on a diverging scale centred at zero: red positive, blue negative
    /// (Captum's `"all"`).
    All,
    /// The positive values only, white (zero) to red; negative values are drawn as zero
    /// (Captum's `"positive"`).
    Positive,
    /// The negative values only, white (zero) to blue, by magnitude; positive values are drawn
    /// as zero (Captum's `"negative"`).
    Negative,
    /// The magnitudes `|v|` on a sequential scale (viridis), whatever the sign (Captum's
    /// `"absolute_value"`, its default).
    #[default]
    Absolute,
}

/// What is drawn (Captum's `method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Style {
    /// The map alone (Captum's `"heat_map"`, its default).
    #[default]
    HeatMap,
    /// The map blended over the image it explains: `alpha · heat + (1 − alpha) · image`, the
    /// image in colour when it has three channels (RGB), otherwise in grey (the mean of its
    /// channels), normalised to its own range (Captum's `"blended_heat_map"`).
    BlendedHeatMap,
    /// The image alone, drawn as the blend draws it (Captum's `"original_image"`): for a
    /// picture beside the maps.
    Original,
}

/// How [`image_attr`] draws a map; `ImageAttrOptions::default()` is Captum's default (a heat
/// map of the magnitudes, 2% outliers saturated, `alpha` 0.5).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImageAttrOptions {
    /// What is drawn.
    pub style: Style,
    /// Which values, in which colours.
    pub sign: Sign,
    /// The percentage of largest drawn magnitudes that saturate, in `[0, 100)` (Captum's
    /// `outlier_perc`, 2 by default; Captum thresholds the cumulative sum instead of the
    /// magnitudes, so the two saturate slightly different pixels).
    pub clip_percentile: f64,
    /// The heat map's weight in a blend, in `[0, 1]` (Captum's `alpha_overlay`, 0.5).
    pub alpha: f32,
    /// Each map pixel becomes a `scale × scale` square; `None` (the default): the smallest
    /// factor at which the longer side is at least 224 pixels (1 for a 224 × 224 photo, 28 for
    /// an 8 × 8 digit).
    pub scale: Option<u32>,
}

impl Default for ImageAttrOptions {
    fn default() -> Self {
        Self {
            style: Style::HeatMap,
            sign: Sign::Absolute,
            clip_percentile: 2.0,
            alpha: 0.5,
            scale: None,
        }
    }
}

impl ImageAttrOptions {
    /// The default options with this style and sign.
    pub fn new(style: Style, sign: Sign) -> Self {
        Self {
            style,
            sign,
            ..Self::default()
        }
    }

    /// With this percentage of outliers saturated (`[0, 100)`).
    pub fn with_clip_percentile(self, clip_percentile: f64) -> Self {
        Self {
            clip_percentile,
            ..self
        }
    }

    /// With this heat-map weight in a blend (`[0, 1]`).
    pub fn with_alpha(self, alpha: f32) -> Self {
        Self { alpha, ..self }
    }

    /// With each map pixel drawn as a `scale × scale` square (at least 1).
    pub fn with_scale(self, scale: u32) -> Self {
        Self {
            scale: Some(scale),
            ..self
        }
    }
}

/// Why a map could not be drawn.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VisualizeError {
    /// A tensor is not one image-shaped sample.
    #[error(
        "the {what} has shape {shape:?}: expected one image, [H, W], [C, H, W] or [1, C, H, W] (take sample i of a batch with `.narrow(0, i, 1)`)"
    )]
    Shape {
        /// `"attribution"` or `"image"`.
        what: &'static str,
        /// Its shape.
        shape: Vec<usize>,
    },
    /// The image's height and width are not the map's.
    #[error(
        "the image is {image_height}×{image_width} pixels but the attribution map is {height}×{width}: expected the image the map explains"
    )]
    ImageSize {
        /// The map's height.
        height: usize,
        /// The map's width.
        width: usize,
        /// The image's height.
        image_height: usize,
        /// The image's width.
        image_width: usize,
    },
    /// The style draws the image, and none was given.
    #[error("style {style:?} draws the image the map explains: pass it (`Some(&image)`)")]
    NoImage {
        /// The style asked for.
        style: Style,
    },
    /// A tensor could not be read back from its device.
    #[error(transparent)]
    Read(#[from] ember_core::Error),
    /// Drawing failed: a NaN in the map, an option out of range, an image too large.
    #[error(transparent)]
    Viz(#[from] VizError),
}

/// Draws one attribution map, as Captum's `visualize_image_attr` does: a heat map of the map
/// summed over its channels, or that heat map blended over `image`, with the signs
/// `options.sign` asks for (see the [module](self) for the colours).
///
/// # Shapes
///
/// - `attribution`: one sample, `[H, W]`, `[C, H, W]` or `[1, C, H, W]`, any `C`.
/// - `image`: the input it explains, of the same rank, height and width, any channels (three
///   are drawn as RGB, others as the grey mean); needed by [`Style::BlendedHeatMap`] and
///   [`Style::Original`], ignored by [`Style::HeatMap`].
/// - returns: `(W · scale) × (H · scale)` pixels.
///
/// # Errors
///
/// [`VisualizeError::Shape`] for another shape (a batch of several samples among them),
/// [`VisualizeError::ImageSize`] for an image of another size, [`VisualizeError::NoImage`],
/// [`VisualizeError::Read`] if a tensor cannot be read, [`VisualizeError::Viz`] for a NaN or
/// infinite value, a `clip_percentile` outside `[0, 100)`, an `alpha` outside `[0, 1]`, a zero
/// scale or a picture over [`ember_viz::MAX_PIXELS`].
#[doc(alias = "visualize_image_attr")]
pub fn image_attr<const D: usize>(
    attribution: &Tensor<D>,
    image: Option<&Tensor<D>>,
    options: &ImageAttrOptions,
) -> Result<RgbImage, VisualizeError> {
    let (channels, height, width) = one_image("attribution", &attribution.dims())?;
    let scale = options
        .scale
        .unwrap_or_else(|| DEFAULT_SIDE.div_ceil(height.max(width).max(1)) as u32);
    let needs_image = !matches!(options.style, Style::HeatMap);
    let base = match (image, needs_image) {
        (Some(image), true) => Some(read_image(image, height, width, scale)?),
        (None, true) => {
            return Err(VisualizeError::NoImage {
                style: options.style,
            });
        }
        (_, false) => None,
    };
    if let (Style::Original, Some(base)) = (options.style, &base) {
        return Ok(base.clone());
    }
    let plane = height * width;
    let values = read_f32(attribution)?;
    let summed: Vec<f32> = (0..plane)
        .map(|p| (0..channels).map(|c| values[c * plane + p]).sum())
        .collect();
    let (drawn, kind): (Vec<f32>, MapKind) = match options.sign {
        Sign::All => (summed, MapKind::Signed),
        // Non-finite values pass through, so that ember-viz names them.
        Sign::Positive => (
            summed
                .iter()
                .map(|&v| if v < 0.0 { 0.0 } else { v })
                .collect(),
            MapKind::Signed,
        ),
        Sign::Negative => (
            summed
                .iter()
                .map(|&v| if v > 0.0 { 0.0 } else { v })
                .collect(),
            MapKind::Signed,
        ),
        Sign::Absolute => (summed.iter().map(|v| v.abs()).collect(), MapKind::Absolute),
    };
    let heat = HeatmapOptions {
        kind,
        clip_percentile: options.clip_percentile,
        scale,
    };
    let heat_map = ember_viz::heatmap(&drawn, height, width, &heat)?;
    match base {
        Some(base) => Ok(blend(heat_map, &base, options.alpha)?),
        None => Ok(heat_map),
    }
}

/// The longer side, in pixels, that the default scale reaches.
const DEFAULT_SIDE: usize = 224;

/// `(channels, height, width)` of one image-shaped sample.
fn one_image(what: &'static str, dims: &[usize]) -> Result<(usize, usize, usize), VisualizeError> {
    match *dims {
        [height, width] => Ok((1, height, width)),
        [channels, height, width] | [1, channels, height, width] => Ok((channels, height, width)),
        _ => Err(VisualizeError::Shape {
            what,
            shape: dims.to_vec(),
        }),
    }
}

/// The image drawn as a blend's base: RGB for three channels, the grey mean otherwise.
fn read_image<const D: usize>(
    image: &Tensor<D>,
    height: usize,
    width: usize,
    scale: u32,
) -> Result<RgbImage, VisualizeError> {
    let (channels, image_height, image_width) = one_image("image", &image.dims())?;
    if (image_height, image_width) != (height, width) {
        return Err(VisualizeError::ImageSize {
            height,
            width,
            image_height,
            image_width,
        });
    }
    let values = read_f32(image)?;
    if channels == 3 {
        return Ok(ember_viz::colour(&values, height, width, scale)?);
    }
    let plane = height * width;
    let grey: Vec<f32> = (0..plane)
        .map(|p| (0..channels).map(|c| values[c * plane + p]).sum::<f32>() / channels as f32)
        .collect();
    Ok(ember_viz::grayscale(&grey, height, width, scale)?)
}

/// `alpha · heat + (1 − alpha) · base`, pixel by pixel.
fn blend(mut heat: RgbImage, base: &RgbImage, alpha: f32) -> Result<RgbImage, VisualizeError> {
    if !(0.0..=1.0).contains(&alpha) {
        return Err(VizError::InvalidOption {
            name: "alpha",
            value: alpha.to_string(),
            expected: "a number in [0, 1]",
        }
        .into());
    }
    for (h, b) in heat.pixels_mut().zip(base.pixels()) {
        for (hc, bc) in h.0.iter_mut().zip(b.0) {
            let blended = alpha * f32::from(*hc) + (1.0 - alpha) * f32::from(bc);
            *hc = blended.round().clamp(0.0, 255.0) as u8;
        }
    }
    Ok(heat)
}

fn read_f32<const D: usize>(tensor: &Tensor<D>) -> Result<Vec<f32>, VisualizeError> {
    Ok(read_f64(tensor.clone())?
        .into_iter()
        .map(|v| v as f32)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    fn map(device: &Device) -> Tensor<3> {
        // One channel, 1×4: -2, -1, 1, 2.
        Tensor::<3>::from_floats([[[-2.0, -1.0, 1.0, 2.0]]], device)
    }

    fn pixel(img: &RgbImage, x: u32) -> [u8; 3] {
        img.get_pixel(x, 0).0
    }

    #[test]
    fn signs_pick_the_values_and_colours() {
        let device = Device::flex();
        let opts = |sign| {
            ImageAttrOptions::new(Style::HeatMap, sign)
                .with_scale(1)
                .with_clip_percentile(0.0)
        };
        let all = image_attr(&map(&device), None, &opts(Sign::All)).unwrap();
        assert_eq!(all.dimensions(), (4, 1));
        // The diverging scale's middle (near-white).
        let zero = ember_viz::ColourScale {
            kind: MapKind::Signed,
            limit: 1.0,
        }
        .zero_colour()
        .0;
        let white = |p: [u8; 3]| p == zero;
        let red = |p: [u8; 3]| p[0] > p[2] + 60;
        let blue = |p: [u8; 3]| p[2] > p[0] + 60;
        assert!(blue(pixel(&all, 0)) && red(pixel(&all, 3)));
        let positive = image_attr(&map(&device), None, &opts(Sign::Positive)).unwrap();
        assert!(white(pixel(&positive, 0)) && white(pixel(&positive, 1)));
        assert!(red(pixel(&positive, 3)));
        assert_eq!(pixel(&positive, 3), pixel(&all, 3));
        let negative = image_attr(&map(&device), None, &opts(Sign::Negative)).unwrap();
        assert!(white(pixel(&negative, 3)) && blue(pixel(&negative, 0)));
        assert_eq!(pixel(&negative, 0), pixel(&all, 0));
        let absolute = image_attr(&map(&device), None, &opts(Sign::Absolute)).unwrap();
        // Equal magnitudes, equal colours, whatever the sign.
        assert_eq!(pixel(&absolute, 0), pixel(&absolute, 3));
        assert_eq!(pixel(&absolute, 1), pixel(&absolute, 2));
        assert_ne!(pixel(&absolute, 0), pixel(&absolute, 1));
    }

    #[test]
    fn channels_are_summed_and_a_blend_mixes_the_image() {
        let device = Device::flex();
        // Two channels that cancel: the summed map is zero everywhere.
        let cancel = Tensor::<3>::from_floats([[[1.0, -1.0]], [[-1.0, 1.0]]], &device);
        let zero = Tensor::<3>::zeros([1, 1, 2], &device);
        let opts = ImageAttrOptions::new(Style::HeatMap, Sign::All).with_scale(1);
        assert_eq!(
            image_attr(&cancel, None, &opts).unwrap(),
            image_attr(&zero, None, &opts).unwrap()
        );
        let image = Tensor::<3>::from_floats([[[0.0, 1.0]]], &device);
        let original = ImageAttrOptions::new(Style::Original, Sign::All).with_scale(1);
        let grey = image_attr(&zero, Some(&image), &original).unwrap();
        assert_eq!(pixel(&grey, 0), [0, 0, 0]);
        assert_eq!(pixel(&grey, 1), [255, 255, 255]);
        let blended = ImageAttrOptions::new(Style::BlendedHeatMap, Sign::All)
            .with_scale(1)
            .with_alpha(0.5);
        let heat = image_attr(&zero, None, &opts).unwrap();
        let mix = image_attr(&zero, Some(&image), &blended).unwrap();
        for c in 0..3 {
            let expected = (0.5 * f32::from(pixel(&heat, 0)[c])).round() as u8;
            assert_eq!(pixel(&mix, 0)[c], expected);
        }
        // A batch of one sample is one image; the default scale reaches 224 pixels.
        let batch = Tensor::<4>::zeros([1, 3, 8, 8], &device);
        let default = image_attr(&batch, None, &ImageAttrOptions::default()).unwrap();
        assert_eq!(default.dimensions(), (224, 224));
    }

    #[test]
    fn bad_shapes_and_options_are_typed_errors() {
        let device = Device::flex();
        let opts = ImageAttrOptions::new(Style::BlendedHeatMap, Sign::All);
        let batch = Tensor::<4>::zeros([2, 1, 4, 4], &device);
        assert!(matches!(
            image_attr(&batch, None, &ImageAttrOptions::default()),
            Err(VisualizeError::Shape {
                what: "attribution",
                ..
            })
        ));
        assert!(matches!(
            image_attr(&map(&device), None, &opts),
            Err(VisualizeError::NoImage { .. })
        ));
        let other = Tensor::<3>::zeros([1, 2, 2], &device);
        assert!(matches!(
            image_attr(&map(&device), Some(&other), &opts),
            Err(VisualizeError::ImageSize { .. })
        ));
        let image = Tensor::<3>::zeros([1, 1, 4], &device);
        assert!(matches!(
            image_attr(&map(&device), Some(&image), &opts.with_alpha(2.0)),
            Err(VisualizeError::Viz(VizError::InvalidOption {
                name: "alpha",
                ..
            }))
        ));
        let nan = Tensor::<3>::from_floats([[[f32::NAN, 1.0]]], &device);
        assert!(matches!(
            image_attr(&nan, None, &ImageAttrOptions::default()),
            Err(VisualizeError::Viz(VizError::NonFinite { .. }))
        ));
    }
}
