//! Blur IG: Integrated Gradients along the path of Gaussian blurs from a fully blurred image
//! to the image, which needs no baseline.
//!
//! Xu, Venugopalan and Sundararajan, *Attribution in Scale and Space*, 2020.
//! <https://arxiv.org/abs/2004.03383>
#![cfg_attr(
    doc,
    doc = r#"$$\phi(x) = -\sum_{i=0}^{T-1} (\sigma_{i+1} - \sigma_i)\, \frac{L(x, \sigma_i + h) - L(x, \sigma_i)}{h} \odot \nabla F_c\big(L(x, \sigma_i)\big), \qquad \sigma_i = \frac{i\,\sigma_{\max}}{T} \ \text{or}\ \sqrt{\frac{i\,\sigma_{\max}}{T}}$$"#
)]
//!
//! Plain text: minus the sum over steps `i < T` of `Δσ_i · (L(x, σ_i + h) − L(x, σ_i)) / h ⊙
//! ∇F_c(L(x, σ_i))`, where `L(x, σ)` is `x` blurred with a Gaussian of standard deviation `σ`
//! over its last two dimensions (height and width), `h` the `grad_step`, and `σ_i = i σ_max / T`
//! (or its square root with `sqrt`). This is PAIR `saliency`'s `BlurIG` (0.2.1): σ_max 50, 100
//! steps, `h = 0.01`.
//!
//! The blur is exactly scipy's `ndimage.gaussian_filter(mode="constant")` (truncate 4, zero
//! padding, taps `exp(−j²/2σ²)` normalised over `|j| ≤ ⌊4σ + ½⌋`), so the results match PAIR's.
//! It is built on the device as `B_H(σ) · x · B_W(σ)`, with `B(σ)` the blur's (symmetric) band
//! matrix made on the host in f64, so rows of different σ batch together in one pass. The
//! difference quotient is `(ΔB_H · x · B_W(σ+h) + B_H(σ) · x · ΔB_W) / h` with `ΔB = B(σ+h) −
//! B(σ)` taken in f64, which avoids f32's cancellation in `L(x, σ + h) − L(x, σ)`.
//!
//! PAIR's `batch_size > 1` multiplies every row of a batch by the batch's last `Δσ` (blur_ig.py,
//! `step_vector_diff[i]`), wrong with `sqrt`; ember weighs every row by its own step.
//!
//! The path ends at the image and starts at `L(x, σ_max)`, so the attributions sum to about
//! `F_c(x) − F_c(L(x, σ_max))`: the report gives the latter as the baseline score and the gap
//! as the delta. Cost: `steps` gradient rows per sample (on one kernel plan, in blocks), and
//! `2 N` forward rows.

use std::ops::Range;

use burn::config::Config;
use burn::tensor::{Device, Int, Tensor, TensorData};
use ember_core::kernel::{Block, Plan, Run, Slots};
use ember_core::{
    Attribution, Attributions, Error, GradientKernel, KernelSettings, Model, Report, Result,
    RowTargets, Target,
};

use crate::path::row_sums;
use crate::registry::{Base, Entry, Family, MethodInfo};

/// Blur IG's entry in the registry.
pub static INFO: Entry<Base> = Entry {
    info: MethodInfo {
        name: "blur-ig",
        aliases: &["blurig", "blur-integrated-gradients"],
        summary: "Blur IG: integrated gradients along the path of Gaussian blurs from σ_max to \
                  the image (no baseline); PAIR saliency's BlurIG",
        captum: None,
        signed: true,
        family: Family::Path,
        cost: "steps (default 100)",
        rows_per_sample: |s, _| s.path_steps.unwrap_or(DEFAULT_STEPS),
    },
    build: |s| Ok(Base::BlurIg(s.blur_ig().init()?)),
};

/// PAIR's default number of steps.
pub const DEFAULT_STEPS: usize = 100;

/// scipy's `gaussian_filter` truncation, in standard deviations.
const TRUNCATE: f64 = 4.0;

/// Hyper-parameters of [`BlurIg`]. PAIR's defaults: σ_max 50, 100 steps, `grad_step` 0.01,
/// linear spacing.
#[derive(Config, Debug)]
pub struct BlurIgConfig {
    /// The largest blur, σ_max, in pixels.
    #[config(default = 50.0)]
    pub max_sigma: f64,
    /// Steps along the path, `T`.
    #[config(default = 100)]
    pub steps: usize,
    /// The step `h` of the blur's finite difference in σ.
    #[config(default = 0.01)]
    pub grad_step: f64,
    /// Space the σ's as `√(i σ_max / T)` instead of `i σ_max / T`.
    #[config(default = false)]
    pub sqrt: bool,
    /// How the kernel runs: rows per pass, memory budget, the model check.
    #[config(default = "KernelSettings::new()")]
    pub kernel: KernelSettings,
}

ember_core::kernel_shorthands!(BlurIgConfig);

impl BlurIgConfig {
    /// Checks the configuration and builds the method.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for 0 steps, a `max_sigma` or `grad_step` that is not a
    /// positive finite number, or `max_rows` or `memory_budget` of `Some(0)`.
    pub fn init(&self) -> Result<BlurIg> {
        let positive = |name: &'static str, value: f64| {
            if value.is_finite() && value > 0.0 {
                Ok(())
            } else {
                Err(Error::InvalidConfig {
                    name,
                    value: value.to_string(),
                    expected: "a finite number > 0",
                })
            }
        };
        positive("max_sigma", self.max_sigma)?;
        positive("grad_step", self.grad_step)?;
        if self.steps == 0 {
            return Err(Error::InvalidConfig {
                name: "steps",
                value: "0".into(),
                expected: "at least 1 step",
            });
        }
        let t = self.steps as f64;
        let sigmas: Vec<f64> = (0..=self.steps)
            .map(|i| {
                let linear = i as f64 * self.max_sigma / t;
                if self.sqrt { linear.sqrt() } else { linear }
            })
            .collect();
        Ok(BlurIg {
            sigmas,
            grad_step: self.grad_step,
            kernel: self.kernel.kernel()?,
        })
    }
}

/// Blur IG (Xu et al. 2020). Build it with [`BlurIgConfig`].
#[derive(Debug, Clone)]
pub struct BlurIg {
    /// `σ_0 = 0, …, σ_T = σ_max`.
    sigmas: Vec<f64>,
    grad_step: f64,
    kernel: GradientKernel,
}

/// The band matrix `B(σ)` `[n, n]` of scipy's `gaussian_filter1d(mode="constant")`, row-major:
/// `(B v)_i = Σ_m w_{m−i} v_m` with zero padding. The identity for `σ = 0`.
pub fn gaussian_matrix(sigma: f64, n: usize) -> Vec<f64> {
    let mut matrix = vec![0.0; n * n];
    // scipy skips an axis whose σ is at most 1e-15.
    if sigma <= 1e-15 {
        for i in 0..n {
            matrix[i * n + i] = 1.0;
        }
        return matrix;
    }
    let radius = (TRUNCATE * sigma + 0.5) as usize;
    let taps: Vec<f64> = (0..=radius)
        .map(|j| (-0.5 * (j * j) as f64 / (sigma * sigma)).exp())
        .collect();
    let total = taps[0] + 2.0 * taps[1..].iter().sum::<f64>();
    for i in 0..n {
        let (low, high) = (i.saturating_sub(radius), (i + radius).min(n - 1));
        for m in low..=high {
            matrix[i * n + m] = taps[i.abs_diff(m)] / total;
        }
    }
    matrix
}

/// `L(x, σ)`: every image of `x` `[N, ..., H, W]` blurred with a Gaussian of standard
/// deviation `sigma` over its last two dimensions, on `x`'s device: scipy's
/// `ndimage.gaussian_filter(x, sigma=[0, …, 0, σ, σ], mode="constant")` (truncate 4, zero
/// padding), the blur of Blur IG's path.
///
/// # Errors
///
/// [`Error::InvalidConfig`] for an input of fewer than 3 dimensions, or a `sigma` that is
/// negative or not finite.
pub fn gaussian_blur<const D: usize>(x: Tensor<D>, sigma: f64) -> Result<Tensor<D>> {
    if !(sigma.is_finite() && sigma >= 0.0) {
        return Err(Error::InvalidConfig {
            name: "sigma",
            value: sigma.to_string(),
            expected: "a finite σ ≥ 0",
        });
    }
    let dims = x.dims();
    let images = Images::new(&x)?;
    let device = x.device();
    let batch = dims[0];
    let matrix = |size: usize| {
        Tensor::<1>::from_data(
            TensorData::new(gaussian_matrix(sigma, size), [size * size]),
            &device,
        )
        .reshape([1, size, size])
        .repeat_dim(0, batch)
    };
    let (bh, bw) = (matrix(images.height), matrix(images.width));
    Ok(blur(images.x, bh, bw).reshape(dims))
}

/// Blurs rows `[n, c, h, w]` with the per-row matrices `bh` `[n, h, h]` and `bw` `[n, w, w]`
/// (symmetric): `B_H · x · B_W` on every channel.
fn blur(x: Tensor<4>, bh: Tensor<3>, bw: Tensor<3>) -> Tensor<4> {
    let [n, c, h, w] = x.dims();
    let y = x.reshape([n, c * h, w]).matmul(bw);
    let y = y
        .reshape([n, c, h, w])
        .swap_dims(2, 3)
        .reshape([n, c * w, h])
        .matmul(bh);
    y.reshape([n, c, w, h]).swap_dims(2, 3)
}

/// The images of a call: `[batch, c, h, w]` with every dimension between the batch and the
/// last two flattened into channels.
struct Images {
    x: Tensor<4>,
    height: usize,
    width: usize,
}

impl Images {
    fn new<const D: usize>(input: &Tensor<D>) -> Result<Self> {
        let dims = input.dims();
        if D < 3 {
            return Err(Error::InvalidConfig {
                name: "input",
                value: format!("shape {dims:?}"),
                expected: "images [N, ..., H, W] (Blur IG blurs the last two dimensions)",
            });
        }
        let (height, width) = (dims[D - 2], dims[D - 1]);
        let channels = dims[1..D - 2].iter().product::<usize>();
        Ok(Self {
            x: input.clone().reshape([dims[0], channels, height, width]),
            height,
            width,
        })
    }
}

/// The plan: rows step-major, slot-minor; slot `t·batch + i` is sample `i` for `targets[..]`.
struct BlurPlan<'a, const D: usize> {
    images: &'a Images,
    shape: [usize; D],
    batch: usize,
    targets: Vec<usize>,
    sigmas: &'a [f64],
    grad_step: f64,
}

/// Per-row matrices `[n, size, size]` on `device`: `B(σ)`, `B(σ + h)` and `(B(σ + h) − B(σ)) ·
/// factor` for each row's `(σ, factor)`.
fn matrices(rows: &[(f64, f64)], h: f64, size: usize, device: &Device) -> [Tensor<3>; 3] {
    let n = rows.len();
    let (mut at, mut next, mut difference) = (Vec::new(), Vec::new(), Vec::new());
    for &(sigma, factor) in rows {
        let b = gaussian_matrix(sigma, size);
        let b_next = gaussian_matrix(sigma + h, size);
        difference.extend(b_next.iter().zip(&b).map(|(p, q)| (p - q) * factor));
        at.extend(b);
        next.extend(b_next);
    }
    [at, next, difference]
        .map(|values| Tensor::<3>::from_data(TensorData::new(values, [n, size, size]), device))
}

impl<const D: usize> Plan<D> for BlurPlan<'_, D> {
    fn len(&self) -> usize {
        self.targets.len() * (self.sigmas.len() - 1)
    }

    fn slots(&self) -> usize {
        self.targets.len()
    }

    fn sample(&self, slot: usize) -> usize {
        slot % self.batch
    }

    fn features(&self) -> usize {
        self.shape[1..].iter().product()
    }

    fn device(&self) -> Device {
        self.images.x.device()
    }

    fn block(&self, range: Range<usize>) -> Result<Block<D>> {
        let slots = self.targets.len();
        let n = range.len();
        let device = self.images.x.device();
        // Row r: step r / slots, slot r % slots; its scale carries −Δσ_i / h.
        let (mut samples, mut sigmas, mut targets) = (Vec::new(), Vec::new(), Vec::new());
        for r in range.clone() {
            let (step, slot) = (r / slots, r % slots);
            samples.push((slot % self.batch) as i64);
            let delta = self.sigmas[step + 1] - self.sigmas[step];
            sigmas.push((self.sigmas[step], -delta / self.grad_step));
            targets.push(self.targets[slot]);
        }
        let index = Tensor::<1, Int>::from_data(TensorData::new(samples, [n]), &device);
        let x = self.images.x.clone().select(0, index);
        let h = self.grad_step;
        let [bh, _, dh] = matrices(&sigmas, h, self.images.height, &device);
        let [bw, bw_next, dw] = matrices(&sigmas, h, self.images.width, &device);
        let rows = blur(x.clone(), bh.clone(), bw);
        // L(x, σ + h) − L(x, σ) = ΔB_H x B_W(σ + h) + B_H x ΔB_W, times −Δσ / h (the factor
        // is in both ΔB's).
        let scale = blur(x.clone(), dh, bw_next) + blur(x, bh, dw);
        let mut runs = Vec::new();
        let mut r = range.start;
        while r < range.end {
            let slot = r % slots;
            let len = (slots - slot).min(range.end - r);
            runs.push(Run::once(slot, len));
            r += len;
        }
        let mut shape = self.shape;
        shape[0] = n;
        Ok(Block::new(
            rows.reshape(shape),
            Slots::Runs(runs),
            RowTargets::Indices(targets),
        )
        .with_scale(scale.reshape(shape)))
    }
}

impl<const D: usize> Attribution<D> for BlurIg {
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
        let images = Images::new(&input)?;

        let (targets, scores) = self
            .kernel
            .evaluate(model, input.clone(), &target.rows(batch)?)?;
        // F(L(x, σ_max)): the path's start.
        let blurred = gaussian_blur(input.clone(), self.sigmas[self.sigmas.len() - 1])?;
        let (_, end_scores) =
            self.kernel
                .evaluate(model, blurred, &RowTargets::Indices(targets.clone()))?;

        let plan = BlurPlan {
            images: &images,
            shape: input.dims(),
            batch,
            targets: targets.clone(),
            sigmas: &self.sigmas,
            grad_step: self.grad_step,
        };
        let acc = self.kernel.accumulate(model, &plan, None)?;
        let delta = row_sums(acc.sum.clone())?
            .iter()
            .zip(scores.iter().zip(&end_scores))
            .map(|(sum, (fx, fb))| sum - (fx - fb))
            .collect();
        let slots = targets.len();
        let report = Report::new(INFO.info.name, targets, scores, acc.stats)
            .with_targets_per_sample(per_sample)
            .with_path(end_scores, delta)
            .with_steps(vec![self.sigmas.len() - 1; slots], None)
            .with_extra_evaluations(2 * batch);
        Ok(Attributions {
            values: acc.sum,
            report,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_blur_matrix_has_scipys_taps_and_zero_padding() {
        // σ = 1: radius 4, taps exp(−j²/2) normalised over −4..=4.
        let m = gaussian_matrix(1.0, 12);
        let total: f64 = (-4i32..=4).map(|j| (-0.5 * (j * j) as f64).exp()).sum();
        assert!((m[6 * 12 + 6] - 1.0 / total).abs() < 1e-15);
        assert!((m[6 * 12 + 10] - (-8.0f64).exp() / total).abs() < 1e-15);
        assert_eq!(m[6 * 12 + 11], 0.0);
        // The first row loses the taps that fall off the edge (no renormalisation).
        let first: f64 = m[..12].iter().sum();
        assert!(first < 1.0 && first > 0.5);
        // Radius ⌊4σ + ½⌋ = 0 below σ = 0.125: the identity.
        assert_eq!(gaussian_matrix(0.01, 3), gaussian_matrix(0.0, 3));
    }
}
