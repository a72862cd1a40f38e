//! `ember compare`: every method on a zoo model's test examples, every metric, a terminal
//! table and a self-contained report (`index.html`, `results.json`, PNGs). The comparison and
//! the report are the library's ([`ember_metrics::compare`]); this parses the arguments,
//! loads the zoo model and its data, draws the progress bar and prints the table.

mod args;
mod photos;
mod table;

use ember::burn::module::Module;
use ember::burn::tensor::{Device, Tensor, TensorData};
use ember::{LayerMethod, MethodSpec};
use ember::{Model, WithLayer};
use ember_metrics::compare::{
    CompareConfig, Comparison, ModuleCascade, Progress, ReportLayout, write_report,
};
use ember_zoo::data::{Dataset, breast_cancer_split, digits_split};
use ember_zoo::{Cnn, Mlp, Tabular, ZooModel, shipped};
use indicatif::{ProgressBar, ProgressStyle};

pub use args::{CompareArgs, parse_method};

use crate::attribute::load_model;

/// The CNN's layer for Grad-CAM: the output of its last conv block's ReLU (PyTorch index 3).
pub const GRAD_CAM_LAYER: usize = 3;

/// Runs `ember compare`.
pub fn run(args: &CompareArgs) -> Result<(), String> {
    if args.examples == Some(0) {
        return Err("--examples must be at least 1".into());
    }
    let device = args.device.device().map_err(|e| e.to_string())?;
    if args.model == ZooModel::EfficientNetLite0 {
        if args.examples.is_some() {
            return Err(
                "--examples is for the zoo's test sets; efficientnet-lite0 explains the photos \
                 of --images"
                    .into(),
            );
        }
        let config = args.config("photos")?;
        check_layer_methods(args, &config)?;
        let (mut comparison, layout) = photos::compare(args, &config, &device)?;
        return finish(args, &mut comparison, &layout);
    }
    if !args.images.is_empty() {
        return Err(format!(
            "--images is for efficientnet-lite0; the {} model explains its test examples \
             (--examples)",
            args.model
        ));
    }
    let (dataset, shape) = examples(args.model, args.examples.unwrap_or(16))?;
    let config = args.config(dataset.name)?;
    check_layer_methods(args, &config)?;
    let zoo = Zoo {
        args,
        config: &config,
        dataset: &dataset,
        shape: &shape,
        device: &device,
    };
    let weights = args.weights.as_deref();
    let mut comparison = match args.model {
        ZooModel::Mlp => zoo.compare::<2, _, _>(
            load_model(args.model, weights, &device, Mlp::new, shipped::mlp)?,
            |m: &Mlp| ember::eval(m, Mlp::forward),
        ),
        // The CNN names its last conv block (after the ReLU, `3`) for Grad-CAM.
        ZooModel::Cnn => zoo.compare::<4, _, _>(
            load_model(args.model, weights, &device, Cnn::new, shipped::cnn)?,
            |m: &Cnn| {
                WithLayer::new(ember::eval_split(
                    m,
                    |m: &Cnn, x| m.head(x, GRAD_CAM_LAYER),
                    |m: &Cnn, h| m.tail(h, GRAD_CAM_LAYER),
                ))
            },
        ),
        ZooModel::Tabular => zoo.compare::<2, _, _>(
            load_model(args.model, weights, &device, Tabular::new, shipped::tabular)?,
            |m: &Tabular| ember::eval(m, Tabular::forward),
        ),
        ZooModel::EfficientNetLite0 => unreachable!("photos are compared above"),
    }?;
    // The zoo's examples are the first of the test split, with their labels; the replacement
    // reads as it was given.
    for (example, &label) in comparison.results.examples.iter_mut().zip(&dataset.labels) {
        example.label = Some(label);
    }
    let layout = match args.model {
        ZooModel::Mlp | ZooModel::Cnn => ReportLayout::Image {
            height: 8,
            width: 8,
        },
        ZooModel::Tabular | ZooModel::EfficientNetLite0 => ReportLayout::Features {
            names: dataset.feature_names.clone(),
        },
    };
    finish(args, &mut comparison, &layout)
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
/// on the image models.
fn check_layer_methods(args: &CompareArgs, config: &CompareConfig) -> Result<(), String> {
    for method in &config.methods {
        if let MethodSpec::Layer(layer) = method {
            if *layer != LayerMethod::GradCam {
                return Err(format!(
                    "{} cannot be compared: its map is of a layer, not of the input (grad-cam's \
                     is upsampled to the input)",
                    layer.name()
                ));
            }
            if !matches!(args.model, ZooModel::Cnn | ZooModel::EfficientNetLite0) {
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

/// The first `n` test examples of the model's dataset and the input shape `[n, ...]`.
fn examples(model: ZooModel, n: usize) -> Result<(Dataset, Vec<usize>), String> {
    let test = match model {
        ZooModel::Mlp | ZooModel::Cnn => digits_split().test,
        _ => breast_cancer_split().0.test,
    };
    if n > test.len() {
        return Err(format!(
            "--examples {n} is out of range: the {} test split has {} examples",
            test.name,
            test.len()
        ));
    }
    let indices: Vec<usize> = (0..n).collect();
    let mut shape = vec![n];
    shape.extend_from_slice(model.sample_shape());
    Ok((test.select(&indices), shape))
}

/// One zoo comparison's inputs.
struct Zoo<'a> {
    args: &'a CompareArgs,
    config: &'a CompareConfig,
    dataset: &'a Dataset,
    shape: &'a [usize],
    device: &'a Device,
}

impl Zoo<'_> {
    /// The comparison of `model`, explained through `wrap` (its eval-mode model), with the
    /// zoo's layers as the sanity check's cascade.
    fn compare<const D: usize, M: Module + 'static, O: Model<D> + 'static>(
        &self,
        model: M,
        wrap: impl Fn(&M) -> O + Copy + 'static,
    ) -> Result<Comparison, String> {
        let input: Tensor<D> = Tensor::from_data(
            TensorData::new(
                self.dataset.inputs.iter().map(|&v| v as f64).collect(),
                self.shape.to_vec(),
            ),
            self.device,
        );
        let trained = wrap(&model);
        // The zoo labels its layers by their PyTorch index (`5`); the module's field is `layer5`.
        let cascade = ModuleCascade::new(model, wrap)
            .with_layers(self.args.model.layer_paths_top_down())
            .with_labels(self.args.model.layers_top_down().iter().copied())
            .map_err(|e| e.to_string())?
            .with_seed(self.args.seed);
        run_with_progress(self.config, &trained, input, &cascade)
    }
}

/// Runs the comparison with a progress bar on the terminal.
pub(crate) fn run_with_progress<const D: usize>(
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
