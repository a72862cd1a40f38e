//! Exact Shapley values of the groups, by the subset formula over all `2^M` coalitions.
//!
//! Shapley, *A Value for n-Person Games*, 1953; for attribution, Lundberg and Lee, *A Unified
//! Approach to Interpreting Model Predictions*, 2017. <https://arxiv.org/abs/1705.07874>
#![cfg_attr(
    doc,
    doc = r#"$$\phi_g = \sum_{S \subseteq \lbrack M \rbrack \setminus \{g\}} \frac{|S|!\,(M - |S| - 1)!}{M!} \Big(v(S \cup \{g\}) - v(S)\Big), \qquad v(S) = F_c(x_S)$$"#
)]
//!
//! Plain text: `phi_g = Σ over S without g of |S|!(M−|S|−1)!/M! · (v(S ∪ {g}) − v(S))`, where
//! `v(S)` is the target output with the groups of `S` kept and the others at the baseline.
//!
//! Efficiency holds exactly: `Σ φ = F(x) − F(b)`. Cost: `2^M` forward rows per sample (Captum's
//! `ShapleyValues` makes `M·M!`, one permutation at a time), so M is at most
//! [`MAX_EXACT_GROUPS`]; beyond, use `shapley-value-sampling` or `kernel-shap`.

use crate::perturbation::{self, Coalitions};
use crate::registry::{Entry, Family, MethodInfo, Perturbation};
use burn::config::Config;
use burn::tensor::Tensor;
use ember_core::{
    Attribution, Attributions, Baseline, Error, FeatureMask, GradientKernel, KernelSettings, Model,
    PerturbationReport, Result, Target,
};

/// The most groups exact Shapley values take: `2^16` rows per sample (the `2^M − 2` proper
/// coalitions, the input and the all-baseline row).
pub const MAX_EXACT_GROUPS: usize = 16;

/// Exact Shapley values' entry in the registry.
pub static INFO: Entry<Perturbation> = Entry {
    info: MethodInfo {
        name: "shapley-values",
        aliases: &["shapley-exact", "shapleyvalues", "shapley"],
        summary: "exact Shapley values of the groups (the subset formula over all 2^M \
                  coalitions; M ≤ 16)",
        captum: Some("ShapleyValues"),
        signed: true,
        family: Family::Perturbation,
        cost: "2^groups (forward only)",
        rows_per_sample: |s, dims| 1usize << crate::registry::groups_of(s, dims).min(24),
    },
    build: |s| {
        Ok(Perturbation::ShapleyValues(
            ShapleyValuesConfig::new()
                .with_baseline(s.baseline.clone())
                .with_mask(s.feature_mask.clone())
                .with_kernel(s.kernel.clone())
                .init()?,
        ))
    },
};

/// Hyper-parameters of [`ShapleyValues`] (Captum's defaults: a zero baseline; one group per
/// element, which Captum's `M·M!` cost limits to tiny inputs).
#[derive(Config, Debug)]
pub struct ShapleyValuesConfig {
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

ember_core::kernel_shorthands!(ShapleyValuesConfig);

impl ShapleyValuesConfig {
    /// Checks the configuration and builds the method.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for a bad baseline, or `max_rows` or `memory_budget` of
    /// `Some(0)`.
    pub fn init(&self) -> Result<ShapleyValues> {
        self.baseline.check()?;
        Ok(ShapleyValues {
            baseline: self.baseline.clone(),
            mask: self.mask.clone(),
            kernel: self.kernel.kernel()?,
        })
    }
}

/// Exact Shapley values (Captum's `ShapleyValues`). Build it with [`ShapleyValuesConfig`].
///
/// # Example
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// use ember_core::Attribution;
/// use ember_methods::ShapleyValuesConfig;
///
/// let device = Device::flex();
/// // F(x) = x1·x2: each gets half of the product.
/// let model = |x: Tensor<2>| x.clone().narrow(1, 0, 1) * x.narrow(1, 1, 1);
/// let x = Tensor::<2>::from_floats([[2.0, 3.0]], &device);
/// let out = ShapleyValuesConfig::new().init()?.attribute(&model, x, 0)?;
/// assert_eq!(out.values.to_data().try_to_vec::<f32>().unwrap(), vec![3.0, 3.0]);
/// # Ok::<(), ember_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ShapleyValues {
    baseline: Baseline,
    mask: Option<FeatureMask>,
    kernel: GradientKernel,
}

/// The Shapley weight of a coalition of `size` among `m` players, `|S|!(M − |S| − 1)!/M!`,
/// which is `1 / (M · C(M − 1, |S|))`.
pub(crate) fn shapley_weight(m: usize, size: usize) -> f64 {
    let mut binomial = 1.0;
    for i in 0..size {
        binomial = binomial * (m - 1 - i) as f64 / (i + 1) as f64;
    }
    1.0 / (m as f64 * binomial)
}

impl<const D: usize> Attribution<D> for ShapleyValues {
    fn attribute<M: Model<D> + ?Sized>(
        &self,
        model: &M,
        input: Tensor<D>,
        target: impl Into<Target>,
    ) -> Result<Attributions<D>> {
        let target = target.into();
        let (input, groups) =
            perturbation::prepare(&self.kernel, model, input, self.mask.as_ref())?;
        let m = groups.count();
        if m > MAX_EXACT_GROUPS {
            return Err(Error::InvalidConfig {
                name: "feature mask",
                value: format!("{m} groups"),
                expected: "at most 16 groups for exact Shapley values (2^M rows per sample): \
                           use coarser groups, shapley-value-sampling or kernel-shap",
            });
        }
        let baseline = self.baseline.resolve(&input)?;
        let full = (1usize << m) - 1;
        // Perturbation p keeps the coalition with bits p + 1 (the empty and the full
        // coalitions are the plan's removed and input rows).
        let coalitions = Coalitions::new(
            &groups,
            full.saturating_sub(1),
            &input.device(),
            |p, _, z: &mut [f32]| {
                for (g, zg) in z.iter_mut().enumerate() {
                    *zg = (((p + 1) >> g) & 1) as f32;
                }
            },
        );
        let scores = perturbation::evaluate(
            &self.kernel,
            model,
            &input,
            &baseline,
            &target,
            &coalitions,
            true,
        )?;
        let slots = scores.slots();
        let weights: Vec<f64> = (0..m).map(|size| shapley_weight(m, size)).collect();
        let mut values = vec![0.0; slots * m];
        for slot in 0..slots {
            let v = |set: usize| match set {
                0 => scores.removed()[slot],
                s if s == full => scores.input[slot],
                s => scores.at(s - 1, slot),
            };
            let out = &mut values[slot * m..(slot + 1) * m];
            for set in 0..full {
                let size = set.count_ones() as usize;
                let base = v(set);
                for (g, phi) in out.iter_mut().enumerate() {
                    if set & (1 << g) == 0 {
                        *phi += weights[size] * (v(set | (1 << g)) - base);
                    }
                }
            }
        }
        let report = scores
            .report(INFO.info.name, &values, m)
            .with_perturbation(PerturbationReport::new(m, values.clone()));
        Ok(Attributions {
            values: perturbation::spread(&groups, &values, slots, &input.device()),
            report,
        })
    }
}
