//! Project automation for ember.
//!
//! - `cargo xtask ci`: every check CI runs, cheapest first: format, clippy `-D warnings`, the
//!   tests on every backend (flex, ndarray, wgpu), the doc tests, and the docs build. It builds
//!   with the features `flex,ndarray,wgpu`: every feature but `tch`, which needs PyTorch.
//! - `cargo xtask tch`: the LibTorch job. Builds with `tch` too, against the PyTorch 2.9.0 of
//!   a Python (`EMBER_TCH_PYTHON`, else `python3`), runs clippy and every test body on
//!   `tch::` (failing, not skipping, when LibTorch cannot run).
//! - `cargo xtask package`: packages every published crate as `cargo publish` would, without
//!   uploading, verifies that each builds on its own from its package, prints each `.crate`'s
//!   size and fails if one is over 10 MB (crates.io's limit). `.ci/run` runs it after `ci`
//!   (it reads the crates.io index, so it is not part of the offline `cargo xtask ci`).
//! - `cargo xtask bench`: builds the CLI in the release profile (the features of the measured
//!   devices only), runs `ember bench` over the zoo and writes the tables of
//!   `docs/benchmarks.md` (between its `bench:start` and `bench:end` markers);
//!   `--vs-captum` measures ember and Captum side by side instead (`vs-captum` markers). The
//!   binaries are where cargo says it built them, so `CARGO_TARGET_DIR` is respected.

mod bench;
mod package;
mod release;
mod tch;
mod vs_captum;

use std::process::{Command, ExitCode};
use std::time::Instant;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "ember's project automation")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Runs every CI check, cheapest first, and stops at the first failure.
    Ci {
        /// Skip `cargo fmt --check` and clippy (e.g. on a machine without those components).
        #[arg(long)]
        no_lint: bool,
    },
    /// The LibTorch job: clippy and every test body on the `tch` backend, built against the
    /// PyTorch 2.9.0 of `EMBER_TCH_PYTHON` (default `python3`).
    Tch,
    /// Packages every published crate as `cargo publish` would (no upload), builds each on its
    /// own from its package, prints each `.crate`'s size and fails if one is over 10 MB.
    Package {
        /// Only make the `.crate` files: do not build each one on its own.
        #[arg(long)]
        no_verify: bool,
    },
    /// Runs `ember bench` over the zoo models, on a release build, and rewrites the tables in
    /// docs/benchmarks.md.
    Bench {
        /// Timed repetitions per measurement.
        #[arg(long, default_value_t = 15)]
        repeats: usize,
        /// Also benchmark this backend besides flex and ndarray (e.g. `wgpu` on a GPU machine);
        /// with `--vs-captum`, besides flex (e.g. `tch`).
        #[arg(long)]
        device: Vec<String>,
        /// Instead: ember against Captum on the same models, inputs and settings, side by side
        /// (needs a Python with torch and captum), into the `vs-captum` section.
        #[arg(long)]
        vs_captum: bool,
        /// PyTorch's threads for `--vs-captum`.
        #[arg(long, default_value_t = 2)]
        threads: usize,
        /// The Python with torch and captum for `--vs-captum`.
        #[arg(long, default_value = "python3")]
        python: String,
    },
}

/// One step of a task: a name and a cargo command line.
pub struct Step {
    /// What the step checks, for the log.
    pub name: &'static str,
    /// The cargo command line.
    pub args: &'static [&'static str],
}

/// The features of every CI build: every backend but `tch` (which needs an installed PyTorch;
/// `cargo xtask tch` adds it). One list, so that every step reuses one build.
pub const FEATURES: &str = "flex,ndarray,wgpu";

/// The features of `cargo xtask tch`: CI's and `tch`.
pub const TCH_FEATURES: &str = "flex,ndarray,wgpu,tch";

const LINT: &[Step] = &[
    Step {
        name: "format",
        args: &["fmt", "--all", "--", "--check"],
    },
    Step {
        name: "clippy",
        args: &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--features",
            FEATURES,
            "--",
            "-D",
            "warnings",
        ],
    },
];

const TEST: &[Step] = &[
    Step {
        name: "tests on every backend (flex, ndarray, wgpu)",
        args: &[
            "test",
            "--workspace",
            "--features",
            FEATURES,
            "--lib",
            "--bins",
            "--tests",
        ],
    },
    Step {
        name: "doc tests",
        args: &["test", "--workspace", "--features", FEATURES, "--doc"],
    },
    Step {
        name: "docs build (broken intra-doc links are errors)",
        args: &["doc", "--workspace", "--features", FEATURES, "--no-deps"],
    },
];

fn run(step: &Step) -> bool {
    run_with(step, &[])
}

/// Runs `step` with extra environment variables.
fn run_with(step: &Step, env: &[(String, String)]) -> bool {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("\n==> {} : cargo {}", step.name, step.args.join(" "));
    let started = Instant::now();
    let status = Command::new(cargo)
        .args(step.args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .status();
    let seconds = started.elapsed().as_secs_f64();
    match status {
        Ok(status) if status.success() => {
            eprintln!("==> {} passed in {seconds:.0} s", step.name);
            true
        }
        Ok(status) => {
            eprintln!("==> {} FAILED ({status}) after {seconds:.0} s", step.name);
            false
        }
        Err(error) => {
            eprintln!("==> {} could not start cargo: {error}", step.name);
            false
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.task {
        Task::Ci { no_lint } => {
            let steps = if no_lint { &[][..] } else { LINT };
            for step in steps.iter().chain(TEST) {
                if !run(step) {
                    return ExitCode::FAILURE;
                }
            }
            eprintln!("\n==> all CI checks passed");
            ExitCode::SUCCESS
        }
        Task::Package { no_verify } => match package::run(no_verify) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("xtask package: {message}");
                ExitCode::FAILURE
            }
        },
        Task::Tch => match tch::run() {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("xtask tch: {message}");
                ExitCode::FAILURE
            }
        },
        Task::Bench {
            repeats,
            device,
            vs_captum: true,
            threads,
            python,
        } => {
            let mut devices = vec!["flex".to_string()];
            devices.extend(device);
            let options = vs_captum::Options {
                repeats,
                threads,
                python,
                devices,
            };
            match vs_captum::run(&options) {
                Ok(()) => ExitCode::SUCCESS,
                Err(message) => {
                    eprintln!("xtask bench --vs-captum: {message}");
                    ExitCode::FAILURE
                }
            }
        }
        Task::Bench {
            repeats, device, ..
        } => match bench::run(repeats, &device) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("xtask bench: {message}");
                ExitCode::FAILURE
            }
        },
    }
}
