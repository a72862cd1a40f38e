//! Feature masks: how the perturbation methods group an input's elements into features that are
//! kept or removed together (pixels into patches or superpixels, embeddings into tokens,
//! columns into groups).
//!
//! A [`FeatureMask`] is resolved against an input's shape into [`Groups`]: a dense group index
//! `0..M` for every element of every sample, or [`NEVER_PERTURBED`]. Every element of a group
//! carries the group's attribution (Captum's convention), and methods also report the values
//! per group, `[N, M]`.

use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The id of an element that no perturbation changes: it keeps its input value in every row,
/// `F(b)`'s included, and its attribution is 0.
pub const NEVER_PERTURBED: i64 = -1;

/// How the elements of a sample are grouped into the features a perturbation method removes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum FeatureMask {
    /// One group per element (Captum's default).
    Elements,
    /// Patches: `size[d]` elements along input dimension `d + 1` (one size per dimension after
    /// the batch; `0` means the whole dimension), so `[0, 2, 2]` on `[N, C, H, W]` groups 2×2
    /// squares across every channel. Patches at the far edges are cut short.
    Patches(Vec<usize>),
    /// One group per token of `[N, T, H]` embeddings (every value of a token together).
    Tokens,
    /// Ids given per element, broadcastable over the input: `shape` has the input's rank, its
    /// first dimension 1 (one mask for every sample) or N, and each other dimension equal to
    /// the input's or 1 (Captum's `feature_mask`; `[1, 1, H, W]` groups the channels of a
    /// pixel). Ids need not be contiguous; [`NEVER_PERTURBED`] (−1) marks elements that are
    /// never changed, and other negative ids are errors.
    Given {
        /// The mask's shape.
        shape: Vec<usize>,
        /// The ids, row-major.
        ids: Vec<i64>,
    },
}

impl FeatureMask {
    /// ember's default grouping for an input of shape `dims`: one group per element for
    /// `[N, F]` tables, one per token for `[N, T, H]` embeddings, and a grid of at most
    /// 16 × 16 patches across channels for `[N, C, H, W]` (`⌈H/16⌉ × ⌈W/16⌉` pixels each: one group per
    /// pixel of an 8 × 8 digit, 14 × 14 patches of a 224² photo); one per element otherwise.
    pub fn default_for(dims: &[usize]) -> Self {
        match dims.len() {
            3 => FeatureMask::Tokens,
            4 => FeatureMask::Patches(vec![0, dims[2].div_ceil(16), dims[3].div_ceil(16)]),
            _ => FeatureMask::Elements,
        }
    }

    /// A given mask from an integer tensor (`[1, ...]` or `[N, ...]`, see
    /// [`FeatureMask::Given`]).
    ///
    /// # Errors
    ///
    /// [`Error::Backend`] if the tensor cannot be read back.
    pub fn from_tensor<const D: usize>(ids: Tensor<D, Int>) -> Result<Self> {
        Ok(FeatureMask::Given {
            shape: ids.dims().to_vec(),
            ids: crate::validate::read_i64(ids)?,
        })
    }

    /// Resolves the mask against an input of shape `dims` (`[N, ...]`).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidMask`] for a mask that does not fit the input (rank, patch sizes, a
    /// dimension that is neither the input's nor 1), a negative id other than
    /// [`NEVER_PERTURBED`], or a mask that leaves no element to perturb.
    pub fn groups(&self, dims: &[usize]) -> Result<Groups> {
        let bad = |reason: String| Err(Error::InvalidMask(reason));
        if dims.len() < 2 || dims.contains(&0) {
            return bad(format!(
                "the input has shape {dims:?}; a mask needs [N, ...] with no empty dimension"
            ));
        }
        let inner = &dims[1..];
        let features: usize = inner.iter().product();
        let (ids, shared) = match self {
            FeatureMask::Elements => ((0..features as i64).collect(), true),
            FeatureMask::Tokens => {
                if dims.len() != 3 {
                    return bad(format!(
                        "one group per token needs [N, T, H] embeddings, the input has shape \
                         {dims:?}"
                    ));
                }
                let hidden = dims[2];
                ((0..features).map(|e| (e / hidden) as i64).collect(), true)
            }
            FeatureMask::Patches(size) => {
                if size.len() != inner.len() {
                    return bad(format!(
                        "patch sizes {size:?} need one size per dimension after the batch \
                         ({} for an input of shape {dims:?})",
                        inner.len()
                    ));
                }
                (patch_ids(inner, size), true)
            }
            FeatureMask::Given { shape, ids } => given_ids(dims, shape, ids)?,
        };
        Groups::dense(dims.to_vec(), ids, shared)
    }
}

/// The patch index of every element of one sample, row-major over the grid of patches.
fn patch_ids(inner: &[usize], size: &[usize]) -> Vec<i64> {
    let size: Vec<usize> = size
        .iter()
        .zip(inner)
        .map(|(&s, &d)| if s == 0 { d } else { s.min(d) })
        .collect();
    let grid: Vec<usize> = inner
        .iter()
        .zip(&size)
        .map(|(d, s)| d.div_ceil(*s))
        .collect();
    let features: usize = inner.iter().product();
    (0..features)
        .map(|e| {
            let (mut rest, mut id, mut scale) = (e, 0usize, 1usize);
            for d in (0..inner.len()).rev() {
                let coord = rest % inner[d];
                rest /= inner[d];
                id += (coord / size[d]) * scale;
                scale *= grid[d];
            }
            id as i64
        })
        .collect()
}

/// A given mask broadcast to `[1 | N, features]`, and whether one row serves every sample.
fn given_ids(dims: &[usize], shape: &[usize], ids: &[i64]) -> Result<(Vec<i64>, bool)> {
    let bad = |reason: String| Err(Error::InvalidMask(reason));
    let fits = shape.len() == dims.len()
        && (shape[0] == 1 || shape[0] == dims[0])
        && shape[1..]
            .iter()
            .zip(&dims[1..])
            .all(|(&m, &d)| m == d || m == 1);
    if !fits {
        return bad(format!(
            "a mask of shape {shape:?} does not fit an input of shape {dims:?}: it needs the \
             input's rank, a first dimension of 1 or {}, and every other dimension equal to the \
             input's or 1",
            dims[0]
        ));
    }
    if ids.len() != shape.iter().product::<usize>() {
        return bad(format!("{} ids for a mask of shape {shape:?}", ids.len()));
    }
    if let Some(&id) = ids.iter().find(|&&id| id < NEVER_PERTURBED) {
        return bad(format!(
            "id {id} is negative; ids are ≥ 0, or {NEVER_PERTURBED} for never perturbed"
        ));
    }
    let inner = &dims[1..];
    let features: usize = inner.iter().product();
    let rows = shape[0];
    let mut out = Vec::with_capacity(rows * features);
    for row in 0..rows {
        for e in 0..features {
            // The element's coordinates, read in the mask with broadcast dimensions at 0.
            let (mut rest, mut at, mut scale) = (e, 0usize, 1usize);
            for d in (0..inner.len()).rev() {
                let coord = rest % inner[d];
                rest /= inner[d];
                let m = shape[d + 1];
                at += if m == 1 { 0 } else { coord * scale };
                scale *= m;
            }
            out.push(ids[row * scale + at]);
        }
    }
    Ok((out, rows == 1))
}

/// A [`FeatureMask`] resolved against an input: a dense group `0..M` (or
/// [`NEVER_PERTURBED`]) for every element, one map for every sample or one per sample.
///
/// Groups are numbered densely over the whole mask, in the order of the caller's ids
/// ([`labels`](Self::labels)), so every sample has the same M; a group that a per-sample mask
/// does not use in some sample changes nothing there and gets 0 (as in Captum).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Groups {
    dims: Vec<usize>,
    count: usize,
    ids: Vec<i64>,
    shared: bool,
    labels: Vec<i64>,
}

impl Groups {
    fn dense(dims: Vec<usize>, ids: Vec<i64>, shared: bool) -> Result<Self> {
        let mut labels: Vec<i64> = ids
            .iter()
            .copied()
            .filter(|&id| id != NEVER_PERTURBED)
            .collect();
        labels.sort_unstable();
        labels.dedup();
        if labels.is_empty() {
            return Err(Error::InvalidMask(
                "every element is never perturbed: there is no group to attribute to".into(),
            ));
        }
        let dense = ids
            .iter()
            .map(|&id| match id {
                NEVER_PERTURBED => NEVER_PERTURBED,
                id => labels.binary_search(&id).expect("a label of the mask") as i64,
            })
            .collect();
        Ok(Self {
            dims,
            count: labels.len(),
            ids: dense,
            shared,
            labels,
        })
    }

    /// The number of groups, M.
    pub fn count(&self) -> usize {
        self.count
    }

    /// The input's shape.
    pub fn dims(&self) -> &[usize] {
        &self.dims
    }

    /// The samples, N.
    pub fn batch(&self) -> usize {
        self.dims[0]
    }

    /// Elements per sample.
    pub fn features(&self) -> usize {
        self.dims[1..].iter().product()
    }

    /// Whether one map serves every sample.
    pub fn shared(&self) -> bool {
        self.shared
    }

    /// The caller's id of each dense group (for a given mask; the group index otherwise).
    pub fn labels(&self) -> &[i64] {
        &self.labels
    }

    /// The dense group of every element of `sample` ([`NEVER_PERTURBED`] for fixed ones).
    pub fn ids(&self, sample: usize) -> &[i64] {
        let f = self.features();
        let row = if self.shared { 0 } else { sample };
        &self.ids[row * f..(row + 1) * f]
    }

    /// The number of elements of each group in `sample`.
    pub fn sizes(&self, sample: usize) -> Vec<usize> {
        let mut sizes = vec![0; self.count];
        for &id in self.ids(sample) {
            if id >= 0 {
                sizes[id as usize] += 1;
            }
        }
        sizes
    }

    /// Spreads one value per group over the elements of `sample` (every element of a group
    /// carries its group's value; fixed elements get 0).
    pub fn spread(&self, sample: usize, per_group: &[f64]) -> Vec<f64> {
        self.ids(sample)
            .iter()
            .map(|&id| if id < 0 { 0.0 } else { per_group[id as usize] })
            .collect()
    }

    /// The group index of every element on `device`, `[1 | N, features]`, with fixed elements
    /// at index M: a `gather` of a `[rows, M + 1]` coalition matrix whose last column is 1
    /// makes each row's keep mask.
    pub fn index_tensor(&self, device: &Device) -> Tensor<2, Int> {
        let rows = if self.shared { 1 } else { self.batch() };
        let m = self.count as i64;
        let ids: Vec<i64> = self
            .ids
            .iter()
            .map(|&id| if id < 0 { m } else { id })
            .collect();
        Tensor::from_data(TensorData::new(ids, [rows, self.features()]), device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patches_number_row_major_and_cut_short_at_the_edge() {
        let groups = FeatureMask::Patches(vec![0, 2, 3])
            .groups(&[1, 2, 3, 4])
            .unwrap();
        // 3 × 4 plane in 2 × 3 patches: a grid of 2 × 2, the last row and column cut short.
        assert_eq!(groups.count(), 4);
        let plane = [0, 0, 0, 1, 0, 0, 0, 1, 2, 2, 2, 3];
        let both: Vec<i64> = plane.iter().chain(&plane).copied().collect();
        assert_eq!(groups.ids(0), both.as_slice());
        assert_eq!(groups.sizes(0), vec![12, 4, 6, 2]);
    }

    #[test]
    fn given_masks_broadcast_renumber_and_keep_the_fixed_id() {
        let mask = FeatureMask::Given {
            shape: vec![1, 1, 2, 2],
            ids: vec![7, -1, 3, 7],
        };
        let groups = mask.groups(&[2, 2, 2, 2]).unwrap();
        assert_eq!(groups.count(), 2);
        assert_eq!(groups.labels(), &[3, 7]);
        assert_eq!(groups.ids(1), &[1, -1, 0, 1, 1, -1, 0, 1]);
        assert_eq!(
            groups.spread(0, &[0.5, 2.0]),
            vec![2.0, 0.0, 0.5, 2.0, 2.0, 0.0, 0.5, 2.0]
        );
        let per_sample = FeatureMask::Given {
            shape: vec![2, 3],
            ids: vec![0, 0, 4, 9, 9, 9],
        }
        .groups(&[2, 3])
        .unwrap();
        assert!(!per_sample.shared());
        assert_eq!(per_sample.ids(1), &[2, 2, 2]);
        assert_eq!(per_sample.sizes(0), vec![2, 1, 0]);
    }

    #[test]
    fn bad_masks_are_typed_errors() {
        let cases = [
            (FeatureMask::Patches(vec![2]), vec![1, 3, 4]),
            (FeatureMask::Tokens, vec![1, 3]),
            (
                FeatureMask::Given {
                    shape: vec![1, 3],
                    ids: vec![0, 1, 2],
                },
                vec![2, 4],
            ),
            (
                FeatureMask::Given {
                    shape: vec![3, 2],
                    ids: vec![0; 6],
                },
                vec![2, 2],
            ),
            (
                FeatureMask::Given {
                    shape: vec![1, 2],
                    ids: vec![0, -2],
                },
                vec![1, 2],
            ),
            (
                FeatureMask::Given {
                    shape: vec![1, 2],
                    ids: vec![-1, -1],
                },
                vec![1, 2],
            ),
            (
                FeatureMask::Given {
                    shape: vec![1, 2],
                    ids: vec![0],
                },
                vec![1, 2],
            ),
        ];
        for (mask, dims) in cases {
            assert!(
                matches!(mask.groups(&dims), Err(Error::InvalidMask(_))),
                "{mask:?} on {dims:?}"
            );
        }
    }

    #[test]
    fn defaults_follow_the_rank() {
        assert_eq!(FeatureMask::default_for(&[4, 30]), FeatureMask::Elements);
        assert_eq!(FeatureMask::default_for(&[4, 12, 384]), FeatureMask::Tokens);
        let photo = FeatureMask::default_for(&[1, 3, 224, 224]);
        assert_eq!(photo.groups(&[1, 3, 224, 224]).unwrap().count(), 256);
        let digit = FeatureMask::default_for(&[1, 1, 8, 8]);
        assert_eq!(digit.groups(&[1, 1, 8, 8]).unwrap().count(), 64);
    }
}
