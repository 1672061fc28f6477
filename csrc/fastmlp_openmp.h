/* OpenMP shim: the real runtime when the compiler supports OpenMP, a
 * single-threaded stand-in otherwise, so the package always builds.
 * Cython's prange compiles to plain loops when _OPENMP is not defined. */
#ifndef FASTMLP_OPENMP_H
#define FASTMLP_OPENMP_H

#ifdef _OPENMP
#include <omp.h>
#else
static inline int omp_get_max_threads(void) { return 1; }
#endif

#endif
