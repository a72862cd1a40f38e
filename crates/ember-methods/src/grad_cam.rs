//! Grad-CAM: a class activation map from a convolutional layer, its channels weighted by the
//! mean gradient of the target output.
//!
//! Selvaraju, Cogswell, Das, Vedantam, Parikh and Batra, *Grad-CAM: Visual Explanations from
//! Deep Networks via Gradient-based Localization*, ICCV 2017. <https://arxiv.org/abs/1610.02391>
#![cfg_attr(
    doc,
    doc = r#"$$L^c = \mathrm{ReLU}\Big(\sum_k \alpha^c_k A^k\Big),\qquad \alpha^c_k = \frac{1}{hw}\sum_{i,j} \frac{\partial F_c}{\partial A^k_{ij}}$$"#
)]
//!
//! Plain text: `L = relu(sum_k alpha_k A_k)`, `alpha_k = mean_ij dF_c/dA_k[i, j]`, for a layer
//! `A = head(x)` of shape `[N, C, h, w]`. The map has the layer's resolution `[N, 1, h, w]`
//! (Captum's `LayerGradCam` shape); [`upsample`] resizes it to the input's, bilinearly with
//! half-pixel centres (PyTorch's `F.interpolate(mode="bilinear", align_corners=False)`, which
//! Captum's `LayerAttribution.interpolate` uses).

use burn::config::Config;
use burn::tensor::activation::relu;
use burn::tensor::{Tensor, TensorData};
use ember_core::KernelSettings;
use ember_core::{
    Attributions, Error, GradientKernel, LayerAttribution, Model, Result, SplitModel, Target,
};

use crate::LayerGradient;
use crate::registry::{AnyLayerMethod, Entry, Family, MethodInfo, one_row};

/// Grad-CAM's entry in the registry.
pub static INFO: Entry<AnyLayerMethod> = Entry {
    info: MethodInfo {
        name: "grad-cam",
        aliases: &["gradcam", "layer-grad-cam", "layergradcam"],
        summary: "Grad-CAM: ReLU of the channels' mean gradients times the activations of a conv \
                  layer (upsampled to the input in a comparison)",
        captum: Some("LayerGradCam"),
        signed: false,
        family: Family::Layer,
        cost: "1",
        rows_per_sample: one_row,
    },
    build: |s| {
        Ok(AnyLayerMethod::GradCam(
            GradCamConfig::new().with_kernel(s.kernel.clone()).init()?,
        ))
    },
};

/// Hyper-parameters of [`GradCam`].
#[derive(Config, Debug)]
pub struct GradCamConfig {
    /// Apply the ReLU (the paper's map: only what raises the class). `false` keeps the sign.
    #[config(default = true)]
    pub relu: bool,
    /// How the kernel runs: rows per pass, memory budget, the model check.
    #[config(default = "KernelSettings::new()")]
    pub kernel: KernelSettings,
}

ember_core::kernel_shorthands!(GradCamConfig);

impl GradCamConfig {
    /// Checks the configuration and builds the method.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] if `max_rows` or `memory_budget` is `Some(0)`.
    pub fn init(&self) -> Result<GradCam> {
        Ok(GradCam {
            relu: self.relu,
            kernel: self.kernel.kernel()?,
        })
    }
}

/// Grad-CAM (Selvaraju et al. 2017) of a `[N, C, h, w]` layer. Build it with
/// [`GradCamConfig`]; its maps are `[N, 1, h, w]` (`[k · N, 1, h, w]` for `k` classes per
/// sample); [`upsample`] brings them to the input's size.
///
/// # Example
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// use ember_core::{LayerAttribution, Split};
/// use ember_methods::GradCamConfig;
///
/// let device = Device::flex();
/// // The layer is the input itself, [1, 2, 1, 2]; the score is channel 0's sum minus channel 1's.
/// let split = Split::new(
///     |x: Tensor<4>| x,
///     |a: Tensor<4>| {
///         let [n, _, _, _] = a.dims();
///         let w = Tensor::<4>::from_floats([[[[1.0, 1.0]], [[-1.0, -1.0]]]], &a.device());
///         (a * w).reshape([n, 4]).sum_dim(1)
///     },
/// );
/// let x = Tensor::<4>::from_floats([[[[1.0, 3.0]], [[2.0, 0.5]]]], &device);
/// let cam = GradCamConfig::new().init()?.attribute_layer(&split, x, 0)?;
/// // α = (1, −1): L = relu(A⁰ − A¹) = relu(−1, 2.5).
/// assert_eq!(cam.values.to_data().to_vec::<f32>().unwrap(), vec![0.0, 2.5]);
/// # Ok::<(), ember_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct GradCam {
    relu: bool,
    kernel: GradientKernel,
}

impl<const D: usize, const H: usize> LayerAttribution<D, H> for GradCam {
    fn attribute_layer<S: SplitModel<D, H> + ?Sized>(
        &self,
        model: &S,
        input: Tensor<D>,
        target: impl Into<Target>,
    ) -> Result<Attributions<H>> {
        if H < 3 {
            return Err(Error::InvalidConfig {
                name: "layer",
                value: format!("a rank-{H} layer"),
                expected: "a layer [N, C, ...positions] (rank 3 or more) for Grad-CAM",
            });
        }
        let target = target.into();
        let per_sample = target.per_sample();
        let (gradients, hidden, report) =
            LayerGradient::gradients(&self.kernel, model, input, target, INFO.info.name)?;
        let dims = gradients.dims();
        let (rows, channels) = (dims[0], dims[1]);
        let positions: usize = dims[2..].iter().product();
        // α: the mean gradient of each channel over the layer's positions, [rows, C, 1, …].
        let mut alpha_shape = [1; H];
        alpha_shape[0] = rows;
        alpha_shape[1] = channels;
        let alpha = gradients
            .reshape([rows, channels, positions])
            .mean_dim(2)
            .reshape(alpha_shape);
        let cam = (hidden.repeat_dim(0, per_sample) * alpha).sum_dim(1);
        let values = if self.relu { relu(cam) } else { cam };
        Ok(Attributions { values, report })
    }
}

impl GradCam {
    /// Whether the maps keep only what raises the class (the ReLU).
    pub fn relu(&self) -> bool {
        self.relu
    }

    /// Grad-CAM as an input method, for a model that says where its image layer is
    /// ([`Model::layer`], e.g. [`ember_core::WithLayer`]): the map upsampled to the input's
    /// `H × W` ([`upsample`]) and repeated over its channels, `[N, C, H, W]` (`[k · N, …]` for
    /// `k` classes per sample). What `ember::compare` scores for Grad-CAM.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] if the input is not `[N, C, H, W]` or the model has no layer;
    /// otherwise as [`LayerAttribution::attribute_layer`].
    pub fn attribute_input<const D: usize, M: Model<D> + ?Sized>(
        &self,
        model: &M,
        input: Tensor<D>,
        target: impl Into<Target>,
    ) -> Result<Attributions<D>> {
        let dims = input.dims();
        if D != 4 {
            return Err(Error::InvalidConfig {
                name: "input",
                value: format!("{dims:?}"),
                expected: "images [N, C, H, W] for Grad-CAM as an input method",
            });
        }
        let layer = model.layer().ok_or_else(|| Error::InvalidConfig {
            name: "model",
            value: "a model that names no layer".into(),
            expected: "a model split at an image layer (ember::WithLayer) for Grad-CAM",
        })?;
        let cam = self.attribute_layer(&*layer, input, target)?;
        let up = upsample(cam.values, [dims[2], dims[3]])?;
        let mut shape = dims;
        shape[0] = up.dims()[0];
        Ok(Attributions {
            values: up.repeat_dim(1, dims[1]).reshape(shape),
            report: cam.report,
        })
    }
}

/// A map `[N, c, h, w]` resized to `[N, c, height, width]` by bilinear interpolation with
/// half-pixel centres (PyTorch's `align_corners=False`, as Captum's
/// `LayerAttribution.interpolate`): edges are clamped, not padded.
///
/// Computed as two small interpolation matrices built on the host and applied with matmuls
/// (`A_h · M · A_wᵀ` per map), the same answer on every backend: Burn's `interpolate` read a
/// zero row above the image on wgpu's OpenGL backend.
///
/// # Errors
///
/// [`Error::InvalidConfig`] for a zero height or width.
pub fn upsample(map: Tensor<4>, [height, width]: [usize; 2]) -> Result<Tensor<4>> {
    if height == 0 || width == 0 {
        return Err(Error::InvalidConfig {
            name: "size",
            value: format!("{height}×{width}"),
            expected: "a height and a width of at least 1",
        });
    }
    let [n, c, h, w] = map.dims();
    let device = map.device();
    // `[in, out]`: column `o` holds output `o`'s weights over the input positions.
    let weights = |input: usize, output: usize| -> Tensor<2> {
        Tensor::from_data(
            TensorData::new(interpolation(input, output), [input, output]),
            &device,
        )
    };
    let rows = n * c;
    // Along the width: [rows · h, w] · [w, width].
    let x: Tensor<2> = map.reshape([rows * h, w]).matmul(weights(w, width));
    // Along the height: [rows · width, h] · [h, height].
    let x: Tensor<3> = x.reshape([rows, h, width]).swap_dims(1, 2);
    let x: Tensor<2> = x.reshape([rows * width, h]).matmul(weights(h, height));
    let x: Tensor<3> = x.reshape([rows, width, height]).swap_dims(1, 2);
    Ok(x.reshape([n, c, height, width]))
}

/// The `[input, output]` matrix of 1-D linear interpolation with half-pixel centres, row-major:
/// output `o` samples the input at `(o + ½) · input / output − ½`, clamped to `[0, input − 1]`.
fn interpolation(input: usize, output: usize) -> Vec<f64> {
    let mut m = vec![0.0; input * output];
    let scale = input as f64 / output as f64;
    for o in 0..output {
        let src = ((o as f64 + 0.5) * scale - 0.5).max(0.0);
        let i0 = (src.floor() as usize).min(input - 1);
        let i1 = (i0 + 1).min(input - 1);
        let t = src - i0 as f64;
        m[i0 * output + o] += 1.0 - t;
        m[i1 * output + o] += t;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::interpolation;

    #[test]
    fn interpolation_weights_are_pytorchs_half_pixel_rule_with_clamped_edges() {
        // 2 → 4: outputs sample at −0.25 (clamped to 0), 0.25, 0.75, 1.25 (1 at the edge).
        let m = interpolation(2, 4);
        let column = |o: usize| [m[o], m[4 + o]];
        assert_eq!(column(0), [1.0, 0.0]);
        assert_eq!(column(1), [0.75, 0.25]);
        assert_eq!(column(2), [0.25, 0.75]);
        assert_eq!(column(3), [0.0, 1.0]);
        // Any size: every output's weights sum to 1 and are non-negative.
        for (input, output) in [(7, 224), (3, 5), (5, 3), (1, 4), (4, 4)] {
            let m = interpolation(input, output);
            for o in 0..output {
                let sum: f64 = (0..input).map(|i| m[i * output + o]).sum();
                assert!((sum - 1.0).abs() < 1e-12, "{input} → {output}: {sum}");
                assert!((0..input).all(|i| m[i * output + o] >= 0.0));
            }
        }
        // The same size is the identity.
        let m = interpolation(4, 4);
        for i in 0..4 {
            for o in 0..4 {
                assert_eq!(m[i * 4 + o], f64::from(u8::from(i == o)));
            }
        }
    }
}
