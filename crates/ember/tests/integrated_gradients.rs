//! Integrated Gradients on every backend, in f32: exact answers where the truth is known by
//! hand, completeness (the delta) on an MLP and a CNN, blocking, the adaptive mode, several
//! targets in one pass, and typed errors for bad configs.
//!
//! Each body runs as `flex::name`, `ndarray::name` and `wgpu::name`. The shapes are few and
//! fixed, because every new shape costs a kernel compile on wgpu.

mod common;

use common::{Cnn, Mlp, host, max_abs_diff, tensor, values};
use ember::backend::Precision;
use ember::prelude::*;

backend_tests!(Precision::F32;
    textbook_relu_gives_one_two_and_zero_delta,
    linear_model_is_exact_for_every_rule,
    without_multiply_by_inputs_it_is_the_path_mean_gradient,
    mlp_and_cnn_deltas_are_small_and_shrink_with_steps,
    blocked_equals_unblocked_with_ceil_rows_over_max_passes,
    adaptive_reaches_the_tolerance_with_fewer_evaluations_than_a_fixed_rule,
    adaptive_reports_how_far_the_attributions_moved_in_the_last_doubling,
    several_targets_in_one_pass_equal_separate_calls,
    baselines_broadcast_and_seeded_noise_repeats,
    bad_configs_are_typed_errors,
);

fn ig(steps: usize, quadrature: Quadrature) -> IntegratedGradients {
    IntegratedGradientsConfig::new()
        .with_steps(steps)
        .with_quadrature(quadrature)
        .init()
        .unwrap()
}

const RULES: [Quadrature; 5] = [
    Quadrature::RiemannLeft,
    Quadrature::RiemannRight,
    Quadrature::RiemannMiddle,
    Quadrature::RiemannTrapezoid,
    Quadrature::GaussLegendre,
];

/// A linear model `x·W + b`, 4 features → 3 classes, and `W` row-major `[4, 3]`.
fn linear(device: &Device) -> (impl Fn(Tensor<2>) -> Tensor<2> + use<>, Vec<f64>) {
    let w = values(3, 12);
    let wt = tensor(w.clone(), [4, 3], device);
    let b = tensor(vec![0.5, -0.25, 1.0], [3], device);
    (
        move |x: Tensor<2>| x.matmul(wt.clone()) + b.clone().unsqueeze(),
        w,
    )
}

fn sum_abs(v: &[f64]) -> f64 {
    v.iter().map(|d| d.abs()).sum()
}

fn textbook_relu_gives_one_two_and_zero_delta(device: &Device) {
    let w = tensor(vec![1.0, 2.0], [2, 1], device);
    let model = move |x: Tensor<2>| x.matmul(w.clone()).clamp_min(0.0);
    let x = tensor(vec![1.0, 1.0], [1, 2], device);
    for rule in RULES {
        let out = ig(50, rule).attribute(&model, x.clone(), 0).unwrap();
        let values = host(&out.values);
        assert!(
            max_abs_diff(&values, &[1.0, 2.0]) < 1e-5,
            "{rule:?}: {values:?}"
        );
        let delta = out.report.delta().unwrap();
        assert!(delta[0].abs() < 1e-5, "{rule:?}: delta {delta:?}");
        assert_eq!(out.report.scores, vec![3.0]);
        assert_eq!(out.report.baseline_scores(), Some(&[0.0][..]));
    }
}

fn linear_model_is_exact_for_every_rule(device: &Device) {
    let (model, w) = linear(device);
    let x_values = values(8, 2 * 4);
    let x = tensor(x_values.clone(), [2, 4], device);
    let baseline = Baseline::Constant(0.25);
    let targets = [2, 1];
    let expected: Vec<f64> = (0..2)
        .flat_map(|s| (0..4).map(move |i| (s, i)))
        .map(|(s, i)| w[i * 3 + targets[s]] * (x_values[s * 4 + i] - 0.25))
        .collect();
    for rule in RULES {
        let method = IntegratedGradientsConfig::new()
            .with_steps(7)
            .with_quadrature(rule)
            .with_baseline(baseline.clone())
            .init()
            .unwrap();
        let out = method.attribute(&model, x.clone(), vec![2, 1]).unwrap();
        let diff = max_abs_diff(&host(&out.values), &expected);
        assert!(diff < 1e-5, "{rule:?} differs by {diff}");
        assert!(sum_abs(out.report.delta().unwrap()) < 1e-5, "{rule:?}");
        assert_eq!(out.report.steps(), Some(&[7, 7][..]));
    }
}

fn without_multiply_by_inputs_it_is_the_path_mean_gradient(device: &Device) {
    let (model, w) = linear(device);
    let x = tensor(values(9, 4), [1, 4], device);
    let method = IntegratedGradientsConfig::new()
        .with_multiply_by_inputs(false)
        .init()
        .unwrap();
    let out = method.attribute(&model, x, 1).unwrap();
    let column: Vec<f64> = (0..4).map(|i| w[i * 3 + 1]).collect();
    assert!(max_abs_diff(&host(&out.values), &column) < 1e-5);
    // The delta still measures completeness of the attributions (× (x − x′)).
    assert!(out.report.delta().unwrap()[0].abs() < 1e-5);
}

fn mlp_and_cnn_deltas_are_small_and_shrink_with_steps(device: &Device) {
    let mlp = Mlp::new(device);
    let mlp_model = |x: Tensor<2>| mlp.forward(x);
    let x = tensor(values(10, 4 * Mlp::INPUTS), [4, Mlp::INPUTS], device);
    let cnn = Cnn::new(device);
    let cnn_model = |x: Tensor<4>| cnn.forward(x);
    let images = tensor(values(11, 4 * 36), [4, 1, 6, 6], device);

    let mlp_run = |steps| ig(steps, Quadrature::GaussLegendre).attribute(&mlp_model, x.clone(), 0);
    let cnn_run =
        |steps| ig(steps, Quadrature::GaussLegendre).attribute(&cnn_model, images.clone(), 2);
    check_deltas("mlp", mlp_run(2).unwrap(), mlp_run(50).unwrap());
    check_deltas("cnn", cnn_run(2).unwrap(), cnn_run(50).unwrap());
}

/// The report's deltas are Σ values − ΔF, small at 50 steps, and smaller than at 2 steps.
fn check_deltas<const D: usize>(name: &str, coarse: Attributions<D>, fine: Attributions<D>) {
    let report = &fine.report;
    let differences: Vec<f64> = report
        .scores
        .iter()
        .zip(report.baseline_scores().unwrap())
        .map(|(fx, fb)| fx - fb)
        .collect();
    let delta = report.delta().unwrap();
    let values = host(&fine.values);
    let per_sample = values.len() / delta.len();
    for (s, d) in delta.iter().enumerate() {
        let sum: f64 = values[s * per_sample..(s + 1) * per_sample].iter().sum();
        assert!((sum - differences[s] - d).abs() < 1e-4, "{name} delta {s}");
        assert!(
            d.abs() <= 0.02 * differences[s].abs() + 1e-4,
            "{name}: |delta| {d} vs ΔF {}",
            differences[s]
        );
    }
    let (coarse, fine) = (sum_abs(coarse.report.delta().unwrap()), sum_abs(delta));
    assert!(
        fine < coarse,
        "{name}: Σ|delta| {fine} at 50 vs {coarse} at 2"
    );
}

fn blocked_equals_unblocked_with_ceil_rows_over_max_passes(device: &Device) {
    let cnn = Cnn::new(device);
    let model = |x: Tensor<4>| cnn.forward(x);
    let images = tensor(values(12, 3 * 36), [3, 1, 6, 6], device);
    let whole = IntegratedGradientsConfig::new()
        .with_steps(10)
        .with_max_rows(Some(30))
        .init()
        .unwrap()
        .attribute(&model, images.clone(), 1)
        .unwrap();
    let blocked = IntegratedGradientsConfig::new()
        .with_steps(10)
        .with_max_rows(Some(7))
        .init()
        .unwrap()
        .attribute(&model, images, 1)
        .unwrap();
    assert_eq!(whole.report.passes, 1);
    assert_eq!(blocked.report.passes, 5, "⌈30 / 7⌉ backward calls");
    assert_eq!(blocked.report.rows_per_pass, 7);
    // 30 path rows + F(x) and F(x′) for 3 samples.
    assert_eq!(blocked.report.model_evaluations, 36);
    let diff = max_abs_diff(&host(&whole.values), &host(&blocked.values));
    assert!(diff <= 1e-5, "blocked differs by {diff}");
}

fn adaptive_reaches_the_tolerance_with_fewer_evaluations_than_a_fixed_rule(device: &Device) {
    let mlp = Mlp::new(device);
    let model = |x: Tensor<2>| mlp.forward(x);
    let x = tensor(values(13, 8 * Mlp::INPUTS), [8, Mlp::INPUTS], device);
    let tolerance = 1e-3;
    // 64 rows per pass on both sides keeps the block shapes few (each is a compile on wgpu).
    let adaptive = IntegratedGradientsConfig::new()
        .with_tolerance(Some(tolerance))
        .with_max_steps(4097)
        .with_max_rows(Some(64))
        .init()
        .unwrap()
        .attribute(&model, x.clone(), 0)
        .unwrap();
    let report = &adaptive.report;
    let converged = report.converged().unwrap();
    assert!(converged.iter().all(|&c| c), "{converged:?}");
    let within = |report: &Report| {
        let delta = report.delta().unwrap();
        let base = report.baseline_scores().unwrap();
        (0..delta.len())
            .all(|s| delta[s].abs() <= (tolerance * (report.scores[s] - base[s]).abs()).max(1e-6))
    };
    assert!(within(report), "{:?}", report.delta());
    let steps = report.steps().unwrap();
    assert!(
        steps.iter().any(|&s| s != steps[0]),
        "samples that converge early stop early: {steps:?}"
    );
    // The cheapest fixed trapezoid (same nested points) that meets the same tolerance for
    // every sample.
    let fixed = (2..=12)
        .map(|level| {
            IntegratedGradientsConfig::new()
                .with_steps((1 << level) + 1)
                .with_quadrature(Quadrature::RiemannTrapezoid)
                .with_max_rows(Some(64))
                .init()
                .unwrap()
                .attribute(&model, x.clone(), 0)
                .unwrap()
        })
        .find(|out| within(&out.report))
        .expect("a fixed rule reaches the tolerance");
    assert!(
        report.model_evaluations < fixed.report.model_evaluations,
        "adaptive {} vs fixed {}",
        report.model_evaluations,
        fixed.report.model_evaluations
    );
}

fn adaptive_reports_how_far_the_attributions_moved_in_the_last_doubling(device: &Device) {
    let mlp = Mlp::new(device);
    let model = |x: Tensor<2>| mlp.forward(x);
    let x = tensor(values(13, 8 * Mlp::INPUTS), [8, Mlp::INPUTS], device);
    // A tolerance no sample meets: every sample runs 5, 9 and 17 points.
    let adaptive = |multiply_by_inputs: bool| {
        IntegratedGradientsConfig::new()
            .with_tolerance(Some(1e-12))
            .with_abs_tolerance(0.0)
            .with_max_steps(17)
            .with_multiply_by_inputs(multiply_by_inputs)
            .with_max_rows(Some(64))
            .init()
            .unwrap()
            .attribute(&model, x.clone(), 0)
            .unwrap()
    };
    let trapezoid = |steps: usize, multiply_by_inputs: bool| {
        IntegratedGradientsConfig::new()
            .with_steps(steps)
            .with_quadrature(Quadrature::RiemannTrapezoid)
            .with_multiply_by_inputs(multiply_by_inputs)
            .with_max_rows(Some(64))
            .init()
            .unwrap()
            .attribute(&model, x.clone(), 0)
            .unwrap()
    };
    for multiply_by_inputs in [true, false] {
        let out = adaptive(multiply_by_inputs);
        assert_eq!(out.report.steps(), Some(&[17; 8][..]));
        let change = out.report.attribution_change().unwrap();
        // The same nested points as fixed trapezoid rules on 17 and 9 points.
        let (fine, coarse) = (
            host(&trapezoid(17, multiply_by_inputs).values),
            host(&trapezoid(9, multiply_by_inputs).values),
        );
        assert!(max_abs_diff(&host(&out.values), &fine) < 1e-5);
        assert_eq!(change.len(), 8);
        for (s, got) in change.iter().enumerate() {
            let row = s * Mlp::INPUTS..(s + 1) * Mlp::INPUTS;
            let norm = |v: &[f64]| v.iter().map(|a| a * a).sum::<f64>().sqrt();
            let moved: Vec<f64> = row.clone().map(|i| fine[i] - coarse[i]).collect();
            let expected = norm(&moved) / norm(&fine[row]);
            let got = got.expect("the attributions are not all zero");
            assert!(
                (got - expected).abs() <= 1e-3 * expected + 1e-6,
                "sample {s}: reported {got}, expected {expected}"
            );
            assert!(
                expected > 1e-4,
                "the test needs a change to measure: {expected}"
            );
        }
    }
    // A fixed rule has no last doubling.
    assert!(trapezoid(9, true).report.attribution_change().is_none());
}

fn several_targets_in_one_pass_equal_separate_calls(device: &Device) {
    let mlp = Mlp::new(device);
    let model = |x: Tensor<2>| mlp.forward(x);
    let x = tensor(values(14, 3 * Mlp::INPUTS), [3, Mlp::INPUTS], device);
    let method = IntegratedGradientsConfig::new()
        .with_steps(20)
        .with_max_rows(Some(256))
        .init()
        .unwrap();
    let all = method
        .attribute(&model, x.clone(), Target::Classes(vec![2, 0, 1]))
        .unwrap();
    assert_eq!(all.values.dims(), [9, Mlp::INPUTS]);
    assert_eq!(all.report.targets_per_sample, 3);
    assert_eq!(all.report.targets, vec![2, 2, 2, 0, 0, 0, 1, 1, 1]);
    assert_eq!(
        all.report.passes, 1,
        "3 targets × 3 samples × 20 steps in one pass"
    );
    assert_eq!(all.report.model_evaluations, 180 + 2 * 3);
    for (t, class) in [2, 0, 1].into_iter().enumerate() {
        let one = method.attribute(&model, x.clone(), class).unwrap();
        let diff = max_abs_diff(&host(&all.for_target(t).unwrap()), &host(&one.values));
        assert!(diff < 1e-5, "class {class} differs by {diff}");
        let delta = all.report.delta().unwrap();
        assert!(max_abs_diff(&delta[t * 3..t * 3 + 3], one.report.delta().unwrap()) < 1e-5);
    }
    // Saliency takes several targets the same way.
    let saliency = SaliencyConfig::new()
        .init()
        .unwrap()
        .attribute(&model, x.clone(), Target::Classes(vec![1, 2]))
        .unwrap();
    let one = SaliencyConfig::new()
        .init()
        .unwrap()
        .attribute(&model, x, 2)
        .unwrap();
    assert!(max_abs_diff(&host(&saliency.for_target(1).unwrap()), &host(&one.values)) < 1e-6);
}

fn baselines_broadcast_and_seeded_noise_repeats(device: &Device) {
    let (model, w) = linear(device);
    let x_values = values(15, 2 * 4);
    let x = tensor(x_values.clone(), [2, 4], device);
    let one = vec![0.1, -0.2, 0.3, -0.4];
    let broadcast = IntegratedGradientsConfig::new()
        .with_baseline(Baseline::Values {
            shape: vec![1, 4],
            values: one.clone(),
        })
        .init()
        .unwrap()
        .attribute(&model, x.clone(), 0)
        .unwrap();
    let expected: Vec<f64> = (0..8)
        .map(|k| w[(k % 4) * 3] * (x_values[k] - one[k % 4]))
        .collect();
    assert!(max_abs_diff(&host(&broadcast.values), &expected) < 1e-5);

    let noise = IntegratedGradientsConfig::new().with_baseline(Baseline::Uniform {
        low: -1.0,
        high: 1.0,
        seed: 3,
    });
    let a = noise
        .init()
        .unwrap()
        .attribute(&model, x.clone(), 0)
        .unwrap();
    let b = noise.init().unwrap().attribute(&model, x, 0).unwrap();
    assert_eq!(host(&a.values), host(&b.values));
    assert!(sum_abs(a.report.delta().unwrap()) < 1e-5);
}

fn bad_configs_are_typed_errors(device: &Device) {
    let invalid = |result: Result<IntegratedGradients, Error>, name: &str| match result {
        Err(Error::InvalidConfig { name: got, .. }) => assert_eq!(got, name),
        other => panic!("expected InvalidConfig({name}), got {other:?}"),
    };
    invalid(
        IntegratedGradientsConfig::new().with_steps(0).init(),
        "steps",
    );
    invalid(
        IntegratedGradientsConfig::new()
            .with_tolerance(Some(0.0))
            .init(),
        "tolerance",
    );
    invalid(
        IntegratedGradientsConfig::new()
            .with_tolerance(Some(-1.0))
            .init(),
        "tolerance",
    );
    invalid(
        IntegratedGradientsConfig::new()
            .with_baseline(Baseline::Constant(f64::NAN))
            .init(),
        "baseline",
    );
    invalid(
        IntegratedGradientsConfig::new()
            .with_max_rows(Some(0))
            .init(),
        "max_rows",
    );

    let (model, _) = linear(device);
    let x = tensor(values(16, 8), [2, 4], device);
    let mismatched = IntegratedGradientsConfig::new()
        .with_baseline(Baseline::Values {
            shape: vec![2, 3],
            values: vec![0.0; 6],
        })
        .init()
        .unwrap();
    assert!(matches!(
        mismatched.attribute(&model, x.clone(), 0),
        Err(Error::InvalidConfig {
            name: "baseline",
            ..
        })
    ));
    let method = ig(5, Quadrature::GaussLegendre);
    assert!(matches!(
        method.attribute(&model, x.clone(), 3),
        Err(Error::TargetOutOfRange {
            target: 3,
            outputs: 3,
            ..
        })
    ));
    assert!(matches!(
        method.attribute(&model, x, vec![0]),
        Err(Error::TargetCountMismatch { .. })
    ));
}
