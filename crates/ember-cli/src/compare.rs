//! `ember compare`: every method on a zoo model's test examples, every metric, a terminal
//! table and a self-contained report (`index.html`, `results.json`, PNGs).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Args;
use ember::backend::Backend;
use ember::burn::tensor::{Device, Tensor, TensorData};
use ember::prelude::*;
use ember::{GradientKernel, RowTargets};
use ember_metrics::{
    CompletenessSummary, Curve, CurveMode, MaxSensitivityConfig, ModelRandomisationConfig,
    PerturbationCurveConfig, RelevanceOrder, Replacement, SanityCheck, completeness, gini,
    spearman,
};
use ember_viz::report::{
    Better, Figure, ImageGrid, ImageRef, MetricColumn, MetricRow, MetricTable, Page, Table,
};
use ember_viz::{HeatmapOptions, MapKind, RgbImage, Series};
use ember_zoo::data::{Dataset, breast_cancer_split, digits_split};
use ember_zoo::{Randomize, ZooModel, shipped};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::attribute::load_model;
use crate::methods::{AnyMethod, MethodChoice, MethodSettings};

/// Compares attribution methods on a zoo model: metrics, heatmaps and an HTML report.
#[derive(Args, Debug)]
pub struct CompareArgs {
    /// The model: cnn (digits, the default), mlp (digits) or tabular (breast cancer).
    #[arg(long, default_value = "cnn")]
    pub model: ZooModel,
    /// PyTorch-named weights (.safetensors or .pt state dict); default: the shipped weights.
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// The methods, comma-separated; default: every method ember has.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub methods: Vec<MethodChoice>,
    /// How many test examples to explain (the first of the test split).
    #[arg(long, default_value_t = 16)]
    pub examples: usize,
    /// The backend: flex, ndarray, wgpu (any GPU), or vulkan.
    #[arg(long, default_value = "flex")]
    pub device: Backend,
    /// The report's directory (created; existing files of the same names are replaced).
    #[arg(long, default_value = "report")]
    pub out: PathBuf,
    /// The seed of every random draw (noise, perturbations, randomised layers).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Print `results.json` to stdout instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Integration steps (integrated gradients).
    #[arg(long, default_value_t = 50)]
    pub steps: usize,
    /// Noisy copies (smoothgrad, smoothgrad-squared, vargrad).
    #[arg(long, default_value_t = 50)]
    pub samples: usize,
    /// Relative noise level (smoothgrad): σ = noise · (max − min) of each input.
    #[arg(long, default_value_t = 0.15)]
    pub noise: f64,
    /// Max-sensitivity: the L∞ radius of the input perturbations, in input units.
    #[arg(long, default_value_t = 0.1)]
    pub radius: f64,
    /// Max-sensitivity: perturbations per example.
    #[arg(long, default_value_t = 10)]
    pub perturbations: usize,
    /// Deletion/insertion: points of each curve, fractions evenly spaced over [0, 1].
    #[arg(long, default_value_t = 16)]
    pub curve_steps: usize,
    /// Deletion/insertion: what a removed feature becomes: a number (`0`, the default),
    /// `mean` (the example's mean) or `blur:SIGMA` (a Gaussian blur, images only).
    #[arg(long, default_value = "0")]
    pub replacement: String,
    /// The sanity check passes when the similarity of a method's maps on the fully randomised
    /// model to those on the trained model is below this.
    #[arg(long, default_value_t = 0.5)]
    pub sanity_threshold: f64,
    /// The most rows per forward+backward pass (default: the device's).
    #[arg(long)]
    pub max_rows: Option<usize>,
}

/// The metrics of one method (a row of the table).
#[derive(Debug, Serialize)]
pub struct MethodResult {
    /// The method's name.
    pub method: String,
    /// Wall time of the attribution call, in milliseconds.
    pub time_ms: f64,
    /// Forward+backward passes of the call.
    pub passes: usize,
    /// Rows evaluated by the model in the call.
    pub model_evaluations: usize,
    /// Completeness (path methods).
    pub completeness: Option<CompletenessSummary>,
    /// Deletion, most relevant first.
    pub deletion: Curve,
    /// Insertion, most relevant first. With a constant replacement it is also deletion,
    /// least relevant first, read backwards: both evaluate the input with only its top `k`
    /// features kept.
    pub insertion: Curve,
    /// Max-sensitivity per example.
    pub max_sensitivity: Vec<f64>,
    /// Its mean over the examples.
    pub max_sensitivity_mean: f64,
    /// Gini index of |attributions| per example.
    pub sparseness: Vec<f64>,
    /// Its mean over the examples.
    pub sparseness_mean: f64,
    /// The model-randomisation sanity check.
    pub sanity: SanityCheck,
}

/// One explained example.
#[derive(Debug, Serialize)]
pub struct ExampleInfo {
    /// Its index in the test split.
    pub index: usize,
    /// Its true label.
    pub label: usize,
    /// The model's prediction (the explained class).
    pub predicted: usize,
    /// The model's output for the predicted class.
    pub score: f64,
}

/// Mean Spearman rank correlation between every pair of methods.
#[derive(Debug, Serialize)]
pub struct RankAgreement {
    /// The methods, in the matrix's order.
    pub methods: Vec<String>,
    /// `matrix[i][j]`: mean over the examples of the Spearman correlation of method `i`'s
    /// and method `j`'s attributions.
    pub matrix: Vec<Vec<f64>>,
}

/// Everything `ember compare` measured: `results.json`.
#[derive(Debug, Serialize)]
pub struct Results {
    /// The schema's version.
    pub schema: u32,
    /// Versions of ember, Burn and rustc.
    pub versions: Versions,
    /// The settings used.
    pub settings: Settings,
    /// The explained examples.
    pub examples: Vec<ExampleInfo>,
    /// One entry per method.
    pub methods: Vec<MethodResult>,
    /// Rank agreement between the methods.
    pub rank_agreement: RankAgreement,
    /// The files of the report, relative to its directory.
    pub files: Vec<String>,
}

/// Versions, for `results.json` and the page.
#[derive(Debug, Serialize)]
pub struct Versions {
    /// ember.
    pub ember: String,
    /// Burn.
    pub burn: String,
    /// The compiler.
    pub rustc: String,
}

/// The settings of a run, for `results.json` and the page.
#[derive(Debug, Serialize)]
pub struct Settings {
    /// The zoo model.
    pub model: String,
    /// The weights file, or `shipped`.
    pub weights: String,
    /// The dataset.
    pub dataset: String,
    /// The backend.
    pub device: String,
    /// Examples explained.
    pub examples: usize,
    /// The seed.
    pub seed: u64,
    /// Integration steps.
    pub steps: usize,
    /// Noisy copies.
    pub samples: usize,
    /// Relative noise level.
    pub noise: f64,
    /// Max-sensitivity radius.
    pub radius: f64,
    /// Max-sensitivity perturbations.
    pub perturbations: usize,
    /// Points per deletion/insertion curve.
    pub curve_steps: usize,
    /// The replacement of removed features.
    pub replacement: String,
    /// The sanity check's threshold.
    pub sanity_threshold: f64,
    /// The randomised layers, in cascade order.
    pub randomised_layers: Vec<String>,
    /// Rows per pass.
    pub rows_per_pass: usize,
}

/// Runs `ember compare`.
pub fn run(args: &CompareArgs) -> Result<(), String> {
    if args.examples == 0 {
        return Err("--examples must be at least 1".into());
    }
    let device = args.device.device().map_err(|e| e.to_string())?;
    let methods = if args.methods.is_empty() {
        MethodChoice::ALL.to_vec()
    } else {
        let mut unique = Vec::new();
        for &m in &args.methods {
            if !unique.contains(&m) {
                unique.push(m);
            }
        }
        unique
    };
    let replacement = parse_replacement(&args.replacement)?;
    let (dataset, shape) = examples(args.model, args.examples)?;
    let settings = MethodSettings {
        steps: args.steps,
        samples: args.samples,
        noise: args.noise,
        seed: args.seed,
        max_rows: args.max_rows,
    };
    let run = Run {
        args,
        methods,
        replacement,
        dataset,
        shape,
        settings,
    };
    let results = match args.model {
        ZooModel::Mlp => {
            let model = load_model(
                args.model,
                args.weights.as_deref(),
                &device,
                ember_zoo::Mlp::new,
                shipped::mlp,
            )?;
            run.compare::<2, _>(model, |m, x| m.forward(x), &device)
        }
        ZooModel::Cnn => {
            let model = load_model(
                args.model,
                args.weights.as_deref(),
                &device,
                ember_zoo::Cnn::new,
                shipped::cnn,
            )?;
            run.compare::<4, _>(model, |m, x| m.forward(x), &device)
        }
        ZooModel::Tabular => {
            let model = load_model(
                args.model,
                args.weights.as_deref(),
                &device,
                ember_zoo::Tabular::new,
                shipped::tabular,
            )?;
            run.compare::<2, _>(model, |m, x| m.forward(x), &device)
        }
    }?;
    let json = serde_json::to_string_pretty(&results).map_err(|e| e.to_string())?;
    if args.json {
        println!("{json}");
    } else {
        print_table(&results);
        println!("\nwrote {}", args.out.join("index.html").display());
    }
    Ok(())
}

/// `--replacement`: a number, `mean` or `blur:SIGMA`.
fn parse_replacement(text: &str) -> Result<Replacement, String> {
    let bad =
        || format!("`{text}` is not a replacement: expected a number, `mean` or `blur:SIGMA`");
    if text == "mean" {
        Ok(Replacement::Mean)
    } else if let Some(sigma) = text.strip_prefix("blur:") {
        Ok(Replacement::Blur {
            sigma: sigma.trim().parse().map_err(|_| bad())?,
        })
    } else {
        Ok(Replacement::Constant(text.parse().map_err(|_| bad())?))
    }
}

/// The first `n` test examples of the model's dataset and the input shape `[n, ...]`.
fn examples(model: ZooModel, n: usize) -> Result<(Dataset, Vec<usize>), String> {
    let test = match model {
        ZooModel::Mlp | ZooModel::Cnn => digits_split().test,
        ZooModel::Tabular => breast_cancer_split().0.test,
    };
    if n > test.len() {
        return Err(format!(
            "--examples {n} is out of range: the {} test split has {} examples",
            test.name,
            test.len()
        ));
    }
    let indices: Vec<usize> = (0..n).collect();
    let mut shape = vec![n];
    shape.extend_from_slice(model.sample_shape());
    Ok((test.select(&indices), shape))
}

/// One run's inputs.
struct Run<'a> {
    args: &'a CompareArgs,
    methods: Vec<MethodChoice>,
    replacement: Replacement,
    dataset: Dataset,
    shape: Vec<usize>,
    settings: MethodSettings,
}

impl Run<'_> {
    fn compare<const D: usize, M: Randomize + Clone>(
        &self,
        model: M,
        forward: fn(&M, Tensor<D>) -> Tensor<2>,
        device: &Device,
    ) -> Result<Results, String> {
        let err = |e: Error| e.to_string();
        let args = self.args;
        let n = self.shape[0];
        let input: Tensor<D> = Tensor::from_data(
            TensorData::new(
                self.dataset.inputs.iter().map(|&v| v as f64).collect(),
                self.shape.clone(),
            ),
            device,
        );
        let trained = |x: Tensor<D>| forward(&model, x);
        let kernel = GradientKernel::new()
            .with_max_rows_opt(args.max_rows)
            .map_err(err)?;
        let (targets, scores) = kernel
            .evaluate(&trained, input.clone(), &RowTargets::Predicted)
            .map_err(err)?;

        // The cascade's models: the top `k + 1` layers re-initialised, for each `k`.
        let layers = args.model.layers_top_down();
        let randomised: Vec<M> = (0..layers.len())
            .map(|k| model.clone().randomize_layers(&layers[..=k], args.seed))
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;

        let curve = |mode, order| {
            PerturbationCurveConfig::new()
                .with_steps(args.curve_steps)
                .with_mode(mode)
                .with_order(order)
                .with_replacement(self.replacement)
                .with_max_rows(args.max_rows)
                .init()
        };
        let deletion =
            curve(CurveMode::Deletion, RelevanceOrder::MostRelevantFirst).map_err(err)?;
        let insertion =
            curve(CurveMode::Insertion, RelevanceOrder::MostRelevantFirst).map_err(err)?;
        let sensitivity = MaxSensitivityConfig::new()
            .with_radius(args.radius)
            .with_samples(args.perturbations)
            .with_seed(args.seed)
            .init()
            .map_err(err)?;
        let sanity = ModelRandomisationConfig::new()
            .with_threshold(args.sanity_threshold)
            .init()
            .map_err(err)?;

        // Attributions, curves, max-sensitivity, sparseness, then one step per layer.
        let per_method = 4 + layers.len() as u64;
        let progress = ProgressBar::new(per_method * self.methods.len() as u64);
        progress.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:32} {pos}/{len} {msg}",
            )
            .expect("a valid template"),
        );
        let mut results = Vec::new();
        let mut maps: Vec<Tensor<D>> = Vec::new();
        for &choice in &self.methods {
            let step = |what: &str| {
                progress.set_message(format!("{choice}: {what}"));
            };
            let method = AnyMethod::new(choice, &self.settings).map_err(err)?;
            step("attributions");
            let started = Instant::now();
            let out = method
                .attribute(&trained, input.clone(), Target::PerSample(targets.clone()))
                .map_err(err)?;
            // Reading the values back finishes the computation on asynchronous backends.
            ember::validate::read_f64(out.values.clone()).map_err(err)?;
            let time = started.elapsed();
            progress.inc(1);

            step("deletion and insertion curves");
            let values = out.values.clone();
            let curve_of = |c: &ember_metrics::PerturbationCurve| {
                c.curve(&trained, input.clone(), values.clone(), &targets)
                    .map_err(err)
            };
            let (del, ins) = (curve_of(&deletion)?, curve_of(&insertion)?);
            progress.inc(1);

            step("max-sensitivity");
            let max_sensitivity = sensitivity
                .evaluate(&method, &trained, input.clone(), &targets)
                .map_err(err)?;
            progress.inc(1);

            step("sparseness");
            let sparseness = gini(values.clone()).map_err(err)?;
            progress.inc(1);

            let mut cascade = sanity.cascade(values.clone()).map_err(err)?;
            for (k, random) in randomised.iter().enumerate() {
                step(&format!("sanity check, layers {}", layers[..=k].join(", ")));
                let randomised_model = |x: Tensor<D>| forward(random, x);
                let maps = method
                    .attribute(
                        &randomised_model,
                        input.clone(),
                        Target::PerSample(targets.clone()),
                    )
                    .map_err(err)?;
                cascade.step(layers[k], maps.values).map_err(err)?;
                progress.inc(1);
            }
            results.push(MethodResult {
                method: choice.name().into(),
                time_ms: millis(time),
                passes: out.report.passes,
                model_evaluations: out.report.model_evaluations,
                completeness: completeness(&out.report),
                deletion: del,
                insertion: ins,
                max_sensitivity_mean: mean(&max_sensitivity),
                max_sensitivity,
                sparseness_mean: mean(&sparseness),
                sparseness,
                sanity: cascade.finish().map_err(err)?,
            });
            maps.push(values);
        }
        progress.finish_and_clear();

        let mut matrix = vec![vec![1.0; maps.len()]; maps.len()];
        for i in 0..maps.len() {
            for j in i + 1..maps.len() {
                let rho = mean(&spearman(maps[i].clone(), maps[j].clone()).map_err(err)?);
                matrix[i][j] = rho;
                matrix[j][i] = rho;
            }
        }
        let rank_agreement = RankAgreement {
            methods: self.methods.iter().map(|m| m.name().to_string()).collect(),
            matrix,
        };

        let examples: Vec<ExampleInfo> = (0..n)
            .map(|i| ExampleInfo {
                index: i,
                label: self.dataset.labels[i],
                predicted: targets[i],
                score: scores[i],
            })
            .collect();
        let mut results = Results {
            schema: 1,
            versions: Versions {
                ember: env!("CARGO_PKG_VERSION").into(),
                burn: env!("EMBER_BURN_VERSION").into(),
                rustc: env!("EMBER_RUSTC_VERSION").into(),
            },
            settings: Settings {
                model: args.model.to_string(),
                weights: args
                    .weights
                    .as_ref()
                    .map_or("shipped".into(), |p| p.display().to_string()),
                dataset: self.dataset.name.to_string(),
                device: args.device.to_string(),
                examples: n,
                seed: args.seed,
                steps: args.steps,
                samples: args.samples,
                noise: args.noise,
                radius: args.radius,
                perturbations: args.perturbations,
                curve_steps: args.curve_steps,
                replacement: args.replacement.clone(),
                sanity_threshold: args.sanity_threshold,
                randomised_layers: layers.iter().map(|l| l.to_string()).collect(),
                rows_per_pass: kernel.rows_per_pass(device, self.shape[1..].iter().product()),
            },
            examples,
            methods: results,
            rank_agreement,
            files: Vec::new(),
        };
        let host_maps = maps
            .into_iter()
            .map(|m| ember::validate::read_f64(m).map_err(err))
            .collect::<Result<Vec<_>, _>>()?;
        results.files = write_report(args, &self.dataset, &self.methods, &host_maps, &results)?;
        Ok(results)
    }
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.iter().sum::<f64>() / values.len() as f64
}

/// The metric table's columns: (name, meaning, better), and how to read each from a result.
type Column = (
    &'static str,
    &'static str,
    Better,
    fn(&MethodResult) -> Option<f64>,
);

const COLUMNS: [Column; 7] = [
    (
        "time ms",
        "wall time of the attribution call for all examples",
        Better::Lower,
        |r| Some(r.time_ms),
    ),
    (
        "deletion AUC",
        "area under the target probability as the most relevant features are replaced (Petsiuk et al. 2018); a faithful map makes it fall fast",
        Better::Lower,
        |r| Some(r.deletion.auc),
    ),
    (
        "insertion AUC",
        "area under the target probability as the most relevant features are restored from the replacement (the same as deletion least-relevant-first, Samek et al. 2017, read backwards); a faithful map makes it rise fast",
        Better::Higher,
        |r| Some(r.insertion.auc),
    ),
    (
        "max-sensitivity",
        "largest relative change ‖φ(x+δ) − φ(x)‖ / ‖φ(x)‖ over random perturbations with ‖δ‖∞ ≤ radius (Yeh et al. 2019), mean over examples",
        Better::Lower,
        |r| Some(r.max_sensitivity_mean),
    ),
    (
        "sparseness",
        "Gini index of |attributions| (Chalasani et al. 2020), 0 = uniform, 1 = one feature; mean over examples",
        Better::None,
        |r| Some(r.sparseness_mean),
    ),
    (
        "completeness |δ|/|ΔF|",
        "mean |Σφ − (F(x) − F(x′))| / |F(x) − F(x′)| for path methods (Sundararajan et al. 2017)",
        Better::Lower,
        |r| r.completeness.as_ref().and_then(|c| c.mean_relative_delta),
    ),
    (
        "randomised similarity",
        "mean Spearman correlation of |φ| on the fully re-initialised model with |φ| on the trained model (Adebayo et al. 2018); a method passes the sanity check below the threshold",
        Better::Lower,
        |r| r.sanity.similarity.last().copied(),
    ),
];

fn print_table(results: &Results) {
    let s = &results.settings;
    println!(
        "ember compare: {} on {} {} test examples, {} (seed {})\n",
        s.model, s.examples, s.dataset, s.device, s.seed
    );
    let name_width = results
        .methods
        .iter()
        .map(|m| m.method.len())
        .max()
        .unwrap_or(6)
        .max(6);
    let mut header = format!("{:<name_width$}", "method");
    for (name, ..) in COLUMNS {
        header.push_str(&format!("  {name:>13}"));
    }
    header.push_str("  sanity");
    println!("{header}");
    println!("{}", "-".repeat(header.chars().count()));
    for result in &results.methods {
        let mut line = format!("{:<name_width$}", result.method);
        for (.., value) in COLUMNS {
            let cell = value(result).map_or("—".to_string(), ember_viz::format_number);
            line.push_str(&format!("  {cell:>13}"));
        }
        line.push_str(if result.sanity.passes {
            "  pass"
        } else {
            "  FAIL"
        });
        println!("{line}");
    }
    println!();
    for (name, meaning, better, _) in COLUMNS {
        let arrow = match better {
            Better::None => String::new(),
            other => format!(" ({})", other.arrow()),
        };
        println!("  {name}{arrow}: {meaning}");
    }
    let agreement = &results.rank_agreement;
    println!("\nrank agreement (mean Spearman over examples):");
    for (name, row) in agreement.methods.iter().zip(&agreement.matrix) {
        let cells: Vec<String> = row.iter().map(|v| format!("{v:>6.2}")).collect();
        println!("  {name:<name_width$}  {}", cells.join(" "));
    }
}

/// Writes the PNGs, `results.json` and `index.html`; returns the files written.
fn write_report(
    args: &CompareArgs,
    dataset: &Dataset,
    methods: &[MethodChoice],
    maps: &[Vec<f64>],
    results: &Results,
) -> Result<Vec<String>, String> {
    let out = &args.out;
    std::fs::create_dir_all(out)
        .map_err(|e| format!("cannot create the report directory {}: {e}", out.display()))?;
    let viz = |e: ember_viz::VizError| e.to_string();
    let n = results.examples.len();
    let features = dataset.features();
    let mut files = Vec::new();
    let mut figures = Vec::new();
    let mut grids = Vec::new();
    let mut plots = Vec::new();
    let heat = |choice: MethodChoice, scale: u32| HeatmapOptions {
        kind: if choice.signed() {
            MapKind::Signed
        } else {
            MapKind::Absolute
        },
        clip_percentile: 2.0,
        scale,
    };
    let f32s = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
    let image_side = match args.model {
        ZooModel::Mlp | ZooModel::Cnn => Some(8),
        ZooModel::Tabular => None,
    };
    if let Some(side) = image_side {
        // The grid: one row per example, the input then one column per method.
        let scale = 12;
        let mut rows = Vec::with_capacity(n);
        let mut overlays = Vec::with_capacity(n);
        for i in 0..n {
            let x = &dataset.inputs[i * features..(i + 1) * features];
            let mut row = vec![ember_viz::grayscale(x, side, side, scale).map_err(viz)?];
            let mut over = vec![row[0].clone()];
            for (m, &choice) in methods.iter().enumerate() {
                let v = f32s(&maps[m][i * features..(i + 1) * features]);
                row.push(ember_viz::heatmap(&v, side, side, &heat(choice, scale)).map_err(viz)?);
                over.push(
                    ember_viz::overlay(&v, x, side, side, &heat(choice, scale), 0.6)
                        .map_err(viz)?,
                );
            }
            rows.push(row);
            overlays.push(over);
        }
        let headers: Vec<String> = std::iter::once("input".to_string())
            .chain(methods.iter().map(|m| m.name().to_string()))
            .collect();
        // The page's grid: every cell its own inline PNG, under its method's name.
        grids.push(ImageGrid {
            title: "Attribution maps".into(),
            caption: "Rows: test examples (label → predicted class, the explained one). \
                      Signed maps on a diverging scale centred at 0 (red raises the class \
                      score, blue lowers it), non-negative maps on a sequential scale; each map \
                      clipped at its 98th percentile of |value|. The same grid is grid.png."
                .into(),
            columns: headers.clone(),
            rows: rows
                .iter()
                .zip(&results.examples)
                .map(|(cells, e)| {
                    let images = cells
                        .iter()
                        .map(|cell| ember_viz::png_bytes(cell).map(ImageRef::InlinePng))
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok((
                        format!("#{} {} → {}", e.index, e.label, e.predicted),
                        images,
                    ))
                })
                .collect::<Result<Vec<_>, ember_viz::VizError>>()
                .map_err(viz)?,
        });
        let columns = headers.join(", ");
        for (file, cells, title) in [
            ("grid.png", &rows, "Attribution maps"),
            ("overlays.png", &overlays, "Maps over the inputs"),
        ] {
            let image: RgbImage = ember_viz::grid(cells, 4).map_err(viz)?;
            ember_viz::write_png(&image, &out.join(file)).map_err(viz)?;
            files.push(file.to_string());
            if file == "grid.png" {
                // Shown above as a labelled grid.
                continue;
            }
            figures.push(Figure {
                title: title.into(),
                caption: format!(
                    "Rows: test examples (label → predicted: {}). Columns: {columns}. Signed \
                     maps on a diverging scale centred at 0 (red positive, blue negative), \
                     non-negative maps on a sequential scale; each map clipped at its 98th \
                     percentile of |value|.",
                    results
                        .examples
                        .iter()
                        .map(|e| format!("{}→{}", e.label, e.predicted))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                image: ImageRef::File(file.into()),
            });
        }
    } else {
        // Tabular: an examples × features map per method, and the top features of example 0.
        let scale = 10;
        let cells = vec![
            methods
                .iter()
                .enumerate()
                .map(|(m, &choice)| {
                    ember_viz::heatmap(&f32s(&maps[m]), n, features, &heat(choice, scale))
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(viz)?,
        ];
        let image = ember_viz::grid(&cells, 8).map_err(viz)?;
        ember_viz::write_png(&image, &out.join("grid.png")).map_err(viz)?;
        files.push("grid.png".into());
        figures.push(Figure {
            title: "Attribution maps".into(),
            caption: format!(
                "One panel per method ({}): rows are examples, columns the {features} features \
                 in the dataset's order.",
                methods
                    .iter()
                    .map(|m| m.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            image: ImageRef::File("grid.png".into()),
        });
        for (m, &choice) in methods.iter().enumerate() {
            plots.push(
                ember_viz::bar_chart_svg(
                    &dataset.feature_names,
                    &maps[m][..features],
                    10,
                    &format!("{choice}: top features of example 0"),
                )
                .map_err(viz)?,
            );
        }
    }

    // Curves: the mean over the examples, one series per method.
    for (title, pick) in [
        (
            "Deletion (most relevant first)",
            (|r: &MethodResult| &r.deletion) as fn(&MethodResult) -> &Curve,
        ),
        ("Insertion (most relevant first)", |r| &r.insertion),
    ] {
        let series: Vec<Series> = results
            .methods
            .iter()
            .map(|r| {
                let c = pick(r);
                Series::new(
                    r.method.clone(),
                    c.fractions
                        .iter()
                        .copied()
                        .zip(c.mean.iter().copied())
                        .collect(),
                )
            })
            .collect();
        plots.push(ember_viz::line_plot_svg(
            title,
            "fraction of features",
            "target probability",
            &series,
        ));
    }
    let sanity: Vec<Series> = results
        .methods
        .iter()
        .map(|r| {
            Series::new(
                r.method.clone(),
                std::iter::once((0.0, 1.0))
                    .chain(
                        r.sanity
                            .similarity
                            .iter()
                            .enumerate()
                            .map(|(k, &s)| ((k + 1) as f64, s)),
                    )
                    .collect(),
            )
        })
        .collect();
    plots.push(ember_viz::line_plot_svg(
        "Model randomisation: similarity to the trained model's maps",
        "layers re-initialised, from the output down",
        "Spearman of |φ|",
        &sanity,
    ));

    let agreement = &results.rank_agreement;
    let agreement = Table {
        title: "Rank agreement".into(),
        id: "rank-agreement".into(),
        caption: "Mean over the examples of the Spearman rank correlation between two methods' \
                  attributions (1: the same feature order)."
            .into(),
        columns: agreement.methods.clone(),
        rows: agreement
            .methods
            .iter()
            .zip(&agreement.matrix)
            .map(|(m, row)| (m.clone(), row.iter().map(|&v| Some(v)).collect()))
            .collect(),
    };

    let s = &results.settings;
    let page = Page {
        title: "ember compare".into(),
        subtitle: format!(
            "{} on {} {} test examples, {}",
            s.model, s.examples, s.dataset, s.device
        ),
        settings: vec![
            ("model".into(), s.model.clone()),
            ("weights".into(), s.weights.clone()),
            ("examples".into(), s.examples.to_string()),
            ("device".into(), s.device.clone()),
            ("seed".into(), s.seed.to_string()),
            ("integration steps".into(), s.steps.to_string()),
            ("noisy copies".into(), s.samples.to_string()),
            ("noise level (relative)".into(), s.noise.to_string()),
            ("max-sensitivity radius".into(), s.radius.to_string()),
            ("perturbations".into(), s.perturbations.to_string()),
            ("curve points".into(), s.curve_steps.to_string()),
            ("replacement".into(), s.replacement.clone()),
            ("sanity threshold".into(), s.sanity_threshold.to_string()),
            ("randomised layers".into(), s.randomised_layers.join(", ")),
            ("rows per pass".into(), s.rows_per_pass.to_string()),
        ],
        versions: vec![
            ("ember".into(), results.versions.ember.clone()),
            ("burn".into(), results.versions.burn.clone()),
            ("rustc".into(), results.versions.rustc.clone()),
        ],
        metrics: MetricTable {
            columns: COLUMNS
                .iter()
                .map(|(name, meaning, better, _)| MetricColumn {
                    name: name.to_string(),
                    meaning: meaning.to_string(),
                    better: *better,
                })
                .collect(),
            rows: results
                .methods
                .iter()
                .map(|r| MetricRow {
                    method: r.method.clone(),
                    values: COLUMNS.iter().map(|(.., value)| value(r)).collect(),
                    pass: Some(r.sanity.passes),
                })
                .collect(),
        },
        figures,
        plots,
        tables: vec![agreement],
        grids,
        notes: Vec::new(),
    };
    files.push("results.json".into());
    files.push("index.html".into());
    let mut with_files = serde_json::to_value(results).map_err(|e| e.to_string())?;
    with_files["files"] = serde_json::json!(files);
    write_file(
        &out.join("results.json"),
        &serde_json::to_string_pretty(&with_files).map_err(|e| e.to_string())?,
    )?;
    ember_viz::report::write(&page, &out.join("index.html")).map_err(viz)?;
    Ok(files)
}

fn write_file(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
