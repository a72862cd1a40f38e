//! Shared test support: the devices of every backend this build has, small models with known
//! weights, and host reads.
//!
//! Mirrors `crates/ember/tests/common`: one test body runs as `flex::name`, `ndarray::name`,
//! (with this crate's `wgpu` feature) `wgpu::name` and (with `tch`) `tch::name`, so a failure
//! names its backend. Without an adapter the wgpu tests show as ignored, or fail with
//! `EMBER_REQUIRE_WGPU=1`.

#![allow(dead_code)]

use burn::tensor::{Device, Tensor, TensorData};

/// Opens a backend by name for the test harness (see `ember_testkit::open`).
pub fn open(name: &str) -> Result<Device, String> {
    ember_testkit::open(name)
}

/// The test binary's `main`: every body runs as `flex::name`, `ndarray::name` and `wgpu::name`
/// (a body is `fn name(device: &Device)`); a backend that cannot run shows its tests as
/// ignored (see `ember_testkit`).
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        ember_testkit::backend_main!($crate::common::open; $($name),*);
    };
}

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

/// A tensor's values as f64, row-major.
pub fn host<const D: usize>(t: &Tensor<D>) -> Vec<f64> {
    ember_core::validate::read_f64(t.clone()).expect("read back")
}

/// The largest absolute difference of two equally long vectors.
pub fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "lengths differ");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// A linear model `x·W + b` with `features` inputs and `classes` outputs, and `W` row-major
/// `[features, classes]` and `b` on the host.
pub fn linear(
    device: &Device,
    features: usize,
    classes: usize,
    seed: u64,
) -> (impl Fn(Tensor<2>) -> Tensor<2> + use<>, Vec<f64>, Vec<f64>) {
    let w = values(seed, features * classes);
    let b = values(seed + 1, classes);
    let wt = tensor(w.clone(), [features, classes], device);
    let bt = tensor(b.clone(), [classes], device);
    (
        move |x: Tensor<2>| x.matmul(wt.clone()) + bt.clone().unsqueeze(),
        w,
        b,
    )
}

/// A small nonlinear model: `[n, 6] → 8 (tanh) → 3`.
pub fn mlp(device: &Device) -> impl Fn(Tensor<2>) -> Tensor<2> + use<> {
    let w1 = tensor(values(31, 6 * 8), [6, 8], device);
    let b1 = tensor(values(32, 8), [8], device);
    let w2 = tensor(values(33, 8 * 3), [8, 3], device);
    move |x: Tensor<2>| {
        (x.matmul(w1.clone()) + b1.clone().unsqueeze())
            .tanh()
            .matmul(w2.clone())
    }
}
