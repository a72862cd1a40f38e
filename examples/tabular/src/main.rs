//! Which breast-cancer features drive the shipped tabular model? Prints the top features by
//! mean |attribution| over the test split, with their names, by gradient × input or by
//! Integrated Gradients (with its completeness check, the delta).
//!
//! ```text
//! cargo run -p tabular -- --device flex --top 10
//! cargo run -p tabular -- --method integrated-gradients --steps 32
//! ```

use clap::Parser;
use ember::burn::tensor::TensorData;
use ember::prelude::*;
use ember_zoo::data::breast_cancer_split;

/// Ranks the breast-cancer features by their attribution.
#[derive(Parser, Debug)]
struct Args {
    /// The backend: flex, ndarray, wgpu or vulkan.
    #[arg(long, default_value = "flex")]
    device: Backend,
    /// How many features to show.
    #[arg(long, default_value_t = 10)]
    top: usize,
    /// `input-x-gradient` or `integrated-gradients` (zero baseline: the mean patient, since
    /// the features are standardised).
    #[arg(long, default_value = "input-x-gradient")]
    method: String,
    /// Integration steps (integrated gradients).
    #[arg(long, default_value_t = 50)]
    steps: usize,
}

fn run(device: Device, args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let top = args.top;
    let model = ember_zoo::shipped::tabular(&device)?;
    let model = |x: Tensor<2>| model.forward(x);
    let (split, _) = breast_cancer_split();
    let test = split.test;
    let inputs = Tensor::<2>::from_data(
        TensorData::new(test.inputs.clone(), [test.len(), test.features()]),
        &device,
    );
    // Explain the "malignant" score (class 0) for every test sample.
    let maps = match args.method.as_str() {
        "integrated-gradients" => {
            let ig = IntegratedGradientsConfig::new()
                .with_steps(args.steps)
                .init()?;
            let maps = ig.attribute(&model, inputs, Target::Class(0))?;
            let delta = maps.report.delta.clone().unwrap_or_default();
            let worst = delta.iter().fold(0.0f64, |m, d| m.max(d.abs()));
            println!(
                "integrated gradients, {} steps: Σ attributions − (F(x) − F(0)) is at most {worst:.2e} \
                 over the test samples",
                args.steps
            );
            maps
        }
        "input-x-gradient" => {
            InputXGradientConfig::new()
                .init()?
                .attribute(&model, inputs, Target::Class(0))?
        }
        other => return Err(format!("unknown method `{other}`").into()),
    };
    let values = ember::validate::read_f64(maps.values)?;
    let d = test.features();
    let mut mean_abs = vec![0.0; d];
    let mut mean = vec![0.0; d];
    for row in values.chunks(d) {
        for (j, v) in row.iter().enumerate() {
            mean_abs[j] += v.abs() / test.len() as f64;
            mean[j] += v / test.len() as f64;
        }
    }
    let mut order: Vec<usize> = (0..d).collect();
    order.sort_by(|&a, &b| mean_abs[b].total_cmp(&mean_abs[a]));
    println!(
        "top {} features for the `malignant` score over {} test samples ({}):",
        top.min(d),
        test.len(),
        args.method
    );
    println!("  {:<26} {:>10} {:>10}", "feature", "mean |a|", "mean a");
    let widest = mean_abs[order[0]].max(1e-12);
    for &j in order.iter().take(top) {
        let bar = "#".repeat(((mean_abs[j] / widest) * 30.0).round() as usize);
        println!(
            "  {:<26} {:>10.4} {:>+10.4}  {bar}",
            test.feature_names[j], mean_abs[j], mean[j]
        );
    }
    Ok(())
}

fn main() {
    let args = Args::parse();
    let result = args
        .device
        .device()
        .map_err(Into::into)
        .and_then(|device| run(device, &args));
    if let Err(error) = result {
        eprintln!("error: {error}");
        std::process::exit(2);
    }
}
