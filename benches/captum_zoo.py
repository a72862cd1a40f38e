#!/usr/bin/env python3
"""Times Captum on ember's three zoo models, with the settings of ``ember bench``.

What it measures
----------------
For each zoo model (``mlp``, ``cnn``, ``tabular``) it loads the shipped weights
(``crates/ember-zoo/weights/*.safetensors``, PyTorch names) into the same architecture in
PyTorch, takes the same 64 inputs and targets as ``ember bench --batch 64`` and times, on the
CPU, with ``torch.set_num_threads(--threads)``, one warm-up then ``--repeats`` calls each,
reporting the median wall time of a call in milliseconds:

- ``integrated-gradients``: Captum's ``IntegratedGradients`` (zero baseline, 50 steps,
  ``method="gausslegendre"``, ``multiply_by_inputs=True``) with ``internal_batch_size=128``
  (25 forwards of 128 rows, as ember's 25 passes of 128 rows); again with
  ``return_convergence_delta=True`` (ember always computes ``F(x)``, ``F(x')`` and the delta);
  and with ``internal_batch_size=None`` (all 3 200 rows in one pass);
- ``smoothgrad``: ``NoiseTunnel(Saliency)``, ``nt_type="smoothgrad"``, ``nt_samples=50``,
  signed gradients (``abs=False``), ``nt_samples_batch_size=2`` (each forward 2 × 64 = 128
  rows), noise ``σ = 0.15 · (max − min)`` of each sample, as ember's;
- ``saliency``: ``Saliency(abs=False)``, one gradient of the 64 rows;
- ``raw``: Captum's own floor, no Captum at all: over the same rows as ember's raw limit
  (``ember::kernel::bench::raw_forward_backward``), in blocks of 128 rows, one forward, the sum
  of the target logits and one ``torch.autograd.grad`` with respect to the block. Two sizes:
  64 × 50 = 3 200 rows (the floor of integrated gradients and smoothgrad) and 64 rows (the floor
  of saliency).

It prints one JSON object on stdout: ``{"torch", "captum", "threads", "cpu", "results": [...]}``,
each result ``{"model", "method", "batch", "steps", "samples", "rows", "rows_per_pass",
"median_ms", "times_ms", ...}`` (``rows``: model rows differentiated per call; extra keys say
which variant a row is).

How it matches ember (the Rust code it follows)
-----------------------------------------------
- Inputs: ``crates/ember-cli/src/bench.rs`` ``inputs()``: the test split of digits (mlp, cnn) or
  breast cancer (tabular), the first ``--batch`` test samples (repeated if fewer), targets =
  their labels. The split is reproduced here exactly from ``crates/ember-zoo/src/data.rs``:
  ``stratified_split(0.25, seed 0)`` with ember's SplitMix64 (``crates/ember-core/src/rng.rs``),
  one generator over the classes in order, Fisher–Yates with ``next_u64 % (i + 1)``,
  ``round()`` half away from zero (Rust), indices sorted; digits scaled by 1/16; breast cancer
  standardised with the training part's mean and population std (accumulated in f64 in
  sample order, stored as f32, applied in f32). ``--check`` compares these inputs with the ones
  ``ember sample`` writes.
- Models: ``crates/ember-zoo/src/models.rs``; ``nn.Sequential`` with the same module indices,
  so the shipped safetensors load strictly. Parameters are frozen (``requires_grad=False``),
  as ember's model parameters are constants (only input gradients are computed); pass
  ``--param-grads`` to keep PyTorch's default.
- Integrated gradients: ``crates/ember-methods/src/registry/settings.rs`` (50 steps,
  ``Quadrature::GaussLegendre``, ``Baseline::Zeros``), ``integrated_gradients.rs``
  (``multiply_by_inputs`` true: ``(x − x′) ×`` the integral).
- Rows per pass: ``crates/ember-core/src/kernel/budget.rs``: ``CPU_MAX_ROWS = 128`` (the CPU
  budget of 16 MiB allows far more rows of 64 or 30 floats).
- SmoothGrad: ``bench.rs`` builds ``smoothgrad`` over ``BaseMethod::Saliency`` (signed; the
  registry's ``saliency-abs`` is Captum's default ``abs=True``); ``registry/settings.rs``:
  50 samples, noise 0.15, ``NoiseScale::Relative``; ``smooth_grad.rs`` ``sigmas()``:
  ``σ = 0.15 · (max − min)`` of each sample. Captum's ``stdevs`` is one float per input tensor,
  not per sample: where every sample has the same σ (the digits: every test image spans
  0..1, σ = 0.15) it is passed as is; otherwise (tabular) Captum explains ``u = x / σ_b``
  with ``stdevs=1.0`` through ``forward(u, σ) = model(u · σ)`` (σ an additional forward
  argument, which Captum repeats with the noisy copies) and the result is divided by ``σ_b``:
  the same noise ``N(0, σ_b²)`` on ``x`` and the same gradient, at the cost of one
  multiplication per forward. The noise itself is Captum's (``torch.normal``), not ember's
  seeded SplitMix64 stream, so the maps agree only statistically.
- Saliency: ``BaseMethod::Saliency`` (``saliency.rs``, ``abs`` false).

Not matched: ember's every call also checks the model once (three forwards of 5 rows) and
evaluates ``F(x)`` (and ``F(x′)`` for integrated gradients) before the passes; Captum does
neither (except ``F(x)``, ``F(x′)`` with ``return_convergence_delta=True``). ember's timing
loop alternates method, raw limit and check; this script times each (model, method) in turn.

``--check`` (instead of timing): for each model, compares this script's inputs and labels with
``ember sample --count BATCH``, and Captum's integrated gradients and saliency with
``ember attribute --target file`` on them (max |difference|; they agree to float rounding
when the settings match), and reports how far Captum's SmoothGrad is from ember's relative to
how far two Captum runs with different noise are from each other. It needs an ``ember``
binary (``--ember``, default ``target/release/ember`` or ``target/debug/ember``).

Tried with Python 3.11.7, torch 2.15.0 (CPU), captum 0.9.0, numpy 2.4.6, safetensors 0.8.0.

Usage::

    python3 benches/captum_zoo.py --threads 2 --repeats 15 [--models mlp,cnn,tabular] [--check]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

import captum
from captum.attr import IntegratedGradients, NoiseTunnel, Saliency

# Captum sets requires_grad on the inputs itself and says so on every call.
warnings.filterwarnings("ignore", message="Input Tensor .* did not already require gradients")

ROOT = Path(__file__).resolve().parent.parent
ZOO = ROOT / "crates" / "ember-zoo"
MODELS = ("mlp", "cnn", "tabular")

# ember's settings (see the module docstring for where each comes from).
TEST_FRACTION = 0.25  # data.rs TEST_FRACTION
SPLIT_SEED = 0  # data.rs SPLIT_SEED
ROWS_PER_PASS = 128  # ember-core kernel/budget.rs CPU_MAX_ROWS
NOISE_LEVEL = 0.15  # registry/settings.rs `noise`, NoiseScale::Relative
SAMPLE_SHAPE = {"mlp": (64,), "cnn": (1, 8, 8), "tabular": (30,)}

MASK64 = (1 << 64) - 1


class SplitMix64:
    """ember_core::rng::SplitMix64 (only what the split uses)."""

    def __init__(self, seed: int) -> None:
        self.state = seed & MASK64

    def next_u64(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def shuffle(self, items: list) -> None:
        for i in range(len(items) - 1, 0, -1):
            j = self.next_u64() % (i + 1)
            items[i], items[j] = items[j], items[i]


def read_csv(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The embedded CSV (last column `label`) as f32 features and integer labels."""
    lines = (ZOO / "data" / name).read_text().splitlines()
    rows = [line.split(",") for line in lines[1:] if line.strip()]
    # Rust parses each value as f32 directly; via f64 here (the values have few digits, and
    # `--check` compares the result with ember's).
    features = np.array([[float(v) for v in r[:-1]] for r in rows], dtype=np.float64)
    labels = np.array([int(r[-1]) for r in rows], dtype=np.int64)
    return features.astype(np.float32), labels


def stratified_test_indices(labels: np.ndarray, classes: int) -> tuple[list[int], list[int]]:
    """data.rs `Dataset::stratified_split`: (train, test) indices, each in sample order."""
    rng = SplitMix64(SPLIT_SEED)
    test: list[int] = []
    for c in range(classes):
        members = [i for i in range(len(labels)) if labels[i] == c]
        rng.shuffle(members)
        # Rust's f64::round rounds half away from zero (Python's round() would not).
        n_test = math.floor(len(members) * TEST_FRACTION + 0.5)
        test.extend(members[:n_test])
    test.sort()
    is_test = set(test)
    train = [i for i in range(len(labels)) if i not in is_test]
    return train, test


def test_split(model: str) -> tuple[np.ndarray, np.ndarray]:
    """The test inputs `[N, features]` (f32) and labels of the model's dataset, as ember's."""
    if model in ("mlp", "cnn"):
        x, y = read_csv("digits.csv")
        x = x / np.float32(16.0)
        _, test = stratified_test_indices(y, 10)
        return x[test], y[test]
    x, y = read_csv("breast_cancer.csv")
    train, test = stratified_test_indices(y, 2)
    # data.rs Standardiser::fit: f64 sums in sample order, divided by n term by term.
    n = float(len(train))
    d = x.shape[1]
    mean = [0.0] * d
    sq = [0.0] * d
    xt = x[train].astype(np.float64).tolist()
    for row in xt:
        for j, v in enumerate(row):
            mean[j] += v / n
    for row in xt:
        for j, v in enumerate(row):
            sq[j] += (v - mean[j]) ** 2 / n
    mean32 = np.array(mean, dtype=np.float64).astype(np.float32)
    std32 = np.array([math.sqrt(s) if s > 0 else 1.0 for s in sq]).astype(np.float32)
    # Standardiser::apply: (v − mean) / std in f32.
    return (x[test] - mean32) / std32, y[test]


def bench_inputs(model: str, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """bench.rs `inputs()`: the first `batch` test samples (repeated), their labels."""
    x, y = test_split(model)
    idx = [i % len(y) for i in range(batch)]
    inputs = torch.from_numpy(np.ascontiguousarray(x[idx])).reshape((batch, *SAMPLE_SHAPE[model]))
    return inputs.float(), torch.from_numpy(y[idx]).long()


def build_model(model: str, param_grads: bool) -> nn.Module:
    """models.rs, as the PyTorch `nn.Sequential` the shipped weights were named after."""
    if model == "mlp":
        net = nn.Sequential(
            nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10)
        )
    elif model == "cnn":
        net = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(2048, 10),
        )
    else:
        net = nn.Sequential(nn.Linear(30, 32), nn.ReLU(), nn.Linear(32, 2))
    from safetensors.torch import load_file

    state = load_file(str(ZOO / "weights" / f"{model}.safetensors"))
    net.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
    net.eval()
    net.requires_grad_(param_grads)
    return net


def sigmas(x: torch.Tensor) -> torch.Tensor:
    """smooth_grad.rs `sigmas()`: 0.15 · (max − min) of each sample, computed in f64."""
    flat = x.reshape(x.shape[0], -1).double()
    return NOISE_LEVEL * (flat.max(dim=1).values - flat.min(dim=1).values)


class Scaled(nn.Module):
    """`model(u · σ)`, σ one value per row: Captum's noise on `u` with std 1 is then noise on
    `x = u · σ` with std σ, per sample."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, u: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        return self.net(u * sigma)


class Methods:
    """The timed calls of one model (Captum objects built once, as ember builds its method
    once)."""

    def __init__(self, net: nn.Module, x: torch.Tensor, y: torch.Tensor, args) -> None:
        self.net, self.x, self.y, self.args = net, x, y, args
        self.ig = IntegratedGradients(net)
        self.saliency = Saliency(net)
        self.tunnel = NoiseTunnel(Saliency(net))
        self.tunnel_scaled = NoiseTunnel(Saliency(Scaled(net)))
        sig = sigmas(x)
        self.sigma_const = float(sig[0]) if bool(torch.all(sig == sig[0])) else None
        view = (x.shape[0],) + (1,) * (x.dim() - 1)
        self.sigma = sig.float().reshape(view)
        # The raw limit's rows (bench.rs: `x.repeat_dim(0, points)`, built once, untimed).
        self.raw_rows = {
            r: (x.repeat(r // x.shape[0], *([1] * (x.dim() - 1))), y.repeat(r // x.shape[0]))
            for r in (x.shape[0], x.shape[0] * args.steps)
        }

    def integrated_gradients(self, internal_batch_size, delta=False):
        return self.ig.attribute(
            self.x,
            target=self.y,
            n_steps=self.args.steps,
            method="gausslegendre",
            internal_batch_size=internal_batch_size,
            return_convergence_delta=delta,
        )

    def smoothgrad(self, batch_size: int):
        if self.sigma_const is not None:
            return self.tunnel.attribute(
                self.x,
                nt_type="smoothgrad",
                nt_samples=self.args.samples,
                nt_samples_batch_size=batch_size,
                stdevs=self.sigma_const,
                target=self.y,
                abs=False,
            )
        out = self.tunnel_scaled.attribute(
            self.x / self.sigma,
            nt_type="smoothgrad",
            nt_samples=self.args.samples,
            nt_samples_batch_size=batch_size,
            stdevs=1.0,
            target=self.y,
            additional_forward_args=(self.sigma,),
            abs=False,
        )
        return out / self.sigma

    def saliency_map(self):
        return self.saliency.attribute(self.x, target=self.y, abs=False)

    def raw(self, rows: int, block: int) -> float:
        xs, ts = self.raw_rows[rows]
        total = torch.zeros(())
        for start in range(0, rows, block):
            part = xs[start : start + block].detach().requires_grad_()
            root = self.net(part).gather(1, ts[start : start + block, None]).sum()
            (grad,) = torch.autograd.grad(root, part)
            total = total + grad.sum()
        return float(total)


def timed(call, repeats: int) -> list[float]:
    call()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1e3)
    return times


def bench_model(model: str, args) -> list[dict]:
    x, y = bench_inputs(model, args.batch)
    m = Methods(build_model(model, args.param_grads), x, y, args)
    b, steps, samples = args.batch, args.steps, args.samples
    nt_batch = max(1, ROWS_PER_PASS // b)
    cases = [
        ("integrated-gradients", b * steps, ROWS_PER_PASS, {"internal_batch_size": ROWS_PER_PASS},
         lambda: m.integrated_gradients(ROWS_PER_PASS)),
        ("integrated-gradients", b * steps, ROWS_PER_PASS,
         {"internal_batch_size": ROWS_PER_PASS, "return_convergence_delta": True},
         lambda: m.integrated_gradients(ROWS_PER_PASS, delta=True)),
        ("integrated-gradients", b * steps, b * steps, {"internal_batch_size": None},
         lambda: m.integrated_gradients(None)),
        ("smoothgrad", b * samples, nt_batch * b,
         {"nt_samples_batch_size": nt_batch,
          "noise": "stdevs" if m.sigma_const is not None else "per-sample (scaled input)"},
         lambda: m.smoothgrad(nt_batch)),
        ("saliency", b, b, {}, m.saliency_map),
        ("raw", b * steps, ROWS_PER_PASS, {}, lambda: m.raw(b * steps, ROWS_PER_PASS)),
        ("raw", b, min(b, ROWS_PER_PASS), {}, lambda: m.raw(b, ROWS_PER_PASS)),
    ]
    results = []
    for method, rows, per_pass, extra, call in cases:
        times = timed(call, args.repeats)
        results.append(
            {
                "model": model,
                "method": method,
                "batch": b,
                "steps": steps,
                "samples": samples,
                "rows": rows,
                "rows_per_pass": per_pass,
                **extra,
                "median_ms": round(statistics.median(times), 4),
                "times_ms": [round(t, 4) for t in times],
            }
        )
        print(f"{model} {method} {extra}: {statistics.median(times):.3f} ms", file=sys.stderr)
    return results


def find_ember(path: str | None) -> Path:
    if path:
        return Path(path)
    for kind in ("release", "debug"):
        exe = ROOT / "target" / kind / "ember"
        if exe.exists():
            return exe
    sys.exit("no ember binary: build one (cargo build -p ember-xai-cli) or give --ember")


def ember_attribute(ember: Path, model: str, inputs: Path, method: str, out: Path) -> dict:
    from safetensors.numpy import load_file

    subprocess.run(
        [str(ember), "attribute", "--model", model, "--inputs", str(inputs), "--method", method,
         "--target", "file", "--out", str(out)],
        check=True, stdout=subprocess.DEVNULL,
    )
    return load_file(str(out))


def check_model(model: str, args, ember: Path, tmp: Path) -> dict:
    """Captum against ember on the 64 inputs; max |difference| of each map."""
    from safetensors.numpy import load_file

    x, y = bench_inputs(model, args.batch)
    sample = tmp / f"{model}-inputs.safetensors"
    subprocess.run(
        [str(ember), "sample", "--model", model, "--count", str(args.batch), "--out", str(sample)],
        check=True, stdout=subprocess.DEVNULL,
    )
    written = load_file(str(sample))
    result = {
        "model": model,
        "inputs_max_abs_diff": float(np.abs(written["inputs"] - x.numpy()).max()),
        "labels_equal": bool(np.array_equal(written["targets"], y.numpy())),
    }
    m = Methods(build_model(model, False), x, y, args)

    ig, delta = m.integrated_gradients(ROWS_PER_PASS, delta=True)
    ember_ig = ember_attribute(ember, model, sample, "integrated-gradients",
                               tmp / f"{model}-ig.safetensors")
    ig_one_pass = m.integrated_gradients(None)
    result["integrated_gradients"] = {
        "max_abs_diff": float(np.abs(ember_ig["attributions"] - ig.numpy()).max()),
        "max_abs_attribution": float(np.abs(ig.numpy()).max()),
        "max_abs_diff_one_pass_vs_128": float((ig_one_pass - ig).abs().max()),
        "max_abs_delta_captum": float(delta.abs().max()),
        "max_abs_delta_ember": float(np.abs(ember_ig["delta"]).max()),
        "max_abs_delta_diff": float(np.abs(ember_ig["delta"] - delta.numpy()).max()),
    }

    sal = m.saliency_map()
    ember_sal = ember_attribute(ember, model, sample, "saliency",
                                tmp / f"{model}-saliency.safetensors")
    result["saliency"] = {
        "max_abs_diff": float(np.abs(ember_sal["attributions"] - sal.numpy()).max()),
        "max_abs_attribution": float(np.abs(sal.numpy()).max()),
    }

    # SmoothGrad: different noise streams, so only a statistical comparison: ember vs Captum
    # against Captum vs Captum (two seeds). Both relative L2 distances, of the whole batch.
    nt_batch = max(1, ROWS_PER_PASS // args.batch)
    torch.manual_seed(1)
    sg_a = m.smoothgrad(nt_batch)
    torch.manual_seed(2)
    sg_b = m.smoothgrad(nt_batch)
    ember_sg = torch.from_numpy(
        ember_attribute(ember, model, sample, "smoothgrad", tmp / f"{model}-sg.safetensors")
        ["attributions"])
    rel = lambda a, b: float((a - b).norm() / b.norm())  # noqa: E731
    sg = {
        "noise": "stdevs" if m.sigma_const is not None else "per-sample (scaled input)",
        "sigma_min": float(m.sigma.min()),
        "sigma_max": float(m.sigma.max()),
        "rel_l2_ember_vs_captum": rel(ember_sg, sg_a),
        "rel_l2_captum_vs_captum": rel(sg_b, sg_a),
    }
    # The scaled-input path against Captum's own stdevs, with the same noise draws, where σ
    # is one number (the digits): shows that the reparametrisation changes nothing.
    if m.sigma_const is not None:
        torch.manual_seed(3)
        plain = m.smoothgrad(nt_batch)
        torch.manual_seed(3)
        scaled = m.tunnel_scaled.attribute(
            m.x / m.sigma, nt_type="smoothgrad", nt_samples=args.samples,
            nt_samples_batch_size=nt_batch, stdevs=1.0, target=m.y,
            additional_forward_args=(m.sigma,), abs=False) / m.sigma
        sg["max_abs_diff_scaled_vs_stdevs_same_noise"] = float((plain - scaled).abs().max())
    result["smoothgrad"] = sg
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--param-grads", action="store_true",
                        help="keep requires_grad on the parameters (PyTorch's default)")
    parser.add_argument("--check", action="store_true",
                        help="compare with ember's inputs and maps instead of timing")
    parser.add_argument("--ember", help="the ember binary (for --check)")
    args = parser.parse_args()
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    for m in models:
        if m not in MODELS:
            parser.error(f"unknown model {m!r}: expected {', '.join(MODELS)}")
    if args.repeats < 1 or args.batch < 1:
        parser.error("--repeats and --batch must be at least 1")
    torch.set_num_threads(args.threads)

    cpu = next(
        (line.split(":", 1)[1].strip()
         for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        "unknown",
    ) if Path("/proc/cpuinfo").exists() else "unknown"
    out = {
        "torch": torch.__version__,
        "captum": captum.__version__,
        "threads": torch.get_num_threads(),
        "cpu": cpu,
    }
    if args.check:
        ember = find_ember(args.ember)
        with tempfile.TemporaryDirectory() as tmp:
            out["ember"] = str(ember)
            out["check"] = [check_model(m, args, ember, Path(tmp)) for m in models]
    else:
        out["param_grads"] = args.param_grads
        out["repeats"] = args.repeats
        out["results"] = [r for m in models for r in bench_model(m, args)]
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
