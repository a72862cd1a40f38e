//! SmoothGrad, SmoothGrad² and VarGrad: any attribution method averaged over noisy copies of
//! the input (a noise tunnel).
//!
//! - SmoothGrad: Smilkov, Thorat, Kim, Viégas and Wattenberg, *SmoothGrad: removing noise by
//!   adding noise*, 2017. <https://arxiv.org/abs/1706.03825>
//! - SmoothGrad² (the mean of squares): Hooker, Erhan, Kindermans and Kim, *A Benchmark for
//!   Interpretability Methods in Deep Neural Networks*, 2019. <https://arxiv.org/abs/1806.10758>
//! - VarGrad (the variance): Adebayo, Gilmer, Goodfellow and Kim, *Local Explanation Methods
//!   for Deep Neural Networks Lack Sensitivity to Parameter Values*, 2018.
//!   <https://arxiv.org/abs/1810.03292>
#![cfg_attr(
    doc,
    doc = r#"$$\hat\phi(x) = \frac{1}{S}\sum_{s=1}^{S} \phi(x + \varepsilon_s), \qquad \hat\phi^{(2)}(x) = \frac{1}{S}\sum_{s} \phi(x + \varepsilon_s)^2, \qquad \widehat{\mathrm{Var}}(x) = \hat\phi^{(2)}(x) - \hat\phi(x)^2, \qquad \varepsilon_s \sim \mathcal N(0, \sigma^2 I)$$"#
)]
//!
//! Plain text: `mean_s phi(x + e_s)`, `mean_s phi(x + e_s)²` and their difference (the
//! population variance over the `S` samples), with `e_s ~ N(0, σ²)` element-wise, where `phi`
//! is the wrapped (inner) method.
//!
//! The noise scale `σ` is relative by default: `σ = level · (max(x) − min(x))` for each input
//! sample, as in the paper, PAIR's saliency library and Zennit (level 0.15). With
//! [`NoiseScale::Absolute`], `σ = level` (Captum's `stdevs`).
//!
//! The noise is drawn on the host from a seeded generator, in the order (noise sample, input
//! sample, element), so a seed gives the same noise on every device and for every
//! `max_rows`. The noisy copies are stacked into batches of about `max_rows` rows (by default
//! 8 × the device's rows per pass); while one batch runs, the next is drawn on a second
//! thread (for batches up to 32 MiB), so the draw hides behind the model where a core is
//! free. Each batch is ONE call of the inner method: its plan (one point per copy for
//! saliency, the copies × steps path points for Integrated Gradients) streams through
//! ember's kernel in blocks, so memory grows with `max_rows`, not with samples × steps. The
//! mean, mean of squares and variance are folded batch by batch (Chan et al.'s pairwise
//! update, stable where `E[φ²] − E[φ]²` would cancel).

use burn::config::Config;
use burn::tensor::{FloatDType, Tensor};
use ember_core::KernelSettings;
use ember_core::attribution::NoiseReport;
use ember_core::validate::read_f64;
use ember_core::{
    Attribution, Attributions, Error, GradientKernel, KernelStats, LayerAttribution, Model,
    Renumbered, Report, Result, SplitModel, SplitRenumbered, Target, Whole,
};
use serde::{Deserialize, Serialize};

use crate::sampling::{Moments, Noise};

use crate::registry::{Family, MethodInfo};

/// The default noisy rows per call of the inner method, in the device's rows per pass: each
/// call checks its input and its sums once (host reads), so larger calls amortise that, while
/// the kernel keeps each pass at the device's size.
const PASSES_PER_CALL: usize = 8;

/// Which statistic of the inner attributions over the noise [`SmoothGrad`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum SmoothKind {
    /// SmoothGrad: the mean `E[φ(x + ε)]`.
    #[default]
    Mean,
    /// SmoothGrad²: the mean of squares `E[φ(x + ε)²]`.
    MeanOfSquares,
    /// VarGrad: the (population) variance `E[φ²] − E[φ]²`.
    Variance,
}

/// SmoothGrad's entry in the registry (over saliency unless `KIND:INNER` says otherwise).
pub static SMOOTHGRAD: MethodInfo = MethodInfo {
    name: "smoothgrad",
    aliases: &["smooth-grad"],
    summary: "SmoothGrad: the mean of a method's maps over noisy copies of the input",
    captum: Some("NoiseTunnel(nt_type=\"smoothgrad\")"),
    signed: true,
    family: Family::NoiseTunnel,
    cost: "samples × the inner method's",
    rows_per_sample: |s, _| s.samples,
};

/// SmoothGrad²'s entry in the registry.
pub static SMOOTHGRAD_SQUARED: MethodInfo = MethodInfo {
    name: "smoothgrad-squared",
    aliases: &["smoothgrad-sq"],
    summary: "SmoothGrad²: the mean of the squared maps over noisy copies of the input",
    captum: Some("NoiseTunnel(nt_type=\"smoothgrad_sq\")"),
    signed: false,
    family: Family::NoiseTunnel,
    cost: "samples × the inner method's",
    rows_per_sample: |s, _| s.samples,
};

/// VarGrad's entry in the registry.
pub static VARGRAD: MethodInfo = MethodInfo {
    name: "vargrad",
    aliases: &["var-grad"],
    summary: "VarGrad: the variance of the maps over noisy copies of the input",
    captum: Some("NoiseTunnel(nt_type=\"vargrad\")"),
    signed: false,
    family: Family::NoiseTunnel,
    cost: "samples × the inner method's",
    rows_per_sample: |s, _| s.samples,
};

impl SmoothKind {
    /// Every statistic, in the order reports list them.
    pub const ALL: [SmoothKind; 3] = [
        SmoothKind::Mean,
        SmoothKind::MeanOfSquares,
        SmoothKind::Variance,
    ];

    /// The registry's entry of the method with this statistic.
    pub fn info(self) -> &'static MethodInfo {
        match self {
            SmoothKind::Mean => &SMOOTHGRAD,
            SmoothKind::MeanOfSquares => &SMOOTHGRAD_SQUARED,
            SmoothKind::Variance => &VARGRAD,
        }
    }

    /// The name of the method with this statistic, as in reports: `smoothgrad`,
    /// `smoothgrad-squared` or `vargrad`.
    pub fn method_name(self) -> &'static str {
        self.info().name
    }
}

/// How [`SmoothGradConfig::noise_level`] sets the noise's standard deviation `σ`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum NoiseScale {
    /// `σ = level · (max − min)` of each input sample (the paper's convention).
    #[default]
    Relative,
    /// `σ = level` for every sample (Captum's `stdevs`).
    Absolute,
}

/// Hyper-parameters of [`SmoothGrad`].
///
/// The defaults are the paper's: 50 samples, noise level 0.15 relative to each input's range.
#[derive(Config, Debug)]
pub struct SmoothGradConfig {
    /// The statistic returned: SmoothGrad (mean), SmoothGrad² or VarGrad.
    #[config(default = "SmoothKind::Mean")]
    pub kind: SmoothKind,
    /// The number of noisy copies of each input, `S`.
    #[config(default = 50)]
    pub samples: usize,
    /// The noise level: a fraction of each input's range, or `σ` itself (see `noise_scale`).
    #[config(default = 0.15)]
    pub noise_level: f64,
    /// Whether `noise_level` is relative to each input's range or absolute.
    #[config(default = "NoiseScale::Relative")]
    pub noise_scale: NoiseScale,
    /// The seed of the noise: the same seed on the same device gives the same result.
    #[config(default = 0)]
    pub seed: u64,
    /// How the kernel runs: rows per pass, memory budget, the model check.
    ///
    /// Here `kernel.max_rows` is about how many noisy rows (copies × batch) go into one call
    /// of the inner method, which still runs its own passes of at most its own `max_rows`.
    /// `None` uses `PASSES_PER_CALL` (8) × the device's rows per pass for the input's rows
    /// ([`ember_core::kernel::default_rows`], or `kernel.memory_budget`): 1024 rows of a small
    /// input on CPU backends, so per-call checks are amortised over several passes. It bounds
    /// the memory of the noisy copies and of the inner method's accumulators.
    /// `kernel.memory_budget` sets that default and the forward pass at the clean input (the
    /// inner method has its own); `kernel.check_model` checks the model once per call (the
    /// inner calls do not repeat it).
    #[config(default = "KernelSettings::new()")]
    pub kernel: KernelSettings,
}

ember_core::kernel_shorthands!(SmoothGradConfig);

impl SmoothGradConfig {
    /// Checks the configuration and wraps `inner`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for 0 samples, a negative or non-finite noise level, or
    /// `max_rows` or `memory_budget` of `Some(0)`.
    pub fn init<A>(&self, inner: A) -> Result<SmoothGrad<A>> {
        if self.samples == 0 {
            return Err(Error::InvalidConfig {
                name: "samples",
                value: "0".into(),
                expected: "at least 1 noisy sample",
            });
        }
        if !(self.noise_level.is_finite() && self.noise_level >= 0.0) {
            return Err(Error::InvalidConfig {
                name: "noise_level",
                value: self.noise_level.to_string(),
                expected: "a finite number ≥ 0",
            });
        }
        // Reuse the kernel's check of `max_rows`.
        GradientKernel::new().with_max_rows_opt(self.kernel.max_rows)?;
        Ok(SmoothGrad {
            inner,
            kind: self.kind,
            samples: self.samples,
            noise_level: self.noise_level,
            noise_scale: self.noise_scale,
            seed: self.seed,
            max_rows: self.kernel.max_rows,
            kernel: GradientKernel::with_settings(
                None,
                self.kernel.memory_budget,
                self.kernel.check_model,
            )?,
        })
    }
}

/// SmoothGrad (Smilkov et al. 2017), SmoothGrad² and VarGrad (Adebayo et al. 2018) over any
/// inner attribution method. Build it with [`SmoothGradConfig::init`].
///
/// # Example
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// use ember_core::Attribution;
/// use ember_methods::{SaliencyConfig, SmoothGradConfig, SmoothKind};
///
/// let device = Device::flex();
/// // F(x) = x1² + x2²: the gradient 2x is noisy, its mean over the noise is 2x.
/// let model = |x: Tensor<2>| (x.clone() * x).sum_dim(1);
/// let x = Tensor::<2>::from_floats([[1.0, -1.0]], &device);
/// let smooth = SmoothGradConfig::new()
///     .with_samples(2000)
///     .with_kind(SmoothKind::Mean)
///     .init(SaliencyConfig::new().init()?)?;
/// let out = smooth.attribute(&model, x, 0)?;
/// let values = out.values.to_data().try_to_vec::<f32>().unwrap();
/// assert!((values[0] - 2.0).abs() < 0.1 && (values[1] + 2.0).abs() < 0.1);
/// # Ok::<(), ember_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct SmoothGrad<A> {
    inner: A,
    kind: SmoothKind,
    samples: usize,
    noise_level: f64,
    noise_scale: NoiseScale,
    seed: u64,
    max_rows: Option<usize>,
    /// The clean input's forward pass, the checks and the default rows per call.
    kernel: GradientKernel,
}

/// Every statistic of a [`SmoothGrad`] run (see [`SmoothGrad::smooth`]).
#[derive(Debug, Clone)]
pub struct Smoothed<const D: usize> {
    /// The statistic of the configured [`SmoothKind`], with the report.
    pub attributions: Attributions<D>,
    /// The mean of the inner attributions over the noise (SmoothGrad).
    pub mean: Tensor<D>,
    /// The mean of their squares (SmoothGrad²).
    pub mean_of_squares: Tensor<D>,
    /// Their population variance over the samples (VarGrad); divide by the samples for the
    /// variance of the mean's estimate.
    pub variance: Tensor<D>,
}

impl<A> SmoothGrad<A> {
    /// The wrapped method.
    pub fn inner(&self) -> &A {
        &self.inner
    }

    /// The noise's standard deviation for each sample of `input`: `level · (max − min)` of the
    /// sample (relative), or `level` (absolute).
    ///
    /// # Errors
    ///
    /// [`Error::Backend`] if the input cannot be read.
    pub fn sigmas<const D: usize>(&self, input: &Tensor<D>) -> Result<Vec<f64>> {
        let batch = input.dims()[0];
        match self.noise_scale {
            NoiseScale::Absolute => Ok(vec![self.noise_level; batch]),
            NoiseScale::Relative => {
                let flat: Tensor<2> = input.clone().without_autodiff().reshape([batch as i64, -1]);
                let max = read_f64(flat.clone().max_dim(1))?;
                let min = read_f64(flat.min_dim(1))?;
                Ok(max
                    .iter()
                    .zip(&min)
                    .map(|(hi, lo)| self.noise_level * (hi - lo))
                    .collect())
            }
        }
    }

    /// The noisy copies of `input` that the method explains: `[samples · batch, ...]`,
    /// noise-major (copy `s` of sample `b` is row `s · batch + b`). For reproducing a run;
    /// [`attribute`](Attribution::attribute) builds them a batch at a time instead.
    ///
    /// # Errors
    ///
    /// [`Error::Backend`] if the input cannot be read.
    pub fn noisy_inputs<const D: usize>(&self, input: &Tensor<D>) -> Result<Tensor<D>> {
        let sigmas = self.sigmas(input)?;
        let mut noise = Noise::new(self.seed, read_f64(input.clone())?, sigmas);
        Ok(noise.next_copies(self.samples, input))
    }

    /// Runs the inner method over the noise and returns every statistic (the mean, the mean
    /// of squares and the variance of the inner attributions), e.g. to judge the noise of the
    /// estimate.
    ///
    /// # Arguments
    ///
    /// As [`Attribution::attribute`]: `Predicted` is resolved at the clean input, and every
    /// noisy copy is explained for its sample's target(s).
    ///
    /// # Shapes
    ///
    /// Every tensor has the input's shape (`[k · batch, ...]` with [`Target::Classes`] of `k`
    /// classes, target-major).
    ///
    /// # Errors
    ///
    /// The input's and the target's errors (as every method), and any error of the inner
    /// method on the noisy copies.
    pub fn smooth<const D: usize, M: Model<D> + ?Sized>(
        &self,
        model: &M,
        input: Tensor<D>,
        target: impl Into<Target>,
    ) -> Result<Smoothed<D>>
    where
        A: Attribution<D>,
    {
        self.smooth_with(model, input, target.into(), |map, noisy, target| {
            // The model was checked by `smooth_with`.
            let renumbered = Renumbered::new(model, map, true);
            self.inner.attribute(&renumbered, noisy, target)
        })
    }

    /// As [`smooth`](Self::smooth), for a layer method over a split model: the statistics of
    /// the layer maps of noisy copies of the input (the noise is added to the input).
    ///
    /// # Errors
    ///
    /// As [`smooth`](Self::smooth).
    pub fn smooth_layer<const D: usize, const H: usize, S: SplitModel<D, H> + ?Sized>(
        &self,
        model: &S,
        input: Tensor<D>,
        target: impl Into<Target>,
    ) -> Result<Smoothed<H>>
    where
        A: LayerAttribution<D, H>,
    {
        let whole = Whole::<S, H>::new(model);
        self.smooth_with(&whole, input, target.into(), |map, noisy, target| {
            let renumbered = SplitRenumbered::new(model, map, true);
            self.inner.attribute_layer(&renumbered, noisy, target)
        })
    }

    /// The noise tunnel around `call(row → sample map, noisy copies, their targets)`, which
    /// runs the inner method on a block of copies; `model` is the whole model, checked and
    /// evaluated here.
    fn smooth_with<const D: usize, const O: usize, M: Model<D> + ?Sized>(
        &self,
        model: &M,
        input: Tensor<D>,
        target: Target,
        mut call: impl FnMut(Vec<usize>, Tensor<D>, Target) -> Result<Attributions<O>>,
    ) -> Result<Smoothed<O>> {
        let batch = self.kernel.check_call(model, &input)?;
        let input = input.without_autodiff();
        let per_sample = target.per_sample();
        // The targets at the clean input (which resolves `Predicted`) and `F(x)`.
        let (targets, scores) = self
            .kernel
            .evaluate(model, input.clone(), &target.rows(batch)?)?;
        let features = input.dims()[1..].iter().product();
        let rows_per_call = self.max_rows.unwrap_or_else(|| {
            PASSES_PER_CALL * self.kernel.rows_per_pass(&input.device(), features)
        });
        let copies_per_call = (rows_per_call / batch).max(1);

        let sigmas = self.sigmas(&input)?;
        let noise = Noise::new(self.seed, read_f64(input.clone())?, sigmas.clone());
        let mut chunks = Vec::new();
        let mut drawn = 0;
        while drawn < self.samples {
            let copies = copies_per_call.min(self.samples - drawn);
            chunks.push(copies);
            drawn += copies;
        }
        let mut moments: Option<Moments<O>> = None;
        let mut stats = KernelStats::default();
        let mut inner_name = String::new();
        let device = input.device();
        let row_dims = input.dims()[1..].to_vec();
        let f64_device = device.settings().float_dtype == FloatDType::F64;
        noise.stream(&chunks, f64_device, &row_dims, |copies, data| {
            let noisy = Tensor::<D>::from_data(data, &device);
            let inner_target = match &target {
                Target::Classes(classes) => Target::Classes(classes.clone()),
                _ => Target::PerSample(targets.repeat(copies)),
            };
            // Copy `c` of sample `b` is row `c · batch + b` of the inner call: its auxiliary
            // inputs are sample `b`'s, and the model was checked above.
            let map = (0..copies * batch).map(|r| r % batch).collect();
            let out = call(map, noisy, inner_target)?;
            stats.merge(KernelStats {
                rows: out.report.model_evaluations,
                passes: out.report.passes,
                max_rows_per_pass: out.report.rows_per_pass,
            });
            inner_name = out.report.method;
            // [k · copies · batch, ...] target-major, noise-major within a target.
            let group = Moments::of(out.values, per_sample, copies, batch);
            moments = Some(match moments.take() {
                Some(acc) => acc.merge(group),
                None => group,
            });
            Ok(())
        })?;
        let moments = moments.expect("samples ≥ 1 made at least one call");
        let variance = moments.m2 / self.samples as f64;
        let mean_of_squares = variance.clone() + moments.mean.clone() * moments.mean.clone();
        let values = match self.kind {
            SmoothKind::Mean => moments.mean.clone(),
            SmoothKind::MeanOfSquares => mean_of_squares.clone(),
            SmoothKind::Variance => variance.clone(),
        };
        let mut report = Report::new(self.kind.method_name(), targets, scores, stats)
            .with_targets_per_sample(per_sample)
            // The inner calls' rows, and the forward pass at the clean input.
            .with_extra_evaluations(batch);
        report.noise = Some(NoiseReport::new(
            inner_name,
            self.samples,
            sigmas,
            self.seed,
        ));
        Ok(Smoothed {
            attributions: Attributions { values, report },
            mean: moments.mean,
            mean_of_squares,
            variance,
        })
    }
}

impl<const D: usize, const H: usize, A: LayerAttribution<D, H>> LayerAttribution<D, H>
    for SmoothGrad<A>
{
    fn attribute_layer<S: SplitModel<D, H> + ?Sized>(
        &self,
        model: &S,
        input: Tensor<D>,
        target: impl Into<Target>,
    ) -> Result<Attributions<H>> {
        Ok(self.smooth_layer(model, input, target)?.attributions)
    }
}

impl<const D: usize, A: Attribution<D>> Attribution<D> for SmoothGrad<A> {
    fn attribute<M: Model<D> + ?Sized>(
        &self,
        model: &M,
        input: Tensor<D>,
        target: impl Into<Target>,
    ) -> Result<Attributions<D>> {
        Ok(self.smooth(model, input, target)?.attributions)
    }
}
