//! The settings every method of the registry is built from.

use burn::config::Config;
use ember_core::{Baseline, Quadrature};

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
    /// Noisy copies per input (noise tunnels).
    #[config(default = 50)]
    pub samples: usize,
    /// The noise level (noise tunnels), read as `noise_scale` says.
    #[config(default = 0.15)]
    pub noise: f64,
    /// How `noise` sets σ (noise tunnels).
    #[config(default = "NoiseScale::Relative")]
    pub noise_scale: NoiseScale,
    /// The noise's seed (noise tunnels).
    #[config(default = 0)]
    pub seed: u64,
    /// The most rows per forward+backward pass; `None`: the device's default.
    #[config(default = "None")]
    pub max_rows: Option<usize>,
    /// The bytes of a pass's input rows; `None`: the device's default.
    #[config(default = "None")]
    pub memory_budget: Option<usize>,
    /// Check once per call that the model is in eval mode (rows independent, deterministic).
    #[config(default = true)]
    pub check_model: bool,
}

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
            .with_max_rows(self.max_rows)
            .with_memory_budget(self.memory_budget)
            .with_check_model(self.check_model)
    }
}
