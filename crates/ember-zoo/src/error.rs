//! The error type of the zoo.

/// Everything that can go wrong when loading data or weights.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ZooError {
    /// A weights file could not be read or parsed.
    #[error("cannot read weights from {path}: {reason}")]
    WeightsFile {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },

    /// A weights file does not match the model: tensors are missing, extra or mis-shaped.
    #[error("weights in {path} do not match the {model} model: {}", problems.join("; "))]
    WeightsMismatch {
        /// The file.
        path: String,
        /// The model's name.
        model: &'static str,
        /// One line per problem, each naming the tensor (and both shapes for a shape mismatch).
        problems: Vec<String>,
    },

    /// A file extension the loader does not know.
    #[error(
        "unsupported weights file {path}: expected a .safetensors or .pt (PyTorch state dict) file"
    )]
    UnsupportedFormat {
        /// The file.
        path: String,
    },

    /// A photo could not be read or decoded.
    #[error("cannot read the image {path}: {reason}")]
    Image {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },

    /// A model that ships no weights was asked for without a weights file.
    #[error("{model} needs --weights FILE.pth: ember ships no weights for it. Get {hint}")]
    WeightsRequired {
        /// The model's name.
        model: &'static str,
        /// Where to get its weights.
        hint: &'static str,
    },

    /// A name that is not a zoo model.
    #[error("unknown model `{name}`: expected one of mlp, cnn, tabular, efficientnet-lite0")]
    UnknownModel {
        /// The name given.
        name: String,
    },

    /// Saving weights failed.
    #[error("cannot write weights to {path}: {reason}")]
    Save {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },

    /// An error of ember's core (e.g. a bad training configuration).
    #[error(transparent)]
    Core(#[from] ember_core::Error),
}
