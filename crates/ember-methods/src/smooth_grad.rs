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
use burn::tensor::{FloatDType, Tensor, TensorData};
use ember_core::attribution::NoiseReport;
use ember_core::rng::SplitMix64;
use ember_core::validate::read_f64;
use ember_core::{
    Attribution, Attributions, Error, GradientKernel, KernelStats, LayerAttribution, Model,
    Renumbered, Report, Result, SplitModel, SplitRenumbered, Target, Whole,
};
use serde::{Deserialize, Serialize};

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

impl SmoothKind {
    /// The name of the method with this statistic, as in reports: `smoothgrad`,
    /// `smoothgrad-squared` or `vargrad`.
    pub fn method_name(self) -> &'static str {
        match self {
            SmoothKind::Mean => "smoothgrad",
            SmoothKind::MeanOfSquares => "smoothgrad-squared",
            SmoothKind::Variance => "vargrad",
        }
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
    /// About how many noisy rows (copies × batch) go into one call of the inner method, which
    /// still runs its own passes of at most its own `max_rows`. `None` uses
    /// `PASSES_PER_CALL` (8) × the device's rows per pass for the input's rows
    /// ([`ember_core::kernel::default_rows`], or `memory_budget`): 1024 rows of a small input
    /// on CPU backends, so per-call checks are amortised over several passes. It bounds the
    /// memory of the noisy copies and of the inner method's accumulators.
    #[config(default = "None")]
    pub max_rows: Option<usize>,
    /// A memory budget in bytes for the input rows of one pass, which sets the default
    /// `max_rows` (8 passes' worth) and the forward pass at the clean input; the inner method
    /// has its own.
    #[config(default = "None")]
    pub memory_budget: Option<usize>,
    /// Check once per call, before the first pass, that the model's rows are independent and
    /// deterministic (a Burn module in training mode is not); the inner calls do not repeat
    /// it. Turn off only for a model known to be in evaluation mode.
    #[config(default = true)]
    pub check_model: bool,
}

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
        GradientKernel::new().with_max_rows_opt(self.max_rows)?;
        Ok(SmoothGrad {
            inner,
            kind: self.kind,
            samples: self.samples,
            noise_level: self.noise_level,
            noise_scale: self.noise_scale,
            seed: self.seed,
            max_rows: self.max_rows,
            kernel: GradientKernel::with_settings(None, self.memory_budget, self.check_model)?,
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

/// The seeded noise stream: copy after copy, sample after sample, element after element.
struct Noise {
    rng: SplitMix64,
    input: Vec<f64>,
    sigmas: Vec<f64>,
}

/// The largest block of noisy copies (bytes on the host) drawn on a second thread while the
/// previous block runs: above it, the host memory of one more block outweighs hiding the
/// draw, which a model that large hides anyway.
const OVERLAP_BYTES: usize = 32 << 20;

impl Noise {
    fn new(seed: u64, input: Vec<f64>, sigmas: Vec<f64>) -> Self {
        Self {
            rng: SplitMix64::new(seed),
            input,
            sigmas,
        }
    }

    /// The next `copies` noisy copies of the batch, `[copies · batch, ...]` noise-major, on
    /// `like`'s device (for [`SmoothGrad::noisy_inputs`]).
    fn next_copies<const D: usize>(&mut self, copies: usize, like: &Tensor<D>) -> Tensor<D> {
        let device = like.device();
        let f64_device = device.settings().float_dtype == FloatDType::F64;
        let mut shape = like.dims();
        shape[0] = copies * self.sigmas.len();
        Tensor::from_data(self.next_data(copies, f64_device, &shape), &device)
    }

    /// The next `copies` noisy copies of the batch as flat host data, drawn in f64 and stored
    /// in the device's precision (f32 unless the device is f64), so an f32 device needs no
    /// conversion pass.
    fn next_data(&mut self, copies: usize, f64_device: bool, shape: &[usize]) -> TensorData {
        let (input, sigmas, rng) = (&self.input, &self.sigmas, &mut self.rng);
        let per_sample = input.len() / sigmas.len();
        let count = copies * input.len();
        let noisy = (0..copies).flat_map(|_| {
            sigmas.iter().enumerate().flat_map(move |(sample, &sigma)| {
                let x = &input[sample * per_sample..(sample + 1) * per_sample];
                x.iter().map(move |&v| (v, sigma))
            })
        });
        if f64_device {
            let mut values = Vec::with_capacity(count);
            values.extend(noisy.map(|(v, sigma)| v + sigma * rng.next_normal()));
            TensorData::new(values, shape.to_vec())
        } else {
            let mut values = Vec::with_capacity(count);
            values.extend(noisy.map(|(v, sigma)| (v + sigma * rng.next_normal()) as f32));
            TensorData::new(values, shape.to_vec())
        }
    }

    /// Draws the blocks of `chunks` copies in order and hands each to `visit(copies, data)`.
    /// With more than one block, each next block is drawn on a second thread while `visit`
    /// runs the previous one (the same stream, so the same noise either way), unless a block
    /// is larger than [`OVERLAP_BYTES`]. An error of `visit` stops the stream.
    /// `row_dims` is one input row's shape.
    fn stream(
        mut self,
        chunks: &[usize],
        f64_device: bool,
        row_dims: &[usize],
        mut visit: impl FnMut(usize, TensorData) -> Result<()>,
    ) -> Result<()> {
        let largest = chunks.iter().copied().max().unwrap_or(0);
        let bytes = largest * self.input.len() * if f64_device { 8 } else { 4 };
        let batch = self.sigmas.len();
        let shape = move |copies: usize| -> Vec<usize> {
            std::iter::once(copies * batch)
                .chain(row_dims.iter().copied())
                .collect()
        };
        if chunks.len() < 2 || bytes > OVERLAP_BYTES {
            for &copies in chunks {
                let data = self.next_data(copies, f64_device, &shape(copies));
                visit(copies, data)?;
            }
            return Ok(());
        }
        std::thread::scope(|scope| {
            // A rendezvous channel: the drawing thread holds at most one block ahead.
            let (sender, receiver) = std::sync::mpsc::sync_channel(0);
            scope.spawn(move || {
                for &copies in chunks {
                    let data = self.next_data(copies, f64_device, &shape(copies));
                    if sender.send(data).is_err() {
                        return; // `visit` failed and the receiver is gone.
                    }
                }
            });
            for &copies in chunks {
                let data = receiver
                    .recv()
                    .map_err(|_| Error::Backend("the noise thread stopped early".into()))?;
                visit(copies, data)?;
            }
            Ok(())
        })
    }
}

/// The running mean and sum of squared deviations `M2` of the inner attributions over the
/// copies seen so far, `[k · batch, ...]`.
struct Moments<const D: usize> {
    count: usize,
    mean: Tensor<D>,
    m2: Tensor<D>,
}

impl<const D: usize> Moments<D> {
    /// The moments of one call's values, `[k · copies · batch, ...]` (target-major, then
    /// noise-major).
    fn of(values: Tensor<D>, k: usize, copies: usize, batch: usize) -> Self {
        let mut shape = values.dims();
        let features = shape[1..].iter().product::<usize>();
        let grouped: Tensor<3> = values.reshape([k, copies, batch * features]);
        let mean = grouped.clone().mean_dim(1);
        let deviation = grouped - mean.clone();
        let m2 = (deviation.clone() * deviation).sum_dim(1);
        shape[0] = k * batch;
        Self {
            count: copies,
            mean: mean.reshape(shape),
            m2: m2.reshape(shape),
        }
    }

    /// Chan, Golub and LeVeque's pairwise update of the mean and `M2`.
    fn merge(self, other: Self) -> Self {
        let (n_a, n_b) = (self.count as f64, other.count as f64);
        let n = n_a + n_b;
        let delta = other.mean - self.mean.clone();
        Self {
            count: self.count + other.count,
            mean: self.mean + delta.clone() * (n_b / n),
            m2: self.m2 + other.m2 + delta.clone() * delta * (n_a * n_b / n),
        }
    }
}
