//! Feature ablation: each group's attribution is how much the target output drops when that
//! group alone is replaced by the baseline.
#![cfg_attr(
    doc,
    doc = r#"$$\phi_g(x) = F_c(x) - F_c\big(x_{\lbrack M \rbrack \setminus \{g\}}\big), \qquad x_S = b + \textstyle\sum_{h \in S} 1_h \odot (x - b)$$"#
)]
//!
//! Plain text: `phi_g = F_c(x) − F_c(x with group g replaced by the baseline b)`.
//!
//! Cost: `2 + M` forward rows per sample (no backward): `F(x)`, `F(b)` (for the report's
//! delta) and one row per group, batched across samples and shared by every target. Captum's
//! `FeatureAblation` with `perturbations_per_eval = 1` makes `1 + M` evaluations, one group at
//! a time.

use crate::perturbation::{self, Coalitions};
use crate::registry::{Entry, Family, MethodInfo, Perturbation};
use burn::config::Config;
use burn::tensor::Tensor;
use ember_core::{
    Attribution, Attributions, Baseline, FeatureMask, GradientKernel, KernelSettings, Model,
    PerturbationReport, Result, Target,
};

/// Feature ablation's entry in the registry.
pub static INFO: Entry<Perturbation> = Entry {
    info: MethodInfo {
        name: "feature-ablation",
        aliases: &["featureablation", "ablation"],
        summary: "F(x) − F(x with one group replaced by the baseline), group by group",
        captum: Some("FeatureAblation"),
        signed: true,
        family: Family::Perturbation,
        cost: "2 + groups (forward only)",
        rows_per_sample: |s, dims| 2 + crate::registry::groups_of(s, dims),
    },
    build: |s| {
        Ok(Perturbation::FeatureAblation(
            FeatureAblationConfig::new()
                .with_baseline(s.baseline.clone())
                .with_mask(s.feature_mask.clone())
                .with_kernel(s.kernel.clone())
                .init()?,
        ))
    },
};

/// Hyper-parameters of [`FeatureAblation`]. Captum's defaults: a zero baseline and one group
/// per element; ember's default groups follow the input's rank
/// ([`FeatureMask::default_for`]).
#[derive(Config, Debug)]
pub struct FeatureAblationConfig {
    /// What a removed group becomes.
    #[config(default = "Baseline::Zeros")]
    pub baseline: Baseline,
    /// The groups; `None` for [`FeatureMask::default_for`] the input.
    #[config(default = "None")]
    pub mask: Option<FeatureMask>,
    /// How the kernel runs: rows per pass, memory budget, the model check.
    #[config(default = "KernelSettings::new()")]
    pub kernel: KernelSettings,
}

ember_core::kernel_shorthands!(FeatureAblationConfig);

impl FeatureAblationConfig {
    /// Checks the configuration and builds the method.
    ///
    /// # Errors
    ///
    /// [`ember_core::Error::InvalidConfig`] for a bad baseline, or `max_rows` or
    /// `memory_budget` of `Some(0)`.
    pub fn init(&self) -> Result<FeatureAblation> {
        self.baseline.check()?;
        Ok(FeatureAblation {
            baseline: self.baseline.clone(),
            mask: self.mask.clone(),
            kernel: self.kernel.kernel()?,
        })
    }
}

/// Feature ablation (Captum's `FeatureAblation`). Build it with [`FeatureAblationConfig`].
///
/// # Example
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// use ember_core::Attribution;
/// use ember_methods::FeatureAblationConfig;
///
/// let device = Device::flex();
/// let w = Tensor::<2>::from_floats([[1.0], [2.0]], &device);
/// let model = move |x: Tensor<2>| x.matmul(w.clone());
/// let x = Tensor::<2>::from_floats([[3.0, 4.0]], &device);
/// let out = FeatureAblationConfig::new().init()?.attribute(&model, x, 0)?;
/// assert_eq!(out.values.to_data().try_to_vec::<f32>().unwrap(), vec![3.0, 8.0]);
/// # Ok::<(), ember_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct FeatureAblation {
    baseline: Baseline,
    mask: Option<FeatureMask>,
    kernel: GradientKernel,
}

impl<const D: usize> Attribution<D> for FeatureAblation {
    fn attribute<M: Model<D> + ?Sized>(
        &self,
        model: &M,
        input: Tensor<D>,
        target: impl Into<Target>,
    ) -> Result<Attributions<D>> {
        let target = target.into();
        let (input, groups) =
            perturbation::prepare(&self.kernel, model, input, self.mask.as_ref())?;
        let baseline = self.baseline.resolve(&input)?;
        let m = groups.count();
        let device = input.device();
        // Perturbation g keeps every group but g.
        let ablations = Coalitions::new(&groups, m, &device, |g, _, z: &mut [f32]| {
            z.fill(1.0);
            z[g] = 0.0;
        });
        let scores = perturbation::evaluate(
            &self.kernel,
            model,
            &input,
            &baseline,
            &target,
            &ablations,
            true,
        )?;
        let slots = scores.slots();
        let sizes: Vec<Vec<usize>> = (0..scores.n).map(|s| groups.sizes(s)).collect();
        let mut values = vec![0.0; slots * m];
        for slot in 0..slots {
            for g in 0..m {
                // A group that this sample's mask does not use changes nothing: exactly 0.
                if sizes[slot % scores.n][g] > 0 {
                    values[slot * m + g] = scores.input[slot] - scores.at(g, slot);
                }
            }
        }
        let report = scores
            .report(INFO.info.name, &values, m)
            .with_perturbation(PerturbationReport::new(m, values.clone()));
        Ok(Attributions {
            values: perturbation::spread(&groups, &values, slots, &device),
            report,
        })
    }
}
