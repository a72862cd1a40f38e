//! A BERT encoder (Devlin et al. 2019) laid out so that Hugging Face `BertModel` safetensors
//! load unchanged: the architecture of sentence-transformers' all-MiniLM-L6-v2 and of every
//! `bert`-type checkpoint with absolute positions and the exact (erf) GELU.
//!
//! ```text
//! ids [N, T] ──word_embeddings──► words [N, T, E]                     ← the split point
//!   + position_embeddings[0..T] + token_type_embeddings[0] → LayerNorm  [N, T, E]
//!   → L layers of
//!       self-attention (H heads, softmax(q·kᵀ/√d + mask bias) · v) → dense → + input → LayerNorm
//!       → intermediate dense (E → I) → GELU → output dense (I → E) → + input → LayerNorm
//!   = the last hidden states [N, T, E]
//! ```
//!
//! The attention mask (`1` for a token, `0` for padding) adds a large negative bias to the
//! padded keys, so a padded batch gives every text the hidden states it has alone (up to
//! rounding). Dropout is not applied: the model is only ever evaluated.
//!
//! Burn's field names are Hugging Face's, except `LayerNorm` (the field `layer_norm`) and
//! `attention.self` (a Rust keyword, the field `attention.self_attention`); see
//! [`ember_zoo::weights::Renaming::Bert`].

use burn::module::Module;
use burn::nn::{Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::activation::{gelu, softmax};
use burn::tensor::{Device, Int, Tensor};
use serde::Deserialize;

use crate::TextError;

/// The additive attention bias of a padded key: large enough that its softmax weight is 0.
const MASKED: f64 = -1.0e9;

/// The fields of a Hugging Face `config.json` that define a BERT encoder.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BertConfig {
    /// `"bert"`.
    #[serde(default)]
    pub model_type: String,
    /// The vocabulary size.
    pub vocab_size: usize,
    /// The width of the hidden states, `E`.
    pub hidden_size: usize,
    /// The number of layers, `L`.
    pub num_hidden_layers: usize,
    /// The number of attention heads, `H` (dividing `E`).
    pub num_attention_heads: usize,
    /// The width of the feed-forward layer, `I`.
    pub intermediate_size: usize,
    /// The longest sequence the position embeddings cover.
    pub max_position_embeddings: usize,
    /// The number of token types (segments).
    #[serde(default = "two")]
    pub type_vocab_size: usize,
    /// LayerNorm's epsilon.
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    /// The activation: only `"gelu"` (the exact, erf one) is supported.
    #[serde(default = "default_act")]
    pub hidden_act: String,
    /// Only `"absolute"` positions are supported.
    #[serde(default = "default_positions")]
    pub position_embedding_type: String,
    /// The `[PAD]` token's id.
    #[serde(default)]
    pub pad_token_id: usize,
}

fn two() -> usize {
    2
}
fn default_eps() -> f64 {
    1e-12
}
fn default_act() -> String {
    "gelu".into()
}
fn default_positions() -> String {
    "absolute".into()
}

impl BertConfig {
    /// Reads a `config.json`'s text.
    ///
    /// # Errors
    ///
    /// [`TextError::Config`] if it is not JSON with the fields above, or describes a model
    /// this encoder does not implement (another `model_type`, activation or position
    /// embedding, heads not dividing the width).
    pub fn from_json(path: &str, json: &str) -> Result<Self, TextError> {
        let bad = |reason: String| TextError::Config {
            path: path.into(),
            reason,
        };
        let config: BertConfig = serde_json::from_str(json).map_err(|e| bad(e.to_string()))?;
        if !config.model_type.is_empty() && config.model_type != "bert" {
            return Err(bad(format!(
                "model_type `{}`: only `bert` models are supported",
                config.model_type
            )));
        }
        if config.hidden_act != "gelu" {
            return Err(bad(format!(
                "hidden_act `{}`: only `gelu` (exact) is supported",
                config.hidden_act
            )));
        }
        if config.position_embedding_type != "absolute" {
            return Err(bad(format!(
                "position_embedding_type `{}`: only `absolute` is supported",
                config.position_embedding_type
            )));
        }
        if config.num_attention_heads == 0
            || !config
                .hidden_size
                .is_multiple_of(config.num_attention_heads)
            || config.num_hidden_layers == 0
        {
            return Err(bad(format!(
                "{} heads do not divide hidden_size {} (or no layers)",
                config.num_attention_heads, config.hidden_size
            )));
        }
        Ok(config)
    }
}

/// The embeddings: words, positions and token types, summed and normalised.
#[derive(Module, Debug)]
pub struct Embeddings {
    /// `[vocab, E]`: the split point's lookup.
    pub word_embeddings: Embedding,
    /// `[max_positions, E]`.
    pub position_embeddings: Embedding,
    /// `[types, E]`.
    pub token_type_embeddings: Embedding,
    /// Hugging Face's `LayerNorm`.
    pub layer_norm: LayerNorm,
}

/// The query, key and value projections (Hugging Face's `attention.self`).
#[derive(Module, Debug)]
pub struct SelfAttention {
    /// `E → E`.
    pub query: Linear,
    /// `E → E`.
    pub key: Linear,
    /// `E → E`.
    pub value: Linear,
}

/// A dense projection, a residual and a LayerNorm (Hugging Face's `attention.output` and
/// `output`).
#[derive(Module, Debug)]
pub struct DenseNorm {
    /// The projection.
    pub dense: Linear,
    /// Hugging Face's `LayerNorm`.
    pub layer_norm: LayerNorm,
}

impl DenseNorm {
    fn forward(&self, x: Tensor<3>, residual: Tensor<3>) -> Tensor<3> {
        self.layer_norm.forward(self.dense.forward(x) + residual)
    }
}

/// Self-attention and its output projection.
#[derive(Module, Debug)]
pub struct Attention {
    /// Hugging Face's `attention.self`.
    pub self_attention: SelfAttention,
    /// Hugging Face's `attention.output`.
    pub output: DenseNorm,
}

/// The feed-forward's first projection (Hugging Face's `intermediate`).
#[derive(Module, Debug)]
pub struct Intermediate {
    /// `E → I`.
    pub dense: Linear,
}

/// One transformer layer.
#[derive(Module, Debug)]
pub struct BertLayer {
    /// Self-attention.
    pub attention: Attention,
    /// `E → I`, GELU.
    pub intermediate: Intermediate,
    /// `I → E`, residual, LayerNorm.
    pub output: DenseNorm,
    heads: usize,
}

impl BertLayer {
    /// The layer's output and its attention probabilities `[N, H, T, T]` (rows: queries).
    fn forward(&self, x: Tensor<3>, bias: Tensor<4>) -> (Tensor<3>, Tensor<4>) {
        let [n, t, e] = x.dims();
        let d = e / self.heads;
        let split = |y: Tensor<3>| y.reshape([n, t, self.heads, d]).swap_dims(1, 2);
        let attention = &self.attention.self_attention;
        let q = split(attention.query.forward(x.clone()));
        let k = split(attention.key.forward(x.clone()));
        let v = split(attention.value.forward(x.clone()));
        let scores = q.matmul(k.swap_dims(2, 3)) / (d as f64).sqrt() + bias;
        let probabilities = softmax(scores, 3);
        let context = probabilities
            .clone()
            .matmul(v)
            .swap_dims(1, 2)
            .reshape([n, t, e]);
        let x = self.attention.output.forward(context, x);
        let hidden = gelu(self.intermediate.dense.forward(x.clone()));
        (self.output.forward(hidden, x), probabilities)
    }
}

/// The layers.
#[derive(Module, Debug)]
pub struct Encoder {
    /// Hugging Face's `encoder.layer.K`.
    pub layer: Vec<BertLayer>,
}

/// A BERT encoder: [`Embeddings`] and an [`Encoder`]. Build it with [`Bert::new`] and load
/// weights with [`crate::SentenceEncoder::load`] (or [`ember_zoo::weights::load_renamed`]
/// with [`ember_zoo::weights::Renaming::Bert`]).
#[derive(Module, Debug)]
pub struct Bert {
    /// The embeddings.
    pub embeddings: Embeddings,
    /// The layers.
    pub encoder: Encoder,
}

impl Bert {
    /// A freshly initialised encoder of `config`'s shape on `device`.
    pub fn new(config: &BertConfig, device: &Device) -> Self {
        let e = config.hidden_size;
        let norm = || {
            LayerNormConfig::new(e)
                .with_epsilon(config.layer_norm_eps)
                .init(device)
        };
        let dense_norm = |from: usize| DenseNorm {
            dense: LinearConfig::new(from, e).init(device),
            layer_norm: norm(),
        };
        let layer = (0..config.num_hidden_layers)
            .map(|_| BertLayer {
                attention: Attention {
                    self_attention: SelfAttention {
                        query: LinearConfig::new(e, e).init(device),
                        key: LinearConfig::new(e, e).init(device),
                        value: LinearConfig::new(e, e).init(device),
                    },
                    output: dense_norm(e),
                },
                intermediate: Intermediate {
                    dense: LinearConfig::new(e, config.intermediate_size).init(device),
                },
                output: dense_norm(config.intermediate_size),
                heads: config.num_attention_heads,
            })
            .collect();
        Self {
            embeddings: Embeddings {
                word_embeddings: EmbeddingConfig::new(config.vocab_size, e).init(device),
                position_embeddings: EmbeddingConfig::new(config.max_position_embeddings, e)
                    .init(device),
                token_type_embeddings: EmbeddingConfig::new(config.type_vocab_size, e).init(device),
                layer_norm: norm(),
            },
            encoder: Encoder { layer },
        }
    }

    /// The vocabulary size.
    pub fn vocab_size(&self) -> usize {
        self.embeddings.word_embeddings.weight.dims()[0]
    }

    /// The word-embedding lookup `[N, T] → [N, T, E]`: the split point of token attributions.
    pub fn embed_words(&self, ids: Tensor<2, Int>) -> Tensor<3> {
        self.embeddings.word_embeddings.forward(ids)
    }

    /// The last hidden states `[N, T, E]` from the word embeddings `[N, T, E]` and the
    /// attention mask `[N, T]` (1 for a token, 0 for padding), with every layer's attention
    /// probabilities `[N, H, T, T]` when `keep_attentions` (else an empty vector).
    ///
    /// Every token has type 0 (a single text) and positions count from 0.
    pub fn encode(
        &self,
        words: Tensor<3>,
        mask: Tensor<2>,
        keep_attentions: bool,
    ) -> (Tensor<3>, Vec<Tensor<4>>) {
        let [n, t, _] = words.dims();
        let device = words.device();
        let positions = Tensor::<1, Int>::arange(0..t as i64, &device).reshape([1, t]);
        let types = Tensor::<2, Int>::zeros([1, t], &device);
        let embeddings = &self.embeddings;
        let x = words
            + embeddings.position_embeddings.forward(positions)
            + embeddings.token_type_embeddings.forward(types);
        let mut x = embeddings.layer_norm.forward(x);
        // [N, T] → [N, 1, 1, T]: 0 for a token, MASKED for padding, on every query row.
        let bias = ((mask - 1.0) * -MASKED).reshape([n, 1, 1, t]);
        let mut attentions = Vec::new();
        for layer in &self.encoder.layer {
            let (next, probabilities) = layer.forward(x, bias.clone());
            x = next;
            if keep_attentions {
                attentions.push(probabilities);
            }
        }
        (x, attentions)
    }
}
