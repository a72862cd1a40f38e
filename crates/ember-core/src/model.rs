//! The forward boundary between ember and a user's model: [`Model`], the row → sample map
//! ([`RowSamples`]) that lets auxiliary inputs follow the rows, and the wrappers that make a
//! Burn module or a closure with auxiliary inputs a model ([`eval`], [`eval_with`],
//! [`WithAux`]).

use burn::module::Module;
use burn::tensor::kind::Basic;
use burn::tensor::{Int, Tensor, TensorData};

/// A model that ember can explain: a map from a block of rows to a block of scores.
///
/// `forward_rows` takes rows of rank `D` whose first dimension is the block, and returns
/// `[rows, outputs]`: one row of scores (logits, probabilities, regression outputs, a
/// similarity) per input row. [`RowSamples`] says which input sample each row belongs to:
/// ember stacks many evaluation points of many samples into one pass (IG steps, noisy copies,
/// several targets), so a model with per-sample auxiliary inputs (an attention mask, token
/// types) gathers them with [`RowSamples::gather`].
///
/// Rows must be independent and deterministic, as they are for any model in evaluation mode.
/// A Burn module in training mode is not: BatchNorm uses the statistics of the whole pass and
/// Dropout is random whenever the input is on an autodiff device, which ember's rows are.
/// Every method checks this once per call, before its first pass, and returns
/// [`crate::Error::ModelRowsCoupled`] or [`crate::Error::ModelNotDeterministic`]; wrap a module
/// with [`eval`] (or call Burn's `module.valid()`) to explain it in evaluation mode.
///
/// Every closure `Fn(Tensor<D>) -> Tensor<2>` is a `Model` (without auxiliary inputs); a
/// closure that also takes auxiliary inputs is one through [`WithAux`]; a Burn module through
/// [`eval`] or [`eval_with`].
///
/// # Example
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// use ember_core::{Model, RowSamples};
///
/// let device = Device::flex();
/// let w = Tensor::<2>::from_floats([[1.0, -1.0], [2.0, 0.5]], &device);
/// let model = move |x: Tensor<2>| x.matmul(w.clone());
/// let scores = model.forward_rows(Tensor::<2>::ones([3, 2], &device), &RowSamples::identity(3));
/// assert_eq!(scores.dims(), [3, 2]);
/// ```
///
/// Other scores (a segmentation region, one token's log-probability, a regression output) are
/// explained by wrapping the model so that it returns `[rows, k]` with the score of interest in
/// a column.
pub trait Model<const D: usize> {
    /// Computes the scores of a block of rows.
    ///
    /// # Shapes
    ///
    /// - `input`: `[rows, ...]`, rank `D`.
    /// - `rows`: the input sample of each row (`rows.len()` entries).
    /// - returns: `[rows, outputs]`.
    fn forward_rows(&self, input: Tensor<D>, rows: &RowSamples) -> Tensor<2>;

    /// The number of samples (dimension 0) of each of the model's auxiliary inputs; empty for
    /// a model without them. Methods check every count against the input's batch before any
    /// work.
    fn auxiliary_samples(&self) -> Vec<usize> {
        Vec::new()
    }

    /// Whether ember has already checked, in this call, that the model's rows are independent
    /// and deterministic (its own adapters say so, for nested calls such as SmoothGrad's inner
    /// method). A model that returns `true` is never checked.
    fn rows_checked(&self) -> bool {
        false
    }

    /// The model split at an image layer (`[N, C, h, w]` activations), if it says where one
    /// is: what Grad-CAM reads when it is run as an input method (the comparison), through
    /// [`crate::WithLayer`]. `None` for other models.
    fn layer(&self) -> Option<Box<dyn crate::SplitModel<D, 4> + '_>> {
        None
    }
}

impl<const D: usize, F> Model<D> for F
where
    F: Fn(Tensor<D>) -> Tensor<2> + ?Sized,
{
    fn forward_rows(&self, input: Tensor<D>, _rows: &RowSamples) -> Tensor<2> {
        self(input)
    }
}

/// The input sample of every row of a block: what a model with auxiliary inputs needs to
/// gather each row's mask, token types or second modality.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowSamples {
    samples: Vec<usize>,
}

impl RowSamples {
    /// Row `i` belongs to sample `samples[i]`.
    pub fn new(samples: Vec<usize>) -> Self {
        Self { samples }
    }

    /// Row `i` belongs to sample `i`, for `n` rows: a plain batch.
    pub fn identity(n: usize) -> Self {
        Self::new((0..n).collect())
    }

    /// The input sample of each row.
    pub fn samples(&self) -> &[usize] {
        &self.samples
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// These rows' samples mapped through `map` (row `i` belongs to `map[samples[i]]`): how a
    /// method that explains copies of the input (SmoothGrad's noisy copies) numbers its rows
    /// in the caller's samples.
    ///
    /// # Panics
    ///
    /// If a sample is not an index of `map` (ember's own adapters build `map` to cover every
    /// sample of their calls).
    pub fn renumbered(&self, map: &[usize]) -> Self {
        Self::new(self.samples.iter().map(|&s| map[s]).collect())
    }

    /// The auxiliary inputs of these rows: entry `samples[i]` of every auxiliary tensor,
    /// stacked along dimension 0 (`[rows, ...]` from the user's `[batch, ...]`). Nothing is
    /// copied when the rows are exactly the auxiliary inputs' samples in order.
    pub fn gather<A: Auxiliary>(&self, auxiliary: &A) -> A {
        let in_order = self.samples.iter().enumerate().all(|(i, &s)| i == s);
        if in_order && auxiliary.samples().iter().all(|&n| n == self.samples.len()) {
            return auxiliary.clone();
        }
        auxiliary.select_samples(&self.samples)
    }
}

/// Auxiliary per-sample inputs of a model (an attention mask, token types, a second
/// modality): tensors whose dimension 0 is the sample, or tuples and vectors of them.
pub trait Auxiliary: Clone {
    /// The number of samples (dimension 0) of each tensor.
    fn samples(&self) -> Vec<usize>;

    /// The entries `samples` (with repeats, in this order) of every tensor.
    fn select_samples(&self, samples: &[usize]) -> Self;
}

impl<const D: usize, K: Basic> Auxiliary for Tensor<D, K> {
    fn samples(&self) -> Vec<usize> {
        vec![self.dims()[0]]
    }

    fn select_samples(&self, samples: &[usize]) -> Self {
        let index: Vec<i64> = samples.iter().map(|&s| s as i64).collect();
        let index =
            Tensor::<1, Int>::from_data(TensorData::new(index, [samples.len()]), &self.device());
        self.clone().select(0, index)
    }
}

impl<A: Auxiliary> Auxiliary for Vec<A> {
    fn samples(&self) -> Vec<usize> {
        self.iter().flat_map(Auxiliary::samples).collect()
    }

    fn select_samples(&self, samples: &[usize]) -> Self {
        self.iter().map(|a| a.select_samples(samples)).collect()
    }
}

macro_rules! auxiliary_tuple {
    ($($name:ident $index:tt),+) => {
        impl<$($name: Auxiliary),+> Auxiliary for ($($name,)+) {
            fn samples(&self) -> Vec<usize> {
                let mut all = Vec::new();
                $(all.extend(self.$index.samples());)+
                all
            }

            fn select_samples(&self, samples: &[usize]) -> Self {
                ($(self.$index.select_samples(samples),)+)
            }
        }
    };
}

auxiliary_tuple!(A 0);
auxiliary_tuple!(A 0, B 1);
auxiliary_tuple!(A 0, B 1, C 2);
auxiliary_tuple!(A 0, B 1, C 2, E 3);

/// A closure that takes the rows and their auxiliary inputs, as a [`Model`].
///
/// ember gathers the auxiliary inputs of every block's rows from the whole batch's (`[rows,
/// ...]` from `[batch, ...]`), whatever the method stacks into the block.
///
/// # Example
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// use ember_core::{Model, RowSamples, WithAux};
///
/// let device = Device::flex();
/// // Masked mean over a sequence of 3 positions: [batch, 3] values, [batch, 3] mask.
/// let mask = Tensor::<2>::from_floats([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0]], &device);
/// let model = WithAux::new(mask, |x: Tensor<2>, mask: Tensor<2>| {
///     (x * mask.clone()).sum_dim(1) / mask.sum_dim(1)
/// });
/// // Two rows of sample 1 (e.g. two integration points), then one of sample 0.
/// let rows = Tensor::<2>::from_floats([[2.0, 5.0, 7.0], [4.0, 0.0, 0.0], [2.0, 4.0, 9.0]], &device);
/// let scores = model.forward_rows(rows, &RowSamples::new(vec![1, 1, 0]));
/// assert_eq!(scores.to_data().try_to_vec::<f32>().unwrap(), vec![2.0, 4.0, 3.0]);
/// ```
#[derive(Debug, Clone)]
pub struct WithAux<A, F> {
    auxiliary: A,
    forward: F,
}

impl<A: Auxiliary, F> WithAux<A, F> {
    /// A model that calls `forward(rows, auxiliary inputs of the rows)`.
    pub fn new(auxiliary: A, forward: F) -> Self {
        Self { auxiliary, forward }
    }

    /// The whole batch's auxiliary inputs.
    pub fn auxiliary(&self) -> &A {
        &self.auxiliary
    }
}

impl<const D: usize, A: Auxiliary, F: Fn(Tensor<D>, A) -> Tensor<2>> Model<D> for WithAux<A, F> {
    fn forward_rows(&self, input: Tensor<D>, rows: &RowSamples) -> Tensor<2> {
        (self.forward)(input, rows.gather(&self.auxiliary))
    }

    fn auxiliary_samples(&self) -> Vec<usize> {
        self.auxiliary.samples()
    }
}

/// A Burn module in evaluation mode with its forward function, as a [`Model`]: see [`eval`].
#[derive(Debug, Clone)]
pub struct Eval<M, F> {
    module: M,
    forward: F,
}

impl<M, F> Eval<M, F> {
    /// The module, in evaluation mode.
    pub fn module(&self) -> &M {
        &self.module
    }
}

/// Wraps a Burn module for explanation: puts a copy of it in evaluation mode
/// (`module.valid()`: BatchNorm uses its running statistics, Dropout is off, parameters leave
/// the autodiff graph) and calls `forward(&module, rows)`.
///
/// ```
/// use burn::nn::{Linear, LinearConfig};
/// use burn::tensor::{Device, Tensor};
/// use ember_core::{Model, RowSamples};
///
/// let device = Device::flex();
/// let layer: Linear = LinearConfig::new(4, 3).init(&device);
/// let model = ember_core::eval(&layer, Linear::forward);
/// let scores = model.forward_rows(Tensor::<2>::ones([2, 4], &device), &RowSamples::identity(2));
/// assert_eq!(scores.dims(), [2, 3]);
/// ```
pub fn eval<M: Module, F>(module: &M, forward: F) -> Eval<M, F> {
    Eval {
        module: module.valid(),
        forward,
    }
}

impl<const D: usize, M, F: Fn(&M, Tensor<D>) -> Tensor<2>> Model<D> for Eval<M, F> {
    fn forward_rows(&self, input: Tensor<D>, _rows: &RowSamples) -> Tensor<2> {
        (self.forward)(&self.module, input)
    }
}

/// A Burn module in evaluation mode with auxiliary per-sample inputs: see [`eval_with`].
#[derive(Debug, Clone)]
pub struct EvalWith<M, A, F> {
    module: M,
    auxiliary: A,
    forward: F,
}

/// Like [`eval`], for a module that takes auxiliary per-sample inputs (an attention mask,
/// token types): calls `forward(&module, rows, auxiliary inputs of the rows)`, gathering
/// `[rows, ...]` from the whole batch's `[batch, ...]` for every block.
pub fn eval_with<M: Module, A: Auxiliary, F>(
    module: &M,
    auxiliary: A,
    forward: F,
) -> EvalWith<M, A, F> {
    EvalWith {
        module: module.valid(),
        auxiliary,
        forward,
    }
}

impl<const D: usize, M, A: Auxiliary, F: Fn(&M, Tensor<D>, A) -> Tensor<2>> Model<D>
    for EvalWith<M, A, F>
{
    fn forward_rows(&self, input: Tensor<D>, rows: &RowSamples) -> Tensor<2> {
        (self.forward)(&self.module, input, rows.gather(&self.auxiliary))
    }

    fn auxiliary_samples(&self) -> Vec<usize> {
        self.auxiliary.samples()
    }
}

/// A model whose rows are numbered in another call's samples: row sample `s` of this call is
/// sample `map[s]` of the model's. Methods that explain copies of their input (SmoothGrad's
/// noisy copies, max-sensitivity's perturbations) call their inner method through it, so that
/// auxiliary inputs follow the copies.
#[derive(Debug)]
pub struct Renumbered<'a, M: ?Sized> {
    model: &'a M,
    map: Vec<usize>,
    checked: bool,
}

impl<'a, M: ?Sized> Renumbered<'a, M> {
    /// `model` with row samples mapped through `map`. `checked` says that the calling method
    /// has already checked the model's rows in this call (so the inner calls do not repeat
    /// it).
    pub fn new(model: &'a M, map: Vec<usize>, checked: bool) -> Self {
        Self {
            model,
            map,
            checked,
        }
    }
}

impl<const D: usize, M: Model<D> + ?Sized> Model<D> for Renumbered<'_, M> {
    fn forward_rows(&self, input: Tensor<D>, rows: &RowSamples) -> Tensor<2> {
        self.model.forward_rows(input, &rows.renumbered(&self.map))
    }

    fn auxiliary_samples(&self) -> Vec<usize> {
        // Every auxiliary input is indexed through the map, which has one entry per row
        // sample of this call.
        match self.model.auxiliary_samples().is_empty() {
            true => Vec::new(),
            false => vec![self.map.len()],
        }
    }

    fn rows_checked(&self) -> bool {
        self.checked || self.model.rows_checked()
    }

    fn layer(&self) -> Option<Box<dyn crate::SplitModel<D, 4> + '_>> {
        let layer = self.model.layer()?;
        Some(Box::new(crate::SplitRenumbered::new(
            layer,
            self.map.clone(),
            self.checked,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Bool, Device};

    #[test]
    fn gather_selects_each_rows_sample_and_skips_the_identity() {
        let device = Device::flex();
        let mask = Tensor::<2, Int>::from_data(
            TensorData::new(vec![1i64, 0, 1, 1, 0, 0], [3, 2]),
            &device,
        );
        let rows = RowSamples::new(vec![2, 0, 0]);
        let picked = rows.gather(&mask);
        assert_eq!(
            picked
                .to_data()
                .convert::<i64>()
                .try_to_vec::<i64>()
                .unwrap(),
            vec![0, 0, 1, 0, 1, 0]
        );
        let same = RowSamples::identity(3).gather(&mask);
        assert_eq!(same.dims(), [3, 2]);
    }

    #[test]
    fn tuples_and_vectors_gather_every_tensor() {
        let device = Device::flex();
        let a = Tensor::<1>::from_floats([1.0, 2.0], &device);
        let b = Tensor::<2, Bool>::from_data(
            TensorData::new(vec![true, false, false, true], [2, 2]),
            &device,
        );
        let aux = (a, vec![b.clone(), b]);
        assert_eq!(aux.samples(), vec![2, 2, 2]);
        let (a, bs) = RowSamples::new(vec![1, 1, 0]).gather(&aux);
        assert_eq!(
            a.to_data().try_to_vec::<f32>().unwrap(),
            vec![2.0, 2.0, 1.0]
        );
        assert_eq!(bs[1].dims(), [3, 2]);
    }

    #[test]
    fn renumbered_rows_reach_the_callers_samples() {
        let device = Device::flex();
        let tag = Tensor::<2>::from_floats([[10.0], [20.0]], &device);
        let model = WithAux::new(tag, |x: Tensor<2>, tag: Tensor<2>| x + tag);
        // 4 copies-major rows of a batch of 2: samples 0, 1, 0, 1.
        let inner = Renumbered::new(&model, vec![0, 1, 0, 1], true);
        assert!(inner.rows_checked());
        assert_eq!(inner.auxiliary_samples(), vec![4]);
        let out = inner.forward_rows(
            Tensor::<2>::zeros([2, 1], &device),
            &RowSamples::new(vec![3, 2]),
        );
        assert_eq!(out.to_data().try_to_vec::<f32>().unwrap(), vec![20.0, 10.0]);
    }
}
