//! The path methods beyond Integrated Gradients on every backend, in f32, on the zoo's digits
//! CNN: GradientSHAP against Captum 0.9.0 with its recorded draws replayed, Integrated Gradients
//! over a set of baselines against the mean of Captum's, Blur IG against PAIR `saliency` 0.2.1
//! (fixtures written by `fixtures/make_path_fixtures.py` in f64); Expected Gradients converging
//! to the mean of the baselines' IGs as 1/√draws; batched equal to one sample at a time; noise
//! tunnels over them; typed errors. `path_methods_f64.rs` holds the f64 comparisons.

mod common;

use common::{fixture, input, read};
use ember::backend::{Backend, Precision};
use ember::prelude::*;
use ember::{MethodSettings, MethodSpec, PathDraws};
use safetensors::SafeTensors;

backend_tests!(Precision::F32;
    gradient_shap_replays_captum,
    integrated_gradients_over_baselines_is_the_mean_of_captums,
    blur_ig_matches_pair,
    expected_gradients_converges_to_the_mean_of_the_baselines_integrals,
    batched_equals_one_sample_at_a_time,
    memory_is_flat_in_the_draws,
    noise_tunnels_wrap_the_path_methods,
    bad_settings_are_typed_errors;
    plain: seeded_draws_and_noise_are_the_same_on_every_backend,
);

fn file() -> Vec<u8> {
    fixture("path.safetensors")
}

fn baselines(file: &SafeTensors<'_>) -> BaselineSet {
    let (values, shape) = read(file, "gradient_shap.baselines");
    BaselineSet::new(shape, values).unwrap()
}

fn gradient_shap_replays_captum(device: &Device) {
    let bytes = file();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let model = common::zoo_cnn(device);
    let x: Tensor<4> = input(&file, "inputs", device);
    let draws = PathDraws {
        baseline: read(&file, "gradient_shap.index")
            .0
            .iter()
            .map(|&k| k as usize)
            .collect(),
        alpha: read(&file, "gradient_shap.alpha").0,
    };
    let method = GradientShapConfig::new()
        .with_baselines(Some(baselines(&file)))
        .with_samples(5)
        .with_draws(Some(draws))
        .init()
        .unwrap();
    let out = method
        .attribute(&model, x.clone(), common::classes(&file, "targets"))
        .unwrap();
    let want = read(&file, "gradient_shap.expected").0;
    common::assert_close(&common::host(&out.values), &want, 1e-5, "gradient-shap");
    assert_eq!(out.report.method, "gradient-shap");
    assert_eq!(out.report.steps(), Some(&[5, 5, 5][..]));
    // The baseline score is the mean over the 6 baselines of F(b_k), for each sample's target.
    let b: Tensor<4> = input(&file, "gradient_shap.baselines", device);
    let logits = common::host(&model.forward_rows(b, &RowSamples::new(vec![0; 6])));
    for (slot, &t) in common::classes(&file, "targets").iter().enumerate() {
        let mean = (0..6).map(|k| logits[k * 10 + t]).sum::<f64>() / 6.0;
        let got = out.report.baseline_scores().unwrap()[slot];
        assert!((got - mean).abs() < 1e-5, "{got} vs {mean}");
    }
}

fn integrated_gradients_over_baselines_is_the_mean_of_captums(device: &Device) {
    let bytes = file();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let model = common::zoo_cnn(device);
    let x: Tensor<4> = input(&file, "inputs", device);
    // Captum's `riemann_trapezoid` weighs the points k/(n−1) with 1/n (ends halved), which
    // sum to (n−1)/n; ember's trapezoid uses the spacing 1/(n−1) (ember_core::quadrature), so
    // Captum's values are ember's times 19/20.
    for (rule, name, captum) in [
        (Quadrature::GaussLegendre, "ig_baselines.gausslegendre", 1.0),
        (
            Quadrature::RiemannTrapezoid,
            "ig_baselines.trapezoid",
            19.0 / 20.0,
        ),
    ] {
        let ig = IntegratedGradientsConfig::new()
            .with_steps(20)
            .with_quadrature(rule)
            .with_baselines(Some(baselines(&file)))
            .with_max_rows(Some(50))
            .init()
            .unwrap();
        let out = ig
            .attribute(&model, x.clone(), common::classes(&file, "targets"))
            .unwrap();
        let values: Vec<f64> = common::host(&out.values)
            .iter()
            .map(|v| v * captum)
            .collect();
        common::assert_close(&values, &read(&file, name).0, 1e-5, name);
        // 20 points × 6 baselines × 3 samples, in passes of at most 50 rows; F(x) and the 6
        // F(b_k) (the CNN has no auxiliary inputs: one row per baseline).
        assert_eq!(out.report.model_evaluations, 360 + 3 + 6);
        assert_eq!(out.report.passes, 8);
        // Completeness against F(x) − mean_k F(b_k), to 1% (20 points' quadrature error).
        if rule != Quadrature::GaussLegendre {
            continue;
        }
        let delta = out.report.delta().unwrap();
        let mean_fb = out.report.baseline_scores().unwrap();
        for ((d, fx), fb) in delta.iter().zip(&out.report.scores).zip(mean_fb) {
            assert!(d.abs() < 0.01 * (fx - fb).abs(), "{name}: {delta:?}");
        }
    }
}

fn blur_ig_matches_pair(device: &Device) {
    let bytes = file();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let model = common::zoo_cnn(device);
    let x: Tensor<4> = input(&file, "inputs", device);
    for (max_sigma, steps, sqrt, name) in [
        (4.0, 20, false, "blur_ig.small"),
        (4.0, 20, true, "blur_ig.small_sqrt"),
        (50.0, 100, false, "blur_ig.default"),
    ] {
        let method = BlurIgConfig::new()
            .with_max_sigma(max_sigma)
            .with_steps(steps)
            .with_sqrt(sqrt)
            .init()
            .unwrap();
        let out = method
            .attribute(&model, x.clone(), common::classes(&file, "targets"))
            .unwrap();
        common::assert_close(&common::host(&out.values), &read(&file, name).0, 1e-4, name);
        if name == "blur_ig.small" {
            let want = read(&file, "blur_ig.small.end_scores").0;
            common::assert_close(
                out.report.baseline_scores().unwrap(),
                &want,
                1e-5,
                "F(L(x, 4))",
            );
        }
    }
}

/// The root mean square of `a − b`.
fn rms(a: &[f64], b: &[f64]) -> f64 {
    (a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f64>() / a.len() as f64).sqrt()
}

fn expected_gradients_converges_to_the_mean_of_the_baselines_integrals(device: &Device) {
    let bytes = file();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let model = common::zoo_cnn(device);
    let x: Tensor<4> = input(&file, "inputs", device);
    let set = baselines(&file);
    let (values, shape) = read(&file, "gradient_shap.baselines");
    let features = 64;
    let one = BaselineSet::new(
        vec![1, shape[1], shape[2], shape[3]],
        values[..features].to_vec(),
    )
    .unwrap();
    for (baselines, what) in [(one, "one baseline"), (set, "six baselines")] {
        // The truth: Integrated Gradients over the same baselines, 64 Gauss–Legendre points.
        let truth = IntegratedGradientsConfig::new()
            .with_steps(64)
            .with_baselines(Some(baselines.clone()))
            .init()
            .unwrap()
            .attribute(&model, x.clone(), common::classes(&file, "targets"))
            .unwrap();
        let truth = common::host(&truth.values);
        let error = |draws: usize| -> f64 {
            (0..4)
                .map(|seed| {
                    let eg = GradientShapConfig::new()
                        .with_baselines(Some(baselines.clone()))
                        .with_samples(draws)
                        .with_seed(seed)
                        .init()
                        .unwrap()
                        .attribute(&model, x.clone(), common::classes(&file, "targets"))
                        .unwrap();
                    rms(&common::host(&eg.values), &truth)
                })
                .sum::<f64>()
                / 4.0
        };
        let (few, many) = (error(32), error(512));
        // 16× the draws: the error shrinks 4× (as 1/√draws), within the spread of 4 seeds.
        let ratio = few / many;
        assert!(
            (2.5..6.5).contains(&ratio),
            "{what}: RMS error {few:e} at 32 draws, {many:e} at 512: ratio {ratio}"
        );
    }
}

/// A method built for the samples `range` of the batch (their replayed draws).
type Builder<'a> = Box<dyn Fn(std::ops::Range<usize>) -> ember::Base + 'a>;

fn batched_equals_one_sample_at_a_time(device: &Device) {
    let bytes = file();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let model = common::zoo_cnn(device);
    let x: Tensor<4> = input(&file, "inputs", device);
    let t = common::classes(&file, "targets");
    let index: Vec<usize> = read(&file, "gradient_shap.index")
        .0
        .iter()
        .map(|&k| k as usize)
        .collect();
    let alpha = read(&file, "gradient_shap.alpha").0;
    let replay = |range: std::ops::Range<usize>| PathDraws {
        baseline: index[range.start * 5..range.end * 5].to_vec(),
        alpha: alpha[range.start * 5..range.end * 5].to_vec(),
    };
    let methods: Vec<(&str, Builder<'_>)> = vec![
        (
            "gradient-shap",
            Box::new(|range| {
                ember::Base::GradientShap(
                    GradientShapConfig::new()
                        .with_baselines(Some(baselines(&file)))
                        .with_draws(Some(replay(range)))
                        .with_max_rows(Some(4))
                        .init()
                        .unwrap(),
                )
            }),
        ),
        (
            "blur-ig",
            Box::new(|_| {
                ember::Base::BlurIg(
                    BlurIgConfig::new()
                        .with_max_sigma(4.0)
                        .with_steps(10)
                        .with_max_rows(Some(7))
                        .init()
                        .unwrap(),
                )
            }),
        ),
        (
            "guided-ig",
            Box::new(|_| {
                ember::Base::GuidedIg(GuidedIgConfig::new().with_steps(10).init().unwrap())
            }),
        ),
        (
            "integrated-gradients",
            Box::new(|_| {
                ember::Base::IntegratedGradients(
                    IntegratedGradientsConfig::new()
                        .with_steps(8)
                        .with_baselines(Some(baselines(&file)))
                        .with_max_rows(Some(5))
                        .init()
                        .unwrap(),
                )
            }),
        ),
    ];
    for (name, build) in &methods {
        let batched = common::host(
            &build(0..3)
                .attribute(&model, x.clone(), t.clone())
                .unwrap()
                .values,
        );
        for i in 0..3 {
            let one = build(i..i + 1)
                .attribute(&model, x.clone().narrow(0, i, 1), t[i])
                .unwrap();
            let one = common::host(&one.values);
            let part = &batched[i * 64..(i + 1) * 64];
            // Guided IG's selections are discontinuous in the gradient: a rounding difference
            // between a batched and a single pass may move one feature; the others agree.
            let tolerance = if *name == "guided-ig" { 1e-3 } else { 1e-5 };
            common::assert_close(&one, part, tolerance, &format!("{name}, sample {i}"));
        }
    }
}

fn memory_is_flat_in_the_draws(device: &Device) {
    let bytes = file();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let model = common::zoo_cnn(device);
    let x: Tensor<4> = input(&file, "inputs", device);
    let out = GradientShapConfig::new()
        .with_baselines(Some(baselines(&file)))
        .with_samples(2000)
        .with_max_rows(Some(256))
        .init()
        .unwrap()
        .attribute(&model, x, common::classes(&file, "targets"))
        .unwrap();
    // 2000 draws × 3 samples stream through passes of at most 256 rows into 3 sums.
    assert_eq!(out.report.passes, 6000usize.div_ceil(256));
    assert_eq!(out.report.rows_per_pass, 256);
    assert_eq!(out.values.dims(), [3, 1, 8, 8]);
    // 2000 draws: the delta against F(x) − mean F(b) is small.
    let delta = out.report.delta().unwrap();
    let gap = out
        .report
        .scores
        .iter()
        .zip(out.report.baseline_scores().unwrap())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(
        delta.iter().all(|d| d.abs() < 0.05 * gap),
        "{delta:?} vs {gap}"
    );
}

fn noise_tunnels_wrap_the_path_methods(device: &Device) {
    let bytes = file();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let model = common::zoo_cnn(device);
    let x: Tensor<4> = input(&file, "inputs", device);
    let settings = MethodSettings::new()
        .with_baselines(Some(baselines(&file)))
        .with_samples(3)
        .with_path_steps(Some(5))
        .with_max_sigma(2.0);
    for name in [
        "smoothgrad:gradient-shap",
        "vargrad:blur-ig",
        "smoothgrad:guided-ig",
        "smoothgrad:expected-gradients",
    ] {
        let spec: MethodSpec = name.parse().unwrap();
        let s = settings.clone().with_draws(Some(4));
        let out = spec
            .build(&s)
            .unwrap()
            .attribute(&model, x.clone(), common::classes(&file, "targets"))
            .unwrap();
        let values = common::host(&out.values);
        assert_eq!(values.len(), 3 * 64, "{name}");
        assert!(values.iter().all(|v| v.is_finite()), "{name}");
        assert!(values.iter().any(|v| *v != 0.0), "{name}");
        if name.starts_with("vargrad") {
            assert!(values.iter().all(|v| *v >= 0.0), "{name}");
        }
    }
}

fn bad_settings_are_typed_errors(device: &Device) {
    let bytes = file();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let model = common::zoo_cnn(device);
    let x: Tensor<4> = input(&file, "inputs", device);
    let invalid = |r: Result<(), Error>, what: &str| match r {
        Err(Error::InvalidConfig { .. }) => {}
        other => panic!("{what}: {other:?}"),
    };
    invalid(GradientShapConfig::new().init().map(|_| ()), "no baselines");
    invalid(
        GradientShapConfig::new()
            .with_baselines(Some(baselines(&file)))
            .with_samples(0)
            .init()
            .map(|_| ()),
        "zero draws",
    );
    invalid(
        GradientShapConfig::new()
            .with_baselines(Some(baselines(&file)))
            .with_noise(f64::NAN)
            .init()
            .map(|_| ()),
        "NaN noise",
    );
    invalid(
        GradientShapConfig::new()
            .with_baselines(Some(baselines(&file)))
            .with_draws(Some(PathDraws {
                baseline: vec![6; 5],
                alpha: vec![0.5; 5],
            }))
            .init()
            .map(|_| ()),
        "a drawn index past the baselines",
    );
    // Baselines of another sample shape.
    let wrong = BaselineSet::new(vec![2, 64], vec![0.0; 128]).unwrap();
    invalid(
        GradientShapConfig::new()
            .with_baselines(Some(wrong))
            .init()
            .unwrap()
            .attribute(&model, x.clone(), 0)
            .map(|_| ()),
        "baselines of another shape",
    );
    invalid(
        IntegratedGradientsConfig::new()
            .with_baselines(Some(baselines(&file)))
            .with_tolerance(Some(0.01))
            .init()
            .map(|_| ()),
        "adaptive over a set",
    );
    invalid(
        IntegratedGradientsConfig::new()
            .with_baselines(Some(baselines(&file)))
            .with_baseline(Baseline::Constant(0.5))
            .init()
            .map(|_| ()),
        "a baseline and a set",
    );
    invalid(
        BlurIgConfig::new().with_max_sigma(-1.0).init().map(|_| ()),
        "negative σ_max",
    );
    invalid(
        BlurIgConfig::new().with_steps(0).init().map(|_| ()),
        "zero steps",
    );
    let table = Tensor::<2>::ones([2, 5], device);
    invalid(
        BlurIgConfig::new()
            .init()
            .unwrap()
            .attribute(&|x: Tensor<2>| x, table, 0)
            .map(|_| ()),
        "Blur IG on a table",
    );
    invalid(
        GuidedIgConfig::new().with_fraction(0.0).init().map(|_| ()),
        "fraction 0",
    );
    invalid(
        GuidedIgConfig::new().with_max_dist(1.5).init().map(|_| ()),
        "max_dist above 1",
    );
    // A target past the outputs is the kernel's typed error, for every path method.
    let err = GuidedIgConfig::new()
        .with_steps(2)
        .init()
        .unwrap()
        .attribute(&model, x, 10)
        .unwrap_err();
    assert!(matches!(err, Error::TargetOutOfRange { .. }), "{err}");
}

fn seeded_draws_and_noise_are_the_same_on_every_backend() {
    let bytes = file();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let mut results: Vec<(Backend, Vec<f64>)> = Vec::new();
    for backend in Backend::ALL {
        let Some(device) = common::device(backend, Precision::F32) else {
            continue;
        };
        let model = common::zoo_cnn(&device);
        let x: Tensor<4> = input(&file, "inputs", &device);
        let method = GradientShapConfig::new()
            .with_baselines(Some(baselines(&file)))
            .with_samples(7)
            .with_noise(0.1)
            .with_seed(5)
            .with_max_rows(Some(6))
            .init()
            .unwrap();
        let out = method
            .attribute(&model, x, common::classes(&file, "targets"))
            .unwrap();
        results.push((backend, common::host(&out.values)));
    }
    let (reference, first) = &results[0];
    assert!(results.len() >= 2, "flex and ndarray at least");
    for (backend, other) in &results[1..] {
        common::assert_close(other, first, 1e-5, &format!("{backend} vs {reference}"));
    }
}
