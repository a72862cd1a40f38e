#![warn(missing_docs)]
#![doc = include_str!("../README.md")]

pub mod completeness;
pub mod perturbation;
pub mod randomisation;
pub mod rank;
pub mod sensitivity;
pub mod sparseness;
mod support;

pub use completeness::{CompletenessSummary, completeness};
pub use perturbation::{
    Curve, CurveMode, CurveScore, PerturbationCurve, PerturbationCurveConfig, RelevanceOrder,
    Replacement,
};
pub use randomisation::{
    Cascade, ModelRandomisation, ModelRandomisationConfig, SanityCheck, randomisation_similarity,
};
pub use rank::spearman;
pub use sensitivity::{MaxSensitivity, MaxSensitivityConfig};
pub use sparseness::gini;
