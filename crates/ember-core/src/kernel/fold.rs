//! One pass of the kernel: forward, one summed root, ONE `backward()`, and the fold of the
//! block's gradients into the per-slot sums.

use burn::tensor::{IndexingUpdateOp, Int, Tensor, TensorData};

use super::plan::{Block, Plan, RowTargets, Run, Slots, check_block};
use super::{Accumulators, KernelStats, first_argmax};
use crate::model::RowSamples;
use crate::validate::{first_non_finite_row, read_f64};
use crate::{Error, Model, Result};

/// One forward, one summed root and one backward over a block, folded into the sums.
pub(super) fn fold<const D: usize, M: Model<D> + ?Sized, P: Plan<D> + ?Sized>(
    model: &M,
    plan: &P,
    block: Block<D>,
    expected_rows: usize,
    acc: Option<Accumulators<D>>,
) -> Result<Accumulators<D>> {
    let each_slot = check_block(plan, &block, expected_rows)?;
    let n = expected_rows;
    let samples = RowSamples::new(each_slot.iter().map(|&s| plan.sample(s)).collect());
    let rows = block.rows.without_autodiff();
    let device = rows.device();
    let rows = rows.autodiff().require_grad();
    let output = model.forward_rows(rows.clone(), &samples);

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
                    sample: samples.samples()[i],
                    outputs,
                });
            }
            indices
        }
        // The argmax needs the whole output row on the host; this also checks every column.
        RowTargets::Predicted => {
            let values = read_f64(output.clone())?;
            if let Some((row, count)) = first_non_finite_row(&values, outputs) {
                return Err(Error::NonFiniteOutput {
                    count,
                    sample: samples.samples()[row],
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
    let gradients = match block.scale {
        Some(scale) => gradients * scale.without_autodiff(),
        None => gradients,
    };
    let picked: Tensor<1> = picked.without_autodiff().reshape([n]);

    let mut acc = match acc {
        Some(acc) => acc,
        None => {
            let mut shape = gradients.dims();
            shape[0] = plan.slots();
            Accumulators {
                sum: Tensor::zeros(shape, &device),
                scores: Tensor::zeros([plan.slots()], &device),
                targets: vec![None; plan.slots()],
                stats: KernelStats::default(),
            }
        }
    };
    for (&slot, &target) in each_slot.iter().zip(&targets) {
        acc.targets[slot] = Some(target);
    }
    match block.slots {
        Slots::Scatter { slots, weights } => {
            // Weight every row, then scatter-add the rows into their slots.
            let (weighted, picked) = match weights {
                Some(w) => {
                    let w = Tensor::<1>::from_data(TensorData::new(w, [n]), &device);
                    let mut shape = [1; D];
                    shape[0] = n;
                    (gradients * w.clone().reshape(shape), picked * w)
                }
                None => (gradients, picked),
            };
            let slots = Tensor::<1, Int>::from_data(
                TensorData::new(slots.iter().map(|&s| s as i64).collect::<Vec<_>>(), [n]),
                &device,
            );
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
                let rows = run.rows();
                acc.sum = add_run(acc.sum, gradients.clone().narrow(0, offset, rows), &run);
                acc.scores = add_run(acc.scores, picked.clone().narrow(0, offset, rows), &run);
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

/// Adds the rows of one run (its copies of `run.len` slots, each copy weighted) into `acc`.
/// Several copies are reduced by one product with their weights.
fn add_run<const D: usize>(acc: Tensor<D>, rows: Tensor<D>, run: &Run) -> Tensor<D> {
    let mut shape = rows.dims();
    shape[0] = run.len;
    let unweighted = run.weights.iter().all(|&w| w == 1.0);
    let part = if run.copies() == 1 {
        if unweighted {
            rows
        } else {
            rows * run.weights[0]
        }
    } else {
        let per_copy = shape.iter().product::<usize>();
        let copies: Tensor<2> = rows.reshape([run.copies(), per_copy]);
        let summed = if unweighted {
            copies.sum_dim(0)
        } else {
            let w = Tensor::<2>::from_data(
                TensorData::new(run.weights.clone(), [1, run.copies()]),
                &copies.device(),
            );
            w.matmul(copies)
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
