//! `ember bench --rss`: the peak memory of a method at 50 and at 2000 steps (draws, for
//! gradient-shap and expected-gradients), each in a fresh process (the same rows per pass), to
//! show that memory does not grow with the steps.

use std::process::Command;

use super::{BenchArgs, append_line, inner_name, method_name};
use ember::{BaseMethod, MethodSpec};

use crate::names::{DEFAULT_SAMPLES, DEFAULT_STEPS, resolve_method};

/// The process's peak resident set size (`VmHWM`), where the OS reports it (Linux).
pub(super) fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// `--rss`: one fresh process per step count, same rows per pass.
pub(super) fn run_rss(args: &BenchArgs) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let spec = resolve_method(args.method, None, args.inner)?;
    let method = method_name(spec);
    // The draws are gradient-shap's steps along its paths: vary them, not `--steps`.
    let draws = matches!(
        spec,
        MethodSpec::Base(BaseMethod::GradientShap | BaseMethod::ExpectedGradients)
    );
    let varies = if draws { "samples" } else { "steps" };
    let mut peaks = Vec::new();
    for steps in [50usize, 2000] {
        let (steps_arg, samples_arg) = if draws {
            (args.settings.steps_or(DEFAULT_STEPS), steps)
        } else {
            (steps, args.settings.samples_or(DEFAULT_SAMPLES))
        };
        let mut command = Command::new(&exe);
        command.args([
            "bench",
            "--model",
            args.model.name(),
            "--method",
            &method,
            "--batch",
            &args.batch.to_string(),
            "--steps",
            &steps_arg.to_string(),
            "--samples",
            &samples_arg.to_string(),
            "--device",
            &args.device.to_string(),
            "--rss-child",
        ]);
        if let Some(inner) = inner_name(spec) {
            command.args(["--inner", &inner]);
        }
        if let Some(rows) = args.settings.max_rows {
            command.args(["--max-rows", &rows.to_string()]);
        }
        if let Some(bytes) = args.settings.memory_budget {
            command.args(["--memory-budget", &bytes.to_string()]);
        }
        if args.tune_rows {
            command.arg("--tune-rows");
        }
        if let Some(baselines) = &args.settings.baselines {
            command.arg("--baselines").arg(baselines);
        }
        if let Some(weights) = &args.weights {
            command.arg("--weights").arg(weights);
        }
        if !args.images.is_empty() {
            command.arg("--images").args(&args.images);
        }
        let out = command.output().map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        let child: serde_json::Value =
            serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())?;
        let peak = child["peak_rss_kib"]
            .as_u64()
            .ok_or("peak RSS is not reported on this OS")?;
        peaks.push((steps, peak, child["rows_per_pass"].as_u64().unwrap_or(0)));
    }
    let ratio = peaks[1].1 as f64 / peaks[0].1 as f64;
    let rows_per_pass = peaks[0].2;
    let summary = serde_json::json!({
        "model": args.model.to_string(),
        "method": method,
        "device": args.device.to_string(),
        "batch": args.batch,
        "rows_per_pass": rows_per_pass,
        "peak_rss_kib_steps_50": peaks[0].1,
        "peak_rss_kib_steps_2000": peaks[1].1,
        "rss_ratio": ratio,
        "varies": varies,
    });
    if let Some(path) = &args.append_to {
        append_line(path, &summary.to_string())?;
    }
    if args.json {
        println!("{summary}");
    } else {
        println!(
            "peak RSS of {} on {} ({}, batch {}, {} rows per pass): {} KiB at 50 {varies}, {} \
             KiB at 2000 {varies}, ratio {ratio:.3}",
            method, args.model, args.device, args.batch, rows_per_pass, peaks[0].1, peaks[1].1
        );
    }
    Ok(())
}
