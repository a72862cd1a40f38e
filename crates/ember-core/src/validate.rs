//! Checks of user input, done once before any work (ember's "check once, then trust").

use burn::tensor::{Int, Tensor, TensorData};

use crate::{Error, Result};

/// Checks that `input` is a non-empty batch of finite values, and returns its batch size.
///
/// # Errors
///
/// - [`Error::EmptyBatch`] if dimension 0 is 0;
/// - [`Error::EmptyInput`] if another dimension is 0;
/// - [`Error::NonFiniteInput`] if a value is NaN or infinite.
pub fn check_input<const D: usize>(input: &Tensor<D>) -> Result<usize> {
    let shape = input.dims().to_vec();
    let batch = shape.first().copied().unwrap_or(0);
    if batch == 0 {
        return Err(Error::EmptyBatch { shape });
    }
    if shape.contains(&0) {
        return Err(Error::EmptyInput { shape });
    }
    let per_sample = non_finite_per_row(input.clone())?;
    if let Some((sample, count)) = first_and_total(&per_sample) {
        return Err(Error::NonFiniteInput { count, sample });
    }
    Ok(batch)
}

/// Counts the NaN and infinite values of each row (index along dimension 0) of `tensor`.
///
/// # Errors
///
/// [`Error::Backend`] if the backend fails to compute or read the counts.
pub fn non_finite_per_row<const D: usize>(tensor: Tensor<D>) -> Result<Vec<i64>> {
    let dims = tensor.dims();
    let rows = dims[0];
    let per_row = dims.iter().skip(1).product::<usize>();
    let bad: Tensor<2, Int> = tensor
        .without_autodiff()
        .is_finite()
        .bool_not()
        .int()
        .reshape([rows, per_row]);
    read_i64(bad.sum_dim(1))
}

/// The first row of `values` (rows of `cols` values, row-major) that holds a NaN or infinity,
/// and the number of such values in all rows; `None` when every value is finite.
pub fn first_non_finite_row(values: &[f64], cols: usize) -> Option<(usize, usize)> {
    let per_row: Vec<i64> = values
        .chunks(cols.max(1))
        .map(|row| row.iter().filter(|v| !v.is_finite()).count() as i64)
        .collect();
    first_and_total(&per_row)
}

/// The first row with a non-zero count, and the total count; `None` when every count is 0.
pub fn first_and_total(counts: &[i64]) -> Option<(usize, usize)> {
    let first = counts.iter().position(|&c| c > 0)?;
    let total = counts.iter().map(|&c| c.max(0) as usize).sum();
    Some((first, total))
}

/// Reads an integer tensor back to the host as `i64` values, in row-major order.
///
/// # Errors
///
/// [`Error::Backend`] if the backend fails to compute or read the tensor.
pub fn read_i64<const D: usize>(tensor: Tensor<D, Int>) -> Result<Vec<i64>> {
    let data = tensor
        .try_into_data()
        .map_err(|e| Error::Backend(format!("{e:?}")))?;
    convert_vec::<i64>(data)
}

/// Reads a float tensor back to the host as `f64` values, in row-major order.
///
/// # Errors
///
/// [`Error::Backend`] if the backend fails to compute or read the tensor.
pub fn read_f64<const D: usize>(tensor: Tensor<D>) -> Result<Vec<f64>> {
    let data = tensor
        .without_autodiff()
        .try_into_data()
        .map_err(|e| Error::Backend(format!("{e:?}")))?;
    convert_vec::<f64>(data)
}

fn convert_vec<E: burn::tensor::Element>(data: TensorData) -> Result<Vec<E>> {
    data.convert::<E>()
        .try_into_vec::<E>()
        .map_err(|e| Error::Backend(format!("{e:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    #[test]
    fn finite_batches_pass_and_return_their_size() {
        let device = Device::flex();
        let x = Tensor::<3>::ones([4, 2, 3], &device);
        assert_eq!(check_input(&x), Ok(4));
    }

    #[test]
    fn empty_batches_and_empty_samples_are_errors() {
        let device = Device::flex();
        let empty = Tensor::<2>::zeros([0, 3], &device);
        assert_eq!(
            check_input(&empty),
            Err(Error::EmptyBatch { shape: vec![0, 3] })
        );
        let hollow = Tensor::<2>::zeros([2, 0], &device);
        assert_eq!(
            check_input(&hollow),
            Err(Error::EmptyInput { shape: vec![2, 0] })
        );
    }

    #[test]
    fn non_finite_values_name_the_first_sample_and_the_count() {
        let device = Device::flex();
        let x = Tensor::<2>::from_floats(
            [
                [0.0, 1.0],
                [f32::NAN, 2.0],
                [f32::INFINITY, f32::NEG_INFINITY],
            ],
            &device,
        );
        assert_eq!(
            check_input(&x),
            Err(Error::NonFiniteInput {
                count: 3,
                sample: 1
            })
        );
    }
}
