//! Project automation for ember.
//!
//! - `cargo xtask ci`: every check CI runs, cheapest first: format, clippy `-D warnings`, the
//!   tests on every backend (flex, ndarray, wgpu), the doc tests, and the docs build.
//! - `cargo xtask bench`: runs `ember bench` over the zoo and writes the tables of
//!   `docs/benchmarks.md` (between its `bench:start` and `bench:end` markers).

mod bench;

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
    /// Runs `ember bench` over the zoo models and rewrites the tables in docs/benchmarks.md.
    Bench {
        /// Timed repetitions per measurement.
        #[arg(long, default_value_t = 15)]
        repeats: usize,
        /// Also benchmark this backend besides flex and ndarray (e.g. `wgpu` on a GPU machine).
        #[arg(long)]
        device: Vec<String>,
    },
}

/// One step of a task: a name and a cargo command line.
struct Step {
    name: &'static str,
    args: &'static [&'static str],
}

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
            "--all-features",
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
            "--all-features",
            "--lib",
            "--bins",
            "--tests",
        ],
    },
    Step {
        name: "doc tests",
        args: &["test", "--workspace", "--all-features", "--doc"],
    },
    Step {
        name: "docs build (broken intra-doc links are errors)",
        args: &["doc", "--workspace", "--all-features", "--no-deps"],
    },
];

fn run(step: &Step) -> bool {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("\n==> {} : cargo {}", step.name, step.args.join(" "));
    let started = Instant::now();
    let status = Command::new(cargo).args(step.args).status();
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
        Task::Bench { repeats, device } => match bench::run(repeats, &device) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("xtask bench: {message}");
                ExitCode::FAILURE
            }
        },
    }
}
