#!/usr/bin/env bash
# Install archlab into ./.venv from the package index, offline-safe.
# torch is installed first and pinned to the CPU build (2.13.0): an unpinned
# torch would pull several GB of CUDA wheels.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -e ".[dev]"
echo "archlab installed in $(pwd)/.venv"
