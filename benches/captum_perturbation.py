#!/usr/bin/env python3
"""Times Captum's perturbation methods on ember's three zoo models, with ``ember bench``'s
settings.

What it measures
----------------
For each zoo model (``mlp``, ``cnn``, ``tabular``), the same weights, inputs and targets as
``benches/captum_zoo.py`` (``ember bench --batch 64``: the first 64 test samples, their
labels), on the CPU with ``torch.set_num_threads(--threads)``, one warm-up then ``--repeats``
calls each, the median wall time of a call in milliseconds, for the settings ember's registry
uses by default (``crates/ember-methods/src/registry/settings.rs`` and each method's file):

- ``occlusion``: Captum's ``Occlusion``, zero baseline, the window ember picks for the input
  (``occlusion.rs`` ``shapes()``: one element for ``[N, F]`` tables, ``(1, 2, 2)`` with strides
  ``(1, 1, 1)`` for the 8 × 8 digits);
- ``feature-ablation``: ``FeatureAblation``, zero baseline, one group per element (Captum's
  default mask, and ember's ``FeatureMask::default_for`` on these inputs);
- ``shapley-value-sampling``: ``ShapleyValueSampling``, 50 permutations (``n_samples``);
- ``kernel-shap``: ``KernelShap``, 50 coalitions;
- ``lime``: ``Lime`` with Captum's defaults (``SkLearnLasso(alpha=0.01)``, exponential cosine
  kernel of width 1 in input space), 50 coalitions: ember's ``LimeConfig`` defaults.

Each method is timed with ``perturbations_per_eval`` giving forwards of about 128 rows (ember's
CPU rows per pass, ``kernel/budget.rs`` ``CPU_MAX_ROWS``) and with every perturbation of a call
in one forward (Shapley value sampling only the latter, its faster); the caller takes the faster, so that a speed-up is never flattered by a slow
setting of Captum. Captum's ``KernelShap`` and ``Lime`` explain the batch one example at a time
(``_batch_example_iterator``): their 128-row variant is ``perturbations_per_eval = 50``, every
coalition of one example in one forward.

It prints one JSON object on stdout: ``{"torch", "captum", "sklearn", "threads", "results"}``,
each result ``{"model", "method", "batch", "perturbations_per_eval", "median_ms", "times_ms"}``.

Tried with Python 3.11.7, torch 2.9.0 (CPU), captum 0.9.0, scikit-learn (see the JSON).

Usage::

    python3 benches/captum_perturbation.py --threads 2 --repeats 3 [--models mlp,cnn,tabular]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import warnings
from pathlib import Path

import torch

import captum
from captum.attr import FeatureAblation, KernelShap, Lime, Occlusion, ShapleyValueSampling

sys.path.insert(0, str(Path(__file__).resolve().parent))
from captum_zoo import MODELS, ROWS_PER_PASS, SAMPLE_SHAPE, bench_inputs, build_model, timed  # noqa: E402

warnings.filterwarnings("ignore")

SAMPLES = 50  # registry/settings.rs: the sampled methods' default


def window(model: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """occlusion.rs `shapes()`: ember's default window and strides for the model's input."""
    shape = SAMPLE_SHAPE[model]
    if len(shape) == 3:
        c, h, w = shape
        k = lambda d: min(max(2, -(-d // 15)), max(d, 1))  # noqa: E731
        kh, kw = k(h), k(w)
        return (c, kh, kw), (c, -(-kh // 2), -(-kw // 2))
    return (1,) * len(shape), (1,) * len(shape)


def windows(model: str) -> int:
    """Captum's number of occlusion windows: the product of ⌈(D − w)/s⌉ + 1."""
    w, s = window(model)
    count = 1
    for d, k, st in zip(SAMPLE_SHAPE[model], w, s):
        count *= -(-(d - k) // st) + 1
    return count


def cases(model: str, net, x, y, batch: int) -> list[tuple[str, int, object]]:
    per_pass = max(1, ROWS_PER_PASS // batch)
    features = 1
    for d in SAMPLE_SHAPE[model]:
        features *= d
    w, s = window(model)
    occlusion, ablation = Occlusion(net), FeatureAblation(net)
    svs, kshap, lime = ShapleyValueSampling(net), KernelShap(net), Lime(net)
    out = []
    for ppe in sorted({per_pass, windows(model)}):
        out.append(("occlusion", ppe, lambda ppe=ppe: occlusion.attribute(
            x, sliding_window_shapes=w, strides=s, baselines=0, target=y,
            perturbations_per_eval=ppe)))
    for ppe in sorted({per_pass, features}):
        out.append(("feature-ablation", ppe, lambda ppe=ppe: ablation.attribute(
            x, baselines=0, target=y, perturbations_per_eval=ppe)))
    # Shapley value sampling in forwards of ~128 rows is several times slower (20.6 s against
    # 9.2 s per call on the cnn, measured once): only its fastest setting is timed.
    out.append(("shapley-value-sampling", features, lambda: svs.attribute(
        x, baselines=0, target=y, n_samples=SAMPLES, perturbations_per_eval=features)))
    for ppe in (1, SAMPLES):
        out.append(("kernel-shap", ppe, lambda ppe=ppe: kshap.attribute(
            x, baselines=0, target=y, n_samples=SAMPLES, perturbations_per_eval=ppe)))
        out.append(("lime", ppe, lambda ppe=ppe: lime.attribute(
            x, baselines=0, target=y, n_samples=SAMPLES, perturbations_per_eval=ppe)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    for m in models:
        if m not in MODELS:
            parser.error(f"unknown model {m!r}: expected {', '.join(MODELS)}")
    if args.repeats < 1 or args.batch < 1:
        parser.error("--repeats and --batch must be at least 1")
    torch.set_num_threads(args.threads)
    import sklearn

    results = []
    for model in models:
        x, y = bench_inputs(model, args.batch)
        net = build_model(model, False)
        for method, ppe, call in cases(model, net, x, y, args.batch):
            with torch.no_grad():
                times = timed(call, args.repeats)
            median = statistics.median(times)
            print(f"{model} {method} perturbations_per_eval={ppe}: {median:.1f} ms", file=sys.stderr)
            results.append({
                "model": model,
                "method": method,
                "batch": args.batch,
                "perturbations_per_eval": ppe,
                "median_ms": round(median, 4),
                "times_ms": [round(t, 4) for t in times],
            })
    json.dump({
        "torch": torch.__version__,
        "captum": captum.__version__,
        "sklearn": sklearn.__version__,
        "threads": torch.get_num_threads(),
        "repeats": args.repeats,
        "results": results,
    }, sys.stdout)
    print()


if __name__ == "__main__":
    main()
