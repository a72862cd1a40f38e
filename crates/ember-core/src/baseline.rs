//! The reference input `x′` that path methods integrate from.

use burn::tensor::{Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::rng::SplitMix64;
use crate::validate::read_f64;
use crate::{Error, Result};

/// The baseline `x′` of a path method (Integrated Gradients): the input that means "absence".
///
/// Baselines are host data, so a config that holds one stays serializable and device-free;
/// [`Baseline::resolve`] builds the tensor on the input's device, with the input's shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub enum Baseline {
    /// All zeros (Captum's default).
    #[default]
    Zeros,
    /// Every element equal to one value.
    Constant(f64),
    /// Given values, either of the input's shape `[batch, ...]` or one sample `[1, ...]`
    /// broadcast over the batch. Build it with [`Baseline::from_tensor`].
    Values {
        /// The shape of `values`.
        shape: Vec<usize>,
        /// The values, row-major.
        values: Vec<f64>,
    },
    /// Uniform noise in `[low, high)`, drawn on the host from `seed`, so every backend sees
    /// the same baseline.
    Uniform {
        /// The smallest value.
        low: f64,
        /// The bound above the largest value.
        high: f64,
        /// The seed of the draw.
        seed: u64,
    },
}

impl Baseline {
    /// A baseline with the values of `tensor` (`[batch, ...]` or `[1, ...]`).
    ///
    /// # Errors
    ///
    /// [`Error::Backend`] if the tensor cannot be read.
    pub fn from_tensor<const D: usize>(tensor: Tensor<D>) -> Result<Self> {
        let shape = tensor.dims().to_vec();
        Ok(Baseline::Values {
            shape,
            values: read_f64(tensor)?,
        })
    }

    /// Checks the parts of the baseline that do not depend on the input.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for a non-finite constant or bound, `low ≥ high`, or values
    /// whose count does not match their shape or that hold a NaN or infinity.
    pub fn check(&self) -> Result<()> {
        let invalid = |value: String, expected: &'static str| Error::InvalidConfig {
            name: "baseline",
            value,
            expected,
        };
        match self {
            Baseline::Zeros => Ok(()),
            Baseline::Constant(c) if !c.is_finite() => {
                Err(invalid(c.to_string(), "a finite constant"))
            }
            Baseline::Constant(_) => Ok(()),
            Baseline::Uniform { low, high, .. }
                if !(low.is_finite() && high.is_finite() && low < high) =>
            {
                Err(invalid(
                    format!("uniform [{low}, {high})"),
                    "finite bounds with low < high",
                ))
            }
            Baseline::Uniform { .. } => Ok(()),
            Baseline::Values { shape, values } => {
                if shape.iter().product::<usize>() != values.len() {
                    return Err(invalid(
                        format!("{} values for shape {shape:?}", values.len()),
                        "as many values as the shape holds",
                    ));
                }
                if let Some(i) = values.iter().position(|v| !v.is_finite()) {
                    return Err(invalid(
                        format!("{} at flat index {i}", values[i]),
                        "finite values (no NaN or infinity)",
                    ));
                }
                Ok(())
            }
        }
    }

    /// Builds the baseline for `input`, with its shape, on its (plain) device.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] as [`check`](Self::check), or if given values have neither the
    /// input's shape nor the shape `[1, ...]` of one of its samples.
    pub fn resolve<const D: usize>(&self, input: &Tensor<D>) -> Result<Tensor<D>> {
        self.check()?;
        let dims = input.dims();
        let device = input.device().inner();
        match self {
            Baseline::Zeros => Ok(Tensor::zeros(dims, &device)),
            Baseline::Constant(c) => Ok(Tensor::full(dims, *c, &device)),
            Baseline::Uniform { low, high, seed } => {
                let mut rng = SplitMix64::new(*seed);
                let count = dims.iter().product::<usize>();
                let values: Vec<f64> = (0..count)
                    .map(|_| low + (high - low) * rng.next_f64())
                    .collect();
                Ok(Tensor::from_data(TensorData::new(values, dims), &device))
            }
            Baseline::Values { shape, values } => {
                let mut one = dims;
                one[0] = 1;
                if shape.as_slice() == dims.as_slice() {
                    Ok(Tensor::from_data(
                        TensorData::new(values.clone(), dims),
                        &device,
                    ))
                } else if shape.as_slice() == one.as_slice() {
                    let sample: Tensor<D> =
                        Tensor::from_data(TensorData::new(values.clone(), one), &device);
                    Ok(sample.repeat_dim(0, dims[0]))
                } else {
                    Err(Error::InvalidConfig {
                        name: "baseline",
                        value: format!("shape {shape:?} for input {dims:?}"),
                        expected: "the input's shape, or [1, ...] to broadcast one sample",
                    })
                }
            }
        }
    }
}

/// A set of `K` baselines, `[K, ...]` with one sample's shape: the distribution that
/// Expected Gradients and GradientSHAP draw from, and that Integrated Gradients averages over
/// (`integrated-gradients --baselines FILE`). Host data, like [`Baseline`], so a config that
/// holds one stays serializable and device-free.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineSet {
    shape: Vec<usize>,
    values: Vec<f64>,
}

impl BaselineSet {
    /// `K` baselines of shape `shape = [K, ...]`, row-major.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for no baselines (`K = 0` or a shape of rank 0), a count of
    /// values that does not match the shape, or a NaN or infinity.
    pub fn new(shape: Vec<usize>, values: Vec<f64>) -> Result<Self> {
        let invalid = |value: String, expected: &'static str| Error::InvalidConfig {
            name: "baselines",
            value,
            expected,
        };
        if shape.first().is_none_or(|&k| k == 0) {
            return Err(invalid(
                format!("shape {shape:?}"),
                "at least one baseline, [K ≥ 1, ...]",
            ));
        }
        if shape.iter().product::<usize>() != values.len() {
            return Err(invalid(
                format!("{} values for shape {shape:?}", values.len()),
                "as many values as the shape holds",
            ));
        }
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(invalid(
                format!("{} at flat index {i}", values[i]),
                "finite values (no NaN or infinity)",
            ));
        }
        Ok(Self { shape, values })
    }

    /// The baselines of a tensor `[K, ...]`.
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new), and [`Error::Backend`] if the tensor cannot be read.
    pub fn from_tensor<const D: usize>(tensor: Tensor<D>) -> Result<Self> {
        let shape = tensor.dims().to_vec();
        Self::new(shape, read_f64(tensor)?)
    }

    /// The number of baselines, `K`.
    pub fn len(&self) -> usize {
        self.shape[0]
    }

    /// Always false: a set holds at least one baseline.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The shape `[K, ...]`.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The baselines on `input`'s (plain) device, flattened to `[K, features]`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] if one baseline's shape is not one sample's of `input`.
    pub fn resolve<const D: usize>(&self, input: &Tensor<D>) -> Result<Tensor<2>> {
        let dims = input.dims();
        if self.shape.len() != D || self.shape[1..] != dims[1..] {
            return Err(Error::InvalidConfig {
                name: "baselines",
                value: format!("shape {:?} for input {dims:?}", self.shape),
                expected: "[K, ...] with one sample's shape",
            });
        }
        let features = dims[1..].iter().product::<usize>();
        Ok(Tensor::from_data(
            TensorData::new(self.values.clone(), [self.len(), features]),
            &input.device().inner(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    fn host(t: Tensor<2>) -> Vec<f64> {
        read_f64(t).unwrap()
    }

    #[test]
    fn each_kind_resolves_to_the_input_shape() {
        let device = Device::flex();
        let x = Tensor::<2>::ones([2, 3], &device);
        assert_eq!(host(Baseline::Zeros.resolve(&x).unwrap()), vec![0.0; 6]);
        assert_eq!(
            host(Baseline::Constant(0.5).resolve(&x).unwrap()),
            vec![0.5; 6]
        );
        let one = Baseline::Values {
            shape: vec![1, 3],
            values: vec![1.0, 2.0, 3.0],
        };
        assert_eq!(
            host(one.resolve(&x).unwrap()),
            vec![1.0, 2.0, 3.0, 1.0, 2.0, 3.0]
        );
        let noise = Baseline::Uniform {
            low: -1.0,
            high: 1.0,
            seed: 4,
        };
        let a = host(noise.resolve(&x).unwrap());
        assert!(a.iter().all(|v| (-1.0..1.0).contains(v)));
        assert_eq!(a, host(noise.resolve(&x).unwrap()), "seeded");
    }

    #[test]
    fn a_baseline_set_checks_its_values_and_the_input() {
        let device = Device::flex();
        let x = Tensor::<3>::ones([2, 1, 3], &device);
        let set = BaselineSet::new(vec![2, 1, 3], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
        assert_eq!(set.len(), 2);
        assert_eq!(
            host(set.resolve(&x).unwrap()),
            vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
        );
        assert!(set.resolve(&Tensor::<3>::ones([2, 3, 1], &device)).is_err());
        assert!(BaselineSet::new(vec![0, 3], vec![]).is_err());
        assert!(BaselineSet::new(vec![1, 3], vec![0.0; 2]).is_err());
        assert!(BaselineSet::new(vec![1, 2], vec![0.0, f64::NAN]).is_err());
    }

    #[test]
    fn bad_baselines_are_typed_errors() {
        let device = Device::flex();
        let x = Tensor::<2>::ones([2, 3], &device);
        let wrong = Baseline::Values {
            shape: vec![2, 2],
            values: vec![0.0; 4],
        };
        let nan = Baseline::Values {
            shape: vec![1, 3],
            values: vec![0.0, f64::NAN, 0.0],
        };
        for bad in [
            wrong,
            nan,
            Baseline::Constant(f64::INFINITY),
            Baseline::Uniform {
                low: 1.0,
                high: 1.0,
                seed: 0,
            },
        ] {
            assert!(
                matches!(
                    bad.resolve(&x),
                    Err(Error::InvalidConfig {
                        name: "baseline",
                        ..
                    })
                ),
                "{bad:?}"
            );
        }
    }
}
