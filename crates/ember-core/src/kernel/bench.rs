//! The benchmarks' raw limit of gradient work: not an attribution API.
//!
//! `ember bench` times every gradient method against [`raw_forward_backward`], the least work
//! any gradient method can do on the same rows, and every forward-only (perturbation) method
//! against [`raw_forward`]. It lives here because the kernel is the only caller of
//! `backward()`.

use burn::tensor::{Int, Tensor, TensorData};

use super::GradientKernel;
use crate::model::RowSamples;
use crate::validate::read_f64;
use crate::{Error, Model, Result};

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
    let samples: Vec<usize> = (0..rows.dims()[0]).collect();
    raw_forward_backward_mapped(kernel, model, rows, targets, &samples)
}

/// [`raw_forward_backward`] where row `i` is sample `samples[i]` for the model's auxiliary
/// inputs (rows repeated from a batch).
///
/// # Errors
///
/// As [`raw_forward_backward`], and [`Error::InvalidPlan`] if `samples` does not have one
/// entry per row.
pub fn raw_forward_backward_mapped<const D: usize, M: Model<D> + ?Sized>(
    kernel: &GradientKernel,
    model: &M,
    rows: Tensor<D>,
    targets: &[usize],
    samples: &[usize],
) -> Result<(f64, usize)> {
    let n = rows.dims()[0];
    if samples.len() != n {
        return Err(Error::InvalidPlan(format!(
            "{} samples for {n} rows",
            samples.len()
        )));
    }
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
    let block = kernel
        .rows_per_pass(&device, rows.dims()[1..].iter().product())
        .min(n);
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
        let block_samples = RowSamples::new(samples[start..start + len].to_vec());
        let root = model
            .forward_rows(part.clone(), &block_samples)
            .gather(1, index)
            .sum();
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

/// The raw limit of forward-only work, for benchmarks: over `rows`, in blocks of
/// [`GradientKernel::rows_per_pass`] rows, one forward per block and nothing else (no checks,
/// no plan). With `autodiff` false the rows reach the model on the plain device, as
/// [`GradientKernel::forward`] passes them; with `autodiff` true on the autodiff device, as
/// the forward primitive passed them before it dropped autodiff: the difference of the two is
/// what recording a graph no one differentiates costs. Returns the sum of all outputs, which
/// forces every block to be computed, and the number of passes.
///
/// # Errors
///
/// [`Error::EmptyBatch`] or [`Error::Backend`].
pub fn raw_forward<const D: usize, M: Model<D> + ?Sized>(
    kernel: &GradientKernel,
    model: &M,
    rows: Tensor<D>,
    autodiff: bool,
) -> Result<(f64, usize)> {
    let n = rows.dims()[0];
    if n == 0 {
        return Err(Error::EmptyBatch {
            shape: rows.dims().to_vec(),
        });
    }
    let rows = rows.without_autodiff();
    let block = kernel
        .rows_per_pass(&rows.device(), rows.dims()[1..].iter().product())
        .min(n);
    let mut total: Option<Tensor<1>> = None;
    let mut passes = 0;
    for start in (0..n).step_by(block) {
        let len = block.min(n - start);
        let part = rows.clone().narrow(0, start, len);
        let part = if autodiff { part.autodiff() } else { part };
        let samples = RowSamples::new((start..start + len).collect());
        let sum = model.forward_rows(part, &samples).sum().without_autodiff();
        total = Some(match total {
            Some(t) => t + sum,
            None => sum,
        });
        passes += 1;
    }
    let total = read_f64(total.expect("at least one block"))?;
    Ok((total[0], passes))
}
