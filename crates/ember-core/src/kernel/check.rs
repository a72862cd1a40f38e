//! The checks of one attribution call before its first pass: the input, the auxiliary inputs'
//! batch, and that the model's rows are independent and deterministic.
//!
//! ember stacks points of many samples into one pass and differentiates the sum of their
//! outputs, which gives every row its own gradient only if each output row depends on its own
//! input row alone. A Burn module in training mode breaks this silently: BatchNorm normalises
//! with the statistics of the whole pass and Dropout draws a new mask per evaluation, both
//! whenever the input is on an autodiff device (ember's rows are). The check evaluates two
//! distinct rows of the first sample together, twice (the second time in swapped order, so
//! that noise shows even from a generator reseeded in between), and the first alone, on the
//! autodiff device as the passes do: three forward passes of 5 rows in all, no backward.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

use burn::tensor::{Tensor, TensorData};

use super::GradientKernel;
use crate::model::RowSamples;
use crate::validate::{check_input, read_f64};
use crate::{Error, Model, Result};

/// Outputs that differ by more than this fraction of the largest output magnitude (plus
/// [`ABSOLUTE_TOLERANCE`]) count as different: far above the rounding of a batched versus a
/// single-row evaluation in f32, far below what BatchNorm's batch statistics or a Dropout mask
/// change.
pub const RELATIVE_TOLERANCE: f64 = 1e-3;

/// The absolute floor of the comparison, for outputs near zero.
pub const ABSOLUTE_TOLERANCE: f64 = 1e-6;

impl GradientKernel {
    /// The checks of one attribution call, before any pass: the input (non-empty, finite), the
    /// model's auxiliary inputs (one entry per sample), and, unless turned off
    /// ([`with_check_model`](Self::with_check_model)) or already done in this call
    /// ([`Model::rows_checked`]), [`check_model`](Self::check_model). Returns the batch size.
    ///
    /// # Errors
    ///
    /// [`Error::EmptyBatch`], [`Error::EmptyInput`], [`Error::NonFiniteInput`],
    /// [`Error::AuxiliaryBatchMismatch`], and the errors of
    /// [`check_model`](Self::check_model).
    pub fn check_call<const D: usize, M: Model<D> + ?Sized>(
        &self,
        model: &M,
        input: &Tensor<D>,
    ) -> Result<usize> {
        let batch = check_input(input)?;
        if let Some(&auxiliary) = model.auxiliary_samples().iter().find(|&&n| n != batch) {
            return Err(Error::AuxiliaryBatchMismatch { auxiliary, batch });
        }
        if self.checks_model() && !model.rows_checked() {
            self.check_model(model, input)?;
        }
        Ok(batch)
    }

    /// Checks that the model's rows are independent and deterministic: evaluates the first
    /// sample `x` and a perturbed copy `x + δ` together, then in swapped order, then `x`
    /// alone, and compares each row's outputs.
    ///
    /// Non-finite outputs are not compared (the passes report them, naming the sample).
    ///
    /// # Errors
    ///
    /// - [`Error::ModelNotDeterministic`] if the two evaluations of the same rows (in swapped
    ///   order) differ (Dropout in training mode);
    /// - [`Error::ModelRowsCoupled`] if `x`'s output alone differs from its output beside
    ///   `x + δ` (BatchNorm in training mode);
    /// - [`Error::ModelOutputShape`] if the model does not return one row per input row;
    /// - [`Error::ModelPanicked`] if the model panics on one of these blocks (of 2 and 1 rows):
    ///   a closure that captures the whole batch's mask does, in Burn's shape checks. The
    ///   panic is caught (Burn's message still goes to the panic hook, stderr by default), so a
    ///   build with `panic = "abort"` aborts instead;
    /// - [`Error::Backend`] if the backend fails.
    pub fn check_model<const D: usize, M: Model<D> + ?Sized>(
        &self,
        model: &M,
        input: &Tensor<D>,
    ) -> Result<()> {
        let first = input.clone().without_autodiff().narrow(0, 0, 1);
        let second = perturbed(&first)?;
        let evaluate = |rows: Tensor<D>| -> Result<Vec<f64>> {
            let n = rows.dims()[0];
            // A model that cannot take blocks of other sizes (a closure over the whole batch's
            // mask) panics in Burn's shape checks: a typed error that names the fix instead.
            let output = catch_unwind(AssertUnwindSafe(|| {
                model.forward_rows(rows.autodiff(), &RowSamples::new(vec![0; n]))
            }))
            .map_err(|panic| Error::ModelPanicked {
                rows: n,
                message: panic_message(&*panic),
            })?;
            let [out_rows, cols] = output.dims();
            if out_rows != n || cols == 0 {
                return Err(Error::ModelOutputShape {
                    output: vec![out_rows, cols],
                    rows: n,
                });
            }
            read_f64(output)
        };
        // The same two rows twice, in swapped order: a random model differs even where its
        // generator is reseeded between the two (its noise then depends on the row's place),
        // while batch statistics do not depend on the order.
        let together = evaluate(Tensor::cat(vec![first.clone(), second.clone()], 0))?;
        let swapped = evaluate(Tensor::cat(vec![second, first.clone()], 0))?;
        let cols = together.len() / 2;
        let again = [&swapped[cols..], &swapped[..cols]].concat();
        if let Some(difference) = largest_difference(&together, &again) {
            return Err(Error::ModelNotDeterministic {
                sample: 0,
                difference,
            });
        }
        let alone = evaluate(first)?;
        if let Some(difference) = largest_difference(&alone, &together[..cols]) {
            return Err(Error::ModelRowsCoupled {
                sample: 0,
                difference,
            });
        }
        Ok(())
    }
}

/// The message of a caught panic (`panic!` with a literal or a formatted string), on one line
/// (Burn's tensor errors span several).
fn panic_message(panic: &(dyn Any + Send)) -> String {
    let message = match (panic.downcast_ref::<&str>(), panic.downcast_ref::<String>()) {
        (Some(message), _) => message,
        (_, Some(message)) => message.as_str(),
        _ => "a panic without a message",
    };
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `x + δ`, with `δ` a fixed non-constant pattern of size `0.1 · (1 + max |x|)`: a row that
/// differs from `x` whatever `x` is.
fn perturbed<const D: usize>(x: &Tensor<D>) -> Result<Tensor<D>> {
    let values = read_f64(x.clone())?;
    let scale = 0.1 * (1.0 + values.iter().fold(0.0f64, |m, v| m.max(v.abs())));
    let shifted: Vec<f64> = values
        .iter()
        .enumerate()
        .map(|(i, v)| v + scale * ((i % 7) as f64 - 3.0) / 3.0 + scale * 0.5)
        .collect();
    let data = TensorData::new(shifted, x.dims()).convert_dtype(x.dtype());
    Ok(Tensor::from_data(data, &x.device()))
}

/// The largest difference between two output sets if it is over the tolerance.
fn largest_difference(a: &[f64], b: &[f64]) -> Option<f64> {
    let finite = |v: &&f64| v.is_finite();
    let scale = a
        .iter()
        .chain(b)
        .filter(finite)
        .fold(0.0f64, |m, v| m.max(v.abs()));
    let tolerance = RELATIVE_TOLERANCE * scale + ABSOLUTE_TOLERANCE;
    let largest = a
        .iter()
        .zip(b)
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f64, f64::max);
    (largest > tolerance).then_some(largest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    #[test]
    fn a_model_with_independent_rows_passes() {
        let device = Device::flex();
        let w = Tensor::<2>::from_floats([[1.0, -1.0], [2.0, 0.5]], &device);
        let model = move |x: Tensor<2>| x.matmul(w.clone());
        let x = Tensor::<2>::from_floats([[0.0, 0.0], [1.0, 2.0]], &device);
        GradientKernel::new().check_model(&model, &x).unwrap();
    }

    #[test]
    fn a_model_that_centres_its_batch_is_coupled() {
        let device = Device::flex();
        // What BatchNorm does in training mode: subtract the batch's mean.
        let model = |x: Tensor<2>| x.clone() - x.mean_dim(0);
        let x = Tensor::<2>::from_floats([[1.0, 2.0]], &device);
        let err = GradientKernel::new().check_model(&model, &x).unwrap_err();
        assert!(
            matches!(err, Error::ModelRowsCoupled { sample: 0, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("valid()"), "{err}");
        // A closure's module has been run in training mode by now: the message says so.
        assert!(
            err.to_string().contains("running statistics have moved"),
            "{err}"
        );
    }

    #[test]
    fn a_random_model_is_not_deterministic() {
        let device = Device::flex();
        let model =
            |x: Tensor<2>| x.clone() * x.random_like(burn::tensor::Distribution::Bernoulli(0.5));
        let x = Tensor::<2>::from_floats([[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]], &device);
        let err = GradientKernel::new().check_model(&model, &x).unwrap_err();
        assert!(matches!(err, Error::ModelNotDeterministic { .. }), "{err}");
    }

    #[test]
    fn a_random_model_reseeded_before_every_call_is_still_random() {
        let device = Device::flex();
        // Its noise repeats call after call, but depends on the row's place in the pass.
        let model = |x: Tensor<2>| {
            x.device().seed(3);
            x.clone() * x.random_like(burn::tensor::Distribution::Bernoulli(0.5))
        };
        let x = Tensor::<2>::from_floats([[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]], &device);
        let err = GradientKernel::new().check_model(&model, &x).unwrap_err();
        assert!(matches!(err, Error::ModelNotDeterministic { .. }), "{err}");
    }

    #[test]
    fn a_model_over_the_whole_batchs_mask_is_a_typed_error_that_names_eval_with() {
        let device = Device::flex();
        // The mask of a batch of 3, captured whole: a block of 2 rows cannot take it.
        let mask = Tensor::<2>::ones([3, 4], &device);
        let model = move |x: Tensor<2>| {
            let [n, l] = x.dims();
            (x * mask.clone().reshape([n, l])).sum_dim(1)
        };
        let x = Tensor::<2>::ones([3, 4], &device);
        let err = GradientKernel::new().check_model(&model, &x).unwrap_err();
        assert!(matches!(err, Error::ModelPanicked { rows: 2, .. }), "{err}");
        let message = err.to_string();
        assert!(message.contains("eval_with"), "{message}");
        assert!(
            message.contains("reshape") || message.contains("shape"),
            "{message}"
        );
    }

    #[test]
    fn differences_within_rounding_are_equal() {
        assert_eq!(largest_difference(&[100.0, 1.0], &[100.00001, 1.0]), None);
        assert_eq!(largest_difference(&[100.0, 1.0], &[100.0, 1.5]), Some(0.5));
        assert_eq!(largest_difference(&[f64::NAN], &[1.0]), None);
    }
}
