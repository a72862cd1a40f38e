#![warn(missing_docs)]
#![doc = include_str!("../README.md")]

pub mod attention_rollout;
pub mod grad_cam;
pub mod input_x_gradient;
pub mod integrated_gradients;
mod layer;
pub mod layer_gradient;
pub mod layer_integrated_gradients;
mod path;
pub mod registry;
pub mod saliency;
mod sampling;
pub mod smooth_grad;

pub use attention_rollout::{RolloutRead, rollout};
pub use grad_cam::{GradCam, GradCamConfig, upsample};
pub use input_x_gradient::{InputXGradient, InputXGradientConfig};
pub use integrated_gradients::{IntegratedGradients, IntegratedGradientsConfig};
pub use layer::sum_over;
pub use layer_gradient::{LayerGradient, LayerGradientConfig};
pub use layer_integrated_gradients::{LayerIntegratedGradients, LayerIntegratedGradientsConfig};
pub use registry::{
    AnyLayerMethod, AnyMethod, Base, BaseMethod, Entry, Family, LayerMethod, MethodInfo,
    MethodSettings, MethodSpec, find, method_names, methods,
};
pub use saliency::{Saliency, SaliencyConfig};
pub use smooth_grad::{NoiseScale, SmoothGrad, SmoothGradConfig, SmoothKind, Smoothed};
