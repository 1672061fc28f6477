# The product engine's interface (csrc/fastmlp_gemm.h): what the network asks of
# it, for either dtype. _network.pyx says what to multiply; this module, and the C
# behind it, how: micro-kernels per instruction set, W kept in their panel layout,
# epilogues applied to each block while it is in registers.
#
# A product is described once (Product) and computed block by block: the caller
# splits its rows and columns into as many tiles as its threads can use, and the
# bits are the same whatever the split (every element is one chain of
# multiply-adds over the inner dimension, in order).

from cython cimport floating


cdef extern from "fastmlp_gemm.h":
    cdef enum:
        EPI_NONE "FASTMLP_EPI_NONE"              # the product as it is
        EPI_BIAS "FASTMLP_EPI_BIAS"              # + b
        EPI_BIAS_RELU "FASTMLP_EPI_BIAS_RELU"    # relu(. + b)
        EPI_DRELU "FASTMLP_EPI_DRELU"            # . where the activation a != 0, else 0
        EPI_DTANH "FASTMLP_EPI_DTANH"            # . * (1 - a * a)
        EPI_DLOGISTIC "FASTMLP_EPI_DLOGISTIC"    # . * a * (1 - a)
        EPI_WGRAD "FASTMLP_EPI_WGRAD"            # (. + alpha W) / scale

    ctypedef struct Product "fastmlp_product":
        Py_ssize_t k                 # the inner size
        const void* const* rows      # A's row r at rows[r] (NN: the output's rows; TN: k)
        const void* bp               # NN: B (k, n) as packed panels, or NULL
        const void* b                # NN without bp: B (k, n) in place; TN: D (k, n)
        Py_ssize_t ldb
        void* c                      # OUT C (m, n) (NN) or G (n_features, n) (TN)
        Py_ssize_t ldc
        int epi                      # Epilogue
        const void* bias             # BIAS*: (n,)
        const void* act              # D*: the activations at C's places
        Py_ssize_t ld_act
        const void* w                # WGRAD: W at G's places
        Py_ssize_t ldw
        double alpha, scale          # WGRAD: (g + alpha W) / scale, in the dtype

    void product_nn "fastmlp_product_nn" (const Product* p, bint single, Py_ssize_t r0,
                                          Py_ssize_t r1, Py_ssize_t j0,
                                          Py_ssize_t j1) noexcept nogil
    void product_tn "fastmlp_product_tn" (const Product* p, bint single, Py_ssize_t f0,
                                          Py_ssize_t f1, Py_ssize_t j0,
                                          Py_ssize_t j1) noexcept nogil
    Py_ssize_t panel_width "fastmlp_panel_width" (bint single) noexcept nogil
    Py_ssize_t block_rows "fastmlp_block_rows" (bint single) noexcept nogil
    int isa_used "fastmlp_gemm_isa_used" () noexcept nogil
    void pack_float "fastmlp_pack_float" (const float* w, Py_ssize_t n_in, Py_ssize_t n_out,
                                          Py_ssize_t f0, Py_ssize_t f1, Py_ssize_t nr,
                                          float* dst) noexcept nogil
    void pack_double "fastmlp_pack_double" (const double* w, Py_ssize_t n_in,
                                            Py_ssize_t n_out, Py_ssize_t f0, Py_ssize_t f1,
                                            Py_ssize_t nr, double* dst) noexcept nogil
    void pack_t_float "fastmlp_pack_t_float" (const float* w, Py_ssize_t n_in,
                                              Py_ssize_t n_out, Py_ssize_t f0, Py_ssize_t f1,
                                              Py_ssize_t nr, float* dst) noexcept nogil
    void pack_t_double "fastmlp_pack_t_double" (const double* w, Py_ssize_t n_in,
                                                Py_ssize_t n_out, Py_ssize_t f0,
                                                Py_ssize_t f1, Py_ssize_t nr,
                                                double* dst) noexcept nogil


cdef inline Py_ssize_t panels(Py_ssize_t n, Py_ssize_t nr) noexcept nogil:
    """Panels of nr columns that n columns take."""
    return (n + nr - 1) // nr


cdef inline void pack_rows(const floating* w, Py_ssize_t n_in, Py_ssize_t n_out,
                           Py_ssize_t f0, Py_ssize_t f1, Py_ssize_t nr,
                           floating* panels_out, floating* panels_t_out) noexcept nogil:
    """Rows f0..f1 of W (n_in, n_out) into its panels of nr columns (for A @ W) and
    into the panels of W^T (for D @ W^T; f0 a multiple of nr), each unless NULL."""
    if floating is float:
        if panels_out != NULL:
            pack_float(w, n_in, n_out, f0, f1, nr, panels_out)
        if panels_t_out != NULL:
            pack_t_float(w, n_in, n_out, f0, f1, nr, panels_t_out)
    else:
        if panels_out != NULL:
            pack_double(w, n_in, n_out, f0, f1, nr, panels_out)
        if panels_t_out != NULL:
            pack_t_double(w, n_in, n_out, f0, f1, nr, panels_t_out)
