//! Rank agreement between two attributions: Spearman's rank correlation per sample.
//!
//! Used to compare methods, and by the model-randomisation sanity check
//! ([`crate::randomisation`]). Ties get their average rank; the correlation is Pearson's
//! correlation of the ranks.
#![cfg_attr(
    doc,
    doc = r#"$$\rho(a, b) = \frac{\sum_i (R_i - \bar R)(S_i - \bar S)}{\sqrt{\sum_i (R_i - \bar R)^2 \sum_i (S_i - \bar S)^2}}, \qquad R = \operatorname{rank}(a),\; S = \operatorname{rank}(b)$$"#
)]
//!
//! Plain text: `rho = Σ (R_i − mean R)(S_i − mean S) / sqrt(Σ (R_i − mean R)² · Σ (S_i − mean S)²)`
//! with `R`, `S` the (average) ranks of `a` and `b`.

use burn::tensor::Tensor;
use ember_core::Result;

use crate::support::{read_rows, shape_mismatch};

/// Spearman's rank correlation between `a` and `b`, per sample, over the features.
///
/// # Arguments
///
/// - `a`, `b`: two attributions of the same batch (e.g. of two methods).
///
/// # Shapes
///
/// - `a`, `b`: `[batch, ...]`, the same shape.
///
/// # Returns
///
/// One value per sample in `[−1, 1]`: 1 for the same order, −1 for the reverse order. Tied
/// values get their average rank. When a sample's values are all equal in `a` or in `b` the
/// correlation is undefined (0/0); ember then returns 1 if both are constant (both say "all
/// features tie", which agree) and 0 if only one is (no rank information to agree with).
///
/// # Errors
///
/// - [`ember_core::Error::InvalidConfig`] if the shapes differ or a value is NaN or infinite;
/// - [`ember_core::Error::EmptyBatch`] or [`ember_core::Error::EmptyInput`] for empty tensors;
/// - [`ember_core::Error::Backend`] if a tensor cannot be read.
///
/// # Example
///
/// ```
/// use burn::tensor::{Device, Tensor};
///
/// let device = Device::flex();
/// let a = Tensor::<2>::from_floats([[0.1, 0.5, 0.9], [1.0, 2.0, 3.0]], &device);
/// let b = Tensor::<2>::from_floats([[1.0, 2.0, 30.0], [3.0, 2.0, 1.0]], &device);
/// assert_eq!(ember_metrics::spearman(a, b)?, vec![1.0, -1.0]);
/// # Ok::<(), ember_core::Error>(())
/// ```
pub fn spearman<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> Result<Vec<f64>> {
    if a.dims() != b.dims() {
        return Err(shape_mismatch(
            "b",
            &b.dims(),
            &a.dims(),
            "the shape of `a` (the first tensor)",
        ));
    }
    let a = read_rows("a", a)?;
    let b = read_rows("b", b)?;
    Ok((0..a.batch)
        .map(|s| spearman_of(a.row(s), b.row(s)))
        .collect())
}

/// Spearman's correlation of two equally long, finite vectors (see [`spearman`]).
pub(crate) fn spearman_of(a: &[f64], b: &[f64]) -> f64 {
    debug_assert_eq!(a.len(), b.len());
    pearson_of_ranks(&average_ranks(a), &average_ranks(b))
}

/// Pearson's correlation of two rank vectors, with ember's convention for constant vectors.
pub(crate) fn pearson_of_ranks(ra: &[f64], rb: &[f64]) -> f64 {
    let n = ra.len() as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let (mut cov, mut va, mut vb) = (0.0, 0.0, 0.0);
    for (x, y) in ra.iter().zip(rb) {
        let (dx, dy) = (x - ma, y - mb);
        cov += dx * dy;
        va += dx * dx;
        vb += dy * dy;
    }
    match (va == 0.0, vb == 0.0) {
        (true, true) => 1.0,
        (true, false) | (false, true) => 0.0,
        (false, false) => (cov / (va * vb).sqrt()).clamp(-1.0, 1.0),
    }
}

/// The 1-based ranks of `values`, ties sharing their average rank. Ranks are multiples of ½,
/// so they and their sums are exact in f64.
pub(crate) fn average_ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    // Finite values (checked): partial_cmp is total, and ties 0.0 with -0.0.
    order.sort_by(|&i, &j| {
        values[i]
            .partial_cmp(&values[j])
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        // Positions start..end (0-based) share the mean of the ranks start+1..=end.
        let rank = (start + end + 1) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = rank;
        }
        start = end;
    }
    ranks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_share_their_average_rank() {
        assert_eq!(average_ranks(&[3.0, 1.0, 2.0]), vec![3.0, 1.0, 2.0]);
        assert_eq!(
            average_ranks(&[2.0, 1.0, 2.0, 2.0, 0.0]),
            vec![4.0, 2.0, 4.0, 4.0, 1.0]
        );
        assert_eq!(average_ranks(&[0.0, -0.0]), vec![1.5, 1.5]);
    }

    #[test]
    fn self_is_one_reverse_is_minus_one_and_ties_are_exact() {
        let a = [0.3, -1.0, 2.5, 0.0, 7.0];
        let reversed: Vec<f64> = a.iter().map(|v| -v).collect();
        assert_eq!(spearman_of(&a, &a), 1.0);
        assert_eq!(spearman_of(&a, &reversed), -1.0);
        // Ranks (1, 2.5, 2.5, 4) against (1, 2, 3, 4): 4.5 / sqrt(4.5 · 5).
        let tied = spearman_of(&[1.0, 2.0, 2.0, 3.0], &[1.0, 2.0, 3.0, 4.0]);
        assert!((tied - 4.5 / (4.5f64 * 5.0).sqrt()).abs() < 1e-15, "{tied}");
        // Monotone transforms keep the ranks.
        let cubed: Vec<f64> = a.iter().map(|v| v * v * v + 1.0).collect();
        assert_eq!(spearman_of(&a, &cubed), 1.0);
    }

    #[test]
    fn constant_vectors_follow_the_documented_convention() {
        assert_eq!(spearman_of(&[2.0, 2.0, 2.0], &[5.0, 5.0, 5.0]), 1.0);
        assert_eq!(spearman_of(&[2.0, 2.0, 2.0], &[1.0, 2.0, 3.0]), 0.0);
        assert_eq!(spearman_of(&[1.0, 2.0, 3.0], &[0.0, 0.0, 0.0]), 0.0);
        assert_eq!(spearman_of(&[4.0], &[1.0]), 1.0);
    }
}
