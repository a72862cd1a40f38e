//! Comparing attribution methods on any model: every method, every metric, one serializable
//! result, and the report `ember compare` writes.
//!
//! [`CompareConfig::run`] explains a batch by each method, then scores each method by
//! deletion and insertion AUC, max-sensitivity, sparseness, completeness (path methods), the
//! cascading model-randomisation sanity check, and the rank agreement between methods. The
//! randomised models come from a [`RandomisedModels`]: a [`ModuleCascade`] re-initialises the
//! layers of any Burn module, a [`CustomCascade`] takes them from a closure.
//! [`write_report`] writes `index.html`, `results.json` and PNGs.
//!
//! # Example
//!
//! ```
//! use burn::nn::{Linear, LinearConfig};
//! use burn::tensor::{Device, Tensor};
//! use ember_core::{Target, eval};
//! use ember_methods::{BaseMethod, MethodSpec};
//! use ember_metrics::compare::{CompareConfig, ModuleCascade};
//!
//! let device = Device::flex();
//! let layer: Linear = LinearConfig::new(4, 3).init(&device);
//! let model = eval(&layer, Linear::forward::<2>);
//! let cascade = ModuleCascade::new(layer.clone(), |m: &Linear| eval(m, Linear::forward::<2>));
//! let x = Tensor::<2>::from_floats([[1.0, 2.0, 3.0, 4.0], [0.5, 0.0, -1.0, 2.0]], &device);
//! let comparison = CompareConfig::new()
//!     .with_methods(vec![MethodSpec::Base(BaseMethod::Saliency)])
//!     .with_perturbations(2)
//!     .run(&model, x, Target::Predicted, &cascade, &mut |_| {})?;
//! assert_eq!(comparison.results.methods[0].method, "saliency");
//! assert_eq!(comparison.results.methods[0].sanity.layers, vec![String::new()]);
//! # Ok::<(), ember_core::Error>(())
//! ```

mod cascade;
mod page;
mod report;
mod results;

use std::time::Instant;

use burn::config::Config;
use burn::tensor::Tensor;
use ember_core::validate::read_f64;
use ember_core::{Attribution, Error, Model, Result, RowTargets, Target};
use ember_methods::{MethodSettings, MethodSpec};

pub use cascade::{CustomCascade, ModuleCascade, RandomisedModels};
pub use report::{ReportError, ReportLayout, write_report};
pub use results::{
    COLUMNS, Column, Direction, ExampleInfo, MethodResult, RankAgreement, Results, SCHEMA,
    Settings, Versions,
};

use crate::{
    CurveMode, MaxSensitivityConfig, ModelRandomisationConfig, PerturbationCurveConfig,
    RelevanceOrder, Replacement, SanityFeatures, completeness, gini, spearman,
};

/// What a comparison runs and how; build one, then [`run`](Self::run) it.
#[derive(Config, Debug)]
pub struct CompareConfig {
    /// The methods, in the order of the results (duplicates are run once).
    #[config(default = "MethodSpec::ALL.to_vec()")]
    pub methods: Vec<MethodSpec>,
    /// The methods' settings (steps, noisy copies, noise, their seed, rows per pass…).
    #[config(default = "MethodSettings::new()")]
    pub settings: MethodSettings,
    /// Points of each deletion/insertion curve.
    #[config(default = 16)]
    pub curve_steps: usize,
    /// What a removed feature becomes in the deletion/insertion curves.
    #[config(default = "Replacement::Constant(0.0)")]
    pub replacement: Replacement,
    /// Max-sensitivity: the L∞ radius of the input perturbations, in input units.
    #[config(default = 0.1)]
    pub radius: f64,
    /// Max-sensitivity: perturbations per example.
    #[config(default = 10)]
    pub perturbations: usize,
    /// The sanity check passes below this similarity at the fully randomised model.
    #[config(default = 0.5)]
    pub sanity_threshold: f64,
    /// The features the sanity check ranks.
    #[config(default = "SanityFeatures::All")]
    pub sanity_features: SanityFeatures,
    /// The seed of the max-sensitivity perturbations.
    #[config(default = 0)]
    pub seed: u64,
    /// The model's name, for the results.
    #[config(default = "String::from(\"model\")")]
    pub model_name: String,
    /// Where the weights came from, for the results.
    #[config(default = "String::from(\"in memory\")")]
    pub weights: String,
    /// The data's name, for the results.
    #[config(default = "String::from(\"inputs\")")]
    pub dataset: String,
    /// The backend's name, for the results (default: the device's class, `cpu` or `gpu`).
    #[config(default = "None")]
    pub device_name: Option<String>,
}

/// Where a comparison is: reported before each stage and once at the end.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// Stages done.
    pub done: usize,
    /// Stages in all.
    pub total: usize,
    /// The stage starting now (empty at the end).
    pub stage: String,
}

/// A comparison's results and what rendering them needs.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// Everything measured (`results.json`).
    pub results: Results,
    /// The input batch, row-major, on the host.
    pub input: Vec<f64>,
    /// The input's shape `[batch, ...]`.
    pub shape: Vec<usize>,
    /// Each method's attributions (the input's shape, row-major), in the methods' order.
    pub attributions: Vec<Vec<f64>>,
    /// Whether each method's attributions are signed, in the methods' order.
    pub signed: Vec<bool>,
    /// The group of every element (the input's shape, row-major; `-1` for elements never
    /// perturbed) of each method that perturbs groups of features together, in the methods'
    /// order; `None` for the others. The report draws their boundaries.
    pub groups: Vec<Option<Vec<i64>>>,
}

impl CompareConfig {
    /// Explains `input` by every method and scores every method.
    ///
    /// # Arguments
    ///
    /// - `model`: the trained model, in eval mode (see `ember::eval`).
    /// - `input`: the batch to explain.
    /// - `target`: the class explained per example: [`Target::Predicted`], a class, or one
    ///   per example (not several per example).
    /// - `randomised`: the sanity check's cascade of randomised models.
    /// - `progress`: called before each stage and once at the end.
    ///
    /// # Shapes
    ///
    /// - `input`: `[batch, ...]`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for a bad setting, no methods, several targets per example or
    /// a cascade without layers; any error of a method or a metric (a model that is not in
    /// eval mode, a target out of range, non-finite values…).
    pub fn run<const D: usize, M: Model<D> + ?Sized>(
        &self,
        model: &M,
        input: Tensor<D>,
        target: impl Into<Target>,
        randomised: &dyn RandomisedModels<D>,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Comparison> {
        let methods = self.unique_methods()?;
        let built = methods
            .iter()
            .map(|m| m.build(&self.settings))
            .collect::<Result<Vec<_>>>()?;
        let groups = methods
            .iter()
            .map(|m| {
                let groups = m.groups(&self.settings, &input.dims())?;
                Ok(groups.map(|g| (0..g.batch()).flat_map(|i| g.ids(i).to_vec()).collect()))
            })
            .collect::<Result<Vec<_>>>()?;
        let layers = randomised.layers();
        if layers.is_empty() {
            return Err(Error::InvalidConfig {
                name: "randomised",
                value: "a cascade of no layers".into(),
                expected: "at least one layer to randomise",
            });
        }
        let s = &self.settings;
        let kernel = s.kernel.kernel()?;
        let row_targets = match target.into() {
            Target::Predicted => RowTargets::Predicted,
            Target::Class(c) => RowTargets::Indices(vec![c; input.dims()[0]]),
            Target::PerSample(classes) => RowTargets::Indices(classes),
            _ => {
                return Err(Error::InvalidConfig {
                    name: "target",
                    value: "several classes per example".into(),
                    expected: "one class per example: predicted, a class, or one per example",
                });
            }
        };
        let (targets, scores) = kernel.evaluate(model, input.clone(), &row_targets)?;
        let curve = |mode| {
            PerturbationCurveConfig::new()
                .with_steps(self.curve_steps)
                .with_mode(mode)
                .with_order(RelevanceOrder::MostRelevantFirst)
                .with_replacement(self.replacement)
                .with_kernel(s.kernel.clone())
                .init()
        };
        let (deletion, insertion) = (curve(CurveMode::Deletion)?, curve(CurveMode::Insertion)?);
        let sensitivity = MaxSensitivityConfig::new()
            .with_radius(self.radius)
            .with_samples(self.perturbations)
            .with_seed(self.seed)
            .init()?;
        let sanity = ModelRandomisationConfig::new()
            .with_threshold(self.sanity_threshold)
            .with_features(self.sanity_features)
            .init()?;

        // Per method: attributions, curves, max-sensitivity, sparseness; then per layer, one
        // randomised model explained by every method.
        let total = methods.len() * (4 + layers.len());
        let mut done = 0;
        let mut stage = |done: &mut usize, what: String| {
            progress(Progress {
                done: *done,
                total,
                stage: what,
            });
            *done += 1;
        };
        let per_sample = Target::PerSample(targets.clone());
        let mut partial = Vec::with_capacity(methods.len());
        let mut maps = Vec::with_capacity(methods.len());
        for (spec, method) in methods.iter().zip(&built) {
            stage(&mut done, format!("{spec}: attributions"));
            let started = Instant::now();
            let out = method.attribute(model, input.clone(), per_sample.clone())?;
            // Reading the values back finishes the computation on asynchronous backends.
            let host = read_f64(out.values.clone())?;
            let time_ms = started.elapsed().as_secs_f64() * 1e3;

            stage(&mut done, format!("{spec}: deletion and insertion curves"));
            let values = out.values;
            let del = deletion.curve(model, input.clone(), values.clone(), &targets)?;
            let ins = insertion.curve(model, input.clone(), values.clone(), &targets)?;

            stage(&mut done, format!("{spec}: max-sensitivity"));
            let max_sensitivity = sensitivity.evaluate(method, model, input.clone(), &targets)?;

            stage(&mut done, format!("{spec}: sparseness"));
            let sparseness = gini(values.clone())?;
            let cascade = sanity.cascade_on(values.clone(), input.clone())?;
            partial.push((
                Scored {
                    method: spec.name(),
                    family: spec.info().family.name().into(),
                    time_ms,
                    passes: out.report.passes,
                    model_evaluations: out.report.model_evaluations,
                    completeness: completeness(&out.report),
                    deletion: del,
                    insertion: ins,
                    max_sensitivity_mean: mean(&max_sensitivity),
                    max_sensitivity,
                    sparseness_mean: mean(&sparseness),
                    sparseness,
                },
                cascade,
            ));
            maps.push((values, host));
        }
        for (k, layer) in layers.iter().enumerate() {
            let random = randomised.randomised(k)?;
            for ((spec, method), (_, cascade)) in methods.iter().zip(&built).zip(&mut partial) {
                stage(
                    &mut done,
                    format!("{spec}: sanity check, layers {}", layers[..=k].join(", ")),
                );
                let out = method.attribute(&*random, input.clone(), per_sample.clone())?;
                cascade.step(layer.clone(), out.values)?;
            }
        }
        progress(Progress {
            done: total,
            total,
            stage: String::new(),
        });

        let mut matrix = vec![vec![1.0; maps.len()]; maps.len()];
        for i in 0..maps.len() {
            for j in i + 1..maps.len() {
                let rho = mean(&spearman(maps[i].0.clone(), maps[j].0.clone())?);
                matrix[i][j] = rho;
                matrix[j][i] = rho;
            }
        }
        let results = partial
            .into_iter()
            .map(|(scored, cascade)| Ok(scored.finish(cascade.finish()?)))
            .collect::<Result<Vec<_>>>()?;
        let shape = input.dims().to_vec();
        let device = input.device();
        let features: usize = shape[1..].iter().product();
        let results = Results {
            schema: SCHEMA,
            versions: Versions::current(),
            settings: Settings {
                model: self.model_name.clone(),
                weights: self.weights.clone(),
                dataset: self.dataset.clone(),
                device: self.device_name.clone().unwrap_or_else(|| {
                    format!("{:?}", ember_core::DeviceClass::of(&device)).to_lowercase()
                }),
                examples: shape[0],
                seed: self.seed,
                steps: s.steps,
                samples: s.samples,
                noise: s.noise,
                radius: self.radius,
                perturbations: self.perturbations,
                curve_steps: self.curve_steps,
                replacement: replacement_name(self.replacement),
                sanity_threshold: self.sanity_threshold,
                randomised_layers: layers,
                rows_per_pass: kernel.rows_per_pass(&device, features),
                sanity_features: self.sanity_features.name().into(),
                method_seed: s.seed,
                tolerance: s.tolerance,
                max_steps: s.tolerance.map(|_| s.max_steps),
            },
            examples: (0..shape[0])
                .map(|i| ExampleInfo {
                    index: i,
                    label: None,
                    predicted: targets[i],
                    score: scores[i],
                    name: None,
                    class_name: None,
                    probability: None,
                })
                .collect(),
            methods: results,
            rank_agreement: RankAgreement {
                methods: methods.iter().map(|m| m.name()).collect(),
                matrix,
            },
            files: Vec::new(),
        };
        Ok(Comparison {
            results,
            input: read_f64(input)?,
            shape,
            attributions: maps.into_iter().map(|(_, host)| host).collect(),
            signed: methods.iter().map(|m| m.signed()).collect(),
            groups,
        })
    }

    /// The methods without repeats, or an error for none.
    fn unique_methods(&self) -> Result<Vec<MethodSpec>> {
        let mut unique: Vec<MethodSpec> = Vec::new();
        for &m in &self.methods {
            if !unique.contains(&m) {
                unique.push(m);
            }
        }
        if unique.is_empty() {
            return Err(Error::InvalidConfig {
                name: "methods",
                value: "none".into(),
                expected: "at least one method",
            });
        }
        Ok(unique)
    }
}

/// A method's metrics before its sanity check is finished.
struct Scored {
    method: String,
    family: String,
    time_ms: f64,
    passes: usize,
    model_evaluations: usize,
    completeness: Option<crate::CompletenessSummary>,
    deletion: crate::Curve,
    insertion: crate::Curve,
    max_sensitivity: Vec<f64>,
    max_sensitivity_mean: f64,
    sparseness: Vec<f64>,
    sparseness_mean: f64,
}

impl Scored {
    fn finish(self, sanity: crate::SanityCheck) -> MethodResult {
        MethodResult {
            method: self.method,
            family: self.family,
            time_ms: self.time_ms,
            passes: self.passes,
            model_evaluations: self.model_evaluations,
            completeness: self.completeness,
            deletion: self.deletion,
            insertion: self.insertion,
            max_sensitivity: self.max_sensitivity,
            max_sensitivity_mean: self.max_sensitivity_mean,
            sparseness: self.sparseness,
            sparseness_mean: self.sparseness_mean,
            sanity,
        }
    }
}

/// How a replacement reads in the results: as `ember compare --replacement` takes it.
pub fn replacement_name(replacement: Replacement) -> String {
    match replacement {
        Replacement::Constant(v) => v.to_string(),
        Replacement::Mean => "mean".into(),
        Replacement::Blur { sigma } => format!("blur:{sigma}"),
    }
}

fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.iter().sum::<f64>() / values.len() as f64
}
