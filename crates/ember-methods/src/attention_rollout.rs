//! Attention rollout (Abnar & Zuidema, *Quantifying Attention Flow in Transformers*, ACL 2020,
//! <https://arxiv.org/abs/2005.00928>): how much each input token flows into an output
//! position through a transformer's attention, with the residual connections accounted for.
//!
//! For each layer `l`, the attention probabilities `A_l` (`[N, H, T, T]`, rows are queries)
//! are averaged over the heads, the identity is added for the residual connection and each
//! row is renormalised: `Â_l = rownorm(mean_h A_l + I)`, which is `½ mean_h A_l + ½ I` for rows
//! that sum to 1. The rollout multiplies them through the layers, last on the left,
//!
#![cfg_attr(doc, doc = r#"$$R = \hat A_L \hat A_{L-1} \cdots \hat A_1,$$"#)]
//!
//! and a token's score is read from `R`: the row of `[CLS]` (position 0, what a classifier
//! reads) or the mean of the rows of the real tokens (what a mean-pooling sentence encoder
//! reads). Padded positions (mask 0) score 0 and never contribute.
//!
//! **Attention weights are not explanations.** Rollout reads where information *can* flow, not
//! what the output depends on: it ignores the values, the feed-forward layers and the output,
//! so it is the same for every target and every reference text (Jain & Wallace, *Attention is
//! not Explanation*, NAACL 2019, <https://arxiv.org/abs/1902.10186>). It needs no gradient and
//! one forward pass, which makes it a cheap baseline to compare gradient methods against (rank
//! agreement), not a substitute for them.

use crate::registry::{Family, MethodInfo, one_row};
use burn::tensor::{Tensor, TensorData};
use ember_core::{Error, Result};

/// Attention rollout's entry in the registry (`ember similarity`; no gradient).
pub static INFO: MethodInfo = MethodInfo {
    name: "attention-rollout",
    aliases: &["rollout"],
    summary: "attention rollout: how much each token flows into the output through the \
              attention, residuals included (no gradient; the same for every target)",
    captum: None,
    signed: false,
    family: Family::Attention,
    cost: "1 (forward only)",
    rows_per_sample: one_row,
};

/// Which row of the rollout gives the tokens' scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RolloutRead {
    /// The row of the first token (`[CLS]`): what a classifier on `[CLS]` reads.
    #[default]
    Cls,
    /// The mean of the rows of the real tokens: what a mean-pooling sentence encoder reads.
    MeanPooled,
}

/// Attention rollout of a batch: `attentions` holds each layer's attention probabilities
/// `[N, H, T, T]` in the order the layers run (rows: queries; each row sums to 1 over the
/// real keys), `mask` is `[N, T]` (1 for a token, 0 for padding). Returns `[N, T]`: each
/// token's score, non-negative, summing to 1 per text, 0 at padding.
///
/// # Errors
///
/// - [`Error::EmptyInput`] for no layers;
/// - [`Error::InvalidConfig`] for layers of different shapes, non-square attention or a mask
///   that is not `[N, T]`;
/// - [`Error::NonFiniteOutput`] if the attentions are not finite.
///
/// # Example
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// use ember_methods::attention_rollout::{RolloutRead, rollout};
///
/// let device = Device::flex();
/// // One layer, one head: every token attends to the second.
/// let a = Tensor::<4>::from_floats([[[[0.0, 1.0], [0.0, 1.0]]]], &device);
/// let mask = Tensor::<2>::ones([1, 2], &device);
/// let r = rollout(&[a], mask, RolloutRead::Cls)?;
/// // Â = ½A + ½I: [CLS] keeps half of itself and takes half from the second token.
/// assert_eq!(r.to_data().try_to_vec::<f32>().unwrap(), vec![0.5, 0.5]);
/// # Ok::<(), ember_core::Error>(())
/// ```
pub fn rollout(attentions: &[Tensor<4>], mask: Tensor<2>, read: RolloutRead) -> Result<Tensor<2>> {
    let Some(first) = attentions.first() else {
        return Err(Error::EmptyInput { shape: vec![0] });
    };
    let [n, _, t, keys] = first.dims();
    let bad = |value: String, expected: &'static str| Error::InvalidConfig {
        name: "attentions",
        value,
        expected,
    };
    if t != keys {
        return Err(bad(
            format!("{:?}", first.dims()),
            "[N, H, T, T] self-attention probabilities",
        ));
    }
    if let Some(other) = attentions
        .iter()
        .find(|a| a.dims()[0] != n || a.dims()[2..] != [t, t])
    {
        return Err(bad(
            format!("{:?} after {:?}", other.dims(), first.dims()),
            "every layer's [N, H, T, T] of one shape",
        ));
    }
    if mask.dims() != [n, t] {
        return Err(Error::InvalidConfig {
            name: "mask",
            value: format!("{:?}", mask.dims()),
            expected: "[N, T], the attentions' batch and length",
        });
    }
    let device = first.device();
    let identity = Tensor::<2>::from_data(
        TensorData::new(
            (0..t * t)
                .map(|i| if i / t == i % t { 1.0f32 } else { 0.0 })
                .collect::<Vec<_>>(),
            [t, t],
        ),
        &device,
    )
    .reshape([1, t, t]);
    // Keys that are padding never pass information on (their attention is 0; the residual
    // identity would keep it on themselves, which no real row reads).
    let keys = mask.clone().reshape([n, 1, t]);
    let mut rolled: Option<Tensor<3>> = None;
    for attention in attentions {
        let heads = attention.dims()[1];
        let a = attention.clone().sum_dim(1).reshape([n, t, t]) / heads as f64;
        let a = (a + identity.clone()) * keys.clone();
        let a = a.clone() / a.sum_dim(2).clamp_min(f64::MIN_POSITIVE);
        rolled = Some(match rolled {
            None => a,
            Some(r) => a.matmul(r),
        });
    }
    let r = rolled.expect("at least one layer");
    let scores = match read {
        RolloutRead::Cls => r.slice([0..n, 0..1, 0..t]).reshape([n, t]),
        RolloutRead::MeanPooled => {
            let rows = mask.clone().reshape([n, t, 1]);
            (r * rows).sum_dim(1).reshape([n, t]) / mask.clone().sum_dim(1).clamp_min(1.0)
        }
    };
    let scores = scores * mask;
    let values = ember_core::validate::read_f64(scores.clone())?;
    let count = values.iter().filter(|v| !v.is_finite()).count();
    if let Some(position) = values.iter().position(|v| !v.is_finite()) {
        return Err(Error::NonFiniteOutput {
            count,
            sample: position / t.max(1),
        });
    }
    Ok(scores)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    fn values(t: Tensor<2>) -> Vec<f32> {
        t.to_data().try_to_vec::<f32>().unwrap()
    }

    #[test]
    fn two_layers_multiply_last_on_the_left() {
        let device = Device::flex();
        // Layer 1: uniform over 2 tokens; layer 2: every token looks at token 0.
        let a1 = Tensor::<4>::from_floats([[[[0.5, 0.5], [0.5, 0.5]]]], &device);
        let a2 = Tensor::<4>::from_floats([[[[1.0, 0.0], [1.0, 0.0]]]], &device);
        let mask = Tensor::<2>::ones([1, 2], &device);
        // Â1 = [[.75 .25] [.25 .75]], Â2 = [[1 0] [.5 .5]]; R = Â2 Â1 = [[.75 .25] [.5 .5]].
        let cls =
            values(rollout(&[a1.clone(), a2.clone()], mask.clone(), RolloutRead::Cls).unwrap());
        assert_eq!(cls, vec![0.75, 0.25]);
        let mean = values(rollout(&[a1, a2], mask, RolloutRead::MeanPooled).unwrap());
        assert_eq!(mean, vec![0.625, 0.375]);
    }

    #[test]
    fn padding_scores_zero_and_leaves_the_tokens_alone() {
        let device = Device::flex();
        let alone = Tensor::<4>::from_floats([[[[0.5, 0.5], [0.2, 0.8]]]], &device);
        // The same text padded to 3: the padded key has no attention.
        let padded = Tensor::<4>::from_floats(
            [[[[0.5, 0.5, 0.0], [0.2, 0.8, 0.0], [0.3, 0.7, 0.0]]]],
            &device,
        );
        let mask = Tensor::<2>::from_floats([[1.0, 1.0, 0.0]], &device);
        for read in [RolloutRead::Cls, RolloutRead::MeanPooled] {
            let a = values(
                rollout(
                    std::slice::from_ref(&alone),
                    Tensor::ones([1, 2], &device),
                    read,
                )
                .unwrap(),
            );
            let b = values(rollout(std::slice::from_ref(&padded), mask.clone(), read).unwrap());
            assert_eq!(b[2], 0.0);
            assert!(
                (a[0] - b[0]).abs() < 1e-6 && (a[1] - b[1]).abs() < 1e-6,
                "{a:?} {b:?}"
            );
        }
    }

    #[test]
    fn bad_shapes_are_errors() {
        let device = Device::flex();
        let a = Tensor::<4>::zeros([1, 2, 3, 3], &device);
        assert!(matches!(
            rollout(&[], Tensor::ones([1, 3], &device), RolloutRead::Cls),
            Err(Error::EmptyInput { .. })
        ));
        assert!(matches!(
            rollout(
                std::slice::from_ref(&a),
                Tensor::ones([1, 4], &device),
                RolloutRead::Cls
            ),
            Err(Error::InvalidConfig { name: "mask", .. })
        ));
        let b = Tensor::<4>::zeros([1, 2, 4, 4], &device);
        assert!(matches!(
            rollout(&[a, b], Tensor::ones([1, 3], &device), RolloutRead::Cls),
            Err(Error::InvalidConfig {
                name: "attentions",
                ..
            })
        ));
    }
}
