from cython cimport floating


cdef enum:
    MAX_TILES = 8                  # most tiles one stage of the core is split into
    ROW_SPLIT_TILES = 2            # most row tiles of a row-split batch, each with
                                   # a partial gradient (see _network.row_split)
    ROW_SPLIT_MAX_PARAMS = 1 << 16 # networks up to this size may train row-split



cdef struct Net:
    # Shapes of a network, read by the nogil kernels. All arrays are owned by a Layout.
    Py_ssize_t n_layers          # weight layers (scikit-learn's n_layers_ - 1)
    const Py_ssize_t* units      # (n_layers + 1,) widths: n_features, hidden..., n_outputs
    const Py_ssize_t* coef_off   # (n_layers,) start of W[i] (units[i], units[i+1]) in params
    const Py_ssize_t* bias_off   # (n_layers,) start of b[i] (units[i+1],) in params
    const Py_ssize_t* act_off    # (n_layers + 1,) start of layer j's (capacity, units[j]) block
                                 # (layer 0's only with input_block)
    Py_ssize_t n_coefs           # params[:n_coefs] holds the weights, the rest the intercepts
    Py_ssize_t capacity          # rows the activation and delta buffers hold
    int hidden                   # Activation of the hidden layers
    int output                   # Activation of the output layer
    int loss                     # Loss
    double alpha                 # L2 penalty
    bint input_block             # the work buffers hold gathered input rows (layer 0)


cdef struct Input:
    # The input matrix X of shape (n_rows, n_cols): dense with element strides,
    # or CSR (indices != NULL). Values are of the dtype the kernel runs in.
    const void* data
    Py_ssize_t s0, s1               # dense: element strides of rows and columns
    const Py_ssize_t* indices       # CSR: column of each stored value, or NULL
    const Py_ssize_t* indptr        # CSR: (n_rows + 1,) start of each row in data
    Py_ssize_t n_rows, n_cols


cdef class InputMatrix:
    cdef Input input
    cdef readonly object dtype
    cdef object _keep              # the arrays `input` points into


cdef class Layout:
    cdef Net net
    cdef Py_ssize_t[::1] _units, _coef_off, _bias_off, _act_off
    cdef readonly Py_ssize_t n_params, act_size, delta_size


cdef struct Packing:
    # Where W sits in the product engine's panel layout (_engine.pxd), beside the
    # flat parameter buffer: the panels of every W[l] (for A @ W) and of every
    # W[l]^T but the first (for the delta D @ W^T, in a fit).
    Py_ssize_t nr                  # columns of a panel
    const Py_ssize_t* w_off        # (n_layers,) start of W[l]'s panels in the buffer
    const Py_ssize_t* wt_off       # (n_layers,) start of W[l]^T's panels, -1 for W[0]


cdef class Workspace:
    # Buffers of one fit (or one prediction), allocated once. Held as arrays so a
    # fused kernel can view them in the dtype it runs in.
    cdef readonly Layout layout
    cdef readonly object acts       # (act_size,) activations, layer 0 is the input batch
    cdef readonly object deltas     # (delta_size,) d loss / dz, layers 1..n_layers
    cdef readonly object row_loss   # (capacity,) float64, weighted loss of each row
    cdef readonly object partial    # (ROW_SPLIT_TILES * n_params,) per-tile gradients, or (0,)
    cdef readonly object packed     # W in the engine's panels (packing)
    cdef Packing packing
    cdef Py_ssize_t[::1] _w_off, _wt_off
    cdef const void** rows          # the row addresses the products read (row_table)


cdef check_x(Layout layout, Py_ssize_t n_params, InputMatrix X, object dtype,
             Py_ssize_t n_rows_max)
cdef check_targets(Layout layout, Py_ssize_t n_samples, const floating[:, ::1] Y,
                   const floating[::1] sample_weight)


# The row tables of a Workspace: the address of every row each product reads, one
# table of `capacity` rows per layer's input and per layer's delta.
cdef inline const void** input_rows(const void** rows, const Net* net,
                                    Py_ssize_t l) noexcept nogil:
    """The addresses of the rows of A[l], layer l's input (for l == 0 X's rows, set
    by each batch or prediction tile)."""
    return rows + l * net.capacity


cdef inline const void** delta_rows(const void** rows, const Net* net,
                                    Py_ssize_t l) noexcept nogil:
    """The addresses of the rows of layer l's delta, l = 1..n_layers."""
    return rows + (net.n_layers + l) * net.capacity
