//! `cargo xtask bench --vs-captum`: ember and Captum on the same models, inputs and settings,
//! side by side in one run, written into docs/benchmarks.md (between its `vs-captum:start`
//! and `vs-captum:end` markers).
//!
//! - The zoo (mlp, cnn, tabular; batch 64, Integrated Gradients at 50 steps and SmoothGrad at
//!   50 samples): `ember bench` against `benches/captum_zoo.py`; the perturbation methods
//!   (occlusion, feature ablation, Shapley value sampling, KernelSHAP, LIME at ember's
//!   defaults) against `benches/captum_perturbation.py`.
//! - EfficientNet-Lite0 on one photo (`chelsea.png`, IG at 50 steps, occlusion with Captum's
//!   tutorial window), where
//!   `EMBER_EFFICIENTNET_LITE0` names the `.pth`: `ember bench --model efficientnet-lite0`
//!   against the fixtures' `bench_captum.py` (the reference package from
//!   `EMBER_EFFICIENTNET_REFERENCE`, a folder holding `efficientnet_lite_pytorch`, or an
//!   installed one).
//! - all-MiniLM-L6-v2 on the README's text pair (Layer IG at 50 steps), where `EMBER_MINILM`
//!   names the model folder: the `similarity_bench` example against `bench_captum.py`.
//!
//! Each ember device named by `--device` (default flex) is measured; `tch` devices build with
//! the `tch` feature against the PyTorch of `EMBER_TCH_PYTHON` (see `cargo xtask tch`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::bench::{machine, today};
use crate::release::{self, Target};

const START: &str = "<!-- vs-captum:start -->";
const END: &str = "<!-- vs-captum:end -->";

/// Timed calls per perturbation measurement: a call of Captum's Shapley value sampling or
/// KernelSHAP takes seconds on the zoo.
const PERTURBATION_REPEATS: &str = "3";

/// What to measure.
pub struct Options {
    /// Timed calls per measurement (the zoo; the real models take at most 3).
    pub repeats: usize,
    /// Threads for PyTorch (ember's CPU backends use the machine's).
    pub threads: usize,
    /// The Python with torch and captum.
    pub python: String,
    /// ember's devices.
    pub devices: Vec<String>,
}

/// One row of the table.
struct Row {
    model: String,
    method: String,
    setting: String,
    device: String,
    ember_ms: f64,
    captum_ms: f64,
}

/// Builds, measures both sides and rewrites the section of docs/benchmarks.md.
pub fn run(options: &Options) -> Result<(), String> {
    let tch = options.devices.iter().any(|d| d.starts_with("tch"));
    let env = if tch {
        crate::tch::environment()?
    } else {
        Vec::new()
    };
    // The Python by its own path: the tch environment puts PyTorch 2.9.0's venv first on PATH.
    let (python, versions) = python_versions(&options.python)?;
    let python = python.as_str();
    let cli = Target {
        package: "ember-xai-cli",
        kind: "bin",
        name: "ember",
        features: release::cli_features(&options.devices),
    };
    let ember = release::build(&cli, &env)?;
    let ember = ember.to_string_lossy().to_string();
    let ember = ember.as_str();
    // MiniLM's side is an example of ember-text; built before anything is timed.
    let minilm = std::env::var_os("EMBER_MINILM")
        .map(PathBuf::from)
        .filter(|m| m.exists());
    let similarity_bench = match &minilm {
        Some(_) => {
            // Flex and ndarray come with the example's dev-dependencies; the facade opens the
            // others by name.
            let mut features = Vec::new();
            if options.devices.iter().any(|d| d == "wgpu" || d == "vulkan") {
                features.push("wgpu,ember/wgpu");
            }
            if tch {
                features.push("tch");
            }
            let example = Target {
                package: "ember-xai-text",
                kind: "example",
                name: "similarity_bench",
                features: features.join(","),
            };
            release::build(&example, &env)?
                .to_string_lossy()
                .to_string()
        }
        None => String::new(),
    };
    let load_start = release::load_average();
    let repeats = options.repeats.to_string();
    let threads = options.threads.to_string();
    // ember runs in the build's environment (LibTorch's libraries for tch); Python in the
    // caller's, so that its own torch loads its own libraries.
    let json = |program: &str, args: &[&str]| -> Result<Value, String> {
        let env: &[(String, String)] = if program == python { &[] } else { &env };
        run_json_in(program, args, env)
    };
    let mut rows = Vec::new();
    // `ember bench --json` of `args` on `device`, timed `repeats` times.
    let bench = |args: &[&str], device: &str, repeats: &str| -> Result<Value, String> {
        let mut all = vec!["bench"];
        all.extend_from_slice(args);
        all.extend(["--device", device, "--repeats", repeats, "--json"]);
        json(ember, &all)
    };

    // The zoo.
    let captum = json(
        python,
        &[
            "benches/captum_zoo.py",
            "--threads",
            &threads,
            "--repeats",
            &repeats,
        ],
    )?;
    // Captum's fastest variant of the method (IG in passes of 128 rows or in one pass), so
    // that a speed-up is never flattered by a slow setting of Captum.
    let captum_ms = |model: &str, method: &str| fastest(&captum, model, method);
    for model in ["mlp", "cnn", "tabular"] {
        for (method, setting) in [
            ("integrated-gradients", "batch 64, 50 steps"),
            ("smoothgrad", "batch 64, 50 samples"),
        ] {
            for device in &options.devices {
                let v = bench(&["--model", model, "--method", method], device, &repeats)?;
                rows.push(Row {
                    model: model.into(),
                    method: method.into(),
                    setting: setting.into(),
                    device: device.clone(),
                    ember_ms: v["median_ms"].as_f64().unwrap_or(f64::NAN),
                    captum_ms: captum_ms(model, method),
                });
            }
        }
    }

    // The perturbation methods on the zoo, at ember's defaults (Captum's fastest
    // `perturbations_per_eval` of two).
    let captum = json(
        python,
        &[
            "benches/captum_perturbation.py",
            "--threads",
            &threads,
            "--repeats",
            PERTURBATION_REPEATS,
        ],
    )?;
    let captum_ms = |model: &str, method: &str| fastest(&captum, model, method);
    for model in ["mlp", "cnn", "tabular"] {
        let window = if model == "cnn" {
            "batch 64, window 1×2×2, strides 1"
        } else {
            "batch 64, window 1, strides 1"
        };
        for (method, setting) in [
            ("occlusion", window),
            ("feature-ablation", "batch 64, one group per element"),
            ("shapley-value-sampling", "batch 64, 50 permutations"),
            ("kernel-shap", "batch 64, 50 coalitions"),
            ("lime", "batch 64, 50 coalitions, Lasso 0.01"),
        ] {
            for device in &options.devices {
                let v = bench(
                    &["--model", model, "--method", method],
                    device,
                    PERTURBATION_REPEATS,
                )?;
                rows.push(Row {
                    model: model.into(),
                    method: method.into(),
                    setting: setting.into(),
                    device: device.clone(),
                    ember_ms: v["median_ms"].as_f64().unwrap_or(f64::NAN),
                    captum_ms: captum_ms(model, method),
                });
            }
        }
    }

    // EfficientNet-Lite0 on one photo.
    let photos = Path::new("../shared/data/photos");
    match std::env::var_os("EMBER_EFFICIENTNET_LITE0").map(PathBuf::from) {
        Some(weights) if weights.exists() && photos.exists() => {
            let weights = weights.to_string_lossy().to_string();
            let photos = photos.to_string_lossy().to_string();
            let photo = format!("{photos}/chelsea.png");
            let mut args = vec![
                "crates/ember-zoo/tests/fixtures/efficientnet/bench_captum.py",
                "--weights",
                &weights,
                "--photos",
                &photos,
                "--threads",
                &threads,
                "--repeats",
                "3",
            ];
            let reference = std::env::var("EMBER_EFFICIENTNET_REFERENCE").unwrap_or_default();
            if !reference.is_empty() {
                args.extend(["--reference", &reference]);
            }
            let captum = json(python, &args)?;
            for device in &options.devices {
                let photo_args = [
                    "--model",
                    "efficientnet-lite0",
                    "--weights",
                    &weights,
                    "--images",
                    &photo,
                    "--batch",
                    "1",
                ];
                let mut args = photo_args.to_vec();
                args.extend(["--method", "integrated-gradients", "--steps", "50"]);
                let v = bench(&args, device, "3")?;
                rows.push(Row {
                    model: "efficientnet-lite0".into(),
                    method: "integrated-gradients".into(),
                    setting: "1 photo, 50 steps".into(),
                    device: device.clone(),
                    ember_ms: v["median_ms"].as_f64().unwrap_or(f64::NAN),
                    captum_ms: captum["ms"]["ig_50"].as_f64().unwrap_or(f64::NAN),
                });
                // Occlusion with Captum's tutorial window, ember's default on a 224² photo.
                let mut args = photo_args.to_vec();
                args.extend(["--method", "occlusion", "--window", "3,15,15"]);
                args.extend(["--strides", "3,8,8"]);
                let v = bench(&args, device, "3")?;
                rows.push(Row {
                    model: "efficientnet-lite0".into(),
                    method: "occlusion".into(),
                    setting: "1 photo, window 3×15×15, strides 3×8×8".into(),
                    device: device.clone(),
                    ember_ms: v["median_ms"].as_f64().unwrap_or(f64::NAN),
                    captum_ms: captum["ms"]["occlusion"].as_f64().unwrap_or(f64::NAN),
                });
            }
        }
        _ => eprintln!(
            "==> skipping EfficientNet-Lite0: EMBER_EFFICIENTNET_LITE0 or ../shared/data/photos is missing"
        ),
    }

    // all-MiniLM-L6-v2 on one text pair.
    match minilm {
        Some(model) => {
            let model = model.to_string_lossy().to_string();
            let captum = json(
                python,
                &[
                    "crates/ember-text/tests/fixtures/minilm/bench_captum.py",
                    &model,
                    "--threads",
                    &threads,
                    "--rows",
                    "50",
                ],
            )?;
            for device in &options.devices {
                let v = json(&similarity_bench, &[&model, device, "--json"])?;
                rows.push(Row {
                    model: "all-MiniLM-L6-v2".into(),
                    method: "layer-integrated-gradients".into(),
                    setting: format!("1 text pair, {} tokens, 50 steps", v["tokens"]),
                    device: device.clone(),
                    ember_ms: v["ms"].as_f64().unwrap_or(f64::NAN),
                    captum_ms: captum["ms"].as_f64().unwrap_or(f64::NAN),
                });
            }
        }
        None => eprintln!("==> skipping all-MiniLM-L6-v2: EMBER_MINILM is missing"),
    }

    let mut md = String::new();
    let _ = writeln!(md, "{START}");
    let _ = writeln!(
        md,
        "Generated by `cargo xtask bench --vs-captum` ({}), machine: {}, 1-minute load \
         average {load_start} at the start and {} at the end. ember: built in {}{}, f32, \
         each device's default rows per pass. Captum: {versions}, `torch.set_num_threads({})`, CPU. Medians of {} calls after \
         a warm-up ({PERTURBATION_REPEATS} for the perturbation methods and the real models), both sides in one run. `speed-up` = Captum's time \
         ÷ ember's (above 1: ember is faster).\n",
        today(),
        machine(),
        release::load_average(),
        release::profile_note(&cli.command()),
        if similarity_bench.is_empty() {
            " (all-MiniLM-L6-v2 not measured: EMBER_MINILM unset)"
        } else {
            " (MiniLM: the `similarity_bench` example, same profile)"
        },
        options.threads,
        options.repeats,
    );
    let _ = writeln!(
        md,
        "| model | method | setting | ember device | ember ms | Captum ms | speed-up |\n\
         |---|---|---|---|---|---|---|"
    );
    for r in &rows {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {:.1} | {:.1} | {:.2} |",
            r.model,
            r.method,
            r.setting,
            r.device,
            r.ember_ms,
            r.captum_ms,
            r.captum_ms / r.ember_ms
        );
    }
    let _ = writeln!(md, "{END}");
    crate::bench::write_section(START, END, &md)
}

/// Runs `program args` in the environment `env` and returns the last line of its stdout that
/// parses as JSON (scripts may print progress first).
pub fn run_json_in(
    program: &str,
    args: &[&str],
    env: &[(String, String)],
) -> Result<Value, String> {
    eprintln!("==> {program} {}", args.join(" "));
    let out = Command::new(program)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{program} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .ok_or_else(|| format!("{program} printed no JSON"))
}

/// [`run_json_in`] in this process's environment.
pub fn run_json(program: &str, args: &[&str]) -> Result<Value, String> {
    run_json_in(program, args, &[])
}

/// The fastest of Captum's variants of `method` on `model` in a script's `results`.
pub fn fastest(captum: &Value, model: &str, method: &str) -> f64 {
    captum["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["model"] == model && r["method"] == method)
        .filter_map(|r| r["median_ms"].as_f64())
        .reduce(f64::min)
        .unwrap_or(f64::NAN)
}

/// The path of `python` and its `torch X, captum Y`, or why it cannot run the reference side.
pub fn python_versions(python: &str) -> Result<(String, String), String> {
    let lines = crate::tch::python_lines(
        python,
        "import sys, torch, captum; print(sys.executable); \
         print(f'torch {torch.__version__}, Captum {captum.__version__}')",
    )
    .map_err(|e| format!("{e} (`pip install torch captum`, or --python PATH)"))?;
    let path = lines.first().cloned().unwrap_or_else(|| python.into());
    Ok((path, lines.get(1).cloned().unwrap_or_default()))
}
