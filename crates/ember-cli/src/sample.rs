//! `ember sample`: writes test samples of a zoo dataset as an input file for `ember attribute`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;
use ember_zoo::ZooModel;
use ember_zoo::data::{breast_cancer_split, digits_split};

use crate::io::{self, OutDtype};

/// Writes test-split samples, preprocessed and shaped for a zoo model, with their labels.
#[derive(Args, Debug)]
pub struct SampleArgs {
    /// The model whose input shape and dataset to use: mlp, cnn (digits) or tabular (breast
    /// cancer, standardised).
    #[arg(long)]
    pub model: ZooModel,
    /// How many test samples, from the first.
    #[arg(long, default_value_t = 8)]
    pub count: usize,
    /// The safetensors file to write (`inputs` float32, `targets` int64 labels).
    #[arg(long)]
    pub out: PathBuf,
}

/// Runs `ember sample`.
pub fn run(args: &SampleArgs) -> Result<(), String> {
    let test = match args.model {
        ZooModel::Mlp | ZooModel::Cnn => digits_split().test,
        ZooModel::Tabular => breast_cancer_split().0.test,
    };
    if args.count == 0 || args.count > test.len() {
        return Err(format!(
            "--count {} is out of range: the {} test split has {} samples",
            args.count,
            test.name,
            test.len()
        ));
    }
    let n = args.count;
    let mut shape = vec![n];
    shape.extend_from_slice(args.model.sample_shape());
    let inputs: Vec<f64> = test.inputs[..n * test.features()]
        .iter()
        .map(|&v| v as f64)
        .collect();
    let labels: Vec<i64> = test.labels[..n].iter().map(|&l| l as i64).collect();
    let mut metadata = BTreeMap::new();
    metadata.insert("dataset".into(), test.name.to_string());
    metadata.insert("split".into(), "test".into());
    io::write_atomically(
        &args.out,
        &[("inputs", inputs, shape.clone())],
        Some(("targets", labels)),
        OutDtype::F32,
        metadata,
    )?;
    println!(
        "wrote {n} {} test sample(s) as `inputs` {shape:?} and their labels as `targets` to {}",
        test.name,
        args.out.display()
    );
    Ok(())
}
