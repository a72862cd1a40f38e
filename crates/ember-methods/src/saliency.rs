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

use crate::registry::{Base, Entry, Family, MethodInfo, one_row};
use burn::config::Config;
use burn::tensor::Tensor;
use ember_core::KernelSettings;
use ember_core::{Attribution, Attributions, GradientKernel, Model, Report, Result, Target};

/// Saliency's entry in the registry: the signed gradient.
pub static SALIENCY: Entry<Base> = Entry {
    info: MethodInfo {
        name: "saliency",
        aliases: &[],
        summary: "the signed gradient ∂F/∂x",
        captum: Some("Saliency(abs=False)"),
        signed: true,
        family: Family::Gradient,
        cost: "1",
        rows_per_sample: one_row,
    },
    build: |s| {
        Ok(Base::Saliency(
            SaliencyConfig::new().with_kernel(s.kernel.clone()).init()?,
        ))
    },
};

/// The absolute gradient's entry in the registry (Captum's `Saliency` default).
pub static SALIENCY_ABS: Entry<Base> = Entry {
    info: MethodInfo {
        name: "saliency-abs",
        aliases: &["abs-saliency"],
        summary: "the absolute gradient, abs(∂F/∂x) (Captum's `Saliency` default)",
        captum: Some("Saliency"),
        signed: false,
        family: Family::Gradient,
        cost: "1",
        rows_per_sample: one_row,
    },
    build: |s| {
        Ok(Base::SaliencyAbs(
            SaliencyConfig::new()
                .with_abs(true)
                .with_kernel(s.kernel.clone())
                .init()?,
        ))
    },
};

/// Hyper-parameters of [`Saliency`].
///
/// ember returns the raw, signed gradient by default. Captum's `Saliency` takes the absolute
/// value by default (`abs=True`); set `abs` to `true` for Captum's maps.
#[derive(Config, Debug)]
pub struct SaliencyConfig {
    /// Return `|∂F/∂x|` instead of the signed gradient.
    #[config(default = false)]
    pub abs: bool,
    /// How the kernel runs: rows per pass, memory budget, the model check.
    #[config(default = "KernelSettings::new()")]
    pub kernel: KernelSettings,
}

ember_core::kernel_shorthands!(SaliencyConfig);

impl SaliencyConfig {
    /// Checks the configuration and builds the method.
    ///
    /// # Errors
    ///
    /// [`ember_core::Error::InvalidConfig`] if `max_rows` or `memory_budget` is `Some(0)`.
    pub fn init(&self) -> Result<Saliency> {
        Ok(Saliency {
            abs: self.abs,
            kernel: self.kernel.kernel()?,
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
            (out.gradients.abs(), SALIENCY_ABS.info.name)
        } else {
            (out.gradients, SALIENCY.info.name)
        };
        Ok(Attributions {
            values,
            report: Report::new(method, out.targets, out.scores, out.stats)
                .with_targets_per_sample(per_sample),
        })
    }
}
