//! Shared checks and host reads of the metrics (their forward passes go through
//! `ember_core`'s forward-only streaming, `GradientKernel::forward`).

use burn::tensor::Tensor;
use ember_core::validate::{first_non_finite_row, read_f64};
use ember_core::{Error, Result};

/// A tensor's values on the host, one row of `features` values per sample.
#[derive(Debug, Clone)]
pub(crate) struct HostRows {
    /// The tensor's shape.
    pub shape: Vec<usize>,
    /// Samples (dimension 0).
    pub batch: usize,
    /// Values per sample (the product of the other dimensions).
    pub features: usize,
    /// The values, row-major.
    pub values: Vec<f64>,
}

impl HostRows {
    /// The values of sample `s`.
    pub fn row(&self, s: usize) -> &[f64] {
        &self.values[s * self.features..(s + 1) * self.features]
    }
}

/// The error for a tensor that does not have the expected shape.
pub(crate) fn shape_mismatch(
    name: &'static str,
    shape: &[usize],
    expected_shape: &[usize],
    expected: &'static str,
) -> Error {
    Error::InvalidConfig {
        name,
        value: format!("of shape {shape:?} (the input has shape {expected_shape:?})"),
        expected,
    }
}

/// Checks that `tensor` is a non-empty batch whose samples are not empty.
pub(crate) fn check_not_empty(shape: &[usize]) -> Result<()> {
    if shape.first().copied().unwrap_or(0) == 0 {
        return Err(Error::EmptyBatch {
            shape: shape.to_vec(),
        });
    }
    if shape.contains(&0) {
        return Err(Error::EmptyInput {
            shape: shape.to_vec(),
        });
    }
    Ok(())
}

/// The error for `count` NaN or infinite values in a tensor that is not the input.
pub(crate) fn non_finite(name: &'static str, count: usize, sample: usize) -> Error {
    Error::InvalidConfig {
        name,
        value: format!(
            "holding {count} non-finite value(s) (NaN or ±inf), first in sample {sample}"
        ),
        expected: "finite values",
    }
}

/// Reads a non-empty batch of finite values to the host, one row per sample.
pub(crate) fn read_rows<const D: usize>(name: &'static str, tensor: Tensor<D>) -> Result<HostRows> {
    let shape = tensor.dims().to_vec();
    check_not_empty(&shape)?;
    let batch = shape[0];
    let features = shape[1..].iter().product();
    let values = read_f64(tensor)?;
    if let Some((sample, count)) = first_non_finite_row(&values, features) {
        return Err(non_finite(name, count, sample));
    }
    Ok(HostRows {
        shape,
        batch,
        features,
        values,
    })
}

/// Checks that there is one target per sample.
pub(crate) fn check_target_count(targets: &[usize], batch: usize) -> Result<()> {
    if targets.len() == batch {
        Ok(())
    } else {
        Err(Error::TargetCountMismatch {
            targets: targets.len(),
            batch,
        })
    }
}

/// Checks an optional rows-per-pass limit.
pub(crate) fn check_max_rows(max_rows: Option<usize>) -> Result<()> {
    if max_rows == Some(0) {
        return Err(Error::InvalidConfig {
            name: "max_rows",
            value: "0".into(),
            expected: "at least 1 row per pass (or none for the device's default)",
        });
    }
    Ok(())
}

/// The softmax of `row` at `class`, computed stably in f64.
pub(crate) fn softmax_at(row: &[f64], class: usize) -> f64 {
    let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let total: f64 = row.iter().map(|z| (z - max).exp()).sum();
    (row[class] - max).exp() / total
}

/// The area under `ys` over `xs` by the trapezoid rule.
pub(crate) fn trapezoid(xs: &[f64], ys: &[f64]) -> f64 {
    xs.windows(2)
        .zip(ys.windows(2))
        .map(|(x, y)| (x[1] - x[0]) * (y[0] + y[1]) / 2.0)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_is_stable_and_sums_to_one() {
        let row = [1000.0, 1001.0, 999.0];
        let total: f64 = (0..3).map(|c| softmax_at(&row, c)).sum();
        assert!((total - 1.0).abs() < 1e-12);
        let expected = 1.0 / (1.0 + (-1.0f64).exp() + (-2.0f64).exp());
        assert!((softmax_at(&row, 1) - expected).abs() < 1e-12);
    }

    #[test]
    fn trapezoid_integrates_lines_exactly() {
        let xs = [0.0, 0.25, 0.5, 1.0];
        let ys: Vec<f64> = xs.iter().map(|x| 2.0 * x + 1.0).collect();
        assert!((trapezoid(&xs, &ys) - 2.0).abs() < 1e-12);
    }
}
