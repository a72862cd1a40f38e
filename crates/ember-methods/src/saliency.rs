//! Saliency: the vanilla gradient of the target output with respect to the input.
//!
//! Simonyan, Vedaldi and Zisserman, *Deep Inside Convolutional Networks: Visualising Image
//! Classification Models and Saliency Maps*, 2014. <https://arxiv.org/abs/1312.6034>
#![cfg_attr(
    doc,
    doc = r#"$$\phi_i(x) = \frac{\partial F_c(x)}{\partial x_i} \quad\text{or, with `abs`,}\quad \left|\frac{\partial F_c(x)}{\partial x_i}\right|$$"#
)]
//!
//! Plain text: `phi_i(x) = dF_c(x)/dx_i`, or `|dF_c(x)/dx_i|` with `abs`.

use burn::config::Config;
use burn::tensor::Tensor;
use ember_core::{Attribution, Attributions, GradientKernel, Model, Report, Result, Target};

/// Hyper-parameters of [`Saliency`].
///
/// ember returns the raw, signed gradient by default. Captum's `Saliency` takes the absolute
/// value by default (`abs=True`); set `abs` to `true` for Captum's maps.
#[derive(Config, Debug)]
pub struct SaliencyConfig {
    /// Return `|∂F/∂x|` instead of the signed gradient.
    #[config(default = false)]
    pub abs: bool,
    /// The most rows per forward+backward pass; `None` uses the device's default
    /// ([`ember_core::kernel::default_rows`]).
    #[config(default = "None")]
    pub max_rows: Option<usize>,
    /// A memory budget in bytes for the input rows of one pass (the rows per pass follow
    /// from a row's size); `None` uses the device's default. With `max_rows`, the smaller wins.
    #[config(default = "None")]
    pub memory_budget: Option<usize>,
    /// Check once per call, before the first pass, that the model's rows are independent and
    /// deterministic (a Burn module in training mode is not); turn off only for a model known
    /// to be in evaluation mode.
    #[config(default = true)]
    pub check_model: bool,
}

impl SaliencyConfig {
    /// Checks the configuration and builds the method.
    ///
    /// # Errors
    ///
    /// [`ember_core::Error::InvalidConfig`] if `max_rows` or `memory_budget` is `Some(0)`.
    pub fn init(&self) -> Result<Saliency> {
        Ok(Saliency {
            abs: self.abs,
            kernel: GradientKernel::with_settings(
                self.max_rows,
                self.memory_budget,
                self.check_model,
            )?,
        })
    }
}

/// The vanilla gradient, `∂F_c/∂x` (Simonyan et al. 2014). Build it with [`SaliencyConfig`].
///
/// # Example
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// use ember_methods::SaliencyConfig;
/// use ember_core::{Attribution, Target};
///
/// let device = Device::flex();
/// let w = Tensor::<2>::from_floats([[1.0], [-2.0]], &device);
/// let model = move |x: Tensor<2>| x.matmul(w.clone());
/// let x = Tensor::<2>::from_floats([[3.0, 4.0]], &device);
/// let saliency = SaliencyConfig::new().init()?;
/// let map = saliency.attribute(&model, x, Target::Class(0))?;
/// assert_eq!(map.values.to_data().try_to_vec::<f32>().unwrap(), vec![1.0, -2.0]);
/// # Ok::<(), ember_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Saliency {
    abs: bool,
    kernel: GradientKernel,
}

impl Saliency {
    /// Whether the method returns absolute gradients.
    pub fn abs(&self) -> bool {
        self.abs
    }
}

impl<const D: usize> Attribution<D> for Saliency {
    fn attribute<M: Model<D> + ?Sized>(
        &self,
        model: &M,
        input: Tensor<D>,
        target: impl Into<Target>,
    ) -> Result<Attributions<D>> {
        let batch = self.kernel.check_call(model, &input)?;
        let target = target.into();
        let per_sample = target.per_sample();
        let targets = target.rows(batch)?;
        let out = self.kernel.gradients(model, input, &targets)?;
        let (values, method) = if self.abs {
            (out.gradients.abs(), "saliency-abs")
        } else {
            (out.gradients, "saliency")
        };
        Ok(Attributions {
            values,
            report: Report::new(method, out.targets, out.scores, out.stats)
                .with_targets_per_sample(per_sample),
        })
    }
}
