//! The settings every method of the registry is built from.

use burn::config::Config;
use ember_core::KernelSettings;
use ember_core::{Baseline, BaselineSet, FeatureMask, Quadrature};

use crate::{
    BlurIgConfig, GradientShapConfig, GuidedIgConfig, IntegratedGradientsConfig, NoiseScale,
};

/// Every setting of every method; each method reads the ones it has. The defaults are the
/// methods' own.
#[derive(Config, Debug)]
pub struct MethodSettings {
    /// Integration steps (Integrated Gradients).
    #[config(default = 50)]
    pub steps: usize,
    /// The quadrature rule (Integrated Gradients).
    #[config(default = "Quadrature::GaussLegendre")]
    pub quadrature: Quadrature,
    /// The baseline (Integrated Gradients).
    #[config(default = "Baseline::Zeros")]
    pub baseline: Baseline,
    /// Adaptive Integrated Gradients: the relative tolerance on the completeness gap.
    #[config(default = "None")]
    pub tolerance: Option<f64>,
    /// Adaptive Integrated Gradients: the most steps per sample.
    #[config(default = 1025)]
    pub max_steps: usize,
    /// Noisy copies per input (noise tunnels); random orders (`shapley-value-sampling`) or
    /// coalitions (`kernel-shap`, `lime`) per sample: what Captum's `n_samples` counts.
    #[config(default = 50)]
    pub samples: usize,
    /// The noise level (noise tunnels), read as `noise_scale` says.
    #[config(default = 0.15)]
    pub noise: f64,
    /// How `noise` sets σ (noise tunnels).
    #[config(default = "NoiseScale::Relative")]
    pub noise_scale: NoiseScale,
    /// The seed of the noise (noise tunnels) or of the draws (sampled perturbation methods).
    #[config(default = 0)]
    pub seed: u64,
    /// The groups of the perturbation methods (`None`: [`FeatureMask::default_for`] the
    /// input).
    #[config(default = "None")]
    pub feature_mask: Option<FeatureMask>,
    /// Occlusion's window, one size per dimension after the batch (`None`: its default).
    #[config(default = "None")]
    pub window: Option<Vec<usize>>,
    /// Occlusion's strides (`None`: 1 with a given window, else its default).
    #[config(default = "None")]
    pub strides: Option<Vec<usize>>,
    /// The set of baselines `[K, ...]` (`gradient-shap` and `expected-gradients` draw from it;
    /// Integrated Gradients averages over it in place of `baseline`).
    #[config(default = "None")]
    pub baselines: Option<BaselineSet>,
    /// Draws per sample of `gradient-shap` and `expected-gradients` (`None`: theirs, 5 and
    /// 200).
    #[config(default = "None")]
    pub draws: Option<usize>,
    /// The absolute σ of the noise `gradient-shap` adds to each draw's input (Captum's
    /// `stdevs`); 0 for none. Not applied inside a noise tunnel, whose `noise` is the noise.
    #[config(default = 0.0)]
    pub draw_noise: f64,
    /// Steps of `blur-ig` and `guided-ig` (`None`: theirs, 100 and 200; `steps` is
    /// Integrated Gradients').
    #[config(default = "None")]
    pub path_steps: Option<usize>,
    /// Blur IG's largest blur σ_max.
    #[config(default = 50.0)]
    pub max_sigma: f64,
    /// Blur IG's finite-difference step in σ.
    #[config(default = 0.01)]
    pub grad_step: f64,
    /// Blur IG's square-root spacing of the σ's.
    #[config(default = false)]
    pub blur_sqrt: bool,
    /// Guided IG's fraction of features moved at a time.
    #[config(default = 0.25)]
    pub fraction: f64,
    /// Guided IG's largest distance from the straight path.
    #[config(default = 0.02)]
    pub max_dist: f64,
    /// How the kernel runs: rows per pass, memory budget, the model check.
    #[config(default = "KernelSettings::new()")]
    pub kernel: KernelSettings,
}

ember_core::kernel_shorthands!(MethodSettings);

impl MethodSettings {
    /// The Integrated Gradients configuration these settings make (for Integrated Gradients,
    /// and for Layer Integrated Gradients, whose baseline is in the input's space).
    pub fn integrated_gradients(&self) -> IntegratedGradientsConfig {
        IntegratedGradientsConfig::new()
            .with_steps(self.steps)
            .with_quadrature(self.quadrature)
            .with_baseline(self.baseline.clone())
            .with_tolerance(self.tolerance)
            .with_max_steps(self.max_steps)
            .with_baselines(self.baselines.clone())
            .with_kernel(self.kernel.clone())
    }

    /// The GradientSHAP configuration these settings make, with `draws` per sample unless
    /// they say otherwise (`gradient-shap`: 5, `expected-gradients`: 200).
    pub fn gradient_shap(&self, draws: usize) -> GradientShapConfig {
        GradientShapConfig::new()
            .with_baselines(self.baselines.clone())
            .with_samples(self.draws.unwrap_or(draws))
            .with_noise(self.draw_noise)
            .with_seed(self.seed)
            .with_kernel(self.kernel.clone())
    }

    /// The Blur IG configuration these settings make.
    pub fn blur_ig(&self) -> BlurIgConfig {
        BlurIgConfig::new()
            .with_max_sigma(self.max_sigma)
            .with_steps(self.path_steps.unwrap_or(crate::blur_ig::DEFAULT_STEPS))
            .with_grad_step(self.grad_step)
            .with_sqrt(self.blur_sqrt)
            .with_kernel(self.kernel.clone())
    }

    /// The Guided IG configuration these settings make (`baseline` is Guided IG's too).
    pub fn guided_ig(&self) -> GuidedIgConfig {
        GuidedIgConfig::new()
            .with_steps(self.path_steps.unwrap_or(crate::guided_ig::DEFAULT_STEPS))
            .with_fraction(self.fraction)
            .with_max_dist(self.max_dist)
            .with_baseline(self.baseline.clone())
            .with_kernel(self.kernel.clone())
    }
}
