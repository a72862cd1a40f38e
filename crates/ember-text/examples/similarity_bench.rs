//! Times Layer Integrated Gradients on all-MiniLM-L6-v2 (the README's pair, 50 Gauss–Legendre
//! steps) against the raw forward+backward of the same rows through the same model, warm, in
//! one process: tokens per second and the rows per pass (docs/benchmarks.md).
//!
//! ```sh
//! cargo run --release -p ember-xai-text --example similarity_bench -- MODEL_DIR [DEVICE] [--json]
//! ```
//!
//! `DEVICE` is any `--device` name of the CLI (flex, ndarray, wgpu, tch, ...; default flex).
//! With `--json` it measures one text at the default rows per pass and prints one JSON object
//! (`cargo xtask bench --vs-captum` reads it).

use std::time::Instant;

use burn::tensor::{Device, Tensor};
use ember::backend::Backend;
use ember_core::kernel::bench::raw_forward_backward_mapped;
use ember_core::{GradientKernel, RowSamples, SplitModel, Tail};
use ember_text::{
    SentenceEncoder, SimilarityMethod, SimilarityModel, SimilaritySettings, explain_similarity,
};

const TEXT: &str = "Where can I buy fresh bread near the station?";
const REFERENCE: &str = "A bakery close to the train station";
const REPEATS: usize = 5;

fn median(mut times: Vec<f64>) -> f64 {
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn time(mut run: impl FnMut()) -> f64 {
    run();
    median(
        (0..REPEATS)
            .map(|_| {
                let start = Instant::now();
                run();
                start.elapsed().as_secs_f64()
            })
            .collect(),
    )
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.iter().any(|a| a == "--json");
    let mut positional = args.iter().filter(|a| *a != "--json");
    let dir = positional
        .next()
        .ok_or("usage: similarity_bench MODEL_DIR [DEVICE] [--json]")?;
    let backend: Backend = positional.next().map_or("flex", |s| s.as_str()).parse()?;
    let device: Device = backend.device()?;
    let encoder = SentenceEncoder::load(dir.as_ref(), &device)?;
    let (text_counts, row_settings): (&[usize], &[Option<usize>]) = if json {
        (&[1], &[None])
    } else {
        println!("texts tokens max_rows rows/pass  IG-50 s  raw fwd+bwd s  ratio  tokens/s");
        (&[1, 8], &[None, Some(25), Some(100), Some(200)])
    };
    for &texts in text_counts {
        let batch_texts = vec![TEXT; texts];
        for &max_rows in row_settings {
            let settings = SimilaritySettings {
                max_rows,
                ..SimilaritySettings::default()
            };
            let mut rows_per_pass = 0;
            let ig = time(|| {
                let out = explain_similarity(
                    &encoder,
                    &batch_texts,
                    REFERENCE,
                    SimilarityMethod::IntegratedGradients,
                    &settings,
                )
                .expect("IG");
                rows_per_pass = out[0].rows_per_pass;
            });
            // The raw limit: 50 rows per text of the text's embeddings through the tail.
            let batch = encoder.tokenizer.batch(&batch_texts)?;
            let model = SimilarityModel::new(&encoder, encoder.embed(&[REFERENCE])?, &batch);
            let words = model.head(batch.ids(&device), &RowSamples::identity(texts));
            let [n, t, e] = words.dims();
            let rows: Tensor<3> =
                words
                    .reshape([n, 1, t, e])
                    .repeat_dim(1, 50)
                    .reshape([n * 50, t, e]);
            let kernel = GradientKernel::with_settings(max_rows, None, false)?;
            // Row r is text r / 50, so the attention mask follows.
            let samples: Vec<usize> = (0..n).flat_map(|i| std::iter::repeat_n(i, 50)).collect();
            let tail = Tail::<_, 2>::new(&model, true);
            let targets = vec![0; n * 50];
            let raw = time(|| {
                raw_forward_backward_mapped(&kernel, &tail, rows.clone(), &targets, &samples)
                    .expect("raw");
            });
            let tokens = batch.encodings.iter().map(|e| e.len()).sum::<usize>();
            if json {
                let out = serde_json::json!({
                    "device": backend.name(), "texts": texts, "tokens": tokens, "steps": 50,
                    "rows_per_pass": rows_per_pass, "ms": ig * 1e3, "raw_ms": raw * 1e3,
                    "repeats": REPEATS,
                });
                println!("{out}");
                continue;
            }
            println!(
                "{texts:5} {tokens:6} {:>8} {rows_per_pass:9} {ig:8.3} {raw:14.3} {:6.2} {:9.1}",
                max_rows.map_or("default".into(), |r| r.to_string()),
                ig / raw,
                tokens as f64 / ig
            );
        }
    }
    Ok(())
}
