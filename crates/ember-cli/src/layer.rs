//! `ember attribute` with a layer method (`--method grad-cam|layer-gradient|
//! layer-gradient-x-activation|layer-integrated-gradients --layer NAME`): the zoo model split
//! at the named layer, and the maps it writes.

use ember::burn::tensor::Tensor;
use ember::prelude::*;
use ember::validate::read_f64;
use ember::{AnyLayerMethod, AnyMethod, upsample};

use crate::attribute::Explained;

/// The layer method's maps of `split` at `input`, on the host: for Grad-CAM the map upsampled
/// to the input's `H × W` (`[H_in, W_in]` per sample) with the layer-resolution map as `cam`,
/// for the others the layer's shape.
pub fn explain<const D: usize, const H: usize>(
    split: &impl SplitModel<D, H>,
    input: Tensor<D>,
    target: Target,
    method: &AnyMethod,
) -> Result<Explained, Error> {
    let AnyMethod::Layer(layer) = method else {
        unreachable!("only layer methods are explained at a layer")
    };
    let input_dims = input.dims();
    let out = layer.attribute_layer(split, input, target)?;
    let dims = out.values.dims();
    if let AnyLayerMethod::GradCam(_) = layer {
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
