//! `ember attribute` end to end: the binary, real files, the contract's tensor names, exit
//! codes and one-line errors.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ember::burn::tensor::{Tensor, TensorData};
use ember::prelude::*;
use ember_zoo::data::digits_split;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};

fn ember(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ember"))
        .args(args)
        .output()
        .expect("the ember binary runs")
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Writes `inputs` (f32, `shape`) and optionally `targets` (i64) to a safetensors file.
fn write_inputs(dir: &Path, values: &[f32], shape: &[usize], targets: Option<&[i64]>) -> PathBuf {
    let input_bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let target_bytes: Vec<u8> = targets
        .unwrap_or_default()
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let mut views = vec![(
        "inputs".to_string(),
        TensorView::new(Dtype::F32, shape.to_vec(), &input_bytes).unwrap(),
    )];
    if let Some(t) = targets {
        views.push((
            "targets".to_string(),
            TensorView::new(Dtype::I64, vec![t.len()], &target_bytes).unwrap(),
        ));
    }
    let file = dir.join("inputs.safetensors");
    std::fs::write(&file, safetensors::serialize(views, None).unwrap()).unwrap();
    file
}

fn read_output(file: &Path) -> (Dtype, Vec<usize>, Vec<f64>) {
    let bytes = std::fs::read(file).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let view = st.tensor("attributions").unwrap();
    let values = match view.dtype() {
        Dtype::F32 => view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()) as f64)
            .collect(),
        Dtype::F64 => view
            .data()
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
            .collect(),
        other => panic!("unexpected dtype {other:?}"),
    };
    (view.dtype(), view.shape().to_vec(), values)
}

fn digits(n: usize) -> (Vec<f32>, Vec<usize>) {
    let test = digits_split().test;
    (test.inputs[..n * 64].to_vec(), test.labels[..n].to_vec())
}

fn assert_one_line_error(out: &Output, needle: &str) {
    assert_eq!(
        out.status.code(),
        Some(2),
        "exit code; stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains(needle), "`{needle}` not in: {stderr}");
}

#[test]
fn saliency_on_the_mlp_matches_the_library() {
    let dir = tempfile::tempdir().unwrap();
    let (x, _) = digits(4);
    let inputs = write_inputs(dir.path(), &x, &[4, 64], None);
    let out_file = dir.path().join("maps.safetensors");
    let out = ember(&[
        "attribute",
        "--model",
        "mlp",
        "--inputs",
        path(&inputs),
        "--method",
        "saliency",
        "--out",
        path(&out_file),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (dtype, shape, values) = read_output(&out_file);
    assert_eq!((dtype, shape), (Dtype::F32, vec![4, 64]));

    let device = Device::flex();
    let model = ember_zoo::shipped::mlp(&device).unwrap();
    let input = Tensor::<2>::from_data(TensorData::new(x, [4, 64]), &device);
    let expected = SaliencyConfig::new()
        .init()
        .unwrap()
        .attribute(&|x: Tensor<2>| model.forward(x), input, Target::Predicted)
        .unwrap();
    let expected = ember::validate::read_f64(expected.values).unwrap();
    assert_eq!(values, expected);
}

#[test]
fn every_method_runs_on_every_model_in_f32_and_f64() {
    let dir = tempfile::tempdir().unwrap();
    let (x, labels) = digits(2);
    let cases: [(&str, Vec<f32>, Vec<usize>); 3] = [
        ("mlp", x.clone(), vec![2, 64]),
        ("cnn", x, vec![2, 1, 8, 8]),
        ("tabular", vec![0.5; 60], vec![2, 30]),
    ];
    for (model, values, shape) in cases {
        let targets: Vec<i64> = if model == "tabular" {
            vec![0, 1]
        } else {
            labels.iter().map(|&l| l as i64).collect()
        };
        let inputs = write_inputs(dir.path(), &values, &shape, Some(&targets));
        for method in [
            "saliency",
            "saliency-abs",
            "input-x-gradient",
            "integrated-gradients",
        ] {
            for dtype in ["f32", "f64"] {
                let out_file = dir
                    .path()
                    .join(format!("{model}-{method}-{dtype}.safetensors"));
                let out = ember(&[
                    "attribute",
                    "--model",
                    model,
                    "--inputs",
                    path(&inputs),
                    "--method",
                    method,
                    "--target",
                    "file",
                    "--dtype",
                    dtype,
                    "--out",
                    path(&out_file),
                ]);
                assert!(
                    out.status.success(),
                    "{model} {method} {dtype}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                let (got_dtype, got_shape, got) = read_output(&out_file);
                let want = if dtype == "f32" {
                    Dtype::F32
                } else {
                    Dtype::F64
                };
                assert_eq!(
                    (got_dtype, &got_shape),
                    (want, &shape),
                    "{model} {method} {dtype}"
                );
                assert!(got.iter().any(|v| *v != 0.0), "{model} {method}: all zero");
                if method == "saliency-abs" {
                    assert!(got.iter().all(|v| *v >= 0.0));
                }
            }
        }
    }
}

#[test]
fn bad_requests_exit_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let (x, _) = digits(2);
    let inputs = write_inputs(dir.path(), &x, &[2, 64], None);
    let out_file = dir.path().join("out.safetensors");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "attribute",
            "--inputs",
            path(&inputs),
            "--out",
            path(&out_file),
        ];
        args.extend_from_slice(extra);
        ember(&args)
    };
    assert_one_line_error(
        &run(&["--model", "cnn", "--method", "saliency"]),
        "takes [N, 1, 8, 8]",
    );
    assert_one_line_error(
        &run(&[
            "--model",
            "mlp",
            "--method",
            "saliency",
            "--input-name",
            "pixels",
        ]),
        "no tensor named `pixels`",
    );
    assert_one_line_error(
        &run(&["--model", "mlp", "--method", "saliency", "--target", "10"]),
        "out of range",
    );
    assert_one_line_error(
        &run(&["--model", "mlp", "--method", "saliency", "--target", "file"]),
        "no tensor named `targets`",
    );
    let smooth = |extra: &[&str]| {
        let mut args = vec!["--model", "mlp", "--method", "smoothgrad"];
        args.extend_from_slice(extra);
        run(&args)
    };
    assert_one_line_error(&smooth(&["--samples", "0"]), "samples");
    assert_one_line_error(&smooth(&["--noise=-0.5"]), "noise_level");
    assert_one_line_error(&smooth(&["--noise", "inf"]), "noise_level");
    let ig = |extra: &[&str]| {
        let mut args = vec!["--model", "mlp", "--method", "integrated-gradients"];
        args.extend_from_slice(extra);
        run(&args)
    };
    assert_one_line_error(&ig(&["--steps", "0"]), "steps");
    assert_one_line_error(&ig(&["--baseline", "ones"]), "is not a baseline");
    assert_one_line_error(&ig(&["--baseline", "NaN"]), "baseline");
    assert_one_line_error(&ig(&["--baseline", "file"]), "no tensor named `baseline`");
    assert_one_line_error(&ig(&["--tolerance", "0"]), "tolerance");
    // clap reports argument errors itself (with a usage hint), also with exit code 2.
    let parse_error = ig(&["--target", "1,x"]);
    assert_eq!(parse_error.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&parse_error.stderr).contains("list of class indices"));
    assert_one_line_error(
        &run(&[
            "--model",
            "mlp",
            "--method",
            "saliency",
            "--weights",
            path(&inputs),
        ]),
        "do not match the mlp model",
    );
    let missing = dir.path().join("missing.safetensors");
    assert_one_line_error(
        &ember(&[
            "attribute",
            "--model",
            "mlp",
            "--inputs",
            path(&missing),
            "--method",
            "saliency",
            "--out",
            path(&out_file),
        ]),
        "cannot read",
    );
    assert_eq!(
        run(&["--model", "resnet", "--method", "saliency"])
            .status
            .code(),
        Some(2)
    );
}

/// Reads a float tensor of any name from an output file.
fn read_named(file: &Path, name: &str) -> (Vec<usize>, Vec<f64>) {
    let bytes = std::fs::read(file).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let view = st.tensor(name).unwrap();
    assert_eq!(view.dtype(), Dtype::F32);
    let values = view
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()) as f64)
        .collect();
    (view.shape().to_vec(), values)
}

#[test]
fn integrated_gradients_writes_delta_and_a_target_axis_for_several_classes() {
    let dir = tempfile::tempdir().unwrap();
    let (x, _) = digits(3);
    let inputs = write_inputs(dir.path(), &x, &[3, 1, 8, 8], None);
    let out_file = dir.path().join("ig.safetensors");
    let out = ember(&[
        "attribute",
        "--model",
        "cnn",
        "--inputs",
        path(&inputs),
        "--method",
        "integrated-gradients",
        "--target",
        "3,8",
        "--baseline",
        "0.1",
        "--out",
        path(&out_file),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("max |delta|"), "{stdout}");
    let (shape, values) = read_named(&out_file, "attributions");
    assert_eq!(shape, vec![2, 3, 1, 8, 8]);
    let (delta_shape, delta) = read_named(&out_file, "delta");
    assert_eq!(delta_shape, vec![2, 3]);

    // The library gives the same values and deltas.
    let device = Device::flex();
    let model = ember_zoo::shipped::cnn(&device).unwrap();
    let input = Tensor::<4>::from_data(TensorData::new(x.clone(), [3, 1, 8, 8]), &device);
    let lib = IntegratedGradientsConfig::new()
        .with_baseline(Baseline::Constant(0.1))
        .init()
        .unwrap()
        .attribute(
            &|t: Tensor<4>| model.forward(t),
            input,
            Target::Classes(vec![3, 8]),
        )
        .unwrap();
    let lib_values = ember::validate::read_f64(lib.values).unwrap();
    let diff = values
        .iter()
        .zip(&lib_values)
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    assert!(diff < 1e-6, "CLI and library differ by {diff}");
    let lib_delta = lib.report.delta().unwrap();
    for (a, b) in delta.iter().zip(lib_delta) {
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }

    // Adaptive mode converges and records the steps it used.
    let adaptive_file = dir.path().join("adaptive.safetensors");
    let out = ember(&[
        "attribute",
        "--model",
        "mlp",
        "--inputs",
        path(&write_inputs(dir.path(), &x, &[3, 64], None)),
        "--method",
        "integrated-gradients",
        "--tolerance",
        "0.01",
        "--max-steps",
        "4097",
        "--out",
        path(&adaptive_file),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&adaptive_file).unwrap();
    let (_, metadata) = SafeTensors::read_metadata(&bytes).unwrap();
    let metadata = metadata.metadata().clone().unwrap();
    assert_eq!(metadata["converged"], "true,true,true");
    assert_eq!(metadata["steps"].split(',').count(), 3);
}

#[test]
fn smoothgrad_writes_its_variance_and_matches_the_library() {
    let dir = tempfile::tempdir().unwrap();
    let (x, labels) = digits(2);
    let targets: Vec<i64> = labels.iter().map(|&l| l as i64).collect();
    let inputs = write_inputs(dir.path(), &x, &[2, 64], Some(&targets));
    let out_file = dir.path().join("smooth.safetensors");
    let out = ember(&[
        "attribute",
        "--model",
        "mlp",
        "--inputs",
        path(&inputs),
        "--method",
        "smoothgrad",
        "--inner",
        "integrated-gradients",
        "--steps",
        "8",
        "--samples",
        "6",
        "--noise",
        "0.2",
        "--smooth-kind",
        "squares",
        "--seed",
        "3",
        "--target",
        "file",
        "--out",
        path(&out_file),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (shape, values) = read_named(&out_file, "attributions");
    assert_eq!(shape, vec![2, 64]);
    let (variance_shape, variance) = read_named(&out_file, "variance");
    assert_eq!(variance_shape, vec![2, 64]);
    let bytes = std::fs::read(&out_file).unwrap();
    let (_, metadata) = SafeTensors::read_metadata(&bytes).unwrap();
    let metadata = metadata.metadata().clone().unwrap();
    assert_eq!(metadata["method"], "smoothgrad-squared");
    assert_eq!(metadata["inner"], "integrated-gradients");
    assert_eq!(metadata["samples"], "6");

    let device = Device::flex();
    let model = ember_zoo::shipped::mlp(&device).unwrap();
    let input = Tensor::<2>::from_data(TensorData::new(x.clone(), [2, 64]), &device);
    let lib = SmoothGradConfig::new()
        .with_samples(6)
        .with_noise_level(0.2)
        .with_kind(SmoothKind::MeanOfSquares)
        .with_seed(3)
        .init(
            IntegratedGradientsConfig::new()
                .with_steps(8)
                .init()
                .unwrap(),
        )
        .unwrap()
        .smooth(&|t: Tensor<2>| model.forward(t), input, labels)
        .unwrap();
    let close = |a: &[f64], b: Tensor<2>| {
        let b = ember::validate::read_f64(b).unwrap();
        a.iter()
            .zip(&b)
            .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()))
    };
    assert!(close(&values, lib.attributions.values) < 1e-6);
    assert!(close(&variance, lib.variance) < 1e-6);
}

#[test]
fn a_failed_run_leaves_an_existing_output_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let (x, _) = digits(1);
    let inputs = write_inputs(dir.path(), &x, &[1, 64], None);
    let out_file = dir.path().join("precious.safetensors");
    std::fs::write(&out_file, b"keep me").unwrap();
    let out = ember(&[
        "attribute",
        "--model",
        "mlp",
        "--inputs",
        path(&inputs),
        "--method",
        "saliency",
        "--target",
        "99",
        "--out",
        path(&out_file),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read(&out_file).unwrap(), b"keep me");
    let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(leftovers, 2, "no temporary files left behind");
}

/// `--device` ndarray and wgpu give flex's attributions, in f32 and f64. wgpu runs where an
/// adapter exists (`EMBER_WGPU_API=vulkan` pins Vulkan); with `EMBER_REQUIRE_WGPU=1` a missing
/// adapter fails the test.
#[test]
fn every_device_agrees_with_flex_in_f32_and_f64() {
    let dir = tempfile::tempdir().unwrap();
    let (x, _) = digits(2);
    let required = std::env::var("EMBER_REQUIRE_WGPU").is_ok_and(|v| !v.is_empty() && v != "0");
    let wgpu = match std::env::var("EMBER_WGPU_API").as_deref() {
        Ok("vulkan") => "vulkan",
        Ok("gl") => "gl",
        _ => "wgpu",
    };
    for (model, shape) in [("mlp", vec![2, 64]), ("cnn", vec![2, 1, 8, 8])] {
        let inputs = write_inputs(dir.path(), &x, &shape, None);
        for dtype in ["f32", "f64"] {
            let run = |device: &str| {
                let out_file = dir
                    .path()
                    .join(format!("{model}-{dtype}-{device}.safetensors"));
                let out = ember(&[
                    "attribute",
                    "--model",
                    model,
                    "--inputs",
                    path(&inputs),
                    "--method",
                    "input-x-gradient",
                    "--dtype",
                    dtype,
                    "--device",
                    device,
                    "--out",
                    path(&out_file),
                ]);
                (out, out_file)
            };
            let (out, flex_file) = run("flex");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let (_, _, reference) = read_output(&flex_file);
            for device in ["ndarray", wgpu] {
                let (out, file) = run(device);
                let stderr = String::from_utf8_lossy(&out.stderr);
                // No adapter, or one without f64 (wgpu on OpenGL): shown as skipped, with the
                // CLI's own reason, unless CI requires wgpu (it pins Vulkan, which has f64).
                let unavailable = stderr.contains("not available")
                    || (dtype == "f64" && stderr.contains("does not support f64"));
                if !out.status.success() && device == wgpu && !required && unavailable {
                    eprintln!("SKIPPED {device} {dtype}: {stderr}");
                    continue;
                }
                assert!(out.status.success(), "{model} {dtype} {device}: {stderr}");
                let (_, _, got) = read_output(&file);
                let tolerance = if dtype == "f32" { 1e-5 } else { 1e-9 };
                let diff = got
                    .iter()
                    .zip(&reference)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f64::max);
                assert!(
                    diff <= tolerance,
                    "{model} {dtype}: {device} vs flex differ by {diff:e}"
                );
            }
        }
    }
}

/// The README's flow: `ember sample` writes inputs that `ember attribute` takes as they are.
#[test]
fn sample_then_attribute_as_in_the_readme() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("digits.safetensors");
    let maps = dir.path().join("maps.safetensors");
    let out = ember(&[
        "sample",
        "--model",
        "cnn",
        "--count",
        "8",
        "--out",
        path(&inputs),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = ember(&[
        "attribute",
        "--model",
        "cnn",
        "--inputs",
        path(&inputs),
        "--method",
        "saliency",
        "--target",
        "file",
        "--out",
        path(&maps),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (dtype, shape, _) = read_output(&maps);
    assert_eq!((dtype, shape), (Dtype::F32, vec![8, 1, 8, 8]));
    let bytes = std::fs::read(&maps).unwrap();
    let (_, metadata) = SafeTensors::read_metadata(&bytes).unwrap();
    let metadata = metadata.metadata().clone().unwrap();
    let labels = digits_split().test.labels[..8]
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(",");
    assert_eq!(
        metadata["targets"], labels,
        "--target file explains the labels"
    );
    assert_eq!(metadata["method"], "saliency");
}

#[test]
fn compare_writes_a_report_whose_numbers_are_the_json() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("my report");
    // A user's path with markup in it, shown on the page (as the weights file).
    let weights = dir.path().join("<b>tabular & \"co\".safetensors");
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../ember-zoo/weights/tabular.safetensors"
        ),
        &weights,
    )
    .unwrap();
    let out = ember(&[
        "compare",
        "--model",
        "tabular",
        "--weights",
        path(&weights),
        "--examples",
        "4",
        "--methods",
        "saliency,integrated-gradients,vargrad",
        "--steps",
        "8",
        "--samples",
        "4",
        "--perturbations",
        "2",
        "--curve-steps",
        "5",
        "--out",
        path(&out_dir),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("deletion AUC") && stdout.contains("vargrad"),
        "{stdout}"
    );

    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("results.json")).unwrap())
            .unwrap();
    assert_eq!(json["schema"], 1);
    assert_eq!(json["settings"]["model"], "tabular");
    assert_eq!(json["examples"].as_array().unwrap().len(), 4);
    let methods = json["methods"].as_array().unwrap();
    let names: Vec<&str> = methods
        .iter()
        .map(|m| m["method"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["saliency", "integrated-gradients", "vargrad"]);
    for m in methods {
        assert_eq!(m["deletion"]["fractions"].as_array().unwrap().len(), 5);
        assert_eq!(m["max_sensitivity"].as_array().unwrap().len(), 4);
        assert_eq!(m["sanity"]["layers"], serde_json::json!(["2", "0"]));
    }
    // Only the path method has a completeness figure.
    assert!(methods[0]["completeness"].is_null());
    assert!(methods[1]["completeness"]["mean_abs_delta"].is_number());
    let matrix = json["rank_agreement"]["matrix"].as_array().unwrap();
    assert_eq!(matrix.len(), 3);
    assert_eq!(matrix[0][0], 1.0);
    assert_eq!(matrix[0][1], matrix[1][0]);

    // The page shows the JSON's numbers, escapes its strings and links files that exist.
    let html = std::fs::read_to_string(out_dir.join("index.html")).unwrap();
    assert!(html.contains("id=\"metrics\""));
    let auc = methods[1]["deletion"]["auc"].as_f64().unwrap();
    assert!(
        html.contains(&ember_viz::format_number(auc)),
        "deletion AUC {auc}"
    );
    assert!(!html.contains("<b>tabular"));
    assert!(html.contains("&lt;b&gt;tabular &amp; &quot;co&quot;.safetensors"));
    for file in json["files"].as_array().unwrap() {
        assert!(out_dir.join(file.as_str().unwrap()).is_file(), "{file}");
    }
    // The tabular model's features are named in its bar charts.
    let names = ember_zoo::data::breast_cancer_split().0.test.feature_names;
    assert!(
        names.iter().filter(|n| html.contains(n.as_str())).count() >= 10,
        "feature names in the bar charts"
    );

    // --json prints the same document.
    let out = ember(&[
        "compare",
        "--model",
        "mlp",
        "--examples",
        "2",
        "--methods",
        "saliency",
        "--perturbations",
        "2",
        "--json",
        "--out",
        path(&dir.path().join("json")),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed["methods"][0]["method"], "saliency");
    assert!(dir.path().join("json/grid.png").is_file());
}

#[test]
fn compare_rejects_bad_requests_with_one_line() {
    let run = |extra: &[&str]| {
        let mut args = vec!["compare", "--out", "/nonexistent-ember-test/report"];
        args.extend_from_slice(extra);
        ember(&args)
    };
    assert_one_line_error(&run(&["--examples", "0"]), "--examples");
    assert_one_line_error(&run(&["--examples", "100000"]), "out of range");
    assert_one_line_error(&run(&["--replacement", "purple"]), "not a replacement");
    assert_one_line_error(
        &run(&["--model", "tabular", "--replacement", "blur:1"]),
        "blur",
    );
    assert_one_line_error(&run(&["--radius", "0"]), "radius");
    assert_one_line_error(&run(&["--sanity-threshold", "2"]), "threshold");
}

#[test]
fn method_names_and_their_aliases_give_the_same_maps() {
    let dir = tempfile::tempdir().unwrap();
    let (x, _) = digits(2);
    let inputs = write_inputs(dir.path(), &x, &[2, 64], None);
    let maps = |name: &str, extra: &[&str]| {
        let out_file = dir.path().join(format!("{name}.safetensors"));
        let mut args = vec![
            "attribute",
            "--model",
            "mlp",
            "--inputs",
            path(&inputs),
            "--samples",
            "4",
            "--steps",
            "6",
            "--out",
            path(&out_file),
        ];
        args.extend_from_slice(extra);
        let out = ember(&args);
        assert!(
            out.status.success(),
            "{extra:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        read_named(&out_file, "attributions").1
    };
    // The compare vocabulary (`vargrad`) and the attribute flags (`--smooth-kind variance`) name
    // one method; so do `KIND:INNER` and `--inner`, and the aliases.
    let vargrad = maps("a", &["--method", "vargrad"]);
    assert_eq!(
        vargrad,
        maps(
            "b",
            &["--method", "smoothgrad", "--smooth-kind", "variance"]
        )
    );
    let tunnel = maps("c", &["--method", "smoothgrad-squared:ig"]);
    assert_eq!(
        tunnel,
        maps(
            "d",
            &[
                "--method",
                "smoothgrad",
                "--smooth-kind",
                "squares",
                "--inner",
                "integrated-gradients"
            ]
        )
    );
    assert_eq!(
        maps("e", &["--method", "ig"]),
        maps("f", &["--method", "integrated-gradients"])
    );
    // Contradictions and unknown names are one-line errors.
    let run = |extra: &[&str]| {
        let mut args = vec![
            "attribute",
            "--model",
            "mlp",
            "--inputs",
            path(&inputs),
            "--out",
            "/nonexistent-ember-test/x.safetensors",
        ];
        args.extend_from_slice(extra);
        ember(&args)
    };
    assert_one_line_error(
        &run(&["--method", "vargrad", "--smooth-kind", "mean"]),
        "contradicts",
    );
    assert_one_line_error(
        &run(&["--method", "vargrad:ig", "--inner", "saliency"]),
        "contradicts",
    );
    let out = run(&["--method", "deeplift"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("saliency"));
}

#[test]
fn the_library_comparison_equals_the_clis_results_json() {
    use ember::compare::{CompareConfig, ModuleCascade};
    use ember::{MethodSettings, MethodSpec};

    let dir = tempfile::tempdir().unwrap();
    let out = ember(&[
        "compare",
        "--model",
        "mlp",
        "--examples",
        "3",
        "--methods",
        "saliency,input-x-gradient,smoothgrad",
        "--samples",
        "4",
        "--perturbations",
        "2",
        "--curve-steps",
        "5",
        "--seed",
        "2",
        "--json",
        "--out",
        path(dir.path()),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut cli: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();

    // The same comparison from Rust: the shipped MLP, its cascade by module path.
    let device = Device::flex();
    let mlp = ember_zoo::shipped::mlp(&device).unwrap();
    let test = digits_split().test;
    let x = Tensor::<2>::from_data(
        TensorData::new(test.inputs[..3 * 64].to_vec(), [3, 64]),
        &device,
    );
    let cascade = ModuleCascade::new(mlp.clone(), |m: &ember_zoo::Mlp| {
        ember::eval(m, ember_zoo::Mlp::forward)
    })
    .with_layers(["layer4", "layer2", "layer0"])
    .with_labels(["4", "2", "0"])
    .unwrap()
    .with_seed(2);
    let methods = ["saliency", "input-x-gradient", "smoothgrad"]
        .iter()
        .map(|m| m.parse::<MethodSpec>().unwrap())
        .collect();
    let mut comparison = CompareConfig::new()
        .with_methods(methods)
        .with_settings(MethodSettings::new().with_samples(4).with_seed(2))
        .with_perturbations(2)
        .with_curve_steps(5)
        .with_seed(2)
        .with_model_name("mlp".into())
        .with_weights("shipped".into())
        .with_dataset("digits".into())
        .with_device_name(Some("flex".into()))
        .run(
            &ember::eval(&mlp, ember_zoo::Mlp::forward),
            x,
            Target::Predicted,
            &cascade,
            &mut |_| {},
        )
        .unwrap();
    for (e, &label) in comparison.results.examples.iter_mut().zip(&test.labels) {
        e.label = Some(label);
    }
    // Through the same text as the CLI's (serde_json's parser may round the last digit).
    let mut library: serde_json::Value =
        serde_json::from_str(&serde_json::to_string_pretty(&comparison.results).unwrap()).unwrap();
    // Everything but the wall times and the report's file list (the library wrote no report).
    for json in [&mut cli, &mut library] {
        json["files"] = serde_json::Value::Null;
        for m in json["methods"].as_array_mut().unwrap() {
            m["time_ms"] = serde_json::Value::Null;
        }
    }
    assert_eq!(cli, library);
}

#[test]
fn grad_cam_writes_attributions_cam_and_scores_as_the_library_computes_them() {
    use ember::{GradCamConfig, LayerIntegratedGradientsConfig, eval_split, upsample};
    use ember_zoo::Cnn;

    let dir = tempfile::tempdir().unwrap();
    let (x, _) = digits(3);
    let inputs = write_inputs(dir.path(), &x, &[3, 1, 8, 8], None);
    let run = |method: &str, layer: &str, extra: &[&str]| {
        let out_file = dir.path().join(format!("{method}-{layer}.safetensors"));
        let mut args = vec![
            "attribute",
            "--model",
            "cnn",
            "--inputs",
            path(&inputs),
            "--method",
            method,
            "--layer",
            layer,
            "--out",
            path(&out_file),
        ];
        args.extend_from_slice(extra);
        let out = ember(&args);
        assert!(
            out.status.success(),
            "{method}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out_file
    };
    let file = run("grad-cam", "3", &["--target", "4"]);
    let (shape, values) = read_named(&file, "attributions");
    assert_eq!(shape, vec![3, 8, 8]);
    let (cam_shape, cam) = read_named(&file, "cam");
    assert_eq!(cam_shape, vec![3, 8, 8]);
    let (scores_shape, scores) = read_named(&file, "scores");
    assert_eq!(scores_shape, vec![3]);

    // The same from the library: the shipped CNN split after its last conv block's ReLU.
    let device = Device::flex();
    let cnn = ember_zoo::shipped::cnn(&device).unwrap();
    let split = eval_split(&cnn, |m: &Cnn, x| m.head(x, 3), |m: &Cnn, h| m.tail(h, 3));
    let input = Tensor::<4>::from_data(TensorData::new(x.clone(), [3, 1, 8, 8]), &device);
    let want = GradCamConfig::new()
        .init()
        .unwrap()
        .attribute_layer(&split, input.clone(), 4)
        .unwrap();
    let want_cam = ember::validate::read_f64(want.values.clone()).unwrap();
    let close = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(p, q)| (p - q).abs() < 1e-5);
    assert!(close(&cam, &want_cam));
    assert!(cam.iter().all(|&v| v >= 0.0) && cam.iter().any(|&v| v > 0.0));
    let up = ember::validate::read_f64(upsample(want.values, [8, 8]).unwrap()).unwrap();
    assert!(close(&values, &up));
    // The scores are the model's outputs for the explained class.
    let logits = ember::validate::read_f64(cnn.forward(input.clone())).unwrap();
    for (s, score) in scores.iter().enumerate() {
        assert!((score - logits[s * 10 + 4]).abs() < 1e-4);
    }

    // Layer IG of two classes: [K, N, C, h, w] with delta and scores [K, N].
    let file = run(
        "layer-integrated-gradients",
        "1",
        &["--target", "2,7", "--steps", "8"],
    );
    assert_eq!(read_named(&file, "attributions").0, vec![2, 3, 16, 8, 8]);
    assert_eq!(read_named(&file, "delta").0, vec![2, 3]);
    assert_eq!(read_named(&file, "scores").0, vec![2, 3]);
    let lig = LayerIntegratedGradientsConfig::new()
        .with_integrated_gradients(ember::IntegratedGradientsConfig::new().with_steps(8))
        .init()
        .unwrap();
    let split1 = eval_split(&cnn, |m: &Cnn, x| m.head(x, 1), |m: &Cnn, h| m.tail(h, 1));
    let want = lig
        .attribute_layer(&split1, input, Target::Classes(vec![2, 7]))
        .unwrap();
    let got = read_named(&file, "attributions").1;
    assert!(close(
        &got,
        &ember::validate::read_f64(want.values).unwrap()
    ));

    // Scores are written by every method; layer errors are one line.
    let out_file = dir.path().join("saliency.safetensors");
    let out = ember(&[
        "attribute",
        "--model",
        "cnn",
        "--inputs",
        path(&inputs),
        "--method",
        "saliency",
        "--out",
        path(&out_file),
    ]);
    assert!(out.status.success());
    assert_eq!(read_named(&out_file, "scores").0, vec![3]);
    let bad = |extra: &[&str]| {
        let mut args = vec![
            "attribute",
            "--model",
            "cnn",
            "--inputs",
            path(&inputs),
            "--out",
            "/nonexistent-ember-test/x.safetensors",
        ];
        args.extend_from_slice(extra);
        ember(&args)
    };
    assert_one_line_error(&bad(&["--method", "grad-cam"]), "needs --layer");
    assert_one_line_error(&bad(&["--method", "grad-cam", "--layer", "7"]), "layer");
    assert_one_line_error(&bad(&["--method", "saliency", "--layer", "3"]), "--layer");
}

#[test]
fn the_docs_table_of_methods_is_the_registrys() {
    let out = ember(&["methods", "--markdown"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8(out.stdout).unwrap();
    let page = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/src/methods/README.md"
    );
    let page = std::fs::read_to_string(page).unwrap();
    let (start, end) = ("<!-- methods:start -->\n", "<!-- methods:end -->");
    let from = page.find(start).expect("the start marker") + start.len();
    let to = page.find(end).expect("the end marker");
    assert_eq!(
        &page[from..to],
        table,
        "regenerate the table with `ember methods --markdown`"
    );
    // The plain list names every method the registry has.
    let list = ember(&["methods"]);
    let list = String::from_utf8(list.stdout).unwrap();
    for name in [
        "saliency",
        "integrated-gradients",
        "vargrad",
        "grad-cam",
        "attention-rollout",
    ] {
        assert!(list.contains(name), "{name} missing from:\n{list}");
    }
}

/// Writes an int64 `feature_mask` of `shape` to a safetensors file.
fn write_mask(file: &Path, ids: &[i64], shape: &[usize]) {
    let bytes: Vec<u8> = ids.iter().flat_map(|v| v.to_le_bytes()).collect();
    let views = vec![(
        "feature_mask".to_string(),
        TensorView::new(Dtype::I64, shape.to_vec(), &bytes).unwrap(),
    )];
    std::fs::write(file, safetensors::serialize(views, None).unwrap()).unwrap();
}

#[test]
fn perturbation_methods_take_a_feature_mask_and_a_window_and_write_group_values() {
    let dir = tempfile::tempdir().unwrap();
    let (x, _) = digits(2);
    let inputs = write_inputs(dir.path(), &x, &[2, 64], None);
    // Four groups of 16 pixels with non-contiguous ids, the first row never perturbed.
    let ids: Vec<i64> = (0..64)
        .map(|i| if i < 8 { -1 } else { [3, 10, 11, 40][i / 16] })
        .collect();
    let mask = dir.path().join("mask.safetensors");
    write_mask(&mask, &ids, &[1, 64]);
    let out_file = dir.path().join("ablation.safetensors");
    let out = ember(&[
        "attribute",
        "--model",
        "mlp",
        "--inputs",
        path(&inputs),
        "--method",
        "FeatureAblation",
        "--feature-mask",
        path(&mask),
        "--out",
        path(&out_file),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (shape, values) = read_named(&out_file, "attributions");
    assert_eq!(shape, [2, 64]);
    let (group_shape, groups) = read_named(&out_file, "group_values");
    assert_eq!(group_shape, [2, 4]);
    // Captum's convention: every element of a group carries the group's value; the pixels
    // never perturbed carry 0.
    for s in 0..2 {
        for i in 0..64 {
            let want = if i < 8 { 0.0 } else { groups[s * 4 + i / 16] };
            assert_eq!(values[s * 64 + i], want, "sample {s}, pixel {i}");
        }
    }
    assert!(groups.iter().any(|v| *v != 0.0));
    let (score_shape, _) = read_named(&out_file, "scores");
    assert_eq!(score_shape, [2]);

    // Occlusion with a window and strides on the CNN's [N, 1, 8, 8].
    let cnn_inputs = write_inputs(dir.path(), &x, &[2, 1, 8, 8], None);
    let occluded = dir.path().join("occlusion.safetensors");
    let out = ember(&[
        "attribute",
        "--model",
        "cnn",
        "--inputs",
        path(&cnn_inputs),
        "--method",
        "occlusion",
        "--window",
        "1,3,3",
        "--strides",
        "1,2,2",
        "--out",
        path(&occluded),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (shape, values) = read_named(&occluded, "attributions");
    assert_eq!(shape, [2, 1, 8, 8]);
    assert!(values.iter().any(|v| *v != 0.0));

    // A mask that does not fit the input, and a window larger than it, are one-line errors.
    let cnn_inputs = dir.path().join("cnn-inputs.safetensors");
    std::fs::rename(dir.path().join("inputs.safetensors"), &cnn_inputs).unwrap();
    let inputs = write_inputs(dir.path(), &x, &[2, 64], None);
    write_mask(&mask, &[0; 32], &[1, 32]);
    let out = ember(&[
        "attribute",
        "--model",
        "mlp",
        "--inputs",
        path(&inputs),
        "--method",
        "kernel-shap",
        "--feature-mask",
        path(&mask),
        "--out",
        path(&out_file),
    ]);
    assert_one_line_error(&out, "mask");
    let out = ember(&[
        "attribute",
        "--model",
        "cnn",
        "--inputs",
        path(&cnn_inputs),
        "--method",
        "occlusion",
        "--window",
        "1,9,9",
        "--out",
        path(&occluded),
    ]);
    assert_one_line_error(&out, "window");
}

#[test]
fn compare_runs_the_perturbation_methods_with_their_groups() {
    let dir = tempfile::tempdir().unwrap();
    let mask = dir.path().join("mask.safetensors");
    // 2 × 2 patches of the 8 × 8 digits: 16 groups.
    let ids: Vec<i64> = (0..64)
        .map(|i| ((i / 8) / 2 * 4 + (i % 8) / 2) as i64)
        .collect();
    write_mask(&mask, &ids, &[1, 1, 8, 8]);
    let out_dir = dir.path().join("report");
    let out = ember(&[
        "compare",
        "--model",
        "cnn",
        "--examples",
        "2",
        "--methods",
        "saliency,occlusion,kernel-shap,shapley-value-sampling",
        "--samples",
        "4",
        "--perturbations",
        "2",
        "--curve-steps",
        "4",
        "--feature-mask",
        path(&mask),
        "--out",
        path(&out_dir),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("forward rows") && stdout.contains("efficiency gap"));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("results.json")).unwrap())
            .unwrap();
    let methods = json["methods"].as_array().unwrap();
    let family: Vec<&str> = methods
        .iter()
        .map(|m| m["family"].as_str().unwrap())
        .collect();
    assert_eq!(
        family,
        ["gradient", "perturbation", "perturbation", "perturbation"]
    );
    // The mask reached the methods: per example, 4 orders × 15 coalitions (each order's last
    // is F(x)'s row), and the F(x) and F(b) rows.
    assert_eq!(methods[3]["model_evaluations"], 2 * (4 * 15 + 2));
    // Shapley value sampling is efficient: its gap is rounding.
    let gap = methods[3]["completeness"]["mean_relative_delta"]
        .as_f64()
        .unwrap();
    assert!(gap < 1e-6, "{gap}");
    let html = std::fs::read_to_string(out_dir.join("index.html")).unwrap();
    assert!(html.contains("boundaries of the groups"));
}

/// Writes a float tensor `baselines` (f32, `shape`).
fn write_baselines(file: &Path, values: &[f32], shape: &[usize]) {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let views = vec![(
        "baselines".to_string(),
        TensorView::new(Dtype::F32, shape.to_vec(), &bytes).unwrap(),
    )];
    std::fs::write(file, safetensors::serialize(views, None).unwrap()).unwrap();
}

#[test]
fn the_path_methods_take_their_flags_and_write_the_contracts_tensors() {
    let dir = tempfile::tempdir().unwrap();
    let (x, labels) = digits(5);
    let targets: Vec<i64> = labels[..2].iter().map(|&l| l as i64).collect();
    let inputs = write_inputs(dir.path(), &x[..128], &[2, 1, 8, 8], Some(&targets));
    // Three baselines: the next three test digits.
    let baselines = dir.path().join("baselines.safetensors");
    write_baselines(&baselines, &x[128..], &[3, 1, 8, 8]);
    let run = |method: &str, extra: &[&str], out_name: &str| -> (Output, PathBuf) {
        let out_file = dir.path().join(out_name);
        let mut args = vec![
            "attribute",
            "--model",
            "cnn",
            "--inputs",
            path(&inputs),
            "--target",
            "file",
            "--method",
            method,
            "--out",
            path(&out_file),
        ];
        args.extend_from_slice(extra);
        (ember(&args), out_file)
    };
    let ok = |out: &Output| {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        )
    };

    // gradient-shap: attributions, scores and delta; seeded; the library's values.
    let flags = [
        "--baselines",
        path(&baselines),
        "--samples",
        "20",
        "--seed",
        "3",
    ];
    let (out, file) = run("gradient-shap", &flags, "gshap.safetensors");
    ok(&out);
    let (shape, values) = read_named(&file, "attributions");
    assert_eq!(shape, [2, 1, 8, 8]);
    assert_eq!(read_named(&file, "delta").0, [2]);
    assert_eq!(read_named(&file, "scores").0, [2]);
    let (out, again) = run("GradientShap", &flags, "gshap2.safetensors");
    ok(&out);
    assert_eq!(
        read_named(&again, "attributions").1,
        values,
        "seeded, and Captum's name"
    );
    let device = Device::flex();
    let set = BaselineSet::new(
        vec![3, 1, 8, 8],
        x[128..].iter().map(|&v| f64::from(v)).collect(),
    )
    .unwrap();
    let net = ember_zoo::shipped::cnn(&device).unwrap();
    let lib = GradientShapConfig::new()
        .with_baselines(Some(set))
        .with_samples(20)
        .with_seed(3)
        .init()
        .unwrap()
        .attribute(
            &ember_zoo::whole(&net),
            Tensor::<4>::from_data(TensorData::new(x[..128].to_vec(), [2, 1, 8, 8]), &device),
            labels[..2].to_vec(),
        )
        .unwrap();
    let lib: Vec<f64> = lib.values.to_data().convert::<f64>().try_to_vec().unwrap();
    let diff = lib
        .iter()
        .zip(&values)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(diff < 1e-6, "CLI vs library: {diff}");

    // guided-ig with --max-dist 0 is left-Riemann integrated gradients.
    let (out, guided) = run(
        "guided-ig",
        &["--steps", "10", "--max-dist", "0", "--fraction", "0.5"],
        "guided.safetensors",
    );
    ok(&out);
    let (out, ig) = run(
        "ig",
        &["--steps", "10", "--quadrature", "riemann-left"],
        "ig.safetensors",
    );
    ok(&out);
    let (a, b) = (
        read_named(&guided, "attributions").1,
        read_named(&ig, "attributions").1,
    );
    let diff = a
        .iter()
        .zip(&b)
        .map(|(p, q)| (p - q).abs())
        .fold(0.0, f64::max);
    assert!(
        diff < 1e-4,
        "guided-ig at max-dist 0 vs riemann-left IG: {diff}"
    );

    // blur-ig with its flags; integrated-gradients over the set.
    let (out, blur) = run(
        "blur-ig",
        &[
            "--max-sigma",
            "2",
            "--steps",
            "8",
            "--grad-step",
            "0.02",
            "--blur-sqrt",
        ],
        "blur.safetensors",
    );
    ok(&out);
    assert_eq!(read_named(&blur, "delta").0, [2]);
    let (out, over) = run(
        "ig",
        &["--baselines", path(&baselines), "--steps", "8"],
        "igk.safetensors",
    );
    ok(&out);
    assert_eq!(read_named(&over, "attributions").0, [2, 1, 8, 8]);

    // Bad requests: one line each.
    write_baselines(&baselines, &x[128..], &[3, 64]);
    let (out, _) = run(
        "gradient-shap",
        &["--baselines", path(&baselines)],
        "bad.safetensors",
    );
    assert_one_line_error(&out, "baselines");
    let (out, _) = run("guided-ig", &["--max-dist", "2"], "bad.safetensors");
    assert_one_line_error(&out, "max_dist");
    let (out, _) = run("blur-ig", &["--max-sigma", "0"], "bad.safetensors");
    assert_one_line_error(&out, "max_sigma");
    let mlp_inputs = write_inputs(dir.path(), &x[..128], &[2, 64], None);
    let out = ember(&[
        "attribute",
        "--model",
        "mlp",
        "--inputs",
        path(&mlp_inputs),
        "--method",
        "blur-ig",
        "--out",
        path(&dir.path().join("bad.safetensors")),
    ]);
    assert_one_line_error(&out, "images");
}
