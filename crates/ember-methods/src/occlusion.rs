//! Occlusion: a window slides over the input, each position replaced by the baseline, and every
//! element gets the mean drop of the target output over the windows that cover it.
//!
//! Zeiler and Fergus, *Visualizing and Understanding Convolutional Networks*, 2014.
//! <https://arxiv.org/abs/1311.2901>
#![cfg_attr(
    doc,
    doc = r#"$$\phi_e(x) = \frac{1}{|W_e|} \sum_{w \in W_e} \Big(F_c(x) - F_c\big(x \text{ with window } w \text{ set to } b\big)\Big)$$"#
)]
//!
//! Plain text: `phi_e = mean over the windows w covering e of F_c(x) − F_c(x with w set to b)`.
//!
//! Windows start at `k·stride` along each dimension after the batch, `⌈(D − w)/s⌉ + 1`
//! positions per dimension, the last one cut short at the edge: Captum's `Occlusion` exactly.
//! Cost: `1 + windows` forward rows per sample (no backward), batched across samples and
//! shared by every target.

use crate::perturbation::{self, Perturbations, Row};
use crate::registry::{Entry, Family, MethodInfo, Perturbation};
use burn::config::Config;
use burn::tensor::{Device, Tensor, TensorData};
use ember_core::{
    Attribution, Attributions, Baseline, Error, GradientKernel, KernelSettings, Model,
    PerturbationReport, Result, Target,
};

/// Occlusion's entry in the registry.
pub static INFO: Entry<Perturbation> = Entry {
    info: MethodInfo {
        name: "occlusion",
        aliases: &[],
        summary: "the mean drop F(x) − F(x with a sliding window set to the baseline) over the \
                  windows covering each element",
        captum: Some("Occlusion"),
        signed: true,
        family: Family::Perturbation,
        cost: "1 + windows (forward only)",
        rows_per_sample: |s, dims| {
            let inner = dims.get(1..).unwrap_or(&[]);
            let (window, strides) = shapes(s.window.as_deref(), s.strides.as_deref(), inner);
            1 + windows_per_dim(inner, &window, &strides)
                .iter()
                .product::<usize>()
        },
    },
    build: |s| {
        Ok(Perturbation::Occlusion(
            OcclusionConfig::new()
                .with_window(s.window.clone())
                .with_strides(s.strides.clone())
                .with_baseline(s.baseline.clone())
                .with_kernel(s.kernel.clone())
                .init()?,
        ))
    },
};

/// Hyper-parameters of [`Occlusion`].
///
/// Captum's `sliding_window_shapes` has no default and its strides default to 1. ember's
/// default window on `[N, C, H, W]` images is `[C, kh, kw]` with `kh = max(2, ⌈H/15⌉)` and
/// `kw = max(2, ⌈W/15⌉)`, each at most its dimension, and strides `[C, ⌈kh/2⌉, ⌈kw/2⌉]`
/// (15 × 15 windows every 8 pixels on a 224² photo, as Captum's tutorial); a token at a time on `[N, T, H]` embeddings; one element at a time otherwise. A
/// window given without strides slides by 1, as in Captum.
#[derive(Config, Debug)]
pub struct OcclusionConfig {
    /// The window's size along each dimension after the batch (`None`: the default above).
    #[config(default = "None")]
    pub window: Option<Vec<usize>>,
    /// The step between windows along each dimension after the batch (`None`: 1 with a given
    /// window, else the default above).
    #[config(default = "None")]
    pub strides: Option<Vec<usize>>,
    /// What an occluded element becomes.
    #[config(default = "Baseline::Zeros")]
    pub baseline: Baseline,
    /// How the kernel runs: rows per pass, memory budget, the model check.
    #[config(default = "KernelSettings::new()")]
    pub kernel: KernelSettings,
}

ember_core::kernel_shorthands!(OcclusionConfig);

impl OcclusionConfig {
    /// Checks the configuration and builds the method (the window is checked against the
    /// input's shape when the method runs).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for a zero window size or stride, a bad baseline, or
    /// `max_rows` or `memory_budget` of `Some(0)`.
    pub fn init(&self) -> Result<Occlusion> {
        for (name, sizes) in [("window", &self.window), ("strides", &self.strides)] {
            if let Some(sizes) = sizes
                && (sizes.is_empty() || sizes.contains(&0))
            {
                return Err(Error::InvalidConfig {
                    name,
                    value: format!("{sizes:?}"),
                    expected: "one size ≥ 1 per dimension after the batch",
                });
            }
        }
        self.baseline.check()?;
        Ok(Occlusion {
            window: self.window.clone(),
            strides: self.strides.clone(),
            baseline: self.baseline.clone(),
            kernel: self.kernel.kernel()?,
        })
    }
}

/// Occlusion (Zeiler and Fergus 2014; Captum's `Occlusion`). Build it with
/// [`OcclusionConfig`].
///
/// # Example
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// use ember_core::Attribution;
/// use ember_methods::OcclusionConfig;
///
/// let device = Device::flex();
/// let model = |x: Tensor<2>| x.sum_dim(1);
/// let x = Tensor::<2>::from_floats([[1.0, 2.0, 4.0]], &device);
/// // Windows of 2 at 0 and 1: the middle element is in both.
/// let occlusion = OcclusionConfig::new().with_window(Some(vec![2])).init()?;
/// let out = occlusion.attribute(&model, x, 0)?;
/// assert_eq!(out.values.to_data().try_to_vec::<f32>().unwrap(), vec![3.0, 4.5, 6.0]);
/// # Ok::<(), ember_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Occlusion {
    window: Option<Vec<usize>>,
    strides: Option<Vec<usize>>,
    baseline: Baseline,
    kernel: GradientKernel,
}

/// The window and strides for dimensions `inner` (see [`OcclusionConfig`]).
fn shapes(
    window: Option<&[usize]>,
    strides: Option<&[usize]>,
    inner: &[usize],
) -> (Vec<usize>, Vec<usize>) {
    match (window, strides) {
        (Some(w), Some(s)) => (w.to_vec(), s.to_vec()),
        (Some(w), None) => (w.to_vec(), vec![1; w.len()]),
        (None, strides) => {
            let (w, s) = match inner {
                [c, h, w] => {
                    // Per dimension, so that a wide strip (H = 1) or a narrow one still fits.
                    let k = |d: usize| 2.max(d.div_ceil(15)).min(d.max(1));
                    let (kh, kw) = (k(*h), k(*w));
                    (vec![*c, kh, kw], vec![*c, kh.div_ceil(2), kw.div_ceil(2)])
                }
                [_, hidden] => (vec![1, *hidden], vec![1, *hidden]),
                _ => (vec![1; inner.len()], vec![1; inner.len()]),
            };
            (w, strides.map_or(s, <[usize]>::to_vec))
        }
    }
}

/// Window positions along each dimension: `⌈(D − w)/s⌉ + 1` (Captum's count; a zero stride,
/// which [`Windows::new`] refuses, counts as 1 here so that a cost estimate cannot panic).
fn windows_per_dim(inner: &[usize], window: &[usize], strides: &[usize]) -> Vec<usize> {
    inner
        .iter()
        .zip(window.iter().zip(strides))
        .map(|(&d, (&w, &s))| (d.saturating_sub(w)).div_ceil(s.max(1)) + 1)
        .collect()
}

/// The windows of one input shape.
struct Windows {
    inner: Vec<usize>,
    window: Vec<usize>,
    strides: Vec<usize>,
    counts: Vec<usize>,
    features: usize,
}

impl Windows {
    fn new(inner: &[usize], window: Vec<usize>, strides: Vec<usize>) -> Result<Self> {
        let bad = |expected: &'static str| Error::InvalidConfig {
            name: "window",
            value: format!("{window:?} with strides {strides:?} on a sample of shape {inner:?}"),
            expected,
        };
        if window.len() != inner.len() || strides.len() != inner.len() {
            return Err(bad(
                "one window size and one stride per dimension after the batch",
            ));
        }
        if window.iter().zip(inner).any(|(w, d)| w > d) {
            return Err(bad(
                "a window no larger than the sample along every dimension",
            ));
        }
        // A stride wider than the window would leave elements that no window covers.
        if (0..inner.len()).any(|d| window[d] < inner[d] && strides[d] > window[d]) {
            return Err(bad(
                "strides no wider than the window, so every element is covered",
            ));
        }
        let counts = windows_per_dim(inner, &window, &strides);
        Ok(Self {
            features: inner.iter().product(),
            inner: inner.to_vec(),
            window,
            strides,
            counts,
        })
    }

    fn len(&self) -> usize {
        self.counts.iter().product()
    }

    /// Calls `visit(e)` for every flat element `e` of window `p`.
    fn each(&self, p: usize, mut visit: impl FnMut(usize)) {
        let rank = self.inner.len();
        let (mut start, mut end) = (vec![0; rank], vec![0; rank]);
        let mut rest = p;
        for d in (0..rank).rev() {
            start[d] = (rest % self.counts[d]) * self.strides[d];
            end[d] = (start[d] + self.window[d]).min(self.inner[d]);
            rest /= self.counts[d];
        }
        let mut at = start.clone();
        loop {
            let flat = at.iter().zip(&self.inner).fold(0, |f, (&c, &d)| f * d + c);
            visit(flat);
            // The next element of the window, last dimension fastest.
            let mut d = rank;
            loop {
                if d == 0 {
                    return;
                }
                d -= 1;
                at[d] += 1;
                if at[d] < end[d] {
                    break;
                }
                at[d] = start[d];
            }
        }
    }
}

impl Perturbations for Windows {
    fn len(&self) -> usize {
        Windows::len(self)
    }

    fn keep(&self, rows: &[(Row, usize)], device: &Device) -> Result<Tensor<2>> {
        let f = self.features;
        let mut keep = vec![1f32; rows.len() * f];
        for (i, &(row, _)) in rows.iter().enumerate() {
            let line = &mut keep[i * f..(i + 1) * f];
            match row {
                Row::Input => {}
                Row::Removed => line.fill(0.0),
                Row::Perturbed(p) => self.each(p, |e| line[e] = 0.0),
            }
        }
        Ok(Tensor::from_data(
            TensorData::new(keep, [rows.len(), f]),
            device,
        ))
    }
}

impl<const D: usize> Attribution<D> for Occlusion {
    fn attribute<M: Model<D> + ?Sized>(
        &self,
        model: &M,
        input: Tensor<D>,
        target: impl Into<Target>,
    ) -> Result<Attributions<D>> {
        let target = target.into();
        self.kernel.check_call(model, &input)?;
        let input = input.without_autodiff();
        let dims = input.dims();
        let (window, strides) = shapes(self.window.as_deref(), self.strides.as_deref(), &dims[1..]);
        let windows = Windows::new(&dims[1..], window, strides)?;
        let baseline = self.baseline.resolve(&input)?;
        let scores = perturbation::evaluate(
            &self.kernel,
            model,
            &input,
            &baseline,
            &target,
            &windows,
            false,
        )?;
        let (slots, count, f) = (scores.slots(), windows.len(), windows.features);
        let mut covering = vec![0u32; f];
        for p in 0..count {
            windows.each(p, |e| covering[e] += 1);
        }
        let mut per_window = vec![0.0; slots * count];
        let mut values = vec![0.0; slots * f];
        for slot in 0..slots {
            let map = &mut values[slot * f..(slot + 1) * f];
            for p in 0..count {
                let drop = scores.input[slot] - scores.at(p, slot);
                per_window[slot * count + p] = drop;
                windows.each(p, |e| map[e] += drop);
            }
            for (v, &c) in map.iter_mut().zip(&covering) {
                *v /= f64::from(c);
            }
        }
        let mut shape = dims;
        shape[0] = slots;
        let report = scores
            .report(INFO.info.name, &[], 0)
            .with_perturbation(PerturbationReport::new(count, per_window));
        Ok(Attributions {
            values: Tensor::from_data(TensorData::new(values, shape), &input.device()),
            report,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{shapes, windows_per_dim};

    #[test]
    fn the_default_window_fits_each_dimension() {
        // 224² photo: 15 × 15 windows every 8 pixels.
        let (w, s) = shapes(None, None, &[3, 224, 224]);
        assert_eq!((w, s), (vec![3, 15, 15], vec![3, 8, 8]));
        // A one-row strip and a narrow one: the window is clipped to the dimension.
        let (w, s) = shapes(None, None, &[1, 1, 64]);
        assert_eq!((w, s), (vec![1, 1, 5], vec![1, 1, 3]));
        let (w, _) = shapes(None, None, &[1, 300, 1]);
        assert_eq!(w, vec![1, 20, 1]);
    }

    #[test]
    fn a_zero_stride_does_not_panic_the_cost_estimate() {
        assert_eq!(windows_per_dim(&[4, 4], &[2, 2], &[0, 1]), vec![3, 3]);
    }
}
