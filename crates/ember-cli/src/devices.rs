//! `ember devices`: the backends this build has and the GPU adapters wgpu finds here.

use std::io::Write;

use clap::Args;
use ember::backend::{Adapter, Backend, adapters};
use serde::Serialize;

/// Lists the backends of this build and every GPU adapter wgpu finds on this machine.
#[derive(Args, Debug)]
pub struct DevicesArgs {
    /// Print JSON (`backends`, `adapters`, `wgpu_default`) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Do not open `--device wgpu` to say which adapter it picks (listing opens nothing).
    #[arg(long)]
    pub no_open: bool,
}

/// What `ember devices --json` prints.
#[derive(Serialize, Debug)]
pub struct Devices {
    /// Every backend `--device` names, and whether this build has it.
    pub backends: Vec<BackendRow>,
    /// Every adapter wgpu finds, on every graphics API.
    pub adapters: Vec<AdapterRow>,
    /// The adapter `--device wgpu` opens (wgpu's automatic choice), unless `--no-open`.
    pub wgpu_default: Option<AdapterRow>,
    /// Why `--device wgpu` could not open, if it could not.
    pub wgpu_error: Option<String>,
}

/// One backend of `--device`.
#[derive(Serialize, Debug)]
pub struct BackendRow {
    /// Its `--device` name.
    pub name: &'static str,
    /// Whether this build includes it.
    pub compiled: bool,
}

/// One adapter, as JSON.
#[derive(Serialize, Debug)]
pub struct AdapterRow {
    /// `vulkan`, `metal`, `dx12` or `gl`.
    pub api: &'static str,
    /// The adapter's name.
    pub name: String,
    /// The PCI vendor id, as hex (`0x10de`).
    pub vendor: String,
    /// `discrete-gpu`, `integrated-gpu`, `virtual-gpu`, `cpu` or `other`.
    pub device_type: &'static str,
    /// The driver and its version.
    pub driver: String,
    /// The driver's version string.
    pub driver_info: String,
    /// Whether `--dtype f64` can run on it.
    pub f64: bool,
    /// The largest buffer, in bytes.
    pub max_buffer_size: u64,
    /// The largest storage binding, in bytes.
    pub max_storage_buffer_binding_size: u64,
    /// The `--device` that pins this graphics API (`vulkan`, `gl`), if any.
    pub device: Option<&'static str>,
}

impl From<Adapter> for AdapterRow {
    fn from(a: Adapter) -> Self {
        Self {
            api: a.api,
            name: a.name,
            vendor: format!("{:#06x}", a.vendor),
            device_type: a.device_type,
            driver: a.driver,
            driver_info: a.driver_info,
            f64: a.f64,
            max_buffer_size: a.max_buffer_size,
            max_storage_buffer_binding_size: a.max_storage_buffer_binding_size,
            device: a.pinned.map(Backend::name),
        }
    }
}

/// Finds the backends and adapters (opening `--device wgpu` unless `no_open`).
pub fn find(no_open: bool) -> Devices {
    let backends = Backend::EVERY
        .into_iter()
        .map(|b| BackendRow {
            name: b.name(),
            compiled: b.is_compiled(),
        })
        .collect();
    let adapters = adapters().into_iter().map(AdapterRow::from).collect();
    let (wgpu_default, wgpu_error) = if no_open || !Backend::Wgpu.is_compiled() {
        (None, None)
    } else {
        match Backend::Wgpu.adapter() {
            Ok(a) => (Some(a.into()), None),
            Err(e) => (None, Some(e.to_string())),
        }
    };
    Devices {
        backends,
        adapters,
        wgpu_default,
        wgpu_error,
    }
}

/// Runs `ember devices`.
pub fn run(args: &DevicesArgs) -> Result<(), String> {
    let devices = find(args.no_open);
    let text = if args.json {
        serde_json::to_string_pretty(&devices).map_err(|e| e.to_string())? + "\n"
    } else {
        text(&devices)
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(())
}

fn text(d: &Devices) -> String {
    let mut out = String::from("backends of this build:");
    for b in &d.backends {
        if b.compiled {
            out.push_str(&format!(" {}", b.name));
        }
    }
    out.push('\n');
    if !Backend::Wgpu.is_compiled() {
        out.push_str("wgpu adapters: none listed (this build lacks the `wgpu` feature)\n");
        return out;
    }
    if d.adapters.is_empty() {
        out.push_str(
            "wgpu adapters: none found (on Linux, `apt-get install mesa-vulkan-drivers` gives \
             lavapipe; a GPU needs its Vulkan driver and the loader libvulkan.so.1)\n",
        );
    }
    for a in &d.adapters {
        out.push_str(&format!(
            "{:<7} {} ({}, vendor {}; driver {} {}; f64: {}){}\n",
            a.api,
            a.name,
            a.device_type,
            a.vendor,
            a.driver,
            a.driver_info,
            if a.f64 { "yes" } else { "no" },
            a.device
                .map(|d| format!(" --device {d}"))
                .unwrap_or_default()
        ));
    }
    match (&d.wgpu_default, &d.wgpu_error) {
        (Some(a), _) => out.push_str(&format!("--device wgpu opens: {} ({})\n", a.name, a.api)),
        (None, Some(e)) => out.push_str(&format!("--device wgpu cannot open: {e}\n")),
        (None, None) => {}
    }
    out
}
