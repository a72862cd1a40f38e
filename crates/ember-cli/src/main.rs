//! The `ember` command line.
//!
//! ```text
//! ember compare                      # every method on 16 digits, every metric, report/
//! ember sample --model cnn --count 8 --out digits.safetensors
//! ember attribute --model cnn --inputs digits.safetensors --method saliency --out maps.safetensors
//! ember bench --model mlp --method integrated-gradients --json
//! ember train --model all
//! ember methods
//! ember devices                      # backends of this build, GPU adapters wgpu finds
//! ember similarity --model all-MiniLM-L6-v2/ --text "fresh bread?" --reference "a bakery"
//! ```

mod attribute;
mod bench;
mod compare;
mod devices;
mod explain;
mod io;
mod methods;
mod names;
mod sample;
mod similarity;
mod train;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// ember explains Burn models: attributions of each input feature to a model's output.
#[derive(Parser, Debug)]
#[command(name = "ember", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Compares every method on a zoo model's test examples: metrics, heatmaps, an HTML report.
    Compare(compare::CompareArgs),
    /// Attributions of a zoo model for inputs in a safetensors file.
    Attribute(attribute::AttributeArgs),
    /// Times a method against the raw forward+backward limit (or its peak memory).
    Bench(bench::BenchArgs),
    /// Why a text is similar to a reference, token by token (all-MiniLM-L6-v2).
    Similarity(similarity::SimilarityArgs),
    /// Writes test samples of the zoo's data as an input file for `attribute`.
    Sample(sample::SampleArgs),
    /// Re-trains the zoo's shipped weights (seeded, reproducible).
    Train(train::TrainArgs),
    /// Lists every attribution method: names, aliases, family, sign, cost.
    Methods(methods::MethodsArgs),
    /// Lists the backends of this build and the GPU adapters wgpu finds on this machine.
    Devices(devices::DevicesArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Attribute(args) => attribute::run(args).map(|summary| {
            let delta = summary
                .report
                .delta()
                .map(|d| {
                    let worst = d.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                    format!("; max |delta| {worst:.3e}")
                })
                .unwrap_or_default();
            println!(
                "{}: {} sample(s) of {} explained (classes {:?}); {} forward+backward pass(es) \
                 of up to {} rows{delta}; wrote {}",
                summary.report.method,
                summary.samples,
                args.model,
                summary.report.targets,
                summary.report.passes,
                summary.report.rows_per_pass,
                args.out.display()
            );
        }),
        Command::Bench(args) => bench::run(args),
        Command::Compare(args) => compare::run(args),
        Command::Sample(args) => sample::run(args),
        Command::Similarity(args) => similarity::run(args),
        Command::Train(args) => train::run(args),
        Command::Methods(args) => methods::run(args),
        Command::Devices(args) => devices::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("ember: error: {}", message.replace('\n', " "));
            ExitCode::from(2)
        }
    }
}
