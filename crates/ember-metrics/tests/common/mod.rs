//! Shared test support: the devices of every backend this build has, small models with known
//! weights, and host reads.
//!
//! Mirrors `crates/ember/tests/common`: one test body runs as `flex::name`, `ndarray::name`,
//! (with this crate's `wgpu` feature) `wgpu::name` and (with `tch`) `tch::name`, so a failure
//! names its backend. Without an adapter the wgpu tests show as ignored, or fail with
//! `EMBER_REQUIRE_WGPU=1`.

#![allow(dead_code)]

use burn::tensor::{Device, Tensor};

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

pub use ember_testkit::{host, max_abs_diff, tensor, values};

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
