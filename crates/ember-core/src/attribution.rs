//! The attribution trait and its result.

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::{KernelStats, Model, Result, Target};

/// An attribution method: explains a model's target output by a score per input element.
///
/// Methods are built from a checked config (`SaliencyConfig::new().init()?`), so a method
/// object is always valid; the remaining checks are of the input, the target and the model.
pub trait Attribution<const D: usize> {
    /// Computes the attributions of `model`'s `target` output at `input`.
    ///
    /// # Arguments
    ///
    /// - `model`: any [`Model`], e.g. `|x| module.forward(x)`.
    /// - `input`: a batch `[batch, ...]`, on the plain (non-autodiff) device.
    /// - `target`: the output to explain, e.g. `Target::Class(3)`, `3`, or
    ///   `Target::Predicted`.
    ///
    /// # Returns
    ///
    /// [`Attributions`] with values of the input's shape, on the input's plain device.
    ///
    /// # Errors
    ///
    /// Any [`crate::Error`] about the input, the target or the model's output.
    fn attribute<M: Model<D> + ?Sized>(
        &self,
        model: &M,
        input: Tensor<D>,
        target: impl Into<Target>,
    ) -> Result<Attributions<D>>;
}

/// The result of an attribution method.
#[derive(Debug, Clone)]
pub struct Attributions<const D: usize> {
    /// One attribution per input element: the input's shape, on the plain device.
    pub values: Tensor<D>,
    /// How the values were computed.
    pub report: Report,
}

/// How an attribution was computed, serializable for logs and reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Report {
    /// The method's name, e.g. `"saliency"`.
    pub method: String,
    /// The explained class of each sample (resolved, so `Predicted` lists the argmax).
    pub targets: Vec<usize>,
    /// The model's output for the explained class of each sample, `F_target(x)`.
    pub scores: Vec<f64>,
    /// Rows evaluated by the model (forward evaluations), in all passes.
    pub model_evaluations: usize,
    /// Forward+backward passes (`backward()` calls).
    pub passes: usize,
    /// The largest number of rows in one pass.
    pub rows_per_pass: usize,
}

impl Report {
    /// A report for `method` from the kernel's resolved targets, scores and statistics.
    pub fn new(
        method: impl Into<String>,
        targets: Vec<usize>,
        scores: Vec<f64>,
        stats: KernelStats,
    ) -> Self {
        Self {
            method: method.into(),
            targets,
            scores,
            model_evaluations: stats.rows,
            passes: stats.passes,
            rows_per_pass: stats.max_rows_per_pass,
        }
    }
}
