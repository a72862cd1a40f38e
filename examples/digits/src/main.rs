//! Explains the shipped digits CNN on a few test digits and prints each attribution map as an
//! 8×8 text grid beside the digit; with `--png`, draws them as pictures too
//! (`ember::visualize::image_attr`, Captum's `visualize_image_attr`): per digit, the digit, the
//! signed heat map, the map blended over the digit, and its positive, negative and absolute
//! parts.
//!
//! ```text
//! cargo run -p digits -- --device flex --examples 3 --png digits-maps.png
//! ```

use std::path::{Path, PathBuf};

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
    /// Also draw the maps into this PNG: one row per digit (digit, heat map, blend, positive,
    /// negative, absolute).
    #[arg(long)]
    png: Option<PathBuf>,
}

fn run(
    device: Device,
    examples: usize,
    png: Option<&Path>,
) -> Result<(), Box<dyn std::error::Error>> {
    let cnn = ember_zoo::shipped::cnn(&device)?;
    let model = ember::eval(&cnn, ember_zoo::Cnn::forward);
    let test = digits_split().test;
    let n = examples.clamp(1, test.len());
    let inputs = Tensor::<4>::from_data(
        TensorData::new(test.inputs[..n * 64].to_vec(), [n, 1, 8, 8]),
        &device,
    );
    let method = InputXGradientConfig::new().init()?;
    let maps = method.attribute(&model, inputs.clone(), Target::Predicted)?;
    if let Some(path) = png {
        draw(&maps.values, &inputs, path)?;
    }
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

// ANCHOR: draw
/// One row per digit: the digit, the signed heat map, the map blended over the digit, and its
/// positive, negative and absolute parts, written to `path` as a PNG.
fn draw(
    maps: &Tensor<4>,
    digits: &Tensor<4>,
    path: &Path,
) -> Result<(), Box<dyn std::error::Error>> {
    use ember::visualize::{self, ImageAttrOptions, Sign, Style};
    let pictures = [
        ImageAttrOptions::new(Style::Original, Sign::All),
        ImageAttrOptions::new(Style::HeatMap, Sign::All),
        ImageAttrOptions::new(Style::BlendedHeatMap, Sign::All),
        ImageAttrOptions::new(Style::BlendedHeatMap, Sign::Positive),
        ImageAttrOptions::new(Style::BlendedHeatMap, Sign::Negative),
        ImageAttrOptions::new(Style::BlendedHeatMap, Sign::Absolute),
    ];
    let mut rows = Vec::new();
    for s in 0..maps.dims()[0] {
        // One sample each: [1, 1, 8, 8].
        let map = maps.clone().narrow(0, s, 1);
        let digit = digits.clone().narrow(0, s, 1);
        let row = pictures
            .iter()
            .map(|options| visualize::image_attr(&map, Some(&digit), &options.with_scale(16)))
            .collect::<Result<Vec<_>, _>>()?;
        rows.push(row);
    }
    visualize::write_png(&visualize::grid(&rows, 4)?, path)?;
    println!("wrote {}", path.display());
    Ok(())
}
// ANCHOR_END: draw

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
        .and_then(|device| run(device, args.examples, args.png.as_deref()));
    if let Err(error) = result {
        eprintln!("error: {error}");
        std::process::exit(2);
    }
}
