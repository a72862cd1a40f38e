//! The zoo's one dispatch: each model describes itself ([`ZooInfo`], declared in its own file)
//! and implements [`ZooNet`]; [`ZooModel`] names them, and [`ZooModel::visit`] is the one
//! place that matches on a model, loading it and handing it, typed, to a command's
//! [`ZooVisitor`]. Adding a zoo model is its file (the network, its `ZooInfo`, its `ZooNet`
//! impl), one arm in each `match` of this file, and its data.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use ember_core::{Eval, EvalSplit, Model};

use crate::data::{Dataset, breast_cancer_split, digits_split};
use crate::{Cnn, EfficientNetLite0, Mlp, Tabular, ZooError};

/// Where a zoo model's inputs come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Data {
    /// The digits (8×8 images), compiled in: [`digits_split`].
    Digits,
    /// Breast cancer (30 standardised features), compiled in: [`breast_cancer_split`].
    BreastCancer,
    /// The user's photos (`--images`), resized and normalised for the model.
    Photos,
}

impl Data {
    /// The test split of a compiled-in dataset; `None` for photos.
    pub fn test_set(self) -> Option<Dataset> {
        match self {
            Data::Digits => Some(digits_split().test),
            Data::BreastCancer => Some(breast_cancer_split().0.test),
            Data::Photos => None,
        }
    }

    /// The training split of a compiled-in dataset; `None` for photos.
    pub fn train_set(self) -> Option<Dataset> {
        match self {
            Data::Digits => Some(digits_split().train),
            Data::BreastCancer => Some(breast_cancer_split().0.train),
            Data::Photos => None,
        }
    }

    /// `count` samples of the training split, evenly spaced over it (all of them if it has
    /// fewer), row-major: the baselines that GradientSHAP and Expected Gradients draw from by
    /// default. `None` for photos.
    pub fn training_baselines(self, count: usize) -> Option<(Vec<f32>, usize)> {
        let train = self.train_set()?;
        let n = train.len();
        let count = count.min(n);
        let picked: Vec<usize> = (0..count).map(|i| i * n / count.max(1)).collect();
        Some((train.select(&picked).inputs, count))
    }

    /// The height and width of an image sample of a model taking `sample_shape` (the digits
    /// are 8×8 whatever the model's input layout; photos are the model's last two axes), or
    /// `None` for features.
    pub fn image_size(self, sample_shape: &[usize]) -> Option<[usize; 2]> {
        match (self, sample_shape) {
            (Data::Digits, _) => Some([8, 8]),
            (Data::Photos, [.., h, w]) => Some([*h, *w]),
            _ => None,
        }
    }
}

/// How the model-randomisation sanity check walks a model's layers.
#[derive(Debug, Clone, Copy)]
pub enum Cascade {
    /// One layer per step, labelled by its PyTorch index (`5`), the module `layer5`.
    Layers,
    /// Groups of module path prefixes per step (a deep network: six steps, not 99 layers).
    Groups(fn() -> Vec<Vec<String>>),
}

/// Where a model's weights come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weights {
    /// Shipped with ember (trained by `ember train`); a PyTorch-named file may replace them.
    Shipped,
    /// The user's file is required; the hint says where to get it.
    Required {
        /// Where to get the weights.
        hint: &'static str,
    },
}

/// The settings `ember compare` uses for a model unless told otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompareDefaults {
    /// Integration steps.
    pub steps: usize,
    /// Noisy copies of the noise tunnels.
    pub samples: usize,
    /// Max-sensitivity's perturbations per example.
    pub perturbations: usize,
}

/// What a zoo model says about itself, declared in its own file.
#[derive(Debug)]
pub struct ZooInfo {
    /// Its name: `cnn`.
    pub name: &'static str,
    /// Other names it is read by.
    pub aliases: &'static [&'static str],
    /// One line on what it is.
    pub summary: &'static str,
    /// The shape of one input sample (without the batch dimension).
    pub sample_shape: &'static [usize],
    /// The number of output classes.
    pub classes: usize,
    /// Where its inputs come from.
    pub data: Data,
    /// The layers it can be split at for layer methods, by name.
    pub split_points: &'static [&'static str],
    /// The split points in words, for errors.
    pub split_hint: &'static str,
    /// The split point of its Grad-CAM layer, for an image model with one.
    pub grad_cam_layer: Option<&'static str>,
    /// The sanity check's steps from the output down, by label.
    pub cascade_labels: &'static [&'static str],
    /// How those steps map to module paths.
    pub cascade: Cascade,
    /// Where its weights come from.
    pub weights: Weights,
    /// `ember compare`'s defaults for it.
    pub compare: CompareDefaults,
}

/// The defaults of the small models.
pub(crate) const SMALL: CompareDefaults = CompareDefaults {
    steps: 50,
    samples: 50,
    perturbations: 10,
};

/// A zoo network: its description, how it loads, and its forward pass whole and split. The
/// hidden layer of a split has the input's rank (`D`) for every zoo model.
pub trait ZooNet<const D: usize>: Module + Clone + 'static {
    /// What the model says about itself.
    const INFO: &'static ZooInfo;

    /// The model explained by the commands: in evaluation mode, with its Grad-CAM layer named
    /// where it has one ([`ember_core::WithLayer`]).
    type Explained: Model<D> + 'static;

    /// Loads the model with `weights` (a PyTorch-named file) or, without, its shipped weights.
    ///
    /// # Errors
    ///
    /// A weights file that does not load, or [`ZooError::WeightsRequired`] for a model that
    /// ships none.
    fn load(weights: Option<&Path>, device: &Device) -> Result<Self, ZooError>;

    /// Inputs `[N, ...]` → logits `[N, classes]`.
    fn logits(&self, x: Tensor<D>) -> Tensor<2>;

    /// The output of split point `point` (an index into [`ZooInfo::split_points`]).
    fn head_at(&self, x: Tensor<D>, point: usize) -> Tensor<D>;

    /// The logits from the output of split point `point`.
    fn tail_at(&self, h: Tensor<D>, point: usize) -> Tensor<2>;

    /// The model the commands explain ([`Self::Explained`]).
    fn explained(&self) -> Self::Explained;
}

/// A model whose forward pass is `N::logits`, in evaluation mode.
pub type Whole<N, const D: usize> = Eval<N, fn(&N, Tensor<D>) -> Tensor<2>>;

/// A model split at a point, in evaluation mode.
pub type SplitAt<N, const D: usize> = EvalSplit<
    N,
    Box<dyn Fn(&N, Tensor<D>) -> Tensor<D> + Send + Sync>,
    Box<dyn Fn(&N, Tensor<D>) -> Tensor<2> + Send + Sync>,
>;

/// The model whole, in evaluation mode ([`ember_core::eval`]).
pub fn whole<const D: usize, N: ZooNet<D>>(model: &N) -> Whole<N, D> {
    ember_core::eval(model, N::logits as fn(&N, Tensor<D>) -> Tensor<2>)
}

/// The model split at split point `point`, in evaluation mode ([`ember_core::eval_split`]).
pub fn split<const D: usize, N: ZooNet<D>>(model: &N, point: usize) -> SplitAt<N, D> {
    ember_core::eval_split(
        model,
        Box::new(move |m: &N, x| m.head_at(x, point)),
        Box::new(move |m: &N, h| m.tail_at(h, point)),
    )
}

/// A command's work on a zoo model, whatever its type: [`ZooModel::visit`] loads the model and
/// calls [`visit`](Self::visit) with it.
pub trait ZooVisitor {
    /// What the work returns.
    type Output;

    /// Does the work on `model`, loaded and typed.
    fn visit<const D: usize, N: ZooNet<D>>(self, model: N) -> Self::Output;
}

/// The zoo's models by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ZooModel {
    /// The digits MLP, input `[N, 64]`.
    Mlp,
    /// The digits CNN, input `[N, 1, 8, 8]`.
    Cnn,
    /// The breast-cancer MLP, input `[N, 30]` (standardised).
    Tabular,
    /// EfficientNet-Lite0 (ImageNet), input `[N, 3, 224, 224]` normalised photos; its weights
    /// are the user's (no shipped weights): see [`crate::efficientnet`].
    EfficientNetLite0,
}

impl ZooModel {
    /// Every zoo model with shipped weights (trained by `ember train`).
    pub const ALL: [ZooModel; 3] = [ZooModel::Mlp, ZooModel::Cnn, ZooModel::Tabular];

    /// Every zoo model.
    pub const EVERY: [ZooModel; 4] = [
        ZooModel::Mlp,
        ZooModel::Cnn,
        ZooModel::Tabular,
        ZooModel::EfficientNetLite0,
    ];

    /// What the model says about itself.
    pub fn info(self) -> &'static ZooInfo {
        match self {
            ZooModel::Mlp => <Mlp as ZooNet<2>>::INFO,
            ZooModel::Cnn => <Cnn as ZooNet<4>>::INFO,
            ZooModel::Tabular => <Tabular as ZooNet<2>>::INFO,
            ZooModel::EfficientNetLite0 => <EfficientNetLite0 as ZooNet<4>>::INFO,
        }
    }

    /// Loads the model (`weights`, or its shipped weights) and hands it to `visitor`.
    ///
    /// # Errors
    ///
    /// As [`ZooNet::load`].
    pub fn visit<V: ZooVisitor>(
        self,
        weights: Option<&Path>,
        device: &Device,
        visitor: V,
    ) -> Result<V::Output, ZooError> {
        Ok(match self {
            ZooModel::Mlp => visitor.visit::<2, _>(Mlp::load(weights, device)?),
            ZooModel::Cnn => visitor.visit::<4, _>(Cnn::load(weights, device)?),
            ZooModel::Tabular => visitor.visit::<2, _>(Tabular::load(weights, device)?),
            ZooModel::EfficientNetLite0 => {
                visitor.visit::<4, _>(EfficientNetLite0::load(weights, device)?)
            }
        })
    }

    /// The model's name: `mlp`, `cnn`, `tabular` or `efficientnet-lite0`.
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// The shape of one input sample (without the batch dimension).
    pub fn sample_shape(self) -> &'static [usize] {
        self.info().sample_shape
    }

    /// The number of output classes.
    pub fn classes(self) -> usize {
        self.info().classes
    }

    /// The layers the model can be split at for layer methods, by the PyTorch index of the
    /// module whose output is the layer: `"3"` is the output of the CNN's second ReLU (its last
    /// conv block, `[N, 32, 8, 8]`), `"0"` the first conv's output before its ReLU.
    /// EfficientNet-Lite0's are `stem`, `blocks.0` … `blocks.15` and `features`.
    pub fn split_points(self) -> &'static [&'static str] {
        self.info().split_points
    }

    /// The index of split point `name` (see [`split_points`](Self::split_points)).
    ///
    /// # Errors
    ///
    /// [`ZooError::Core`] with an invalid-config error naming the model's split points.
    pub fn split_point(self, name: &str) -> Result<usize, ZooError> {
        let info = self.info();
        info.split_points
            .iter()
            .position(|&p| p == name)
            .ok_or_else(|| {
                ZooError::Core(ember_core::Error::InvalidConfig {
                    name: "layer",
                    value: format!("`{name}` of the {self} model"),
                    expected: info.split_hint,
                })
            })
    }

    /// The index of the model's Grad-CAM layer, for an image model with one.
    pub fn grad_cam_point(self) -> Option<usize> {
        let layer = self.info().grad_cam_layer?;
        self.split_point(layer).ok()
    }

    /// The model's layers with parameters by their PyTorch index (`"5"` is `layer5`, the
    /// `5.weight` of the `state_dict`), from the output down to the input: the order of the
    /// cascading randomisation (Adebayo et al. 2018, <https://arxiv.org/abs/1810.03292>; the
    /// re-initialisation itself is `ember_metrics::reinit`).
    pub fn layers_top_down(self) -> &'static [&'static str] {
        self.info().cascade_labels
    }

    /// The module path prefixes each step of [`layers_top_down`](Self::layers_top_down)
    /// re-initialises: every layer at or under them (the digits and tabular models' steps are
    /// one layer each; EfficientNet-Lite0's steps are groups of blocks, with their BatchNorms,
    /// so that its cascade has six steps, not 99 layers).
    pub fn cascade_prefixes(self) -> Vec<Vec<String>> {
        match self.info().cascade {
            Cascade::Layers => self
                .layer_paths_top_down()
                .into_iter()
                .map(|p| vec![p])
                .collect(),
            Cascade::Groups(groups) => groups(),
        }
    }

    /// The module paths of [`layers_top_down`](Self::layers_top_down): `layer5`, … (for the
    /// digits and tabular models, whose steps are single layers; see
    /// [`cascade_prefixes`](Self::cascade_prefixes) for EfficientNet-Lite0's).
    pub fn layer_paths_top_down(self) -> Vec<String> {
        match self.info().cascade {
            Cascade::Layers => self
                .layers_top_down()
                .iter()
                .map(|index| format!("layer{index}"))
                .collect(),
            Cascade::Groups(groups) => groups().concat(),
        }
    }
}

impl fmt::Display for ZooModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ZooModel {
    type Err = ZooError;

    fn from_str(s: &str) -> Result<Self, ZooError> {
        ZooModel::EVERY
            .into_iter()
            .find(|m| m.name() == s || m.info().aliases.contains(&s))
            .ok_or_else(|| ZooError::UnknownModel { name: s.into() })
    }
}

/// Loads a zoo model: `weights` into `init`'s model, or the shipped weights.
pub(crate) fn load_or_shipped<M: Module>(
    weights: Option<&Path>,
    device: &Device,
    name: &'static str,
    init: fn(&Device) -> M,
    shipped: fn(&Device) -> Result<M, ZooError>,
) -> Result<M, ZooError> {
    match weights {
        Some(path) => crate::weights::load(init(device), path, name),
        None => shipped(device),
    }
}
