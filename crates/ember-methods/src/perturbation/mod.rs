//! The forward-only plan every perturbation method shares.
//!
//! Row `r` of the plan is a (perturbation, sample) pair, perturbation-major: first `F(x)` for
//! every sample ([`Row::Input`]), then, if the method asks for it, every group removed
//! ([`Row::Removed`], `F(b)`), then the method's perturbations. Each block is built on the
//! device as `x ⊙ m + b ⊙ (1 − m)` from a keep mask `m` (exact for `m ∈ {0, 1}`: a kept
//! element is `x` itself), streamed by the kernel's forward primitive (no autodiff, no
//! backward), and every target's score of every row is folded into host f64. Several targets
//! cost no extra rows.
//!
//! - [`Perturbations`]: what a method perturbs (its keep masks);
//! - [`Coalitions`]: perturbations that keep a subset of a [`Groups`]' groups, built with one
//!   `gather` of a small `[rows, M + 1]` coalition matrix;
//! - [`evaluate`]: the plan, streamed, and its [`Scores`];
//! - [`surrogate`]: the least-squares, ridge and Lasso fits of KernelSHAP and LIME.

pub(crate) mod surrogate;

use std::ops::Range;

use burn::tensor::{Device, Int, Tensor, TensorData};
use ember_core::kernel::{KernelStats, RowTargets, RowsFrom};
use ember_core::{Error, GradientKernel, Groups, Model, Report, Result, Target};

/// The kind of a row of the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Row {
    /// The input itself, `F(x)`.
    Input,
    /// Every group removed, `F(b)` (elements that are never perturbed stay).
    Removed,
    /// The method's perturbation `p`.
    Perturbed(usize),
}

/// What a method perturbs: `len()` perturbations of every sample, as keep masks.
pub(crate) trait Perturbations {
    /// The number of perturbations (besides [`Row::Input`] and [`Row::Removed`]).
    fn len(&self) -> usize;

    /// The keep mask of every row, `[rows.len(), features]` on `device`: 1 where the row
    /// keeps the sample's value, 0 where it takes the replacement's.
    fn keep(&self, rows: &[(Row, usize)], device: &Device) -> Result<Tensor<2>>;

    /// The sample of the replacement tensor that perturbation `p` of `sample` takes its
    /// removed values from (the sample's own baseline, unless the method says otherwise).
    fn replacement_sample(&self, _p: usize, sample: usize) -> usize {
        sample
    }
}

/// Perturbations that each keep a subset of the groups: `fill(p, sample, z)` writes
/// perturbation `p`'s coalition (`z[g] = 1` keeps group `g`) for `sample`.
pub(crate) struct Coalitions<'a, F> {
    groups: &'a Groups,
    index: Tensor<2, Int>,
    len: usize,
    fill: F,
}

impl<'a, F: Fn(usize, usize, &mut [f32])> Coalitions<'a, F> {
    /// `len` coalitions of `groups`, on `device`.
    pub(crate) fn new(groups: &'a Groups, len: usize, device: &Device, fill: F) -> Self {
        Self {
            groups,
            index: groups.index_tensor(device),
            len,
            fill,
        }
    }
}

impl<F: Fn(usize, usize, &mut [f32])> Perturbations for Coalitions<'_, F> {
    fn len(&self) -> usize {
        self.len
    }

    fn keep(&self, rows: &[(Row, usize)], device: &Device) -> Result<Tensor<2>> {
        let m = self.groups.count();
        let width = m + 1;
        let mut z = vec![0f32; rows.len() * width];
        for (i, &(row, sample)) in rows.iter().enumerate() {
            let line = &mut z[i * width..(i + 1) * width];
            // The last column keeps the elements that are never perturbed.
            line[m] = 1.0;
            match row {
                Row::Input => line.fill(1.0),
                Row::Removed => {}
                Row::Perturbed(p) => (self.fill)(p, sample, &mut line[..m]),
            }
        }
        let z = Tensor::<2>::from_data(TensorData::new(z, [rows.len(), width]), device);
        let features = self.groups.features();
        let index = if self.groups.shared() {
            self.index.clone().expand([rows.len(), features])
        } else {
            let samples: Vec<i64> = rows.iter().map(|&(_, s)| s as i64).collect();
            let samples =
                Tensor::<1, Int>::from_data(TensorData::new(samples, [rows.len()]), device);
            self.index.clone().select(0, samples)
        };
        Ok(z.gather(1, index))
    }
}

/// Every target's score of every row of a perturbation plan, on the host in f64.
#[derive(Debug, Clone)]
pub(crate) struct Scores {
    /// Samples, N.
    pub n: usize,
    /// Targets per sample, K.
    pub k: usize,
    /// The target of each (target, sample) slot, target-major (`t·N + s`).
    pub targets: Vec<usize>,
    /// `F(x)` per slot.
    pub input: Vec<f64>,
    /// `F(b)` per slot, when the plan has the removed rows.
    pub removed: Option<Vec<f64>>,
    /// Perturbation `p`'s score at slot `j` is `perturbed[p · K·N + j]`.
    pub perturbed: Vec<f64>,
    /// What the kernel did.
    pub stats: KernelStats,
}

impl Scores {
    /// Slots, K·N.
    pub(crate) fn slots(&self) -> usize {
        self.k * self.n
    }

    /// Perturbation `p`'s score at `slot`.
    pub(crate) fn at(&self, p: usize, slot: usize) -> f64 {
        self.perturbed[p * self.slots() + slot]
    }

    /// `F(b)` per slot (the removed rows must be in the plan).
    pub(crate) fn removed(&self) -> &[f64] {
        self.removed
            .as_deref()
            .expect("a plan with the removed rows")
    }

    /// The report of a method whose group values sum towards `F(x) − F(b)`: scores, and the
    /// baseline's scores and delta `Σφ − (F(x) − F(b))` per slot.
    pub(crate) fn report(&self, method: &str, group_values: &[f64], m: usize) -> Report {
        let report = Report::new(method, self.targets.clone(), self.input.clone(), self.stats)
            .with_targets_per_sample(self.k);
        match &self.removed {
            Some(removed) => {
                let delta = (0..self.slots())
                    .map(|j| {
                        let total: f64 = group_values[j * m..(j + 1) * m].iter().sum();
                        total - (self.input[j] - removed[j])
                    })
                    .collect();
                report.with_path(removed.clone(), delta)
            }
            None => report,
        }
    }
}

/// Streams the plan of `perturbations` through the model, forward only, and returns every
/// target's score of every row.
///
/// `input` and `replacement` are `[N, ...]` on the plain device (`replacement` is what removed
/// values become: the baseline, or the input itself for a permutation); with `removed`, the
/// plan has `F(b)`'s rows. The caller has checked the call ([`GradientKernel::check_call`]).
///
/// # Errors
///
/// The kernel's errors ([`GradientKernel::forward`]), and the target's
/// ([`Target::rows`]).
pub(crate) fn evaluate<const D: usize, M: Model<D> + ?Sized, P: Perturbations>(
    kernel: &GradientKernel,
    model: &M,
    input: &Tensor<D>,
    replacement: &Tensor<D>,
    target: &Target,
    perturbations: &P,
    removed: bool,
) -> Result<Scores> {
    let dims = input.dims();
    let n = dims[0];
    let features: usize = dims[1..].iter().product();
    let device = input.device();
    let k = target.per_sample();
    let given = match target.rows(n)? {
        RowTargets::Indices(indices) => Some(indices),
        _ => None,
    };
    let fixed = 1 + usize::from(removed);
    let total = (fixed + perturbations.len()) * n;
    let kind = |r: usize| {
        let (p, s) = (r / n, r % n);
        let row = match p {
            0 => Row::Input,
            1 if removed => Row::Removed,
            p => Row::Perturbed(p - fixed),
        };
        (row, s)
    };
    let flat_x: Tensor<2> = input.clone().reshape([n, features]);
    let flat_b: Tensor<2> = replacement.clone().reshape([n, features]);
    let largest: Vec<Option<usize>> = (0..n)
        .map(|s| {
            given
                .as_ref()
                .and_then(|i| i.iter().skip(s).step_by(n).max().copied())
        })
        .collect();
    let plan = RowsFrom {
        len: total,
        features,
        device: device.clone(),
        build: |range: Range<usize>| {
            let rows: Vec<(Row, usize)> = range.map(kind).collect();
            let keep = perturbations.keep(&rows, &device)?;
            let index = |pick: &dyn Fn(Row, usize) -> usize| {
                let picked: Vec<i64> = rows.iter().map(|&(r, s)| pick(r, s) as i64).collect();
                Tensor::<1, Int>::from_data(TensorData::new(picked, [rows.len()]), &device)
            };
            let x = flat_x.clone().select(0, index(&|_, s| s));
            let b = flat_b.clone().select(
                0,
                index(&|r, s| match r {
                    Row::Perturbed(p) => perturbations.replacement_sample(p, s),
                    _ => s,
                }),
            );
            let mut shape = dims;
            shape[0] = rows.len();
            let drop = keep.clone().neg().add_scalar(1.0);
            Ok::<_, Error>((x * keep + b * drop).reshape(shape))
        },
        sample: |row| row % n,
        target: |row| largest[row % n],
    };
    let slots = k * n;
    let mut targets = given.clone().unwrap_or_else(|| vec![0; n]);
    let mut input_scores = vec![0.0; slots];
    let mut removed_scores = vec![0.0; if removed { slots } else { 0 }];
    let mut perturbed = vec![0.0; perturbations.len() * slots];
    let passes = kernel.forward(model, &plan, |range, values, cols| {
        for (r, output) in range.zip(values.chunks(cols)) {
            let (row, s) = kind(r);
            if row == Row::Input && given.is_none() {
                // `Predicted`: the argmax at the input, whose rows come first.
                targets[s] = first_argmax(output);
            }
            for t in 0..k {
                let slot = t * n + s;
                let score = output[targets[slot]];
                match row {
                    Row::Input => input_scores[slot] = score,
                    Row::Removed => removed_scores[slot] = score,
                    Row::Perturbed(p) => perturbed[p * slots + slot] = score,
                }
            }
        }
        Ok(())
    })?;
    let per_pass = kernel.rows_per_pass(&device, features).min(total);
    Ok(Scores {
        n,
        k,
        targets,
        input: input_scores,
        removed: removed.then_some(removed_scores),
        perturbed,
        stats: KernelStats {
            rows: total,
            passes,
            max_rows_per_pass: per_pass,
        },
    })
}

/// Index of the first maximum of a row.
fn first_argmax(row: &[f64]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}

/// The attributions of per-group values `[K·N, M]` (slot-major): every element of a group
/// carries the group's value, `[K·N, ...]` target-major like every method's maps.
pub(crate) fn spread<const D: usize>(
    groups: &Groups,
    group_values: &[f64],
    slots: usize,
    device: &Device,
) -> Tensor<D> {
    let m = groups.count();
    let n = groups.batch();
    let mut values = Vec::with_capacity(slots * groups.features());
    for slot in 0..slots {
        values.extend(groups.spread(slot % n, &group_values[slot * m..(slot + 1) * m]));
    }
    let mut shape = [0usize; D];
    shape.copy_from_slice(groups.dims());
    shape[0] = slots;
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// The checked start of every perturbation method: the call's checks, the input on the plain
/// device, and its groups under `mask` (`None`: [`ember_core::FeatureMask::default_for`]).
pub(crate) fn prepare<const D: usize, M: Model<D> + ?Sized>(
    kernel: &GradientKernel,
    model: &M,
    input: Tensor<D>,
    mask: Option<&ember_core::FeatureMask>,
) -> Result<(Tensor<D>, Groups)> {
    kernel.check_call(model, &input)?;
    let input = input.without_autodiff();
    let dims = input.dims();
    let default;
    let mask = match mask {
        Some(mask) => mask,
        None => {
            default = ember_core::FeatureMask::default_for(&dims);
            &default
        }
    };
    let groups = mask.groups(&dims)?;
    Ok((input, groups))
}

/// Which groups of each sample differ from the replacement (`shap`'s "varying" features): a
/// group whose every element equals its replacement changes nothing when removed, so its
/// Shapley value is exactly 0. `[N][M]`.
///
/// # Errors
///
/// [`Error::Backend`] if the values cannot be read back.
pub(crate) fn varying<const D: usize>(
    groups: &Groups,
    input: &Tensor<D>,
    replacement: &Tensor<D>,
) -> Result<Vec<Vec<bool>>> {
    let x = ember_core::validate::read_f64(input.clone())?;
    let b = ember_core::validate::read_f64(replacement.clone())?;
    let f = groups.features();
    Ok((0..groups.batch())
        .map(|i| {
            let mut varies = vec![false; groups.count()];
            let row = i * f..(i + 1) * f;
            for ((&id, &xv), &bv) in groups.ids(i).iter().zip(&x[row.clone()]).zip(&b[row]) {
                if id >= 0 && xv != bv {
                    varies[id as usize] = true;
                }
            }
            varies
        })
        .collect())
}
