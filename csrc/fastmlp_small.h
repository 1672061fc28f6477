/* The two products of a small network's row tile, without BLAS: the affine
 * layer's  A @ W  and the weight gradient's  A.T @ D,  where the rows of A may be
 * rows of X taken through the batch's row indices (no gathered copy of the rows).
 *
 * For networks whose weights sit in L1: BLAS packs both operands on every call,
 * and its calls are a few microseconds each here. These loops keep a block of the
 * result in registers (4 rows x 2 vectors) while the inner dimension runs.
 *
 * The affine layer may end in relu(z + b) in the same pass, while the block is
 * in registers: the same operations as fastmlp_bias_relu's, the same bits.
 *
 * Each element is summed in a fixed order, the same whichever clone runs (the
 * vectors are GCC vectors of 32 bytes, split in two on a CPU without AVX; there is
 * no FMA contraction under -ffp-contract=off):
 *   A @ W, W with more than one column:  (((0 + a0 w0) + a1 w1) + ...), k in order;
 *   A @ w, one column: 32-byte lanes of partial sums over k, added lane after lane,
 *                      then the leftover k in order;
 *   A.T @ D: (((0 + a0 d0) + a1 d1) + ...), the rows in order.
 */
#ifndef FASTMLP_SMALL_H
#define FASTMLP_SMALL_H

#include <stddef.h>
#include <string.h>

#include "fastmlp_clones.h"
#include "fastmlp_elementwise.h"

#define FASTMLP_VBYTES 32


/* Row i of A: a + (idx ? idx[i] : i) * lda */
#define FASTMLP_ROW(a, lda, idx, i) ((a) + ((idx) != NULL ? (idx)[i] : (i)) * (lda))

#define FASTMLP_SMALL(T)                                                              \
    typedef T fastmlp_v_##T __attribute__((vector_size(FASTMLP_VBYTES)));             \
    enum { FASTMLP_LANES_##T = FASTMLP_VBYTES / sizeof(T) };                          \
                                                                                      \
    /* The lanes of acc added in order, then the leftover products r[q] w[q], q >= p */ \
    static inline T fastmlp_lanes_##T(const fastmlp_v_##T* acc, const T* r,          \
                                      const T* w, ptrdiff_t p, ptrdiff_t k)           \
    {                                                                                 \
        T s = 0;                                                                      \
        for (int l = 0; l < FASTMLP_LANES_##T; l++)                                   \
            s = s + (*acc)[l];                                                        \
        for (ptrdiff_t q = p; q < k; q++)                                             \
            s = s + r[q] * w[q];                                                      \
        return s;                                                                     \
    }                                                                                 \
                                                                                      \
    /* out[0..4) = r0 . w, ..., r3 . w (a one-column W), the four sums in registers */ \
    static inline void fastmlp_dot4_##T(const T* r0, const T* r1, const T* r2,        \
                                        const T* r3, const T* w, ptrdiff_t k, T* out) \
    {                                                                                 \
        enum { V = FASTMLP_LANES_##T };                                               \
        fastmlp_v_##T s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0}, wv, av;                 \
        ptrdiff_t p = 0;                                                              \
        for (; p + V <= k; p += V) {                                                  \
            memcpy(&wv, w + p, sizeof wv);                                            \
            memcpy(&av, r0 + p, sizeof av); s0 = s0 + av * wv;                        \
            memcpy(&av, r1 + p, sizeof av); s1 = s1 + av * wv;                        \
            memcpy(&av, r2 + p, sizeof av); s2 = s2 + av * wv;                        \
            memcpy(&av, r3 + p, sizeof av); s3 = s3 + av * wv;                        \
        }                                                                             \
        out[0] = fastmlp_lanes_##T(&s0, r0, w, p, k);                                 \
        out[1] = fastmlp_lanes_##T(&s1, r1, w, p, k);                                 \
        out[2] = fastmlp_lanes_##T(&s2, r2, w, p, k);                                 \
        out[3] = fastmlp_lanes_##T(&s3, r3, w, p, k);                                 \
    }                                                                                 \
                                                                                      \
    /* x <- relu(x + b), a vector of the product, as fastmlp_bias_relu: NaN stays NaN \
     * (by pointer: a vector returned by value would change the baseline clone's ABI) */ \
    static inline void fastmlp_bias_relu_v_##T(fastmlp_v_##T* x, const T* b)          \
    {                                                                                 \
        fastmlp_v_##T bv, v, zero = {0};                                              \
        memcpy(&bv, b, sizeof bv);                                                    \
        v = *x + bv;                                                                  \
        *x = (fastmlp_v_##T) ((__typeof__(v <= zero)) v & ~(v <= zero));             \
    }                                                                                 \
    /* o[0..2V) = x0, x1; with b, relu(x + b[0..2V)) */                               \
    static inline void fastmlp_store2_##T(T* o, fastmlp_v_##T* x0, fastmlp_v_##T* x1, \
                                          const T* b)                                 \
    {                                                                                 \
        if (b != NULL) {                                                              \
            fastmlp_bias_relu_v_##T(x0, b);                                           \
            fastmlp_bias_relu_v_##T(x1, b + FASTMLP_LANES_##T);                       \
        }                                                                             \
        memcpy(o, x0, sizeof *x0);                                                    \
        memcpy(o + FASTMLP_LANES_##T, x1, sizeof *x1);                                \
    }                                                                                 \
    /* *o = x; with b, relu(x + *b), as fastmlp_bias_relu */                          \
    static inline void fastmlp_store1_##T(T* o, T x, const T* b)                      \
    {                                                                                 \
        if (b != NULL) {                                                              \
            x = x + *b;                                                               \
            x = x <= 0 ? 0 : x;                                                       \
        }                                                                             \
        *o = x;                                                                       \
    }                                                                                 \
                                                                                      \
    /* out (m, n) row-major = A @ W: A's m rows of k values (FASTMLP_ROW), W (k, n); \
     * with b (n > 1), out = relu(A @ W + b) in the same pass */                      \
    FASTMLP_CLONES static void fastmlp_rows_times_##T(                                \
        const T* a, ptrdiff_t lda, const ptrdiff_t* idx, ptrdiff_t m, ptrdiff_t k,     \
        const T* w, ptrdiff_t n, const T* b, T* __restrict out)                       \
    {                                                                                 \
        enum { V = FASTMLP_LANES_##T };                                               \
        typedef fastmlp_v_##T v;                                                      \
        ptrdiff_t i = 0, j, p;                                                        \
        if (n == 1) {                                                                 \
            for (; i < m; i += 4) {   /* past the end: row m-1 again */               \
                T o[4];                                                               \
                fastmlp_dot4_##T(FASTMLP_ROW(a, lda, idx, i),                         \
                                 FASTMLP_ROW(a, lda, idx, i + 1 < m ? i + 1 : m - 1), \
                                 FASTMLP_ROW(a, lda, idx, i + 2 < m ? i + 2 : m - 1), \
                                 FASTMLP_ROW(a, lda, idx, i + 3 < m ? i + 3 : m - 1), \
                                 w, k, o);                                            \
                for (int q = 0; q < 4 && i + q < m; q++)                              \
                    out[i + q] = o[q];                                                \
            }                                                                         \
            return;                                                                   \
        }                                                                             \
        for (; i + 4 <= m; i += 4) {  /* 4 rows x 2 vectors of columns */             \
            const T *r0 = FASTMLP_ROW(a, lda, idx, i), *r1 = FASTMLP_ROW(a, lda, idx, i + 1), \
                    *r2 = FASTMLP_ROW(a, lda, idx, i + 2), *r3 = FASTMLP_ROW(a, lda, idx, i + 3); \
            if (idx != NULL)          /* rows of X in random order: ask ahead */      \
                for (ptrdiff_t q = i + 8; q < i + 12 && q < m; q++)                   \
                    fastmlp_prefetch(FASTMLP_ROW(a, lda, idx, q), k * sizeof(T)); \
            for (j = 0; j + 2 * V <= n; j += 2 * V) {                                 \
                v c00 = {0}, c01 = {0}, c10 = {0}, c11 = {0}, c20 = {0}, c21 = {0},   \
                  c30 = {0}, c31 = {0}, w0, w1;                                       \
                for (p = 0; p < k; p++) {                                             \
                    memcpy(&w0, w + p * n + j, sizeof w0);                            \
                    memcpy(&w1, w + p * n + j + V, sizeof w1);                        \
                    c00 = c00 + r0[p] * w0; c01 = c01 + r0[p] * w1;                   \
                    c10 = c10 + r1[p] * w0; c11 = c11 + r1[p] * w1;                   \
                    c20 = c20 + r2[p] * w0; c21 = c21 + r2[p] * w1;                   \
                    c30 = c30 + r3[p] * w0; c31 = c31 + r3[p] * w1;                   \
                }                                                                     \
                const T* bj = b != NULL ? b + j : NULL;                               \
                fastmlp_store2_##T(out + i * n + j, &c00, &c01, bj);                  \
                fastmlp_store2_##T(out + (i + 1) * n + j, &c10, &c11, bj);            \
                fastmlp_store2_##T(out + (i + 2) * n + j, &c20, &c21, bj);            \
                fastmlp_store2_##T(out + (i + 3) * n + j, &c30, &c31, bj);            \
            }                                                                         \
            for (; j < n; j++) {                                                      \
                T s0 = 0, s1 = 0, s2 = 0, s3 = 0;                                     \
                for (p = 0; p < k; p++) {                                             \
                    s0 = s0 + r0[p] * w[p * n + j]; s1 = s1 + r1[p] * w[p * n + j];   \
                    s2 = s2 + r2[p] * w[p * n + j]; s3 = s3 + r3[p] * w[p * n + j];   \
                }                                                                     \
                const T* bj = b != NULL ? b + j : NULL;                               \
                fastmlp_store1_##T(out + i * n + j, s0, bj);                          \
                fastmlp_store1_##T(out + (i + 1) * n + j, s1, bj);                    \
                fastmlp_store1_##T(out + (i + 2) * n + j, s2, bj);                    \
                fastmlp_store1_##T(out + (i + 3) * n + j, s3, bj);                    \
            }                                                                         \
        }                                                                             \
        for (; i < m; i++) {          /* the last rows, one at a time */              \
            const T* r0 = FASTMLP_ROW(a, lda, idx, i);                                \
            for (j = 0; j + 2 * V <= n; j += 2 * V) {                                 \
                v c00 = {0}, c01 = {0}, w0, w1;                                       \
                for (p = 0; p < k; p++) {                                             \
                    memcpy(&w0, w + p * n + j, sizeof w0);                            \
                    memcpy(&w1, w + p * n + j + V, sizeof w1);                        \
                    c00 = c00 + r0[p] * w0; c01 = c01 + r0[p] * w1;                   \
                }                                                                     \
                fastmlp_store2_##T(out + i * n + j, &c00, &c01, b != NULL ? b + j : NULL); \
            }                                                                         \
            for (; j < n; j++) {                                                      \
                T s0 = 0;                                                             \
                for (p = 0; p < k; p++)                                               \
                    s0 = s0 + r0[p] * w[p * n + j];                                   \
                fastmlp_store1_##T(out + i * n + j, s0, b != NULL ? b + j : NULL);    \
            }                                                                         \
        }                                                                             \
    }                                                                                 \
                                                                                      \
    /* g (k, n) row-major = A.T @ D: A's m rows of k values (FASTMLP_ROW), D (m, n) */ \
    FASTMLP_CLONES static void fastmlp_rows_t_times_##T(                              \
        const T* a, ptrdiff_t lda, const ptrdiff_t* idx, ptrdiff_t m, ptrdiff_t k,     \
        const T* d, ptrdiff_t n, T* __restrict g)                                     \
    {                                                                                 \
        enum { V = FASTMLP_LANES_##T };                                               \
        typedef fastmlp_v_##T v;                                                      \
        ptrdiff_t f = 0, c, i;                                                        \
        if (n < 2 * V) {              /* vectors across the features */               \
            for (c = 0; c < n; c++) {                                                 \
                for (f = 0; f + 2 * V <= k; f += 2 * V) {                             \
                    v s0 = {0}, s1 = {0}, a0, a1;                                     \
                    for (i = 0; i < m; i++) {                                         \
                        const T* ar = FASTMLP_ROW(a, lda, idx, i) + f;                \
                        memcpy(&a0, ar, sizeof a0);                                   \
                        memcpy(&a1, ar + V, sizeof a1);                               \
                        s0 = s0 + a0 * d[i * n + c];                                  \
                        s1 = s1 + a1 * d[i * n + c];                                  \
                    }                                                                 \
                    for (int l = 0; l < V; l++) {                                     \
                        g[(f + l) * n + c] = s0[l];                                   \
                        g[(f + V + l) * n + c] = s1[l];                               \
                    }                                                                 \
                }                                                                     \
                for (; f < k; f++) {                                                  \
                    T s = 0;                                                          \
                    for (i = 0; i < m; i++)                                           \
                        s = s + FASTMLP_ROW(a, lda, idx, i)[f] * d[i * n + c];        \
                    g[f * n + c] = s;                                                 \
                }                                                                     \
            }                                                                         \
            return;                                                                   \
        }                                                                             \
        for (; f + 4 <= k; f += 4) {  /* 4 features x 2 vectors of D's columns */     \
            for (c = 0; c + 2 * V <= n; c += 2 * V) {                                 \
                v s00 = {0}, s01 = {0}, s10 = {0}, s11 = {0}, s20 = {0}, s21 = {0},   \
                  s30 = {0}, s31 = {0}, d0, d1;                                       \
                for (i = 0; i < m; i++) {                                             \
                    const T* ar = FASTMLP_ROW(a, lda, idx, i) + f;                    \
                    memcpy(&d0, d + i * n + c, sizeof d0);                            \
                    memcpy(&d1, d + i * n + c + V, sizeof d1);                        \
                    s00 = s00 + ar[0] * d0; s01 = s01 + ar[0] * d1;                   \
                    s10 = s10 + ar[1] * d0; s11 = s11 + ar[1] * d1;                   \
                    s20 = s20 + ar[2] * d0; s21 = s21 + ar[2] * d1;                   \
                    s30 = s30 + ar[3] * d0; s31 = s31 + ar[3] * d1;                   \
                }                                                                     \
                fastmlp_store2_##T(g + f * n + c, &s00, &s01, NULL);                  \
                fastmlp_store2_##T(g + (f + 1) * n + c, &s10, &s11, NULL);            \
                fastmlp_store2_##T(g + (f + 2) * n + c, &s20, &s21, NULL);            \
                fastmlp_store2_##T(g + (f + 3) * n + c, &s30, &s31, NULL);            \
            }                                                                         \
            for (; c < n; c++) {                                                      \
                T t0 = 0, t1 = 0, t2 = 0, t3 = 0;                                     \
                for (i = 0; i < m; i++) {                                             \
                    const T* ar = FASTMLP_ROW(a, lda, idx, i) + f;                    \
                    t0 = t0 + ar[0] * d[i * n + c]; t1 = t1 + ar[1] * d[i * n + c];   \
                    t2 = t2 + ar[2] * d[i * n + c]; t3 = t3 + ar[3] * d[i * n + c];   \
                }                                                                     \
                g[f * n + c] = t0; g[(f + 1) * n + c] = t1;                           \
                g[(f + 2) * n + c] = t2; g[(f + 3) * n + c] = t3;                     \
            }                                                                         \
        }                                                                             \
        for (; f < k; f++) {          /* the last features, one at a time */          \
            for (c = 0; c + 2 * V <= n; c += 2 * V) {                                 \
                v s00 = {0}, s01 = {0}, d0, d1;                                       \
                for (i = 0; i < m; i++) {                                             \
                    T x = FASTMLP_ROW(a, lda, idx, i)[f];                             \
                    memcpy(&d0, d + i * n + c, sizeof d0);                            \
                    memcpy(&d1, d + i * n + c + V, sizeof d1);                        \
                    s00 = s00 + x * d0; s01 = s01 + x * d1;                           \
                }                                                                     \
                fastmlp_store2_##T(g + f * n + c, &s00, &s01, NULL);                  \
            }                                                                         \
            for (; c < n; c++) {                                                      \
                T t0 = 0;                                                             \
                for (i = 0; i < m; i++)                                               \
                    t0 = t0 + FASTMLP_ROW(a, lda, idx, i)[f] * d[i * n + c];          \
                g[f * n + c] = t0;                                                    \
            }                                                                         \
        }                                                                             \
    }

FASTMLP_SMALL(float)
FASTMLP_SMALL(double)

#endif
