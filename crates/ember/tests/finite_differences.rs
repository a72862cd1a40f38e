//! In f64, on every backend, the kernel's gradients match central finite differences of the
//! model to 1e-6 (max abs error), for an MLP and a small CNN.
//!
//! A smooth (tanh) MLP is checked on the CPU backends only: in Burn 0.22.1 on wgpu (lavapipe,
//! WGSL), f64 `exp` and `tanh` return wrong values (exp(-1.2), tanh(2.5) off by 12 and 0.9), so
//! a tanh model's outputs are wrong there, whatever its gradients. See docs/backends.md.

mod common;

use common::{Cnn, Mlp, finite_differences, host, max_abs_diff, tensor, values};
use ember::backend::{Precision, check_precision};
use ember::burn::tensor::DType;
use ember::prelude::*;

backend_tests!(Precision::F64;
    mlp_gradients_match_finite_differences,
    cnn_gradients_match_finite_differences,
    smooth_mlp_gradients_match_where_f64_math_is_right,
);

const H: f64 = 1e-5;
const TOLERANCE: f64 = 1e-6;

fn mlp_gradients_match_finite_differences(device: &Device) {
    check_mlp(&Mlp::new(device), device);
}

/// A smooth (tanh) MLP matches finite differences wherever the device's f64 math is right.
/// The precision check tells the wgpu f64 defect apart: it passes on the CPU backends (and on
/// a fixed Burn, or a GPU whose f64 math is right), and then the MLP must match; or it fails
/// with a typed error naming the wrong result.
fn smooth_mlp_gradients_match_where_f64_math_is_right(device: &Device) {
    match check_precision(device) {
        Ok(()) => check_mlp(&Mlp::smooth(device), device),
        Err(Error::InaccurateDType { dtype, detail, .. }) if !is_cpu(device) => {
            assert_eq!(dtype, "f64");
            common::note(&format!("wgpu f64 math is wrong on this device: {detail}"));
        }
        Err(other) => panic!("unexpected error: {other}"),
    }
}

fn is_cpu(device: &Device) -> bool {
    ember::DeviceClass::of(device) == ember::DeviceClass::Cpu
}

fn check_mlp(mlp: &Mlp, device: &Device) {
    let model = |x: Tensor<2>| mlp.forward(x);
    let x = tensor(values(41, 5 * Mlp::INPUTS), [5, Mlp::INPUTS], device);
    for target in 0..Mlp::CLASSES {
        let g = SaliencyConfig::new()
            .init()
            .unwrap()
            .attribute(&model, x.clone(), target)
            .unwrap();
        let fd = finite_differences(&model, &x, &[target; 5], H);
        assert_eq!(g.values.dtype(), DType::F64, "the kernel ran in f64");
        let gradients = host(&g.values);
        assert!(
            gradients.iter().any(|v| v.abs() > 1e-3),
            "non-trivial gradients"
        );
        let err = max_abs_diff(&gradients, &fd);
        assert!(err <= TOLERANCE, "class {target}: max abs error {err:.3e}");
    }
}

fn cnn_gradients_match_finite_differences(device: &Device) {
    let cnn = Cnn::new(device);
    let model = |x: Tensor<4>| cnn.forward(x);
    let x = tensor(values(42, 2 * 36), [2, 1, 6, 6], device);
    let targets = vec![0, 2];
    let g = SaliencyConfig::new()
        .init()
        .unwrap()
        .attribute(&model, x.clone(), targets.clone())
        .unwrap();
    let fd = finite_differences(&model, &x, &targets, H);
    assert_eq!(g.values.dtype(), DType::F64, "the kernel ran in f64");
    let gradients = host(&g.values);
    assert!(
        gradients.iter().any(|v| v.abs() > 1e-3),
        "non-trivial gradients"
    );
    let err = max_abs_diff(&gradients, &fd);
    assert!(err <= TOLERANCE, "max abs error {err:.3e}");
}
