//! Tests of the kernel: gradients, blocks, weighted folds and their errors.

use std::ops::Range;

use burn::tensor::{Device, Tensor, TensorData};

use super::*;

fn linear(device: &Device) -> impl Fn(Tensor<2>) -> Tensor<2> + use<> {
    // w: [features = 3, classes = 2]
    let w = Tensor::<2>::from_floats([[1.0, -1.0], [2.0, 0.5], [-3.0, 4.0]], device);
    move |x: Tensor<2>| x.matmul(w.clone())
}

#[test]
fn gradient_of_a_linear_model_is_the_weight_column() {
    let device = Device::flex();
    let x = Tensor::<2>::from_floats([[1.0, 2.0, 3.0], [0.0, -1.0, 5.0]], &device);
    let out = GradientKernel::new()
        .gradients(&linear(&device), x, &RowTargets::Indices(vec![0, 1]))
        .unwrap();
    let g = out.gradients.to_data().try_to_vec::<f32>().unwrap();
    assert_eq!(g, vec![1.0, 2.0, -3.0, -1.0, 0.5, 4.0]);
    assert_eq!(out.targets, vec![0, 1]);
    assert_eq!(out.scores, vec![-4.0, 19.5]);
    assert_eq!(
        out.stats,
        KernelStats {
            rows: 2,
            passes: 1,
            max_rows_per_pass: 2
        }
    );
}

#[test]
fn blocks_make_ceil_rows_over_max_backward_calls_and_agree_with_one_pass() {
    let device = Device::flex();
    let x = Tensor::<2>::random(
        [7, 3],
        burn::tensor::Distribution::Uniform(-1.0, 1.0),
        &device,
    );
    let model = linear(&device);
    let whole = GradientKernel::new()
        .gradients(&model, x.clone(), &RowTargets::Predicted)
        .unwrap();
    let blocked = GradientKernel::new()
        .with_max_rows(3)
        .unwrap()
        .gradients(&model, x, &RowTargets::Predicted)
        .unwrap();
    assert_eq!(blocked.stats.passes, 3);
    assert_eq!(blocked.stats.max_rows_per_pass, 3);
    assert_eq!(blocked.stats.rows, 7);
    assert_eq!(whole.stats.passes, 1);
    assert_eq!(whole.targets, blocked.targets);
    assert_eq!(
        whole.gradients.to_data().try_to_vec::<f32>().unwrap(),
        blocked.gradients.to_data().try_to_vec::<f32>().unwrap()
    );
}

#[test]
fn errors_name_the_row_in_the_callers_numbering() {
    let device = Device::flex();
    let x = Tensor::<2>::ones([4, 3], &device);
    let err = GradientKernel::new()
        .with_max_rows(2)
        .unwrap()
        .gradients(&linear(&device), x, &RowTargets::Indices(vec![0, 1, 1, 2]))
        .unwrap_err();
    assert_eq!(
        err,
        Error::TargetOutOfRange {
            target: 2,
            sample: 3,
            outputs: 2
        }
    );
}

#[test]
fn zero_max_rows_is_an_invalid_config() {
    assert!(matches!(
        GradientKernel::new().with_max_rows(0),
        Err(Error::InvalidConfig {
            name: "max_rows",
            ..
        })
    ));
}

#[test]
fn an_input_the_model_ignores_has_zero_gradient() {
    let device = Device::flex();
    let constant = |x: Tensor<2>| Tensor::<2>::ones([x.dims()[0], 2], &x.device().inner());
    let out = GradientKernel::new()
        .gradients(
            &constant,
            Tensor::<2>::ones([2, 3], &device),
            &RowTargets::Predicted,
        )
        .unwrap();
    assert_eq!(
        out.gradients.to_data().try_to_vec::<f32>().unwrap(),
        vec![0.0; 6]
    );
    assert_eq!(out.targets, vec![0, 0]);
}

/// Two copies of 3 slots (rows 0..3 then 3..6), with per-copy weights, as runs or as a
/// scatter of the same rows.
struct TwoCopies {
    rows: Tensor<2>,
    runs: bool,
}

impl Plan<2> for TwoCopies {
    fn len(&self) -> usize {
        6
    }
    fn slots(&self) -> usize {
        3
    }
    fn sample(&self, slot: usize) -> usize {
        slot
    }
    fn device(&self) -> Device {
        self.rows.device()
    }
    fn features(&self) -> usize {
        1
    }
    fn block(&self, range: Range<usize>) -> Result<Block<2>> {
        let weights: Vec<f64> = range.clone().map(|r| [0.25, 0.75][r / 3]).collect();
        let slots = if self.runs && range == (0..6) {
            Slots::Runs(vec![Run {
                slot: 0,
                len: 3,
                weights: vec![0.25, 0.75],
            }])
        } else if self.runs {
            // Blocks of 4 rows: slots 0..3 then 0..1 (second copy), then 1..3.
            let mut runs = Vec::new();
            let mut r = range.start;
            while r < range.end {
                let len = (3 - r % 3).min(range.end - r);
                runs.push(Run {
                    slot: r % 3,
                    len,
                    weights: vec![[0.25, 0.75][r / 3]],
                });
                r += len;
            }
            Slots::Runs(runs)
        } else {
            Slots::Scatter {
                slots: range.clone().map(|r| r % 3).collect(),
                weights: Some(weights),
            }
        };
        Ok(Block::new(
            self.rows.clone().narrow(0, range.start, range.len()),
            slots,
            RowTargets::Indices(vec![0; range.len()]),
        ))
    }
}

#[test]
fn runs_and_scatter_fold_the_same_weighted_sums() {
    let device = Device::flex();
    let values = [1.0, -2.0, 3.0, 0.5, 4.0, -1.0];
    let rows = Tensor::<2>::from_data(TensorData::new(values.to_vec(), [6, 1]), &device);
    // F(x) = x², so g = 2x.
    let square = |x: Tensor<2>| x.clone() * x;
    let expected_sum: Vec<f64> = (0..3)
        .map(|s| 0.25 * 2.0 * values[s] + 0.75 * 2.0 * values[s + 3])
        .collect();
    let expected_scores: Vec<f64> = (0..3)
        .map(|s| 0.25 * values[s].powi(2) + 0.75 * values[s + 3].powi(2))
        .collect();
    for runs in [true, false] {
        for max_rows in [6, 4, 1] {
            let plan = TwoCopies {
                rows: rows.clone(),
                runs,
            };
            let acc = GradientKernel::new()
                .with_max_rows(max_rows)
                .unwrap()
                .accumulate(&square, &plan, None)
                .unwrap();
            let close = |a: Vec<f64>, b: &[f64]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-5);
            let label = format!("runs {runs}, max_rows {max_rows}");
            assert!(close(read_f64(acc.sum).unwrap(), &expected_sum), "{label}");
            assert!(
                close(read_f64(acc.scores).unwrap(), &expected_scores),
                "{label}"
            );
            assert_eq!(acc.stats.passes, 6usize.div_ceil(max_rows), "{label}");
            assert_eq!(acc.targets, vec![Some(0); 3]);
        }
    }
}

#[test]
fn a_non_finite_row_anywhere_is_named_by_its_sample() {
    let device = Device::flex();
    let rows = Tensor::<2>::from_data(
        TensorData::new(vec![1.0, 2.0, 3.0, 4.0, -1.0, 6.0], [6, 1]),
        &device,
    );
    // sqrt of -1 is NaN at row 4, which is slot (sample) 1.
    let root = |x: Tensor<2>| x.sqrt();
    let plan = TwoCopies { rows, runs: true };
    let err = GradientKernel::new()
        .with_max_rows(4)
        .unwrap()
        .accumulate(&root, &plan, None)
        .unwrap_err();
    assert!(
        matches!(err, Error::NonFiniteOutput { sample: 1, .. }),
        "{err:?}"
    );
}

#[test]
fn first_argmax_takes_the_first_of_equal_maxima() {
    assert_eq!(first_argmax(&[1.0, 3.0, 3.0, -1.0]), 1);
    assert_eq!(first_argmax(&[5.0]), 0);
}

/// A plan whose blocks map fewer rows than they hold: a bug of the method, named as such.
struct Buggy(Tensor<2>);

impl Plan<2> for Buggy {
    fn len(&self) -> usize {
        2
    }
    fn slots(&self) -> usize {
        2
    }
    fn sample(&self, slot: usize) -> usize {
        slot
    }
    fn features(&self) -> usize {
        1
    }
    fn device(&self) -> Device {
        self.0.device()
    }
    fn block(&self, _range: Range<usize>) -> Result<Block<2>> {
        Ok(Block::new(
            self.0.clone(),
            Slots::Runs(vec![Run::once(0, 1)]),
            RowTargets::Indices(vec![0, 0]),
        ))
    }
}

#[test]
fn a_buggy_plan_is_an_invalid_plan_not_a_backend_error() {
    let device = Device::flex();
    let plan = Buggy(Tensor::<2>::ones([2, 1], &device));
    let err = GradientKernel::new()
        .accumulate(&|x: Tensor<2>| x, &plan, None)
        .unwrap_err();
    assert!(matches!(err, Error::InvalidPlan(_)), "{err}");
    assert!(err.to_string().contains("maps 1 rows"), "{err}");
}

#[test]
fn a_memory_budget_sets_the_rows_per_pass() {
    let device = Device::flex();
    let kernel = GradientKernel::new()
        .with_memory_budget_opt(Some(4 * 100 * 3))
        .unwrap();
    // 3 rows of 100 f32 values fit 1200 bytes.
    assert_eq!(kernel.rows_per_pass(&device, 100), 3);
    let both = kernel.with_max_rows(2).unwrap();
    assert_eq!(both.rows_per_pass(&device, 100), 2);
    assert_eq!(GradientKernel::new().rows_per_pass(&device, 100), 128);
    assert!(
        GradientKernel::new()
            .with_memory_budget_opt(Some(0))
            .is_err()
    );
}

/// Rows `[4, 2]` on 2 slots (row `r` goes to slot `r % 2`), each gradient scaled by `scale`.
struct Scaled {
    rows: Tensor<2>,
    scale: Tensor<2>,
}

impl Plan<2> for Scaled {
    fn len(&self) -> usize {
        4
    }
    fn slots(&self) -> usize {
        2
    }
    fn sample(&self, slot: usize) -> usize {
        slot
    }
    fn features(&self) -> usize {
        2
    }
    fn device(&self) -> Device {
        self.rows.device()
    }
    fn block(&self, range: Range<usize>) -> Result<Block<2>> {
        let (start, len) = (range.start, range.len());
        let slots = if start % 2 == 0 && len % 2 == 0 {
            Slots::Runs(vec![Run {
                slot: 0,
                len: 2,
                weights: vec![0.5; len / 2],
            }])
        } else {
            Slots::Scatter {
                slots: range.clone().map(|r| r % 2).collect(),
                weights: Some(vec![0.5; len]),
            }
        };
        Ok(Block::new(
            self.rows.clone().narrow(0, start, len),
            slots,
            RowTargets::Indices(vec![0; len]),
        )
        .with_scale(self.scale.clone().narrow(0, start, len)))
    }
}

#[test]
fn a_block_scale_multiplies_each_rows_gradient_before_the_fold() {
    let device = Device::flex();
    // F(x) = x₁² + 3 x₂, ∇F = [2 x₁, 3].
    let model = |x: Tensor<2>| {
        let [n, _] = x.dims();
        let x1 = x.clone().narrow(1, 0, 1);
        let x2 = x.narrow(1, 1, 1);
        (x1.clone() * x1 + x2 * 3.0).reshape([n, 1])
    };
    let rows = [1.0, 0.0, 2.0, 0.0, -1.0, 0.0, 4.0, 0.0];
    let scale = [1.0, 2.0, -1.0, 0.5, 3.0, 1.0, 0.25, -2.0];
    let plan = Scaled {
        rows: Tensor::<2>::from_data(TensorData::new(rows.to_vec(), [4, 2]), &device),
        scale: Tensor::<2>::from_data(TensorData::new(scale.to_vec(), [4, 2]), &device),
    };
    // Slot 0: rows 0, 2; slot 1: rows 1, 3; weight ½ each.
    let want = [
        0.5 * (2.0 * 1.0 * 1.0 - 2.0 * 1.0 * 3.0),
        0.5 * (3.0 * 2.0 + 3.0 * 1.0),
        0.5 * (-(2.0 * 2.0) + 2.0 * 4.0 * 0.25),
        0.5 * (3.0 * 0.5 + 3.0 * -2.0),
    ];
    for max_rows in [4, 2, 1, 3] {
        let acc = GradientKernel::new()
            .with_max_rows(max_rows)
            .unwrap()
            .accumulate(&model, &plan, None)
            .unwrap();
        let sum = acc.sum.to_data().try_to_vec::<f32>().unwrap();
        for (got, want) in sum.iter().zip(want) {
            assert!((*got as f64 - want).abs() < 1e-6, "{max_rows}: {sum:?}");
        }
        // Target outputs are weighted but not scaled: ½ (F(r₀) + F(r₂)), ½ (F(r₁) + F(r₃)).
        let scores = acc.scores.to_data().try_to_vec::<f32>().unwrap();
        assert_eq!(scores, vec![0.5 * (1.0 + 1.0), 0.5 * (4.0 + 16.0)]);
    }
    let bad = Scaled {
        scale: Tensor::<2>::ones([4, 3], &device),
        ..plan
    };
    let err = GradientKernel::new()
        .accumulate(&model, &bad, None)
        .unwrap_err();
    assert!(matches!(err, Error::InvalidPlan(_)), "{err}");
    assert!(err.to_string().contains("scale"), "{err}");
}
