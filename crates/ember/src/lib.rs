#![warn(missing_docs)]
//! # ember
//!
//! Attributions for [Burn](https://burn.dev) models: how much each input feature contributed to
//! a model's output. ember runs on every Burn device (Flex and ndarray on the CPU, any GPU through
//! wgpu) and computes all of a batch's gradients in one forward and one backward pass per block
//! of rows.
//!
//! ```
//! use ember::burn::nn::{Linear, LinearConfig};
//! use ember::prelude::*;
//!
//! let device = Device::flex();
//! // Any Burn module is a model once wrapped with its forward function: `ember::eval` explains
//! // a copy in evaluation mode (BatchNorm's running statistics, no Dropout) and leaves the
//! // module as it was.
//! let layer: Linear = LinearConfig::new(2, 3).init(&device);
//! let model = ember::eval(&layer, Linear::forward);
//!
//! let x = Tensor::<2>::from_floats([[0.5, 3.0]], &device);
//! let saliency = SaliencyConfig::new().init()?;
//! let map = saliency.attribute(&model, x, Target::Predicted)?;
//! // A linear layer's gradient for class c is column c of its weight ([inputs, outputs]).
//! let c = map.report.targets[0];
//! let column = layer.weight.val().narrow(1, c, 1).reshape([1, 2]);
//! assert_eq!(
//!     map.values.to_data().to_vec::<f32>().unwrap(),
//!     column.to_data().to_vec::<f32>().unwrap()
//! );
//! # Ok::<(), ember::Error>(())
//! ```
//!
//! A module with auxiliary inputs (an attention mask) is wrapped with [`eval_with`], one split
//! at a layer (Grad-CAM) with [`eval_split`]. A plain closure `Fn(Tensor<D>) -> Tensor<2>` is a
//! model too, but a closure over a module in training mode (as Burn creates and loads modules)
//! is refused: see [`Error::ModelRowsCoupled`].
//!
//! [`visualize::image_attr`] draws one map as a picture, as Captum's `visualize_image_attr`.
//!
//! ## Features
//!
//! - `flex` (default): Burn's Flex CPU backend.
//! - `ndarray`: Burn's ndarray CPU backend.
//! - `wgpu`: any GPU through Vulkan, Metal or DX12; on Linux without a GPU, Mesa's lavapipe.

pub mod backend;
pub mod visualize;

/// The README's Rust quick start, compiled and run as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeQuickStart;

pub use burn;
pub use ember_core::{
    Accumulators, Attribution, Attributions, Auxiliary, Baseline, BaselineSet, Block, DeviceClass,
    Error, Eval, EvalSplit, EvalSplitWith, EvalWith, FeatureMask, ForwardPlan, GradientKernel,
    Groups, KernelOutput, KernelSettings, KernelStats, LayerAttribution, Model, NEVER_PERTURBED,
    NoiseReport, PerturbationReport, Plan, Quadrature, Renumbered, Report, Result, RowSamples,
    RowTargets, RowsFrom, RowsTuning, Split, SplitModel, SplitRenumbered, Tail, Target, Whole,
    WithAux, WithLayer, baseline, eval, eval_split, eval_split_with, eval_with, kernel, mask,
    model, quadrature, rng, split, validate,
};
pub use ember_methods::{
    AnyLayerMethod, AnyMethod, Base, BaseMethod, BlurIg, BlurIgConfig, Entry, Family,
    FeatureAblation, FeatureAblationConfig, FeaturePermutation, FeaturePermutationConfig, GradCam,
    GradCamConfig, GradientShap, GradientShapConfig, GuidedIg, GuidedIgConfig, InputXGradient,
    InputXGradientConfig, IntegratedGradients, IntegratedGradientsConfig, KernelShap,
    KernelShapConfig, LayerGradient, LayerGradientConfig, LayerIntegratedGradients,
    LayerIntegratedGradientsConfig, LayerMethod, Lime, LimeConfig, MethodInfo, MethodSettings,
    MethodSpec, NoiseScale, Occlusion, OcclusionConfig, PathDraws, Perturbation,
    PerturbationMethod, RolloutRead, Saliency, SaliencyConfig, ShapleyValueSampling,
    ShapleyValueSamplingConfig, ShapleyValues, ShapleyValuesConfig, Similarity, SmoothGrad,
    SmoothGradConfig, SmoothKind, Smoothed, Surrogate, attention_rollout, blur_ig,
    feature_ablation, feature_permutation, find, grad_cam, gradient_shap, guided_ig,
    input_x_gradient, integrated_gradients, kernel_shap, layer_gradient,
    layer_integrated_gradients, lime, method_names, methods, occlusion, registry, saliency,
    shapley_value_sampling, shapley_values, smooth_grad, sum_over, upsample,
};
/// Metrics of attributions, and comparing methods on a model ([`compare`]).
pub use ember_metrics as metrics;
pub use ember_metrics::compare;

/// Everything most programs need: `use ember::prelude::*;`.
pub mod prelude {
    pub use crate::backend::{Backend, Precision};
    pub use ember_core::{
        Attribution, Attributions, Baseline, BaselineSet, Error, FeatureMask, LayerAttribution,
        Model, Quadrature, Report, RowSamples, Split, SplitModel, Target, WithAux,
    };
    pub use ember_methods::{BlurIgConfig, GradientShapConfig, GuidedIgConfig};
    pub use ember_methods::{
        FeatureAblationConfig, FeaturePermutationConfig, KernelShapConfig, LimeConfig,
        OcclusionConfig, ShapleyValueSamplingConfig, ShapleyValuesConfig,
    };
    pub use ember_methods::{
        GradCamConfig, InputXGradient, InputXGradientConfig, IntegratedGradients,
        IntegratedGradientsConfig, LayerGradientConfig, LayerIntegratedGradientsConfig, NoiseScale,
        Saliency, SaliencyConfig, SmoothGrad, SmoothGradConfig, SmoothKind,
    };

    pub use burn::tensor::{Device, Tensor};
}
