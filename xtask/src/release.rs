//! The optimised build that `cargo xtask bench` and `--vs-captum` time: the release profile,
//! the features the measured devices need and no more, the binaries located by cargo itself.
//!
//! Generic Burn code is compiled at the opt-level of the crate that instantiates it, so in the
//! dev profile the zoo's models (instantiated in ember-zoo and ember-cli, opt-level 1) run far
//! slower than a user's release build does: benchmarks time the release profile.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

/// The cargo profile of every benchmark build, named in the generated tables.
pub const PROFILE: &str = "release";

/// What the generated text says produced the tables.
pub fn profile_note(command: &str) -> String {
    format!(
        "the `{PROFILE}` profile (`{command}`: opt-level 3 for ember and its dependencies, no \
         debug assertions)"
    )
}

/// A target to build: a binary or an example of one package, with its features.
pub struct Target<'a> {
    /// The package (`-p`).
    pub package: &'a str,
    /// `bin` or `example`.
    pub kind: &'a str,
    /// The target's name.
    pub name: &'a str,
    /// `--features`, with `--no-default-features` (empty: none).
    pub features: String,
}

impl Target<'_> {
    /// The cargo arguments after `build`.
    fn args(&self) -> Vec<String> {
        let mut args = vec![
            "--profile".to_string(),
            PROFILE.to_string(),
            "-p".to_string(),
            self.package.to_string(),
            format!("--{}", self.kind),
            self.name.to_string(),
            "--no-default-features".to_string(),
        ];
        if !self.features.is_empty() {
            args.extend(["--features".to_string(), self.features.clone()]);
        }
        args
    }

    /// The command line, for the log and the generated text.
    pub fn command(&self) -> String {
        format!("cargo build {}", self.args().join(" "))
    }
}

/// ember-cli's features for `devices` (`flex`, `ndarray`, `wgpu`/`vulkan`, `tch`/`tch-cuda`):
/// always the two CPU backends, so that `bench` and `--vs-captum` share one build, and the
/// features of the other devices named.
pub fn cli_features(devices: &[String]) -> String {
    let mut features: Vec<&str> = vec!["flex", "ndarray"];
    for device in devices {
        let feature = match device.as_str() {
            "vulkan" => "wgpu",
            d if d.starts_with("tch") => "tch",
            d => d,
        };
        if !features.contains(&feature) {
            features.push(feature);
        }
    }
    features.join(",")
}

/// Builds `target` in the release profile (with `env`, e.g. LibTorch's) and returns the path
/// of its executable as cargo reports it, so that `CARGO_TARGET_DIR` and `build.target-dir`
/// are respected.
pub fn build(target: &Target<'_>, env: &[(String, String)]) -> Result<PathBuf, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("==> {}", target.command());
    let out = Command::new(&cargo)
        .arg("build")
        .args(target.args())
        .arg("--message-format=json-render-diagnostics")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run {cargo}: {e}"))?;
    if !out.status.success() {
        return Err(format!("`{}` failed", target.command()));
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == target.name)
        .filter(|m| {
            m["target"]["kind"]
                .as_array()
                .is_some_and(|kinds| kinds.iter().any(|k| k == target.kind))
        })
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .ok_or_else(|| {
            format!(
                "`{}` reported no executable for {}",
                target.command(),
                target.name
            )
        })
}

/// The 1-minute load average now (`/proc/loadavg`), for the generated text.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_follow_the_devices() {
        let devices = |d: &[&str]| d.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(cli_features(&devices(&["flex", "ndarray"])), "flex,ndarray");
        assert_eq!(cli_features(&devices(&["flex"])), "flex,ndarray");
        assert_eq!(
            cli_features(&devices(&["flex", "vulkan", "wgpu", "tch-cuda", "tch"])),
            "flex,ndarray,wgpu,tch"
        );
    }

    #[test]
    fn the_command_names_the_profile() {
        let target = Target {
            package: "ember-xai-cli",
            kind: "bin",
            name: "ember",
            features: "flex".into(),
        };
        assert_eq!(
            target.command(),
            "cargo build --profile release -p ember-xai-cli --bin ember --no-default-features \
             --features flex"
        );
    }
}
