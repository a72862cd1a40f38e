//! `cargo xtask bench`: measures with `ember bench` and writes docs/benchmarks.md.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::release::{self, Target};

const START: &str = "<!-- bench:start -->";
const END: &str = "<!-- bench:end -->";
const MODELS: [&str; 3] = ["mlp", "cnn", "tabular"];

/// Builds the CLI in the release profile with the features of the measured devices (nothing
/// else), runs the measurements and rewrites the generated part of docs/benchmarks.md.
pub fn run(repeats: usize, extra_devices: &[String]) -> Result<(), String> {
    let mut devices = vec!["flex".to_string(), "ndarray".to_string()];
    devices.extend(extra_devices.iter().cloned());
    let env = if devices.iter().any(|d| d.starts_with("tch")) {
        crate::tch::environment()?
    } else {
        Vec::new()
    };
    let target = Target {
        package: "ember-xai-cli",
        kind: "bin",
        name: "ember",
        features: release::cli_features(&devices),
    };
    let ember = release::build(&target, &env)?;
    let load_start = release::load_average();
    let bench = |args: &[&str]| -> Result<Value, String> {
        eprintln!("==> ember bench {}", args.join(" "));
        let out = Command::new(&ember)
            .arg("bench")
            .args(args)
            .arg("--json")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())
    };
    let repeats = repeats.to_string();

    let mut md = String::new();
    let _ = writeln!(
        md,
        "### Overhead over the raw forward+backward (batch 64, steps 50, samples 50)\n\n\
         `ratio` = method time / the same rows' plain forward+backward in blocks of the same \
         size. Target: ≤ 1.10 for integrated gradients and smoothgrad (over saliency: 50 noisy \
         copies of each sample). `check ms` is the model check alone (rows independent and \
         deterministic: three forwards of 5 rows in all), which every method call includes.\n\n\
         | device | model | method | rows | rows/pass | passes | method ms | raw ms | ratio | check ms | max \\|delta\\| |\n\
         |---|---|---|---|---|---|---|---|---|---|---|"
    );
    for device in &devices {
        for model in MODELS {
            for method in ["integrated-gradients", "smoothgrad", "saliency"] {
                // ndarray's convolution is slow (seconds per call on the CNN): fewer repeats.
                let repeats = if device == "ndarray" && model == "cnn" {
                    "3"
                } else {
                    repeats.as_str()
                };
                let v = bench(&[
                    "--model",
                    model,
                    "--method",
                    method,
                    "--device",
                    device,
                    "--repeats",
                    repeats,
                ])?;
                let _ = writeln!(
                    md,
                    "| {device} | {model} | {method} | {} | {} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {} |",
                    v["rows"],
                    v["rows_per_pass"],
                    v["passes"],
                    v["median_ms"].as_f64().unwrap_or(f64::NAN),
                    v["raw_ms"].as_f64().unwrap_or(f64::NAN),
                    v["ratio"].as_f64().unwrap_or(f64::NAN),
                    v["check_ms"].as_f64().unwrap_or(f64::NAN),
                    v["max_abs_delta"]
                        .as_f64()
                        .map_or("".into(), |d| format!("{d:.2e}")),
                );
            }
        }
    }
    let _ = writeln!(
        md,
        "\n### Overhead at the tuned rows per pass (flex, batch 64, steps 50, samples 50)\n\n\
         `ember bench --tune-rows`: the rows per pass measured fastest for the model's raw \
         forward+backward (`GradientKernel::tune_rows`, powers of two from 8 to 1024), used by \
         the method and the raw limit alike; `search ms` is the search's one-off time.\n\n\
         | model | method | tuned rows/pass | method ms | raw ms | ratio | search ms |\n\
         |---|---|---|---|---|---|---|"
    );
    for model in MODELS {
        for method in ["integrated-gradients", "smoothgrad"] {
            let v = bench(&[
                "--model",
                model,
                "--method",
                method,
                "--tune-rows",
                "--repeats",
                &repeats,
            ])?;
            let _ = writeln!(
                md,
                "| {model} | {method} | {} | {:.3} | {:.3} | {:.3} | {:.1} |",
                v["rows_per_pass"],
                v["median_ms"].as_f64().unwrap_or(f64::NAN),
                v["raw_ms"].as_f64().unwrap_or(f64::NAN),
                v["ratio"].as_f64().unwrap_or(f64::NAN),
                v["tuning_ms"].as_f64().unwrap_or(f64::NAN),
            );
        }
    }
    let _ = writeln!(
        md,
        "\n### Rows per pass (flex, integrated gradients, batch 64, steps 50)\n\n\
         The default for these small rows is 128 rows on CPU backends (the cap; the 16 MiB \
         input budget would allow more); both sides use the same block size.\n\n\
         | model | rows/pass | method ms | raw ms | ratio |\n|---|---|---|---|---|"
    );
    for model in MODELS {
        for rows in ["32", "64", "128", "256", "512", "3200"] {
            let v = bench(&[
                "--model",
                model,
                "--method",
                "integrated-gradients",
                "--max-rows",
                rows,
                "--repeats",
                &repeats,
            ])?;
            let _ = writeln!(
                md,
                "| {model} | {rows} | {:.3} | {:.3} | {:.3} |",
                v["median_ms"].as_f64().unwrap_or(f64::NAN),
                v["raw_ms"].as_f64().unwrap_or(f64::NAN),
                v["ratio"].as_f64().unwrap_or(f64::NAN),
            );
        }
    }
    let _ = writeln!(
        md,
        "\n### Peak memory (flex, integrated gradients, batch 64, default rows per pass)\n\n\
         Each figure is a fresh process (`ember bench --rss`); target: 2000 steps ≤ 1.1 × 50 \
         steps.\n\n\
         | model | rows/pass | peak RSS, 50 steps | peak RSS, 2000 steps | ratio |\n|---|---|---|---|---|"
    );
    for model in MODELS {
        let v = bench(&[
            "--model",
            model,
            "--method",
            "integrated-gradients",
            "--rss",
        ])?;
        let _ = writeln!(
            md,
            "| {model} | {} | {} KiB | {} KiB | {:.3} |",
            v["rows_per_pass"],
            v["peak_rss_kib_steps_50"],
            v["peak_rss_kib_steps_2000"],
            v["rss_ratio"].as_f64().unwrap_or(f64::NAN),
        );
    }
    let _ = writeln!(md, "{END}");

    let header = format!(
        "{START}\nGenerated by `cargo xtask bench` ({}), machine: {}, 1-minute load average {} \
         at the start and {} at the end. Built in {}. f32, median of {repeats} timed calls \
         after one warm-up (3 for the CNN on ndarray), the method and its raw limit alternating \
         in one process.\n\n",
        today(),
        machine(),
        load_start,
        release::load_average(),
        release::profile_note(&target.command()),
    );
    write_section(START, END, &format!("{header}{md}"))
}

/// Replaces the part of docs/benchmarks.md between `start` and `end` (markers included) with
/// `md`, or appends `md` if the markers are missing.
pub fn write_section(start: &str, end: &str, md: &str) -> Result<(), String> {
    let path = Path::new("docs/benchmarks.md");
    let old = std::fs::read_to_string(path).unwrap_or_else(|_| "# Benchmarks\n\n".into());
    let new = match (old.find(start), old.find(end)) {
        (Some(a), Some(b)) if a < b => {
            let rest = old[b + end.len()..].trim_start_matches('\n');
            format!("{}{md}{rest}", &old[..a])
        }
        _ => format!("{old}\n{md}"),
    };
    std::fs::write(path, new).map_err(|e| e.to_string())?;
    eprintln!("==> wrote {}", path.display());
    Ok(())
}

/// Today's date, `YYYY-MM-DD`.
pub fn today() -> String {
    Command::new("date")
        .arg("+%Y-%m-%d")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// The CPU's model name and the threads available.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("{cpu}, {threads} threads")
}
