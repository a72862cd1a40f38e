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

use std::ops::Range;

use burn::config::Config;
use burn::tensor::{Device, Int, Tensor, TensorData};
use ember_core::kernel::{Accumulators, Block, Plan, Run, Slots};
use ember_core::validate::read_f64;
use ember_core::{
    Attribution, Attributions, Baseline, Error, GradientKernel, Model, Quadrature, Report, Result,
    RowTargets, Target,
};

/// The points of the adaptive mode's first round: `2^ADAPTIVE_START_LEVEL + 1`.
const ADAPTIVE_START_LEVEL: u32 = 2;

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
    /// The most rows per forward+backward pass; `None` uses the device's default
    /// ([`ember_core::kernel::default_rows`]).
    #[config(default = "None")]
    pub max_rows: Option<usize>,
    /// A memory budget in bytes for the input rows of one pass (the rows per pass follow
    /// from a row's size); `None` uses the device's default. With `max_rows`, the smaller wins.
    #[config(default = "None")]
    pub memory_budget: Option<usize>,
    /// Check once per call, before the first pass, that the model's rows are independent and
    /// deterministic (a Burn module in training mode is not); turn off only for a model known
    /// to be in evaluation mode.
    #[config(default = true)]
    pub check_model: bool,
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
        Ok(IntegratedGradients {
            rule,
            baseline: self.baseline.clone(),
            multiply_by_inputs: self.multiply_by_inputs,
            kernel: GradientKernel::with_settings(
                self.max_rows,
                self.memory_budget,
                self.check_model,
            )?,
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
/// assert!(out.report.delta.unwrap()[0].abs() < 1e-5);
/// # Ok::<(), ember_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct IntegratedGradients {
    rule: Rule,
    baseline: Baseline,
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
        let mut report = Report::new("integrated-gradients", targets, scores, acc.stats)
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

/// Multiplies row `i` of `tensor` by `scale[i]` (skipped when every scale is 1).
fn scaled<const D: usize>(tensor: Tensor<D>, scale: &[f64]) -> Tensor<D> {
    if scale.iter().all(|&s| s == 1.0) {
        return tensor;
    }
    let mut shape = [1; D];
    shape[0] = scale.len();
    let device = tensor.device();
    let scale = Tensor::<1>::from_data(TensorData::new(scale.to_vec(), [scale.len()]), &device);
    tensor * scale.reshape(shape)
}

/// The sum of each row (everything but dimension 0), read to the host.
fn row_sums<const D: usize>(tensor: Tensor<D>) -> Result<Vec<f64>> {
    let rows = tensor.dims()[0];
    let sums: Tensor<2> = tensor.reshape([rows as i64, -1]).sum_dim(1);
    read_f64(sums)
}

/// The evaluation points of one run of the kernel.
#[derive(Debug, Clone)]
enum Points {
    /// Every slot at every `alphas[k]`, weighted `weights[k]`, point-major: row `r` is point
    /// `r / slots` of slot `r % slots`, so a block is a few whole "layers" of all slots and
    /// folds without scatter.
    Rule { alphas: Vec<f64>, weights: Vec<f64> },
    /// The new points of level `level` of the nested trapezoid rule, `(2i + 1) / 2^level`,
    /// for the `active` slots, each with weight 1; row `r` is point `r % 2^(level−1)` of
    /// slot `active[r / 2^(level−1)]`.
    Midpoints { active: Vec<usize>, level: u32 },
}

/// The straight-line path plan: slot `s` explains sample `s % batch` for `targets[s]`.
struct PathPlan<const D: usize> {
    /// `x′` of every slot, flattened: `[slots, features]`.
    baseline: Tensor<2>,
    /// `x − x′` of every slot, flattened: `[slots, features]`.
    direction: Tensor<2>,
    /// The shape of one sample, `[1, ...]`.
    sample_shape: [usize; D],
    features: usize,
    batch: usize,
    targets: Vec<usize>,
    points: Points,
}

impl<const D: usize> PathPlan<D> {
    fn new(
        baseline: &Tensor<D>,
        direction: &Tensor<D>,
        per_sample: usize,
        targets: Vec<usize>,
    ) -> Self {
        let dims = baseline.dims();
        let batch = dims[0];
        let features = dims[1..].iter().product::<usize>();
        let slots = batch * per_sample;
        let flat = |t: &Tensor<D>| -> Tensor<2> {
            t.clone()
                .repeat_dim(0, per_sample)
                .reshape([slots, features])
        };
        let mut sample_shape = dims;
        sample_shape[0] = 1;
        Self {
            baseline: flat(baseline),
            direction: flat(direction),
            sample_shape,
            features,
            batch,
            targets,
            points: Points::Rule {
                alphas: Vec::new(),
                weights: Vec::new(),
            },
        }
    }

    /// Flat rows `[n, features]` back to the sample shape `[n, ...]`.
    fn shaped(&self, rows: Tensor<2>) -> Tensor<D> {
        let mut shape = self.sample_shape;
        shape[0] = rows.dims()[0];
        rows.reshape(shape)
    }

    /// A block of the point-major fixed rule.
    fn rule_block(&self, range: Range<usize>, alphas: &[f64], weights: &[f64]) -> Block<D> {
        let slots = self.targets.len();
        let device = self.baseline.device();
        let (mut parts, mut runs, mut row_targets) = (Vec::new(), Vec::new(), Vec::new());
        let mut r = range.start;
        while r < range.end {
            let (point, slot) = (r / slots, r % slots);
            let full = if slot == 0 {
                (range.end - r) / slots
            } else {
                0
            };
            if full > 0 {
                // `full` whole layers: x′ + α_k (x − x′) for every slot, by broadcasting.
                let a: Tensor<3> = Tensor::<1>::from_data(
                    TensorData::new(alphas[point..point + full].to_vec(), [full]),
                    &device,
                )
                .reshape([full, 1, 1]);
                let layers = self.baseline.clone().unsqueeze_dim::<3>(0)
                    + self.direction.clone().unsqueeze_dim::<3>(0) * a;
                parts.push(layers.reshape([full * slots, self.features]));
                runs.push(Run {
                    slot: 0,
                    len: slots,
                    weights: weights[point..point + full].to_vec(),
                });
                for _ in 0..full {
                    row_targets.extend_from_slice(&self.targets);
                }
                r += full * slots;
            } else {
                let len = (slots - slot).min(range.end - r);
                parts.push(
                    self.baseline.clone().narrow(0, slot, len)
                        + self.direction.clone().narrow(0, slot, len) * alphas[point],
                );
                runs.push(Run {
                    slot,
                    len,
                    weights: vec![weights[point]],
                });
                row_targets.extend_from_slice(&self.targets[slot..slot + len]);
                r += len;
            }
        }
        let rows = if parts.len() == 1 {
            parts.pop().expect("one part")
        } else {
            Tensor::cat(parts, 0)
        };
        Block {
            rows: self.shaped(rows),
            slots: Slots::Runs(runs),
            targets: RowTargets::Indices(row_targets),
        }
    }

    /// A block of adaptive midpoints: any slots, gathered.
    fn midpoint_block(&self, range: Range<usize>, active: &[usize], level: u32) -> Block<D> {
        let n = range.len();
        let per_slot = 1usize << (level - 1);
        let (mut slots, mut alphas) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for r in range {
            slots.push(active[r / per_slot]);
            alphas.push((2 * (r % per_slot) + 1) as f64 / (1usize << level) as f64);
        }
        let device = self.baseline.device();
        let index = Tensor::<1, Int>::from_data(
            TensorData::new(slots.iter().map(|&s| s as i64).collect::<Vec<_>>(), [n]),
            &device,
        );
        let alphas = Tensor::<1>::from_data(TensorData::new(alphas, [n]), &device).reshape([n, 1]);
        let rows = self.baseline.clone().select(0, index.clone())
            + self.direction.clone().select(0, index) * alphas;
        let targets = slots.iter().map(|&s| self.targets[s]).collect();
        Block {
            rows: self.shaped(rows),
            slots: Slots::Scatter {
                slots,
                weights: None,
            },
            targets: RowTargets::Indices(targets),
        }
    }
}

impl<const D: usize> Plan<D> for PathPlan<D> {
    fn len(&self) -> usize {
        match &self.points {
            Points::Rule { alphas, .. } => self.targets.len() * alphas.len(),
            Points::Midpoints { active, level } => active.len() << (level - 1),
        }
    }

    fn slots(&self) -> usize {
        self.targets.len()
    }

    fn sample(&self, slot: usize) -> usize {
        slot % self.batch
    }

    fn features(&self) -> usize {
        self.features
    }

    fn device(&self) -> Device {
        self.baseline.device()
    }

    fn block(&self, range: Range<usize>) -> Result<Block<D>> {
        Ok(match &self.points {
            Points::Rule { alphas, weights } => self.rule_block(range, alphas, weights),
            Points::Midpoints { active, level } => self.midpoint_block(range, active, *level),
        })
    }
}
