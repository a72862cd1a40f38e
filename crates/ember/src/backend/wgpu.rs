//! wgpu: opening a device on one graphics API, once per process, and listing the adapters
//! this machine offers (the only code of the crate that names wgpu's own types).

use std::sync::OnceLock;

use burn::tensor::Device;
use burn::tensor::wgpu::{WgpuBackend, wgpu};
use ember_core::{Error, Result};

use super::{Adapter, Backend};

/// A device opened on one graphics API, with the adapter it runs on, or why it cannot open.
type Opened = std::result::Result<(Device, Adapter), String>;

/// The cell and Burn's graphics API of `backend`.
fn cell(backend: Backend) -> (&'static OnceLock<Opened>, WgpuBackend) {
    static AUTO: OnceLock<Opened> = OnceLock::new();
    static VULKAN: OnceLock<Opened> = OnceLock::new();
    static GL: OnceLock<Opened> = OnceLock::new();
    match backend {
        Backend::Vulkan => (&VULKAN, WgpuBackend::Vulkan),
        Backend::Gl => (&GL, WgpuBackend::Gl),
        _ => (&AUTO, WgpuBackend::Auto),
    }
}

/// Opens the default adapter on the backend's graphics API, once per process: Burn's wgpu
/// runtime can be initialised only once per selector, and reports a missing adapter as an
/// error here rather than as a panic inside the first kernel.
fn opened(backend: Backend) -> &'static Opened {
    let (cell, api) = cell(backend);
    cell.get_or_init(|| {
        let attempt = std::panic::catch_unwind(|| {
            Device::wgpu_options()
                .graphics_api(api)
                .init_with_setup()
                .map(|(device, setup)| (device, describe(&setup.adapter)))
                .map_err(|e| format!("no usable adapter: {e}"))
        });
        attempt.unwrap_or_else(|_| Err("wgpu panicked while acquiring an adapter".into()))
    })
}

/// The device of a wgpu backend (`Wgpu`, `Vulkan` or `Gl`).
pub(super) fn open(backend: Backend) -> Result<Device> {
    opened(backend)
        .clone()
        .map(|(device, _)| device)
        .map_err(|reason| unavailable(backend, reason))
}

/// The adapter the device of a wgpu backend runs on (opening it if needed).
pub(super) fn adapter(backend: Backend) -> Result<Adapter> {
    opened(backend)
        .clone()
        .map(|(_, adapter)| adapter)
        .map_err(|reason| unavailable(backend, reason))
}

fn unavailable(backend: Backend, reason: String) -> Error {
    Error::BackendUnavailable {
        backend: backend.name().into(),
        reason: format!(
            "{reason} (on Linux without a GPU, `apt-get install mesa-vulkan-drivers` provides \
             lavapipe; `ember devices` lists the adapters this machine offers)"
        ),
    }
}

/// Every adapter wgpu finds on this machine, on every graphics API it was built with.
pub(super) fn adapters() -> Vec<Adapter> {
    let listed = std::panic::catch_unwind(|| {
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        block_on(instance.enumerate_adapters(wgpu::Backends::all()))
            .iter()
            .map(describe)
            .collect()
    });
    listed.unwrap_or_default()
}

/// What ember reports of a wgpu adapter.
fn describe(adapter: &wgpu::Adapter) -> Adapter {
    let info = adapter.get_info();
    let limits = adapter.limits();
    let api = match info.backend {
        wgpu::Backend::Vulkan => "vulkan",
        wgpu::Backend::Metal => "metal",
        wgpu::Backend::Dx12 => "dx12",
        wgpu::Backend::Gl => "gl",
        wgpu::Backend::BrowserWebGpu => "webgpu",
        wgpu::Backend::Noop => "noop",
    };
    let device_type = match info.device_type {
        wgpu::DeviceType::DiscreteGpu => "discrete-gpu",
        wgpu::DeviceType::IntegratedGpu => "integrated-gpu",
        wgpu::DeviceType::VirtualGpu => "virtual-gpu",
        wgpu::DeviceType::Cpu => "cpu",
        wgpu::DeviceType::Other => "other",
    };
    let pinned = match info.backend {
        wgpu::Backend::Vulkan => Some(Backend::Vulkan),
        wgpu::Backend::Gl => Some(Backend::Gl),
        _ => None,
    };
    Adapter {
        api,
        name: info.name,
        vendor: info.vendor,
        device_type,
        driver: info.driver,
        driver_info: info.driver_info,
        f64: adapter.features().contains(wgpu::Features::SHADER_F64),
        max_buffer_size: limits.max_buffer_size,
        max_storage_buffer_binding_size: limits.max_storage_buffer_binding_size,
        pinned,
    }
}

/// Runs a future to completion on this thread (wgpu's native futures are ready at once, or
/// after the driver answers; nothing else needs an executor here).
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};

    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut context = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        match future.as_mut().poll(&mut context) {
            Poll::Ready(output) => return output,
            Poll::Pending => std::thread::park(),
        }
    }
}
