//! The layer methods of the registry: their names, and building them.

use std::str::FromStr;

use burn::tensor::Tensor;
use ember_core::{Attributions, Error, LayerAttribution, Result, SplitModel, Target};
use serde::{Deserialize, Serialize};

use super::{MethodSettings, normalise, unknown};
use crate::{
    GradCam, GradCamConfig, LayerGradient, LayerGradientConfig, LayerIntegratedGradients,
    LayerIntegratedGradientsConfig,
};

/// A layer method: it explains a layer's activations of a model split there
/// ([`ember_core::SplitModel`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LayerMethod {
    /// Grad-CAM (with its ReLU).
    GradCam,
    /// The gradient with respect to the layer.
    LayerGradient,
    /// The layer gradient times the activations.
    LayerGradientXActivation,
    /// Layer Integrated Gradients.
    LayerIntegratedGradients,
}

impl LayerMethod {
    /// Every layer method.
    pub const ALL: [LayerMethod; 4] = [
        LayerMethod::GradCam,
        LayerMethod::LayerGradient,
        LayerMethod::LayerGradientXActivation,
        LayerMethod::LayerIntegratedGradients,
    ];

    /// The method's name: `grad-cam`, `layer-gradient`, `layer-gradient-x-activation` or
    /// `layer-integrated-gradients`.
    pub fn name(self) -> &'static str {
        match self {
            LayerMethod::GradCam => "grad-cam",
            LayerMethod::LayerGradient => "layer-gradient",
            LayerMethod::LayerGradientXActivation => "layer-gradient-x-activation",
            LayerMethod::LayerIntegratedGradients => "layer-integrated-gradients",
        }
    }

    /// Whether the maps can be negative (Grad-CAM's ReLU makes them non-negative).
    pub fn signed(self) -> bool {
        self != LayerMethod::GradCam
    }

    pub(super) fn build(self, s: &MethodSettings) -> Result<AnyLayerMethod> {
        Ok(match self {
            LayerMethod::GradCam => AnyLayerMethod::GradCam(
                GradCamConfig::new()
                    .with_max_rows(s.max_rows)
                    .with_memory_budget(s.memory_budget)
                    .with_check_model(s.check_model)
                    .init()?,
            ),
            LayerMethod::LayerGradient | LayerMethod::LayerGradientXActivation => {
                AnyLayerMethod::Gradient(
                    LayerGradientConfig::new()
                        .with_multiply_by_activation(self == LayerMethod::LayerGradientXActivation)
                        .with_max_rows(s.max_rows)
                        .with_memory_budget(s.memory_budget)
                        .with_check_model(s.check_model)
                        .init()?,
                )
            }
            LayerMethod::LayerIntegratedGradients => AnyLayerMethod::IntegratedGradients(
                LayerIntegratedGradientsConfig::new()
                    .with_integrated_gradients(s.integrated_gradients())
                    .init()?,
            ),
        })
    }
}

impl FromStr for LayerMethod {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self> {
        Ok(match normalise(name).as_str() {
            "grad-cam" | "gradcam" | "layer-grad-cam" | "layergradcam" => LayerMethod::GradCam,
            "layer-gradient" => LayerMethod::LayerGradient,
            "layer-gradient-x-activation" | "layergradientxactivation" => {
                LayerMethod::LayerGradientXActivation
            }
            "layer-integrated-gradients" | "layerintegratedgradients" | "layer-ig" => {
                LayerMethod::LayerIntegratedGradients
            }
            _ => return Err(unknown(name)),
        })
    }
}

/// A layer method of the registry, built.
#[derive(Debug, Clone)]
pub enum AnyLayerMethod {
    /// Grad-CAM.
    GradCam(GradCam),
    /// The layer gradient, or times the activations.
    Gradient(LayerGradient),
    /// Layer Integrated Gradients.
    IntegratedGradients(LayerIntegratedGradients),
}

impl<const D: usize, const H: usize> LayerAttribution<D, H> for AnyLayerMethod {
    fn attribute_layer<S: SplitModel<D, H> + ?Sized>(
        &self,
        model: &S,
        input: Tensor<D>,
        target: impl Into<Target>,
    ) -> Result<Attributions<H>> {
        match self {
            AnyLayerMethod::GradCam(m) => m.attribute_layer(model, input, target),
            AnyLayerMethod::Gradient(m) => m.attribute_layer(model, input, target),
            AnyLayerMethod::IntegratedGradients(m) => m.attribute_layer(model, input, target),
        }
    }
}
