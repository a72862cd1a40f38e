//! The methods the command line can run by name, as one [`Attribution`] type.

use std::fmt;

use clap::ValueEnum;
use ember::burn::tensor::Tensor;
use ember::prelude::*;
use ember::{SmoothGrad, SmoothKind};

/// Every method of ember, by its command-line name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ValueEnum)]
pub enum MethodChoice {
    /// The signed gradient.
    Saliency,
    /// The absolute gradient.
    SaliencyAbs,
    /// Gradient × input.
    InputXGradient,
    /// Integrated gradients.
    IntegratedGradients,
    /// SmoothGrad over saliency.
    #[value(name = "smoothgrad")]
    SmoothGrad,
    /// SmoothGrad² over saliency.
    #[value(name = "smoothgrad-squared")]
    SmoothGradSquared,
    /// VarGrad over saliency.
    #[value(name = "vargrad")]
    VarGrad,
}

impl MethodChoice {
    /// Every method, in the order reports list them.
    pub const ALL: [MethodChoice; 7] = [
        MethodChoice::Saliency,
        MethodChoice::SaliencyAbs,
        MethodChoice::InputXGradient,
        MethodChoice::IntegratedGradients,
        MethodChoice::SmoothGrad,
        MethodChoice::SmoothGradSquared,
        MethodChoice::VarGrad,
    ];

    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            MethodChoice::Saliency => "saliency",
            MethodChoice::SaliencyAbs => "saliency-abs",
            MethodChoice::InputXGradient => "input-x-gradient",
            MethodChoice::IntegratedGradients => "integrated-gradients",
            MethodChoice::SmoothGrad => "smoothgrad",
            MethodChoice::SmoothGradSquared => "smoothgrad-squared",
            MethodChoice::VarGrad => "vargrad",
        }
    }

    /// Whether the method's maps are signed (shown on a diverging colormap) rather than
    /// non-negative.
    pub fn signed(self) -> bool {
        !matches!(
            self,
            MethodChoice::SaliencyAbs | MethodChoice::SmoothGradSquared | MethodChoice::VarGrad
        )
    }
}

impl fmt::Display for MethodChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The settings the methods take from the command line.
#[derive(Debug, Clone, Copy)]
pub struct MethodSettings {
    /// Integration steps (integrated gradients).
    pub steps: usize,
    /// Noisy copies (smoothgrad and its variants).
    pub samples: usize,
    /// Relative noise level (smoothgrad).
    pub noise: f64,
    /// The noise's seed.
    pub seed: u64,
    /// Rows per pass (`None`: the device's default).
    pub max_rows: Option<usize>,
}

/// A built method of any kind.
#[derive(Debug, Clone)]
pub enum AnyMethod {
    /// Saliency, signed or absolute.
    Saliency(Saliency),
    /// Gradient × input.
    InputXGradient(InputXGradient),
    /// Integrated gradients.
    IntegratedGradients(IntegratedGradients),
    /// A noise tunnel over saliency.
    Smooth(SmoothGrad<Saliency>),
}

impl AnyMethod {
    /// Builds `choice` with `settings`.
    ///
    /// # Errors
    ///
    /// A bad setting, as [`Error::InvalidConfig`].
    pub fn new(choice: MethodChoice, settings: &MethodSettings) -> Result<Self, Error> {
        let saliency = |abs: bool| {
            SaliencyConfig::new()
                .with_abs(abs)
                .with_max_rows(settings.max_rows)
                .init()
        };
        let smooth = |kind: SmoothKind| -> Result<AnyMethod, Error> {
            Ok(AnyMethod::Smooth(
                SmoothGradConfig::new()
                    .with_kind(kind)
                    .with_samples(settings.samples)
                    .with_noise_level(settings.noise)
                    .with_seed(settings.seed)
                    .with_max_rows(settings.max_rows)
                    .init(saliency(false)?)?,
            ))
        };
        Ok(match choice {
            MethodChoice::Saliency => AnyMethod::Saliency(saliency(false)?),
            MethodChoice::SaliencyAbs => AnyMethod::Saliency(saliency(true)?),
            MethodChoice::InputXGradient => AnyMethod::InputXGradient(
                InputXGradientConfig::new()
                    .with_max_rows(settings.max_rows)
                    .init()?,
            ),
            MethodChoice::IntegratedGradients => AnyMethod::IntegratedGradients(
                IntegratedGradientsConfig::new()
                    .with_steps(settings.steps)
                    .with_max_rows(settings.max_rows)
                    .init()?,
            ),
            MethodChoice::SmoothGrad => smooth(SmoothKind::Mean)?,
            MethodChoice::SmoothGradSquared => smooth(SmoothKind::MeanOfSquares)?,
            MethodChoice::VarGrad => smooth(SmoothKind::Variance)?,
        })
    }
}

impl<const D: usize> Attribution<D> for AnyMethod {
    fn attribute<M: Model<D> + ?Sized>(
        &self,
        model: &M,
        input: Tensor<D>,
        target: impl Into<Target>,
    ) -> Result<Attributions<D>, Error> {
        match self {
            AnyMethod::Saliency(m) => m.attribute(model, input, target),
            AnyMethod::InputXGradient(m) => m.attribute(model, input, target),
            AnyMethod::IntegratedGradients(m) => m.attribute(model, input, target),
            AnyMethod::Smooth(m) => m.attribute(model, input, target),
        }
    }
}
