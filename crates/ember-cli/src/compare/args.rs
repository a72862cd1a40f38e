//! `ember compare`'s arguments, and the library configuration they make.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use ember::backend::Backend;
use ember::{MethodSettings, MethodSpec};
use ember_metrics::{CompareConfig, Replacement, SanityFeatures};
use ember_zoo::ZooModel;

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
    /// The methods, comma-separated; default: every method ember has (with grad-cam for cnn, at
    /// its last conv block). Names: saliency, saliency-abs, input-x-gradient,
    /// integrated-gradients, smoothgrad, smoothgrad-squared, vargrad, grad-cam (cnn), or a noise
    /// tunnel over another method, KIND:INNER (e.g. smoothgrad:integrated-gradients); aliases:
    /// ig, ixg, Captum's names.
    #[arg(long, value_delimiter = ',', value_parser = parse_method)]
    pub methods: Vec<MethodSpec>,
    /// How many test examples to explain (the first of the test split); default 16. Not for
    /// efficientnet-lite0, which explains `--images`.
    #[arg(long)]
    pub examples: Option<usize>,
    /// The backend: flex, ndarray, wgpu (any GPU), vulkan, tch or tch-cuda (the `tch` feature).
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
    /// Integration steps (integrated gradients); default 50, and 64 for efficientnet-lite0
    /// (chosen from its measured deltas: docs/src/efficientnet.md).
    #[arg(long)]
    pub steps: Option<usize>,
    /// Adaptive integrated gradients: double each example's steps until |delta| ≤ tolerance ·
    /// |F(x) − F(x′)| (`--steps` is then not used); the steps each example used are reported.
    #[arg(long)]
    pub tolerance: Option<f64>,
    /// Adaptive integrated gradients: the most steps per example.
    #[arg(long, default_value_t = 1025)]
    pub max_steps: usize,
    /// Noisy copies (smoothgrad, smoothgrad-squared, vargrad); default 50, and 16 for
    /// efficientnet-lite0.
    #[arg(long)]
    pub samples: Option<usize>,
    /// Relative noise level (smoothgrad): σ = noise · (max − min) of each input.
    #[arg(long, default_value_t = 0.15)]
    pub noise: f64,
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
    /// The most rows per forward+backward pass (default: the device's).
    #[arg(long)]
    pub max_rows: Option<usize>,
    /// The bytes of a pass's input rows (default: 16 MiB on CPU backends, 64 MiB on GPUs).
    #[arg(long)]
    pub memory_budget: Option<usize>,
}

/// `--sanity-features`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SanityFeaturesArg {
    /// Every feature (Adebayo et al.).
    All,
    /// Only the features the input does not zero.
    InputNonzero,
}

/// A method name, for clap.
pub fn parse_method(name: &str) -> Result<MethodSpec, String> {
    name.parse().map_err(|e: ember::Error| e.to_string())
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
    /// Whether the model is a real-size one, whose defaults are smaller.
    fn large(&self) -> bool {
        self.model == ZooModel::EfficientNetLite0
    }

    /// `--steps`, or the model's default.
    pub fn steps(&self) -> usize {
        self.steps.unwrap_or(if self.large() { 64 } else { 50 })
    }

    /// `--samples`, or the model's default.
    pub fn samples(&self) -> usize {
        self.samples.unwrap_or(if self.large() { 16 } else { 50 })
    }

    /// `--perturbations`, or the model's default.
    pub fn perturbations(&self) -> usize {
        self.perturbations
            .unwrap_or(if self.large() { 3 } else { 10 })
    }

    /// The library's configuration for these arguments.
    ///
    /// # Errors
    ///
    /// A replacement that does not parse.
    pub fn config(&self, dataset: &str) -> Result<CompareConfig, String> {
        let methods = if self.methods.is_empty() {
            let mut all = MethodSpec::ALL.to_vec();
            // Grad-CAM for the image models, at their last conv block.
            if matches!(self.model, ZooModel::Cnn | ZooModel::EfficientNetLite0) {
                all.push(MethodSpec::Layer(ember::LayerMethod::GradCam));
            }
            all
        } else {
            self.methods.clone()
        };
        Ok(CompareConfig::new()
            .with_methods(methods)
            .with_settings(
                MethodSettings::new()
                    .with_steps(self.steps())
                    .with_tolerance(self.tolerance)
                    .with_max_steps(self.max_steps)
                    .with_samples(self.samples())
                    .with_noise(self.noise)
                    .with_seed(self.seed)
                    .with_max_rows(self.max_rows)
                    .with_memory_budget(self.memory_budget),
            )
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
