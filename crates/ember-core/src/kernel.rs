//! The batched gradient kernel: the only place in ember that calls `backward()`.
//!
//! A method describes a [`Plan`]: for every accumulator slot (a sample, or a sample and one of
//! its targets), evaluation points with weights. The kernel streams the plan in blocks of at
//! most [`GradientKernel::rows_per_pass`] rows. For each block it runs ONE forward pass on the
//! autodiff device, selects each row's target output, sums them into ONE scalar root, runs ONE
//! `backward()`, and folds the block's gradients into [`Accumulators`]: the weighted sum and,
//! on request, the weighted sum of squares. Because each output row depends only on its own
//! input row, the gradient of that sum with respect to the rows is every row's own gradient.
//! Captum instead calls backward with one root per row.
//!
//! Memory grows with the block, not with points × samples: the plan builds each block on
//! demand and the accumulators hold one entry per slot.

use std::ops::Range;

use burn::tensor::{Device, IndexingUpdateOp, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::validate::{first_and_total, non_finite_per_row, read_f64};
use crate::{Error, Model, Result};

/// The target output of every row, resolved against the batch (see [`crate::Target::rows`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RowTargets {
    /// One class index per row.
    Indices(Vec<usize>),
    /// The argmax of each row's own output (the first maximum on ties).
    Predicted,
}

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

/// Which moments of the gradients the kernel folds into its accumulators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Moments {
    /// The weighted sum `Σ w·g` only (Integrated Gradients, SmoothGrad).
    #[default]
    First,
    /// The weighted sum and the weighted sum of squares `Σ w·g²` (SmoothGrad², VarGrad).
    FirstAndSecond,
}

/// Where the rows of a [`Block`] go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slots {
    /// Row `i` goes to slot `slots[i]` (any order; rows of one slot are summed).
    Scatter(Vec<usize>),
    /// The rows are these runs, one after the other. Runs are folded with contiguous slices
    /// and sums, without scatter: the fast path for structured plans.
    Runs(Vec<Run>),
}

/// `repeats` consecutive copies of the slot range `slot..slot + len` (`len · repeats` rows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    /// The first slot.
    pub slot: usize,
    /// Slots per copy.
    pub len: usize,
    /// Copies.
    pub repeats: usize,
}

impl Slots {
    /// The number of rows this map covers.
    pub fn rows(&self) -> usize {
        match self {
            Slots::Scatter(slots) => slots.len(),
            Slots::Runs(runs) => runs.iter().map(|r| r.len * r.repeats).sum(),
        }
    }

    /// The slot of every row, in order.
    pub fn each(&self) -> Vec<usize> {
        match self {
            Slots::Scatter(slots) => slots.clone(),
            Slots::Runs(runs) => runs
                .iter()
                .flat_map(|r| (0..r.repeats).flat_map(move |_| r.slot..r.slot + r.len))
                .collect(),
        }
    }
}

/// A block of a [`Plan`]: the rows of one forward+backward pass and where they go.
#[derive(Debug, Clone)]
pub struct Block<const D: usize> {
    /// The evaluation points, `[n, ...]` (any device; the kernel moves them to autodiff).
    pub rows: Tensor<D>,
    /// The accumulator slot of each row.
    pub slots: Slots,
    /// The weight of each row in its slot's sums (`n` entries); `None` means every weight is 1.
    pub weights: Option<Vec<f64>>,
    /// The target output of each row.
    pub targets: RowTargets,
}

/// A method's evaluation plan: for every accumulator slot (a sample, or a sample and a target),
/// a set of evaluation points with weights.
///
/// The kernel asks for the plan's rows in blocks, so a plan builds each block on demand and
/// never holds all of its rows: memory grows with the block, not with points × samples. Rows
/// of one block may belong to any slots, in any order.
pub trait Plan<const D: usize> {
    /// The number of rows (evaluation points) in the whole plan.
    fn len(&self) -> usize;

    /// Whether the plan has no rows.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of accumulator slots.
    fn slots(&self) -> usize;

    /// The input sample that `slot` explains (used to name the sample in errors); this map is
    /// also what models with auxiliary per-sample inputs need.
    fn sample(&self, slot: usize) -> usize;

    /// The device that the rows are built on.
    fn device(&self) -> Device;

    /// Builds rows `range` of the plan (`range` lies within `0..len()`).
    ///
    /// # Errors
    ///
    /// Any error of the plan's own (e.g. [`Error::Backend`]).
    fn block(&self, range: Range<usize>) -> Result<Block<D>>;
}

/// The kernel's running sums, one entry per slot of a [`Plan`].
#[derive(Debug, Clone)]
pub struct Accumulators<const D: usize> {
    /// `Σ w·g` per slot, `[slots, ...]` on the plain device.
    pub sum: Tensor<D>,
    /// `Σ w·g²` per slot, when [`Moments::FirstAndSecond`] was asked for.
    pub sum_sq: Option<Tensor<D>>,
    /// `Σ w·F_target(row)` per slot, `[slots]` on the plain device.
    pub scores: Tensor<1>,
    /// The target of each slot as the kernel resolved it (`None` for a slot that has no rows
    /// yet).
    pub targets: Vec<Option<usize>>,
    /// What the kernel did to fill the sums.
    pub stats: KernelStats,
}

/// The batched gradient kernel.
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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GradientKernel {
    max_rows: Option<usize>,
}

/// The default rows per pass on CPU backends (flex, ndarray).
///
/// Measured with `ember bench` on a 2-core CPU: blocks of about 128 rows keep a small model's
/// activations in cache and ran faster than one large block (see `docs/benchmarks.md`).
pub const CPU_MAX_ROWS: usize = 128;

/// The default rows per pass on GPU backends (wgpu and the other CubeCL runtimes): large
/// enough to fill a GPU with a small model, small enough for large inputs to fit.
pub const GPU_MAX_ROWS: usize = 2048;

/// The default rows per pass for `device`: [`CPU_MAX_ROWS`] on flex and ndarray, otherwise
/// [`GPU_MAX_ROWS`].
pub fn default_max_rows(device: &Device) -> usize {
    let name = format!("{device:?}");
    if name.contains("Flex") || name.contains("NdArray") {
        CPU_MAX_ROWS
    } else {
        GPU_MAX_ROWS
    }
}

impl GradientKernel {
    /// A kernel with the device's default rows per pass ([`default_max_rows`]).
    pub fn new() -> Self {
        Self::default()
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
        if max_rows == Some(0) {
            return Err(Error::InvalidConfig {
                name: "max_rows",
                value: "0".into(),
                expected: "at least 1 row per pass (or none for the device's default)",
            });
        }
        Ok(Self { max_rows })
    }

    /// The configured rows per pass, `None` for the device's default.
    pub fn max_rows(&self) -> Option<usize> {
        self.max_rows
    }

    /// The rows per pass that this kernel uses on `device`.
    pub fn rows_per_pass(&self, device: &Device) -> usize {
        self.max_rows.unwrap_or_else(|| default_max_rows(device))
    }

    /// Computes the gradient of each row's target output with respect to that row.
    ///
    /// # Arguments
    ///
    /// - `model`: the model; its parameters may live on the plain or the autodiff device.
    /// - `rows`: the points to differentiate at, on the plain or the autodiff device (any graph
    ///   it belongs to is ignored).
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
        let acc = self.accumulate(model, &plan, Moments::First, None)?;
        Ok(KernelOutput {
            gradients: acc.sum,
            targets: acc.targets.into_iter().map(|t| t.unwrap_or(0)).collect(),
            scores: read_f64(acc.scores)?,
            stats: acc.stats,
        })
    }

    /// Streams `plan` through the model in blocks of at most [`rows_per_pass`](Self::rows_per_pass)
    /// rows, and folds each block's gradients into per-slot sums.
    ///
    /// Each block costs one forward, one summed root and one `backward()`. Passing the result
    /// of an earlier call as `into` adds to its sums (adaptive methods refine this way, reusing
    /// every gradient already computed).
    ///
    /// # Errors
    ///
    /// - [`Error::EmptyBatch`] if the plan has no rows and no `into` is given;
    /// - [`Error::ModelOutputShape`], [`Error::TargetOutOfRange`], [`Error::NonFiniteOutput`],
    ///   [`Error::NonFiniteGradient`] and [`Error::Backend`] as for
    ///   [`gradients`](Self::gradients), naming the plan's sample.
    pub fn accumulate<const D: usize, M: Model<D> + ?Sized, P: Plan<D> + ?Sized>(
        &self,
        model: &M,
        plan: &P,
        moments: Moments,
        into: Option<Accumulators<D>>,
    ) -> Result<Accumulators<D>> {
        let total = plan.len();
        if total == 0 {
            return into.ok_or(Error::EmptyBatch { shape: vec![0] });
        }
        let block_rows = self.rows_per_pass(&plan.device()).min(total);
        let mut acc = into;
        for start in (0..total).step_by(block_rows) {
            let block = plan.block(start..(start + block_rows).min(total))?;
            acc = Some(fold(model, plan, block, moments, acc)?);
        }
        let acc = acc.expect("a non-empty plan made at least one block");
        check_accumulators(plan, &acc)?;
        Ok(acc)
    }

    /// Evaluates the model (forward only, no gradients) at `rows`, in blocks of the kernel's
    /// rows per pass, and returns each row's target and target output.
    ///
    /// Methods use it for the scores the gradient passes do not give: `F(x)` and `F(x′)` for
    /// Integrated Gradients' delta, and the predicted class at the input.
    ///
    /// # Errors
    ///
    /// As [`gradients`](Self::gradients), with non-finite outputs checked in every column.
    pub fn evaluate<const D: usize, M: Model<D> + ?Sized>(
        &self,
        model: &M,
        rows: Tensor<D>,
        targets: &RowTargets,
    ) -> Result<(Vec<usize>, Vec<f64>)> {
        let n = rows.dims()[0];
        if n == 0 {
            return Err(Error::EmptyBatch {
                shape: rows.dims().to_vec(),
            });
        }
        if let RowTargets::Indices(indices) = targets
            && (indices.is_empty() || indices.len() % n != 0)
        {
            return Err(Error::TargetCountMismatch {
                targets: indices.len(),
                batch: n,
            });
        }
        let block = self.rows_per_pass(&rows.device()).min(n);
        let mut outputs = None;
        let mut values = Vec::with_capacity(n);
        for start in (0..n).step_by(block) {
            let len = block.min(n - start);
            let part = rows.clone().without_autodiff().narrow(0, start, len);
            let output = model.forward(part.autodiff());
            let [out_rows, cols] = output.dims();
            if out_rows != len || cols == 0 {
                return Err(Error::ModelOutputShape {
                    output: vec![out_rows, cols],
                    rows: len,
                });
            }
            outputs = Some(cols);
            values.extend(read_f64(output)?);
        }
        let cols = outputs.expect("at least one block");
        let per_row: Vec<i64> = values
            .chunks(cols)
            .map(|row| row.iter().filter(|v| !v.is_finite()).count() as i64)
            .collect();
        if let Some((row, count)) = first_and_total(&per_row) {
            return Err(Error::NonFiniteOutput { count, sample: row });
        }
        let resolved: Vec<usize> = match targets {
            RowTargets::Indices(indices) => {
                if let Some(i) = indices.iter().position(|&t| t >= cols) {
                    return Err(Error::TargetOutOfRange {
                        target: indices[i],
                        sample: i % n,
                        outputs: cols,
                    });
                }
                indices.clone()
            }
            RowTargets::Predicted => values.chunks(cols).map(first_argmax).collect(),
        };
        let scores = resolved
            .iter()
            .enumerate()
            .map(|(i, &t)| values[(i % n) * cols + t])
            .collect();
        Ok((resolved, scores))
    }
}

/// The raw limit of gradient work, for benchmarks: over `rows`, in blocks of
/// [`GradientKernel::rows_per_pass`] rows, one forward, one gathered and summed root and one
/// `backward()` per block, and nothing else (no checks, no plan, no accumulation). Methods
/// are timed against it (`ember bench`). Returns the sum of all gradients, which forces every
/// block to be computed, and the number of passes.
///
/// # Errors
///
/// [`Error::EmptyBatch`], [`Error::TargetCountMismatch`] or [`Error::Backend`].
pub fn raw_forward_backward<const D: usize, M: Model<D> + ?Sized>(
    kernel: &GradientKernel,
    model: &M,
    rows: Tensor<D>,
    targets: &[usize],
) -> Result<(f64, usize)> {
    let n = rows.dims()[0];
    if n == 0 {
        return Err(Error::EmptyBatch {
            shape: rows.dims().to_vec(),
        });
    }
    if targets.len() != n {
        return Err(Error::TargetCountMismatch {
            targets: targets.len(),
            batch: n,
        });
    }
    let rows = rows.without_autodiff();
    let device = rows.device();
    let block = kernel.rows_per_pass(&device).min(n);
    let mut total: Option<Tensor<1>> = None;
    let mut passes = 0;
    for start in (0..n).step_by(block) {
        let len = block.min(n - start);
        let part = rows.clone().narrow(0, start, len).autodiff().require_grad();
        let index = TensorData::new(
            targets[start..start + len]
                .iter()
                .map(|&t| t as i64)
                .collect::<Vec<_>>(),
            [len, 1],
        );
        let index = Tensor::<2, Int>::from_data(index, &device);
        let root = model.forward(part.clone()).gather(1, index).sum();
        if !root.is_tracked() {
            return Err(Error::Backend(
                "the model's output does not depend on its input: nothing to differentiate".into(),
            ));
        }
        let grads = root.backward();
        let g = part
            .grad(&grads)
            .unwrap_or_else(|| Tensor::zeros(part.dims(), &device));
        let sum = g.sum();
        total = Some(match total {
            Some(t) => t + sum,
            None => sum,
        });
        passes += 1;
    }
    let total = read_f64(total.expect("at least one block"))?;
    Ok((total[0], passes))
}

/// The plan of plain gradients: every slot is one row of `rows`, evaluated once with weight 1.
/// With `k` targets per row, slot `t·n + i` is row `i` for its `t`-th target.
struct PointPlan<const D: usize> {
    rows: Tensor<D>,
    n: usize,
    targets: RowTargets,
}

impl<const D: usize> PointPlan<D> {
    fn new(rows: Tensor<D>, targets: RowTargets) -> Result<Self> {
        let n = rows.dims()[0];
        if n == 0 {
            return Err(Error::EmptyBatch {
                shape: rows.dims().to_vec(),
            });
        }
        if let RowTargets::Indices(indices) = &targets
            && (indices.is_empty() || indices.len() % n != 0)
        {
            return Err(Error::TargetCountMismatch {
                targets: indices.len(),
                batch: n,
            });
        }
        Ok(Self {
            rows: rows.without_autodiff(),
            n,
            targets,
        })
    }
}

impl<const D: usize> Plan<D> for PointPlan<D> {
    fn len(&self) -> usize {
        match &self.targets {
            RowTargets::Indices(indices) => indices.len(),
            RowTargets::Predicted => self.n,
        }
    }

    fn slots(&self) -> usize {
        self.len()
    }

    fn sample(&self, slot: usize) -> usize {
        slot % self.n
    }

    fn device(&self) -> Device {
        self.rows.device()
    }

    fn block(&self, range: Range<usize>) -> Result<Block<D>> {
        let rows = if range.len() == self.n && range.start == 0 {
            self.rows.clone()
        } else if range.start / self.n == (range.end - 1) / self.n {
            self.rows
                .clone()
                .narrow(0, range.start % self.n, range.len())
        } else {
            let index: Vec<i64> = range.clone().map(|r| (r % self.n) as i64).collect();
            let index = Tensor::<1, Int>::from_data(
                TensorData::new(index, [range.len()]),
                &self.rows.device(),
            );
            self.rows.clone().select(0, index)
        };
        let targets = match &self.targets {
            RowTargets::Indices(indices) => RowTargets::Indices(indices[range.clone()].to_vec()),
            RowTargets::Predicted => RowTargets::Predicted,
        };
        Ok(Block {
            rows,
            slots: Slots::Runs(vec![Run {
                slot: range.start,
                len: range.len(),
                repeats: 1,
            }]),
            weights: None,
            targets,
        })
    }
}

/// One forward, one summed root and one backward over a block, folded into the sums.
fn fold<const D: usize, M: Model<D> + ?Sized, P: Plan<D> + ?Sized>(
    model: &M,
    plan: &P,
    block: Block<D>,
    moments: Moments,
    acc: Option<Accumulators<D>>,
) -> Result<Accumulators<D>> {
    let n = block.rows.dims()[0];
    if block.slots.rows() != n {
        return Err(Error::Backend(format!(
            "the plan's block has {n} rows but maps {} rows to slots",
            block.slots.rows()
        )));
    }
    let each_slot = block.slots.each();
    if let Some(&slot) = each_slot.iter().find(|&&s| s >= plan.slots()) {
        return Err(Error::Backend(format!(
            "the plan maps a row to slot {slot} of {}",
            plan.slots()
        )));
    }
    if let RowTargets::Indices(indices) = &block.targets
        && indices.len() != n
    {
        return Err(Error::TargetCountMismatch {
            targets: indices.len(),
            batch: n,
        });
    }
    let rows = block.rows.without_autodiff();
    let device = rows.device();
    let rows = rows.autodiff().require_grad();
    let output = model.forward(rows.clone());

    let [out_rows, outputs] = output.dims();
    if out_rows != n || outputs == 0 {
        return Err(Error::ModelOutputShape {
            output: vec![out_rows, outputs],
            rows: n,
        });
    }
    let targets: Vec<usize> = match block.targets {
        RowTargets::Indices(indices) => {
            if let Some(i) = indices.iter().position(|&t| t >= outputs) {
                return Err(Error::TargetOutOfRange {
                    target: indices[i],
                    sample: plan.sample(each_slot[i]),
                    outputs,
                });
            }
            indices
        }
        // The argmax needs the whole output row on the host; this also checks every column.
        RowTargets::Predicted => {
            let values = read_f64(output.clone())?;
            let per_row: Vec<i64> = values
                .chunks(outputs)
                .map(|row| row.iter().filter(|v| !v.is_finite()).count() as i64)
                .collect();
            if let Some((row, count)) = first_and_total(&per_row) {
                return Err(Error::NonFiniteOutput {
                    count,
                    sample: plan.sample(each_slot[row]),
                });
            }
            values.chunks(outputs).map(first_argmax).collect()
        }
    };

    let index = TensorData::new(
        targets.iter().map(|&t| t as i64).collect::<Vec<_>>(),
        [n, 1],
    );
    let index = Tensor::<2, Int>::from_data(index, &device);
    let picked = output.gather(1, index);
    let root = picked.clone().sum();
    // An output that does not depend on the input (a constant model, or one that moved the
    // input off autodiff) has no graph to walk back: its gradient is zero.
    let gradients = if root.is_tracked() {
        let grads = root.backward();
        rows.grad(&grads)
    } else {
        None
    }
    .unwrap_or_else(|| Tensor::zeros(rows.dims(), &device));
    let picked: Tensor<1> = picked.without_autodiff().reshape([n]);

    let mut acc = match acc {
        Some(acc) => acc,
        None => {
            let mut shape = gradients.dims();
            shape[0] = plan.slots();
            Accumulators {
                sum: Tensor::zeros(shape, &device),
                sum_sq: (moments == Moments::FirstAndSecond).then(|| Tensor::zeros(shape, &device)),
                scores: Tensor::zeros([plan.slots()], &device),
                targets: vec![None; plan.slots()],
                stats: KernelStats::default(),
            }
        }
    };
    for (&slot, &target) in each_slot.iter().zip(&targets) {
        acc.targets[slot] = Some(target);
    }
    let squares = acc
        .sum_sq
        .is_some()
        .then(|| gradients.clone() * gradients.clone());
    match block.slots {
        Slots::Scatter(slots) => {
            // Weight every row, then scatter-add the rows into their slots.
            let (weighted, picked, squares) = match &block.weights {
                Some(w) => {
                    let w = Tensor::<1>::from_data(TensorData::new(w.clone(), [n]), &device);
                    let mut shape = [1; D];
                    shape[0] = n;
                    let column = w.clone().reshape(shape);
                    (
                        gradients * column.clone(),
                        picked * w,
                        squares.map(|sq| sq * column),
                    )
                }
                None => (gradients, picked, squares),
            };
            let slots = Tensor::<1, Int>::from_data(
                TensorData::new(slots.iter().map(|&s| s as i64).collect::<Vec<_>>(), [n]),
                &device,
            );
            if let (Some(sum_sq), Some(squares)) = (acc.sum_sq.take(), squares) {
                acc.sum_sq =
                    Some(sum_sq.select_assign(0, slots.clone(), squares, IndexingUpdateOp::Add));
            }
            acc.sum = acc
                .sum
                .select_assign(0, slots.clone(), weighted, IndexingUpdateOp::Add);
            acc.scores = acc
                .scores
                .select_assign(0, slots, picked, IndexingUpdateOp::Add);
        }
        Slots::Runs(runs) => {
            let mut offset = 0;
            for run in runs {
                let rows = run.len * run.repeats;
                let weights = copy_weights(block.weights.as_deref(), offset, run)?;
                let fold_in = |acc: Tensor<D>, part: &Tensor<D>| {
                    add_run(acc, part.clone().narrow(0, offset, rows), run, &weights)
                };
                acc.sum = fold_in(acc.sum, &gradients);
                acc.scores = add_run(
                    acc.scores,
                    picked.clone().narrow(0, offset, rows),
                    run,
                    &weights,
                );
                if let (Some(sum_sq), Some(squares)) = (acc.sum_sq.take(), &squares) {
                    acc.sum_sq = Some(fold_in(sum_sq, squares));
                }
                offset += rows;
            }
        }
    }
    acc.stats.merge(KernelStats {
        rows: n,
        passes: 1,
        max_rows_per_pass: n,
    });
    Ok(acc)
}

/// The weight of each copy of a run, from the rows' weights (`None`: all 1).
///
/// # Errors
///
/// [`Error::Backend`] if the rows of one copy have different weights: a run folds each copy
/// with one weight.
fn copy_weights(weights: Option<&[f64]>, offset: usize, run: Run) -> Result<Option<Vec<f64>>> {
    let Some(weights) = weights else {
        return Ok(None);
    };
    let mut per_copy = Vec::with_capacity(run.repeats);
    for copy in 0..run.repeats {
        let rows = &weights[offset + copy * run.len..offset + (copy + 1) * run.len];
        if rows.iter().any(|&w| w != rows[0]) {
            return Err(Error::Backend(
                "a plan's run has rows of one copy with different weights".into(),
            ));
        }
        per_copy.push(rows[0]);
    }
    Ok(if per_copy.iter().all(|&w| w == 1.0) {
        None
    } else {
        Some(per_copy)
    })
}

/// Adds the rows of one run (`run.repeats` copies of `run.len` slots), each copy weighted,
/// into `acc`. Several copies are reduced by one product with their weights.
fn add_run<const D: usize>(
    acc: Tensor<D>,
    rows: Tensor<D>,
    run: Run,
    weights: &Option<Vec<f64>>,
) -> Tensor<D> {
    let mut shape = rows.dims();
    shape[0] = run.len;
    let part = if run.repeats == 1 {
        match weights {
            Some(w) => rows * w[0],
            None => rows,
        }
    } else {
        let per_copy = shape.iter().product::<usize>();
        let copies: Tensor<2> = rows.reshape([run.repeats, per_copy]);
        let summed = match weights {
            Some(w) => {
                let w = Tensor::<2>::from_data(
                    TensorData::new(w.clone(), [1, run.repeats]),
                    &copies.device(),
                );
                w.matmul(copies)
            }
            None => copies.sum_dim(0),
        };
        summed.reshape(shape)
    };
    if run.slot == 0 && run.len == acc.dims()[0] {
        acc + part
    } else {
        let range = run.slot..run.slot + run.len;
        let current = acc.clone().narrow(0, run.slot, run.len);
        acc.slice_assign([range], current + part)
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
    let mut bad = non_finite_per_row(acc.sum.clone())?;
    if let Some(sum_sq) = &acc.sum_sq {
        for (b, sq) in bad.iter_mut().zip(non_finite_per_row(sum_sq.clone())?) {
            *b = (*b).max(sq);
        }
    }
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
fn first_argmax(row: &[f64]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    fn linear(device: &Device) -> impl Fn(Tensor<2>) -> Tensor<2> + use<> {
        // w: [features = 3, classes = 2]
        let w = Tensor::<2>::from_floats([[1.0, -1.0], [2.0, 0.5], [-3.0, 4.0]], device);
        move |x: Tensor<2>| x.matmul(w.clone())
    }

    #[test]
    fn gradient_of_a_linear_model_is_the_weight_column() {
        let device = Device::flex();
        let x = Tensor::<2>::from_floats([[1.0, 2.0, 3.0], [0.0, -1.0, 5.0]], &device);
        let out = GradientKernel::new()
            .gradients(&linear(&device), x, &RowTargets::Indices(vec![0, 1]))
            .unwrap();
        let g = out.gradients.to_data().try_to_vec::<f32>().unwrap();
        assert_eq!(g, vec![1.0, 2.0, -3.0, -1.0, 0.5, 4.0]);
        assert_eq!(out.targets, vec![0, 1]);
        assert_eq!(out.scores, vec![-4.0, 19.5]);
        assert_eq!(
            out.stats,
            KernelStats {
                rows: 2,
                passes: 1,
                max_rows_per_pass: 2
            }
        );
    }

    #[test]
    fn blocks_make_ceil_rows_over_max_backward_calls_and_agree_with_one_pass() {
        let device = Device::flex();
        let x = Tensor::<2>::random(
            [7, 3],
            burn::tensor::Distribution::Uniform(-1.0, 1.0),
            &device,
        );
        let model = linear(&device);
        let whole = GradientKernel::new()
            .gradients(&model, x.clone(), &RowTargets::Predicted)
            .unwrap();
        let blocked = GradientKernel::new()
            .with_max_rows(3)
            .unwrap()
            .gradients(&model, x, &RowTargets::Predicted)
            .unwrap();
        assert_eq!(blocked.stats.passes, 3);
        assert_eq!(blocked.stats.max_rows_per_pass, 3);
        assert_eq!(blocked.stats.rows, 7);
        assert_eq!(whole.stats.passes, 1);
        assert_eq!(whole.targets, blocked.targets);
        assert_eq!(
            whole.gradients.to_data().try_to_vec::<f32>().unwrap(),
            blocked.gradients.to_data().try_to_vec::<f32>().unwrap()
        );
    }

    #[test]
    fn errors_name_the_row_in_the_callers_numbering() {
        let device = Device::flex();
        let x = Tensor::<2>::ones([4, 3], &device);
        let err = GradientKernel::new()
            .with_max_rows(2)
            .unwrap()
            .gradients(&linear(&device), x, &RowTargets::Indices(vec![0, 1, 1, 2]))
            .unwrap_err();
        assert_eq!(
            err,
            Error::TargetOutOfRange {
                target: 2,
                sample: 3,
                outputs: 2
            }
        );
    }

    #[test]
    fn zero_max_rows_is_an_invalid_config() {
        assert!(matches!(
            GradientKernel::new().with_max_rows(0),
            Err(Error::InvalidConfig {
                name: "max_rows",
                ..
            })
        ));
    }

    #[test]
    fn an_input_the_model_ignores_has_zero_gradient() {
        let device = Device::flex();
        let constant = |x: Tensor<2>| Tensor::<2>::ones([x.dims()[0], 2], &x.device().inner());
        let out = GradientKernel::new()
            .gradients(
                &constant,
                Tensor::<2>::ones([2, 3], &device),
                &RowTargets::Predicted,
            )
            .unwrap();
        assert_eq!(
            out.gradients.to_data().try_to_vec::<f32>().unwrap(),
            vec![0.0; 6]
        );
        assert_eq!(out.targets, vec![0, 0]);
    }

    /// Two copies of 3 slots (rows 0..3 then 3..6), with per-copy weights, as runs or as a
    /// scatter of the same rows.
    struct TwoCopies {
        rows: Tensor<2>,
        runs: bool,
    }

    impl Plan<2> for TwoCopies {
        fn len(&self) -> usize {
            6
        }
        fn slots(&self) -> usize {
            3
        }
        fn sample(&self, slot: usize) -> usize {
            slot
        }
        fn device(&self) -> Device {
            self.rows.device()
        }
        fn block(&self, range: Range<usize>) -> Result<Block<2>> {
            let weights: Vec<f64> = range.clone().map(|r| [0.25, 0.75][r / 3]).collect();
            let slots = if self.runs && range == (0..6) {
                Slots::Runs(vec![Run {
                    slot: 0,
                    len: 3,
                    repeats: 2,
                }])
            } else if self.runs {
                // Blocks of 4 rows: slots 0..3 then 0..1 (second copy), then 1..3.
                let mut runs = Vec::new();
                let mut r = range.start;
                while r < range.end {
                    let len = (3 - r % 3).min(range.end - r);
                    runs.push(Run {
                        slot: r % 3,
                        len,
                        repeats: 1,
                    });
                    r += len;
                }
                Slots::Runs(runs)
            } else {
                Slots::Scatter(range.clone().map(|r| r % 3).collect())
            };
            Ok(Block {
                rows: self.rows.clone().narrow(0, range.start, range.len()),
                slots,
                weights: Some(weights),
                targets: RowTargets::Indices(vec![0; range.len()]),
            })
        }
    }

    #[test]
    fn runs_and_scatter_fold_the_same_weighted_moments() {
        let device = Device::flex();
        let values = [1.0, -2.0, 3.0, 0.5, 4.0, -1.0];
        let rows = Tensor::<2>::from_data(TensorData::new(values.to_vec(), [6, 1]), &device);
        // F(x) = x², so g = 2x.
        let square = |x: Tensor<2>| x.clone() * x;
        let expected_sum: Vec<f64> = (0..3)
            .map(|s| 0.25 * 2.0 * values[s] + 0.75 * 2.0 * values[s + 3])
            .collect();
        let expected_sq: Vec<f64> = (0..3)
            .map(|s| 0.25 * (2.0 * values[s]).powi(2) + 0.75 * (2.0 * values[s + 3]).powi(2))
            .collect();
        let expected_scores: Vec<f64> = (0..3)
            .map(|s| 0.25 * values[s].powi(2) + 0.75 * values[s + 3].powi(2))
            .collect();
        for runs in [true, false] {
            for max_rows in [6, 4, 1] {
                let plan = TwoCopies {
                    rows: rows.clone(),
                    runs,
                };
                let acc = GradientKernel::new()
                    .with_max_rows(max_rows)
                    .unwrap()
                    .accumulate(&square, &plan, Moments::FirstAndSecond, None)
                    .unwrap();
                let close =
                    |a: Vec<f64>, b: &[f64]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-5);
                let label = format!("runs {runs}, max_rows {max_rows}");
                assert!(close(read_f64(acc.sum).unwrap(), &expected_sum), "{label}");
                assert!(
                    close(read_f64(acc.sum_sq.unwrap()).unwrap(), &expected_sq),
                    "{label}"
                );
                assert!(
                    close(read_f64(acc.scores).unwrap(), &expected_scores),
                    "{label}"
                );
                assert_eq!(acc.stats.passes, 6usize.div_ceil(max_rows), "{label}");
                assert_eq!(acc.targets, vec![Some(0); 3]);
            }
        }
    }

    #[test]
    fn a_non_finite_row_anywhere_is_named_by_its_sample() {
        let device = Device::flex();
        let rows = Tensor::<2>::from_data(
            TensorData::new(vec![1.0, 2.0, 3.0, 4.0, -1.0, 6.0], [6, 1]),
            &device,
        );
        // sqrt of -1 is NaN at row 4, which is slot (sample) 1.
        let root = |x: Tensor<2>| x.sqrt();
        let plan = TwoCopies { rows, runs: true };
        let err = GradientKernel::new()
            .with_max_rows(4)
            .unwrap()
            .accumulate(&root, &plan, Moments::First, None)
            .unwrap_err();
        assert!(
            matches!(err, Error::NonFiniteOutput { sample: 1, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn first_argmax_takes_the_first_of_equal_maxima() {
        assert_eq!(first_argmax(&[1.0, 3.0, 3.0, -1.0]), 1);
        assert_eq!(first_argmax(&[5.0]), 0);
    }
}
