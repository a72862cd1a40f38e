//! SmoothGrad, SmoothGrad² and VarGrad on every backend, in f32: exact answers on a linear
//! model, the moments of a quadratic model's gradient against their closed form, seeding and
//! the noise scale, the wrapped Integrated Gradients against one-by-one calls, several targets,
//! and typed errors for bad configs.
//!
//! Each body runs as `flex::name`, `ndarray::name` and `wgpu::name`, on few fixed shapes.

mod common;

use common::{Mlp, host, max_abs_diff, tensor, values};
use ember::backend::Precision;
use ember::prelude::*;

backend_tests!(Precision::F32;
    linear_saliency_smooths_to_the_weight_and_vargrad_is_zero,
    quadratic_gradient_moments_match_the_closed_form,
    seeded_runs_repeat_and_the_noise_scale_is_as_documented,
    smoothgrad_over_ig_is_the_mean_of_ig_on_the_same_noisy_inputs,
    several_targets_equal_separate_calls,
    bad_configs_and_inputs_are_typed_errors,
);

fn saliency() -> Saliency {
    SaliencyConfig::new().init().unwrap()
}

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

fn linear_saliency_smooths_to_the_weight_and_vargrad_is_zero(device: &Device) {
    let (model, w) = linear(device);
    let x = tensor(values(8, 8), [2, 4], device);
    let targets = vec![2, 0];
    let expected: Vec<f64> = targets
        .iter()
        .flat_map(|&t| (0..4).map(move |i| (i, t)))
        .map(|(i, t)| w[i * 3 + t])
        .collect();
    for (noise, scale) in [(0.15, NoiseScale::Relative), (3.0, NoiseScale::Absolute)] {
        let smooth = SmoothGradConfig::new()
            .with_samples(8)
            .with_noise_level(noise)
            .with_noise_scale(scale)
            .init(saliency())
            .unwrap()
            .smooth(&model, x.clone(), targets.clone())
            .unwrap();
        // The gradient is `W[:, t]` at every noisy copy: the mean is the weight up to the f32
        // rounding of a mean of 8 equal numbers, and the variance is 0 up to the same.
        let mean = host(&smooth.attributions.values);
        assert!(max_abs_diff(&mean, &expected) < 1e-6, "{scale:?}: {mean:?}");
        let variance = host(&smooth.variance);
        assert!(variance.iter().all(|v| v.abs() < 1e-10), "{variance:?}");
        let squares: Vec<f64> = expected.iter().map(|v| v * v).collect();
        assert!(max_abs_diff(&host(&smooth.mean_of_squares), &squares) < 1e-6);
        assert_eq!(smooth.attributions.report.method, "smoothgrad");
        assert_eq!(smooth.attributions.report.targets, targets);
    }
    let vargrad = SmoothGradConfig::new()
        .with_samples(8)
        .with_kind(SmoothKind::Variance)
        .init(saliency())
        .unwrap()
        .attribute(&model, x, targets)
        .unwrap();
    assert!(host(&vargrad.values).iter().all(|v| v.abs() < 1e-10));
    assert_eq!(vargrad.report.method, "vargrad");
}

fn quadratic_gradient_moments_match_the_closed_form(device: &Device) {
    // F(x) = Σ x_i², ∇F = 2x. Under x + ε, ε ~ N(0, σ²): E[∇] = 2x, Var[∇] = 4σ².
    let model = |x: Tensor<2>| (x.clone() * x).sum_dim(1);
    let x_values = vec![1.0, -0.5, 0.25, 2.0];
    let x = tensor(x_values.clone(), [1, 4], device);
    let (sigma, samples) = (0.5f64, 4000usize);
    let smooth = SmoothGradConfig::new()
        .with_samples(samples)
        .with_noise_level(sigma)
        .with_noise_scale(NoiseScale::Absolute)
        .with_max_rows(Some(1000))
        .init(saliency())
        .unwrap()
        .smooth(&model, x, 0)
        .unwrap();
    let n = samples as f64;
    let var_g = 4.0 * sigma * sigma;
    // Standard errors: of the mean, sqrt(Var/n); of the (population) variance of n normal
    // draws, Var · sqrt(2/(n−1)), whose expectation is Var · (n−1)/n. Five standard errors.
    let mean_bound = 5.0 * (var_g / n).sqrt();
    let var_bound = 5.0 * var_g * (2.0 / (n - 1.0)).sqrt() + var_g / n;
    let mean = host(&smooth.mean);
    let variance = host(&smooth.variance);
    let squares = host(&smooth.mean_of_squares);
    for i in 0..4 {
        let g = 2.0 * x_values[i];
        assert!((mean[i] - g).abs() < mean_bound, "mean[{i}] = {}", mean[i]);
        assert!(
            (variance[i] - var_g).abs() < var_bound,
            "variance[{i}] = {}",
            variance[i]
        );
        // E[∇²] = (2x)² + 4σ²; its estimate is the two above combined.
        let sq_bound = var_bound + 2.0 * g.abs() * mean_bound + mean_bound * mean_bound;
        assert!(
            (squares[i] - (g * g + var_g)).abs() < sq_bound,
            "squares[{i}] = {}",
            squares[i]
        );
    }
    // 4000 copies in calls of 1000: one pass each on every backend's rows per pass ≥ 1000,
    // else ⌈1000 / rows per pass⌉ per call.
    let report = &smooth.attributions.report;
    assert_eq!(report.model_evaluations, samples + 1);
    assert_eq!(report.noise.as_ref().unwrap().sigma, vec![sigma]);
}

fn seeded_runs_repeat_and_the_noise_scale_is_as_documented(device: &Device) {
    let model = Mlp::new(device);
    let model = |x: Tensor<2>| model.forward(x);
    // Sample 0 spans [-1, 1] (range 2), sample 1 spans [0, 0.5] (range 0.5).
    let x = tensor(
        vec![
            -1.0, 1.0, 0.0, 0.5, 0.25, -0.5, 0.0, 0.5, 0.1, 0.2, 0.3, 0.4,
        ],
        [2, 6],
        device,
    );
    let config = SmoothGradConfig::new().with_samples(6).with_seed(7);
    let run = |config: &SmoothGradConfig| {
        let out = config
            .init(saliency())
            .unwrap()
            .attribute(&model, x.clone(), Target::Predicted)
            .unwrap();
        (host(&out.values), out.report)
    };
    let (a, report) = run(&config);
    let (b, _) = run(&config);
    assert_eq!(a, b, "the same seed on the same device repeats bit for bit");
    let (c, _) = run(&config.clone().with_seed(8));
    assert_ne!(a, c, "another seed draws other noise");

    let sigma = report.noise.as_ref().unwrap().sigma.clone();
    assert!(
        max_abs_diff(&sigma, &[0.15 * 2.0, 0.15 * 0.5]) < 1e-6,
        "{sigma:?}"
    );
    let absolute = config.clone().with_noise_scale(NoiseScale::Absolute);
    let (_, report) = run(&absolute);
    assert_eq!(report.noise.unwrap().sigma, vec![0.15, 0.15]);

    // The drawn noise has the reported σ: 2000 copies × 6 elements per sample.
    let copies = 2000;
    let smooth = config.with_samples(copies).init(saliency()).unwrap();
    let noisy = host(&smooth.noisy_inputs(&x).unwrap());
    let clean = host(&x);
    for (sample, expected) in sigma.iter().enumerate() {
        let deviations: Vec<f64> = (0..copies)
            .flat_map(|s| (0..6).map(move |j| (s, j)))
            .map(|(s, j)| noisy[(s * 2 + sample) * 6 + j] - clean[sample * 6 + j])
            .collect();
        let m = deviations.len() as f64;
        let std = (deviations.iter().map(|d| d * d).sum::<f64>() / m).sqrt();
        // The standard error of a normal sample's standard deviation is σ / sqrt(2m).
        assert!(
            (std - expected).abs() < 5.0 * expected / (2.0 * m).sqrt(),
            "sample {sample}: std {std}, σ {expected}"
        );
    }
}

fn smoothgrad_over_ig_is_the_mean_of_ig_on_the_same_noisy_inputs(device: &Device) {
    let model = Mlp::new(device);
    let model = |x: Tensor<2>| model.forward(x);
    let x = tensor(values(5, 12), [2, 6], device);
    let ig = || {
        IntegratedGradientsConfig::new()
            .with_steps(8)
            .init()
            .unwrap()
    };
    let samples = 4;
    let smooth = SmoothGradConfig::new()
        .with_samples(samples)
        .with_noise_level(0.2)
        .init(ig())
        .unwrap();
    let out = smooth.smooth(&model, x.clone(), Target::Predicted).unwrap();
    let targets = out.attributions.report.targets.clone();
    // All 4 × 2 noisy samples × 8 steps = 64 rows in one pass of the kernel, not one per copy.
    assert_eq!(out.attributions.report.passes, 1);
    assert_eq!(
        out.attributions.report.noise.as_ref().unwrap().inner,
        "integrated-gradients"
    );

    let noisy = smooth.noisy_inputs(&x).unwrap();
    let mut one_by_one = Vec::new();
    for s in 0..samples {
        let copy = noisy.clone().narrow(0, 2 * s, 2);
        let values = host(
            &ig()
                .attribute(&model, copy, targets.clone())
                .unwrap()
                .values,
        );
        one_by_one.push(values);
    }
    let mean: Vec<f64> = (0..12)
        .map(|i| one_by_one.iter().map(|v| v[i]).sum::<f64>() / samples as f64)
        .collect();
    let variance: Vec<f64> = (0..12)
        .map(|i| {
            one_by_one
                .iter()
                .map(|v| (v[i] - mean[i]).powi(2))
                .sum::<f64>()
                / samples as f64
        })
        .collect();
    let got = host(&out.mean);
    assert!(max_abs_diff(&got, &mean) < 1e-5, "{got:?} vs {mean:?}");
    assert!(max_abs_diff(&host(&out.variance), &variance) < 1e-5);
}

fn several_targets_equal_separate_calls(device: &Device) {
    let model = Mlp::new(device);
    let model = |x: Tensor<2>| model.forward(x);
    let x = tensor(values(6, 12), [2, 6], device);
    let smooth = SmoothGradConfig::new()
        .with_samples(5)
        .with_kind(SmoothKind::MeanOfSquares)
        .init(InputXGradientConfig::new().init().unwrap())
        .unwrap();
    let both = smooth
        .attribute(&model, x.clone(), Target::Classes(vec![2, 0]))
        .unwrap();
    assert_eq!(both.values.dims(), [4, 6]);
    assert_eq!(both.report.targets_per_sample, 2);
    for (t, class) in [2, 0].into_iter().enumerate() {
        let alone = smooth.attribute(&model, x.clone(), class).unwrap();
        let together = host(&both.for_target(t).unwrap());
        assert!(
            max_abs_diff(&together, &host(&alone.values)) < 1e-5,
            "class {class}"
        );
    }
}

fn bad_configs_and_inputs_are_typed_errors(device: &Device) {
    let invalid = |config: SmoothGradConfig, name: &str| match config.init(saliency()) {
        Err(Error::InvalidConfig { name: got, .. }) => assert_eq!(got, name),
        other => panic!("expected InvalidConfig for {name}, got {other:?}"),
    };
    invalid(SmoothGradConfig::new().with_samples(0), "samples");
    invalid(
        SmoothGradConfig::new().with_noise_level(-0.1),
        "noise_level",
    );
    invalid(
        SmoothGradConfig::new().with_noise_level(f64::NAN),
        "noise_level",
    );
    invalid(
        SmoothGradConfig::new().with_noise_level(f64::INFINITY),
        "noise_level",
    );
    invalid(SmoothGradConfig::new().with_max_rows(Some(0)), "max_rows");

    let (model, _) = linear(device);
    let smooth = SmoothGradConfig::new()
        .with_samples(2)
        .init(saliency())
        .unwrap();
    let nan = tensor(vec![0.0, f64::NAN, 1.0, 2.0], [1, 4], device);
    assert!(matches!(
        smooth.attribute(&model, nan, 0),
        Err(Error::NonFiniteInput { sample: 0, .. })
    ));
    let x = tensor(values(8, 8), [2, 4], device);
    assert!(matches!(
        smooth.attribute(&model, x.clone(), 3),
        Err(Error::TargetOutOfRange { target: 3, .. })
    ));
    assert!(matches!(
        smooth.attribute(&model, x, vec![0]),
        Err(Error::TargetCountMismatch { .. })
    ));
}
