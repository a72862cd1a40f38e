//! Every method of ember by name: one vocabulary for the command line, the comparison and the
//! benchmarks, one place that builds a method from its name and settings.
//!
//! A [`MethodSpec`] names a method: one of the four gradient methods ([`BaseMethod`]), or a
//! noise tunnel ([`SmoothKind`]) over one of them. [`MethodSettings`] holds every setting any
//! of them takes; [`MethodSpec::build`] makes an [`AnyMethod`], which is an [`ember_core::Attribution`].
//!
//! # Names
//!
//! Each method declares its entry ([`Entry`], [`MethodInfo`]) in its own file: its name,
//! aliases (Captum's class names among them), family, sign and cost. This module lists them
//! ([`methods`]), parses them ([`MethodSpec`]'s `FromStr`), and builds them. `ember methods`
//! prints the list; docs/src/methods/README.md has it as a table ([`markdown_table`]).
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
mod info;
mod settings;
#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use burn::tensor::Tensor;
use ember_core::{
    Attribution, Attributions, Error, LayerAttribution, Model, Result, SplitModel, Target,
};
use serde::{Deserialize, Serialize};

pub use built::AnyMethod;
pub use info::{Entry, Family, MethodInfo, normalise, one_row};
pub use settings::MethodSettings;

use crate::{
    BlurIg, FeatureAblation, FeaturePermutation, GradCam, GradientShap, GuidedIg, InputXGradient,
    IntegratedGradients, KernelShap, LayerGradient, LayerIntegratedGradients, Lime, Occlusion,
    Saliency, ShapleyValueSampling, ShapleyValues, SmoothGradConfig, SmoothKind,
};

/// Declares a list of methods: the enum that names them (`$spec`, with `ALL`, its entries,
/// `FromStr`), the enum of the methods built (`$built`) and its dispatch to `$trait`. Adding a
/// method is one line here, with the entry its own file declares.
macro_rules! registry {
    (@count) => { 0usize };
    (@count $head:ident $($rest:ident)*) => { 1usize + registry!(@count $($rest)*) };
    (@impl input $built:ident { $($variant:ident),+ }) => {
        impl<const D: usize> Attribution<D> for $built {
            fn attribute<M: Model<D> + ?Sized>(
                &self,
                model: &M,
                input: Tensor<D>,
                target: impl Into<Target>,
            ) -> Result<Attributions<D>> {
                match self {
                    $($built::$variant(m) => m.attribute(model, input, target),)+
                }
            }
        }
    };
    (@impl layer $built:ident { $($variant:ident),+ }) => {
        impl<const D: usize, const H: usize> LayerAttribution<D, H> for $built {
            fn attribute_layer<S: SplitModel<D, H> + ?Sized>(
                &self,
                model: &S,
                input: Tensor<D>,
                target: impl Into<Target>,
            ) -> Result<Attributions<H>> {
                match self {
                    $($built::$variant(m) => m.attribute_layer(model, input, target),)+
                }
            }
        }
    };
    (
        $kind:ident;
        $(#[$spec_meta:meta])* $spec:ident;
        $(#[$built_meta:meta])* $built:ident;
        $( $(#[$meta:meta])* $variant:ident($ty:ty) = $entry:expr; )+
    ) => {
        $(#[$spec_meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $spec {
            $( $(#[$meta])* $variant, )+
        }

        impl $spec {
            /// Every method of the list, in the order reports list them.
            pub const ALL: [$spec; registry!(@count $($variant)+)] = [$($spec::$variant),+];

            /// The method's entry, declared in its own file.
            pub fn entry(self) -> &'static Entry<$built> {
                match self {
                    $($spec::$variant => &$entry,)+
                }
            }

            /// What the method says about itself.
            pub fn info(self) -> &'static MethodInfo {
                &self.entry().info
            }

            /// The method's canonical name.
            pub fn name(self) -> &'static str {
                self.info().name
            }

            /// Whether the method's maps can be negative.
            pub fn signed(self) -> bool {
                self.info().signed
            }

            /// The model rows one sample of an input of shape `dims` costs with `settings`
            /// (fixed-step modes; the adaptive mode's rows are known only after the call).
            pub fn rows_per_sample(self, settings: &MethodSettings, dims: &[usize]) -> usize {
                (self.info().rows_per_sample)(settings, dims)
            }

            /// Builds the method with `settings` (it reads the settings it has).
            ///
            /// # Errors
            ///
            /// A bad setting, as [`Error::InvalidConfig`] (e.g. zero steps).
            pub fn build(self, settings: &MethodSettings) -> Result<$built> {
                (self.entry().build)(settings)
            }
        }

        impl FromStr for $spec {
            type Err = Error;

            fn from_str(name: &str) -> Result<Self> {
                let normal = normalise(name);
                Self::ALL
                    .iter()
                    .copied()
                    .find(|m| m.info().is_named(&normal))
                    .ok_or_else(|| unknown(name))
            }
        }

        impl fmt::Display for $spec {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }

        $(#[$built_meta])*
        #[derive(Debug, Clone)]
        pub enum $built {
            $( $(#[$meta])* $variant($ty), )+
        }

        registry!(@impl $kind $built { $($variant),+ });
    };
}

registry! {
    input;
    /// A gradient method that stands alone or inside a noise tunnel.
    BaseMethod;
    /// One of the gradient methods, built.
    Base;
    /// The signed gradient.
    Saliency(Saliency) = crate::saliency::SALIENCY;
    /// The absolute gradient.
    SaliencyAbs(Saliency) = crate::saliency::SALIENCY_ABS;
    /// Gradient × input.
    InputXGradient(InputXGradient) = crate::input_x_gradient::INFO;
    /// Integrated Gradients.
    IntegratedGradients(IntegratedGradients) = crate::integrated_gradients::INFO;
    /// GradientSHAP: Captum's 5 draws from a set of baselines.
    GradientShap(GradientShap) = crate::gradient_shap::GRADIENT_SHAP;
    /// Expected Gradients: the same estimator, 200 draws.
    ExpectedGradients(GradientShap) = crate::gradient_shap::EXPECTED_GRADIENTS;
    /// Blur IG.
    BlurIg(BlurIg) = crate::blur_ig::INFO;
    /// Guided IG.
    GuidedIg(GuidedIg) = crate::guided_ig::INFO;
}

registry! {
    layer;
    /// A layer method: it explains a layer's activations of a model split there
    /// ([`ember_core::SplitModel`]).
    LayerMethod;
    /// A layer method of the registry, built.
    AnyLayerMethod;
    /// Grad-CAM (with its ReLU).
    GradCam(GradCam) = crate::grad_cam::INFO;
    /// The gradient with respect to the layer.
    LayerGradient(LayerGradient) = crate::layer_gradient::LAYER_GRADIENT;
    /// The layer gradient times the activations.
    LayerGradientXActivation(LayerGradient) = crate::layer_gradient::LAYER_GRADIENT_X_ACTIVATION;
    /// Layer Integrated Gradients.
    LayerIntegratedGradients(LayerIntegratedGradients) = crate::layer_integrated_gradients::INFO;
}

registry! {
    input;
    /// A perturbation method: forward passes on perturbed copies of the input, no gradient.
    PerturbationMethod;
    /// One of the perturbation methods, built.
    Perturbation;
    /// Occlusion.
    Occlusion(Occlusion) = crate::occlusion::INFO;
    /// Feature ablation.
    FeatureAblation(FeatureAblation) = crate::feature_ablation::INFO;
    /// Exact Shapley values.
    ShapleyValues(ShapleyValues) = crate::shapley_values::INFO;
    /// Shapley value sampling.
    ShapleyValueSampling(ShapleyValueSampling) = crate::shapley_value_sampling::INFO;
    /// KernelSHAP.
    KernelShap(KernelShap) = crate::kernel_shap::INFO;
    /// LIME.
    Lime(Lime) = crate::lime::INFO;
    /// Feature permutation.
    FeaturePermutation(FeaturePermutation) = crate::feature_permutation::INFO;
}

/// The number of groups of one sample of an input of shape `dims` under `settings`'s feature
/// mask (or the default one), for the perturbation methods' costs; 0 for a mask that does not
/// fit.
pub fn groups_of(settings: &MethodSettings, dims: &[usize]) -> usize {
    let default;
    let mask = match &settings.feature_mask {
        Some(mask) => mask,
        None => {
            default = ember_core::FeatureMask::default_for(dims);
            &default
        }
    };
    mask.groups(dims).map_or(0, |g| g.count())
}

/// Every method ember has, in the order `ember methods` lists them: the gradient methods, the
/// noise tunnels (over saliency by default), the layer methods, attention rollout, the
/// perturbation methods.
pub fn methods() -> Vec<&'static MethodInfo> {
    let mut all: Vec<&'static MethodInfo> = BaseMethod::ALL.iter().map(|m| m.info()).collect();
    all.extend(SmoothKind::ALL.iter().map(|k| k.info()));
    all.extend(LayerMethod::ALL.iter().map(|m| m.info()));
    all.push(&crate::attention_rollout::INFO);
    all.extend(PerturbationMethod::ALL.iter().map(|m| m.info()));
    all
}

/// The method of a name or alias (read as [`normalise`] says), if ember has it.
pub fn find(name: &str) -> Option<&'static MethodInfo> {
    let normal = normalise(name);
    methods().into_iter().find(|m| m.is_named(&normal))
}

/// The names `--method` and [`MethodSpec`] read, for help and error messages.
pub fn method_names() -> &'static str {
    static NAMES: OnceLock<String> = OnceLock::new();
    NAMES.get_or_init(|| {
        let names =
            |infos: Vec<&MethodInfo>| infos.iter().map(|m| m.name).collect::<Vec<_>>().join(", ");
        format!(
            "{}, {}, KIND:INNER (e.g. vargrad:integrated-gradients), a layer method: {}, or a \
             perturbation method: {}",
            names(BaseMethod::ALL.iter().map(|m| m.info()).collect()),
            names(SmoothKind::ALL.iter().map(|k| k.info()).collect()),
            names(LayerMethod::ALL.iter().map(|m| m.info()).collect()),
            names(PerturbationMethod::ALL.iter().map(|m| m.info()).collect()),
        )
    })
}

/// The names [`MethodSpec`] and [`BaseMethod`] read, for error messages.
#[deprecated(note = "use `method_names()`, which the registry's entries make")]
pub const METHOD_NAMES: &str = "saliency, saliency-abs, input-x-gradient, integrated-gradients, \
     gradient-shap, expected-gradients, blur-ig, guided-ig, smoothgrad, smoothgrad-squared, vargrad, KIND:INNER (e.g. vargrad:integrated-gradients), \
     a layer method: grad-cam, layer-gradient, layer-gradient-x-activation, \
     layer-integrated-gradients, or a perturbation method: occlusion, feature-ablation, \
     shapley-values, shapley-value-sampling, kernel-shap, lime, feature-permutation";

/// The registry as a Markdown table (name, aliases, Captum, family, signed, rows per sample,
/// summary): the table of docs/src/methods/README.md, which a test keeps equal to this.
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| name | aliases | Captum | family | signed | rows per sample | what it computes |\n\
         |------|---------|--------|--------|--------|-----------------|------------------|\n",
    );
    // A `|` inside a cell would end it.
    let cell = |text: &str| text.replace('|', "\\|");
    for m in methods() {
        let aliases: Vec<String> = m.aliases.iter().map(|a| format!("`{a}`")).collect();
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} | {} |\n",
            m.name,
            aliases.join(", "),
            m.captum.map_or(String::new(), |c| format!("`{c}`")),
            m.family.name(),
            if m.signed { "yes" } else { "no" },
            cell(m.cost),
            cell(m.summary)
        ));
    }
    out
}

fn unknown(name: &str) -> Error {
    Error::InvalidConfig {
        name: "method",
        value: format!("`{name}`"),
        expected: method_names(),
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
    /// A perturbation method (forward only).
    Perturbation(PerturbationMethod),
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

    /// What the method says about itself (a noise tunnel: its kind's entry).
    pub fn info(self) -> &'static MethodInfo {
        match self {
            MethodSpec::Base(base) => base.info(),
            MethodSpec::Smooth { kind, .. } => kind.info(),
            MethodSpec::Layer(layer) => layer.info(),
            MethodSpec::Perturbation(method) => method.info(),
        }
    }

    /// The canonical name: `saliency`, …, `vargrad`, or `KIND:INNER` for a noise tunnel over
    /// anything but saliency.
    pub fn name(self) -> String {
        match self {
            MethodSpec::Smooth { kind, inner } if inner != BaseMethod::Saliency => {
                format!("{}:{}", kind.info().name, inner.name())
            }
            spec => spec.info().name.to_string(),
        }
    }

    /// Whether the method's maps can be negative (drawn on a diverging colormap) rather than
    /// non-negative: SmoothGrad² and VarGrad are not, nor is anything over `saliency-abs`.
    pub fn signed(self) -> bool {
        match self {
            MethodSpec::Smooth { kind, inner } => kind.info().signed && inner.signed(),
            spec => spec.info().signed,
        }
    }

    /// The groups the method perturbs together on an input of shape `dims`: its feature mask
    /// (`settings.feature_mask`, or [`ember_core::FeatureMask::default_for`] the input)
    /// resolved, for the perturbation methods that partition the input (all but occlusion,
    /// whose windows overlap); `None` for the others.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidMask`] for a mask that does not fit the input.
    pub fn groups(
        self,
        settings: &MethodSettings,
        dims: &[usize],
    ) -> Result<Option<ember_core::Groups>> {
        match self {
            MethodSpec::Perturbation(PerturbationMethod::Occlusion) => Ok(None),
            MethodSpec::Perturbation(_) => {
                let default;
                let mask = match &settings.feature_mask {
                    Some(mask) => mask,
                    None => {
                        default = ember_core::FeatureMask::default_for(dims);
                        &default
                    }
                };
                mask.groups(dims).map(Some)
            }
            _ => Ok(None),
        }
    }

    /// The model rows one sample costs with `settings` (fixed-step methods; see
    /// [`BaseMethod::rows_per_sample`]), for an input of shape `dims`.
    pub fn rows_per_sample(self, settings: &MethodSettings, dims: &[usize]) -> usize {
        match self {
            MethodSpec::Smooth { inner, .. } => {
                settings.samples * inner.rows_per_sample(settings, dims)
            }
            spec => (spec.info().rows_per_sample)(settings, dims),
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
                    .with_kernel(settings.kernel.clone())
                    .init(inner.build(&settings.clone().with_draw_noise(0.0))?)?,
            ),
            MethodSpec::Layer(layer) => AnyMethod::Layer(layer.build(settings)?),
            MethodSpec::Perturbation(method) => AnyMethod::Perturbation(method.build(settings)?),
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

fn smooth_kind(name: &str) -> Option<SmoothKind> {
    SmoothKind::ALL
        .iter()
        .copied()
        .find(|k| k.info().is_named(name))
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
        if let Ok(method) = normal.parse() {
            return Ok(MethodSpec::Perturbation(method));
        }
        normal
            .parse()
            .map(MethodSpec::Base)
            .map_err(|_| unknown(name))
    }
}
