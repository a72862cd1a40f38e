//! `ember sample`: writes test samples of a zoo dataset as an input file for `ember attribute`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;
use ember::backend::{Backend, Precision};
use ember::burn::tensor::{Device, Tensor};
use ember_zoo::efficientnet::{Prediction, top_classes};
use ember_zoo::photos::{Photo, batch, load_photos};
use ember_zoo::{ZooModel, ZooNet, ZooVisitor};

use crate::io::{self, OutDtype};

/// Writes test-split samples, preprocessed and shaped for a zoo model, with their labels; or,
/// for efficientnet-lite0, photos preprocessed for it, with its predicted classes.
#[derive(Args, Debug)]
pub struct SampleArgs {
    /// The model whose input shape and dataset to use: mlp, cnn (digits), tabular (breast
    /// cancer, standardised), or efficientnet-lite0 (photos, with `--images` and `--weights`).
    #[arg(long)]
    pub model: ZooModel,
    /// How many test samples, from the first; default 8. Not for efficientnet-lite0, whose
    /// samples are `--images`.
    #[arg(long)]
    pub count: Option<usize>,
    /// Photos (PNG or JPEG) for efficientnet-lite0: each resized to 224×224 as Pillow's
    /// bilinear resize does and normalised as `(pixel − 127) / 128`.
    #[arg(long, num_args = 1..)]
    pub images: Vec<PathBuf>,
    /// EfficientNet-Lite0's weights (.pth), to write its predicted classes as `targets`.
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// The backend that runs efficientnet-lite0 on the photos: flex, ndarray, wgpu, vulkan,
    /// gl (its logits are written as `logits`, so that devices can be compared).
    #[arg(long, default_value = "flex")]
    pub device: Backend,
    /// The safetensors file to write (`inputs` float32, `targets` int64 labels or, for photos,
    /// the predicted classes, and their `logits`).
    #[arg(long)]
    pub out: PathBuf,
}

/// Runs `ember sample`.
pub fn run(args: &SampleArgs) -> Result<(), String> {
    let info = args.model.info();
    let Some(test) = info.data.test_set() else {
        if args.count.is_some() {
            return Err(format!(
                "--count is for the zoo's test sets; {}'s samples are the photos of --images",
                args.model
            ));
        }
        return photos(args);
    };
    let count = args.count.unwrap_or(8);
    if !args.images.is_empty() {
        return Err(format!(
            "--images is for efficientnet-lite0; the {} model's samples come from its dataset",
            args.model
        ));
    }
    if count == 0 || count > test.len() {
        return Err(format!(
            "--count {} is out of range: the {} test split has {} samples",
            count,
            test.name,
            test.len()
        ));
    }
    let n = count;
    let mut shape = vec![n];
    shape.extend_from_slice(info.sample_shape);
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

/// The photos of `--images`, preprocessed for the model, and the model's predictions.
struct Predict<'a> {
    images: &'a [PathBuf],
    device: &'a Device,
}

/// The photos, the model's predictions and its logits (row-major, one row per photo).
type Predicted = (Vec<Photo>, Vec<Prediction>, Vec<f64>);

impl ZooVisitor for Predict<'_> {
    type Output = Result<Predicted, String>;

    fn visit<const D: usize, N: ZooNet<D>>(self, model: N) -> Self::Output {
        let size = N::INFO.sample_shape[1];
        let photos = load_photos(self.images, size).map_err(|e| e.to_string())?;
        let mut shape = [photos.len(); D];
        shape[1..].copy_from_slice(N::INFO.sample_shape);
        let input: Tensor<D> = batch(&photos, self.device).reshape(shape);
        let logits = model.logits(input);
        let values = ember::validate::read_f64(logits.clone()).map_err(|e| e.to_string())?;
        let predictions = top_classes(logits).map_err(|e| e.to_string())?;
        Ok((photos, predictions, values))
    }
}

/// `ember sample --model efficientnet-lite0 --images ... --weights ...`: the photos as inputs,
/// and the model's predictions as targets.
fn photos(args: &SampleArgs) -> Result<(), String> {
    if args.images.is_empty() {
        return Err(format!(
            "{}'s samples are photos: give them with --images",
            args.model
        ));
    }
    let device = args
        .device
        .device_with(Precision::F32)
        .map_err(|e| e.to_string())?;
    let predict = Predict {
        images: &args.images,
        device: &device,
    };
    let (photos, predictions, logits) = args
        .model
        .visit(args.weights.as_deref(), &device, predict)
        .map_err(|e| e.to_string())??;
    let n = photos.len();
    let logits_len = logits.len();
    let mut shape = vec![n];
    shape.extend_from_slice(args.model.sample_shape());
    let inputs: Vec<f64> = photos
        .iter()
        .flat_map(|p| p.input.iter().map(|&v| f64::from(v)))
        .collect();
    let mut metadata = BTreeMap::new();
    metadata.insert(
        "images".into(),
        photos
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
            .join(","),
    );
    metadata.insert("device".into(), args.device.to_string());
    metadata.insert(
        "preprocess".into(),
        "RGB; Pillow-exact bilinear resize to 224x224; (pixel - 127) / 128".into(),
    );
    io::write_atomically(
        &args.out,
        &[
            ("inputs", inputs, shape.clone()),
            ("logits", logits, vec![n, logits_len / n.max(1)]),
        ],
        Some((
            "targets",
            predictions.iter().map(|p| p.class as i64).collect(),
        )),
        OutDtype::F32,
        metadata,
    )?;
    for (photo, p) in photos.iter().zip(&predictions) {
        println!(
            "{}: {} {} ({:.1}%)",
            photo.name,
            p.class,
            p.name,
            100.0 * p.probability
        );
    }
    println!(
        "wrote {n} photo(s) as `inputs` {shape:?}, the predicted classes as `targets` and the \
         logits as `logits` to {}",
        args.out.display()
    );
    Ok(())
}
