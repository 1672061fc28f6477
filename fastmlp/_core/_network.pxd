from cython cimport floating

from ._layout cimport Input, InputMatrix, Net, Packing, Workspace
from ._team cimport fastmlp_team
from ._updates cimport Step


cdef struct Work:
    # What a team works on, shared by its threads: batches to train on (with
    # step: updating the parameters after each), or rows to predict. The arrays
    # are of the dtype `single` says (float32 when true, else float64).
    const Net* net
    const Input* X                 # IN (n_samples, n_features)
    bint single
    void* params                   # IN (n_params,); OUT with step
    Py_ssize_t n_params
    void* packed                   # W's panels (packing), kept with params; or NULL: W
                                   # read in place
    const Packing* packing
    const void** rows              # work: the rows each product reads (the Workspace's)
    bint row_split                 # a row-split network's fit (_team.is_row_split)
    bint fit                       # a fit's job: W^T's panels kept too
    void* grads                    # OUT (n_params,) the last batch's gradient
    const void* y                  # IN (n_samples, n_outputs) C-ordered
    const void* sw                 # IN (n_samples,) or NULL
    const Py_ssize_t* order        # IN rows of X to train on, or NULL for 0..n_rows-1
    Py_ssize_t n_rows              # rows to train on
    Py_ssize_t batch_size
    Py_ssize_t first, last         # batches of the chunk (training); first: X's first
                                   # row (prediction, X the chunk's rows)
    long t                         # Adam: updates made before batch 0
    const Step* step               # the optimizer, or NULL: gradients only
    void* acts                     # work (capacity rows of every layer)
    void* deltas                   # work
    double* row_loss               # work
    void* partial                  # work: ROW_SPLIT_TILES x n_params, or NULL
    double l2                      # within a batch: ||W||^2
    double loss                    # OUT the last batch's loss
    double loss_sum                # OUT sum over batches of batch loss x batch rows
    Py_ssize_t done                # OUT batches trained to the end (their update made)
    bint watch                     # look for Ctrl-C within each batch (long batches)
    bint stop                      # Ctrl-C was seen: the batch is abandoned before
                                   # its update, and KeyboardInterrupt is pending
    void* out                      # OUT prediction: (n_samples, n_outputs)
    bint finite                    # OUT prediction: False when X held NaN or infinity


cdef int init_training(Work* w, Workspace ws, InputMatrix x, const floating[::1] params,
                       floating[::1] grads, const floating[:, ::1] Y,
                       const floating[::1] sample_weight, Py_ssize_t rows_max) except -1
cdef void train_job(void* work, fastmlp_team* team, int tid) noexcept nogil
cdef void pack_weights(Work* w) noexcept nogil
cdef bint long_batch(const Net* net, Py_ssize_t rows) noexcept nogil


cdef floating* partial_buffer(floating[::1] partial, Py_ssize_t n_params) except? NULL
