//! The zoo models' layers, for the model-randomisation sanity check (Adebayo et al. 2018,
//! <https://arxiv.org/abs/1810.03292>). The re-initialisation itself is
//! `ember_metrics::reinit`, which works on any Burn module: a zoo layer's module path is
//! `layer` and its PyTorch index (`layer5`).

use crate::ZooModel;

impl ZooModel {
    /// The model's layers with parameters by their PyTorch index (`"5"` is `layer5`, the
    /// `5.weight` of the `state_dict`), from the output down to the input: the order of the
    /// cascading randomisation.
    pub fn layers_top_down(self) -> &'static [&'static str] {
        match self {
            ZooModel::Mlp => &["4", "2", "0"],
            ZooModel::Cnn => &["5", "2", "0"],
            ZooModel::Tabular => &["2", "0"],
        }
    }

    /// The module paths of [`layers_top_down`](Self::layers_top_down): `layer5`, ….
    pub fn layer_paths_top_down(self) -> Vec<String> {
        self.layers_top_down()
            .iter()
            .map(|index| format!("layer{index}"))
            .collect()
    }
}
