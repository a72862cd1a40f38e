//! Records the versions a comparison reports (`ember_metrics::compare::Versions`): Burn's (from
//! the workspace's Cargo.lock; `unknown` outside the workspace) and the compiler's.

use std::process::Command;

fn main() {
    let lock = concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.lock");
    println!("cargo:rerun-if-changed={lock}");
    let burn = std::fs::read_to_string(lock)
        .ok()
        .and_then(|text| {
            let start = text.find("\nname = \"burn\"\n")?;
            let rest = &text[start..];
            let line = rest.lines().find(|l| l.starts_with("version = "))?;
            Some(
                line.trim_start_matches("version = ")
                    .trim_matches('"')
                    .to_string(),
            )
        })
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=EMBER_BURN_VERSION={burn}");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=EMBER_RUSTC_VERSION={version}");
}
