//! LIME: the coefficients of an interpretable linear model fitted to the model's outputs on
//! random coalitions of groups, weighted by their similarity to the input.
//!
//! Ribeiro, Singh and Guestrin, *"Why Should I Trust You?": Explaining the Predictions of Any
//! Classifier*, 2016. <https://arxiv.org/abs/1602.04938>
#![cfg_attr(
    doc,
    doc = r#"$$\phi = \arg\min_{\beta_0, \beta} \sum_{k} \pi_x(z_k) \big(F_c(x_{z_k}) - \beta_0 - z_k \cdot \beta\big)^2 + \Omega(\beta), \qquad z_k \sim \mathrm{Bernoulli}(\tfrac12)^M$$"#
)]
//!
//! Plain text: `phi` is the `β` of the weighted fit of `F_c(x_z) ≈ β₀ + z·β` over coalitions
//! `z ~ Bernoulli(½)^M`, with weights `π_x(z)` and a penalty `Ω` (Lasso or ridge).
//!
//! The two anchors differ, and both are here:
//!
//! | | Captum's `Lime` (ember's default) | the `lime` package (`lime_image`) |
//! |---|---|---|
//! | distance | `1 − cos(x, x_z)` in input space | `1 − cos(z, 1)` in coalition space |
//! | kernel | `exp(−d²/(2w²))`, `w = 1` | `√exp(−d²/w²)`, `w = 0.25` |
//! | model | `Lasso(alpha=0.01)` | `Ridge(alpha=1)` |
//! | samples | 25 (`n_samples`; ember: 50) | 1000, the first the input itself |
//!
//! Draws come from the seed and are shared by every sample of the batch (Captum draws per
//! example, one at a time); each sample gets its own weights and fit, every target of it the
//! same weights. The fit is not efficient: the report's delta says how far `Σφ` is from
//! `F(x) − F(b)`. Few groups give duplicate coalitions, which the fit simply weights again.
//! Cost: `samples + 2` forward rows per sample.

use crate::perturbation::surrogate::{Design, lasso, ridge};
use crate::perturbation::{self, Coalitions};
use crate::registry::{Entry, Family, MethodInfo, Perturbation};
use burn::config::Config;
use burn::tensor::Tensor;
use ember_core::rng::SplitMix64;
use ember_core::validate::read_f64;
use ember_core::{
    Attribution, Attributions, Baseline, Error, FeatureMask, GradientKernel, KernelSettings, Model,
    PerturbationReport, Result, Target,
};
use serde::{Deserialize, Serialize};

/// LIME's entry in the registry.
pub static INFO: Entry<Perturbation> = Entry {
    info: MethodInfo {
        name: "lime",
        aliases: &[],
        summary: "LIME: a weighted Lasso (or ridge) fit of F over random coalitions of groups \
                  (Captum's kernel and model by default)",
        captum: Some("Lime"),
        signed: true,
        family: Family::Perturbation,
        cost: "2 + samples (forward only)",
        rows_per_sample: |s, _| 2 + s.samples,
    },
    build: |s| {
        Ok(Perturbation::Lime(
            LimeConfig::new()
                .with_samples(s.samples)
                .with_seed(s.seed)
                .with_baseline(s.baseline.clone())
                .with_mask(s.feature_mask.clone())
                .with_kernel(s.kernel.clone())
                .init()?,
        ))
    },
};

/// How a coalition's similarity to the input weighs it in the fit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Similarity {
    /// Captum's default: `exp(−d²/(2w²))` with `d = 1 − cos(x, x_z)` over the input's values.
    InputCosine {
        /// The kernel width `w` (Captum: 1).
        width: f64,
    },
    /// The `lime` package's: `√exp(−d²/w²)` with `d = 1 − cos(z, 1)` over the coalition.
    CoalitionCosine {
        /// The kernel width `w` (`lime_image`: 0.25).
        width: f64,
    },
}

/// The interpretable model fitted to the coalitions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Surrogate {
    /// scikit-learn's `Lasso(alpha)` with an intercept (Captum's default, `alpha = 0.01`).
    Lasso {
        /// The L1 penalty.
        alpha: f64,
    },
    /// scikit-learn's `Ridge(alpha)` with an intercept (the `lime` package's, `alpha = 1`);
    /// `alpha = 0` is `LinearRegression`.
    Ridge {
        /// The L2 penalty.
        alpha: f64,
    },
}

/// Hyper-parameters of [`Lime`]: Captum's defaults, except 50 samples (as every sampled
/// method of the registry; Captum's `Lime.attribute` takes 25, its `LimeBase` 50).
#[derive(Config, Debug)]
pub struct LimeConfig {
    /// The number of random coalitions (Captum's `n_samples`).
    #[config(default = 50)]
    pub samples: usize,
    /// The seed of the draws.
    #[config(default = 0)]
    pub seed: u64,
    /// The similarity kernel.
    #[config(default = "Similarity::InputCosine { width: 1.0 }")]
    pub similarity: Similarity,
    /// The interpretable model.
    #[config(default = "Surrogate::Lasso { alpha: 0.01 }")]
    pub surrogate: Surrogate,
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

ember_core::kernel_shorthands!(LimeConfig);

impl LimeConfig {
    /// Checks the configuration and builds the method.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for 0 samples, a kernel width that is not a positive finite
    /// number, a negative or non-finite penalty, a bad baseline, or `max_rows` or
    /// `memory_budget` of `Some(0)`.
    pub fn init(&self) -> Result<Lime> {
        let invalid = |name, value: String, expected| {
            Err(Error::InvalidConfig {
                name,
                value,
                expected,
            })
        };
        if self.samples == 0 {
            return invalid("samples", "0".into(), "at least 1 coalition");
        }
        let (Similarity::InputCosine { width } | Similarity::CoalitionCosine { width }) =
            self.similarity;
        if !(width.is_finite() && width > 0.0) {
            return invalid("kernel width", width.to_string(), "a finite number > 0");
        }
        let (Surrogate::Lasso { alpha } | Surrogate::Ridge { alpha }) = self.surrogate;
        if !(alpha.is_finite() && alpha >= 0.0) {
            return invalid("alpha", alpha.to_string(), "a finite number ≥ 0");
        }
        self.baseline.check()?;
        Ok(Lime {
            samples: self.samples,
            seed: self.seed,
            similarity: self.similarity,
            surrogate: self.surrogate,
            baseline: self.baseline.clone(),
            mask: self.mask.clone(),
            kernel: self.kernel.kernel()?,
        })
    }
}

/// LIME (Ribeiro et al. 2016; Captum's `Lime`). Build it with [`LimeConfig`].
///
/// # Example
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// use ember_core::Attribution;
/// use ember_methods::{LimeConfig, Surrogate};
///
/// let device = Device::flex();
/// let w = Tensor::<2>::from_floats([[1.0], [-2.0], [0.5]], &device);
/// let model = move |x: Tensor<2>| x.matmul(w.clone());
/// let x = Tensor::<2>::from_floats([[1.0, 1.0, 2.0]], &device);
/// // A linear model is fitted exactly by an unpenalised surrogate.
/// let lime = LimeConfig::new().with_surrogate(Surrogate::Ridge { alpha: 0.0 }).init()?;
/// let values = lime.attribute(&model, x, 0)?.values.to_data().try_to_vec::<f32>().unwrap();
/// assert!((values[0] - 1.0).abs() < 1e-4 && (values[1] + 2.0).abs() < 1e-4);
/// # Ok::<(), ember_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Lime {
    samples: usize,
    seed: u64,
    similarity: Similarity,
    surrogate: Surrogate,
    baseline: Baseline,
    mask: Option<FeatureMask>,
    kernel: GradientKernel,
}

/// `samples` coalitions of `m` groups, each group kept with probability ½.
fn draws(m: usize, samples: usize, seed: u64) -> Vec<f32> {
    let mut rng = SplitMix64::new(seed);
    (0..samples * m)
        .map(|_| f32::from(u8::from(rng.next_u64() >> 63 == 1)))
        .collect()
}

impl Lime {
    /// The weight of every coalition for every sample, `[N][samples]`.
    fn weights<const D: usize>(
        &self,
        input: &Tensor<D>,
        baseline: &Tensor<D>,
        groups: &ember_core::Groups,
        z: &[f32],
    ) -> Result<Vec<Vec<f64>>> {
        let m = groups.count();
        let n = groups.batch();
        let kernel = |d: f64| match self.similarity {
            Similarity::InputCosine { width } => (-d * d / (2.0 * width * width)).exp(),
            Similarity::CoalitionCosine { width } => (-d * d / (width * width)).exp().sqrt(),
        };
        if let Similarity::CoalitionCosine { .. } = self.similarity {
            let row: Vec<f64> = z
                .chunks(m)
                .map(|c| {
                    let kept = c.iter().map(|&v| f64::from(v)).sum::<f64>();
                    // cos(z, 1) = |z| / (√|z| √M); an empty coalition is at distance 1.
                    let cos = if kept == 0.0 {
                        0.0
                    } else {
                        (kept / m as f64).sqrt()
                    };
                    kernel(1.0 - cos)
                })
                .collect();
            return Ok(vec![row; n]);
        }
        let (x, b) = (read_f64(input.clone())?, read_f64(baseline.clone())?);
        let f = groups.features();
        (0..n)
            .map(|s| {
                // Per group: Σx², Σxb, Σb²; fixed elements always keep x.
                let (mut xx, mut xb, mut bb) = (vec![0.0; m], vec![0.0; m], vec![0.0; m]);
                let mut fixed = 0.0;
                for (e, &id) in groups.ids(s).iter().enumerate() {
                    let (xe, be) = (x[s * f + e], b[s * f + e]);
                    match usize::try_from(id) {
                        Ok(g) => {
                            xx[g] += xe * xe;
                            xb[g] += xe * be;
                            bb[g] += be * be;
                        }
                        Err(_) => fixed += xe * xe,
                    }
                }
                let norm_x = (xx.iter().sum::<f64>() + fixed).sqrt();
                Ok(z.chunks(m)
                    .map(|c| {
                        let (mut dot, mut norm) = (fixed, fixed);
                        for g in 0..m {
                            let kept = c[g] == 1.0;
                            dot += if kept { xx[g] } else { xb[g] };
                            norm += if kept { xx[g] } else { bb[g] };
                        }
                        let denominator = norm_x * norm.sqrt();
                        let cos = if denominator > 0.0 {
                            dot / denominator
                        } else {
                            0.0
                        };
                        kernel(1.0 - cos)
                    })
                    .collect())
            })
            .collect()
    }
}

impl<const D: usize> Attribution<D> for Lime {
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
        crate::kernel_shap::check_fit_groups(m, "lime")?;
        let baseline = self.baseline.resolve(&input)?;
        let z = draws(m, self.samples, self.seed);
        let plan = Coalitions::new(
            &groups,
            self.samples,
            &input.device(),
            |p, _, out: &mut [f32]| {
                out.copy_from_slice(&z[p * m..(p + 1) * m]);
            },
        );
        let scores =
            perturbation::evaluate(&self.kernel, model, &input, &baseline, &target, &plan, true)?;
        let weights = self.weights(&input, &baseline, &groups, &z)?;
        let x: Vec<f64> = z.iter().map(|&v| f64::from(v)).collect();
        let slots = scores.slots();
        let mut values = vec![0.0; slots * m];
        for slot in 0..slots {
            let design = Design {
                x: &x,
                columns: m,
                weights: &weights[slot % scores.n],
            };
            let y: Vec<f64> = (0..self.samples).map(|k| scores.at(k, slot)).collect();
            let fit = match self.surrogate {
                Surrogate::Lasso { alpha } => lasso(&design, &y, alpha),
                Surrogate::Ridge { alpha } => ridge(&design, &y, alpha),
            };
            values[slot * m..(slot + 1) * m].copy_from_slice(&fit.coefficients);
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

#[cfg(test)]
mod tests {
    use super::draws;

    #[test]
    fn every_coalition_is_equally_likely() {
        // Each group kept with probability ½, independently: the 16 coalitions of 4 groups
        // uniform. Pearson's χ² (15 degrees of freedom): 52 is beyond its 0.99999 quantile
        // (about 51).
        let (m, samples) = (4, 64_000);
        let z = draws(m, samples, 11);
        let mut counts = [0.0f64; 16];
        for row in z.chunks(m) {
            let set: usize = (0..m).filter(|&g| row[g] == 1.0).map(|g| 1 << g).sum();
            counts[set] += 1.0;
        }
        let expected = samples as f64 / 16.0;
        let chi2: f64 = counts
            .iter()
            .map(|c| (c - expected).powi(2) / expected)
            .sum();
        assert!(chi2 < 52.0, "χ² = {chi2} over 15 degrees of freedom");
        // Different seeds, different draws; the same seed, the same.
        assert_eq!(draws(m, 100, 3), draws(m, 100, 3));
        assert_ne!(draws(m, 100, 3), draws(m, 100, 4));
    }
}
