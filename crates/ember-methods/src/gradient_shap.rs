//! GradientSHAP and Expected Gradients: Integrated Gradients in expectation over baselines
//! drawn from a set (the data), with one random point on each path.
//!
//! - Lundberg and Lee, *A Unified Approach to Interpreting Model Predictions*, 2017
//!   (GradientSHAP, as Captum's `GradientShap` implements it).
//!   <https://arxiv.org/abs/1705.07874>
//! - Erion, Janizek, Sturmfels, Lundberg and Lee, *Improving performance of deep learning
//!   models with axiomatic attribution priors and expected gradients*, 2021.
//!   <https://arxiv.org/abs/1906.10670>
#![cfg_attr(
    doc,
    doc = r#"$$\phi(x) = \frac{1}{S}\sum_{s=1}^{S} (x + \varepsilon_s - b_{k_s}) \odot \nabla F_c\big(b_{k_s} + \alpha_s (x + \varepsilon_s - b_{k_s})\big), \qquad k_s \sim \mathcal U\{1..K\},\ \alpha_s \sim \mathcal U(0, 1),\ \varepsilon_s \sim \mathcal N(0, \sigma^2 I)$$"#
)]
//!
//! Plain text: the mean over `S` draws of `(x + e − b) ⊙ ∇F_c(b + a (x + e − b))`, with `b`
//! drawn from the `K` baselines with replacement, `a ~ U(0, 1)` and `e ~ N(0, σ²)` (σ absolute:
//! Captum's `stdevs`, 0 by default).
//!
//! It is an unbiased estimate of the mean over the baselines of Integrated Gradients from
//! each, so its attributions sum, in expectation, to `F_c(x) − mean_k F_c(b_k)`. The report
//! gives that mean as the baseline score and the signed gap `Σ φ − (F_c(x) − mean_k F_c(b_k))`
//! as the delta: it shrinks as `1/√S`. (Captum reports a delta per draw instead, against the
//! drawn baseline.)
//!
//! `gradient-shap` and `expected-gradients` are the same estimator with different defaults:
//! Captum's `GradientShap` draws 5 per sample, `shap`'s `GradientExplainer` 200.
//!
//! On ember's kernel each draw is one row, its gradient scaled by `x + ε − b` before the fold
//! into the sample's one accumulator ([`ember_core::kernel::Block::scale`]): memory is flat in
//! the number of draws (Captum puts all `S × N` rows in one pass, pytorch/captum#1350). The
//! draws come from a seeded generator on the host, the same on every device; recorded draws
//! ([`PathDraws`], e.g. Captum's) replay exactly. Cost: `S` gradient rows per sample, and
//! `N + K` forward rows for the scores (`N + K·N` for a model with auxiliary inputs, whose
//! baselines are evaluated as every sample).

use burn::config::Config;
use burn::tensor::Tensor;
use ember_core::{
    Attribution, Attributions, BaselineSet, Error, GradientKernel, KernelSettings, Model, Report,
    Result, Target,
};
use serde::{Deserialize, Serialize};

use crate::drawn::{DrawNoise, DrawnPlan, Draws, baseline_rows, mean_baseline_scores};
use crate::path::row_sums;
use crate::registry::{Base, Entry, Family, MethodInfo};

/// GradientSHAP's entry in the registry.
pub static GRADIENT_SHAP: Entry<Base> = Entry {
    info: MethodInfo {
        name: "gradient-shap",
        aliases: &["gradientshap", "gshap"],
        summary: "GradientSHAP: the mean of (x − b) ⊙ ∇F at a random point between x and a \
                  baseline b drawn from a set (--baselines); Captum's 5 draws",
        captum: Some("GradientShap"),
        signed: true,
        family: Family::Path,
        cost: "samples (draws; default 5)",
        rows_per_sample: |s, _| s.draws.unwrap_or(GRADIENT_SHAP_DRAWS),
    },
    build: |s| {
        Ok(Base::GradientShap(
            s.gradient_shap(GRADIENT_SHAP_DRAWS).init()?,
        ))
    },
};

/// Expected Gradients' entry in the registry.
pub static EXPECTED_GRADIENTS: Entry<Base> = Entry {
    info: MethodInfo {
        name: "expected-gradients",
        aliases: &["expectedgradients", "eg"],
        summary: "Expected Gradients: GradientSHAP's estimator with shap's GradientExplainer \
                  default of 200 draws",
        captum: None,
        signed: true,
        family: Family::Path,
        cost: "samples (draws; default 200)",
        rows_per_sample: |s, _| s.draws.unwrap_or(EXPECTED_GRADIENTS_DRAWS),
    },
    build: |s| {
        Ok(Base::ExpectedGradients(
            s.gradient_shap(EXPECTED_GRADIENTS_DRAWS)
                .init()?
                .named(EXPECTED_GRADIENTS.info.name),
        ))
    },
};

/// Captum's `GradientShap` default `n_samples`.
pub const GRADIENT_SHAP_DRAWS: usize = 5;
/// `shap`'s `GradientExplainer` default `nsamples`.
pub const EXPECTED_GRADIENTS_DRAWS: usize = 200;

/// Recorded draws to replay, sample-major: entry `i·S + s` is draw `s` of sample `i` (Captum's
/// order of its expanded rows), the baseline's index and the point `α` on its path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathDraws {
    /// The index of each draw's baseline in the set.
    pub baseline: Vec<usize>,
    /// Each draw's point on its path, in `[0, 1]`.
    pub alpha: Vec<f64>,
}

/// Hyper-parameters of [`GradientShap`]. Captum's defaults: 5 draws, no noise,
/// `multiply_by_inputs`.
#[derive(Config, Debug)]
pub struct GradientShapConfig {
    /// The baselines `[K, ...]` to draw from (required).
    #[config(default = "None")]
    pub baselines: Option<BaselineSet>,
    /// Draws per sample, `S`.
    #[config(default = 5)]
    pub samples: usize,
    /// The standard deviation σ of the Gaussian noise added to the input of each draw,
    /// absolute (Captum's `stdevs`); 0 for none.
    #[config(default = 0.0)]
    pub noise: f64,
    /// The seed of the draws and of the noise.
    #[config(default = 0)]
    pub seed: u64,
    /// Recorded draws to replay instead of drawing (`samples` must match them); the noise
    /// must then be 0.
    #[config(default = "None")]
    pub draws: Option<PathDraws>,
    /// Multiply each gradient by `x + ε − b` (the attribution); `false` returns the mean
    /// gradient (Captum's `multiply_by_inputs=False`), with no delta.
    #[config(default = true)]
    pub multiply_by_inputs: bool,
    /// How the kernel runs: rows per pass, memory budget, the model check.
    #[config(default = "KernelSettings::new()")]
    pub kernel: KernelSettings,
}

ember_core::kernel_shorthands!(GradientShapConfig);

impl GradientShapConfig {
    /// Checks the configuration and builds the method.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] without baselines, for 0 samples, a noise that is negative or
    /// not finite, recorded draws whose count is not a multiple of `samples` or with noise, or
    /// `max_rows` or `memory_budget` of `Some(0)`.
    pub fn init(&self) -> Result<GradientShap> {
        let invalid = |name: &'static str, value: String, expected: &'static str| {
            Err(Error::InvalidConfig {
                name,
                value,
                expected,
            })
        };
        let Some(baselines) = self.baselines.clone() else {
            return invalid(
                "baselines",
                "none".into(),
                "a set of baselines [K, ...] to draw from (--baselines FILE)",
            );
        };
        if self.samples == 0 {
            return invalid("samples", "0".into(), "at least 1 draw per sample");
        }
        if !(self.noise.is_finite() && self.noise >= 0.0) {
            return invalid("noise", self.noise.to_string(), "a finite σ ≥ 0");
        }
        if let Some(draws) = &self.draws {
            let n = draws.baseline.len();
            if draws.alpha.len() != n || n == 0 || n % self.samples != 0 {
                return invalid(
                    "draws",
                    format!("{n} baselines and {} alphas", draws.alpha.len()),
                    "as many baselines as alphas, samples per input sample",
                );
            }
            if let Some(a) = draws.alpha.iter().find(|a| !(0.0..=1.0).contains(*a)) {
                return invalid("draws", format!("alpha {a}"), "alphas in [0, 1]");
            }
            if let Some(&k) = draws.baseline.iter().find(|&&k| k >= baselines.len()) {
                return invalid(
                    "draws",
                    format!("baseline {k} of {}", baselines.len()),
                    "indices of the baselines given",
                );
            }
            if self.noise > 0.0 {
                return invalid(
                    "noise",
                    self.noise.to_string(),
                    "0 with recorded draws (the noise is not recorded)",
                );
            }
        }
        Ok(GradientShap {
            name: GRADIENT_SHAP.info.name,
            baselines,
            samples: self.samples,
            noise: DrawNoise {
                sigma: self.noise,
                seed: self.seed,
            },
            draws: self.draws.clone(),
            multiply_by_inputs: self.multiply_by_inputs,
            kernel: self.kernel.kernel()?,
        })
    }
}

/// GradientSHAP (Captum's `GradientShap`) and Expected Gradients. Build it with
/// [`GradientShapConfig`].
///
/// # Example
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// use ember_core::{Attribution, BaselineSet};
/// use ember_methods::GradientShapConfig;
///
/// let device = Device::flex();
/// // A linear model: every draw gives (x − b) ⊙ w, so the mean is exact in expectation.
/// let w = Tensor::<2>::from_floats([[1.0], [2.0]], &device);
/// let model = move |x: Tensor<2>| x.matmul(w.clone());
/// let x = Tensor::<2>::from_floats([[1.0, 1.0]], &device);
/// let baselines = BaselineSet::new(vec![1, 2], vec![0.0, 0.0])?;
/// let method = GradientShapConfig::new()
///     .with_baselines(Some(baselines))
///     .with_samples(16)
///     .init()?;
/// let out = method.attribute(&model, x, 0)?;
/// let values = out.values.to_data().try_to_vec::<f32>().unwrap();
/// assert!((values[0] - 1.0).abs() < 1e-5 && (values[1] - 2.0).abs() < 1e-5);
/// # Ok::<(), ember_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct GradientShap {
    name: &'static str,
    baselines: BaselineSet,
    samples: usize,
    noise: DrawNoise,
    draws: Option<PathDraws>,
    multiply_by_inputs: bool,
    kernel: GradientKernel,
}

impl GradientShap {
    /// The same method under another registry name (Expected Gradients).
    pub(crate) fn named(self, name: &'static str) -> Self {
        Self { name, ..self }
    }

    /// The draws of a batch: replayed (checked against the batch) or drawn.
    fn draws(&self, batch: usize) -> Result<Draws> {
        let k = self.baselines.len();
        let Some(recorded) = &self.draws else {
            return Ok(Draws::Random {
                k,
                draws: self.samples,
                seed: self.noise.seed,
            });
        };
        let s = self.samples;
        if recorded.baseline.len() != batch * s {
            return Err(Error::InvalidConfig {
                name: "draws",
                value: format!("{} draws for {batch} samples", recorded.baseline.len()),
                expected: "samples × the batch's samples",
            });
        }
        // Sample-major (i·S + s) to the plan's draw-major (s·batch + i).
        let mut index = vec![0; batch * s];
        let mut alpha = vec![0.0; batch * s];
        for i in 0..batch {
            for d in 0..s {
                index[d * batch + i] = recorded.baseline[i * s + d];
                alpha[d * batch + i] = recorded.alpha[i * s + d];
            }
        }
        Ok(Draws::Recorded {
            index,
            alpha,
            draws: s,
        })
    }
}

impl<const D: usize> Attribution<D> for GradientShap {
    fn attribute<M: Model<D> + ?Sized>(
        &self,
        model: &M,
        input: Tensor<D>,
        target: impl Into<Target>,
    ) -> Result<Attributions<D>> {
        let batch = self.kernel.check_call(model, &input)?;
        let target = target.into();
        let per_sample = target.per_sample();
        let input = input.without_autodiff();
        let baselines = self.baselines.resolve(&input)?;
        let draws = self.draws(batch)?;

        let (targets, scores) = self
            .kernel
            .evaluate(model, input.clone(), &target.rows(batch)?)?;
        let baseline_scores =
            mean_baseline_scores(&self.kernel, model, &input, &baselines, &targets)?;

        let plan = DrawnPlan::new(
            &input,
            baselines,
            targets.clone(),
            draws,
            Some(self.noise),
            self.multiply_by_inputs,
        );
        let acc = self.kernel.accumulate(model, &plan, None)?;
        let mut report = Report::new(self.name, targets, scores.clone(), acc.stats)
            .with_targets_per_sample(per_sample)
            .with_extra_evaluations(batch + baseline_rows(model, self.baselines.len(), batch));
        if self.multiply_by_inputs {
            let delta = row_sums(acc.sum.clone())?
                .iter()
                .zip(scores.iter().zip(&baseline_scores))
                .map(|(sum, (fx, fb))| sum - (fx - fb))
                .collect();
            report = report.with_path(baseline_scores, delta);
        }
        let slots = report.targets.len();
        report = report.with_steps(vec![self.samples; slots], None);
        Ok(Attributions {
            values: acc.sum,
            report,
        })
    }
}
