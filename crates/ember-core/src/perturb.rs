//! Masking and replacement, shared by every method and metric that perturbs its input: what a
//! removed feature becomes ([`Replacement`]: a constant, the sample's mean, a Gaussian blur) and
//! the perturbed rows `mask ? x : replacement` built on the device ([`masked_rows`]). The
//! deletion and insertion curves use them now; occlusion, feature ablation, KernelSHAP and LIME
//! (perturbation), and Blur IG's blurred baselines ([`gaussian_blur`]) are next.

use burn::tensor::{Bool, Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::validate::read_f64;
use crate::{Error, Result};

/// What a removed feature becomes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Replacement {
    /// A constant, e.g. `0.0` for a zero baseline (the default).
    Constant(f64),
    /// The mean of the sample's own values (over all its features).
    Mean,
    /// The input blurred by a Gaussian of standard deviation `sigma` (in elements) over its
    /// last two dimensions, as in RISE's insertion metric. The kernel is truncated at
    /// `⌈3σ⌉` and renormalised at the borders. Images only: the input must have rank ≥ 3
    /// (`[batch, height, width]` or `[batch, channels, height, width]`).
    Blur {
        /// The standard deviation of the Gaussian, in elements (> 0).
        sigma: f64,
    },
}

impl Default for Replacement {
    fn default() -> Self {
        Replacement::Constant(0.0)
    }
}

impl Replacement {
    /// The replacement of every sample, `[batch, ...]` on the input's device.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for a blur of an input of rank below 3; a backend error if the
    /// input cannot be read back (the blur is computed on the host).
    pub fn values<const D: usize>(&self, input: &Tensor<D>) -> Result<Tensor<D>> {
        let dims = input.dims();
        let device = input.device();
        match *self {
            Replacement::Constant(c) => Ok(Tensor::full(dims, c, &device)),
            Replacement::Mean => {
                let batch = dims[0];
                let features: usize = dims[1..].iter().product();
                let flat: Tensor<2> = input.clone().reshape([batch, features]);
                Ok(flat.mean_dim(1).repeat_dim(1, features).reshape(dims))
            }
            Replacement::Blur { sigma } => {
                if D < 3 {
                    return Err(Error::InvalidConfig {
                        name: "replacement",
                        value: format!("Blur {{ sigma: {sigma} }} for an input of shape {dims:?}"),
                        expected: "an image input of rank ≥ 3 for a blur (the last two dimensions are blurred); use Constant or Mean for other inputs",
                    });
                }
                let values = read_f64(input.clone())?;
                let blurred = gaussian_blur(&values, dims[D - 2], dims[D - 1], sigma);
                Ok(Tensor::from_data(TensorData::new(blurred, dims), &device))
            }
        }
    }
}

/// Perturbed rows on the device: row `r` is sample `samples[r]` of `input` where `keep` (flat,
/// `samples.len()` rows of one sample's features) is `true`, and of `replacement` elsewhere.
///
/// # Shapes
///
/// - `input`, `replacement`: `[batch, ...]`.
/// - returns: `[samples.len(), ...]`.
pub fn masked_rows<const D: usize>(
    input: &Tensor<D>,
    replacement: &Tensor<D>,
    samples: &[usize],
    keep: Vec<bool>,
    device: &Device,
) -> Tensor<D> {
    let n = samples.len();
    let mut shape = input.dims();
    shape[0] = n;
    let index = Tensor::<1, Int>::from_data(
        TensorData::new(samples.iter().map(|&s| s as i64).collect::<Vec<_>>(), [n]),
        device,
    );
    let mask = Tensor::<D, Bool>::from_data(TensorData::new(keep, shape), device);
    let x = input.clone().select(0, index.clone());
    replacement.clone().select(0, index).mask_where(mask, x)
}

/// Blurs every `[height, width]` plane of `values` (row-major, planes last) with a Gaussian of
/// standard deviation `sigma`, truncated at `⌈3σ⌉` and renormalised where it leaves the plane.
pub fn gaussian_blur(values: &[f64], height: usize, width: usize, sigma: f64) -> Vec<f64> {
    let radius = (3.0 * sigma).ceil() as isize;
    let taps: Vec<f64> = (-radius..=radius)
        .map(|d| (-((d * d) as f64) / (2.0 * sigma * sigma)).exp())
        .collect();
    // One separable pass along an axis of `len` elements with `stride` between them.
    let pass = |input: &[f64], output: &mut [f64], len: usize, stride: usize, lines: &[usize]| {
        for &start in lines {
            for i in 0..len as isize {
                let (mut sum, mut weight) = (0.0, 0.0);
                for (t, &w) in taps.iter().enumerate() {
                    let at = i + t as isize - radius;
                    if (0..len as isize).contains(&at) {
                        sum += w * input[start + at as usize * stride];
                        weight += w;
                    }
                }
                output[start + i as usize * stride] = sum / weight;
            }
        }
    };
    let plane = height * width;
    let mut across = vec![0.0; values.len()];
    let mut out = vec![0.0; values.len()];
    for base in (0..values.len()).step_by(plane) {
        let rows: Vec<usize> = (0..height).map(|r| base + r * width).collect();
        pass(values, &mut across, width, 1, &rows);
        let columns: Vec<usize> = (0..width).map(|c| base + c).collect();
        pass(&across, &mut out, height, width, &columns);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blur_keeps_constants_spreads_a_point_and_keeps_its_mass_inside() {
        let constant = vec![0.75; 2 * 4 * 5];
        for v in gaussian_blur(&constant, 4, 5, 1.3) {
            assert!((v - 0.75).abs() < 1e-12);
        }
        // A point in the middle of a 13 × 13 plane: the kernel (radius 3) reaches only
        // positions whose own windows lie inside the plane, so the mass is kept.
        let at = |r: usize, c: usize| r * 13 + c;
        let mut point = vec![0.0; 13 * 13];
        point[at(6, 6)] = 1.0;
        let blurred = gaussian_blur(&point, 13, 13, 1.0);
        let total: f64 = blurred.iter().sum();
        assert!((total - 1.0).abs() < 1e-12, "{total}");
        assert!(blurred[at(6, 6)] < 1.0 && blurred[at(6, 6)] > blurred[at(6, 7)]);
        assert_eq!(blurred[at(6, 10)], 0.0, "truncated at 3σ");
        // Symmetric in both axes.
        assert!((blurred[at(5, 6)] - blurred[at(6, 5)]).abs() < 1e-15);
        assert!((blurred[at(6, 4)] - blurred[at(6, 8)]).abs() < 1e-15);
        // Near a border the truncated kernel is renormalised: a value beside the border sees
        // the point with more weight than its mirror image inside.
        let mut edge = vec![0.0; 13 * 13];
        edge[at(6, 1)] = 1.0;
        let blurred = gaussian_blur(&edge, 13, 13, 1.0);
        assert!(blurred[at(6, 0)] > blurred[at(6, 2)]);
    }
}
