//! `cargo xtask package`: packages every published crate of the workspace as `cargo publish`
//! would, without uploading, prints each `.crate`'s size and fails if one is over crates.io's
//! limit.
//!
//! The crates are packaged in one `cargo package -p …` call, so that cargo (1.90 and later)
//! resolves the unpublished siblings (`ember-xai-core` under `ember-xai-methods`, …) from a
//! local registry of the packages it just made and can verify each one: unpack it and build it
//! on its own, as crates.io's users will (`--no-verify` skips that build). Verification builds
//! in `target/package/` with the packaged manifests' default profile (Burn unoptimised) and
//! each crate's default features, so it compiles Burn again, once per feature set.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

/// crates.io refuses uploads over 10 MiB; this check is stricter: 10 MB.
pub const MAX_BYTES: u64 = 10_000_000;

/// A package `cargo publish` would upload.
struct Package {
    name: String,
    version: String,
}

/// The published packages (`publish` not `false`) and the target directory, from
/// `cargo metadata`.
fn workspace() -> Result<(Vec<Package>, PathBuf), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(&cargo)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .map_err(|e| format!("cannot run {cargo}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let meta: Value = serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())?;
    let target = meta["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .ok_or("cargo metadata gave no target_directory")?;
    let packages = meta["packages"]
        .as_array()
        .into_iter()
        .flatten()
        // `publish = false` is `[]` (no registry); absent is `null` (any registry).
        .filter(|p| p["publish"].as_array().is_none_or(|r| !r.is_empty()))
        .map(|p| Package {
            name: p["name"].as_str().unwrap_or_default().to_string(),
            version: p["version"].as_str().unwrap_or_default().to_string(),
        })
        .collect();
    Ok((packages, target))
}

/// Packages (and unless `no_verify`, verifies) every published crate, then checks the sizes.
pub fn run(no_verify: bool) -> Result<(), String> {
    let (packages, target) = workspace()?;
    if packages.is_empty() {
        return Err("no published package in the workspace".into());
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut args = vec!["package".to_string(), "--allow-dirty".to_string()];
    if no_verify {
        args.push("--no-verify".into());
    }
    for p in &packages {
        args.extend(["-p".to_string(), p.name.clone()]);
    }
    eprintln!("\n==> cargo {}", args.join(" "));
    let started = std::time::Instant::now();
    let status = Command::new(&cargo)
        .args(&args)
        .status()
        .map_err(|e| format!("cannot run {cargo}: {e}"))?;
    if !status.success() {
        return Err(format!("cargo package failed ({status})"));
    }
    eprintln!(
        "==> packaged{} in {:.0} s",
        if no_verify { "" } else { " and verified" },
        started.elapsed().as_secs_f64()
    );

    let mut too_big = Vec::new();
    eprintln!("\n{:<24} {:>12}", "package", ".crate size");
    for p in &packages {
        let file = target
            .join("package")
            .join(format!("{}-{}.crate", p.name, p.version));
        let bytes = std::fs::metadata(&file)
            .map_err(|e| format!("{}: {e}", file.display()))?
            .len();
        eprintln!(
            "{:<24} {:>9.1} KiB{}",
            p.name,
            bytes as f64 / 1024.0,
            if bytes > MAX_BYTES {
                "  OVER 10 MB"
            } else {
                ""
            }
        );
        if bytes > MAX_BYTES {
            too_big.push(p.name.clone());
        }
    }
    if too_big.is_empty() {
        eprintln!("==> every .crate is under 10 MB (crates.io's limit: 10 MiB)");
        Ok(())
    } else {
        Err(format!(
            "over crates.io's size limit (10 MB here): {}",
            too_big.join(", ")
        ))
    }
}
