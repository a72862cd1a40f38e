//! The model boundary on every backend, in f32: models in training mode (BatchNorm, Dropout)
//! are refused by every method with a typed error, the same models in evaluation mode match a
//! one-sample-at-a-time reference, and a model with a per-sample mask (auxiliary input) gives
//! the same attributions batched and blocked as one sample at a time, for every method. A
//! training-mode module refused through a closure gets an error that says its BatchNorm running
//! statistics moved (they did); through ember's wrappers (`eval`, `eval_with`, `eval_split`,
//! `eval_split_with`) it is explained and left bit for bit as it was. A closure that captures
//! the whole batch's mask is a typed error that names `eval_with`, not a panic.
//!
//! Each body runs as `flex::name`, `ndarray::name` and `wgpu::name`; shapes are few and small,
//! because every new shape costs a kernel compile on wgpu.

mod common;

use burn::module::{Module, ModuleVisitor, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Linear, LinearConfig};
use burn::tensor::activation::{relu, tanh};
use common::{host, max_abs_diff, tensor, values};
use ember::backend::Precision;
use ember::prelude::*;

backend_tests!(Precision::F32;
    batch_norm_in_training_mode_is_refused_by_every_method,
    dropout_in_training_mode_is_refused_by_every_method,
    eval_mode_matches_one_sample_at_a_time,
    a_masked_model_matches_one_sample_at_a_time_for_every_method,
    auxiliary_inputs_of_another_batch_are_a_typed_error,
    a_refused_closure_says_the_running_statistics_moved,
    ember_wrappers_leave_a_training_mode_module_unchanged,
    a_closure_over_the_whole_batchs_mask_is_a_typed_error,
);

/// A small CNN with BatchNorm: conv 1→3 (3×3) → BatchNorm2d → ReLU → global mean → linear 3→2.
#[derive(Module, Debug)]
struct BatchNormNet {
    conv: Conv2d,
    norm: BatchNorm,
    fc: Linear,
}

impl BatchNormNet {
    fn new(device: &Device) -> Self {
        device.seed(11);
        Self {
            conv: Conv2dConfig::new([1, 3], [3, 3]).init(device),
            norm: BatchNormConfig::new(3).init(device),
            fc: LinearConfig::new(3, 2).init(device),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        self.classify(self.features(x))
    }

    /// The conv block's output `[n, 3, 4, 4]` (a split's head).
    fn features(&self, x: Tensor<4>) -> Tensor<4> {
        relu(self.norm.forward(self.conv.forward(x)))
    }

    /// The logits from the conv block's output (a split's tail).
    fn classify(&self, h: Tensor<4>) -> Tensor<2> {
        let [n, ..] = h.dims();
        self.fc.forward(h.mean_dim(3).mean_dim(2).reshape([n, 3]))
    }

    /// Every float tensor of the module, parameters and running statistics, as bytes (the
    /// running statistics synced first, as Burn reads them).
    fn state(&self) -> Vec<Vec<u8>> {
        struct Bytes(Vec<Vec<u8>>);
        impl ModuleVisitor for Bytes {
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                self.0.push(param.val().into_data().as_bytes().to_vec());
            }
        }
        let mut bytes = Bytes(vec![
            self.norm
                .running_mean
                .value_sync()
                .into_data()
                .as_bytes()
                .to_vec(),
            self.norm
                .running_var
                .value_sync()
                .into_data()
                .as_bytes()
                .to_vec(),
        ]);
        self.visit(&mut bytes);
        bytes.0
    }

    /// The same network after a few training steps' worth of running statistics, so that
    /// evaluation mode differs from the fresh module.
    fn trained(device: &Device) -> Self {
        let net = Self::new(device);
        for seed in 0..3 {
            let x = tensor(values(50 + seed, 4 * 36), [4, 1, 6, 6], device);
            // The training path (autodiff input, training mode) updates the running stats.
            let _ = net.forward(x.autodiff());
        }
        net
    }
}

/// A small MLP with Dropout: linear 4→32 → ReLU → Dropout(0.5) → linear 32→3 (wide enough
/// that two draws of the mask are never alike).
#[derive(Module, Debug)]
struct DropoutNet {
    hidden: Linear,
    dropout: Dropout,
    out: Linear,
}

impl DropoutNet {
    fn new(device: &Device) -> Self {
        device.seed(5);
        Self {
            hidden: LinearConfig::new(4, 32).init(device),
            dropout: DropoutConfig::new(0.5).init(),
            out: LinearConfig::new(32, 3).init(device),
        }
    }

    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.out
            .forward(self.dropout.forward(relu(self.hidden.forward(x))))
    }
}

fn image(device: &Device) -> Tensor<4> {
    tensor(values(3, 3 * 36), [3, 1, 6, 6], device)
}

fn ig() -> IntegratedGradientsConfig {
    IntegratedGradientsConfig::new().with_steps(8)
}

fn smooth() -> SmoothGradConfig {
    SmoothGradConfig::new().with_samples(3)
}

/// Every method's result (or error) on `model` at `x` for class 0, by name.
fn every_method<const D: usize, M: Model<D>>(
    model: &M,
    x: &Tensor<D>,
) -> Vec<(&'static str, Result<Attributions<D>, Error>)> {
    let x = || x.clone();
    let saliency = SaliencyConfig::new().init().unwrap();
    let adaptive = ig().with_tolerance(Some(0.01)).init().unwrap();
    vec![
        ("saliency", saliency.attribute(model, x(), 0)),
        (
            "input-x-gradient",
            InputXGradientConfig::new()
                .init()
                .unwrap()
                .attribute(model, x(), 0),
        ),
        (
            "integrated-gradients",
            ig().init().unwrap().attribute(model, x(), 0),
        ),
        ("adaptive IG", adaptive.attribute(model, x(), 0)),
        (
            "several targets",
            saliency.attribute(model, x(), Target::Classes(vec![0, 1])),
        ),
        (
            "smoothgrad",
            smooth()
                .init(saliency.clone())
                .unwrap()
                .attribute(model, x(), 0),
        ),
        (
            "smoothgrad over IG",
            smooth()
                .init(ig().init().unwrap())
                .unwrap()
                .attribute(model, x(), 0),
        ),
    ]
}

fn batch_norm_in_training_mode_is_refused_by_every_method(device: &Device) {
    let net = BatchNormNet::trained(device);
    let model = |x: Tensor<4>| net.forward(x);
    for (name, result) in every_method(&model, &image(device)) {
        match result {
            Err(Error::ModelRowsCoupled { sample: 0, .. }) => {}
            other => panic!(
                "{name}: expected ModelRowsCoupled, got {:?}",
                other.map(|a| a.report)
            ),
        }
    }
    // A user who wants the coupling can turn the check off.
    let unchecked = SaliencyConfig::new()
        .with_check_model(false)
        .init()
        .unwrap();
    assert!(unchecked.attribute(&model, image(device), 0).is_ok());
}

fn dropout_in_training_mode_is_refused_by_every_method(device: &Device) {
    let net = DropoutNet::new(device);
    let model = |x: Tensor<2>| net.forward(x);
    let x = tensor(values(9, 12), [3, 4], device);
    for (name, result) in every_method(&model, &x) {
        match result {
            Err(Error::ModelNotDeterministic { .. }) => {}
            other => panic!(
                "{name}: expected ModelNotDeterministic, got {:?}",
                other.map(|a| a.report)
            ),
        }
    }
}

/// Attributions of each sample alone (one-row calls), stacked in batch order.
fn one_at_a_time<const D: usize, A: Attribution<D>, M: Model<D>>(
    method: &A,
    model: &M,
    x: &Tensor<D>,
    target: usize,
) -> Vec<f64> {
    let n = x.dims()[0];
    (0..n)
        .flat_map(|i| {
            let row = x.clone().narrow(0, i, 1);
            host(&method.attribute(model, row, target).unwrap().values)
        })
        .collect()
}

fn eval_mode_matches_one_sample_at_a_time(device: &Device) {
    let net = BatchNormNet::trained(device);
    let model = ember::eval(&net, BatchNormNet::forward);
    let x = image(device);
    let saliency = SaliencyConfig::new().init().unwrap();
    let integrated = ig().init().unwrap();
    let batched = host(&saliency.attribute(&model, x.clone(), 1).unwrap().values);
    let alone = one_at_a_time(&saliency, &model, &x, 1);
    assert!(max_abs_diff(&batched, &alone) < 1e-5, "saliency");
    let batched = integrated.attribute(&model, x.clone(), 1).unwrap();
    let alone = one_at_a_time(&integrated, &model, &x, 1);
    assert!(max_abs_diff(&host(&batched.values), &alone) < 1e-5, "IG");
    // Evaluation mode uses the running statistics: not the fresh module's identity map.
    let fresh = BatchNormNet::new(device).valid();
    let fresh_scores = host(&fresh.forward(x.clone()));
    let scores = host(&net.valid().forward(x));
    assert!(max_abs_diff(&fresh_scores, &scores) > 1e-4);

    let dropout = DropoutNet::new(device);
    let model = ember::eval(&dropout, DropoutNet::forward);
    let x = tensor(values(9, 12), [3, 4], device);
    let batched = host(&saliency.attribute(&model, x.clone(), 2).unwrap().values);
    assert!(max_abs_diff(&batched, &one_at_a_time(&saliency, &model, &x, 2)) < 1e-5);
}

/// Three sequences of 5 positions (one value each) with a mask of 4, 2 and 5 valid positions.
fn sequences(device: &Device) -> (Tensor<2>, Tensor<2>, Vec<Vec<f64>>) {
    let masks = vec![
        vec![1.0, 1.0, 1.0, 1.0, 0.0],
        vec![1.0, 1.0, 0.0, 0.0, 0.0],
        vec![1.0; 5],
    ];
    let mask = tensor(masks.concat(), [3, 5], device);
    (tensor(values(21, 15), [3, 5], device), mask, masks)
}

/// Scores of a masked mean over positions: class `c` is `mean_valid tanh(a_c x + b_c)`.
fn masked_scores(x: Tensor<2>, mask: Tensor<2>) -> Tensor<2> {
    let device = x.device();
    let a = Tensor::<1>::from_floats([1.5, -0.7], &device).reshape([1, 1, 2]);
    let b = Tensor::<1>::from_floats([0.2, 0.4], &device).reshape([1, 1, 2]);
    let [n, l] = x.dims();
    let h = tanh(x.reshape([n, l, 1]) * a + b);
    let m = mask.reshape([n, l, 1]);
    let total: Tensor<3> = (h * m.clone()).sum_dim(1);
    (total / m.sum_dim(1)).reshape([n, 2])
}

fn a_masked_model_matches_one_sample_at_a_time_for_every_method(device: &Device) {
    let (x, mask, masks) = sequences(device);
    let model = WithAux::new(mask, masked_scores);
    // The reference: each sample alone, with its own mask captured by a plain closure (and
    // repeated for the rows of a pass).
    let alone_model = |i: usize| {
        let m = tensor(masks[i].clone(), [1, 5], device);
        move |x: Tensor<2>| {
            let n = x.dims()[0];
            masked_scores(x, m.clone().repeat_dim(0, n))
        }
    };
    let ig_fixed = || ig().with_quadrature(Quadrature::RiemannTrapezoid);
    let adaptive = || ig().with_tolerance(Some(1e-3)).with_max_steps(65);
    for max_rows in [None, Some(1), Some(4), Some(1000)] {
        let saliency = SaliencyConfig::new()
            .with_max_rows(max_rows)
            .init()
            .unwrap();
        let x_gradient = InputXGradientConfig::new()
            .with_max_rows(max_rows)
            .init()
            .unwrap();
        let fixed = ig_fixed().with_max_rows(max_rows).init().unwrap();
        let adaptive = adaptive().with_max_rows(max_rows).init().unwrap();
        let label = format!("max_rows {max_rows:?}");
        let check = |name: &str, batched: Vec<f64>, reference: Vec<f64>| {
            let diff = max_abs_diff(&batched, &reference);
            assert!(diff < 1e-5, "{name}, {label}: differs by {diff}");
        };
        let per_sample = |f: &dyn Fn(usize, Tensor<2>) -> Vec<f64>| -> Vec<f64> {
            (0..3)
                .flat_map(|i| f(i, x.clone().narrow(0, i, 1)))
                .collect()
        };
        check(
            "saliency",
            host(&saliency.attribute(&model, x.clone(), 1).unwrap().values),
            per_sample(&|i, row| {
                host(&saliency.attribute(&alone_model(i), row, 1).unwrap().values)
            }),
        );
        check(
            "input-x-gradient",
            host(&x_gradient.attribute(&model, x.clone(), 0).unwrap().values),
            per_sample(&|i, row| {
                host(
                    &x_gradient
                        .attribute(&alone_model(i), row, 0)
                        .unwrap()
                        .values,
                )
            }),
        );
        let batched = fixed.attribute(&model, x.clone(), 1).unwrap();
        check(
            "integrated-gradients",
            host(&batched.values),
            per_sample(&|i, row| host(&fixed.attribute(&alone_model(i), row, 1).unwrap().values)),
        );
        // Over a set of baselines, and GradientSHAP with replayed draws: the baselines'
        // scores are taken with each sample's mask, so values, baseline scores and deltas
        // equal one sample at a time.
        let set = BaselineSet::new(vec![2, 5], values(22, 10)).unwrap();
        let over_set = IntegratedGradientsConfig::new()
            .with_steps(8)
            .with_baselines(Some(set.clone()))
            .with_max_rows(max_rows)
            .init()
            .unwrap();
        let (index, alpha) = (vec![0, 1, 1, 0, 1, 0, 1, 1, 0], values(23, 9));
        let alpha: Vec<f64> = alpha.iter().map(|a| a.abs().min(1.0)).collect();
        let gshap = |range: std::ops::Range<usize>| {
            GradientShapConfig::new()
                .with_baselines(Some(set.clone()))
                .with_samples(3)
                .with_draws(Some(ember::PathDraws {
                    baseline: index[range.start * 3..range.end * 3].to_vec(),
                    alpha: alpha[range.start * 3..range.end * 3].to_vec(),
                }))
                .with_max_rows(max_rows)
                .init()
                .unwrap()
        };
        let figures = |out: Attributions<2>| -> Vec<f64> {
            let mut all = host(&out.values);
            all.extend(out.report.baseline_scores().unwrap());
            all.extend(out.report.delta().unwrap());
            all
        };
        let by_sample = |f: &dyn Fn(usize, Tensor<2>) -> Attributions<2>| -> Vec<f64> {
            let parts: Vec<Attributions<2>> =
                (0..3).map(|i| f(i, x.clone().narrow(0, i, 1))).collect();
            let mut all: Vec<f64> = parts.iter().flat_map(|p| host(&p.values)).collect();
            all.extend(
                parts
                    .iter()
                    .flat_map(|p| p.report.baseline_scores().unwrap().to_vec()),
            );
            all.extend(
                parts
                    .iter()
                    .flat_map(|p| p.report.delta().unwrap().to_vec()),
            );
            all
        };
        check(
            "integrated-gradients over a set",
            figures(over_set.attribute(&model, x.clone(), 1).unwrap()),
            by_sample(&|i, row| over_set.attribute(&alone_model(i), row, 1).unwrap()),
        );
        check(
            "gradient-shap",
            figures(gshap(0..3).attribute(&model, x.clone(), 0).unwrap()),
            by_sample(&|i, row| gshap(i..i + 1).attribute(&alone_model(i), row, 0).unwrap()),
        );
        // The forward-only evaluations (F(x), F(x′)) follow the mask too.
        check(
            "F(x)",
            batched.report.scores.clone(),
            per_sample(&|i, row| {
                fixed
                    .attribute(&alone_model(i), row, 1)
                    .unwrap()
                    .report
                    .scores
            }),
        );
        check(
            "adaptive IG",
            host(&adaptive.attribute(&model, x.clone(), 0).unwrap().values),
            per_sample(&|i, row| {
                host(&adaptive.attribute(&alone_model(i), row, 0).unwrap().values)
            }),
        );
        // Several targets: target-major, [2 · 3, 5].
        let classes = Target::Classes(vec![1, 0]);
        let both = host(&fixed.attribute(&model, x.clone(), classes).unwrap().values);
        let reference: Vec<f64> = [1, 0]
            .iter()
            .flat_map(|&c| {
                per_sample(&|i, row| {
                    host(&fixed.attribute(&alone_model(i), row, c).unwrap().values)
                })
            })
            .collect();
        check("several targets", both, reference);

        // SmoothGrad over IG: the mean over its noisy copies of IG at each copy, the copy's own
        // mask reaching it (copy s of sample b is row s · 3 + b).
        let smooth = smooth()
            .with_max_rows(max_rows)
            .init(fixed.clone())
            .unwrap();
        let noisy = smooth.noisy_inputs(&x).unwrap();
        let batched = host(&smooth.attribute(&model, x.clone(), 1).unwrap().values);
        let mut reference = vec![0.0; 15];
        for r in 0..9 {
            let row = noisy.clone().narrow(0, r, 1);
            let one = host(&fixed.attribute(&alone_model(r % 3), row, 1).unwrap().values);
            for (acc, v) in reference[(r % 3) * 5..(r % 3 + 1) * 5].iter_mut().zip(one) {
                *acc += v / 3.0;
            }
        }
        check("smoothgrad over IG", batched, reference);
    }
}

fn auxiliary_inputs_of_another_batch_are_a_typed_error(device: &Device) {
    let (x, mask, _) = sequences(device);
    let model = WithAux::new(mask.narrow(0, 0, 2), masked_scores);
    let err = SaliencyConfig::new()
        .init()
        .unwrap()
        .attribute(&model, x, 0)
        .unwrap_err();
    assert_eq!(
        err,
        Error::AuxiliaryBatchMismatch {
            auxiliary: 2,
            batch: 3
        }
    );
}

fn a_refused_closure_says_the_running_statistics_moved(device: &Device) {
    let net = BatchNormNet::trained(device);
    let before = net.state();
    // The form a new user writes first: a closure over the module as loaded (training mode).
    let model = |x: Tensor<4>| net.forward(x);
    let err = SaliencyConfig::new()
        .init()
        .unwrap()
        .attribute(&model, image(device), 0)
        .unwrap_err();
    assert!(
        matches!(err, Error::ModelRowsCoupled { sample: 0, .. }),
        "{err}"
    );
    let message = err.to_string();
    assert!(
        message.contains("running statistics have moved"),
        "{message}"
    );
    assert!(message.contains("reload its weights"), "{message}");
    assert!(
        message.contains("ember::eval(&module, Module::forward)"),
        "{message}"
    );
    // What the message says is so: the check ran the module in training mode on autodiff rows.
    assert_ne!(net.state(), before, "the running statistics did not move");
}

fn ember_wrappers_leave_a_training_mode_module_unchanged(device: &Device) {
    let net = BatchNormNet::trained(device);
    let before = net.state();
    let x = image(device);
    let saliency = SaliencyConfig::new().init().unwrap();
    let integrated = ig().init().unwrap();
    let explained = |name: &str, result: Result<Attributions<4>, Error>| {
        let out = result.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(out.values.dims()[0], 3, "{name}");
        assert_eq!(net.state(), before, "{name} changed the module");
    };

    let model = ember::eval(&net, BatchNormNet::forward);
    explained("eval, saliency", saliency.attribute(&model, x.clone(), 0));
    explained("eval, IG", integrated.attribute(&model, x.clone(), 1));
    explained(
        "eval, smoothgrad",
        smooth()
            .init(saliency.clone())
            .unwrap()
            .attribute(&model, x.clone(), 0),
    );

    // A per-sample scale of the logits, as an auxiliary input.
    let scale = tensor(vec![1.0, 2.0, 0.5], [3, 1], device);
    let scaled = |net: &BatchNormNet, x: Tensor<4>, s: Tensor<2>| net.forward(x) * s;
    let model = ember::eval_with(&net, scale.clone(), scaled);
    explained(
        "eval_with, saliency",
        saliency.attribute(&model, x.clone(), 0),
    );
    explained("eval_with, IG", integrated.attribute(&model, x.clone(), 1));

    let split = ember::eval_split(&net, BatchNormNet::features, BatchNormNet::classify);
    let cam = GradCamConfig::new().init().unwrap();
    explained(
        "eval_split, grad-cam",
        cam.attribute_layer(&split, x.clone(), 0),
    );
    let layer_ig = LayerIntegratedGradientsConfig::new()
        .with_integrated_gradients(ig())
        .init()
        .unwrap();
    explained(
        "eval_split, layer IG",
        layer_ig.attribute_layer(&split, x.clone(), 1),
    );

    let split = ember::eval_split_with(
        &net,
        scale,
        |net: &BatchNormNet, x: Tensor<4>, _: Tensor<2>| net.features(x),
        |net: &BatchNormNet, h: Tensor<4>, s: Tensor<2>| net.classify(h) * s,
    );
    explained(
        "eval_split_with, layer gradient",
        LayerGradientConfig::new()
            .init()
            .unwrap()
            .attribute_layer(&split, x.clone(), 0),
    );

    // The module is still the user's, in training mode: the next training step moves it.
    let _ = net.forward(x.autodiff());
    assert_ne!(net.state(), before, "the module left training mode");
}

fn a_closure_over_the_whole_batchs_mask_is_a_typed_error(device: &Device) {
    let (x, mask, _) = sequences(device);
    // The whole [3, 5] mask, captured: a block of another number of rows cannot take it.
    let model = move |x: Tensor<2>| masked_scores(x, mask.clone());
    let err = SaliencyConfig::new()
        .init()
        .unwrap()
        .attribute(&model, x, 0)
        .unwrap_err();
    assert!(matches!(err, Error::ModelPanicked { rows: 2, .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains("ember::eval_with"), "{message}");
    assert!(message.contains("WithAux"), "{message}");
}
