//! Integrated Gradients: the path integral of the gradient from a baseline to the input.
//!
//! Sundararajan, Taly and Yan, *Axiomatic Attribution for Deep Networks*, 2017.
//! <https://arxiv.org/abs/1703.01365>
#![cfg_attr(
    doc,
    doc = r#"$$\phi_i(x) = (x_i - x'_i) \int_0^1 \frac{\partial F_c\big(x' + \alpha (x - x')\big)}{\partial x_i}\, d\alpha \;\approx\; (x_i - x'_i) \sum_k w_k \, \frac{\partial F_c\big(x' + \alpha_k (x - x')\big)}{\partial x_i}$$"#
)]
//!
//! Plain text: `phi_i(x) = (x_i - x'_i) * integral over a in [0, 1] of dF_c(x' + a (x - x'))/dx_i`,
//! approximated by a quadrature rule with points `a_k` and weights `w_k`.
//!
//! Completeness: the attributions of a sample sum to `F_c(x) − F_c(x′)`. The report gives the
//! signed convergence delta `Σ φ − (F_c(x) − F_c(x′))` of every sample, a measure of the
//! quadrature error.
//!
//! The method is a plan for ember's kernel: for each sample (and each of its targets) the
//! points `x′ + α_k (x − x′)` with weights `w_k`. The kernel streams them in blocks of
//! `max_rows` rows, so memory does not grow with steps × samples.
//!
//! **Adaptive mode** (`tolerance`): the nested trapezoid rule on `2^L + 1` points, starting at
//! 5 points. Each round doubles the points of the samples that have not converged, evaluating
//! only the new midpoints and reusing every gradient computed before, until every sample's
//! `|delta| ≤ tolerance · |F(x) − F(x′)|` (or `≤ abs_tolerance`) or `max_steps` is reached.
//! The report also gives how far each sample's attributions moved in its last doubling
//! ([`Report::attribution_change`]), an estimate of their own error that the delta is not.
//!
//! **Over a set of baselines** (`baselines`, `--baselines FILE`): the mean over `K`
//! baselines `b_k` of Integrated Gradients from each, with the fixed rule. One plan holds every
//! `(α_j, b_k)` with weight `w_j / K` and each gradient scaled by `x − b_k` before the fold
//! ([`ember_core::kernel::Block::scale`]), so a sample keeps one accumulator and the `K`
//! integrals share passes. The attributions sum to `F_c(x) − mean_k F_c(b_k)` up to the rule's
//! error; the report gives that mean as the baseline score. Cost: `K × steps` rows per sample.

use crate::drawn::{DrawnPlan, Draws, baseline_rows, mean_baseline_scores};
use crate::path::{PathPlan, Points, row_sums, scaled};
use crate::registry::{Base, Entry, Family, MethodInfo};
use burn::config::Config;
use burn::tensor::Tensor;
use ember_core::KernelSettings;
use ember_core::kernel::Accumulators;
use ember_core::{
    Attribution, Attributions, Baseline, BaselineSet, Error, GradientKernel, Model, Quadrature,
    Report, Result, RowTargets, Target,
};

/// The points of the adaptive mode's first round: `2^ADAPTIVE_START_LEVEL + 1`.
const ADAPTIVE_START_LEVEL: u32 = 2;

/// Integrated Gradients' entry in the registry.
pub static INFO: Entry<Base> = Entry {
    info: MethodInfo {
        name: "integrated-gradients",
        aliases: &["integratedgradients", "ig"],
        summary: "Integrated Gradients: (x − x′) ⊙ the mean gradient on the straight path from \
                  the baseline x′ (fixed steps, or adaptive to a tolerance)",
        captum: Some("IntegratedGradients"),
        signed: true,
        family: Family::Path,
        cost: "steps",
        rows_per_sample: |s, _| s.steps,
    },
    build: |s| Ok(Base::IntegratedGradients(s.integrated_gradients().init()?)),
};

/// Hyper-parameters of [`IntegratedGradients`].
///
/// Captum's defaults are 50 steps of Gauss–Legendre, a zero baseline and `multiply_by_inputs`;
/// ember's are the same.
#[derive(Config, Debug)]
pub struct IntegratedGradientsConfig {
    /// The number of integration points (ignored in adaptive mode).
    #[config(default = 50)]
    pub steps: usize,
    /// The quadrature rule (ignored in adaptive mode, which uses the nested trapezoid rule).
    #[config(default = "Quadrature::GaussLegendre")]
    pub quadrature: Quadrature,
    /// The baseline `x′`.
    #[config(default = "Baseline::Zeros")]
    pub baseline: Baseline,
    /// A set of `K` baselines `[K, ...]` to average over (in place of `baseline`, which must
    /// then be the default zeros; fixed rule only).
    #[config(default = "None")]
    pub baselines: Option<BaselineSet>,
    /// How the kernel runs: rows per pass, memory budget, the model check.
    #[config(default = "KernelSettings::new()")]
    pub kernel: KernelSettings,
    /// Multiply the integrated gradient by `x − x′` (the attribution); `false` returns the
    /// integrated gradient itself (Captum's `multiply_by_inputs=False`).
    #[config(default = true)]
    pub multiply_by_inputs: bool,
    /// Adaptive mode: the relative tolerance on `|delta| / |F(x) − F(x′)|`; `None` uses the
    /// fixed rule.
    #[config(default = "None")]
    pub tolerance: Option<f64>,
    /// Adaptive mode: an absolute floor, so that a sample with `F(x) ≈ F(x′)` can converge.
    #[config(default = 1e-6)]
    pub abs_tolerance: f64,
    /// Adaptive mode: the most integration points per sample (at least 5; the rule uses
    /// `2^L + 1` points, the largest such count not above this).
    #[config(default = 1025)]
    pub max_steps: usize,
}

ember_core::kernel_shorthands!(IntegratedGradientsConfig);

impl IntegratedGradientsConfig {
    /// Checks the configuration and builds the method.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for 0 steps (or 1 with the trapezoid rule), a bad baseline
    /// (non-finite values, bad bounds), a tolerance that is not a positive finite number, a
    /// negative or non-finite `abs_tolerance`, `max_steps` below 5 in adaptive mode, or
    /// `max_rows` or `memory_budget` of `Some(0)`.
    pub fn init(&self) -> Result<IntegratedGradients> {
        let invalid = |name: &'static str, value: String, expected: &'static str| {
            Err(Error::InvalidConfig {
                name,
                value,
                expected,
            })
        };
        let rule = match self.tolerance {
            None => {
                let (alphas, weights) = self.quadrature.nodes(self.steps)?;
                Rule::Fixed { alphas, weights }
            }
            Some(tolerance) => {
                if !(tolerance.is_finite() && tolerance > 0.0) {
                    return invalid("tolerance", tolerance.to_string(), "a finite number > 0");
                }
                if !(self.abs_tolerance.is_finite() && self.abs_tolerance >= 0.0) {
                    return invalid(
                        "abs_tolerance",
                        self.abs_tolerance.to_string(),
                        "a finite number ≥ 0",
                    );
                }
                let start = (1usize << ADAPTIVE_START_LEVEL) + 1;
                if self.max_steps < start {
                    return invalid(
                        "max_steps",
                        self.max_steps.to_string(),
                        "at least 5 points (the adaptive rule starts at 5)",
                    );
                }
                Rule::Adaptive {
                    tolerance,
                    abs_tolerance: self.abs_tolerance,
                    max_level: (self.max_steps - 1).ilog2(),
                }
            }
        };
        self.baseline.check()?;
        if self.baselines.is_some() {
            if self.tolerance.is_some() {
                return invalid(
                    "baselines",
                    "a set with a tolerance".into(),
                    "the fixed rule over a set of baselines (adaptive mode takes one baseline)",
                );
            }
            if self.baseline != Baseline::Zeros {
                return invalid(
                    "baselines",
                    "a set and a baseline".into(),
                    "one baseline or a set of baselines, not both",
                );
            }
        }
        Ok(IntegratedGradients {
            rule,
            baseline: self.baseline.clone(),
            baselines: self.baselines.clone(),
            multiply_by_inputs: self.multiply_by_inputs,
            kernel: self.kernel.kernel()?,
        })
    }
}

#[derive(Debug, Clone)]
enum Rule {
    Fixed {
        alphas: Vec<f64>,
        weights: Vec<f64>,
    },
    Adaptive {
        tolerance: f64,
        abs_tolerance: f64,
        max_level: u32,
    },
}

/// Integrated Gradients (Sundararajan et al. 2017). Build it with
/// [`IntegratedGradientsConfig`].
///
/// # Example
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// use ember_core::Attribution;
/// use ember_methods::IntegratedGradientsConfig;
///
/// let device = Device::flex();
/// // F(x) = relu(x1 + 2 x2)
/// let w = Tensor::<2>::from_floats([[1.0], [2.0]], &device);
/// let model = move |x: Tensor<2>| burn::tensor::activation::relu(x.matmul(w.clone()));
/// let x = Tensor::<2>::from_floats([[1.0, 1.0]], &device);
/// let ig = IntegratedGradientsConfig::new().init()?;
/// let out = ig.attribute(&model, x, 0)?;
/// let values = out.values.to_data().try_to_vec::<f32>().unwrap();
/// assert!((values[0] - 1.0).abs() < 1e-5 && (values[1] - 2.0).abs() < 1e-5);
/// assert!(out.report.delta().unwrap()[0].abs() < 1e-5);
/// # Ok::<(), ember_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct IntegratedGradients {
    rule: Rule,
    baseline: Baseline,
    baselines: Option<BaselineSet>,
    multiply_by_inputs: bool,
    kernel: GradientKernel,
}

impl IntegratedGradients {
    /// The kernel (rows per pass, model check), for the layer version.
    pub(crate) fn kernel(&self) -> &GradientKernel {
        &self.kernel
    }

    /// The baseline, in the input's space.
    pub(crate) fn baseline(&self) -> &Baseline {
        &self.baseline
    }

    /// The same method from another baseline (Layer Integrated Gradients' activations at the
    /// input's baseline).
    pub(crate) fn with_baseline(&self, baseline: Baseline) -> Self {
        Self {
            baseline,
            ..self.clone()
        }
    }
}

impl<const D: usize> Attribution<D> for IntegratedGradients {
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
        if let (Some(set), Rule::Fixed { alphas, weights }) = (&self.baselines, &self.rule) {
            return self.over_set(model, input, target, set, alphas, weights);
        }
        let baseline = self.baseline.resolve(&input)?;

        // F(x) (which also resolves `Predicted` at the input) and F(x′), forward only.
        let (targets, scores) = self
            .kernel
            .evaluate(model, input.clone(), &target.rows(batch)?)?;
        let (_, baseline_scores) = self.kernel.evaluate(
            model,
            baseline.clone(),
            &RowTargets::Indices(targets.clone()),
        )?;
        let differences: Vec<f64> = scores
            .iter()
            .zip(&baseline_scores)
            .map(|(fx, fb)| fx - fb)
            .collect();

        let direction = input - baseline.clone();
        let mut plan = PathPlan::new(&baseline, &direction, per_sample, targets.clone());
        let slots = targets.len();
        let (acc, scale, steps, converged, change) = match &self.rule {
            Rule::Fixed { alphas, weights } => {
                plan.points = Points::Rule {
                    alphas: alphas.clone(),
                    weights: weights.clone(),
                };
                let acc = self.kernel.accumulate(model, &plan, None)?;
                (acc, vec![1.0; slots], vec![alphas.len(); slots], None, None)
            }
            Rule::Adaptive {
                tolerance,
                abs_tolerance,
                max_level,
            } => {
                let (acc, levels, converged, change) = self.adaptive(
                    model,
                    &mut plan,
                    &differences,
                    *tolerance,
                    *abs_tolerance,
                    *max_level,
                )?;
                let scale = levels.iter().map(|&l| 0.5f64.powi(l as i32)).collect();
                let steps = levels.iter().map(|&l| (1usize << l) + 1).collect();
                (acc, scale, steps, Some(converged), Some(change))
            }
        };

        let integrated = scaled(acc.sum, &scale);
        let direction = direction.repeat_dim(0, per_sample);
        let attributions = integrated.clone() * direction;
        let delta: Vec<f64> = row_sums(attributions.clone())?
            .iter()
            .zip(&differences)
            .map(|(sum, difference)| sum - difference)
            .collect();
        let values = if self.multiply_by_inputs {
            attributions
        } else {
            integrated
        };
        let mut report = Report::new(INFO.info.name, targets, scores, acc.stats)
            .with_targets_per_sample(per_sample)
            .with_path(baseline_scores, delta)
            .with_steps(steps, converged)
            .with_extra_evaluations(2 * batch);
        if let Some(change) = change {
            report = report.with_attribution_change(change);
        }
        Ok(Attributions { values, report })
    }
}

impl IntegratedGradients {
    /// The mean of Integrated Gradients from each baseline of `set`, in one plan.
    fn over_set<const D: usize, M: Model<D> + ?Sized>(
        &self,
        model: &M,
        input: Tensor<D>,
        target: Target,
        set: &BaselineSet,
        alphas: &[f64],
        weights: &[f64],
    ) -> Result<Attributions<D>> {
        let batch = input.dims()[0];
        let per_sample = target.per_sample();
        let baselines = set.resolve(&input)?;
        let (targets, scores) = self
            .kernel
            .evaluate(model, input.clone(), &target.rows(batch)?)?;
        let baseline_scores =
            mean_baseline_scores(&self.kernel, model, &input, &baselines, &targets)?;
        let k = set.len();
        let plan = DrawnPlan::new(
            &input,
            baselines,
            targets.clone(),
            Draws::Every {
                k,
                alphas: alphas.to_vec(),
                weights: weights.to_vec(),
            },
            None,
            self.multiply_by_inputs,
        );
        let acc = self.kernel.accumulate(model, &plan, None)?;
        let slots = targets.len();
        let mut report = Report::new(INFO.info.name, targets, scores.clone(), acc.stats)
            .with_targets_per_sample(per_sample)
            .with_extra_evaluations(batch + baseline_rows(model, k, batch));
        if self.multiply_by_inputs {
            let delta = row_sums(acc.sum.clone())?
                .iter()
                .zip(scores.iter().zip(&baseline_scores))
                .map(|(sum, (fx, fb))| sum - (fx - fb))
                .collect();
            report = report.with_path(baseline_scores, delta);
        }
        report = report.with_steps(vec![alphas.len() * k; slots], None);
        Ok(Attributions {
            values: acc.sum,
            report,
        })
    }

    /// The adaptive rounds: returns the raw trapezoid sums (end points weighted ½, interior
    /// points 1), each slot's level `L` (spacing `2^−L`), whether it converged and how far its
    /// attributions moved in its last round (`None` before its first doubling).
    #[allow(clippy::type_complexity)]
    fn adaptive<const D: usize, M: Model<D> + ?Sized>(
        &self,
        model: &M,
        plan: &mut PathPlan<D>,
        differences: &[f64],
        tolerance: f64,
        abs_tolerance: f64,
        max_level: u32,
    ) -> Result<(Accumulators<D>, Vec<u32>, Vec<bool>, Vec<Option<f64>>)> {
        let slots = differences.len();
        let start = ADAPTIVE_START_LEVEL.min(max_level);
        let n = (1usize << start) + 1;
        let mut weights = vec![1.0; n];
        weights[0] = 0.5;
        weights[n - 1] = 0.5;
        plan.points = Points::Rule {
            alphas: (0..n).map(|j| j as f64 / (n - 1) as f64).collect(),
            weights,
        };
        let mut acc = self.kernel.accumulate(model, plan, None)?;
        let mut levels = vec![start; slots];
        let mut converged = vec![false; slots];
        let mut change = vec![None; slots];
        loop {
            let totals =
                row_sums(acc.sum.clone().reshape([slots, plan.features]) * plan.direction.clone())?;
            let mut active = Vec::new();
            for slot in 0..slots {
                if converged[slot] {
                    continue;
                }
                let h = 0.5f64.powi(levels[slot] as i32);
                let delta = totals[slot] * h - differences[slot];
                if delta.abs() <= (tolerance * differences[slot].abs()).max(abs_tolerance) {
                    converged[slot] = true;
                } else if levels[slot] < max_level {
                    active.push(slot);
                }
            }
            let Some(&first) = active.first() else {
                return Ok((acc, levels, converged, change));
            };
            // Every active slot is at the same level: they all started together and every
            // round refines all of them.
            let level = levels[first] + 1;
            for &slot in &active {
                levels[slot] = level;
            }
            let previous = acc.sum.clone();
            plan.points = Points::Midpoints {
                active: active.clone(),
                level,
            };
            acc = self.kernel.accumulate(model, plan, Some(acc))?;
            let moved = self.moved(previous, acc.sum.clone(), plan)?;
            for slot in active {
                change[slot] = moved[slot];
            }
        }
    }

    /// `‖φ_L − φ_(L−1)‖ / ‖φ_L‖` per slot, from the raw trapezoid sums of two consecutive
    /// levels (`S_L` at spacing `2^−L`, `S_(L−1)` at twice that): the scale cancels, so it is
    /// `‖(S_L − 2·S_(L−1))·d‖ / ‖S_L·d‖`, with `d = x − x′` when the values are multiplied by
    /// the inputs and `d = 1` otherwise. `None` where `φ_L` is zero.
    fn moved<const D: usize>(
        &self,
        previous: Tensor<D>,
        current: Tensor<D>,
        plan: &PathPlan<D>,
    ) -> Result<Vec<Option<f64>>> {
        let slots = plan.targets.len();
        let flat = |t: Tensor<D>| -> Tensor<2> { t.reshape([slots, plan.features]) };
        let (mut now, mut step) = (flat(current.clone()), flat(current) - flat(previous) * 2.0);
        if self.multiply_by_inputs {
            now = now * plan.direction.clone();
            step = step * plan.direction.clone();
        }
        let norms = row_sums(now.clone() * now)?;
        let steps = row_sums(step.clone() * step)?;
        Ok(norms
            .iter()
            .zip(&steps)
            .map(|(&n, &s)| (n > 0.0).then(|| (s / n).sqrt()))
            .collect())
    }
}
