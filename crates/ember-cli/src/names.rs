//! The method flags `attribute`, `bench` and `compare` share ([`MethodArgs`], flattened into
//! each), the command line's names for method options (`--smooth-kind`, `--noise-scale`,
//! `--quadrature`, `--target`, `--inner`), `--method`'s parser, and how `--smooth-kind` and
//! `--inner` refine a method name of the registry.

use std::str::FromStr;

use clap::{Args, ValueEnum};
use ember::prelude::*;
use ember::{BaseMethod, MethodSettings, MethodSpec};

/// Integration steps unless a command or model says otherwise.
pub const DEFAULT_STEPS: usize = 50;
/// Noisy copies unless a command or model says otherwise.
pub const DEFAULT_SAMPLES: usize = 50;
/// SmoothGrad's noise level unless `--noise` says otherwise.
pub const DEFAULT_NOISE: f64 = 0.15;

/// The settings of the methods, one set of flags for `attribute`, `bench` and `compare`.
#[derive(Args, Debug, Clone)]
pub struct MethodArgs {
    /// Integration steps (integrated gradients; default 50, in `compare` the model's: 64 for
    /// efficientnet-lite0, chosen from its measured deltas: docs/src/efficientnet.md), steps of
    /// the blur path (blur-ig; default 100) or of the guided path (guided-ig; default 200).
    #[arg(long)]
    pub steps: Option<usize>,
    /// Quadrature rule (integrated gradients).
    #[arg(long, value_enum, default_value = "gauss-legendre")]
    pub quadrature: QuadratureName,
    /// Baseline (integrated gradients; what a removed group or window becomes for the
    /// perturbation methods): `zeros`, a constant (`0.5`), `uniform:LOW,HIGH`
    /// (seeded by `--seed`), or, for `attribute`, `file` (a float tensor `baseline` in the
    /// inputs file, of the inputs' shape or `[1, ...]`).
    #[arg(long, default_value = "zeros")]
    pub baseline: String,
    /// Adaptive integrated gradients: double the steps of each sample on the nested trapezoid
    /// rule until |delta| ≤ tolerance · |F(x) − F(x′)| (`--steps` and `--quadrature` are then
    /// ignored); the steps each sample used are reported.
    #[arg(long)]
    pub tolerance: Option<f64>,
    /// Adaptive integrated gradients: the most steps per sample.
    #[arg(long, default_value_t = 1025)]
    pub max_steps: usize,
    /// Noisy copies of each input (smoothgrad, smoothgrad-squared, vargrad), random orders
    /// (shapley-value-sampling) or coalitions (kernel-shap, lime) per sample: what Captum's
    /// `n_samples` counts; default 50 (in `compare`, the model's: 16 for efficientnet-lite0).
    /// For gradient-shap and expected-gradients, the draws per sample (default 5 and 200).
    #[arg(long)]
    pub samples: Option<usize>,
    /// The baselines gradient-shap and expected-gradients draw from, and that
    /// integrated-gradients averages over (in place of `--baseline`): a safetensors file
    /// holding a float tensor `baselines` `[K, ...]` of one sample's shape.
    #[arg(long)]
    pub baselines: Option<std::path::PathBuf>,
    /// Blur IG: the largest blur σ_max, in pixels.
    #[arg(long, default_value_t = 50.0)]
    pub max_sigma: f64,
    /// Blur IG: the step in σ of the blur's finite difference.
    #[arg(long, default_value_t = 0.01)]
    pub grad_step: f64,
    /// Blur IG: space the σ's as √(i·σ_max/steps) (PAIR's `sqrt`).
    #[arg(long)]
    pub blur_sqrt: bool,
    /// Guided IG: the fraction of the features moved at a time.
    #[arg(long, default_value_t = 0.25)]
    pub fraction: f64,
    /// Guided IG: how far (in α, of [0, 1]) a feature may leave the straight path; 0 is
    /// left-Riemann integrated gradients.
    #[arg(long, default_value_t = 0.02)]
    pub max_dist: f64,
    /// Occlusion's window, one size per dimension after the batch (`1,3,3` on `[N, C, H, W]`);
    /// default `C,kh,kw` with `kh = max(2, ⌈H/15⌉)`, `kw = max(2, ⌈W/15⌉)` on images (each at
    /// most its dimension), one token on `[N, T, H]`, one element otherwise.
    #[arg(long, value_delimiter = ',')]
    pub window: Option<Vec<usize>>,
    /// Occlusion's strides, one per dimension after the batch; default 1 with `--window`, else
    /// `C,⌈kh/2⌉,⌈kw/2⌉` on images.
    #[arg(long, value_delimiter = ',')]
    pub strides: Option<Vec<usize>>,
    /// The perturbation methods' groups: a safetensors file holding an integer tensor
    /// `feature_mask` of shape `[1, ...]` or `[N, ...]` (broadcast over dimensions of 1; id −1
    /// is never perturbed); default: one group per element of a table, one per token of
    /// `[N, T, H]` embeddings, and on images a grid of at most 16 × 16 patches of
    /// `⌈H/16⌉ × ⌈W/16⌉` pixels, channels together.
    #[arg(long)]
    pub feature_mask: Option<std::path::PathBuf>,
    /// Noise level. smoothgrad: σ as a fraction of each input's range (`--noise-scale
    /// relative`, the default) or σ itself (`--noise-scale absolute`); default 0.15.
    /// gradient-shap and expected-gradients: Captum's `stdevs`, the ABSOLUTE σ of the Gaussian
    /// noise added to each draw's input; default 0 (none). A noise tunnel over gradient-shap
    /// takes it as its own.
    #[arg(long)]
    pub noise: Option<f64>,
    /// How `--noise` sets σ (smoothgrad): relative to each input's max − min, or absolute.
    #[arg(long, value_enum, default_value = "relative")]
    pub noise_scale: NoiseScaleName,
    /// The most rows per forward+backward pass (default: as many as fit the memory budget, at
    /// most 128 on CPU backends, 2048 on GPUs).
    #[arg(long)]
    pub max_rows: Option<usize>,
    /// The bytes of a pass's input rows (default: 16 MiB on CPU backends, 64 MiB on GPUs).
    #[arg(long)]
    pub memory_budget: Option<usize>,
}

impl MethodArgs {
    /// `--steps`, or `default`.
    pub fn steps_or(&self, default: usize) -> usize {
        self.steps.unwrap_or(default)
    }

    /// `--samples`, or `default`.
    pub fn samples_or(&self, default: usize) -> usize {
        self.samples.unwrap_or(default)
    }

    /// The library's settings of these flags, with `baseline` (parsed by the command, which
    /// knows whether there is an inputs file) and `seed`; `steps` and `samples` are the
    /// defaults where the flags are not given; `--feature-mask` is read here, so that every
    /// command that takes the flags honours it.
    ///
    /// # Errors
    ///
    /// A `--feature-mask` file that does not read.
    pub fn settings(
        &self,
        [steps, samples]: [usize; 2],
        baseline: Baseline,
        seed: u64,
    ) -> Result<MethodSettings, String> {
        Ok(MethodSettings::new()
            .with_steps(self.steps_or(steps))
            .with_quadrature(self.quadrature.into())
            .with_baseline(baseline)
            .with_tolerance(self.tolerance)
            .with_max_steps(self.max_steps)
            .with_samples(self.samples_or(samples))
            .with_draws(self.samples)
            .with_path_steps(self.steps)
            .with_noise(self.noise.unwrap_or(DEFAULT_NOISE))
            .with_draw_noise(self.noise.unwrap_or(0.0))
            .with_noise_scale(match self.noise_scale {
                NoiseScaleName::Relative => NoiseScale::Relative,
                NoiseScaleName::Absolute => NoiseScale::Absolute,
            })
            .with_seed(seed)
            .with_max_rows(self.max_rows)
            .with_memory_budget(self.memory_budget)
            .with_window(self.window.clone())
            .with_strides(self.strides.clone())
            .with_feature_mask(self.feature_mask()?)
            .with_baselines(self.baselines()?)
            .with_max_sigma(self.max_sigma)
            .with_grad_step(self.grad_step)
            .with_blur_sqrt(self.blur_sqrt)
            .with_fraction(self.fraction)
            .with_max_dist(self.max_dist))
    }

    /// `--baselines`, read.
    pub fn baselines(&self) -> Result<Option<ember::BaselineSet>, String> {
        self.baselines
            .as_deref()
            .map(crate::io::read_baselines)
            .transpose()
    }

    /// `--feature-mask`, read.
    pub fn feature_mask(&self) -> Result<Option<ember::FeatureMask>, String> {
        self.feature_mask
            .as_deref()
            .map(crate::io::read_mask)
            .transpose()
    }
}

/// The baselines the path methods that draw from a set use when `--baselines` is not given.
pub const DEFAULT_BASELINES: usize = 64;

/// `settings` with, where no `--baselines` were given and `model` has a compiled-in dataset,
/// [`DEFAULT_BASELINES`] samples of its training split (evenly spaced) as the set that
/// gradient-shap and expected-gradients draw from. Integrated Gradients is left with its
/// `--baseline`: it averages over a set only when `--baselines` names one.
pub fn with_default_baselines(
    settings: MethodSettings,
    specs: &[MethodSpec],
    model: ember_zoo::ZooModel,
) -> Result<MethodSettings, String> {
    let draws = specs.iter().any(|spec| {
        matches!(
            spec,
            MethodSpec::Base(BaseMethod::GradientShap | BaseMethod::ExpectedGradients)
                | MethodSpec::Smooth {
                    inner: BaseMethod::GradientShap | BaseMethod::ExpectedGradients,
                    ..
                }
        )
    });
    if settings.baselines.is_some() || !draws {
        return Ok(settings);
    }
    let Some((values, count)) = model.info().data.training_baselines(DEFAULT_BASELINES) else {
        return Ok(settings);
    };
    let mut shape = vec![count];
    shape.extend(model.sample_shape());
    let set = ember::BaselineSet::new(shape, values.into_iter().map(f64::from).collect())
        .map_err(|e| e.to_string())?;
    Ok(settings.with_baselines(Some(set)))
}

/// A method name of the registry (any alias), for clap.
pub fn parse_method(name: &str) -> Result<MethodSpec, String> {
    name.parse().map_err(|e: ember::Error| e.to_string())
}

/// `--baseline` without an inputs file: `zeros`, a number or `uniform:LOW,HIGH`.
pub fn parse_baseline(text: &str, seed: u64) -> Result<Baseline, String> {
    let bad = || {
        format!(
            "`{text}` is not a baseline: expected `zeros`, a number, `uniform:LOW,HIGH` or `file`"
        )
    };
    let baseline = if text == "zeros" {
        Baseline::Zeros
    } else if text == "file" {
        return Err(
            "--baseline file reads the inputs file of `ember attribute`; give zeros, a number or \
             uniform:LOW,HIGH here"
                .into(),
        );
    } else if let Some(bounds) = text.strip_prefix("uniform:") {
        let (low, high) = bounds.split_once(',').ok_or_else(bad)?;
        Baseline::Uniform {
            low: low.trim().parse().map_err(|_| bad())?,
            high: high.trim().parse().map_err(|_| bad())?,
            seed,
        }
    } else {
        Baseline::Constant(text.parse().map_err(|_| bad())?)
    };
    baseline.check().map_err(|e| e.to_string())?;
    Ok(baseline)
}

/// `--smooth-kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SmoothKindName {
    /// SmoothGrad: the mean.
    Mean,
    /// SmoothGrad²: the mean of squares.
    Squares,
    /// VarGrad: the variance.
    Variance,
}

/// `--noise-scale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NoiseScaleName {
    /// σ = level · (max − min) of each input.
    Relative,
    /// σ = level.
    Absolute,
}

/// The quadrature rules `--quadrature` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum QuadratureName {
    /// Left Riemann sum.
    RiemannLeft,
    /// Right Riemann sum.
    RiemannRight,
    /// Midpoint rule.
    RiemannMiddle,
    /// Trapezoid rule.
    RiemannTrapezoid,
    /// Gauss–Legendre.
    GaussLegendre,
}

/// `--target`: `predicted`, a class, or `file`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetArg {
    /// The model's prediction.
    Predicted,
    /// One class for every sample.
    Class(usize),
    /// Several classes for every sample, in one pass.
    Classes(Vec<usize>),
    /// `targets` `[N]` from the inputs file.
    File,
}

impl FromStr for TargetArg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "predicted" => Ok(TargetArg::Predicted),
            "file" => Ok(TargetArg::File),
            _ if s.contains(',') => s
                .split(',')
                .map(|c| c.trim().parse::<usize>())
                .collect::<Result<Vec<_>, _>>()
                .map(TargetArg::Classes)
                .map_err(|_| format!("`{s}` is not a list of class indices, e.g. `2,7`")),
            _ => s.parse().map(TargetArg::Class).map_err(|_| {
                format!(
                    "`{s}` is not a target: expected `predicted`, a class index, a list such \
                     as `2,7`, or `file`"
                )
            }),
        }
    }
}

impl From<QuadratureName> for Quadrature {
    fn from(name: QuadratureName) -> Self {
        match name {
            QuadratureName::RiemannLeft => Quadrature::RiemannLeft,
            QuadratureName::RiemannRight => Quadrature::RiemannRight,
            QuadratureName::RiemannMiddle => Quadrature::RiemannMiddle,
            QuadratureName::RiemannTrapezoid => Quadrature::RiemannTrapezoid,
            QuadratureName::GaussLegendre => Quadrature::GaussLegendre,
        }
    }
}

/// A noise tunnel's kind and inner method from `--method` and the flags that refine it:
/// `--smooth-kind` sets the kind of `smoothgrad` (and must agree with `smoothgrad-squared` or
/// `vargrad`), `--inner` sets the inner method of a tunnel over saliency (and must agree with
/// any other `KIND:INNER`). The other methods ignore both.
pub(crate) fn resolve_method(
    spec: MethodSpec,
    smooth_kind: Option<SmoothKindName>,
    inner: Option<BaseMethod>,
) -> Result<MethodSpec, String> {
    let MethodSpec::Smooth {
        kind: named_kind,
        inner: named_inner,
    } = spec
    else {
        return Ok(spec);
    };
    let kind = match smooth_kind.map(SmoothKind::from) {
        None => named_kind,
        Some(k) if named_kind == SmoothKind::Mean || k == named_kind => k,
        Some(k) => {
            return Err(format!(
                "--smooth-kind {} contradicts --method {spec}",
                k.method_name()
            ));
        }
    };
    let inner = match inner {
        None => named_inner,
        Some(i) if named_inner == BaseMethod::Saliency || i == named_inner => i,
        Some(i) => return Err(format!("--inner {i} contradicts --method {spec}")),
    };
    Ok(MethodSpec::smooth(kind, inner))
}

/// `--inner`: a method a noise tunnel can wrap.
pub(crate) fn parse_inner(name: &str) -> Result<BaseMethod, String> {
    name.parse().map_err(|e: Error| e.to_string())
}

impl From<SmoothKindName> for SmoothKind {
    fn from(name: SmoothKindName) -> Self {
        match name {
            SmoothKindName::Mean => SmoothKind::Mean,
            SmoothKindName::Squares => SmoothKind::MeanOfSquares,
            SmoothKindName::Variance => SmoothKind::Variance,
        }
    }
}

/// `--method`'s help, from the registry's names.
pub fn method_help() -> String {
    format!(
        "The attribution method: {} (`ember methods` describes each); aliases: ig, ixg, \
         Captum's names",
        ember::method_names()
    )
}
