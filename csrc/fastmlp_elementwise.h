/* The elementwise loops of the relu layers, the outer product through relu's mask
 * and the sum of squares, built for
 * AVX-512, AVX2 and the baseline, the CPU choosing at load time (GCC's
 * target_clones).
 *
 * A portable build vectorises them two doubles (or four floats) at a time; here
 * they run 8 to 16 at a time. Each element's result is the same whichever clone
 * runs: relu and its mask are exact, and a column sum adds the rows in their order
 * (the vectors run across the columns). No contraction into FMA is possible.
 */
#ifndef FASTMLP_ELEMENTWISE_H
#define FASTMLP_ELEMENTWISE_H

#include <stddef.h>

#include "fastmlp_clones.h"

/* Ask for the cache lines of `bytes` bytes at p ahead of their use: rows gathered
 * from a large X in random order come from far caches one by one otherwise. */
static inline void fastmlp_prefetch(const void* p, size_t bytes)
{
#if defined(__GNUC__)
    for (size_t off = 0; off < bytes; off += 64)
        __builtin_prefetch((const char*) p + off);
#else
    (void) p; (void) bytes;
#endif
}

#define FASTMLP_ELEMENTWISE(T)                                                        \
    /* z <- relu(z + b) over a row-major (rows, n) block; b has length n. A NaN      \
     * stays NaN (not (v <= 0)), as np.maximum keeps it. */                          \
    FASTMLP_CLONES static void fastmlp_bias_relu_##T(T* __restrict z,                \
                                                     const T* __restrict b,          \
                                                     ptrdiff_t rows, ptrdiff_t n)    \
    {                                                                                 \
        for (ptrdiff_t r = 0; r < rows; r++) {                                        \
            T* row = z + r * n;                                                       \
            for (ptrdiff_t j = 0; j < n; j++) {                                       \
                T v = row[j] + b[j];                                                  \
                row[j] = v <= 0 ? 0 : v;                                              \
            }                                                                         \
        }                                                                             \
    }                                                                                 \
    /* delta <- delta * relu'(z) = delta where a = relu(z) != 0, else 0 */           \
    FASTMLP_CLONES static void fastmlp_relu_backward_##T(T* __restrict delta,        \
                                                         const T* __restrict a,      \
                                                         ptrdiff_t size)             \
    {                                                                                 \
        for (ptrdiff_t i = 0; i < size; i++)                                          \
            delta[i] = a[i] != 0 ? delta[i] : 0;                                      \
    }                                                                                 \
    /* out[k] = x[0, k] + x[1, k] + ... + x[rows-1, k], in that order */             \
    FASTMLP_CLONES static void fastmlp_column_sums_##T(const T* __restrict x,        \
                                                       ptrdiff_t rows, ptrdiff_t n,  \
                                                       T* __restrict out)            \
    {                                                                                 \
        for (ptrdiff_t k = 0; k < n; k++)                                             \
            out[k] = 0;                                                               \
        for (ptrdiff_t r = 0; r < rows; r++)                                          \
            for (ptrdiff_t k = 0; k < n; k++)                                         \
                out[k] += x[r * n + k];                                               \
    }

/* The outer product of a column and a row through relu's derivative, in one pass: c[i, j] =
 * x[i] * y[j] where a[i, j] = relu(z) != 0, else 0; a and c (m, n) row-major.
 * The delta of a relu layer feeding a one-unit layer. */
#define FASTMLP_OUTER_RELU(T)                                                         \
    FASTMLP_CLONES static void fastmlp_outer_relu_##T(const T* x, const T* y,         \
                                                      const T* a, ptrdiff_t m,        \
                                                      ptrdiff_t n, T* __restrict c)   \
    {                                                                                 \
        for (ptrdiff_t i = 0; i < m; i++) {                                           \
            T xi = x[i];                                                              \
            for (ptrdiff_t j = 0; j < n; j++)                                         \
                c[i * n + j] = a[i * n + j] != 0 ? xi * y[j] : 0;                     \
        }                                                                             \
    }

/* x[0]^2 + ... + x[n-1]^2 in double: eight partial sums, lane j taking x[j],
 * x[j + 8], ... in order, added lane after lane, then the last elements in order;
 * the same bits whichever clone runs. The L2 penalty's ||W||^2. */
#define FASTMLP_SUM_SQUARES(T)                                                        \
    FASTMLP_CLONES static double fastmlp_sum_squares_##T(const T* x, ptrdiff_t n)    \
    {                                                                                 \
        double s[8] = {0, 0, 0, 0, 0, 0, 0, 0}, t = 0;                                \
        ptrdiff_t i = 0;                                                              \
        for (; i + 8 <= n; i += 8)                                                    \
            for (int j = 0; j < 8; j++)                                               \
                s[j] += (double) x[i + j] * (double) x[i + j];                        \
        for (int j = 0; j < 8; j++)                                                   \
            t += s[j];                                                                \
        for (; i < n; i++)                                                            \
            t += (double) x[i] * (double) x[i];                                       \
        return t;                                                                     \
    }

FASTMLP_SUM_SQUARES(float)
FASTMLP_SUM_SQUARES(double)
FASTMLP_OUTER_RELU(float)
FASTMLP_OUTER_RELU(double)
FASTMLP_ELEMENTWISE(float)
FASTMLP_ELEMENTWISE(double)

#endif
