//! The interpretable models of KernelSHAP and LIME, fitted on the host in f64: weighted least
//! squares (optionally ridge) through `faer`, and a weighted Lasso by coordinate descent with
//! scikit-learn's objective.
//!
//! The systems are M × M (M groups), so they are solved on the host: the same answer on every
//! backend, in f64 even where the device has none (Metal, OpenGL).

use faer::Mat;

/// A design matrix and its row weights: `rows × columns`, row-major.
pub(crate) struct Design<'a> {
    /// The rows' values, row-major.
    pub x: &'a [f64],
    /// The number of columns.
    pub columns: usize,
    /// The weight of each row.
    pub weights: &'a [f64],
}

impl Design<'_> {
    fn rows(&self) -> usize {
        self.weights.len()
    }
}

/// The pseudo-inverse of `XᵀWX + ridge·I` (the minimum-norm solution where the system is
/// singular, as `numpy.linalg.lstsq` gives): one factorisation that serves every right-hand
/// side of the same design.
pub(crate) struct Normal {
    inverse: Mat<f64>,
}

impl Normal {
    /// Factorises the normal matrix of `design`.
    pub(crate) fn new(design: &Design<'_>, ridge: f64) -> Self {
        let p = design.columns;
        let mut a = Mat::<f64>::zeros(p, p);
        for r in 0..design.rows() {
            let row = &design.x[r * p..(r + 1) * p];
            let w = design.weights[r];
            for i in 0..p {
                if row[i] == 0.0 {
                    continue;
                }
                for j in 0..p {
                    a[(i, j)] += w * row[i] * row[j];
                }
            }
        }
        for i in 0..p {
            a[(i, i)] += ridge;
        }
        let inverse = match a.thin_svd() {
            Ok(svd) => svd.pseudoinverse(),
            // faer's SVD does not converge only on non-finite input; the caller's checks of the
            // scores make that unreachable, and a zero solution is at least not silent garbage.
            Err(_) => Mat::zeros(p, p),
        };
        Self { inverse }
    }

    /// The coefficients `(XᵀWX + ridge·I)⁺ XᵀW y` for the target column `y` (one per row).
    pub(crate) fn solve(&self, design: &Design<'_>, y: &[f64]) -> Vec<f64> {
        let p = design.columns;
        let mut b = vec![0.0; p];
        for (r, &target) in y.iter().enumerate() {
            let w = design.weights[r] * target;
            for (i, bi) in b.iter_mut().enumerate() {
                *bi += w * design.x[r * p + i];
            }
        }
        (0..p)
            .map(|i| (0..p).map(|j| self.inverse[(i, j)] * b[j]).sum())
            .collect()
    }
}

/// Centres `design` and `y` by their weighted means, for a fit with an intercept: returns the
/// centred design, the centred `y`, the columns' means and `y`'s mean.
fn centred(design: &Design<'_>, y: &[f64]) -> (Vec<f64>, Vec<f64>, Vec<f64>, f64) {
    let p = design.columns;
    let total: f64 = design.weights.iter().sum();
    let mut means = vec![0.0; p];
    let mut mean_y = 0.0;
    for ((row, &weight), &target) in design.x.chunks(p.max(1)).zip(design.weights).zip(y) {
        let w = weight / total;
        for (m, &v) in means.iter_mut().zip(row) {
            *m += w * v;
        }
        mean_y += w * target;
    }
    let x = design
        .x
        .iter()
        .enumerate()
        .map(|(at, v)| v - means[at % p])
        .collect();
    let y = y.iter().map(|v| v - mean_y).collect();
    (x, y, means, mean_y)
}

/// A linear model with an intercept: `y ≈ intercept + x·coefficients`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Linear {
    /// The coefficient of each column.
    pub coefficients: Vec<f64>,
    /// The intercept.
    pub intercept: f64,
}

/// Weighted ridge regression with an unpenalised intercept (scikit-learn's `Ridge(alpha)`
/// with `sample_weight`; `alpha = 0` is `LinearRegression`).
pub(crate) fn ridge(design: &Design<'_>, y: &[f64], alpha: f64) -> Linear {
    let (x, yc, means, mean_y) = centred(design, y);
    let centred = Design {
        x: &x,
        columns: design.columns,
        weights: design.weights,
    };
    let coefficients = Normal::new(&centred, alpha).solve(&centred, &yc);
    let intercept = mean_y
        - coefficients
            .iter()
            .zip(&means)
            .map(|(c, m)| c * m)
            .sum::<f64>();
    Linear {
        coefficients,
        intercept,
    }
}

/// The most sweeps of the Lasso's coordinate descent (scikit-learn's default `max_iter`).
const LASSO_SWEEPS: usize = 1000;

/// The Lasso's tolerance (scikit-learn's default `tol`): the duality gap is checked once no
/// coefficient moved by more than `tol` of the largest, and the descent stops when it is at
/// most `tol` times the weighted `‖y − ȳ‖²`.
const LASSO_TOL: f64 = 1e-4;

/// Weighted Lasso with an intercept, scikit-learn's objective with `sample_weight`:
/// `1/(2 Σw) Σ wᵢ (yᵢ − β₀ − xᵢ·β)² + α ‖β‖₁`, by cyclic coordinate descent with
/// scikit-learn's stopping rule (`enet_coordinate_descent`: the duality gap against
/// [`LASSO_TOL`], at most [`LASSO_SWEEPS`] sweeps), so the fit stops where Captum's
/// `SkLearnLasso` stops. `alpha = 0` is least squares, solved exactly ([`ridge`] with 0), where
/// scikit-learn's descent would stop early.
pub(crate) fn lasso(design: &Design<'_>, y: &[f64], alpha: f64) -> Linear {
    if alpha == 0.0 {
        return ridge(design, y, 0.0);
    }
    let p = design.columns;
    let rows = design.rows();
    let (x, mut residual, means, mean_y) = centred(design, y);
    let yc = residual.clone();
    let total: f64 = design.weights.iter().sum();
    let w: Vec<f64> = design.weights.iter().map(|w| w / total).collect();
    let norms: Vec<f64> = (0..p)
        .map(|j| (0..rows).map(|r| w[r] * x[r * p + j] * x[r * p + j]).sum())
        .collect();
    let tol = LASSO_TOL * (0..rows).map(|r| w[r] * yc[r] * yc[r]).sum::<f64>();
    let mut beta = vec![0.0; p];
    for sweep in 0..LASSO_SWEEPS {
        let mut moved: f64 = 0.0;
        for j in 0..p {
            if norms[j] == 0.0 {
                continue;
            }
            let rho: f64 = (0..rows)
                .map(|r| w[r] * x[r * p + j] * (residual[r] + x[r * p + j] * beta[j]))
                .sum();
            let next = rho.signum() * (rho.abs() - alpha).max(0.0) / norms[j];
            let change = next - beta[j];
            if change != 0.0 {
                for r in 0..rows {
                    residual[r] -= change * x[r * p + j];
                }
                beta[j] = next;
                moved = moved.max(change.abs());
            }
        }
        let largest = beta.iter().fold(0.0f64, |m, b| m.max(b.abs()));
        if (largest == 0.0 || moved / largest < LASSO_TOL || sweep + 1 == LASSO_SWEEPS)
            && duality_gap(&x, p, &w, &residual, &yc, &beta, alpha) <= tol
        {
            break;
        }
    }
    let intercept = mean_y - beta.iter().zip(&means).map(|(c, m)| c * m).sum::<f64>();
    Linear {
        coefficients: beta,
        intercept,
    }
}

/// The Lasso's duality gap at `beta` (scikit-learn's, with the rows scaled by `√w` and the
/// weights summing to 1): `x` centred, `residual = yc − x·beta`.
fn duality_gap(
    x: &[f64],
    p: usize,
    w: &[f64],
    residual: &[f64],
    yc: &[f64],
    beta: &[f64],
    alpha: f64,
) -> f64 {
    let r2: f64 = w.iter().zip(residual).map(|(w, r)| w * r * r).sum();
    let dual = (0..p)
        .map(|j| {
            w.iter()
                .zip(residual)
                .enumerate()
                .map(|(row, (w, r))| w * x[row * p + j] * r)
                .sum::<f64>()
                .abs()
        })
        .fold(0.0f64, f64::max);
    let (constant, mut gap) = if dual > alpha {
        let c = alpha / dual;
        (c, 0.5 * (r2 + r2 * c * c))
    } else {
        (1.0, r2)
    };
    let l1: f64 = beta.iter().map(|b| b.abs()).sum();
    let ry: f64 = w
        .iter()
        .zip(residual.iter().zip(yc))
        .map(|(w, (r, y))| w * r * y)
        .sum();
    gap += alpha * l1 - constant * ry;
    gap
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows of 3 binary columns with a known linear function of them.
    fn problem() -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let mut x = Vec::new();
        let mut y = Vec::new();
        let mut weights = Vec::new();
        for code in 0..8u32 {
            let z: Vec<f64> = (0..3).map(|b| f64::from((code >> b) & 1)).collect();
            y.push(0.5 + 2.0 * z[0] - 1.0 * z[1] + 0.25 * z[2]);
            x.extend(z);
            weights.push(1.0 + f64::from(code));
        }
        (x, y, weights)
    }

    #[test]
    fn least_squares_recovers_an_exact_linear_function() {
        let (x, y, weights) = problem();
        let design = Design {
            x: &x,
            columns: 3,
            weights: &weights,
        };
        let fit = ridge(&design, &y, 0.0);
        for (got, want) in fit.coefficients.iter().zip([2.0, -1.0, 0.25]) {
            assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        }
        assert!((fit.intercept - 0.5).abs() < 1e-12);
    }

    #[test]
    fn a_singular_design_gets_the_minimum_norm_solution() {
        // Two identical columns share their coefficient equally.
        let x = vec![1.0, 1.0, 0.0, 0.0, 1.0, 1.0];
        let design = Design {
            x: &x,
            columns: 2,
            weights: &[1.0, 1.0, 1.0],
        };
        let coefficients = Normal::new(&design, 0.0).solve(&design, &[2.0, 0.0, 2.0]);
        assert!((coefficients[0] - 1.0).abs() < 1e-12 && (coefficients[1] - 1.0).abs() < 1e-12);
    }

    #[test]
    fn lasso_shrinks_and_zero_alpha_is_least_squares() {
        let (x, y, weights) = problem();
        let design = Design {
            x: &x,
            columns: 3,
            weights: &weights,
        };
        let plain = lasso(&design, &y, 0.0);
        for (got, want) in plain.coefficients.iter().zip([2.0, -1.0, 0.25]) {
            assert!((got - want).abs() < 1e-9, "{got} vs {want}");
        }
        let shrunk = lasso(&design, &y, 0.2);
        assert!(shrunk.coefficients[0] < 2.0 && shrunk.coefficients[0] > 1.0);
        // The weakest coefficient is the first to be set to zero.
        let sparse = lasso(&design, &y, 0.1);
        assert_eq!(sparse.coefficients[2], 0.0, "{sparse:?}");
    }

    #[test]
    fn lasso_stops_where_scikit_learn_does() {
        // The problems of tests/fixtures/make_lasso_fixture.py, and scikit-learn's fits.
        let fixture = include_str!("../../tests/fixtures/lasso_sklearn.txt");
        let mut lines = fixture.lines().filter(|l| !l.starts_with('#'));
        let mut problems = 0;
        while let Some(header) = lines.next() {
            let fields: Vec<&str> = header.split_whitespace().collect();
            let (rows, cols): (usize, usize) =
                (fields[1].parse().unwrap(), fields[2].parse().unwrap());
            let alpha: f64 = fields[3].parse().unwrap();
            let mut next = || -> f64 { lines.next().unwrap().parse().unwrap() };
            let intercept = next();
            let coefficients: Vec<f64> = (0..cols).map(|_| next()).collect();
            let mut x = Vec::with_capacity(rows * cols);
            for r in 0..rows {
                for j in 0..cols {
                    let (r, j) = (r as f64, j as f64);
                    x.push(f64::from(u8::from(
                        (1.3 * r + 0.7 * j + 0.1 * r * j).sin() > 0.0,
                    )));
                }
            }
            let y: Vec<f64> = (0..rows)
                .map(|r| {
                    (0..cols)
                        .map(|j| x[r * cols + j] * (0.3 * j as f64).sin())
                        .sum::<f64>()
                        + 0.1 * (r as f64).cos()
                })
                .collect();
            let weights: Vec<f64> = (0..rows)
                .map(|r| 0.5 + (0.9 * r as f64).cos().powi(2))
                .collect();
            let design = Design {
                x: &x,
                columns: cols,
                weights: &weights,
            };
            let fit = lasso(&design, &y, alpha);
            assert!(
                (fit.intercept - intercept).abs() < 1e-9,
                "{} vs {intercept}",
                fit.intercept
            );
            for (got, want) in fit.coefficients.iter().zip(&coefficients) {
                assert!((got - want).abs() < 1e-9, "{rows}×{cols}: {got} vs {want}");
            }
            problems += 1;
        }
        assert_eq!(problems, 2);
    }
}
