//! Choosing a Burn device by name and precision, with clear errors for backends this build
//! lacks or this machine cannot open.

use std::fmt;
use std::str::FromStr;

use burn::tensor::{Device, FloatDType};
use ember_core::{Error, Result};

/// The Burn backends ember is built and tested with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// Burn's Flex CPU backend (feature `flex`, on by default).
    Flex,
    /// Burn's ndarray CPU backend (feature `ndarray`).
    Ndarray,
    /// Burn's wgpu backend on the default adapter and the graphics API wgpu picks
    /// (feature `wgpu`).
    Wgpu,
    /// Burn's wgpu backend pinned to the Vulkan graphics API (feature `wgpu`).
    ///
    /// Use it to insist on Vulkan: on a Linux machine without a GPU, `Wgpu` may settle on
    /// OpenGL (llvmpipe) rather than Vulkan (lavapipe), since wgpu types lavapipe as a CPU.
    Vulkan,
    /// Burn's wgpu backend pinned to OpenGL (feature `wgpu`): what wgpu's automatic choice
    /// settles on where a machine has Mesa's OpenGL and no Vulkan driver. OpenGL has no f64.
    Gl,
    /// Burn's LibTorch backend on the CPU: PyTorch's own kernels (feature `tch`, built against
    /// an installed PyTorch 2.9.0; see the book's backends page).
    ///
    /// Burn 0.22 deprecates its LibTorch backend. ember keeps it behind this variant and
    /// [`device`](Self::device) alone, so that dropping it touches nothing else.
    Tch,
    /// Burn's LibTorch backend on the first CUDA GPU (feature `tch`, a CUDA build of PyTorch).
    TchCuda,
}

/// The floating-point precision of a device's tensors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Precision {
    /// 32-bit floats (Burn's default).
    #[default]
    F32,
    /// 64-bit floats.
    F64,
}

impl Backend {
    /// The backends ember tests on: the two CPU backends and wgpu.
    pub const ALL: [Backend; 3] = [Backend::Flex, Backend::Ndarray, Backend::Wgpu];

    /// Every backend `--device` names, whether or not this build includes it.
    pub const EVERY: [Backend; 7] = [
        Backend::Flex,
        Backend::Ndarray,
        Backend::Wgpu,
        Backend::Vulkan,
        Backend::Gl,
        Backend::Tch,
        Backend::TchCuda,
    ];

    /// The backend's name as used on command lines: `flex`, `ndarray`, `wgpu`, `vulkan`, `gl`,
    /// `tch` or `tch-cuda`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Flex => "flex",
            Backend::Ndarray => "ndarray",
            Backend::Wgpu => "wgpu",
            Backend::Vulkan => "vulkan",
            Backend::Gl => "gl",
            Backend::Tch => "tch",
            Backend::TchCuda => "tch-cuda",
        }
    }

    /// Whether this build includes the backend (its Cargo feature is on).
    pub fn is_compiled(self) -> bool {
        match self {
            Backend::Flex => cfg!(feature = "flex"),
            Backend::Ndarray => cfg!(feature = "ndarray"),
            Backend::Wgpu => cfg!(feature = "wgpu"),
            Backend::Vulkan | Backend::Gl => cfg!(feature = "wgpu"),
            Backend::Tch | Backend::TchCuda => cfg!(feature = "tch"),
        }
    }

    /// The backend's default device, in its current precision (f32 unless configured, see
    /// [`device_with`](Self::device_with)).
    ///
    /// wgpu devices are opened (the adapter acquired) on the first call and shared after.
    ///
    /// # Errors
    ///
    /// [`Error::BackendUnavailable`] if this build lacks the backend's feature (the message
    /// says how to build with it), or, for wgpu, if no adapter can be acquired.
    pub fn device(self) -> Result<Device> {
        match self {
            #[cfg(feature = "flex")]
            Backend::Flex => Ok(Device::flex()),
            // Burn 0.22 deprecates ndarray in favour of Flex; ember keeps it for users who
            // depend on it, and tests it like the others.
            #[cfg(feature = "ndarray")]
            #[allow(deprecated)]
            Backend::Ndarray => Ok(Device::ndarray()),
            #[cfg(feature = "wgpu")]
            Backend::Wgpu | Backend::Vulkan | Backend::Gl => wgpu::open(self),
            #[cfg(feature = "tch")]
            Backend::Tch | Backend::TchCuda => tch::open(self, None),
            #[allow(unreachable_patterns)]
            other => {
                let feature = match other {
                    Backend::Vulkan | Backend::Gl => "wgpu",
                    Backend::TchCuda => "tch",
                    _ => other.name(),
                };
                Err(Error::BackendUnavailable {
                    backend: other.name().into(),
                    reason: format!(
                        "this build of ember does not include it; rebuild with the cargo feature \
                         `{feature}` (e.g. `cargo run --features {feature} ...`)"
                    ),
                })
            }
        }
    }

    /// The backend's default device, configured for `precision`.
    ///
    /// The precision of a device is fixed the first time a tensor is created on it, so call
    /// this before creating any tensor on that device.
    ///
    /// # Errors
    ///
    /// - [`Error::BackendUnavailable`] as for [`device`](Self::device), or if the device's
    ///   precision was already fixed to another one;
    /// - [`Error::UnsupportedDType`] if the device lacks the precision (Metal and OpenGL have no
    ///   f64).
    pub fn device_with(self, precision: Precision) -> Result<Device> {
        // LibTorch's device is touched when opened, which fixes its precision: set it first.
        #[cfg(feature = "tch")]
        if matches!(self, Backend::Tch | Backend::TchCuda) {
            return tch::open(self, Some(precision));
        }
        let mut device = self.device()?;
        configure_precision(&mut device, precision)?;
        Ok(device)
    }
}

#[cfg(feature = "wgpu")]
mod wgpu;

impl Backend {
    /// The GPU adapter this backend's device runs on (opening the device if needed): its name,
    /// driver, graphics API and f64 support. For the wgpu backends only.
    ///
    /// # Errors
    ///
    /// [`Error::BackendUnavailable`] as for [`device`](Self::device), or for a backend that is
    /// not wgpu.
    pub fn adapter(self) -> Result<Adapter> {
        match self {
            #[cfg(feature = "wgpu")]
            Backend::Wgpu | Backend::Vulkan | Backend::Gl => wgpu::adapter(self),
            other => {
                other.device()?;
                Err(Error::BackendUnavailable {
                    backend: other.name().into(),
                    reason: "it runs on no wgpu adapter (adapters are wgpu's)".into(),
                })
            }
        }
    }
}

/// A GPU adapter wgpu finds on this machine (see [`adapters`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adapter {
    /// The graphics API: `vulkan`, `metal`, `dx12`, `gl` (or `webgpu`).
    pub api: &'static str,
    /// The adapter's name, e.g. `NVIDIA H200` or `llvmpipe (LLVM 15.0.6, 256 bits)`.
    pub name: String,
    /// The PCI vendor id (0x10de NVIDIA, 0x1002 AMD, 0x8086 Intel; Mesa's software
    /// rasterisers report their own or 0).
    pub vendor: u32,
    /// `discrete-gpu`, `integrated-gpu`, `virtual-gpu`, `cpu` (a software rasteriser such as
    /// lavapipe) or `other` (wgpu types OpenGL's llvmpipe so).
    pub device_type: &'static str,
    /// The driver's name, e.g. `NVIDIA` or `llvmpipe`.
    pub driver: String,
    /// The driver's version string.
    pub driver_info: String,
    /// Whether the adapter runs f64 shaders (`--dtype f64`); OpenGL and Metal do not.
    pub f64: bool,
    /// The largest buffer the adapter allows, in bytes.
    pub max_buffer_size: u64,
    /// The largest storage binding, in bytes: the largest tensor one kernel reads.
    pub max_storage_buffer_binding_size: u64,
    /// The backend that pins this graphics API ([`Backend::Vulkan`], [`Backend::Gl`]), if
    /// ember has one; the others are reached through [`Backend::Wgpu`]'s automatic choice.
    pub pinned: Option<Backend>,
}

/// Every GPU adapter wgpu finds on this machine, on every graphics API of this build (empty
/// without the `wgpu` feature, or with no adapter). Listing opens no device.
pub fn adapters() -> Vec<Adapter> {
    #[cfg(feature = "wgpu")]
    {
        wgpu::adapters()
    }
    #[cfg(not(feature = "wgpu"))]
    {
        Vec::new()
    }
}

/// The LibTorch boundary: the only code that names Burn's deprecated `tch` backend.
#[cfg(feature = "tch")]
mod tch {
    use burn::tensor::{Device, Tensor};
    use ember_core::{Error, Result};

    use super::{Backend, Precision, configure_precision};

    /// Opens LibTorch's CPU or first CUDA device, sets its precision if asked (before any
    /// tensor exists on it), and touches it, so that a CPU-only PyTorch asked for CUDA is an
    /// error here rather than a panic inside the first kernel.
    pub(super) fn open(backend: Backend, precision: Option<Precision>) -> Result<Device> {
        #[allow(deprecated)] // Burn 0.22 deprecates LibTorch; this module is its one boundary
        let mut device = match backend {
            Backend::TchCuda => Device::libtorch_cuda(0),
            _ => Device::libtorch(),
        };
        if let Some(precision) = precision {
            configure_precision(&mut device, precision)?;
        }
        let probe = std::panic::catch_unwind(|| {
            Tensor::<1>::from_floats([1.0, 2.0], &device)
                .sum()
                .try_into_data()
                .map(|_| ())
                .map_err(|e| format!("{e:?}"))
        });
        match probe {
            Ok(Ok(())) => Ok(device),
            Ok(Err(reason)) => Err(unavailable(backend, reason)),
            Err(panic) => {
                let reason = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "LibTorch panicked".into());
                Err(unavailable(backend, reason))
            }
        }
    }

    fn unavailable(backend: Backend, reason: String) -> Error {
        Error::BackendUnavailable {
            backend: backend.name().into(),
            reason: format!(
                "{reason} (tch-cuda needs a CUDA build of PyTorch 2.9.0 and an NVIDIA GPU)"
            ),
        }
    }
}

/// Sets the default float precision of `device`; a no-op when it already has it.
///
/// # Errors
///
/// - [`Error::UnsupportedDType`] if the device lacks the precision;
/// - [`Error::BackendUnavailable`] if the device was already used with another precision.
pub fn configure_precision(device: &mut Device, precision: Precision) -> Result<()> {
    let (dtype, name) = match precision {
        Precision::F32 => (FloatDType::F32, "f32"),
        Precision::F64 => (FloatDType::F64, "f64"),
    };
    if device.settings().float_dtype == dtype {
        return Ok(());
    }
    if !device.supports_dtype(dtype) {
        return Err(Error::UnsupportedDType {
            device: format!("{device:?}"),
            dtype: name,
        });
    }
    device.configure(dtype).map_err(|e| Error::BackendUnavailable {
        backend: format!("{device:?}"),
        reason: format!(
            "cannot switch it to {name}: {e:?} (a device's precision is fixed by its first tensor)"
        ),
    })
}

/// Checks that `device` computes `exp`, `tanh` and `x·x` correctly in its current precision,
/// to a relative error of 1e-5 in f32 and 1e-12 in f64.
///
/// Burn 0.22.1 on wgpu returns wrong f64 `exp` and `tanh` (see the book's backends page): a
/// model with softmax, sigmoid, tanh or GELU then gives wrong outputs, silently. Call this once
/// after choosing f64 on a GPU device to turn that into an error.
///
/// # Errors
///
/// - [`Error::InaccurateDType`] naming the first wrong result;
/// - [`Error::Backend`] if the backend fails.
pub fn check_precision(device: &Device) -> Result<()> {
    use burn::tensor::Tensor;
    let f64_dtype = device.settings().float_dtype == FloatDType::F64;
    let (name, tolerance) = if f64_dtype {
        ("f64", 1e-12)
    } else {
        ("f32", 1e-5)
    };
    let inputs = [0.3, -1.2, 2.5];
    let x = Tensor::<1>::from_data(burn::tensor::TensorData::from(inputs), device);
    type Op = (&'static str, fn(Tensor<1>) -> Tensor<1>, fn(f64) -> f64);
    let ops: [Op; 3] = [
        ("exp", |t| t.exp(), f64::exp),
        ("tanh", |t| t.tanh(), f64::tanh),
        ("x*x", |t| t.clone() * t, |v| v * v),
    ];
    for (op, on_device, on_host) in ops {
        let got = ember_core::validate::read_f64(on_device(x.clone()))?;
        for (&input, &value) in inputs.iter().zip(&got) {
            let expected = on_host(input);
            if (value - expected).abs() > tolerance * expected.abs().max(1.0) {
                return Err(Error::InaccurateDType {
                    device: format!("{device:?}"),
                    dtype: name,
                    detail: format!("{op}({input}) = {value:e}, expected {expected:e}"),
                });
            }
        }
    }
    Ok(())
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Backend {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "flex" => Ok(Backend::Flex),
            "ndarray" => Ok(Backend::Ndarray),
            "wgpu" => Ok(Backend::Wgpu),
            "vulkan" => Ok(Backend::Vulkan),
            "gl" | "opengl" => Ok(Backend::Gl),
            "tch" => Ok(Backend::Tch),
            "tch-cuda" => Ok(Backend::TchCuda),
            _ => Err(Error::InvalidConfig {
                name: "device",
                value: format!("`{s}`"),
                expected: "one of flex, ndarray, wgpu, vulkan, gl, tch, tch-cuda",
            }),
        }
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Precision::F32 => "f32",
            Precision::F64 => "f64",
        })
    }
}

impl FromStr for Precision {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "f32" => Ok(Precision::F32),
            "f64" => Ok(Precision::F64),
            _ => Err(Error::InvalidConfig {
                name: "dtype",
                value: format!("`{s}`"),
                expected: "f32 or f64",
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for backend in Backend::EVERY {
            assert_eq!(backend.name().parse::<Backend>().unwrap(), backend);
        }
        assert!(matches!(
            "cuda".parse::<Backend>(),
            Err(Error::InvalidConfig { name: "device", .. })
        ));
        assert_eq!("F64".parse::<Precision>().unwrap(), Precision::F64);
    }

    #[test]
    #[cfg(feature = "flex")]
    fn flex_computes_f32_math_correctly() {
        check_precision(&Device::flex()).unwrap();
    }

    #[test]
    fn a_backend_missing_from_the_build_says_how_to_get_it() {
        for backend in [
            Backend::Flex,
            Backend::Ndarray,
            Backend::Wgpu,
            Backend::Vulkan,
            Backend::Gl,
            Backend::Tch,
        ] {
            match backend.device() {
                Ok(_) => assert!(backend.is_compiled()),
                Err(Error::BackendUnavailable { reason, .. }) if !backend.is_compiled() => {
                    assert!(reason.contains("--features"), "{reason}");
                }
                // Compiled in, but this machine has no adapter for it: the reason says how to
                // get one, not how to build.
                Err(Error::BackendUnavailable { reason, .. }) => {
                    assert!(
                        matches!(backend, Backend::Wgpu | Backend::Vulkan | Backend::Gl),
                        "{reason}"
                    );
                    assert!(reason.contains("mesa-vulkan-drivers"), "{reason}");
                }
                Err(other) => panic!("unexpected error {other}"),
            }
        }
    }
}
