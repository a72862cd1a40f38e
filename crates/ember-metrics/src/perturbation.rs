//! Deletion and insertion curves: how the model's score moves as features are removed or
//! restored in the order of their attributions.
//!
//! - Deletion and insertion: Petsiuk, Das and Saenko, *RISE: Randomized Input Sampling for
//!   Explanation of Black-box Models*, 2018. <https://arxiv.org/abs/1806.07421>
//! - Most/least relevant first (MoRF/LeRF): Samek, Binder, Montavon, Lapuschkin and Müller,
//!   *Evaluating the visualization of what a deep neural network has learned*, 2017.
//!   <https://arxiv.org/abs/1509.06321>
//!
//! For every sample, the features are ranked by their signed attribution (most positive first
//! for [`RelevanceOrder::MostRelevantFirst`], ties broken by the lower flat index, so the order
//! is deterministic). At fraction `f_j = j / (steps − 1)`, the first `k_j = round(f_j · n)` of
//! the `n` features in that order are changed:
//!
//! - [`CurveMode::Deletion`] starts at `x` and sets those features to the replacement `r`;
//! - [`CurveMode::Insertion`] starts at `r` and puts those features of `x` back.
//!
//! The curve is the model's [`CurveScore`] of the target class at each step, and its area
//! (trapezoid rule over the fractions in `[0, 1]`) summarises it. A faithful attribution gives
//! a low deletion-MoRF area and a high insertion-MoRF area.
#![cfg_attr(
    doc,
    doc = r#"$$\text{AUC} = \sum_{j=1}^{S-1} (f_j - f_{j-1}) \, \frac{s_{j-1} + s_j}{2}, \qquad s_j = \frac{1}{B}\sum_{b=1}^{B} F_{c_b}\big(x^{(b)}_{j}\big)$$"#
)]
//!
//! Plain text: `AUC = Σ_j (f_j − f_{j−1}) (s_{j−1} + s_j) / 2`, with `s_j` the mean over the
//! batch of the score of the sample perturbed at step `j`.
//!
//! All `batch × steps` perturbed rows are built on the device from one mask per block and the
//! model is evaluated forward only, in blocks of at most `max_rows` rows.

use burn::config::Config;
use burn::tensor::{Device, Tensor};
use ember_core::KernelSettings;
use ember_core::kernel::RowsFrom;
pub use ember_core::perturb::Replacement;
use ember_core::perturb::masked_rows;
use ember_core::{Error, GradientKernel, Model, Result};
use serde::{Deserialize, Serialize};

use crate::support::{check_target_count, read_rows, shape_mismatch, softmax_at, trapezoid};

/// In which order the features are perturbed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum RelevanceOrder {
    /// Most relevant first (MoRF): the largest signed attribution first (the default).
    #[default]
    MostRelevantFirst,
    /// Least relevant first (LeRF): the smallest signed attribution first.
    LeastRelevantFirst,
}

/// Whether the curve removes features from the input or restores them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum CurveMode {
    /// Start at the input and replace the features in order (the default).
    #[default]
    Deletion,
    /// Start at the replacement and put the input's features back in order.
    Insertion,
}

/// Which output of the model a perturbation curve records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum CurveScore {
    /// The softmax probability of the target class (the default, as in Petsiuk et al. 2018).
    /// Use [`Logit`](Self::Logit) for a model with one output, whose softmax is always 1.
    #[default]
    Probability,
    /// The raw output (logit) of the target class.
    Logit,
}

/// Hyper-parameters of a [`PerturbationCurve`].
///
/// The defaults are a deletion curve, most relevant first, with 16 fractions, a zero
/// replacement and the target's softmax probability.
#[derive(Config, Debug)]
pub struct PerturbationCurveConfig {
    /// The number of fractions, evenly spaced over `[0, 1]` with both ends (at least 2).
    #[config(default = 16)]
    pub steps: usize,
    /// The order in which features are perturbed.
    #[config(default = "RelevanceOrder::MostRelevantFirst")]
    pub order: RelevanceOrder,
    /// Deletion or insertion.
    #[config(default = "CurveMode::Deletion")]
    pub mode: CurveMode,
    /// What a removed feature becomes.
    #[config(default = "Replacement::Constant(0.0)")]
    pub replacement: Replacement,
    /// The recorded score.
    #[config(default = "CurveScore::Probability")]
    pub score: CurveScore,
    /// How the kernel runs: rows per pass, memory budget, the model check.
    #[config(default = "KernelSettings::new()")]
    pub kernel: KernelSettings,
}

ember_core::kernel_shorthands!(PerturbationCurveConfig);

impl PerturbationCurveConfig {
    /// Checks the configuration and builds the metric.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for fewer than 2 steps, a non-finite constant, a blur `sigma`
    /// that is not a finite number > 0, or `max_rows` of `Some(0)`.
    pub fn init(&self) -> Result<PerturbationCurve> {
        if self.steps < 2 {
            return Err(Error::InvalidConfig {
                name: "steps",
                value: self.steps.to_string(),
                expected: "at least 2 fractions (both ends of [0, 1])",
            });
        }
        match self.replacement {
            Replacement::Constant(c) if !c.is_finite() => {
                return Err(Error::InvalidConfig {
                    name: "replacement",
                    value: format!("Constant({c})"),
                    expected: "a finite constant",
                });
            }
            Replacement::Blur { sigma } if !(sigma.is_finite() && sigma > 0.0) => {
                return Err(Error::InvalidConfig {
                    name: "replacement",
                    value: format!("Blur {{ sigma: {sigma} }}"),
                    expected: "a blur sigma that is a finite number > 0",
                });
            }
            _ => {}
        }
        Ok(PerturbationCurve {
            steps: self.steps,
            order: self.order,
            mode: self.mode,
            replacement: self.replacement,
            score: self.score,
            kernel: self.kernel.kernel()?,
        })
    }
}

/// A deletion or insertion curve (Petsiuk et al. 2018; MoRF/LeRF from Samek et al. 2017).
/// Build it with [`PerturbationCurveConfig`].
///
/// # Example
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// use ember_metrics::{CurveScore, PerturbationCurveConfig};
///
/// let device = Device::flex();
/// let w = Tensor::<2>::from_floats([[1.0], [2.0]], &device);
/// let model = move |x: Tensor<2>| x.matmul(w.clone());
/// let x = Tensor::<2>::from_floats([[1.0, 1.0]], &device);
/// // Gradient × input of the linear model: (1, 2).
/// let attributions = Tensor::<2>::from_floats([[1.0, 2.0]], &device);
/// let deletion = PerturbationCurveConfig::new()
///     .with_steps(3)
///     .with_score(CurveScore::Logit)
///     .init()?;
/// let curve = deletion.curve(&model, x, attributions, &[0])?;
/// // F(x) = 3; without feature 1 (the most relevant): 1; without both: 0.
/// assert_eq!(curve.mean, vec![3.0, 1.0, 0.0]);
/// assert_eq!(curve.auc, 1.25);
/// # Ok::<(), ember_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PerturbationCurve {
    steps: usize,
    order: RelevanceOrder,
    mode: CurveMode,
    replacement: Replacement,
    score: CurveScore,
    kernel: GradientKernel,
}

/// A perturbation curve of a batch, serializable for reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Curve {
    /// The fractions of perturbed features, `j / (steps − 1)` for `j = 0..steps`.
    pub fractions: Vec<f64>,
    /// The number of features perturbed at each fraction, `round(fraction · features)`.
    pub features: Vec<usize>,
    /// The score of each sample at each fraction, `[batch][steps]`.
    pub per_sample: Vec<Vec<f64>>,
    /// The mean over the batch at each fraction.
    pub mean: Vec<f64>,
    /// The trapezoid area under the mean curve over the fractions in `[0, 1]`.
    pub auc: f64,
    /// The trapezoid area under each sample's curve.
    pub per_sample_auc: Vec<f64>,
    /// Rows evaluated by the model (`batch × steps`).
    pub model_evaluations: usize,
    /// Forward passes made (`⌈rows / max_rows⌉`).
    pub passes: usize,
}

impl PerturbationCurve {
    /// The fractions of perturbed features, `j / (steps − 1)`.
    pub fn fractions(&self) -> Vec<f64> {
        let last = (self.steps - 1) as f64;
        (0..self.steps).map(|j| j as f64 / last).collect()
    }

    /// The number of features perturbed at each fraction for samples of `features`
    /// features: `round(j · features / (steps − 1))`, halves rounded up.
    pub fn counts(&self, features: usize) -> Vec<usize> {
        let last = self.steps - 1;
        (0..self.steps)
            .map(|j| (2 * j * features + last) / (2 * last))
            .collect()
    }

    /// Computes the curve of `model` on a batch, perturbing features in the order of
    /// `attributions`.
    ///
    /// # Arguments
    ///
    /// - `model`: any [`Model`]; it is evaluated forward only, on the input's plain device.
    /// - `input`: the batch the attributions explain.
    /// - `attributions`: one value per input element (e.g. [`ember_core::Attributions::values`]).
    /// - `targets`: the class of each sample whose score is recorded (e.g.
    ///   [`ember_core::Report::targets`]).
    ///
    /// # Shapes
    ///
    /// - `input`, `attributions`: `[batch, ...]`, the same shape; for
    ///   [`Replacement::Blur`], rank ≥ 3 (the last two dimensions are blurred).
    /// - `targets`: `batch` entries.
    ///
    /// # Returns
    ///
    /// The [`Curve`]: every sample's scores at every fraction, the mean curve and the areas.
    ///
    /// # Errors
    ///
    /// - [`Error::EmptyBatch`], [`Error::EmptyInput`], [`Error::NonFiniteInput`] for a bad
    ///   input;
    /// - [`Error::InvalidConfig`] if the attributions do not have the input's shape or hold a
    ///   NaN or infinity, or for [`Replacement::Blur`] on an input of rank < 3;
    /// - [`Error::TargetCountMismatch`] if `targets` does not have one entry per sample;
    /// - [`Error::TargetOutOfRange`], [`Error::ModelOutputShape`], [`Error::NonFiniteOutput`]
    ///   for the model's outputs;
    /// - [`Error::Backend`] if the backend fails.
    pub fn curve<const D: usize, M: Model<D> + ?Sized>(
        &self,
        model: &M,
        input: Tensor<D>,
        attributions: Tensor<D>,
        targets: &[usize],
    ) -> Result<Curve> {
        let input = input.without_autodiff();
        let batch = self.kernel.check_call(model, &input)?;
        let dims = input.dims();
        if attributions.dims() != dims {
            return Err(shape_mismatch(
                "attributions",
                &attributions.dims(),
                &dims,
                "the input's shape",
            ));
        }
        let relevance = read_rows("attributions", attributions)?;
        check_target_count(targets, batch)?;
        let device = input.device();
        let replacement = self.replacement.values(&input)?;
        let features = relevance.features;
        let ranks = ranks(&relevance.values, features, self.order);
        let counts = self.counts(features);
        let steps = self.steps;
        let total = batch * steps;
        let plan = RowsFrom {
            len: total,
            features,
            device: device.clone(),
            build: |range: std::ops::Range<usize>| {
                Ok::<_, Error>(self.rows(&input, &replacement, &ranks, &counts, range, &device))
            },
            sample: |row| row / steps,
            target: |row| Some(targets[row / steps]),
        };
        let mut scores = Vec::with_capacity(total);
        let passes = self.kernel.forward(model, &plan, |range, values, cols| {
            for (row, output) in range.zip(values.chunks(cols)) {
                let class = targets[row / steps];
                scores.push(match self.score {
                    CurveScore::Logit => output[class],
                    CurveScore::Probability => softmax_at(output, class),
                });
            }
            Ok(())
        })?;
        let fractions = self.fractions();
        let per_sample: Vec<Vec<f64>> = scores.chunks(steps).map(<[f64]>::to_vec).collect();
        let mean: Vec<f64> = (0..steps)
            .map(|j| per_sample.iter().map(|s| s[j]).sum::<f64>() / batch as f64)
            .collect();
        Ok(Curve {
            auc: trapezoid(&fractions, &mean),
            per_sample_auc: per_sample
                .iter()
                .map(|s| trapezoid(&fractions, s))
                .collect(),
            fractions,
            features: counts,
            per_sample,
            mean,
            model_evaluations: total,
            passes,
        })
    }

    /// Builds rows `range` of the `batch × steps` perturbed rows (row `s · steps + j` is sample
    /// `s` at fraction `j`) from one mask: `true` keeps the input's value.
    fn rows<const D: usize>(
        &self,
        input: &Tensor<D>,
        replacement: &Tensor<D>,
        ranks: &[usize],
        counts: &[usize],
        range: std::ops::Range<usize>,
        device: &Device,
    ) -> Tensor<D> {
        let dims = input.dims();
        let features: usize = dims[1..].iter().product();
        let n = range.len();
        let mut samples = Vec::with_capacity(n);
        let mut mask = Vec::with_capacity(n * features);
        for row in range {
            let (s, j) = (row / self.steps, row % self.steps);
            samples.push(s);
            let k = counts[j];
            let sample_ranks = &ranks[s * features..(s + 1) * features];
            mask.extend(sample_ranks.iter().map(|&rank| {
                let perturbed = rank < k;
                match self.mode {
                    CurveMode::Deletion => !perturbed,
                    CurveMode::Insertion => perturbed,
                }
            }));
        }
        masked_rows(input, replacement, &samples, mask, device)
    }
}

/// The rank of every feature of every sample in `order` (0 = perturbed first), ties broken by
/// the lower flat index.
fn ranks(values: &[f64], features: usize, order: RelevanceOrder) -> Vec<usize> {
    let mut ranks = vec![0; values.len()];
    let mut sorted: Vec<usize> = Vec::with_capacity(features);
    for (row, out) in values.chunks(features).zip(ranks.chunks_mut(features)) {
        sorted.clear();
        sorted.extend(0..features);
        // Values are finite (checked), so partial_cmp is total; it also ties 0.0 and -0.0.
        sorted.sort_by(|&a, &b| {
            let by_value = match order {
                RelevanceOrder::MostRelevantFirst => row[b].partial_cmp(&row[a]),
                RelevanceOrder::LeastRelevantFirst => row[a].partial_cmp(&row[b]),
            };
            by_value
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(a.cmp(&b))
        });
        for (rank, &feature) in sorted.iter().enumerate() {
            out[feature] = rank;
        }
    }
    ranks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_round_the_fractions_of_the_features() {
        let curve = PerturbationCurveConfig::new().with_steps(5).init().unwrap();
        assert_eq!(curve.fractions(), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        assert_eq!(curve.counts(4), vec![0, 1, 2, 3, 4]);
        // 0.25 · 6 = 1.5 rounds up, 0.75 · 6 = 4.5 rounds up.
        assert_eq!(curve.counts(6), vec![0, 2, 3, 5, 6]);
        assert_eq!(curve.counts(1), vec![0, 0, 1, 1, 1]);
    }

    #[test]
    fn ranks_are_signed_and_ties_go_to_the_lower_index() {
        let values = [0.5, -2.0, 3.0, 0.5, 0.0, -0.0];
        assert_eq!(
            ranks(&values, 6, RelevanceOrder::MostRelevantFirst),
            vec![1, 5, 0, 2, 3, 4]
        );
        assert_eq!(
            ranks(&values, 6, RelevanceOrder::LeastRelevantFirst),
            vec![3, 0, 5, 4, 1, 2]
        );
        // Two samples are ranked separately.
        assert_eq!(
            ranks(&[1.0, 2.0, 2.0, 1.0], 2, RelevanceOrder::MostRelevantFirst),
            vec![1, 0, 0, 1]
        );
    }

    #[test]
    fn bad_configs_are_typed_errors() {
        let bad = [
            PerturbationCurveConfig::new().with_steps(1),
            PerturbationCurveConfig::new().with_steps(0),
            PerturbationCurveConfig::new().with_replacement(Replacement::Constant(f64::NAN)),
            PerturbationCurveConfig::new().with_replacement(Replacement::Blur { sigma: 0.0 }),
            PerturbationCurveConfig::new().with_replacement(Replacement::Blur { sigma: -1.0 }),
            PerturbationCurveConfig::new().with_replacement(Replacement::Blur { sigma: f64::NAN }),
            PerturbationCurveConfig::new().with_max_rows(Some(0)),
        ];
        for config in bad {
            assert!(
                matches!(config.init(), Err(Error::InvalidConfig { .. })),
                "{config:?}"
            );
        }
    }

    #[test]
    fn config_round_trips_through_json() {
        let config = PerturbationCurveConfig::new()
            .with_mode(CurveMode::Insertion)
            .with_replacement(Replacement::Blur { sigma: 2.0 })
            .with_order(RelevanceOrder::LeastRelevantFirst);
        let json = serde_json::to_string(&config).unwrap();
        let back: PerturbationCurveConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back.replacement, Replacement::Blur { sigma: 2.0 });
        assert_eq!(back.mode, CurveMode::Insertion);
        assert_eq!(back.order, RelevanceOrder::LeastRelevantFirst);
    }
}
