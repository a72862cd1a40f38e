//! Explains the shipped digits CNN on a few test digits and prints each attribution map as an
//! 8×8 text grid beside the digit.
//!
//! ```text
//! cargo run -p digits -- --device flex --examples 3
//! ```

use clap::Parser;
use ember::burn::tensor::TensorData;
use ember::prelude::*;
use ember_zoo::data::digits_split;

/// Explains the shipped digits CNN with gradient × input.
#[derive(Parser, Debug)]
struct Args {
    /// The backend: flex, ndarray, wgpu or vulkan.
    #[arg(long, default_value = "flex")]
    device: Backend,
    /// How many test digits to explain.
    #[arg(long, default_value_t = 3)]
    examples: usize,
}

fn run(device: Device, examples: usize) -> Result<(), Box<dyn std::error::Error>> {
    let cnn = ember_zoo::shipped::cnn(&device)?;
    let model = ember::eval(&cnn, ember_zoo::Cnn::forward);
    let test = digits_split().test;
    let n = examples.clamp(1, test.len());
    let inputs = Tensor::<4>::from_data(
        TensorData::new(test.inputs[..n * 64].to_vec(), [n, 1, 8, 8]),
        &device,
    );
    let method = InputXGradientConfig::new().init()?;
    let maps = method.attribute(&model, inputs, Target::Predicted)?;
    let values = ember::validate::read_f64(maps.values)?;
    for s in 0..n {
        println!(
            "digit {} (label {}), explained class {} — pixel | gradient × input (+ raises, - lowers the score)",
            s, test.labels[s], maps.report.targets[s]
        );
        let map = &values[s * 64..(s + 1) * 64];
        let scale = map.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-12);
        for row in 0..8 {
            let pixels: String = (0..8)
                .map(|c| shade(test.inputs[s * 64 + row * 8 + c] as f64))
                .collect();
            let cells: Vec<String> = (0..8)
                .map(|c| format!("{:+5.2}", map[row * 8 + c] / scale))
                .collect();
            println!("  {pixels}   {}", cells.join(" "));
        }
        println!();
    }
    Ok(())
}

/// A grey level in [0, 1] as a two-character block.
fn shade(v: f64) -> &'static str {
    match v {
        v if v > 0.75 => "██",
        v if v > 0.5 => "▓▓",
        v if v > 0.25 => "▒▒",
        v if v > 0.0 => "░░",
        _ => "  ",
    }
}

fn main() {
    let args = Args::parse();
    let result = args
        .device
        .device()
        .map_err(Into::into)
        .and_then(|device| run(device, args.examples));
    if let Err(error) = result {
        eprintln!("error: {error}");
        std::process::exit(2);
    }
}
