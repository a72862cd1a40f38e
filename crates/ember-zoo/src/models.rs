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

use std::path::Path;

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

use ember_core::WithLayer;

use crate::ZooError;
use crate::zoo::{
    Cascade, Data, SMALL, SplitAt, Weights, Whole, ZooInfo, ZooNet, load_or_shipped, split, whole,
};

/// The digits MLP's description.
pub static MLP: ZooInfo = ZooInfo {
    name: "mlp",
    aliases: &[],
    summary: "the digits MLP, [N, 64] → 10 classes",
    sample_shape: &[64],
    classes: 10,
    data: Data::Digits,
    split_points: &["0", "1", "2", "3"],
    split_hint: "0, 1, 2 or 3 (the PyTorch index of the module whose output is the layer)",
    grad_cam_layer: None,
    cascade_labels: &["4", "2", "0"],
    cascade: Cascade::Layers,
    weights: Weights::Shipped,
    compare: SMALL,
};

/// The digits CNN's description; its Grad-CAM layer is its last conv block (after the ReLU).
pub static CNN: ZooInfo = ZooInfo {
    name: "cnn",
    aliases: &[],
    summary: "the digits CNN, [N, 1, 8, 8] → 10 classes",
    sample_shape: &[1, 8, 8],
    classes: 10,
    data: Data::Digits,
    split_points: &["0", "1", "2", "3"],
    split_hint: "0, 1, 2 or 3 (the PyTorch index of the module whose output is the layer)",
    grad_cam_layer: Some("3"),
    cascade_labels: &["5", "2", "0"],
    cascade: Cascade::Layers,
    weights: Weights::Shipped,
    compare: SMALL,
};

/// The breast-cancer MLP's description.
pub static TABULAR: ZooInfo = ZooInfo {
    name: "tabular",
    aliases: &[],
    summary: "the breast-cancer MLP, [N, 30] standardised features → 2 classes",
    sample_shape: &[30],
    classes: 2,
    data: Data::BreastCancer,
    split_points: &["0", "1"],
    split_hint: "0 or 1 (the PyTorch index of the module whose output is the layer)",
    grad_cam_layer: None,
    cascade_labels: &["2", "0"],
    cascade: Cascade::Layers,
    weights: Weights::Shipped,
    compare: SMALL,
};

impl ZooNet<2> for Mlp {
    const INFO: &'static ZooInfo = &MLP;
    type Explained = Whole<Self, 2>;

    fn load(weights: Option<&Path>, device: &Device) -> Result<Self, ZooError> {
        load_or_shipped(weights, device, MLP.name, Mlp::new, crate::shipped::mlp)
    }

    fn logits(&self, x: Tensor<2>) -> Tensor<2> {
        self.forward(x)
    }

    fn head_at(&self, x: Tensor<2>, point: usize) -> Tensor<2> {
        self.head(x, point)
    }

    fn tail_at(&self, h: Tensor<2>, point: usize) -> Tensor<2> {
        self.tail(h, point)
    }

    fn explained(&self) -> Self::Explained {
        whole(self)
    }
}

impl ZooNet<4> for Cnn {
    const INFO: &'static ZooInfo = &CNN;
    type Explained = WithLayer<SplitAt<Self, 4>>;

    fn load(weights: Option<&Path>, device: &Device) -> Result<Self, ZooError> {
        load_or_shipped(weights, device, CNN.name, Cnn::new, crate::shipped::cnn)
    }

    fn logits(&self, x: Tensor<4>) -> Tensor<2> {
        self.forward(x)
    }

    fn head_at(&self, x: Tensor<4>, point: usize) -> Tensor<4> {
        self.head(x, point)
    }

    fn tail_at(&self, h: Tensor<4>, point: usize) -> Tensor<2> {
        self.tail(h, point)
    }

    /// Split at its last conv block (PyTorch index 3, after the ReLU), named for Grad-CAM.
    fn explained(&self) -> Self::Explained {
        WithLayer::new(split(self, GRAD_CAM_POINT))
    }
}

/// The CNN's Grad-CAM layer: the output of its last conv block's ReLU (PyTorch index 3).
pub const GRAD_CAM_POINT: usize = 3;

impl ZooNet<2> for Tabular {
    const INFO: &'static ZooInfo = &TABULAR;
    type Explained = Whole<Self, 2>;

    fn load(weights: Option<&Path>, device: &Device) -> Result<Self, ZooError> {
        load_or_shipped(
            weights,
            device,
            TABULAR.name,
            Tabular::new,
            crate::shipped::tabular,
        )
    }

    fn logits(&self, x: Tensor<2>) -> Tensor<2> {
        self.forward(x)
    }

    fn head_at(&self, x: Tensor<2>, point: usize) -> Tensor<2> {
        self.head(x, point)
    }

    fn tail_at(&self, h: Tensor<2>, point: usize) -> Tensor<2> {
        self.tail(h, point)
    }

    fn explained(&self) -> Self::Explained {
        whole(self)
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
        assert_eq!(crate::ZooModel::Cnn.split_point("3").unwrap(), 3);
        assert!(crate::ZooModel::Tabular.split_point("2").is_err());
    }
}
