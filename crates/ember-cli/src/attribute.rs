//! `ember attribute`: attributions of a zoo model for inputs read from a safetensors file.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::str::FromStr;

use clap::{Args, ValueEnum};
use ember::backend::{Backend, Precision};
use ember::burn::tensor::{Device, Tensor, TensorData};
use ember::prelude::*;
use ember_zoo::{ZooModel, shipped, weights};

use crate::io::{self, OutDtype};

/// Explains a zoo model's outputs for inputs read from a safetensors file.
#[derive(Args, Debug)]
pub struct AttributeArgs {
    /// The model: mlp, cnn or tabular.
    #[arg(long)]
    pub model: ZooModel,
    /// PyTorch-named weights (.safetensors or .pt state dict); default: the shipped weights.
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// A safetensors file holding the inputs, already preprocessed, of the model's input shape.
    #[arg(long)]
    pub inputs: PathBuf,
    /// The name of the input tensor in `--inputs`.
    #[arg(long, default_value = "inputs")]
    pub input_name: String,
    /// The attribution method.
    #[arg(long, value_enum)]
    pub method: MethodName,
    /// What to explain: `predicted`, a class index, or `file` (an integer tensor `targets` `[N]`
    /// in the inputs file).
    #[arg(long, default_value = "predicted")]
    pub target: TargetArg,
    /// Integration steps (integrated gradients).
    #[arg(long, default_value_t = 50)]
    pub steps: usize,
    /// Quadrature rule (integrated gradients).
    #[arg(long, value_enum, default_value = "gauss-legendre")]
    pub quadrature: QuadratureName,
    /// Baseline (integrated gradients): zeros.
    #[arg(long, default_value = "zeros")]
    pub baseline: String,
    /// Noisy samples (smoothgrad).
    #[arg(long, default_value_t = 50)]
    pub samples: usize,
    /// Noise level (smoothgrad).
    #[arg(long, default_value_t = 0.15)]
    pub noise: f64,
    /// Random seed (smoothgrad).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// The backend: flex, ndarray, wgpu (any GPU), or vulkan (wgpu pinned to Vulkan).
    #[arg(long, default_value = "flex")]
    pub device: Backend,
    /// The precision of the whole computation and of the output tensors: f32 or f64.
    #[arg(long, default_value = "f32")]
    pub dtype: Precision,
    /// The output safetensors file (`attributions`, and `delta` for integrated gradients).
    #[arg(long)]
    pub out: PathBuf,
}

/// The methods `--method` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MethodName {
    /// The signed gradient.
    Saliency,
    /// The absolute gradient (Captum's `Saliency` default).
    SaliencyAbs,
    /// Gradient × input.
    InputXGradient,
    /// Integrated gradients (not available yet).
    IntegratedGradients,
    /// SmoothGrad (not available yet).
    #[value(name = "smoothgrad")]
    SmoothGrad,
}

/// The quadrature rules `--quadrature` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum QuadratureName {
    /// Left Riemann sum.
    RiemannLeft,
    /// Right Riemann sum.
    RiemannRight,
    /// Midpoint rule.
    RiemannMiddle,
    /// Trapezoid rule.
    RiemannTrapezoid,
    /// Gauss–Legendre.
    GaussLegendre,
}

/// `--target`: `predicted`, a class, or `file`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetArg {
    /// The model's prediction.
    Predicted,
    /// One class for every sample.
    Class(usize),
    /// `targets` `[N]` from the inputs file.
    File,
}

impl FromStr for TargetArg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "predicted" => Ok(TargetArg::Predicted),
            "file" => Ok(TargetArg::File),
            _ => s.parse().map(TargetArg::Class).map_err(|_| {
                format!("`{s}` is not a target: expected `predicted`, a class index, or `file`")
            }),
        }
    }
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
    match args.method {
        MethodName::IntegratedGradients | MethodName::SmoothGrad => {
            return Err(format!(
                "method `{}` is not available yet in this version of ember; available: \
                 saliency, saliency-abs, input-x-gradient",
                args.method.to_possible_value().expect("named").get_name()
            ));
        }
        _ => {}
    }
    if args.baseline != "zeros" {
        return Err(format!(
            "baseline `{}` is not supported: expected `zeros`",
            args.baseline
        ));
    }
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
    let target = match args.target {
        TargetArg::Predicted => Target::Predicted,
        TargetArg::Class(c) => Target::Class(c),
        TargetArg::File => Target::PerSample(io::read_classes(&file, "targets", &args.inputs)?),
    };
    let samples = input.shape[0];
    let shape = input.shape.clone();
    let data = TensorData::new(input.values, shape.clone());

    let attributions = match args.model {
        ZooModel::Mlp => {
            let model = load(args, &device, ember_zoo::Mlp::new, shipped::mlp)?;
            explain(
                &|x: Tensor<2>| model.forward(x),
                tensor(data, &device),
                target,
                args.method,
            )
        }
        ZooModel::Tabular => {
            let model = load(args, &device, ember_zoo::Tabular::new, shipped::tabular)?;
            explain(
                &|x: Tensor<2>| model.forward(x),
                tensor(data, &device),
                target,
                args.method,
            )
        }
        ZooModel::Cnn => {
            let model = load(args, &device, ember_zoo::Cnn::new, shipped::cnn)?;
            explain(
                &|x: Tensor<4>| model.forward(x),
                tensor(data, &device),
                target,
                args.method,
            )
        }
    }
    .map_err(|e| e.to_string())?;

    let (values, report) = attributions;
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
    io::write_atomically(
        &args.out,
        &[("attributions", values, shape)],
        None,
        out_dtype,
        metadata,
    )?;
    Ok(Summary { samples, report })
}

fn tensor<const D: usize>(data: TensorData, device: &Device) -> Tensor<D> {
    Tensor::from_data(data, device)
}

fn load<M>(
    args: &AttributeArgs,
    device: &Device,
    init: fn(&Device) -> M,
    shipped: fn(&Device) -> Result<M, ember_zoo::ZooError>,
) -> Result<M, String>
where
    M: ember::burn::module::Module,
{
    match &args.weights {
        Some(path) => weights::load(init(device), path, args.model.name()),
        None => shipped(device),
    }
    .map_err(|e| e.to_string())
}

fn explain<const D: usize>(
    model: &dyn Fn(Tensor<D>) -> Tensor<2>,
    input: Tensor<D>,
    target: Target,
    method: MethodName,
) -> Result<(Vec<f64>, Report), Error> {
    let result = match method {
        MethodName::Saliency => SaliencyConfig::new()
            .init()?
            .attribute(model, input, target),
        MethodName::SaliencyAbs => SaliencyConfig::new()
            .with_abs(true)
            .init()?
            .attribute(model, input, target),
        MethodName::InputXGradient => InputXGradientConfig::new()
            .init()?
            .attribute(model, input, target),
        MethodName::IntegratedGradients | MethodName::SmoothGrad => {
            unreachable!("rejected before any work")
        }
    }?;
    let values = ember::validate::read_f64(result.values)?;
    Ok((values, result.report))
}
