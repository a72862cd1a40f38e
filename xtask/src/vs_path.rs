//! `cargo xtask bench --vs-path`: ember's path methods against their references on the same
//! models, inputs and settings, side by side in one run, written into docs/benchmarks.md
//! (between its `vs-path:start` and `vs-path:end` markers).
//!
//! - The zoo (mlp, cnn, tabular; batch 64): `gradient-shap` (50 draws from 64 training samples)
//!   against Captum's `GradientShap`, `blur-ig` (cnn) and `guided-ig` at PAIR's defaults
//!   against PAIR `saliency` 0.2.1's `BlurIG` and `GuidedIG`, all from
//!   `benches/captum_path.py` (which also writes the baselines both sides read).
//! - EfficientNet-Lite0 on one photo (`chelsea.png`), where `EMBER_EFFICIENTNET_LITE0` names
//!   the `.pth`: the same three methods.
//!
//! The reference side is the fastest of the script's variants of a row (PAIR's Blur IG with
//! every step in one call and with one step per call), so a speed-up is never flattered by a
//! slow setting of the reference.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::bench::{machine, today};
use crate::release::{self, Target};
use crate::vs_captum::{Options, fastest, python_versions, run_json};

const START: &str = "<!-- vs-path:start -->";
const END: &str = "<!-- vs-path:end -->";

/// Timed calls per EfficientNet measurement: a call of Guided IG takes minutes there.
const PHOTO_REPEATS: &str = "1";

/// One row of the table.
struct Row {
    model: String,
    method: String,
    reference: &'static str,
    setting: String,
    device: String,
    ember_ms: f64,
    reference_ms: f64,
}

/// Builds, measures both sides and rewrites the section of docs/benchmarks.md.
pub fn run(options: &Options) -> Result<(), String> {
    let (python, versions) = python_versions(&options.python)?;
    let python = python.as_str();
    let cli = Target {
        package: "ember-xai-cli",
        kind: "bin",
        name: "ember",
        features: release::cli_features(&options.devices),
    };
    let ember = release::build(&cli, &[])?.to_string_lossy().to_string();
    let load_start = release::load_average();
    let repeats = options.repeats.to_string();
    let threads = options.threads.to_string();
    let baselines = PathBuf::from("target/path-bench");
    let dir = baselines.to_string_lossy().to_string();
    let bench = |args: &[&str], device: &str, repeats: &str| -> Result<Value, String> {
        let mut all = vec!["bench"];
        all.extend_from_slice(args);
        all.extend(["--device", device, "--repeats", repeats, "--json"]);
        run_json(&ember, &all)
    };
    let mut rows = Vec::new();

    let reference = run_json(
        python,
        &[
            "benches/captum_path.py",
            "--threads",
            &threads,
            "--repeats",
            &repeats,
            "--write-baselines",
            &dir,
        ],
    )?;
    let zoo = [
        ("mlp", "gradient-shap"),
        ("cnn", "gradient-shap"),
        ("tabular", "gradient-shap"),
        ("cnn", "blur-ig"),
        ("mlp", "guided-ig"),
        ("cnn", "guided-ig"),
        ("tabular", "guided-ig"),
    ];
    for (model, method) in zoo {
        let file = format!("{dir}/{model}.safetensors");
        let mut args = vec!["--model", model, "--method", method, "--batch", "64"];
        let (setting, name) = match method {
            "gradient-shap" => {
                args.extend(["--samples", "50", "--baselines", &file]);
                ("batch 64, 50 draws from 64 training samples", "Captum")
            }
            "blur-ig" => ("batch 64, 100 steps, σ_max 50", "PAIR"),
            _ => ("batch 64, 200 steps, fraction 0.25, max_dist 0.02", "PAIR"),
        };
        for device in &options.devices {
            let v = bench(&args, device, &repeats)?;
            rows.push(Row {
                model: model.into(),
                method: method.into(),
                reference: name,
                setting: setting.into(),
                device: device.clone(),
                ember_ms: v["median_ms"].as_f64().unwrap_or(f64::NAN),
                reference_ms: fastest(&reference, model, method),
            });
        }
    }

    let photos = Path::new("../shared/data/photos");
    match std::env::var_os("EMBER_EFFICIENTNET_LITE0").map(PathBuf::from) {
        Some(weights) if weights.exists() && photos.exists() => {
            let weights = weights.to_string_lossy().to_string();
            let photos = photos.to_string_lossy().to_string();
            let photo = format!("{photos}/chelsea.png");
            let mut args = vec![
                "benches/captum_path.py",
                "--threads",
                &threads,
                "--repeats",
                PHOTO_REPEATS,
                "--models",
                "",
                "--write-baselines",
                &dir,
                "--efficientnet-weights",
                &weights,
                "--photos",
                &photos,
            ];
            let reference_dir = std::env::var("EMBER_EFFICIENTNET_REFERENCE").unwrap_or_default();
            if !reference_dir.is_empty() {
                args.extend(["--reference", &reference_dir]);
            }
            let reference = run_json(python, &args)?;
            let file = format!("{dir}/efficientnet-lite0.safetensors");
            for (method, setting, name) in [
                (
                    "gradient-shap",
                    "1 photo, 50 draws from 4 baselines",
                    "Captum",
                ),
                ("blur-ig", "1 photo, 100 steps, σ_max 50", "PAIR"),
                ("guided-ig", "1 photo, 200 steps", "PAIR"),
            ] {
                let mut args = vec![
                    "--model",
                    "efficientnet-lite0",
                    "--weights",
                    &weights,
                    "--images",
                    &photo,
                    "--batch",
                    "1",
                    "--method",
                    method,
                ];
                if method == "gradient-shap" {
                    args.extend(["--samples", "50", "--baselines", &file]);
                }
                for device in &options.devices {
                    let v = bench(&args, device, PHOTO_REPEATS)?;
                    rows.push(Row {
                        model: "efficientnet-lite0".into(),
                        method: method.into(),
                        reference: name,
                        setting: setting.into(),
                        device: device.clone(),
                        ember_ms: v["median_ms"].as_f64().unwrap_or(f64::NAN),
                        reference_ms: fastest(&reference, "efficientnet-lite0", method),
                    });
                }
            }
        }
        _ => eprintln!(
            "==> skipping EfficientNet-Lite0: EMBER_EFFICIENTNET_LITE0 or ../shared/data/photos is missing"
        ),
    }

    let mut md = String::new();
    let _ = writeln!(md, "{START}");
    let _ = writeln!(
        md,
        "Generated by `cargo xtask bench --vs-path` ({}), machine: {}, 1-minute load average \
         {load_start} at the start and {} at the end. ember: built in {}, f32, each device's \
         default rows per pass. References: {versions}, PAIR saliency 0.2.1 (NumPy < 2.4), \
         `torch.set_num_threads({})`, CPU; the fastest of a reference's variants (PAIR's Blur \
         IG with one step or every step per model call). Medians of {} calls after a warm-up \
         ({PHOTO_REPEATS} on EfficientNet-Lite0), both sides in one run. `speed-up` = the \
         reference's time ÷ ember's (above 1: ember is faster).\n",
        today(),
        machine(),
        release::load_average(),
        release::profile_note(&cli.command()),
        options.threads,
        options.repeats,
    );
    let _ = writeln!(
        md,
        "| model | method | reference | setting | ember device | ember ms | reference ms | speed-up |\n\
         |---|---|---|---|---|---|---|---|"
    );
    for r in &rows {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {:.1} | {:.1} | {:.2} |",
            r.model,
            r.method,
            r.reference,
            r.setting,
            r.device,
            r.ember_ms,
            r.reference_ms,
            r.reference_ms / r.ember_ms
        );
    }
    let _ = writeln!(md, "{END}");
    crate::bench::write_section(START, END, &md)
}
