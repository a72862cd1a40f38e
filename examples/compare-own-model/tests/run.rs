//! The example end to end on Flex: it trains its own model, compares the methods on it and
//! writes the report `ember compare` writes. (`.ci/run` then runs the binary this test builds
//! and opens its report in headless Chromium.)

use std::process::Command;

#[test]
fn the_example_trains_its_model_and_writes_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    let run = Command::new(env!("CARGO_BIN_EXE_compare-own-model"))
        .args([
            "--epochs",
            "1",
            "--examples",
            "3",
            "--methods",
            "saliency,ig,vargrad",
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    let names: Vec<&str> = json["methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["method"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["saliency", "integrated-gradients", "vargrad"]);
    // The cascade found the model's layers from the output side, BatchNorm included.
    assert_eq!(
        json["settings"]["randomised_layers"],
        serde_json::json!(["head", "norm", "conv"])
    );
    assert_eq!(json["examples"].as_array().unwrap().len(), 3);
    for file in json["files"].as_array().unwrap() {
        assert!(out.join(file.as_str().unwrap()).is_file(), "{file}");
    }
    let page = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(page.contains("DigitNet (this example)"));
}
