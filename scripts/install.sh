#!/usr/bin/env bash
# Install archlab into ./.venv from the package index, offline-safe at run time.
#
# System tools first (Debian packages): bubblewrap (the sandbox's jail), headless
# chromium (the report's browser test), git (one commit per experiment), and
# python3-venv when the interpreter cannot make a venv. Run as root, this installs
# the missing ones with apt-get; otherwise it says in one line what to install.
# Then torch, pinned to the CPU build (2.13.0; an unpinned torch would pull several
# GB of CUDA wheels), then archlab with its dev extras.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

missing=()
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || missing+=(chromium)
command -v git >/dev/null 2>&1 || missing+=(git)
"$PY" -c "import ensurepip" >/dev/null 2>&1 || [ -x .venv/bin/python ] || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "archlab needs these system packages; install them (Debian: sudo apt-get install ${missing[*]}) and run this again" >&2
    exit 1
  fi
fi

if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -e ".[dev]"

# Can this kernel make the sandbox's jail? (Some containers refuse user namespaces.)
if ! bwrap --unshare-all --die-with-parent --ro-bind /usr /usr --symlink usr/lib /lib --symlink usr/lib64 /lib64 \
     --proc /proc --dev /dev true >/dev/null 2>&1; then
  echo "warning: bubblewrap cannot create a jail here (user namespaces refused?); archlab will refuse model-written modules unless run with --unsafe-sandbox (see docs/SANDBOX.md)" >&2
fi
echo "archlab installed in $(pwd)/.venv"
