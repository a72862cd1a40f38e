//! Forward-only streaming: rows built on demand per block, evaluated without gradients, with
//! the checks of every output in one place. Methods use it for the scores the gradient passes
//! do not give (`F(x)`, `F(x′)`, the predicted class); the metrics and the perturbation
//! methods for every score they record.

use std::ops::Range;

use burn::tensor::{Device, Tensor};

use super::{GradientKernel, RowTargets, first_argmax};
use crate::model::RowSamples;
use crate::validate::{first_non_finite_row, read_f64};
use crate::{Error, Model, Result};

/// Rows to evaluate forward only, built block by block.
pub trait ForwardPlan<const D: usize> {
    /// The number of rows.
    fn len(&self) -> usize;

    /// Whether there are no rows.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of values in one row (the product of its dimensions after the first).
    fn features(&self) -> usize;

    /// The device that the rows are built on.
    fn device(&self) -> Device;

    /// The input sample of `row`: the model receives it (its auxiliary inputs follow), and
    /// errors name it.
    fn sample(&self, row: usize) -> usize;

    /// The largest output column the caller reads of `row`, checked against the model's
    /// outputs; `None` when the caller reads no particular column.
    fn target(&self, row: usize) -> Option<usize>;

    /// Builds rows `range` (within `0..len()`).
    ///
    /// # Errors
    ///
    /// Any error of the plan's own.
    fn block(&self, range: Range<usize>) -> Result<Tensor<D>>;
}

/// A [`ForwardPlan`] from closures: `build(range)` makes the rows, `sample(row)` and
/// `target(row)` answer for each row.
#[derive(Debug, Clone)]
pub struct RowsFrom<B, S, T> {
    /// The number of rows.
    pub len: usize,
    /// Values per row.
    pub features: usize,
    /// The device of the rows.
    pub device: Device,
    /// Builds rows `range`.
    pub build: B,
    /// The input sample of a row.
    pub sample: S,
    /// The largest output column read of a row.
    pub target: T,
}

impl<const D: usize, B, S, T> ForwardPlan<D> for RowsFrom<B, S, T>
where
    B: Fn(Range<usize>) -> Result<Tensor<D>>,
    S: Fn(usize) -> usize,
    T: Fn(usize) -> Option<usize>,
{
    fn len(&self) -> usize {
        self.len
    }

    fn features(&self) -> usize {
        self.features
    }

    fn device(&self) -> Device {
        self.device.clone()
    }

    fn sample(&self, row: usize) -> usize {
        (self.sample)(row)
    }

    fn target(&self, row: usize) -> Option<usize> {
        (self.target)(row)
    }

    fn block(&self, range: Range<usize>) -> Result<Tensor<D>> {
        (self.build)(range)
    }
}

impl GradientKernel {
    /// Evaluates the model forward only on every row of `plan`, in blocks of the kernel's rows
    /// per pass, and hands each block's outputs to `visit(rows, values, outputs)`: `values`
    /// holds `rows.len() × outputs` scores, row-major, on the host.
    ///
    /// Rows reach the model on the plain (non-autodiff) device: no pass records a graph, so a
    /// forward-only pass costs what the model's forward costs (the perturbation methods make
    /// thousands). A module in training mode would run BatchNorm's training path and Dropout
    /// only on the autodiff device, so its forward-only scores could differ from its gradient
    /// passes: the methods' model check ([`check_call`](Self::check_call)), made on autodiff
    /// rows before any pass, refuses such a module first. Every output is checked before
    /// `visit` sees it: the shape, finiteness (every column) and the plan's target range.
    /// Returns the number of forward passes.
    ///
    /// # Errors
    ///
    /// - [`Error::EmptyBatch`] if the plan has no rows;
    /// - [`Error::ModelOutputShape`], [`Error::NonFiniteOutput`], [`Error::TargetOutOfRange`],
    ///   naming the row's sample;
    /// - [`Error::InvalidPlan`] if a block does not have the rows asked for;
    /// - any error of the plan or of `visit`.
    pub fn forward<const D: usize, M, P>(
        &self,
        model: &M,
        plan: &P,
        mut visit: impl FnMut(Range<usize>, &[f64], usize) -> Result<()>,
    ) -> Result<usize>
    where
        M: Model<D> + ?Sized,
        P: ForwardPlan<D> + ?Sized,
    {
        let total = plan.len();
        if total == 0 {
            return Err(Error::EmptyBatch { shape: vec![0] });
        }
        let block = self
            .rows_per_pass(&plan.device(), plan.features())
            .min(total);
        let mut passes = 0;
        for start in (0..total).step_by(block) {
            let range = start..(start + block).min(total);
            let len = range.len();
            let rows = plan.block(range.clone())?;
            if rows.dims()[0] != len {
                return Err(Error::InvalidPlan(format!(
                    "asked for {len} rows, the block has {}",
                    rows.dims()[0]
                )));
            }
            let samples = RowSamples::new(range.clone().map(|r| plan.sample(r)).collect());
            let output = model.forward_rows(rows.without_autodiff(), &samples);
            passes += 1;
            let [out_rows, cols] = output.dims();
            if out_rows != len || cols == 0 {
                return Err(Error::ModelOutputShape {
                    output: vec![out_rows, cols],
                    rows: len,
                });
            }
            let values = read_f64(output)?;
            if let Some((row, count)) = first_non_finite_row(&values, cols) {
                return Err(Error::NonFiniteOutput {
                    count,
                    sample: samples.samples()[row],
                });
            }
            for (offset, row) in range.clone().enumerate() {
                if let Some(target) = plan.target(row)
                    && target >= cols
                {
                    return Err(Error::TargetOutOfRange {
                        target,
                        sample: samples.samples()[offset],
                        outputs: cols,
                    });
                }
            }
            visit(range, &values, cols)?;
        }
        Ok(passes)
    }

    /// Evaluates the model (forward only, no gradients) at `rows`, and returns each row's
    /// target and target output. With `k` targets per row (`k·n` indices, target-major), the
    /// results are target-major too.
    ///
    /// Methods use it for the scores the gradient passes do not give: `F(x)` and `F(x′)` for
    /// Integrated Gradients' delta, and the predicted class at the input.
    ///
    /// # Errors
    ///
    /// As [`forward`](Self::forward), and [`Error::TargetCountMismatch`] if `targets` is not a
    /// multiple of the rows.
    pub fn evaluate<const D: usize, M: Model<D> + ?Sized>(
        &self,
        model: &M,
        rows: Tensor<D>,
        targets: &RowTargets,
    ) -> Result<(Vec<usize>, Vec<f64>)> {
        let dims = rows.dims();
        let n = dims[0];
        if n == 0 {
            return Err(Error::EmptyBatch {
                shape: dims.to_vec(),
            });
        }
        let indices = match targets {
            RowTargets::Indices(indices) if indices.is_empty() || indices.len() % n != 0 => {
                return Err(Error::TargetCountMismatch {
                    targets: indices.len(),
                    batch: n,
                });
            }
            RowTargets::Indices(indices) => Some(indices),
            RowTargets::Predicted => None,
        };
        let rows = rows.without_autodiff();
        let plan = RowsFrom {
            len: n,
            features: dims[1..].iter().product(),
            device: rows.device(),
            build: |range: Range<usize>| {
                Ok::<_, Error>(rows.clone().narrow(0, range.start, range.len()))
            },
            sample: |row| row,
            // The largest of the row's targets (one per target of `Classes`).
            target: |row| indices.and_then(|i| i.iter().skip(row).step_by(n).max().copied()),
        };
        let mut values = Vec::new();
        let mut cols = 0;
        self.forward(model, &plan, |_, block, outputs| {
            values.extend_from_slice(block);
            cols = outputs;
            Ok(())
        })?;
        let resolved: Vec<usize> = match indices {
            Some(indices) => indices.clone(),
            None => values.chunks(cols).map(first_argmax).collect(),
        };
        let scores = resolved
            .iter()
            .enumerate()
            .map(|(i, &t)| values[(i % n) * cols + t])
            .collect();
        Ok((resolved, scores))
    }
}
