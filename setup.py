"""Build the compiled core: the Cython extensions and an OpenMP probe.

Metadata lives in pyproject.toml. OpenMP is used when the compiler can build and
link a tiny OpenMP program with one of the flag sets its family knows; otherwise
the core builds single-threaded.

Environment variables read here:
  FASTMLP_NO_OPENMP=1  build single-threaded without probing
  FASTMLP_PORTABLE=1   leave out the x86-only C paths of csrc/ (the AVX2/AVX-512
                       clones and the AVX-512 loop): the code a build for another
                       architecture compiles, built on this one
  FASTMLP_ANNOTATE=1   write Cython's HTML annotation beside the sources
"""
import os
import shlex
import sys
import tempfile

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.errors import CompileError, LinkError

# The compiled modules: fastmlp/_core/<name>.pyx each.
MODULES = ["_kernels", "_engine", "_layout", "_team", "_network", "_updates", "_epoch"]

CYTHON_DIRECTIVES = {
    "language_level": 3,
    "boundscheck": False,
    "wraparound": False,
    "cdivision": True,
    "initializedcheck": False,
    "nonecheck": False,
    "embedsignature": True,
}

# Per compiler family: flags that change no result. -fno-math-errno lets sqrt
# vectorise, and -fno-trapping-math lets a loop compute a product it then discards
# (relu's mask: a != 0 ? x * y : 0), which GCC otherwise vectorises only with
# AVX-512's masked arithmetic. Neither changes a result (not -ffast-math): nothing
# here reads the floating-point exception flags. -ffp-contract=off keeps a * b + c
# two roundings, in the AVX2/AVX-512 builds of csrc/fastmlp_elementwise.h too and
# on aarch64, where GCC contracts by default, so every CPU gives the same bits.
# MSVC contracts only when asked to (/fp:contract).
COMPILE_ARGS = {
    "unix": ["-O3", "-fno-math-errno", "-fno-trapping-math", "-ffp-contract=off"],
    "msvc": ["/O2"],
}

# Per compiler family, the OpenMP flags to try in order: (compile, link).
OPENMP_FLAGS = {
    "unix": [
        (["-fopenmp"], ["-fopenmp"]),                   # GCC, LLVM clang
        (["-Xpreprocessor", "-fopenmp"], ["-lomp"]),    # Apple clang with libomp
    ],
    "msvc": [(["/openmp"], [])],
}

# A parallel region and a call into the runtime, so that both the flags and the
# runtime library are checked.
OPENMP_PROBE = r"""
#include <omp.h>
int main(void) {
    int n = 0;
    #pragma omp parallel reduction(+:n)
    n += 1;
    return n > 0 && omp_get_max_threads() > 0 ? 0 : 1;
}
"""


class build_ext_fastmlp(build_ext):
    """Build the extensions with the flags of the compiler at hand, and put a copy
    beside their sources as `build_ext --inplace` does: `python -m fastmlp` run in
    the repository root imports the checkout's fastmlp/ before the installed one,
    and then finds its compiled core there too. The copies are build products:
    .gitignore keeps them out."""

    def build_extensions(self):
        family = "msvc" if self.compiler.compiler_type == "msvc" else "unix"
        omp_compile, omp_link = self.openmp_flags(family)
        macros = [("FASTMLP_PORTABLE", "1")] if os.environ.get("FASTMLP_PORTABLE") else []
        for ext in self.extensions:
            ext.extra_compile_args = COMPILE_ARGS[family] + omp_compile
            ext.extra_link_args = omp_link
            ext.define_macros = ext.define_macros + macros
        super().build_extensions()

    def run(self):
        super().run()
        if not self.inplace:
            self.copy_extensions_to_source()

    def openmp_flags(self, family):
        """(compile_args, link_args) enabling OpenMP, or empty lists without it."""
        if not os.environ.get("FASTMLP_NO_OPENMP"):
            for compile_args, link_args in OPENMP_FLAGS[family]:
                if self.builds(OPENMP_PROBE, compile_args, link_args):
                    print(f"fastmlp: OpenMP with {' '.join(compile_args)}", file=sys.stderr)
                    return compile_args, link_args
        print("fastmlp: OpenMP not available, building single-threaded", file=sys.stderr)
        return [], []

    def builds(self, source, compile_args, link_args):
        """Whether the compiler compiles and links the C program `source` (with
        LDFLAGS, which the extensions' link takes too and an executable's not)."""
        link_args = link_args + shlex.split(os.environ.get("LDFLAGS", ""))
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "probe.c")
            with open(path, "w") as f:
                f.write(source)
            try:
                objects = self.compiler.compile([path], output_dir=tmp,
                                                extra_postargs=compile_args)
                self.compiler.link_executable(objects, "probe", output_dir=tmp,
                                              extra_postargs=link_args)
            except (CompileError, LinkError):
                return False
        return True


def extensions():
    return [
        Extension(
            f"fastmlp._core.{name}",
            [f"fastmlp/_core/{name}.pyx"],
            include_dirs=[numpy.get_include(), "csrc"],
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_9_API_VERSION")],
        )
        for name in MODULES
    ]


setup(
    cmdclass={"build_ext": build_ext_fastmlp},
    ext_modules=cythonize(
        extensions(),
        compiler_directives=CYTHON_DIRECTIVES,
        annotate=bool(os.environ.get("FASTMLP_ANNOTATE")),
    ),
)
