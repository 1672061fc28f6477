/* The core's product engine: the three products of training and prediction,
 *
 *   NN   C = A @ B        the forward pass (B = W) and the delta (B = W^T),
 *   TN   G = A^T @ D      the weight gradient,
 *
 * each with an epilogue applied to the block while it is in registers (bias and
 * activation; the activation's derivative; the weight gradient's L2 term and
 * scale), in BLIS's shape: register-blocked micro-kernels per instruction set
 * (csrc/fastmlp_gemm_kernel.h, one template instantiated for AVX-512, AVX2 with
 * FMA, and portable C), the loops around them, and the packing of W into panels
 * of the kernels' width, which the core keeps beside W (fastmlp/_core/_engine.pxd)
 * instead of packing it again for every product.
 *
 * A's rows are given by their addresses (rows[r]): layer 0's rows are X's rows,
 * read in place through a batch's row indices, with no gathered copy.
 *
 * Same bits on any tiling: every element is one chain of multiply-adds over the
 * inner dimension in its order, whichever block or tile it falls in (see the
 * kernel template), so the caller may split a product's rows and columns into as
 * many tiles as its threads can use. The AVX-512 and AVX2 kernels compute the same
 * chains (one rounding per multiply-add) and give the same bits; the portable
 * kernel rounds the product and the sum apart.
 *
 * The instruction set is chosen once, by the CPU (and the operating system's
 * support of its registers): AVX-512F, else AVX2 with FMA, else portable. The
 * environment variable FASTMLP_GEMM_ISA (portable, avx2, avx512) asks for a lower
 * one, for tests. FASTMLP_PORTABLE (setup.py) builds the portable kernels alone.
 */
#ifndef FASTMLP_GEMM_H
#define FASTMLP_GEMM_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#if defined(_MSC_VER) && !defined(__clang__)
#define FASTMLP_ALWAYS_INLINE __forceinline
#define FASTMLP_NOINLINE __declspec(noinline)
#else
#define FASTMLP_ALWAYS_INLINE inline __attribute__((always_inline))
#define FASTMLP_NOINLINE __attribute__((noinline))
#endif

#if !defined(FASTMLP_PORTABLE) && (defined(__x86_64__) || defined(_M_X64)) \
    && (defined(__GNUC__) || defined(_MSC_VER))
#define FASTMLP_GEMM_X86 1
#include <immintrin.h>
#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
#define FASTMLP_TARGET_AVX512
#define FASTMLP_TARGET_AVX2
#else
#define FASTMLP_TARGET_AVX512 __attribute__((target("avx512f,fma")))
#define FASTMLP_TARGET_AVX2 __attribute__((target("avx2,fma")))
#endif
#endif

enum {
    FASTMLP_EPI_NONE = 0,       /* the product as it is */
    FASTMLP_EPI_BIAS,           /* + b (by column) */
    FASTMLP_EPI_BIAS_RELU,      /* relu(. + b) */
    FASTMLP_EPI_DRELU,          /* . * relu'(z): kept where the activation a != 0 */
    FASTMLP_EPI_DTANH,          /* . * (1 - a * a) */
    FASTMLP_EPI_DLOGISTIC,      /* . * a * (1 - a) */
    FASTMLP_EPI_WGRAD           /* (. + alpha W) / scale */
};

#ifndef FASTMLP_MR_AVX512
#define FASTMLP_MR_AVX512 12
#endif
#ifndef FASTMLP_KC
#define FASTMLP_KC 512
#endif
#ifndef FASTMLP_AHEAD
#define FASTMLP_AHEAD 16
#endif
#if defined(__GNUC__)
#define FG_PREFETCH(p) __builtin_prefetch(p)
#define FG_PREFETCH2(p) __builtin_prefetch(p, 0, 2)
#elif defined(FASTMLP_GEMM_X86)
#define FG_PREFETCH(p) _mm_prefetch((const char*) (p), _MM_HINT_T0)
#define FG_PREFETCH2(p) _mm_prefetch((const char*) (p), _MM_HINT_T1)
#else
#define FG_PREFETCH(p) ((void) (p))
#define FG_PREFETCH2(p) ((void) (p))
#endif
#define FG_AHEAD FASTMLP_AHEAD
#define FG_AHEAD_B 4
#ifndef FASTMLP_KC_TN
#define FASTMLP_KC_TN 256
#endif
#ifndef FASTMLP_MC
#define FASTMLP_MC 96
#endif

enum { FASTMLP_ISA_PORTABLE = 0, FASTMLP_ISA_AVX2 = 1, FASTMLP_ISA_AVX512 = 2 };

/* A product's operands, in one dtype. Matrices are row-major with the leading
 * dimensions given; all pointers are to element (0, 0) of the whole product. */
#define FASTMLP_GEMM_TYPES(T)                                                         \
    typedef struct {                                                                  \
        int kind;                   /* FASTMLP_EPI_* */                               \
        const T* bias;              /* BIAS*: (n,) */                                 \
        const T* act;               /* D*: the activations at C's places */           \
        ptrdiff_t ld_act;                                                             \
        const T* w;                 /* WGRAD: W at G's places, and alpha, scale */     \
        ptrdiff_t ldw;                                                                \
        T alpha, scale;                                                               \
    } fastmlp_epi_##T;                                                                \
    typedef struct {                                                                  \
        ptrdiff_t k;                /* the inner size */                              \
        const T* const* rows;       /* A's row r at rows[r] (NN: m rows, TN: k) */    \
        const T* bp;                /* NN: B (k, n) as packed panels, or NULL */      \
        const T* b;                 /* NN without bp: B in place; TN: D (k, n) */     \
        ptrdiff_t ldb;                                                                \
        T* c;                       /* OUT C (m, n), or G (n_features, n) */          \
        ptrdiff_t ldc;                                                                \
        fastmlp_epi_##T epi;                                                          \
    } fastmlp_gemm_##T;

FASTMLP_GEMM_TYPES(float)
FASTMLP_GEMM_TYPES(double)

/* ------------------------------------------------------------------------- */
/* The instantiations                                                        */
/* ------------------------------------------------------------------------- */

#define FG_EPI_OF(T) fastmlp_epi_##T
#define FG_ARGS_OF(T) fastmlp_gemm_##T

#if defined(FASTMLP_GEMM_X86)
/* lanes < n of a mask */
#define FG_M8(n) ((__mmask8) ((1u << (n)) - 1))
#define FG_M16(n) ((__mmask16) ((1u << (n)) - 1))

/* AVX-512, double: 12 rows x 2 vectors of 8 */
#define FG_T double
#define FG_NAME(x) fastmlp_avx512_double_##x
#define FG_EPI FG_EPI_OF(double)
#define FG_ARGS FG_ARGS_OF(double)
#define FG_TARGET FASTMLP_TARGET_AVX512
#define FG_MR FASTMLP_MR_AVX512
#define FG_L 8
#define FG_KC FASTMLP_KC
#define FG_MC FASTMLP_MC
#define FG_KC_TN FASTMLP_KC_TN
#define FG_V __m512d
#define FG_LOAD(p) _mm512_loadu_pd(p)
#define FG_STORE(p, v) _mm512_storeu_pd(p, v)
#define FG_LOADM(p, n) _mm512_maskz_loadu_pd(FG_M8(n), p)
#define FG_STOREM(p, n, v) _mm512_mask_storeu_pd(p, FG_M8(n), v)
#define FG_SET1(x) _mm512_set1_pd(x)
#define FG_ZERO() _mm512_setzero_pd()
#define FG_FMA(a, b, c) _mm512_fmadd_pd(a, b, c)
#define FG_ADD(a, b) _mm512_add_pd(a, b)
#define FG_SUB(a, b) _mm512_sub_pd(a, b)
#define FG_MUL(a, b) _mm512_mul_pd(a, b)
#define FG_DIV(a, b) _mm512_div_pd(a, b)
#define FG_RELU(v) _mm512_mask_mov_pd(v, _mm512_cmp_pd_mask(v, _mm512_setzero_pd(), _CMP_LE_OQ), _mm512_setzero_pd())
#define FG_KEEP(a, v) _mm512_maskz_mov_pd(_mm512_cmp_pd_mask(a, _mm512_setzero_pd(), _CMP_NEQ_UQ), v)
#include "fastmlp_gemm_kernel.h"
#include "fastmlp_gemm_undef.h"

/* AVX-512, float: 12 rows x 2 vectors of 16 */
#define FG_T float
#define FG_NAME(x) fastmlp_avx512_float_##x
#define FG_EPI FG_EPI_OF(float)
#define FG_ARGS FG_ARGS_OF(float)
#define FG_TARGET FASTMLP_TARGET_AVX512
#define FG_MR FASTMLP_MR_AVX512
#define FG_L 16
#define FG_KC FASTMLP_KC
#define FG_MC FASTMLP_MC
#define FG_KC_TN FASTMLP_KC_TN
#define FG_V __m512
#define FG_LOAD(p) _mm512_loadu_ps(p)
#define FG_STORE(p, v) _mm512_storeu_ps(p, v)
#define FG_LOADM(p, n) _mm512_maskz_loadu_ps(FG_M16(n), p)
#define FG_STOREM(p, n, v) _mm512_mask_storeu_ps(p, FG_M16(n), v)
#define FG_SET1(x) _mm512_set1_ps(x)
#define FG_ZERO() _mm512_setzero_ps()
#define FG_FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define FG_ADD(a, b) _mm512_add_ps(a, b)
#define FG_SUB(a, b) _mm512_sub_ps(a, b)
#define FG_MUL(a, b) _mm512_mul_ps(a, b)
#define FG_DIV(a, b) _mm512_div_ps(a, b)
#define FG_RELU(v) _mm512_mask_mov_ps(v, _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LE_OQ), _mm512_setzero_ps())
#define FG_KEEP(a, v) _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(a, _mm512_setzero_ps(), _CMP_NEQ_UQ), v)
#include "fastmlp_gemm_kernel.h"
#include "fastmlp_gemm_undef.h"

/* AVX2 masks: lane i set when i < n */
static const long long fastmlp_lane_masks64[8] = {-1, -1, -1, -1, 0, 0, 0, 0};
static const int fastmlp_lane_masks32[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                             0, 0, 0, 0, 0, 0, 0, 0};
#define FG_MASK64(n) _mm256_loadu_si256((const __m256i*) (fastmlp_lane_masks64 + 4 - (n)))
#define FG_MASK32(n) _mm256_loadu_si256((const __m256i*) (fastmlp_lane_masks32 + 8 - (n)))

/* AVX2 and FMA, double: 6 rows x 2 vectors of 4 */
#define FG_T double
#define FG_NAME(x) fastmlp_avx2_double_##x
#define FG_EPI FG_EPI_OF(double)
#define FG_ARGS FG_ARGS_OF(double)
#define FG_TARGET FASTMLP_TARGET_AVX2
#define FG_MR 6
#define FG_L 4
#define FG_KC FASTMLP_KC
#define FG_MC FASTMLP_MC
#define FG_KC_TN FASTMLP_KC_TN
#define FG_V __m256d
#define FG_LOAD(p) _mm256_loadu_pd(p)
#define FG_STORE(p, v) _mm256_storeu_pd(p, v)
#define FG_LOADM(p, n) _mm256_maskload_pd(p, FG_MASK64(n))
#define FG_STOREM(p, n, v) _mm256_maskstore_pd(p, FG_MASK64(n), v)
#define FG_SET1(x) _mm256_set1_pd(x)
#define FG_ZERO() _mm256_setzero_pd()
#define FG_FMA(a, b, c) _mm256_fmadd_pd(a, b, c)
#define FG_ADD(a, b) _mm256_add_pd(a, b)
#define FG_SUB(a, b) _mm256_sub_pd(a, b)
#define FG_MUL(a, b) _mm256_mul_pd(a, b)
#define FG_DIV(a, b) _mm256_div_pd(a, b)
#define FG_RELU(v) _mm256_andnot_pd(_mm256_cmp_pd(v, _mm256_setzero_pd(), _CMP_LE_OQ), v)
#define FG_KEEP(a, v) _mm256_and_pd(_mm256_cmp_pd(a, _mm256_setzero_pd(), _CMP_NEQ_UQ), v)
#include "fastmlp_gemm_kernel.h"
#include "fastmlp_gemm_undef.h"

/* AVX2 and FMA, float: 6 rows x 2 vectors of 8 */
#define FG_T float
#define FG_NAME(x) fastmlp_avx2_float_##x
#define FG_EPI FG_EPI_OF(float)
#define FG_ARGS FG_ARGS_OF(float)
#define FG_TARGET FASTMLP_TARGET_AVX2
#define FG_MR 6
#define FG_L 8
#define FG_KC FASTMLP_KC
#define FG_MC FASTMLP_MC
#define FG_KC_TN FASTMLP_KC_TN
#define FG_V __m256
#define FG_LOAD(p) _mm256_loadu_ps(p)
#define FG_STORE(p, v) _mm256_storeu_ps(p, v)
#define FG_LOADM(p, n) _mm256_maskload_ps(p, FG_MASK32(n))
#define FG_STOREM(p, n, v) _mm256_maskstore_ps(p, FG_MASK32(n), v)
#define FG_SET1(x) _mm256_set1_ps(x)
#define FG_ZERO() _mm256_setzero_ps()
#define FG_FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define FG_ADD(a, b) _mm256_add_ps(a, b)
#define FG_SUB(a, b) _mm256_sub_ps(a, b)
#define FG_MUL(a, b) _mm256_mul_ps(a, b)
#define FG_DIV(a, b) _mm256_div_ps(a, b)
#define FG_RELU(v) _mm256_andnot_ps(_mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_LE_OQ), v)
#define FG_KEEP(a, v) _mm256_and_ps(_mm256_cmp_ps(a, _mm256_setzero_ps(), _CMP_NEQ_UQ), v)
#include "fastmlp_gemm_kernel.h"
#include "fastmlp_gemm_undef.h"
#endif /* FASTMLP_GEMM_X86 */

/* Portable: GCC's and clang's vectors of 16 bytes (NEON, SSE2, ...), one
 * element at a time elsewhere; a * b + c rounded twice (no contraction). */
#if defined(__GNUC__)
#define FASTMLP_PORTABLE_BYTES 16
typedef double fastmlp_vd __attribute__((vector_size(FASTMLP_PORTABLE_BYTES)));
typedef float fastmlp_vf __attribute__((vector_size(FASTMLP_PORTABLE_BYTES)));
typedef long long fastmlp_vd_mask __attribute__((vector_size(FASTMLP_PORTABLE_BYTES)));
typedef int fastmlp_vf_mask __attribute__((vector_size(FASTMLP_PORTABLE_BYTES)));
#define FG_PLANES(T) ((int) (FASTMLP_PORTABLE_BYTES / sizeof(T)))
#define FG_PV_LOAD(V, p) ({ V v_; memcpy(&v_, (p), sizeof v_); v_; })
#define FG_PV_STORE(p, v) do { __typeof__(v) v_ = (v); memcpy((p), &v_, sizeof v_); } while (0)
#define FG_PV_LOADM(V, p, n) ({ V v_ = {0}; memcpy(&v_, (p), (size_t) (n) * sizeof v_[0]); v_; })
#define FG_PV_STOREM(p, n, v) do { __typeof__(v) v_ = (v); memcpy((p), &v_, (size_t) (n) * sizeof v_[0]); } while (0)
#define FG_PV_SET1(V, x) ((V) {0} + (x))
#define FG_PV_RELU(M, v) ((__typeof__(v)) ((M) (v) & ~(M) ((v) <= 0)))
#define FG_PV_KEEP(M, a, v) ((__typeof__(v)) ((M) (v) & (M) ((a) != 0)))
#define FG_VD fastmlp_vd
#define FG_VF fastmlp_vf
#else
#define FG_PLANES(T) 1
#define FG_PV_LOAD(V, p) (*(p))
#define FG_PV_STORE(p, v) (*(p) = (v))
#define FG_PV_LOADM(V, p, n) (*(p))
#define FG_PV_STOREM(p, n, v) (*(p) = (v))
#define FG_PV_SET1(V, x) ((V) (x))
#define FG_PV_RELU(M, v) ((v) <= 0 ? 0 : (v))
#define FG_PV_KEEP(M, a, v) ((a) != 0 ? (v) : 0)
#define FG_VD double
#define FG_VF float
#endif

#define FG_T double
#define FG_NAME(x) fastmlp_portable_double_##x
#define FG_EPI FG_EPI_OF(double)
#define FG_ARGS FG_ARGS_OF(double)
#define FG_TARGET
#define FG_MR 4
#define FG_L FG_PLANES(double)
#define FG_KC FASTMLP_KC
#define FG_MC FASTMLP_MC
#define FG_KC_TN FASTMLP_KC_TN
#define FG_V FG_VD
#define FG_LOAD(p) FG_PV_LOAD(FG_V, p)
#define FG_STORE(p, v) FG_PV_STORE(p, v)
#define FG_LOADM(p, n) FG_PV_LOADM(FG_V, p, n)
#define FG_STOREM(p, n, v) FG_PV_STOREM(p, n, v)
#define FG_SET1(x) FG_PV_SET1(FG_V, x)
#define FG_ZERO() FG_PV_SET1(FG_V, 0.0)
#define FG_FMA(a, b, c) ((a) * (b) + (c))
#define FG_ADD(a, b) ((a) + (b))
#define FG_SUB(a, b) ((a) - (b))
#define FG_MUL(a, b) ((a) * (b))
#define FG_DIV(a, b) ((a) / (b))
#define FG_RELU(v) FG_PV_RELU(fastmlp_vd_mask, v)
#define FG_KEEP(a, v) FG_PV_KEEP(fastmlp_vd_mask, a, v)
#include "fastmlp_gemm_kernel.h"
#include "fastmlp_gemm_undef.h"

#define FG_T float
#define FG_NAME(x) fastmlp_portable_float_##x
#define FG_EPI FG_EPI_OF(float)
#define FG_ARGS FG_ARGS_OF(float)
#define FG_TARGET
#define FG_MR 4
#define FG_L FG_PLANES(float)
#define FG_KC FASTMLP_KC
#define FG_MC FASTMLP_MC
#define FG_KC_TN FASTMLP_KC_TN
#define FG_V FG_VF
#define FG_LOAD(p) FG_PV_LOAD(FG_V, p)
#define FG_STORE(p, v) FG_PV_STORE(p, v)
#define FG_LOADM(p, n) FG_PV_LOADM(FG_V, p, n)
#define FG_STOREM(p, n, v) FG_PV_STOREM(p, n, v)
#define FG_SET1(x) FG_PV_SET1(FG_V, x)
#define FG_ZERO() FG_PV_SET1(FG_V, 0.0f)
#define FG_FMA(a, b, c) ((a) * (b) + (c))
#define FG_ADD(a, b) ((a) + (b))
#define FG_SUB(a, b) ((a) - (b))
#define FG_MUL(a, b) ((a) * (b))
#define FG_DIV(a, b) ((a) / (b))
#define FG_RELU(v) FG_PV_RELU(fastmlp_vf_mask, v)
#define FG_KEEP(a, v) FG_PV_KEEP(fastmlp_vf_mask, a, v)
#include "fastmlp_gemm_kernel.h"
#include "fastmlp_gemm_undef.h"

/* ------------------------------------------------------------------------- */
/* The instruction set, chosen once                                          */
/* ------------------------------------------------------------------------- */

static inline int fastmlp_gemm_cpu_isa(void)
{
#if defined(FASTMLP_GEMM_X86)
#if defined(_MSC_VER) && !defined(__clang__)
    int r[4];
    unsigned long long xcr0;
    __cpuid(r, 1);
    if (!(r[2] & (1 << 27)) || !(r[2] & (1 << 28)) || !(r[2] & (1 << 12)))
        return FASTMLP_ISA_PORTABLE;            /* no OSXSAVE, AVX or FMA */
    xcr0 = _xgetbv(0);
    if ((xcr0 & 6) != 6)
        return FASTMLP_ISA_PORTABLE;            /* the OS saves no ymm registers */
    __cpuidex(r, 7, 0);
    if ((r[1] & (1 << 16)) && (xcr0 & 0xe6) == 0xe6)
        return FASTMLP_ISA_AVX512;              /* AVX-512F, zmm and mask state saved */
    return (r[1] & (1 << 5)) ? FASTMLP_ISA_AVX2 : FASTMLP_ISA_PORTABLE;
#else
    __builtin_cpu_init();                       /* libgcc checks the OS's support too */
    if (__builtin_cpu_supports("avx512f"))
        return FASTMLP_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return FASTMLP_ISA_AVX2;
    return FASTMLP_ISA_PORTABLE;
#endif
#else
    return FASTMLP_ISA_PORTABLE;
#endif
}

/* The CPU's instruction set, or the lower one FASTMLP_GEMM_ISA asks for. */
static inline int fastmlp_gemm_choose_isa(void)
{
    int isa = fastmlp_gemm_cpu_isa();
    const char* asked = getenv("FASTMLP_GEMM_ISA");
    if (asked != NULL) {
        int want = strcmp(asked, "portable") == 0 ? FASTMLP_ISA_PORTABLE
                   : strcmp(asked, "avx2") == 0   ? FASTMLP_ISA_AVX2
                                                  : FASTMLP_ISA_AVX512;
        if (want < isa)
            isa = want;
    }
    return isa;
}

static int fastmlp_gemm_isa_ = -1;

static inline int fastmlp_gemm_isa(void)
{
    if (fastmlp_gemm_isa_ < 0)          /* the same value whoever writes it first */
        fastmlp_gemm_isa_ = fastmlp_gemm_choose_isa();
    return fastmlp_gemm_isa_;
}

#if defined(FASTMLP_GEMM_X86)
#define FG_DISPATCH(T, fn, ...)                                                       \
    switch (fastmlp_gemm_isa()) {                                                     \
    case FASTMLP_ISA_AVX512: fastmlp_avx512_##T##_##fn(__VA_ARGS__); break;           \
    case FASTMLP_ISA_AVX2: fastmlp_avx2_##T##_##fn(__VA_ARGS__); break;               \
    default: fastmlp_portable_##T##_##fn(__VA_ARGS__); break;                         \
    }
#define FG_PER_ISA(avx512, avx2, portable)                                            \
    (fastmlp_gemm_isa() == FASTMLP_ISA_AVX512 ? (avx512)                              \
     : fastmlp_gemm_isa() == FASTMLP_ISA_AVX2 ? (avx2) : (portable))
#else
#define FG_DISPATCH(T, fn, ...) fastmlp_portable_##T##_##fn(__VA_ARGS__);
#define FG_PER_ISA(avx512, avx2, portable) (portable)
#endif

/* ------------------------------------------------------------------------- */
/* The interface                                                             */
/* ------------------------------------------------------------------------- */

#define FASTMLP_GEMM_API(T)                                                           \
    /* Columns of a packed panel: the kernels' two vectors */                         \
    static inline ptrdiff_t fastmlp_gemm_nr_##T(void)                                 \
    {                                                                                 \
        return FG_PER_ISA(2 * 64 / (ptrdiff_t) sizeof(T), 2 * 32 / (ptrdiff_t) sizeof(T), \
                          2 * (ptrdiff_t) FG_PLANES(T));                              \
    }                                                                                 \
    /* Rows of the kernels' register block */                                         \
    static inline ptrdiff_t fastmlp_gemm_mr_##T(void)                                 \
    {                                                                                 \
        return FG_PER_ISA(FASTMLP_MR_AVX512, 6, 4);                                                  \
    }                                                                                 \
    /* C[r0:r1, j0:j1] of the NN product g (j0 a multiple of the panel width) */      \
    static inline void fastmlp_gemm_nn_##T(const fastmlp_gemm_##T* g, ptrdiff_t r0,   \
                                           ptrdiff_t r1, ptrdiff_t j0, ptrdiff_t j1)  \
    {                                                                                 \
        FG_DISPATCH(T, nn, g, r0, r1, j0, j1)                                         \
    }                                                                                 \
    /* G[f0:f1, j0:j1] of the TN product g (j0 a multiple of the panel width) */      \
    static inline void fastmlp_gemm_tn_##T(const fastmlp_gemm_##T* g, ptrdiff_t f0,   \
                                           ptrdiff_t f1, ptrdiff_t j0, ptrdiff_t j1)  \
    {                                                                                 \
        FG_DISPATCH(T, tn, g, f0, f1, j0, j1)                                         \
    }                                                                                 \
    /* Rows f0..f1 of W (n_in, n_out) into its panels of nr columns: panel q holds    \
     * dst[q * n_in * nr + f * nr + j] = W[f, q * nr + j], zero past n_out. */        \
    static inline void fastmlp_pack_##T(const T* w, ptrdiff_t n_in, ptrdiff_t n_out,  \
                                        ptrdiff_t f0, ptrdiff_t f1, ptrdiff_t nr,     \
                                        T* dst)                                       \
    {                                                                                 \
        for (ptrdiff_t q = 0; q * nr < n_out; q++) {                                  \
            ptrdiff_t cols = n_out - q * nr < nr ? n_out - q * nr : nr;               \
            T* panel = dst + q * n_in * nr;                                           \
            for (ptrdiff_t f = f0; f < f1; f++) {                                     \
                memcpy(panel + f * nr, w + f * n_out + q * nr, cols * sizeof(T));     \
                for (ptrdiff_t j = cols; j < nr; j++)                                 \
                    panel[f * nr + j] = 0;                                            \
            }                                                                         \
        }                                                                             \
    }                                                                                 \
    /* Rows f0..f1 of W (n_in, n_out) into the panels of W^T (n_out, n_in): panel p  \
     * holds dst[p * n_out * nr + c * nr + j] = W[p * nr + j, c], zero past n_in     \
     * (written with the rows of the last panel). f0 is a multiple of nr. */         \
    static inline void fastmlp_pack_t_##T(const T* w, ptrdiff_t n_in, ptrdiff_t n_out, \
                                          ptrdiff_t f0, ptrdiff_t f1, ptrdiff_t nr,   \
                                          T* dst)                                     \
    {                                                                                 \
        for (ptrdiff_t p = f0 / nr; p * nr < f1; p++) {                               \
            T* panel = dst + p * n_out * nr;                                          \
            ptrdiff_t lo = p * nr, hi = lo + nr < f1 ? lo + nr : f1;                   \
            for (ptrdiff_t c = 0; c < n_out; c++) {                                   \
                for (ptrdiff_t f = lo; f < hi; f++)                                   \
                    panel[c * nr + f - lo] = w[f * n_out + c];                        \
                if (hi == n_in)                                                       \
                    for (ptrdiff_t j = hi - lo; j < nr; j++)                          \
                        panel[c * nr + j] = 0;                                        \
            }                                                                         \
        }                                                                             \
    }

FASTMLP_GEMM_API(float)
FASTMLP_GEMM_API(double)

/* A product for either dtype, as the core describes it (fastmlp/_core/_engine.pxd):
 * the fields of fastmlp_gemm_<T> and its epilogue, with untyped pointers. */
typedef struct {
    ptrdiff_t k;
    const void* const* rows;
    const void* bp;
    const void* b;
    ptrdiff_t ldb;
    void* c;
    ptrdiff_t ldc;
    int epi;
    const void* bias;
    const void* act;
    ptrdiff_t ld_act;
    const void* w;
    ptrdiff_t ldw;
    double alpha, scale;        /* cast to the dtype, as the core's loops cast them */
} fastmlp_product;

#define FASTMLP_PRODUCT_AS(T)                                                         \
    static inline fastmlp_gemm_##T fastmlp_product_as_##T(const fastmlp_product* p)   \
    {                                                                                 \
        fastmlp_gemm_##T g;                                                           \
        g.k = p->k;                                                                   \
        g.rows = (const T* const*) p->rows;                                           \
        g.bp = (const T*) p->bp;                                                      \
        g.b = (const T*) p->b;                                                        \
        g.ldb = p->ldb;                                                               \
        g.c = (T*) p->c;                                                              \
        g.ldc = p->ldc;                                                               \
        g.epi.kind = p->epi;                                                          \
        g.epi.bias = (const T*) p->bias;                                              \
        g.epi.act = (const T*) p->act;                                                \
        g.epi.ld_act = p->ld_act;                                                     \
        g.epi.w = (const T*) p->w;                                                    \
        g.epi.ldw = p->ldw;                                                           \
        g.epi.alpha = (T) p->alpha;                                                   \
        g.epi.scale = (T) p->scale;                                                   \
        return g;                                                                     \
    }
FASTMLP_PRODUCT_AS(float)
FASTMLP_PRODUCT_AS(double)

/* The block C[r0:r1, j0:j1] of an NN product (j0 a multiple of the panel width),
 * in float32 (single) or float64 */
static inline void fastmlp_product_nn(const fastmlp_product* p, int single, ptrdiff_t r0,
                                      ptrdiff_t r1, ptrdiff_t j0, ptrdiff_t j1)
{
    if (single) {
        fastmlp_gemm_float g = fastmlp_product_as_float(p);
        fastmlp_gemm_nn_float(&g, r0, r1, j0, j1);
    } else {
        fastmlp_gemm_double g = fastmlp_product_as_double(p);
        fastmlp_gemm_nn_double(&g, r0, r1, j0, j1);
    }
}

/* The block G[f0:f1, j0:j1] of a TN product */
static inline void fastmlp_product_tn(const fastmlp_product* p, int single, ptrdiff_t f0,
                                      ptrdiff_t f1, ptrdiff_t j0, ptrdiff_t j1)
{
    if (single) {
        fastmlp_gemm_float g = fastmlp_product_as_float(p);
        fastmlp_gemm_tn_float(&g, f0, f1, j0, j1);
    } else {
        fastmlp_gemm_double g = fastmlp_product_as_double(p);
        fastmlp_gemm_tn_double(&g, f0, f1, j0, j1);
    }
}

/* The panel width and block rows of the kernels in float32 (single) or float64 */
static inline ptrdiff_t fastmlp_panel_width(int single)
{
    return single ? fastmlp_gemm_nr_float() : fastmlp_gemm_nr_double();
}

static inline ptrdiff_t fastmlp_block_rows(int single)
{
    return single ? fastmlp_gemm_mr_float() : fastmlp_gemm_mr_double();
}

/* The instruction set the kernels run with: 0 portable, 1 AVX2, 2 AVX-512 */
static inline int fastmlp_gemm_isa_used(void)
{
    return fastmlp_gemm_isa();
}

#endif
