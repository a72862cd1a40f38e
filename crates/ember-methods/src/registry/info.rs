//! What a method says about itself: the entry each method file declares, and the registry
//! reads.

use ember_core::Result;

use super::MethodSettings;

/// The family a method belongs to: how it computes its maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Family {
    /// One gradient per sample (saliency, gradient × input).
    Gradient,
    /// Gradients along a path from a baseline to the input (Integrated Gradients).
    Path,
    /// A statistic of another method over noisy copies of the input (SmoothGrad, VarGrad).
    NoiseTunnel,
    /// A map of a layer's activations, for a model split at that layer (Grad-CAM, Layer IG).
    Layer,
    /// Attention weights read from a transformer, no gradient (attention rollout).
    Attention,
    /// Forward passes on perturbed inputs, no gradient (occlusion, Shapley values, LIME).
    Perturbation,
}

impl Family {
    /// The family's name in tables: `gradient`, `path`, `noise tunnel`, `layer`, `attention`,
    /// `perturbation`.
    pub fn name(self) -> &'static str {
        match self {
            Family::Gradient => "gradient",
            Family::Path => "path",
            Family::NoiseTunnel => "noise tunnel",
            Family::Layer => "layer",
            Family::Attention => "attention",
            Family::Perturbation => "perturbation",
        }
    }
}

/// A method's description of itself: declared once, in the method's own file, and read by the
/// registry for parsing (`FromStr`), the list of names, the command line's help, the docs'
/// table and the reports' method name.
#[derive(Debug)]
pub struct MethodInfo {
    /// The canonical name, kebab-case: `integrated-gradients`.
    pub name: &'static str,
    /// Other names it is read by (Captum's class names among them), already normalised
    /// (lowercase, `-` for `_`).
    pub aliases: &'static [&'static str],
    /// One line on what it computes.
    pub summary: &'static str,
    /// The Captum class it matches, where there is one.
    pub captum: Option<&'static str>,
    /// Whether its maps can be negative (drawn on a diverging colormap).
    pub signed: bool,
    /// Its family.
    pub family: Family,
    /// Its cost in model rows per sample, in words (`steps`, `1`), for tables.
    pub cost: &'static str,
    /// Its cost in model rows per sample with given settings, for an input of shape `dims`
    /// (`[N, ...]`: a perturbation method's cost depends on a sample's groups; fixed-step
    /// modes: the adaptive mode's rows are known only after the call).
    pub rows_per_sample: fn(&MethodSettings, &[usize]) -> usize,
}

impl MethodInfo {
    /// Whether `name` (normalised: see [`normalise`]) is this method's name or an alias.
    pub fn is_named(&self, name: &str) -> bool {
        self.name == name || self.aliases.contains(&name)
    }
}

/// A method's entry in the registry: its description, and how it is built from settings into
/// the registry's type `M` of built methods.
#[derive(Debug)]
pub struct Entry<M> {
    /// The method's description.
    pub info: MethodInfo,
    /// Builds the method from the settings it reads.
    pub build: fn(&MethodSettings) -> Result<M>,
}

/// The cost of a method that runs each sample once.
pub fn one_row(_: &MethodSettings, _: &[usize]) -> usize {
    1
}

/// A method name as the registry reads it: trimmed, lowercase, `_` read as `-` (so Captum's
/// `smoothgrad_sq` and `IntegratedGradients` work).
pub fn normalise(name: &str) -> String {
    name.trim().to_ascii_lowercase().replace('_', "-")
}
