//! The batched gradient kernel: the only place in ember that calls `backward()`.
//!
//! A method describes a [`Plan`]: for every accumulator slot (a sample, or a sample and one of
//! its targets), evaluation points with weights. The kernel streams the plan in blocks of at
//! most [`GradientKernel::rows_per_pass`] rows. For each block it runs ONE forward pass on the
//! autodiff device, selects each row's target output, sums them into ONE scalar root, runs ONE
//! `backward()`, and folds the block's gradients into [`Accumulators`]: the weighted sum of
//! the gradients and of the target outputs per slot. Because each output row depends only on
//! its own input row, the gradient of that sum with respect to the rows is every row's own
//! gradient. (Captum gets the same gradients from one `torch.autograd.grad` call whose roots
//! are the rows' outputs, one root per row.)
//!
//! Memory grows with the block, not with points × samples: the plan builds each block on
//! demand and the accumulators hold one entry per slot.
//!
//! - [`plan`]: plans, blocks and where their rows go;
//! - `fold`: one pass and its fold into the sums;
//! - [`forward`]: forward-only streaming (scores, metrics, perturbation methods);
//! - [`budget`]: rows per pass from a memory budget;
//! - `check`: the once-per-call checks of the input and of the model's rows;
//! - [`bench`](mod@bench): the benchmarks' raw forward+backward limit;
//! - [`tune`]: rows per pass measured for throughput (`GradientKernel::tune_rows`).

pub mod bench;
pub mod budget;
mod check;
mod fold;
pub mod forward;
pub mod plan;
mod settings;
pub mod tune;

use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

pub use budget::{DeviceClass, default_rows};
pub use check::{ABSOLUTE_TOLERANCE, RELATIVE_TOLERANCE};
pub use forward::{ForwardPlan, RowsFrom};
pub use plan::{Block, Plan, RowTargets, Run, Slots};
pub use settings::KernelSettings;
pub use tune::RowsTuning;

use crate::validate::{first_and_total, non_finite_per_row, read_f64};
use crate::{Error, Model, Result};
use plan::PointPlan;

/// What the kernel did: the figures behind every [`crate::Report`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct KernelStats {
    /// Rows evaluated by the model (forward evaluations).
    pub rows: usize,
    /// Forward+backward passes made (one `backward()` call each, unless the output does not
    /// depend on the rows: then the gradient is zero and no backward is needed).
    pub passes: usize,
    /// The largest number of rows in one pass.
    pub max_rows_per_pass: usize,
}

impl KernelStats {
    /// Adds the figures of another run of the kernel.
    pub fn merge(&mut self, other: KernelStats) {
        self.rows += other.rows;
        self.passes += other.passes;
        self.max_rows_per_pass = self.max_rows_per_pass.max(other.max_rows_per_pass);
    }
}

/// The kernel's result for a set of rows (see [`GradientKernel::gradients`]).
#[derive(Debug, Clone)]
pub struct KernelOutput<const D: usize> {
    /// The gradient of each row's target output with respect to the row, with the rows' shape,
    /// on the plain (non-autodiff) device.
    pub gradients: Tensor<D>,
    /// The target class of each row (resolved, so `Predicted` becomes the argmax).
    pub targets: Vec<usize>,
    /// The model's target output of each row, `F_target(row)`.
    pub scores: Vec<f64>,
    /// What the kernel did.
    pub stats: KernelStats,
}

/// The kernel's running sums, one entry per slot of a [`Plan`].
#[derive(Debug, Clone)]
pub struct Accumulators<const D: usize> {
    /// `Σ w·g` per slot, `[slots, ...]` on the plain device.
    pub sum: Tensor<D>,
    /// `Σ w·F_target(row)` per slot, `[slots]` on the plain device.
    pub scores: Tensor<1>,
    /// The target of each slot as the kernel resolved it (`None` for a slot that has no rows
    /// yet).
    pub targets: Vec<Option<usize>>,
    /// What the kernel did to fill the sums.
    pub stats: KernelStats,
}

/// The batched gradient kernel, and the settings every method shares: rows per pass (a count,
/// a memory budget, or the device's default) and the check of the model's rows.
///
/// # Example
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// use ember_core::{GradientKernel, RowTargets};
///
/// let device = Device::flex();
/// let w = Tensor::<2>::from_floats([[1.0, 3.0], [2.0, 4.0]], &device);
/// let model = move |x: Tensor<2>| x.matmul(w.clone());
/// let rows = Tensor::<2>::ones([5, 2], &device);
/// let out = GradientKernel::new()
///     .with_max_rows(2)?
///     .gradients(&model, rows, &RowTargets::Indices(vec![1; 5]))?;
/// assert_eq!(out.stats.passes, 3); // ⌈5 / 2⌉ backward calls
/// assert_eq!(out.gradients.to_data().try_to_vec::<f32>().unwrap()[..2], [3.0, 4.0]);
/// # Ok::<(), ember_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GradientKernel {
    max_rows: Option<usize>,
    memory_budget: Option<usize>,
    check_model: bool,
}

impl Default for GradientKernel {
    fn default() -> Self {
        Self {
            max_rows: None,
            memory_budget: None,
            check_model: true,
        }
    }
}

impl GradientKernel {
    /// A kernel with the device's default rows per pass ([`default_rows`]) that checks the
    /// model's rows once per call.
    pub fn new() -> Self {
        Self::default()
    }

    /// The kernel of a method's settings: `max_rows` and `memory_budget` (`None`: the
    /// device's default) and whether to check the model's rows.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] if `max_rows` or `memory_budget` is `Some(0)`.
    pub fn with_settings(
        max_rows: Option<usize>,
        memory_budget: Option<usize>,
        check_model: bool,
    ) -> Result<Self> {
        Ok(Self::new()
            .with_max_rows_opt(max_rows)?
            .with_memory_budget_opt(memory_budget)?
            .with_check_model(check_model))
    }

    /// Limits each forward+backward pass to at most `max_rows` rows.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] if `max_rows` is 0.
    pub fn with_max_rows(self, max_rows: usize) -> Result<Self> {
        self.with_max_rows_opt(Some(max_rows))
    }

    /// Like [`with_max_rows`](Self::with_max_rows), where `None` means the device's default.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] if `max_rows` is `Some(0)`.
    pub fn with_max_rows_opt(self, max_rows: Option<usize>) -> Result<Self> {
        let max_rows = not_zero(
            "max_rows",
            max_rows,
            "at least 1 row per pass (or none for the device's default)",
        )?;
        Ok(Self { max_rows, ..self })
    }

    /// Limits the input rows of each pass to `bytes` (at least one row per pass, whatever a
    /// row's size). With [`with_max_rows`](Self::with_max_rows) too, the smaller wins.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] if `bytes` is `Some(0)`.
    pub fn with_memory_budget_opt(self, bytes: Option<usize>) -> Result<Self> {
        let memory_budget = not_zero(
            "memory_budget",
            bytes,
            "a positive number of bytes (or none for the device's default)",
        )?;
        Ok(Self {
            memory_budget,
            ..self
        })
    }

    /// Whether each call checks that the model's rows are independent and deterministic
    /// (on by default; see [`check_model`](Self::check_model)).
    pub fn with_check_model(self, check: bool) -> Self {
        Self {
            check_model: check,
            ..self
        }
    }

    /// The configured rows per pass, `None` for the budget's or the device's default.
    pub fn max_rows(&self) -> Option<usize> {
        self.max_rows
    }

    /// The configured memory budget for a pass's input rows, in bytes.
    pub fn memory_budget(&self) -> Option<usize> {
        self.memory_budget
    }

    /// Whether calls check the model's rows.
    pub fn checks_model(&self) -> bool {
        self.check_model
    }

    /// The rows per pass this kernel uses on `device` for rows of `features` values: the
    /// configured count, or as many rows as fit the configured budget, or the device's default
    /// ([`default_rows`]); the smaller of a count and a budget when both are set.
    pub fn rows_per_pass(&self, device: &Device, features: usize) -> usize {
        let budget = self
            .memory_budget
            .map(|bytes| budget::rows_within(device, features, bytes));
        match (self.max_rows, budget) {
            (Some(rows), Some(fit)) => rows.min(fit),
            (Some(rows), None) => rows,
            (None, Some(fit)) => fit,
            (None, None) => default_rows(device, features),
        }
    }

    /// Computes the gradient of each row's target output with respect to that row.
    ///
    /// # Arguments
    ///
    /// - `model`: the model; its parameters may live on the plain or the autodiff device.
    /// - `rows`: the points to differentiate at, on the plain or the autodiff device (any graph
    ///   it belongs to is ignored). Row `i` is sample `i` for the model's auxiliary inputs.
    /// - `targets`: the target of each row, or `k` targets per row, target-major (`k·n`
    ///   entries: the first `n` are every row's first target).
    ///
    /// # Shapes
    ///
    /// - `rows`: `[n, ...]`; the model maps it to `[n, outputs]`.
    /// - returned gradients: `[k·n, ...]` (`[n, ...]` for one target per row).
    ///
    /// # Errors
    ///
    /// - [`Error::EmptyBatch`] if `rows` has no rows;
    /// - [`Error::TargetCountMismatch`] if `targets` does not have a multiple of `n` entries;
    /// - [`Error::ModelOutputShape`] if the model's output is not `[rows, outputs ≥ 1]`;
    /// - [`Error::NonFiniteOutput`] if the model's target output has a NaN or infinity (with
    ///   `Predicted`, any output);
    /// - [`Error::TargetOutOfRange`] if a target is not below the number of outputs;
    /// - [`Error::NonFiniteGradient`] if a gradient has a NaN or infinity;
    /// - [`Error::Backend`] if the backend fails.
    pub fn gradients<const D: usize, M: Model<D> + ?Sized>(
        &self,
        model: &M,
        rows: Tensor<D>,
        targets: &RowTargets,
    ) -> Result<KernelOutput<D>> {
        let plan = PointPlan::new(rows, targets.clone())?;
        let acc = self.accumulate(model, &plan, None)?;
        Ok(KernelOutput {
            gradients: acc.sum,
            targets: acc.targets.into_iter().map(|t| t.unwrap_or(0)).collect(),
            scores: read_f64(acc.scores)?,
            stats: acc.stats,
        })
    }

    /// Streams `plan` through the model in blocks of at most [`rows_per_pass`](Self::rows_per_pass)
    /// rows, and folds each block's weighted gradients and target outputs into per-slot sums.
    ///
    /// Each block costs one forward, one summed root and one `backward()`. Passing the result
    /// of an earlier call as `into` adds to its sums (adaptive methods refine this way, reusing
    /// every gradient already computed).
    ///
    /// # Errors
    ///
    /// - [`Error::EmptyBatch`] if the plan has no rows and no `into` is given;
    /// - [`Error::InvalidPlan`] if a block disagrees with its plan;
    /// - [`Error::ModelOutputShape`], [`Error::TargetOutOfRange`], [`Error::NonFiniteOutput`],
    ///   [`Error::NonFiniteGradient`] and [`Error::Backend`] as for
    ///   [`gradients`](Self::gradients), naming the plan's sample.
    pub fn accumulate<const D: usize, M: Model<D> + ?Sized, P: Plan<D> + ?Sized>(
        &self,
        model: &M,
        plan: &P,
        into: Option<Accumulators<D>>,
    ) -> Result<Accumulators<D>> {
        let total = plan.len();
        if total == 0 {
            return into.ok_or(Error::EmptyBatch { shape: vec![0] });
        }
        let block_rows = self
            .rows_per_pass(&plan.device(), plan.features())
            .min(total);
        let mut acc = into;
        for start in (0..total).step_by(block_rows) {
            let range = start..(start + block_rows).min(total);
            let rows = range.len();
            let block = plan.block(range)?;
            acc = Some(fold::fold(model, plan, block, rows, acc)?);
        }
        let acc = acc.expect("a non-empty plan made at least one block");
        check_accumulators(plan, &acc)?;
        Ok(acc)
    }
}

/// `value` unless it is `Some(0)`, which is [`Error::InvalidConfig`] for `name`.
fn not_zero(
    name: &'static str,
    value: Option<usize>,
    expected: &'static str,
) -> Result<Option<usize>> {
    match value {
        Some(0) => Err(Error::InvalidConfig {
            name,
            value: "0".into(),
            expected,
        }),
        other => Ok(other),
    }
}

/// A NaN or infinity anywhere in a slot's rows makes its sum non-finite, so checking the sums
/// once checks every row without a host read per block.
fn check_accumulators<const D: usize, P: Plan<D> + ?Sized>(
    plan: &P,
    acc: &Accumulators<D>,
) -> Result<()> {
    let scores = read_f64(acc.scores.clone())?;
    let bad: Vec<i64> = scores.iter().map(|s| i64::from(!s.is_finite())).collect();
    if let Some((slot, count)) = first_and_total(&bad) {
        return Err(Error::NonFiniteOutput {
            count,
            sample: plan.sample(slot),
        });
    }
    let bad = non_finite_per_row(acc.sum.clone())?;
    if let Some((slot, count)) = first_and_total(&bad) {
        return Err(Error::NonFiniteGradient {
            count,
            sample: plan.sample(slot),
        });
    }
    Ok(())
}

/// The gradients of a scalar training loss with respect to every tracked parameter: the one
/// `backward()` of the workspace that is not an attribution (the zoo trains its reference
/// models with it). Keeping it here keeps `backward()` in one file.
///
/// # Panics
///
/// If `loss` does not depend on any tracked tensor (Burn's `backward` contract).
pub fn loss_gradients(loss: &Tensor<1>) -> burn::tensor::Gradients {
    loss.backward()
}

/// Index of the first maximum of a row of finite values.
pub(crate) fn first_argmax(row: &[f64]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests;
