//! The weights shipped with ember, trained by `ember train` (seeded, reproducible) and stored in
//! PyTorch's layout and names, like a user's own file.

use burn::tensor::Device;

use crate::weights::load_safetensors_bytes;
use crate::{Cnn, Mlp, Tabular, ZooError};

const MLP: &[u8] = include_bytes!("../weights/mlp.safetensors");
const CNN: &[u8] = include_bytes!("../weights/cnn.safetensors");
const TABULAR: &[u8] = include_bytes!("../weights/tabular.safetensors");

/// The shipped digits MLP on `device`.
///
/// # Errors
///
/// [`ZooError`] if the shipped file does not match the model (a broken build).
pub fn mlp(device: &Device) -> Result<Mlp, ZooError> {
    load_safetensors_bytes(Mlp::new(device), MLP, "shipped mlp weights", "mlp")
}

/// The shipped digits CNN on `device`.
///
/// # Errors
///
/// [`ZooError`] if the shipped file does not match the model (a broken build).
pub fn cnn(device: &Device) -> Result<Cnn, ZooError> {
    load_safetensors_bytes(Cnn::new(device), CNN, "shipped cnn weights", "cnn")
}

/// The shipped breast-cancer model on `device`.
///
/// # Errors
///
/// [`ZooError`] if the shipped file does not match the model (a broken build).
pub fn tabular(device: &Device) -> Result<Tabular, ZooError> {
    load_safetensors_bytes(
        Tabular::new(device),
        TABULAR,
        "shipped tabular weights",
        "tabular",
    )
}
