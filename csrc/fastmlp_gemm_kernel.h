/* The product engine's micro-kernels and the loops around them, for one
 * instruction set and one dtype: csrc/fastmlp_gemm.h includes this file once per
 * (instruction set, dtype), after defining
 *
 *   FG_T            float or double
 *   FG_NAME(x)      the name of x in this instantiation (fastmlp_<isa>_<T>_x)
 *   FG_TARGET       the function attribute that enables the instruction set
 *   FG_MR           rows of the register block (broadcast side)
 *   FG_L            lanes of one vector; a block is FG_MR rows x 2 vectors
 *   FG_KC           inner-dimension block: an operand block of FG_KC x (2 FG_L)
 *                   stays in the first-level cache while the rows run past it
 *   FG_AHEAD        rows of A asked for ahead as the weight gradient packs them
 *   FG_AHEAD_B      rows of a packed panel asked for ahead
 *   FG_PREFETCH(p)  ask for p's cache line
 *   FG_MC           rows of the output whose inner blocks stay in the second-level
 *                   cache while the panels run past them (a multiple of FG_MR)
 *   FG_KC_TN        the weight gradient's block of the batch's rows
 *   FG_V            the vector type, and its operations:
 *     FG_LOAD(p), FG_STORE(p, v)            whole vectors, unaligned
 *     FG_LOADM(p, m), FG_STOREM(p, m, v)    the first m lanes only (0 < m < FG_L);
 *                                           unread lanes are zero
 *     FG_SET1(x), FG_ZERO(), FG_FMA(a, b, c) = a * b + c rounded once,
 *     FG_ADD, FG_SUB, FG_MUL, FG_DIV        one rounding each
 *     FG_RELU(v)          v <= 0 ? 0 : v, lanewise (NaN stays NaN)
 *     FG_KEEP(a, v)       a != 0 ? v : 0, lanewise
 *
 * Every element of a product is one chain of multiply-adds over the inner
 * dimension in its order, c = fma(a[k-1], b[k-1], ... fma(a[0], b[0], 0)), in
 * every block of every size: a block of fewer rows runs the same chain on fewer
 * registers, a partial panel masks its lanes, and an inner block stores the chain
 * and takes it up again (exactly). So a product's bits do not depend on how its
 * rows and columns are split into tiles, nor on which thread takes which. The
 * epilogues (bias, activation, derivative, the weight gradient's L2 term and
 * scale) are the same IEEE operations, in the same order, as the elementwise
 * loops of csrc/fastmlp_elementwise.h and fastmlp/_core/_kernels.pxd.
 */

/* A block of M rows: register rows 0..M-1, each 2 vectors (FG_ROWS expands X for
 * all twelve; rows >= M are compiled away, M being a constant). */
#define FG_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13)

/* The masks of a block's two vectors: lanes n0 of vector 0 and n1 of vector 1
 * (FG_L for a whole vector, 0 for none). */
#define FG_LD(p, n) ((n) == FG_L ? FG_LOAD(p) : ((n) == 0 ? FG_ZERO() : FG_LOADM(p, n)))
#define FG_ST(p, n, v)                                                                \
    do {                                                                              \
        if ((n) == FG_L)                                                              \
            FG_STORE(p, v);                                                           \
        else if ((n) > 0)                                                             \
            FG_STOREM(p, n, v);                                                       \
    } while (0)

/* Declare row i's accumulators: zero, or (an inner block after the first) the
 * chain so far, read back from C. */
#define FG_INIT(i)                                                                    \
    FG_V c##i##_0, c##i##_1;                                                          \
    if (M > i) {                                                                      \
        if (first) {                                                                  \
            c##i##_0 = FG_ZERO();                                                     \
            c##i##_1 = FG_ZERO();                                                     \
        } else {                                                                      \
            c##i##_0 = FG_LD(c + i * ldc, n0);                                        \
            c##i##_1 = FG_LD(c + i * ldc + FG_L, n1);                                 \
        }                                                                             \
    }

/* Ask for the epilogue's inputs of row i (W's or the activations' rows, far apart)
 * when the block starts, so that they have arrived when its chain ends. */
#define FG_EPI_PREFETCH(i)                                                            \
    if (M > i && last) {                                                              \
        if (e->w != NULL) {                                                           \
            FG_PREFETCH(e->w + i * e->ldw);                                           \
            FG_PREFETCH(e->w + i * e->ldw + 2 * FG_L - 1);                            \
        } else if (e->act != NULL) {                                                  \
            FG_PREFETCH(e->act + i * e->ld_act);                                      \
            FG_PREFETCH(e->act + i * e->ld_act + 2 * FG_L - 1);                       \
        }                                                                             \
    }

/* Row i's epilogue on its two vectors (only after the last inner block). */
#define FG_EPI_ROW(i)                                                                 \
    if (M > i && last) {                                                              \
        FG_NAME(epilogue)(e, i, n0, n1, &c##i##_0, &c##i##_1);                        \
    }
#define FG_STORE_ROW(i)                                                               \
    if (M > i) {                                                                      \
        FG_ST(c + i * ldc, n0, c##i##_0);                                             \
        FG_ST(c + i * ldc + FG_L, n1, c##i##_1);                                      \
    }

/* x <- the epilogue of row i (of the block whose origin e points at) on x0, x1 */
static inline __attribute__((always_inline)) FG_TARGET void FG_NAME(epilogue)(
    const FG_EPI* e, ptrdiff_t i, int n0, int n1, FG_V* x0, FG_V* x1)
{
    FG_V a0, a1, one;
    switch (e->kind) {
    case FASTMLP_EPI_BIAS:
    case FASTMLP_EPI_BIAS_RELU:
        *x0 = FG_ADD(*x0, FG_LD(e->bias, n0));
        *x1 = FG_ADD(*x1, FG_LD(e->bias + FG_L, n1));
        if (e->kind == FASTMLP_EPI_BIAS_RELU) {
            *x0 = FG_RELU(*x0);
            *x1 = FG_RELU(*x1);
        }
        break;
    case FASTMLP_EPI_DRELU:             /* delta * relu'(z): kept where a != 0 */
        *x0 = FG_KEEP(FG_LD(e->act + i * e->ld_act, n0), *x0);
        *x1 = FG_KEEP(FG_LD(e->act + i * e->ld_act + FG_L, n1), *x1);
        break;
    case FASTMLP_EPI_DTANH:             /* delta * (1 - a * a) */
        one = FG_SET1((FG_T) 1);
        a0 = FG_LD(e->act + i * e->ld_act, n0);
        a1 = FG_LD(e->act + i * e->ld_act + FG_L, n1);
        *x0 = FG_MUL(*x0, FG_SUB(one, FG_MUL(a0, a0)));
        *x1 = FG_MUL(*x1, FG_SUB(one, FG_MUL(a1, a1)));
        break;
    case FASTMLP_EPI_DLOGISTIC:         /* delta * a * (1 - a) */
        one = FG_SET1((FG_T) 1);
        a0 = FG_LD(e->act + i * e->ld_act, n0);
        a1 = FG_LD(e->act + i * e->ld_act + FG_L, n1);
        *x0 = FG_MUL(FG_MUL(*x0, a0), FG_SUB(one, a0));
        *x1 = FG_MUL(FG_MUL(*x1, a1), FG_SUB(one, a1));
        break;
    case FASTMLP_EPI_WGRAD:             /* (g + alpha W) / s */
        *x0 = FG_DIV(FG_ADD(*x0, FG_MUL(FG_SET1(e->alpha), FG_LD(e->w + i * e->ldw, n0))),
                     FG_SET1(e->scale));
        *x1 = FG_DIV(FG_ADD(*x1, FG_MUL(FG_SET1(e->alpha),
                                        FG_LD(e->w + i * e->ldw + FG_L, n1))),
                     FG_SET1(e->scale));
        break;
    default:                            /* FASTMLP_EPI_NONE */
        break;
    }
}

/* The NN block: C[i, :] (i < M, the block's n0 + n1 columns) = sum over p < k of
 * a[i][p] * B[p, :], B's row p at b + p * ldb (a packed panel: ldb = 2 FG_L, its
 * padding zero; or W itself, read under the masks when BMASK). a[i] is the
 * address of row i's first element of this inner block. */
static inline __attribute__((always_inline)) FG_TARGET void FG_NAME(nn_body)(
    const int M, const int BMASK, const FG_T* const* a, const FG_T* b, ptrdiff_t ldb,
    ptrdiff_t k, FG_T* c, ptrdiff_t ldc, int n0, int n1, int first, int last,
    const FG_EPI* e)
{
#define FG_NN_FMA(i)                                                                  \
    if (M > i) {                                                                      \
        FG_V x = FG_SET1(a##i[p]);                                                    \
        c##i##_0 = FG_FMA(x, b0, c##i##_0);                                           \
        c##i##_1 = FG_FMA(x, b1, c##i##_1);                                           \
    }
#define FG_NN_ROW(i) const FG_T* a##i = M > i ? a[i] : a[0];
    FG_ROWS(FG_NN_ROW)
    FG_ROWS(FG_EPI_PREFETCH)
    FG_ROWS(FG_INIT)
    for (ptrdiff_t p = 0; p < k; p++) {
        const FG_T* bp = b + p * ldb;
        FG_PREFETCH(bp + FG_AHEAD_B * ldb);       /* W's panels stream from far caches */
        FG_PREFETCH(bp + FG_AHEAD_B * ldb + FG_L);
        FG_V b0 = BMASK ? FG_LD(bp, n0) : FG_LOAD(bp);
        FG_V b1 = BMASK ? FG_LD(bp + FG_L, n1) : FG_LOAD(bp + FG_L);
        FG_ROWS(FG_NN_FMA)
    }
    FG_ROWS(FG_EPI_ROW)
    FG_ROWS(FG_STORE_ROW)
#undef FG_NN_FMA
#undef FG_NN_ROW
}

/* The TN block: C[i, :] (i < M) = sum over p < k of a[p * M + i] * D[p, :], D's
 * row p at d + p * ldd: the weight gradient A^T D, a the block's M features of
 * the batch's rows, packed row after row (tn). */
static inline __attribute__((always_inline)) FG_TARGET void FG_NAME(tn_body)(
    const int M, const FG_T* a, const FG_T* d, ptrdiff_t ldd, ptrdiff_t k,
    FG_T* c, ptrdiff_t ldc, int n0, int n1, int first, int last, const FG_EPI* e)
{
#define FG_TN_FMA(i)                                                                  \
    if (M > i) {                                                                      \
        FG_V x = FG_SET1(ap[i]);                                                      \
        c##i##_0 = FG_FMA(x, d0, c##i##_0);                                           \
        c##i##_1 = FG_FMA(x, d1, c##i##_1);                                           \
    }
    FG_ROWS(FG_EPI_PREFETCH)
    FG_ROWS(FG_INIT)
    for (ptrdiff_t p = 0; p < k; p++) {
        const FG_T* ap = a + p * M;
        const FG_T* dp = d + p * ldd;
        FG_V d0 = FG_LD(dp, n0), d1 = FG_LD(dp + FG_L, n1);
        FG_ROWS(FG_TN_FMA)
    }
    FG_ROWS(FG_EPI_ROW)
    FG_ROWS(FG_STORE_ROW)
#undef FG_TN_FMA
}

/* The blocks of M = FG_MR, 8, 4, 2 and 1 rows (those up to FG_MR), as functions:
 * any number of rows is made of them. */
#define FG_NN_BLOCK(MM, BM)                                                           \
    static FG_TARGET __attribute__((noinline)) void FG_NAME(nn_##MM##_##BM)(          \
        const FG_T* const* a, const FG_T* b, ptrdiff_t ldb, ptrdiff_t k, FG_T* c,      \
        ptrdiff_t ldc, int n0, int n1, int first, int last, const FG_EPI* e)     \
    {                                                                                 \
        FG_NAME(nn_body)(MM, BM, a, b, ldb, k, c, ldc, n0, n1, first, last, e);       \
    }
#define FG_TN_BLOCK(MM)                                                               \
    static FG_TARGET __attribute__((noinline)) void FG_NAME(tn_##MM)(                 \
        const FG_T* a, const FG_T* d, ptrdiff_t ldd, ptrdiff_t k, FG_T* c,            \
        ptrdiff_t ldc, int n0, int n1, int first, int last, const FG_EPI* e)          \
    {                                                                                 \
        FG_NAME(tn_body)(MM, a, d, ldd, k, c, ldc, n0, n1, first, last, e);           \
    }
FG_NN_BLOCK(FG_MR, 0) FG_NN_BLOCK(FG_MR, 1)
FG_NN_BLOCK(4, 0) FG_NN_BLOCK(4, 1)
FG_NN_BLOCK(2, 0) FG_NN_BLOCK(2, 1)
FG_NN_BLOCK(1, 0) FG_NN_BLOCK(1, 1)
FG_TN_BLOCK(FG_MR) FG_TN_BLOCK(4) FG_TN_BLOCK(2) FG_TN_BLOCK(1)
#if FG_MR > 8
FG_NN_BLOCK(8, 0) FG_NN_BLOCK(8, 1)
FG_TN_BLOCK(8)
#endif

/* The block of rows starting at row i of m: the largest of FG_MR, 8, 4, 2, 1 that
 * fits in the rows left. */
static inline int FG_NAME(block_rows)(ptrdiff_t left)
{
    return left >= FG_MR ? FG_MR : (FG_MR > 8 && left >= 8 ? 8 : (left >= 4 ? 4 : (left >= 2 ? 2 : 1)));
}

/* The size of the blocks n items are cut into, at most `most` (a multiple of unit)
 * and as even as whole units allow: no short block at the end. */
static inline ptrdiff_t FG_NAME(even_block)(ptrdiff_t n, ptrdiff_t most, ptrdiff_t unit)
{
    ptrdiff_t blocks = (n + most - 1) / most, size;
    if (blocks < 1)
        return most;
    size = (n + blocks - 1) / blocks;
    return (size + unit - 1) / unit * unit;
}

/* A call of CALL(M) for the block of m rows, M its constant */
#if FG_MR > 8
#define FG_BY_BLOCK(m, CALL)                                                          \
    do {                                                                              \
        if ((m) == FG_MR) { CALL(FG_MR); }                                            \
        else if ((m) == 8) { CALL(8); }                                               \
        else if ((m) == 4) { CALL(4); }                                               \
        else if ((m) == 2) { CALL(2); }                                               \
        else { CALL(1); }                                                             \
    } while (0)
#else
#define FG_BY_BLOCK(m, CALL)                                                          \
    do {                                                                              \
        if ((m) == FG_MR) { CALL(FG_MR); }                                            \
        else if ((m) == 4) { CALL(4); }                                               \
        else if ((m) == 2) { CALL(2); }                                               \
        else { CALL(1); }                                                             \
    } while (0)
#endif

/* The columns of the panel whose first is `left` columns from the end, and the
 * lanes n0, n1 of its two vectors they fill. */
static inline int FG_NAME(panel_lanes)(ptrdiff_t left, int* n0, int* n1)
{
    int cols = left < 2 * FG_L ? (int) left : 2 * FG_L;
    *n0 = cols >= FG_L ? FG_L : cols;
    *n1 = cols > FG_L ? cols - FG_L : 0;
    return cols;
}

/* The epilogue's inputs moved to the block at row i, column j. */
static inline FG_EPI FG_NAME(epi_at)(const FG_EPI* e, ptrdiff_t i, ptrdiff_t j)
{
    FG_EPI at = *e;
    if (at.bias != NULL)
        at.bias += j;
    if (at.act != NULL)
        at.act += i * at.ld_act + j;
    if (at.w != NULL)
        at.w += i * at.ldw + j;
    return at;
}

/* C[r0:r1, j0:j1] (+ epilogue) = A[r0:r1, :] @ B[:, j0:j1], B (k, n) as packed
 * panels (bp, panel q at bp + q * k * 2 FG_L) or, with bp NULL, in place (b, ldb).
 * rows[r] is the address of A's row r. j0 is a multiple of the panel width.
 * Loops, outer to inner: FG_MC rows (their inner block in the second-level cache),
 * FG_KC of the inner dimension, panels (a panel's inner block in the first-level
 * cache), register blocks of rows. */
static FG_TARGET void FG_NAME(nn)(const FG_ARGS* g, ptrdiff_t r0, ptrdiff_t r1,
                                  ptrdiff_t j0, ptrdiff_t j1)
{
    enum { NR = 2 * FG_L };
    const FG_T* rows_k[FG_MR];
    ptrdiff_t mc = FG_NAME(even_block)(r1 - r0, FG_MC, FG_MR), kc = FG_NAME(even_block)(g->k, FG_KC, 1);
    for (ptrdiff_t i0 = r0; i0 < r1; i0 += mc) {
        ptrdiff_t i1 = r1 - i0 < mc ? r1 : i0 + mc;
        for (ptrdiff_t k0 = 0; k0 < g->k; k0 += kc) {
            ptrdiff_t kk = g->k - k0 < kc ? g->k - k0 : kc;
            int first = k0 == 0, last = k0 + kk == g->k;
            for (ptrdiff_t j = j0; j < j1; j += NR) {
                int n0, n1, cols = FG_NAME(panel_lanes)(j1 - j, &n0, &n1);
                int bmask = g->bp == NULL && cols < NR;
                const FG_T* b = g->bp != NULL ? g->bp + (j / NR) * g->k * NR + k0 * NR
                                              : g->b + k0 * g->ldb + j;
                ptrdiff_t ldb = g->bp != NULL ? NR : g->ldb;
                for (ptrdiff_t i = i0; i < i1;) {
                    int m = FG_NAME(block_rows)(i1 - i);
                    FG_EPI e = FG_NAME(epi_at)(&g->epi, i, j);
                    FG_T* c = g->c + i * g->ldc + j;
                    for (int q = 0; q < m; q++)
                        rows_k[q] = g->rows[i + q] + k0;
#define FG_NN_CALL(MM)                                                                \
                    (bmask ? FG_NAME(nn_##MM##_1) : FG_NAME(nn_##MM##_0))(            \
                        rows_k, b, ldb, kk, c, g->ldc, n0, n1, first, last, &e)
                    FG_BY_BLOCK(m, FG_NN_CALL);
#undef FG_NN_CALL
                    i += m;
                }
            }
        }
    }
}

/* G[f0:f1, j0:j1] (+ epilogue) = A[:, f0:f1]^T @ D[:, j0:j1] over the k rows of A
 * and D: rows[p] is the address of A's row p, D's row p at d + p * ldd. Loops, outer
 * to inner: FG_KC_TN of the batch's rows; blocks of G's rows (A's features), whose
 * part of A is first packed row after row into a buffer that stays in the
 * first-level cache (the rows of A are far apart, and no prefetcher follows them);
 * D's panels, streaming from the second-level cache. */
static FG_TARGET void FG_NAME(tn)(const FG_ARGS* g, ptrdiff_t f0, ptrdiff_t f1,
                                  ptrdiff_t j0, ptrdiff_t j1)
{
    enum { NR = 2 * FG_L };
    FG_T packed[FG_KC_TN * FG_MR];
    ptrdiff_t kc = FG_NAME(even_block)(g->k, FG_KC_TN, 1);
    for (ptrdiff_t k0 = 0; k0 < g->k; k0 += kc) {
        ptrdiff_t kk = g->k - k0 < kc ? g->k - k0 : kc;
        int first = k0 == 0, last = k0 + kk == g->k;
        for (ptrdiff_t i = f0; i < f1;) {
            int m = FG_NAME(block_rows)(f1 - i);
#define FG_TN_PACK(MM)                                                                \
            for (ptrdiff_t p = 0; p < kk; p++) {                                      \
                if (p + FG_AHEAD < kk)                                                \
                    FG_PREFETCH(g->rows[k0 + p + FG_AHEAD] + i);                      \
                memcpy(packed + p * (MM), g->rows[k0 + p] + i, (MM) * sizeof(FG_T));  \
            }
            FG_BY_BLOCK(m, FG_TN_PACK);
#undef FG_TN_PACK
            for (ptrdiff_t j = j0; j < j1; j += NR) {
                int n0, n1;
                FG_EPI e = FG_NAME(epi_at)(&g->epi, i, j);
                FG_T* c = g->c + i * g->ldc + j;
                const FG_T* d = g->b + k0 * g->ldb + j;
                FG_NAME(panel_lanes)(j1 - j, &n0, &n1);
#define FG_TN_CALL(MM)                                                                \
                FG_NAME(tn_##MM)(packed, d, g->ldb, kk, c, g->ldc, n0, n1, first, last, &e)
                FG_BY_BLOCK(m, FG_TN_CALL);
#undef FG_TN_CALL
            }
            i += m;
        }
    }
}

#undef FG_ROWS
#undef FG_LD
#undef FG_ST
#undef FG_INIT
#undef FG_EPI_PREFETCH
#undef FG_EPI_ROW
#undef FG_STORE_ROW
#undef FG_NN_BLOCK
#undef FG_TN_BLOCK
#undef FG_BY_BLOCK
