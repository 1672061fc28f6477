"""The containers the kernels read: a network's shapes and offsets (Layout), the
work buffers of one fit (Workspace), the input matrix (InputMatrix), and the
checks of what a kernel is handed against them, made before the GIL is released.
"""
cimport cython
cimport numpy as cnp
from cython cimport floating
from libc.stdlib cimport free, malloc

import numpy as np

from ._engine cimport panel_width, panels

cnp.import_array()


cdef class Layout:
    """Shapes and offsets of a network: units, where each W and b sit in the flat
    parameter buffer, and where each layer's block sits in the work buffers.

    Parameters
    ----------
    units : sequence of int of length n_layers + 1
        n_features, the hidden layer sizes, n_outputs.
    hidden, output : Activation
        Activation of the hidden layers and of the output layer.
    loss : Loss
    alpha : float
        L2 penalty on the weights.
    capacity : int
        Most rows a batch (or a prediction chunk) has.
    input_block : bool
        Whether the work buffers hold a block of gathered input rows. Sparse X,
        and a C-ordered X read whole, are read in place and need none.
    """

    @cython.wraparound(True)
    def __init__(self, units, int hidden, int output, int loss, double alpha,
                 Py_ssize_t capacity, bint input_block=True):
        # plain Python integers: this runs once per fit and per prediction, on a
        # handful of numbers, where NumPy's per-call cost would dominate
        u = [int(k) for k in units]
        if len(u) < 2 or min(u) < 1 or capacity < 1:
            raise ValueError(f"invalid layout: units={units}, capacity={capacity}")
        n_layers = len(u) - 1
        coef_off, bias_off, act_off = [], [], []
        n_coefs = n_biases = rows = 0
        for i in range(n_layers):
            coef_off.append(n_coefs)
            n_coefs += u[i] * u[i + 1]
        for i in range(n_layers):
            bias_off.append(n_coefs + n_biases)
            n_biases += u[i + 1]
        widths = [u[0] if input_block else 0] + u[1:]
        for w in widths:
            act_off.append(capacity * rows)
            rows += w
        # BLAS takes int sizes: every matrix dimension and leading dimension must fit.
        if max(max(u), capacity) >= 2**31:
            raise ValueError("a layer or batch is too large for BLAS's 32-bit sizes")
        u, coef_off, bias_off, act_off = [np.array(a, dtype=np.intp)
                                          for a in (u, coef_off, bias_off, act_off)]

        self._units, self._coef_off, self._bias_off, self._act_off = u, coef_off, bias_off, act_off
        self.n_params = n_coefs + n_biases
        self.act_size = capacity * rows
        self.delta_size = capacity * n_biases
        self.net.n_layers = n_layers
        self.net.units = &self._units[0]
        self.net.coef_off = &self._coef_off[0]
        self.net.bias_off = &self._bias_off[0]
        self.net.act_off = &self._act_off[0]
        self.net.n_coefs = n_coefs
        self.net.capacity = capacity
        self.net.hidden = hidden
        self.net.output = output
        self.net.loss = loss
        self.net.alpha = alpha
        self.net.input_block = input_block

    @property
    def capacity(self):
        return self.net.capacity

    def coef_slices(self):
        """(start, stop, shape) of each W[i] in the flat buffer, in layer order."""
        u = self._units
        return [(self._coef_off[i], self._coef_off[i] + u[i] * u[i + 1], (u[i], u[i + 1]))
                for i in range(self.net.n_layers)]

    def intercept_slices(self):
        """(start, stop) of each b[i] in the flat buffer, in layer order."""
        u = self._units
        return [(self._bias_off[i], self._bias_off[i] + u[i + 1])
                for i in range(self.net.n_layers)]


cdef class Workspace:
    """The work buffers of one fit or one prediction, in one dtype: activations,
    deltas, the rows' losses, a row-split batch's partial gradients, W in the
    product engine's panels (of W^T too, with gradients), and the tables of the row
    addresses the products read."""

    def __init__(self, Layout layout, dtype, bint gradients=True):
        cdef const Net* net = &layout.net
        cdef Py_ssize_t L = net.n_layers, cap = net.capacity, l, r, size = 0, n_in, n_out
        self.layout = layout
        dtype = np.dtype(dtype)
        self.acts = np.empty(layout.act_size, dtype=dtype)
        self.deltas = np.empty(layout.delta_size, dtype=dtype)
        self.row_loss = np.empty(cap, dtype=np.float64)
        # room for the partial gradients of a row-split batch (small networks)
        split = gradients and layout.n_params <= ROW_SPLIT_MAX_PARAMS
        self.partial = np.empty(ROW_SPLIT_TILES * layout.n_params if split else 0, dtype=dtype)

        # W's panels: A @ W[l] reads panels of W[l]'s columns, the delta D @ W[l]^T
        # (layers after the first) panels of its rows
        cdef Py_ssize_t nr = panel_width(dtype == np.float32)
        self._w_off = np.empty(L, dtype=np.intp)
        self._wt_off = np.full(L, -1, dtype=np.intp)
        for l in range(L):
            n_in, n_out = net.units[l], net.units[l + 1]
            self._w_off[l] = size
            size += panels(n_out, nr) * nr * n_in
            if l > 0:
                self._wt_off[l] = size
                size += panels(n_in, nr) * nr * n_out
        self.packed = np.zeros(size, dtype=dtype)
        self.packing.nr = nr
        self.packing.w_off = &self._w_off[0]
        self.packing.wt_off = &self._wt_off[0]

        # the row tables: layers 1.. of the activations and every delta are fixed
        # blocks of the buffers; layer 0's rows are X's, set as they are read
        self.rows = <const void**> malloc((2 * L + 1) * cap * sizeof(void*))
        if self.rows == NULL:
            raise MemoryError()
        cdef char* acts = <char*> cnp.PyArray_DATA(self.acts)
        cdef char* deltas = <char*> cnp.PyArray_DATA(self.deltas)
        cdef Py_ssize_t item = dtype.itemsize
        cdef const void** table
        for l in range(1, L + 1):
            if l < L:
                table = input_rows(self.rows, net, l)
                for r in range(cap):
                    table[r] = acts + (net.act_off[l] + r * net.units[l]) * item
            table = delta_rows(self.rows, net, l)
            for r in range(cap):
                table[r] = deltas + (net.act_off[l] - net.act_off[1] + r * net.units[l]) * item

    def __dealloc__(self):
        free(self.rows)


cdef class InputMatrix:
    """X for the kernels: a 2-D ndarray (any strides) or a CSR matrix.

    The CSR structure is checked here, once, so that no kernel can read outside it.
    """

    def __init__(self, X):
        cdef const float[:, :] dense32
        cdef const double[:, :] dense64
        cdef const float[:] values32
        cdef const double[:] values64
        cdef const Py_ssize_t[::1] indices, indptr
        self.dtype = X.dtype
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"X must be float32 or float64, got {self.dtype}")
        n_rows, n_cols = X.shape
        self.input.n_rows, self.input.n_cols = n_rows, n_cols
        if n_rows == 0 or n_cols == 0:
            raise ValueError(f"X has shape {X.shape}")
        if hasattr(X, "indptr"):                 # CSR
            if X.format != "csr":
                raise ValueError(f"sparse X must be CSR, got {X.format}")
            indptr = np.asarray(X.indptr, dtype=np.intp)
            indices = np.asarray(X.indices, dtype=np.intp)
            nnz = indices.shape[0]
            if (indptr.shape[0] != n_rows + 1 or indptr[0] != 0 or indptr[n_rows] > nnz
                    or np.any(np.diff(indptr) < 0) or X.data.shape[0] < indptr[n_rows]
                    or (nnz and (np.min(indices) < 0 or np.max(indices) >= n_cols))):
                raise ValueError("X is not a valid CSR matrix")
            data = np.ascontiguousarray(X.data)
            if nnz == 0:    # keep a valid pointer for an all-zero matrix
                data, indices = np.zeros(1, self.dtype), np.zeros(1, np.intp)
            if self.dtype == np.float32:
                values32 = data
                self.input.data = &values32[0]
            else:
                values64 = data
                self.input.data = &values64[0]
            self.input.indices, self.input.indptr = &indices[0], &indptr[0]
            self._keep = (data, indices, indptr)
            return
        if self.dtype == np.float32:
            dense32 = X
            self.input.data = &dense32[0, 0]
        else:
            dense64 = X
            self.input.data = &dense64[0, 0]
        if X.strides[0] % X.itemsize or X.strides[1] % X.itemsize:
            raise ValueError("X's strides are not a multiple of its item size")
        self.input.s0, self.input.s1 = X.strides[0] // X.itemsize, X.strides[1] // X.itemsize
        self.input.indices = self.input.indptr = NULL
        self._keep = X

    @property
    def shape(self):
        return (self.input.n_rows, self.input.n_cols)


# ---------------------------------------------------------------------------
# Checks made before a kernel runs
# ---------------------------------------------------------------------------

cdef check_x(Layout layout, Py_ssize_t n_params, InputMatrix X, object dtype,
             Py_ssize_t n_rows_max):
    cdef const Net* net = &layout.net
    if n_params != layout.n_params:
        raise ValueError(f"expected {layout.n_params} parameters, got {n_params}")
    if X.dtype != dtype:
        raise ValueError(f"X is {X.dtype}, the parameters {dtype}")
    if X.input.n_cols != net.units[0]:
        raise ValueError(f"X has {X.input.n_cols} features, the network {net.units[0]}")
    if X.input.n_rows > n_rows_max:
        raise ValueError(f"X has {X.input.n_rows} rows, the workspace holds {n_rows_max}")
    if X.input.indices == NULL and not net.input_block and X.input.s1 != 1:
        raise ValueError("this X must be gathered, and the layout has no input block")


cdef check_targets(Layout layout, Py_ssize_t n_samples, const floating[:, ::1] Y,
                   const floating[::1] sample_weight):
    cdef Py_ssize_t n_out = layout.net.units[layout.net.n_layers]
    if Y.shape[0] != n_samples or Y.shape[1] != n_out:
        raise ValueError(f"Y has shape ({Y.shape[0]}, {Y.shape[1]}), "
                         f"expected ({n_samples}, {n_out})")
    if sample_weight is not None and sample_weight.shape[0] != n_samples:
        raise ValueError("sample_weight and X have different lengths")


def as_input(X):
    """X as the kernels take it: an InputMatrix of an ndarray or a CSR matrix."""
    return X if isinstance(X, InputMatrix) else InputMatrix(X)
