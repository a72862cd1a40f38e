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
    paths: Vec<String>,
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
            paths,
            seed: 0,
        }
    }

    /// Randomises these layers, in this order (paths as [`reinit::layers_top_down`] names
    /// them), labelled by their paths.
    pub fn with_layers<S: Into<String>>(mut self, paths: impl IntoIterator<Item = S>) -> Self {
        self.paths = paths.into_iter().map(Into::into).collect();
        self.labels = self.paths.clone();
        self
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
        if labels.len() != self.paths.len() {
            return Err(Error::InvalidConfig {
                name: "labels",
                value: format!("{} labels for {} layers", labels.len(), self.paths.len()),
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
        if step >= self.paths.len() {
            return Err(step_out_of_range(step, self.paths.len()));
        }
        reinit::reinitialise(self.module.clone(), &self.paths[..=step], self.seed)
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
