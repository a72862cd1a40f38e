//! Which breast-cancer features drive the shipped tabular model? Prints the top features by
//! mean |gradient × input| over the test split, with their names.
//!
//! ```text
//! cargo run -p tabular -- --device flex --top 10
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
}

fn run(device: Device, top: usize) -> Result<(), Box<dyn std::error::Error>> {
    let model = ember_zoo::shipped::tabular(&device)?;
    let model = |x: Tensor<2>| model.forward(x);
    let (split, _) = breast_cancer_split();
    let test = split.test;
    let inputs = Tensor::<2>::from_data(
        TensorData::new(test.inputs.clone(), [test.len(), test.features()]),
        &device,
    );
    // Explain the "malignant" score (class 0) for every test sample.
    let method = InputXGradientConfig::new().init()?;
    let maps = method.attribute(&model, inputs, Target::Class(0))?;
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
        "top {} features for the `malignant` score over {} test samples (gradient × input):",
        top.min(d),
        test.len()
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
        .and_then(|device| run(device, args.top));
    if let Err(error) = result {
        eprintln!("error: {error}");
        std::process::exit(2);
    }
}
