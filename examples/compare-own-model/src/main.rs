//! Compares attribution methods on a Burn model of your own, from Rust.
//!
//! The model is defined here, not taken from the zoo: a small CNN for 8×8 digits with
//! BatchNorm and Dropout, trained for a few epochs. Every method then explains its predictions
//! on the first test digits, every metric scores every method, and the report `ember compare`
//! writes (`index.html`, `results.json`, PNGs) is written to `--out`.
//!
//! ```text
//! cargo run -p compare-own-model -- --out own-model-report
//! ```

use std::error::Error;
use std::path::PathBuf;

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::{
    BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Linear, LinearConfig, PaddingConfig2d,
};
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::activation::relu;
use burn::tensor::{Int, TensorData};
use clap::Parser;
use ember::compare::{CompareConfig, ModuleCascade, ReportLayout, write_report};
use ember::kernel::loss_gradients;
use ember::prelude::*;
use ember::{LayerMethod, MethodSettings, MethodSpec, WithLayer};
use ember_zoo::data::{Dataset, digits_split};

/// Trains a small digits CNN of its own and compares every method on it.
#[derive(Parser, Debug)]
struct Args {
    /// The backend: flex, ndarray, wgpu or vulkan.
    #[arg(long, default_value = "flex")]
    device: Backend,
    /// The report's directory.
    #[arg(long, default_value = "own-model-report")]
    out: PathBuf,
    /// Test digits to explain.
    #[arg(long, default_value_t = 8)]
    examples: usize,
    /// Training epochs.
    #[arg(long, default_value_t = 4)]
    epochs: usize,
    /// The methods, comma-separated (default: every method, and grad-cam of the conv block).
    #[arg(long, value_delimiter = ',')]
    methods: Vec<String>,
    /// The seed of the weights, the training order, the noise and the randomised layers.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Integrate from the mean training digit instead of black (Integrated Gradients and its
    /// noise tunnels).
    #[arg(long)]
    mean_baseline: bool,
}

/// The model: conv 3×3 (8 channels) → BatchNorm → ReLU → Dropout → linear to 10 classes.
#[derive(Module, Debug)]
struct DigitNet {
    conv: Conv2d,
    norm: BatchNorm,
    dropout: Dropout,
    head: Linear,
}

impl DigitNet {
    fn new(device: &Device) -> Self {
        DigitNet {
            conv: Conv2dConfig::new([1, 8], [3, 3])
                .with_padding(PaddingConfig2d::Same)
                .init(device),
            norm: BatchNormConfig::new(8).init(device),
            dropout: DropoutConfig::new(0.2).init(),
            head: LinearConfig::new(8 * 8 * 8, 10).init(device),
        }
    }

    /// `[N, 1, 8, 8]` → logits `[N, 10]`.
    fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        self.classify(self.features(x))
    }

    /// The conv block's output `[N, 8, 8, 8]`: the layer Grad-CAM explains (the split's head).
    fn features(&self, x: Tensor<4>) -> Tensor<4> {
        self.dropout
            .forward(relu(self.norm.forward(self.conv.forward(x))))
    }

    /// The logits from the conv block's output (the split's tail).
    fn classify(&self, features: Tensor<4>) -> Tensor<2> {
        let n = features.dims()[0];
        self.head.forward(features.reshape([n, 8 * 8 * 8]))
    }
}

// ANCHOR: explained
type FeaturesFn = fn(&DigitNet, Tensor<4>) -> Tensor<4>;
type ClassifyFn = fn(&DigitNet, Tensor<4>) -> Tensor<2>;

/// The model in eval mode (BatchNorm's running statistics, no Dropout), split at its conv
/// block so that Grad-CAM can explain that layer: `WithLayer` is still a model of the input.
fn explained(net: &DigitNet) -> WithLayer<ember::EvalSplit<DigitNet, FeaturesFn, ClassifyFn>> {
    WithLayer::new(ember::eval_split(
        net,
        DigitNet::features as FeaturesFn,
        DigitNet::classify as ClassifyFn,
    ))
}
// ANCHOR_END: explained

/// `data`'s digits as `[N, 1, 8, 8]`.
fn images(data: &Dataset, device: &Device) -> Tensor<4> {
    Tensor::from_data(
        TensorData::new(data.inputs.clone(), [data.len(), 1, 8, 8]),
        device,
    )
}

/// A few epochs of Adam on the digits' training split (BatchNorm and Dropout in training
/// mode, as Burn runs them on an autodiff device).
fn train(device: &Device, epochs: usize, seed: u64) -> Result<DigitNet, Box<dyn Error>> {
    let device = device.clone().autodiff();
    device.seed(seed);
    let train = digits_split().train;
    let mut model = DigitNet::new(&device);
    let mut optimizer = AdamConfig::new().init();
    let loss = CrossEntropyLossConfig::new().init(&device);
    let mut order: Vec<usize> = (0..train.len()).collect();
    let mut rng = ember::rng::SplitMix64::new(seed);
    for epoch in 0..epochs {
        rng.shuffle(&mut order);
        let mut total = 0.0;
        for chunk in order.chunks(64) {
            let batch = train.select(chunk);
            let labels: Vec<i64> = batch.labels.iter().map(|&l| l as i64).collect();
            let y = Tensor::<1, Int>::from_data(TensorData::new(labels, [batch.len()]), &device);
            let value = loss.forward(model.forward(images(&batch, &device)), y);
            total += ember::validate::read_f64(value.clone())?[0] * batch.len() as f64;
            let grads = GradientsParams::from_grads(loss_gradients(&value), &model);
            model = optimizer.step(1e-2, model, grads);
        }
        println!(
            "epoch {}: mean loss {:.3}",
            epoch + 1,
            total / train.len() as f64
        );
    }
    Ok(model)
}

fn run(args: &Args) -> Result<(), Box<dyn Error>> {
    let device = args.device.device()?;
    let net = train(&device, args.epochs, args.seed)?;

    // ANCHOR: grad_cam
    // The model in eval mode, split at its conv block, and the cascade of randomised copies
    // for the sanity check: every layer with parameters, from the output side (head, norm,
    // conv), re-initialised as PyTorch initialises a fresh layer. Both are `WithLayer`, so
    // Grad-CAM finds the conv block in the trained model and in every randomised copy.
    let model = explained(&net);
    let cascade = ModuleCascade::new(net.clone(), explained).with_seed(args.seed);

    let test = digits_split().test;
    let n = args.examples.clamp(1, test.len());
    let digits = test.select(&(0..n).collect::<Vec<_>>());
    let methods = if args.methods.is_empty() {
        // Every input method, and Grad-CAM of the conv block.
        let mut all = MethodSpec::ALL.to_vec();
        all.push(MethodSpec::Layer(LayerMethod::GradCam));
        all
    } else {
        args.methods
            .iter()
            .map(|m| m.parse())
            .collect::<Result<_, _>>()?
    };
    // ANCHOR_END: grad_cam
    // ANCHOR: baseline
    let mut settings = MethodSettings::new().with_samples(20).with_seed(args.seed);
    if args.mean_baseline {
        // A baseline of one sample, [1, 1, 8, 8], broadcast over the batch.
        let train = digits_split().train;
        let mean = images(&train, &device).mean_dim(0);
        settings = settings.with_baseline(Baseline::from_tensor(mean)?);
    }
    // ANCHOR_END: baseline
    let mut comparison = CompareConfig::new()
        .with_methods(methods)
        .with_settings(settings)
        .with_seed(args.seed)
        .with_model_name("DigitNet (this example)".into())
        .with_weights(format!("trained here, {} epochs", args.epochs))
        .with_dataset("digits".into())
        .with_device_name(Some(args.device.to_string()))
        .run(
            &model,
            images(&digits, &device),
            Target::Predicted,
            &cascade,
            &mut |p| {
                if !p.stage.is_empty() {
                    eprintln!("[{}/{}] {}", p.done + 1, p.total, p.stage);
                }
            },
        )?;
    for (example, &label) in comparison.results.examples.iter_mut().zip(&digits.labels) {
        example.label = Some(label);
    }
    let files = write_report(
        &mut comparison,
        &ReportLayout::Image {
            height: 8,
            width: 8,
        },
        &args.out,
    )?;

    println!(
        "{:<22} {:>10} {:>10} {:>12}",
        "method", "deletion↓", "insertion↑", "sanity"
    );
    for r in &comparison.results.methods {
        println!(
            "{:<22} {:>10.4} {:>10.4} {:>12}",
            r.method,
            r.deletion.auc,
            r.insertion.auc,
            format!(
                "{:+.3} {}",
                r.sanity.similarity.last().copied().unwrap_or(f64::NAN),
                if r.sanity.passes { "pass" } else { "FAIL" }
            )
        );
    }
    println!(
        "randomised layers: {}; wrote {} ({})",
        comparison.results.settings.randomised_layers.join(", "),
        args.out.join("index.html").display(),
        files.join(", ")
    );
    Ok(())
}

fn main() {
    let args = Args::parse();
    if let Err(error) = run(&args) {
        eprintln!("error: {error}");
        std::process::exit(2);
    }
}
