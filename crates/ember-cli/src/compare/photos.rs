//! `ember compare --model efficientnet-lite0 --images ...`: photos in, every method's maps
//! over them, with the model's top class (name and probability) per photo; the sanity check
//! randomises the model in six groups of layers from the classifier down
//! ([`ModuleCascade::with_groups`]).

use ember::WithLayer;
use ember::burn::tensor::Device;
use ember_metrics::compare::{CompareConfig, Comparison, ModuleCascade, ReportLayout};
use ember_zoo::efficientnet::{self, FEATURES_POINT, IMAGE_SIZE};
use ember_zoo::photos::{batch, load_photos};
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
    let input = batch(&photos, device);
    let predictions = efficientnet::predict(&model, input.clone()).map_err(|e| e.to_string())?;
    // Explained through its `features` split, the map Grad-CAM weighs.
    let wrap = |m: &EfficientNetLite0| {
        WithLayer::new(ember::eval_split(
            m,
            |m: &EfficientNetLite0, x| m.head(x, FEATURES_POINT),
            |m: &EfficientNetLite0, h| m.tail(h, FEATURES_POINT),
        ))
    };
    let trained = wrap(&model);
    // The sanity check's cascade steps through six groups of layers from the classifier down
    // (the classifier, the head, block 15, blocks 8–14, blocks 0–7, the stem).
    let zoo = ZooModel::EfficientNetLite0;
    let cascade = ModuleCascade::new(model, wrap)
        .with_groups(
            zoo.layers_top_down()
                .iter()
                .copied()
                .zip(zoo.cascade_prefixes()),
        )
        .map_err(|e| e.to_string())?
        .with_seed(args.seed);
    let mut comparison = super::run_with_progress(config, &trained, input, &cascade)?;
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
