//! Completeness: how far a path method's attributions are from summing to the change of the
//! model's output.
//!
//! Sundararajan, Taly and Yan, *Axiomatic Attribution for Deep Networks*, 2017.
//! <https://arxiv.org/abs/1703.01365>
#![cfg_attr(
    doc,
    doc = r#"$$\delta = \sum_i \phi_i - \big(F_c(x) - F_c(x')\big), \qquad \text{relative} = \frac{|\delta|}{|F_c(x) - F_c(x')|}$$"#
)]
//!
//! Plain text: `delta = Σ φ − (F_c(x) − F_c(x′))`, `relative = |delta| / |F_c(x) − F_c(x′)|`.
//!
//! The delta is the quadrature error of Integrated Gradients; it is read from the method's
//! [`Report`], so this metric costs nothing.

use ember_core::Report;
use serde::{Deserialize, Serialize};

/// A summary of the completeness deltas of a batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CompletenessSummary {
    /// The number of deltas (samples, or samples × targets).
    pub samples: usize,
    /// The mean of `|delta|`.
    pub mean_abs_delta: f64,
    /// The largest `|delta|`.
    pub max_abs_delta: f64,
    /// The mean of `|delta| / |F(x) − F(x′)|` over the samples where `F(x) ≠ F(x′)`; `None`
    /// when the report has no baseline scores or every sample has `F(x) = F(x′)`.
    pub mean_relative_delta: Option<f64>,
    /// Each sample's `delta`, in the report's order.
    #[serde(default)]
    pub delta: Vec<f64>,
    /// Each sample's `|delta| / |F(x) − F(x′)|` (`None` where `F(x) = F(x′)` or the report has
    /// no baseline scores).
    #[serde(default)]
    pub relative_delta: Vec<Option<f64>>,
    /// The integration steps each sample used (adaptive Integrated Gradients chooses them per
    /// sample), when the report says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<usize>>,
    /// Whether each sample reached the tolerance (adaptive Integrated Gradients).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub converged: Option<Vec<bool>>,
}

/// One sample's completeness, from a [`CompletenessSummary`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleCompleteness {
    /// The steps it used, when the report says.
    pub steps: Option<usize>,
    /// Whether it reached the tolerance (adaptive mode only).
    pub converged: Option<bool>,
    /// Its delta.
    pub delta: Option<f64>,
    /// Its `|delta| / |F(x) − F(x′)|`.
    pub relative_delta: Option<f64>,
}

impl CompletenessSummary {
    /// Sample `i`'s figures (each `None` where the summary lacks it).
    pub fn sample(&self, i: usize) -> SampleCompleteness {
        SampleCompleteness {
            steps: self.steps.as_ref().and_then(|s| s.get(i).copied()),
            converged: self.converged.as_ref().and_then(|c| c.get(i).copied()),
            delta: self.delta.get(i).copied(),
            relative_delta: self.relative_delta.get(i).copied().flatten(),
        }
    }
}

/// Summarises the completeness deltas of a path method's report (Integrated Gradients).
///
/// # Arguments
///
/// - `report`: the [`Report`] of an attribution, e.g. `attributions.report`.
///
/// # Returns
///
/// `None` when the report has no delta (the method is not a path method, e.g. saliency) or an
/// empty one; otherwise the mean and largest `|delta|`, and the mean relative delta
/// `|delta| / |F(x) − F(x′)|` computed from [`Report::scores`] and
/// [`Report::baseline_scores`].
///
/// # Example
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// use ember_core::Attribution;
/// use ember_methods::IntegratedGradientsConfig;
///
/// let device = Device::flex();
/// let w = Tensor::<2>::from_floats([[1.0], [2.0]], &device);
/// let model = move |x: Tensor<2>| x.matmul(w.clone());
/// let x = Tensor::<2>::from_floats([[1.0, 1.0]], &device);
/// let ig = IntegratedGradientsConfig::new().init()?.attribute(&model, x, 0)?;
/// let summary = ember_metrics::completeness(&ig.report).expect("a path method");
/// assert!(summary.max_abs_delta < 1e-5);
/// # Ok::<(), ember_core::Error>(())
/// ```
pub fn completeness(report: &Report) -> Option<CompletenessSummary> {
    let delta = report.delta().filter(|d| !d.is_empty())?;
    let abs: Vec<f64> = delta.iter().map(|d| d.abs()).collect();
    let per_sample: Vec<Option<f64>> = match report.baseline_scores() {
        Some(baseline) if baseline.len() == abs.len() && report.scores.len() == abs.len() => abs
            .iter()
            .zip(report.scores.iter().zip(baseline))
            .map(|(d, (fx, fb))| {
                let change = (fx - fb).abs();
                (change > 0.0).then(|| d / change)
            })
            .collect(),
        _ => vec![None; abs.len()],
    };
    let relative: Vec<f64> = per_sample.iter().flatten().copied().collect();
    Some(CompletenessSummary {
        samples: abs.len(),
        mean_abs_delta: abs.iter().sum::<f64>() / abs.len() as f64,
        max_abs_delta: abs.iter().copied().fold(0.0, f64::max),
        mean_relative_delta: (!relative.is_empty())
            .then(|| relative.iter().sum::<f64>() / relative.len() as f64),
        delta: delta.to_vec(),
        relative_delta: per_sample,
        steps: report.steps().map(<[usize]>::to_vec),
        converged: report.converged().map(<[bool]>::to_vec),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ember_core::KernelStats;

    fn report() -> Report {
        Report::new(
            "integrated-gradients",
            vec![0, 1, 0],
            vec![3.0, 1.0, 2.0],
            KernelStats::default(),
        )
    }

    #[test]
    fn non_path_methods_have_no_summary() {
        assert_eq!(completeness(&report()), None);
        let empty = report().with_path(vec![], vec![]);
        assert_eq!(completeness(&empty), None);
    }

    #[test]
    fn deltas_are_summarised_absolutely_and_relatively() {
        // F(x) − F(x′) = 2, 0 (skipped in the relative mean), −2.
        let r = report().with_path(vec![1.0, 1.0, 4.0], vec![0.5, -0.25, -1.0]);
        let s = completeness(&r).unwrap();
        assert_eq!(s.samples, 3);
        assert_eq!(s.mean_abs_delta, 1.75 / 3.0);
        assert_eq!(s.max_abs_delta, 1.0);
        assert_eq!(s.mean_relative_delta, Some((0.25 + 0.5) / 2.0));
    }

    #[test]
    fn no_change_anywhere_has_no_relative_delta() {
        let r = report().with_path(vec![3.0, 1.0, 2.0], vec![0.1, 0.0, 0.0]);
        let s = completeness(&r).unwrap();
        assert_eq!(s.mean_relative_delta, None);
        assert_eq!(s.max_abs_delta, 0.1);
    }
}
