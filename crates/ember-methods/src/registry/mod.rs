//! Every method of ember by name: one vocabulary for the command line, the comparison and the
//! benchmarks, one place that builds a method from its name and settings.
//!
//! A [`MethodSpec`] names a method: one of the four gradient methods ([`BaseMethod`]), or a
//! noise tunnel ([`SmoothKind`]) over one of them. [`MethodSettings`] holds every setting any
//! of them takes; [`MethodSpec::build`] makes an [`AnyMethod`], which is an [`ember_core::Attribution`].
//!
//! # Names
//!
//! | name | aliases | method |
//! |------|---------|--------|
//! | `saliency` | | the signed gradient |
//! | `saliency-abs` | `abs-saliency` | the absolute gradient (Captum's `Saliency` default) |
//! | `input-x-gradient` | `inputxgradient`, `gradient-x-input`, `ixg` | gradient × input |
//! | `integrated-gradients` | `integratedgradients`, `ig` | Integrated Gradients |
//! | `smoothgrad` | `smooth-grad` | SmoothGrad over saliency |
//! | `smoothgrad-squared` | `smoothgrad-sq` | SmoothGrad² over saliency |
//! | `vargrad` | `var-grad` | VarGrad over saliency |
//!
//! Names are read case-insensitively, with `_` read as `-` (so Captum's `smoothgrad_sq` works).
//! A noise tunnel over another method is `KIND:INNER`, e.g. `vargrad:integrated-gradients`;
//! `smoothgrad:saliency` is `smoothgrad`.
//!
//! # Example
//!
//! ```
//! use burn::tensor::{Device, Tensor};
//! use ember_core::{Attribution, Target};
//! use ember_methods::{MethodSettings, MethodSpec};
//!
//! let device = Device::flex();
//! let model = |x: Tensor<2>| x.clone() * x;
//! let x = Tensor::<2>::from_floats([[1.0, -2.0]], &device);
//! let spec: MethodSpec = "vargrad".parse()?;
//! assert!(!spec.signed());
//! let method = spec.build(&MethodSettings::new().with_samples(8))?;
//! let maps = method.attribute(&model, x, Target::Class(0))?;
//! assert_eq!(maps.values.dims(), [1, 2]);
//! # Ok::<(), ember_core::Error>(())
//! ```

mod built;
mod layer;
mod settings;

use std::fmt;
use std::str::FromStr;

use ember_core::{Error, Result};
use serde::{Deserialize, Serialize};

pub use built::{AnyMethod, Base};
pub use layer::{AnyLayerMethod, LayerMethod};
pub use settings::MethodSettings;

use crate::{InputXGradientConfig, SaliencyConfig, SmoothGradConfig, SmoothKind};

/// A gradient method that stands alone or inside a noise tunnel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BaseMethod {
    /// The signed gradient.
    Saliency,
    /// The absolute gradient.
    SaliencyAbs,
    /// Gradient × input.
    InputXGradient,
    /// Integrated Gradients.
    IntegratedGradients,
}

impl BaseMethod {
    /// Every base method, in the order reports list them.
    pub const ALL: [BaseMethod; 4] = [
        BaseMethod::Saliency,
        BaseMethod::SaliencyAbs,
        BaseMethod::InputXGradient,
        BaseMethod::IntegratedGradients,
    ];

    /// The method's name: `saliency`, `saliency-abs`, `input-x-gradient` or
    /// `integrated-gradients`.
    pub fn name(self) -> &'static str {
        match self {
            BaseMethod::Saliency => "saliency",
            BaseMethod::SaliencyAbs => "saliency-abs",
            BaseMethod::InputXGradient => "input-x-gradient",
            BaseMethod::IntegratedGradients => "integrated-gradients",
        }
    }

    /// Whether the method's maps can be negative.
    pub fn signed(self) -> bool {
        self != BaseMethod::SaliencyAbs
    }

    /// The model rows one sample costs (integration steps for Integrated Gradients, 1 for the
    /// others; the adaptive mode's rows are known only after the call).
    pub fn rows_per_sample(self, settings: &MethodSettings) -> usize {
        match self {
            BaseMethod::IntegratedGradients => settings.steps,
            _ => 1,
        }
    }

    fn build(self, settings: &MethodSettings) -> Result<Base> {
        let s = settings;
        Ok(match self {
            BaseMethod::Saliency | BaseMethod::SaliencyAbs => Base::Saliency(
                SaliencyConfig::new()
                    .with_abs(self == BaseMethod::SaliencyAbs)
                    .with_max_rows(s.max_rows)
                    .with_memory_budget(s.memory_budget)
                    .with_check_model(s.check_model)
                    .init()?,
            ),
            BaseMethod::InputXGradient => Base::InputXGradient(
                InputXGradientConfig::new()
                    .with_max_rows(s.max_rows)
                    .with_memory_budget(s.memory_budget)
                    .with_check_model(s.check_model)
                    .init()?,
            ),
            BaseMethod::IntegratedGradients => {
                Base::IntegratedGradients(s.integrated_gradients().init()?)
            }
        })
    }
}

/// A method by name: a gradient method, or a noise tunnel over one. Parse it from a name
/// (see the [module docs](self)), print it with its canonical name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MethodSpec {
    /// A gradient method on its own.
    Base(BaseMethod),
    /// A noise tunnel: the statistic `kind` of `inner` over noisy copies of the input.
    Smooth {
        /// The statistic over the noisy copies.
        kind: SmoothKind,
        /// The method evaluated on each noisy copy.
        inner: BaseMethod,
    },
    /// A layer method: it needs a model split at a layer ([`ember_core::SplitModel`]).
    Layer(LayerMethod),
}

impl MethodSpec {
    /// The methods `ember compare` runs by default: the four gradient methods, then the three
    /// noise tunnels over saliency.
    pub const ALL: [MethodSpec; 7] = [
        MethodSpec::Base(BaseMethod::Saliency),
        MethodSpec::Base(BaseMethod::SaliencyAbs),
        MethodSpec::Base(BaseMethod::InputXGradient),
        MethodSpec::Base(BaseMethod::IntegratedGradients),
        MethodSpec::Smooth {
            kind: SmoothKind::Mean,
            inner: BaseMethod::Saliency,
        },
        MethodSpec::Smooth {
            kind: SmoothKind::MeanOfSquares,
            inner: BaseMethod::Saliency,
        },
        MethodSpec::Smooth {
            kind: SmoothKind::Variance,
            inner: BaseMethod::Saliency,
        },
    ];

    /// A noise tunnel of `kind` over `inner`.
    pub fn smooth(kind: SmoothKind, inner: BaseMethod) -> Self {
        MethodSpec::Smooth { kind, inner }
    }

    /// The canonical name: `saliency`, …, `vargrad`, or `KIND:INNER` for a noise tunnel over
    /// anything but saliency.
    pub fn name(self) -> String {
        match self {
            MethodSpec::Base(base) => base.name().to_string(),
            MethodSpec::Smooth {
                kind,
                inner: BaseMethod::Saliency,
            } => kind.method_name().to_string(),
            MethodSpec::Smooth { kind, inner } => {
                format!("{}:{}", kind.method_name(), inner.name())
            }
            MethodSpec::Layer(layer) => layer.name().to_string(),
        }
    }

    /// Whether the method's maps can be negative (drawn on a diverging colormap) rather than
    /// non-negative: SmoothGrad² and VarGrad are not, nor is anything over `saliency-abs`.
    pub fn signed(self) -> bool {
        match self {
            MethodSpec::Base(base) => base.signed(),
            MethodSpec::Smooth { kind, inner } => kind == SmoothKind::Mean && inner.signed(),
            MethodSpec::Layer(layer) => layer.signed(),
        }
    }

    /// The model rows one sample costs with `settings` (fixed-step methods; see
    /// [`BaseMethod::rows_per_sample`]).
    pub fn rows_per_sample(self, settings: &MethodSettings) -> usize {
        match self {
            MethodSpec::Base(base) => base.rows_per_sample(settings),
            MethodSpec::Smooth { inner, .. } => settings.samples * inner.rows_per_sample(settings),
            MethodSpec::Layer(LayerMethod::LayerIntegratedGradients) => settings.steps,
            MethodSpec::Layer(_) => 1,
        }
    }

    /// Builds the method with `settings` (each method reads the settings it has).
    ///
    /// # Errors
    ///
    /// A bad setting of the method, as [`Error::InvalidConfig`] (e.g. zero steps).
    pub fn build(self, settings: &MethodSettings) -> Result<AnyMethod> {
        Ok(match self {
            MethodSpec::Base(base) => AnyMethod::Base(base.build(settings)?),
            MethodSpec::Smooth { kind, inner } => AnyMethod::Smooth(
                SmoothGradConfig::new()
                    .with_kind(kind)
                    .with_samples(settings.samples)
                    .with_noise_level(settings.noise)
                    .with_noise_scale(settings.noise_scale)
                    .with_seed(settings.seed)
                    .with_max_rows(settings.max_rows)
                    .with_memory_budget(settings.memory_budget)
                    .with_check_model(settings.check_model)
                    .init(inner.build(settings)?)?,
            ),
            MethodSpec::Layer(layer) => AnyMethod::Layer(layer.build(settings)?),
        })
    }
}

impl From<BaseMethod> for MethodSpec {
    fn from(base: BaseMethod) -> Self {
        MethodSpec::Base(base)
    }
}

impl fmt::Display for MethodSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl fmt::Display for BaseMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The names [`MethodSpec`] and [`BaseMethod`] read, for error messages.
pub const METHOD_NAMES: &str = "saliency, saliency-abs, input-x-gradient, integrated-gradients, \
     smoothgrad, smoothgrad-squared, vargrad, KIND:INNER (e.g. vargrad:integrated-gradients), or \
     a layer method: grad-cam, layer-gradient, layer-gradient-x-activation, \
     layer-integrated-gradients";

fn normalise(name: &str) -> String {
    name.trim().to_ascii_lowercase().replace('_', "-")
}

fn unknown(name: &str) -> Error {
    Error::InvalidConfig {
        name: "method",
        value: format!("`{name}`"),
        expected: METHOD_NAMES,
    }
}

impl FromStr for BaseMethod {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self> {
        Ok(match normalise(name).as_str() {
            "saliency" => BaseMethod::Saliency,
            "saliency-abs" | "abs-saliency" => BaseMethod::SaliencyAbs,
            "input-x-gradient" | "inputxgradient" | "gradient-x-input" | "ixg" => {
                BaseMethod::InputXGradient
            }
            "integrated-gradients" | "integratedgradients" | "ig" => {
                BaseMethod::IntegratedGradients
            }
            _ => return Err(unknown(name)),
        })
    }
}

fn smooth_kind(name: &str) -> Option<SmoothKind> {
    Some(match name {
        "smoothgrad" | "smooth-grad" => SmoothKind::Mean,
        "smoothgrad-squared" | "smoothgrad-sq" => SmoothKind::MeanOfSquares,
        "vargrad" | "var-grad" => SmoothKind::Variance,
        _ => return None,
    })
}

impl FromStr for MethodSpec {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self> {
        let normal = normalise(name);
        if let Some((kind, inner)) = normal.split_once(':') {
            let kind = smooth_kind(kind.trim()).ok_or_else(|| unknown(name))?;
            let inner = inner.parse().map_err(|_| unknown(name))?;
            return Ok(MethodSpec::Smooth { kind, inner });
        }
        if let Some(kind) = smooth_kind(&normal) {
            return Ok(MethodSpec::Smooth {
                kind,
                inner: BaseMethod::Saliency,
            });
        }
        if let Ok(layer) = normal.parse() {
            return Ok(MethodSpec::Layer(layer));
        }
        normal
            .parse()
            .map(MethodSpec::Base)
            .map_err(|_| unknown(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SmoothKind;

    #[test]
    fn every_name_round_trips_and_aliases_read_as_their_method() {
        for spec in MethodSpec::ALL {
            assert_eq!(spec.name().parse::<MethodSpec>().unwrap(), spec);
        }
        for inner in BaseMethod::ALL {
            for kind in [
                SmoothKind::Mean,
                SmoothKind::MeanOfSquares,
                SmoothKind::Variance,
            ] {
                let spec = MethodSpec::smooth(kind, inner);
                assert_eq!(spec.name().parse::<MethodSpec>().unwrap(), spec);
            }
        }
        for layer in LayerMethod::ALL {
            let spec = MethodSpec::Layer(layer);
            assert_eq!(spec.name().parse::<MethodSpec>().unwrap(), spec);
        }
        let read = |s: &str| s.parse::<MethodSpec>().unwrap().name();
        assert_eq!(read("GradCAM"), "grad-cam");
        assert_eq!(read("layer_ig"), "layer-integrated-gradients");
        assert_eq!(read("IG"), "integrated-gradients");
        assert_eq!(read("smoothgrad_sq"), "smoothgrad-squared");
        assert_eq!(read("InputXGradient"), "input-x-gradient");
        assert_eq!(read("smoothgrad:saliency"), "smoothgrad");
        assert_eq!(read("vargrad:ig"), "vargrad:integrated-gradients");
        for bad in [
            "",
            "deeplift",
            "smoothgrad:vargrad",
            "saliency:ig",
            "vargrad:grad-cam",
        ] {
            assert!(matches!(
                bad.parse::<MethodSpec>(),
                Err(Error::InvalidConfig { name: "method", .. })
            ));
        }
    }

    #[test]
    fn signs_follow_the_statistic_and_the_inner_method() {
        let signed: Vec<bool> = MethodSpec::ALL.iter().map(|m| m.signed()).collect();
        assert_eq!(signed, [true, false, true, true, true, false, false]);
        assert!(!MethodSpec::smooth(SmoothKind::Mean, BaseMethod::SaliencyAbs).signed());
    }

    #[test]
    fn bad_settings_are_typed_errors_from_build() {
        let zero_steps = MethodSettings::new().with_steps(0);
        assert!(matches!(
            MethodSpec::Base(BaseMethod::IntegratedGradients).build(&zero_steps),
            Err(Error::InvalidConfig { .. })
        ));
        assert!(
            MethodSpec::Base(BaseMethod::Saliency)
                .build(&zero_steps)
                .is_ok()
        );
        let zero_samples = MethodSettings::new().with_samples(0);
        assert!(matches!(
            MethodSpec::ALL[4].build(&zero_samples),
            Err(Error::InvalidConfig { .. })
        ));
    }
}
