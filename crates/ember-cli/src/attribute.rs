//! `ember attribute`: attributions of a zoo model for inputs read from a safetensors file.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;
use ember::backend::{Backend, Precision};
use ember::burn::tensor::{Device, Tensor, TensorData};
use ember::prelude::*;
use ember::{AnyMethod, BaseMethod, MethodSettings, MethodSpec, eval_split};
use ember_zoo::{Cnn, EfficientNetLite0, Mlp, Tabular, ZooModel, efficientnet, shipped, weights};

use crate::io::{self, OutDtype};
use crate::layer;
use crate::names::{NoiseScaleName, QuadratureName, SmoothKindName, TargetArg};
use crate::names::{parse_inner, resolve_method};

/// Explains a zoo model's outputs for inputs read from a safetensors file.
#[derive(Args, Debug)]
pub struct AttributeArgs {
    /// The model: mlp, cnn, tabular, or efficientnet-lite0 (ImageNet, with `--weights`).
    #[arg(long)]
    pub model: ZooModel,
    /// PyTorch-named weights (.safetensors or .pt/.pth state dict); default: the shipped
    /// weights (efficientnet-lite0 has none: its .pth is required).
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// A safetensors file holding the inputs, already preprocessed, of the model's input shape.
    #[arg(long)]
    pub inputs: PathBuf,
    /// The name of the input tensor in `--inputs`.
    #[arg(long, default_value = "inputs")]
    pub input_name: String,
    /// The attribution method: saliency, saliency-abs, input-x-gradient,
    /// integrated-gradients, smoothgrad (with `--smooth-kind` and `--inner`), smoothgrad-squared,
    /// vargrad, or a noise tunnel over another method, KIND:INNER (e.g.
    /// vargrad:integrated-gradients); aliases: ig, ixg, Captum's names.
    #[arg(long, value_parser = crate::compare::parse_method)]
    pub method: MethodSpec,
    /// What to explain: `predicted`, a class index, `file` (an integer tensor `targets` `[N]`
    /// in the inputs file), or several classes `2,7` (one pass; the outputs gain a leading
    /// target axis: `attributions` `[K, N, ...]`, `delta` `[K, N]`).
    #[arg(long, default_value = "predicted")]
    pub target: TargetArg,
    /// Integration steps (integrated gradients).
    #[arg(long, default_value_t = 50)]
    pub steps: usize,
    /// Quadrature rule (integrated gradients).
    #[arg(long, value_enum, default_value = "gauss-legendre")]
    pub quadrature: QuadratureName,
    /// Baseline (integrated gradients): `zeros`, a constant (`0.5`), `uniform:LOW,HIGH`
    /// (seeded by `--seed`), or `file` (a float tensor `baseline` in the inputs file, of the
    /// inputs' shape or `[1, ...]`).
    #[arg(long, default_value = "zeros")]
    pub baseline: String,
    /// Adaptive integrated gradients: double the steps of each sample on the nested trapezoid
    /// rule until |delta| ≤ tolerance · |F(x) − F(x′)| (`--steps` and `--quadrature` are then
    /// ignored).
    #[arg(long)]
    pub tolerance: Option<f64>,
    /// The most steps per sample in adaptive mode.
    #[arg(long, default_value_t = 1025)]
    pub max_steps: usize,
    /// The most rows per forward+backward pass (default: as many as fit the memory budget, at
    /// most 128 on CPU backends, 2048 on GPUs).
    #[arg(long)]
    pub max_rows: Option<usize>,
    /// The bytes of a pass's input rows (default: 16 MiB on CPU backends, 64 MiB on GPUs).
    #[arg(long)]
    pub memory_budget: Option<usize>,
    /// Noisy copies of each input (smoothgrad).
    #[arg(long, default_value_t = 50)]
    pub samples: usize,
    /// Noise level (smoothgrad): σ as a fraction of each input's range (`--noise-scale
    /// relative`), or σ itself (`--noise-scale absolute`).
    #[arg(long, default_value_t = 0.15)]
    pub noise: f64,
    /// How `--noise` sets σ (smoothgrad): relative to each input's max − min, or absolute.
    #[arg(long, value_enum, default_value = "relative")]
    pub noise_scale: NoiseScaleName,
    /// The statistic over the noisy copies (smoothgrad): mean (SmoothGrad, the default),
    /// squares (SmoothGrad²) or variance (VarGrad). With `--method smoothgrad-squared` or
    /// `vargrad` it must agree.
    #[arg(long, value_enum)]
    pub smooth_kind: Option<SmoothKindName>,
    /// The method that smoothgrad averages over the noise (default: saliency): saliency,
    /// saliency-abs, input-x-gradient or integrated-gradients. Ignored by the other methods.
    #[arg(long, value_parser = parse_inner)]
    pub inner: Option<BaseMethod>,
    /// Random seed (smoothgrad, and the uniform baseline).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// The backend: flex, ndarray, wgpu (any GPU), vulkan (wgpu pinned to Vulkan), or tch /
    /// tch-cuda (LibTorch on the CPU / first CUDA GPU; a build with the `tch` feature).
    #[arg(long, default_value = "flex")]
    pub device: Backend,
    /// The precision of the whole computation and of the output tensors: f32 or f64.
    #[arg(long, default_value = "f32")]
    pub dtype: Precision,
    /// The layer of a layer method (grad-cam, layer-gradient, layer-gradient-x-activation,
    /// layer-integrated-gradients): the PyTorch index of the module whose output is the layer
    /// (cnn, mlp: 0–3, e.g. `3` for the CNN's last conv block after its ReLU; tabular: 0–1;
    /// efficientnet-lite0: stem, blocks.0 … blocks.15, or features, the `[N, 1280, 7, 7]` map
    /// after the head's ReLU6).
    #[arg(long)]
    pub layer: Option<String>,
    /// The output safetensors file (`attributions`, `scores`, and `delta` for integrated
    /// gradients, `variance` for smoothgrad, `cam` for grad-cam).
    #[arg(long)]
    pub out: PathBuf,
}

/// What the command did, for its one-line summary.
pub struct Summary {
    /// Samples explained.
    pub samples: usize,
    /// The report of the method.
    pub report: Report,
}

/// Runs `ember attribute`.
pub fn run(args: &AttributeArgs) -> Result<Summary, String> {
    let device = args
        .device
        .device_with(args.dtype)
        .map_err(|e| e.to_string())?;

    let bytes = io::read_file(&args.inputs)?;
    let file = io::parse(&bytes, &args.inputs)?;
    let input = io::read_float(&file, &args.input_name, &args.inputs)?;
    let sample_shape = args.model.sample_shape();
    if input.shape.len() != sample_shape.len() + 1 || input.shape[1..] != *sample_shape {
        return Err(format!(
            "tensor `{}` in {} has shape {:?}, but the {} model takes [N, {}]",
            args.input_name,
            args.inputs.display(),
            input.shape,
            args.model,
            sample_shape
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let target = match &args.target {
        TargetArg::Predicted => Target::Predicted,
        TargetArg::Class(c) => Target::Class(*c),
        TargetArg::Classes(cs) => Target::Classes(cs.clone()),
        TargetArg::File => Target::PerSample(io::read_classes(&file, "targets", &args.inputs)?),
    };
    let baseline = parse_baseline(&args.baseline, args.seed, &file, &args.inputs)?;
    let spec = method_spec(args)?;
    let settings = MethodSettings::new()
        .with_steps(args.steps)
        .with_quadrature(args.quadrature.into())
        .with_baseline(baseline)
        .with_tolerance(args.tolerance)
        .with_max_steps(args.max_steps)
        .with_samples(args.samples)
        .with_noise(args.noise)
        .with_noise_scale(match args.noise_scale {
            NoiseScaleName::Relative => NoiseScale::Relative,
            NoiseScaleName::Absolute => NoiseScale::Absolute,
        })
        .with_seed(args.seed)
        .with_max_rows(args.max_rows)
        .with_memory_budget(args.memory_budget);
    let method = spec.build(&settings).map_err(|e| e.to_string())?;
    let samples = input.shape[0];
    let shape = input.shape.clone();
    let data = TensorData::new(input.values, shape.clone());

    let point = match (spec, &args.layer) {
        (MethodSpec::Layer(_), Some(name)) => {
            Some(args.model.split_point(name).map_err(|e| e.to_string())?)
        }
        (MethodSpec::Layer(layer), None) => {
            return Err(format!(
                "--method {} needs --layer: one of {} for the {} model",
                layer.name(),
                args.model.split_points().join(", "),
                args.model
            ));
        }
        (_, Some(_)) => {
            return Err(format!(
                "--layer is for the layer methods (grad-cam, layer-gradient, \
                 layer-gradient-x-activation, layer-integrated-gradients), not {spec}"
            ));
        }
        (_, None) => None,
    };
    let weights = args.weights.as_deref();
    let attributions = match args.model {
        ZooModel::Mlp => {
            let model = load_model(args.model, weights, &device, Mlp::new, shipped::mlp)?;
            let input = tensor::<2>(data, &device);
            match point {
                Some(p) => layer::explain(
                    &eval_split(
                        &model,
                        move |m: &Mlp, x| m.head(x, p),
                        move |m: &Mlp, h| m.tail(h, p),
                    ),
                    input,
                    target.clone(),
                    &method,
                ),
                None => explain(&|x| model.forward(x), input, target.clone(), &method),
            }
        }
        ZooModel::Tabular => {
            let model = load_model(args.model, weights, &device, Tabular::new, shipped::tabular)?;
            let input = tensor::<2>(data, &device);
            match point {
                Some(p) => layer::explain(
                    &eval_split(
                        &model,
                        move |m: &Tabular, x| m.head(x, p),
                        move |m: &Tabular, h| m.tail(h, p),
                    ),
                    input,
                    target.clone(),
                    &method,
                ),
                None => explain(&|x| model.forward(x), input, target.clone(), &method),
            }
        }
        ZooModel::EfficientNetLite0 => {
            let model = load_efficientnet(weights, &device)?;
            let input = tensor::<4>(data, &device);
            match point {
                Some(p) => layer::explain(
                    &eval_split(
                        &model,
                        move |m: &EfficientNetLite0, x| m.head(x, p),
                        move |m: &EfficientNetLite0, h| m.tail(h, p),
                    ),
                    input,
                    target.clone(),
                    &method,
                ),
                None => explain(&|x| model.forward(x), input, target.clone(), &method),
            }
        }
        ZooModel::Cnn => {
            let model = load_model(args.model, weights, &device, Cnn::new, shipped::cnn)?;
            let input = tensor::<4>(data, &device);
            match point {
                Some(p) => layer::explain(
                    &eval_split(
                        &model,
                        move |m: &Cnn, x| m.head(x, p),
                        move |m: &Cnn, h| m.tail(h, p),
                    ),
                    input,
                    target.clone(),
                    &method,
                ),
                None => explain(&|x| model.forward(x), input, target.clone(), &method),
            }
        }
    }
    .map_err(|e| e.to_string())?;

    let Explained {
        values,
        shape: map_shape,
        variance,
        cam,
        report,
    } = attributions;
    let k = report.targets_per_sample.max(1);
    // [N, ...] per map, with a leading target axis [K, N, ...] for several classes.
    let leading = |per_sample: &[usize]| {
        let mut out = if k > 1 {
            vec![k, samples]
        } else {
            vec![samples]
        };
        out.extend(per_sample);
        out
    };
    let (out_shape, delta_shape) = (leading(&map_shape), leading(&[]));
    let mut tensors = vec![("attributions", values, out_shape.clone())];
    if let Some(variance) = variance {
        tensors.push(("variance", variance, out_shape));
    }
    if let Some((cam, cam_shape)) = cam {
        tensors.push(("cam", cam, leading(&cam_shape)));
    }
    tensors.push(("scores", report.scores.clone(), delta_shape.clone()));
    if let Some(delta) = &report.delta {
        tensors.push(("delta", delta.clone(), delta_shape));
    }
    let out_dtype = match args.dtype {
        Precision::F32 => OutDtype::F32,
        Precision::F64 => OutDtype::F64,
    };
    let mut metadata = BTreeMap::new();
    metadata.insert("method".into(), report.method.clone());
    metadata.insert("model".into(), args.model.to_string());
    metadata.insert("device".into(), args.device.to_string());
    metadata.insert(
        "targets".into(),
        report
            .targets
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(","),
    );
    if let Some(steps) = &report.steps {
        metadata.insert("steps".into(), join(steps));
    }
    if let Some(converged) = &report.converged {
        metadata.insert("converged".into(), join(converged));
    }
    if let Some(change) = &report.attribution_change {
        let cells: Vec<String> = change
            .iter()
            .map(|c| c.map_or("none".into(), |c| format!("{c:e}")))
            .collect();
        metadata.insert("attribution_change".into(), join(&cells));
    }
    if let Some(noise) = &report.noise {
        metadata.insert("inner".into(), noise.inner.clone());
        metadata.insert("samples".into(), noise.samples.to_string());
        metadata.insert("sigma".into(), join(&noise.sigma));
        metadata.insert("seed".into(), noise.seed.to_string());
    }
    io::write_atomically(&args.out, &tensors, None, out_dtype, metadata)?;
    Ok(Summary { samples, report })
}

fn join<T: ToString>(items: &[T]) -> String {
    items.iter().map(T::to_string).collect::<Vec<_>>().join(",")
}

/// `--baseline`: `zeros`, a number, `uniform:LOW,HIGH`, or `file`.
fn parse_baseline(
    text: &str,
    seed: u64,
    file: &safetensors::SafeTensors<'_>,
    path: &std::path::Path,
) -> Result<Baseline, String> {
    let bad = || {
        format!(
            "`{text}` is not a baseline: expected `zeros`, a number, `uniform:LOW,HIGH` or `file`"
        )
    };
    let baseline = if text == "zeros" {
        Baseline::Zeros
    } else if text == "file" {
        let t = io::read_float(file, "baseline", path)?;
        Baseline::Values {
            shape: t.shape,
            values: t.values,
        }
    } else if let Some(bounds) = text.strip_prefix("uniform:") {
        let (low, high) = bounds.split_once(',').ok_or_else(bad)?;
        Baseline::Uniform {
            low: low.trim().parse().map_err(|_| bad())?,
            high: high.trim().parse().map_err(|_| bad())?,
            seed,
        }
    } else {
        Baseline::Constant(text.parse().map_err(|_| bad())?)
    };
    baseline.check().map_err(|e| e.to_string())?;
    Ok(baseline)
}

/// A method's values (and, for smoothgrad, the variance over the noise; for grad-cam, the map
/// at the layer's resolution) read to the host.
pub(crate) struct Explained {
    /// The maps, row-major.
    pub values: Vec<f64>,
    /// The shape of one sample's map.
    pub shape: Vec<usize>,
    /// SmoothGrad's variance over the noise (the maps' shape).
    pub variance: Option<Vec<f64>>,
    /// Grad-CAM's map at the layer's resolution, and its shape per sample.
    pub cam: Option<(Vec<f64>, Vec<usize>)>,
    /// The method's report.
    pub report: Report,
}

fn tensor<const D: usize>(data: TensorData, device: &Device) -> Tensor<D> {
    Tensor::from_data(data, device)
}

/// EfficientNet-Lite0 from the user's weights file, in evaluation mode.
pub(crate) fn load_efficientnet(
    weights: Option<&std::path::Path>,
    device: &Device,
) -> Result<EfficientNetLite0, String> {
    let path = weights.ok_or_else(|| {
        format!(
            "efficientnet-lite0 needs --weights FILE.pth: ember ships no ImageNet weights. Get {}",
            efficientnet::WEIGHTS_HINT
        )
    })?;
    efficientnet::load(path, device).map_err(|e| e.to_string())
}

/// A zoo model with `weights` (a PyTorch-named file) or, without, the shipped weights.
pub(crate) fn load_model<M>(
    model: ZooModel,
    weights: Option<&std::path::Path>,
    device: &Device,
    init: fn(&Device) -> M,
    shipped: fn(&Device) -> Result<M, ember_zoo::ZooError>,
) -> Result<M, String>
where
    M: ember::burn::module::Module,
{
    match weights {
        Some(path) => weights::load(init(device), path, model.name()),
        None => shipped(device),
    }
    .map_err(|e| e.to_string())
}

fn explain<const D: usize>(
    model: &dyn Fn(Tensor<D>) -> Tensor<2>,
    input: Tensor<D>,
    target: Target,
    method: &AnyMethod,
) -> Result<Explained, Error> {
    let shape = input.dims()[1..].to_vec();
    let (out, variance) = method.attribute_with_variance(model, input, target)?;
    Ok(Explained {
        values: ember::validate::read_f64(out.values)?,
        shape,
        variance: variance.map(ember::validate::read_f64).transpose()?,
        cam: None,
        report: out.report,
    })
}

/// `--method`, with `--smooth-kind` and `--inner` for a noise tunnel.
pub(crate) fn method_spec(args: &AttributeArgs) -> Result<MethodSpec, String> {
    resolve_method(args.method, args.smooth_kind, args.inner)
}
