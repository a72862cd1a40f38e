//! Sparseness: the Gini index of the attributions' magnitudes.
//!
//! Chalasani, Chen, Chowdhury, Jha and Wu, *Concise Explanations of Neural Networks using
//! Adversarial Training*, ICML 2020. <https://arxiv.org/abs/1810.06583>
//!
//! The Gini index (Hurley and Rickard 2009) of a sample's `n` magnitudes `|a_i|`, sorted
//! ascending as `c_1 ≤ … ≤ c_n`:
#![cfg_attr(
    doc,
    doc = r#"$$G(a) = 1 - 2 \sum_{k=1}^{n} \frac{c_k}{\lVert c \rVert_1} \cdot \frac{n - k + \tfrac12}{n}$$"#
)]
//!
//! Plain text: `G = 1 − 2 Σ_k (c_k / ‖c‖₁) · (n − k + ½) / n`.
//!
//! It is 0 when every feature has the same magnitude and `(n − 1) / n` (→ 1) when one feature
//! holds all of it: higher is sparser, i.e. a more concise explanation.

use burn::tensor::Tensor;
use ember_core::Result;

use crate::support::read_rows;

/// The Gini index of `|attributions|` of each sample (Chalasani et al. 2020).
///
/// # Arguments
///
/// - `attributions`: a batch of attributions, e.g. [`ember_core::Attributions::values`].
///
/// # Shapes
///
/// - `attributions`: `[batch, ...]`; each sample's elements are its features.
///
/// # Returns
///
/// One value per sample in `[0, (n − 1) / n]` for `n` features: 0 for equal magnitudes,
/// `(n − 1) / n` for a single non-zero feature. A sample whose attributions are all 0 has no
/// concentration to measure and gets 0.
///
/// # Errors
///
/// - [`ember_core::Error::EmptyBatch`] or [`ember_core::Error::EmptyInput`] for an empty
///   tensor;
/// - [`ember_core::Error::InvalidConfig`] if a value is NaN or infinite;
/// - [`ember_core::Error::Backend`] if the tensor cannot be read.
///
/// # Example
///
/// ```
/// use burn::tensor::{Device, Tensor};
///
/// let device = Device::flex();
/// let a = Tensor::<2>::from_floats([[1.0, -1.0, 1.0, 1.0], [0.0, 0.0, -5.0, 0.0]], &device);
/// assert_eq!(ember_metrics::gini(a)?, vec![0.0, 0.75]);
/// # Ok::<(), ember_core::Error>(())
/// ```
pub fn gini<const D: usize>(attributions: Tensor<D>) -> Result<Vec<f64>> {
    let rows = read_rows("attributions", attributions)?;
    Ok((0..rows.batch).map(|s| gini_of(rows.row(s))).collect())
}

/// The Gini index of the magnitudes of one sample.
pub(crate) fn gini_of(values: &[f64]) -> f64 {
    let mut magnitudes: Vec<f64> = values.iter().map(|v| v.abs()).collect();
    let total: f64 = magnitudes.iter().sum();
    if total == 0.0 {
        return 0.0;
    }
    magnitudes.sort_by(f64::total_cmp);
    let n = magnitudes.len() as f64;
    let weighted: f64 = magnitudes
        .iter()
        .enumerate()
        .map(|(k, c)| c / total * (n - (k + 1) as f64 + 0.5) / n)
        .sum();
    1.0 - 2.0 * weighted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_is_zero_and_one_hot_is_n_minus_one_over_n() {
        for n in [1usize, 2, 5, 64] {
            assert!(gini_of(&vec![0.3; n]).abs() < 1e-12, "uniform n={n}");
            let mut one_hot = vec![0.0; n];
            one_hot[n / 2] = -2.0;
            let g = gini_of(&one_hot);
            let expected = (n - 1) as f64 / n as f64;
            assert!((g - expected).abs() < 1e-12, "one-hot n={n}: {g}");
        }
    }

    #[test]
    fn signs_and_order_do_not_matter_and_zero_is_zero() {
        let a = gini_of(&[1.0, 2.0, 3.0, 4.0]);
        assert!((a - gini_of(&[-4.0, 3.0, -1.0, 2.0])).abs() < 1e-15);
        // c = (1, 2, 3, 4)/10, weights (3.5, 2.5, 1.5, 0.5)/4: 1 − 2·(3.5 + 5 + 4.5 + 2)/40.
        assert!((a - 0.25).abs() < 1e-12, "{a}");
        assert_eq!(gini_of(&[0.0, -0.0, 0.0]), 0.0);
    }

    #[test]
    fn sparser_is_higher() {
        assert!(gini_of(&[1.0, 1.0, 1.0, 10.0]) > gini_of(&[1.0, 2.0, 3.0, 4.0]));
    }
}
