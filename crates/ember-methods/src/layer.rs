//! What the layer methods share: the layer's activations of a batch, computed in blocks, and
//! the reduction of a layer map per position.

use burn::tensor::Tensor;
use ember_core::{GradientKernel, Result, RowSamples, SplitModel};

/// The layer's activations `head(x)` of every sample of `input`, off the autodiff graph, in
/// blocks of the kernel's rows per pass (each block's rows numbered by their samples, so
/// auxiliary inputs follow).
///
/// # Errors
///
/// [`ember_core::Error::Backend`] if a block's shape cannot be read.
pub(crate) fn activations<const D: usize, const H: usize, S: SplitModel<D, H> + ?Sized>(
    kernel: &GradientKernel,
    split: &S,
    input: &Tensor<D>,
) -> Result<Tensor<H>> {
    let input = input.clone().without_autodiff();
    let batch = input.dims()[0];
    let features = input.dims()[1..].iter().product();
    let block = kernel.rows_per_pass(&input.device(), features).max(1);
    let mut parts = Vec::with_capacity(batch.div_ceil(block));
    let mut start = 0;
    while start < batch {
        let end = (start + block).min(batch);
        let rows = RowSamples::new((start..end).collect());
        let part = split.head(input.clone().slice(start..end), &rows);
        parts.push(part.without_autodiff());
        start = end;
    }
    Ok(Tensor::cat(parts, 0))
}

/// A layer map summed over one axis: per position, e.g. over the channels of a `[N, C, H, W]`
/// map (`axis` 1, giving `[N, H, W]`) or over the hidden size of token embeddings `[N, T, E]`
/// (`axis` 2, giving `[N, T]`), as Captum's users sum Layer Integrated Gradients over the
/// embedding.
///
/// # Errors
///
/// [`ember_core::Error::InvalidConfig`] if `axis` is 0 (the batch) or not below `H`, or if
/// `R` is not `H − 1`.
pub fn sum_over<const H: usize, const R: usize>(
    values: Tensor<H>,
    axis: usize,
) -> Result<Tensor<R>> {
    if axis == 0 || axis >= H || R + 1 != H {
        return Err(ember_core::Error::InvalidConfig {
            name: "axis",
            value: format!("{axis} of a rank-{H} map into rank {R}"),
            expected: "an axis after the batch, and a result one rank lower",
        });
    }
    Ok(values.sum_dim(axis).squeeze_dim(axis))
}
