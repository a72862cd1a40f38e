//! ember quick start: saliency and gradient × input of a tiny Burn module.
//!
//! ```text
//! cargo run -p quickstart -- --device flex
//! ```

use burn::nn::{Linear, LinearConfig, Relu};
use burn::prelude::Module;
use clap::Parser;
use ember::prelude::*;

/// A tiny Burn module: 4 features → 8 hidden units (ReLU) → 3 classes.
#[derive(Module, Debug)]
struct Tiny {
    hidden: Linear,
    activation: Relu,
    output: Linear,
}

impl Tiny {
    fn new(device: &Device) -> Self {
        Self {
            hidden: LinearConfig::new(4, 8).init(device),
            activation: Relu::new(),
            output: LinearConfig::new(8, 3).init(device),
        }
    }

    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.output
            .forward(self.activation.forward(self.hidden.forward(x)))
    }
}

/// Explains the predictions of a tiny Burn module with saliency and gradient × input.
#[derive(Parser, Debug)]
struct Args {
    /// The backend to run on: flex, ndarray, wgpu (any GPU) or vulkan (wgpu pinned to Vulkan).
    #[arg(long, default_value = "flex")]
    device: Backend,
}

// ANCHOR: run
fn run(device: Device) -> Result<(), Error> {
    device.seed(7);
    let model = Tiny::new(&device);
    // Any Burn module becomes an ember model in evaluation mode, with its forward function.
    let model = ember::eval(&model, Tiny::forward);

    let inputs = Tensor::<2>::from_floats([[0.5, -1.0, 2.0, 0.0], [1.5, 0.25, -0.5, 3.0]], &device);

    let saliency = SaliencyConfig::new().init()?;
    let gradients = saliency.attribute(&model, inputs.clone(), Target::Predicted)?;
    let x_gradient = InputXGradientConfig::new().init()?;
    let products = x_gradient.attribute(&model, inputs, Target::Predicted)?;

    println!(
        "explained classes (predicted): {:?}",
        gradients.report.targets
    );
    println!("saliency (∂F/∂x):");
    print_rows(&gradients.values);
    println!("gradient × input (x ⊙ ∂F/∂x):");
    print_rows(&products.values);
    let report = serde_json::to_string(&gradients.report).expect("a report serializes");
    println!("saliency report: {report}");
    Ok(())
}
// ANCHOR_END: run

fn print_rows(values: &Tensor<2>) {
    let [_, features] = values.dims();
    let data = values
        .to_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .unwrap();
    for row in data.chunks(features) {
        let cells: Vec<String> = row.iter().map(|v| format!("{v:>8.4}")).collect();
        println!("  [{}]", cells.join(", "));
    }
}

fn main() {
    let args = Args::parse();
    let result = args.device.device().and_then(run);
    if let Err(error) = result {
        eprintln!("error: {error}");
        std::process::exit(2);
    }
}
