//! Re-initialising a zoo model's layers, for the model-randomisation sanity check (Adebayo et
//! al. 2018, <https://arxiv.org/abs/1810.03292>): a method whose maps barely change when the
//! model's weights are replaced by random ones is not explaining the model.
//!
//! Layers are named by their PyTorch index (`"5"` is `layer5`, the `5.weight` of the
//! `state_dict`) and re-initialised as PyTorch initialises a fresh `nn.Linear` or `nn.Conv2d`:
//! weight and bias uniform in `±1/sqrt(fan_in)`. The draws come from a seeded host generator,
//! so a seed gives the same weights on every device.

use burn::module::Param;
use burn::nn::Linear;
use burn::nn::conv::Conv2d;
use burn::tensor::{Device, Tensor, TensorData};
use ember_core::rng::SplitMix64;

use crate::{Cnn, Mlp, Tabular, ZooError, ZooModel};

impl ZooModel {
    /// The model's layers with parameters, from the output down to the input: the order of
    /// the cascading randomisation.
    pub fn layers_top_down(self) -> &'static [&'static str] {
        match self {
            ZooModel::Mlp => &["4", "2", "0"],
            ZooModel::Cnn => &["5", "2", "0"],
            ZooModel::Tabular => &["2", "0"],
        }
    }
}

/// A model whose layers can be re-initialised one at a time.
pub trait Randomize: Sized {
    /// The model with layer `layer` (its PyTorch index, e.g. `"5"`) re-initialised from
    /// `seed`, as PyTorch initialises a fresh layer.
    ///
    /// # Errors
    ///
    /// [`ZooError::Core`] with an invalid-config error if the model has no such layer.
    fn randomize_layer(self, layer: &str, seed: u64) -> Result<Self, ZooError>;

    /// The model with every layer in `layers` re-initialised (layer `i` of the list from
    /// `seed + i`).
    ///
    /// # Errors
    ///
    /// As [`randomize_layer`](Self::randomize_layer).
    fn randomize_layers(self, layers: &[&str], seed: u64) -> Result<Self, ZooError> {
        layers
            .iter()
            .enumerate()
            .try_fold(self, |model, (i, layer)| {
                model.randomize_layer(layer, seed.wrapping_add(i as u64))
            })
    }
}

fn unknown_layer(layer: &str) -> ZooError {
    ZooError::Core(ember_core::Error::InvalidConfig {
        name: "layer",
        value: format!("`{layer}`"),
        expected: "a layer of the model (see ZooModel::layers_top_down)",
    })
}

/// `count` draws uniform in `±bound`.
fn uniform(rng: &mut SplitMix64, count: usize, bound: f64) -> Vec<f64> {
    (0..count)
        .map(|_| bound * (2.0 * rng.next_f64() - 1.0))
        .collect()
}

fn fresh<const D: usize>(
    like: &Param<Tensor<D>>,
    rng: &mut SplitMix64,
    bound: f64,
    device: &Device,
) -> Param<Tensor<D>> {
    let dims = like.val().dims();
    let values = uniform(rng, dims.iter().product(), bound);
    let dtype = like.val().dtype();
    Param::from_tensor(Tensor::<D>::from_data(TensorData::new(values, dims), device).cast(dtype))
}

fn linear(mut layer: Linear, seed: u64) -> Linear {
    let device = layer.weight.val().device();
    // Burn's Linear weight is [in, out]: fan_in is its first dimension.
    let bound = 1.0 / (layer.weight.val().dims()[0] as f64).sqrt();
    let mut rng = SplitMix64::new(seed);
    layer.weight = fresh(&layer.weight, &mut rng, bound, &device);
    layer.bias = layer.bias.map(|b| fresh(&b, &mut rng, bound, &device));
    layer
}

fn conv2d(mut layer: Conv2d, seed: u64) -> Conv2d {
    let device = layer.weight.val().device();
    // [out, in, kh, kw]: fan_in is in · kh · kw.
    let [_, c_in, kh, kw] = layer.weight.val().dims();
    let bound = 1.0 / ((c_in * kh * kw) as f64).sqrt();
    let mut rng = SplitMix64::new(seed);
    layer.weight = fresh(&layer.weight, &mut rng, bound, &device);
    layer.bias = layer.bias.map(|b| fresh(&b, &mut rng, bound, &device));
    layer
}

impl Randomize for Mlp {
    fn randomize_layer(mut self, layer: &str, seed: u64) -> Result<Self, ZooError> {
        match layer {
            "0" => self.layer0 = linear(self.layer0, seed),
            "2" => self.layer2 = linear(self.layer2, seed),
            "4" => self.layer4 = linear(self.layer4, seed),
            _ => return Err(unknown_layer(layer)),
        }
        Ok(self)
    }
}

impl Randomize for Cnn {
    fn randomize_layer(mut self, layer: &str, seed: u64) -> Result<Self, ZooError> {
        match layer {
            "0" => self.layer0 = conv2d(self.layer0, seed),
            "2" => self.layer2 = conv2d(self.layer2, seed),
            "5" => self.layer5 = linear(self.layer5, seed),
            _ => return Err(unknown_layer(layer)),
        }
        Ok(self)
    }
}

impl Randomize for Tabular {
    fn randomize_layer(mut self, layer: &str, seed: u64) -> Result<Self, ZooError> {
        match layer {
            "0" => self.layer0 = linear(self.layer0, seed),
            "2" => self.layer2 = linear(self.layer2, seed),
            _ => return Err(unknown_layer(layer)),
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shipped;
    use ember_core::validate::read_f64;

    #[test]
    fn a_layer_is_replaced_by_seeded_draws_in_pytorchs_bounds_and_the_rest_is_kept() {
        let device = Device::flex();
        let model = shipped::cnn(&device).unwrap();
        let before0 = read_f64(model.layer0.weight.val()).unwrap();
        let before5 = read_f64(model.layer5.weight.val()).unwrap();
        let a = shipped::cnn(&device)
            .unwrap()
            .randomize_layer("5", 1)
            .unwrap();
        let b = shipped::cnn(&device)
            .unwrap()
            .randomize_layer("5", 1)
            .unwrap();
        let after5 = read_f64(a.layer5.weight.val()).unwrap();
        assert_ne!(after5, before5);
        assert_eq!(after5, read_f64(b.layer5.weight.val()).unwrap());
        assert_eq!(read_f64(a.layer0.weight.val()).unwrap(), before0);
        let bound = 1.0 / 2048f64.sqrt();
        assert!(after5.iter().all(|w| w.abs() <= bound));
        // Uniform in ±bound: the mean square is bound² / 3.
        let ms = after5.iter().map(|w| w * w).sum::<f64>() / after5.len() as f64;
        assert!((ms / (bound * bound / 3.0) - 1.0).abs() < 0.05, "{ms}");
    }

    #[test]
    fn every_listed_layer_exists_and_unknown_layers_are_errors() {
        let device = Device::flex();
        let cnn = shipped::cnn(&device).unwrap();
        let cnn = cnn
            .randomize_layers(ZooModel::Cnn.layers_top_down(), 0)
            .unwrap();
        assert!(cnn.randomize_layer("1", 0).is_err());
        let mlp = shipped::mlp(&device).unwrap();
        assert!(
            mlp.randomize_layers(ZooModel::Mlp.layers_top_down(), 0)
                .is_ok()
        );
        let tabular = shipped::tabular(&device).unwrap();
        assert!(
            tabular
                .randomize_layers(ZooModel::Tabular.layers_top_down(), 0)
                .is_ok()
        );
    }
}
