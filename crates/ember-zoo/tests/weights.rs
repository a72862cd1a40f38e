//! PyTorch-layout weights load into the zoo's models and give the logits of a hand computation;
//! bad files give errors naming the tensor.
//!
//! The fixtures are written by `tests/fixtures/make_fixtures.py` (plain Python, no torch), with
//! `value(seed, i) = sin(seed + 0.37 i) / 4` over each tensor's row-major index.

use std::path::{Path, PathBuf};

use burn::tensor::{Device, Tensor, TensorData};
use ember_zoo::weights::{load, save};
use ember_zoo::{Cnn, Tabular, ZooError};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The fixture's values, rounded to f32 as stored.
fn values(seed: f64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| ((seed + 0.37 * i as f64).sin() / 4.0) as f32 as f64)
        .collect()
}

fn input(n: usize, features: usize) -> Vec<f64> {
    (0..n * features)
        .map(|i| ((i as f64 * 0.61).cos()) as f32 as f64)
        .collect()
}

fn host(t: Tensor<2>) -> Vec<f64> {
    t.into_data()
        .convert::<f64>()
        .try_into_vec::<f64>()
        .unwrap()
}

/// `W x + b` with `W` in PyTorch's `[out, in]` layout.
fn linear(w: &[f64], b: &[f64], x: &[f64], outs: usize) -> Vec<f64> {
    let ins = x.len();
    (0..outs)
        .map(|o| b[o] + (0..ins).map(|i| w[o * ins + i] * x[i]).sum::<f64>())
        .collect()
}

fn relu(v: Vec<f64>) -> Vec<f64> {
    v.into_iter().map(|x| x.max(0.0)).collect()
}

fn tabular_by_hand(x: &[f64]) -> Vec<f64> {
    let h = relu(linear(&values(1.0, 32 * 30), &values(2.0, 32), x, 32));
    linear(&values(3.0, 2 * 32), &values(4.0, 2), &h, 2)
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn tabular_safetensors_and_pt_give_the_hand_computed_logits() {
    let device = Device::flex();
    let x = input(3, 30);
    let expected: Vec<f64> = x.chunks(30).flat_map(tabular_by_hand).collect();
    let batch = || Tensor::<2>::from_data(TensorData::new(x.clone(), [3, 30]), &device);

    let from_safetensors = load(
        Tabular::new(&device),
        &fixture("tabular.safetensors"),
        "tabular",
    )
    .unwrap()
    .forward(batch());
    let from_pt = load(Tabular::new(&device), &fixture("tabular.pt"), "tabular")
        .unwrap()
        .forward(batch());
    let a = host(from_safetensors);
    let b = host(from_pt);
    assert!(max_abs_diff(&a, &expected) <= 1e-5, "{a:?} vs {expected:?}");
    assert_eq!(a, b, ".pt and .safetensors load the same weights");
}

#[test]
fn cnn_conv_layout_and_flatten_order_match_pytorch() {
    let device = Device::flex();
    let x = input(1, 64);
    // By hand: conv 3×3, padding 1, weights [out, in, kh, kw]; flatten in (c, h, w) order.
    let conv = |input: &[f64], c_in: usize, c_out: usize, w: &[f64], b: &[f64]| {
        let mut out = vec![0.0; c_out * 64];
        for o in 0..c_out {
            for r in 0..8 {
                for c in 0..8 {
                    let mut acc = b[o];
                    for i in 0..c_in {
                        for kh in 0..3 {
                            for kw in 0..3 {
                                let (rr, cc) =
                                    (r as isize + kh as isize - 1, c as isize + kw as isize - 1);
                                if (0..8).contains(&rr) && (0..8).contains(&cc) {
                                    acc += w[((o * c_in + i) * 3 + kh) * 3 + kw]
                                        * input[i * 64 + rr as usize * 8 + cc as usize];
                                }
                            }
                        }
                    }
                    out[o * 64 + r * 8 + c] = acc.max(0.0);
                }
            }
        }
        out
    };
    let h = conv(&x, 1, 16, &values(5.0, 16 * 9), &values(6.0, 16));
    let h = conv(&h, 16, 32, &values(7.0, 32 * 16 * 9), &values(8.0, 32));
    let expected = linear(&values(9.0, 10 * 2048), &values(10.0, 10), &h, 10);

    let model = load(Cnn::new(&device), &fixture("cnn.safetensors"), "cnn").unwrap();
    let logits = host(model.forward(Tensor::<4>::from_data(
        TensorData::new(x, [1, 1, 8, 8]),
        &device,
    )));
    assert!(
        max_abs_diff(&logits, &expected) <= 1e-4,
        "{logits:?} vs {expected:?}"
    );
}

fn problems(result: Result<Tabular, ZooError>) -> Vec<String> {
    match result {
        Err(ZooError::WeightsMismatch {
            problems, model, ..
        }) => {
            assert_eq!(model, "tabular");
            problems
        }
        Err(other) => panic!("expected a mismatch, got {other}"),
        Ok(_) => panic!("a bad file loaded"),
    }
}

#[test]
fn a_missing_tensor_is_named() {
    let device = Device::flex();
    let p = problems(load(
        Tabular::new(&device),
        &fixture("tabular_missing.safetensors"),
        "tabular",
    ));
    assert_eq!(
        p,
        vec!["tensor `2.bias` is missing from the file".to_string()]
    );
}

#[test]
fn an_extra_tensor_is_named() {
    let device = Device::flex();
    let p = problems(load(
        Tabular::new(&device),
        &fixture("tabular_extra.safetensors"),
        "tabular",
    ));
    assert_eq!(
        p,
        vec!["tensor `4.weight` in the file is not a parameter of the model".to_string()]
    );
}

#[test]
fn a_mis_shaped_tensor_is_named_with_both_shapes() {
    let device = Device::flex();
    let p = problems(load(
        Tabular::new(&device),
        &fixture("tabular_transposed.safetensors"),
        "tabular",
    ));
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].contains("`0.weight`"), "{}", p[0]);
    assert!(p[0].contains("[30, 32] in the file"), "{}", p[0]);
    assert!(p[0].contains("expects [32, 30]"), "{}", p[0]);
}

#[test]
fn unreadable_and_unknown_files_are_errors() {
    let device = Device::flex();
    assert!(matches!(
        load(
            Tabular::new(&device),
            &fixture("not_weights.safetensors"),
            "tabular"
        ),
        Err(ZooError::WeightsFile { .. })
    ));
    assert!(matches!(
        load(
            Tabular::new(&device),
            &fixture("no_such_file.safetensors"),
            "tabular"
        ),
        Err(ZooError::WeightsFile { .. })
    ));
    assert!(matches!(
        load(
            Tabular::new(&device),
            &fixture("make_fixtures.py"),
            "tabular"
        ),
        Err(ZooError::UnsupportedFormat { .. })
    ));
}

#[test]
fn saved_weights_use_pytorch_names_and_layout_and_load_back() {
    let device = Device::flex();
    let model = load(
        Tabular::new(&device),
        &fixture("tabular.safetensors"),
        "tabular",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("saved.safetensors");
    save(&model, &path).unwrap();

    let bytes = std::fs::read(&path).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut names: Vec<(String, Vec<usize>)> = file
        .tensors()
        .into_iter()
        .map(|(name, view)| (name, view.shape().to_vec()))
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            ("0.bias".to_string(), vec![32]),
            ("0.weight".to_string(), vec![32, 30]),
            ("2.bias".to_string(), vec![2]),
            ("2.weight".to_string(), vec![2, 32]),
        ]
    );
    let reloaded = load(Tabular::new(&device), &path, "tabular").unwrap();
    let x = Tensor::<2>::from_data(TensorData::new(input(2, 30), [2, 30]), &device);
    assert_eq!(host(model.forward(x.clone())), host(reloaded.forward(x)));
}
