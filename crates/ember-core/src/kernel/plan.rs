//! Evaluation plans: what a method asks the kernel to differentiate, block by block.

use std::ops::Range;

use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::{Error, Result};

/// The target output of every row, resolved against the batch (see [`crate::Target::rows`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RowTargets {
    /// One class index per row.
    Indices(Vec<usize>),
    /// The argmax of each row's own output (the first maximum on ties).
    Predicted,
}

/// Where the rows of a [`Block`] go, with their weights: the one place a row's weight lives.
#[derive(Debug, Clone, PartialEq)]
pub enum Slots {
    /// Row `i` goes to slot `slots[i]` (any order; rows of one slot are summed), weighted
    /// `weights[i]` (`None`: every weight is 1).
    Scatter {
        /// The slot of each row.
        slots: Vec<usize>,
        /// The weight of each row, or `None` for 1.
        weights: Option<Vec<f64>>,
    },
    /// The rows are these runs, one after the other. Runs are folded with contiguous slices
    /// and sums, without scatter: the fast path for structured plans.
    Runs(Vec<Run>),
}

/// Consecutive copies of the slot range `slot..slot + len`, copy `c` weighted `weights[c]`
/// (`len · weights.len()` rows).
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// The first slot.
    pub slot: usize,
    /// Slots per copy.
    pub len: usize,
    /// The weight of each copy; its length is the number of copies.
    pub weights: Vec<f64>,
}

impl Run {
    /// One copy of `slot..slot + len` with weight 1.
    pub fn once(slot: usize, len: usize) -> Self {
        Self {
            slot,
            len,
            weights: vec![1.0],
        }
    }

    /// The number of copies.
    pub fn copies(&self) -> usize {
        self.weights.len()
    }

    /// The number of rows, `len · copies`.
    pub fn rows(&self) -> usize {
        self.len * self.copies()
    }
}

impl Slots {
    /// The number of rows this map covers.
    pub fn rows(&self) -> usize {
        match self {
            Slots::Scatter { slots, .. } => slots.len(),
            Slots::Runs(runs) => runs.iter().map(Run::rows).sum(),
        }
    }

    /// The slot of every row, in order.
    pub fn each(&self) -> Vec<usize> {
        match self {
            Slots::Scatter { slots, .. } => slots.clone(),
            Slots::Runs(runs) => runs
                .iter()
                .flat_map(|r| (0..r.copies()).flat_map(move |_| r.slot..r.slot + r.len))
                .collect(),
        }
    }
}

/// A block of a [`Plan`]: the rows of one forward+backward pass and where they go.
#[derive(Debug, Clone)]
pub struct Block<const D: usize> {
    /// The evaluation points, `[n, ...]` (any device; the kernel moves them to autodiff).
    pub rows: Tensor<D>,
    /// The accumulator slot and the weight of each row.
    pub slots: Slots,
    /// The target output of each row.
    pub targets: RowTargets,
    /// A factor of each row's gradient, multiplied in (element by element) before the fold:
    /// `[n, ...]` like `rows`, or `None` for 1. Path methods whose rows have different
    /// directions keep one slot per sample this way: Expected Gradients' `x − b_k` for a drawn
    /// baseline, Blur IG's derivative of the blur. Target outputs are not scaled.
    pub scale: Option<Tensor<D>>,
}

impl<const D: usize> Block<D> {
    /// A block without a scale.
    pub fn new(rows: Tensor<D>, slots: Slots, targets: RowTargets) -> Self {
        Self {
            rows,
            slots,
            targets,
            scale: None,
        }
    }

    /// The block with `scale` multiplied into each row's gradient before the fold.
    pub fn with_scale(self, scale: Tensor<D>) -> Self {
        Self {
            scale: Some(scale),
            ..self
        }
    }
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

    /// The input sample that `slot` explains: the model receives it for every row of the slot
    /// (its auxiliary inputs follow), and errors name it.
    fn sample(&self, slot: usize) -> usize;

    /// The number of values in one row (the product of its dimensions after the first): the
    /// rows per pass follow from it and the memory budget.
    fn features(&self) -> usize;

    /// The device that the rows are built on.
    fn device(&self) -> Device;

    /// Builds rows `range` of the plan (`range` lies within `0..len()`).
    ///
    /// # Errors
    ///
    /// Any error of the plan's own (e.g. [`Error::Backend`]).
    fn block(&self, range: Range<usize>) -> Result<Block<D>>;
}

/// Checks a block against its plan before any model work, and returns the slot of each row.
///
/// # Errors
///
/// [`Error::InvalidPlan`] if the block's rows, slots, weights or targets disagree, or a slot
/// is not one of the plan's.
pub(crate) fn check_block<const D: usize, P: Plan<D> + ?Sized>(
    plan: &P,
    block: &Block<D>,
    expected_rows: usize,
) -> Result<Vec<usize>> {
    let n = block.rows.dims()[0];
    let invalid = |what: String| Err(Error::InvalidPlan(what));
    if n != expected_rows {
        return invalid(format!("asked for {expected_rows} rows, the block has {n}"));
    }
    if block.slots.rows() != n {
        return invalid(format!(
            "the block has {n} rows but maps {} rows to slots",
            block.slots.rows()
        ));
    }
    if let Slots::Scatter {
        weights: Some(w), ..
    } = &block.slots
        && w.len() != n
    {
        return invalid(format!("the block has {n} rows but {} weights", w.len()));
    }
    if let Slots::Runs(runs) = &block.slots
        && runs.iter().any(|r| r.weights.is_empty())
    {
        return invalid("a run has no copies".into());
    }
    if let RowTargets::Indices(indices) = &block.targets
        && indices.len() != n
    {
        return invalid(format!(
            "the block has {n} rows but {} targets",
            indices.len()
        ));
    }
    if let Some(scale) = &block.scale
        && scale.dims() != block.rows.dims()
    {
        return invalid(format!(
            "the block's rows are {:?} but its scale is {:?}",
            block.rows.dims(),
            scale.dims()
        ));
    }
    let each = block.slots.each();
    if let Some(&slot) = each.iter().find(|&&s| s >= plan.slots()) {
        return invalid(format!(
            "a row goes to slot {slot} of {} slots",
            plan.slots()
        ));
    }
    Ok(each)
}

/// The plan of plain gradients: every slot is one row of `rows`, evaluated once with weight 1.
/// With `k` targets per row, slot `t·n + i` is row `i` for its `t`-th target.
pub(crate) struct PointPlan<const D: usize> {
    rows: Tensor<D>,
    n: usize,
    targets: RowTargets,
}

impl<const D: usize> PointPlan<D> {
    pub(crate) fn new(rows: Tensor<D>, targets: RowTargets) -> Result<Self> {
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

    fn features(&self) -> usize {
        self.rows.dims()[1..].iter().product()
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
        Ok(Block::new(
            rows,
            Slots::Runs(vec![Run::once(range.start, range.len())]),
            targets,
        ))
    }
}
