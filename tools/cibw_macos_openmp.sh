#!/usr/bin/env bash
# cibuildwheel's before-all on macOS: LLVM's OpenMP runtime (conda-forge's
# llvm-openmp, built for old macOS releases, as scikit-learn's wheels take it) in
# the prefix $1, for Apple clang to build against and delocate to vendor.
#
#   bash tools/cibw_macos_openmp.sh /tmp/fastmlp-openmp
#
# The runtime is the runner's architecture's (the wheels are built natively, on an
# x86_64 and an arm64 runner). Needs conda, mamba or micromamba on the runner.
set -euo pipefail
prefix="$1"
for tool in micromamba mamba conda; do
    if command -v "$tool" >/dev/null; then
        "$tool" create --yes --prefix "$prefix" \
            --override-channels --channel conda-forge "llvm-openmp>=14"
        ls "$prefix/lib/libomp.dylib" "$prefix/include/omp.h"
        exit 0
    fi
done
echo "no conda, mamba or micromamba to install llvm-openmp with" >&2
exit 1
