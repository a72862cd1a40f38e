//! The zoo's reference models, laid out exactly like PyTorch `nn.Sequential` modules.
//!
//! Each Burn field `layerK` holds the PyTorch module at index `K` of the `Sequential`, so the
//! `state_dict` key `K.weight` is the Burn parameter `layerK.weight` (see [`crate::weights`]).
//! Linear weights are `[out, in]` in PyTorch files and `[in, out]` in Burn; the loader
//! transposes them. Convolution weights are `[out, in, kh, kw]` in both.
//!
//! ```text
//! mlp:     [N, 64]       → 0 Linear(64,128) → ReLU → 2 Linear(128,64) → ReLU → 4 Linear(64,10)
//! cnn:     [N, 1, 8, 8]  → 0 Conv2d(1,16,3,p=1) → ReLU → 2 Conv2d(16,32,3,p=1) → ReLU
//!                        → Flatten (c·64 + h·8 + w) → 5 Linear(2048,10)
//! tabular: [N, 30]       → 0 Linear(30,32) → ReLU → 2 Linear(32,2)
//! ```

use std::fmt;
use std::str::FromStr;

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

use crate::ZooError;
use crate::efficientnet::IMAGE_SIZE;

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

    /// The model's name: `mlp`, `cnn`, `tabular` or `efficientnet-lite0`.
    pub fn name(self) -> &'static str {
        match self {
            ZooModel::Mlp => "mlp",
            ZooModel::Cnn => "cnn",
            ZooModel::Tabular => "tabular",
            ZooModel::EfficientNetLite0 => "efficientnet-lite0",
        }
    }

    /// The shape of one input sample (without the batch dimension).
    pub fn sample_shape(self) -> &'static [usize] {
        match self {
            ZooModel::Mlp => &[64],
            ZooModel::Cnn => &[1, 8, 8],
            ZooModel::Tabular => &[30],
            ZooModel::EfficientNetLite0 => &[3, IMAGE_SIZE, IMAGE_SIZE],
        }
    }

    /// The number of output classes.
    pub fn classes(self) -> usize {
        match self {
            ZooModel::Mlp | ZooModel::Cnn => 10,
            ZooModel::Tabular => 2,
            ZooModel::EfficientNetLite0 => crate::efficientnet::CLASSES,
        }
    }

    /// The layers the model can be split at for layer methods, by the PyTorch index of the
    /// module whose output is the layer: `"3"` is the output of the CNN's second ReLU (its last
    /// conv block, `[N, 32, 8, 8]`), `"0"` the first conv's output before its ReLU.
    /// EfficientNet-Lite0's are `stem`, `blocks.0` … `blocks.15` and `features`.
    pub fn split_points(self) -> &'static [&'static str] {
        match self {
            ZooModel::Mlp | ZooModel::Cnn => &["0", "1", "2", "3"],
            ZooModel::Tabular => &["0", "1"],
            ZooModel::EfficientNetLite0 => &crate::efficientnet::SPLIT_POINTS,
        }
    }

    /// The index of split point `name` (see [`split_points`](Self::split_points)).
    ///
    /// # Errors
    ///
    /// [`ZooError::Core`] with an invalid-config error naming the model's split points.
    pub fn split_point(self, name: &str) -> Result<usize, ZooError> {
        if self == ZooModel::EfficientNetLite0 {
            return crate::efficientnet::split_point(name);
        }
        self.split_points()
            .iter()
            .position(|&p| p == name)
            .ok_or_else(|| {
                ZooError::Core(ember_core::Error::InvalidConfig {
                    name: "layer",
                    value: format!("`{name}` of the {self} model"),
                    expected: match self {
                        ZooModel::Mlp | ZooModel::Cnn => "0, 1, 2 or 3 (the PyTorch index of the module whose output is the layer)",
                        ZooModel::Tabular => "0 or 1 (the PyTorch index of the module whose output is the layer)",
                        ZooModel::EfficientNetLite0 => "stem, blocks.0 … blocks.15, or features",
                    },
                })
            })
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
        match s {
            "mlp" => Ok(ZooModel::Mlp),
            "cnn" => Ok(ZooModel::Cnn),
            "tabular" => Ok(ZooModel::Tabular),
            "efficientnet-lite0" | "efficientnet_lite0" => Ok(ZooModel::EfficientNetLite0),
            _ => Err(ZooError::UnknownModel { name: s.into() }),
        }
    }
}

/// The digits MLP: `0` Linear(64,128) → ReLU → `2` Linear(128,64) → ReLU → `4` Linear(64,10).
#[derive(Module, Debug)]
pub struct Mlp {
    /// PyTorch `0`: Linear(64, 128).
    pub layer0: Linear,
    /// PyTorch `2`: Linear(128, 64).
    pub layer2: Linear,
    /// PyTorch `4`: Linear(64, 10).
    pub layer4: Linear,
}

impl Mlp {
    /// A randomly initialised MLP (Burn's default initialisation) on `device`.
    pub fn new(device: &Device) -> Self {
        Self {
            layer0: LinearConfig::new(64, 128).init(device),
            layer2: LinearConfig::new(128, 64).init(device),
            layer4: LinearConfig::new(64, 10).init(device),
        }
    }

    /// `[N, 64] → [N, 10]` logits.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let x = relu(self.layer0.forward(x));
        let x = relu(self.layer2.forward(x));
        self.layer4.forward(x)
    }

    /// The output of module `point` (0–3: Linear, ReLU, Linear, ReLU): a split's head.
    pub fn head(&self, x: Tensor<2>, point: usize) -> Tensor<2> {
        two_blocks_head(
            x,
            point,
            |x| self.layer0.forward(x),
            |x| self.layer2.forward(x),
        )
    }

    /// The logits from the output of module `point`: the split's tail.
    pub fn tail(&self, x: Tensor<2>, point: usize) -> Tensor<2> {
        self.layer4
            .forward(two_blocks_tail(x, point, |x| self.layer2.forward(x)))
    }
}

/// The digits CNN: `0` Conv2d(1,16,3,p=1) → ReLU → `2` Conv2d(16,32,3,p=1) → ReLU → Flatten →
/// `5` Linear(2048,10).
#[derive(Module, Debug)]
pub struct Cnn {
    /// PyTorch `0`: Conv2d(1, 16, 3, padding 1).
    pub layer0: Conv2d,
    /// PyTorch `2`: Conv2d(16, 32, 3, padding 1).
    pub layer2: Conv2d,
    /// PyTorch `5`: Linear(2048, 10), after flattening in (C, H, W) order.
    pub layer5: Linear,
}

impl Cnn {
    /// A randomly initialised CNN on `device`.
    pub fn new(device: &Device) -> Self {
        let conv = |c_in, c_out| {
            Conv2dConfig::new([c_in, c_out], [3, 3])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(device)
        };
        Self {
            layer0: conv(1, 16),
            layer2: conv(16, 32),
            layer5: LinearConfig::new(2048, 10).init(device),
        }
    }

    /// `[N, 1, 8, 8] → [N, 10]` logits.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let x = relu(self.layer0.forward(x));
        let x = relu(self.layer2.forward(x));
        let n = x.dims()[0];
        self.layer5.forward(x.reshape([n, 2048]))
    }

    /// The output of module `point` (0–3: Conv2d, ReLU, Conv2d, ReLU), `[N, 16 or 32, 8, 8]`:
    /// a split's head.
    pub fn head(&self, x: Tensor<4>, point: usize) -> Tensor<4> {
        two_blocks_head(
            x,
            point,
            |x| self.layer0.forward(x),
            |x| self.layer2.forward(x),
        )
    }

    /// The logits from the output of module `point`: the split's tail.
    pub fn tail(&self, x: Tensor<4>, point: usize) -> Tensor<2> {
        let x = two_blocks_tail(x, point, |x| self.layer2.forward(x));
        let n = x.dims()[0];
        self.layer5.forward(x.reshape([n, 2048]))
    }
}

/// The breast-cancer MLP: `0` Linear(30,32) → ReLU → `2` Linear(32,2).
#[derive(Module, Debug)]
pub struct Tabular {
    /// PyTorch `0`: Linear(30, 32).
    pub layer0: Linear,
    /// PyTorch `2`: Linear(32, 2).
    pub layer2: Linear,
}

impl Tabular {
    /// A randomly initialised tabular MLP on `device`.
    pub fn new(device: &Device) -> Self {
        Self {
            layer0: LinearConfig::new(30, 32).init(device),
            layer2: LinearConfig::new(32, 2).init(device),
        }
    }

    /// `[N, 30] → [N, 2]` logits.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.layer2.forward(relu(self.layer0.forward(x)))
    }

    /// The output of module `point` (0–1: Linear, ReLU): a split's head.
    pub fn head(&self, x: Tensor<2>, point: usize) -> Tensor<2> {
        let x = self.layer0.forward(x);
        if point >= 1 { relu(x) } else { x }
    }

    /// The logits from the output of module `point`: the split's tail.
    pub fn tail(&self, x: Tensor<2>, point: usize) -> Tensor<2> {
        self.layer2.forward(if point < 1 { relu(x) } else { x })
    }
}

/// Modules `0`–`3` of a `first → ReLU → second → ReLU` stack, up to and including `point`.
fn two_blocks_head<const D: usize>(
    x: Tensor<D>,
    point: usize,
    first: impl Fn(Tensor<D>) -> Tensor<D>,
    second: impl Fn(Tensor<D>) -> Tensor<D>,
) -> Tensor<D> {
    let mut x = first(x);
    for (module, apply) in [(1, true), (2, false), (3, true)] {
        if point >= module {
            x = if apply { relu(x) } else { second(x) };
        }
    }
    x
}

/// The rest of that stack after module `point`: what follows it up to the second ReLU.
fn two_blocks_tail<const D: usize>(
    mut x: Tensor<D>,
    point: usize,
    second: impl Fn(Tensor<D>) -> Tensor<D>,
) -> Tensor<D> {
    for (module, apply) in [(1, true), (2, false), (3, true)] {
        if point < module {
            x = if apply { relu(x) } else { second(x) };
        }
    }
    x
}

#[cfg(test)]
mod split_tests {
    use super::*;
    use ember_core::validate::read_f64;

    fn close(a: Tensor<2>, b: Tensor<2>) -> bool {
        let (a, b) = (read_f64(a).unwrap(), read_f64(b).unwrap());
        a.iter().zip(&b).all(|(p, q)| (p - q).abs() < 1e-5)
    }

    #[test]
    fn every_split_point_recomposes_the_forward_pass() {
        let device = Device::flex();
        let (mlp, cnn, tabular) = (Mlp::new(&device), Cnn::new(&device), Tabular::new(&device));
        let x2 = Tensor::<2>::random([3, 64], burn::tensor::Distribution::Default, &device);
        let x4 = x2.clone().reshape([3, 1, 8, 8]);
        let x30 = x2.clone().slice([0..3, 0..30]);
        for point in 0..4 {
            assert!(close(
                mlp.tail(mlp.head(x2.clone(), point), point),
                mlp.forward(x2.clone())
            ));
            assert!(close(
                cnn.tail(cnn.head(x4.clone(), point), point),
                cnn.forward(x4.clone())
            ));
        }
        for point in 0..2 {
            let whole = tabular.tail(tabular.head(x30.clone(), point), point);
            assert!(close(whole, tabular.forward(x30.clone())));
        }
        assert_eq!(ZooModel::Cnn.split_point("3").unwrap(), 3);
        assert!(ZooModel::Tabular.split_point("2").is_err());
    }
}
