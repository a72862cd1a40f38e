//! `ember compare`'s arguments, and the library configuration they make.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use ember::backend::Backend;
use ember::{BaseMethod, LayerMethod, MethodSpec, PerturbationMethod};
use ember_metrics::{CompareConfig, Replacement, SanityFeatures};
use ember_zoo::{CompareDefaults, ZooModel};

use crate::names::{MethodArgs, parse_baseline, parse_method, with_default_baselines};

/// Compares attribution methods on a zoo model: metrics, heatmaps and an HTML report.
#[derive(Args, Debug)]
pub struct CompareArgs {
    /// The model: cnn (digits, the default), mlp (digits), tabular (breast cancer), or
    /// efficientnet-lite0 (ImageNet, on `--images`, with `--weights`).
    #[arg(long, default_value = "cnn")]
    pub model: ZooModel,
    /// PyTorch-named weights (.safetensors or .pt/.pth state dict); default: the shipped
    /// weights (efficientnet-lite0 has none: its .pth is required).
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// Photos (PNG or JPEG) to explain with efficientnet-lite0 (each resized to 224×224 as
    /// Pillow's bilinear resize does, and normalised as `(pixel − 127) / 128`), in place of
    /// `--examples`; each is explained for the model's top class.
    #[arg(long, num_args = 1..)]
    pub images: Vec<PathBuf>,
    /// The methods, comma-separated; default: the gradient methods and noise tunnels (with
    /// grad-cam and blur-ig for the image models, grad-cam at their Grad-CAM layer), and
    /// occlusion, kernel-shap, shapley-value-sampling and gradient-shap (drawing from 64
    /// samples of the training split unless `--baselines` names a set) on the digits and
    /// breast-cancer models (on photos, perturbation methods and gradient-shap only when
    /// named). Names: those `ember methods` lists but the layer methods
    /// other than grad-cam, or a noise tunnel over another method, KIND:INNER (e.g.
    /// smoothgrad:integrated-gradients); aliases: ig, ixg, Captum's names.
    #[arg(long, value_delimiter = ',', value_parser = parse_method)]
    pub methods: Vec<MethodSpec>,
    /// How many test examples to explain (the first of the test split); default 16. Not for
    /// efficientnet-lite0, which explains `--images`.
    #[arg(long)]
    pub examples: Option<usize>,
    /// The backend: flex, ndarray, wgpu (any GPU), vulkan, gl, tch or tch-cuda (the `tch` feature).
    #[arg(long, default_value = "flex")]
    pub device: Backend,
    /// The report's directory (created; existing files of the same names are replaced).
    #[arg(long, default_value = "report")]
    pub out: PathBuf,
    /// The seed of every random draw (noise, perturbations, randomised layers).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Print `results.json` to stdout instead of the table.
    #[arg(long)]
    pub json: bool,
    /// The methods' settings.
    #[command(flatten)]
    pub settings: MethodArgs,
    /// Max-sensitivity: the L∞ radius of the input perturbations, in input units.
    #[arg(long, default_value_t = 0.1)]
    pub radius: f64,
    /// Max-sensitivity: perturbations per example; default 10, and 3 for efficientnet-lite0
    /// (each one re-runs every method on every photo).
    #[arg(long)]
    pub perturbations: Option<usize>,
    /// Deletion/insertion: points of each curve, fractions evenly spaced over [0, 1].
    #[arg(long, default_value_t = 16)]
    pub curve_steps: usize,
    /// Deletion/insertion: what a removed feature becomes: a number (`0`, the default),
    /// `mean` (the example's mean) or `blur:SIGMA` (a Gaussian blur, images only).
    #[arg(long, default_value = "0")]
    pub replacement: String,
    /// The sanity check passes when the similarity of a method's maps on the fully randomised
    /// model to those on the trained model is below this.
    #[arg(long, default_value_t = 0.5)]
    pub sanity_threshold: f64,
    /// The features the sanity check ranks: `all`, or `input-nonzero` (only the features the
    /// input does not zero, so that ×input methods are judged on the model's influence, not
    /// on the zeros they share with the input).
    #[arg(long, value_enum, default_value = "all")]
    pub sanity_features: SanityFeaturesArg,
}

/// The perturbation methods `ember compare` runs by default on the models of a test set
/// (digits, breast cancer).
pub const PERTURBATION_DEFAULTS: [PerturbationMethod; 3] = [
    PerturbationMethod::Occlusion,
    PerturbationMethod::KernelShap,
    PerturbationMethod::ShapleyValueSampling,
];

/// `--sanity-features`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SanityFeaturesArg {
    /// Every feature (Adebayo et al.).
    All,
    /// Only the features the input does not zero.
    InputNonzero,
}

/// `--replacement`: a number, `mean` or `blur:SIGMA`.
pub fn parse_replacement(text: &str) -> Result<Replacement, String> {
    let bad =
        || format!("`{text}` is not a replacement: expected a number, `mean` or `blur:SIGMA`");
    if text == "mean" {
        Ok(Replacement::Mean)
    } else if let Some(sigma) = text.strip_prefix("blur:") {
        Ok(Replacement::Blur {
            sigma: sigma.trim().parse().map_err(|_| bad())?,
        })
    } else {
        Ok(Replacement::Constant(text.parse().map_err(|_| bad())?))
    }
}

impl CompareArgs {
    /// The model's defaults, unless the flags say otherwise.
    fn defaults(&self) -> CompareDefaults {
        self.model.info().compare
    }

    /// `--steps`, or the model's default.
    pub fn steps(&self) -> usize {
        self.settings.steps_or(self.defaults().steps)
    }

    /// `--samples`, or the model's default.
    pub fn samples(&self) -> usize {
        self.settings.samples_or(self.defaults().samples)
    }

    /// `--perturbations`, or the model's default.
    pub fn perturbations(&self) -> usize {
        self.perturbations.unwrap_or(self.defaults().perturbations)
    }

    /// The library's configuration for these arguments.
    ///
    /// # Errors
    ///
    /// A replacement or baseline that does not parse.
    pub fn config(&self, dataset: &str) -> Result<CompareConfig, String> {
        let methods = if self.methods.is_empty() {
            let mut all = MethodSpec::ALL.to_vec();
            // Grad-CAM for the image models, at their Grad-CAM layer.
            if self.model.info().grad_cam_layer.is_some() {
                all.push(MethodSpec::Layer(LayerMethod::GradCam));
            }
            // The perturbation methods on the zoo's small models; on photos they cost
            // thousands of forward passes each, so only when asked.
            if self.model.info().data.test_set().is_some() {
                all.extend(PERTURBATION_DEFAULTS.map(MethodSpec::Perturbation));
                // GradientSHAP from samples of the training split.
                all.push(MethodSpec::Base(BaseMethod::GradientShap));
            }
            // Blur IG on images (it blurs the last two dimensions).
            if self.model.sample_shape().len() >= 2 {
                all.push(MethodSpec::Base(BaseMethod::BlurIg));
            }
            all
        } else {
            self.methods.clone()
        };
        let baseline = parse_baseline(&self.settings.baseline, self.seed)?;
        let defaults = [self.steps(), self.samples()];
        Ok(CompareConfig::new()
            .with_methods(methods.clone())
            .with_settings(with_default_baselines(
                self.settings.settings(defaults, baseline, self.seed)?,
                &methods,
                self.model,
            )?)
            .with_curve_steps(self.curve_steps)
            .with_replacement(parse_replacement(&self.replacement)?)
            .with_radius(self.radius)
            .with_perturbations(self.perturbations())
            .with_sanity_threshold(self.sanity_threshold)
            .with_sanity_features(match self.sanity_features {
                SanityFeaturesArg::All => SanityFeatures::All,
                SanityFeaturesArg::InputNonzero => SanityFeatures::InputNonZero,
            })
            .with_seed(self.seed)
            .with_model_name(self.model.to_string())
            .with_weights(
                self.weights
                    .as_ref()
                    .map_or("shipped".into(), |p| p.display().to_string()),
            )
            .with_dataset(dataset.to_string())
            .with_device_name(Some(self.device.to_string())))
    }
}
