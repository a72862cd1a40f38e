#![warn(missing_docs)]
#![doc = include_str!("../README.md")]

pub mod input_x_gradient;
pub mod integrated_gradients;
pub mod registry;
pub mod saliency;
pub mod smooth_grad;

pub use input_x_gradient::{InputXGradient, InputXGradientConfig};
pub use integrated_gradients::{IntegratedGradients, IntegratedGradientsConfig};
pub use registry::{AnyMethod, Base, BaseMethod, MethodSettings, MethodSpec};
pub use saliency::{Saliency, SaliencyConfig};
pub use smooth_grad::{NoiseScale, SmoothGrad, SmoothGradConfig, SmoothKind, Smoothed};
