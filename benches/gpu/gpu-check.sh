#!/usr/bin/env bash
# ember's GPU check: run it in a bundle made by `cargo xtask gpu-bundle DIR`, on a machine with
# a GPU (no Rust, no network needed). Writes report.json and summary.txt into OUT (the first
# argument, else $OUT, else ./out beside this script); the other arguments go to gpu_check.py
# (--quick, --device vulkan, --loader-dir DIR, --deadline SECONDS, --python PATH).
#
#   ./gpu-check.sh /tmp/ember-gpu            # about 5 minutes on a data-centre GPU
#   ./gpu-check.sh /tmp/ember-gpu --quick    # a smoke test
set -u
here="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-$here/out}"
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then
  out="$1"
  shift
fi
python="${EMBER_PYTHON:-python3}"
if ! command -v "$python" >/dev/null; then
  echo "gpu-check: $python not found (set EMBER_PYTHON to a Python 3 that has torch)" >&2
  exit 2
fi
mkdir -p "$out"
exec "$python" "$here/gpu_check.py" --bundle "$here" --out "$out" --python "$python" "$@"
