//! Reading input tensors from, and writing results to, safetensors files.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use ember::FeatureMask;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};

/// A float tensor read from a file, as f64 values.
pub struct FloatTensor {
    /// Row-major values.
    pub values: Vec<f64>,
    /// The shape.
    pub shape: Vec<usize>,
}

/// Reads the whole file.
pub fn read_file(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Parses `bytes` (from `path`) as a safetensors file.
pub fn parse<'a>(bytes: &'a [u8], path: &Path) -> Result<SafeTensors<'a>, String> {
    SafeTensors::deserialize(bytes)
        .map_err(|e| format!("{} is not a safetensors file: {e}", path.display()))
}

fn tensor<'a>(
    file: &'a SafeTensors<'a>,
    name: &str,
    path: &Path,
) -> Result<TensorView<'a>, String> {
    file.tensor(name).map_err(|_| {
        let mut names = file.names();
        names.sort();
        format!(
            "{} has no tensor named `{name}` (it has: {})",
            path.display(),
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

/// Reads the float tensor `name` (float32 or float64).
pub fn read_float(file: &SafeTensors<'_>, name: &str, path: &Path) -> Result<FloatTensor, String> {
    let view = tensor(file, name, path)?;
    let data = view.data();
    let values: Vec<f64> = match view.dtype() {
        Dtype::F32 => data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64)
            .collect(),
        Dtype::F64 => data
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
            .collect(),
        other => {
            return Err(format!(
                "tensor `{name}` in {} is {other:?}, expected float32 (or float64)",
                path.display()
            ));
        }
    };
    Ok(FloatTensor {
        values,
        shape: view.shape().to_vec(),
    })
}

/// Reads the integer tensor `name` (int64, int32, uint8…) as class indices.
pub fn read_classes(file: &SafeTensors<'_>, name: &str, path: &Path) -> Result<Vec<usize>, String> {
    let view = tensor(file, name, path)?;
    if view.shape().len() != 1 {
        return Err(format!(
            "tensor `{name}` in {} has shape {:?}, expected [N] (one class per sample)",
            path.display(),
            view.shape()
        ));
    }
    integers(&view, name, path)?
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            usize::try_from(v).map_err(|_| {
                format!(
                    "tensor `{name}` in {} has a negative class {v} at index {i}",
                    path.display()
                )
            })
        })
        .collect()
}

/// The values of an integer tensor (int64, int32, uint8).
fn integers(view: &TensorView<'_>, name: &str, path: &Path) -> Result<Vec<i64>, String> {
    let data = view.data();
    Ok(match view.dtype() {
        Dtype::I64 => data
            .chunks_exact(8)
            .map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes")))
            .collect(),
        Dtype::I32 => data
            .chunks_exact(4)
            .map(|b| i32::from_le_bytes(b.try_into().expect("4 bytes")) as i64)
            .collect(),
        Dtype::U8 => data.iter().map(|&b| b as i64).collect(),
        other => {
            return Err(format!(
                "tensor `{name}` in {} is {other:?}, expected an integer tensor (int64 or int32)",
                path.display()
            ));
        }
    })
}

/// Reads `--feature-mask FILE`: the integer tensor `feature_mask` (`[1, ...]` or `[N, ...]`,
/// id −1 for never perturbed), checked against the input when the method runs.
pub fn read_mask(path: &Path) -> Result<FeatureMask, String> {
    let bytes = read_file(path)?;
    let file = parse(&bytes, path)?;
    let view = tensor(&file, "feature_mask", path)?;
    Ok(FeatureMask::Given {
        shape: view.shape().to_vec(),
        ids: integers(&view, "feature_mask", path)?,
    })
}

/// Reads `--baselines FILE`: the float tensor `baselines` `[K, ...]`, checked against the
/// input when the method runs.
pub fn read_baselines(path: &Path) -> Result<ember::BaselineSet, String> {
    let bytes = read_file(path)?;
    let file = parse(&bytes, path)?;
    let t = read_float(&file, "baselines", path)?;
    ember::BaselineSet::new(t.shape, t.values).map_err(|e| format!("{}: {e}", path.display()))
}

/// Output precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutDtype {
    /// float32.
    F32,
    /// float64.
    F64,
}

/// Writes named float tensors (and optionally one int64 tensor of classes) to `path` atomically: a temporary file in the same directory,
/// renamed over `path` only once complete, so an existing file is never left truncated.
pub fn write_atomically(
    path: &Path,
    tensors: &[(&str, Vec<f64>, Vec<usize>)],
    classes: Option<(&str, Vec<i64>)>,
    dtype: OutDtype,
    metadata: BTreeMap<String, String>,
) -> Result<(), String> {
    let encoded: Vec<(String, Vec<u8>, Vec<usize>)> = tensors
        .iter()
        .map(|(name, values, shape)| {
            let bytes = match dtype {
                OutDtype::F32 => values
                    .iter()
                    .flat_map(|&v| (v as f32).to_le_bytes())
                    .collect(),
                OutDtype::F64 => values.iter().flat_map(|&v| v.to_le_bytes()).collect(),
            };
            (name.to_string(), bytes, shape.clone())
        })
        .collect();
    let st_dtype = match dtype {
        OutDtype::F32 => Dtype::F32,
        OutDtype::F64 => Dtype::F64,
    };
    let class_bytes: Option<(String, Vec<u8>, usize)> = classes.map(|(name, values)| {
        let n = values.len();
        (
            name.to_string(),
            values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            n,
        )
    });
    let mut views = encoded
        .iter()
        .map(|(name, bytes, shape)| {
            TensorView::new(st_dtype, shape.clone(), bytes)
                .map(|view| (name.clone(), view))
                .map_err(|e| format!("cannot encode tensor `{name}`: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if let Some((name, bytes, n)) = &class_bytes {
        let view = TensorView::new(Dtype::I64, vec![*n], bytes)
            .map_err(|e| format!("cannot encode tensor `{name}`: {e}"))?;
        views.push((name.clone(), view));
    }
    let metadata: std::collections::HashMap<String, String> = metadata.into_iter().collect();
    let bytes = safetensors::serialize(views, Some(metadata))
        .map_err(|e| format!("cannot encode the output: {e}"))?;
    let directory = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let shown = path.display();
    let mut temp = tempfile::NamedTempFile::new_in(directory)
        .map_err(|e| format!("cannot create a temporary file beside {shown}: {e}"))?;
    temp.write_all(&bytes)
        .and_then(|_| temp.as_file().sync_all())
        .map_err(|e| format!("cannot write {shown}: {e}"))?;
    temp.persist(path)
        .map_err(|e| format!("cannot move the output into place at {shown}: {}", e.error))?;
    Ok(())
}
