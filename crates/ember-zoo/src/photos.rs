//! Photos in, model inputs out: PNG and JPEG decoding, resizing, and EfficientNet-Lite0's
//! normalisation.
//!
//! The resize is Pillow's `Image.resize(size, Image.BILINEAR)` (what torchvision's
//! `Resize((224, 224))` does to a PIL image) to the byte: a separable triangle filter widened by
//! the scale when shrinking (antialiased), in Pillow's 22-bit fixed point, horizontal pass
//! first, each pass rounded to 8 bits. A user who preprocessed with PIL in PyTorch gets the same
//! input tensor here.

use std::path::Path;

use burn::tensor::{Device, Tensor, TensorData};

use crate::ZooError;

/// An 8-bit RGB image, row-major, three bytes per pixel (`[H, W, 3]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RgbImage {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `height × width × 3` bytes.
    pub pixels: Vec<u8>,
}

impl RgbImage {
    /// An image of the given size and pixels.
    ///
    /// # Errors
    ///
    /// [`ZooError::Image`] if `pixels` is not `height × width × 3` bytes or the image is empty.
    pub fn new(width: usize, height: usize, pixels: Vec<u8>) -> Result<Self, ZooError> {
        if width == 0 || height == 0 || pixels.len() != width * height * 3 {
            return Err(ZooError::Image {
                path: "(pixels)".into(),
                reason: format!(
                    "{} bytes for a {width}×{height} RGB image (expected {}, and a non-empty \
                     image)",
                    pixels.len(),
                    width * height * 3
                ),
            });
        }
        Ok(Self {
            width,
            height,
            pixels,
        })
    }

    /// Decodes a PNG or JPEG file (by its contents, not its name) as RGB: grey images are
    /// repeated over the channels, alpha is dropped, 16-bit samples are rounded to 8 bits.
    ///
    /// # Errors
    ///
    /// [`ZooError::Image`] naming the file if it cannot be read or decoded.
    pub fn open(path: &Path) -> Result<Self, ZooError> {
        let error = |reason: String| ZooError::Image {
            path: path.display().to_string(),
            reason,
        };
        let bytes = std::fs::read(path).map_err(|e| error(e.to_string()))?;
        let decoded = image::load_from_memory(&bytes).map_err(|e| {
            error(format!(
                "{e} (ember reads PNG and JPEG photos; convert others first)"
            ))
        })?;
        let rgb = decoded.to_rgb8();
        let (width, height) = (rgb.width() as usize, rgb.height() as usize);
        Self::new(width, height, rgb.into_raw()).map_err(|_| error("an empty image".into()))
    }

    /// The image resized to `width × height` exactly as Pillow's bilinear resize does it.
    ///
    /// # Panics
    ///
    /// If `width` or `height` is zero.
    pub fn resize(&self, width: usize, height: usize) -> RgbImage {
        assert!(width > 0 && height > 0, "cannot resize to an empty image");
        // Pillow resizes horizontally first, and each pass only if its size changes.
        let wide = (width != self.width).then(|| self.resample(width, Axis::Horizontal));
        let source = wide.as_ref().unwrap_or(self);
        if height != source.height {
            source.resample(height, Axis::Vertical)
        } else {
            wide.unwrap_or_else(|| self.clone())
        }
    }

    fn resample(&self, out_size: usize, axis: Axis) -> RgbImage {
        let in_size = match axis {
            Axis::Horizontal => self.width,
            Axis::Vertical => self.height,
        };
        let weights = Coefficients::bilinear(in_size, out_size);
        let (width, height) = match axis {
            Axis::Horizontal => (out_size, self.height),
            Axis::Vertical => (self.width, out_size),
        };
        let mut pixels = vec![0u8; width * height * 3];
        for y in 0..height {
            for x in 0..width {
                let (out, fixed) = match axis {
                    Axis::Horizontal => (x, y),
                    Axis::Vertical => (y, x),
                };
                let (first, taps) = weights.of(out);
                for channel in 0..3 {
                    let mut sum: i32 = 1 << (PRECISION_BITS - 1);
                    for (i, &k) in taps.iter().enumerate() {
                        let source = first + i;
                        let index = match axis {
                            Axis::Horizontal => (fixed * self.width + source) * 3,
                            Axis::Vertical => (source * self.width + fixed) * 3,
                        };
                        sum += i32::from(self.pixels[index + channel]) * k;
                    }
                    pixels[(y * width + x) * 3 + channel] =
                        (sum >> PRECISION_BITS).clamp(0, 255) as u8;
                }
            }
        }
        RgbImage {
            width,
            height,
            pixels,
        }
    }

    /// The image as a `[3, H, W]` tensor's values (planar RGB), each byte `v` as
    /// `(v − 127) / 128`: EfficientNet-Lite0's normalisation, to about [−1, 1].
    pub fn normalised(&self) -> Vec<f32> {
        let plane = self.width * self.height;
        let mut out = vec![0.0; 3 * plane];
        for (i, rgb) in self.pixels.chunks_exact(3).enumerate() {
            for (channel, &v) in rgb.iter().enumerate() {
                out[channel * plane + i] = (f32::from(v) - 127.0) / 128.0;
            }
        }
        out
    }
}

#[derive(Clone, Copy)]
enum Axis {
    Horizontal,
    Vertical,
}

/// Pillow's fixed-point precision for 8-bit images (`32 − 8 − 2`).
const PRECISION_BITS: u32 = 22;

/// Each output pixel's first source pixel and fixed-point weights along one axis.
struct Coefficients {
    bounds: Vec<(usize, usize)>,
    weights: Vec<i32>,
    taps: usize,
}

impl Coefficients {
    /// Pillow's `precompute_coeffs` with the bilinear (triangle) filter, then
    /// `normalize_coeffs_8bpc`, for the whole input (`box` from 0 to `in_size`).
    fn bilinear(in_size: usize, out_size: usize) -> Self {
        let support_of_filter = 1.0;
        let scale = in_size as f64 / out_size as f64;
        let filter_scale = scale.max(1.0);
        let support = support_of_filter * filter_scale;
        let taps = support.ceil() as usize * 2 + 1;
        let mut bounds = Vec::with_capacity(out_size);
        let mut weights = vec![0i32; out_size * taps];
        let triangle = |x: f64| {
            let x = x.abs();
            if x < 1.0 { 1.0 - x } else { 0.0 }
        };
        for out in 0..out_size {
            let center = (out as f64 + 0.5) * scale;
            let inverse = 1.0 / filter_scale;
            // C's `(int)` truncates toward zero; both values here are ≥ −0.5.
            let min = ((center - support + 0.5) as i64).max(0) as usize;
            let max = ((center + support + 0.5) as i64).min(in_size as i64) as usize;
            let count = max - min;
            let mut k: Vec<f64> = (0..count)
                .map(|x| triangle((x as f64 + min as f64 - center + 0.5) * inverse))
                .collect();
            let total: f64 = k.iter().sum();
            if total != 0.0 {
                k.iter_mut().for_each(|w| *w /= total);
            }
            for (slot, w) in weights[out * taps..].iter_mut().zip(&k) {
                let fixed = w * f64::from(1u32 << PRECISION_BITS);
                *slot = if *w < 0.0 {
                    (fixed - 0.5) as i32
                } else {
                    (fixed + 0.5) as i32
                };
            }
            bounds.push((min, count));
        }
        Self {
            bounds,
            weights,
            taps,
        }
    }

    fn of(&self, out: usize) -> (usize, &[i32]) {
        let (first, count) = self.bounds[out];
        (
            first,
            &self.weights[out * self.taps..out * self.taps + count],
        )
    }
}

/// A photo ready for EfficientNet-Lite0: its name, the `size × size` RGB image, and that image
/// normalised as a `[3, size, size]` tensor's values.
#[derive(Debug, Clone)]
pub struct Photo {
    /// The file's name (without its directory).
    pub name: String,
    /// The resized image.
    pub image: RgbImage,
    /// `(pixel − 127) / 128`, planar RGB.
    pub input: Vec<f32>,
}

/// Decodes, resizes to `size × size` (Pillow's bilinear, ignoring the aspect ratio, as
/// `Resize((size, size))` does) and normalises each photo.
///
/// # Errors
///
/// [`ZooError::Image`] naming the first file that cannot be read or decoded.
pub fn load_photos(paths: &[impl AsRef<Path>], size: usize) -> Result<Vec<Photo>, ZooError> {
    paths
        .iter()
        .map(|path| {
            let path = path.as_ref();
            let image = RgbImage::open(path)?.resize(size, size);
            Ok(Photo {
                name: path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| path.display().to_string()),
                input: image.normalised(),
                image,
            })
        })
        .collect()
}

/// The photos' normalised inputs as one `[N, 3, H, W]` tensor on `device`.
///
/// # Panics
///
/// If the photos are not all of one size, or there are none.
pub fn batch(photos: &[Photo], device: &Device) -> Tensor<4> {
    let first = &photos.first().expect("at least one photo").image;
    let (height, width) = (first.height, first.width);
    assert!(
        photos
            .iter()
            .all(|p| p.image.height == height && p.image.width == width),
        "photos of one size"
    );
    let values: Vec<f32> = photos
        .iter()
        .flat_map(|p| p.input.iter().copied())
        .collect();
    Tensor::from_data(
        TensorData::new(values, [photos.len(), 3, height, width]),
        device,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shrinking_by_two_averages_pairs_like_pillow() {
        // Pillow 13: Image.frombytes('RGB', (4, 1), bytes([0,0,0, 100,100,100, 200,200,200,
        // 255,255,255])).resize((2, 1), Image.BILINEAR).tobytes() is [71]*3 + [209]*3.
        let row = [0u8, 100, 200, 255];
        let pixels: Vec<u8> = row.iter().flat_map(|&v| [v, v, v]).collect();
        let image = RgbImage::new(4, 1, pixels).unwrap();
        let small = image.resize(2, 1);
        // Output 0: centre 1, support 2 (the triangle widened by the scale), source pixels 0..3
        // weighted .75, .75, .25: (75 + 50) / 1.75 = 71.4 → 71. Output 1: centre 3, pixels 1..4
        // weighted .25, .75, .75: (25 + 150 + 191.25) / 1.75 = 209.3 → 209.
        assert_eq!(small.pixels, vec![71, 71, 71, 209, 209, 209]);
    }

    #[test]
    fn the_same_size_is_a_copy_and_normalisation_is_planar() {
        let image = RgbImage::new(2, 1, vec![127, 255, 0, 127, 255, 0]).unwrap();
        assert_eq!(image.resize(2, 1), image);
        assert_eq!(
            image.normalised(),
            vec![0.0, 0.0, 1.0, 1.0, -127.0 / 128.0, -127.0 / 128.0]
        );
        assert!(RgbImage::new(2, 2, vec![0; 3]).is_err());
    }
}
