//! Layer attribution on every backend, in f32: Grad-CAM of a hand-built two-layer conv model
//! equals the formula computed by hand (and its upsampling PyTorch's bilinear rule), Layer
//! Integrated Gradients on a linear tail is `w ⊙ (h(x) − h(x′))` and its delta shrinks with
//! the steps, batched equals one sample at a time with a per-sample auxiliary input, and
//! SmoothGrad works over a layer method. A plain test checks that the kernel stays the only
//! caller of `backward()`.
//!
//! Each body runs as `flex::name`, `ndarray::name` and `wgpu::name`.

mod common;

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::{relu, tanh};
use common::{host, max_abs_diff, tensor, values};
use ember::backend::Precision;
use ember::prelude::*;
use ember::{LayerGradientConfig, eval_split_with, sum_over, upsample};

backend_tests!(Precision::F32;
    grad_cam_of_a_two_layer_conv_model_equals_the_formula_by_hand,
    grad_cam_upsamples_bilinearly_with_half_pixel_centres,
    grad_cam_as_an_input_method_reads_the_models_layer,
    layer_ig_on_a_linear_tail_is_w_times_the_activation_difference,
    layer_ig_delta_shrinks_as_the_steps_grow,
    layer_methods_batched_equal_one_sample_at_a_time_with_a_mask,
    smoothgrad_works_over_a_layer_method;
    plain: the_kernel_is_the_only_caller_of_backward,
);

/// 1×1 convolution weights of the head, `[2 out, 1 in]`, and biases.
const HEAD_W: [f64; 2] = [1.5, -0.5];
const HEAD_B: [f64; 2] = [0.1, 0.3];
/// 1×1 convolution of the tail, `[3 out, 2 in]`, before the mean over positions.
const TAIL_V: [[f64; 2]; 3] = [[1.0, -2.0], [0.5, 0.25], [-1.0, 3.0]];

/// Head: relu(1×1 conv 1→2); tail: 1×1 conv 2→3, then the mean over the 4×4 positions.
fn conv_split(device: &Device) -> impl SplitModel<4, 4> + use<> {
    let w = tensor(HEAD_W.to_vec(), [1, 2, 1, 1], device);
    let b = tensor(HEAD_B.to_vec(), [1, 2, 1, 1], device);
    let v = tensor(
        TAIL_V.iter().flatten().copied().collect(),
        [1, 3, 2, 1, 1],
        device,
    );
    Split::new(
        move |x: Tensor<4>| relu(x * w.clone() + b.clone()),
        move |a: Tensor<4>| {
            let [n, c, h, width] = a.dims();
            // [n, 1, 2, h, w] × [1, 3, 2, 1, 1], summed over the 2 channels: [n, 3, h, w].
            let out = (a.reshape([n, 1, c, h, width]) * v.clone()).sum_dim(2);
            out.reshape([n, 3, h * width]).mean_dim(2).reshape([n, 3])
        },
    )
}

fn grad_cam_of_a_two_layer_conv_model_equals_the_formula_by_hand(device: &Device) {
    let x = values(5, 2 * 16);
    let input = tensor(x.clone(), [2, 1, 4, 4], device);
    for (class, relu_on) in [(0usize, true), (2, true), (1, false)] {
        let cam = GradCamConfig::new()
            .with_relu(relu_on)
            .init()
            .unwrap()
            .attribute_layer(&conv_split(device), input.clone(), class)
            .unwrap();
        assert_eq!(cam.values.dims(), [2, 1, 4, 4]);
        assert_eq!(cam.report.method, "grad-cam");
        // By hand: A_k = relu(w_k x + b_k); ∂y_c/∂A_k,ij = V[c][k] / 16, so α_k = V[c][k] / 16
        // and L = relu(Σ_k α_k A_k).
        let expected: Vec<f64> = x
            .iter()
            .map(|&xi| {
                let l: f64 = (0..2)
                    .map(|k| TAIL_V[class][k] / 16.0 * (HEAD_W[k] * xi + HEAD_B[k]).max(0.0))
                    .sum();
                if relu_on { l.max(0.0) } else { l }
            })
            .collect();
        let worst = max_abs_diff(&host(&cam.values), &expected);
        assert!(worst < 1e-6, "class {class}: off by {worst}");
    }
}

fn grad_cam_upsamples_bilinearly_with_half_pixel_centres(device: &Device) {
    // A 2×2 map [[0, 4], [0, 4]] to 4×4: PyTorch's bilinear rule with align_corners=False
    // samples source columns −0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1).
    let map = tensor(vec![0.0, 4.0, 0.0, 4.0], [1, 1, 2, 2], device);
    let up = upsample(map, [4, 4]).unwrap();
    assert_eq!(up.dims(), [1, 1, 4, 4]);
    let row = [0.0, 1.0, 3.0, 4.0];
    let expected: Vec<f64> = (0..4).flat_map(|_| row).collect();
    assert!(
        max_abs_diff(&host(&up), &expected) < 1e-6,
        "{:?}",
        host(&up)
    );
    assert!(upsample(tensor(vec![1.0], [1, 1, 1, 1], device), [0, 3]).is_err());
}

fn grad_cam_as_an_input_method_reads_the_models_layer(device: &Device) {
    let input = tensor(values(7, 2 * 2 * 16), [2, 2, 4, 4], device);
    let spec: ember::MethodSpec = "grad-cam".parse().unwrap();
    let method = spec.build(&ember::MethodSettings::new()).unwrap();
    // Two input channels: the head sums them first, so the layer is the same as for one.
    let inner = conv_split(device);
    let split = Split::new(
        move |x: Tensor<4>| inner.head(x.sum_dim(1), &RowSamples::identity(0)),
        |a: Tensor<4>| conv_split(&a.device()).tail(a, &RowSamples::identity(0)),
    );
    let layer_map = method.attribute_layer(&split, input.clone(), 1).unwrap();
    let model = ember::WithLayer::new(split);
    let on_input = method.attribute(&model, input.clone(), 1).unwrap();
    // The 4×4 map upsampled to the 4×4 input is itself, repeated over the 2 channels.
    assert_eq!(on_input.values.dims(), [2, 2, 4, 4]);
    let cam = host(&layer_map.values);
    let got = host(&on_input.values);
    for s in 0..2 {
        for c in 0..2 {
            let plane = &got[(s * 2 + c) * 16..(s * 2 + c + 1) * 16];
            assert!(max_abs_diff(plane, &cam[s * 16..(s + 1) * 16]) < 1e-6);
        }
    }
    // Renumbered copies (max-sensitivity, the noise tunnels) still see the layer.
    let renumbered = ember::Renumbered::new(&model, vec![0, 1], true);
    assert!(Model::<4>::layer(&renumbered).is_some());
    // A model that names no layer is a typed error, not a wrong map.
    let plain = |x: Tensor<4>| x.sum_dim(3).sum_dim(2).sum_dim(1).reshape([-1, 1]);
    assert!(matches!(
        method.attribute(&plain, input, 0),
        Err(Error::InvalidConfig { name: "model", .. })
    ));
}

/// Head: tanh(x M + c), `[N, 3] → [N, 4]`; tail: linear `h W`, `[N, 4] → [N, 2]`.
const M: [[f64; 4]; 3] = [
    [0.5, -1.0, 0.25, 2.0],
    [1.5, 0.5, -0.5, 0.0],
    [-0.25, 1.0, 1.0, -1.5],
];
const C: [f64; 4] = [0.2, -0.1, 0.4, 0.0];
const W: [[f64; 2]; 4] = [[1.0, -0.5], [2.0, 0.0], [-1.5, 1.0], [0.5, 0.25]];

fn head_host(x: &[f64]) -> Vec<f64> {
    (0..4)
        .map(|j| (C[j] + (0..3).map(|i| x[i] * M[i][j]).sum::<f64>()).tanh())
        .collect()
}

fn mlp_split(device: &Device, nonlinear_tail: bool) -> impl SplitModel<2, 2> + use<> {
    let m = tensor(M.iter().flatten().copied().collect(), [3, 4], device);
    let c = tensor(C.to_vec(), [1, 4], device);
    let w = tensor(W.iter().flatten().copied().collect(), [4, 2], device);
    Split::new(
        move |x: Tensor<2>| tanh(x.matmul(m.clone()) + c.clone()),
        move |h: Tensor<2>| {
            let out = h.matmul(w.clone());
            if nonlinear_tail { tanh(out) } else { out }
        },
    )
}

fn layer_ig_on_a_linear_tail_is_w_times_the_activation_difference(device: &Device) {
    let x = values(9, 2 * 3);
    let input = tensor(x.clone(), [2, 3], device);
    let out = LayerIntegratedGradientsConfig::new()
        .with_integrated_gradients(IntegratedGradientsConfig::new().with_steps(4))
        .init()
        .unwrap()
        .attribute_layer(
            &mlp_split(device, false),
            input,
            Target::PerSample(vec![0, 1]),
        )
        .unwrap();
    assert_eq!(out.values.dims(), [2, 4]);
    assert_eq!(out.report.method, "layer-integrated-gradients");
    let base = head_host(&[0.0, 0.0, 0.0]);
    let mut expected = Vec::new();
    for (s, class) in [(0usize, 0usize), (1, 1)] {
        let h = head_host(&x[s * 3..s * 3 + 3]);
        expected.extend((0..4).map(|j| W[j][class] * (h[j] - base[j])));
    }
    let worst = max_abs_diff(&host(&out.values), &expected);
    assert!(worst < 1e-5, "off by {worst}");
    // Completeness: the attributions sum to F(x) − F(x′) (the tail is linear: delta ≈ 0).
    assert!(out.report.delta().unwrap().iter().all(|d| d.abs() < 1e-5));
    // Summed over the hidden axis: one number per sample.
    let per_sample: Tensor<1> = sum_over(out.values, 1).unwrap();
    assert_eq!(per_sample.dims(), [2]);
}

fn layer_ig_delta_shrinks_as_the_steps_grow(device: &Device) {
    let input = tensor(
        values(13, 3 * 3).iter().map(|v| 2.0 * v).collect(),
        [3, 3],
        device,
    );
    let worst_delta = |steps: usize| {
        let out = LayerIntegratedGradientsConfig::new()
            .with_integrated_gradients(
                IntegratedGradientsConfig::new()
                    .with_steps(steps)
                    .with_quadrature(Quadrature::RiemannTrapezoid),
            )
            .init()
            .unwrap()
            .attribute_layer(&mlp_split(device, true), input.clone(), 0)
            .unwrap();
        out.report
            .delta()
            .unwrap()
            .iter()
            .fold(0.0f64, |m, d| m.max(d.abs()))
    };
    let (coarse, medium, fine) = (worst_delta(2), worst_delta(8), worst_delta(64));
    assert!(coarse > medium && medium > fine, "{coarse} {medium} {fine}");
    assert!(fine < 1e-3, "{fine}");
}

/// A module whose both halves read a per-sample mask: head tanh(fc1(x ⊙ mask)), tail
/// fc2(h) + Σ mask.
#[derive(Module, Debug)]
struct Masked {
    fc1: Linear,
    fc2: Linear,
}

fn layer_methods_batched_equal_one_sample_at_a_time_with_a_mask(device: &Device) {
    device.seed(3);
    let net = Masked {
        fc1: LinearConfig::new(3, 4).init(device),
        fc2: LinearConfig::new(4, 2).init(device),
    };
    let mask_values = vec![1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0];
    let x = values(21, 3 * 3);
    let split_of = |mask: Vec<f64>, n: usize| {
        eval_split_with(
            &net,
            tensor(mask, [n, 3], device),
            |m: &Masked, x: Tensor<2>, mask: Tensor<2>| tanh(m.fc1.forward(x * mask)),
            |m: &Masked, h: Tensor<2>, mask: Tensor<2>| m.fc2.forward(h) + mask.sum_dim(1),
        )
    };
    let gxa = LayerGradientConfig::new()
        .with_multiply_by_activation(true)
        .with_max_rows(Some(2))
        .init()
        .unwrap();
    let lig = LayerIntegratedGradientsConfig::new()
        .with_integrated_gradients(
            IntegratedGradientsConfig::new()
                .with_steps(5)
                .with_max_rows(Some(4)),
        )
        .init()
        .unwrap();
    let targets = vec![1, 0, 1];
    let batched = [
        host(
            &gxa.attribute_layer(
                &split_of(mask_values.clone(), 3),
                tensor(x.clone(), [3, 3], device),
                Target::PerSample(targets.clone()),
            )
            .unwrap()
            .values,
        ),
        host(
            &lig.attribute_layer(
                &split_of(mask_values.clone(), 3),
                tensor(x.clone(), [3, 3], device),
                Target::PerSample(targets.clone()),
            )
            .unwrap()
            .values,
        ),
    ];
    for s in 0..3 {
        let one = |i: usize| {
            let split = split_of(mask_values[s * 3..s * 3 + 3].to_vec(), 1);
            let input = tensor(x[s * 3..s * 3 + 3].to_vec(), [1, 3], device);
            let out = if i == 0 {
                gxa.attribute_layer(&split, input, targets[s])
            } else {
                lig.attribute_layer(&split, input, targets[s])
            };
            host(&out.unwrap().values)
        };
        for (i, all) in batched.iter().enumerate() {
            let worst = max_abs_diff(&all[s * 4..s * 4 + 4], &one(i));
            assert!(worst < 1e-5, "method {i}, sample {s}: off by {worst}");
        }
    }
    // A mask of another batch is a typed error.
    assert!(matches!(
        gxa.attribute_layer(
            &split_of(mask_values[..6].to_vec(), 2),
            tensor(x, [3, 3], device),
            0
        ),
        Err(Error::AuxiliaryBatchMismatch { .. })
    ));
}

fn smoothgrad_works_over_a_layer_method(device: &Device) {
    let input = tensor(values(17, 2 * 3), [2, 3], device);
    let split = mlp_split(device, true);
    let inner = || LayerGradientConfig::new().init().unwrap();
    let plain = inner().attribute_layer(&split, input.clone(), 1).unwrap();
    // Without noise, the mean is the inner method's map and the variance is 0.
    let quiet = SmoothGradConfig::new()
        .with_samples(3)
        .with_noise_level(0.0)
        .init(inner())
        .unwrap()
        .smooth_layer(&split, input.clone(), 1)
        .unwrap();
    assert!(max_abs_diff(&host(&quiet.mean), &host(&plain.values)) < 1e-6);
    assert!(host(&quiet.variance).iter().all(|v| v.abs() < 1e-10));
    // With noise, a VarGrad over the layer has the layer's shape and some variance.
    let vargrad = SmoothGradConfig::new()
        .with_kind(SmoothKind::Variance)
        .with_samples(8)
        .init(inner())
        .unwrap()
        .attribute_layer(&split, input, 1)
        .unwrap();
    assert_eq!(vargrad.values.dims(), [2, 4]);
    assert!(host(&vargrad.values).iter().any(|&v| v > 0.0));
    assert_eq!(vargrad.report.noise.unwrap().inner, "layer-gradient");
}

fn the_kernel_is_the_only_caller_of_backward() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    // The needle is built so that this file does not find itself.
    let needle = [".back", "ward("].concat();
    let mut callers = Vec::new();
    let mut stack = vec![root.join("crates"), root.join("examples")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                if text.contains(&needle) {
                    callers.push(path.strip_prefix(&root).unwrap().display().to_string());
                }
            }
        }
    }
    callers.sort();
    assert_eq!(
        callers,
        [
            "crates/ember-core/src/kernel/bench.rs",
            "crates/ember-core/src/kernel/fold.rs",
            "crates/ember-core/src/kernel/mod.rs",
        ]
    );
}
