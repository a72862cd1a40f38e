//! Which breast-cancer features drive the shipped tabular model? Prints the top features by
//! mean |attribution| over the test split, with their names, by gradient × input, by
//! Integrated Gradients (with its completeness check, the delta) or by SmoothGrad of
//! gradient × input (with the standard error of each feature's noise average).
//!
//! ```text
//! cargo run -p tabular -- --device flex --top 10
//! cargo run -p tabular -- --method integrated-gradients --steps 32
//! cargo run -p tabular -- --method smoothgrad --seed 0
//! ```

use clap::Parser;
use ember::burn::tensor::TensorData;
use ember::prelude::*;
use ember_zoo::data::breast_cancer_split;

/// The noisy copies of each sample that SmoothGrad averages.
const SMOOTHGRAD_SAMPLES: usize = 50;

/// Ranks the breast-cancer features by their attribution.
#[derive(Parser, Debug)]
struct Args {
    /// The backend: flex, ndarray, wgpu or vulkan.
    #[arg(long, default_value = "flex")]
    device: Backend,
    /// How many features to show.
    #[arg(long, default_value_t = 10)]
    top: usize,
    /// `input-x-gradient`, `integrated-gradients` (zero baseline: the mean patient, since
    /// the features are standardised) or `smoothgrad` (gradient × input averaged over 50
    /// noisy copies, noise 0.15 of each sample's range).
    #[arg(long, default_value = "input-x-gradient")]
    method: String,
    /// Integration steps (integrated gradients).
    #[arg(long, default_value_t = 50)]
    steps: usize,
    /// The seed of SmoothGrad's noise.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

fn run(device: Device, args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let top = args.top;
    let model = ember_zoo::shipped::tabular(&device)?;
    let model = ember::eval(&model, ember_zoo::Tabular::forward);
    let (split, _) = breast_cancer_split();
    let test = split.test;
    let inputs = Tensor::<2>::from_data(
        TensorData::new(test.inputs.clone(), [test.len(), test.features()]),
        &device,
    );
    // Explain the "malignant" score (class 0) for every test sample. SmoothGrad also gives the
    // standard error of each attribution's noise average, sqrt(variance / samples).
    let mut std_error = None;
    let maps = match args.method.as_str() {
        "integrated-gradients" => {
            let ig = IntegratedGradientsConfig::new()
                .with_steps(args.steps)
                .init()?;
            let maps = ig.attribute(&model, inputs, Target::Class(0))?;
            let delta = maps.report.delta().unwrap_or_default();
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
        "smoothgrad" => {
            let smooth = SmoothGradConfig::new()
                .with_kind(SmoothKind::Mean)
                .with_samples(SMOOTHGRAD_SAMPLES)
                .with_noise_level(0.15)
                .with_noise_scale(NoiseScale::Relative)
                .with_seed(args.seed)
                .init(InputXGradientConfig::new().init()?)?
                .smooth(&model, inputs, Target::Class(0))?;
            let variance = ember::validate::read_f64(smooth.variance)?;
            let n = SMOOTHGRAD_SAMPLES as f64;
            std_error = Some(variance.iter().map(|v| (v / n).sqrt()).collect::<Vec<_>>());
            smooth.attributions
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
    // The mean over the test samples of each feature's standard error (SmoothGrad only).
    let mean_std_error = std_error.map(|se| {
        let mut mean = vec![0.0; d];
        for row in se.chunks(d) {
            for (j, v) in row.iter().enumerate() {
                mean[j] += v / test.len() as f64;
            }
        }
        mean
    });
    let mut order: Vec<usize> = (0..d).collect();
    order.sort_by(|&a, &b| mean_abs[b].total_cmp(&mean_abs[a]));
    println!(
        "top {} features for the `malignant` score over {} test samples ({}):",
        top.min(d),
        test.len(),
        args.method
    );
    // The standard-error column, for SmoothGrad only.
    let se_column = |j: Option<usize>| match (&mean_std_error, j) {
        (Some(se), Some(j)) => format!(" {:>8.4}", se[j]),
        (Some(_), None) => format!(" {:>8}", "± s.e."),
        (None, _) => String::new(),
    };
    println!(
        "  {:<26} {:>10} {:>10}{}",
        "feature",
        "mean |a|",
        "mean a",
        se_column(None)
    );
    let widest = mean_abs[order[0]].max(1e-12);
    for &j in order.iter().take(top) {
        let bar = "#".repeat(((mean_abs[j] / widest) * 30.0).round() as usize);
        println!(
            "  {:<26} {:>10.4} {:>+10.4}{}  {bar}",
            test.feature_names[j],
            mean_abs[j],
            mean[j],
            se_column(Some(j))
        );
    }
    if mean_std_error.is_some() {
        println!(
            "  ± s.e.: the standard error of each sample's average over {SMOOTHGRAD_SAMPLES} noisy \
             copies, sqrt(variance / samples), averaged over the test samples"
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
