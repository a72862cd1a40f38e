//! Max-sensitivity: how much an explanation changes under small perturbations of the input.
//!
//! Yeh, Hsieh, Suggala, Inouye and Ravikumar, *On the (In)fidelity and Sensitivity of
//! Explanations*, NeurIPS 2019. <https://arxiv.org/abs/1901.09392>
#![cfg_attr(
    doc,
    doc = r#"$$\text{SENS}_{\max}(\phi, F, x, r) = \max_{\lVert\delta\rVert_\infty \le r} \frac{\lVert \phi(F, x + \delta) - \phi(F, x) \rVert_2}{\lVert \phi(F, x) \rVert_2}$$"#
)]
//!
//! Plain text: `SENS_max = max over ||δ||_∞ ≤ r of ||φ(x + δ) − φ(x)||₂ / ||φ(x)||₂`.
//!
//! The maximum is estimated by Monte Carlo, as in the paper: `samples` perturbations drawn
//! uniformly from the L∞ ball of radius `r`. ember divides by `‖φ(x)‖₂` by default
//! ([`MaxSensitivityConfig::relative`]) so that values compare across methods and models whose
//! attributions have different scales; with `relative = false` it is the paper's unnormalised
//! `max ‖φ(x + δ) − φ(x)‖₂`. Lower is more robust; 0 means the explanation does not change.
//!
//! Batched: the perturbations are drawn on the host from one seeded [`SplitMix64`] stream (the
//! same numbers on every backend) and stacked into one `[samples · batch, ...]` batch, which
//! the method explains in one call (or in calls of at most `max_rows` rows), not one call per
//! perturbation.

use burn::config::Config;
use burn::tensor::{Int, Tensor, TensorData};
use ember_core::rng::SplitMix64;
use ember_core::validate::{check_input, read_f64};
use ember_core::{Attribution, Error, Model, Renumbered, Result, Target};

use crate::support::{check_max_rows, check_target_count, non_finite, shape_mismatch};

/// Hyper-parameters of [`MaxSensitivity`].
#[derive(Config, Debug)]
pub struct MaxSensitivityConfig {
    /// The radius `r` of the L∞ ball the perturbations are drawn from, in input units (> 0).
    #[config(default = 0.1)]
    pub radius: f64,
    /// The number of perturbations per sample (≥ 1).
    #[config(default = 10)]
    pub samples: usize,
    /// The seed of the perturbations.
    #[config(default = 0)]
    pub seed: u64,
    /// Divide by `‖φ(x)‖₂` (the default); `false` gives Yeh et al.'s unnormalised maximum.
    #[config(default = true)]
    pub relative: bool,
    /// The most perturbed rows per call of the method; `None` explains all
    /// `samples · batch` rows in one call (the method blocks its own passes).
    #[config(default = "None")]
    pub max_rows: Option<usize>,
}

impl MaxSensitivityConfig {
    /// Checks the configuration and builds the metric.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] if `radius` is not a finite number > 0, `samples` is 0, or
    /// `max_rows` is `Some(0)`.
    pub fn init(&self) -> Result<MaxSensitivity> {
        if !(self.radius.is_finite() && self.radius > 0.0) {
            return Err(Error::InvalidConfig {
                name: "radius",
                value: self.radius.to_string(),
                expected: "a finite number > 0",
            });
        }
        if self.samples == 0 {
            return Err(Error::InvalidConfig {
                name: "samples",
                value: "0".into(),
                expected: "at least 1 perturbation per sample",
            });
        }
        check_max_rows(self.max_rows)?;
        Ok(MaxSensitivity {
            radius: self.radius,
            samples: self.samples,
            seed: self.seed,
            relative: self.relative,
            max_rows: self.max_rows,
        })
    }
}

/// Max-sensitivity of an attribution method (Yeh et al. 2019). Build it with
/// [`MaxSensitivityConfig`].
///
/// # Example
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// use ember_methods::SaliencyConfig;
/// use ember_metrics::MaxSensitivityConfig;
///
/// let device = Device::flex();
/// let w = Tensor::<2>::from_floats([[1.0], [-2.0]], &device);
/// let model = move |x: Tensor<2>| x.matmul(w.clone());
/// let x = Tensor::<2>::from_floats([[3.0, 4.0], [0.5, 1.0]], &device);
/// let saliency = SaliencyConfig::new().init()?;
/// let sensitivity = MaxSensitivityConfig::new().init()?;
/// // A linear model's gradient does not depend on the input.
/// assert_eq!(sensitivity.evaluate(&saliency, &model, x, &[0, 0])?, vec![0.0, 0.0]);
/// # Ok::<(), ember_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct MaxSensitivity {
    radius: f64,
    samples: usize,
    seed: u64,
    relative: bool,
    max_rows: Option<usize>,
}

impl MaxSensitivity {
    /// The perturbations, drawn on the host: row `k · batch + s` is sample `s`'s `k`-th
    /// perturbation, and its `i`-th element is the `((k · batch + s) · features + i)`-th draw
    /// `r · (2u − 1)` of `SplitMix64::new(seed)`, uniform in `[−r, r)`.
    ///
    /// # Returns
    ///
    /// `samples · batch · features` values, row-major.
    pub fn perturbations(&self, batch: usize, features: usize) -> Vec<f64> {
        let mut rng = SplitMix64::new(self.seed);
        (0..self.samples * batch * features)
            .map(|_| self.radius * (2.0 * rng.next_f64() - 1.0))
            .collect()
    }

    /// Computes the max-sensitivity of `method` on `model` for each sample of `input`.
    ///
    /// # Arguments
    ///
    /// - `method`: any attribution method, e.g. `SaliencyConfig::new().init()?`.
    /// - `model`: any [`Model`].
    /// - `input`: the batch, on the plain device.
    /// - `targets`: the explained class of each sample, kept for its perturbations.
    ///
    /// # Shapes
    ///
    /// - `input`: `[batch, ...]`; the method is called on `[samples · batch, ...]`.
    /// - `targets`: `batch` entries.
    ///
    /// # Returns
    ///
    /// One value per sample: `max_k ‖φ(x + δ_k) − φ(x)‖₂ / ‖φ(x)‖₂` (without the division if
    /// [`relative`](MaxSensitivityConfig::relative) is off). Where `‖φ(x)‖₂ = 0`, the relative
    /// value is 0 if every `φ(x + δ_k)` is 0 too and `+∞` otherwise; use `relative = false`
    /// for methods whose attributions can vanish.
    ///
    /// # Errors
    ///
    /// - [`Error::EmptyBatch`], [`Error::EmptyInput`], [`Error::NonFiniteInput`] for a bad
    ///   input;
    /// - [`Error::TargetCountMismatch`] if `targets` does not have one entry per sample;
    /// - any error of the method (e.g. [`Error::TargetOutOfRange`]);
    /// - [`Error::InvalidConfig`] if the method returns attributions of another shape than its
    ///   input, or non-finite ones;
    /// - [`Error::Backend`] if the backend fails.
    pub fn evaluate<const D: usize, A: Attribution<D>, M: Model<D> + ?Sized>(
        &self,
        method: &A,
        model: &M,
        input: Tensor<D>,
        targets: &[usize],
    ) -> Result<Vec<f64>> {
        let input = input.without_autodiff();
        let batch = check_input(&input)?;
        check_target_count(targets, batch)?;
        let dims = input.dims();
        let features: usize = dims[1..].iter().product();
        let device = input.device();

        // `samples[r]` is the input sample of row `r`: its auxiliary inputs follow it. The first
        // call (at the input) checks the model's rows; the perturbed ones reuse that check.
        let explain = |rows: Tensor<D>, targets: Vec<usize>, samples: Vec<usize>, checked| {
            let n = rows.dims()[0];
            let model = Renumbered::new(model, samples, checked);
            let values = method
                .attribute(&model, rows, Target::PerSample(targets))?
                .values;
            let mut expected = dims;
            expected[0] = n;
            if values.dims() != expected {
                return Err(shape_mismatch(
                    "method",
                    &values.dims(),
                    &expected,
                    "attributions of the shape of the method's input",
                ));
            }
            Ok::<_, Error>(values.without_autodiff())
        };
        let norms = |t: Tensor<D>| -> Result<Vec<f64>> {
            let n = t.dims()[0];
            let squares: Tensor<2> = (t.clone() * t).reshape([n, features]);
            Ok(read_f64(squares.sum_dim(1))?
                .into_iter()
                .map(f64::sqrt)
                .collect())
        };

        let base = explain(input.clone(), targets.to_vec(), (0..batch).collect(), false)?;
        let base_norms = norms(base.clone())?;
        check_distances(&base_norms, batch)?;

        // Perturbed rows are built chunk by chunk, so device memory grows with the chunk.
        let total = self.samples * batch;
        let noise = self.perturbations(batch, features);
        let chunk = self.max_rows.unwrap_or(total).min(total);
        let mut distances = Vec::with_capacity(total);
        for start in (0..total).step_by(chunk) {
            let len = chunk.min(total - start);
            let mut shape = dims;
            shape[0] = len;
            let part = noise[start * features..(start + len) * features].to_vec();
            let part = Tensor::<D>::from_data(TensorData::new(part, shape), &device);
            // Row r is a perturbation of sample r % batch.
            let index: Vec<i64> = (start..start + len).map(|r| (r % batch) as i64).collect();
            let index = Tensor::<1, Int>::from_data(TensorData::new(index, [len]), &device);
            let rows = input.clone().select(0, index.clone()) + part;
            let row_targets = (start..start + len).map(|r| targets[r % batch]).collect();
            let samples = (start..start + len).map(|r| r % batch).collect();
            let values = explain(rows, row_targets, samples, true)?;
            distances.extend(norms(values - base.clone().select(0, index))?);
        }
        check_distances(&distances, batch)?;

        Ok((0..batch)
            .map(|s| {
                let largest = (0..self.samples)
                    .map(|k| distances[k * batch + s])
                    .fold(0.0, f64::max);
                match (self.relative, base_norms[s]) {
                    (false, _) => largest,
                    (true, norm) if norm > 0.0 => largest / norm,
                    (true, _) if largest == 0.0 => 0.0,
                    (true, _) => f64::INFINITY,
                }
            })
            .collect())
    }
}

/// A NaN or infinity in an attribution makes its row's norm non-finite, so checking the norms
/// checks every attribution; row `r` is sample `r % batch`.
fn check_distances(norms: &[f64], batch: usize) -> Result<()> {
    let bad: Vec<usize> = (0..norms.len())
        .filter(|&r| !norms[r].is_finite())
        .collect();
    match bad.first() {
        Some(&row) => Err(non_finite("method", bad.len(), row % batch)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perturbations_lie_in_the_ball_and_repeat_with_the_seed() {
        let metric = MaxSensitivityConfig::new()
            .with_radius(0.25)
            .with_samples(3)
            .with_seed(5)
            .init()
            .unwrap();
        let draws = metric.perturbations(2, 4);
        assert_eq!(draws.len(), 3 * 2 * 4);
        assert!(draws.iter().all(|d| (-0.25..0.25).contains(d)));
        assert_eq!(draws, metric.perturbations(2, 4));
        let other = MaxSensitivityConfig::new()
            .with_radius(0.25)
            .with_samples(3)
            .with_seed(6)
            .init()
            .unwrap();
        assert_ne!(draws, other.perturbations(2, 4));
    }

    #[test]
    fn bad_configs_are_typed_errors() {
        for config in [
            MaxSensitivityConfig::new().with_radius(0.0),
            MaxSensitivityConfig::new().with_radius(-0.1),
            MaxSensitivityConfig::new().with_radius(f64::NAN),
            MaxSensitivityConfig::new().with_radius(f64::INFINITY),
            MaxSensitivityConfig::new().with_samples(0),
            MaxSensitivityConfig::new().with_max_rows(Some(0)),
        ] {
            assert!(
                matches!(config.init(), Err(Error::InvalidConfig { .. })),
                "{config:?}"
            );
        }
    }
}
