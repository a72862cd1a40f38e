//! The error type of ember.

/// Everything that can go wrong when computing attributions.
///
/// Every variant names what was wrong and what was expected. The enum is `#[non_exhaustive]`:
/// new variants can be added without a breaking release, so match with a wildcard arm.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input batch has no samples.
    #[error(
        "empty batch: the input has shape {shape:?}, expected at least one sample along dimension 0"
    )]
    EmptyBatch {
        /// Shape of the input.
        shape: Vec<usize>,
    },

    /// The input has samples, but each sample has no elements.
    #[error(
        "empty input: the input has shape {shape:?}, expected every dimension to be at least 1"
    )]
    EmptyInput {
        /// Shape of the input.
        shape: Vec<usize>,
    },

    /// The input contains NaN or infinite values.
    #[error(
        "the input contains {count} non-finite value(s) (NaN or ±inf), first in sample {sample}; expected finite values"
    )]
    NonFiniteInput {
        /// Number of non-finite values.
        count: usize,
        /// First sample (index along dimension 0) with a non-finite value.
        sample: usize,
    },

    /// A target class is not one of the model's outputs.
    #[error(
        "target {target} for sample {sample} is out of range: the model has {outputs} output(s), expected a class in 0..{outputs}"
    )]
    TargetOutOfRange {
        /// The requested class.
        target: usize,
        /// The sample it was requested for.
        sample: usize,
        /// Number of outputs (columns) of the model.
        outputs: usize,
    },

    /// `Target::PerSample` has a different length from the batch.
    #[error(
        "Target::PerSample has {targets} target(s) but the batch has {batch} sample(s); expected one target per sample"
    )]
    TargetCountMismatch {
        /// Number of targets given.
        targets: usize,
        /// Number of samples in the batch.
        batch: usize,
    },

    /// The model's output does not have one row per input row, or has no columns.
    #[error(
        "model output has shape {output:?} for {rows} input row(s); expected [{rows}, outputs] with outputs >= 1 (one row per input, rank 2)"
    )]
    ModelOutputShape {
        /// Shape of the model's output.
        output: Vec<usize>,
        /// Number of rows fed to the model.
        rows: usize,
    },

    /// The model's output contains NaN or infinite values.
    #[error(
        "the model output contains {count} non-finite value(s) (NaN or ±inf), first for sample {sample}; expected finite outputs"
    )]
    NonFiniteOutput {
        /// Number of non-finite values.
        count: usize,
        /// First sample with a non-finite output.
        sample: usize,
    },

    /// The gradient of the target with respect to the input contains NaN or infinite values.
    #[error(
        "the gradient contains {count} non-finite value(s) (NaN or ±inf), first for sample {sample}; expected finite gradients (check the model for operations with undefined derivatives)"
    )]
    NonFiniteGradient {
        /// Number of non-finite values.
        count: usize,
        /// First sample with a non-finite gradient.
        sample: usize,
    },

    /// A hyper-parameter has an invalid value.
    #[error("invalid configuration: `{name}` is {value}, expected {expected}")]
    InvalidConfig {
        /// Name of the hyper-parameter.
        name: &'static str,
        /// The value given, formatted.
        value: String,
        /// What was expected.
        expected: &'static str,
    },

    /// A backend was asked for that this build or this machine does not have.
    #[error("backend `{backend}` is not available: {reason}")]
    BackendUnavailable {
        /// The backend's name.
        backend: String,
        /// Why, and how to get it.
        reason: String,
    },

    /// The device does not support a floating-point precision.
    #[error(
        "device {device} does not support {dtype}; expected a device with {dtype} support (Metal and OpenGL have no f64: use f32, or a Vulkan or CPU device)"
    )]
    UnsupportedDType {
        /// The device, formatted.
        device: String,
        /// The precision, e.g. `f64`.
        dtype: &'static str,
    },

    /// The device computes a precision's elementary functions wrongly (measured by
    /// `ember::backend::check_precision`).
    #[error(
        "device {device} computes {dtype} math wrongly: {detail}; use f32 on this device, or a CPU backend (flex, ndarray) for {dtype}"
    )]
    InaccurateDType {
        /// The device, formatted.
        device: String,
        /// The precision, e.g. `f64`.
        dtype: &'static str,
        /// The first wrong result, with the expected value.
        detail: String,
    },

    /// The model's output for a row changes with the other rows of its pass: rows are coupled,
    /// as they are by BatchNorm in training mode. ember stacks many points of many samples into
    /// one pass, so a coupled model would give every row a gradient that depends on the others.
    ///
    /// A module ember holds ([`crate::eval`], [`crate::eval_with`], [`crate::eval_split`],
    /// [`crate::eval_split_with`]) is never refused for this: ember runs a copy in evaluation
    /// mode. A closure over a module in training mode is, and by then the check has run the
    /// module on autodiff rows, which moves BatchNorm's running statistics: the message says so.
    #[error(
        "the model's output for sample {sample} changes with the other rows of its pass (by up to {difference:.3e}): its rows are coupled, as by BatchNorm in training mode. If it is a Burn module in training mode called through a closure, this check has run it on autodiff rows, so its BatchNorm running statistics have moved (in every clone, which share them): reload its weights before using it again. Explain it with `ember::eval(&module, Module::forward)`, which runs a copy in evaluation mode and leaves the module as it was (or call `module.valid()` before the closure captures it); if the coupling is intended, turn the check off (`with_check_model(false)`)"
    )]
    ModelRowsCoupled {
        /// The sample whose output changed.
        sample: usize,
        /// The largest change of one output.
        difference: f64,
    },

    /// The model gave different outputs for the same rows on two evaluations: it is random, as
    /// Dropout is in training mode. As for [`Error::ModelRowsCoupled`], a closure over a module
    /// in training mode has been run on autodiff rows by then (its BatchNorm running statistics,
    /// if any, have moved).
    #[error(
        "the model gives sample {sample} different outputs on two evaluations of the same rows (by up to {difference:.3e}): it is random, as Dropout is in training mode. If it is a Burn module in training mode called through a closure, this check has run it on autodiff rows, so any BatchNorm running statistics it has have moved (in every clone, which share them): reload its weights before using it again. Explain it with `ember::eval(&module, Module::forward)`, which runs a copy in evaluation mode and leaves the module as it was (or call `module.valid()` before the closure captures it); if the randomness is intended, turn the check off (`with_check_model(false)`)"
    )]
    ModelNotDeterministic {
        /// The sample whose output changed.
        sample: usize,
        /// The largest change of one output.
        difference: f64,
    },

    /// The model panicked on a block of rows in the model check (the first forward passes of a
    /// call): typically a closure that captures per-sample inputs of the whole batch (an
    /// `[N, L]` mask), which fail Burn's shape checks as soon as a block holds another number
    /// of rows. ember catches the panic (Burn's own message is in `message`) and names the fix:
    /// pass such inputs as auxiliary inputs ([`crate::eval_with`], [`crate::WithAux`]).
    #[error(
        "the model panicked on a block of {rows} row(s) in the model check: {message}. ember passes the model blocks of any number of rows (points of several samples stacked in one pass), so it must take `[rows, ...]` for any `rows`. A closure that captures per-sample inputs of the whole batch (an `[N, ...]` mask, token types) cannot: pass them as auxiliary inputs, `ember::eval_with(&module, mask, |m, x, mask| m.forward(x, mask))` or `ember::WithAux::new(mask, |x, mask| ...)`, and every block gets its own rows' entries"
    )]
    ModelPanicked {
        /// The rows of the block the model panicked on.
        rows: usize,
        /// The panic's message (Burn's shape error, for a captured mask).
        message: String,
    },

    /// The model's auxiliary inputs (a mask, token types) do not have one entry per sample.
    #[error(
        "the model's auxiliary inputs hold {auxiliary} sample(s) but the input batch has {batch}; expected one auxiliary entry per input sample (dimension 0 of every auxiliary tensor)"
    )]
    AuxiliaryBatchMismatch {
        /// Samples in the auxiliary inputs (the first one that differs).
        auxiliary: usize,
        /// Samples in the input.
        batch: usize,
    },

    /// A feature mask does not fit the input, or leaves nothing to perturb.
    #[error("invalid feature mask: {0}")]
    InvalidMask(String),

    /// A method's evaluation plan is inconsistent (a bug in the method, not in the model or
    /// the input): its blocks do not match what it declared.
    #[error("invalid evaluation plan (a bug in the attribution method): {0}")]
    InvalidPlan(String),

    /// The backend failed to execute or to read back a tensor.
    #[error("backend error: {0}")]
    Backend(String),
}
