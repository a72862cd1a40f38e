#!/usr/bin/env python3
"""Checks that two `ember` binaries give the same outputs: the one built before a change that
must not change behaviour, and the one after.

    python3 scripts/same_outputs.py BEFORE/ember AFTER/ember [--minilm DIR] [--efficientnet PTH]

It runs the same commands with both binaries, each into its own folder, and compares:
`ember attribute`'s safetensors files (every tensor, bit for bit, and the metadata),
`ember sample`'s files, `ember compare --json`'s results.json (equal except the keys named
`time_ms` and the paths of the output folder) and `ember similarity --json`'s output. It
prints one line per command and exits 1 if any differs. Needs only Python's standard library.
The real models run when their weights are given (the paths `.ci/run` downloads).
"""

import argparse
import json
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

PHOTOS = sorted(str(p) for p in (Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "photos").glob("*"))


def read_safetensors(path):
    data = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    body = data[8 + n :]
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, info in header.items():
        a, b = info["data_offsets"]
        tensors[name] = (info["dtype"], info["shape"], body[a:b])
    return meta, tensors


def strip_times(value):
    if isinstance(value, dict):
        return {k: strip_times(v) for k, v in value.items() if k != "time_ms"}
    if isinstance(value, list):
        return [strip_times(v) for v in value]
    return value


def commands(args):
    """(label, argv with {out} for the output folder, kind of output, output file)."""
    out = []
    for model in ["mlp", "cnn", "tabular"]:
        out.append((f"sample {model}", ["sample", "--model", model, "--count", "4", "--out", "{out}/in.safetensors"], "file", "in.safetensors"))
    methods = [
        "saliency", "saliency-abs", "input-x-gradient", "integrated-gradients", "smoothgrad",
        "smoothgrad-squared", "vargrad", "vargrad:integrated-gradients",
    ]
    layer_methods = ["grad-cam", "layer-gradient", "layer-gradient-x-activation", "layer-integrated-gradients"]
    for model, layer in [("mlp", "2"), ("cnn", "3"), ("tabular", "0")]:
        prep = ["sample", "--model", model, "--count", "4", "--out", "{out}/in.safetensors"]
        for method in methods + [m for m in layer_methods if model == "cnn" or m != "grad-cam"]:
            argv = ["attribute", "--model", model, "--inputs", "{out}/in.safetensors", "--method", method,
                    "--steps", "16", "--samples", "8", "--target", "file", "--out", "{out}/maps.safetensors"]
            if method in layer_methods:
                argv += ["--layer", layer]
            out.append((f"attribute {model} {method}", [prep, argv], "file", "maps.safetensors"))
    # The adaptive mode, several targets, a baseline from a constant.
    out.append(("attribute cnn ig adaptive", [
        ["sample", "--model", "cnn", "--count", "3", "--out", "{out}/in.safetensors"],
        ["attribute", "--model", "cnn", "--inputs", "{out}/in.safetensors", "--method", "ig", "--tolerance", "0.01",
         "--target", "2,7", "--baseline", "0.5", "--out", "{out}/maps.safetensors"]], "file", "maps.safetensors"))
    out.append(("attribute mlp f64 ndarray", [
        ["sample", "--model", "mlp", "--count", "3", "--out", "{out}/in.safetensors"],
        ["attribute", "--model", "mlp", "--inputs", "{out}/in.safetensors", "--method", "ixg", "--dtype", "f64",
         "--device", "ndarray", "--out", "{out}/maps.safetensors"]], "file", "maps.safetensors"))
    for model in ["mlp", "cnn", "tabular"]:
        out.append((f"compare {model}", ["compare", "--model", model, "--examples", "4", "--json", "--out", "{out}/report"], "json", None))
    if args.efficientnet:
        out.append(("compare efficientnet-lite0", ["compare", "--model", "efficientnet-lite0", "--weights", args.efficientnet,
                    "--images", *PHOTOS[:2], "--methods", "saliency,input-x-gradient,integrated-gradients,smoothgrad,grad-cam",
                    "--steps", "8", "--samples", "4", "--perturbations", "1", "--curve-steps", "4", "--json", "--out", "{out}/report"], "json", None))
        out.append(("sample + attribute efficientnet-lite0 grad-cam", [
            ["sample", "--model", "efficientnet-lite0", "--weights", args.efficientnet, "--images", PHOTOS[0], "--out", "{out}/in.safetensors"],
            ["attribute", "--model", "efficientnet-lite0", "--weights", args.efficientnet, "--inputs", "{out}/in.safetensors",
             "--method", "grad-cam", "--layer", "features", "--target", "file", "--out", "{out}/maps.safetensors"]], "file", "maps.safetensors"))
    if args.minilm:
        out.append(("similarity all", ["similarity", "--model", args.minilm, "--text", "Where can I buy fresh bread near the station?",
                    "--reference", "A bakery close to the train station", "--method", "all", "--steps", "8", "--samples", "4",
                    "--json", "{out}/similarity.json"], "jsonfile", "similarity.json"))
    return out


def run(binary, argv, folder):
    steps = argv if isinstance(argv[0], list) else [argv]
    stdout = b""
    for step in steps:
        cmd = [binary] + [a.replace("{out}", str(folder)) for a in step]
        done = subprocess.run(cmd, capture_output=True)
        if done.returncode != 0:
            return None, done.stderr.decode(errors="replace").strip()
        stdout = done.stdout
    return stdout, None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--minilm")
    parser.add_argument("--efficientnet")
    args = parser.parse_args()
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i, (label, argv, kind, name) in enumerate(commands(args)):
            folders = [Path(tmp) / f"{i}-before", Path(tmp) / f"{i}-after"]
            outputs = []
            for binary, folder in zip([args.before, args.after], folders):
                folder.mkdir()
                outputs.append(run(binary, argv, folder))
            errors = [e for _, e in outputs]
            if any(errors):
                same = errors[0] == errors[1]
                print(f"{'same' if same else 'DIFFERENT'} error: {label}: {errors}")
                failures += not same
                continue
            if kind == "file":
                a, b = (read_safetensors(f / name) for f in folders)
                same = a == b
                detail = "" if same else f" (metadata {a[0]} vs {b[0]}; tensors {sorted(a[1])} vs {sorted(b[1])})"
            elif kind == "jsonfile":
                a, b = (json.loads((f / name).read_text()) for f in folders)
                same = strip_times(a) == strip_times(b)
                detail = ""
            else:
                a, b = (json.loads(o.decode().replace(str(f), "{out}")) for (o, _), f in zip(outputs, folders))
                same = strip_times(a) == strip_times(b)
                detail = ""
            print(f"{'same' if same else 'DIFFERENT'}: {label}{detail}")
            failures += not same
    print(f"{failures} difference(s)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
