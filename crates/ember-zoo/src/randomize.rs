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
            ZooModel::EfficientNetLite0 => &[
                "_fc",
                "_conv_head",
                "_blocks.15",
                "_blocks.8-14",
                "_blocks.0-7",
                "_conv_stem",
            ],
        }
    }

    /// The module path prefixes each step of [`layers_top_down`](Self::layers_top_down)
    /// re-initialises: every layer at or under them (the digits and tabular models' steps are
    /// one layer each; EfficientNet-Lite0's steps are groups of blocks, with their BatchNorms,
    /// so that its cascade has six steps, not 99 layers).
    pub fn cascade_prefixes(self) -> Vec<Vec<String>> {
        if self != ZooModel::EfficientNetLite0 {
            return self
                .layer_paths_top_down()
                .into_iter()
                .map(|p| vec![p])
                .collect();
        }
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

    /// The module paths of [`layers_top_down`](Self::layers_top_down): `layer5`, … (for the
    /// digits and tabular models, whose steps are single layers; see
    /// [`cascade_prefixes`](Self::cascade_prefixes) for EfficientNet-Lite0's).
    pub fn layer_paths_top_down(self) -> Vec<String> {
        if self == ZooModel::EfficientNetLite0 {
            return self.cascade_prefixes().concat();
        }
        self.layers_top_down()
            .iter()
            .map(|index| format!("layer{index}"))
            .collect()
    }
}
