//! The model-randomisation sanity check: an explanation that survives the randomisation of the
//! model's weights does not explain the model.
//!
//! Adebayo, Gilmer, Muelly, Goodfellow, Hardt and Kim, *Sanity Checks for Saliency Maps*,
//! NeurIPS 2018. <https://arxiv.org/abs/1810.03292>
//!
//! The cascading test re-initialises the model's layers one at a time, from the output towards
//! the input, explains the same batch after each step, and compares each explanation with the
//! original one by Spearman's rank correlation of the absolute values (the paper's choice:
//! the sign of a saliency map is often not meaningful). A method passes when the similarity at
//! the fully randomised model is low.
//!
//! [`crate::reinit`] re-initialises the layers of any Burn module, and [`crate::compare`] runs
//! the whole cascade on a model. This module takes the attributions of each randomised model,
//! by layer name: either all at once with [`ModelRandomisation::check`], or step by step with a
//! [`Cascade`] so that only one randomised model and its attributions live at a time.
//! [`SanityFeatures::InputNonZero`] ranks only the features the input does not zero, for
//! methods that multiply by the input.
//!
//! # Example
//!
//! ```
//! use burn::tensor::{Device, Tensor};
//! use ember_metrics::ModelRandomisationConfig;
//!
//! let device = Device::flex();
//! let original = Tensor::<2>::from_floats([[1.0, 2.0, 3.0, 4.0]], &device);
//! // The caller re-initialises `head`, then `hidden`, and explains the batch after each step.
//! let head = Tensor::<2>::from_floats([[1.0, 2.5, 3.0, 4.0]], &device);
//! let hidden = Tensor::<2>::from_floats([[4.0, 1.0, 3.0, 2.0]], &device);
//! let check = ModelRandomisationConfig::new()
//!     .init()?
//!     .check(original, [("head", head), ("hidden", hidden)])?;
//! assert_eq!(check.layers, vec!["head", "hidden"]);
//! assert_eq!(check.similarity[0], 1.0);
//! assert!(check.passes); // Spearman −0.4 < 0.5 at the fully randomised model
//! # Ok::<(), ember_core::Error>(())
//! ```

use burn::config::Config;
use burn::tensor::Tensor;
use ember_core::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::rank::spearman_of;
use crate::support::{read_rows, shape_mismatch};

/// The similarity between the attributions of the original and of a randomised model: per
/// sample, Spearman's rank correlation of `|original|` and `|randomised|` (`absolute`, the
/// paper's choice) or of the signed values.
///
/// # Arguments
///
/// - `original`: the attributions of the trained model.
/// - `randomised`: the attributions of the same batch by the same method on the randomised
///   model.
/// - `absolute`: compare magnitudes (`true`) or signed values.
///
/// # Shapes
///
/// - `original`, `randomised`: `[batch, ...]`, the same shape.
///
/// # Returns
///
/// One value per sample in `[−1, 1]`, with [`crate::spearman`]'s convention for constant
/// samples (e.g. a randomised model whose attributions are all 0 scores 0 against a
/// non-constant original).
///
/// # Errors
///
/// As [`crate::spearman`]: [`Error::InvalidConfig`] for different shapes or non-finite values,
/// [`Error::EmptyBatch`] or [`Error::EmptyInput`] for empty tensors, [`Error::Backend`].
pub fn randomisation_similarity<const D: usize>(
    original: Tensor<D>,
    randomised: Tensor<D>,
    absolute: bool,
) -> Result<Vec<f64>> {
    if absolute {
        crate::spearman(original.abs(), randomised.abs())
    } else {
        crate::spearman(original, randomised)
    }
}

/// Hyper-parameters of [`ModelRandomisation`].
#[derive(Config, Debug)]
pub struct ModelRandomisationConfig {
    /// A method passes when the mean similarity at the fully randomised model (the last step)
    /// is below this (in `[−1, 1]`).
    #[config(default = 0.5)]
    pub threshold: f64,
    /// Compare absolute values (the paper's choice) rather than signed ones.
    #[config(default = true)]
    pub absolute: bool,
    /// Which features the similarity ranks: all of them (the paper's choice), or only those
    /// the input does not zero (see [`SanityFeatures`]).
    #[config(default = "SanityFeatures::All")]
    pub features: SanityFeatures,
}

/// Which features the sanity check's similarity ranks.
///
/// Under a method that multiplies by the input (gradient × input, Integrated Gradients from a
/// zero baseline), a feature the input zeroes gets attribution 0 under every model, trained or
/// randomised. Ranking all features counts those shared zeros as agreement, so such a method
/// looks insensitive to the model partly because of the input. Ranking only the features the
/// input does not zero measures the model's influence alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SanityFeatures {
    /// Every feature (Adebayo et al.).
    #[default]
    All,
    /// Only the features whose input value is not 0, per sample. A sample with fewer than two
    /// such features is ranked on all of them.
    InputNonZero,
}

impl SanityFeatures {
    /// The variant's name in reports: `all` or `input-nonzero`.
    pub fn name(self) -> &'static str {
        match self {
            SanityFeatures::All => "all",
            SanityFeatures::InputNonZero => "input-nonzero",
        }
    }
}

impl ModelRandomisationConfig {
    /// Checks the configuration and builds the check.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] if `threshold` is not a number in `[−1, 1]`.
    pub fn init(&self) -> Result<ModelRandomisation> {
        if !(-1.0..=1.0).contains(&self.threshold) {
            return Err(Error::InvalidConfig {
                name: "threshold",
                value: self.threshold.to_string(),
                expected: "a similarity in [-1, 1]",
            });
        }
        Ok(ModelRandomisation {
            threshold: self.threshold,
            absolute: self.absolute,
            features: self.features,
        })
    }
}

/// The cascading model-randomisation sanity check (Adebayo et al. 2018). Build it with
/// [`ModelRandomisationConfig`].
#[derive(Debug, Clone, PartialEq)]
pub struct ModelRandomisation {
    threshold: f64,
    absolute: bool,
    features: SanityFeatures,
}

/// The result of the model-randomisation check, serializable for reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SanityCheck {
    /// The randomised layers, in cascade order: step `i` has layers `0..=i` randomised.
    pub layers: Vec<String>,
    /// The mean similarity over the batch after each step.
    pub similarity: Vec<f64>,
    /// The similarity of each sample after each step, `[steps][batch]`.
    pub per_sample: Vec<Vec<f64>>,
    /// The threshold that `passes` was decided with.
    pub threshold: f64,
    /// The features the similarity ranked.
    pub features: SanityFeatures,
    /// Whether the similarity at the fully randomised model (the last step) is below the
    /// threshold.
    pub passes: bool,
}

impl ModelRandomisation {
    /// Starts a cascade from the original model's attributions; add each randomised model's
    /// attributions with [`Cascade::step`].
    ///
    /// # Shapes
    ///
    /// - `original`: `[batch, ...]`.
    ///
    /// # Errors
    ///
    /// [`Error::EmptyBatch`], [`Error::EmptyInput`], [`Error::InvalidConfig`] for non-finite
    /// values or when the check ranks [`SanityFeatures::InputNonZero`] (which needs the input:
    /// use [`cascade_on`](Self::cascade_on)), [`Error::Backend`].
    pub fn cascade<const D: usize>(&self, original: Tensor<D>) -> Result<Cascade> {
        if self.features != SanityFeatures::All {
            return Err(Error::InvalidConfig {
                name: "features",
                value: self.features.name().into(),
                expected: "`all` without the input; pass the input with cascade_on",
            });
        }
        self.start(original, None)
    }

    /// Starts a cascade from the original model's attributions of `input`; add each randomised
    /// model's attributions with [`Cascade::step`]. The input matters only to
    /// [`SanityFeatures::InputNonZero`].
    ///
    /// # Shapes
    ///
    /// - `original`, `input`: `[batch, ...]`, the same shape.
    ///
    /// # Errors
    ///
    /// As [`cascade`](Self::cascade), and [`Error::InvalidConfig`] if the shapes differ or the
    /// input is not finite.
    pub fn cascade_on<const D: usize>(
        &self,
        original: Tensor<D>,
        input: Tensor<D>,
    ) -> Result<Cascade> {
        if input.dims() != original.dims() {
            return Err(shape_mismatch(
                "input",
                &input.dims(),
                &original.dims(),
                "the shape of the attributions",
            ));
        }
        let mask = match self.features {
            SanityFeatures::All => None,
            SanityFeatures::InputNonZero => {
                let input = read_rows("input", input)?;
                Some(
                    (0..input.batch)
                        .map(|s| {
                            let kept: Vec<usize> = (0..input.row(s).len())
                                .filter(|&f| input.row(s)[f] != 0.0)
                                .collect();
                            (kept.len() >= 2).then_some(kept)
                        })
                        .collect(),
                )
            }
        };
        self.start(original, mask)
    }

    fn start<const D: usize>(
        &self,
        original: Tensor<D>,
        mask: Option<Vec<Option<Vec<usize>>>>,
    ) -> Result<Cascade> {
        let original = if self.absolute {
            original.abs()
        } else {
            original
        };
        Ok(Cascade {
            original: read_rows("original", original)?,
            absolute: self.absolute,
            threshold: self.threshold,
            features: self.features,
            mask,
            layers: Vec::new(),
            per_sample: Vec::new(),
        })
    }

    /// Runs the whole check on the original attributions and the attributions after each
    /// cascade step.
    ///
    /// # Arguments
    ///
    /// - `original`: the attributions of the trained model.
    /// - `steps`: `(layer name, attributions)` after randomising each layer in turn, cumulative
    ///   and in cascade order (output layer first).
    ///
    /// # Shapes
    ///
    /// - `original` and every step's attributions: `[batch, ...]`, the same shape.
    ///
    /// # Returns
    ///
    /// The [`SanityCheck`].
    ///
    /// # Errors
    ///
    /// As [`cascade`](Self::cascade), [`Cascade::step`] and [`Cascade::finish`]
    /// ([`Error::InvalidConfig`] when `steps` is empty).
    ///
    /// With [`SanityFeatures::InputNonZero`], use [`cascade_on`](Self::cascade_on) and
    /// [`Cascade::step`] instead (this returns its error).
    pub fn check<const D: usize, S: Into<String>>(
        &self,
        original: Tensor<D>,
        steps: impl IntoIterator<Item = (S, Tensor<D>)>,
    ) -> Result<SanityCheck> {
        let mut cascade = self.cascade(original)?;
        for (layer, randomised) in steps {
            cascade.step(layer, randomised)?;
        }
        cascade.finish()
    }
}

/// A model-randomisation check in progress: the original attributions (on the host) and the
/// similarities of the steps so far. Made by [`ModelRandomisation::cascade`].
#[derive(Debug, Clone)]
pub struct Cascade {
    original: crate::support::HostRows,
    absolute: bool,
    threshold: f64,
    features: SanityFeatures,
    /// Per sample, the features ranked (`None`: all).
    mask: Option<Vec<Option<Vec<usize>>>>,
    layers: Vec<String>,
    per_sample: Vec<Vec<f64>>,
}

impl Cascade {
    /// Adds the attributions after randomising `layer` (on top of the earlier steps).
    ///
    /// # Shapes
    ///
    /// - `randomised`: the original attributions' shape.
    ///
    /// # Returns
    ///
    /// The mean similarity of this step over the batch.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] if the shape differs from the original's or a value is NaN or
    /// infinite; [`Error::Backend`] if the tensor cannot be read.
    pub fn step<const D: usize>(
        &mut self,
        layer: impl Into<String>,
        randomised: Tensor<D>,
    ) -> Result<f64> {
        if randomised.dims().as_slice() != self.original.shape.as_slice() {
            return Err(shape_mismatch(
                "randomised",
                &randomised.dims(),
                &self.original.shape,
                "the shape of the original attributions",
            ));
        }
        let randomised = if self.absolute {
            randomised.abs()
        } else {
            randomised
        };
        let randomised = read_rows("randomised", randomised)?;
        let similarity: Vec<f64> = (0..self.original.batch)
            .map(|s| {
                let (a, b) = (self.original.row(s), randomised.row(s));
                match self.mask.as_ref().and_then(|m| m[s].as_ref()) {
                    Some(kept) => {
                        let pick = |row: &[f64]| kept.iter().map(|&f| row[f]).collect::<Vec<_>>();
                        spearman_of(&pick(a), &pick(b))
                    }
                    None => spearman_of(a, b),
                }
            })
            .collect();
        let mean = mean(&similarity);
        self.layers.push(layer.into());
        self.per_sample.push(similarity);
        Ok(mean)
    }

    /// Finishes the check.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] if no step was added.
    pub fn finish(self) -> Result<SanityCheck> {
        let similarity: Vec<f64> = self.per_sample.iter().map(|s| mean(s)).collect();
        let Some(&last) = similarity.last() else {
            return Err(Error::InvalidConfig {
                name: "steps",
                value: "none".into(),
                expected: "the attributions of at least one randomised model",
            });
        };
        Ok(SanityCheck {
            layers: self.layers,
            similarity,
            per_sample: self.per_sample,
            threshold: self.threshold,
            features: self.features,
            passes: last < self.threshold,
        })
    }
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_thresholds_are_typed_errors() {
        for threshold in [f64::NAN, 1.5, -1.01, f64::INFINITY] {
            assert!(matches!(
                ModelRandomisationConfig::new()
                    .with_threshold(threshold)
                    .init(),
                Err(Error::InvalidConfig {
                    name: "threshold",
                    ..
                })
            ));
        }
    }
}
