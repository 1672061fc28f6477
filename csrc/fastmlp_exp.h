/* exp, and the activations made of it (logistic, softmax, the Poisson output's
 * exp), in loops the compiler vectorises: the C library's exp is one call per
 * element. Built for AVX-512, AVX2 and the baseline like csrc/fastmlp_elementwise.h;
 * every build makes the same IEEE operations in the same order (no contraction
 * into FMA: -ffp-contract=off), so every CPU gives the same bits.
 *
 * exp(x) = 2^n exp(r) with x = n ln2 + r, |r| <= ln2 / 2: n by rounding x / ln2
 * (the 1.5 * 2^52 shift, which leaves n in the low bits), r with ln2 in two parts
 * (Cody and Waite), exp(r) by its Taylor series (to r^13 in double: truncation
 * below 5e-18; to r^7 in float: below 6e-9), and 2^n in two factors, so that a
 * result in the subnormal range is rounded once. Within 1 ulp of the correctly
 * rounded exp; exact at 0, overflow to infinity, underflow to 0, NaN kept.
 */
#ifndef FASTMLP_EXP_H
#define FASTMLP_EXP_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fastmlp_clones.h"

static inline double fastmlp_exp_double1(double x)
{
    const double shift = 0x1.8p52, log2e = 0x1.71547652b82fep0;
    const double ln2_hi = 0x1.62e42fefa3800p-1, ln2_lo = 0x1.ef35793c76730p-45;
    double t, n, r, p, s1, s2;
    int64_t k, k1, k2;
    x = x > 709.79 ? 709.79 : (x < -745.2 ? -745.2 : x);   /* NaN stays NaN */
    t = x * log2e + shift;
    n = t - shift;
    memcpy(&k, &t, sizeof(k));
    k -= 0x4338000000000000LL;               /* the bits of 1.5 * 2^52: k = n */
    r = (x - n * ln2_hi) - n * ln2_lo;
    p = 1.0 / 6227020800.0;                  /* (exp(r) - 1 - r) / r^2 */
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = 1.0 + (r + (r * r) * p);             /* the large terms added last */
    k1 = k >> 1;
    k2 = k - k1;
    k1 = (k1 + 1023) << 52;
    k2 = (k2 + 1023) << 52;
    memcpy(&s1, &k1, sizeof(s1));
    memcpy(&s2, &k2, sizeof(s2));
    return p * s1 * s2;
}

static inline float fastmlp_exp_float1(float x)
{
    const float shift = 0x1.8p23f, log2e = 0x1.715476p0f;
    const float ln2_hi = 0.693359375f, ln2_lo = -2.12194440e-4f;
    float t, n, r, p, s1, s2;
    int32_t k, k1, k2;
    x = x > 88.73f ? 88.73f : (x < -104.0f ? -104.0f : x);
    t = x * log2e + shift;
    n = t - shift;
    memcpy(&k, &t, sizeof(k));
    k -= 0x4b400000;                         /* the bits of 1.5 * 2^23: k = n */
    r = (x - n * ln2_hi) - n * ln2_lo;
    p = 1.0f / 5040.0f;                      /* (exp(r) - 1 - r) / r^2 */
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = 1.0f + (r + (r * r) * p);            /* the large terms added last */
    k1 = k >> 1;
    k2 = k - k1;
    k1 = (k1 + 127) << 23;
    k2 = (k2 + 127) << 23;
    memcpy(&s1, &k1, sizeof(s1));
    memcpy(&s2, &k2, sizeof(s2));
    return p * s1 * s2;
}

#define FASTMLP_EXP_LOOPS(T)                                                          \
    /* x[i] <- exp(x[i]) */                                                          \
    FASTMLP_CLONES static void fastmlp_exp_##T(T* __restrict x, ptrdiff_t size)      \
    {                                                                                 \
        for (ptrdiff_t i = 0; i < size; i++)                                          \
            x[i] = fastmlp_exp_##T##1(x[i]);                                          \
    }                                                                                 \
    /* z <- exp(z + b) over a row-major (rows, n) block; b has length n */           \
    FASTMLP_CLONES static void fastmlp_bias_exp_##T(T* __restrict z,                 \
                                                    const T* __restrict b,           \
                                                    ptrdiff_t rows, ptrdiff_t n)     \
    {                                                                                 \
        if (n == 1) {                 /* one column: vectors down the rows */         \
            T b0 = b[0];                                                              \
            for (ptrdiff_t r = 0; r < rows; r++)                                      \
                z[r] = fastmlp_exp_##T##1(z[r] + b0);                                 \
            return;                                                                   \
        }                                                                             \
        for (ptrdiff_t r = 0; r < rows; r++)                                          \
            for (ptrdiff_t j = 0; j < n; j++)                                         \
                z[r * n + j] = fastmlp_exp_##T##1(z[r * n + j] + b[j]);               \
    }                                                                                 \
    /* z <- logistic(z + b) = 1 / (1 + exp(-(z + b))) */                             \
    FASTMLP_CLONES static void fastmlp_bias_logistic_##T(T* __restrict z,            \
                                                         const T* __restrict b,      \
                                                         ptrdiff_t rows, ptrdiff_t n)\
    {                                                                                 \
        if (n == 1) {                 /* one column (a binary classifier's output) */ \
            T b0 = b[0];                                                              \
            for (ptrdiff_t r = 0; r < rows; r++)                                      \
                z[r] = 1 / (1 + fastmlp_exp_##T##1(-(z[r] + b0)));                    \
            return;                                                                   \
        }                                                                             \
        for (ptrdiff_t r = 0; r < rows; r++)                                          \
            for (ptrdiff_t j = 0; j < n; j++)                                         \
                z[r * n + j] = 1 / (1 + fastmlp_exp_##T##1(-(z[r * n + j] + b[j])));  \
    }

FASTMLP_EXP_LOOPS(double)
FASTMLP_EXP_LOOPS(float)

/* z <- softmax(z + b) row by row, each row shifted by its max as scikit-learn
 * shifts it; the exps in one vectorised pass over the block, each row's sum in
 * its order. */
#define FASTMLP_SOFTMAX(T)                                                            \
    static void fastmlp_bias_softmax_##T(T* z, const T* b, ptrdiff_t rows,           \
                                         ptrdiff_t n)                                 \
    {                                                                                 \
        for (ptrdiff_t r = 0; r < rows; r++) {                                        \
            T* row = z + r * n;                                                       \
            T zmax;                                                                   \
            for (ptrdiff_t j = 0; j < n; j++)                                         \
                row[j] = row[j] + b[j];                                               \
            zmax = row[0];                                                            \
            for (ptrdiff_t j = 1; j < n; j++)                                         \
                zmax = row[j] > zmax ? row[j] : zmax;                                 \
            for (ptrdiff_t j = 0; j < n; j++)                                         \
                row[j] = row[j] - zmax;                                               \
        }                                                                             \
        fastmlp_exp_##T(z, rows * n);                                                 \
        for (ptrdiff_t r = 0; r < rows; r++) {                                        \
            T* row = z + r * n;                                                       \
            T total = 0;                                                              \
            for (ptrdiff_t j = 0; j < n; j++)                                         \
                total = total + row[j];                                               \
            for (ptrdiff_t j = 0; j < n; j++)                                         \
                row[j] = row[j] / total;                                              \
        }                                                                             \
    }

FASTMLP_SOFTMAX(double)
FASTMLP_SOFTMAX(float)

#endif
