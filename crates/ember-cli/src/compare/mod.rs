//! `ember compare`: every method on a zoo model's test examples (or, for a model of photos,
//! the photos of `--images`), every metric, a terminal table and a self-contained report
//! (`index.html`, `results.json`, PNGs). The comparison and the report are the library's
//! ([`ember_metrics::compare`]); this parses the arguments, loads the zoo model and its data,
//! draws the progress bar and prints the table.

mod args;
mod table;

use ember::MethodSpec;
use ember::burn::tensor::{Device, Tensor, TensorData};
use ember::{LayerMethod, Model};
use ember_metrics::compare::{
    CompareConfig, Comparison, ModuleCascade, Progress, ReportLayout, write_report,
};
use ember_zoo::efficientnet::top_classes;
use ember_zoo::photos::{Photo, batch, load_photos};
use ember_zoo::{Cascade, Dataset, ZooInfo, ZooNet, ZooVisitor};
use indicatif::{ProgressBar, ProgressStyle};

pub use args::CompareArgs;

/// Runs `ember compare`.
pub fn run(args: &CompareArgs) -> Result<(), String> {
    if args.examples == Some(0) {
        return Err("--examples must be at least 1".into());
    }
    let info = args.model.info();
    let inputs = match info.data.test_set() {
        Some(test) => {
            if !args.images.is_empty() {
                return Err(format!(
                    "--images is for efficientnet-lite0; the {} model explains its test examples \
                     (--examples)",
                    args.model
                ));
            }
            Inputs::Examples(examples(test, args.examples.unwrap_or(16))?)
        }
        None => {
            if args.examples.is_some() {
                return Err(format!(
                    "--examples is for the zoo's test sets; {} explains the photos of --images",
                    args.model
                ));
            }
            if args.images.is_empty() {
                return Err(format!(
                    "{} explains photos: give them with --images (PNG or JPEG)",
                    args.model
                ));
            }
            let size = info.sample_shape[1];
            Inputs::Photos(load_photos(&args.images, size).map_err(|e| e.to_string())?)
        }
    };
    let dataset = match &inputs {
        Inputs::Examples(test) => test.name,
        Inputs::Photos(_) => "photos",
    };
    let config = args.config(dataset)?;
    check_layer_methods(args, info, &config)?;
    let device = args.device.device().map_err(|e| e.to_string())?;
    let compare = Compare {
        args,
        info,
        config: &config,
        inputs: &inputs,
        device: &device,
    };
    let mut comparison = args
        .model
        .visit(args.weights.as_deref(), &device, compare)
        .map_err(|e| e.to_string())??;
    let layout = match (info.data.image_size(info.sample_shape), &inputs) {
        (Some([height, width]), _) => ReportLayout::Image { height, width },
        (None, Inputs::Examples(test)) => ReportLayout::Features {
            names: test.feature_names.clone(),
        },
        (None, Inputs::Photos(_)) => return Err("photos are images".into()),
    };
    finish(args, &mut comparison, &layout)
}

/// What a comparison explains: test examples with their labels, or photos.
enum Inputs {
    Examples(Dataset),
    Photos(Vec<Photo>),
}

/// Writes the report and prints the table (or the JSON).
fn finish(
    args: &CompareArgs,
    comparison: &mut Comparison,
    layout: &ReportLayout,
) -> Result<(), String> {
    comparison.results.settings.replacement = args.replacement.clone();
    write_report(comparison, layout, &args.out).map_err(|e| e.to_string())?;
    if args.json {
        let json = serde_json::to_string_pretty(&comparison.results).map_err(|e| e.to_string())?;
        println!("{json}");
    } else {
        table::print_table(&comparison.results);
        println!("\nwrote {}", args.out.join("index.html").display());
    }
    Ok(())
}

/// Layer methods in a comparison: only Grad-CAM (its map is upsampled to the input), and only
/// on a model with a Grad-CAM layer.
fn check_layer_methods(
    args: &CompareArgs,
    info: &ZooInfo,
    config: &CompareConfig,
) -> Result<(), String> {
    for method in &config.methods {
        if let MethodSpec::Layer(layer) = method {
            if *layer != LayerMethod::GradCam {
                return Err(format!(
                    "{} cannot be compared: its map is of a layer, not of the input (grad-cam's \
                     is upsampled to the input)",
                    layer.name()
                ));
            }
            if info.grad_cam_layer.is_none() {
                return Err(format!(
                    "grad-cam needs an image model with a conv layer (cnn, efficientnet-lite0), \
                     not {}",
                    args.model
                ));
            }
        }
    }
    Ok(())
}

/// The first `n` test examples.
fn examples(test: Dataset, n: usize) -> Result<Dataset, String> {
    if n > test.len() {
        return Err(format!(
            "--examples {n} is out of range: the {} test split has {} examples",
            test.name,
            test.len()
        ));
    }
    let indices: Vec<usize> = (0..n).collect();
    Ok(test.select(&indices))
}

/// `ember compare`'s work on the zoo model, whatever its type.
struct Compare<'a> {
    args: &'a CompareArgs,
    info: &'static ZooInfo,
    config: &'a CompareConfig,
    inputs: &'a Inputs,
    device: &'a Device,
}

impl ZooVisitor for Compare<'_> {
    type Output = Result<Comparison, String>;

    /// The comparison of `model`, explained in evaluation mode with its Grad-CAM layer named
    /// ([`ZooNet::explained`]), with the model's cascade for the sanity check.
    fn visit<const D: usize, N: ZooNet<D>>(self, model: N) -> Self::Output {
        let mut shape = vec![0];
        shape.extend_from_slice(self.info.sample_shape);
        let input: Tensor<D> = match self.inputs {
            Inputs::Examples(test) => {
                shape[0] = test.len();
                let values: Vec<f64> = test.inputs.iter().map(|&v| v as f64).collect();
                Tensor::from_data(TensorData::new(values, shape), self.device)
            }
            Inputs::Photos(photos) => {
                let images = batch(photos, self.device);
                shape[0] = photos.len();
                let dims: [usize; D] = shape
                    .try_into()
                    .map_err(|_| format!("{} does not take photos", self.args.model))?;
                images.reshape(dims)
            }
        };
        // Photos: the model's top class (name and probability) per photo.
        let predictions = match self.inputs {
            Inputs::Photos(_) => {
                Some(top_classes(model.logits(input.clone())).map_err(|e| e.to_string())?)
            }
            Inputs::Examples(_) => None,
        };
        let trained = model.explained();
        let zoo = self.args.model;
        let cascade = ModuleCascade::new(model, N::explained);
        let cascade = match self.info.cascade {
            // The zoo labels its layers by their PyTorch index (`5`); the module's field is
            // `layer5`.
            Cascade::Layers => cascade
                .with_layers(zoo.layer_paths_top_down())
                .with_labels(zoo.layers_top_down().iter().copied()),
            // Groups of layers from the output down (EfficientNet-Lite0: six).
            Cascade::Groups(_) => cascade.with_groups(
                zoo.layers_top_down()
                    .iter()
                    .copied()
                    .zip(zoo.cascade_prefixes()),
            ),
        }
        .map_err(|e| e.to_string())?
        .with_seed(self.args.seed);
        let mut comparison = run_with_progress(self.config, &trained, input, &cascade)?;
        let examples = comparison.results.examples.iter_mut();
        match self.inputs {
            // The zoo's examples are the first of the test split, with their labels.
            Inputs::Examples(test) => {
                for (example, &label) in examples.zip(&test.labels) {
                    example.label = Some(label);
                }
            }
            Inputs::Photos(photos) => {
                let predictions = predictions.unwrap_or_default();
                for ((example, photo), p) in examples.zip(photos).zip(&predictions) {
                    example.name = Some(photo.name.clone());
                    if example.predicted == p.class {
                        example.class_name = Some(p.name.to_string());
                        example.probability = Some(p.probability);
                    }
                }
            }
        }
        Ok(comparison)
    }
}

/// Runs the comparison with a progress bar on the terminal.
fn run_with_progress<const D: usize>(
    config: &CompareConfig,
    model: &impl Model<D>,
    input: Tensor<D>,
    cascade: &impl ember_metrics::compare::RandomisedModels<D>,
) -> Result<Comparison, String> {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:32} {pos}/{len} {msg}")
            .expect("a valid template"),
    );
    let mut progress = |p: Progress| {
        bar.set_length(p.total as u64);
        bar.set_position(p.done as u64);
        bar.set_message(p.stage);
    };
    let comparison = config
        .run(
            model,
            input,
            ember::Target::Predicted,
            cascade,
            &mut progress,
        )
        .map_err(|e| e.to_string());
    bar.finish_and_clear();
    comparison
}
