//! The randomised models of the sanity check's cascade: from any Burn module by
//! re-initialising its layers ([`ModuleCascade`]), or from a closure ([`CustomCascade`]).

use burn::module::Module;
use ember_core::{Error, Model, Result};

use crate::reinit::{self, Layer};

/// The models of a cascading model randomisation (Adebayo et al. 2018): step `k` is the
/// trained model with its first `k + 1` layers (from the output side) re-initialised.
pub trait RandomisedModels<const D: usize> {
    /// The label of each step's newly randomised layer, in cascade order.
    fn layers(&self) -> Vec<String>;

    /// The model after step `step` of the cascade (layers `0..=step` re-initialised).
    ///
    /// # Errors
    ///
    /// Whatever building the model returns; [`Error::InvalidConfig`] for a step out of range.
    fn randomised(&self, step: usize) -> Result<Box<dyn Model<D>>>;
}

/// The cascade of a Burn module: its layers re-initialised one at a time from the output side
/// by [`reinit::reinitialise`], each randomised module turned into a model by `wrap` (e.g.
/// `|m: &Net| ember::eval(m, Net::forward)`).
///
/// # Example
///
/// ```
/// use burn::nn::{Linear, LinearConfig};
/// use burn::tensor::{Device, Tensor};
/// use ember_core::eval;
/// use ember_metrics::compare::{ModuleCascade, RandomisedModels};
///
/// let device = Device::flex();
/// let layer: Linear = LinearConfig::new(4, 2).init(&device);
/// let cascade = ModuleCascade::new(layer, |m: &Linear| eval(m, Linear::forward::<2>));
/// assert_eq!(RandomisedModels::<2>::layers(&cascade), vec![String::new()]);
/// ```
#[derive(Debug, Clone)]
pub struct ModuleCascade<M, W> {
    module: M,
    wrap: W,
    /// The layer paths each step re-initialises (one each, unless grouped).
    steps: Vec<Vec<String>>,
    labels: Vec<String>,
    seed: u64,
}

impl<M: Module, W> ModuleCascade<M, W> {
    /// Every layer of `module` with parameters, from the output side
    /// ([`reinit::layers_top_down`]), labelled by its path, seed 0.
    pub fn new(module: M, wrap: W) -> Self {
        let paths: Vec<String> = reinit::layers_top_down(&module)
            .into_iter()
            .map(|Layer { path, .. }| path)
            .collect();
        ModuleCascade {
            module,
            wrap,
            labels: paths.clone(),
            steps: paths.into_iter().map(|p| vec![p]).collect(),
            seed: 0,
        }
    }

    /// Randomises these layers, in this order (paths as [`reinit::layers_top_down`] names
    /// them), labelled by their paths.
    pub fn with_layers<S: Into<String>>(mut self, paths: impl IntoIterator<Item = S>) -> Self {
        let paths: Vec<String> = paths.into_iter().map(Into::into).collect();
        self.labels = paths.clone();
        self.steps = paths.into_iter().map(|p| vec![p]).collect();
        self
    }

    /// Randomises groups of layers, one group per step, in this order: each group is a label
    /// and module paths (`blocks.15`, `fc`), and re-initialises every layer at or under them
    /// (in [`reinit::layers_top_down`]'s order), so that a deep network's cascade can step
    /// through its stages rather than through each of its layers.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for a group whose paths hold no layer.
    pub fn with_groups<L: Into<String>, S: AsRef<str>>(
        mut self,
        groups: impl IntoIterator<Item = (L, Vec<S>)>,
    ) -> Result<Self> {
        let layers: Vec<String> = reinit::layers_top_down(&self.module)
            .into_iter()
            .map(|Layer { path, .. }| path)
            .collect();
        let (mut labels, mut steps) = (Vec::new(), Vec::new());
        for (label, prefixes) in groups {
            let label = label.into();
            let under = |path: &str| {
                prefixes.iter().any(|p| {
                    let p = p.as_ref();
                    path == p
                        || path
                            .strip_prefix(p)
                            .is_some_and(|rest| rest.starts_with('.'))
                })
            };
            let step: Vec<String> = layers.iter().filter(|l| under(l)).cloned().collect();
            if step.is_empty() {
                return Err(Error::InvalidConfig {
                    name: "group",
                    value: format!("`{label}` (no layer under its paths)"),
                    expected: "module paths that hold layers (see reinit::layers_top_down)",
                });
            }
            labels.push(label);
            steps.push(step);
        }
        self.labels = labels;
        self.steps = steps;
        Ok(self)
    }

    /// Labels the layers for reports (one per layer, in the cascade's order).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] if the number of labels is not the number of layers.
    pub fn with_labels<S: Into<String>>(
        mut self,
        labels: impl IntoIterator<Item = S>,
    ) -> Result<Self> {
        let labels: Vec<String> = labels.into_iter().map(Into::into).collect();
        if labels.len() != self.steps.len() {
            return Err(Error::InvalidConfig {
                name: "labels",
                value: format!("{} labels for {} layers", labels.len(), self.steps.len()),
                expected: "one label per randomised layer",
            });
        }
        self.labels = labels;
        Ok(self)
    }

    /// The seed of the draws (layer `i` of the cascade from `seed + i`).
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The module after step `step`: layers `0..=step` re-initialised.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for a step out of range or a path that is not a layer.
    pub fn module(&self, step: usize) -> Result<M> {
        if step >= self.steps.len() {
            return Err(step_out_of_range(step, self.steps.len()));
        }
        reinit::reinitialise(
            self.module.clone(),
            &self.steps[..=step].concat(),
            self.seed,
        )
    }
}

fn step_out_of_range(step: usize, layers: usize) -> Error {
    Error::InvalidConfig {
        name: "step",
        value: format!("{step} of a cascade of {layers} layers"),
        expected: "a step below the number of layers",
    }
}

impl<const D: usize, M, W, O> RandomisedModels<D> for ModuleCascade<M, W>
where
    M: Module,
    W: Fn(&M) -> O,
    O: Model<D> + 'static,
{
    fn layers(&self) -> Vec<String> {
        self.labels.clone()
    }

    fn randomised(&self, step: usize) -> Result<Box<dyn Model<D>>> {
        Ok(Box::new((self.wrap)(&self.module(step)?)))
    }
}

/// A cascade whose randomised models come from the caller: `make(step)` returns the model with
/// layers `0..=step` of `layers` re-initialised.
#[derive(Debug, Clone)]
pub struct CustomCascade<F> {
    layers: Vec<String>,
    make: F,
}

impl<F> CustomCascade<F> {
    /// A cascade over `layers` (labels, in cascade order) built by `make`.
    pub fn new<S: Into<String>>(layers: impl IntoIterator<Item = S>, make: F) -> Self {
        CustomCascade {
            layers: layers.into_iter().map(Into::into).collect(),
            make,
        }
    }
}

impl<const D: usize, F, O> RandomisedModels<D> for CustomCascade<F>
where
    F: Fn(usize) -> Result<O>,
    O: Model<D> + 'static,
{
    fn layers(&self) -> Vec<String> {
        self.layers.clone()
    }

    fn randomised(&self, step: usize) -> Result<Box<dyn Model<D>>> {
        if step >= self.layers.len() {
            return Err(step_out_of_range(step, self.layers.len()));
        }
        Ok(Box::new((self.make)(step)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::{Linear, LinearConfig};
    use burn::tensor::Device;
    use ember_core::validate::read_f64;

    #[derive(Module, Debug)]
    struct Net {
        blocks: Vec<Linear>,
        head: Linear,
    }

    fn weights(layer: &Linear) -> Vec<f64> {
        read_f64(layer.weight.val()).unwrap()
    }

    #[test]
    fn groups_reinitialise_every_layer_under_their_paths_cumulatively() {
        let device = Device::flex();
        let net = Net {
            blocks: vec![
                LinearConfig::new(3, 3).init(&device),
                LinearConfig::new(3, 3).init(&device),
            ],
            head: LinearConfig::new(3, 2).init(&device),
        };
        let cascade = ModuleCascade::new(net.clone(), |_: &Net| ())
            .with_groups([("the head", vec!["head"]), ("the blocks", vec!["blocks"])])
            .unwrap();
        assert_eq!(cascade.labels, ["the head", "the blocks"]);
        assert_eq!(cascade.steps, [vec!["head"], vec!["blocks.1", "blocks.0"]]);
        let first = cascade.module(0).unwrap();
        assert_ne!(weights(&first.head), weights(&net.head));
        assert_eq!(weights(&first.blocks[0]), weights(&net.blocks[0]));
        let second = cascade.module(1).unwrap();
        assert_eq!(weights(&second.head), weights(&first.head));
        assert_ne!(weights(&second.blocks[0]), weights(&net.blocks[0]));
        assert_ne!(weights(&second.blocks[1]), weights(&net.blocks[1]));
        // A path under which there is no layer, or a mere prefix of a name, is an error.
        for paths in [vec!["nothing"], vec!["bloc"]] {
            assert!(matches!(
                ModuleCascade::new(net.clone(), |_: &Net| ()).with_groups([("x", paths)]),
                Err(Error::InvalidConfig { name: "group", .. })
            ));
        }
    }
}
