//! Loading and saving weights in PyTorch's layout, strictly.
//!
//! Files use PyTorch's `nn.Sequential` `state_dict` names (`0.weight`, `0.bias`, `2.weight`, …)
//! and layouts (Linear `[out, in]`, Conv2d `[out, in, kh, kw]`). Both safetensors files and
//! PyTorch `.pt` state dicts (read in pure Rust) load. A missing, extra or mis-shaped tensor is
//! an error that names it (and both shapes); the model is never returned half-loaded.

use std::path::Path;

use burn::module::{Module, ModuleMapper, Param};
use burn::store::{
    ApplyError, ApplyResult, BurnToPyTorchAdapter, ModuleSnapshot, PyTorchToBurnAdapter,
    PytorchStore, SafetensorsStore,
};

use burn::tensor::Tensor;

use crate::ZooError;

/// Casts every float parameter to its device's default float precision. Files keep their own
/// dtype when loaded (the shipped weights are float32), so a model loaded onto an f64 device
/// is cast here, and computes in f64 throughout.
fn to_device_precision<M: Module>(model: M) -> M {
    struct Cast;
    impl ModuleMapper for Cast {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            param.map(|t| {
                let dtype = t.device().settings().float_dtype;
                t.cast(dtype)
            })
        }
    }
    model.map(&mut Cast)
}

// The stores run with `allow_partial(true)` and `validate(false)` so that every missing, extra
// and mis-shaped tensor lands in the `ApplyResult`, where `check` turns all of them into one
// error naming each; a model with any problem is dropped, never returned.

/// PyTorch's `K.` prefix to the zoo's field `layerK.`.
const FROM_PYTORCH: (&str, &str) = (r"^(\d+)\.", "layer$1.");
/// The zoo's field `layerK.` back to PyTorch's `K.`.
const TO_PYTORCH: (&str, &str) = (r"^layer(\d+)\.", "$1.");
/// PyTorch's leading underscores (`_blocks.3._bn1`) dropped (`blocks.3.bn1`).
const STRIP_UNDERSCORES: (&str, &str) = (r"(^|\.)_", "$1");
/// Hugging Face BERT's `LayerNorm` modules, `layer_norm` fields in Burn.
const BERT_LAYER_NORM: (&str, &str) = (r"(^|\.)LayerNorm\.", "${1}layer_norm.");
/// Hugging Face BERT's `attention.self` (a Rust keyword), the field `self_attention`.
const BERT_SELF: (&str, &str) = (r"\.self\.", ".self_attention.");

/// How a model's Burn parameter paths relate to the file's PyTorch keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Renaming {
    /// An `nn.Sequential`'s `K.weight` is the field `layerK.weight` (the digits and tabular
    /// models).
    LayerIndices,
    /// PyTorch's private attributes lose their underscore: `_blocks.3._bn1.weight` is
    /// `blocks.3.bn1.weight` (EfficientNet-Lite0).
    StripUnderscores,
    /// Hugging Face BERT's names: `LayerNorm` is the field `layer_norm` and `attention.self`
    /// is `attention.self_attention`. The file's `embeddings.position_ids` (a constant
    /// `0, 1, 2, …` buffer) and `pooler.*` (the `[CLS]` pooler, which sentence embeddings do
    /// not use) are read and ignored; every other tensor must match.
    Bert,
}

impl Renaming {
    /// The regex patterns and replacements from a PyTorch key to a Burn path.
    fn patterns(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Renaming::LayerIndices => &[FROM_PYTORCH],
            Renaming::StripUnderscores => &[STRIP_UNDERSCORES],
            Renaming::Bert => &[BERT_LAYER_NORM, BERT_SELF],
        }
    }

    /// Whether a tensor of the file (after renaming) that the model does not take is known
    /// and ignored.
    fn ignored(self, key: &str) -> bool {
        match self {
            Renaming::Bert => key == "embeddings.position_ids" || key.starts_with("pooler."),
            _ => false,
        }
    }

    /// The PyTorch key of the Burn parameter `path` (BatchNorm's `gamma` and `beta` are
    /// PyTorch's `weight` and `bias`), for error messages.
    fn pytorch_key(self, path: &str) -> String {
        let path = path
            .strip_suffix(".gamma")
            .map(|p| format!("{p}.weight"))
            .or_else(|| path.strip_suffix(".beta").map(|p| format!("{p}.bias")))
            .unwrap_or_else(|| path.to_string());
        match self {
            Renaming::LayerIndices => match path.strip_prefix("layer") {
                Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => rest.to_string(),
                _ => path,
            },
            Renaming::StripUnderscores => {
                let segments: Vec<&str> = path.split('.').collect();
                let last = segments.len() - 1;
                segments
                    .iter()
                    .enumerate()
                    .map(|(i, s)| {
                        if i == last || s.starts_with(|c: char| c.is_ascii_digit()) {
                            s.to_string()
                        } else {
                            format!("_{s}")
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(".")
            }
            Renaming::Bert => path
                .split('.')
                .map(|s| match s {
                    "layer_norm" => "LayerNorm",
                    "self_attention" => "self",
                    s => s,
                })
                .collect::<Vec<_>>()
                .join("."),
        }
    }
}

/// Loads PyTorch-named weights from a `.safetensors` or `.pt`/`.pth` file into `model`, in the
/// precision of the model's device.
///
/// # Errors
///
/// - [`ZooError::UnsupportedFormat`] for another extension;
/// - [`ZooError::WeightsFile`] if the file cannot be read or parsed;
/// - [`ZooError::WeightsMismatch`] naming every missing, extra or mis-shaped tensor.
pub fn load<M: Module>(model: M, path: &Path, name: &'static str) -> Result<M, ZooError> {
    load_renamed(model, path, name, Renaming::LayerIndices)
}

/// Loads PyTorch-named weights from a `.safetensors` or `.pt`/`.pth` file into `model`, whose
/// parameter paths relate to the file's keys by `renaming`, in the precision of the model's
/// device. PyTorch BatchNorm's `num_batches_tracked` counters are ignored where the model has
/// that BatchNorm (Burn's keeps no counter; it matters only to training without a momentum).
///
/// # Errors
///
/// As [`load`].
pub fn load_renamed<M: Module>(
    mut model: M,
    path: &Path,
    name: &'static str,
    renaming: Renaming,
) -> Result<M, ZooError> {
    let shown = path.display().to_string();
    let file_error = |reason: String| ZooError::WeightsFile {
        path: shown.clone(),
        reason,
    };
    if !path.is_file() {
        return Err(file_error("no such file".into()));
    }
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let result = match extension.as_str() {
        "safetensors" => {
            let mut store = from_pytorch(SafetensorsStore::from_file(path), renaming);
            model
                .load_from(&mut store)
                .map_err(|e| file_error(e.to_string()))?
        }
        "pt" | "pth" => {
            // PytorchStore always applies the PyTorch-to-Burn adapter; keep PyTorch's indices
            // (0, 2, 4) as they are, since the zoo's field names carry them.
            let mut store = PytorchStore::from_file(path).map_indices_contiguous(false);
            for (pattern, replacement) in renaming.patterns() {
                store = store.with_key_remapping(*pattern, *replacement);
            }
            let mut store = store.allow_partial(true).validate(false);
            model
                .load_from(&mut store)
                .map_err(|e| file_error(e.to_string()))?
        }
        _ => return Err(ZooError::UnsupportedFormat { path: shown }),
    };
    check(&result, &shown, name, renaming)?;
    Ok(to_device_precision(model))
}

/// Loads PyTorch-named safetensors bytes (e.g. the shipped weights) into `model`.
///
/// # Errors
///
/// As [`load`], with `label` in place of a path.
pub fn load_safetensors_bytes<M: Module>(
    mut model: M,
    bytes: &[u8],
    label: &str,
    name: &'static str,
) -> Result<M, ZooError> {
    let renaming = Renaming::LayerIndices;
    let mut store = from_pytorch(SafetensorsStore::from_bytes(Some(bytes.to_vec())), renaming);
    let result = model
        .load_from(&mut store)
        .map_err(|e| ZooError::WeightsFile {
            path: label.into(),
            reason: e.to_string(),
        })?;
    check(&result, label, name, renaming)?;
    Ok(to_device_precision(model))
}

/// A safetensors store that reads PyTorch's names and layout, reporting every problem.
fn from_pytorch(store: SafetensorsStore, renaming: Renaming) -> SafetensorsStore {
    let mut store = store.with_from_adapter(PyTorchToBurnAdapter);
    for (pattern, replacement) in renaming.patterns() {
        store = store.with_key_remapping(*pattern, *replacement);
    }
    store.allow_partial(true).validate(false)
}

/// Saves `model` as a PyTorch-named safetensors file (Linear weights `[out, in]`), replacing
/// any existing file.
///
/// # Errors
///
/// [`ZooError::Save`] if the file cannot be written.
pub fn save<M: ModuleSnapshot>(model: &M, path: &Path) -> Result<(), ZooError> {
    let mut store = SafetensorsStore::from_file(path)
        .with_to_adapter(BurnToPyTorchAdapter)
        .with_key_remapping(TO_PYTORCH.0, TO_PYTORCH.1)
        .overwrite(true);
    model.save_into(&mut store).map_err(|e| ZooError::Save {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

/// A Burn-layout shape in PyTorch's layout: Linear weights (rank 2) are transposed.
fn pytorch_shape(shape: &[usize]) -> Vec<usize> {
    if shape.len() == 2 {
        vec![shape[1], shape[0]]
    } else {
        shape.to_vec()
    }
}

fn check(
    result: &ApplyResult,
    path: &str,
    name: &'static str,
    renaming: Renaming,
) -> Result<(), ZooError> {
    let pytorch_key = |path: &str| renaming.pytorch_key(path);
    let mut problems = Vec::new();
    for (missing, _) in &result.missing {
        problems.push(format!(
            "tensor `{}` is missing from the file",
            pytorch_key(missing)
        ));
    }
    for unused in &result.unused {
        if renaming.ignored(unused) {
            continue;
        }
        // PyTorch's BatchNorm counter, beside a running mean the model did take.
        if let Some(norm) = unused.strip_suffix(".num_batches_tracked") {
            let mean = format!("{norm}.running_mean");
            if result.applied.contains(&mean) {
                continue;
            }
        }
        problems.push(format!(
            "tensor `{}` in the file is not a parameter of the model",
            pytorch_key(unused)
        ));
    }
    for error in &result.errors {
        problems.push(match error {
            ApplyError::ShapeMismatch {
                path,
                expected,
                found,
            } => format!(
                "tensor `{}` has shape {:?} in the file, but the model expects {:?} \
                 (PyTorch layout)",
                pytorch_key(path),
                pytorch_shape(found.as_slice()),
                pytorch_shape(expected.as_slice())
            ),
            other => other.to_string(),
        });
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ZooError::WeightsMismatch {
            path: path.into(),
            model: name,
            problems,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bert_names_map_both_ways_and_only_known_extras_are_ignored() {
        let bert = Renaming::Bert;
        let rename = |key: &str| {
            bert.patterns().iter().fold(key.to_string(), |k, (p, r)| {
                regex::Regex::new(p)
                    .unwrap()
                    .replace_all(&k, *r)
                    .into_owned()
            })
        };
        let file = "encoder.layer.3.attention.self.query.weight";
        assert_eq!(
            rename(file),
            "encoder.layer.3.attention.self_attention.query.weight"
        );
        let norm = "encoder.layer.0.attention.output.LayerNorm.weight";
        assert_eq!(
            rename(norm),
            "encoder.layer.0.attention.output.layer_norm.weight"
        );
        assert_eq!(
            rename("embeddings.LayerNorm.bias"),
            "embeddings.layer_norm.bias"
        );
        // Error messages name the file's keys.
        assert_eq!(
            bert.pytorch_key("encoder.layer.0.attention.output.layer_norm.gamma"),
            norm
        );
        assert_eq!(
            bert.pytorch_key("encoder.layer.3.attention.self_attention.query.weight"),
            file
        );
        assert!(bert.ignored("pooler.dense.weight"));
        assert!(bert.ignored("embeddings.position_ids"));
        assert!(!bert.ignored("embeddings.token_type_ids"));
        assert!(!Renaming::StripUnderscores.ignored("pooler.dense.weight"));
    }
}
