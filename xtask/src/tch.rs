//! `cargo xtask tch`: clippy and every test body on Burn's LibTorch backend.
//!
//! The `tch` feature links PyTorch's C++ library, so it is built against an installed PyTorch
//! (torch-sys's `LIBTORCH_USE_PYTORCH=1`), never a libtorch downloaded at build time. It is
//! outside `cargo xtask ci` because that install is 6.7 GB (PyPI's Linux wheel is the CUDA
//! build) and the job rebuilds Burn; run it where PyTorch 2.9.0 is installed.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Step, TCH_FEATURES, run_with};

/// The PyTorch version burn-tch 0.22.1 (tch 0.22) is built for.
const TORCH_VERSION: &str = "2.9.0";

const STEPS: &[Step] = &[
    Step {
        name: "clippy with tch",
        args: &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--features",
            TCH_FEATURES,
            "--",
            "-D",
            "warnings",
        ],
    },
    Step {
        name: "every test body on tch (LibTorch, CPU)",
        args: &[
            "test",
            "--workspace",
            "--features",
            TCH_FEATURES,
            "--lib",
            "--bins",
            "--tests",
            "--",
            "tch::",
        ],
    },
];

/// Finds PyTorch, sets the build and run environment, and runs the steps.
pub fn run() -> Result<(), String> {
    let env = environment()?;
    for step in STEPS {
        if !run_with(step, &env) {
            return Err(format!("{} failed", step.name));
        }
    }
    eprintln!("\n==> the tch job passed");
    Ok(())
}

/// The environment of a build and run against the PyTorch of `EMBER_TCH_PYTHON`: that
/// Python's directory first on `PATH` (torch-sys asks `python3` where PyTorch is),
/// `LIBTORCH_USE_PYTORCH=1`, its `torch/lib` on `LD_LIBRARY_PATH` (the test binaries load
/// libtorch at start), and `EMBER_REQUIRE_TCH=1` (a tch test that cannot run fails).
pub fn environment() -> Result<Vec<(String, String)>, String> {
    let python =
        PathBuf::from(std::env::var("EMBER_TCH_PYTHON").unwrap_or_else(|_| "python3".into()));
    let hint = format!(
        "burn-tch 0.22.1 needs PyTorch {TORCH_VERSION}: `python3 -m venv V && V/bin/pip install \
         torch=={TORCH_VERSION}`, then `EMBER_TCH_PYTHON=V/bin/python3 cargo xtask tch`"
    );
    let lines = python_lines(
        &python.to_string_lossy(),
        "import os, torch; print(torch.__version__); \
         print(os.path.join(os.path.dirname(torch.__file__), 'lib'))",
    )
    .map_err(|e| format!("{e}; {hint}"))?;
    let mut lines = lines.iter().map(String::as_str);
    let (version, lib) = (lines.next().unwrap_or(""), lines.next().unwrap_or(""));
    if version.split('+').next() != Some(TORCH_VERSION) {
        return Err(format!(
            "{} has PyTorch {version}; {hint}",
            python.display()
        ));
    }
    eprintln!(
        "==> PyTorch {version} from {}, libraries in {lib}",
        python.display()
    );
    let mut env = vec![
        ("LIBTORCH_USE_PYTORCH".to_string(), "1".to_string()),
        ("EMBER_REQUIRE_TCH".to_string(), "1".to_string()),
        (
            "LD_LIBRARY_PATH".to_string(),
            prepend(lib, "LD_LIBRARY_PATH"),
        ),
    ];
    if let Some(dir) = python.parent().filter(|d| !d.as_os_str().is_empty()) {
        let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| Path::new(dir).to_path_buf());
        env.push(("PATH".to_string(), prepend(&dir.to_string_lossy(), "PATH")));
    }
    Ok(env)
}

/// The lines `python -c code` prints, or why it failed (the last line of its error).
pub fn python_lines(python: &str, code: &str) -> Result<Vec<String>, String> {
    let out = Command::new(python)
        .args(["-c", code])
        .output()
        .map_err(|e| format!("cannot run {python}: {e}"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr.trim().lines().last().unwrap_or("").to_string();
        return Err(format!("{python} failed: {last}"));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().to_string())
        .collect())
}

/// `first` followed by the current value of the path list `var`.
fn prepend(first: &str, var: &str) -> String {
    match std::env::var(var) {
        Ok(rest) if !rest.is_empty() => format!("{first}:{rest}"),
        _ => first.to_string(),
    }
}
