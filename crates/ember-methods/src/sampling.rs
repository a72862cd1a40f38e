//! Sampling for the methods that average over draws: a seeded Gaussian noise stream over a
//! batch, drawn ahead on a second thread ([`Noise`]: SmoothGrad's, and next GradientSHAP's),
//! and running moments folded block by block ([`Moments`]: Chan et al.'s pairwise update of
//! the mean and `M2`, for SmoothGrad² and VarGrad, and next sampled Shapley values).

use burn::tensor::{FloatDType, Tensor, TensorData};
use ember_core::rng::SplitMix64;
use ember_core::{Error, Result};

/// The seeded noise stream: copy after copy, sample after sample, element after element.
pub(crate) struct Noise {
    rng: SplitMix64,
    input: Vec<f64>,
    sigmas: Vec<f64>,
}

/// The largest block of noisy copies (bytes on the host) drawn on a second thread while the
/// previous block runs: above it, the host memory of one more block outweighs hiding the
/// draw, which a model that large hides anyway.
const OVERLAP_BYTES: usize = 32 << 20;

impl Noise {
    /// The stream of seed `seed` over `input` (flat, every sample), one σ per sample.
    pub(crate) fn new(seed: u64, input: Vec<f64>, sigmas: Vec<f64>) -> Self {
        Self {
            rng: SplitMix64::new(seed),
            input,
            sigmas,
        }
    }

    /// The next `copies` noisy copies of the batch, `[copies · batch, ...]` noise-major, on
    /// `like`'s device (for [`crate::SmoothGrad::noisy_inputs`]).
    pub(crate) fn next_copies<const D: usize>(
        &mut self,
        copies: usize,
        like: &Tensor<D>,
    ) -> Tensor<D> {
        let device = like.device();
        let f64_device = device.settings().float_dtype == FloatDType::F64;
        let mut shape = like.dims();
        shape[0] = copies * self.sigmas.len();
        Tensor::from_data(self.next_data(copies, f64_device, &shape), &device)
    }

    /// The next `copies` noisy copies of the batch as flat host data, drawn in f64 and stored
    /// in the device's precision (f32 unless the device is f64), so an f32 device needs no
    /// conversion pass.
    pub(crate) fn next_data(
        &mut self,
        copies: usize,
        f64_device: bool,
        shape: &[usize],
    ) -> TensorData {
        let (input, sigmas, rng) = (&self.input, &self.sigmas, &mut self.rng);
        let per_sample = input.len() / sigmas.len();
        let count = copies * input.len();
        let noisy = (0..copies).flat_map(|_| {
            sigmas.iter().enumerate().flat_map(move |(sample, &sigma)| {
                let x = &input[sample * per_sample..(sample + 1) * per_sample];
                x.iter().map(move |&v| (v, sigma))
            })
        });
        if f64_device {
            let mut values = Vec::with_capacity(count);
            values.extend(noisy.map(|(v, sigma)| v + sigma * rng.next_normal()));
            TensorData::new(values, shape.to_vec())
        } else {
            let mut values = Vec::with_capacity(count);
            values.extend(noisy.map(|(v, sigma)| (v + sigma * rng.next_normal()) as f32));
            TensorData::new(values, shape.to_vec())
        }
    }

    /// Draws the blocks of `chunks` copies in order and hands each to `visit(copies, data)`.
    /// With more than one block, each next block is drawn on a second thread while `visit`
    /// runs the previous one (the same stream, so the same noise either way), unless a block
    /// is larger than [`OVERLAP_BYTES`]. An error of `visit` stops the stream.
    /// `row_dims` is one input row's shape.
    pub(crate) fn stream(
        mut self,
        chunks: &[usize],
        f64_device: bool,
        row_dims: &[usize],
        mut visit: impl FnMut(usize, TensorData) -> Result<()>,
    ) -> Result<()> {
        let largest = chunks.iter().copied().max().unwrap_or(0);
        let bytes = largest * self.input.len() * if f64_device { 8 } else { 4 };
        let batch = self.sigmas.len();
        let shape = move |copies: usize| -> Vec<usize> {
            std::iter::once(copies * batch)
                .chain(row_dims.iter().copied())
                .collect()
        };
        if chunks.len() < 2 || bytes > OVERLAP_BYTES {
            for &copies in chunks {
                let data = self.next_data(copies, f64_device, &shape(copies));
                visit(copies, data)?;
            }
            return Ok(());
        }
        std::thread::scope(|scope| {
            // A rendezvous channel: the drawing thread holds at most one block ahead.
            let (sender, receiver) = std::sync::mpsc::sync_channel(0);
            scope.spawn(move || {
                for &copies in chunks {
                    let data = self.next_data(copies, f64_device, &shape(copies));
                    if sender.send(data).is_err() {
                        return; // `visit` failed and the receiver is gone.
                    }
                }
            });
            for &copies in chunks {
                let data = receiver
                    .recv()
                    .map_err(|_| Error::Backend("the noise thread stopped early".into()))?;
                visit(copies, data)?;
            }
            Ok(())
        })
    }
}

/// The running mean and sum of squared deviations `M2` of the inner attributions over the
/// copies seen so far, `[k · batch, ...]`.
pub(crate) struct Moments<const D: usize> {
    pub(crate) count: usize,
    pub(crate) mean: Tensor<D>,
    pub(crate) m2: Tensor<D>,
}

impl<const D: usize> Moments<D> {
    /// The moments of one call's values, `[k · copies · batch, ...]` (target-major, then
    /// noise-major).
    pub(crate) fn of(values: Tensor<D>, k: usize, copies: usize, batch: usize) -> Self {
        let mut shape = values.dims();
        let features = shape[1..].iter().product::<usize>();
        let grouped: Tensor<3> = values.reshape([k, copies, batch * features]);
        let mean = grouped.clone().mean_dim(1);
        let deviation = grouped - mean.clone();
        let m2 = (deviation.clone() * deviation).sum_dim(1);
        shape[0] = k * batch;
        Self {
            count: copies,
            mean: mean.reshape(shape),
            m2: m2.reshape(shape),
        }
    }

    /// Chan, Golub and LeVeque's pairwise update of the mean and `M2`.
    pub(crate) fn merge(self, other: Self) -> Self {
        let (n_a, n_b) = (self.count as f64, other.count as f64);
        let n = n_a + n_b;
        let delta = other.mean - self.mean.clone();
        Self {
            count: self.count + other.count,
            mean: self.mean + delta.clone() * (n_b / n),
            m2: self.m2 + other.m2 + delta.clone() * delta * (n_a * n_b / n),
        }
    }
}
