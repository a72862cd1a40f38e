//! Shapley value sampling: the mean marginal gain of each group over random orders in which
//! the groups are added to the baseline.
//!
//! Castro, Gómez and Tejada, *Polynomial calculation of the Shapley value based on sampling*,
//! 2009; Štrumbelj and Kononenko, *An efficient explanation of individual classifications
//! using game theory*, 2010.
#![cfg_attr(
    doc,
    doc = r#"$$\phi_g \approx \frac{1}{P} \sum_{k=1}^{P} \Big( v\big(\mathrm{Pre}^{\pi_k}_g \cup \{g\}\big) - v\big(\mathrm{Pre}^{\pi_k}_g\big) \Big)$$"#
)]
//!
//! Plain text: `phi_g ≈ mean over P random orders π of v(groups before g in π, and g) −
//! v(groups before g in π)`.
//!
//! Each order's gains telescope from `F(b)` to `F(x)`, so **every sampled order's gains sum to
//! `F(x) − F(b)`** and so do the attributions (the order's last coalition is the input's own
//! row, not a second evaluation of it). The orders come from the seed, are shared by every
//! sample of the batch (as Captum's), and are the same on every backend; each group's estimate
//! is unbiased and its error shrinks as `1/√P`. Cost: `1 + P·(M − 1) + 1` forward rows per
//! sample (Captum: `1 + P·M`).

use crate::perturbation::{self, Coalitions};
use crate::registry::{Entry, Family, MethodInfo, Perturbation};
use burn::config::Config;
use burn::tensor::Tensor;
use ember_core::rng::SplitMix64;
use ember_core::{
    Attribution, Attributions, Baseline, Error, FeatureMask, GradientKernel, KernelSettings, Model,
    PerturbationReport, Result, Target,
};

/// Shapley value sampling's entry in the registry.
pub static INFO: Entry<Perturbation> = Entry {
    info: MethodInfo {
        name: "shapley-value-sampling",
        aliases: &["shapleyvaluesampling", "shapley-sampling"],
        summary: "Shapley values estimated from random orders of the groups (each order's gains \
                  sum exactly to F(x) − F(b))",
        captum: Some("ShapleyValueSampling"),
        signed: true,
        family: Family::Perturbation,
        cost: "2 + samples·(groups − 1) (forward only)",
        rows_per_sample: |s, dims| {
            2 + s.samples * crate::registry::groups_of(s, dims).saturating_sub(1)
        },
    },
    build: |s| {
        Ok(Perturbation::ShapleyValueSampling(
            ShapleyValueSamplingConfig::new()
                .with_samples(s.samples)
                .with_seed(s.seed)
                .with_baseline(s.baseline.clone())
                .with_mask(s.feature_mask.clone())
                .with_kernel(s.kernel.clone())
                .init()?,
        ))
    },
};

/// Hyper-parameters of [`ShapleyValueSampling`]. Captum's `n_samples` defaults to 25 orders;
/// ember's to 50, as every sampled method of the registry (`--samples`).
#[derive(Config, Debug)]
pub struct ShapleyValueSamplingConfig {
    /// The number of random orders P (Captum's `n_samples`).
    #[config(default = 50)]
    pub samples: usize,
    /// The seed of the orders.
    #[config(default = 0)]
    pub seed: u64,
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

ember_core::kernel_shorthands!(ShapleyValueSamplingConfig);

impl ShapleyValueSamplingConfig {
    /// Checks the configuration and builds the method.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for 0 samples, a bad baseline, or `max_rows` or
    /// `memory_budget` of `Some(0)`.
    pub fn init(&self) -> Result<ShapleyValueSampling> {
        if self.samples == 0 {
            return Err(Error::InvalidConfig {
                name: "samples",
                value: "0".into(),
                expected: "at least 1 random order of the groups",
            });
        }
        self.baseline.check()?;
        Ok(ShapleyValueSampling {
            samples: self.samples,
            seed: self.seed,
            baseline: self.baseline.clone(),
            mask: self.mask.clone(),
            kernel: self.kernel.kernel()?,
        })
    }
}

/// Shapley value sampling (Captum's `ShapleyValueSampling`). Build it with
/// [`ShapleyValueSamplingConfig`].
///
/// # Example
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// use ember_core::Attribution;
/// use ember_methods::ShapleyValueSamplingConfig;
///
/// let device = Device::flex();
/// let model = |x: Tensor<2>| (x.clone() * x).sum_dim(1);
/// let x = Tensor::<2>::from_floats([[1.0, 2.0, 3.0]], &device);
/// let out = ShapleyValueSamplingConfig::new().with_samples(4).init()?.attribute(&model, x, 0)?;
/// // An additive model: every order gives each element its own term.
/// assert_eq!(out.values.to_data().try_to_vec::<f32>().unwrap(), vec![1.0, 4.0, 9.0]);
/// # Ok::<(), ember_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ShapleyValueSampling {
    samples: usize,
    seed: u64,
    baseline: Baseline,
    mask: Option<FeatureMask>,
    kernel: GradientKernel,
}

/// `samples` random orders of `m` groups from `seed` (Fisher–Yates on SplitMix64).
pub(crate) fn orders(m: usize, samples: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut rng = SplitMix64::new(seed);
    (0..samples)
        .map(|_| {
            let mut order: Vec<usize> = (0..m).collect();
            rng.shuffle(&mut order);
            order
        })
        .collect()
}

impl<const D: usize> Attribution<D> for ShapleyValueSampling {
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
        let baseline = self.baseline.resolve(&input)?;
        let orders = orders(m, self.samples, self.seed);
        // Perturbation k·(M − 1) + j keeps the first j + 1 groups of order k.
        let steps = m - 1;
        let coalitions = Coalitions::new(
            &groups,
            self.samples * steps,
            &input.device(),
            |p, _, z: &mut [f32]| {
                let (order, kept) = (&orders[p / steps], p % steps + 1);
                z.fill(0.0);
                for &g in &order[..kept] {
                    z[g] = 1.0;
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
        let mut values = vec![0.0; slots * m];
        for slot in 0..slots {
            let out = &mut values[slot * m..(slot + 1) * m];
            for (k, order) in orders.iter().enumerate() {
                let mut last = scores.removed()[slot];
                for (j, &g) in order.iter().enumerate() {
                    let next = match j {
                        j if j == steps => scores.input[slot],
                        j => scores.at(k * steps + j, slot),
                    };
                    out[g] += next - last;
                    last = next;
                }
            }
            for phi in out.iter_mut() {
                *phi /= self.samples as f64;
            }
        }
        let report = scores.report(INFO.info.name, &values, m).with_perturbation(
            PerturbationReport::new(m, values.clone()).with_draws(self.seed, self.samples),
        );
        Ok(Attributions {
            values: perturbation::spread(&groups, &values, slots, &input.device()),
            report,
        })
    }
}
