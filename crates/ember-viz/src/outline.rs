//! Group boundaries drawn over a map: where a perturbation method's features (patches,
//! superpixels) meet, so that a reader sees which pixels share one attribution.

use image::{Rgb, RgbImage};

use crate::VizError;

/// The colour of a boundary: a dark grey that reads on both colormaps and on photos.
pub const OUTLINE: Rgb<u8> = Rgb([40, 40, 40]);

/// Draws the boundaries between groups over `image`, a map of `height × width` pixels
/// upscaled by `scale` (as [`heatmap`](crate::heatmap()) draws it).
///
/// `groups` holds one group id per pixel, row-major. A one-pixel line in [`OUTLINE`] is drawn
/// along every edge between two pixels of different groups, on the side of the left or upper
/// pixel. Where every pixel is its own group nothing is drawn (the lines would only draw the
/// pixel grid).
///
/// # Errors
///
/// [`VizError::ShapeMismatch`] if `groups` is not `height × width` or `image` is not
/// `height·scale × width·scale`.
pub fn outline_groups(
    image: &mut RgbImage,
    groups: &[i64],
    height: usize,
    width: usize,
    scale: u32,
) -> Result<(), VizError> {
    let mismatch = |what, expected, got| VizError::ShapeMismatch {
        what,
        expected,
        got,
        height,
        width,
    };
    if groups.len() != height * width {
        return Err(mismatch("groups", height * width, groups.len()));
    }
    let s = scale as usize;
    if image.width() as usize != width * s || image.height() as usize != height * s {
        let got = image.width() as usize * image.height() as usize;
        return Err(mismatch("image", height * width * s * s, got));
    }
    if every_pixel_alone(groups) {
        return Ok(());
    }
    for y in 0..height {
        for x in 0..width {
            let id = groups[y * width + x];
            let (x0, y0) = ((x * s) as u32, (y * s) as u32);
            let last = scale - 1;
            if x + 1 < width && groups[y * width + x + 1] != id {
                for dy in 0..scale {
                    image.put_pixel(x0 + last, y0 + dy, OUTLINE);
                }
            }
            if y + 1 < height && groups[(y + 1) * width + x] != id {
                for dx in 0..scale {
                    image.put_pixel(x0 + dx, y0 + last, OUTLINE);
                }
            }
        }
    }
    Ok(())
}

/// Whether no two pixels share a group.
fn every_pixel_alone(groups: &[i64]) -> bool {
    let mut sorted = groups.to_vec();
    sorted.sort_unstable();
    sorted.windows(2).all(|w| w[0] != w[1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_fall_between_groups_only() {
        // Two 2×1 groups side by side in a 2×2 map, scale 2: one vertical line at x = 1.
        let mut image = RgbImage::from_pixel(4, 4, Rgb([255, 255, 255]));
        outline_groups(&mut image, &[0, 1, 0, 1], 2, 2, 2).unwrap();
        for y in 0..4 {
            for x in 0..4 {
                let want = if x == 1 {
                    OUTLINE
                } else {
                    Rgb([255, 255, 255])
                };
                assert_eq!(*image.get_pixel(x, y), want, "({x}, {y})");
            }
        }
        // One group per pixel draws nothing.
        let mut alone = RgbImage::from_pixel(4, 4, Rgb([255, 255, 255]));
        outline_groups(&mut alone, &[0, 1, 2, 3], 2, 2, 2).unwrap();
        assert!(alone.pixels().all(|p| *p == Rgb([255, 255, 255])));
        // Shapes that do not fit are errors.
        assert!(outline_groups(&mut image, &[0, 1, 0], 2, 2, 2).is_err());
        assert!(outline_groups(&mut image, &[0, 1, 0, 1], 2, 2, 1).is_err());
    }
}
