//! `ember attribute`: attributions of a zoo model for inputs read from a safetensors file.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;
use ember::backend::{Backend, Precision};
use ember::burn::tensor::{Device, Tensor, TensorData};
use ember::prelude::*;
use ember::{AnyMethod, BaseMethod, LayerMethod, MethodSpec};
use ember_zoo::{ZooModel, ZooNet, ZooVisitor};

use crate::explain::{Explained, explain, explain_layer};
use crate::io::{self, OutDtype};
use crate::names::{DEFAULT_SAMPLES, DEFAULT_STEPS, MethodArgs, SmoothKindName, TargetArg};
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
    /// The attribution method (`ember methods` lists them): a gradient method, a noise tunnel
    /// (smoothgrad with `--smooth-kind` and `--inner`, or KIND:INNER such as
    /// vargrad:integrated-gradients), a layer method with `--layer`, or a perturbation method
    /// (occlusion, feature-ablation, shapley-values, shapley-value-sampling, kernel-shap, lime,
    /// feature-permutation); aliases: ig, ixg, Captum's names.
    #[arg(long, value_parser = crate::names::parse_method, help = crate::names::method_help())]
    pub method: MethodSpec,
    /// What to explain: `predicted`, a class index, `file` (an integer tensor `targets` `[N]`
    /// in the inputs file), or several classes `2,7` (one pass; the outputs gain a leading
    /// target axis: `attributions` `[K, N, ...]`, `delta` `[K, N]`).
    #[arg(long, default_value = "predicted")]
    pub target: TargetArg,
    /// The methods' settings.
    #[command(flatten)]
    pub settings: MethodArgs,
    /// The statistic over the noisy copies (smoothgrad): mean (SmoothGrad, the default),
    /// squares (SmoothGrad²) or variance (VarGrad). With `--method smoothgrad-squared` or
    /// `vargrad` it must agree.
    #[arg(long, value_enum)]
    pub smooth_kind: Option<SmoothKindName>,
    /// The method that smoothgrad averages over the noise (default: saliency): saliency,
    /// saliency-abs, input-x-gradient or integrated-gradients. Ignored by the other methods.
    #[arg(long, value_parser = parse_inner)]
    pub inner: Option<BaseMethod>,
    /// Random seed (smoothgrad, the sampled perturbation methods, and the uniform baseline).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// The backend: flex, ndarray, wgpu (any GPU), vulkan or gl (wgpu pinned to one API), or tch /
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
    /// gradients and the perturbation methods but occlusion and feature-permutation, `variance` for smoothgrad, `cam` for grad-cam,
    /// `group_values` `[N, M]` (`[K, N, M]` for several targets) for the perturbation methods).
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
    let baseline = parse_baseline(&args.settings.baseline, args.seed, &file, &args.inputs)?;
    let spec = method_spec(args)?;
    let settings = args
        .settings
        .settings([DEFAULT_STEPS, DEFAULT_SAMPLES], baseline, args.seed)?;
    let settings = crate::names::with_default_baselines(settings, &[spec], args.model)?;
    let method = spec.build(&settings).map_err(|e| e.to_string())?;
    let samples = input.shape[0];
    let data = TensorData::new(input.values, input.shape.clone());

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
                "--layer is for the layer methods ({}), not {spec}",
                LayerMethod::ALL.map(LayerMethod::name).join(", ")
            ));
        }
        (_, None) => None,
    };
    let attribute = Attribute {
        data,
        device: &device,
        target,
        method: &method,
        point,
    };
    let attributions = args
        .model
        .visit(args.weights.as_deref(), &device, attribute)
        .map_err(|e| e.to_string())?
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
    if let Some(delta) = &report.delta() {
        tensors.push(("delta", delta.to_vec(), delta_shape));
    }
    // The perturbation methods' value per group (per window for occlusion): [N, M].
    if let Some((values, groups)) = report.group_values() {
        tensors.push(("group_values", values.to_vec(), leading(&[groups])));
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
    if let Some(steps) = &report.steps() {
        metadata.insert("steps".into(), join(steps));
    }
    if let Some(converged) = &report.converged() {
        metadata.insert("converged".into(), join(converged));
    }
    if let Some(change) = &report.attribution_change() {
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
    if let Some(perturbation) = &report.perturbation {
        metadata.insert("groups".into(), perturbation.groups.to_string());
        if let (Some(seed), Some(samples)) = (perturbation.seed, perturbation.samples) {
            metadata.insert("seed".into(), seed.to_string());
            metadata.insert("samples".into(), samples.to_string());
        }
        if let Some(enumerated) = perturbation.enumerated {
            metadata.insert("enumerated".into(), enumerated.to_string());
        }
    }
    io::write_atomically(&args.out, &tensors, None, out_dtype, metadata)?;
    Ok(Summary { samples, report })
}

fn join<T: ToString>(items: &[T]) -> String {
    items.iter().map(T::to_string).collect::<Vec<_>>().join(",")
}

/// `--baseline`: `file` (a float tensor `baseline` in the inputs file), or what
/// [`crate::names::parse_baseline`] reads.
fn parse_baseline(
    text: &str,
    seed: u64,
    file: &safetensors::SafeTensors<'_>,
    path: &std::path::Path,
) -> Result<Baseline, String> {
    if text != "file" {
        return crate::names::parse_baseline(text, seed);
    }
    let t = io::read_float(file, "baseline", path)?;
    let baseline = Baseline::Values {
        shape: t.shape,
        values: t.values,
    };
    baseline.check().map_err(|e| e.to_string())?;
    Ok(baseline)
}

/// `ember attribute`'s work on the zoo model, whatever its type.
struct Attribute<'a> {
    data: TensorData,
    device: &'a Device,
    target: Target,
    method: &'a AnyMethod,
    point: Option<usize>,
}

impl ZooVisitor for Attribute<'_> {
    type Output = Result<Explained, Error>;

    fn visit<const D: usize, N: ZooNet<D>>(self, model: N) -> Self::Output {
        let input = Tensor::<D>::from_data(self.data, self.device);
        match (self.point, self.method) {
            (Some(point), AnyMethod::Layer(layer)) => {
                explain_layer(&ember_zoo::split(&model, point), input, self.target, layer)
            }
            _ => explain(&ember_zoo::whole(&model), input, self.target, self.method),
        }
    }
}

/// `--method`, with `--smooth-kind` and `--inner` for a noise tunnel.
pub(crate) fn method_spec(args: &AttributeArgs) -> Result<MethodSpec, String> {
    resolve_method(args.method, args.smooth_kind, args.inner)
}
