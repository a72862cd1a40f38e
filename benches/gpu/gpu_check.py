#!/usr/bin/env python3
"""ember's GPU check: what the machine has, whether ember is right on its GPU, and how fast.

Run by gpu-check.sh from a bundle made by `cargo xtask gpu-bundle DIR`: the folder holds a
release `ember` built with wgpu, EfficientNet-Lite0's weights, the four photos, the PyTorch
fixture of their logits, the wheels of Captum and of the reference EfficientNet, and the Vulkan
loader. Writes `report.json` (schema below, checked by `validate` before it is written) and
`summary.txt` into the output folder, with every command's log under `logs/`.

Steps, each under a timeout, all under one deadline:
  machine     nvidia-smi, the PyTorch and CUDA versions, the Vulkan loader and drivers
  devices     `ember devices --json`: the adapters wgpu sees; the device to check
  logits      EfficientNet-Lite0 on the four photos on the GPU and on the CPU (flex), against
              PyTorch's fixture (tolerance 1e-3, the zoo test's)
  parity      saliency and Integrated Gradients on one photo, GPU against CPU, f32 (and f64
              where the adapter has it; an f32 pair further apart than 1e-3 is judged against
              the CPU's f64 map instead: the GPU passes within 1e-3 of it or twice the CPU's
              own f32 error); ember's GPU IG against Captum's
  throughput  `ember bench` IG (Gauss-Legendre) photos per second at the default rows per pass
              and at tuned ones, with the peak GPU memory (nvidia-smi, sampled)
  captum      Captum's IG on the same photos and classes, on CUDA (on the CPU without a GPU)

    ./gpu-check.sh [OUT]             # or: python3 gpu_check.py --bundle DIR --out OUT
    ./gpu-check.sh OUT --quick       # small sizes: a smoke test (CI runs it on lavapipe)

Exit status 0 when every step that could run passed, 1 otherwise (the report says which).
Python 3.8+ standard library only; captum_check.py needs torch and numpy.
"""
import argparse
import ctypes
import ctypes.util
import glob
import json
import os
import platform
import shutil
import struct
import subprocess
import sys
import threading
import time
import zipfile

SCHEMA_VERSION = 1
PHOTO = "chelsea.png"
STATUSES = ("ok", "failed", "timeout", "skipped")
ICD_DIRS = (
    "/etc/vulkan/icd.d",
    "/usr/share/vulkan/icd.d",
    "/usr/local/share/vulkan/icd.d",
    "/usr/local/nvidia/share/vulkan/icd.d",
)


# ---------------------------------------------------------------------------------------------
# safetensors, read with the standard library only
# ---------------------------------------------------------------------------------------------

def read_safetensors(path):
    """{name: (shape, values as a list of floats/ints)} and the metadata of a safetensors file."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    codes = {"F32": "f", "F64": "d", "I64": "q", "U8": "B"}
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        code = codes.get(info["dtype"])
        if code is None:
            continue
        count = (end - start) // struct.calcsize(code)
        tensors[name] = (info["shape"], list(struct.unpack("<%d%s" % (count, code),
                                                           data[start:end])))
    return tensors, header.get("__metadata__", {})


def compare(got, expected):
    """max |got − expected|, max |expected|, and their ratio."""
    if len(got) != len(expected):
        return {"error": "lengths differ: %d vs %d" % (len(got), len(expected))}
    diff = max((abs(a - b) for a, b in zip(got, expected)), default=0.0)
    scale = max((abs(b) for b in expected), default=0.0)
    l2 = sum((a - b) ** 2 for a, b in zip(got, expected)) ** 0.5
    norm = sum(b * b for b in expected) ** 0.5
    # `relative` is the L2 error over the L2 norm: a ReLU6 clip that flips on a rounding
    # difference changes a few gradients locally, which the max error alone overstates.
    return {"max_abs_diff": diff, "max_abs": scale,
            "max_relative": diff / scale if scale > 0 else diff,
            "relative": l2 / norm if norm > 0 else l2}


# ---------------------------------------------------------------------------------------------
# running steps
# ---------------------------------------------------------------------------------------------

class MemorySampler:
    """Samples the GPU's used memory with nvidia-smi while a step runs (None without it)."""

    def __init__(self):
        self.values, self.proc, self.thread = [], None, None

    def __enter__(self):
        if shutil.which("nvidia-smi"):
            try:
                self.proc = subprocess.Popen(
                    ["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits",
                     "-lms", "100"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
                self.thread = threading.Thread(target=self._read, daemon=True)
                self.thread.start()
            except OSError:
                self.proc = None
        return self

    def _read(self):
        for line in self.proc.stdout:
            try:
                self.values.append(float(line.split(",")[0]))
            except ValueError:
                pass

    def __exit__(self, *exc):
        if self.proc:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def summary(self, idle):
        if not self.values:
            return None
        peak = max(self.values)
        return {"peak_used_mib": peak, "idle_used_mib": idle,
                "peak_above_idle_mib": None if idle is None else peak - idle,
                "samples": len(self.values)}


class Check:
    def __init__(self, args):
        self.args = args
        self.bundle = os.path.abspath(args.bundle)
        self.out = os.path.abspath(args.out)
        self.work = os.path.join(self.out, "work")
        self.logs = os.path.join(self.out, "logs")
        for d in (self.out, self.work, self.logs):
            os.makedirs(d, exist_ok=True)
        self.started = time.time()
        self.env = dict(os.environ)
        self.ember = self.find_ember()
        self.report = {
            "schema_version": SCHEMA_VERSION,
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.started)),
            "bundle": self.manifest(),
            "settings": {
                "quick": args.quick, "deadline_s": args.deadline, "steps": args.steps,
                "batch": args.batch, "repeats": args.repeats, "time_scale": args.time_scale,
            },
            "machine": {}, "vulkan": {}, "adapters": [], "device": None,
            "logits": {}, "parity": {}, "throughput": {}, "captum": {},
            "steps": [],
        }

    # -- bundle -------------------------------------------------------------------------------

    def path(self, *parts):
        return os.path.join(self.bundle, *parts)

    def manifest(self):
        try:
            with open(self.path("MANIFEST.json")) as f:
                m = json.load(f)
            return {k: m.get(k) for k in ("ember_version", "git_commit", "profile", "features",
                                          "built", "total_bytes")}
        except (OSError, ValueError):
            return {}

    def find_ember(self):
        for name in ("ember", "ember.exe"):
            p = self.path("bin", name)
            if os.path.exists(p):
                return p
        gz = self.path("bin", "ember.xz")
        if os.path.exists(gz):
            import lzma
            target = os.path.join(self.work, "ember")
            with lzma.open(gz) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)
            os.chmod(target, 0o755)
            return target
        sys.exit("no bin/ember in the bundle %s" % self.bundle)

    def weights(self):
        found = glob.glob(self.path("weights", "*.pth"))
        return found[0] if found else None

    def photos(self):
        """The photos in the fixture's order (its metadata `photos`)."""
        _, meta = read_safetensors(self.path("fixtures", "efficientnet_lite0.safetensors"))
        return [self.path("photos", name) for name in meta["photos"].split(",")]

    # -- steps --------------------------------------------------------------------------------

    def remaining(self):
        return self.args.deadline - (time.time() - self.started)

    def step(self, name, argv, timeout, env=None, sample_memory=False):
        """Runs one command under a timeout (capped by the deadline); records and logs it.
        Returns (status, stdout, memory summary)."""
        timeout = timeout * self.args.time_scale
        left = self.remaining()
        record = {"name": name, "command": " ".join(argv), "seconds": 0.0}
        if left < 5:
            record.update(status="skipped", detail="the check's deadline is reached")
            self.report["steps"].append(record)
            self.log(name, record["detail"])
            return "skipped", "", None
        timeout = min(timeout, left)
        start = time.time()
        sampler = MemorySampler()
        idle = self.gpu_memory_used() if sample_memory else None
        try:
            with (sampler if sample_memory else _Null()):
                proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                                      env=env or self.env)
            status = "ok" if proc.returncode == 0 else "failed"
            stdout, stderr, code = proc.stdout, proc.stderr, proc.returncode
        except subprocess.TimeoutExpired as e:
            status, code = "timeout", None
            stdout = _text(e.stdout)
            stderr = _text(e.stderr) + "\n[killed after %.0f s]" % timeout
        except OSError as e:
            status, stdout, stderr, code = "failed", "", str(e), None
        record.update(status=status, seconds=round(time.time() - start, 2), returncode=code)
        if status != "ok":
            record["detail"] = stderr.strip()[-1500:]
        with open(os.path.join(self.logs, name + ".log"), "w") as f:
            f.write("$ %s\n\n--- stdout\n%s\n--- stderr\n%s\n" % (record["command"], stdout,
                                                                  stderr))
        self.report["steps"].append(record)
        self.log(name, "%s in %.1f s" % (status, record["seconds"]))
        memory = sampler.summary(idle) if sample_memory else None
        return status, stdout, memory

    def skip(self, name, why):
        self.report["steps"].append({"name": name, "command": "", "status": "skipped",
                                     "seconds": 0.0, "detail": why})
        self.log(name, "skipped: " + why)

    def log(self, name, text):
        print("[%6.1f s] %-28s %s" % (time.time() - self.started, name, text), flush=True)

    def gpu_memory_used(self):
        if not shutil.which("nvidia-smi"):
            return None
        try:
            out = subprocess.run(["nvidia-smi", "--query-gpu=memory.used",
                                  "--format=csv,noheader,nounits"], capture_output=True,
                                 text=True, timeout=20).stdout
            return float(out.split()[0])
        except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
            return None

    # -- 1. the machine -----------------------------------------------------------------------

    def machine(self):
        m = self.report["machine"]
        m.update(platform=platform.platform(), python=platform.python_version(),
                 cpu_count=os.cpu_count(), hostname=platform.node())
        if shutil.which("nvidia-smi"):
            status, out, _ = self.step(
                "nvidia-smi", ["nvidia-smi", "--query-gpu=name,driver_version,memory.total,"
                               "memory.used,compute_cap", "--format=csv,noheader"], 30)
            if status == "ok":
                m["gpus"] = [line.strip() for line in out.splitlines() if line.strip()]
        else:
            m["gpus"] = []
            self.skip("nvidia-smi", "nvidia-smi is not on PATH: no NVIDIA driver here")
        probe = ("import json\ntry:\n import torch\nexcept ImportError as e:\n"
                 " print(json.dumps({'missing': str(e)}))\n raise SystemExit(0)\n"
                 "print(json.dumps({'torch': torch.__version__, "
                 "'cuda': torch.version.cuda, 'cuda_available': torch.cuda.is_available(), "
                 "'device': torch.cuda.get_device_name(0) if torch.cuda.is_available() "
                 "else None}))")
        status, out, _ = self.step("torch", [self.args.python, "-c", probe], 90)
        if status == "ok":
            m["torch"] = json.loads(out.strip().splitlines()[-1])
        self.vulkan()

    def vulkan(self):
        """Finds the Vulkan loader and drivers; uses the bundle's loader where the system lacks
        one, and NVIDIA's ICD file where the loader would not find it."""
        v = self.report["vulkan"]
        loader = None
        if self.args.loader_dir:
            loader = ("given", os.path.abspath(self.args.loader_dir))
        elif _loadable("libvulkan.so.1"):
            loader = ("system", ctypes.util.find_library("vulkan") or "libvulkan.so.1")
        elif os.path.exists(self.path("lib", "libvulkan.so.1")):
            loader = ("bundle", self.path("lib"))
        v["loader"] = None if loader is None else {"source": loader[0], "path": loader[1]}
        if loader and loader[0] in ("given", "bundle"):
            old = self.env.get("LD_LIBRARY_PATH", "")
            self.env["LD_LIBRARY_PATH"] = loader[1] + (":" + old if old else "")
        icds = sorted(set(f for d in ICD_DIRS for f in glob.glob(os.path.join(d, "*.json"))))
        v["icd_files"] = icds
        chosen = self.env.get("VK_DRIVER_FILES") or self.env.get("VK_ICD_FILENAMES")
        standard = [f for f in icds if not f.startswith("/usr/local/nvidia/")]
        nvidia = [f for f in icds if "nvidia" in os.path.basename(f)]
        if not chosen and nvidia and not any("nvidia" in f for f in standard):
            # The driver is mounted where the loader does not look: point it there.
            self.env["VK_DRIVER_FILES"] = self.env["VK_ICD_FILENAMES"] = nvidia[0]
            chosen = nvidia[0]
        v["driver_files"] = chosen
        if loader is None:
            v["note"] = ("no Vulkan loader (libvulkan.so.1) on this machine or in the bundle: "
                         "wgpu can only find OpenGL; pass --loader-dir DIR")

    # -- 2. devices ---------------------------------------------------------------------------

    def devices(self):
        status, out, _ = self.step("ember-devices", [self.ember, "devices", "--json"], 120)
        if status != "ok":
            return None
        listed = json.loads(out)
        self.report["adapters"] = listed.get("adapters", [])
        self.report["wgpu_default"] = listed.get("wgpu_default")
        if self.args.device:
            name = self.args.device
        else:
            def rank(a):
                return (a["api"] != "vulkan", a["device_type"] in ("cpu", "other"))
            usable = sorted((a for a in self.report["adapters"] if a.get("device")), key=rank)
            name = usable[0]["device"] if usable else "wgpu"
        adapter = next((a for a in self.report["adapters"] if a.get("device") == name), None)
        if adapter is None and name == "wgpu":
            adapter = listed.get("wgpu_default")
        self.report["device"] = {"name": name, "adapter": adapter,
                                 "f64": bool(adapter and adapter.get("f64"))}
        return name

    # -- 3. logits ----------------------------------------------------------------------------

    def sample(self, name, device, photos):
        target = os.path.join(self.work, name + ".safetensors")
        argv = [self.ember, "sample", "--model", "efficientnet-lite0", "--weights",
                self.weights(), "--device", device, "--out", target, "--images"] + photos
        status, _, _ = self.step("sample-" + name, argv, 300)
        return target if status == "ok" else None

    def logits(self, device):
        fixture, _ = read_safetensors(self.path("fixtures", "efficientnet_lite0.safetensors"))
        expected = fixture["logits"][1]
        photos = self.photos()
        result = {}
        files = {}
        # JPEG decoders are not bit-exact (Rust's and Pillow's): PyTorch's logits are compared
        # on the PNGs; the JPEG is compared GPU against CPU only.
        png = [i for i, p in enumerate(photos) if not p.lower().endswith((".jpg", ".jpeg"))]

        def rows(values, keep):
            return [v for i in keep for v in values[i * 1000:(i + 1) * 1000]]
        for side, dev in (("gpu", device), ("cpu", "flex")):
            files[side] = self.sample("photos-" + side, dev, photos)
            if files[side]:
                got, _ = read_safetensors(files[side])
                c = compare(rows(got["logits"][1], png), rows(expected, png))
                c["photos"] = [os.path.basename(photos[i]) for i in png]
                c["tolerance"] = 1e-3
                c["pass"] = c.get("max_abs_diff", 1.0) <= 1e-3
                c["top1"] = [int(t) for t in got["targets"][1]]
                result[side] = c
        if files.get("gpu") and files.get("cpu"):
            g, _ = read_safetensors(files["gpu"])
            c, _ = read_safetensors(files["cpu"])
            both = compare(g["logits"][1], c["logits"][1])
            both.update(tolerance=1e-3, top1=[int(t) for t in g["targets"][1]])
            both["pass"] = both.get("max_abs_diff", 1.0) <= 1e-3
            result["gpu_vs_cpu"] = both
        self.report["logits"] = result
        return files

    # -- 4. parity ----------------------------------------------------------------------------

    def attribute(self, name, device, inputs, method, dtype, steps):
        target = os.path.join(self.work, name + ".safetensors")
        argv = [self.ember, "attribute", "--model", "efficientnet-lite0", "--weights",
                self.weights(), "--inputs", inputs, "--target", "file", "--method", method,
                "--dtype", dtype, "--device", device, "--out", target]
        if method == "integrated-gradients":
            argv += ["--steps", str(steps)]
        status, _, _ = self.step(name, argv, 300)
        return target if status == "ok" else None

    def parity(self, device, f64):
        one = self.sample("one-photo", "flex", [self.path("photos", PHOTO)])
        if not one:
            return None
        steps = self.args.steps
        tolerance = {"f32": 1e-3, "f64": 1e-9}
        methods = ["saliency", "integrated-gradients"]
        dtypes = ["f32"] + (["f64"] if f64 and not self.args.quick else [])
        result = {"photo": PHOTO, "steps": steps}
        for dtype in dtypes:
            for method in methods:
                key = "%s-%s" % (method, dtype)
                files = {side: self.attribute("%s-%s" % (key, side), dev, one, method, dtype,
                                              steps)
                         for side, dev in (("gpu", device), ("cpu", "flex"))}
                if not all(files.values()):
                    result[key] = {"error": "a side failed (see steps)"}
                    continue
                gpu, _ = read_safetensors(files["gpu"])
                cpu, _ = read_safetensors(files["cpu"])
                c = compare(gpu["attributions"][1], cpu["attributions"][1])
                c["tolerance_relative"] = tolerance[dtype]
                c["pass"] = c.get("relative", 1.0) <= tolerance[dtype]
                if dtype == "f32" and not c["pass"]:
                    # Two f32 results can differ by more than either is from the truth (a
                    # saliency map's ReLU6 clips flip on rounding: measured on lavapipe, flex
                    # f32 was 3.8e-3 from flex f64, lavapipe f32 1.1e-3, the two 3.7e-3 apart).
                    # Then the CPU's f64 map decides: the GPU passes if it is no further from
                    # it than the tolerance or twice the CPU's own f32 error.
                    ref = self.attribute(key + "-cpu-f64", "flex", one, method, "f64", steps)
                    if ref:
                        truth, _ = read_safetensors(ref)
                        gpu_err = compare(gpu["attributions"][1], truth["attributions"][1])
                        cpu_err = compare(cpu["attributions"][1], truth["attributions"][1])
                        c["gpu_vs_cpu_f64"] = gpu_err.get("relative")
                        c["cpu_f32_vs_cpu_f64"] = cpu_err.get("relative")
                        bound = max(tolerance[dtype], 2 * cpu_err.get("relative", 0.0))
                        c["tolerance_vs_f64"] = bound
                        c["pass"] = gpu_err.get("relative", 1.0) <= bound
                if "delta" in gpu:
                    c["gpu_delta"] = gpu["delta"][1]
                    c["cpu_delta"] = cpu["delta"][1]
                result[key] = c
        self.report["parity"] = result
        if not dtypes[1:]:
            result["f64"] = ("skipped: --quick" if f64 else
                             "skipped: the adapter has no f64 shaders")
        return one

    # -- 5. throughput ------------------------------------------------------------------------

    def bench(self, device, tuned):
        name = "bench-%s-%s" % (device, "tuned" if tuned else "default")
        argv = [self.ember, "bench", "--model", "efficientnet-lite0", "--weights",
                self.weights(), "--method", "integrated-gradients", "--steps",
                str(self.args.steps), "--batch", str(self.args.batch), "--repeats",
                str(self.args.repeats), "--device", device, "--json"]
        if tuned:
            argv.append("--tune-rows")
        argv += ["--images"] + self.photos()
        status, out, memory = self.step(name, argv, 420, sample_memory=True)
        if status != "ok":
            return None
        r = json.loads(out.strip().splitlines()[-1])
        r["photos_per_s"] = round(self.args.batch / (r["median_ms"] / 1e3), 3)
        r["gpu_memory"] = memory
        return r

    def throughput(self, device):
        t = {"method": "integrated-gradients", "quadrature": "gauss-legendre",
             "steps": self.args.steps, "batch": self.args.batch}
        t["default"] = self.bench(device, False)
        if self.args.quick:
            t["tuned"] = None
            self.skip("bench-tuned", "--quick")
        else:
            t["tuned"] = self.bench(device, True)
        self.report["throughput"] = t

    # -- 6. captum ----------------------------------------------------------------------------

    def captum(self, photos_file, one_ig):
        torch = self.report["machine"].get("torch") or {}
        if "torch" not in torch:
            self.skip("captum", "%s has no torch (%s)" % (
                self.args.python, torch.get("missing", "the probe failed")))
            return
        site = os.path.join(self.work, "site")
        wheels = glob.glob(self.path("wheels", "*.whl"))
        if not wheels:
            self.skip("captum", "the bundle has no wheels")
            return
        for wheel in wheels:
            with zipfile.ZipFile(wheel) as z:
                z.extractall(site)
        env = dict(self.env)
        env["PYTHONPATH"] = site + (":" + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        ember_rows = (self.report.get("throughput", {}).get("default") or {}).get(
            "rows_per_pass")
        internal = ["all"] + ([str(ember_rows)] if ember_rows else [])
        attributions = os.path.join(self.work, "captum-ig.safetensors")
        argv = [self.args.python, self.path("captum_check.py"), "--weights", self.weights(),
                "--inputs", photos_file, "--batch", str(self.args.batch), "--steps",
                str(self.args.steps), "--repeats", str(self.args.repeats), "--internal",
                ",".join(internal), "--attributions", attributions, "--one",
                os.path.join(self.work, "one-photo.safetensors")]
        status, out, memory = self.step("captum", argv, 300, env=env, sample_memory=True)
        if status != "ok":
            return
        c = json.loads(out.strip().splitlines()[-1])
        c["gpu_memory"] = memory
        if one_ig and os.path.exists(attributions):
            ours, _ = read_safetensors(one_ig)
            theirs, _ = read_safetensors(attributions)
            agreement = compare(ours["attributions"][1], theirs["attributions"][1])
            agreement["tolerance_relative"] = 1e-3
            agreement["pass"] = agreement.get("relative", 1.0) <= 1e-3
            c["ember_gpu_ig_vs_captum"] = agreement
        self.report["captum"] = c

    # -- the run ------------------------------------------------------------------------------

    def run(self):
        if not self.weights():
            sys.exit("no weights/*.pth in the bundle %s" % self.bundle)
        self.machine()
        device = self.devices()
        if device is None:
            self.skip("logits", "ember devices failed")
        else:
            files = self.logits(device)
            one = self.parity(device, self.report["device"]["f64"])
            one_ig = os.path.join(self.work, "integrated-gradients-f32-gpu.safetensors")
            self.throughput(device)
            if files.get("cpu"):
                self.captum(files["cpu"], one_ig if one and os.path.exists(one_ig) else None)
            else:
                self.skip("captum", "no preprocessed photos (sample-photos-cpu failed)")
        self.report["seconds"] = round(time.time() - self.started, 1)
        self.report["passed"] = self.passed()
        problems = validate(self.report)
        if problems:
            self.report["schema_problems"] = problems
        with open(os.path.join(self.out, "report.json"), "w") as f:
            json.dump(self.report, f, indent=2)
        text = summary(self.report)
        with open(os.path.join(self.out, "summary.txt"), "w") as f:
            f.write(text)
        print("\n" + text)
        return 0 if self.report["passed"] and not problems else 1

    def passed(self):
        r = self.report
        if any(s["status"] in ("failed", "timeout") for s in r["steps"]):
            return False
        checks = [c for c in r["logits"].values() if isinstance(c, dict)]
        checks += [c for c in r["parity"].values() if isinstance(c, dict)]
        if r["captum"].get("ember_gpu_ig_vs_captum"):
            checks.append(r["captum"]["ember_gpu_ig_vs_captum"])
        return r["device"] is not None and all(c.get("pass", False) for c in checks)


class _Null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _text(value):
    if value is None:
        return ""
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def _loadable(name):
    try:
        ctypes.CDLL(name)
        return True
    except OSError:
        return False


# ---------------------------------------------------------------------------------------------
# the report's schema
# ---------------------------------------------------------------------------------------------

REQUIRED = {
    "schema_version": int, "started": str, "bundle": dict, "settings": dict, "machine": dict,
    "vulkan": dict, "adapters": list, "logits": dict, "parity": dict, "throughput": dict,
    "captum": dict, "steps": list, "seconds": float, "passed": bool,
}


def validate(report):
    """The ways `report` departs from schema version 1 (empty when it conforms)."""
    problems = []
    for key, kind in REQUIRED.items():
        if key not in report:
            problems.append("missing %s" % key)
        elif not isinstance(report[key], kind) and not (kind is float and
                                                        isinstance(report[key], int)):
            problems.append("%s is %s, not %s" % (key, type(report[key]).__name__,
                                                  kind.__name__))
    if report.get("schema_version") != SCHEMA_VERSION:
        problems.append("schema_version is not %d" % SCHEMA_VERSION)
    for step in report.get("steps", []):
        for key in ("name", "command", "status", "seconds"):
            if key not in step:
                problems.append("a step lacks %s: %s" % (key, step))
        if step.get("status") not in STATUSES:
            problems.append("step %s has status %s" % (step.get("name"), step.get("status")))
    device = report.get("device")
    if device is not None:
        for key in ("name", "adapter", "f64"):
            if key not in device:
                problems.append("device lacks %s" % key)
    for adapter in report.get("adapters", []):
        for key in ("api", "name", "device_type", "f64", "device"):
            if key not in adapter:
                problems.append("an adapter lacks %s" % key)
    for side, c in report.get("logits", {}).items():
        for key in ("max_abs_diff", "tolerance", "pass", "top1"):
            if key not in c:
                problems.append("logits.%s lacks %s" % (side, key))
    for key, c in report.get("parity", {}).items():
        if isinstance(c, dict) and "error" not in c:
            for field in ("max_abs_diff", "relative", "tolerance_relative", "pass"):
                if field not in c:
                    problems.append("parity.%s lacks %s" % (key, field))
    for key in ("default", "tuned"):
        r = report.get("throughput", {}).get(key)
        if r is not None:
            for field in ("median_ms", "rows_per_pass", "photos_per_s", "gpu_memory"):
                if field not in r:
                    problems.append("throughput.%s lacks %s" % (key, field))
    captum = report.get("captum", {})
    if captum:
        for field in ("device", "ig", "versions"):
            if field not in captum:
                problems.append("captum lacks %s" % field)
    return problems


def summary(r):
    lines = ["ember GPU check (schema %d), %s, %.0f s: %s" % (
        r["schema_version"], r["started"], r.get("seconds", 0),
        "PASSED" if r.get("passed") else "FAILED")]
    m = r["machine"]
    lines.append("machine: %s; GPUs: %s; torch %s" % (
        m.get("platform"), "; ".join(m.get("gpus") or ["none"]),
        (m.get("torch") or {}).get("torch", "not importable")))
    if (m.get("torch") or {}).get("cuda_available"):
        lines.append("PyTorch sees %s (CUDA %s)" % (m["torch"]["device"], m["torch"]["cuda"]))
    v = r["vulkan"]
    lines.append("vulkan loader: %s; driver files: %s" % (
        (v.get("loader") or {}).get("source", "none"), v.get("driver_files") or "default"))
    for a in r["adapters"]:
        lines.append("  adapter: %s %s (%s, f64 %s)" % (a["api"], a["name"], a["device_type"],
                                                       a["f64"]))
    d = r.get("device")
    if d:
        lines.append("checked: --device %s on %s" % (
            d["name"], (d.get("adapter") or {}).get("name", "?")))
    for side, c in r["logits"].items():
        lines.append("logits %s vs PyTorch: max |diff| %.3g (tolerance %g) %s" % (
            side, c.get("max_abs_diff", float("nan")), c.get("tolerance", 0),
            "ok" if c.get("pass") else "FAIL"))
    for key, c in r["parity"].items():
        if isinstance(c, dict) and "relative" in c:
            line = "%s GPU vs CPU: relative %.3g (tolerance %g)" % (
                key, c["relative"], c["tolerance_relative"])
            if "gpu_vs_cpu_f64" in c:
                line += "; against CPU f64: GPU %.3g, CPU f32 %.3g (tolerance %.3g)" % (
                    c["gpu_vs_cpu_f64"], c["cpu_f32_vs_cpu_f64"], c["tolerance_vs_f64"])
            lines.append(line + (" ok" if c["pass"] else " FAIL"))
        elif isinstance(c, (dict, str)) and key not in ("photo", "steps"):
            lines.append("%s: %s" % (key, c))
    for key in ("default", "tuned"):
        t = r["throughput"].get(key)
        if t:
            mem = t.get("gpu_memory") or {}
            lines.append("ember IG %s rows/pass %s: %.2f photos/s (median %.0f ms, batch %d, "
                         "ratio to raw fwd+bwd %.2f; GPU memory peak %s MiB)" % (
                             key, t["rows_per_pass"], t["photos_per_s"], t["median_ms"],
                             t["batch"], t.get("ratio", float("nan")),
                             mem.get("peak_above_idle_mib", "n/a")))
    c = r["captum"]
    for entry in c.get("ig", []):
        if "median_ms" in entry:
            lines.append("Captum IG on %s, internal_batch_size %s: %.2f photos/s (median %.0f "
                         "ms; allocator peak %s MiB)" % (
                             c["device"], entry["internal_batch_size"], entry["photos_per_s"],
                             entry["median_ms"], entry.get("peak_allocated_mib", "n/a")))
        else:
            lines.append("Captum IG internal_batch_size %s: %s" % (
                entry["internal_batch_size"], entry.get("error")))
    agreement = c.get("ember_gpu_ig_vs_captum")
    if agreement:
        lines.append("ember GPU IG vs Captum: relative %.3g %s" % (
            agreement.get("relative", float("nan")), "ok" if agreement.get("pass") else "FAIL"))
    for s in r["steps"]:
        if s["status"] != "ok":
            lines.append("step %s: %s %s" % (s["name"], s["status"],
                                             (s.get("detail") or "")[-300:]))
    return "\n".join(lines) + "\n"


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bundle", default=here)
    ap.add_argument("--out", default=os.environ.get("OUT") or os.path.join(here, "out"))
    ap.add_argument("--device", help="the ember device to check (default: the best adapter)")
    ap.add_argument("--python", default=sys.executable, help="the Python that has torch")
    ap.add_argument("--loader-dir", help="a folder holding libvulkan.so.1 to use")
    ap.add_argument("--quick", action="store_true", help="small sizes: a smoke test")
    ap.add_argument("--steps", type=int)
    ap.add_argument("--batch", type=int)
    ap.add_argument("--repeats", type=int)
    ap.add_argument("--deadline", type=float, default=450, help="seconds for the whole check")
    ap.add_argument("--time-scale", type=float, default=1.0,
                    help="multiplies every step's timeout (a software adapter is slow)")
    ap.add_argument("--validate", metavar="REPORT", help="only check a report.json's schema")
    args = ap.parse_args()
    if args.validate:
        with open(args.validate) as f:
            problems = validate(json.load(f))
        for p in problems:
            print(p)
        return 1 if problems else 0
    defaults = (4, 1, 1) if args.quick else (32, 16, 3)
    args.steps = args.steps or defaults[0]
    args.batch = args.batch or defaults[1]
    args.repeats = args.repeats or defaults[2]
    return Check(args).run()


if __name__ == "__main__":
    sys.exit(main())
