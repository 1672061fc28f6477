/* One row times a matrix, c[0:n] = a[0:k] @ B[0:k, 0:n] (B row-major, leading
 * dimension ldb), with AVX-512 where the CPU has it: the product of a one-row
 * prediction.
 *
 * OpenBLAS's gemv reads B at about 60% of the speed the cache delivers it here.
 * This loop keeps a block of up to 16 vectors of c in registers and streams B's
 * rows through them once, one broadcast multiply-add per vector and row:
 *     c[j] = fma(a[k-1], B[k-1, j], ... fma(a[1], B[1, j], fma(a[0], B[0, j], 0)))
 * in the order of k, whatever the machine's thread count.
 *
 * fastmlp_row_times_matrix_{float,double} return 1 when they computed c, and 0
 * (c untouched) where the CPU or the compiler has no AVX-512: the caller then
 * uses BLAS.
 */
#ifndef FASTMLP_ROWVEC_H
#define FASTMLP_ROWVEC_H

#include <stddef.h>

/* x86 with GCC or clang only; FASTMLP_PORTABLE (setup.py) leaves it out as a build
 * for another architecture does. */
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__)) && !defined(FASTMLP_PORTABLE)
#define FASTMLP_ROWVEC_AVX512 1
#include <immintrin.h>

#define FASTMLP_TARGET __attribute__((target("avx512f,fma")))

/* Vector v of a block of NV: a plain load, or a masked one for the last vector.
 * NV and v are constants, so each block keeps its NV sums in named registers (an
 * array of them would go through the stack on every row). */
#define FASTMLP_ROW_LOAD(S, W, NV, v, b, last)                                          \
    ((v) < (NV) - 1 ? _mm512_loadu_##S((b) + (W) * (v))                                 \
                    : _mm512_maskz_loadu_##S((last), (b) + (W) * (v)))
#define FASTMLP_ROW_FMA(S, W, NV, v)                                                   \
    if ((v) < (NV))                                                                   \
        acc##v = _mm512_fmadd_##S(x, FASTMLP_ROW_LOAD(S, W, NV, v, b, last), acc##v);
#define FASTMLP_ROW_STORE(S, W, NV, v)                                                 \
    if ((v) < (NV) - 1)                                                               \
        _mm512_storeu_##S(c + (W) * (v), acc##v);                                     \
    else if ((v) == (NV) - 1)                                                         \
        _mm512_mask_storeu_##S(c + (W) * (v), last, acc##v);
#define FASTMLP_ROW_16(M, S, W, NV)                                                    \
    M(S, W, NV, 0)  M(S, W, NV, 1)  M(S, W, NV, 2)  M(S, W, NV, 3)                     \
    M(S, W, NV, 4)  M(S, W, NV, 5)  M(S, W, NV, 6)  M(S, W, NV, 7)                     \
    M(S, W, NV, 8)  M(S, W, NV, 9)  M(S, W, NV, 10) M(S, W, NV, 11)                    \
    M(S, W, NV, 12) M(S, W, NV, 13) M(S, W, NV, 14) M(S, W, NV, 15)

/* One block of NV vectors of W lanes of c; the last vector is loaded and stored
 * under `last`, the mask of its columns inside the matrix. */
#define FASTMLP_ROW_BLOCK(T, S, W, VEC, MASK, NV)                                       \
    static FASTMLP_TARGET void fastmlp_row_block_##T##_##NV(                          \
        const T* a, const T* B, ptrdiff_t ldb, T* c, ptrdiff_t k, MASK last)          \
    {                                                                                 \
        VEC acc0, acc1, acc2, acc3, acc4, acc5, acc6, acc7, acc8, acc9, acc10, acc11,  \
            acc12, acc13, acc14, acc15;                                               \
        acc0 = acc1 = acc2 = acc3 = acc4 = acc5 = acc6 = acc7 = _mm512_setzero_##S();  \
        acc8 = acc9 = acc10 = acc11 = acc12 = acc13 = acc14 = acc15 = acc0;            \
        for (ptrdiff_t i = 0; i < k; i++) {                                           \
            const T* b = B + i * ldb;                                                 \
            VEC x = _mm512_set1_##S(a[i]);                                            \
            FASTMLP_ROW_16(FASTMLP_ROW_FMA, S, W, NV)                                 \
        }                                                                             \
        FASTMLP_ROW_16(FASTMLP_ROW_STORE, S, W, NV)                                   \
    }

#define FASTMLP_ROW_BLOCKS(T, S, W, VEC, MASK)                                        \
    FASTMLP_ROW_BLOCK(T, S, W, VEC, MASK, 1)  FASTMLP_ROW_BLOCK(T, S, W, VEC, MASK, 2)  \
    FASTMLP_ROW_BLOCK(T, S, W, VEC, MASK, 3)  FASTMLP_ROW_BLOCK(T, S, W, VEC, MASK, 4)  \
    FASTMLP_ROW_BLOCK(T, S, W, VEC, MASK, 5)  FASTMLP_ROW_BLOCK(T, S, W, VEC, MASK, 6)  \
    FASTMLP_ROW_BLOCK(T, S, W, VEC, MASK, 7)  FASTMLP_ROW_BLOCK(T, S, W, VEC, MASK, 8)  \
    FASTMLP_ROW_BLOCK(T, S, W, VEC, MASK, 9)  FASTMLP_ROW_BLOCK(T, S, W, VEC, MASK, 10) \
    FASTMLP_ROW_BLOCK(T, S, W, VEC, MASK, 11) FASTMLP_ROW_BLOCK(T, S, W, VEC, MASK, 12) \
    FASTMLP_ROW_BLOCK(T, S, W, VEC, MASK, 13) FASTMLP_ROW_BLOCK(T, S, W, VEC, MASK, 14) \
    FASTMLP_ROW_BLOCK(T, S, W, VEC, MASK, 15) FASTMLP_ROW_BLOCK(T, S, W, VEC, MASK, 16)

#define FASTMLP_ROW_TIMES_MATRIX(T, S, W, VEC, MASK)                                  \
    FASTMLP_ROW_BLOCKS(T, S, W, VEC, MASK)                                            \
    typedef void (*fastmlp_row_block_##T##_fn)(const T*, const T*, ptrdiff_t, T*,      \
                                               ptrdiff_t, MASK);                      \
    static const fastmlp_row_block_##T##_fn fastmlp_row_blocks_##T[16] = {            \
        fastmlp_row_block_##T##_1,  fastmlp_row_block_##T##_2,                        \
        fastmlp_row_block_##T##_3,  fastmlp_row_block_##T##_4,                        \
        fastmlp_row_block_##T##_5,  fastmlp_row_block_##T##_6,                        \
        fastmlp_row_block_##T##_7,  fastmlp_row_block_##T##_8,                        \
        fastmlp_row_block_##T##_9,  fastmlp_row_block_##T##_10,                       \
        fastmlp_row_block_##T##_11, fastmlp_row_block_##T##_12,                       \
        fastmlp_row_block_##T##_13, fastmlp_row_block_##T##_14,                       \
        fastmlp_row_block_##T##_15, fastmlp_row_block_##T##_16};                      \
    /* c = a @ B in blocks of up to 16 vectors (256 floats, 128 doubles) */           \
    static inline int fastmlp_row_times_matrix_##T(const T* a, const T* B, int ldb,   \
                                                   T* c, int k, int n)                \
    {                                                                                 \
        if (!__builtin_cpu_supports("avx512f"))                                       \
            return 0;                                                                 \
        for (int j = 0; j < n; j += 16 * W) {                                         \
            int width = n - j < 16 * W ? n - j : 16 * W;                              \
            int nv = (width + W - 1) / W;                                             \
            MASK last = (MASK) ((1u << (width - W * (nv - 1))) - 1);                  \
            fastmlp_row_blocks_##T[nv - 1](a, B + j, ldb, c + j, k, last);            \
        }                                                                             \
        return 1;                                                                     \
    }

FASTMLP_ROW_TIMES_MATRIX(float, ps, 16, __m512, __mmask16)
FASTMLP_ROW_TIMES_MATRIX(double, pd, 8, __m512d, __mmask8)

#else   /* no AVX-512 on this compiler or architecture: BLAS does it */

static inline int fastmlp_row_times_matrix_float(const float* a, const float* B, int ldb,
                                                 float* c, int k, int n)
{ (void) a; (void) B; (void) ldb; (void) c; (void) k; (void) n; return 0; }
static inline int fastmlp_row_times_matrix_double(const double* a, const double* B, int ldb,
                                                  double* c, int k, int n)
{ (void) a; (void) B; (void) ldb; (void) c; (void) k; (void) n; return 0; }

#endif

#endif
