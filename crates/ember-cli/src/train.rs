//! `ember train`: re-trains the zoo's shipped weights.

use std::path::PathBuf;

use clap::Args;
use ember::backend::Backend;
use ember_zoo::train::{TrainConfig, TrainReport, train_cnn, train_mlp, train_tabular};
use ember_zoo::weights;

/// Trains zoo models and saves their weights in PyTorch's layout.
#[derive(Args, Debug)]
pub struct TrainArgs {
    /// mlp, cnn, tabular, or all.
    #[arg(long, default_value = "all")]
    pub model: String,
    /// Where to write `<model>.safetensors`.
    #[arg(long, default_value = "crates/ember-zoo/weights")]
    pub out_dir: PathBuf,
    /// Passes over the training set.
    #[arg(long, default_value_t = 30)]
    pub epochs: usize,
    /// Seed of the initial weights and the batch order.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// The backend to train on.
    #[arg(long, default_value = "flex")]
    pub device: Backend,
}

/// Runs `ember train`.
pub fn run(args: &TrainArgs) -> Result<(), String> {
    let names: Vec<&str> = match args.model.as_str() {
        "all" => vec!["mlp", "cnn", "tabular"],
        "mlp" | "cnn" | "tabular" => vec![args.model.as_str()],
        other => {
            return Err(format!(
                "unknown model `{other}`: expected mlp, cnn, tabular or all"
            ));
        }
    };
    let device = args.device.device().map_err(|e| e.to_string())?;
    let config = TrainConfig::new()
        .with_epochs(args.epochs)
        .with_seed(args.seed);
    std::fs::create_dir_all(&args.out_dir)
        .map_err(|e| format!("cannot create {}: {e}", args.out_dir.display()))?;
    for name in names {
        let path = args.out_dir.join(format!("{name}.safetensors"));
        let report = match name {
            "mlp" => save(train_mlp(&device, &config), &path)?,
            "cnn" => save(train_cnn(&device, &config), &path)?,
            _ => save(train_tabular(&device, &config), &path)?,
        };
        println!(
            "{name}: train accuracy {:.4}, test accuracy {:.4}, {} steps in {:.1} s on {} -> {}",
            report.train_accuracy,
            report.test_accuracy,
            report.steps,
            report.seconds,
            args.device,
            path.display()
        );
    }
    Ok(())
}

fn save<M: ember::burn::module::Module>(
    trained: Result<(M, TrainReport), ember_zoo::ZooError>,
    path: &std::path::Path,
) -> Result<TrainReport, String> {
    let (model, report) = trained.map_err(|e| e.to_string())?;
    weights::save(&model, path).map_err(|e| e.to_string())?;
    Ok(report)
}
