//! The attribution contract on every backend, in f32: exact answers on models whose truth is
//! known by hand, batch invariances, target resolution, and a typed error for each bad input.
//!
//! Each body runs as `flex::name`, `ndarray::name` and `wgpu::name`. wgpu bodies show as ignored
//! without an adapter unless `EMBER_REQUIRE_WGPU=1`, which makes a missing adapter a failure.

mod common;

use common::{Cnn, host, max_abs_diff, tensor, values};
use ember::backend::{Backend, Precision};
use ember::burn::module::Param;
use ember::burn::nn::Linear;
use ember::prelude::*;

backend_tests!(Precision::F32;
    linear_gradient_is_the_weight_of_the_target_class,
    textbook_relu_gives_one_two,
    batched_equals_one_at_a_time,
    predicted_target_is_the_argmax,
    permuting_the_batch_permutes_the_result,
    max_rows_blocks_agree_with_one_pass,
    saliency_abs_is_the_absolute_gradient,
    bad_inputs_are_typed_errors;
    plain: backends_agree_on_the_cnn,
);

fn saliency() -> Saliency {
    SaliencyConfig::new().init().unwrap()
}

fn x_gradient() -> InputXGradient {
    InputXGradientConfig::new().init().unwrap()
}

/// A Burn `Linear` (4 features → 3 classes) with known weights, and its weight in Burn's
/// `[in, out]` layout.
fn linear(device: &Device) -> (Linear, Vec<f64>) {
    let w = values(3, 4 * 3);
    let layer = Linear {
        weight: Param::from_tensor(tensor(w.clone(), [4, 3], device)),
        bias: Some(Param::from_tensor(tensor(
            vec![0.5, -0.25, 1.0],
            [3],
            device,
        ))),
    };
    (layer, w)
}

fn cnn_input(device: &Device, n: usize, seed: u64) -> Tensor<4> {
    tensor(values(seed, n * 36), [n, 1, 6, 6], device)
}

fn linear_gradient_is_the_weight_of_the_target_class(device: &Device) {
    let (layer, w) = linear(device);
    let model = |x: Tensor<2>| layer.forward(x);
    let x_values = values(4, 2 * 4);
    let x = tensor(x_values.clone(), [2, 4], device);
    let targets = vec![2, 0];

    let g = saliency()
        .attribute(&model, x.clone(), targets.clone())
        .unwrap();
    let p = x_gradient().attribute(&model, x, targets.clone()).unwrap();
    let g = host(&g.values);
    let p = host(&p.values);
    for (s, &c) in targets.iter().enumerate() {
        for i in 0..4 {
            // The weight is stored in f32 on the device; compare against the same rounding.
            let w_ic = w[i * 3 + c] as f32 as f64;
            let x_si = x_values[s * 4 + i] as f32 as f64;
            assert_eq!(g[s * 4 + i], w_ic, "gradient [{s}, {i}]");
            assert_eq!(
                p[s * 4 + i],
                (w_ic * x_si) as f32 as f64,
                "x-gradient [{s}, {i}]"
            );
        }
    }
}

fn textbook_relu_gives_one_two(device: &Device) {
    let w = tensor(vec![1.0, 2.0], [2, 1], device);
    let model = |x: Tensor<2>| x.matmul(w.clone()).clamp_min(0.0);
    let x = tensor(vec![1.0, 1.0], [1, 2], device);
    let g = saliency().attribute(&model, x.clone(), 0).unwrap();
    let p = x_gradient().attribute(&model, x, 0).unwrap();
    assert_eq!(host(&g.values), vec![1.0, 2.0]);
    assert_eq!(host(&p.values), vec![1.0, 2.0]);
    assert_eq!(g.report.scores, vec![3.0]);
    assert_eq!(g.report.passes, 1);
    assert_eq!(g.report.model_evaluations, 1);
}

fn batched_equals_one_at_a_time(device: &Device) {
    let cnn = Cnn::new(device);
    let model = |x: Tensor<4>| cnn.forward(x);
    let n = 4;
    let x = cnn_input(device, n, 31);
    let targets = vec![0, 2, 1, 2];
    let batched = x_gradient()
        .attribute(&model, x.clone(), targets.clone())
        .unwrap();
    assert_eq!(batched.report.passes, 1);
    let batched = host(&batched.values);
    for (s, &target) in targets.iter().enumerate() {
        let one = x.clone().narrow(0, s, 1);
        let single = host(&x_gradient().attribute(&model, one, target).unwrap().values);
        let diff = max_abs_diff(&single, &batched[s * 36..(s + 1) * 36]);
        assert!(
            diff <= 1e-6,
            "sample {s}: batched and single differ by {diff}"
        );
    }
}

fn predicted_target_is_the_argmax(device: &Device) {
    let cnn = Cnn::new(device);
    let model = |x: Tensor<4>| cnn.forward(x);
    let x = cnn_input(device, 4, 32);
    let logits = host(&cnn.forward(x.clone()));
    let argmax: Vec<usize> = logits
        .chunks(Cnn::CLASSES)
        .map(|row| (0..row.len()).fold(0, |best, i| if row[i] > row[best] { i } else { best }))
        .collect();
    let predicted = saliency()
        .attribute(&model, x.clone(), Target::Predicted)
        .unwrap();
    let explicit = saliency()
        .attribute(&model, x, Target::PerSample(argmax.clone()))
        .unwrap();
    assert_eq!(predicted.report.targets, argmax);
    assert_eq!(host(&predicted.values), host(&explicit.values));
    let expected_scores: Vec<f64> = argmax
        .iter()
        .enumerate()
        .map(|(s, &c)| logits[s * Cnn::CLASSES + c])
        .collect();
    assert!(max_abs_diff(&predicted.report.scores, &expected_scores) <= 1e-6);
}

fn permuting_the_batch_permutes_the_result(device: &Device) {
    let cnn = Cnn::new(device);
    let model = |x: Tensor<4>| cnn.forward(x);
    let x_values = values(33, 4 * 36);
    let permutation = [2, 0, 3, 1];
    let permuted_values: Vec<f64> = permutation
        .iter()
        .flat_map(|&s| x_values[s * 36..(s + 1) * 36].to_vec())
        .collect();
    let x = tensor(x_values, [4, 1, 6, 6], device);
    let x_permuted = tensor(permuted_values, [4, 1, 6, 6], device);
    let original = x_gradient()
        .attribute(&model, x, Target::Predicted)
        .unwrap();
    let permuted = x_gradient()
        .attribute(&model, x_permuted, Target::Predicted)
        .unwrap();
    let a = host(&original.values);
    let b = host(&permuted.values);
    for (k, &s) in permutation.iter().enumerate() {
        assert_eq!(permuted.report.targets[k], original.report.targets[s]);
        let diff = max_abs_diff(&b[k * 36..(k + 1) * 36], &a[s * 36..(s + 1) * 36]);
        assert!(diff <= 1e-6, "row {k} (sample {s}) differs by {diff}");
    }
}

fn max_rows_blocks_agree_with_one_pass(device: &Device) {
    let cnn = Cnn::new(device);
    let model = |x: Tensor<4>| cnn.forward(x);
    let x = cnn_input(device, 4, 34);
    let whole = saliency().attribute(&model, x.clone(), 1).unwrap();
    let blocked = SaliencyConfig::new()
        .with_max_rows(Some(3))
        .init()
        .unwrap()
        .attribute(&model, x, 1)
        .unwrap();
    assert_eq!(whole.report.passes, 1);
    assert_eq!(blocked.report.passes, 2, "⌈4 / 3⌉ backward calls");
    assert_eq!(blocked.report.rows_per_pass, 3);
    assert_eq!(blocked.report.model_evaluations, 4);
    let diff = max_abs_diff(&host(&whole.values), &host(&blocked.values));
    assert!(diff <= 1e-6, "blocked differs by {diff}");
}

fn saliency_abs_is_the_absolute_gradient(device: &Device) {
    let (layer, w) = linear(device);
    let model = |x: Tensor<2>| layer.forward(x);
    let x = tensor(values(5, 4), [1, 4], device);
    let abs = SaliencyConfig::new().with_abs(true).init().unwrap();
    let map = abs.attribute(&model, x, 1).unwrap();
    let expected: Vec<f64> = (0..4).map(|i| (w[i * 3 + 1] as f32 as f64).abs()).collect();
    assert_eq!(host(&map.values), expected);
    assert_eq!(map.report.method, "saliency-abs");
}

fn bad_inputs_are_typed_errors(device: &Device) {
    let (layer, _) = linear(device);
    let model = |x: Tensor<2>| layer.forward(x);
    let x = tensor(values(6, 2 * 4), [2, 4], device);
    let s = saliency();

    // Target out of range: the model has 3 outputs.
    assert_eq!(
        s.attribute(&model, x.clone(), 3).unwrap_err(),
        Error::TargetOutOfRange {
            target: 3,
            sample: 0,
            outputs: 3
        }
    );
    assert_eq!(
        s.attribute(&model, x.clone(), vec![0, 7]).unwrap_err(),
        Error::TargetOutOfRange {
            target: 7,
            sample: 1,
            outputs: 3
        }
    );
    // PerSample length differs from the batch.
    assert_eq!(
        s.attribute(&model, x.clone(), vec![0, 1, 2]).unwrap_err(),
        Error::TargetCountMismatch {
            targets: 3,
            batch: 2
        }
    );
    // Empty batch.
    let empty = Tensor::<2>::zeros([0, 4], device);
    assert_eq!(
        s.attribute(&model, empty, 0).unwrap_err(),
        Error::EmptyBatch { shape: vec![0, 4] }
    );
    // Non-finite input.
    let nan_input = tensor(vec![0.0, f64::NAN, 1.0, 2.0], [1, 4], device);
    assert_eq!(
        s.attribute(&model, nan_input, 0).unwrap_err(),
        Error::NonFiniteInput {
            count: 1,
            sample: 0
        }
    );
    // Output with a different batch size than the input.
    let drops_a_row = |x: Tensor<2>| layer.forward(x).narrow(0, 0, 1);
    assert_eq!(
        s.attribute(&drops_a_row, x.clone(), 0).unwrap_err(),
        Error::ModelOutputShape {
            output: vec![1, 3],
            rows: 2
        }
    );
    // Output that is not [rows, outputs]: a model that flattens its batch into one row.
    let flattens = |x: Tensor<2>| layer.forward(x).reshape([1, 6]);
    assert!(matches!(
        s.attribute(&flattens, x.clone(), 0).unwrap_err(),
        Error::ModelOutputShape { rows: 2, .. }
    ));
    // Non-finite output: log of a negative score.
    let nan_output = |x: Tensor<2>| layer.forward(x).sub_scalar(100.0).log();
    assert!(matches!(
        s.attribute(&nan_output, x.clone(), 0).unwrap_err(),
        Error::NonFiniteOutput { sample: 0, .. }
    ));
    // Non-finite gradient with a finite output: F(x) = Σ 1e30·(1e30·x) is 0 at x = 0, but its
    // gradient 1e60 overflows f32. (`sqrt` at 0 is no test: Burn's wgpu backward returns 0
    // there, while flex and ndarray return +inf.)
    let overflow = |x: Tensor<2>| x.mul_scalar(1e30).mul_scalar(1e30).sum_dim(1);
    let zeros = Tensor::<2>::zeros([2, 4], device);
    assert_eq!(
        s.attribute(&overflow, zeros, 0).unwrap_err(),
        Error::NonFiniteGradient {
            count: 8,
            sample: 0
        }
    );
    // Zero rows per pass.
    assert!(matches!(
        SaliencyConfig::new().with_max_rows(Some(0)).init(),
        Err(Error::InvalidConfig {
            name: "max_rows",
            ..
        })
    ));
    // Every error explains itself.
    let message = s.attribute(&model, x, 5).unwrap_err().to_string();
    assert!(
        message.contains("out of range") && message.contains("0..3"),
        "{message}"
    );
}

/// The three backends compute the same CNN attributions to 1e-5 in f32.
fn backends_agree_on_the_cnn() {
    /// A backend, its saliency, its gradient × input, and its predicted classes.
    type Run = (Backend, Vec<f64>, Vec<f64>, Vec<usize>);
    let mut results: Vec<Run> = Vec::new();
    for backend in Backend::ALL {
        let Some(device) = common::device(backend, Precision::F32) else {
            continue;
        };
        let cnn = Cnn::new(&device);
        let model = |x: Tensor<4>| cnn.forward(x);
        let x = cnn_input(&device, 4, 35);
        let g = saliency()
            .attribute(&model, x.clone(), Target::Predicted)
            .unwrap();
        let p = x_gradient()
            .attribute(&model, x, Target::Predicted)
            .unwrap();
        results.push((backend, host(&g.values), host(&p.values), g.report.targets));
    }
    let (reference, g0, p0, t0) = &results[0];
    assert!(
        g0.iter().any(|v| v.abs() > 1e-2),
        "the CNN's gradients are not trivially zero"
    );
    for (backend, g, p, t) in &results[1..] {
        assert_eq!(t, t0, "{backend} and {reference} predict different classes");
        let dg = max_abs_diff(g, g0);
        let dp = max_abs_diff(p, p0);
        assert!(
            dg <= 1e-5,
            "saliency: {backend} vs {reference} differ by {dg}"
        );
        assert!(
            dp <= 1e-5,
            "x-gradient: {backend} vs {reference} differ by {dp}"
        );
        eprintln!("{backend} vs {reference}: saliency {dg:.2e}, x-gradient {dp:.2e}");
    }
    assert!(results.len() >= 2, "fewer than two backends ran");
}
