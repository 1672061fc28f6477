"""The order of the gallery's examples (sphinx-gallery's within_subsection_order):
from a first comparison with scikit-learn to scaling out. An example not listed
comes after these, by file name."""

ORDER = [
    "plot_speed_digits.py",
    "plot_loss_curves.py",
    "plot_callbacks.py",
    "plot_class_weight.py",
    "plot_partial_fit_stream.py",
    "plot_grid_search.py",
    "plot_onnx_export.py",
    "plot_dask_search.py",
]


class ExampleOrder:
    """Sort key of an example's file name."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        rank = ORDER.index(filename) if filename in ORDER else len(ORDER)
        return rank, filename

    def __repr__(self):
        return f"<{type(self).__name__}>"
