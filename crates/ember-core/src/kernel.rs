//! The batched gradient kernel: the only place in ember that calls `backward()`.
//!
//! For a block of rows it runs ONE forward pass on the autodiff device, selects each row's
//! target output, sums them into ONE scalar root and runs ONE `backward()`. Because each output
//! row depends only on its own input row, the gradient of that sum with respect to the rows is
//! every row's own gradient. Captum instead calls backward with one root per row.
//!
//! Rows are streamed in blocks of at most [`GradientKernel::max_rows`], so memory grows with the
//! block, not with the number of rows. Methods that evaluate many points per input (Integrated
//! Gradients, SmoothGrad) build on this: they lay out their points as rows, and row `i` of the
//! kernel's input is whatever sample and point the method placed there.

use burn::tensor::{Int, Tensor, TensorData};
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

/// The kernel's result for a set of rows.
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

impl GradientKernel {
    /// A kernel that runs all rows in one pass.
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

    /// Like [`with_max_rows`](Self::with_max_rows), where `None` means one pass for all rows.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] if `max_rows` is `Some(0)`.
    pub fn with_max_rows_opt(self, max_rows: Option<usize>) -> Result<Self> {
        if max_rows == Some(0) {
            return Err(Error::InvalidConfig {
                name: "max_rows",
                value: "0".into(),
                expected: "at least 1 row per pass (or none for a single pass)",
            });
        }
        Ok(Self { max_rows })
    }

    /// The largest number of rows per pass, `None` for a single pass.
    pub fn max_rows(&self) -> Option<usize> {
        self.max_rows
    }

    /// Computes the gradient of each row's target output with respect to that row.
    ///
    /// # Arguments
    ///
    /// - `model`: the model; its parameters may live on the plain or the autodiff device.
    /// - `rows`: the points to differentiate at, on the plain or the autodiff device (any graph
    ///   it belongs to is ignored).
    /// - `targets`: the target of each row.
    ///
    /// # Shapes
    ///
    /// - `rows`: `[n, ...]`; the model maps it to `[n, outputs]`.
    /// - returned gradients: `[n, ...]`, the shape of `rows`.
    ///
    /// # Errors
    ///
    /// - [`Error::EmptyBatch`] if `rows` has no rows;
    /// - [`Error::TargetCountMismatch`] if `targets` has a length other than `n`;
    /// - [`Error::ModelOutputShape`] if the model's output is not `[rows, outputs ≥ 1]`;
    /// - [`Error::NonFiniteOutput`] if the model's output has a NaN or infinity;
    /// - [`Error::TargetOutOfRange`] if a target is not below the number of outputs;
    /// - [`Error::NonFiniteGradient`] if a gradient has a NaN or infinity;
    /// - [`Error::Backend`] if the backend fails.
    pub fn gradients<const D: usize, M: Model<D> + ?Sized>(
        &self,
        model: &M,
        rows: Tensor<D>,
        targets: &RowTargets,
    ) -> Result<KernelOutput<D>> {
        let n = rows.dims()[0];
        if n == 0 {
            return Err(Error::EmptyBatch {
                shape: rows.dims().to_vec(),
            });
        }
        if let RowTargets::Indices(indices) = targets
            && indices.len() != n
        {
            return Err(Error::TargetCountMismatch {
                targets: indices.len(),
                batch: n,
            });
        }
        let block = self.max_rows.unwrap_or(n).min(n);
        let mut parts = Vec::with_capacity(n.div_ceil(block));
        let mut resolved = Vec::with_capacity(n);
        let mut scores = Vec::with_capacity(n);
        let mut stats = KernelStats::default();
        for start in (0..n).step_by(block) {
            let len = block.min(n - start);
            let part = if len == n {
                rows.clone()
            } else {
                rows.clone().narrow(0, start, len)
            };
            let block_targets = match targets {
                RowTargets::Indices(indices) => Some(&indices[start..start + len]),
                _ => None,
            };
            let pass = one_pass(model, part, block_targets, start)?;
            parts.push(pass.gradients);
            resolved.extend(pass.targets);
            scores.extend(pass.scores);
            stats.merge(pass.stats);
        }
        let gradients = if parts.len() == 1 {
            parts.pop().expect("one part")
        } else {
            Tensor::cat(parts, 0)
        };
        Ok(KernelOutput {
            gradients,
            targets: resolved,
            scores,
            stats,
        })
    }
}

/// One forward, one summed root, one backward over a block of rows. `offset` is the index of the
/// block's first row, so that errors name the row in the caller's numbering.
fn one_pass<const D: usize, M: Model<D> + ?Sized>(
    model: &M,
    rows: Tensor<D>,
    targets: Option<&[usize]>,
    offset: usize,
) -> Result<KernelOutput<D>> {
    let n = rows.dims()[0];
    let rows = rows.without_autodiff().autodiff().require_grad();
    let output = model.forward(rows.clone());

    let [out_rows, outputs] = output.dims();
    if out_rows != n || outputs == 0 {
        return Err(Error::ModelOutputShape {
            output: vec![out_rows, outputs],
            rows: n,
        });
    }
    let values = read_f64(output.clone())?;
    let per_row: Vec<i64> = values
        .chunks(outputs)
        .map(|row| row.iter().filter(|v| !v.is_finite()).count() as i64)
        .collect();
    if let Some((row, count)) = first_and_total(&per_row) {
        return Err(Error::NonFiniteOutput {
            count,
            sample: offset + row,
        });
    }
    let targets: Vec<usize> = match targets {
        Some(indices) => {
            if let Some(i) = indices.iter().position(|&t| t >= outputs) {
                return Err(Error::TargetOutOfRange {
                    target: indices[i],
                    sample: offset + i,
                    outputs,
                });
            }
            indices.to_vec()
        }
        None => values.chunks(outputs).map(first_argmax).collect(),
    };
    let scores = targets
        .iter()
        .enumerate()
        .map(|(i, &t)| values[i * outputs + t])
        .collect();

    let index = TensorData::new(
        targets.iter().map(|&t| t as i64).collect::<Vec<_>>(),
        [n, 1],
    );
    let index = Tensor::<2, Int>::from_data(index, &output.device());
    let root = output.gather(1, index).sum();
    // An output that does not depend on the input (a constant model, or one that moved the
    // input off autodiff) has no graph to walk back: its gradient is zero.
    let gradients = if root.is_tracked() {
        let grads = root.backward();
        rows.grad(&grads)
    } else {
        None
    }
    .unwrap_or_else(|| Tensor::zeros(rows.dims(), &rows.device().inner()));

    if let Some((row, count)) = first_and_total(&non_finite_per_row(gradients.clone())?) {
        return Err(Error::NonFiniteGradient {
            count,
            sample: offset + row,
        });
    }
    Ok(KernelOutput {
        gradients,
        targets,
        scores,
        stats: KernelStats {
            rows: n,
            passes: 1,
            max_rows_per_pass: n,
        },
    })
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

    #[test]
    fn first_argmax_takes_the_first_of_equal_maxima() {
        assert_eq!(first_argmax(&[1.0, 3.0, 3.0, -1.0]), 1);
        assert_eq!(first_argmax(&[5.0]), 0);
    }
}
