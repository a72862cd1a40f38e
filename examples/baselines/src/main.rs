//! Why the baseline matters: Integrated Gradients of a few test digits from a zero baseline,
//! from uniform noise and from the digit blurred, and Expected Gradients over 64 training
//! digits, on the shipped digits CNN. Prints, for each, the share of the attribution that falls
//! on the digit's blank (zero) pixels and the completeness delta; with `--png`, draws one row
//! per digit: the digit, then each map blended over it.
//!
//! ```text
//! cargo run -p baselines -- --png docs/src/images/baselines.png
//! ```

use std::path::{Path, PathBuf};

use clap::Parser;
use ember::burn::tensor::TensorData;
use ember::prelude::*;
use ember_zoo::data::digits_split;

/// Explains the shipped digits CNN from four baselines.
#[derive(Parser, Debug)]
struct Args {
    /// The backend: flex, ndarray, wgpu or vulkan.
    #[arg(long, default_value = "flex")]
    device: Backend,
    /// How many test digits to explain.
    #[arg(long, default_value_t = 3)]
    examples: usize,
    /// Also draw the maps into this PNG: one row per digit (the digit, then each method).
    #[arg(long)]
    png: Option<PathBuf>,
}

/// The four explanations, in the order of the picture's columns.
const NAMES: [&str; 4] = [
    "IG, zero baseline",
    "IG, uniform noise",
    "IG, the digit blurred (σ = 1)",
    "Expected Gradients, 64 training digits",
];

fn run(
    device: Device,
    examples: usize,
    png: Option<&Path>,
) -> Result<(), Box<dyn std::error::Error>> {
    let cnn = ember_zoo::shipped::cnn(&device)?;
    let model = ember::eval(&cnn, ember_zoo::Cnn::forward);
    let split = digits_split();
    let n = examples.clamp(1, split.test.len());
    let x = Tensor::<4>::from_data(
        TensorData::new(split.test.inputs[..n * 64].to_vec(), [n, 1, 8, 8]),
        &device,
    );
    let blurred = ember::blur_ig::gaussian_blur(x.clone(), 1.0)?;
    let ig = |baseline: Baseline| {
        IntegratedGradientsConfig::new()
            .with_baseline(baseline)
            .init()
    };
    // 64 training digits, evenly spaced over the split, as the set Expected Gradients draws from.
    let train = &split.train;
    let picked: Vec<usize> = (0..64).map(|i| i * train.len() / 64).collect();
    let set = BaselineSet::new(
        vec![64, 1, 8, 8],
        train
            .select(&picked)
            .inputs
            .iter()
            .map(|&v| f64::from(v))
            .collect(),
    )?;
    let eg = GradientShapConfig::new()
        .with_baselines(Some(set))
        .with_samples(200)
        .init()?;
    let target = Target::Predicted;
    let maps = [
        ig(Baseline::Zeros)?.attribute(&model, x.clone(), target.clone())?,
        ig(Baseline::Uniform {
            low: 0.0,
            high: 1.0,
            seed: 0,
        })?
        .attribute(&model, x.clone(), target.clone())?,
        ig(Baseline::from_tensor(blurred)?)?.attribute(&model, x.clone(), target.clone())?,
        eg.attribute(&model, x.clone(), target)?,
    ];
    let pixels = ember::validate::read_f64(x.clone())?;
    println!("share of |attribution| on the blank pixels, and the largest |delta|:");
    for (name, out) in NAMES.iter().zip(&maps) {
        let values = ember::validate::read_f64(out.values.clone())?;
        let total: f64 = values.iter().map(|v| v.abs()).sum();
        let blank: f64 = values
            .iter()
            .zip(&pixels)
            .filter(|(_, p)| **p == 0.0)
            .map(|(v, _)| v.abs())
            .sum();
        let delta = out.report.delta().unwrap_or_default();
        let worst = delta.iter().fold(0.0f64, |m, d| m.max(d.abs()));
        println!(
            "  {name:40} {:5.1}%   {worst:.2e}",
            100.0 * blank / total.max(1e-300)
        );
    }
    if let Some(path) = png {
        draw(&maps, &x, path)?;
    }
    Ok(())
}

/// One row per digit: the digit, then each map blended over it, written to `path` as a PNG.
fn draw(
    maps: &[Attributions<4>],
    digits: &Tensor<4>,
    path: &Path,
) -> Result<(), Box<dyn std::error::Error>> {
    use ember::visualize::{self, ImageAttrOptions, Sign, Style};
    let original = ImageAttrOptions::new(Style::Original, Sign::All).with_scale(16);
    let blended = ImageAttrOptions::new(Style::BlendedHeatMap, Sign::All).with_scale(16);
    let mut rows = Vec::new();
    for s in 0..digits.dims()[0] {
        let digit = digits.clone().narrow(0, s, 1);
        let mut row = vec![visualize::image_attr(&digit, Some(&digit), &original)?];
        for out in maps {
            let map = out.values.clone().narrow(0, s, 1);
            row.push(visualize::image_attr(&map, Some(&digit), &blended)?);
        }
        rows.push(row);
    }
    visualize::write_png(&visualize::grid(&rows, 4)?, path)?;
    println!("wrote {}", path.display());
    Ok(())
}

fn main() {
    let args = Args::parse();
    let result = args
        .device
        .device()
        .map_err(Into::into)
        .and_then(|device| run(device, args.examples, args.png.as_deref()));
    if let Err(error) = result {
        eprintln!("error: {error}");
        std::process::exit(2);
    }
}
