//! Quadrature rules on [0, 1]: the integration points (alphas) and weights of path methods
//! such as Integrated Gradients.
//!
//! Every rule returns `n` points `α_k ∈ [0, 1]` and weights `w_k` with `Σ w_k f(α_k) ≈ ∫₀¹ f`.
//! All weights sum to 1, so a constant integrand is integrated exactly.
//!
//! | rule | points | exact for polynomials of degree | error |
//! |---|---|---|---|
//! | `RiemannLeft` | `k/n`, k = 0..n−1 | 0 | O(1/n) |
//! | `RiemannRight` | `(k+1)/n` | 0 | O(1/n) |
//! | `RiemannMiddle` | `(k+½)/n` | 1 | O(1/n²) |
//! | `RiemannTrapezoid` | `k/(n−1)`, k = 0..n−1 (n ≥ 2) | 1 | O(1/n²) |
//! | `GaussLegendre` | roots of the Legendre polynomial `P_n`, mapped to [0, 1] | 2n − 1 | exponential for smooth integrands |
//!
//! **Trapezoid, ember vs Captum.** ember's trapezoid uses the spacing `h = 1/(n−1)`, so its `n`
//! points run from 0 to 1 inclusive and its weights (`h/2, h, …, h, h/2`) sum to 1. Captum's
//! `riemann_trapezoid` uses the points `k/(n−1)` but weights built from `1/n`, which sum to
//! `(n−1)/n`: its integrals are biased low by a factor `(n−1)/n` (2% at 50 steps).

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// A quadrature rule on [0, 1].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Quadrature {
    /// Left Riemann sum: points `k/n`.
    RiemannLeft,
    /// Right Riemann sum: points `(k+1)/n`.
    RiemannRight,
    /// Midpoint rule: points `(k+½)/n`.
    RiemannMiddle,
    /// Trapezoid rule with spacing `1/(n−1)`: points `k/(n−1)`, end weights halved (n ≥ 2).
    RiemannTrapezoid,
    /// Gauss–Legendre: exact for polynomials of degree `2n − 1` (the default).
    #[default]
    GaussLegendre,
}

impl Quadrature {
    /// The rule's `n` points and weights on [0, 1], points in increasing order.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] if `n` is 0, or 1 for the trapezoid rule (which needs both
    /// ends).
    pub fn nodes(self, n: usize) -> Result<(Vec<f64>, Vec<f64>)> {
        if n == 0 {
            return Err(Error::InvalidConfig {
                name: "steps",
                value: "0".into(),
                expected: "at least 1 integration point",
            });
        }
        let uniform = |offset: f64| {
            let alphas = (0..n).map(|k| (k as f64 + offset) / n as f64).collect();
            (alphas, vec![1.0 / n as f64; n])
        };
        Ok(match self {
            Quadrature::RiemannLeft => uniform(0.0),
            Quadrature::RiemannRight => uniform(1.0),
            Quadrature::RiemannMiddle => uniform(0.5),
            Quadrature::RiemannTrapezoid => {
                if n < 2 {
                    return Err(Error::InvalidConfig {
                        name: "steps",
                        value: n.to_string(),
                        expected: "at least 2 points for the trapezoid rule",
                    });
                }
                let h = 1.0 / (n - 1) as f64;
                let alphas = (0..n).map(|k| k as f64 * h).collect();
                let mut weights = vec![h; n];
                weights[0] = h / 2.0;
                weights[n - 1] = h / 2.0;
                (alphas, weights)
            }
            Quadrature::GaussLegendre => gauss_legendre(n),
        })
    }

    /// The highest polynomial degree the rule with `n` points integrates exactly.
    pub fn exact_degree(self, n: usize) -> usize {
        match self {
            Quadrature::RiemannLeft | Quadrature::RiemannRight => 0,
            Quadrature::RiemannMiddle | Quadrature::RiemannTrapezoid => 1,
            Quadrature::GaussLegendre => 2 * n - 1,
        }
    }
}

/// Gauss–Legendre nodes and weights on [0, 1], by Newton's method on the three-term recurrence
/// of the Legendre polynomials, from Tricomi's initial guesses; symmetric by construction.
fn gauss_legendre(n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut alphas = vec![0.0; n];
    let mut weights = vec![0.0; n];
    let nf = n as f64;
    for i in 0..n.div_ceil(2) {
        // The i-th largest root of P_n on [-1, 1].
        let theta = std::f64::consts::PI * (i as f64 + 0.75) / (nf + 0.5);
        let mut x = (1.0 - (nf - 1.0) / (8.0 * nf * nf * nf)) * theta.cos();
        let mut derivative = 0.0;
        for _ in 0..100 {
            let (p, dp) = legendre(n, x);
            derivative = dp;
            let step = p / dp;
            x -= step;
            if step.abs() <= 1e-16 * x.abs().max(1.0) {
                let (_, dp) = legendre(n, x);
                derivative = dp;
                break;
            }
        }
        let w = 2.0 / ((1.0 - x * x) * derivative * derivative);
        // Map [-1, 1] → [0, 1]: α = (1 ± x)/2, weight w/2; store in increasing order.
        alphas[n - 1 - i] = (1.0 + x) / 2.0;
        alphas[i] = (1.0 - x) / 2.0;
        weights[n - 1 - i] = w / 2.0;
        weights[i] = w / 2.0;
    }
    (alphas, weights)
}

/// `P_n(x)` and `P_n'(x)` by the three-term recurrence.
fn legendre(n: usize, x: f64) -> (f64, f64) {
    let (mut p0, mut p1) = (1.0, x);
    for k in 2..=n {
        let k = k as f64;
        let p2 = ((2.0 * k - 1.0) * x * p1 - (k - 1.0) * p0) / k;
        p0 = p1;
        p1 = p2;
    }
    let p = if n == 0 { p0 } else { p1 };
    let dp = if n == 0 {
        0.0
    } else {
        n as f64 * (x * p1 - p0) / (x * x - 1.0)
    };
    (p, dp)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: [Quadrature; 5] = [
        Quadrature::RiemannLeft,
        Quadrature::RiemannRight,
        Quadrature::RiemannMiddle,
        Quadrature::RiemannTrapezoid,
        Quadrature::GaussLegendre,
    ];

    fn integrate(rule: Quadrature, n: usize, f: impl Fn(f64) -> f64) -> f64 {
        let (alphas, weights) = rule.nodes(n).unwrap();
        alphas.iter().zip(&weights).map(|(&a, &w)| w * f(a)).sum()
    }

    #[test]
    fn every_rule_has_n_sorted_points_in_the_unit_interval_and_weights_summing_to_one() {
        for rule in RULES {
            for n in [2, 3, 7, 50, 129] {
                let (alphas, weights) = rule.nodes(n).unwrap();
                assert_eq!((alphas.len(), weights.len()), (n, n));
                assert!(alphas.windows(2).all(|w| w[0] < w[1]), "{rule:?} {n}");
                assert!(alphas.iter().all(|a| (0.0..=1.0).contains(a)));
                assert!(weights.iter().all(|&w| w > 0.0));
                let sum: f64 = weights.iter().sum();
                assert!(
                    (sum - 1.0).abs() < 1e-14,
                    "{rule:?} n={n}: weights sum to {sum}"
                );
            }
        }
    }

    #[test]
    fn each_rule_is_exact_up_to_its_degree_and_not_beyond() {
        for rule in RULES {
            for n in [2, 3, 5, 8] {
                let degree = rule.exact_degree(n);
                for d in 0..=degree {
                    let got = integrate(rule, n, |x| x.powi(d as i32));
                    let exact = 1.0 / (d as f64 + 1.0);
                    assert!(
                        (got - exact).abs() < 1e-13,
                        "{rule:?} n={n} x^{d}: {got} vs {exact}"
                    );
                }
                // One degree more leaves a truncation error far above round-off (for
                // Gauss–Legendre at n = 8 it is (n!)⁴/((2n+1)((2n)!)²) ≈ 3.6e-10).
                let d = degree + 1;
                let got = integrate(rule, n, |x| x.powi(d as i32));
                assert!(
                    (got - 1.0 / (d as f64 + 1.0)).abs() > 1e-12,
                    "{rule:?} n={n} should not be exact for x^{d}"
                );
            }
        }
    }

    #[test]
    fn the_error_shrinks_at_each_rules_order() {
        // ∫₀¹ eˣ = e − 1. Doubling n divides the error by about 2^order.
        let exact = std::f64::consts::E - 1.0;
        let error = |rule, n| (integrate(rule, n, f64::exp) - exact).abs();
        for (rule, order) in [
            (Quadrature::RiemannLeft, 1.0),
            (Quadrature::RiemannRight, 1.0),
            (Quadrature::RiemannMiddle, 2.0),
        ] {
            let ratio = error(rule, 64) / error(rule, 128);
            assert!(
                (ratio - 2f64.powf(order)).abs() < 0.05 * 2f64.powf(order),
                "{rule:?}: {ratio}"
            );
        }
        // Trapezoid with n points has spacing 1/(n−1): compare n = 65 and 129.
        let ratio =
            error(Quadrature::RiemannTrapezoid, 65) / error(Quadrature::RiemannTrapezoid, 129);
        assert!((ratio - 4.0).abs() < 0.1, "trapezoid: {ratio}");
        // Gauss–Legendre converges exponentially: 8 points already reach round-off.
        assert!(error(Quadrature::GaussLegendre, 4) < 1e-7);
        assert!(error(Quadrature::GaussLegendre, 8) < 1e-14);
    }

    #[test]
    fn gauss_legendre_matches_the_tabulated_five_point_rule() {
        // On [-1, 1]: nodes 0, ±0.5384693101056831, ±0.9061798459386640;
        // weights 0.5688888888888889, 0.4786286704993665, 0.2369268850561891.
        let (alphas, weights) = Quadrature::GaussLegendre.nodes(5).unwrap();
        let nodes: Vec<f64> = alphas.iter().map(|a| 2.0 * a - 1.0).collect();
        let expected_nodes = [
            -0.906_179_845_938_664,
            -0.538_469_310_105_683_1,
            0.0,
            0.538_469_310_105_683_1,
            0.906_179_845_938_664,
        ];
        let expected_weights = [
            0.236_926_885_056_189_1,
            0.478_628_670_499_366_5,
            0.568_888_888_888_888_9,
            0.478_628_670_499_366_5,
            0.236_926_885_056_189_1,
        ];
        for k in 0..5 {
            assert!((nodes[k] - expected_nodes[k]).abs() < 1e-15, "node {k}");
            assert!(
                (2.0 * weights[k] - expected_weights[k]).abs() < 1e-15,
                "weight {k}"
            );
        }
    }

    #[test]
    fn gauss_legendre_stays_accurate_at_1024_points() {
        let n = 1024;
        let (alphas, weights) = Quadrature::GaussLegendre.nodes(n).unwrap();
        for k in 0..n {
            assert!(
                (alphas[k] + alphas[n - 1 - k] - 1.0).abs() < 1e-15,
                "symmetry {k}"
            );
            // The node's distance to the true root, by one more Newton step.
            let (p, dp) = legendre(n, 2.0 * alphas[k] - 1.0);
            assert!(
                (p / dp).abs() < 1e-15,
                "node {k} is {:e} off a root",
                p / dp
            );
        }
        assert!((weights.iter().sum::<f64>() - 1.0).abs() < 1e-13);
        for d in [1, 2, 101, 1000, 2047] {
            let got: f64 = alphas
                .iter()
                .zip(&weights)
                .map(|(a, w)| w * a.powi(d))
                .sum();
            let exact = 1.0 / (d as f64 + 1.0);
            assert!(
                ((got - exact) / exact).abs() < 1e-12,
                "x^{d}: {got} vs {exact}"
            );
        }
    }

    #[test]
    fn bad_point_counts_are_typed_errors() {
        for rule in RULES {
            assert!(matches!(
                rule.nodes(0),
                Err(Error::InvalidConfig { name: "steps", .. })
            ));
        }
        assert!(matches!(
            Quadrature::RiemannTrapezoid.nodes(1),
            Err(Error::InvalidConfig { name: "steps", .. })
        ));
        assert_eq!(
            Quadrature::GaussLegendre.nodes(1).unwrap(),
            (vec![0.5], vec![1.0])
        );
    }
}
