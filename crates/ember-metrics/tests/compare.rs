//! Comparing methods on a user's own Burn module, on every backend: the randomisation cascade
//! re-initialises exactly the expected layers with exactly the expected draws, the comparison
//! runs every method and metric and reports its progress, the sanity check's input-nonzero
//! variant ignores what the input zeroes, the report is written, and bad input is a typed error.
//!
//! Each body runs as `flex::name`, `ndarray::name` and `wgpu::name`.

mod common;

use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use common::{host, tensor, values};
use ember_core::rng::SplitMix64;
use ember_core::{Error, Target, eval};
use ember_methods::{BaseMethod, MethodSettings, MethodSpec, SmoothKind};
use ember_metrics::compare::{
    CompareConfig, CustomCascade, ModuleCascade, Progress, RandomisedModels, ReportLayout,
    write_report,
};
use ember_metrics::{ModelRandomisationConfig, SanityFeatures};

backend_tests!(
    the_cascade_reinitialises_a_user_module_layer_by_layer,
    a_comparison_runs_every_method_and_metric_and_reports_progress,
    input_nonzero_sanity_ignores_the_features_the_input_zeroes,
    the_report_of_a_comparison_is_written_with_its_files,
    bad_comparisons_are_typed_errors,
    a_colour_image_report_draws_the_photo_in_colour,
);

/// A user's module: a convolution, a norm, a list of linear layers and a parameter of its own.
#[derive(Module, Debug)]
struct Net {
    conv: Conv2d,
    norm: BatchNorm,
    blocks: Vec<Linear>,
    scale: Param<Tensor<1>>,
}

impl Net {
    fn new(device: &Device) -> Self {
        Net {
            conv: Conv2dConfig::new([1, 2], [3, 3]).init(device),
            norm: BatchNormConfig::new(2).init(device),
            blocks: vec![
                LinearConfig::new(8, 5).init(device),
                LinearConfig::new(5, 3).init(device),
            ],
            scale: Param::from_tensor(Tensor::from_floats([1.0, 2.0, 3.0], device)),
        }
    }

    /// `[N, 1, 4, 4]` → `[N, 3]`.
    fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let x = relu(self.norm.forward(self.conv.forward(x)));
        let n = x.dims()[0];
        let x = relu(self.blocks[0].forward(x.reshape([n, 8])));
        self.blocks[1].forward(x) * self.scale.val().unsqueeze_dim(0)
    }
}

/// The first parameter of each layer of `net`, on the host, by layer path.
fn parameters(net: &Net) -> Vec<(&'static str, Vec<f64>)> {
    vec![
        ("", host(&net.scale.val())),
        ("blocks.1", host(&net.blocks[1].weight.val())),
        ("blocks.0", host(&net.blocks[0].weight.val())),
        ("norm", host(&net.norm.gamma.val())),
        ("conv", host(&net.conv.weight.val())),
    ]
}

/// `count` uniform draws in `±bound` from `rng`, as PyTorch's `reset_parameters` bounds them.
fn uniform(rng: &mut SplitMix64, count: usize, bound: f64) -> Vec<f64> {
    (0..count)
        .map(|_| bound * (2.0 * rng.next_f64() - 1.0))
        .collect()
}

fn the_cascade_reinitialises_a_user_module_layer_by_layer(device: &Device) {
    let net = Net::new(device);
    let seed = 7;
    let cascade = ModuleCascade::new(net.clone(), |m: &Net| eval(m, Net::forward)).with_seed(seed);
    // From the output side: the module's own parameter, the linear layers, the norm, the conv.
    assert_eq!(
        RandomisedModels::<4>::layers(&cascade),
        ["", "blocks.1", "blocks.0", "norm", "conv"]
    );
    // The expected first parameter of each layer once re-initialised (layer i of the cascade
    // from seed + i): standard normal without a matrix, ±1/√fan_in for linear layers (fan_in
    // the input width) and convolutions (fan_in = 1 · 3 · 3), scale 1 for the norm.
    let mut rng = SplitMix64::new(seed);
    let root: Vec<f64> = (0..3).map(|_| rng.next_normal()).collect();
    let expected = [
        root,
        uniform(&mut SplitMix64::new(seed + 1), 5 * 3, 1.0 / 5f64.sqrt()),
        uniform(&mut SplitMix64::new(seed + 2), 8 * 5, 1.0 / 8f64.sqrt()),
        vec![1.0; 2],
        uniform(&mut SplitMix64::new(seed + 4), 2 * 9, 1.0 / 3.0),
    ];
    let original = parameters(&net);
    for step in 0..5 {
        let randomised = cascade.module(step).unwrap();
        for (layer, (path, values)) in parameters(&randomised).into_iter().enumerate() {
            let want = if layer <= step {
                &expected[layer]
            } else {
                &original[layer].1
            };
            let worst = common::max_abs_diff(&values, want);
            assert!(worst < 1e-6, "step {step}, layer `{path}`: off by {worst}");
        }
        // The bias of a re-initialised linear layer shares its weight's bound and generator.
        if step >= 1 {
            let mut rng = SplitMix64::new(seed + 1);
            let _weight = uniform(&mut rng, 15, 1.0 / 5f64.sqrt());
            let bias = uniform(&mut rng, 3, 1.0 / 5f64.sqrt());
            let got = host(&randomised.blocks[1].bias.as_ref().unwrap().val());
            assert!(common::max_abs_diff(&got, &bias) < 1e-6);
        }
        // The running statistics are buffers: never re-initialised.
        assert_eq!(
            host(&randomised.norm.running_var.value()),
            host(&net.norm.running_var.value())
        );
    }
    // A chosen order and labels, and a step past the end.
    let chosen = ModuleCascade::new(net, |m: &Net| eval(m, Net::forward))
        .with_layers(["conv", "blocks.1"])
        .with_labels(["first", "second"])
        .unwrap();
    assert_eq!(RandomisedModels::<4>::layers(&chosen), ["first", "second"]);
    assert!(matches!(
        chosen.module(2),
        Err(Error::InvalidConfig { name: "step", .. })
    ));
}

fn digits(device: &Device, n: usize) -> Tensor<4> {
    tensor(
        values(3, n * 16).iter().map(|v| v.max(0.0)).collect(),
        [n, 1, 4, 4],
        device,
    )
}

fn config(methods: Vec<MethodSpec>) -> CompareConfig {
    CompareConfig::new()
        .with_methods(methods)
        .with_settings(MethodSettings::new().with_steps(8).with_samples(4))
        .with_perturbations(2)
        .with_curve_steps(4)
}

fn a_comparison_runs_every_method_and_metric_and_reports_progress(device: &Device) {
    let net = Net::new(device);
    let model = eval(&net, Net::forward);
    let cascade = ModuleCascade::new(net.clone(), |m: &Net| eval(m, Net::forward));
    let methods = vec![
        MethodSpec::Base(BaseMethod::Saliency),
        MethodSpec::Base(BaseMethod::IntegratedGradients),
        MethodSpec::smooth(SmoothKind::Variance, BaseMethod::InputXGradient),
        MethodSpec::Base(BaseMethod::Saliency),
    ];
    let mut seen: Vec<Progress> = Vec::new();
    let comparison = config(methods)
        .run(
            &model,
            digits(device, 3),
            Target::Predicted,
            &cascade,
            &mut |p| seen.push(p),
        )
        .unwrap();
    let r = &comparison.results;
    let names: Vec<&str> = r.methods.iter().map(|m| m.method.as_str()).collect();
    // The repeated method runs once.
    assert_eq!(
        names,
        [
            "saliency",
            "integrated-gradients",
            "vargrad:input-x-gradient"
        ]
    );
    // 3 methods × (4 stages + 5 layers), then the end.
    assert_eq!(seen.len(), 3 * 9 + 1);
    assert!(
        seen.iter()
            .enumerate()
            .all(|(i, p)| p.done == i && p.total == 27)
    );
    assert_eq!(seen.last().unwrap().stage, "");
    for m in &r.methods {
        assert_eq!(m.sanity.layers.len(), 5);
        assert_eq!(m.max_sensitivity.len(), 3);
        assert_eq!(m.deletion.fractions.len(), 4);
        assert_eq!(m.sanity.features, SanityFeatures::All);
    }
    // Completeness only for the path method; its delta is small with 8 Gauss-Legendre steps.
    assert!(r.methods[0].completeness.is_none());
    assert!(r.methods[1].completeness.is_some());
    assert_eq!(r.rank_agreement.matrix[1][1], 1.0);
    assert_eq!(r.rank_agreement.matrix[0][1], r.rank_agreement.matrix[1][0]);
    // The explained classes are the model's predictions.
    let outputs = host(&Net::forward(&net.valid(), digits(device, 3)));
    for (i, e) in r.examples.iter().enumerate() {
        let row = &outputs[i * 3..i * 3 + 3];
        let best = (0..3).fold(0, |b, c| if row[c] > row[b] { c } else { b });
        assert_eq!(e.predicted, best);
        assert!((e.score - row[best]).abs() < 1e-4);
    }
    assert_eq!(comparison.attributions.len(), 3);
    assert_eq!(comparison.attributions[0].len(), 3 * 16);
    assert_eq!(comparison.signed, [true, true, false]);
    assert_eq!(r.settings.randomised_layers.len(), 5);
}

fn input_nonzero_sanity_ignores_the_features_the_input_zeroes(device: &Device) {
    // Gradient × input on two "models": the features the input zeroes are 0 under both, the
    // others are reversed. Ranking every feature counts the shared zeros as agreement.
    let input = tensor(vec![0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 4.0], [1, 8], device);
    let original = tensor(vec![0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 4.0], [1, 8], device);
    let randomised = tensor(vec![0.0, 0.0, 0.0, 0.0, 4.0, 3.0, 2.0, 1.0], [1, 8], device);
    let check = |features| {
        let check = ModelRandomisationConfig::new()
            .with_features(features)
            .init()
            .unwrap();
        let mut cascade = check.cascade_on(original.clone(), input.clone()).unwrap();
        cascade.step("all", randomised.clone()).unwrap();
        cascade.finish().unwrap()
    };
    let all = check(SanityFeatures::All);
    let nonzero = check(SanityFeatures::InputNonZero);
    assert!(all.similarity[0] > 0.4, "{:?}", all.similarity);
    assert!((nonzero.similarity[0] + 1.0).abs() < 1e-12);
    assert!(!all.passes && nonzero.passes);
    assert_eq!(nonzero.features, SanityFeatures::InputNonZero);
    // Without the input, the variant cannot run.
    let variant = ModelRandomisationConfig::new()
        .with_features(SanityFeatures::InputNonZero)
        .init()
        .unwrap();
    assert!(matches!(
        variant.cascade(original),
        Err(Error::InvalidConfig {
            name: "features",
            ..
        })
    ));
}

fn the_report_of_a_comparison_is_written_with_its_files(device: &Device) {
    let net = Net::new(device);
    let model = eval(&net, Net::forward);
    let cascade = ModuleCascade::new(net, |m: &Net| eval(m, Net::forward));
    let mut comparison = config(vec![MethodSpec::Base(BaseMethod::InputXGradient)])
        .with_sanity_features(SanityFeatures::InputNonZero)
        .run(
            &model,
            digits(device, 2),
            Target::Class(1),
            &cascade,
            &mut |_| {},
        )
        .unwrap();
    assert!(comparison.results.examples.iter().all(|e| e.predicted == 1));
    let dir = tempfile::tempdir().unwrap();
    let layout = ReportLayout::for_shape(&comparison.shape);
    assert_eq!(
        layout,
        ReportLayout::Image {
            height: 4,
            width: 4
        }
    );
    let files = write_report(&mut comparison, &layout, dir.path()).unwrap();
    assert_eq!(
        files,
        ["grid.png", "overlays.png", "results.json", "index.html"]
    );
    for file in &files {
        assert!(dir.path().join(file).is_file(), "{file}");
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("results.json")).unwrap())
            .unwrap();
    assert_eq!(json["settings"]["sanity_features"], "input-nonzero");
    assert_eq!(json["files"].as_array().unwrap().len(), 4);
    let page = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
    assert!(page.contains("input-nonzero"));
    // A layout that does not fit is a typed error, not a wrong picture.
    let wrong = ReportLayout::Image {
        height: 3,
        width: 3,
    };
    assert!(write_report(&mut comparison, &wrong, dir.path()).is_err());
}

fn bad_comparisons_are_typed_errors(device: &Device) {
    let net = Net::new(device);
    let model = eval(&net, Net::forward);
    let cascade = ModuleCascade::new(net.clone(), |m: &Net| eval(m, Net::forward));
    let x = digits(device, 2);
    let run = |config: CompareConfig, target: Target, cascade: &dyn RandomisedModels<4>| {
        config.run(&model, x.clone(), target, cascade, &mut |_| {})
    };
    let saliency = || config(vec![MethodSpec::Base(BaseMethod::Saliency)]);
    let invalid = |result: Result<_, Error>, what: &str| match result {
        Err(Error::InvalidConfig { name, .. }) => assert_eq!(name, what),
        Err(other) => panic!("{what}: {other}"),
        Ok(_) => panic!("{what}: no error"),
    };
    invalid(
        run(config(Vec::new()), Target::Predicted, &cascade),
        "methods",
    );
    invalid(
        run(saliency(), Target::Classes(vec![0, 1]), &cascade),
        "target",
    );
    let none = CustomCascade::new(Vec::<String>::new(), |_| Ok(eval(&net, Net::forward)));
    invalid(run(saliency(), Target::Predicted, &none), "randomised");
    invalid(
        run(
            config(vec![MethodSpec::Base(BaseMethod::IntegratedGradients)])
                .with_settings(MethodSettings::new().with_steps(0)),
            Target::Predicted,
            &cascade,
        ),
        "steps",
    );
    assert!(matches!(
        run(saliency(), Target::Class(3), &cascade),
        Err(Error::TargetOutOfRange { .. })
    ));
    // A cascade whose models come from a closure: its errors reach the caller.
    let failing = CustomCascade::new(["head", "body"], |step| {
        if step == 0 {
            return Err(Error::InvalidConfig {
                name: "weights",
                value: "missing".into(),
                expected: "a weights file",
            });
        }
        Ok(eval(&net, Net::forward))
    });
    let failing: &dyn RandomisedModels<4> = &failing;
    invalid(run(saliency(), Target::Predicted, failing), "weights");
}

fn a_colour_image_report_draws_the_photo_in_colour(device: &Device) {
    // A linear model of [N, 3, 2, 2] images; its cascade replaces the weights by a closure.
    let weights = |seed: u64| tensor(values(seed, 12 * 2), [12, 2], device);
    let (trained, random) = (weights(1), weights(2));
    let model = move |x: Tensor<4>| x.reshape([-1, 12]).matmul(trained.clone());
    let cascade = CustomCascade::new(["w"], move |_| {
        let w = random.clone();
        Ok(move |x: Tensor<4>| x.reshape([-1, 12]).matmul(w.clone()))
    });
    // Two photos: red, and blue with one white pixel.
    let mut photos = vec![0.0; 2 * 12];
    photos[..4].copy_from_slice(&[1.0; 4]);
    photos[12 + 8..12 + 12].copy_from_slice(&[1.0; 4]);
    photos[12] = 1.0;
    photos[12 + 4] = 1.0;
    let mut comparison = config(vec![MethodSpec::Base(BaseMethod::InputXGradient)])
        .run(
            &model,
            tensor(photos, [2, 3, 2, 2], device),
            Target::Class(0),
            &cascade,
            &mut |_| {},
        )
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let layout = ReportLayout::for_shape(&comparison.shape);
    write_report(&mut comparison, &layout, dir.path()).unwrap();
    // The overlays' first column is the input: red, then blue with a white corner.
    let overlays = image::open(dir.path().join("overlays.png"))
        .unwrap()
        .to_rgb8();
    let pixel = |x: u32, y: u32| overlays.get_pixel(x, y).0;
    // Cells are 2 × 12 pixels (the scale is at most 12) after a 4-pixel padding.
    assert_eq!(pixel(4 + 16, 4 + 6), [255, 0, 0]);
    let second_row = 4 + 24 + 4;
    assert_eq!(pixel(4 + 6, second_row + 6), [255, 255, 255]);
    assert_eq!(pixel(4 + 18, second_row + 6), [0, 0, 255]);
}
