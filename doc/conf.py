"""Sphinx configuration of fastmlp's documentation: `make -C doc html`.

In scikit-learn's conventions: numpydoc docstrings rendered by autodoc and
autosummary, the pydata-sphinx-theme, and a sphinx-gallery of the scripts in
../examples, executed at every build. The fastmlp documented is the one
installed (`pip install ".[docs]"`).
"""
import os
import re
import sys

import fastmlp

sys.path.insert(0, os.path.dirname(__file__))     # gallery_order.py

project = "fastmlp"
copyright = "the fastmlp developers"
release = fastmlp.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "_generated", "auto_examples/*.ipynb", "auto_examples/*.py",
                    "auto_examples/*.zip", "auto_examples/*.json", "auto_examples/*.md5",
                    "**/sg_execution_times.rst"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
default_role = "literal"        # `name` in docstrings, as in scikit-learn's
myst_heading_anchors = 3

# -- API reference -------------------------------------------------------------
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": True}
autodoc_typehints = "none"
numpydoc_show_class_members = False     # the class template lists the methods
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False


def plain_sklearn_roles(app, what, name, obj, options, lines):
    """Docstrings inherited from scikit-learn (score, get_params, set_params,
    set_callbacks, ...) cite its glossary and user guide with :term: and :ref:,
    which are no targets here: keep their text, drop the link."""
    if getattr(obj, "__module__", "") and obj.__module__.startswith("sklearn"):
        role = re.compile(r":(?:term|ref):`([^`<]*?)(?:\s*<[^`]*>)?`")
        lines[:] = [role.sub(lambda m: m.group(1).strip(), line) for line in lines]


# -- Speed page ----------------------------------------------------------------------
# The latest benchmark tables: the section of bench/README.md that bench/run.py
# rewrites after each run, between its two markers, copied at every build.
BENCH_README = os.path.join(os.path.dirname(__file__), "..", "bench", "README.md")


def write_speed_results(app):
    with open(BENCH_README, encoding="utf-8") as f:
        lines = f.read().splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("<!-- results:start")]
    ends = [i for i, line in enumerate(lines) if line.startswith("<!-- results:end")]
    if len(starts) != 1 or len(ends) != 1 or ends[0] < starts[0]:
        raise RuntimeError(f"{BENCH_README}: no results:start / results:end markers")
    out = os.path.join(app.srcdir, "_generated", "speed_results.md")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    text = "\n".join(lines[starts[0] + 1:ends[0]]).strip() + "\n"
    # rewritten only when it changed, so that Sphinx rebuilds the page only then
    if not os.path.exists(out) or open(out, encoding="utf-8").read() != text:
        with open(out, "w", encoding="utf-8") as f:
            f.write(text)


def setup(app):
    app.connect("autodoc-process-docstring", plain_sklearn_roles, priority=400)
    app.connect("builder-inited", write_speed_results)


# -- Gallery -----------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "gallery_order.ExampleOrder",
    "download_all_examples": False,
    "remove_config_comments": True,
    "matplotlib_animations": False,
    "show_memory": False,
    "reset_modules": ("matplotlib", "seaborn"),
    "min_reported_time": 1,
    # "Examples using ..." at the foot of each API page
    "doc_module": ("fastmlp",),
    "backreferences_dir": "generated/backreferences",
    "inspect_global_variables": False,
}
os.environ.setdefault("MPLBACKEND", "Agg")

# -- HTML --------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"fastmlp {release}"
html_static_path = []
html_show_sourcelink = False
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
    "secondary_sidebar_items": ["page-toc"],
}
html_sidebars = {"index": [], "speed": [], "whats_new": [], "getting_started": []}
