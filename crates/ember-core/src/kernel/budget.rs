//! Rows per pass: from a memory budget for a pass's input rows and the size of one row,
//! capped per device class.

use burn::tensor::{Device, FloatDType};
use burn_backend::DeviceOps;
use burn_dispatch::DispatchDeviceId;

/// The class of a device, which sets the default rows per pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceClass {
    /// A CPU backend (Flex, ndarray, LibTorch on the CPU).
    Cpu,
    /// A GPU runtime (wgpu, Vulkan, Metal, CUDA, ROCm: Burn's CubeCL backends; lavapipe, a
    /// Vulkan driver on the CPU, is one of them), or LibTorch on a GPU (CUDA, MPS, Vulkan).
    Gpu,
}

impl DeviceClass {
    /// The class of `device` (autodiff or plain), from the type of its Burn backend.
    pub fn of(device: &Device) -> Self {
        // Burn encodes the dispatch backend in the upper 8 bits of a device's type id
        // (`DispatchDevice::to_id`); `DispatchDeviceId` names those values.
        let type_id = device.as_dispatch().id().type_id;
        match DispatchDeviceId::try_from(type_id >> 8) {
            Ok(DispatchDeviceId::Cube) => DeviceClass::Gpu,
            // LibTorch numbers its devices CUDA 0, MPS 1, CPU 2, Vulkan 3 (`LibTorchDevice::to_id`).
            Ok(DispatchDeviceId::LibTorch) if type_id & 0xff != LIBTORCH_CPU => DeviceClass::Gpu,
            _ => DeviceClass::Cpu,
        }
    }

    /// The most rows per pass on this class, whatever the budget allows.
    pub fn max_rows(self) -> usize {
        match self {
            DeviceClass::Cpu => CPU_MAX_ROWS,
            DeviceClass::Gpu => GPU_MAX_ROWS,
        }
    }

    /// The default memory budget for one pass's input rows, in bytes.
    pub fn budget(self) -> usize {
        match self {
            DeviceClass::Cpu => CPU_BUDGET,
            DeviceClass::Gpu => GPU_BUDGET,
        }
    }
}

/// LibTorch's own type id of its CPU device, in the low 8 bits of a dispatch device's type id.
const LIBTORCH_CPU: u16 = 2;

/// The most rows per pass on CPU backends (flex, ndarray).
///
/// Chosen with `ember bench`'s rows-per-pass sweep on a 2-core CPU, where blocks of about 128
/// rows kept a small model's activations in cache (the figures, and the model they do not hold
/// for, are in `docs/benchmarks.md`).
pub const CPU_MAX_ROWS: usize = 128;

/// The most rows per pass on GPU backends: large enough to fill a GPU with a small model.
pub const GPU_MAX_ROWS: usize = 2048;

/// The default budget for the input rows of one pass on CPU backends: 16 MiB, 27 rows of a
/// `[3, 224, 224]` f32 image. A network's activations kept for the backward pass take many
/// times its input (tens of MB per 224×224 image for a small ImageNet CNN), so the budget is
/// set on the input, the one size ember knows.
pub const CPU_BUDGET: usize = 16 << 20;

/// The default budget for the input rows of one pass on GPU backends: 64 MiB, 111 rows of a
/// `[3, 224, 224]` f32 image (not measured on a GPU yet).
pub const GPU_BUDGET: usize = 64 << 20;

/// The bytes of one float of `device`'s precision.
pub fn float_bytes(device: &Device) -> usize {
    match device.settings().float_dtype {
        FloatDType::F64 => 8,
        FloatDType::F16 | FloatDType::BF16 => 2,
        _ => 4,
    }
}

/// The rows of `features` floats that fit `budget` bytes on `device`, at least 1.
pub fn rows_within(device: &Device, features: usize, budget: usize) -> usize {
    let row = features.max(1) * float_bytes(device);
    (budget / row).max(1)
}

/// The default rows per pass for rows of `features` values on `device`: as many as fit the
/// device class's budget ([`CPU_BUDGET`], [`GPU_BUDGET`]), at most its cap ([`CPU_MAX_ROWS`],
/// [`GPU_MAX_ROWS`]).
pub fn default_rows(device: &Device, features: usize) -> usize {
    let class = DeviceClass::of(device);
    rows_within(device, features, class.budget()).min(class.max_rows())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flex_is_a_cpu_with_or_without_autodiff() {
        let device = Device::flex();
        assert_eq!(DeviceClass::of(&device), DeviceClass::Cpu);
        assert_eq!(DeviceClass::of(&device.autodiff()), DeviceClass::Cpu);
    }

    #[test]
    fn small_rows_hit_the_cap_and_images_the_budget() {
        let device = Device::flex();
        assert_eq!(default_rows(&device, 64), CPU_MAX_ROWS);
        // [3, 224, 224] f32: 602 112 bytes a row, 27 rows in 16 MiB.
        let image = 3 * 224 * 224;
        let rows = default_rows(&device, image);
        assert_eq!(rows, 27);
        assert!(rows * image * 4 <= CPU_BUDGET && (rows + 1) * image * 4 > CPU_BUDGET);
        // A row larger than the budget still gets one row per pass.
        assert_eq!(rows_within(&device, 1 << 30, CPU_BUDGET), 1);
    }
}
