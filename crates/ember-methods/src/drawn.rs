//! The path plan over a set of baselines: row `b_k + α (x + ε − b_k)` with the gradient scaled
//! by `x + ε − b_k`, so that whatever the number of draws, each sample (and target) keeps ONE
//! accumulator. GradientSHAP and Expected Gradients draw `(k, α)` at random; Integrated
//! Gradients over `K` baselines takes every `(k, α_j)` of its rule.
//!
//! Rows are draw-major ("layers"), slot-minor: row `r` is draw `r / slots` of slot
//! `r % slots`, and slot `t·batch + i` is sample `i` for its `t`-th target. Every target of a
//! sample takes the sample's draws, so several targets cost no extra draws.

use std::ops::Range;

use burn::tensor::{Device, Int, Tensor, TensorData};
use ember_core::kernel::{Block, Plan, RowsFrom, Run, Slots};
use ember_core::rng::SplitMix64;
use ember_core::{GradientKernel, Model, Result, RowTargets};

/// The Gaussian noise added to the input of each draw: `ε ~ N(0, σ²)` element-wise, drawn on
/// the host from a generator seeded by the seed and the draw's place (draw, sample), so a seed
/// gives the same noise on every device and for every block size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct DrawNoise {
    /// The standard deviation σ (absolute).
    pub(crate) sigma: f64,
    /// The seed.
    pub(crate) seed: u64,
}

impl DrawNoise {
    /// The noise of draw `draw` of sample `sample` (of `batch`), `features` values.
    fn values(&self, draw: usize, sample: usize, batch: usize, features: usize) -> Vec<f64> {
        // The noise's generator is not the draw's (`!seed`): the two streams differ.
        let mut rng = SplitMix64::new(place_seed(!self.seed, draw * batch + sample));
        (0..features)
            .map(|_| self.sigma * rng.next_normal())
            .collect()
    }
}

/// The draws of a [`DrawnPlan`]: for draw `d` and sample `i`, a baseline index and a point `α`
/// on its path, and for every row of draw `d` a weight. Computed per row when a block is built
/// (except recorded draws), so memory does not grow with the number of draws.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Draws {
    /// Every baseline at every point of a rule, the same for every sample: draw `j·K + k` is
    /// baseline `k` at `alphas[j]`, weighted `weights[j] / K` (Integrated Gradients over `K`
    /// baselines).
    Every {
        k: usize,
        alphas: Vec<f64>,
        weights: Vec<f64>,
    },
    /// `draws` random draws per sample, each weighted `1 / draws`: a baseline index uniform
    /// over `0..k` (with replacement) and `α ~ U(0, 1)`, from a generator seeded by `seed` and
    /// the draw's place `d·batch + i`.
    Random { k: usize, draws: usize, seed: u64 },
    /// Recorded draws, draw-major: entry `d·batch + i`; every draw weighted `1 / draws`.
    Recorded {
        index: Vec<usize>,
        alpha: Vec<f64>,
        draws: usize,
    },
}

impl Draws {
    /// The number of draws per sample.
    pub(crate) fn len(&self) -> usize {
        match self {
            Draws::Every { k, alphas, .. } => k * alphas.len(),
            Draws::Random { draws, .. } | Draws::Recorded { draws, .. } => *draws,
        }
    }

    /// The weight of every row of draw `draw`.
    fn weight(&self, draw: usize) -> f64 {
        match self {
            Draws::Every { k, weights, .. } => weights[draw / k] / *k as f64,
            Draws::Random { draws, .. } | Draws::Recorded { draws, .. } => 1.0 / *draws as f64,
        }
    }

    /// The baseline index and `α` of draw `draw` of sample `sample` (of `batch`).
    fn at(&self, draw: usize, sample: usize, batch: usize) -> (usize, f64) {
        match self {
            Draws::Every { k, alphas, .. } => (draw % k, alphas[draw / k]),
            Draws::Random { k, seed, .. } => {
                let mut rng = SplitMix64::new(place_seed(*seed, draw * batch + sample));
                let index = (rng.next_u64() % *k as u64) as usize;
                (index, rng.next_f64())
            }
            Draws::Recorded { index, alpha, .. } => {
                let at = draw * batch + sample;
                (index[at], alpha[at])
            }
        }
    }
}

/// The seed of one draw's generator: `seed` mixed with the draw's place, so draws do not
/// depend on the blocks they fall in.
fn place_seed(seed: u64, place: usize) -> u64 {
    SplitMix64::new(seed ^ (place as u64).wrapping_mul(0xD1B5_4A32_D192_ED03)).next_u64()
}

/// The plan: slot `s` explains sample `s % batch` for `targets[s]`.
pub(crate) struct DrawnPlan<const D: usize> {
    /// The inputs, flattened: `[batch, features]`.
    inputs: Tensor<2>,
    /// The baselines, flattened: `[K, features]`.
    baselines: Tensor<2>,
    sample_shape: [usize; D],
    features: usize,
    batch: usize,
    targets: Vec<usize>,
    draws: Draws,
    noise: Option<DrawNoise>,
    /// Whether each gradient is scaled by `x + ε − b` (the attribution) or not (the mean
    /// gradient, Captum's `multiply_by_inputs=False`).
    scale: bool,
}

impl<const D: usize> DrawnPlan<D> {
    /// The plan over `baselines` `[K, features]` for `input` `[batch, ...]`.
    pub(crate) fn new(
        input: &Tensor<D>,
        baselines: Tensor<2>,
        targets: Vec<usize>,
        draws: Draws,
        noise: Option<DrawNoise>,
        scale: bool,
    ) -> Self {
        let dims = input.dims();
        let batch = dims[0];
        let features = dims[1..].iter().product::<usize>();
        let mut sample_shape = dims;
        sample_shape[0] = 1;
        Self {
            inputs: input.clone().reshape([batch, features]),
            baselines,
            sample_shape,
            features,
            batch,
            targets,
            draws,
            noise: noise.filter(|n| n.sigma > 0.0),
            scale,
        }
    }

    fn shaped(&self, rows: Tensor<2>) -> Tensor<D> {
        let mut shape = self.sample_shape;
        shape[0] = rows.dims()[0];
        rows.reshape(shape)
    }

    /// The runs of rows `range`: one per draw met, whole draws of every slot merged into one
    /// run of several copies.
    fn runs(&self, range: Range<usize>) -> Vec<Run> {
        let slots = self.targets.len();
        let mut runs: Vec<Run> = Vec::new();
        let mut r = range.start;
        while r < range.end {
            let (draw, slot) = (r / slots, r % slots);
            let len = (slots - slot).min(range.end - r);
            let weight = self.draws.weight(draw);
            match runs.last_mut() {
                Some(last) if slot == 0 && len == slots && last.slot == 0 && last.len == slots => {
                    last.weights.push(weight)
                }
                _ => runs.push(Run {
                    slot,
                    len,
                    weights: vec![weight],
                }),
            }
            r += len;
        }
        runs
    }
}

impl<const D: usize> Plan<D> for DrawnPlan<D> {
    fn len(&self) -> usize {
        self.targets.len() * self.draws.len()
    }

    fn slots(&self) -> usize {
        self.targets.len()
    }

    fn sample(&self, slot: usize) -> usize {
        slot % self.batch
    }

    fn features(&self) -> usize {
        self.features
    }

    fn device(&self) -> Device {
        self.inputs.device()
    }

    fn block(&self, range: Range<usize>) -> Result<Block<D>> {
        let slots = self.targets.len();
        let n = range.len();
        let device = self.inputs.device();
        let (mut samples, mut bases, mut alphas, mut targets) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        for r in range.clone() {
            let (draw, slot) = (r / slots, r % slots);
            let sample = slot % self.batch;
            let (base, alpha) = self.draws.at(draw, sample, self.batch);
            samples.push(sample as i64);
            bases.push(base as i64);
            alphas.push(alpha);
            targets.push(self.targets[slot]);
        }
        let index =
            |values: Vec<i64>| Tensor::<1, Int>::from_data(TensorData::new(values, [n]), &device);
        let mut x = self.inputs.clone().select(0, index(samples));
        if let Some(noise) = &self.noise {
            let mut values = Vec::with_capacity(n * self.features);
            for r in range.clone() {
                let sample = (r % slots) % self.batch;
                values.extend(noise.values(r / slots, sample, self.batch, self.features));
            }
            x = x + Tensor::<2>::from_data(TensorData::new(values, [n, self.features]), &device);
        }
        let b = self.baselines.clone().select(0, index(bases));
        let direction = x - b.clone();
        let alphas = Tensor::<1>::from_data(TensorData::new(alphas, [n]), &device).reshape([n, 1]);
        let rows = b + direction.clone() * alphas;
        let block = Block::new(
            self.shaped(rows),
            Slots::Runs(self.runs(range)),
            RowTargets::Indices(targets),
        );
        Ok(if self.scale {
            block.with_scale(self.shaped(direction))
        } else {
            block
        })
    }
}

/// `(1/K) Σ_k F_t(b_k)` for every slot (sample `slot % batch`, target `targets[slot]`),
/// forward only: `K` rows for a model without auxiliary inputs; `K × batch` rows for one with
/// them, each baseline evaluated as every sample (so its auxiliary inputs, an attention mask,
/// are the sample's).
pub(crate) fn mean_baseline_scores<const D: usize, M: Model<D> + ?Sized>(
    kernel: &GradientKernel,
    model: &M,
    input: &Tensor<D>,
    baselines: &Tensor<2>,
    targets: &[usize],
) -> Result<Vec<f64>> {
    let dims = input.dims();
    let batch = dims[0];
    let k = baselines.dims()[0];
    let features = dims[1..].iter().product::<usize>();
    let per_sample = targets.len() / batch;
    let device = baselines.device();
    // Without auxiliary inputs F(b_k) is the same for every sample: one row per baseline.
    let shared = model.auxiliary_samples().is_empty();
    let as_samples = if shared { 1 } else { batch };
    let mut sample_shape = dims;
    sample_shape[0] = 1;
    let plan = RowsFrom {
        len: k * as_samples,
        features,
        device: device.clone(),
        build: |range: Range<usize>| {
            let n = range.len();
            let index: Vec<i64> = range.map(|r| (r / as_samples) as i64).collect();
            let index = Tensor::<1, Int>::from_data(TensorData::new(index, [n]), &device);
            let mut shape = sample_shape;
            shape[0] = n;
            Ok(baselines.clone().select(0, index).reshape(shape))
        },
        sample: |row| row % as_samples,
        target: |row| {
            let samples = if shared {
                0..batch
            } else {
                row % batch..row % batch + 1
            };
            samples
                .flat_map(|i| (0..per_sample).map(move |t| t * batch + i))
                .map(|slot| targets[slot])
                .max()
        },
    };
    let mut sums = vec![0.0; targets.len()];
    kernel.forward(model, &plan, |range, values, outputs| {
        for (offset, row) in range.enumerate() {
            let slots: Vec<usize> = if shared {
                (0..targets.len()).collect()
            } else {
                (0..per_sample).map(|t| t * batch + row % batch).collect()
            };
            for slot in slots {
                sums[slot] += values[offset * outputs + targets[slot]];
            }
        }
        Ok(())
    })?;
    Ok(sums.into_iter().map(|s| s / k as f64).collect())
}

/// The forward rows [`mean_baseline_scores`] evaluates: `k`, or `k × batch` for a model with
/// auxiliary inputs.
pub(crate) fn baseline_rows<const D: usize, M: Model<D> + ?Sized>(
    model: &M,
    k: usize,
    batch: usize,
) -> usize {
    if model.auxiliary_samples().is_empty() {
        k
    } else {
        k * batch
    }
}
