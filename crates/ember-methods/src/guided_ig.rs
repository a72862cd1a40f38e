//! Guided Integrated Gradients: a path from the baseline to the input chosen step by step,
//! moving first the features whose gradient is smallest, so the path avoids the model's noisy
//! regions.
//!
//! Kapishnikov, Venugopalan, Avci, Wedin, Terry and Bolukbasi, *Guided Integrated Gradients:
//! an Adaptive Path Method for Removing Noise*, CVPR 2021. <https://arxiv.org/abs/2106.09788>
//!
//! Step `k` of `T` (PAIR `saliency`'s `guided_ig_impl`, 0.2.1) takes the gradient `g` at the
//! path's current point `p` and moves `p` until its L1 distance to the input is
//! `‖x − x′‖₁ (1 − k/T)`: first every feature that lags behind the band `α ± max_dist`
//! (`α = k/T`) is brought to the band's lower edge; then, repeatedly, the `fraction` of
//! features with the smallest `|g|` (quantile with NumPy's `lower` rule; features already at
//! the band's upper edge excluded) moves toward the upper edge, all the way or by the fraction
//! `γ` that meets the target. Every move adds `Δp ⊙ g` to the attributions. So the attributions
//! sum to about `F(x) − F(x′)` (the report's delta is the gap) and `max_dist = 0` is the
//! left-Riemann Integrated Gradients on `T` steps.
//!
//! Each step depends on the last gradient, so the method is `T` passes of the kernel, each
//! batched across samples (and targets); the path state lives on the host in f64. Cost: `T`
//! gradient rows per sample, and `2 N` forward rows.

use burn::config::Config;
use burn::tensor::{Tensor, TensorData};
use ember_core::validate::read_f64;
use ember_core::{
    Attribution, Attributions, Baseline, Error, GradientKernel, KernelSettings, KernelStats, Model,
    Renumbered, Report, Result, RowTargets, Target,
};

use crate::registry::{Base, Entry, Family, MethodInfo};

/// Guided IG's entry in the registry.
pub static INFO: Entry<Base> = Entry {
    info: MethodInfo {
        name: "guided-ig",
        aliases: &["guidedig", "guided-integrated-gradients"],
        summary: "Guided IG: an adaptive path from the baseline that moves the features with the \
                  smallest gradients first; PAIR saliency's GuidedIG",
        captum: None,
        signed: true,
        family: Family::Path,
        cost: "steps (default 200, sequential passes)",
        rows_per_sample: |s, _| s.path_steps.unwrap_or(DEFAULT_STEPS),
    },
    build: |s| Ok(Base::GuidedIg(s.guided_ig().init()?)),
};

/// PAIR's default number of steps.
pub const DEFAULT_STEPS: usize = 200;

/// PAIR's tolerance of `math.isclose` on the L1 target (relative and absolute).
const EPSILON: f64 = 1e-9;

/// Hyper-parameters of [`GuidedIg`]. PAIR's defaults: 200 steps, fraction 0.25, `max_dist`
/// 0.02, a zero baseline.
#[derive(Config, Debug)]
pub struct GuidedIgConfig {
    /// Steps, `T`: one gradient pass each.
    #[config(default = 200)]
    pub steps: usize,
    /// The fraction of the features moved at a time, in `(0, 1]`.
    #[config(default = 0.25)]
    pub fraction: f64,
    /// How far (in `α`, of `[0, 1]`) a feature may run ahead of or lag behind the straight
    /// path; 0 is Integrated Gradients, 1 leaves the path free in the box between `x′` and `x`.
    #[config(default = 0.02)]
    pub max_dist: f64,
    /// The baseline `x′`.
    #[config(default = "Baseline::Zeros")]
    pub baseline: Baseline,
    /// How the kernel runs: rows per pass, memory budget, the model check.
    #[config(default = "KernelSettings::new()")]
    pub kernel: KernelSettings,
}

ember_core::kernel_shorthands!(GuidedIgConfig);

impl GuidedIgConfig {
    /// Checks the configuration and builds the method.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for 0 steps, a `fraction` outside `(0, 1]`, a `max_dist`
    /// outside `[0, 1]`, a bad baseline, or `max_rows` or `memory_budget` of `Some(0)`.
    pub fn init(&self) -> Result<GuidedIg> {
        let invalid = |name: &'static str, value: String, expected: &'static str| {
            Err(Error::InvalidConfig {
                name,
                value,
                expected,
            })
        };
        if self.steps == 0 {
            return invalid("steps", "0".into(), "at least 1 step");
        }
        if !(self.fraction > 0.0 && self.fraction <= 1.0) {
            return invalid("fraction", self.fraction.to_string(), "a number in (0, 1]");
        }
        if !(0.0..=1.0).contains(&self.max_dist) {
            return invalid("max_dist", self.max_dist.to_string(), "a number in [0, 1]");
        }
        self.baseline.check()?;
        Ok(GuidedIg {
            steps: self.steps,
            fraction: self.fraction,
            max_dist: self.max_dist,
            baseline: self.baseline.clone(),
            kernel: self.kernel.kernel()?,
        })
    }
}

/// Guided Integrated Gradients (Kapishnikov et al. 2021). Build it with [`GuidedIgConfig`].
#[derive(Debug, Clone)]
pub struct GuidedIg {
    steps: usize,
    fraction: f64,
    max_dist: f64,
    baseline: Baseline,
    kernel: GradientKernel,
}

/// One slot's path: the input, the baseline, the current point and the attributions, in f64.
struct Path {
    x: Vec<f64>,
    base: Vec<f64>,
    point: Vec<f64>,
    attr: Vec<f64>,
    total: f64,
}

impl Path {
    /// The point at `alpha` on the straight line.
    fn at(&self, alpha: f64) -> Vec<f64> {
        self.x
            .iter()
            .zip(&self.base)
            .map(|(x, b)| b + (x - b) * alpha)
            .collect()
    }

    /// Step `step` (0-based) of `steps` with the gradient `grad` at the current point.
    fn step(&mut self, grad: &[f64], step: usize, steps: usize, fraction: f64, max_dist: f64) {
        if self.total == 0.0 {
            return;
        }
        let alpha = (step + 1) as f64 / steps as f64;
        let (alpha_min, alpha_max) = ((alpha - max_dist).max(0.0), (alpha + max_dist).min(1.0));
        let (x_min, x_max) = (self.at(alpha_min), self.at(alpha_max));
        let target = self.total * (1.0 - (step + 1) as f64 / steps as f64);
        let mut g = grad.to_vec();
        let n = g.len();
        let mut gamma = f64::INFINITY;
        while gamma > 1.0 {
            let old = self.point.clone();
            for (((p, x), b), low) in self
                .point
                .iter_mut()
                .zip(&self.x)
                .zip(&self.base)
                .zip(&x_min)
            {
                // PAIR: α of a feature with x = x′ is NaN, read as alpha_max.
                let a = if x != b {
                    (*p - b) / (x - b)
                } else {
                    alpha_max
                };
                if a < alpha_min {
                    *p = *low;
                }
            }
            let current: f64 = self
                .point
                .iter()
                .zip(&self.x)
                .map(|(p, x)| (p - x).abs())
                .sum();
            if is_close(target, current) {
                self.add(&old, grad);
                break;
            }
            for ((g, p), high) in g.iter_mut().zip(&self.point).zip(&x_max) {
                if p == high {
                    *g = f64::INFINITY;
                }
            }
            let threshold = lower_quantile(&g, fraction);
            let selected: Vec<bool> = g
                .iter()
                .map(|v| v.abs() <= threshold && *v != f64::INFINITY)
                .collect();
            let l1: f64 = (0..n)
                .filter(|&i| selected[i])
                .map(|i| (self.point[i] - x_max[i]).abs())
                .sum();
            gamma = if l1 > 0.0 {
                (current - target) / l1
            } else {
                f64::INFINITY
            };
            for i in (0..n).filter(|&i| selected[i]) {
                self.point[i] = if gamma > 1.0 {
                    x_max[i]
                } else {
                    self.point[i] + (x_max[i] - self.point[i]) * gamma
                };
            }
            self.add(&old, grad);
        }
    }

    fn add(&mut self, old: &[f64], grad: &[f64]) {
        for ((a, p), (o, g)) in self
            .attr
            .iter_mut()
            .zip(&self.point)
            .zip(old.iter().zip(grad))
        {
            *a += (p - o) * g;
        }
    }
}

/// `math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)`.
fn is_close(a: f64, b: f64) -> bool {
    (a - b).abs() <= (EPSILON * a.abs().max(b.abs())).max(EPSILON)
}

/// NumPy's `quantile(|values|, q, method="lower")`: the `⌊q (n − 1)⌋`-th smallest.
fn lower_quantile(values: &[f64], q: f64) -> f64 {
    let mut abs: Vec<f64> = values.iter().map(|v| v.abs()).collect();
    let k = (q * (abs.len() - 1) as f64).floor() as usize;
    let (_, kth, _) = abs.select_nth_unstable_by(k, |a, b| a.total_cmp(b));
    *kth
}

impl<const D: usize> Attribution<D> for GuidedIg {
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
        let dims = input.dims();
        let features = dims[1..].iter().product::<usize>();
        let baseline = self.baseline.resolve(&input)?;
        let device = input.device();

        let (targets, scores) = self
            .kernel
            .evaluate(model, input.clone(), &target.rows(batch)?)?;
        let (_, baseline_scores) = self.kernel.evaluate(
            model,
            baseline.clone(),
            &RowTargets::Indices(targets.clone()),
        )?;

        let (xs, bs) = (read_f64(input)?, read_f64(baseline)?);
        let slots = targets.len();
        let mut paths: Vec<Path> = (0..slots)
            .map(|slot| {
                let i = slot % batch;
                let x = xs[i * features..(i + 1) * features].to_vec();
                let base = bs[i * features..(i + 1) * features].to_vec();
                let total = x.iter().zip(&base).map(|(a, b)| (a - b).abs()).sum();
                Path {
                    point: base.clone(),
                    attr: vec![0.0; features],
                    x,
                    base,
                    total,
                }
            })
            .collect();
        // Slot s is sample s % batch for the model's auxiliary inputs; the rows are checked.
        let map: Vec<usize> = (0..slots).map(|s| s % batch).collect();
        let inner = Renumbered::new(model, map, true);
        let row_targets = RowTargets::Indices(targets.clone());
        let mut shape = dims;
        shape[0] = slots;
        let mut stats = KernelStats::default();
        for step in 0..self.steps {
            let points: Vec<f64> = paths.iter().flat_map(|p| p.point.iter().copied()).collect();
            let rows = Tensor::<D>::from_data(TensorData::new(points, shape), &device);
            let out = self.kernel.gradients(&inner, rows, &row_targets)?;
            stats.merge(out.stats);
            let grads = read_f64(out.gradients)?;
            for (slot, path) in paths.iter_mut().enumerate() {
                let g = &grads[slot * features..(slot + 1) * features];
                path.step(g, step, self.steps, self.fraction, self.max_dist);
            }
        }

        let delta = paths
            .iter()
            .zip(scores.iter().zip(&baseline_scores))
            .map(|(p, (fx, fb))| p.attr.iter().sum::<f64>() - (fx - fb))
            .collect();
        let attr: Vec<f64> = paths.into_iter().flat_map(|p| p.attr).collect();
        let values = Tensor::<D>::from_data(TensorData::new(attr, shape), &device);
        let report = Report::new(INFO.info.name, targets, scores, stats)
            .with_targets_per_sample(per_sample)
            .with_path(baseline_scores, delta)
            .with_steps(vec![self.steps; slots], None)
            .with_extra_evaluations(2 * batch);
        Ok(Attributions { values, report })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lower_quantile_is_numpys() {
        // numpy.quantile([3, 1, 4, 1, 5], 0.25, method="lower") = 1; 0.6 → 3; 1 → 5.
        let v = [3.0, -1.0, 4.0, 1.0, -5.0];
        assert_eq!(lower_quantile(&v, 0.25), 1.0);
        assert_eq!(lower_quantile(&v, 0.6), 3.0);
        assert_eq!(lower_quantile(&v, 1.0), 5.0);
        assert_eq!(lower_quantile(&[f64::INFINITY, 2.0], 0.5), 2.0);
    }

    #[test]
    fn max_dist_zero_is_the_left_riemann_sum_on_a_quadratic() {
        // F(p) = p₁² + p₂, ∇F = (2 p₁, 1), from 0 to x = (1, 2) in 4 steps: left Riemann of
        // 2α·1 → 2·(0 + ¼ + ½ + ¾)/4 = 0.75; the second feature 2·1 = 2.
        let mut path = Path {
            x: vec![1.0, 2.0],
            base: vec![0.0, 0.0],
            point: vec![0.0, 0.0],
            attr: vec![0.0, 0.0],
            total: 3.0,
        };
        for step in 0..4 {
            let g = [2.0 * path.point[0], 1.0];
            path.step(&g, step, 4, 0.25, 0.0);
        }
        assert!((path.attr[0] - 0.75).abs() < 1e-12, "{:?}", path.attr);
        assert!((path.attr[1] - 2.0).abs() < 1e-12, "{:?}", path.attr);
        assert_eq!(path.point, vec![1.0, 2.0]);
    }
}
