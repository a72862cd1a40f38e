#!/usr/bin/env python3
"""Times the reference path methods (Captum's GradientShap, PAIR's BlurIG and GuidedIG) with the
settings of ``ember bench``.

What it measures
----------------
On the CPU with ``torch.set_num_threads(--threads)``, one warm-up then ``--repeats`` calls each,
the median wall time of a call in milliseconds. The zoo models (``mlp``, ``cnn``, ``tabular``)
are ``benches/captum_zoo.py``'s: the shipped weights, parameters frozen, the 64 inputs and
targets of ``ember bench --batch 64`` (the first 64 test samples, their labels).

- ``gradient-shap`` (mlp, cnn, tabular): Captum's
  ``GradientShap(model).attribute(x, baselines=B, n_samples=50, stdevs=0.0, target=labels)``,
  B the 64 baselines of ``--write-baselines`` (below). Captum puts all 50 × 64 = 3 200 rows in
  one forward and one backward (``NoiseTunnel`` without ``nt_samples_batch_size``), as users run
  it. Variants ``default`` and ``return_convergence_delta`` (the same with
  ``return_convergence_delta=True``: two more forwards of 3 200 rows, of the inputs and the
  drawn baselines).
- ``blur-ig`` (cnn only, the images): PAIR ``saliency.core.BlurIG().GetMask`` with its defaults
  (``max_sigma=50, steps=100, grad_step=0.01, sqrt=False``) on each of the 64 images in turn; one
  call of the benchmark is all 64 images. PAIR explains one H × W × C image at a time: each is
  given as an ``[8, 8, 1]`` float32 array, and the ``call_model_function`` turns a batch into an
  NCHW float32 tensor, differentiates the target logit with respect to it and returns the
  gradient as NHWC numpy. Variants ``batch_size=1`` (PAIR's default: 100 model calls of one
  image per image) and ``batch_size=100`` (all steps of an image in one model call; PAIR weights
  a whole batch with the σ step of its last element, exact here as the σ's are evenly spaced).
- ``guided-ig`` (mlp, cnn, tabular): PAIR ``saliency.core.GuidedIG().GetMask(x, fn,
  x_baseline=zeros, x_steps=200, fraction=0.25, max_dist=0.02)`` on each of the 64 samples in
  turn (one call of the benchmark = all 64). The sample is given as float64 numpy in its own
  shape (``[64]``, ``[1, 8, 8]``, ``[30]``; PAIR works in float64); ``call_model_function``
  converts it to a float32 tensor. Guided IG calls the model once per step (one row), 200 times
  per sample: PAIR has no batching for it.
- EfficientNet-Lite0 (with ``--efficientnet-weights`` and ``--photos``): the reference PyTorch
  model (``efficientnet_lite_pytorch``, ``--reference``), one photo, ``chelsea.png``,
  preprocessed as ``crates/ember-zoo/tests/fixtures/efficientnet/make_fixtures.py`` does (PIL
  ``convert('RGB')``, ``resize((224, 224), BILINEAR)``, CHW float32 ``(x − 127) / 128``), batch 1,
  target the predicted class: ``gradient-shap`` ``n_samples=50`` with the 4 baselines of
  ``efficientnet-lite0.safetensors`` (50 rows of 3 × 224 × 224 in one pass); ``blur-ig`` PAIR
  defaults with ``batch_size=1`` and ``batch_size=20``; ``guided-ig`` PAIR defaults (200 steps).
  ``--repeats`` is capped at 3 for it. Captum's one pass of 50 rows of 224 × 224 holds every
  activation for the backward: about 4.4 GiB above the process's 0.55 GiB (``peak_rss_mib``).

Each result: ``{"model", "method", "variant", "batch", <settings>, "median_ms", "times_ms",
"peak_rss_mib", "ember_args"}``. The settings are ``n_samples``/``stdevs`` (gradient-shap),
``steps``/``max_sigma``/``grad_step``/``sqrt``/``batch_size`` (blur-ig) and
``steps``/``fraction``/``max_dist``/``baseline`` (guided-ig); ``peak_rss_mib`` is the process's
peak resident memory so far (``ru_maxrss``; it only grows, so it bounds that row from above);
``ember_args`` the arguments of the ``ember bench`` command the row is paired with (below).
The JSON object on stdout: ``{"torch", "captum", "saliency", "numpy", "scipy", "threads",
"repeats", "cpu", "baselines_dir", "peak_rss_mib_before_timing", "efficientnet" (with
EfficientNet: photo, predicted target, repeats), "results"}``; progress goes to stderr.

How it matches ember
--------------------
- gradient-shap: ember draws 5 baselines per sample by default; the benchmark passes
  ``--samples 50``, Captum's ``n_samples=50``. ``stdevs=0.0``: ember's GradientSHAP adds no
  noise. Both draw from the same set, the file ``--write-baselines`` writes, given to ember as
  ``--baselines`` (ember's own default set, without ``--baselines``, is 64 training samples
  evenly spaced over the split, not the first 64). The draws themselves (which baseline, which
  α) are each library's own random streams.
- blur-ig: ember's defaults are PAIR's: 100 steps, σ_max 50, finite-difference step h = 0.01,
  linear spacing of σ.
- guided-ig: ember's defaults are PAIR's: 200 steps, fraction 0.25, max_dist 0.02, zero
  baseline.

The ``ember bench`` commands ``cargo xtask bench --vs-captum`` pairs with the rows (R the
repeats, DIR the ``--write-baselines`` folder, PTH the EfficientNet weights, PHOTOS the photos):

- ``ember bench --model M --method gradient-shap --samples 50 --baselines DIR/M.safetensors
  --batch 64 --repeats R --json`` (both gradient-shap variants; ember always computes the delta);
- ``ember bench --model cnn --method blur-ig --batch 64 --repeats R --json`` (both variants);
- ``ember bench --model M --method guided-ig --batch 64 --repeats R --json``;
- ``ember bench --model efficientnet-lite0 --weights PTH --images PHOTOS/chelsea.png --batch 1
  --method gradient-shap --samples 50 --baselines DIR/efficientnet-lite0.safetensors``, and the
  same with ``--method blur-ig`` (both variants) and ``--method guided-ig`` (no ``--samples``,
  no ``--baselines``).

Baselines (``--write-baselines DIR``, written before any timing; with ``--baselines-only``
nothing is timed): ``DIR/M.safetensors`` for each zoo model, a float32 tensor ``baselines``
``[64, *sample shape]``: the first 64 samples, in increasing index order, of the training split
(the complement of the test split ``captum_zoo.py`` reproduces; digits scaled by 1/16, breast
cancer standardised with the training part's statistics, as the test inputs);
``DIR/efficientnet-lite0.safetensors``, ``baselines`` ``[4, 3, 224, 224]`` float32: an all-zero
image and three N(0, 1) images (``numpy.random.default_rng(0).standard_normal((3, 3, 224,
224))`` cast to float32). The timing uses exactly these tensors (computed the same way when
``--write-baselines`` is not given).

PAIR saliency 0.2.1's Guided IG calls ``np.quantile(..., interpolation='lower')``, which numpy
2.4 removed: it needs numpy < 2.4 (the script checks, and says how to pin it).

Tried with Python 3.11.7, torch 2.9.0 (CPU), captum 0.9.0, saliency 0.2.1, numpy 2.3.5,
scipy 1.17.1, safetensors 0.8.0, Pillow 13.0.0.

Usage::

    PYTHONPATH=/path/to/numpy-2.3 python3 benches/captum_path.py --threads 2 --repeats 3 \\
        [--models mlp,cnn,tabular] [--methods gradient-shap,blur-ig,guided-ig] \\
        [--efficientnet-weights PTH --photos DIR [--reference DIR]] \\
        [--write-baselines DIR [--baselines-only]]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import resource
import statistics
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

import captum
from captum.attr import GradientShap

sys.path.insert(0, str(Path(__file__).resolve().parent))
from captum_zoo import (  # noqa: E402
    MODELS,
    SAMPLE_SHAPE,
    bench_inputs,
    build_model,
    read_csv,
    stratified_test_indices,
    timed,
)

warnings.filterwarnings("ignore", message="Input Tensor .* did not already require gradients")

ROOT = Path(__file__).resolve().parent.parent
EFFICIENTNET_FIXTURES = ROOT / "crates" / "ember-zoo" / "tests" / "fixtures" / "efficientnet"
METHODS = ("gradient-shap", "blur-ig", "guided-ig")
EFFICIENTNET = "efficientnet-lite0"

BATCH = 64  # ember bench --batch 64
BASELINES = 64  # zoo baselines: the first 64 training samples
SHAP_SAMPLES = 50  # ember bench --samples 50 (ember's gradient-shap default is 5)
BLUR = {"steps": 100, "max_sigma": 50.0, "grad_step": 0.01, "sqrt": False}  # PAIR = ember
GUIDED = {"steps": 200, "fraction": 0.25, "max_dist": 0.02}  # PAIR = ember
PHOTO = "chelsea.png"
EFFICIENTNET_MAX_REPEATS = 3


# --------------------------------------------------------------------------------------------
# Baselines


def train_split(model: str) -> np.ndarray:
    """The training inputs `[N, features]` (f32) of the model's dataset, in sample order, scaled
    as `captum_zoo.test_split` scales the test inputs (data.rs: digits / 16; breast cancer
    standardised with the training part's f64 mean and population std, stored as f32)."""
    if model in ("mlp", "cnn"):
        x, y = read_csv("digits.csv")
        train, _ = stratified_test_indices(y, 10)
        return (x / np.float32(16.0))[train]
    x, y = read_csv("breast_cancer.csv")
    train, _ = stratified_test_indices(y, 2)
    # The same Standardiser::fit as captum_zoo.test_split (f64, sample order, term by term).
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
    return (x[train] - mean32) / std32


def zoo_baselines(model: str) -> np.ndarray:
    """`[64, *sample shape]` f32: the first 64 training samples."""
    x = train_split(model)[:BASELINES]
    return np.ascontiguousarray(x.reshape((BASELINES, *SAMPLE_SHAPE[model])), dtype=np.float32)


def efficientnet_baselines() -> np.ndarray:
    """`[4, 3, 224, 224]` f32: zeros, then three N(0, 1) images from default_rng(0)."""
    noise = np.random.default_rng(0).standard_normal((3, 3, 224, 224)).astype(np.float32)
    return np.ascontiguousarray(
        np.concatenate([np.zeros((1, 3, 224, 224), dtype=np.float32), noise]))


def all_baselines() -> dict[str, np.ndarray]:
    out = {m: zoo_baselines(m) for m in MODELS}
    out[EFFICIENTNET] = efficientnet_baselines()
    return out


def write_baselines(directory: Path, baselines: dict[str, np.ndarray]) -> None:
    from safetensors.numpy import save_file

    directory.mkdir(parents=True, exist_ok=True)
    for name, values in baselines.items():
        path = directory / f"{name}.safetensors"
        save_file({"baselines": values}, str(path))
        print(f"wrote {path} baselines {list(values.shape)}", file=sys.stderr)


# --------------------------------------------------------------------------------------------
# PAIR's model interface


def pair_gradients(net: nn.Module, hwc: bool):
    """A PAIR `call_model_function`: d logit[target] / d input of a batch, in the batch's
    layout (NHWC images are fed to the model as NCHW), float32 torch inside."""
    from saliency.core import INPUT_OUTPUT_GRADIENTS

    def call(batch, call_model_args=None, expected_keys=None):
        target = call_model_args["target"]
        leaf = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).requires_grad_()
        inp = leaf.permute(0, 3, 1, 2).contiguous() if hwc else leaf
        out = net(inp)
        (grad,) = torch.autograd.grad(out[:, target].sum(), leaf)
        return {INPUT_OUTPUT_GRADIENTS: grad.numpy()}

    return call


def blur_ig_call(net, images_hwc: list[np.ndarray], targets: list[int], batch_size: int):
    from saliency.core import BlurIG

    blur, fn = BlurIG(), pair_gradients(net, hwc=True)

    def call():
        return [
            blur.GetMask(img, fn, call_model_args={"target": t}, max_sigma=BLUR["max_sigma"],
                         steps=BLUR["steps"], grad_step=BLUR["grad_step"], sqrt=BLUR["sqrt"],
                         batch_size=batch_size)
            for img, t in zip(images_hwc, targets)
        ]

    return call


def guided_ig_call(net, samples: list[np.ndarray], targets: list[int]):
    from saliency.core import GuidedIG

    guided, fn = GuidedIG(), pair_gradients(net, hwc=False)

    def call():
        return [
            guided.GetMask(s, fn, call_model_args={"target": t}, x_baseline=np.zeros_like(s),
                           x_steps=GUIDED["steps"], fraction=GUIDED["fraction"],
                           max_dist=GUIDED["max_dist"])
            for s, t in zip(samples, targets)
        ]

    return call


# --------------------------------------------------------------------------------------------
# Cases


def blur_settings(batch_size: int) -> dict:
    return {**BLUR, "batch_size": batch_size}


def guided_settings() -> dict:
    return {**GUIDED, "baseline": "zeros"}


def shap_settings() -> dict:
    return {"n_samples": SHAP_SAMPLES, "stdevs": 0.0}


def zoo_cases(model: str, methods: list[str], baselines: np.ndarray, bdir: str, repeats: int):
    """(method, variant, settings, ember args, call) of one zoo model."""
    x, y = bench_inputs(model, BATCH)
    net = build_model(model, False)
    targets = [int(t) for t in y]
    common = ["--batch", str(BATCH), "--repeats", str(repeats), "--json"]
    out = []
    if "gradient-shap" in methods:
        shap, b = GradientShap(net), torch.from_numpy(baselines)
        ember = ["bench", "--model", model, "--method", "gradient-shap", "--samples",
                 str(SHAP_SAMPLES), "--baselines", f"{bdir}/{model}.safetensors", *common]
        for variant, delta in (("default", False), ("return_convergence_delta", True)):
            out.append(("gradient-shap", variant, shap_settings(), ember,
                        lambda delta=delta: shap.attribute(
                            x, baselines=b, n_samples=SHAP_SAMPLES, stdevs=0.0, target=y,
                            return_convergence_delta=delta)))
    if "blur-ig" in methods and model == "cnn":
        images = [np.ascontiguousarray(s.numpy().transpose(1, 2, 0)) for s in x]  # [8, 8, 1]
        ember = ["bench", "--model", model, "--method", "blur-ig", *common]
        for bs in (1, BLUR["steps"]):
            out.append(("blur-ig", f"batch_size={bs}", blur_settings(bs), ember,
                        blur_ig_call(net, images, targets, bs)))
    if "guided-ig" in methods:
        samples = [s.numpy().astype(np.float64) for s in x]
        ember = ["bench", "--model", model, "--method", "guided-ig", *common]
        out.append(("guided-ig", "default", guided_settings(), ember,
                    guided_ig_call(net, samples, targets)))
    return out


def efficientnet_cases(args, methods: list[str], baselines: np.ndarray, bdir: str):
    from PIL import Image

    sys.path.insert(0, str(EFFICIENTNET_FIXTURES))
    from make_fixtures import import_reference

    _, EfficientNet = import_reference(args.reference)
    # A str (a Path would make the package download its own weights); it prints "Loaded
    # pretrained weights" on stdout, which must hold only the JSON.
    with contextlib.redirect_stdout(sys.stderr):
        net = EfficientNet.from_pretrained(EFFICIENTNET,
                                           weights_path=str(args.efficientnet_weights))
    net.eval()
    net.requires_grad_(False)
    img = Image.open(os.path.join(args.photos, PHOTO)).convert("RGB")
    hwc = np.asarray(img.resize((224, 224), Image.BILINEAR), dtype=np.uint8)
    hwc = (hwc.astype(np.float32) - 127.0) / 128.0  # [224, 224, 3]
    x = torch.from_numpy(np.ascontiguousarray(hwc.transpose(2, 0, 1)))[None]
    with torch.no_grad():
        target = int(net(x).argmax(dim=1))
    print(f"{EFFICIENTNET}: {PHOTO} predicted class {target}", file=sys.stderr)
    head = ["bench", "--model", EFFICIENTNET, "--weights", str(args.efficientnet_weights),
            "--images", os.path.join(args.photos, PHOTO), "--batch", "1"]
    out = []
    if "gradient-shap" in methods:
        shap, b = GradientShap(net), torch.from_numpy(baselines)
        out.append(("gradient-shap", "default", shap_settings(),
                    [*head, "--method", "gradient-shap", "--samples", str(SHAP_SAMPLES),
                     "--baselines", f"{bdir}/{EFFICIENTNET}.safetensors"],
                    lambda: shap.attribute(x, baselines=b, n_samples=SHAP_SAMPLES, stdevs=0.0,
                                           target=target)))
    if "blur-ig" in methods:
        for bs in (1, 20):
            out.append(("blur-ig", f"batch_size={bs}", blur_settings(bs),
                        [*head, "--method", "blur-ig"],
                        blur_ig_call(net, [np.ascontiguousarray(hwc)], [target], bs)))
    if "guided-ig" in methods:
        out.append(("guided-ig", "default", guided_settings(), [*head, "--method", "guided-ig"],
                    guided_ig_call(net, [x[0].numpy().astype(np.float64)], [target])))
    return out, target


def peak_rss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)  # KiB on Linux


def run_cases(model: str, batch: int, cases, repeats: int) -> list[dict]:
    results = []
    for method, variant, settings, ember, call in cases:
        times = timed(call, repeats)
        median = statistics.median(times)
        results.append({
            "model": model,
            "method": method,
            "variant": variant,
            "batch": batch,
            **settings,
            "median_ms": round(median, 4),
            "times_ms": [round(t, 4) for t in times],
            "peak_rss_mib": peak_rss_mib(),
            "ember_args": ember,
        })
        print(f"{model} {method} {variant}: {median:.1f} ms (peak RSS {peak_rss_mib()} MiB)",
              file=sys.stderr)
    return results


def check_numpy() -> None:
    major, minor = (int(p) for p in np.__version__.split(".")[:2])
    if (major, minor) >= (2, 4):
        sys.exit(
            f"numpy {np.__version__}: PAIR saliency 0.2.1's Guided IG calls "
            "np.quantile(..., interpolation='lower'), which numpy 2.4 removed. Run with "
            "numpy < 2.4: `pip install 'numpy<2.4'` in this environment (or a copy of it), or "
            "`pip install --target DIR 'numpy==2.3.5'` and run with PYTHONPATH=DIR; or leave "
            "guided-ig out with --methods gradient-shap,blur-ig."
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", default=",".join(MODELS),
                        help="zoo models to time (empty: none)")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--efficientnet-weights", type=Path,
                        help="efficientnet-lite0-57934424.pth: also time EfficientNet-Lite0")
    parser.add_argument("--photos", help="the folder holding chelsea.png")
    parser.add_argument("--reference",
                        help="the folder holding the efficientnet_lite_pytorch package")
    parser.add_argument("--write-baselines", type=Path, metavar="DIR",
                        help="write the baselines files ember bench --baselines reads")
    parser.add_argument("--baselines-only", action="store_true",
                        help="with --write-baselines: write them and time nothing")
    args = parser.parse_args()
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    for m in models:
        if m not in MODELS:
            parser.error(f"unknown model {m!r}: expected {', '.join(MODELS)}")
    for m in methods:
        if m not in METHODS:
            parser.error(f"unknown method {m!r}: expected {', '.join(METHODS)}")
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    if args.efficientnet_weights and not args.photos:
        parser.error("--efficientnet-weights needs --photos")
    if args.baselines_only and not args.write_baselines:
        parser.error("--baselines-only needs --write-baselines")

    baselines = all_baselines()
    if args.write_baselines:
        write_baselines(args.write_baselines, baselines)
    bdir = str(args.write_baselines) if args.write_baselines else "BASELINES_DIR"
    if args.baselines_only:
        json.dump({"baselines_dir": bdir,
                   "baselines": {k: list(v.shape) for k, v in baselines.items()}}, sys.stdout)
        print()
        return
    if "guided-ig" in methods:
        check_numpy()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    np.random.seed(0)  # Captum's GradientShap draws its baselines with numpy

    import importlib.metadata

    import scipy

    rss_start = peak_rss_mib()
    results = []
    for model in models:
        cases = zoo_cases(model, methods, baselines[model], bdir, args.repeats)
        results += run_cases(model, BATCH, cases, args.repeats)
    efficientnet = {}
    if args.efficientnet_weights:
        repeats = min(args.repeats, EFFICIENTNET_MAX_REPEATS)
        cases, target = efficientnet_cases(args, methods, baselines[EFFICIENTNET], bdir)
        for _, _, _, ember, _ in cases:
            ember += ["--repeats", str(repeats), "--json"]
        results += run_cases(EFFICIENTNET, 1, cases, repeats)
        efficientnet = {"photo": PHOTO, "target": target, "repeats": repeats}

    cpu = next(
        (line.split(":", 1)[1].strip()
         for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        "unknown",
    ) if Path("/proc/cpuinfo").exists() else "unknown"
    json.dump({
        "torch": torch.__version__,
        "captum": captum.__version__,
        "saliency": importlib.metadata.version("saliency"),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "threads": torch.get_num_threads(),
        "repeats": args.repeats,
        "cpu": cpu,
        "baselines_dir": bdir,
        "peak_rss_mib_before_timing": rss_start,
        **({"efficientnet": efficientnet} if efficientnet else {}),
        "results": results,
    }, sys.stdout)
    print()


if __name__ == "__main__":
    main()
