//! Training reaches the accuracies on Flex, is seeded, and the shipped weights are
//! what `ember train` produces.

use burn::tensor::{Device, Tensor, TensorData};
use ember_zoo::data::{breast_cancer_split, digits_split};
use ember_zoo::train::{TrainConfig, accuracy, train_cnn, train_mlp, train_tabular};
use ember_zoo::{ZooError, shipped};

#[test]
fn training_reaches_the_target_accuracies() {
    let device = Device::flex();
    let config = TrainConfig::new();
    let (_, mlp) = train_mlp(&device, &config).unwrap();
    let (_, cnn) = train_cnn(&device, &config).unwrap();
    let (_, tabular) = train_tabular(&device, &config).unwrap();
    assert!(mlp.test_accuracy >= 0.95, "mlp {mlp:?}");
    assert!(cnn.test_accuracy >= 0.95, "cnn {cnn:?}");
    assert!(tabular.test_accuracy >= 0.94, "tabular {tabular:?}");
}

#[test]
fn the_same_seed_gives_the_same_model_and_another_seed_another() {
    let device = Device::flex();
    let x = Tensor::<2>::from_data(
        TensorData::new(
            breast_cancer_split().0.test.inputs[..30 * 4].to_vec(),
            [4, 30],
        ),
        &device,
    );
    let logits = |seed| {
        let config = TrainConfig::new().with_epochs(2).with_seed(seed);
        let (model, _) = train_tabular(&device, &config).unwrap();
        model.forward(x.clone()).into_data()
    };
    assert_eq!(logits(3), logits(3));
    assert_ne!(logits(3), logits(4));
}

#[test]
fn the_shipped_weights_have_the_documented_accuracies() {
    let device = Device::flex();
    let digits = digits_split().test;
    let mlp = shipped::mlp(&device).unwrap();
    let cnn = shipped::cnn(&device).unwrap();
    let tabular = shipped::tabular(&device).unwrap();
    let a_mlp = accuracy(&mlp, |m, x| m.forward(x), &digits, &device).unwrap();
    let a_cnn = accuracy(
        &cnn,
        |m, x: Tensor<2>| {
            let n = x.dims()[0];
            m.forward(x.reshape([n, 1, 8, 8]))
        },
        &digits,
        &device,
    )
    .unwrap();
    let a_tab = accuracy(
        &tabular,
        |m, x| m.forward(x),
        &breast_cancer_split().0.test,
        &device,
    )
    .unwrap();
    // The figures in docs/src/cli.md, measured when the weights were trained.
    assert!((a_mlp - 0.9623).abs() < 1e-3, "{a_mlp}");
    assert!((a_cnn - 0.9756).abs() < 1e-3, "{a_cnn}");
    assert!((a_tab - 0.9789).abs() < 1e-3, "{a_tab}");
}

#[test]
fn bad_training_configs_are_typed_errors() {
    let device = Device::flex();
    for config in [
        TrainConfig::new().with_epochs(0),
        TrainConfig::new().with_batch_size(0),
        TrainConfig::new().with_learning_rate(f64::NAN),
    ] {
        assert!(matches!(
            train_tabular(&device, &config),
            Err(ZooError::Core(ember_core::Error::InvalidConfig { .. }))
        ));
    }
}
