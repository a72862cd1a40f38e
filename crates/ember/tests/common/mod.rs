//! Shared test support: the devices of every backend, test models with known weights, finite
//! differences and host reads.
//!
//! Each integration test binary is one process with one float precision: Burn fixes a device's
//! precision with its first tensor, so the f32 tests and the f64 tests live in separate files.

#![allow(dead_code)]

use std::sync::OnceLock;

use ember::backend::{Backend, Precision};
use ember::burn::tensor::module::conv2d;
use ember::burn::tensor::ops::ConvOptions;
use ember::burn::tensor::{Device, Tensor};

/// The environment variable that pins the `wgpu` tests to one graphics API: `vulkan` runs them
/// on `Backend::Vulkan` (CI sets it, so that a machine without a GPU tests lavapipe and not
/// OpenGL's llvmpipe), `gl` on `Backend::Gl`; unset or `auto` lets wgpu choose.
pub const WGPU_API: &str = "EMBER_WGPU_API";

/// The device of `backend` with `precision`, or `None` when the backend cannot run here (not
/// compiled, or no wgpu adapter). With `EMBER_REQUIRE_WGPU=1`, a wgpu backend that cannot run
/// panics instead, naming the reason.
pub fn device(backend: Backend, precision: Precision) -> Option<Device> {
    match opened(backend, precision) {
        Ok(device) => Some(device),
        Err(reason)
            if backend == Backend::Wgpu
                && ember_testkit::required()
                && !reason.starts_with(ember_testkit::LACKS) =>
        {
            panic!("EMBER_REQUIRE_WGPU is set but wgpu cannot run: {reason}")
        }
        Err(_) => None,
    }
}

/// `backend` with `precision`, opened once per process, or why it cannot run here.
fn opened(backend: Backend, precision: Precision) -> Result<Device, String> {
    type Opened = (Backend, Precision, Result<Device, String>);
    static CACHE: OnceLock<std::sync::Mutex<Vec<Opened>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, _, found)) = cache
        .iter()
        .find(|(b, p, _)| *b == backend && *p == precision)
    {
        return found.clone();
    }
    let found = open_device(backend, precision);
    cache.push((backend, precision, found.clone()));
    found
}

/// Opens `backend` with `precision` (`wgpu` on Vulkan when `EMBER_WGPU_API=vulkan`) and
/// touches it, so that a missing adapter shows here, not inside a test.
fn open_device(backend: Backend, precision: Precision) -> Result<Device, String> {
    let backend = match (backend, std::env::var(WGPU_API).as_deref()) {
        (Backend::Wgpu, Ok("vulkan")) => Backend::Vulkan,
        (Backend::Wgpu, Ok("gl")) => Backend::Gl,
        (Backend::Wgpu, Ok("auto") | Err(_)) => Backend::Wgpu,
        (Backend::Wgpu, Ok(other)) => {
            return Err(format!(
                "{WGPU_API}={other}: expected `vulkan`, `gl` or `auto`"
            ));
        }
        (other, _) => other,
    };
    let attempt = std::panic::catch_unwind(|| -> Result<Device, String> {
        let device = backend.device_with(precision).map_err(|e| e.to_string())?;
        let probe = Tensor::<1>::from_floats([1.0, 2.0], &device).sum();
        probe.try_into_data().map_err(|e| format!("{e:?}"))?;
        Ok(device)
    });
    let result = attempt.unwrap_or_else(|panic| Err(ember_testkit::panic_message(&*panic)));
    // An adapter without f64 shaders (OpenGL, Metal) runs, but not these tests: a missing
    // capability, shown as ignored even where wgpu is required.
    match result {
        Err(reason)
            if precision == Precision::F64
                && backend.adapter().is_ok_and(|adapter| !adapter.f64) =>
        {
            Err(ember_testkit::lacks(&format!("f64 shaders ({reason})")))
        }
        other => other,
    }
}

/// The opener of the test harness for one precision: `flex`, `ndarray` or `wgpu` by name.
pub fn open(name: &str, precision: Precision) -> Result<Device, String> {
    let backend = match name {
        "flex" => Backend::Flex,
        "ndarray" => Backend::Ndarray,
        "wgpu" => Backend::Wgpu,
        "tch" => Backend::Tch,
        other => return Err(format!("unknown backend {other}")),
    };
    opened(backend, precision)
}

/// Writes to the real stderr, past the test harness's output capture, so that a note shows.
pub fn note(message: &str) {
    ember_testkit::note(message);
}

/// The test binary's `main`: every body runs as `flex::name`, `ndarray::name` and
/// `wgpu::name` (a body is `fn name(device: &Device)`), and a backend that cannot run shows
/// its tests as ignored (see `ember_testkit`). Plain tests follow `plain:`.
#[macro_export]
macro_rules! backend_tests {
    ($precision:expr; $($name:ident),* $(,)? $(; plain: $($plain:ident),* $(,)?)?) => {
        fn open_backend(name: &str) -> Result<ember::burn::tensor::Device, String> {
            $crate::common::open(name, $precision)
        }
        ember_testkit::backend_main!(open_backend; $($name),*; plain: $($($plain),*)?);
    };
}

pub use ember_testkit::{host, max_abs_diff, tensor, values};

/// A multi-layer perceptron with fixed weights: 6 → 8 (ReLU) → 8 (ReLU or tanh) → 3.
#[derive(Clone, Debug)]
pub struct Mlp {
    w1: Tensor<2>,
    b1: Tensor<1>,
    w2: Tensor<2>,
    b2: Tensor<1>,
    w3: Tensor<2>,
    b3: Tensor<1>,
    smooth: bool,
}

impl Mlp {
    /// Input features.
    pub const INPUTS: usize = 6;
    /// Output classes.
    pub const CLASSES: usize = 3;

    /// The ReLU MLP on `device`, weights from seed 1.
    pub fn new(device: &Device) -> Self {
        let scaled = |seed, n, fan_in: usize| {
            values(seed, n)
                .into_iter()
                .map(|v| v * 1.5 / (fan_in as f64).sqrt())
                .collect::<Vec<_>>()
        };
        Self {
            w1: tensor(scaled(11, 6 * 8, 6), [6, 8], device),
            b1: tensor(scaled(12, 8, 6), [8], device),
            w2: tensor(scaled(13, 8 * 8, 8), [8, 8], device),
            b2: tensor(scaled(14, 8, 8), [8], device),
            w3: tensor(scaled(15, 8 * 3, 8), [8, 3], device),
            b3: tensor(scaled(16, 3, 8), [3], device),
            smooth: false,
        }
    }

    /// The same weights with tanh as the second activation, so the gradient is not piecewise
    /// constant.
    pub fn smooth(device: &Device) -> Self {
        Self {
            smooth: true,
            ..Self::new(device)
        }
    }

    /// `[n, 6] → [n, 3]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let h = (x.matmul(self.w1.clone()) + self.b1.clone().unsqueeze()).clamp_min(0.0);
        let h = h.matmul(self.w2.clone()) + self.b2.clone().unsqueeze();
        let h = if self.smooth {
            h.tanh()
        } else {
            h.clamp_min(0.0)
        };
        h.matmul(self.w3.clone()) + self.b3.clone().unsqueeze()
    }
}

/// A small CNN with fixed weights: [n, 1, 6, 6] → conv 3×3 (4 channels, padding 1) → ReLU →
/// conv 3×3 (4 channels, padding 1) → ReLU → flatten (144) → linear → 3 classes.
#[derive(Clone, Debug)]
pub struct Cnn {
    k1: Tensor<4>,
    c1: Tensor<1>,
    k2: Tensor<4>,
    c2: Tensor<1>,
    w: Tensor<2>,
    b: Tensor<1>,
}

impl Cnn {
    /// Input shape of one sample.
    pub const SAMPLE: [usize; 3] = [1, 6, 6];
    /// Output classes.
    pub const CLASSES: usize = 3;

    /// The CNN on `device`, weights from seed 2.
    pub fn new(device: &Device) -> Self {
        let scaled = |seed, n, fan_in: usize| {
            values(seed, n)
                .into_iter()
                .map(|v| v * 1.5 / (fan_in as f64).sqrt())
                .collect::<Vec<_>>()
        };
        Self {
            k1: tensor(scaled(21, 4 * 9, 9), [4, 1, 3, 3], device),
            c1: tensor(scaled(22, 4, 9), [4], device),
            k2: tensor(scaled(23, 4 * 4 * 9, 36), [4, 4, 3, 3], device),
            c2: tensor(scaled(24, 4, 36), [4], device),
            w: tensor(scaled(25, 144 * 3, 144), [144, 3], device),
            b: tensor(scaled(26, 3, 144), [3], device),
        }
    }

    /// `[n, 1, 6, 6] → [n, 3]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let options = || ConvOptions::new([1, 1], [1, 1], [1, 1], 1);
        let h = conv2d(x, self.k1.clone(), Some(self.c1.clone()), options()).clamp_min(0.0);
        let h = conv2d(h, self.k2.clone(), Some(self.c2.clone()), options()).clamp_min(0.0);
        let n = h.dims()[0];
        h.reshape([n, 144]).matmul(self.w.clone()) + self.b.clone().unsqueeze()
    }
}

/// Central finite differences of `F_target(x)` for every sample and feature, in one batched
/// forward on the plain device: `(F(x + h e_i) − F(x − h e_i)) / 2h`.
pub fn finite_differences<const D: usize>(
    model: &dyn Fn(Tensor<D>) -> Tensor<2>,
    input: &Tensor<D>,
    targets: &[usize],
    h: f64,
) -> Vec<f64> {
    let dims = input.dims();
    let n = dims[0];
    let features: usize = dims[1..].iter().product();
    let x = host(input);
    let mut rows = Vec::with_capacity(2 * n * features * features);
    for s in 0..n {
        let sample = &x[s * features..(s + 1) * features];
        for i in 0..features {
            for sign in [1.0, -1.0] {
                let mut point = sample.to_vec();
                point[i] += sign * h;
                rows.extend(point);
            }
        }
    }
    let mut shape = dims;
    shape[0] = 2 * n * features;
    let outputs = host(&model(tensor(rows, shape, &input.device())));
    let classes = outputs.len() / (2 * n * features);
    (0..n * features)
        .map(|k| {
            let target = targets[k / features];
            let plus = outputs[(2 * k) * classes + target];
            let minus = outputs[(2 * k + 1) * classes + target];
            (plus - minus) / (2.0 * h)
        })
        .collect()
}

/// The bytes of the fixture file `name` in `tests/fixtures`.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A fixture tensor's values and shape (F64 as f64, I64 cast to f64).
pub fn read(file: &safetensors::SafeTensors<'_>, name: &str) -> (Vec<f64>, Vec<usize>) {
    use safetensors::Dtype;
    let view = file.tensor(name).unwrap_or_else(|e| panic!("{name}: {e}"));
    let bytes = view.data();
    let values = match view.dtype() {
        Dtype::F64 => bytes
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
            .collect(),
        Dtype::I64 => bytes
            .chunks_exact(8)
            .map(|b| i64::from_le_bytes(b.try_into().unwrap()) as f64)
            .collect(),
        other => panic!("{name}: unexpected dtype {other:?}"),
    };
    (values, view.shape().to_vec())
}

/// A fixture tensor on `device`.
pub fn input<const D: usize>(
    file: &safetensors::SafeTensors<'_>,
    name: &str,
    device: &Device,
) -> Tensor<D> {
    let (values, shape) = read(file, name);
    tensor(values, shape.try_into().unwrap(), device)
}

/// The zoo's digits CNN with its shipped weights, in evaluation mode (the path methods'
/// fixtures were computed on it).
pub fn zoo_cnn(device: &Device) -> impl ember::Model<4> + use<> {
    let net = ember_zoo::shipped::cnn(device).unwrap();
    ember_zoo::whole(&net)
}

/// The integer fixture tensor `name` as class indices.
pub fn classes(file: &safetensors::SafeTensors<'_>, name: &str) -> Vec<usize> {
    read(file, name).0.iter().map(|&t| t as usize).collect()
}

/// Asserts `max |got − want| ≤ tolerance · max |want|`, naming `what`.
pub fn assert_close(got: &[f64], want: &[f64], tolerance: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let diff = max_abs_diff(got, want);
    assert!(
        diff <= tolerance * scale,
        "{what}: max |diff| {diff:e} > {tolerance:e} × {scale}"
    );
}
