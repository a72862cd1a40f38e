//! Feature permutation: each group's attribution is how much the target output drops when that
//! group's values are taken from another sample of the batch (a permutation of the batch).
//!
//! Breiman, *Random Forests*, 2001 (permutation importance); Fisher, Rudin and Dominici, *All
//! Models are Wrong, but Many are Useful*, 2019. <https://arxiv.org/abs/1801.01489>
#![cfg_attr(
    doc,
    doc = r#"$$\phi_{i,g} = F_c(x_i) - F_c\big(x_i \text{ with group } g \text{ from } x_{\pi_g(i)}\big)$$"#
)]
//!
//! Plain text: `phi_{i,g} = F_c(x_i) − F_c(x_i with group g taken from sample π_g(i))`.
//!
//! As Captum's `FeaturePermutation`: one random permutation of the batch per group, never the
//! identity, so the batch needs at least 2 samples; the values depend on the batch and the
//! seed (the same draws on every backend). Meant for tabular data. Cost: `1 + M` forward rows
//! per sample.

use crate::perturbation::{self, Coalitions, Perturbations, Row};
use crate::registry::{Entry, Family, MethodInfo, Perturbation};
use burn::config::Config;
use burn::tensor::{Device, Tensor};
use ember_core::rng::SplitMix64;
use ember_core::{
    Attribution, Attributions, Error, FeatureMask, GradientKernel, KernelSettings, Model,
    PerturbationReport, Result, Target,
};

/// Feature permutation's entry in the registry.
pub static INFO: Entry<Perturbation> = Entry {
    info: MethodInfo {
        name: "feature-permutation",
        aliases: &["featurepermutation", "permutation"],
        summary: "F(x) − F(x with one group taken from another sample of the batch), group by \
                  group (tabular)",
        captum: Some("FeaturePermutation"),
        signed: true,
        family: Family::Perturbation,
        cost: "1 + groups (forward only)",
        rows_per_sample: |s, dims| 1 + crate::registry::groups_of(s, dims),
    },
    build: |s| {
        Ok(Perturbation::FeaturePermutation(
            FeaturePermutationConfig::new()
                .with_seed(s.seed)
                .with_mask(s.feature_mask.clone())
                .with_kernel(s.kernel.clone())
                .init()?,
        ))
    },
};

/// Hyper-parameters of [`FeaturePermutation`].
#[derive(Config, Debug)]
pub struct FeaturePermutationConfig {
    /// The seed of the permutations.
    #[config(default = 0)]
    pub seed: u64,
    /// The groups; `None` for [`FeatureMask::default_for`] the input.
    #[config(default = "None")]
    pub mask: Option<FeatureMask>,
    /// How the kernel runs: rows per pass, memory budget, the model check.
    #[config(default = "KernelSettings::new()")]
    pub kernel: KernelSettings,
}

ember_core::kernel_shorthands!(FeaturePermutationConfig);

impl FeaturePermutationConfig {
    /// Checks the configuration and builds the method.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for `max_rows` or `memory_budget` of `Some(0)`.
    pub fn init(&self) -> Result<FeaturePermutation> {
        Ok(FeaturePermutation {
            seed: self.seed,
            mask: self.mask.clone(),
            kernel: self.kernel.kernel()?,
        })
    }
}

/// Feature permutation (Captum's `FeaturePermutation`). Build it with
/// [`FeaturePermutationConfig`].
///
/// # Example
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// use ember_core::Attribution;
/// use ember_methods::FeaturePermutationConfig;
///
/// let device = Device::flex();
/// let w = Tensor::<2>::from_floats([[1.0], [0.0]], &device);
/// let model = move |x: Tensor<2>| x.matmul(w.clone());
/// let x = Tensor::<2>::from_floats([[1.0, 5.0], [3.0, 7.0]], &device);
/// let out = FeaturePermutationConfig::new().init()?.attribute(&model, x, 0)?;
/// // Two samples: the only permutation swaps them; the second column is unused.
/// assert_eq!(out.values.to_data().try_to_vec::<f32>().unwrap(), vec![-2.0, 0.0, 2.0, 0.0]);
/// # Ok::<(), ember_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct FeaturePermutation {
    seed: u64,
    mask: Option<FeatureMask>,
    kernel: GradientKernel,
}

/// Group `g`'s rows take the group from sample `permutations[g][i]`.
struct Permuted<P> {
    inner: P,
    permutations: Vec<Vec<usize>>,
}

impl<P: Perturbations> Perturbations for Permuted<P> {
    fn len(&self) -> usize {
        self.inner.len()
    }

    fn keep(&self, rows: &[(Row, usize)], device: &Device) -> Result<Tensor<2>> {
        self.inner.keep(rows, device)
    }

    fn replacement_sample(&self, p: usize, sample: usize) -> usize {
        self.permutations[p][sample]
    }
}

/// One permutation of `n ≥ 2` samples per group, none the identity.
fn permutations(n: usize, groups: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut rng = SplitMix64::new(seed);
    (0..groups)
        .map(|_| {
            let identity: Vec<usize> = (0..n).collect();
            let mut order = identity.clone();
            while order == identity {
                rng.shuffle(&mut order);
            }
            order
        })
        .collect()
}

impl<const D: usize> Attribution<D> for FeaturePermutation {
    fn attribute<M: Model<D> + ?Sized>(
        &self,
        model: &M,
        input: Tensor<D>,
        target: impl Into<Target>,
    ) -> Result<Attributions<D>> {
        let target = target.into();
        let (input, groups) =
            perturbation::prepare(&self.kernel, model, input, self.mask.as_ref())?;
        let (n, m) = (groups.batch(), groups.count());
        if n < 2 {
            return Err(Error::InvalidConfig {
                name: "batch",
                value: "1 sample".into(),
                expected: "at least 2 samples: feature permutation takes each group from \
                           another sample of the batch",
            });
        }
        let plan = Permuted {
            inner: Coalitions::new(&groups, m, &input.device(), |g, _, z: &mut [f32]| {
                z.fill(1.0);
                z[g] = 0.0;
            }),
            permutations: permutations(n, m, self.seed),
        };
        let scores =
            perturbation::evaluate(&self.kernel, model, &input, &input, &target, &plan, false)?;
        let slots = scores.slots();
        let mut values = vec![0.0; slots * m];
        for slot in 0..slots {
            for g in 0..m {
                values[slot * m + g] = scores.input[slot] - scores.at(g, slot);
            }
        }
        let report = scores
            .report(INFO.info.name, &values, m)
            .with_perturbation(PerturbationReport::new(m, values.clone()).with_draws(self.seed, m));
        Ok(Attributions {
            values: perturbation::spread(&groups, &values, slots, &input.device()),
            report,
        })
    }
}
