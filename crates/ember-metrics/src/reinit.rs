//! Re-initialising the layers of any Burn module, for the cascading model-randomisation sanity
//! check (Adebayo et al. 2018, <https://arxiv.org/abs/1810.03292>).
//!
//! A **layer** is a module that holds float parameters itself (a `Linear`, a `Conv2d`, a
//! `BatchNorm`, or a struct of the user's with a `Param` field), named by its path in the
//! module tree: `layer5`, `blocks.2.attention.query`. [`layers_top_down`] lists them in the
//! reverse of Burn's visiting order (the order of the fields), which is the order from the
//! output to the input for a model whose fields are declared in the order the forward pass
//! uses them; pass an explicit list to [`reinitialise`] when that is not so.
//!
//! [`reinitialise`] replaces the parameters of the named layers as PyTorch's `reset_parameters`
//! initialises a fresh layer of the same kind:
//!
//! - `Linear`: weight and bias uniform in `±1/√fan_in`, `fan_in` the weight's first
//!   dimension (Burn's weight is `[in, out]`).
//! - `Conv1d`/`2d`/`3d`, `ConvTranspose1d`/`2d`/`3d`, `DeformConv2d`: weight and bias uniform in
//!   `±1/√fan_in`, `fan_in` the product of the weight's dimensions after the first.
//! - `Embedding`: weight standard normal.
//! - `BatchNorm`, `LayerNorm`, `GroupNorm`, `InstanceNorm`, `RmsNorm`: scale 1, shift 0. Running
//!   statistics (`running_mean`, `running_var`) are buffers, not parameters, and are kept.
//! - Any other layer: a parameter of rank 2 as `Linear`'s weight (`x.matmul(w)`, `w` `[in,
//!   out]`), of rank 3 or more as a convolution's; a vector parameter uniform in the bound of
//!   the layer's first parameter of rank 2 or more, or standard normal if it has none.
//!
//! Draws come from a seeded host generator (layer `i` of the list from `seed + i`, in the
//! visiting order of its parameters), so a seed gives the same weights on every device. The
//! parameters keep their ids, devices, dtypes and gradient settings.

use std::collections::BTreeMap;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{Tensor, TensorData};
use ember_core::rng::SplitMix64;
use ember_core::{Error, Result};
use serde::{Deserialize, Serialize};

/// A layer of a module: a module that holds float parameters itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layer {
    /// The layer's path in the module tree, fields joined by `.` (`blocks.2.query`).
    pub path: String,
    /// The layer's Burn type (`Linear`, `Conv2d`, …; `Vec` or `Tuple` for parameters held in a
    /// container).
    pub kind: String,
    /// Its parameters: name and shape, in visiting order.
    pub parameters: Vec<(String, Vec<usize>)>,
}

/// The layers of `module` that hold float parameters, from the output side: the reverse of
/// Burn's visiting order (see the [module docs](self)).
pub fn layers_top_down<M: Module>(module: &M) -> Vec<Layer> {
    let mut finder = LayerFinder::default();
    module.visit(&mut finder);
    finder.layers.reverse();
    finder.layers
}

/// `module` with the parameters of every layer in `paths` re-initialised (layer `i` of the
/// list from `seed + i`), as the [module docs](self) say.
///
/// # Errors
///
/// [`Error::InvalidConfig`] if a path is not a layer of the module (see [`layers_top_down`]) or
/// appears twice.
pub fn reinitialise<M: Module, S: AsRef<str>>(module: M, paths: &[S], seed: u64) -> Result<M> {
    let layers: BTreeMap<String, Layer> = layers_top_down(&module)
        .into_iter()
        .map(|l| (l.path.clone(), l))
        .collect();
    let mut plans = BTreeMap::new();
    for (i, path) in paths.iter().enumerate() {
        let path = path.as_ref();
        let layer = layers.get(path).ok_or_else(|| Error::InvalidConfig {
            name: "layer",
            value: format!("`{path}`"),
            expected: "the path of a layer of the module (see reinit::layers_top_down)",
        })?;
        let plan = LayerPlan {
            rng: SplitMix64::new(seed.wrapping_add(i as u64)),
            rule: Rule::of(layer),
        };
        if plans.insert(path.to_string(), plan).is_some() {
            return Err(Error::InvalidConfig {
                name: "layer",
                value: format!("`{path}` twice"),
                expected: "each layer at most once",
            });
        }
    }
    let mut mapper = Reinitialiser {
        path: Vec::new(),
        plans,
    };
    Ok(module.map(&mut mapper))
}

/// How a layer's parameters are drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Rule {
    /// Every parameter uniform in `±bound`.
    Uniform(f64),
    /// Every parameter standard normal.
    Normal,
    /// Scale parameters 1, shift parameters 0.
    Norm,
}

impl Rule {
    fn of(layer: &Layer) -> Rule {
        let first_matrix = layer.parameters.iter().find(|(_, dims)| dims.len() >= 2);
        match layer.kind.as_str() {
            "Embedding" => Rule::Normal,
            "BatchNorm" | "LayerNorm" | "GroupNorm" | "InstanceNorm" | "RmsNorm" => Rule::Norm,
            kind => match first_matrix {
                Some((_, dims)) => {
                    let convolution = kind.starts_with("Conv") || kind.starts_with("DeformConv");
                    let fan_in: usize = if dims.len() == 2 && !convolution {
                        dims[0]
                    } else {
                        dims[1..].iter().product()
                    };
                    Rule::Uniform(1.0 / (fan_in.max(1) as f64).sqrt())
                }
                None => Rule::Normal,
            },
        }
    }
}

fn is_buffer(name: &str) -> bool {
    name.starts_with("running_")
}

/// Finds the layers: the parents of float parameters, in visiting order.
#[derive(Default)]
struct LayerFinder {
    /// `(field, container type)` of each module entered.
    path: Vec<(String, String)>,
    layers: Vec<Layer>,
}

impl ModuleVisitor for LayerFinder {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.path
            .push((name.to_string(), container_type.to_string()));
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let Some(((name, container), parents)) = self.path.split_last() else {
            return;
        };
        if is_buffer(name) {
            return;
        }
        let path = join(parents);
        let kind = container
            .split_once(':')
            .map_or(container.as_str(), |(_, ty)| ty)
            .to_string();
        let dims = param.lazy_shape().to_vec();
        match self.layers.iter_mut().find(|l| l.path == path) {
            Some(layer) => layer.parameters.push((name.clone(), dims)),
            None => self.layers.push(Layer {
                path,
                kind,
                parameters: vec![(name.clone(), dims)],
            }),
        }
    }
}

fn join(parents: &[(String, String)]) -> String {
    parents
        .iter()
        .map(|(field, _)| field.as_str())
        .collect::<Vec<_>>()
        .join(".")
}

struct LayerPlan {
    rng: SplitMix64,
    rule: Rule,
}

struct Reinitialiser {
    path: Vec<String>,
    plans: BTreeMap<String, LayerPlan>,
}

impl ModuleMapper for Reinitialiser {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let Some((name, parents)) = self.path.split_last() else {
            return param;
        };
        if is_buffer(name) {
            return param;
        }
        let Some(plan) = self.plans.get_mut(&parents.join(".")) else {
            return param;
        };
        let shift = matches!(name.as_str(), "beta" | "bias");
        param.map(|old| {
            let dims = old.dims();
            let count: usize = dims.iter().product();
            let values: Vec<f64> = match plan.rule {
                Rule::Uniform(bound) => (0..count)
                    .map(|_| bound * (2.0 * plan.rng.next_f64() - 1.0))
                    .collect(),
                Rule::Normal => (0..count).map(|_| plan.rng.next_normal()).collect(),
                Rule::Norm => vec![if shift { 0.0 } else { 1.0 }; count],
            };
            let fresh = Tensor::<D>::from_data(TensorData::new(values, dims), &old.device())
                .cast(old.dtype());
            fresh.set_require_grad(old.is_require_grad())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::conv::Conv2dConfig;
    use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig};
    use burn::tensor::Device;
    use ember_core::validate::read_f64;

    #[derive(Module, Debug)]
    struct Net {
        conv: burn::nn::conv::Conv2d,
        norm: BatchNorm,
        blocks: Vec<Linear>,
        scale: Param<Tensor<1>>,
    }

    fn net(device: &Device) -> Net {
        Net {
            conv: Conv2dConfig::new([1, 4], [3, 3]).init(device),
            norm: BatchNormConfig::new(4).init(device),
            blocks: vec![
                LinearConfig::new(16, 8).init(device),
                LinearConfig::new(8, 3).init(device),
            ],
            scale: Param::from_tensor(Tensor::ones([3], device)),
        }
    }

    #[test]
    fn layers_are_found_from_the_output_side_with_their_kinds() {
        let device = Device::flex();
        let layers = layers_top_down(&net(&device));
        let found: Vec<(&str, &str)> = layers
            .iter()
            .map(|l| (l.path.as_str(), l.kind.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                ("", "Net"),
                ("blocks.1", "Linear"),
                ("blocks.0", "Linear"),
                ("norm", "BatchNorm"),
                ("conv", "Conv2d"),
            ]
        );
        // The running statistics are not parameters.
        assert_eq!(layers[3].parameters.len(), 2);
    }

    #[test]
    fn unknown_and_repeated_layers_are_typed_errors() {
        let device = Device::flex();
        for paths in [vec!["blocks.2"], vec!["conv", "conv"]] {
            assert!(matches!(
                reinitialise(net(&device), &paths, 0),
                Err(Error::InvalidConfig { name: "layer", .. })
            ));
        }
    }

    #[test]
    fn norm_layers_reset_to_identity_and_keep_their_running_statistics() {
        let device = Device::flex();
        let mut model = net(&device);
        model.norm.gamma = Param::from_tensor(Tensor::full([4], 3.0, &device));
        let before = read_f64(model.norm.running_var.value()).unwrap();
        let after = reinitialise(model, &["norm"], 0).unwrap();
        assert_eq!(read_f64(after.norm.gamma.val()).unwrap(), vec![1.0; 4]);
        assert_eq!(read_f64(after.norm.beta.val()).unwrap(), vec![0.0; 4]);
        assert_eq!(read_f64(after.norm.running_var.value()).unwrap(), before);
    }
}
