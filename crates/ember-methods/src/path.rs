//! The straight-line path plan, `x′ + α (x − x′)` for every slot at every point `α` of a rule:
//! Integrated Gradients' plan (over a set of baselines, IG uses `drawn.rs`'s plan, as
//! GradientSHAP does). Also two host helpers of path methods.

use std::ops::Range;

use burn::tensor::{Device, Int, Tensor, TensorData};
use ember_core::kernel::{Block, Plan, Run, Slots};
use ember_core::validate::read_f64;
use ember_core::{Result, RowTargets};

/// Multiplies row `i` of `tensor` by `scale[i]` (skipped when every scale is 1).
pub(crate) fn scaled<const D: usize>(tensor: Tensor<D>, scale: &[f64]) -> Tensor<D> {
    if scale.iter().all(|&s| s == 1.0) {
        return tensor;
    }
    let mut shape = [1; D];
    shape[0] = scale.len();
    let device = tensor.device();
    let scale = Tensor::<1>::from_data(TensorData::new(scale.to_vec(), [scale.len()]), &device);
    tensor * scale.reshape(shape)
}

/// The sum of each row (everything but dimension 0), read to the host.
pub(crate) fn row_sums<const D: usize>(tensor: Tensor<D>) -> Result<Vec<f64>> {
    let rows = tensor.dims()[0];
    let sums: Tensor<2> = tensor.reshape([rows as i64, -1]).sum_dim(1);
    read_f64(sums)
}

/// The evaluation points of one run of the kernel.
#[derive(Debug, Clone)]
pub(crate) enum Points {
    /// Every slot at every `alphas[k]`, weighted `weights[k]`, point-major: row `r` is point
    /// `r / slots` of slot `r % slots`, so a block is a few whole "layers" of all slots and
    /// folds without scatter.
    Rule {
        /// The points `α_k` on `[0, 1]`.
        alphas: Vec<f64>,
        /// Their weights.
        weights: Vec<f64>,
    },
    /// The new points of level `level` of the nested trapezoid rule, `(2i + 1) / 2^level`,
    /// for the `active` slots, each with weight 1; row `r` is point `r % 2^(level−1)` of
    /// slot `active[r / 2^(level−1)]`.
    Midpoints {
        /// The slots still refining.
        active: Vec<usize>,
        /// The level of the nested rule.
        level: u32,
    },
}

/// The straight-line path plan: slot `s` explains sample `s % batch` for `targets[s]`.
pub(crate) struct PathPlan<const D: usize> {
    /// `x′` of every slot, flattened: `[slots, features]`.
    pub(crate) baseline: Tensor<2>,
    /// `x − x′` of every slot, flattened: `[slots, features]`.
    pub(crate) direction: Tensor<2>,
    /// The shape of one sample, `[1, ...]`.
    sample_shape: [usize; D],
    pub(crate) features: usize,
    pub(crate) batch: usize,
    pub(crate) targets: Vec<usize>,
    pub(crate) points: Points,
}

impl<const D: usize> PathPlan<D> {
    /// The plan of `per_sample` slots per sample, from `baseline` along `direction`
    /// (`x − x′`), with no points yet.
    pub(crate) fn new(
        baseline: &Tensor<D>,
        direction: &Tensor<D>,
        per_sample: usize,
        targets: Vec<usize>,
    ) -> Self {
        let dims = baseline.dims();
        let batch = dims[0];
        let features = dims[1..].iter().product::<usize>();
        let slots = batch * per_sample;
        let flat = |t: &Tensor<D>| -> Tensor<2> {
            t.clone()
                .repeat_dim(0, per_sample)
                .reshape([slots, features])
        };
        let mut sample_shape = dims;
        sample_shape[0] = 1;
        Self {
            baseline: flat(baseline),
            direction: flat(direction),
            sample_shape,
            features,
            batch,
            targets,
            points: Points::Rule {
                alphas: Vec::new(),
                weights: Vec::new(),
            },
        }
    }

    /// Flat rows `[n, features]` back to the sample shape `[n, ...]`.
    fn shaped(&self, rows: Tensor<2>) -> Tensor<D> {
        let mut shape = self.sample_shape;
        shape[0] = rows.dims()[0];
        rows.reshape(shape)
    }

    /// A block of the point-major fixed rule.
    fn rule_block(&self, range: Range<usize>, alphas: &[f64], weights: &[f64]) -> Block<D> {
        let slots = self.targets.len();
        let device = self.baseline.device();
        let (mut parts, mut runs, mut row_targets) = (Vec::new(), Vec::new(), Vec::new());
        let mut r = range.start;
        while r < range.end {
            let (point, slot) = (r / slots, r % slots);
            let full = if slot == 0 {
                (range.end - r) / slots
            } else {
                0
            };
            if full > 0 {
                // `full` whole layers: x′ + α_k (x − x′) for every slot, by broadcasting.
                let a: Tensor<3> = Tensor::<1>::from_data(
                    TensorData::new(alphas[point..point + full].to_vec(), [full]),
                    &device,
                )
                .reshape([full, 1, 1]);
                let layers = self.baseline.clone().unsqueeze_dim::<3>(0)
                    + self.direction.clone().unsqueeze_dim::<3>(0) * a;
                parts.push(layers.reshape([full * slots, self.features]));
                runs.push(Run {
                    slot: 0,
                    len: slots,
                    weights: weights[point..point + full].to_vec(),
                });
                for _ in 0..full {
                    row_targets.extend_from_slice(&self.targets);
                }
                r += full * slots;
            } else {
                let len = (slots - slot).min(range.end - r);
                parts.push(
                    self.baseline.clone().narrow(0, slot, len)
                        + self.direction.clone().narrow(0, slot, len) * alphas[point],
                );
                runs.push(Run {
                    slot,
                    len,
                    weights: vec![weights[point]],
                });
                row_targets.extend_from_slice(&self.targets[slot..slot + len]);
                r += len;
            }
        }
        let rows = if parts.len() == 1 {
            parts.pop().expect("one part")
        } else {
            Tensor::cat(parts, 0)
        };
        Block::new(
            self.shaped(rows),
            Slots::Runs(runs),
            RowTargets::Indices(row_targets),
        )
    }

    /// A block of adaptive midpoints: any slots, gathered.
    fn midpoint_block(&self, range: Range<usize>, active: &[usize], level: u32) -> Block<D> {
        let n = range.len();
        let per_slot = 1usize << (level - 1);
        let (mut slots, mut alphas) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for r in range {
            slots.push(active[r / per_slot]);
            alphas.push((2 * (r % per_slot) + 1) as f64 / (1usize << level) as f64);
        }
        let device = self.baseline.device();
        let index = Tensor::<1, Int>::from_data(
            TensorData::new(slots.iter().map(|&s| s as i64).collect::<Vec<_>>(), [n]),
            &device,
        );
        let alphas = Tensor::<1>::from_data(TensorData::new(alphas, [n]), &device).reshape([n, 1]);
        let rows = self.baseline.clone().select(0, index.clone())
            + self.direction.clone().select(0, index) * alphas;
        let targets = slots.iter().map(|&s| self.targets[s]).collect();
        Block::new(
            self.shaped(rows),
            Slots::Scatter {
                slots,
                weights: None,
            },
            RowTargets::Indices(targets),
        )
    }
}

impl<const D: usize> Plan<D> for PathPlan<D> {
    fn len(&self) -> usize {
        match &self.points {
            Points::Rule { alphas, .. } => self.targets.len() * alphas.len(),
            Points::Midpoints { active, level } => active.len() << (level - 1),
        }
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
        self.baseline.device()
    }

    fn block(&self, range: Range<usize>) -> Result<Block<D>> {
        Ok(match &self.points {
            Points::Rule { alphas, weights } => self.rule_block(range, alphas, weights),
            Points::Midpoints { active, level } => self.midpoint_block(range, active, *level),
        })
    }
}
