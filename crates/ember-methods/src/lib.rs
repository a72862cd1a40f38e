#![warn(missing_docs)]
#![doc = include_str!("../README.md")]

pub mod attention_rollout;
pub mod blur_ig;
mod drawn;
pub mod feature_ablation;
pub mod feature_permutation;
pub mod grad_cam;
pub mod gradient_shap;
pub mod guided_ig;
pub mod input_x_gradient;
pub mod integrated_gradients;
pub mod kernel_shap;
mod layer;
pub mod layer_gradient;
pub mod layer_integrated_gradients;
pub mod lime;
pub mod occlusion;
mod path;
mod perturbation;
pub mod registry;
pub mod saliency;
mod sampling;
pub mod shapley_value_sampling;
pub mod shapley_values;
pub mod smooth_grad;

pub use attention_rollout::{RolloutRead, rollout};
pub use blur_ig::{BlurIg, BlurIgConfig, gaussian_blur};
pub use feature_ablation::{FeatureAblation, FeatureAblationConfig};
pub use feature_permutation::{FeaturePermutation, FeaturePermutationConfig};
pub use grad_cam::{GradCam, GradCamConfig, upsample};
pub use gradient_shap::{GradientShap, GradientShapConfig, PathDraws};
pub use guided_ig::{GuidedIg, GuidedIgConfig};
pub use input_x_gradient::{InputXGradient, InputXGradientConfig};
pub use integrated_gradients::{IntegratedGradients, IntegratedGradientsConfig};
pub use kernel_shap::{KernelShap, KernelShapConfig};
pub use layer::sum_over;
pub use layer_gradient::{LayerGradient, LayerGradientConfig};
pub use layer_integrated_gradients::{LayerIntegratedGradients, LayerIntegratedGradientsConfig};
pub use lime::{Lime, LimeConfig, Similarity, Surrogate};
pub use occlusion::{Occlusion, OcclusionConfig};
pub use registry::{
    AnyLayerMethod, AnyMethod, Base, BaseMethod, Entry, Family, LayerMethod, MethodInfo,
    MethodSettings, MethodSpec, Perturbation, PerturbationMethod, find, method_names, methods,
};
pub use saliency::{Saliency, SaliencyConfig};
pub use shapley_value_sampling::{ShapleyValueSampling, ShapleyValueSamplingConfig};
pub use shapley_values::{ShapleyValues, ShapleyValuesConfig};
pub use smooth_grad::{NoiseScale, SmoothGrad, SmoothGradConfig, SmoothKind, Smoothed};
