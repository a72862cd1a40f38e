//! Why a text is similar to a reference: the cosine similarity of their sentence embeddings,
//! attributed to the text's tokens.
//!
//! [`SimilarityModel`] is the score as a model split at the word-embedding lookup: its input
//! is the token ids `[N, T]` (as floats), its layer the word embeddings `[N, T, E]`, its
//! output `[N, 1]`, the similarity to a fixed reference embedding. The attention mask follows
//! the rows as an auxiliary input, so texts of different lengths share a padded batch and get
//! the attributions they get alone. [`explain_similarity`] runs one method on it:
//!
//! - **Layer Integrated Gradients** over the word embeddings (Captum's
//!   `LayerIntegratedGradients` on `embeddings.word_embeddings`): the baseline is the `[PAD]`
//!   embedding at every position except `[CLS]` and `[SEP]`, which keep theirs, so the special
//!   tokens score 0 and the tokens' scores sum to `F(x) − F(x′)` up to the reported delta;
//! - **saliency** (the gradient with respect to the embeddings) and **gradient × input** (times
//!   the embeddings);
//! - **SmoothGrad**: the mean gradient over noisy copies of the embeddings;
//! - **attention rollout** (see [`ember_methods::attention_rollout`]): no gradient, and the same
//!   for every reference;
//! - **occlusion** and **KernelSHAP** over tokens (forward only): a removed token's embedding is
//!   replaced by IG's baseline, the `[PAD]` embedding (`[CLS]` and `[SEP]` keep theirs, so
//!   they score 0, as do the padding positions of shorter texts); occlusion removes one token
//!   at a time, KernelSHAP fits the Shapley kernel over `samples` coalitions of tokens (exact
//!   Shapley values when they cover every coalition), its scores summing to `F(x) − F(x′)`.
//!
//! A gradient method's token score is its `[E]` vector reduced: summed ([`Reduction::Sum`],
//! signed, what IG's completeness is about) or its L2 norm ([`Reduction::L2`], a magnitude). A
//! perturbation method scores each token as a whole: no reduction.

use burn::tensor::Tensor;
use ember_core::{
    Attribution, Baseline, LayerAttribution, Model, Quadrature, RowSamples, SplitModel, Tail,
    Target, Whole,
};
use ember_methods::MethodInfo;
use ember_methods::{
    IntegratedGradientsConfig, KernelShapConfig, LayerGradientConfig,
    LayerIntegratedGradientsConfig, OcclusionConfig, RolloutRead, SaliencyConfig, SmoothGradConfig,
    rollout,
};
use serde::Serialize;

use crate::TextError;
use crate::encoder::{Pooling, SentenceEncoder, l2_normalise, pool};
use crate::tokenizer::Batch;

/// The similarity of each text of a batch to a reference, split at the word embeddings.
#[derive(Debug)]
pub struct SimilarityModel<'a> {
    encoder: &'a SentenceEncoder,
    reference: Tensor<2>,
    mask: Tensor<2>,
}

impl<'a> SimilarityModel<'a> {
    /// The similarity of `batch`'s texts to the sentence embedding `reference` (`[1, E]`; it
    /// is L2-normalised here).
    pub fn new(encoder: &'a SentenceEncoder, reference: Tensor<2>, batch: &Batch) -> Self {
        Self {
            encoder,
            reference: l2_normalise(reference),
            mask: batch.mask(encoder.device()),
        }
    }

    /// The similarity `[N, 1]` of every text of the batch at the ids `[N, T]`.
    pub fn scores(&self, ids: Tensor<2>) -> Tensor<2> {
        let rows = RowSamples::identity(ids.dims()[0]);
        Whole::<_, 3>::new(self).forward_rows(ids, &rows)
    }
}

impl SplitModel<2, 3> for SimilarityModel<'_> {
    /// The word embeddings of the ids. Ids are rounded and clamped into the vocabulary (ember's
    /// once-per-call model check evaluates a perturbed copy of the input; real ids are exact).
    fn head(&self, ids: Tensor<2>, _rows: &RowSamples) -> Tensor<3> {
        let last = self.encoder.bert.vocab_size().saturating_sub(1) as f64;
        let ids = ids.without_autodiff().round().clamp(0.0, last).int();
        self.encoder.bert.embed_words(ids)
    }

    fn tail(&self, words: Tensor<3>, rows: &RowSamples) -> Tensor<2> {
        let mask = rows.gather(&self.mask);
        let (hidden, _) = self.encoder.bert.encode(words, mask.clone(), false);
        let embedding = l2_normalise(pool(hidden, mask, self.encoder.pooling));
        (embedding * self.reference.clone()).sum_dim(1)
    }

    fn auxiliary_samples(&self) -> Vec<usize> {
        vec![self.mask.dims()[0]]
    }
}

/// A method that explains a similarity token by token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SimilarityMethod {
    /// Layer Integrated Gradients over the word embeddings.
    IntegratedGradients,
    /// The gradient with respect to the word embeddings.
    Saliency,
    /// The gradient times the word embeddings.
    InputXGradient,
    /// SmoothGrad: the mean gradient over noisy copies of the word embeddings.
    #[serde(rename = "smoothgrad")]
    SmoothGrad,
    /// Attention rollout (no gradient).
    AttentionRollout,
    /// Occlusion: one token at a time replaced by the `[PAD]` embedding (forward only).
    Occlusion,
    /// KernelSHAP over the tokens, removed tokens replaced by the `[PAD]` embedding (forward
    /// only).
    KernelShap,
}

impl SimilarityMethod {
    /// Every method, in the order the comparison shows them.
    pub const ALL: [SimilarityMethod; 7] = [
        SimilarityMethod::IntegratedGradients,
        SimilarityMethod::Saliency,
        SimilarityMethod::InputXGradient,
        SimilarityMethod::SmoothGrad,
        SimilarityMethod::AttentionRollout,
        SimilarityMethod::Occlusion,
        SimilarityMethod::KernelShap,
    ];

    /// The registry's entry of the method: the similarity methods are a selection of ember's
    /// methods (Integrated Gradients and the gradient methods over the word embeddings,
    /// SmoothGrad over saliency, attention rollout), not a vocabulary of their own.
    pub fn info(self) -> &'static MethodInfo {
        match self {
            SimilarityMethod::IntegratedGradients => {
                &ember_methods::integrated_gradients::INFO.info
            }
            SimilarityMethod::Saliency => &ember_methods::saliency::SALIENCY.info,
            SimilarityMethod::InputXGradient => &ember_methods::input_x_gradient::INFO.info,
            SimilarityMethod::SmoothGrad => &ember_methods::smooth_grad::SMOOTHGRAD,
            SimilarityMethod::AttentionRollout => &ember_methods::attention_rollout::INFO,
            SimilarityMethod::Occlusion => &ember_methods::occlusion::INFO.info,
            SimilarityMethod::KernelShap => &ember_methods::kernel_shap::INFO.info,
        }
    }

    /// The method's name: `integrated-gradients`, `saliency`, `input-x-gradient`, `smoothgrad`,
    /// `attention-rollout`, `occlusion`, `kernel-shap` (the registry's).
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// The method of a name or any of its registry aliases (`ig`, `smooth-grad`, Captum's
    /// class names), read as the registry reads names.
    ///
    /// # Errors
    ///
    /// [`ember_core::Error::InvalidConfig`] for another name.
    pub fn from_name(name: &str) -> Result<Self, ember_core::Error> {
        let normal = ember_methods::registry::normalise(name);
        Self::ALL
            .into_iter()
            .find(|m| m.info().is_named(&normal))
            .ok_or_else(|| ember_core::Error::InvalidConfig {
                name: "method",
                value: format!("`{name}`"),
                expected: "integrated-gradients, saliency, input-x-gradient, smoothgrad, \
                           attention-rollout, occlusion or kernel-shap",
            })
    }

    /// The reduction over the hidden axis used unless one is asked for: the sum for the signed
    /// methods (Integrated Gradients, gradient × input), the L2 norm for the gradients'
    /// magnitude (saliency, SmoothGrad). Attention rollout and the perturbation methods
    /// (which score each token as a whole) have none.
    pub fn default_reduction(self) -> Option<Reduction> {
        match self {
            SimilarityMethod::IntegratedGradients | SimilarityMethod::InputXGradient => {
                Some(Reduction::Sum)
            }
            SimilarityMethod::Saliency | SimilarityMethod::SmoothGrad => Some(Reduction::L2),
            SimilarityMethod::AttentionRollout
            | SimilarityMethod::Occlusion
            | SimilarityMethod::KernelShap => None,
        }
    }
}

/// How a token's `[E]` attribution becomes one score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reduction {
    /// The sum over the hidden axis (signed; Integrated Gradients' tokens then sum to `F(x) −
    /// F(x′)`).
    Sum,
    /// The L2 norm over the hidden axis (a magnitude, never negative).
    L2,
}

impl Reduction {
    /// `sum` or `l2`.
    pub fn name(self) -> &'static str {
        match self {
            Reduction::Sum => "sum",
            Reduction::L2 => "l2",
        }
    }

    fn apply(self, values: Tensor<3>) -> Tensor<2> {
        let [n, t, _] = values.dims();
        match self {
            Reduction::Sum => values.sum_dim(2).reshape([n, t]),
            Reduction::L2 => values.powi_scalar(2).sum_dim(2).sqrt().reshape([n, t]),
        }
    }
}

/// The settings of [`explain_similarity`].
#[derive(Debug, Clone, PartialEq)]
pub struct SimilaritySettings {
    /// Integrated Gradients' steps (50).
    pub steps: usize,
    /// Integrated Gradients' quadrature (Gauss–Legendre, Captum's default).
    pub quadrature: Quadrature,
    /// Integrated Gradients' adaptive mode: each text's steps are doubled on the nested
    /// trapezoid rule until `|δ| ≤ tolerance · |F(x) − F(x′)|` (or `max_steps`); `steps` and
    /// `quadrature` are then unused, and each record reports its own steps. `None`: fixed steps.
    pub tolerance: Option<f64>,
    /// The adaptive mode's most points per text (1025).
    pub max_steps: usize,
    /// SmoothGrad's noisy copies, or KernelSHAP's coalitions (50).
    pub samples: usize,
    /// SmoothGrad's noise, a fraction of each text's embedding range (0.05: a word embedding's
    /// range is about 25 of its entries' standard deviations, so the images' 0.15 swamps the
    /// tokens).
    pub noise_level: f64,
    /// SmoothGrad's seed, or KernelSHAP's (0).
    pub seed: u64,
    /// The reduction over the hidden axis; `None` is the method's
    /// [`SimilarityMethod::default_reduction`].
    pub reduction: Option<Reduction>,
    /// Attention rollout's row; `None` reads what the model pools (mean pooling: the mean of
    /// the tokens' rows; `[CLS]` pooling: its row).
    pub rollout: Option<RolloutRead>,
    /// The most rows per forward+backward pass; `None` is the device's default.
    pub max_rows: Option<usize>,
}

impl Default for SimilaritySettings {
    fn default() -> Self {
        Self {
            steps: 50,
            quadrature: Quadrature::GaussLegendre,
            tolerance: None,
            max_steps: 1025,
            samples: 50,
            noise_level: 0.05,
            seed: 0,
            reduction: None,
            rollout: None,
            max_rows: None,
        }
    }
}

/// One text's token attributions of its similarity to the reference: the `--json` record of
/// `ember similarity`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenAttributions {
    /// The method's name ([`SimilarityMethod::name`]).
    pub method: String,
    /// The text.
    pub text: String,
    /// The reference text.
    pub reference: String,
    /// The text's tokens, `[CLS]` and `[SEP]` included.
    pub tokens: Vec<String>,
    /// One score per token.
    pub attributions: Vec<f64>,
    /// The similarity of the text to the reference, `F(x)`.
    pub score: f64,
    /// The similarity at the baseline (`[PAD]` but `[CLS]` and `[SEP]`), `F(x′)`.
    pub baseline_score: f64,
    /// Integrated Gradients' delta, `Σ attributions − (F(x) − F(x′))` (summed tokens only), or
    /// KernelSHAP's efficiency gap (the same difference, 0 up to rounding).
    pub delta: Option<f64>,
    /// The reduction over the hidden axis (`sum`, `l2`), none for attention rollout and the
    /// perturbation methods.
    pub reduction: Option<String>,
    /// Integrated Gradients' steps.
    pub steps: Option<usize>,
    /// SmoothGrad's noisy copies, or KernelSHAP's coalitions.
    pub samples: Option<usize>,
    /// Rows the model evaluated (forward evaluations), in all passes.
    pub model_evaluations: usize,
    /// The most rows in one pass.
    pub rows_per_pass: usize,
}

/// The host values of a `[N, T]` map, per text.
fn rows(values: Tensor<2>) -> Result<Vec<Vec<f64>>, TextError> {
    let t = values.dims()[1];
    let flat = ember_core::validate::read_f64(values)?;
    Ok(flat.chunks(t.max(1)).map(<[f64]>::to_vec).collect())
}

/// What one method gives for a batch, before it is cut into per-text records.
struct Explained {
    /// `[N, T]` per text.
    maps: Vec<Vec<f64>>,
    deltas: Option<Vec<f64>>,
    /// `F(x)` and `F(x′)` per text, where the method evaluated both (Integrated Gradients).
    evaluated: Option<(Vec<f64>, Vec<f64>)>,
    /// Integration points per text.
    steps: Option<Vec<usize>>,
    samples: Option<usize>,
    model_evaluations: usize,
    rows_per_pass: usize,
}

impl Explained {
    /// A gradient method's `[N, T, E]` attributions reduced per token, and its report.
    fn reduced(
        out: ember_core::Attributions<3>,
        reduction: Reduction,
        steps: Option<usize>,
        samples: Option<usize>,
    ) -> Result<Self, TextError> {
        let report = out.report;
        let texts = report.scores.len();
        let path = report.path;
        Ok(Self {
            maps: rows(reduction.apply(out.values))?,
            deltas: path.as_ref().map(|p| p.delta.clone()),
            evaluated: path
                .as_ref()
                .map(|p| (report.scores, p.baseline_scores.clone())),
            // The adaptive mode's own count per text, or the fixed count for every text.
            steps: path.and_then(|p| p.steps).or(steps.map(|s| vec![s; texts])),
            samples,
            model_evaluations: report.model_evaluations,
            rows_per_pass: report.rows_per_pass,
        })
    }
}

impl Explained {
    /// A perturbation method's `[N, T, E]` attributions, in which every value of a token
    /// carries the token's score: that score, and the report (KernelSHAP's efficiency gap as
    /// the delta).
    fn whole_tokens(
        out: ember_core::Attributions<3>,
        samples: Option<usize>,
    ) -> Result<Self, TextError> {
        let [n, t, _] = out.values.dims();
        let report = out.report;
        let path = report.path;
        let per_token = out.values.slice([0..n, 0..t, 0..1]).reshape([n, t]);
        Ok(Self {
            maps: rows(per_token)?,
            deltas: samples.and(path.as_ref().map(|p| p.delta.clone())),
            evaluated: path.map(|p| (report.scores, p.baseline_scores)),
            steps: None,
            samples,
            model_evaluations: report.model_evaluations,
            rows_per_pass: report.rows_per_pass,
        })
    }
}

/// Attributes the similarity of each of `texts` to `reference` to the text's tokens with
/// `method`, in one padded batch. Every text gets what it gets alone (up to rounding; for
/// SmoothGrad, the noise depends on the batch's padded shape).
///
/// # Errors
///
/// - [`TextError::EmptyText`] or [`TextError::TextTooLong`] for a text or the reference;
/// - [`TextError::Core`] for bad settings (zero steps or copies) or a non-finite score.
pub fn explain_similarity(
    encoder: &SentenceEncoder,
    texts: &[&str],
    reference: &str,
    method: SimilarityMethod,
    settings: &SimilaritySettings,
) -> Result<Vec<TokenAttributions>, TextError> {
    let batch = encoder.tokenizer.batch(texts)?;
    let reference_embedding = encoder.embed(&[reference])?;
    let model = SimilarityModel::new(encoder, reference_embedding, &batch);
    let device = encoder.device();
    let ids = batch.ids(device);
    let baseline = batch.baseline_ids(device);
    let reduction = match method {
        SimilarityMethod::AttentionRollout
        | SimilarityMethod::Occlusion
        | SimilarityMethod::KernelShap => None,
        _ => settings.reduction.or(method.default_reduction()),
    };
    let target = Target::Class(0);
    let mut explained = match (method, reduction) {
        (SimilarityMethod::IntegratedGradients, Some(reduction)) => {
            let ig = IntegratedGradientsConfig::new()
                .with_steps(settings.steps)
                .with_quadrature(settings.quadrature)
                .with_tolerance(settings.tolerance)
                .with_max_steps(settings.max_steps)
                .with_baseline(Baseline::from_tensor(baseline.clone())?)
                .with_max_rows(settings.max_rows);
            let out = LayerIntegratedGradientsConfig::new()
                .with_integrated_gradients(ig)
                .init()?
                .attribute_layer(&model, ids.clone(), target)?;
            let mut explained = Explained::reduced(out, reduction, Some(settings.steps), None)?;
            if reduction == Reduction::L2 {
                // The delta is about the tokens' sum; a norm has none.
                explained.deltas = None;
            }
            explained
        }
        (SimilarityMethod::Saliency | SimilarityMethod::InputXGradient, Some(reduction)) => {
            let out = LayerGradientConfig::new()
                .with_multiply_by_activation(method == SimilarityMethod::InputXGradient)
                .with_max_rows(settings.max_rows)
                .init()?
                .attribute_layer(&model, ids.clone(), target)?;
            Explained::reduced(out, reduction, None, None)?
        }
        (SimilarityMethod::SmoothGrad, Some(reduction)) => {
            let words = model.head(ids.clone(), &RowSamples::identity(batch.len()));
            let saliency = SaliencyConfig::new()
                .with_abs(false)
                .with_max_rows(settings.max_rows)
                .init()?;
            let out = SmoothGradConfig::new()
                .with_samples(settings.samples)
                .with_noise_level(settings.noise_level)
                .with_seed(settings.seed)
                .init(saliency)?
                .attribute(&Tail::<_, 2>::new(&model, false), words, target)?;
            Explained::reduced(out, reduction, None, Some(settings.samples))?
        }
        (SimilarityMethod::Occlusion | SimilarityMethod::KernelShap, _) => {
            let identity = RowSamples::identity(batch.len());
            let words = model.head(ids.clone(), &identity);
            let pad = Baseline::from_tensor(model.head(baseline.clone(), &identity))?;
            let tail = Tail::<_, 2>::new(&model, false);
            let out = if method == SimilarityMethod::Occlusion {
                // Its default on `[N, T, E]`: a token at a time.
                OcclusionConfig::new()
                    .with_baseline(pad)
                    .with_max_rows(settings.max_rows)
                    .init()?
                    .attribute(&tail, words, target)?
            } else {
                KernelShapConfig::new()
                    .with_samples(settings.samples)
                    .with_seed(settings.seed)
                    .with_baseline(pad)
                    .with_max_rows(settings.max_rows)
                    .init()?
                    .attribute(&tail, words, target)?
            };
            let samples = (method == SimilarityMethod::KernelShap).then_some(settings.samples);
            Explained::whole_tokens(out, samples)?
        }
        _ => {
            let read = settings.rollout.unwrap_or(match encoder.pooling {
                Pooling::Mean => RolloutRead::MeanPooled,
                Pooling::Cls => RolloutRead::Cls,
            });
            let map = rollout(&encoder.attentions(&batch), batch.mask(device), read)?;
            Explained {
                maps: rows(map)?,
                deltas: None,
                evaluated: None,
                steps: None,
                samples: None,
                model_evaluations: batch.len(),
                rows_per_pass: batch.len(),
            }
        }
    };
    // The similarity at the text and at the baseline: Integrated Gradients has both already.
    let (scores, baseline_scores) = match explained.evaluated.take() {
        Some(evaluated) => evaluated,
        None => (
            ember_core::validate::read_f64(model.scores(ids))?,
            ember_core::validate::read_f64(model.scores(baseline))?,
        ),
    };
    Ok(batch
        .encodings
        .iter()
        .zip(&explained.maps)
        .enumerate()
        .map(|(i, (encoding, map))| TokenAttributions {
            method: method.name().into(),
            text: texts[i].into(),
            reference: reference.into(),
            tokens: encoding.tokens.clone(),
            attributions: map[..encoding.len()].to_vec(),
            score: scores[i],
            baseline_score: baseline_scores[i],
            delta: explained.deltas.as_ref().map(|d| d[i]),
            reduction: reduction.map(|r| r.name().into()),
            steps: explained.steps.as_ref().map(|s| s[i]),
            samples: explained.samples,
            model_evaluations: explained.model_evaluations,
            rows_per_pass: explained.rows_per_pass,
        })
        .collect())
}
