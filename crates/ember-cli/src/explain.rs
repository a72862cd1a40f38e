//! A method's maps read to the host, for `ember attribute`: an input method on the model
//! whole ([`explain`]), or a layer method on the model split at a layer ([`explain_layer`]).

use ember::burn::tensor::Tensor;
use ember::prelude::*;
use ember::validate::read_f64;
use ember::{AnyLayerMethod, AnyMethod, upsample};

/// A method's values (and, for smoothgrad, the variance over the noise; for grad-cam, the map
/// at the layer's resolution) read to the host.
pub struct Explained {
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

/// An input method's maps of `model` at `input`, on the host.
pub fn explain<const D: usize>(
    model: &impl Model<D>,
    input: Tensor<D>,
    target: Target,
    method: &AnyMethod,
) -> Result<Explained, Error> {
    let shape = input.dims()[1..].to_vec();
    let (out, variance) = method.attribute_with_variance(model, input, target)?;
    Ok(Explained {
        values: read_f64(out.values)?,
        shape,
        variance: variance.map(read_f64).transpose()?,
        cam: None,
        report: out.report,
    })
}

/// The layer method's maps of `split` at `input`, on the host: for Grad-CAM the map upsampled
/// to the input's `H × W` (`[H_in, W_in]` per sample) with the layer-resolution map as `cam`,
/// for the others the layer's shape.
pub fn explain_layer<const D: usize, const H: usize>(
    split: &impl SplitModel<D, H>,
    input: Tensor<D>,
    target: Target,
    method: &AnyLayerMethod,
) -> Result<Explained, Error> {
    let input_dims = input.dims();
    let out = method.attribute_layer(split, input, target)?;
    let dims = out.values.dims();
    if let AnyLayerMethod::GradCam(_) = method {
        if H != 4 || D != 4 {
            return Err(Error::InvalidConfig {
                name: "layer",
                value: format!("a rank-{H} layer of a rank-{D} input"),
                expected: "an image layer [N, C, h, w] of an image input for grad-cam (the cnn model)",
            });
        }
        let cam: Tensor<4> = out.values.reshape([dims[0], 1, dims[2], dims[3]]);
        let size = [input_dims[2], input_dims[3]];
        let upsampled = upsample(cam.clone(), size)?;
        return Ok(Explained {
            values: read_f64(upsampled)?,
            shape: size.to_vec(),
            variance: None,
            cam: Some((read_f64(cam)?, vec![dims[2], dims[3]])),
            report: out.report,
        });
    }
    Ok(Explained {
        values: read_f64(out.values)?,
        shape: dims[1..].to_vec(),
        variance: None,
        cam: None,
        report: out.report,
    })
}
