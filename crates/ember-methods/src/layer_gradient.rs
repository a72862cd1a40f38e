//! The layer gradient and Layer Gradient × Activation: the gradient of the target output with
//! respect to a layer's activations `A = head(x)`, optionally times the activations.
//!
//! Captum's `LayerGradientXActivation` (Shrikumar et al. 2016's gradient × input, applied to a
//! layer). <https://arxiv.org/abs/1605.01713>
#![cfg_attr(
    doc,
    doc = r#"$$\phi(x) = \frac{\partial F_c}{\partial A}\big(A(x)\big) \quad\text{or, with `multiply_by_activation`,}\quad A(x) \odot \frac{\partial F_c}{\partial A}\big(A(x)\big)$$"#
)]
//!
//! Plain text: `phi = dF_c/dA` at `A = head(x)`, or `A * dF_c/dA`.

use burn::config::Config;
use burn::tensor::Tensor;
use ember_core::KernelSettings;
use ember_core::{
    Attributions, GradientKernel, LayerAttribution, Report, Result, SplitModel, Tail, Target, Whole,
};

use crate::layer::activations;
use crate::registry::{AnyLayerMethod, Entry, Family, MethodInfo, one_row};

/// The layer gradient's entry in the registry.
pub static LAYER_GRADIENT: Entry<AnyLayerMethod> = Entry {
    info: MethodInfo {
        name: "layer-gradient",
        aliases: &[],
        summary: "the gradient with respect to a layer's activations",
        captum: None,
        signed: true,
        family: Family::Layer,
        cost: "1",
        rows_per_sample: one_row,
    },
    build: |s| {
        Ok(AnyLayerMethod::LayerGradient(
            LayerGradientConfig::new()
                .with_kernel(s.kernel.clone())
                .init()?,
        ))
    },
};

/// Layer Gradient × Activation's entry in the registry.
pub static LAYER_GRADIENT_X_ACTIVATION: Entry<AnyLayerMethod> = Entry {
    info: MethodInfo {
        name: "layer-gradient-x-activation",
        aliases: &["layergradientxactivation"],
        summary: "a layer's activations times their gradient",
        captum: Some("LayerGradientXActivation"),
        signed: true,
        family: Family::Layer,
        cost: "1",
        rows_per_sample: one_row,
    },
    build: |s| {
        Ok(AnyLayerMethod::LayerGradientXActivation(
            LayerGradientConfig::new()
                .with_multiply_by_activation(true)
                .with_kernel(s.kernel.clone())
                .init()?,
        ))
    },
};

/// Hyper-parameters of [`LayerGradient`].
#[derive(Config, Debug)]
pub struct LayerGradientConfig {
    /// Multiply the gradient by the activations (Layer Gradient × Activation).
    #[config(default = false)]
    pub multiply_by_activation: bool,
    /// How the kernel runs: rows per pass, memory budget, the model check.
    #[config(default = "KernelSettings::new()")]
    pub kernel: KernelSettings,
}

ember_core::kernel_shorthands!(LayerGradientConfig);

impl LayerGradientConfig {
    /// Checks the configuration and builds the method.
    ///
    /// # Errors
    ///
    /// [`ember_core::Error::InvalidConfig`] if `max_rows` or `memory_budget` is `Some(0)`.
    pub fn init(&self) -> Result<LayerGradient> {
        Ok(LayerGradient {
            multiply_by_activation: self.multiply_by_activation,
            kernel: self.kernel.kernel()?,
        })
    }
}

/// The gradient of the target output with respect to a layer, or Layer Gradient × Activation.
/// Build it with [`LayerGradientConfig`].
///
/// # Example
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// use ember_core::{LayerAttribution, Split};
/// use ember_methods::LayerGradientConfig;
///
/// let device = Device::flex();
/// let w = Tensor::<2>::from_floats([[1.0], [-2.0]], &device);
/// // head: x ↦ 3x; tail: h ↦ h · w. The layer gradient is w, × activation 3x ⊙ w.
/// let split = Split::new(|x: Tensor<2>| x * 3.0, move |h: Tensor<2>| h.matmul(w.clone()));
/// let x = Tensor::<2>::from_floats([[1.0, 2.0]], &device);
/// let method = LayerGradientConfig::new().with_multiply_by_activation(true).init()?;
/// let map = method.attribute_layer(&split, x, 0)?;
/// assert_eq!(map.values.to_data().to_vec::<f32>().unwrap(), vec![3.0, -12.0]);
/// # Ok::<(), ember_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct LayerGradient {
    multiply_by_activation: bool,
    kernel: GradientKernel,
}

impl LayerGradient {
    /// The layer gradients `∂F/∂A` of `input`'s rows (`[k · batch, ...]` target-major), the
    /// activations `A` (`[batch, ...]`) and the kernel's report, for the methods built on them
    /// (Grad-CAM).
    pub(crate) fn gradients<const D: usize, const H: usize, S: SplitModel<D, H> + ?Sized>(
        kernel: &GradientKernel,
        model: &S,
        input: Tensor<D>,
        target: Target,
        method: &str,
    ) -> Result<(Tensor<H>, Tensor<H>, Report)> {
        let batch = kernel.check_call(&Whole::<S, H>::new(model), &input)?;
        let per_sample = target.per_sample();
        let targets = target.rows(batch)?;
        let hidden = activations(kernel, model, &input)?;
        let out = kernel.gradients(&Tail::<S, D>::new(model, true), hidden.clone(), &targets)?;
        let report = Report::new(method, out.targets, out.scores, out.stats)
            .with_targets_per_sample(per_sample)
            // The layer's activations: one forward of the head per sample.
            .with_extra_evaluations(batch);
        Ok((out.gradients, hidden, report))
    }
}

impl<const D: usize, const H: usize> LayerAttribution<D, H> for LayerGradient {
    fn attribute_layer<S: SplitModel<D, H> + ?Sized>(
        &self,
        model: &S,
        input: Tensor<D>,
        target: impl Into<Target>,
    ) -> Result<Attributions<H>> {
        let target = target.into();
        let per_sample = target.per_sample();
        let method = if self.multiply_by_activation {
            LAYER_GRADIENT_X_ACTIVATION.info.name
        } else {
            LAYER_GRADIENT.info.name
        };
        let (gradients, hidden, report) =
            Self::gradients(&self.kernel, model, input, target, method)?;
        let values = if self.multiply_by_activation {
            gradients * hidden.repeat_dim(0, per_sample)
        } else {
            gradients
        };
        Ok(Attributions { values, report })
    }
}
