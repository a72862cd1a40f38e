//! Layer Integrated Gradients: Integrated Gradients of the model's tail along the straight
//! path between a layer's activations at the baseline and at the input.
//!
//! Captum's `LayerIntegratedGradients`, after Sundararajan, Taly and Yan, *Axiomatic
//! Attribution for Deep Networks*, ICML 2017 (<https://arxiv.org/abs/1703.01365>): the layer's
//! activations are interpolated, `A(α) = A(x′) + α (A(x) − A(x′))`, and
//!
#![cfg_attr(
    doc,
    doc = r#"$$\phi(x) = \big(A(x) - A(x')\big) \odot \int_0^1 \frac{\partial F_c^{\text{tail}}}{\partial A}\big(A(x') + \alpha (A(x) - A(x'))\big)\, d\alpha$$"#
)]
//!
//! Plain text: `phi = (A(x) − A(x′)) * ∫₀¹ dF_tail/dA(A(x′) + α (A(x) − A(x′))) dα`, with
//! `A = head` and `x′` the baseline, in the input's space. The attributions have the layer's
//! shape and sum to `F(x) − F(x′)` up to the quadrature error (the report's `delta`); every
//! option of [`crate::IntegratedGradientsConfig`] applies (quadrature, adaptive tolerance,
//! several targets). [`crate::sum_over`] reduces them per position (token embeddings: sum over
//! the hidden size).

use burn::config::Config;
use burn::tensor::Tensor;
use ember_core::{
    Attribution, Attributions, Baseline, LayerAttribution, Result, SplitModel, Tail, Target, Whole,
};

use crate::layer::activations;
use crate::registry::{AnyLayerMethod, Entry, Family, MethodInfo};
use crate::{IntegratedGradients, IntegratedGradientsConfig};

/// Layer Integrated Gradients' entry in the registry.
pub static INFO: Entry<AnyLayerMethod> = Entry {
    info: MethodInfo {
        name: "layer-integrated-gradients",
        aliases: &["layerintegratedgradients", "layer-ig"],
        summary: "Integrated Gradients of a layer's activations, on the path from the \
                  baseline's activations",
        captum: Some("LayerIntegratedGradients"),
        signed: true,
        family: Family::Layer,
        cost: "steps",
        rows_per_sample: |s, _| s.steps,
    },
    build: |s| {
        Ok(AnyLayerMethod::LayerIntegratedGradients(
            LayerIntegratedGradientsConfig::new()
                .with_integrated_gradients(s.integrated_gradients())
                .init()?,
        ))
    },
};

/// Hyper-parameters of [`LayerIntegratedGradients`]: those of Integrated Gradients, whose
/// baseline is in the input's space (the layer's baseline is its activations there).
#[derive(Config, Debug)]
pub struct LayerIntegratedGradientsConfig {
    /// Steps, quadrature, baseline (of the input), tolerance, rows per pass, model check.
    #[config(default = "IntegratedGradientsConfig::new()")]
    pub integrated_gradients: IntegratedGradientsConfig,
}

impl LayerIntegratedGradientsConfig {
    /// Checks the configuration and builds the method.
    ///
    /// # Errors
    ///
    /// As [`IntegratedGradientsConfig::init`].
    pub fn init(&self) -> Result<LayerIntegratedGradients> {
        Ok(LayerIntegratedGradients {
            ig: self.integrated_gradients.init()?,
        })
    }
}

/// Layer Integrated Gradients. Build it with [`LayerIntegratedGradientsConfig`].
///
/// # Example
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// use ember_core::{LayerAttribution, Split};
/// use ember_methods::LayerIntegratedGradientsConfig;
///
/// let device = Device::flex();
/// let w = Tensor::<2>::from_floats([[1.0], [-2.0]], &device);
/// // head: x ↦ x + 1; a linear tail: φ = w ⊙ (A(x) − A(0)) = w ⊙ x.
/// let split = Split::new(|x: Tensor<2>| x + 1.0, move |h: Tensor<2>| h.matmul(w.clone()));
/// let x = Tensor::<2>::from_floats([[3.0, 4.0]], &device);
/// let out = LayerIntegratedGradientsConfig::new().init()?.attribute_layer(&split, x, 0)?;
/// let values = out.values.to_data().to_vec::<f32>().unwrap();
/// assert!((values[0] - 3.0).abs() < 1e-5 && (values[1] + 8.0).abs() < 1e-5);
/// # Ok::<(), ember_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct LayerIntegratedGradients {
    ig: IntegratedGradients,
}

impl<const D: usize, const H: usize> LayerAttribution<D, H> for LayerIntegratedGradients {
    fn attribute_layer<S: SplitModel<D, H> + ?Sized>(
        &self,
        model: &S,
        input: Tensor<D>,
        target: impl Into<Target>,
    ) -> Result<Attributions<H>> {
        let kernel = self.ig.kernel();
        let batch = kernel.check_call(&Whole::<S, H>::new(model), &input)?;
        let input = input.without_autodiff();
        let baseline = self.ig.baseline().resolve(&input)?;
        let hidden = activations(kernel, model, &input)?;
        let hidden_baseline = activations(kernel, model, &baseline)?;
        let on_layer = self
            .ig
            .with_baseline(Baseline::from_tensor(hidden_baseline)?);
        let mut out = on_layer.attribute(&Tail::<S, D>::new(model, true), hidden, target)?;
        out.report.method = INFO.info.name.into();
        // The layer's activations at the input and at the baseline.
        out.report = out.report.with_extra_evaluations(2 * batch);
        Ok(out)
    }
}
