#![warn(missing_docs)]
#![doc = include_str!("../README.md")]

pub mod compare;
pub mod completeness;
pub mod perturbation;
pub mod randomisation;
pub mod rank;
pub mod reinit;
pub mod sensitivity;
pub mod sparseness;
mod support;

pub use compare::{CompareConfig, Comparison};
pub use completeness::{CompletenessSummary, SampleCompleteness, completeness};
pub use perturbation::{
    Curve, CurveMode, CurveScore, PerturbationCurve, PerturbationCurveConfig, RelevanceOrder,
    Replacement,
};
pub use randomisation::{
    Cascade, ModelRandomisation, ModelRandomisationConfig, SanityCheck, SanityFeatures,
    randomisation_similarity,
};
pub use rank::spearman;
pub use sensitivity::{MaxSensitivity, MaxSensitivityConfig};
pub use sparseness::gini;
