//! A model split at a layer, for layer attribution (Grad-CAM, Layer Integrated Gradients,
//! Layer Gradient × Activation): `head(input) → hidden` and `tail(hidden) → scores`.
//!
//! Burn has no forward hooks, so a layer method needs the model to say where the layer is. A
//! [`SplitModel`] evaluates the two halves separately; both see the rows' samples, so auxiliary
//! inputs (an attention mask) reach both. Wrap a Burn module with [`eval_split`] (or
//! [`eval_split_with`] for auxiliary inputs), or two closures with [`Split`].
//!
//! # Example
//!
//! ```
//! use burn::tensor::{Device, Tensor};
//! use ember_core::{Model, RowSamples, Split, SplitModel, Whole};
//!
//! let device = Device::flex();
//! let w = Tensor::<2>::from_floats([[1.0, -1.0], [2.0, 0.5]], &device);
//! // head: x ↦ 2x; tail: h ↦ h · w.
//! let split = Split::new(|x: Tensor<2>| x * 2.0, move |h: Tensor<2>| h.matmul(w.clone()));
//! let x = Tensor::<2>::from_floats([[1.0, 1.0]], &device);
//! let rows = RowSamples::identity(1);
//! assert_eq!(split.head(x.clone(), &rows).to_data().to_vec::<f32>().unwrap(), [2.0, 2.0]);
//! let scores = Whole::new(&split).forward_rows(x, &rows);
//! assert_eq!(scores.to_data().to_vec::<f32>().unwrap(), [6.0, -1.0]);
//! ```

use burn::module::Module;
use burn::tensor::Tensor;

use crate::model::{Auxiliary, Model, RowSamples};

/// A model evaluated in two halves at a layer: `head(input) → hidden`, `tail(hidden) →
/// scores`, with `tail(head(x))` the whole model.
///
/// The same contract as [`Model`]: rows independent and deterministic (evaluation mode),
/// `rows` gives each row's sample so that auxiliary inputs follow the rows in both halves.
pub trait SplitModel<const D: usize, const H: usize> {
    /// The layer's activations of a block of rows.
    ///
    /// # Shapes
    ///
    /// - `input`: `[rows, ...]`, rank `D`; returns `[rows, ...]`, rank `H`.
    fn head(&self, input: Tensor<D>, rows: &RowSamples) -> Tensor<H>;

    /// The scores of a block of the layer's activations.
    ///
    /// # Shapes
    ///
    /// - `hidden`: `[rows, ...]`, rank `H`; returns `[rows, outputs]`.
    fn tail(&self, hidden: Tensor<H>, rows: &RowSamples) -> Tensor<2>;

    /// As [`Model::auxiliary_samples`].
    fn auxiliary_samples(&self) -> Vec<usize> {
        Vec::new()
    }

    /// As [`Model::rows_checked`].
    fn rows_checked(&self) -> bool {
        false
    }
}

/// The whole split model, `tail(head(x))`, as a [`Model`] of the input.
#[derive(Debug)]
pub struct Whole<'a, S: ?Sized, const H: usize> {
    split: &'a S,
}

impl<'a, S: ?Sized, const H: usize> Whole<'a, S, H> {
    /// The whole of `split`.
    pub fn new(split: &'a S) -> Self {
        Self { split }
    }
}

impl<const D: usize, const H: usize, S: SplitModel<D, H> + ?Sized> Model<D> for Whole<'_, S, H> {
    fn forward_rows(&self, input: Tensor<D>, rows: &RowSamples) -> Tensor<2> {
        self.split.tail(self.split.head(input, rows), rows)
    }

    fn auxiliary_samples(&self) -> Vec<usize> {
        self.split.auxiliary_samples()
    }

    fn rows_checked(&self) -> bool {
        self.split.rows_checked()
    }
}

/// The tail of a split model as a [`Model`] of the layer's activations: what layer methods
/// differentiate. `checked` says the calling method has already checked the rows.
#[derive(Debug)]
pub struct Tail<'a, S: ?Sized, const D: usize> {
    split: &'a S,
    checked: bool,
}

impl<'a, S: ?Sized, const D: usize> Tail<'a, S, D> {
    /// The tail of `split`.
    pub fn new(split: &'a S, checked: bool) -> Self {
        Self { split, checked }
    }
}

impl<const D: usize, const H: usize, S: SplitModel<D, H> + ?Sized> Model<H> for Tail<'_, S, D> {
    fn forward_rows(&self, hidden: Tensor<H>, rows: &RowSamples) -> Tensor<2> {
        self.split.tail(hidden, rows)
    }

    fn auxiliary_samples(&self) -> Vec<usize> {
        self.split.auxiliary_samples()
    }

    fn rows_checked(&self) -> bool {
        self.checked || self.split.rows_checked()
    }
}

/// A split model whose rows are numbered in another call's samples (as
/// [`crate::Renumbered`]): how a noise tunnel calls a layer method on noisy copies. `S` is the
/// split itself, a reference to it (`&S` is a split) or a box (what [`crate::Renumbered`]
/// gives as its [`Model::layer`]).
#[derive(Debug)]
pub struct SplitRenumbered<S> {
    split: S,
    map: Vec<usize>,
    checked: bool,
}

impl<S> SplitRenumbered<S> {
    /// `split` with row samples mapped through `map`; `checked` as [`crate::Renumbered::new`].
    pub fn new(split: S, map: Vec<usize>, checked: bool) -> Self {
        Self {
            split,
            map,
            checked,
        }
    }
}

impl<const D: usize, const H: usize, S: SplitModel<D, H>> SplitModel<D, H> for SplitRenumbered<S> {
    fn head(&self, input: Tensor<D>, rows: &RowSamples) -> Tensor<H> {
        self.split.head(input, &rows.renumbered(&self.map))
    }

    fn tail(&self, hidden: Tensor<H>, rows: &RowSamples) -> Tensor<2> {
        self.split.tail(hidden, &rows.renumbered(&self.map))
    }

    fn auxiliary_samples(&self) -> Vec<usize> {
        match self.split.auxiliary_samples().is_empty() {
            true => Vec::new(),
            false => vec![self.map.len()],
        }
    }

    fn rows_checked(&self) -> bool {
        self.checked || self.split.rows_checked()
    }
}

/// A model split at an image layer, as a [`Model`] of the input (`tail(head(x))`) that says
/// where its layer is ([`Model::layer`]): how Grad-CAM runs as an input method, e.g. in
/// `ember::compare`. Its maps are upsampled to the input's size.
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// use ember_core::{Model, Split, WithLayer};
///
/// let split = Split::new(|x: Tensor<4>| x * 2.0, |a: Tensor<4>| a.sum_dim(3).sum_dim(2).sum_dim(1).reshape([-1, 1]));
/// let model = WithLayer::new(split);
/// assert!(model.layer().is_some());
/// ```
#[derive(Debug, Clone)]
pub struct WithLayer<S> {
    split: S,
}

impl<S> WithLayer<S> {
    /// The whole of `split`, with its layer.
    pub fn new(split: S) -> Self {
        Self { split }
    }

    /// The split model.
    pub fn split(&self) -> &S {
        &self.split
    }
}

impl<const D: usize, S: SplitModel<D, 4>> Model<D> for WithLayer<S> {
    fn forward_rows(&self, input: Tensor<D>, rows: &RowSamples) -> Tensor<2> {
        self.split.tail(self.split.head(input, rows), rows)
    }

    fn auxiliary_samples(&self) -> Vec<usize> {
        self.split.auxiliary_samples()
    }

    fn rows_checked(&self) -> bool {
        self.split.rows_checked()
    }

    fn layer(&self) -> Option<Box<dyn SplitModel<D, 4> + '_>> {
        Some(Box::new(&self.split))
    }
}

impl<const D: usize, const H: usize, S: SplitModel<D, H> + ?Sized> SplitModel<D, H> for Box<S> {
    fn head(&self, input: Tensor<D>, rows: &RowSamples) -> Tensor<H> {
        (**self).head(input, rows)
    }

    fn tail(&self, hidden: Tensor<H>, rows: &RowSamples) -> Tensor<2> {
        (**self).tail(hidden, rows)
    }

    fn auxiliary_samples(&self) -> Vec<usize> {
        (**self).auxiliary_samples()
    }

    fn rows_checked(&self) -> bool {
        (**self).rows_checked()
    }
}

impl<const D: usize, const H: usize, S: SplitModel<D, H> + ?Sized> SplitModel<D, H> for &S {
    fn head(&self, input: Tensor<D>, rows: &RowSamples) -> Tensor<H> {
        (**self).head(input, rows)
    }

    fn tail(&self, hidden: Tensor<H>, rows: &RowSamples) -> Tensor<2> {
        (**self).tail(hidden, rows)
    }

    fn auxiliary_samples(&self) -> Vec<usize> {
        (**self).auxiliary_samples()
    }

    fn rows_checked(&self) -> bool {
        (**self).rows_checked()
    }
}

/// Two closures, `head` and `tail`, as a [`SplitModel`].
#[derive(Debug, Clone)]
pub struct Split<Hd, Tl> {
    head: Hd,
    tail: Tl,
}

impl<Hd, Tl> Split<Hd, Tl> {
    /// The model `tail(head(x))`, split between the two.
    pub fn new(head: Hd, tail: Tl) -> Self {
        Self { head, tail }
    }
}

impl<const D: usize, const H: usize, Hd, Tl> SplitModel<D, H> for Split<Hd, Tl>
where
    Hd: Fn(Tensor<D>) -> Tensor<H>,
    Tl: Fn(Tensor<H>) -> Tensor<2>,
{
    fn head(&self, input: Tensor<D>, _rows: &RowSamples) -> Tensor<H> {
        (self.head)(input)
    }

    fn tail(&self, hidden: Tensor<H>, _rows: &RowSamples) -> Tensor<2> {
        (self.tail)(hidden)
    }
}

/// A Burn module in evaluation mode split at a layer: see [`eval_split`].
#[derive(Debug, Clone)]
pub struct EvalSplit<M, Hd, Tl> {
    module: M,
    head: Hd,
    tail: Tl,
}

/// Wraps a Burn module for layer attribution: a copy in evaluation mode (as [`crate::eval`])
/// and its two halves, `head(&module, x) → hidden` and `tail(&module, hidden) → scores`.
pub fn eval_split<M: Module, Hd, Tl>(module: &M, head: Hd, tail: Tl) -> EvalSplit<M, Hd, Tl> {
    EvalSplit {
        module: module.valid(),
        head,
        tail,
    }
}

impl<const D: usize, const H: usize, M, Hd, Tl> SplitModel<D, H> for EvalSplit<M, Hd, Tl>
where
    Hd: Fn(&M, Tensor<D>) -> Tensor<H>,
    Tl: Fn(&M, Tensor<H>) -> Tensor<2>,
{
    fn head(&self, input: Tensor<D>, _rows: &RowSamples) -> Tensor<H> {
        (self.head)(&self.module, input)
    }

    fn tail(&self, hidden: Tensor<H>, _rows: &RowSamples) -> Tensor<2> {
        (self.tail)(&self.module, hidden)
    }
}

/// A Burn module in evaluation mode split at a layer, with auxiliary inputs that reach both
/// halves: see [`eval_split_with`].
#[derive(Debug, Clone)]
pub struct EvalSplitWith<M, A, Hd, Tl> {
    module: M,
    auxiliary: A,
    head: Hd,
    tail: Tl,
}

/// As [`eval_split`], with auxiliary inputs `[batch, ...]` gathered for every block's rows and
/// passed to both halves: `head(&module, x, aux)`, `tail(&module, hidden, aux)`.
pub fn eval_split_with<M: Module, A: Auxiliary, Hd, Tl>(
    module: &M,
    auxiliary: A,
    head: Hd,
    tail: Tl,
) -> EvalSplitWith<M, A, Hd, Tl> {
    EvalSplitWith {
        module: module.valid(),
        auxiliary,
        head,
        tail,
    }
}

impl<const D: usize, const H: usize, M, A, Hd, Tl> SplitModel<D, H> for EvalSplitWith<M, A, Hd, Tl>
where
    A: Auxiliary,
    Hd: Fn(&M, Tensor<D>, A) -> Tensor<H>,
    Tl: Fn(&M, Tensor<H>, A) -> Tensor<2>,
{
    fn head(&self, input: Tensor<D>, rows: &RowSamples) -> Tensor<H> {
        (self.head)(&self.module, input, rows.gather(&self.auxiliary))
    }

    fn tail(&self, hidden: Tensor<H>, rows: &RowSamples) -> Tensor<2> {
        (self.tail)(&self.module, hidden, rows.gather(&self.auxiliary))
    }

    fn auxiliary_samples(&self) -> Vec<usize> {
        self.auxiliary.samples()
    }
}
