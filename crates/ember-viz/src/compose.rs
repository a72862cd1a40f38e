//! Putting pictures together and saving them: grids and PNG encoding.

use std::io::Cursor;
use std::path::Path;

use image::{ImageFormat, Rgb, RgbImage};

use crate::error::VizError;

/// The colour between grid cells (white).
pub const GRID_BACKGROUND: Rgb<u8> = Rgb([255, 255, 255]);

/// Lays images out in a grid: one row per example, one column per method.
///
/// Cells are separated, and surrounded, by `padding` pixels of [`GRID_BACKGROUND`].
///
/// # Shapes
///
/// `rows × columns` cells of `w × h` pixels give a
/// `(columns · w + (columns + 1) · padding) × (rows · h + (rows + 1) · padding)` image.
///
/// # Errors
///
/// [`VizError::EmptyGrid`] if there is no row or the first row is empty,
/// [`VizError::RaggedGrid`] if rows differ in length, [`VizError::CellSize`] if a cell's size
/// differs from the first one's, [`VizError::TooLarge`] if the grid would not fit a `u32`
/// side or [`crate::MAX_PIXELS`].
pub fn grid(cells: &[Vec<RgbImage>], padding: u32) -> Result<RgbImage, VizError> {
    let first = cells
        .first()
        .and_then(|row| row.first())
        .ok_or(VizError::EmptyGrid)?;
    let (cell_w, cell_h) = first.dimensions();
    let columns = cells[0].len();
    for (r, row) in cells.iter().enumerate() {
        if row.len() != columns {
            return Err(VizError::RaggedGrid {
                row: r,
                expected: columns,
                got: row.len(),
            });
        }
        for (c, cell) in row.iter().enumerate() {
            let (w, h) = cell.dimensions();
            if (w, h) != (cell_w, cell_h) {
                return Err(VizError::CellSize {
                    row: r,
                    column: c,
                    expected_width: cell_w,
                    expected_height: cell_h,
                    got_width: w,
                    got_height: h,
                });
            }
        }
    }
    let too_large = || VizError::TooLarge {
        height: cells.len(),
        width: columns,
        scale: 1,
    };
    let side = |count: usize, cell: u32| -> Result<u32, VizError> {
        let count = u64::try_from(count).map_err(|_| too_large())?;
        let total = count * u64::from(cell) + (count + 1) * u64::from(padding);
        u32::try_from(total).map_err(|_| too_large())
    };
    let (out_w, out_h) = (side(columns, cell_w)?, side(cells.len(), cell_h)?);
    if u64::from(out_w) * u64::from(out_h) > crate::MAX_PIXELS {
        return Err(too_large());
    }
    let mut out = RgbImage::from_pixel(out_w, out_h, GRID_BACKGROUND);
    for (r, row) in cells.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            // Fits in u32: bounded by out_w / out_h above.
            let x = padding + c as u32 * (cell_w + padding);
            let y = padding + r as u32 * (cell_h + padding);
            image::imageops::replace(&mut out, cell, i64::from(x), i64::from(y));
        }
    }
    Ok(out)
}

/// Encodes an image as PNG.
///
/// # Errors
///
/// [`VizError::Encode`] if the encoder fails.
pub fn png_bytes(img: &RgbImage) -> Result<Vec<u8>, VizError> {
    let mut bytes = Cursor::new(Vec::new());
    img.write_to(&mut bytes, ImageFormat::Png)
        .map_err(|e| VizError::Encode {
            reason: e.to_string(),
        })?;
    Ok(bytes.into_inner())
}

/// Writes an image to a PNG file (whatever the path's extension).
///
/// # Errors
///
/// [`VizError::Encode`] if encoding fails, [`VizError::Write`] naming the path if the file
/// cannot be written.
pub fn write_png(img: &RgbImage, path: &Path) -> Result<(), VizError> {
    let bytes = png_bytes(img)?;
    std::fs::write(path, bytes).map_err(|e| VizError::Write {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn solid(w: u32, h: u32, v: u8) -> RgbImage {
        RgbImage::from_pixel(w, h, Rgb([v, 0, 0]))
    }

    #[test]
    fn grid_dimensions_and_placement() {
        let cells = vec![
            vec![solid(4, 3, 1), solid(4, 3, 2), solid(4, 3, 3)],
            vec![solid(4, 3, 4), solid(4, 3, 5), solid(4, 3, 6)],
        ];
        let g = grid(&cells, 2).unwrap();
        assert_eq!(g.dimensions(), (3 * 4 + 4 * 2, 2 * 3 + 3 * 2));
        assert_eq!(*g.get_pixel(0, 0), GRID_BACKGROUND);
        assert_eq!(g.get_pixel(2, 2).0[0], 1);
        // Row 1, column 2 starts at x = 2 + 2·6 = 14, y = 2 + 5 = 7.
        assert_eq!(g.get_pixel(14, 7).0[0], 6);
        assert_eq!(g.get_pixel(17, 9).0[0], 6);
        assert_eq!(*g.get_pixel(18, 9), GRID_BACKGROUND);

        let tight = grid(&cells, 0).unwrap();
        assert_eq!(tight.dimensions(), (12, 6));
    }

    #[test]
    fn grid_errors() {
        assert!(matches!(grid(&[], 1), Err(VizError::EmptyGrid)));
        assert!(matches!(grid(&[vec![]], 1), Err(VizError::EmptyGrid)));
        let ragged = vec![vec![solid(2, 2, 0), solid(2, 2, 0)], vec![solid(2, 2, 0)]];
        assert!(matches!(
            grid(&ragged, 1),
            Err(VizError::RaggedGrid {
                row: 1,
                expected: 2,
                got: 1
            })
        ));
        let sizes = vec![vec![solid(2, 2, 0), solid(3, 2, 0)]];
        let err = grid(&sizes, 1).unwrap_err();
        assert!(matches!(
            err,
            VizError::CellSize {
                row: 0,
                column: 1,
                expected_width: 2,
                got_width: 3,
                ..
            }
        ));
        assert!(err.to_string().contains("3×2 px"), "{err}");
    }

    #[test]
    fn png_round_trips() {
        let img = RgbImage::from_fn(5, 3, |x, y| Rgb([x as u8 * 40, y as u8 * 80, 7]));
        let bytes = png_bytes(&img).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let back = image::load_from_memory(&bytes).unwrap().to_rgb8();
        assert_eq!(back.dimensions(), (5, 3));
        assert_eq!(back, img);
    }

    #[test]
    fn write_png_reports_the_path() {
        let img = solid(1, 1, 0);
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let path = dir.join("one.png");
        write_png(&img, &path).unwrap();
        let back = image::open(&path).unwrap().to_rgb8();
        assert_eq!(back, img);

        let missing = dir.join("no-such-dir").join("x.png");
        let err = write_png(&img, &missing).unwrap_err();
        assert!(matches!(err, VizError::Write { .. }));
        assert!(err.to_string().contains("x.png"), "{err}");
    }
}
