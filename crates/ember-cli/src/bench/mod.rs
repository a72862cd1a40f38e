//! `ember bench`: times a method against the raw limit, one forward+backward over the same
//! rows on the same device in blocks of the same size (one forward, for the perturbation
//! methods), in one run.

mod rss;

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use ember::backend::{Backend, Precision};
use ember::burn::tensor::{Device, Tensor, TensorData};
use ember::kernel::bench::{raw_forward, raw_forward_backward};
use ember::prelude::*;
use ember::{BaseMethod, Family, GradientKernel, MethodSpec};
use ember_zoo::photos::load_photos;
use ember_zoo::{ZooModel, ZooNet, ZooVisitor};
use serde::Serialize;

use rss::{peak_rss_kib, run_rss};

use crate::names::{DEFAULT_SAMPLES, DEFAULT_STEPS, MethodArgs, parse_baseline, resolve_method};

/// Times an attribution method on a zoo model against the raw forward+backward limit.
#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// The model: mlp, cnn, tabular, or efficientnet-lite0 (with `--weights` and `--images`).
    #[arg(long)]
    pub model: ZooModel,
    /// Weights (.safetensors or .pt/.pth); default: the shipped weights (efficientnet-lite0's
    /// .pth is required).
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// Photos to explain (efficientnet-lite0), repeated to `--batch`; their targets are the
    /// model's predictions.
    #[arg(long, num_args = 1..)]
    pub images: Vec<PathBuf>,
    /// The method, by any name `ember attribute --method` takes.
    #[arg(long, value_parser = crate::names::parse_method)]
    pub method: MethodSpec,
    /// Samples per call (test samples, repeated if the split has fewer).
    #[arg(long, default_value_t = 64)]
    pub batch: usize,
    /// The methods' settings (`--steps`, `--samples`, `--max-rows`, `--memory-budget`, …),
    /// for the method and, for the rows per pass, the raw limit alike.
    #[command(flatten)]
    pub settings: MethodArgs,
    /// The method that smoothgrad wraps (default: saliency).
    #[arg(long, value_parser = crate::names::parse_inner)]
    pub inner: Option<BaseMethod>,
    /// The backend: flex, ndarray, wgpu, vulkan, gl, tch or tch-cuda (the `tch` feature).
    #[arg(long, default_value = "flex")]
    pub device: Backend,
    /// Timed repetitions of each side (after one warm-up); the median is reported.
    #[arg(long, default_value_t = 7)]
    pub repeats: usize,
    /// Measure the rows per pass with the highest throughput first (a short search over
    /// powers of two within `--max-rows` and the budget, `GradientKernel::tune_rows`), and use
    /// it for the method and the raw limit alike. The search's time is not in `median_ms`.
    #[arg(long)]
    pub tune_rows: bool,
    /// Print one JSON object instead of a sentence.
    #[arg(long)]
    pub json: bool,
    /// Peak-memory mode: runs the method once at `--steps 50` and once at `--steps 2000`, each
    /// in a fresh process, and reports the peak resident set size of each.
    #[arg(long)]
    pub rss: bool,
    /// Internal: run the method once and report this process's peak RSS (used by `--rss`).
    #[arg(long, hide = true)]
    pub rss_child: bool,
    /// Where to write the JSON as well (appended as one line).
    #[arg(long)]
    pub append_to: Option<PathBuf>,
}

/// One benchmark's result; `--json` prints it.
#[derive(Debug, Serialize)]
pub struct BenchResult {
    /// The model.
    pub model: String,
    /// The method.
    pub method: String,
    /// The backend.
    pub device: String,
    /// The wrapped method (smoothgrad).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inner: Option<String>,
    /// Samples per call.
    pub batch: usize,
    /// Integration steps.
    pub steps: usize,
    /// Noisy samples.
    pub samples: usize,
    /// Rows per call: differentiated (gradient methods) or evaluated forward only
    /// (perturbation methods); the raw limit's rows.
    pub rows: usize,
    /// Rows per pass, for both sides.
    pub rows_per_pass: usize,
    /// The median wall time of the model check alone (rows independent and deterministic),
    /// in milliseconds: part of every method call's `median_ms`.
    pub check_ms: f64,
    /// Passes per call of the method.
    pub passes: usize,
    /// The method's median wall time per call, in milliseconds.
    pub median_ms: f64,
    /// The raw limit's median wall time, in milliseconds: one forward and one backward per
    /// block of the same rows, or for perturbation methods one forward per block on the plain
    /// (non-autodiff) device.
    pub raw_ms: f64,
    /// Perturbation methods: the same forward-only rows on the autodiff device, in
    /// milliseconds (what recording a graph that no one differentiates would cost).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw_autodiff_ms: Option<f64>,
    /// `median_ms / raw_ms`.
    pub ratio: f64,
    /// Timed repetitions per side.
    pub repeats: usize,
    /// The largest |delta| of the method's last call (integrated gradients).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_abs_delta: Option<f64>,
    /// Peak resident set size of the process, KiB (with `--rss`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peak_rss_kib: Option<u64>,
    /// Logical CPUs available to the process.
    pub cpus: usize,
    /// The search of `--tune-rows`: each candidate's rows per pass and time per row (µs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tuning: Option<ember::RowsTuning>,
    /// The search's wall time, in milliseconds (`--tune-rows`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tuning_ms: Option<f64>,
}

/// Runs `ember bench`.
pub fn run(args: &BenchArgs) -> Result<(), String> {
    if args.rss {
        return run_rss(args);
    }
    if args.batch == 0 || args.repeats == 0 {
        return Err("--batch and --repeats must be at least 1".into());
    }
    let device = args
        .device
        .device_with(Precision::F32)
        .map_err(|e| e.to_string())?;
    let result = args
        .model
        .visit(
            args.weights.as_deref(),
            &device,
            Bench {
                args,
                device: &device,
            },
        )
        .map_err(|e| e.to_string())??;
    let json = serde_json::to_string(&result).map_err(|e| e.to_string())?;
    if let Some(path) = &args.append_to {
        append_line(path, &json)?;
    }
    if args.json || args.rss_child {
        println!("{json}");
    } else {
        let raw = match result.raw_autodiff_ms {
            Some(autodiff) => format!(
                "raw forward {:.2} ms (on autodiff rows: {autodiff:.2} ms)",
                result.raw_ms
            ),
            None => format!("raw forward+backward {:.2} ms", result.raw_ms),
        };
        println!(
            "{} on {} ({}, batch {}, {} rows in passes of {}): {:.2} ms vs {raw}, ratio {:.3} \
             (median of {}); the model check in each call: {:.2} ms",
            result.method,
            result.model,
            result.device,
            result.batch,
            result.rows,
            result.rows_per_pass,
            result.median_ms,
            result.ratio,
            result.repeats,
            result.check_ms
        );
    }
    Ok(())
}

/// `ember bench`'s work on the zoo model, whatever its type: the model explained in
/// evaluation mode, with its Grad-CAM layer named ([`ZooNet::explained`]).
struct Bench<'a> {
    args: &'a BenchArgs,
    device: &'a Device,
}

impl ZooVisitor for Bench<'_> {
    type Output = Result<BenchResult, String>;

    fn visit<const D: usize, N: ZooNet<D>>(self, model: N) -> Self::Output {
        measure(self.args, self.device, &model.explained())
    }
}

/// The test samples of the model's dataset (or `--images`, preprocessed, with the model's
/// predictions as labels), repeated to `batch`, and their labels.
fn inputs<const D: usize, M: Model<D> + ?Sized>(
    args: &BenchArgs,
    device: &Device,
    model: &M,
) -> Result<(Tensor<D>, Vec<usize>), String> {
    let info = args.model.info();
    let batch = args.batch;
    let (inputs, test_labels, features): (Vec<f64>, Vec<usize>, usize) = match info.data.test_set()
    {
        Some(test) => {
            let features = test.features();
            let inputs = test.inputs.iter().map(|&v| v as f64).collect();
            (inputs, test.labels.clone(), features)
        }
        None => {
            if args.images.is_empty() {
                return Err(format!(
                    "{} is benchmarked on photos: give --images",
                    args.model
                ));
            }
            let photos =
                load_photos(&args.images, info.sample_shape[1]).map_err(|e| e.to_string())?;
            let inputs: Vec<f64> = photos
                .iter()
                .flat_map(|p| p.input.iter().map(|&v| f64::from(v)))
                .collect();
            let mut shape = [0; D];
            shape[0] = photos.len();
            shape[1..].copy_from_slice(info.sample_shape);
            let x = Tensor::<D>::from_data(TensorData::new(inputs.clone(), shape), device);
            let rows = RowSamples::identity(photos.len());
            let predicted = model.forward_rows(x, &rows).argmax(1);
            let labels = ember::validate::read_f64(predicted.float())
                .map_err(|e| e.to_string())?
                .into_iter()
                .map(|c| c as usize)
                .collect();
            let features = inputs.len() / photos.len();
            (inputs, labels, features)
        }
    };
    let available = test_labels.len();
    let mut values = Vec::with_capacity(batch * features);
    let mut labels = Vec::with_capacity(batch);
    for i in 0..batch {
        let s = i % available;
        values.extend_from_slice(&inputs[s * features..(s + 1) * features]);
        labels.push(test_labels[s]);
    }
    let mut shape = [0; D];
    shape[0] = batch;
    shape[1..].copy_from_slice(info.sample_shape);
    Ok((
        Tensor::from_data(TensorData::new(values, shape), device),
        labels,
    ))
}

fn measure<const D: usize, M: Model<D> + ?Sized>(
    args: &BenchArgs,
    device: &Device,
    model: &M,
) -> Result<BenchResult, String> {
    let (x, labels) = inputs::<D, M>(args, device, model)?;
    let err = |e: Error| e.to_string();
    let spec = resolve_method(args.method, None, args.inner)?;
    let budget = args.settings.memory_budget;
    let (max_rows, tuning) = if args.tune_rows {
        let start = Instant::now();
        let tuning = GradientKernel::with_settings(args.settings.max_rows, budget, true)
            .and_then(|k| k.tune_rows(model, &x))
            .map_err(err)?;
        let ms = start.elapsed().as_secs_f64() * 1e3;
        (Some(tuning.rows), Some((tuning, ms)))
    } else {
        (args.settings.max_rows, None)
    };
    let baseline = parse_baseline(&args.settings.baseline, 0)?;
    let settings = args
        .settings
        .settings([DEFAULT_STEPS, DEFAULT_SAMPLES], baseline, 0)?
        .with_max_rows(max_rows);
    let settings = crate::names::with_default_baselines(settings, &[spec], args.model)?;
    // Built first: a bad setting (a zero stride) is the method's typed error, not the estimate's.
    let method = spec.build(&settings).map_err(err)?;
    let points = spec.rows_per_sample(&settings, &x.dims());
    let call = || -> Result<Report, String> {
        let target = Target::PerSample(labels.clone());
        let out = method.attribute(model, x.clone(), target).map_err(err)?;
        Ok(out.report)
    };
    let kernel = GradientKernel::with_settings(max_rows, budget, true).map_err(err)?;
    let rows_per_pass = kernel.rows_per_pass(device, args.model.sample_shape().iter().product());
    if args.rss_child {
        // Only the method runs: the raw limit's rows (below) would hold every row at once.
        let report = call()?;
        return Ok(
            result(args, spec, report, points, rows_per_pass, [0.0; 3], true).with_tuning(tuning),
        );
    }
    // The raw limit's rows: the same number of rows of the same shape, built once, untimed.
    let raw_rows = x.clone().repeat_dim(0, points);
    let raw_targets: Vec<usize> = (0..points).flat_map(|_| labels.iter().copied()).collect();
    // Forward-only methods are timed against forward-only rows on the plain device (what the
    // kernel's forward primitive passes), and the same rows on the autodiff device are timed
    // too: what the primitive would pay for recording graphs no one differentiates.
    let forward_only = spec.info().family == Family::Perturbation;
    let raw = || {
        if forward_only {
            raw_forward(&kernel, model, raw_rows.clone(), false)
        } else {
            raw_forward_backward(&kernel, model, raw_rows.clone(), &raw_targets)
        }
        .map_err(err)
    };
    let raw_autodiff = || raw_forward(&kernel, model, raw_rows.clone(), true).map_err(err);
    // Warm-up (kernel compilation on wgpu, allocator pools), then alternate the sides so
    // that drifts of a shared machine hit them alike.
    let check = || kernel.check_model(model, &x).map_err(err);
    let mut report = call()?;
    raw()?;
    if forward_only {
        raw_autodiff()?;
    }
    check()?;
    let (mut method_ms, mut raw_ms, mut check_ms) = (Vec::new(), Vec::new(), Vec::new());
    let mut autodiff_ms = Vec::new();
    for _ in 0..args.repeats {
        let start = Instant::now();
        report = call()?;
        method_ms.push(start.elapsed().as_secs_f64() * 1e3);
        let start = Instant::now();
        raw()?;
        raw_ms.push(start.elapsed().as_secs_f64() * 1e3);
        if forward_only {
            let start = Instant::now();
            raw_autodiff()?;
            autodiff_ms.push(start.elapsed().as_secs_f64() * 1e3);
        }
        let start = Instant::now();
        check()?;
        check_ms.push(start.elapsed().as_secs_f64() * 1e3);
    }
    let times = [
        median(&mut method_ms),
        median(&mut raw_ms),
        median(&mut check_ms),
    ];
    let mut out = result(args, spec, report, points, rows_per_pass, times, false);
    if forward_only {
        out.raw_autodiff_ms = Some(median(&mut autodiff_ms));
    }
    Ok(out.with_tuning(tuning))
}

fn result(
    args: &BenchArgs,
    spec: MethodSpec,
    report: Report,
    points: usize,
    rows_per_pass: usize,
    [median_ms, raw_ms, check_ms]: [f64; 3],
    rss: bool,
) -> BenchResult {
    BenchResult {
        model: args.model.to_string(),
        method: method_name(spec),
        device: args.device.to_string(),
        inner: inner_name(spec),
        batch: args.batch,
        steps: args.settings.steps_or(DEFAULT_STEPS),
        samples: args.settings.samples_or(DEFAULT_SAMPLES),
        rows: args.batch * points,
        rows_per_pass,
        check_ms,
        passes: report.passes,
        median_ms,
        raw_ms,
        raw_autodiff_ms: None,
        ratio: if raw_ms > 0.0 {
            median_ms / raw_ms
        } else {
            0.0
        },
        repeats: if rss { 1 } else { args.repeats },
        max_abs_delta: report
            .delta()
            .map(|d| d.iter().fold(0.0f64, |m, v| m.max(v.abs()))),
        peak_rss_kib: if rss { peak_rss_kib() } else { None },
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        tuning: None,
        tuning_ms: None,
    }
}

impl BenchResult {
    fn with_tuning(self, tuning: Option<(ember::RowsTuning, f64)>) -> Self {
        match tuning {
            Some((tuning, ms)) => Self {
                tuning: Some(tuning),
                tuning_ms: Some(ms),
                ..self
            },
            None => self,
        }
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// Appends `line` to `path` (`--append-to`), creating the file.
fn append_line(path: &std::path::Path, line: &str) -> Result<(), String> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    writeln!(file, "{line}").map_err(|e| e.to_string())
}

/// The method's name in the results: a noise tunnel's kind (`smoothgrad`, `vargrad`), with its
/// inner method apart ([`inner_name`]).
fn method_name(spec: MethodSpec) -> String {
    match spec {
        MethodSpec::Smooth { kind, .. } => kind.method_name().to_string(),
        base => base.name(),
    }
}

/// A noise tunnel's inner method.
fn inner_name(spec: MethodSpec) -> Option<String> {
    match spec {
        MethodSpec::Smooth { inner, .. } => Some(inner.name().to_string()),
        MethodSpec::Base(_) | MethodSpec::Layer(_) | MethodSpec::Perturbation(_) => None,
    }
}
