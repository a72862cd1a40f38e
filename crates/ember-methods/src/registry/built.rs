//! The methods of the registry, built: one type that is every method.

use burn::tensor::Tensor;
use ember_core::{
    Attribution, Attributions, Error, LayerAttribution, Model, Result, SplitModel, Target,
};

use super::{AnyLayerMethod, Base, Perturbation};
use crate::SmoothGrad;

/// Any method of the registry, built by [`super::MethodSpec::build`].
#[derive(Debug, Clone)]
pub enum AnyMethod {
    /// A gradient method.
    Base(Base),
    /// A noise tunnel over a gradient method.
    Smooth(SmoothGrad<Base>),
    /// A layer method.
    Layer(AnyLayerMethod),
    /// A perturbation method.
    Perturbation(Perturbation),
}

impl AnyMethod {
    /// The attributions and, for a noise tunnel, the variance of the inner attributions over
    /// the noise (see [`SmoothGrad::smooth`]).
    ///
    /// # Errors
    ///
    /// As [`Attribution::attribute`].
    pub fn attribute_with_variance<const D: usize, M: Model<D> + ?Sized>(
        &self,
        model: &M,
        input: Tensor<D>,
        target: impl Into<Target>,
    ) -> Result<(Attributions<D>, Option<Tensor<D>>)> {
        match self {
            AnyMethod::Base(m) => Ok((m.attribute(model, input, target)?, None)),
            AnyMethod::Smooth(m) => {
                let out = m.smooth(model, input, target)?;
                Ok((out.attributions, Some(out.variance)))
            }
            AnyMethod::Layer(_) | AnyMethod::Perturbation(_) => {
                Ok((self.attribute(model, input, target)?, None))
            }
        }
    }
}

impl<const D: usize> Attribution<D> for AnyMethod {
    fn attribute<M: Model<D> + ?Sized>(
        &self,
        model: &M,
        input: Tensor<D>,
        target: impl Into<Target>,
    ) -> Result<Attributions<D>> {
        match self {
            AnyMethod::Base(m) => m.attribute(model, input, target),
            AnyMethod::Smooth(m) => m.attribute(model, input, target),
            AnyMethod::Perturbation(m) => m.attribute(model, input, target),
            // Grad-CAM's map, upsampled to the input, for a model that names its layer.
            AnyMethod::Layer(AnyLayerMethod::GradCam(m)) => m.attribute_input(model, input, target),
            AnyMethod::Layer(_) => Err(Error::InvalidConfig {
                name: "method",
                value: "a layer method other than grad-cam".into(),
                expected: "an input method here: a layer map has no input-space counterpart \
                           (explain the layer with LayerAttribution::attribute_layer)",
            }),
        }
    }
}

impl<const D: usize, const H: usize> LayerAttribution<D, H> for AnyMethod {
    fn attribute_layer<S: SplitModel<D, H> + ?Sized>(
        &self,
        model: &S,
        input: Tensor<D>,
        target: impl Into<Target>,
    ) -> Result<Attributions<H>> {
        match self {
            AnyMethod::Layer(m) => m.attribute_layer(model, input, target),
            _ => Err(Error::InvalidConfig {
                name: "method",
                value: "an input method".into(),
                expected: "a layer method (grad-cam, layer-gradient, \
                           layer-gradient-x-activation, layer-integrated-gradients)",
            }),
        }
    }
}
