//! The forward boundary between ember and a user's model.

use burn::tensor::Tensor;

/// A model that ember can explain: a map from a batch of inputs to a batch of scores.
///
/// `forward` takes an input of rank `D` whose first dimension is the batch, and returns
/// `[batch, outputs]`: one row of scores (logits, probabilities, regression outputs) per input
/// row. Rows must be independent, as they are for any model in evaluation mode (no batch-norm in
/// training mode): ember stacks many evaluation points into one batch.
///
/// Every closure `Fn(Tensor<D>) -> Tensor<2>` (also as `&dyn Fn`) is a `Model`, so a Burn module
/// is wrapped as
/// `|x| module.forward(x)`. Parameters on the plain device act as constants under autodiff, which
/// is what ember wants: it differentiates with respect to the input only.
///
/// # Example
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// use ember_core::Model;
///
/// let device = Device::flex();
/// let w = Tensor::<2>::from_floats([[1.0, -1.0], [2.0, 0.5]], &device);
/// let model = move |x: Tensor<2>| x.matmul(w.clone());
/// let scores = model.forward(Tensor::<2>::ones([3, 2], &device));
/// assert_eq!(scores.dims(), [3, 2]);
/// ```
///
/// Other scores (a segmentation region, one token's log-probability) are explained by wrapping
/// the model so that it returns `[batch, k]` with the score of interest in a column.
pub trait Model<const D: usize> {
    /// Computes the scores of a batch.
    ///
    /// # Shapes
    ///
    /// - `input`: `[batch, ...]`, rank `D`.
    /// - returns: `[batch, outputs]`.
    fn forward(&self, input: Tensor<D>) -> Tensor<2>;
}

impl<const D: usize, F> Model<D> for F
where
    F: Fn(Tensor<D>) -> Tensor<2> + ?Sized,
{
    fn forward(&self, input: Tensor<D>) -> Tensor<2> {
        self(input)
    }
}
