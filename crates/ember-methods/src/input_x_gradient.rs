//! Gradient × input: the gradient scaled elementwise by the input.
//!
//! Shrikumar, Greenside, Shcherbina and Kundaje, *Not Just a Black Box: Learning Important
//! Features Through Propagating Activation Differences*, 2016.
//! <https://arxiv.org/abs/1605.01713>
#![cfg_attr(
    doc,
    doc = r#"$$\phi_i(x) = x_i \, \frac{\partial F_c(x)}{\partial x_i}$$"#
)]
//!
//! Plain text: `phi_i(x) = x_i * dF_c(x)/dx_i`. For a linear model without bias this is exact:
//! the attributions sum to the output.

use crate::registry::{Base, Entry, Family, MethodInfo, one_row};
use burn::config::Config;
use burn::tensor::Tensor;
use ember_core::KernelSettings;
use ember_core::{Attribution, Attributions, GradientKernel, Model, Report, Result, Target};

/// Gradient × input's entry in the registry.
pub static INFO: Entry<Base> = Entry {
    info: MethodInfo {
        name: "input-x-gradient",
        aliases: &["inputxgradient", "gradient-x-input", "ixg"],
        summary: "gradient × input, x ⊙ ∂F/∂x",
        captum: Some("InputXGradient"),
        signed: true,
        family: Family::Gradient,
        cost: "1",
        rows_per_sample: one_row,
    },
    build: |s| {
        Ok(Base::InputXGradient(
            InputXGradientConfig::new()
                .with_kernel(s.kernel.clone())
                .init()?,
        ))
    },
};

/// Hyper-parameters of [`InputXGradient`].
#[derive(Config, Debug)]
pub struct InputXGradientConfig {
    /// How the kernel runs: rows per pass, memory budget, the model check.
    #[config(default = "KernelSettings::new()")]
    pub kernel: KernelSettings,
}

ember_core::kernel_shorthands!(InputXGradientConfig);

impl InputXGradientConfig {
    /// Checks the configuration and builds the method.
    ///
    /// # Errors
    ///
    /// [`ember_core::Error::InvalidConfig`] if `max_rows` or `memory_budget` is `Some(0)`.
    pub fn init(&self) -> Result<InputXGradient> {
        Ok(InputXGradient {
            kernel: self.kernel.kernel()?,
        })
    }
}

/// Gradient × input, `x ⊙ ∂F_c/∂x` (Shrikumar et al. 2016). Build it with
/// [`InputXGradientConfig`].
///
/// # Example
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// use ember_methods::InputXGradientConfig;
/// use ember_core::Attribution;
///
/// let device = Device::flex();
/// let w = Tensor::<2>::from_floats([[1.0], [-2.0]], &device);
/// let model = move |x: Tensor<2>| x.matmul(w.clone());
/// let x = Tensor::<2>::from_floats([[3.0, 4.0]], &device);
/// let method = InputXGradientConfig::new().init()?;
/// let map = method.attribute(&model, x, 0)?;
/// assert_eq!(map.values.to_data().try_to_vec::<f32>().unwrap(), vec![3.0, -8.0]);
/// # Ok::<(), ember_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct InputXGradient {
    kernel: GradientKernel,
}

impl<const D: usize> Attribution<D> for InputXGradient {
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
        let input = input.without_autodiff();
        let out = self.kernel.gradients(model, input.clone(), &targets)?;
        Ok(Attributions {
            values: out.gradients * input.repeat_dim(0, per_sample),
            report: Report::new(INFO.info.name, out.targets, out.scores, out.stats)
                .with_targets_per_sample(per_sample),
        })
    }
}
