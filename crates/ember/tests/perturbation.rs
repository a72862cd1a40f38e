//! The perturbation methods on every backend, in f32: Captum's and shap's values on a small
//! closed-form model (fixtures written by `fixtures/make_perturbation_fixtures.py` in f64),
//! the efficiency of sampled Shapley orders, the surrogates on a linear model, batch and
//! block invariance, seeded draws, the samplers' statistics, and typed errors for bad masks.

mod common;

use common::{host, input, max_abs_diff, read, tensor};
use ember::backend::{Backend, Precision};
use ember::prelude::*;
use ember::{AnyMethod, MethodSettings, MethodSpec, Surrogate};
use safetensors::SafeTensors;

backend_tests!(Precision::F32;
    occlusion_matches_captum,
    feature_ablation_matches_captum,
    shapley_values_match_captum_and_kernel_shap_matches_shap,
    every_sampled_order_sums_to_the_difference,
    surrogates_recover_a_linear_model,
    feature_permutation_swaps_two_samples,
    batched_and_blocked_equal_one_at_a_time,
    several_targets_cost_no_extra_rows,
    kernel_shap_leaves_unchanged_groups_out_of_the_fit,
    bad_masks_and_settings_are_typed_errors;
    plain: sampled_methods_draw_the_same_on_every_backend,
    shapley_sampling_is_unbiased_and_its_error_shrinks_as_one_over_root_samples,
);

/// The fixtures' file.
fn fixtures() -> Vec<u8> {
    common::fixture("perturbation.safetensors")
}

fn mask(file: &SafeTensors<'_>, name: &str) -> FeatureMask {
    let (ids, shape) = read(file, name);
    FeatureMask::Given {
        shape,
        ids: ids.into_iter().map(|v| v as i64).collect(),
    }
}

/// The fixtures' model: `F(x)[n, k] = Σ_j v[k][j] tanh(Σ_i A[j][i] x[n, i] + c[j])` on the
/// flattened input, with `A[j][i] = sin(1 + 0.37 (j F + i))/2`, `c[j] = 0.1 j`,
/// `v[k][j] = cos(2 + 0.53 (k H + j))`, H = 5, C = 3.
fn model<const D: usize>(features: usize, device: &Device) -> impl Fn(Tensor<D>) -> Tensor<2> {
    const H: usize = 5;
    let a: Vec<f64> = (0..features * H)
        .map(|at| {
            let (i, j) = (at / H, at % H);
            (1.0 + 0.37 * (j * features + i) as f64).sin() / 2.0
        })
        .collect();
    let a = tensor(a, [features, H], device);
    let c = tensor((0..H).map(|j| 0.1 * j as f64).collect(), [1, H], device);
    let v: Vec<f64> = (0..H * 3)
        .map(|at| {
            let (j, k) = (at / 3, at % 3);
            (2.0 + 0.53 * (k * H + j) as f64).cos()
        })
        .collect();
    let v = tensor(v, [H, 3], device);
    move |x: Tensor<D>| {
        let n = x.dims()[0];
        let flat: Tensor<2> = x.reshape([n, features]);
        (flat.matmul(a.clone()) + c.clone())
            .tanh()
            .matmul(v.clone())
    }
}

/// `got` within `tolerance` of `want`, relative to `want`'s largest magnitude.
fn close(got: &[f64], want: &[f64], tolerance: f64, what: &str) {
    let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-12);
    let diff = max_abs_diff(got, want);
    assert!(
        diff <= tolerance * scale,
        "{what}: off by {diff} (scale {scale})\n got {got:?}\nwant {want:?}"
    );
}

/// f32 against the fixtures' f64.
const F32: f64 = 2e-5;

fn occlusion_matches_captum(device: &Device) {
    let bytes = fixtures();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let x: Tensor<4> = input(&file, "occlusion.input", device);
    let f = model::<4>(64, device);
    let windows = |w: usize, s: usize, baseline: Baseline| {
        OcclusionConfig::new()
            .with_window(Some(vec![1, w, w]))
            .with_strides(Some(vec![1, s, s]))
            .with_baseline(baseline)
            .init()
            .unwrap()
    };
    let (b, _) = read(&file, "occlusion.baseline");
    let tensor_baseline = Baseline::Values {
        shape: vec![2, 1, 8, 8],
        values: b,
    };
    let cases = [
        (
            "occlusion.zeros_t0",
            windows(3, 2, Baseline::Zeros),
            Target::Class(0),
        ),
        (
            "occlusion.tensor_t1",
            windows(3, 2, tensor_baseline),
            Target::Class(1),
        ),
        (
            "occlusion.square_t2",
            windows(4, 4, Baseline::Zeros),
            Target::Class(2),
        ),
        (
            "occlusion.multi_t02",
            windows(3, 2, Baseline::Zeros),
            Target::PerSample(vec![0, 2]),
        ),
    ];
    for (name, method, target) in cases {
        let out = method.attribute(&f, x.clone(), target).unwrap();
        assert_eq!(out.values.dims(), [2, 1, 8, 8]);
        close(&host(&out.values), &read(&file, name).0, F32, name);
    }
    // 4 × 4 windows of 3 at stride 2 (the last cut short), plus F(x): 17 rows per sample.
    let out = windows(3, 2, Baseline::Zeros).attribute(&f, x, 0).unwrap();
    assert_eq!(out.report.model_evaluations, 2 * 17);
    assert_eq!(out.report.group_values().unwrap().1, 16);
}

fn feature_ablation_matches_captum(device: &Device) {
    let bytes = fixtures();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let x: Tensor<2> = input(&file, "ablation.input", device);
    let f = model::<2>(6, device);
    let ablation = |mask: Option<FeatureMask>, baseline| {
        FeatureAblationConfig::new()
            .with_mask(mask)
            .with_baseline(baseline)
            .init()
            .unwrap()
    };
    let shared = ablation(
        Some(mask(&file, "ablation.shared_mask")),
        Baseline::Constant(0.25),
    );
    let out = shared.attribute(&f, x.clone(), 1).unwrap();
    close(
        &host(&out.values),
        &read(&file, "ablation.shared_t1").0,
        F32,
        "shared mask",
    );
    // Ids 0, 2, 5, 9: four groups, densely numbered in the ids' order.
    let (values, m) = out.report.group_values().unwrap();
    assert_eq!(m, 4);
    // Group "5" (dense 2) covers elements 2 and 3, which carry its value.
    let map = host(&out.values);
    assert!(
        map[2] == map[3] && (values[2] - map[2]).abs() < 1e-6,
        "{values:?} {map:?}"
    );

    let per_sample = ablation(Some(mask(&file, "ablation.sample_mask")), Baseline::Zeros);
    let out = per_sample.attribute(&f, x.clone(), 0).unwrap();
    close(
        &host(&out.values),
        &read(&file, "ablation.per_sample_t0").0,
        F32,
        "per-sample mask",
    );

    let elements = ablation(Some(FeatureMask::Elements), Baseline::Zeros);
    let out = elements.attribute(&f, x.clone(), 2).unwrap();
    close(
        &host(&out.values),
        &read(&file, "ablation.elements_t2").0,
        F32,
        "elements",
    );
    // The default mask of a table is one group per element.
    let default = ablation(None, Baseline::Zeros).attribute(&f, x, 2).unwrap();
    assert_eq!(host(&default.values), host(&out.values));
}

fn shapley_values_match_captum_and_kernel_shap_matches_shap(device: &Device) {
    let bytes = fixtures();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let x: Tensor<2> = input(&file, "shapley.input", device);
    let f = model::<2>(6, device);
    let groups = mask(&file, "shapley.mask");
    let exact = ShapleyValuesConfig::new()
        .with_mask(Some(groups.clone()))
        .init()
        .unwrap();
    for (name, class) in [("shapley.exact_t0", 0), ("shapley.exact_t2", 2)] {
        let out = exact.attribute(&f, x.clone(), class).unwrap();
        close(&host(&out.values), &read(&file, name).0, F32, name);
        // 2^5 rows per sample.
        assert_eq!(out.report.model_evaluations, 2 * 32);
    }
    let out = exact.attribute(&f, x.clone(), 0).unwrap();
    let want = read(&file, "shapley.groups_t0").0;
    close(
        out.report.group_values().unwrap().0,
        &want,
        F32,
        "group values",
    );
    close(
        out.report.scores.as_slice(),
        &read(&file, "shapley.fx_t0").0,
        F32,
        "F(x)",
    );
    close(
        out.report.baseline_scores().unwrap(),
        &read(&file, "shapley.fb_t0").0,
        F32,
        "F(b)",
    );
    for delta in out.report.delta().unwrap() {
        assert!(delta.abs() < 1e-12, "efficiency: {delta}");
    }

    // KernelSHAP with a budget covering all 2^5 − 2 coalitions is exact, and equals shap's.
    let shap = read(&file, "shapley.kernel_shap_groups_t0").0;
    let kernel = KernelShapConfig::new()
        .with_samples(30)
        .with_mask(Some(groups))
        .init()
        .unwrap();
    let out = kernel.attribute(&f, x, 0).unwrap();
    let details = out.report.perturbation.clone().unwrap();
    assert_eq!(details.enumerated, Some(true));
    close(&details.group_values, &shap, F32, "kernel-shap vs shap");
    close(&details.group_values, &want, F32, "kernel-shap vs exact");
    assert_eq!(out.report.model_evaluations, 2 * 32);
}

fn every_sampled_order_sums_to_the_difference(device: &Device) {
    let f = model::<4>(64, device);
    let x: Tensor<4> = tensor(
        (0..128).map(|i| (3.0 + 0.29 * i as f64).sin()).collect(),
        [2, 1, 8, 8],
        device,
    );
    let mask = FeatureMask::Patches(vec![0, 2, 4]);
    // One order per call, so every single order is checked.
    for seed in 0..4 {
        let method = ShapleyValueSamplingConfig::new()
            .with_samples(1)
            .with_seed(seed)
            .with_mask(Some(mask.clone()))
            .with_baseline(Baseline::Constant(0.5))
            .init()
            .unwrap();
        let out = method
            .attribute(&f, x.clone(), Target::Classes(vec![0, 1]))
            .unwrap();
        let delta = out.report.delta().unwrap();
        assert_eq!(delta.len(), 4);
        for d in delta {
            assert!(d.abs() < 1e-12, "seed {seed}: Σφ − (F(x) − F(b)) = {d}");
        }
        // 8 groups: F(x), F(b) and 7 prefixes.
        assert_eq!(out.report.model_evaluations, 2 * 9);
    }
}

/// `y = x·w` on 4 features.
fn linear(device: &Device) -> (impl Fn(Tensor<2>) -> Tensor<2>, Vec<f64>) {
    let w = vec![1.0, -2.0, 0.5, 3.0];
    let t = tensor(w.clone(), [4, 1], device);
    (move |x: Tensor<2>| x.matmul(t.clone()), w)
}

fn surrogates_recover_a_linear_model(device: &Device) {
    let (f, w) = linear(device);
    let x = tensor(
        vec![1.0, 2.0, -1.0, 0.5, 0.3, 0.0, 2.0, -1.0],
        [2, 4],
        device,
    );
    let b = 0.25;
    let want: Vec<f64> = (0..8).map(|i| w[i % 4] * (host(&x)[i] - b)).collect();
    // KernelSHAP from drawn coalitions (4 groups, 8 draws < 14): a linear model is fitted
    // exactly by any full-rank design.
    let kernel = KernelShapConfig::new()
        .with_samples(8)
        .with_baseline(Baseline::Constant(b))
        .init()
        .unwrap();
    let out = kernel.attribute(&f, x.clone(), 0).unwrap();
    assert_eq!(
        out.report.perturbation.as_ref().unwrap().enumerated,
        Some(false)
    );
    close(&host(&out.values), &want, 1e-4, "kernel-shap (drawn)");
    let lime = |surrogate| {
        LimeConfig::new()
            .with_surrogate(surrogate)
            .with_baseline(Baseline::Constant(b))
            .init()
            .unwrap()
    };
    let out = lime(Surrogate::Ridge { alpha: 0.0 })
        .attribute(&f, x.clone(), 0)
        .unwrap();
    close(&host(&out.values), &want, 1e-4, "lime, least squares");
    // Captum's default Lasso shrinks every coefficient towards 0 but keeps its sign.
    let out = lime(Surrogate::Lasso { alpha: 0.01 })
        .attribute(&f, x.clone(), 0)
        .unwrap();
    for (got, want) in host(&out.values).iter().zip(&want) {
        assert!(
            got.abs() <= want.abs() + 1e-6 && got * want >= 0.0,
            "{got} vs {want}"
        );
    }
    // Seeded: the same seed gives the same values, another seed other draws.
    let again = lime(Surrogate::Lasso { alpha: 0.01 })
        .attribute(&f, x.clone(), 0)
        .unwrap();
    assert_eq!(host(&again.values), host(&out.values));
}

fn feature_permutation_swaps_two_samples(device: &Device) {
    let (f, w) = linear(device);
    let rows = vec![1.0, 2.0, -1.0, 0.5, 0.3, 0.0, 2.0, -1.0];
    let x = tensor(rows.clone(), [2, 4], device);
    let out = FeaturePermutationConfig::new()
        .init()
        .unwrap()
        .attribute(&f, x, 0)
        .unwrap();
    // With two samples the only permutation swaps them.
    let want: Vec<f64> = (0..8)
        .map(|i| w[i % 4] * (rows[i] - rows[(i + 4) % 8]))
        .collect();
    close(&host(&out.values), &want, 1e-6, "feature permutation");
}

fn batched_and_blocked_equal_one_at_a_time(device: &Device) {
    let f = model::<2>(6, device);
    let x: Tensor<2> = tensor(
        (0..18).map(|i| (1.0 + 0.7 * i as f64).cos()).collect(),
        [3, 6],
        device,
    );
    for name in [
        "occlusion",
        "feature-ablation",
        "shapley-values",
        "shapley-value-sampling",
        "kernel-shap",
        "lime",
    ] {
        let spec: MethodSpec = name.parse().unwrap();
        let settings = MethodSettings::new().with_samples(12).with_seed(7);
        let build = |rows: Option<usize>| -> AnyMethod {
            spec.build(&settings.clone().with_max_rows(rows)).unwrap()
        };
        let whole = build(None).attribute(&f, x.clone(), 1).unwrap();
        let blocked = build(Some(1)).attribute(&f, x.clone(), 1).unwrap();
        close(
            &host(&blocked.values),
            &host(&whole.values),
            1e-6,
            &format!("{name}: blocks of 1"),
        );
        assert_eq!(blocked.report.rows_per_pass, 1);
        for s in 0..3 {
            let one = build(None)
                .attribute(&f, x.clone().narrow(0, s, 1), 1)
                .unwrap();
            close(
                &host(&one.values),
                &host(&whole.values.clone().narrow(0, s, 1)),
                1e-5,
                &format!("{name}: sample {s} alone"),
            );
        }
    }
}

fn several_targets_cost_no_extra_rows(device: &Device) {
    let f = model::<2>(6, device);
    let x: Tensor<2> = tensor(
        (0..12).map(|i| (0.3 * i as f64).sin()).collect(),
        [2, 6],
        device,
    );
    let method = FeatureAblationConfig::new().init().unwrap();
    let both = method
        .attribute(&f, x.clone(), Target::Classes(vec![0, 2]))
        .unwrap();
    let one = method.attribute(&f, x.clone(), 0).unwrap();
    assert_eq!(both.report.model_evaluations, one.report.model_evaluations);
    assert_eq!(both.values.dims(), [4, 6]);
    let second = method.attribute(&f, x.clone(), 2).unwrap();
    assert_eq!(host(&both.for_target(1).unwrap()), host(&second.values));
    assert_eq!(host(&both.for_target(0).unwrap()), host(&one.values));
    // `Predicted` resolves at the input.
    let predicted = method.attribute(&f, x, Target::Predicted).unwrap();
    let fx = host(&f(tensor(
        (0..12).map(|i| (0.3 * i as f64).sin()).collect(),
        [2, 6],
        device,
    )));
    for (s, &t) in predicted.report.targets.iter().enumerate() {
        let row = &fx[s * 3..s * 3 + 3];
        assert!(
            row.iter().all(|&v| v <= row[t]),
            "{t} is not the argmax of {row:?}"
        );
    }
}

/// A group equal to the baseline in a sample changes nothing when removed: KernelSHAP scores
/// it exactly 0 there (as `shap` leaves non-varying features out), keeps efficiency exact with
/// sampled coalitions (the eliminated group is a varying one), and with every coalition still
/// gives the exact Shapley values.
fn kernel_shap_leaves_unchanged_groups_out_of_the_fit(device: &Device) {
    let f = model::<2>(6, device);
    // Sample 0: features 4 and 5 at the baseline (0); sample 1: none.
    let values: Vec<f64> = (0..12)
        .map(|i| {
            if i == 4 || i == 5 {
                0.0
            } else {
                0.2 + (0.7 * i as f64).sin()
            }
        })
        .collect();
    let x: Tensor<2> = tensor(values, [2, 6], device);
    let sampled = KernelShapConfig::new()
        .with_samples(12)
        .init()
        .unwrap()
        .attribute(&f, x.clone(), 1)
        .unwrap();
    let details = sampled.report.perturbation.clone().unwrap();
    assert_eq!(details.enumerated, Some(false));
    let groups = &details.group_values;
    assert_eq!((groups[4], groups[5]), (0.0, 0.0), "{groups:?}");
    for delta in sampled.report.delta().unwrap() {
        assert!(delta.abs() < 1e-5, "efficiency: {delta}");
    }
    let every = KernelShapConfig::new()
        .with_samples(62)
        .init()
        .unwrap()
        .attribute(&f, x.clone(), 1)
        .unwrap();
    let exact = ShapleyValuesConfig::new()
        .init()
        .unwrap()
        .attribute(&f, x, 1)
        .unwrap();
    close(
        &every.report.perturbation.unwrap().group_values,
        exact.report.group_values().unwrap().0,
        F32,
        "kernel-shap with every coalition vs exact",
    );
}

fn bad_masks_and_settings_are_typed_errors(device: &Device) {
    let f = model::<2>(6, device);
    let x: Tensor<2> = tensor(vec![0.5; 12], [2, 6], device);
    let ablation = |mask| {
        FeatureAblationConfig::new()
            .with_mask(Some(mask))
            .init()
            .unwrap()
    };
    let wrong_shape = FeatureMask::Given {
        shape: vec![1, 5],
        ids: vec![0; 5],
    };
    let all_fixed = FeatureMask::Given {
        shape: vec![1, 6],
        ids: vec![-1; 6],
    };
    for mask in [wrong_shape, all_fixed, FeatureMask::Patches(vec![2, 2])] {
        let err = ablation(mask.clone())
            .attribute(&f, x.clone(), 0)
            .unwrap_err();
        assert!(matches!(err, Error::InvalidMask(_)), "{mask:?}: {err}");
    }
    // More groups than exact Shapley values take.
    let wide: Tensor<2> = tensor(vec![0.5; 17], [1, 17], device);
    let err = ShapleyValuesConfig::new()
        .init()
        .unwrap()
        .attribute(&model::<2>(17, device), wide, 0)
        .unwrap_err();
    assert!(matches!(err, Error::InvalidConfig { .. }), "{err}");
    // More groups than a surrogate fits: refused before a row is evaluated.
    let features = ember::kernel_shap::MAX_FIT_GROUPS + 1;
    let wide: Tensor<2> = tensor(vec![0.5; features], [1, features], device);
    let wide_model = model::<2>(features, device);
    let kernel_shap = KernelShapConfig::new().with_mask(Some(FeatureMask::Elements));
    let lime = LimeConfig::new().with_mask(Some(FeatureMask::Elements));
    for err in [
        kernel_shap
            .init()
            .unwrap()
            .attribute(&wide_model, wide.clone(), 0),
        lime.init().unwrap().attribute(&wide_model, wide, 0),
    ]
    .map(Result::unwrap_err)
    {
        assert!(matches!(err, Error::InvalidConfig { .. }), "{err}");
        assert!(err.to_string().contains("4097 groups"), "{err}");
    }
    // A window larger than the sample, and a permutation of one sample.
    let err = OcclusionConfig::new()
        .with_window(Some(vec![7]))
        .init()
        .unwrap()
        .attribute(&f, x.clone(), 0)
        .unwrap_err();
    assert!(matches!(err, Error::InvalidConfig { .. }), "{err}");
    let err = FeaturePermutationConfig::new()
        .init()
        .unwrap()
        .attribute(&f, x.clone().narrow(0, 0, 1), 0)
        .unwrap_err();
    assert!(matches!(err, Error::InvalidConfig { .. }), "{err}");
    assert!(KernelShapConfig::new().with_samples(0).init().is_err());
    assert!(
        ShapleyValueSamplingConfig::new()
            .with_samples(0)
            .init()
            .is_err()
    );
    assert!(
        OcclusionConfig::new()
            .with_strides(Some(vec![0]))
            .init()
            .is_err()
    );
    // A target out of range and a NaN input.
    let err = ablation(FeatureMask::Elements)
        .attribute(&f, x.clone(), 3)
        .unwrap_err();
    assert!(matches!(err, Error::TargetOutOfRange { .. }), "{err}");
    let nan: Tensor<2> = tensor(vec![f64::NAN; 6], [1, 6], device);
    let err = ablation(FeatureMask::Elements)
        .attribute(&f, nan, 0)
        .unwrap_err();
    assert!(matches!(err, Error::NonFiniteInput { .. }), "{err}");
}

fn sampled_methods_draw_the_same_on_every_backend() {
    let mut results: Vec<(Backend, Vec<f64>)> = Vec::new();
    for backend in Backend::ALL {
        let Some(device) = common::device(backend, Precision::F32) else {
            continue;
        };
        let f = model::<2>(6, &device);
        // Three samples, so that feature permutation has more than one permutation to draw.
        let x: Tensor<2> = tensor(
            (0..18).map(|i| (0.9 * i as f64).sin()).collect(),
            [3, 6],
            &device,
        );
        let mut all = Vec::new();
        for name in [
            "shapley-value-sampling",
            "kernel-shap",
            "lime",
            "feature-permutation",
        ] {
            let spec: MethodSpec = name.parse().unwrap();
            let method = spec
                .build(&MethodSettings::new().with_samples(9).with_seed(3))
                .unwrap();
            all.extend(host(&method.attribute(&f, x.clone(), 1).unwrap().values));
        }
        results.push((backend, all));
    }
    let (reference, first) = &results[0];
    for (backend, other) in &results[1..] {
        close(other, first, 1e-5, &format!("{backend} vs {reference}"));
    }
}

fn shapley_sampling_is_unbiased_and_its_error_shrinks_as_one_over_root_samples() {
    let device = common::device(Backend::Flex, Precision::F32).unwrap();
    let bytes = fixtures();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let x: Tensor<2> = input(&file, "shapley.input", &device);
    let f = model::<2>(6, &device);
    let exact = read(&file, "shapley.groups_t0").0;
    let groups = mask(&file, "shapley.mask");
    let estimates = |samples: usize, seed: u64| {
        let method = ShapleyValueSamplingConfig::new()
            .with_samples(samples)
            .with_seed(seed)
            .with_mask(Some(groups.clone()))
            .init()
            .unwrap();
        let out = method.attribute(&f, x.clone(), 0).unwrap();
        out.report.group_values().unwrap().0.to_vec()
    };
    let seeds = 40;
    let (few, many) = (4, 64);
    let (mut mean, mut error_few, mut error_many) = (vec![0.0; exact.len()], 0.0, 0.0);
    for seed in 0..seeds {
        let a = estimates(few, seed);
        let b = estimates(many, 1000 + seed);
        for i in 0..exact.len() {
            mean[i] += a[i] / seeds as f64;
            error_few += (a[i] - exact[i]).powi(2);
            error_many += (b[i] - exact[i]).powi(2);
        }
    }
    // Unbiased: the mean of 40 estimates of 4 orders is within a few standard errors of the
    // exact values (the standard error is the root mean square error over √(40)).
    let rmse_few = (error_few / (seeds as usize * exact.len()) as f64).sqrt();
    let bound = 4.0 * rmse_few / (seeds as f64).sqrt();
    for (m, e) in mean.iter().zip(&exact) {
        assert!(
            (m - e).abs() <= bound,
            "mean {m} vs exact {e} (bound {bound})"
        );
    }
    // 16× the orders: the error falls by about √16 = 4.
    let ratio = (error_few / error_many).sqrt();
    assert!(
        (2.5..6.5).contains(&ratio),
        "error ratio {ratio}, expected about 4"
    );
}
