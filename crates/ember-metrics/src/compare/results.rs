//! What a comparison measured, as `results.json` holds it, and the metric columns every view
//! of it (the terminal table, the report) shows.

use serde::{Deserialize, Serialize};

use crate::{CompletenessSummary, Curve, SanityCheck};

/// The version of the [`Results`] schema.
pub const SCHEMA: u32 = 1;

/// The metrics of one method (a row of the table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MethodResult {
    /// The method's name.
    pub method: String,
    /// The method's family (`gradient`, `path`, `noise tunnel`, `layer`, `perturbation`), as
    /// the registry names it; empty in results written before it was recorded.
    #[serde(default)]
    pub family: String,
    /// Wall time of the attribution call, in milliseconds.
    pub time_ms: f64,
    /// Forward+backward passes of the call.
    pub passes: usize,
    /// Rows evaluated by the model in the call.
    pub model_evaluations: usize,
    /// Completeness (path methods), or the efficiency gap `Σφ − (F(x) − F(b))` of the
    /// perturbation methods that compare the input with a baseline.
    pub completeness: Option<CompletenessSummary>,
    /// Deletion, most relevant first.
    pub deletion: Curve,
    /// Insertion, most relevant first. With a constant replacement it is also deletion,
    /// least relevant first, read backwards: both evaluate the input with only its top `k`
    /// features kept.
    pub insertion: Curve,
    /// Max-sensitivity per example.
    pub max_sensitivity: Vec<f64>,
    /// Its mean over the examples.
    pub max_sensitivity_mean: f64,
    /// Gini index of |attributions| per example.
    pub sparseness: Vec<f64>,
    /// Its mean over the examples.
    pub sparseness_mean: f64,
    /// The model-randomisation sanity check.
    pub sanity: SanityCheck,
}

/// One explained example.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExampleInfo {
    /// Its index in the caller's data (by default its row in the batch).
    pub index: usize,
    /// Its true label, when the caller knows it.
    pub label: Option<usize>,
    /// The explained class (the model's prediction unless the caller chose the targets).
    pub predicted: usize,
    /// The model's output for the explained class.
    pub score: f64,
    /// The example's name (a photo's file name), when the caller gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The explained class's name (an ImageNet category), when the caller gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_name: Option<String>,
    /// The model's probability for the explained class (softmax of its logits), when the
    /// caller gives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
}

impl ExampleInfo {
    /// A short caption: `#index name label → class name (probability)`, with the parts the
    /// caller gave.
    pub fn caption(&self) -> String {
        let mut text = format!("#{}", self.index);
        if let Some(name) = &self.name {
            text.push_str(&format!(" {name}"));
        }
        if let Some(label) = self.label {
            text.push_str(&format!(" {label}"));
        }
        text.push_str(&format!(" → {}", self.predicted));
        if let Some(class) = &self.class_name {
            text.push_str(&format!(" {class}"));
        }
        if let Some(p) = self.probability {
            text.push_str(&format!(" ({:.0}%)", 100.0 * p));
        }
        text
    }
}

/// Mean Spearman rank correlation between every pair of methods.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankAgreement {
    /// The methods, in the matrix's order.
    pub methods: Vec<String>,
    /// `matrix[i][j]`: mean over the examples of the Spearman correlation of method `i`'s
    /// and method `j`'s attributions.
    pub matrix: Vec<Vec<f64>>,
}

/// Everything a comparison measured: `results.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// The schema's version ([`SCHEMA`]).
    pub schema: u32,
    /// Versions of ember, Burn and rustc.
    pub versions: Versions,
    /// The settings used.
    pub settings: Settings,
    /// The explained examples.
    pub examples: Vec<ExampleInfo>,
    /// One entry per method.
    pub methods: Vec<MethodResult>,
    /// Rank agreement between the methods.
    pub rank_agreement: RankAgreement,
    /// The files of the report, relative to its directory (empty until one is written).
    pub files: Vec<String>,
}

/// Versions, for `results.json` and the page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Versions {
    /// ember.
    pub ember: String,
    /// Burn.
    pub burn: String,
    /// The compiler.
    pub rustc: String,
}

impl Versions {
    /// The versions this library was built with.
    pub fn current() -> Self {
        Versions {
            ember: env!("CARGO_PKG_VERSION").into(),
            burn: env!("EMBER_BURN_VERSION").into(),
            rustc: env!("EMBER_RUSTC_VERSION").into(),
        }
    }
}

/// The settings of a run, for `results.json` and the page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// The model.
    pub model: String,
    /// The weights file, or how the weights were made.
    pub weights: String,
    /// The dataset.
    pub dataset: String,
    /// The backend.
    pub device: String,
    /// Examples explained.
    pub examples: usize,
    /// The seed of the perturbations and the randomised layers.
    pub seed: u64,
    /// Integration steps.
    pub steps: usize,
    /// Noisy copies.
    pub samples: usize,
    /// Relative noise level.
    pub noise: f64,
    /// Max-sensitivity radius.
    pub radius: f64,
    /// Max-sensitivity perturbations.
    pub perturbations: usize,
    /// Points per deletion/insertion curve.
    pub curve_steps: usize,
    /// The replacement of removed features.
    pub replacement: String,
    /// The sanity check's threshold.
    pub sanity_threshold: f64,
    /// The randomised layers, in cascade order.
    pub randomised_layers: Vec<String>,
    /// Rows per pass.
    pub rows_per_pass: usize,
    /// The features the sanity check ranks: `all` or `input-nonzero`.
    pub sanity_features: String,
    /// The seed of the methods' noise.
    pub method_seed: u64,
    /// Adaptive Integrated Gradients: the tolerance on `|delta| / |F(x) − F(x′)|` (then
    /// `steps` is not used), or `None` for a fixed number of steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance: Option<f64>,
    /// Adaptive Integrated Gradients: the most steps per example.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_steps: Option<usize>,
}

/// Which way of a metric is better, for highlighting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Lower is better.
    Lower,
    /// Higher is better.
    Higher,
    /// Neither: a property, not a score.
    Neither,
}

/// A metric column of the comparison table: its name, what it means, which way is better,
/// and how to read it from a method's result.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// The column's heading.
    pub name: &'static str,
    /// What it measures, with its source.
    pub meaning: &'static str,
    /// Which way is better.
    pub better: Direction,
    /// The value of a method, if the method has one.
    pub value: fn(&MethodResult) -> Option<f64>,
}

/// The registry's name of the perturbation family (`ember_methods::Family::Perturbation`).
const PERTURBATION: &str = "perturbation";

/// The metric columns of the comparison table, in order (the terminal table and the report
/// show the same).
pub const COLUMNS: [Column; 9] = [
    Column {
        name: "time ms",
        meaning: "wall time of the attribution call for all examples",
        better: Direction::Lower,
        value: |r| Some(r.time_ms),
    },
    Column {
        name: "forward rows",
        meaning: "rows the model evaluated forward in the attribution call, for all examples (gradient methods also run a backward pass over each)",
        better: Direction::Lower,
        value: |r| Some(r.model_evaluations as f64),
    },
    Column {
        name: "deletion AUC",
        meaning: "area under the target probability as the most relevant features are replaced (Petsiuk et al. 2018); a faithful map makes it fall fast",
        better: Direction::Lower,
        value: |r| Some(r.deletion.auc),
    },
    Column {
        name: "insertion AUC",
        meaning: "area under the target probability as the most relevant features are restored from the replacement (the same as deletion least-relevant-first, Samek et al. 2017, read backwards); a faithful map makes it rise fast",
        better: Direction::Higher,
        value: |r| Some(r.insertion.auc),
    },
    Column {
        name: "max-sensitivity",
        meaning: "largest relative change ‖φ(x+δ) − φ(x)‖ / ‖φ(x)‖ over random perturbations with ‖δ‖∞ ≤ radius (Yeh et al. 2019), mean over examples",
        better: Direction::Lower,
        value: |r| Some(r.max_sensitivity_mean),
    },
    Column {
        name: "sparseness",
        meaning: "Gini index of |attributions| (Chalasani et al. 2020), 0 = uniform, 1 = one feature; mean over examples",
        better: Direction::Neither,
        value: |r| Some(r.sparseness_mean),
    },
    Column {
        name: "completeness |δ|/|ΔF|",
        meaning: "mean |Σφ − (F(x) − F(x′))| / |F(x) − F(x′)| for path methods (Sundararajan et al. 2017)",
        better: Direction::Lower,
        value: |r| {
            (r.family != PERTURBATION)
                .then_some(r.completeness.as_ref()?.mean_relative_delta)
                .flatten()
        },
    },
    Column {
        name: "efficiency gap",
        meaning: "mean |Σφ − (F(x) − F(b))| / |F(x) − F(b)| for the perturbation methods that remove groups of features, b the baseline: 0 up to rounding for Shapley value sampling and KernelSHAP, which enforce efficiency; what feature ablation and LIME leave unexplained (not occlusion: its windows overlap)",
        better: Direction::Lower,
        value: |r| {
            (r.family == PERTURBATION)
                .then_some(r.completeness.as_ref()?.mean_relative_delta)
                .flatten()
        },
    },
    Column {
        name: "randomised similarity",
        meaning: "mean Spearman correlation of |φ| on the fully re-initialised model with |φ| on the trained model (Adebayo et al. 2018); a method passes the sanity check below the threshold",
        better: Direction::Lower,
        value: |r| r.sanity.similarity.last().copied(),
    },
];
