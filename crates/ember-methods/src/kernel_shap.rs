//! KernelSHAP: Shapley values as the weighted least-squares fit of a linear model over
//! coalitions, weighted by the Shapley kernel, with efficiency enforced exactly.
//!
//! Lundberg and Lee, *A Unified Approach to Interpreting Model Predictions*, 2017.
//! <https://arxiv.org/abs/1705.07874>
#![cfg_attr(
    doc,
    doc = r#"$$\phi = \arg\min_{\phi:\ \sum_g \phi_g = F(x) - F(b)} \sum_{S} \pi(S) \Big(v(S) - F(b) - \sum_{g \in S} \phi_g\Big)^2, \qquad \pi(S) = \frac{M - 1}{\binom{M}{|S|}\,|S|\,(M - |S|)}$$"#
)]
//!
//! Plain text: `phi` minimises `Σ_S π(S) (v(S) − F(b) − Σ_{g∈S} φ_g)²` subject to
//! `Σ φ = F(x) − F(b)`, with the Shapley kernel `π(S) = (M−1) / (C(M,|S|)·|S|·(M−|S|))`.
//!
//! As the `shap` package's `KernelExplainer`: the intercept is `F(b)` and efficiency is exact,
//! by eliminating the last group's value; a group whose elements all equal the baseline in a
//! sample (`shap`'s non-varying features: removing it changes nothing) scores exactly 0 there
//! and is left out of that sample's fit. When the budget covers every coalition
//! (`samples ≥ 2^M − 2`) they are enumerated with their kernel weights and the result is the
//! exact Shapley values. Otherwise coalitions are drawn from the kernel (a size with
//! probability `∝ (M−1)/(s(M−s))`, then a uniform coalition of that size) in complementary
//! pairs, and duplicates merged into weights. The coalitions and their weights do not depend on
//! the sample: **one factorisation serves every sample and target** with the same varying
//! groups (every group, on most inputs). Captum's `KernelShap` fits one example at a time,
//! with a free intercept and the endpoints weighted 10⁶.
//! Cost: `samples + 2` forward rows per sample.

use std::collections::HashMap;

use crate::perturbation::surrogate::{Design, Normal};
use crate::perturbation::{self, Coalitions};
use crate::registry::{Entry, Family, MethodInfo, Perturbation};
use burn::config::Config;
use burn::tensor::Tensor;
use ember_core::rng::SplitMix64;
use ember_core::{
    Attribution, Attributions, Baseline, Error, FeatureMask, GradientKernel, KernelSettings, Model,
    PerturbationReport, Result, Target,
};

/// The most groups a least-squares surrogate (KernelSHAP, LIME) fits: the fit is a dense
/// `M × M` system solved on the host, `8·M²` bytes per copy (134 MB at 4096 groups, 180 GB at
/// a photo's 150 528 elements). Beyond, group the features ([`FeatureMask::Patches`]).
pub const MAX_FIT_GROUPS: usize = 4096;

/// [`MAX_FIT_GROUPS`] as a typed error, before any row is evaluated.
pub(crate) fn check_fit_groups(m: usize, method: &'static str) -> Result<()> {
    if m > MAX_FIT_GROUPS {
        return Err(Error::InvalidConfig {
            name: "feature mask",
            value: format!("{m} groups for {method}"),
            expected: "at most 4096 groups for a least-squares surrogate (a dense M × M fit on                        the host): use coarser groups (patches, tokens)",
        });
    }
    Ok(())
}

/// KernelSHAP's entry in the registry.
pub static INFO: Entry<Perturbation> = Entry {
    info: MethodInfo {
        name: "kernel-shap",
        aliases: &["kernelshap", "kernel-explainer"],
        summary: "KernelSHAP: the Shapley-kernel weighted least-squares fit with exact \
                  efficiency (exact Shapley values when the samples cover every coalition)",
        captum: Some("KernelShap"),
        signed: true,
        family: Family::Perturbation,
        cost: "2 + samples (forward only)",
        rows_per_sample: |s, dims| {
            let m = crate::registry::groups_of(s, dims);
            2 + s.samples.min(every_coalition(m).unwrap_or(usize::MAX))
        },
    },
    build: |s| {
        Ok(Perturbation::KernelShap(
            KernelShapConfig::new()
                .with_samples(s.samples)
                .with_seed(s.seed)
                .with_baseline(s.baseline.clone())
                .with_mask(s.feature_mask.clone())
                .with_kernel(s.kernel.clone())
                .init()?,
        ))
    },
};

/// Hyper-parameters of [`KernelShap`]. Captum's `n_samples` defaults to 25 coalitions and
/// `shap`'s `nsamples` to `2M + 2048`; ember's to 50, as every sampled method of the registry
/// (`--samples`), and every coalition when 50 covers them (M ≤ 5).
#[derive(Config, Debug)]
pub struct KernelShapConfig {
    /// The number of coalitions drawn (besides the empty and full ones).
    #[config(default = 50)]
    pub samples: usize,
    /// The seed of the draws.
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

ember_core::kernel_shorthands!(KernelShapConfig);

impl KernelShapConfig {
    /// Checks the configuration and builds the method.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for 0 samples, a bad baseline, or `max_rows` or
    /// `memory_budget` of `Some(0)`.
    pub fn init(&self) -> Result<KernelShap> {
        if self.samples == 0 {
            return Err(Error::InvalidConfig {
                name: "samples",
                value: "0".into(),
                expected: "at least 1 coalition",
            });
        }
        self.baseline.check()?;
        Ok(KernelShap {
            samples: self.samples,
            seed: self.seed,
            baseline: self.baseline.clone(),
            mask: self.mask.clone(),
            kernel: self.kernel.kernel()?,
        })
    }
}

/// KernelSHAP (the `shap` package's `KernelExplainer`; Captum's `KernelShap`). Build it with
/// [`KernelShapConfig`].
///
/// # Example
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// use ember_core::Attribution;
/// use ember_methods::KernelShapConfig;
///
/// let device = Device::flex();
/// let model = |x: Tensor<2>| x.clone().narrow(1, 0, 1) * x.narrow(1, 1, 1);
/// let x = Tensor::<2>::from_floats([[2.0, 3.0]], &device);
/// // 2 groups: every coalition is enumerated, so these are the exact Shapley values.
/// let out = KernelShapConfig::new().init()?.attribute(&model, x, 0)?;
/// let values = out.values.to_data().try_to_vec::<f32>().unwrap();
/// assert!((values[0] - 3.0).abs() < 1e-5 && (values[1] - 3.0).abs() < 1e-5);
/// # Ok::<(), ember_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct KernelShap {
    samples: usize,
    seed: u64,
    baseline: Baseline,
    mask: Option<FeatureMask>,
    kernel: GradientKernel,
}

/// `2^M − 2`, the coalitions besides the empty and the full one, if it fits.
fn every_coalition(m: usize) -> Option<usize> {
    (m < 63).then(|| (1usize << m) - 2)
}

/// The coalitions of the fit (`z`, `coalitions × M`, row-major) and their weights, and whether
/// they are every coalition.
pub(crate) fn coalitions(m: usize, samples: usize, seed: u64) -> (Vec<f32>, Vec<f64>, bool) {
    if let Some(all) = every_coalition(m)
        && samples >= all
    {
        let mut z = Vec::with_capacity(all * m);
        let mut weights = Vec::with_capacity(all);
        for set in 1..=all {
            z.extend((0..m).map(|g| ((set >> g) & 1) as f32));
            let s = set.count_ones() as usize;
            weights.push(kernel_weight(m, s));
        }
        return (z, weights, true);
    }
    // Sizes drawn ∝ (M − 1)/(s(M − s)), then a uniform coalition of that size and its
    // complement; identical coalitions merged.
    let sizes: Vec<f64> = (1..m).map(|s| 1.0 / (s * (m - s)) as f64).collect();
    let total: f64 = sizes.iter().sum();
    let mut rng = SplitMix64::new(seed);
    let mut seen: HashMap<Vec<bool>, usize> = HashMap::new();
    let mut order: Vec<Vec<bool>> = Vec::new();
    let mut counts: Vec<f64> = Vec::new();
    let mut add = |coalition: Vec<bool>, order: &mut Vec<Vec<bool>>, counts: &mut Vec<f64>| {
        let at = *seen.entry(coalition.clone()).or_insert_with(|| {
            order.push(coalition);
            counts.push(0.0);
            order.len() - 1
        });
        counts[at] += 1.0;
    };
    let mut drawn = 0;
    while drawn < samples {
        let mut u = rng.next_f64() * total;
        let mut size = m - 1;
        for (i, w) in sizes.iter().enumerate() {
            if u < *w {
                size = i + 1;
                break;
            }
            u -= w;
        }
        let mut members: Vec<usize> = (0..m).collect();
        // A partial Fisher–Yates: the first `size` entries are a uniform coalition.
        for i in 0..size {
            let j = i + (rng.next_u64() % (m - i) as u64) as usize;
            members.swap(i, j);
        }
        let mut coalition = vec![false; m];
        for &g in &members[..size] {
            coalition[g] = true;
        }
        let complement: Vec<bool> = coalition.iter().map(|k| !k).collect();
        add(coalition, &mut order, &mut counts);
        drawn += 1;
        if drawn < samples {
            add(complement, &mut order, &mut counts);
            drawn += 1;
        }
    }
    let z = order
        .iter()
        .flat_map(|c| c.iter().map(|&k| f32::from(u8::from(k))))
        .collect();
    (z, counts, false)
}

/// The fit of the samples whose varying groups are the same: the design over those groups,
/// efficiency eliminating the last of them, factorised once.
struct Fit {
    /// The varying groups, in order.
    columns: Vec<usize>,
    /// The design, `coalitions × (columns − 1)`: `z_g − z_last` for each varying `g` but the
    /// last.
    x: Vec<f64>,
    /// The weights of the coalitions.
    weights: Vec<f64>,
    /// The factorisation, for two or more varying groups.
    normal: Option<Normal>,
}

impl Fit {
    fn new(z: &[f32], m: usize, weights: &[f64], varies: &[bool]) -> Self {
        let columns: Vec<usize> = (0..m).filter(|&g| varies[g]).collect();
        let (x, normal) = match columns.split_last() {
            Some((&last, rest)) if !rest.is_empty() => {
                let x: Vec<f64> = z
                    .chunks(m)
                    .flat_map(|row| {
                        rest.iter()
                            .map(move |&g| f64::from(row[g]) - f64::from(row[last]))
                    })
                    .collect();
                let design = Design {
                    x: &x,
                    columns: rest.len(),
                    weights,
                };
                let normal = Normal::new(&design, 0.0);
                (x, Some(normal))
            }
            _ => (Vec::new(), None),
        };
        Self {
            columns,
            x,
            weights: weights.to_vec(),
            normal,
        }
    }

    /// Writes the group values of one slot into `out` (`M`): the fit's varying groups, their
    /// sum exactly `delta`, and 0 for the others. `gains` are `v(S) − F(b)` per coalition.
    fn solve(
        &self,
        z: &[f32],
        m: usize,
        gains: impl Iterator<Item = f64>,
        delta: f64,
        out: &mut [f64],
    ) {
        out.fill(0.0);
        let Some((&last, rest)) = self.columns.split_last() else {
            return;
        };
        if let Some(normal) = &self.normal {
            let design = Design {
                x: &self.x,
                columns: rest.len(),
                weights: &self.weights,
            };
            let y: Vec<f64> = gains
                .zip(z.chunks(m))
                .map(|(gain, row)| gain - f64::from(row[last]) * delta)
                .collect();
            for (&g, v) in rest.iter().zip(normal.solve(&design, &y)) {
                out[g] = v;
            }
        }
        out[last] = delta - rest.iter().map(|&g| out[g]).sum::<f64>();
    }
}

/// The Shapley kernel's weight of one coalition of size `s` among `m`.
fn kernel_weight(m: usize, s: usize) -> f64 {
    let mut binomial = 1.0;
    for i in 0..s {
        binomial = binomial * (m - i) as f64 / (i + 1) as f64;
    }
    (m - 1) as f64 / (binomial * (s * (m - s)) as f64)
}

impl<const D: usize> Attribution<D> for KernelShap {
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
        check_fit_groups(m, "kernel-shap")?;
        let baseline = self.baseline.resolve(&input)?;
        let (z, weights, enumerated) = if m > 1 {
            coalitions(m, self.samples, self.seed)
        } else {
            (Vec::new(), Vec::new(), true)
        };
        let count = weights.len();
        let plan = Coalitions::new(&groups, count, &input.device(), |p, _, out: &mut [f32]| {
            out.copy_from_slice(&z[p * m..(p + 1) * m]);
        });
        let scores =
            perturbation::evaluate(&self.kernel, model, &input, &baseline, &target, &plan, true)?;
        let slots = scores.slots();
        let varying = perturbation::varying(&groups, &input, &baseline)?;
        let mut fits: HashMap<Vec<bool>, Fit> = HashMap::new();
        let mut values = vec![0.0; slots * m];
        for slot in 0..slots {
            let varies = &varying[slot % scores.n];
            let fit = fits
                .entry(varies.clone())
                .or_insert_with(|| Fit::new(&z, m, &weights, varies));
            let base = scores.removed()[slot];
            let delta = scores.input[slot] - base;
            fit.solve(
                &z,
                m,
                (0..count).map(|k| scores.at(k, slot) - base),
                delta,
                &mut values[slot * m..(slot + 1) * m],
            );
        }
        let mut details = PerturbationReport::new(m, values.clone()).with_draws(self.seed, count);
        details.enumerated = Some(enumerated);
        let report = scores
            .report(INFO.info.name, &values, m)
            .with_perturbation(details);
        Ok(Attributions {
            values: perturbation::spread(&groups, &values, slots, &input.device()),
            report,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::coalitions;

    /// The drawn coalitions of `m` groups (a budget below `2^m − 2`, so drawn, not
    /// enumerated): each one's members and how many times it was drawn.
    fn drawn(m: usize, samples: usize, seed: u64) -> Vec<(Vec<usize>, f64)> {
        let (z, counts, enumerated) = coalitions(m, samples, seed);
        assert!(!enumerated);
        assert_eq!(counts.iter().sum::<f64>(), samples as f64);
        z.chunks(m)
            .zip(counts)
            .map(|(row, count)| ((0..m).filter(|&g| row[g] == 1.0).collect(), count))
            .collect()
    }

    /// The share of each coalition size `0..=m` among `samples` draws.
    fn size_shares(m: usize, samples: usize, seed: u64) -> Vec<f64> {
        let mut share = vec![0.0; m + 1];
        for (members, count) in drawn(m, samples, seed) {
            share[members.len()] += count / samples as f64;
        }
        share
    }

    /// The Shapley kernel's share of each size: `∝ 1/(s(M − s))` for `0 < s < M`.
    fn kernel_size_shares(m: usize) -> Vec<f64> {
        let total: f64 = (1..m).map(|s| 1.0 / (s * (m - s)) as f64).sum();
        (0..=m)
            .map(|s| {
                if s == 0 || s == m {
                    0.0
                } else {
                    1.0 / (s * (m - s)) as f64 / total
                }
            })
            .collect()
    }

    /// Pearson's χ² of `counts` against `expected` counts (cells expecting nothing left out).
    fn chi2(counts: &[f64], expected: &[f64]) -> f64 {
        counts
            .iter()
            .zip(expected)
            .filter(|(_, e)| **e > 0.0)
            .map(|(c, e)| (c - e).powi(2) / e)
            .sum()
    }

    #[test]
    fn the_sampler_draws_sizes_by_the_shapley_kernel_and_members_uniformly() {
        let (m, samples) = (16, 60_000);
        let draws = drawn(m, samples, 7);
        assert!(draws.iter().all(|(c, _)| !c.is_empty() && c.len() < m));
        // Sizes: χ² over the 15 sizes (14 degrees of freedom); 50 is beyond its 0.99999
        // quantile (about 49), so a right sampler fails once in 10⁵ seeds.
        let mut sizes = vec![0.0; m + 1];
        for (members, count) in &draws {
            sizes[members.len()] += count;
        }
        let expected: Vec<f64> = kernel_size_shares(m)
            .iter()
            .map(|p| p * samples as f64)
            .collect();
        let x2 = chi2(&sizes, &expected);
        assert!(x2 < 50.0, "sizes: χ² = {x2} over 14 degrees of freedom");
        // Members, within a size: every group as likely to be the one of a singleton (χ² over
        // 16 groups, 15 degrees of freedom; 0.99999 quantile about 51).
        let mut singles = vec![0.0; m];
        for (members, count) in &draws {
            if let [g] = members[..] {
                singles[g] += count;
            }
        }
        let each = singles.iter().sum::<f64>() / m as f64;
        let x2 = chi2(&singles, &vec![each; m]);
        assert!(
            x2 < 52.0,
            "singletons: χ² = {x2} over 15 degrees of freedom"
        );
    }

    #[test]
    fn the_samplers_error_shrinks_as_one_over_root_samples() {
        // Complementary pairs are not independent draws, but the size shares still converge at
        // the Monte Carlo rate: 16× the samples, about a quarter of the error.
        let m = 16;
        let expected = kernel_size_shares(m);
        let error = |samples: usize, seed: u64| -> f64 {
            size_shares(m, samples, seed)
                .iter()
                .zip(&expected)
                .map(|(g, e)| (g - e).powi(2))
                .sum()
        };
        let seeds = 30;
        let few: f64 = (0..seeds).map(|s| error(500, s)).sum();
        let many: f64 = (0..seeds).map(|s| error(8000, 100 + s)).sum();
        let ratio = (few / many).sqrt();
        assert!(
            (3.0..5.3).contains(&ratio),
            "error ratio {ratio}, expected 4"
        );
    }

    #[test]
    fn a_budget_of_every_coalition_enumerates_them_once() {
        let (z, weights, enumerated) = coalitions(4, 14, 0);
        assert!(enumerated);
        assert_eq!((z.len(), weights.len()), (14 * 4, 14));
        let mut sets: Vec<usize> = z
            .chunks(4)
            .map(|row| (0..4).filter(|&g| row[g] == 1.0).map(|g| 1 << g).sum())
            .collect();
        sets.sort_unstable();
        assert_eq!(sets, (1..15).collect::<Vec<_>>());
    }
}
