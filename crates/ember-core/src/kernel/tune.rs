//! Rows per pass tuned for throughput: a short measured search, once per model, row shape and
//! device, remembered for the process.
//!
//! The best block differs per model and machine (the rows-per-pass sweeps of
//! `docs/benchmarks.md`), while the default ([`default_rows`](super::default_rows)) is one cap
//! per device class.
//! [`GradientKernel::tune_rows`] times the raw forward+backward (the least work any gradient
//! method does) over the same rows in blocks of each candidate size and keeps the fastest.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::GradientKernel;
use super::bench::raw_forward_backward_mapped;
use super::budget::{DeviceClass, rows_within};
use crate::{Error, Model, Result};

/// The smallest block tried.
const SMALLEST: usize = 8;

/// The largest block tried on a CPU backend, whatever the budget allows.
const CPU_LARGEST: usize = 1024;

/// The largest block tried on a GPU backend.
const GPU_LARGEST: usize = 8192;

/// Timed runs per candidate after one warm-up; the fastest counts (the least disturbed by a
/// shared machine).
const RUNS: usize = 2;

/// The result of a search: the block chosen and what each candidate measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowsTuning {
    /// The rows per pass with the highest throughput.
    pub rows: usize,
    /// Each candidate's rows per pass and its time per row, in microseconds (the fastest of
    /// its runs over the same rows).
    pub candidates: Vec<(usize, f64)>,
    /// Whether this came from the process's cache (no measuring done).
    pub cached: bool,
}

/// What a search is remembered by: the model's type, the row shape, the device and its
/// precision, and the largest block allowed.
type Key = (&'static str, Vec<usize>, String, String, usize);

fn cache() -> &'static Mutex<HashMap<Key, RowsTuning>> {
    static CACHE: OnceLock<Mutex<HashMap<Key, RowsTuning>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

impl GradientKernel {
    /// Measures the rows per pass with the highest throughput for `model` on rows shaped like
    /// `input`'s (`[batch, ...]`, on its device), and remembers it for this process: a second
    /// call with the same model type, row shape, device and limit returns the first result
    /// (`cached: true`).
    ///
    /// The candidates are powers of two from 8 up to the largest block allowed: this kernel's
    /// memory budget (or the device class's default budget) and, if set, its `max_rows`; at
    /// most 1024 rows on a CPU and 8192 on a GPU. The default rows per pass is always a
    /// candidate. Each is timed over the same rows (as many as the largest candidate, built by
    /// repeating the batch's samples, with their auxiliary inputs) with one warm-up and two
    /// runs, through the raw forward+backward of
    /// [`raw_forward_backward`](super::bench::raw_forward_backward).
    ///
    /// It runs the largest block's rows three times per candidate (a warm-up and two timed
    /// runs), so it costs about `3 · candidates` times the work of one such block: use it for
    /// long runs (a batch of photos, many steps), then pass the rows to `with_max_rows`.
    ///
    /// # Errors
    ///
    /// [`Error::EmptyBatch`] for an empty batch, [`Error::Backend`] if the model fails or
    /// does not depend on its input.
    pub fn tune_rows<const D: usize, M: Model<D> + ?Sized>(
        &self,
        model: &M,
        input: &Tensor<D>,
    ) -> Result<RowsTuning> {
        let dims = input.dims();
        let batch = dims[0];
        if batch == 0 {
            return Err(Error::EmptyBatch {
                shape: dims.to_vec(),
            });
        }
        let input = input.clone().without_autodiff();
        let device = input.device();
        let features: usize = dims[1..].iter().product();
        let largest = self.largest_block(&device, features);
        let key: Key = (
            std::any::type_name::<M>(),
            dims[1..].to_vec(),
            format!("{device:?}"),
            format!("{:?}", device.settings().float_dtype),
            largest,
        );
        if let Some(found) = cache().lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return Ok(RowsTuning {
                cached: true,
                ..found.clone()
            });
        }
        let mut sizes: Vec<usize> = std::iter::successors(Some(SMALLEST), |&r| Some(r * 2))
            .take_while(|&r| r < largest)
            .chain([largest, self.rows_per_pass(&device, features).min(largest)])
            .collect();
        sizes.sort_unstable();
        sizes.dedup();

        // The same rows for every candidate: the batch's samples repeated to `largest` rows.
        let map: Vec<usize> = (0..largest).map(|r| r % batch).collect();
        let rows = repeat_rows(&input, largest);
        let targets = vec![0; largest];
        let mut candidates = Vec::with_capacity(sizes.len());
        for &size in &sizes {
            let kernel = GradientKernel {
                max_rows: Some(size),
                memory_budget: None,
                ..*self
            };
            let run = || raw_forward_backward_mapped(&kernel, model, rows.clone(), &targets, &map);
            run()?;
            let mut best = f64::INFINITY;
            for _ in 0..RUNS {
                let start = Instant::now();
                run()?;
                best = best.min(start.elapsed().as_secs_f64());
            }
            candidates.push((size, best * 1e6 / largest as f64));
        }
        let rows = candidates
            .iter()
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|&(size, _)| size)
            .expect("at least one candidate");
        let tuning = RowsTuning {
            rows,
            candidates,
            cached: false,
        };
        cache()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, tuning.clone());
        Ok(tuning)
    }

    /// The largest block a search may try: the configured `max_rows` or the budget (this
    /// kernel's or the device class's), at most the class's search cap.
    fn largest_block(&self, device: &Device, features: usize) -> usize {
        let class = DeviceClass::of(device);
        let budget = self.memory_budget.unwrap_or_else(|| class.budget());
        let cap = match class {
            DeviceClass::Cpu => CPU_LARGEST,
            DeviceClass::Gpu => GPU_LARGEST,
        };
        let fit = rows_within(device, features, budget).min(cap);
        self.max_rows.map_or(fit, |rows| rows.min(fit)).max(1)
    }
}

/// `input`'s rows repeated (sample after sample, cycling) to `n` rows.
fn repeat_rows<const D: usize>(input: &Tensor<D>, n: usize) -> Tensor<D> {
    let copies = n.div_ceil(input.dims()[0]);
    input.clone().repeat_dim(0, copies).narrow(0, 0, n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Tensor;

    #[test]
    fn a_search_picks_a_measured_candidate_and_is_remembered() {
        let device = Device::flex();
        let w = Tensor::<2>::from_floats([[1.0, -1.0], [0.5, 2.0], [3.0, 0.0]], &device);
        let model = move |x: Tensor<2>| x.matmul(w.clone()).tanh();
        let x = Tensor::<2>::ones([3, 3], &device);
        let kernel = GradientKernel::new().with_max_rows(64).unwrap();
        let first = kernel.tune_rows(&model, &x).unwrap();
        assert!(!first.cached);
        let sizes: Vec<usize> = first.candidates.iter().map(|c| c.0).collect();
        assert_eq!(sizes, [8, 16, 32, 64]);
        assert!(sizes.contains(&first.rows));
        assert!(
            first
                .candidates
                .iter()
                .all(|c| c.1.is_finite() && c.1 > 0.0)
        );
        let second = kernel.tune_rows(&model, &x).unwrap();
        assert!(second.cached);
        assert_eq!(second.rows, first.rows);
        // Another limit is another search.
        let small = GradientKernel::new().with_max_rows(8).unwrap();
        let other = small.tune_rows(&model, &x).unwrap();
        assert!(!other.cached);
        assert_eq!(other.rows, 8);
    }

    #[test]
    fn an_empty_batch_is_an_error() {
        let device = Device::flex();
        let model = |x: Tensor<2>| x.clone() * x;
        let x = Tensor::<2>::zeros([0, 3], &device);
        assert!(matches!(
            GradientKernel::new().tune_rows(&model, &x),
            Err(Error::EmptyBatch { .. })
        ));
    }
}
