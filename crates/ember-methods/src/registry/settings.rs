//! The settings every method of the registry is built from.

use burn::config::Config;
use ember_core::KernelSettings;
use ember_core::{Baseline, FeatureMask, Quadrature};

use crate::{IntegratedGradientsConfig, NoiseScale};

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
            .with_kernel(self.kernel.clone())
    }
}
