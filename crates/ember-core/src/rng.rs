//! A small seeded random number generator, identical on every platform and backend.
//!
//! Methods that draw noise (uniform baselines, SmoothGrad) draw it on the host with this
//! generator, so a seed gives the same numbers on flex, ndarray and wgpu.

/// SplitMix64 (Steele, Lea and Flood 2014): a small, well-mixed, seedable generator.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator started from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform draw from `[0, 1)`, with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A standard normal draw, by Marsaglia and Tsang's ziggurat (2000) with 256 layers: cheaper
    /// than Box–Muller (no logarithm or trigonometry on most draws), which matters when
    /// SmoothGrad draws one number per input element per noisy copy (its cost:
    /// `docs/benchmarks.md`).
    pub fn next_normal(&mut self) -> f64 {
        let t = ziggurat();
        loop {
            let bits = self.next_u64();
            // The low 8 bits pick a layer; the top 53 bits, disjoint from them, give
            // u ∈ [−1, 1).
            let i = (bits & 0xff) as usize;
            let u = (bits >> 11) as f64 * (2.0 / (1u64 << 53) as f64) - 1.0;
            let x = u * t.x[i];
            if x.abs() < t.x[i + 1] {
                return x;
            }
            if i == 0 {
                return self.normal_tail(u < 0.0);
            }
            let y = t.f[i + 1] + (t.f[i] - t.f[i + 1]) * self.next_f64();
            if y < (-0.5 * x * x).exp() {
                return x;
            }
        }
    }

    /// A draw from the normal tail beyond `ZIGGURAT_R` (Marsaglia 1964), with the given sign.
    fn normal_tail(&mut self, negative: bool) -> f64 {
        loop {
            let x = (1.0 - self.next_f64()).ln() / ZIGGURAT_R; // ≤ 0
            let y = (1.0 - self.next_f64()).ln();
            if -2.0 * y >= x * x {
                return if negative {
                    x - ZIGGURAT_R
                } else {
                    ZIGGURAT_R - x
                };
            }
        }
    }

    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next_u64() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

/// The start of the ziggurat's tail, for 256 layers of equal area `ZIGGURAT_V`.
const ZIGGURAT_R: f64 = 3.654_152_885_361_009;
/// The area of each layer of the ziggurat.
const ZIGGURAT_V: f64 = 0.004_928_673_233_99;

/// The ziggurat's layer edges `x[0] > x[1] = R > … > x[256] = 0` and `f(x) = exp(−x²/2)` at
/// each.
struct Ziggurat {
    x: [f64; 257],
    f: [f64; 257],
}

fn ziggurat() -> &'static Ziggurat {
    static TABLES: std::sync::OnceLock<Ziggurat> = std::sync::OnceLock::new();
    TABLES.get_or_init(|| {
        let pdf = |x: f64| (-0.5 * x * x).exp();
        let mut x = [0.0; 257];
        x[0] = ZIGGURAT_V / pdf(ZIGGURAT_R);
        x[1] = ZIGGURAT_R;
        for i in 1..256 {
            x[i + 1] = (-2.0 * (ZIGGURAT_V / x[i] + pdf(x[i])).ln()).sqrt();
        }
        x[256] = 0.0;
        Ziggurat { x, f: x.map(pdf) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_draws_lie_in_the_unit_interval_and_average_a_half() {
        let mut rng = SplitMix64::new(7);
        let draws: Vec<f64> = (0..10_000).map(|_| rng.next_f64()).collect();
        assert!(draws.iter().all(|&u| (0.0..1.0).contains(&u)));
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        assert!((mean - 0.5).abs() < 0.01, "mean {mean}");
    }

    #[test]
    fn normal_draws_have_unit_variance() {
        let mut rng = SplitMix64::new(3);
        let draws: Vec<f64> = (0..20_000).map(|_| rng.next_normal()).collect();
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        let var = draws.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / draws.len() as f64;
        assert!(
            mean.abs() < 0.03 && (var - 1.0).abs() < 0.05,
            "{mean} {var}"
        );
    }

    #[test]
    fn normal_draws_have_the_normal_tails_and_kurtosis() {
        // n draws: a fraction p beyond a bound has standard error sqrt(p (1 − p) / n), the
        // kurtosis sqrt(24 / n). Five standard errors each.
        let n = 1_000_000;
        let mut rng = SplitMix64::new(11);
        let draws: Vec<f64> = (0..n).map(|_| rng.next_normal()).collect();
        let nf = n as f64;
        let beyond = |b: f64| draws.iter().filter(|z| z.abs() > b).count() as f64 / nf;
        // P(|Z| > 1) = 0.317311, P(|Z| > 2) = 0.045500, P(|Z| > R) = 0.000258 (the tail).
        for (bound, p) in [
            (1.0, 0.317_310_5),
            (2.0, 0.045_500_26),
            (ZIGGURAT_R, 0.000_258_0),
        ] {
            let se = (p * (1.0 - p) / nf).sqrt();
            let got = beyond(bound);
            assert!(
                (got - p).abs() < 5.0 * se,
                "P(|Z| > {bound}) = {got}, expected {p}"
            );
        }
        let kurtosis = draws.iter().map(|z| z.powi(4)).sum::<f64>() / nf;
        assert!(
            (kurtosis - 3.0).abs() < 5.0 * (24.0 / nf).sqrt(),
            "{kurtosis}"
        );
        let positive = draws.iter().filter(|&&z| z > 0.0).count() as f64 / nf;
        assert!(
            (positive - 0.5).abs() < 5.0 * (0.25 / nf).sqrt(),
            "{positive}"
        );
    }

    #[test]
    fn ziggurat_layers_match_the_published_table() {
        // Marsaglia and Tsang's 256-layer table (as in rand_distr's ZIG_NORM_X).
        let t = ziggurat();
        assert!((t.x[0] - 3.910_757_959_537_09).abs() < 1e-12);
        assert!((t.x[255] - 0.215_241_895_984_875).abs() < 1e-10);
        assert!(t.x.windows(2).all(|w| w[0] > w[1]));
    }

    #[test]
    fn a_seed_gives_the_same_stream() {
        let a: Vec<u64> = (0..3)
            .scan(SplitMix64::new(9), |r, _| Some(r.next_u64()))
            .collect();
        let b: Vec<u64> = (0..3)
            .scan(SplitMix64::new(9), |r, _| Some(r.next_u64()))
            .collect();
        assert_eq!(a, b);
    }
}
