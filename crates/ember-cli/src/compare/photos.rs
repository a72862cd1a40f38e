//! `ember compare --model efficientnet-lite0 --images ...`: photos in, every method's maps
//! over them, with the model's top class (name and probability) per photo; the sanity check
//! randomises the model in six groups of layers from the classifier down.

use ember::WithLayer;
use ember::burn::tensor::activation::softmax;
use ember::burn::tensor::{Device, Tensor, TensorData};
use ember_metrics::compare::{CompareConfig, Comparison, CustomCascade, ReportLayout};
use ember_metrics::reinit;
use ember_zoo::efficientnet::{FEATURES_POINT, IMAGE_SIZE};
use ember_zoo::imagenet::class_name;
use ember_zoo::photos::{Photo, load_photos};
use ember_zoo::{EfficientNetLite0, ZooModel};

use super::CompareArgs;
use crate::attribute::load_efficientnet;

/// The comparison of EfficientNet-Lite0 on `--images`, and its report's layout.
pub fn compare(
    args: &CompareArgs,
    config: &CompareConfig,
    device: &Device,
) -> Result<(Comparison, ReportLayout), String> {
    if args.images.is_empty() {
        return Err(
            "efficientnet-lite0 explains photos: give them with --images (PNG or JPEG)".into(),
        );
    }
    let model = load_efficientnet(args.weights.as_deref(), device)?;
    let photos = load_photos(&args.images, IMAGE_SIZE).map_err(|e| e.to_string())?;
    let predictions = predict(&model, &photos, device)?;
    // Explained through its `features` split, the map Grad-CAM weighs.
    let wrap = |m: &EfficientNetLite0| {
        WithLayer::new(ember::eval_split(
            m,
            |m: &EfficientNetLite0, x| m.head(x, FEATURES_POINT),
            |m: &EfficientNetLite0, h| m.tail(h, FEATURES_POINT),
        ))
    };
    let trained = wrap(&model);
    let cascade = cascade(model, wrap, args.seed);
    let mut comparison =
        super::run_with_progress(config, &trained, input(&photos, device), &cascade)?;
    for ((example, photo), p) in comparison
        .results
        .examples
        .iter_mut()
        .zip(&photos)
        .zip(&predictions)
    {
        example.name = Some(photo.name.clone());
        if example.predicted == p.class {
            example.class_name = Some(p.name.to_string());
            example.probability = Some(p.probability);
        }
    }
    Ok((
        comparison,
        ReportLayout::Image {
            height: IMAGE_SIZE,
            width: IMAGE_SIZE,
        },
    ))
}

/// The sanity check's cascade: step `k` re-initialises every layer of the groups `0..=k` of
/// [`ZooModel::cascade_prefixes`] (the classifier, the head, block 15, blocks 8–14, blocks
/// 0–7, the stem).
fn cascade<O>(
    model: EfficientNetLite0,
    wrap: impl Fn(&EfficientNetLite0) -> O,
    seed: u64,
) -> CustomCascade<impl Fn(usize) -> ember::Result<O>> {
    let zoo = ZooModel::EfficientNetLite0;
    let layers: Vec<String> = reinit::layers_top_down(&model)
        .into_iter()
        .map(|layer| layer.path)
        .collect();
    let groups: Vec<Vec<String>> = zoo
        .cascade_prefixes()
        .iter()
        .map(|prefixes| {
            layers
                .iter()
                .filter(|path| {
                    prefixes
                        .iter()
                        .any(|p| *path == p || path.starts_with(&format!("{p}.")))
                })
                .cloned()
                .collect()
        })
        .collect();
    CustomCascade::new(zoo.layers_top_down().iter().copied(), move |step: usize| {
        let paths = groups[..=step].concat();
        Ok(wrap(&reinit::reinitialise(model.clone(), &paths, seed)?))
    })
}

/// The model's top class for a photo.
#[derive(Debug, Clone)]
pub struct Prediction {
    /// The ImageNet class index.
    pub class: usize,
    /// Its name.
    pub name: &'static str,
    /// Its softmax probability.
    pub probability: f64,
}

/// The photos as one `[N, 3, 224, 224]` tensor on `device`.
pub fn input(photos: &[Photo], device: &Device) -> Tensor<4> {
    let values: Vec<f32> = photos
        .iter()
        .flat_map(|p| p.input.iter().copied())
        .collect();
    Tensor::from_data(
        TensorData::new(values, [photos.len(), 3, IMAGE_SIZE, IMAGE_SIZE]),
        device,
    )
}

/// The model's top class for each photo, with its name and probability.
pub fn predict(
    model: &EfficientNetLite0,
    photos: &[Photo],
    device: &Device,
) -> Result<Vec<Prediction>, String> {
    let probabilities = softmax(model.forward(input(photos, device)), 1);
    let values = ember::validate::read_f64(probabilities).map_err(|e| e.to_string())?;
    Ok(values
        .chunks_exact(ember_zoo::efficientnet::CLASSES)
        .map(|row| {
            let class = (0..row.len())
                .max_by(|&a, &b| row[a].total_cmp(&row[b]))
                .unwrap_or(0);
            Prediction {
                class,
                name: class_name(class).unwrap_or("?"),
                probability: row[class],
            }
        })
        .collect())
}
