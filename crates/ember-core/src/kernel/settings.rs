//! The kernel's settings, one type nested in every method's configuration (as Burn nests
//! sub-configurations, e.g. `TransformerEncoderConfig`'s activation).

use burn::config::Config;

use crate::{GradientKernel, Result};

/// How a method's kernel runs: the rows per pass, the memory budget, the model check. Nested
/// as `kernel` in every method configuration; what the kernel adds later goes here, once.
///
/// ```
/// use ember_core::kernel::KernelSettings;
///
/// let settings = KernelSettings::new().with_max_rows(Some(64));
/// let kernel = settings.kernel()?;
/// # let _ = kernel;
/// # Ok::<(), ember_core::Error>(())
/// ```
#[derive(Config, Debug, PartialEq, Eq)]
pub struct KernelSettings {
    /// The most rows per forward+backward pass; `None` uses the device's default
    /// ([`crate::kernel::default_rows`]).
    #[config(default = "None")]
    pub max_rows: Option<usize>,
    /// A memory budget in bytes for the input rows of one pass (the rows per pass follow from
    /// a row's size); `None` uses the device's default. With `max_rows`, the smaller wins.
    #[config(default = "None")]
    pub memory_budget: Option<usize>,
    /// Check once per call, before the first pass, that the model's rows are independent and
    /// deterministic (a Burn module in training mode is not); turn off only for a model known
    /// to be in evaluation mode.
    #[config(default = true)]
    pub check_model: bool,
}

impl Default for KernelSettings {
    fn default() -> Self {
        Self::new()
    }
}

impl KernelSettings {
    /// The kernel these settings make.
    ///
    /// # Errors
    ///
    /// [`crate::Error::InvalidConfig`] if `max_rows` or `memory_budget` is `Some(0)`.
    pub fn kernel(&self) -> Result<GradientKernel> {
        GradientKernel::with_settings(self.max_rows, self.memory_budget, self.check_model)
    }
}

/// The kernel settings' builders on a configuration that nests them as `kernel`:
/// `with_max_rows`, `with_memory_budget` and `with_check_model`, each setting the field of
/// `kernel` (the flat builders every method configuration had before [`KernelSettings`]).
#[macro_export]
macro_rules! kernel_shorthands {
    ($($config:ty),+ $(,)?) => {$(
        impl $config {
            /// Sets `kernel.max_rows`: the most rows per pass (`None`: the device's default).
            pub fn with_max_rows(mut self, max_rows: Option<usize>) -> Self {
                self.kernel.max_rows = max_rows;
                self
            }

            /// Sets `kernel.memory_budget`: the bytes of a pass's input rows (`None`: the
            /// device's default).
            pub fn with_memory_budget(mut self, memory_budget: Option<usize>) -> Self {
                self.kernel.memory_budget = memory_budget;
                self
            }

            /// Sets `kernel.check_model`: whether to check the model's rows once per call.
            pub fn with_check_model(mut self, check_model: bool) -> Self {
                self.kernel.check_model = check_model;
                self
            }
        }
    )+};
}
