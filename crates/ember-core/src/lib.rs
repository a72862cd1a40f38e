#![warn(missing_docs)]
#![doc = include_str!("../README.md")]

pub mod attribution;
pub mod baseline;
pub mod error;
pub mod kernel;
pub mod mask;
pub mod model;
pub mod perturb;
pub mod quadrature;
pub mod rng;
pub mod split;
pub mod target;
pub mod validate;

pub use attribution::{
    Attribution, Attributions, LayerAttribution, NoiseReport, PathReport, PerturbationReport,
    Report,
};
pub use baseline::{Baseline, BaselineSet};
pub use error::Error;
pub use kernel::{
    Accumulators, Block, DeviceClass, ForwardPlan, GradientKernel, KernelOutput, KernelSettings,
    KernelStats, Plan, RowTargets, RowsFrom, RowsTuning, Run, Slots,
};
pub use mask::{FeatureMask, Groups, NEVER_PERTURBED};
pub use model::{
    Auxiliary, Eval, EvalWith, Model, Renumbered, RowSamples, WithAux, eval, eval_with,
};
pub use quadrature::Quadrature;
pub use split::{
    EvalSplit, EvalSplitWith, Split, SplitModel, SplitRenumbered, Tail, Whole, WithLayer,
    eval_split, eval_split_with,
};
pub use target::Target;

/// The result type of every fallible ember operation.
pub type Result<T, E = Error> = core::result::Result<T, E>;
