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
//! - `cargo xtask gpu-bundle DIR`: a folder (under 60 MiB) that checks and benchmarks ember on
//!   a GPU machine without Rust or network: a stripped release `ember` with wgpu, the weights,
//!   photos and fixture, Captum's wheel, the Vulkan loader and `gpu-check.sh`.

mod bench;
mod gpu_bundle;
mod package;
mod release;
mod tch;
mod vs_captum;
mod vs_path;

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
        /// Instead: ember's path methods (gradient-shap, blur-ig, guided-ig) against Captum and
        /// PAIR saliency 0.2.1 (needs a Python with torch, captum and saliency, and NumPy <
        /// 2.4), into the `vs-path` section.
        #[arg(long)]
        vs_path: bool,
        /// PyTorch's threads for `--vs-captum` and `--vs-path`.
        #[arg(long, default_value_t = 2)]
        threads: usize,
        /// The Python with torch and captum for `--vs-captum`.
        #[arg(long, default_value = "python3")]
        python: String,
    },
    /// Makes the GPU check's folder: a release `ember` with wgpu, EfficientNet-Lite0's weights
    /// and the photos, the fixture, Captum's wheel, the Vulkan loader and `gpu-check.sh`.
    GpuBundle {
        /// The folder to make (emptied first).
        dir: std::path::PathBuf,
        /// Use this `ember` binary (built with the `wgpu` feature) instead of building the
        /// release one.
        #[arg(long)]
        ember: Option<std::path::PathBuf>,
        /// EfficientNet-Lite0's `.pth` (default: `EMBER_EFFICIENTNET_LITE0`).
        #[arg(long)]
        weights: Option<std::path::PathBuf>,
        /// A folder holding the wheels (captum 0.9.0, efficientnet-lite-pytorch 0.1.0) instead
        /// of `pip download`.
        #[arg(long)]
        wheels: Option<std::path::PathBuf>,
        /// Leave the Vulkan loader (Debian's libvulkan1) out.
        #[arg(long)]
        no_loader: bool,
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

/// The wgpu tests once more on every graphics API (`vulkan`, `gl`) that has an adapter here
/// and that the first run did not use: a machine with Mesa's lavapipe and llvmpipe tests both.
/// The adapters are those the test build's `ember devices --json` lists.
fn other_graphics_apis() -> bool {
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let ember = std::path::Path::new(&target).join("debug/ember");
    let listed = Command::new(&ember)
        .args(["devices", "--json"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| serde_json::from_slice::<serde_json::Value>(&o.stdout).ok());
    let Some(listed) = listed else {
        eprintln!(
            "==> could not list the adapters with {} devices --json; the wgpu tests ran on one \
             graphics API only",
            ember.display()
        );
        return true;
    };
    let first = match std::env::var("EMBER_WGPU_API").as_deref() {
        Ok(api @ ("vulkan" | "gl")) => api.to_string(),
        _ => listed["wgpu_default"]["api"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    };
    let mut apis: Vec<String> = listed["adapters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["device"].as_str().map(str::to_string))
        .filter(|api| *api != first)
        .collect();
    apis.sort();
    apis.dedup();
    eprintln!(
        "\n==> the wgpu tests ran on {}; other graphics APIs with an adapter here: {}",
        if first.is_empty() { "none" } else { &first },
        if apis.is_empty() {
            "none".to_string()
        } else {
            apis.join(", ")
        }
    );
    let args = [
        "test",
        "--workspace",
        "--features",
        FEATURES,
        "--lib",
        "--bins",
        "--tests",
        "--",
        "wgpu::",
    ];
    // The real models' tests (EfficientNet-Lite0, MiniLM) ran on the first API; on the others
    // they show as ignored (their weights unset), so that a rerun checks Burn's ops on that
    // API without compiling every real model's kernels again (minutes on llvmpipe).
    if !apis.is_empty() {
        eprintln!(
            "==> on {}, the real models' tests show as ignored: they ran on {first}",
            apis.join(", ")
        );
    }
    apis.iter().all(|api| {
        let env = [("EMBER_WGPU_API".to_string(), api.clone())];
        run_cargo_without(
            &format!("wgpu tests on {api}"),
            &args,
            &env,
            &REAL_MODEL_VARIABLES,
        )
    })
}

fn run(step: &Step) -> bool {
    run_with(step, &[])
}

/// Runs `step` with extra environment variables.
fn run_with(step: &Step, env: &[(String, String)]) -> bool {
    run_cargo(step.name, step.args, env)
}

/// The variables that point the tests at real models' weights (and make them required).
const REAL_MODEL_VARIABLES: [&str; 3] = [
    "EMBER_EFFICIENTNET_LITE0",
    "EMBER_MINILM",
    "EMBER_REQUIRE_WEIGHTS",
];

/// Runs `cargo args` with extra environment variables, logging it as `name`.
fn run_cargo(name: &str, args: &[&str], env: &[(String, String)]) -> bool {
    run_cargo_without(name, args, env, &[])
}

/// [`run_cargo`] with the variables `unset` removed from the environment.
fn run_cargo_without(name: &str, args: &[&str], env: &[(String, String)], unset: &[&str]) -> bool {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("\n==> {name} : cargo {}", args.join(" "));
    let started = Instant::now();
    let mut command = Command::new(cargo);
    for variable in unset {
        command.env_remove(variable);
    }
    let status = command
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .status();
    let seconds = started.elapsed().as_secs_f64();
    match status {
        Ok(status) if status.success() => {
            eprintln!("==> {name} passed in {seconds:.0} s");
            true
        }
        Ok(status) => {
            eprintln!("==> {name} FAILED ({status}) after {seconds:.0} s");
            false
        }
        Err(error) => {
            eprintln!("==> {name} could not start cargo: {error}");
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
                if step.name == TEST[0].name && !other_graphics_apis() {
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
        Task::GpuBundle {
            dir,
            ember,
            weights,
            wheels,
            no_loader,
        } => {
            let options = gpu_bundle::Options {
                dir,
                ember,
                weights,
                wheels,
                no_loader,
            };
            match gpu_bundle::run(&options) {
                Ok(()) => ExitCode::SUCCESS,
                Err(message) => {
                    eprintln!("xtask gpu-bundle: {message}");
                    ExitCode::FAILURE
                }
            }
        }
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
            vs_captum,
            vs_path,
            threads,
            python,
        } if vs_captum || vs_path => {
            let mut devices = vec!["flex".to_string()];
            devices.extend(device);
            let options = vs_captum::Options {
                repeats,
                threads,
                python,
                devices,
            };
            let (name, result) = if vs_path {
                ("--vs-path", vs_path::run(&options))
            } else {
                ("--vs-captum", vs_captum::run(&options))
            };
            match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(message) => {
                    eprintln!("xtask bench {name}: {message}");
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
