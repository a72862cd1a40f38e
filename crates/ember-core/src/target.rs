//! Which output of the model to explain.

use crate::{Error, Result, kernel::RowTargets};

/// The output (class) whose attributions are computed.
///
/// The enum is `#[non_exhaustive]`: later releases add variants (several classes per input)
/// without breaking code that builds targets. Plain numbers convert: `3.into()` is
/// `Target::Class(3)` and `vec![1, 0].into()` is `Target::PerSample(vec![1, 0])`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum Target {
    /// The same class for every sample of the batch.
    Class(usize),
    /// One class per sample, in batch order; its length must equal the batch size.
    PerSample(Vec<usize>),
    /// The class the model predicts for each sample: the argmax of its output row (the first
    /// maximum on ties).
    Predicted,
    /// Several classes for every sample, explained in one pass: the attributions gain a
    /// leading target axis, `[classes, batch, ...]`, stored target-major as
    /// `[classes · batch, ...]` (see [`crate::Attributions::for_target`]).
    Classes(Vec<usize>),
}

impl Target {
    /// Resolves the target against a batch of `batch` samples, into one target per row.
    ///
    /// Class indices are checked against the model's number of outputs later, by the kernel,
    /// once the output is known.
    ///
    /// # Errors
    ///
    /// - [`Error::TargetCountMismatch`] if a `PerSample` target does not have `batch` entries;
    /// - [`Error::InvalidConfig`] if `Classes` lists no class.
    ///
    /// `Classes(cs)` resolves to `cs.len() · batch` rows, target-major: every sample for
    /// `cs[0]`, then every sample for `cs[1]`, and so on.
    pub fn rows(&self, batch: usize) -> Result<RowTargets> {
        match self {
            Target::Classes(classes) if classes.is_empty() => Err(Error::InvalidConfig {
                name: "target",
                value: "[]".into(),
                expected: "at least one class",
            }),
            Target::Classes(classes) => Ok(RowTargets::Indices(
                classes
                    .iter()
                    .flat_map(|&c| std::iter::repeat_n(c, batch))
                    .collect(),
            )),
            Target::Class(class) => Ok(RowTargets::Indices(vec![*class; batch])),
            Target::PerSample(classes) if classes.len() == batch => {
                Ok(RowTargets::Indices(classes.clone()))
            }
            Target::PerSample(classes) => Err(Error::TargetCountMismatch {
                targets: classes.len(),
                batch,
            }),
            Target::Predicted => Ok(RowTargets::Predicted),
        }
    }
}

impl Target {
    /// How many targets each sample is explained for: the length of `Classes`, otherwise 1.
    pub fn per_sample(&self) -> usize {
        match self {
            Target::Classes(classes) => classes.len().max(1),
            _ => 1,
        }
    }
}

impl From<usize> for Target {
    fn from(class: usize) -> Self {
        Target::Class(class)
    }
}

impl From<Vec<usize>> for Target {
    fn from(classes: Vec<usize>) -> Self {
        Target::PerSample(classes)
    }
}

impl From<&[usize]> for Target {
    fn from(classes: &[usize]) -> Self {
        Target::PerSample(classes.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_is_repeated_for_every_sample() {
        assert_eq!(
            Target::Class(2).rows(3).unwrap(),
            RowTargets::Indices(vec![2, 2, 2])
        );
    }

    #[test]
    fn per_sample_length_must_match_the_batch() {
        assert_eq!(
            Target::PerSample(vec![0, 1]).rows(3),
            Err(Error::TargetCountMismatch {
                targets: 2,
                batch: 3
            })
        );
        assert_eq!(
            Target::from(vec![0, 1]).rows(2).unwrap(),
            RowTargets::Indices(vec![0, 1])
        );
    }

    #[test]
    fn classes_resolve_target_major() {
        let target = Target::Classes(vec![2, 0]);
        assert_eq!(target.per_sample(), 2);
        assert_eq!(
            target.rows(3).unwrap(),
            RowTargets::Indices(vec![2, 2, 2, 0, 0, 0])
        );
        assert!(matches!(
            Target::Classes(vec![]).rows(3),
            Err(Error::InvalidConfig { name: "target", .. })
        ));
    }

    #[test]
    fn numbers_convert_into_targets() {
        assert_eq!(Target::from(4), Target::Class(4));
        assert_eq!(
            Target::from(&[1usize, 2][..]),
            Target::PerSample(vec![1, 2])
        );
    }

    #[test]
    fn targets_round_trip_through_json() {
        let target = Target::PerSample(vec![3, 1]);
        let json = serde_json::to_string(&target).unwrap();
        assert_eq!(serde_json::from_str::<Target>(&json).unwrap(), target);
    }
}
