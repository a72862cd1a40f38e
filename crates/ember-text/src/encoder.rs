//! A sentence-transformers model directory as one encoder: the tokenizer, the BERT encoder,
//! the pooling and the normalisation of all-MiniLM-L6-v2 and models like it.

use std::path::Path;

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use ember_zoo::weights::{Renaming, load_renamed};

use crate::TextError;
use crate::bert::{Bert, BertConfig};
use crate::tokenizer::{Batch, Tokenizer};

/// How the last hidden states become one sentence embedding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooling {
    /// The mean over the real tokens (the attention mask), `[CLS]` and `[SEP]` included:
    /// sentence-transformers' `pooling_mode_mean_tokens`.
    Mean,
    /// The first token's (`[CLS]`) hidden state: `pooling_mode_cls_token`.
    Cls,
}

/// A sentence-transformers model: tokenizer, BERT encoder, pooling, optional L2
/// normalisation. Load one with [`SentenceEncoder::load`].
#[derive(Debug)]
pub struct SentenceEncoder {
    /// The encoder's configuration (`config.json`).
    pub config: BertConfig,
    /// The encoder, in evaluation mode.
    pub bert: Bert,
    /// The tokenizer.
    pub tokenizer: Tokenizer,
    /// The pooling.
    pub pooling: Pooling,
    /// Whether the embedding is L2-normalised (a `Normalize` module in `modules.json`).
    pub normalize: bool,
    device: Device,
}

/// A file of the model directory, which must exist.
fn required(dir: &Path, name: &str) -> Result<std::path::PathBuf, TextError> {
    let path = dir.join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(TextError::ModelDirectory {
            path: dir.display().to_string(),
            reason: format!("{name} is missing"),
        })
    }
}

fn read(path: &Path) -> Result<String, TextError> {
    std::fs::read_to_string(path).map_err(|e| TextError::Config {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

fn json(path: &Path) -> Result<serde_json::Value, TextError> {
    serde_json::from_str(&read(path)?).map_err(|e| TextError::Config {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

/// The pooling of `1_Pooling/config.json` (mean when the file is absent).
fn pooling(dir: &Path) -> Result<Pooling, TextError> {
    let path = dir.join("1_Pooling/config.json");
    if !path.is_file() {
        return Ok(Pooling::Mean);
    }
    let config = json(&path)?;
    let on = |key: &str| config.get(key).and_then(serde_json::Value::as_bool) == Some(true);
    let modes: Vec<&str> = [
        "pooling_mode_mean_tokens",
        "pooling_mode_cls_token",
        "pooling_mode_max_tokens",
        "pooling_mode_mean_sqrt_len_tokens",
    ]
    .into_iter()
    .filter(|k| on(k))
    .collect();
    match modes.as_slice() {
        ["pooling_mode_mean_tokens"] => Ok(Pooling::Mean),
        ["pooling_mode_cls_token"] => Ok(Pooling::Cls),
        other => Err(TextError::Config {
            path: path.display().to_string(),
            reason: format!(
                "pooling {other:?}: only one of pooling_mode_mean_tokens or \
                 pooling_mode_cls_token is supported"
            ),
        }),
    }
}

/// Whether `modules.json` lists a `Normalize` module (true when the file is absent: the
/// score is a cosine similarity either way).
fn normalize(dir: &Path) -> Result<bool, TextError> {
    let path = dir.join("modules.json");
    if !path.is_file() {
        return Ok(true);
    }
    Ok(read(&path)?.contains("sentence_transformers.models.Normalize"))
}

/// The longest text in tokens: `sentence_bert_config.json`'s `max_seq_length`, at most the
/// position embeddings'.
fn max_tokens(dir: &Path, config: &BertConfig) -> Result<usize, TextError> {
    let path = dir.join("sentence_bert_config.json");
    let limit = match path.is_file() {
        true => json(&path)?
            .get("max_seq_length")
            .and_then(serde_json::Value::as_u64)
            .map_or(config.max_position_embeddings, |n| n as usize),
        false => config.max_position_embeddings,
    };
    Ok(limit.min(config.max_position_embeddings))
}

impl SentenceEncoder {
    /// Loads a sentence-transformers model directory onto `device`: `config.json`,
    /// `model.safetensors` (Hugging Face BERT names, loaded strictly) and `tokenizer.json` are
    /// required; `1_Pooling/config.json` (pooling, mean by default), `modules.json`
    /// (normalisation, on by default) and `sentence_bert_config.json` (the longest text, else
    /// the position embeddings') are read when present.
    ///
    /// # Errors
    ///
    /// - [`TextError::ModelDirectory`] if the directory or a required file is missing;
    /// - [`TextError::Config`] for a configuration the encoder does not implement;
    /// - [`TextError::Tokenizer`] if `tokenizer.json` cannot be read;
    /// - [`TextError::Weights`] naming every missing, extra or mis-shaped tensor.
    pub fn load(dir: &Path, device: &Device) -> Result<Self, TextError> {
        if !dir.is_dir() {
            return Err(TextError::ModelDirectory {
                path: dir.display().to_string(),
                reason: "no such directory".into(),
            });
        }
        let config_path = required(dir, "config.json")?;
        let weights = required(dir, "model.safetensors")?;
        let tokenizer = required(dir, "tokenizer.json")?;
        let config =
            BertConfig::from_json(&config_path.display().to_string(), &read(&config_path)?)?;
        let tokenizer = Tokenizer::from_file(
            &tokenizer,
            max_tokens(dir, &config)?,
            config.pad_token_id as u32,
        )?;
        let bert = load_renamed(Bert::new(&config, device), &weights, "bert", Renaming::Bert)?;
        Ok(Self {
            bert: bert.valid(),
            tokenizer,
            pooling: pooling(dir)?,
            normalize: normalize(dir)?,
            config,
            device: device.clone(),
        })
    }

    /// The device the encoder lives on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The sentence embeddings `[N, E]` of the last hidden states `[N, T, E]` under the mask
    /// `[N, T]`: pooled, then L2-normalised if the model normalises.
    pub fn pool(&self, hidden: Tensor<3>, mask: Tensor<2>) -> Tensor<2> {
        let pooled = pool(hidden, mask, self.pooling);
        match self.normalize {
            true => l2_normalise(pooled),
            false => pooled,
        }
    }

    /// The sentence embeddings `[N, E]` of a batch, in one forward pass.
    pub fn embed_batch(&self, batch: &Batch) -> Tensor<2> {
        let ids = batch.ids(&self.device).int();
        let mask = batch.mask(&self.device);
        let (hidden, _) = self
            .bert
            .encode(self.bert.embed_words(ids), mask.clone(), false);
        self.pool(hidden, mask)
    }

    /// The sentence embeddings `[N, E]` of texts, in one padded batch.
    ///
    /// # Errors
    ///
    /// As [`Tokenizer::batch`].
    pub fn embed(&self, texts: &[&str]) -> Result<Tensor<2>, TextError> {
        Ok(self.embed_batch(&self.tokenizer.batch(texts)?))
    }

    /// Every layer's attention probabilities `[N, H, T, T]` for a batch, in the order the
    /// layers run.
    pub fn attentions(&self, batch: &Batch) -> Vec<Tensor<4>> {
        let ids = batch.ids(&self.device).int();
        let mask = batch.mask(&self.device);
        self.bert.encode(self.bert.embed_words(ids), mask, true).1
    }
}

/// Pools hidden states `[N, T, E]` under a mask `[N, T]` into `[N, E]`.
pub fn pool(hidden: Tensor<3>, mask: Tensor<2>, pooling: Pooling) -> Tensor<2> {
    let [n, t, e] = hidden.dims();
    match pooling {
        Pooling::Mean => {
            let weights = mask.clone().reshape([n, t, 1]);
            // sentence-transformers clamps the count at 1e-9.
            (hidden * weights).sum_dim(1).reshape([n, e]) / mask.sum_dim(1).clamp_min(1e-9)
        }
        Pooling::Cls => hidden.slice([0..n, 0..1, 0..e]).reshape([n, e]),
    }
}

/// Rows divided by their L2 norm (at least 1e-12, as PyTorch's `F.normalize`).
pub fn l2_normalise(x: Tensor<2>) -> Tensor<2> {
    let norm = x.clone().powi_scalar(2).sum_dim(1).sqrt().clamp_min(1e-12);
    x / norm
}
