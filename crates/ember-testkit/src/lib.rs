//! ember's test harness for integration tests that run one body per backend.
//!
//! A test binary built with `harness = false` lists its bodies with [`backend_main!`]: each
//! body `fn name(device: &Device)` runs as `flex::name`, `ndarray::name`, `wgpu::name` and
//! `tch::name`, so a failure names its backend. A backend that cannot run here (its feature is
//! not compiled, or wgpu finds no adapter) shows its tests as **ignored**, never as passed, with
//! a note on stderr saying why; with `EMBER_REQUIRE_WGPU=1` (set by CI) a wgpu test that cannot
//! run fails instead, and with `EMBER_REQUIRE_TCH=1` (set by `cargo xtask tch`) a LibTorch
//! test. An adapter that runs but lacks what a suite needs (f64 shaders on OpenGL, see
//! [`lacks`]) shows its tests as ignored, required or not. Output and flags are libtest's (`cargo test -- flex::`, `--list`,
//! `--exact`), through `libtest-mimic`.
//!
//! A backend is opened only when one of its tests is selected, once per process.

mod data;

pub use data::{host, max_abs_diff, tensor, values};

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;

use burn::tensor::Device;
use libtest_mimic::{Arguments, Failed, Trial};

/// The environment variable that turns a wgpu backend that cannot run into failed tests.
pub const REQUIRE_WGPU: &str = "EMBER_REQUIRE_WGPU";

/// The environment variable that turns a LibTorch backend that cannot run (the `tch` feature
/// off, or PyTorch missing) into failed tests. `cargo xtask tch` sets it.
pub const REQUIRE_TCH: &str = "EMBER_REQUIRE_TCH";

/// The environment variable that turns a missing file a suite needs (pretrained weights) into
/// failed tests instead of ignored ones. CI sets it.
pub const REQUIRE_FILES: &str = "EMBER_REQUIRE_WEIGHTS";

/// The environment variable that pins the `wgpu` tests to one graphics API: `vulkan` or `gl`;
/// unset or `auto` lets wgpu choose. `.ci/run` pins Vulkan (lavapipe), and `cargo xtask ci`
/// runs the wgpu tests once more on every other graphics API the machine offers.
pub const WGPU_API: &str = "EMBER_WGPU_API";

/// How an opener's reason starts when the backend runs here but lacks a capability the suite
/// needs (f64 shaders on OpenGL): such tests show as ignored even where the backend is required,
/// since nothing on the machine can make them run. Make the reason with [`lacks`].
pub const LACKS: &str = "the adapter lacks ";

/// The reason for a missing capability: `lacks("f64 shaders")`.
pub fn lacks(what: &str) -> String {
    format!("{LACKS}{what}")
}

/// Whether a required backend that cannot run, for `reason`, fails its tests: yes, unless the
/// reason is a missing capability ([`lacks`]).
fn fails_when_required(reason: &str) -> bool {
    !reason.starts_with(LACKS)
}

/// The backends every body runs on, by the name that prefixes its tests.
pub const BACKENDS: [&str; 4] = ["flex", "ndarray", "wgpu", "tch"];

/// A test body that takes the backend's device.
pub type Body = Arc<dyn Fn(&Device) + Send + Sync>;

/// Opens a backend by name: `Ok(device)`, or `Err(why it cannot run here)`.
pub type Opener = fn(&str) -> Result<Device, String>;

/// A test binary's tests: bodies per backend and plain tests.
#[derive(Default)]
pub struct Suite {
    backend: Vec<(&'static str, Body)>,
    plain: Vec<(&'static str, fn())>,
    plain_needing: Vec<(&'static str, fn())>,
    needs: Vec<(&'static str, &'static str)>,
}

impl Suite {
    /// An empty suite.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a body that runs once per backend.
    pub fn backend(mut self, name: &'static str, body: fn(&Device)) -> Self {
        self.backend.push((name, Arc::new(body)));
        self
    }

    /// Adds a test that runs once, on no particular backend.
    pub fn plain(mut self, name: &'static str, body: fn()) -> Self {
        self.plain.push((name, body));
        self
    }

    /// Adds a test that runs once, on no particular backend, and needs the files of
    /// [`needs`](Self::needs) like the backend bodies.
    pub fn plain_needing(mut self, name: &'static str, body: fn()) -> Self {
        self.plain_needing.push((name, body));
        self
    }

    /// Makes the backend bodies (and the [`plain_needing`](Self::plain_needing) tests) need the file or folder named by the environment variable
    /// `var` (`what` says what it is and how to get it). Where it is unset or names nothing,
    /// they show as ignored, with a note; with `EMBER_REQUIRE_WEIGHTS=1` they fail instead.
    /// Plain tests run regardless.
    pub fn needs(mut self, var: &'static str, what: &'static str) -> Self {
        self.needs.push((var, what));
        self
    }

    /// Why the backend bodies cannot run here: a needed file that is missing.
    fn missing(&self) -> Option<String> {
        self.needs
            .iter()
            .find_map(|&(var, what)| match std::env::var_os(var) {
                None => Some(format!("{var} is not set ({what})")),
                Some(path) if !std::path::Path::new(&path).exists() => Some(format!(
                    "{var}={} does not exist ({what})",
                    std::path::Path::new(&path).display()
                )),
                Some(_) => None,
            })
    }

    /// Parses libtest's arguments, opens the backends that selected tests need with `open`,
    /// and runs the tests.
    pub fn run(self, open: Opener) -> ExitCode {
        let args = Arguments::from_args();
        let mut opened: HashMap<&str, Result<Device, String>> = HashMap::new();
        let mut trials = Vec::new();
        let missing = self.missing();
        if let Some(reason) = &missing {
            note(&if files_required() {
                format!("{REQUIRE_FILES} is set, so these tests fail: {reason}")
            } else {
                format!("IGNORED: {reason} (set {REQUIRE_FILES}=1 to make that a failure)")
            });
        }
        for backend in BACKENDS {
            for (name, body) in &self.backend {
                let full = format!("{backend}::{name}");
                if let Some(reason) = missing.clone() {
                    let trial = Trial::test(full, move || Err(Failed::from(reason.clone())));
                    trials.push(trial.with_ignored_flag(!files_required()));
                    continue;
                }
                if !selected(&args, &full) {
                    // Filtered out: listed without opening anything. Should the filter reach
                    // it after all, it opens its backend when it runs, never passes untried.
                    let body = Arc::clone(body);
                    trials.push(Trial::test(full, move || {
                        body(&open_guarded(open, backend)?);
                        Ok(())
                    }));
                    continue;
                }
                let device = opened.entry(backend).or_insert_with(|| {
                    let result = open_guarded(open, backend);
                    match &result {
                        Ok(device) if backend != "flex" && backend != "ndarray" => {
                            note(&format!("{backend} tests run on {device:?}"))
                        }
                        Ok(_) => {}
                        Err(reason) => match required_by(backend) {
                            Some(var) if is_set(var) && !fails_when_required(reason) => {
                                note(&format!("IGNORED on {backend}, required or not: {reason}"))
                            }
                            Some(var) if is_set(var) => note(&format!(
                                "{backend} cannot run, and {var} is set: {reason}"
                            )),
                            Some(var) => note(&format!(
                                "IGNORED on {backend}: {reason} (set {var}=1 to make that a failure)"
                            )),
                            None => note(&format!("IGNORED on {backend}: {reason}")),
                        },
                    }
                    result
                });
                trials.push(match device.clone() {
                    Ok(device) => {
                        let body = Arc::clone(body);
                        let serial = on_opengl(&device);
                        Trial::test(full, move || {
                            // wgpu's OpenGL backend panics when a thread waits more than a
                            // second for the GL context ("Could not lock adapter context"),
                            // which a slow software GL under load makes happen: one OpenGL
                            // body at a time.
                            let _turn = serial.then(|| {
                                OPENGL
                                    .lock()
                                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                            });
                            body(&device);
                            Ok(())
                        })
                    }
                    Err(reason)
                        if required_by(backend).is_some_and(is_set)
                            && fails_when_required(&reason) =>
                    {
                        let var = required_by(backend).unwrap_or_default();
                        Trial::test(full, move || {
                            Err(Failed::from(format!(
                                "{var} is set but {backend} cannot run: {reason}"
                            )))
                        })
                    }
                    // Run anyway (`--include-ignored`), it fails with the reason: never a pass.
                    Err(reason) => Trial::test(full, move || {
                        Err(Failed::from(format!("{backend} cannot run here: {reason}")))
                    })
                    .with_ignored_flag(true),
                });
            }
        }
        for (name, body) in self.plain_needing {
            trials.push(match missing.clone() {
                Some(reason) => Trial::test(name, move || Err(Failed::from(reason.clone())))
                    .with_ignored_flag(!files_required()),
                None => Trial::test(name, move || {
                    body();
                    Ok(())
                }),
            });
        }
        for (name, body) in self.plain {
            trials.push(Trial::test(name, move || {
                body();
                Ok(())
            }));
        }
        libtest_mimic::run(&args, trials).exit_code()
    }
}

/// Whether `EMBER_REQUIRE_WGPU` asks for wgpu to run.
pub fn required() -> bool {
    is_set(REQUIRE_WGPU)
}

/// The variable that makes `backend` required, if any: wgpu and tch can be missing.
fn required_by(backend: &str) -> Option<&'static str> {
    match backend {
        "wgpu" => Some(REQUIRE_WGPU),
        "tch" => Some(REQUIRE_TCH),
        _ => None,
    }
}

/// Whether the environment variable `var` is set to something other than empty or `0`.
fn is_set(var: &str) -> bool {
    std::env::var(var).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Whether `EMBER_REQUIRE_WEIGHTS` asks for the files suites need to be there.
pub fn files_required() -> bool {
    is_set(REQUIRE_FILES)
}

/// The path in the environment variable `var`, for a body of a suite that [`Suite::needs`] it.
///
/// # Panics
///
/// If `var` is unset (the suite did not declare it).
pub fn path(var: &str) -> std::path::PathBuf {
    std::env::var_os(var)
        .unwrap_or_else(|| panic!("{var} is not set: declare it with Suite::needs"))
        .into()
}

/// The opener of the crates that test on Burn's devices directly (zoo, text, metrics):
/// `flex`, `ndarray`, `wgpu` (this crate's `wgpu` feature; on the graphics API of
/// [`WGPU_API`]) or `tch` (its `tch` feature: LibTorch on the CPU), each touched
/// once so that a missing adapter or PyTorch shows here, or why it cannot run.
pub fn open(name: &str) -> Result<Device, String> {
    match name {
        "flex" => Ok(Device::flex()),
        #[allow(deprecated)] // Burn 0.22 deprecates ndarray; ember keeps testing it
        "ndarray" => Ok(Device::ndarray()),
        "wgpu" => open_wgpu(),
        "tch" => open_tch(),
        other => Err(format!("unknown backend {other}")),
    }
}

#[cfg(feature = "wgpu")]
fn open_wgpu() -> Result<Device, String> {
    use burn::tensor::wgpu::WgpuBackend;
    let api = match std::env::var(WGPU_API).as_deref() {
        Ok("vulkan") => WgpuBackend::Vulkan,
        Ok("gl") => WgpuBackend::Gl,
        Ok("auto" | "") | Err(_) => WgpuBackend::Auto,
        Ok(other) => return Err(format!("{WGPU_API}={other}: expected vulkan, gl or auto")),
    };
    let device = Device::wgpu_options()
        .graphics_api(api)
        .init()
        .map_err(|e| format!("no usable adapter: {e}"))?;
    touch(&device)?;
    Ok(device)
}

#[cfg(not(feature = "wgpu"))]
fn open_wgpu() -> Result<Device, String> {
    Err("this build lacks the crate's `wgpu` feature".into())
}

#[cfg(feature = "tch")]
fn open_tch() -> Result<Device, String> {
    #[allow(deprecated)] // Burn 0.22 deprecates LibTorch; ember keeps it as an optional backend
    let device = Device::libtorch();
    touch(&device)?;
    Ok(device)
}

#[cfg(not(feature = "tch"))]
fn open_tch() -> Result<Device, String> {
    Err("this build lacks the crate's `tch` feature".into())
}

/// One small computation read back, so that a backend that cannot run fails here.
#[cfg(any(feature = "wgpu", feature = "tch"))]
fn touch(device: &Device) -> Result<(), String> {
    let probe = burn::tensor::Tensor::<1>::from_floats([1.0, 2.0], device).sum();
    probe
        .try_into_data()
        .map(|_| ())
        .map_err(|e| format!("{e:?}"))
}

/// Held by the body that runs on wgpu's OpenGL backend, so that one runs at a time.
static OPENGL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Whether `device` is wgpu on OpenGL (Burn's `Debug` names the graphics API).
fn on_opengl(device: &Device) -> bool {
    format!("{device:?}").contains("backend: Gl")
}

/// Opens a backend, turning a panic of the backend into the reason it cannot run.
fn open_guarded(open: Opener, backend: &str) -> Result<Device, String> {
    std::panic::catch_unwind(|| open(backend)).unwrap_or_else(|panic| Err(panic_message(&*panic)))
}

/// The message of a caught panic (its `String` or `&str` payload).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "a panic without a message".into())
}

/// Whether the test `name` is selected to run: libtest-mimic's own filter, and not `--list`.
fn selected(args: &Arguments, name: &str) -> bool {
    !args.list && !args.is_filtered_out(&Trial::test(name, || Ok(())))
}

/// Writes to stderr, which the harness does not capture, so that a note shows.
pub fn note(message: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "note: {message}");
}

/// The `main` of a test binary: `backend_main!(open; body, ...; plain: test, ...)` runs every
/// body on every backend opened by `open` (an [`Opener`]) and every plain test once.
#[macro_export]
macro_rules! backend_main {
    ($open:expr; $($name:ident),* $(,)?) => {
        $crate::backend_main!($open; $($name),*; plain:);
    };
    ($open:expr; $($name:ident),* $(,)?; plain: $($plain:ident),* $(,)?) => {
        fn main() -> std::process::ExitCode {
            $crate::Suite::new()
                $(.backend(stringify!($name), $name))*
                $(.plain(stringify!($plain), $plain))*
                .run($open)
        }
    };
}
