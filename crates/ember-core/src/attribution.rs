//! The attribution trait and its result.

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::{KernelStats, Model, Result, SplitModel, Target};

/// An attribution method: explains a model's target output by a score per input element.
///
/// Methods are built from a checked config (`SaliencyConfig::new().init()?`), so a method
/// object is always valid; the remaining checks are of the input, the target and the model.
pub trait Attribution<const D: usize> {
    /// Computes the attributions of `model`'s `target` output at `input`.
    ///
    /// # Arguments
    ///
    /// - `model`: any [`Model`], e.g. `ember::eval(&module, Module::forward)` for a Burn
    ///   module (a copy in evaluation mode), or a closure `Fn(Tensor<D>) -> Tensor<2>`.
    /// - `input`: a batch `[batch, ...]`, on the plain (non-autodiff) device.
    /// - `target`: the output to explain, e.g. `Target::Class(3)`, `3`, or
    ///   `Target::Predicted`.
    ///
    /// # Returns
    ///
    /// [`Attributions`] with values of the input's shape, on the input's plain device.
    ///
    /// # Errors
    ///
    /// Any [`crate::Error`] about the input, the target or the model's output.
    fn attribute<M: Model<D> + ?Sized>(
        &self,
        model: &M,
        input: Tensor<D>,
        target: impl Into<Target>,
    ) -> Result<Attributions<D>>;
}

/// A layer attribution method: explains a model's target output by a score per element of a
/// layer's activations (Grad-CAM, Layer Integrated Gradients, Layer Gradient × Activation).
/// The model says where the layer is by being a [`SplitModel`].
pub trait LayerAttribution<const D: usize, const H: usize> {
    /// Computes the attributions of `model`'s `target` output to its layer at `input`.
    ///
    /// # Arguments
    ///
    /// - `model`: a [`SplitModel`], e.g. `ember::eval_split(&module, head, tail)`.
    /// - `input`: a batch `[batch, ...]`, rank `D`.
    /// - `target`: the output to explain.
    ///
    /// # Returns
    ///
    /// [`Attributions`] of rank `H`: the method's map of the layer (`[batch, ...]`, or
    /// `[k · batch, ...]` for `k` classes per sample).
    ///
    /// # Errors
    ///
    /// Any [`crate::Error`] about the input, the target or the model's output.
    fn attribute_layer<S: SplitModel<D, H> + ?Sized>(
        &self,
        model: &S,
        input: Tensor<D>,
        target: impl Into<Target>,
    ) -> Result<Attributions<H>>;
}

/// The result of an attribution method.
#[derive(Debug, Clone)]
pub struct Attributions<const D: usize> {
    /// One attribution per input element: the input's shape, on the plain device. With
    /// [`Target::Classes`] of `k` classes it is `[k · batch, ...]`, target-major: the leading
    /// target axis folded into the batch axis (see [`for_target`](Self::for_target)).
    pub values: Tensor<D>,
    /// How the values were computed.
    pub report: Report,
}

impl<const D: usize> Attributions<D> {
    /// The attributions for the `t`-th of the requested targets, `[batch, ...]`; `t = 0` is
    /// the only target unless [`Target::Classes`] was asked for.
    ///
    /// # Errors
    ///
    /// [`crate::Error::InvalidConfig`] if `t` is not below [`Report::targets_per_sample`].
    pub fn for_target(&self, t: usize) -> Result<Tensor<D>> {
        let k = self.report.targets_per_sample.max(1);
        if t >= k {
            return Err(crate::Error::InvalidConfig {
                name: "target index",
                value: t.to_string(),
                expected: "below the number of targets per sample",
            });
        }
        let batch = self.values.dims()[0] / k;
        Ok(self.values.clone().narrow(0, t * batch, batch))
    }
}

/// How an attribution was computed, serializable for logs and reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Report {
    /// The method's name, e.g. `"saliency"`.
    pub method: String,
    /// The explained class of each sample (resolved, so `Predicted` lists the argmax); with
    /// several targets per sample, target-major like the values.
    pub targets: Vec<usize>,
    /// How many targets each sample was explained for (the length of [`Target::Classes`],
    /// otherwise 1).
    pub targets_per_sample: usize,
    /// The model's output for the explained class of each sample, `F_target(x)`.
    pub scores: Vec<f64>,
    /// What a path method reports (Integrated Gradients, Layer IG): each sample's baseline
    /// score, delta, steps. Its fields appear in the serialized report as they did before they
    /// were grouped (`baseline_scores`, `delta`, …).
    #[serde(flatten)]
    pub path: Option<PathReport>,
    /// The noise of a noise tunnel (SmoothGrad, SmoothGrad², VarGrad).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise: Option<NoiseReport>,
    /// The perturbation methods' figures: groups, per-group values, sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub perturbation: Option<PerturbationReport>,
    /// Rows evaluated by the model (forward evaluations), in all passes.
    pub model_evaluations: usize,
    /// Passes over the model: forward+backward passes (one `backward()` call each) for the
    /// gradient methods, forward-only passes for the perturbation methods.
    pub passes: usize,
    /// The largest number of rows in one pass.
    pub rows_per_pass: usize,
}

impl Report {
    /// A report for `method` from the kernel's resolved targets, scores and statistics, with
    /// one target per sample (set [`targets_per_sample`](Self::targets_per_sample) for more).
    pub fn new(
        method: impl Into<String>,
        targets: Vec<usize>,
        scores: Vec<f64>,
        stats: KernelStats,
    ) -> Self {
        Self {
            method: method.into(),
            targets,
            targets_per_sample: 1,
            scores,
            path: None,
            noise: None,
            perturbation: None,
            model_evaluations: stats.rows,
            passes: stats.passes,
            rows_per_pass: stats.max_rows_per_pass,
        }
    }

    /// Sets how many targets each sample was explained for.
    pub fn with_targets_per_sample(mut self, k: usize) -> Self {
        self.targets_per_sample = k;
        self
    }

    /// Adds the path-method figures: `F(x′)` per slot and the signed delta per slot.
    pub fn with_path(mut self, baseline_scores: Vec<f64>, delta: Vec<f64>) -> Self {
        let path = self.path.get_or_insert_with(PathReport::default);
        path.baseline_scores = baseline_scores;
        path.delta = delta;
        self
    }

    /// Adds the steps used per slot and, for adaptive methods, whether each converged.
    pub fn with_steps(mut self, steps: Vec<usize>, converged: Option<Vec<bool>>) -> Self {
        let path = self.path.get_or_insert_with(PathReport::default);
        path.steps = Some(steps);
        path.converged = converged;
        self
    }

    /// Adds how far each slot's attributions moved in its last doubling (adaptive methods).
    pub fn with_attribution_change(mut self, change: Vec<Option<f64>>) -> Self {
        self.path
            .get_or_insert_with(PathReport::default)
            .attribution_change = Some(change);
        self
    }

    /// The model's output for the explained class at each sample's baseline, `F_target(x′)`
    /// (path methods only).
    pub fn baseline_scores(&self) -> Option<&[f64]> {
        self.path.as_ref().map(|p| p.baseline_scores.as_slice())
    }

    /// The signed convergence delta of each sample, `Σ attributions − (F(x) − F(x′))` (path
    /// methods only).
    pub fn delta(&self) -> Option<&[f64]> {
        self.path.as_ref().map(|p| p.delta.as_slice())
    }

    /// The integration steps used for each sample (path methods).
    pub fn steps(&self) -> Option<&[usize]> {
        self.path.as_ref()?.steps.as_deref()
    }

    /// Whether each sample reached the requested tolerance (adaptive Integrated Gradients).
    pub fn converged(&self) -> Option<&[bool]> {
        self.path.as_ref()?.converged.as_deref()
    }

    /// How far each sample's attributions moved in its last doubling (adaptive Integrated
    /// Gradients): see [`PathReport::attribution_change`].
    pub fn attribution_change(&self) -> Option<&[Option<f64>]> {
        self.path.as_ref()?.attribution_change.as_deref()
    }

    /// Adds a perturbation method's figures.
    pub fn with_perturbation(mut self, perturbation: PerturbationReport) -> Self {
        self.perturbation = Some(perturbation);
        self
    }

    /// The per-group values of a perturbation method, `[targets·batch, groups]` row-major
    /// (target-major like the maps), and the number of groups.
    pub fn group_values(&self) -> Option<(&[f64], usize)> {
        self.perturbation
            .as_ref()
            .map(|p| (p.group_values.as_slice(), p.groups))
    }

    /// Adds forward-only model evaluations (e.g. at the input and the baseline).
    pub fn with_extra_evaluations(mut self, rows: usize) -> Self {
        self.model_evaluations += rows;
        self
    }
}

/// What a path method (Integrated Gradients, Layer IG, GradientSHAP and Expected Gradients,
/// Blur IG, Guided IG) reports per sample, in its [`Report`]'s `path`: `baseline_scores` is
/// `F(x′)`, the mean of `F(b_k)` over a set of baselines, or Blur IG's `F(L(x, σ_max))`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PathReport {
    /// The model's output for the explained class at each sample's baseline, `F_target(x′)`.
    pub baseline_scores: Vec<f64>,
    /// The signed convergence delta of each sample, `Σ attributions − (F(x) − F(x′))`.
    pub delta: Vec<f64>,
    /// The integration steps used for each sample.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<usize>>,
    /// Whether each sample reached the requested tolerance (adaptive Integrated Gradients).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub converged: Option<Vec<bool>>,
    /// How far each sample's attributions moved in its last doubling (adaptive Integrated
    /// Gradients): `‖φ_L − φ_(L−1)‖ / ‖φ_L‖` in the L2 norm over the features, between the
    /// last two levels of the nested rule. It estimates the attributions' own error, which the
    /// delta (one number, their sum) does not (measured against a 512-point reference in
    /// docs/benchmarks.md). `None` for a sample that stopped at the first level (no doubling
    /// yet) or whose attributions are all zero.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribution_change: Option<Vec<Option<f64>>>,
}

/// The noise of a noise tunnel (SmoothGrad and its variants), in its [`Report`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NoiseReport {
    /// The wrapped method's name, e.g. `"saliency"`.
    pub inner: String,
    /// The noisy copies of each sample.
    pub samples: usize,
    /// The noise's standard deviation for each input sample.
    pub sigma: Vec<f64>,
    /// The seed of the noise.
    pub seed: u64,
}

impl NoiseReport {
    /// A noise report: the inner method, the copies per sample, `σ` per sample and the seed.
    pub fn new(inner: impl Into<String>, samples: usize, sigma: Vec<f64>, seed: u64) -> Self {
        Self {
            inner: inner.into(),
            samples,
            sigma,
            seed,
        }
    }
}

/// What a perturbation method reports besides the maps.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PerturbationReport {
    /// The number of groups (features) M, or of windows for occlusion.
    pub groups: usize,
    /// The value of each group, `[targets·batch, groups]` row-major (not serialised: the
    /// command line writes it as the `group_values` tensor).
    #[serde(skip)]
    pub group_values: Vec<f64>,
    /// The seed of the method's draws, for sampled methods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Draws made (permutations, coalitions), for sampled methods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub samples: Option<usize>,
    /// Whether KernelSHAP enumerated every coalition (its values are then exact).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enumerated: Option<bool>,
}

impl PerturbationReport {
    /// The report of `groups` groups and their values.
    pub fn new(groups: usize, group_values: Vec<f64>) -> Self {
        Self {
            groups,
            group_values,
            ..Self::default()
        }
    }

    /// With the seed and number of draws of a sampled method.
    pub fn with_draws(mut self, seed: u64, samples: usize) -> Self {
        self.seed = Some(seed);
        self.samples = Some(samples);
        self
    }
}
