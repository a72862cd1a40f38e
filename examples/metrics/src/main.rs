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
use ember::{AnyMethod, MethodSettings, MethodSpec};
use ember_metrics::{CurveMode, ModelRandomisationConfig, PerturbationCurveConfig};
use ember_zoo::data::digits_split;
use ember_zoo::{Cnn, ZooModel};

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

/// The compared methods, by their names in ember's registry (`ember::registry`).
const METHODS: [&str; 3] = ["saliency", "integrated-gradients", "smoothgrad"];

/// A method's attributions of `cnn` on `inputs` for `target`, in eval mode.
fn explain(
    method: &AnyMethod,
    cnn: &Cnn,
    inputs: Tensor<4>,
    target: Target,
) -> ember::Result<Attributions<4>> {
    method.attribute(&ember::eval(cnn, Cnn::forward), inputs, target)
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
    for name in METHODS {
        let spec: MethodSpec = name.parse()?;
        let method = spec.build(&MethodSettings::new().with_seed(SEED))?;
        // The predicted class of each digit, explained on the trained and randomised models.
        let maps = explain(&method, &cnn, inputs.clone(), Target::Predicted)?;
        let targets = maps.report.targets.clone();
        let deleted = deletion.curve(&model, inputs.clone(), maps.values.clone(), &targets)?;
        let inserted = insertion.curve(&model, inputs.clone(), maps.values.clone(), &targets)?;
        let gini = ember_metrics::gini(maps.values.clone())?;
        let sparseness = gini.iter().sum::<f64>() / gini.len() as f64;

        let mut cascade = randomisation.cascade(maps.values)?;
        for (i, layer) in layers.iter().enumerate() {
            let paths = &ZooModel::Cnn.layer_paths_top_down()[..=i];
            let randomised = ember::metrics::reinit::reinitialise(cnn.clone(), paths, SEED)?;
            let target = Target::PerSample(targets.clone());
            let values = explain(&method, &randomised, inputs.clone(), target)?.values;
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
            spec.name(),
            deleted.auc,
            inserted.auc,
            sparseness,
            similarity.join("  "),
            if check.passes { "passes" } else { "FAILS" },
            check.threshold
        );
        if name == "integrated-gradients" {
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
