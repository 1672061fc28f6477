"""Build the compiled core: the Cython extensions and an OpenMP probe.

Metadata lives in pyproject.toml. OpenMP is used when the compiler can build and
link a tiny OpenMP program; otherwise the core builds single-threaded.
"""
import os
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

OPENMP_PROBE = r"""
#include <omp.h>
int main(void) {
    int n = 0;
    #pragma omp parallel reduction(+:n)
    n += 1;
    return n > 0 ? 0 : 1;
}
"""

CYTHON_DIRECTIVES = {
    "language_level": 3,
    "boundscheck": False,
    "wraparound": False,
    "cdivision": True,
    "initializedcheck": False,
    "nonecheck": False,
    "embedsignature": True,
}


def openmp_flags():
    """Return (compile_args, link_args) enabling OpenMP, or empty lists without it."""
    if os.environ.get("FASTMLP_NO_OPENMP"):
        return [], []
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "probe.c"
        src.write_text(OPENMP_PROBE)
        cmd = cc.split() + ["-fopenmp", str(src), "-o", str(Path(tmp) / "probe")]
        try:
            ok = subprocess.run(cmd, capture_output=True).returncode == 0
        except OSError:
            ok = False
    if not ok:
        print("fastmlp: OpenMP not available, building single-threaded", file=sys.stderr)
        return [], []
    return ["-fopenmp"], ["-fopenmp"]


class build_ext_beside_sources(build_ext):
    """Build the extensions, and put a copy beside their sources as
    `build_ext --inplace` does: `python -m fastmlp` run in the repository root
    imports the checkout's fastmlp/ before the installed one, and then finds its
    compiled core there too. The copies are build products: .gitignore keeps them out."""

    def run(self):
        super().run()
        if not self.inplace:
            self.copy_extensions_to_source()


def extensions():
    compile_args, link_args = openmp_flags()
    modules = ["_kernels", "_layout", "_team", "_network", "_updates", "_epoch"]
    return [
        Extension(
            f"fastmlp._core.{name}",
            [f"fastmlp/_core/{name}.pyx"],
            include_dirs=[numpy.get_include(), "csrc"],
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_9_API_VERSION")],
            # -fno-math-errno lets sqrt vectorise, and -fno-trapping-math lets a loop
            # compute a product it then discards (relu's mask: a != 0 ? x * y : 0),
            # which GCC otherwise vectorises only with AVX-512's masked arithmetic.
            # Neither changes a result (not -ffast-math): nothing here reads the
            # floating-point exception flags. -ffp-contract=off keeps a * b + c two
            # roundings in the AVX2/AVX-512 builds of csrc/fastmlp_elementwise.h too,
            # so every CPU gives the same bits.
            extra_compile_args=["-O3", "-fno-math-errno", "-fno-trapping-math",
                                "-ffp-contract=off"] + compile_args,
            extra_link_args=link_args,
        )
        for name in modules
    ]


setup(
    cmdclass={"build_ext": build_ext_beside_sources},
    ext_modules=cythonize(
        extensions(),
        compiler_directives=CYTHON_DIRECTIVES,
        annotate=bool(os.environ.get("FASTMLP_ANNOTATE")),
    )
)
