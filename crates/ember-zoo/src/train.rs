//! Seeded training of the zoo's models: Adam, cross-entropy, shuffled mini-batches.

use std::time::Instant;

use burn::config::Config;
use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Int, Tensor, TensorData};
use ember_core::kernel::loss_gradients;

use crate::data::{SplitMix64, breast_cancer_split, digits_split};
use crate::models::{Cnn, Mlp, Tabular};
use crate::{Dataset, Split, ZooError};

/// Hyper-parameters of the zoo's training.
#[derive(Config, Debug)]
pub struct TrainConfig {
    /// Passes over the training set.
    #[config(default = 30)]
    pub epochs: usize,
    /// Samples per step.
    #[config(default = 64)]
    pub batch_size: usize,
    /// Adam's learning rate.
    #[config(default = 1e-3)]
    pub learning_rate: f64,
    /// Seed of the initial weights and of the batch order.
    #[config(default = 0)]
    pub seed: u64,
}

/// What a training run reached.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainReport {
    /// Accuracy on the training split.
    pub train_accuracy: f64,
    /// Accuracy on the held-out test split.
    pub test_accuracy: f64,
    /// Wall-clock seconds of the training loop.
    pub seconds: f64,
    /// Optimiser steps taken.
    pub steps: usize,
}

impl TrainConfig {
    fn check(&self) -> Result<(), ZooError> {
        let bad = |name, value: String, expected| {
            Err(ZooError::Core(ember_core::Error::InvalidConfig {
                name,
                value,
                expected,
            }))
        };
        if self.epochs == 0 {
            return bad("epochs", "0".into(), "at least 1");
        }
        if self.batch_size == 0 {
            return bad("batch_size", "0".into(), "at least 1");
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return bad(
                "learning_rate",
                self.learning_rate.to_string(),
                "a finite positive number",
            );
        }
        Ok(())
    }
}

/// Trains the digits MLP on `device` (its plain form; autodiff is added for training).
///
/// # Errors
///
/// [`ZooError::Core`] for a bad configuration.
pub fn train_mlp(device: &Device, config: &TrainConfig) -> Result<(Mlp, TrainReport), ZooError> {
    fit(
        Mlp::new,
        |m, x| m.forward(x),
        &digits_split(),
        config,
        device,
    )
}

/// Trains the digits CNN on `device`.
///
/// # Errors
///
/// [`ZooError::Core`] for a bad configuration.
pub fn train_cnn(device: &Device, config: &TrainConfig) -> Result<(Cnn, TrainReport), ZooError> {
    let forward = |m: &Cnn, x: Tensor<2>| {
        let n = x.dims()[0];
        m.forward(x.reshape([n, 1, 8, 8]))
    };
    fit(Cnn::new, forward, &digits_split(), config, device)
}

/// Trains the breast-cancer model on `device` (standardised features).
///
/// # Errors
///
/// [`ZooError::Core`] for a bad configuration.
pub fn train_tabular(
    device: &Device,
    config: &TrainConfig,
) -> Result<(Tabular, TrainReport), ZooError> {
    let (split, _) = breast_cancer_split();
    fit(Tabular::new, |m, x| m.forward(x), &split, config, device)
}

/// The fraction of `data` that `forward` classifies correctly.
///
/// # Errors
///
/// [`ZooError::Core`] if the backend fails to compute or read the logits.
pub fn accuracy<M>(
    model: &M,
    forward: impl Fn(&M, Tensor<2>) -> Tensor<2>,
    data: &Dataset,
    device: &Device,
) -> Result<f64, ZooError> {
    let mut correct = 0;
    let indices: Vec<usize> = (0..data.len()).collect();
    for chunk in indices.chunks(512) {
        let batch = data.select(chunk);
        let logits = forward(model, inputs(&batch, device));
        let classes = logits.dims()[1];
        let values = ember_core::validate::read_f64(logits)?;
        for (row, &label) in values.chunks(classes).zip(&batch.labels) {
            let predicted = (0..classes).fold(0, |b, i| if row[i] > row[b] { i } else { b });
            correct += usize::from(predicted == label);
        }
    }
    Ok(correct as f64 / data.len() as f64)
}

fn inputs(data: &Dataset, device: &Device) -> Tensor<2> {
    Tensor::from_data(
        TensorData::new(data.inputs.clone(), [data.len(), data.features()]),
        device,
    )
}

fn fit<M, I, F>(
    init: I,
    forward: F,
    split: &Split,
    config: &TrainConfig,
    device: &Device,
) -> Result<(M, TrainReport), ZooError>
where
    M: Module,
    I: Fn(&Device) -> M,
    F: Fn(&M, Tensor<2>) -> Tensor<2>,
{
    config.check()?;
    let started = Instant::now();
    let train_device = device.clone().autodiff();
    train_device.seed(config.seed);
    let mut model = init(&train_device);
    let mut optimizer = AdamConfig::new().init();
    let loss = CrossEntropyLossConfig::new().init(&train_device);
    let mut rng = SplitMix64::new(config.seed ^ 0x5EED);
    let mut order: Vec<usize> = (0..split.train.len()).collect();
    let mut steps = 0;
    for _ in 0..config.epochs {
        rng.shuffle(&mut order);
        for chunk in order.chunks(config.batch_size) {
            let batch = split.train.select(chunk);
            let x = inputs(&batch, &train_device);
            let labels: Vec<i64> = batch.labels.iter().map(|&l| l as i64).collect();
            let y =
                Tensor::<1, Int>::from_data(TensorData::new(labels, [batch.len()]), &train_device);
            let value = loss.forward(forward(&model, x), y);
            let grads = GradientsParams::from_grads(loss_gradients(&value), &model);
            model = optimizer.step(config.learning_rate, model, grads);
            steps += 1;
        }
    }
    let model = model.valid();
    let seconds = started.elapsed().as_secs_f64();
    let plain = device.clone().inner();
    let report = TrainReport {
        train_accuracy: accuracy(&model, &forward, &split.train, &plain)?,
        test_accuracy: accuracy(&model, &forward, &split.test, &plain)?,
        seconds,
        steps,
    };
    Ok((model, report))
}
