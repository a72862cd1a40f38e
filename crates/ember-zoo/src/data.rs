//! The embedded datasets, a deterministic stratified split, and standardisation.
//!
//! Sources (CC BY 4.0, UCI Machine Learning Repository, via scikit-learn's bundled copies):
//! UCI ML hand-written digits (Alpaydin and Kaynak, 1998) and Breast Cancer Wisconsin
//! (Diagnostic) (Wolberg, Street and Mangasarian, 1995). See `data/README.md`.

pub(crate) use ember_core::rng::SplitMix64;

const DIGITS_CSV: &str = include_str!("../data/digits.csv");
const BREAST_CANCER_CSV: &str = include_str!("../data/breast_cancer.csv");

/// A labelled dataset held in memory, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// The dataset's name, e.g. `"digits"`.
    pub name: &'static str,
    /// `len() × features()` values, sample after sample.
    pub inputs: Vec<f32>,
    /// One label per sample.
    pub labels: Vec<usize>,
    /// One name per feature (CSV column).
    pub feature_names: Vec<String>,
    /// One name per class.
    pub class_names: Vec<String>,
}

impl Dataset {
    /// The number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the dataset has no samples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The number of features per sample.
    pub fn features(&self) -> usize {
        self.feature_names.len()
    }

    /// The features of sample `i`.
    pub fn sample(&self, i: usize) -> &[f32] {
        let d = self.features();
        &self.inputs[i * d..(i + 1) * d]
    }

    /// The samples at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Dataset {
        Dataset {
            name: self.name,
            inputs: indices
                .iter()
                .flat_map(|&i| self.sample(i).iter().copied())
                .collect(),
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            feature_names: self.feature_names.clone(),
            class_names: self.class_names.clone(),
        }
    }

    /// A deterministic stratified split: each class contributes `round(test_fraction × its
    /// count)` samples to the test set, chosen by a seeded shuffle. Both parts keep the
    /// original sample order.
    pub fn stratified_split(&self, test_fraction: f64, seed: u64) -> Split {
        let mut rng = SplitMix64::new(seed);
        let classes = self.class_names.len();
        let mut test = Vec::new();
        for class in 0..classes {
            let mut members: Vec<usize> = (0..self.len())
                .filter(|&i| self.labels[i] == class)
                .collect();
            rng.shuffle(&mut members);
            let n_test = (members.len() as f64 * test_fraction).round() as usize;
            test.extend_from_slice(&members[..n_test]);
        }
        test.sort_unstable();
        let mut is_test = vec![false; self.len()];
        for &i in &test {
            is_test[i] = true;
        }
        let train: Vec<usize> = (0..self.len()).filter(|&i| !is_test[i]).collect();
        Split {
            train: self.select(&train),
            test: self.select(&test),
        }
    }
}

/// A train/test split.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    /// The training samples.
    pub train: Dataset,
    /// The test samples.
    pub test: Dataset,
}

/// The fraction of each class held out for testing.
pub const TEST_FRACTION: f64 = 0.25;
/// The seed of the zoo's split.
pub const SPLIT_SEED: u64 = 0;

/// The digits: 1797 images of 8×8 pixels, values scaled by 1/16 to [0, 1], labels 0..9.
pub fn digits() -> Dataset {
    let (inputs, labels, feature_names) = parse_csv(DIGITS_CSV);
    Dataset {
        name: "digits",
        inputs: inputs.into_iter().map(|v| v / 16.0).collect(),
        labels,
        feature_names,
        class_names: (0..10).map(|d| d.to_string()).collect(),
    }
}

/// Breast cancer Wisconsin: 569 samples × 30 raw (unstandardised) features; labels 0 =
/// malignant, 1 = benign.
pub fn breast_cancer_raw() -> Dataset {
    let (inputs, labels, feature_names) = parse_csv(BREAST_CANCER_CSV);
    Dataset {
        name: "breast_cancer",
        inputs,
        labels,
        feature_names,
        class_names: vec!["malignant".into(), "benign".into()],
    }
}

/// The digits, split with [`TEST_FRACTION`] and [`SPLIT_SEED`].
pub fn digits_split() -> Split {
    digits().stratified_split(TEST_FRACTION, SPLIT_SEED)
}

/// Breast cancer, split with [`TEST_FRACTION`] and [`SPLIT_SEED`], both parts standardised with
/// the training part's mean and standard deviation.
pub fn breast_cancer_split() -> (Split, Standardiser) {
    let mut split = breast_cancer_raw().stratified_split(TEST_FRACTION, SPLIT_SEED);
    let standardiser = Standardiser::fit(&split.train);
    standardiser.apply(&mut split.train);
    standardiser.apply(&mut split.test);
    (split, standardiser)
}

/// Per-feature standardisation `(x − mean) / std`.
#[derive(Debug, Clone, PartialEq)]
pub struct Standardiser {
    /// Per-feature mean.
    pub mean: Vec<f32>,
    /// Per-feature (population) standard deviation; 1 where a feature is constant.
    pub std: Vec<f32>,
}

impl Standardiser {
    /// Fits the mean and standard deviation of every feature of `data`.
    pub fn fit(data: &Dataset) -> Self {
        let d = data.features();
        let n = data.len() as f64;
        let mut mean = vec![0.0f64; d];
        let mut sq = vec![0.0f64; d];
        for i in 0..data.len() {
            for (j, &v) in data.sample(i).iter().enumerate() {
                mean[j] += v as f64 / n;
            }
        }
        for i in 0..data.len() {
            for (j, &v) in data.sample(i).iter().enumerate() {
                sq[j] += (v as f64 - mean[j]).powi(2) / n;
            }
        }
        Self {
            mean: mean.iter().map(|&m| m as f32).collect(),
            std: sq
                .iter()
                .map(|&s| if s > 0.0 { s.sqrt() as f32 } else { 1.0 })
                .collect(),
        }
    }

    /// Standardises `data` in place.
    pub fn apply(&self, data: &mut Dataset) {
        let d = data.features();
        for (k, v) in data.inputs.iter_mut().enumerate() {
            let j = k % d;
            *v = (*v - self.mean[j]) / self.std[j];
        }
    }
}

/// Parses an embedded CSV whose last column is `label`.
fn parse_csv(text: &str) -> (Vec<f32>, Vec<usize>, Vec<String>) {
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .expect("embedded CSV has a header")
        .split(',')
        .map(str::to_string)
        .collect();
    let features = header.len() - 1;
    let mut inputs = Vec::new();
    let mut labels = Vec::new();
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let mut fields = line.split(',');
        for _ in 0..features {
            let v = fields.next().expect("embedded CSV row has every column");
            inputs.push(
                v.trim()
                    .parse::<f32>()
                    .expect("embedded CSV value is a number"),
            );
        }
        let label = fields.next().expect("embedded CSV row has a label");
        labels.push(
            label
                .trim()
                .parse::<usize>()
                .expect("embedded label is an integer"),
        );
    }
    (inputs, labels, header[..features].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_have_the_documented_shape_and_range() {
        let d = digits();
        assert_eq!(d.len(), 1797);
        assert_eq!(d.features(), 64);
        assert!(d.inputs.iter().all(|&v| (0.0..=1.0).contains(&v)));
        assert!(d.inputs.contains(&1.0));
        assert!(d.labels.iter().all(|&l| l < 10));
    }

    #[test]
    fn breast_cancer_has_named_features_and_two_classes() {
        let b = breast_cancer_raw();
        assert_eq!((b.len(), b.features()), (569, 30));
        assert_eq!(b.feature_names[0], "mean_radius");
        assert_eq!(b.labels.iter().filter(|&&l| l == 0).count(), 212);
        assert_eq!(b.labels.iter().filter(|&&l| l == 1).count(), 357);
    }

    #[test]
    fn the_split_is_stratified_deterministic_and_disjoint() {
        let d = digits();
        let a = d.stratified_split(0.25, 7);
        let b = d.stratified_split(0.25, 7);
        let c = d.stratified_split(0.25, 8);
        assert_eq!(a, b);
        assert_ne!(a.test.labels, c.test.labels);
        assert_eq!(a.train.len() + a.test.len(), d.len());
        for class in 0..10 {
            let total = d.labels.iter().filter(|&&l| l == class).count();
            let test = a.test.labels.iter().filter(|&&l| l == class).count();
            assert_eq!(
                test,
                (total as f64 * 0.25).round() as usize,
                "class {class}"
            );
        }
    }

    #[test]
    fn standardised_training_features_have_zero_mean_and_unit_std() {
        let (split, _) = breast_cancer_split();
        let refit = Standardiser::fit(&split.train);
        assert!(
            refit.mean.iter().all(|m| m.abs() < 1e-4),
            "{:?}",
            refit.mean
        );
        assert!(
            refit.std.iter().all(|s| (s - 1.0).abs() < 1e-4),
            "{:?}",
            refit.std
        );
    }
}
