//! Is this explanation faithful? Explains the shipped digits CNN on the first 8 test digits by
//! saliency, Integrated Gradients and SmoothGrad, then scores each method: deletion and
//! insertion AUC, Gini sparseness, and the cascading model-randomisation sanity check.
//!
//! ```text
//! cargo run -p metrics -- --device flex
//! ```

use std::error::Error;

use clap::Parser;
use ember::burn::tensor::TensorData;
use ember::prelude::*;
use ember_metrics::{CurveMode, ModelRandomisationConfig, PerturbationCurveConfig};
use ember_zoo::data::digits_split;
use ember_zoo::{Cnn, Randomize, ZooModel};

/// How many test digits to explain.
const DIGITS: usize = 8;
/// The seed of SmoothGrad's noise and of the randomised layers.
const SEED: u64 = 0;

/// Scores saliency, Integrated Gradients and SmoothGrad on the shipped digits CNN.
#[derive(Parser, Debug)]
struct Args {
    /// The backend: flex, ndarray, wgpu or vulkan.
    #[arg(long, default_value = "flex")]
    device: Backend,
}

/// The compared methods.
#[derive(Debug, Clone, Copy)]
enum Method {
    Saliency,
    IntegratedGradients,
    SmoothGrad,
}

impl Method {
    const ALL: [Method; 3] = [
        Method::Saliency,
        Method::IntegratedGradients,
        Method::SmoothGrad,
    ];

    fn name(self) -> &'static str {
        match self {
            Method::Saliency => "saliency",
            Method::IntegratedGradients => "integrated gradients",
            Method::SmoothGrad => "smoothgrad",
        }
    }

    /// The method's attributions of `cnn` on `inputs` for `target`.
    fn explain(
        self,
        cnn: &Cnn,
        inputs: Tensor<4>,
        target: Target,
    ) -> ember::Result<Attributions<4>> {
        let model = ember::eval(cnn, Cnn::forward);
        match self {
            Method::Saliency => SaliencyConfig::new()
                .init()?
                .attribute(&model, inputs, target),
            Method::IntegratedGradients => IntegratedGradientsConfig::new()
                .init()?
                .attribute(&model, inputs, target),
            Method::SmoothGrad => SmoothGradConfig::new()
                .with_seed(SEED)
                .init(SaliencyConfig::new().init()?)?
                .attribute(&model, inputs, target),
        }
    }
}

fn run(device: Device) -> Result<(), Box<dyn Error>> {
    let cnn = ember_zoo::shipped::cnn(&device)?;
    let model = ember::eval(&cnn, Cnn::forward);
    let test = digits_split().test;
    let inputs = Tensor::<4>::from_data(
        TensorData::new(test.inputs[..DIGITS * 64].to_vec(), [DIGITS, 1, 8, 8]),
        &device,
    );
    let deletion = PerturbationCurveConfig::new().init()?;
    let insertion = PerturbationCurveConfig::new()
        .with_mode(CurveMode::Insertion)
        .init()?;
    let randomisation = ModelRandomisationConfig::new().init()?;
    let layers = ZooModel::Cnn.layers_top_down();

    println!(
        "{:<22} {:>10} {:>10} {:>6}   similarity after randomising {}",
        "method",
        "deletion↓",
        "insertion↑",
        "gini",
        layers.join(" → ")
    );
    let (mut predicted, mut ig_report) = (Vec::new(), None);
    for method in Method::ALL {
        // The predicted class of each digit, explained on the trained and randomised models.
        let maps = method.explain(&cnn, inputs.clone(), Target::Predicted)?;
        let targets = maps.report.targets.clone();
        let deleted = deletion.curve(&model, inputs.clone(), maps.values.clone(), &targets)?;
        let inserted = insertion.curve(&model, inputs.clone(), maps.values.clone(), &targets)?;
        let gini = ember_metrics::gini(maps.values.clone())?;
        let sparseness = gini.iter().sum::<f64>() / gini.len() as f64;

        let mut cascade = randomisation.cascade(maps.values)?;
        for (i, layer) in layers.iter().enumerate() {
            let randomised = cnn.clone().randomize_layers(&layers[..=i], SEED)?;
            let target = Target::PerSample(targets.clone());
            let values = method.explain(&randomised, inputs.clone(), target)?.values;
            cascade.step(*layer, values)?;
        }
        let check = cascade.finish()?;
        let similarity: Vec<String> = check
            .similarity
            .iter()
            .map(|s| format!("{s:+.3}"))
            .collect();
        println!(
            "{:<22} {:>10.4} {:>10.4} {:>6.3}   {}  {} (< {})",
            method.name(),
            deleted.auc,
            inserted.auc,
            sparseness,
            similarity.join("  "),
            if check.passes { "passes" } else { "FAILS" },
            check.threshold
        );
        if let Method::IntegratedGradients = method {
            ig_report = Some(maps.report);
        }
        predicted = targets;
    }
    println!(
        "{DIGITS} test digits: labels {:?}, predicted {predicted:?}",
        &test.labels[..DIGITS]
    );
    if let Some(summary) = ig_report.as_ref().and_then(ember_metrics::completeness) {
        println!(
            "integrated gradients' completeness over {} digits: mean |delta| {:.2e}, max {:.2e}, \
             mean relative {}",
            summary.samples,
            summary.mean_abs_delta,
            summary.max_abs_delta,
            summary
                .mean_relative_delta
                .map_or("n/a".into(), |r| format!("{r:.2e}"))
        );
    }
    Ok(())
}

fn main() {
    let args = Args::parse();
    let result = args.device.device().map_err(Into::into).and_then(run);
    if let Err(error) = result {
        eprintln!("error: {error}");
        std::process::exit(2);
    }
}
