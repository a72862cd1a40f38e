//! Test data helpers shared by the test folders: a deterministic sequence, tensors from host
//! values, host values from tensors, and the largest difference of two value lists.

use burn::tensor::{Device, Tensor, TensorData};

/// A deterministic pseudo-random sequence in [-1, 1) (a 64-bit LCG), the same on every backend.
pub fn values(seed: u64, n: usize) -> Vec<f64> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        })
        .collect()
}

/// A tensor of `shape` on `device` holding `data` (converted to the device's precision).
pub fn tensor<const D: usize>(data: Vec<f64>, shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::from_data(TensorData::new(data, shape), device)
}

/// A tensor's values as f64, row-major (off the autodiff graph).
///
/// # Panics
///
/// If the backend cannot read the tensor back (a test failure).
pub fn host<const D: usize>(t: &Tensor<D>) -> Vec<f64> {
    t.clone()
        .without_autodiff()
        .into_data()
        .convert::<f64>()
        .try_to_vec::<f64>()
        .expect("read back")
}

/// The largest absolute difference of two equally long vectors.
///
/// # Panics
///
/// If the lengths differ.
pub fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "lengths differ");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}
