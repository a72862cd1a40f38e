//! The metrics on every backend, in f32: exact answers on models whose truth is known by hand,
//! batched against one-by-one and blocked against one pass, and a typed error for each bad
//! input or config.
//!
//! Each body runs as `flex::name`, `ndarray::name` and `wgpu::name`.

mod common;

use std::cell::Cell;

use burn::tensor::{Device, Tensor};
use common::{host, linear, max_abs_diff, mlp, tensor, values};
use ember_core::{Attribution, Attributions, Error, Model, Result, Target, WithAux};
use ember_methods::{InputXGradientConfig, IntegratedGradientsConfig, SaliencyConfig};
use ember_metrics::{
    CurveMode, CurveScore, MaxSensitivityConfig, ModelRandomisationConfig, PerturbationCurveConfig,
    RelevanceOrder, Replacement, completeness, gini, randomisation_similarity, spearman,
};

backend_tests!(
    gini_is_zero_for_uniform_and_n_minus_one_over_n_for_one_hot,
    spearman_is_one_with_itself_minus_one_reversed_and_averages_ties,
    deletion_morf_of_a_linear_model_subtracts_the_largest_contributions_first,
    deletion_of_positive_contributions_decreases_to_the_replacement,
    insertion_goes_from_the_replacement_to_the_input,
    morf_deletion_area_is_below_lerf_for_gradient_x_input,
    blocked_and_one_by_one_curves_equal_one_batched_pass,
    blur_replacement_blurs_images_and_rejects_flat_inputs,
    max_sensitivity_of_a_linear_saliency_is_exactly_zero,
    max_sensitivity_of_a_quadratic_is_the_largest_relative_noise,
    max_sensitivity_in_chunks_equals_one_call,
    max_sensitivity_explains_the_stacked_batch_in_one_call,
    completeness_reads_the_integrated_gradients_delta,
    sanity_check_follows_the_similarity_of_the_last_step,
    bad_inputs_are_typed_errors,
    metrics_refuse_coupled_models_and_follow_auxiliary_inputs,
);

const FEATURES: usize = 6;
const CLASSES: usize = 3;

fn x_gradient<M: ember_core::Model<2>>(model: &M, x: &Tensor<2>, targets: &[usize]) -> Tensor<2> {
    InputXGradientConfig::new()
        .init()
        .unwrap()
        .attribute(model, x.clone(), Target::PerSample(targets.to_vec()))
        .unwrap()
        .values
}

/// The model's outputs for `x`, one row per sample.
fn outputs(model: &dyn Fn(Tensor<2>) -> Tensor<2>, x: Tensor<2>) -> Vec<Vec<f64>> {
    let classes = model(x.clone()).dims()[1];
    host(&model(x))
        .chunks(classes)
        .map(<[f64]>::to_vec)
        .collect()
}

fn softmax(row: &[f64], class: usize) -> f64 {
    let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let total: f64 = row.iter().map(|z| (z - max).exp()).sum();
    (row[class] - max).exp() / total
}

fn gini_is_zero_for_uniform_and_n_minus_one_over_n_for_one_hot(device: &Device) {
    // Three samples of [2, 4] = 8 features: uniform, one-hot (negative), all zero.
    let mut data = vec![0.5; 8];
    let mut one_hot = vec![0.0; 8];
    one_hot[5] = -3.0;
    data.extend(one_hot);
    data.extend(vec![0.0; 8]);
    let g = gini(tensor(data, [3, 2, 4], device)).unwrap();
    assert!(max_abs_diff(&g, &[0.0, 7.0 / 8.0, 0.0]) < 1e-12, "{g:?}");
}

fn spearman_is_one_with_itself_minus_one_reversed_and_averages_ties(device: &Device) {
    let a = values(4, 2 * FEATURES);
    let reversed: Vec<f64> = a.iter().map(|v| -2.0 * v + 1.0).collect();
    let at = tensor(a.clone(), [2, FEATURES], device);
    assert_eq!(spearman(at.clone(), at.clone()).unwrap(), vec![1.0, 1.0]);
    assert_eq!(
        spearman(at, tensor(reversed, [2, FEATURES], device)).unwrap(),
        vec![-1.0, -1.0]
    );
    // Ties: ranks (1, 2.5, 2.5, 4) against (1, 2, 3, 4).
    let tied = tensor(vec![1.0, 2.0, 2.0, 3.0], [1, 4], device);
    let ordered = tensor(vec![1.0, 2.0, 3.0, 4.0], [1, 4], device);
    let rho = spearman(tied, ordered).unwrap();
    assert!((rho[0] - 4.5 / (22.5f64).sqrt()).abs() < 1e-12, "{rho:?}");
}

fn deletion_morf_of_a_linear_model_subtracts_the_largest_contributions_first(device: &Device) {
    let (model, w, b) = linear(device, FEATURES, CLASSES, 3);
    let x_values = values(8, 2 * FEATURES);
    let x = tensor(x_values.clone(), [2, FEATURES], device);
    let targets = [2, 0];
    let attributions = x_gradient(&model, &x, &targets);
    let curve = PerturbationCurveConfig::new()
        .with_steps(FEATURES + 1)
        .with_score(CurveScore::Logit)
        .init()
        .unwrap()
        .curve(&model, x, attributions, &targets)
        .unwrap();
    assert_eq!(curve.features, (0..=FEATURES).collect::<Vec<_>>());
    for (s, &c) in targets.iter().enumerate() {
        // Contributions w_ic · x_i, removed largest first: F(x) minus the running sum.
        let mut contributions: Vec<f64> = (0..FEATURES)
            .map(|i| w[i * CLASSES + c] * x_values[s * FEATURES + i])
            .collect();
        let fx = b[c] + contributions.iter().sum::<f64>();
        contributions.sort_by(|p, q| q.total_cmp(p));
        let expected: Vec<f64> = (0..=FEATURES)
            .map(|k| fx - contributions[..k].iter().sum::<f64>())
            .collect();
        let got = &curve.per_sample[s];
        assert!(
            max_abs_diff(got, &expected) < 1e-5,
            "{got:?} vs {expected:?}"
        );
        assert!((got[FEATURES] - b[c]).abs() < 1e-6, "ends at F(0) = b");
    }
    let mean: Vec<f64> = (0..=FEATURES)
        .map(|j| (curve.per_sample[0][j] + curve.per_sample[1][j]) / 2.0)
        .collect();
    assert!(max_abs_diff(&curve.mean, &mean) < 1e-12);
    assert!((curve.auc - (curve.per_sample_auc[0] + curve.per_sample_auc[1]) / 2.0).abs() < 1e-9);
}

fn deletion_of_positive_contributions_decreases_to_the_replacement(device: &Device) {
    let (model, w, _) = linear(device, FEATURES, CLASSES, 3);
    let c = 1;
    let replacement = 0.25;
    // x_i − r has the sign of w_ic, so every feature contributes positively against r.
    let x_values: Vec<f64> = (0..FEATURES)
        .map(|i| replacement + w[i * CLASSES + c].signum() * (0.5 + i as f64 / 4.0))
        .collect();
    let x = tensor(x_values, [1, FEATURES], device);
    let attributions = x_gradient(&model, &x, &[c]);
    let curve = PerturbationCurveConfig::new()
        .with_steps(FEATURES + 1)
        .with_score(CurveScore::Logit)
        .with_replacement(Replacement::Constant(replacement))
        .init()
        .unwrap()
        .curve(&model, x.clone(), attributions, &[c])
        .unwrap();
    let scores = &curve.per_sample[0];
    assert!(
        scores.windows(2).all(|p| p[1] < p[0]),
        "not strictly decreasing: {scores:?}"
    );
    let at_replacement = outputs(&model, Tensor::full([1, FEATURES], replacement, device));
    assert!((scores[FEATURES] - at_replacement[0][c]).abs() < 1e-6);
    assert!((scores[0] - outputs(&model, x)[0][c]).abs() < 1e-6);
}

fn insertion_goes_from_the_replacement_to_the_input(device: &Device) {
    let model = mlp(device);
    let x_values = values(5, 3 * FEATURES);
    let x = tensor(x_values.clone(), [3, FEATURES], device);
    let targets = [0, 2, 1];
    let attributions = tensor(values(6, 3 * FEATURES), [3, FEATURES], device);
    let at_x = outputs(&model, x.clone());
    let means: Vec<f64> = x_values
        .chunks(FEATURES)
        .flat_map(|s| vec![s.iter().sum::<f64>() / FEATURES as f64; FEATURES])
        .collect();
    let cases = [
        (
            Replacement::Constant(0.25),
            Tensor::full([3, FEATURES], 0.25, device),
        ),
        (Replacement::Mean, tensor(means, [3, FEATURES], device)),
    ];
    for (replacement, filled) in cases {
        let at_r = outputs(&model, filled);
        for score in [CurveScore::Logit, CurveScore::Probability] {
            let curve = PerturbationCurveConfig::new()
                .with_steps(5)
                .with_mode(CurveMode::Insertion)
                .with_replacement(replacement)
                .with_score(score)
                .init()
                .unwrap()
                .curve(&model, x.clone(), attributions.clone(), &targets)
                .unwrap();
            let pick = |row: &[f64], c: usize| match score {
                CurveScore::Logit => row[c],
                CurveScore::Probability => softmax(row, c),
            };
            for (s, &c) in targets.iter().enumerate() {
                let label = format!("{replacement:?} {score:?} sample {s}");
                let curve = &curve.per_sample[s];
                assert!((curve[0] - pick(&at_r[s], c)).abs() < 1e-5, "{label}");
                assert!((curve[4] - pick(&at_x[s], c)).abs() < 1e-5, "{label}");
                assert!((curve[0] - curve[4]).abs() > 1e-4, "{label}: trivial");
            }
        }
    }
}

fn morf_deletion_area_is_below_lerf_for_gradient_x_input(device: &Device) {
    let (model, _, _) = linear(device, FEATURES, CLASSES, 3);
    let x = tensor(values(12, 4 * FEATURES), [4, FEATURES], device);
    let targets = [0, 1, 2, 0];
    let attributions = x_gradient(&model, &x, &targets);
    let curve = |order, score: CurveScore| {
        PerturbationCurveConfig::new()
            .with_steps(FEATURES + 1)
            .with_order(order)
            .with_score(score)
            .init()
            .unwrap()
            .curve(&model, x.clone(), attributions.clone(), &targets)
            .unwrap()
    };
    // On logits this is a theorem: removing the largest contributions first gives the lowest
    // curve at every step. (Softmax probabilities also move with the other classes' logits.)
    let morf = curve(RelevanceOrder::MostRelevantFirst, CurveScore::Logit);
    let lerf = curve(RelevanceOrder::LeastRelevantFirst, CurveScore::Logit);
    assert!(morf.auc < lerf.auc, "{} vs {}", morf.auc, lerf.auc);
    for (m, l) in morf.per_sample.iter().zip(&lerf.per_sample) {
        assert!(m.iter().zip(l).all(|(a, b)| *a <= b + 1e-6), "{m:?} {l:?}");
    }
    let strict = m_below_l(&morf.per_sample, &lerf.per_sample);
    assert!(
        strict,
        "MoRF is strictly below LeRF somewhere inside the curve"
    );
}

fn m_below_l(morf: &[Vec<f64>], lerf: &[Vec<f64>]) -> bool {
    morf.iter().zip(lerf).all(|(m, l)| {
        m[1..m.len() - 1]
            .iter()
            .zip(&l[1..])
            .any(|(a, b)| a + 1e-4 < *b)
    })
}

fn blocked_and_one_by_one_curves_equal_one_batched_pass(device: &Device) {
    let model = mlp(device);
    let x = tensor(values(21, 3 * FEATURES), [3, FEATURES], device);
    let attributions = tensor(values(22, 3 * FEATURES), [3, FEATURES], device);
    let targets = [1, 0, 2];
    let config = PerturbationCurveConfig::new().with_steps(4);
    let whole = config
        .clone()
        .with_max_rows(Some(1000))
        .init()
        .unwrap()
        .curve(&model, x.clone(), attributions.clone(), &targets)
        .unwrap();
    assert_eq!((whole.passes, whole.model_evaluations), (1, 12));
    let forwards = Cell::new(0);
    let counted = |x: Tensor<2>| {
        forwards.set(forwards.get() + 1);
        model(x)
    };
    let blocked = config
        .clone()
        .with_max_rows(Some(5))
        .init()
        .unwrap()
        .curve(&counted, x.clone(), attributions.clone(), &targets)
        .unwrap();
    assert_eq!(blocked.passes, 3, "⌈12 / 5⌉ forward passes");
    assert_eq!(
        forwards.get(),
        3 + 3,
        "the passes and the model check's 3 forwards"
    );
    for s in 0..3 {
        assert!(max_abs_diff(&whole.per_sample[s], &blocked.per_sample[s]) < 1e-6);
        let alone = config
            .init()
            .unwrap()
            .curve(
                &model,
                x.clone().narrow(0, s, 1),
                attributions.clone().narrow(0, s, 1),
                &targets[s..=s],
            )
            .unwrap();
        assert!(max_abs_diff(&whole.per_sample[s], &alone.per_sample[0]) < 1e-6);
        assert!((whole.per_sample_auc[s] - alone.auc).abs() < 1e-6);
    }
}

fn blur_replacement_blurs_images_and_rejects_flat_inputs(device: &Device) {
    // [n, 1, 4, 4] images, flattened into a linear model of 16 features.
    let (linear16, _, _) = linear(device, 16, 2, 40);
    let model = move |x: Tensor<4>| {
        let n = x.dims()[0];
        linear16(x.reshape([n, 16]))
    };
    let constant = Tensor::<4>::full([1, 1, 4, 4], 0.7, device);
    let image = tensor(values(41, 16), [1, 1, 4, 4], device);
    let attributions = tensor(values(42, 16), [1, 1, 4, 4], device);
    let insertion = PerturbationCurveConfig::new()
        .with_steps(3)
        .with_mode(CurveMode::Insertion)
        .with_replacement(Replacement::Blur { sigma: 1.0 })
        .with_score(CurveScore::Logit)
        .init()
        .unwrap();
    // A constant image is its own blur: the curve is flat.
    let flat = insertion
        .curve(&model, constant, attributions.clone(), &[1])
        .unwrap();
    let f = &flat.per_sample[0];
    assert!(f.iter().all(|v| (v - f[0]).abs() < 1e-5), "{f:?}");
    // A varied image starts at its blur and ends at itself.
    let varied = insertion
        .curve(&model, image.clone(), attributions, &[1])
        .unwrap();
    let v = &varied.per_sample[0];
    let fx = host(&model(image))[1];
    assert!(
        (v[2] - fx).abs() < 1e-5 && (v[0] - fx).abs() > 1e-4,
        "{v:?}"
    );
    // Rank-2 inputs have no image planes to blur.
    let (flat_model, _, _) = linear(device, FEATURES, CLASSES, 3);
    let x = tensor(values(43, FEATURES), [1, FEATURES], device);
    let err = insertion
        .curve(&flat_model, x.clone(), x, &[0])
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidConfig {
                name: "replacement",
                ..
            }
        ),
        "{err:?}"
    );
}

fn max_sensitivity_of_a_linear_saliency_is_exactly_zero(device: &Device) {
    let (model, _, _) = linear(device, FEATURES, CLASSES, 3);
    let x = tensor(values(9, 3 * FEATURES), [3, FEATURES], device);
    let saliency = SaliencyConfig::new().init().unwrap();
    for relative in [true, false] {
        let sensitivity = MaxSensitivityConfig::new()
            .with_radius(0.5)
            .with_relative(relative)
            .init()
            .unwrap()
            .evaluate(&saliency, &model, x.clone(), &[0, 2, 1])
            .unwrap();
        assert_eq!(sensitivity, vec![0.0; 3], "relative {relative}");
    }
}

fn max_sensitivity_of_a_quadratic_is_the_largest_relative_noise(device: &Device) {
    // F(x) = ½ Σ x², so the saliency is x itself and φ(x + δ) − φ(x) = δ.
    let model = |x: Tensor<2>| (x.clone() * x).sum_dim(1) * 0.5;
    let batch = 2;
    let x_values = values(10, batch * FEATURES);
    let x = tensor(x_values.clone(), [batch, FEATURES], device);
    let saliency = SaliencyConfig::new().init().unwrap();
    let config = MaxSensitivityConfig::new()
        .with_radius(0.2)
        .with_samples(7)
        .with_seed(11);
    let metric = config.init().unwrap();
    let noise = metric.perturbations(batch, FEATURES);
    let norm = |v: &[f64]| v.iter().map(|d| d * d).sum::<f64>().sqrt();
    let relative = metric
        .evaluate(&saliency, &model, x.clone(), &[0, 0])
        .unwrap();
    let absolute = config
        .with_relative(false)
        .init()
        .unwrap()
        .evaluate(&saliency, &model, x, &[0, 0])
        .unwrap();
    for s in 0..batch {
        let largest = (0..7)
            .map(|k| norm(&noise[(k * batch + s) * FEATURES..(k * batch + s + 1) * FEATURES]))
            .fold(0.0, f64::max);
        let x_norm = norm(&x_values[s * FEATURES..(s + 1) * FEATURES]);
        assert!(
            (absolute[s] - largest).abs() < 1e-5,
            "{absolute:?} vs {largest}"
        );
        assert!(
            (relative[s] - largest / x_norm).abs() < 1e-5,
            "{relative:?}"
        );
    }
}

fn max_sensitivity_in_chunks_equals_one_call(device: &Device) {
    let model = mlp(device);
    let x = tensor(values(13, 3 * FEATURES), [3, FEATURES], device);
    let targets = [2, 1, 0];
    let config = MaxSensitivityConfig::new().with_samples(4).with_seed(3);
    let method = InputXGradientConfig::new().init().unwrap();
    let whole = config
        .init()
        .unwrap()
        .evaluate(&method, &model, x.clone(), &targets)
        .unwrap();
    let chunked = config
        .clone()
        .with_max_rows(Some(5))
        .init()
        .unwrap()
        .evaluate(&method, &model, x.clone(), &targets)
        .unwrap();
    assert!(
        max_abs_diff(&whole, &chunked) < 1e-6,
        "{whole:?} vs {chunked:?}"
    );
    assert!(
        whole.iter().all(|&s| s > 1e-4),
        "a nonlinear model moves: {whole:?}"
    );
    let again = config
        .init()
        .unwrap()
        .evaluate(&method, &model, x.clone(), &targets)
        .unwrap();
    assert_eq!(whole, again, "seeded");
    let other = config
        .with_seed(4)
        .init()
        .unwrap()
        .evaluate(&method, &model, x, &targets)
        .unwrap();
    assert_ne!(whole, other);
}

/// Saliency that counts its calls and the rows it explains.
struct Counting {
    inner: ember_methods::Saliency,
    calls: Cell<usize>,
    rows: Cell<usize>,
}

impl Attribution<2> for Counting {
    fn attribute<M: Model<2> + ?Sized>(
        &self,
        model: &M,
        input: Tensor<2>,
        target: impl Into<Target>,
    ) -> Result<Attributions<2>> {
        self.calls.set(self.calls.get() + 1);
        self.rows.set(self.rows.get() + input.dims()[0]);
        self.inner.attribute(model, input, target)
    }
}

fn max_sensitivity_explains_the_stacked_batch_in_one_call(device: &Device) {
    let model = mlp(device);
    let x = tensor(values(23, 3 * FEATURES), [3, FEATURES], device);
    for (max_rows, calls) in [(None, 2), (Some(5), 4), (Some(12), 2)] {
        let method = Counting {
            inner: SaliencyConfig::new().init().unwrap(),
            calls: Cell::new(0),
            rows: Cell::new(0),
        };
        MaxSensitivityConfig::new()
            .with_samples(4)
            .with_max_rows(max_rows)
            .init()
            .unwrap()
            .evaluate(&method, &model, x.clone(), &[0, 1, 2])
            .unwrap();
        // One call at x, then ⌈4 · 3 / max_rows⌉ calls for the perturbations.
        assert_eq!(method.calls.get(), calls, "{max_rows:?}");
        assert_eq!(method.rows.get(), 3 + 4 * 3, "{max_rows:?}");
    }
}

fn completeness_reads_the_integrated_gradients_delta(device: &Device) {
    let (model, _, _) = linear(device, FEATURES, CLASSES, 3);
    let x = tensor(values(14, 2 * FEATURES), [2, FEATURES], device);
    let ig = IntegratedGradientsConfig::new()
        .init()
        .unwrap()
        .attribute(&model, x.clone(), Target::PerSample(vec![1, 2]))
        .unwrap();
    let summary = completeness(&ig.report).expect("IG is a path method");
    assert_eq!(summary.samples, 2);
    assert!(summary.max_abs_delta < 1e-5, "{summary:?}");
    assert!(summary.mean_abs_delta <= summary.max_abs_delta);
    assert!(summary.mean_relative_delta.expect("F(x) ≠ F(0)") < 1e-4);
    let saliency = SaliencyConfig::new()
        .init()
        .unwrap()
        .attribute(&model, x, 0)
        .unwrap();
    assert_eq!(completeness(&saliency.report), None);
}

fn sanity_check_follows_the_similarity_of_the_last_step(device: &Device) {
    let original = tensor(vec![1.0, -2.0, 3.0, -4.0, 0.5, 0.25], [2, 3], device);
    // Same magnitudes with other signs: identical under `absolute`.
    let signs = tensor(vec![-1.0, 2.0, -3.0, 4.0, 0.5, -0.25], [2, 3], device);
    // Reversed magnitude order in both samples.
    let reversed = tensor(vec![3.0, 2.0, 1.0, 0.1, 0.5, 1.0], [2, 3], device);
    assert_eq!(
        randomisation_similarity(original.clone(), signs.clone(), true).unwrap(),
        vec![1.0, 1.0]
    );
    assert_eq!(
        randomisation_similarity(original.clone(), signs.clone(), false).unwrap(),
        vec![-1.0, -0.5]
    );
    let check = ModelRandomisationConfig::new().init().unwrap();
    let survived = check
        .check(
            original.clone(),
            [("head", reversed.clone()), ("all", signs.clone())],
        )
        .unwrap();
    assert_eq!(survived.layers, vec!["head", "all"]);
    assert_eq!(survived.similarity, vec![-1.0, 1.0]);
    assert_eq!(survived.per_sample, vec![vec![-1.0, -1.0], vec![1.0, 1.0]]);
    assert!(
        !survived.passes,
        "the last step still looks like the original"
    );
    let mut cascade = check.cascade(original.clone()).unwrap();
    assert_eq!(cascade.step("head", signs).unwrap(), 1.0);
    assert_eq!(cascade.step("all", reversed).unwrap(), -1.0);
    let randomised = cascade.finish().unwrap();
    assert!(randomised.passes);
    assert_eq!(randomised.threshold, 0.5);
    let strict = ModelRandomisationConfig::new()
        .with_threshold(-1.0)
        .init()
        .unwrap()
        .check(
            original,
            [(
                "all",
                tensor(vec![3.0, 2.0, 1.0, 0.1, 0.5, 1.0], [2, 3], device),
            )],
        )
        .unwrap();
    assert!(!strict.passes, "−1 is not below −1");
}

fn bad_inputs_are_typed_errors(device: &Device) {
    let (model, _, _) = linear(device, FEATURES, CLASSES, 3);
    let x = tensor(values(15, 2 * FEATURES), [2, FEATURES], device);
    let curve = PerturbationCurveConfig::new().init().unwrap();
    let wrong_shape = tensor(values(16, 2 * 4), [2, 4], device);
    let mut nan = values(17, 2 * FEATURES);
    nan[7] = f64::NAN;
    let nan = tensor(nan, [2, FEATURES], device);

    let err = curve
        .curve(&model, x.clone(), wrong_shape.clone(), &[0, 0])
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidConfig {
                name: "attributions",
                ..
            }
        ),
        "{err:?}"
    );
    let err = curve
        .curve(&model, x.clone(), nan.clone(), &[0, 0])
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidConfig {
                name: "attributions",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("sample 1"), "{err}");
    assert_eq!(
        curve.curve(&model, x.clone(), x.clone(), &[0]).unwrap_err(),
        Error::TargetCountMismatch {
            targets: 1,
            batch: 2
        }
    );
    assert_eq!(
        curve
            .curve(&model, x.clone(), x.clone(), &[0, 3])
            .unwrap_err(),
        Error::TargetOutOfRange {
            target: 3,
            sample: 1,
            outputs: 3
        }
    );
    assert!(matches!(
        curve.curve(&model, nan.clone(), x.clone(), &[0, 0]),
        Err(Error::NonFiniteInput { sample: 1, .. })
    ));
    let empty = Tensor::<2>::zeros([0, FEATURES], device);
    assert!(matches!(
        curve.curve(&model, empty.clone(), empty.clone(), &[]),
        Err(Error::EmptyBatch { .. })
    ));
    let bad_model = |x: Tensor<2>| x.narrow(0, 0, 1);
    assert!(matches!(
        curve.curve(&bad_model, x.clone(), x.clone(), &[0, 0]),
        Err(Error::ModelOutputShape { .. })
    ));

    assert!(matches!(
        spearman(x.clone(), wrong_shape.clone()),
        Err(Error::InvalidConfig { name: "b", .. })
    ));
    assert!(matches!(
        spearman(x.clone(), nan.clone()),
        Err(Error::InvalidConfig { name: "b", .. })
    ));
    assert!(matches!(
        gini(nan.clone()),
        Err(Error::InvalidConfig { .. })
    ));
    assert!(matches!(gini(empty), Err(Error::EmptyBatch { .. })));
    assert!(matches!(
        randomisation_similarity(x.clone(), wrong_shape.clone(), true),
        Err(Error::InvalidConfig { .. })
    ));
    let check = ModelRandomisationConfig::new().init().unwrap();
    assert!(matches!(
        check.check::<2, &str>(x.clone(), []),
        Err(Error::InvalidConfig { name: "steps", .. })
    ));
    assert!(matches!(
        check.check(x.clone(), [("head", wrong_shape)]),
        Err(Error::InvalidConfig {
            name: "randomised",
            ..
        })
    ));

    let saliency = SaliencyConfig::new().init().unwrap();
    let sensitivity = MaxSensitivityConfig::new().init().unwrap();
    assert_eq!(
        sensitivity
            .evaluate(&saliency, &model, x.clone(), &[0, 0, 0])
            .unwrap_err(),
        Error::TargetCountMismatch {
            targets: 3,
            batch: 2
        }
    );
    assert!(matches!(
        sensitivity.evaluate(&saliency, &model, x, &[0, 5]),
        Err(Error::TargetOutOfRange { target: 5, .. })
    ));
    assert!(matches!(
        sensitivity.evaluate(&saliency, &model, nan, &[0, 0]),
        Err(Error::NonFiniteInput { .. })
    ));
}

/// A model whose rows are coupled (it centres its batch, as BatchNorm in training mode does)
/// gets the typed error from the curves and from max-sensitivity; a model with a per-sample
/// mask gives every sample the curve it gets alone.
fn metrics_refuse_coupled_models_and_follow_auxiliary_inputs(device: &Device) {
    let x = tensor(values(31, 3 * FEATURES), [3, FEATURES], device);
    let attributions = tensor(values(32, 3 * FEATURES), [3, FEATURES], device);
    let inner = mlp(device);
    let coupled = |x: Tensor<2>| inner(x.clone() - x.mean_dim(0));
    let curve = PerturbationCurveConfig::new().with_steps(4).init().unwrap();
    let err = curve
        .curve(&coupled, x.clone(), attributions.clone(), &[0, 1, 2])
        .unwrap_err();
    assert!(matches!(err, Error::ModelRowsCoupled { .. }), "{err}");
    let saliency = SaliencyConfig::new().init().unwrap();
    let err = MaxSensitivityConfig::new()
        .with_samples(2)
        .init()
        .unwrap()
        .evaluate(&saliency, &coupled, x.clone(), &[0, 1, 2])
        .unwrap_err();
    assert!(matches!(err, Error::ModelRowsCoupled { .. }), "{err}");

    // A per-sample mask over the features, as an auxiliary input.
    let masks: Vec<f64> = (0..3 * FEATURES)
        .map(|i| {
            if (i / FEATURES + i).is_multiple_of(3) {
                0.0
            } else {
                1.0
            }
        })
        .collect();
    let mask = tensor(masks.clone(), [3, FEATURES], device);
    let masked = WithAux::new(mask, |x: Tensor<2>, mask: Tensor<2>| inner(x * mask));
    for max_rows in [Some(1), Some(5), None] {
        let curve = PerturbationCurveConfig::new()
            .with_steps(4)
            .with_max_rows(max_rows)
            .init()
            .unwrap();
        let batched = curve
            .curve(&masked, x.clone(), attributions.clone(), &[2, 0, 1])
            .unwrap();
        for (s, target) in [2, 0, 1].into_iter().enumerate() {
            let m = tensor(
                masks[s * FEATURES..(s + 1) * FEATURES].to_vec(),
                [1, FEATURES],
                device,
            );
            let alone_model = |x: Tensor<2>| inner(x * m.clone());
            let alone = curve
                .curve(
                    &alone_model,
                    x.clone().narrow(0, s, 1),
                    attributions.clone().narrow(0, s, 1),
                    &[target],
                )
                .unwrap();
            let diff = max_abs_diff(&batched.per_sample[s], &alone.per_sample[0]);
            assert!(diff < 1e-6, "sample {s}, max_rows {max_rows:?}: {diff}");
        }
    }
}
