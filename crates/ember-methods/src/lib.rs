#![warn(missing_docs)]
#![doc = include_str!("../README.md")]

pub mod input_x_gradient;
pub mod saliency;

pub use input_x_gradient::{InputXGradient, InputXGradientConfig};
pub use saliency::{Saliency, SaliencyConfig};
