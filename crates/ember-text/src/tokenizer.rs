//! Tokenisation through Hugging Face's `tokenizers` (the model's own `tokenizer.json`), and
//! batches of texts of different lengths padded with an attention mask.

use std::path::Path;

use burn::tensor::{Device, Tensor, TensorData};

use crate::TextError;

/// One text as the model sees it: token ids with `[CLS]` and `[SEP]`, and their strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoding {
    /// The token ids, `[CLS]` first and `[SEP]` last.
    pub ids: Vec<u32>,
    /// The tokens (`"[CLS]"`, `"bread"`, `"##s"`, …).
    pub tokens: Vec<String>,
    /// Which ids are special tokens (`[CLS]`, `[SEP]`).
    pub special: Vec<bool>,
}

impl Encoding {
    /// The number of tokens.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether there are no tokens (never, for an encoding made by [`Tokenizer::encode`]).
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// A model's tokenizer, with the file's padding turned off (ember pads batches itself) and
/// no truncation: a text longer than the model's limit is an error, never cut silently.
#[derive(Debug, Clone)]
pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
    max_tokens: usize,
    pad_id: u32,
}

impl Tokenizer {
    /// Reads `tokenizer.json`; texts may have at most `max_tokens` tokens, `[CLS]` and `[SEP]`
    /// included, and batches are padded with `pad_id`.
    ///
    /// # Errors
    ///
    /// [`TextError::Tokenizer`] if the file cannot be read or parsed.
    pub fn from_file(path: &Path, max_tokens: usize, pad_id: u32) -> Result<Self, TextError> {
        let bad = |reason: String| TextError::Tokenizer {
            path: path.display().to_string(),
            reason,
        };
        if !path.is_file() {
            return Err(bad("no such file".into()));
        }
        let mut inner = tokenizers::Tokenizer::from_file(path).map_err(|e| bad(e.to_string()))?;
        inner.with_padding(None);
        inner
            .with_truncation(None)
            .map_err(|e| bad(e.to_string()))?;
        Ok(Self {
            inner,
            max_tokens,
            pad_id,
        })
    }

    /// The longest text, in tokens with `[CLS]` and `[SEP]`.
    pub fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    /// Tokenises one text, with the special tokens.
    ///
    /// # Errors
    ///
    /// - [`TextError::EmptyText`] if the text has no token besides `[CLS]` and `[SEP]`;
    /// - [`TextError::TextTooLong`] over [`Tokenizer::max_tokens`];
    /// - [`TextError::Tokenizer`] if the tokenizer fails.
    pub fn encode(&self, text: &str) -> Result<Encoding, TextError> {
        let encoding = self
            .inner
            .encode(text, true)
            .map_err(|e| TextError::Tokenizer {
                path: "tokenizer.json".into(),
                reason: e.to_string(),
            })?;
        let special: Vec<bool> = encoding
            .get_special_tokens_mask()
            .iter()
            .map(|&m| m == 1)
            .collect();
        if special.iter().all(|&s| s) {
            return Err(TextError::EmptyText { text: text.into() });
        }
        if encoding.len() > self.max_tokens {
            return Err(TextError::TextTooLong {
                tokens: encoding.len(),
                max: self.max_tokens,
            });
        }
        Ok(Encoding {
            ids: encoding.get_ids().to_vec(),
            tokens: encoding.get_tokens().to_vec(),
            special,
        })
    }

    /// Tokenises texts into one batch padded to the longest: see [`Batch`].
    ///
    /// # Errors
    ///
    /// As [`Tokenizer::encode`], for the first text that fails; [`TextError::EmptyText`] for
    /// no texts.
    pub fn batch(&self, texts: &[&str]) -> Result<Batch, TextError> {
        if texts.is_empty() {
            return Err(TextError::EmptyText {
                text: String::new(),
            });
        }
        let encodings = texts
            .iter()
            .map(|t| self.encode(t))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Batch::new(encodings, self.pad_id))
    }
}

/// Texts padded to one length `T`: what the model takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// Each text's encoding, unpadded.
    pub encodings: Vec<Encoding>,
    /// The padded length, the longest text's.
    pub length: usize,
    pad_id: u32,
}

impl Batch {
    /// Pads `encodings` with `pad_id`.
    pub fn new(encodings: Vec<Encoding>, pad_id: u32) -> Self {
        let length = encodings.iter().map(Encoding::len).max().unwrap_or(0);
        Self {
            encodings,
            length,
            pad_id,
        }
    }

    /// The number of texts.
    pub fn len(&self) -> usize {
        self.encodings.len()
    }

    /// Whether there are no texts.
    pub fn is_empty(&self) -> bool {
        self.encodings.is_empty()
    }

    /// The `[PAD]` id.
    pub fn pad_id(&self) -> u32 {
        self.pad_id
    }

    /// Every text's ids padded with `[PAD]`, row-major `[N, T]`, through `map(text, position,
    /// id)` (the baseline replaces the ids that are not special).
    fn padded(&self, map: impl Fn(&Encoding, usize) -> u32) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.len() * self.length);
        for encoding in &self.encodings {
            out.extend((0..encoding.len()).map(|i| map(encoding, i) as f32));
            out.extend(std::iter::repeat_n(
                self.pad_id as f32,
                self.length - encoding.len(),
            ));
        }
        out
    }

    /// The ids `[N, T]` as floats (exact below 2²⁴), the input of [`crate::SimilarityModel`].
    pub fn ids(&self, device: &Device) -> Tensor<2> {
        let data = TensorData::new(self.padded(|e, i| e.ids[i]), [self.len(), self.length]);
        Tensor::from_data(data, device)
    }

    /// The baseline ids `[N, T]`: every token `[PAD]` except the special tokens (`[CLS]`,
    /// `[SEP]`), which keep theirs.
    pub fn baseline_ids(&self, device: &Device) -> Tensor<2> {
        let pad = self.pad_id;
        let data = TensorData::new(
            self.padded(|e, i| if e.special[i] { e.ids[i] } else { pad }),
            [self.len(), self.length],
        );
        Tensor::from_data(data, device)
    }

    /// The attention mask `[N, T]`: 1 for a token, 0 for padding.
    pub fn mask(&self, device: &Device) -> Tensor<2> {
        let mut out = Vec::with_capacity(self.len() * self.length);
        for encoding in &self.encodings {
            out.extend(std::iter::repeat_n(1.0f32, encoding.len()));
            out.extend(std::iter::repeat_n(0.0f32, self.length - encoding.len()));
        }
        Tensor::from_data(TensorData::new(out, [self.len(), self.length]), device)
    }
}
