"""Sphinx configuration for the discmri documentation."""

import discmri

project = "discmri"
author = "discmri developers"
release = discmri.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "sphinx.ext.intersphinx",
    "numpydoc",
]
autodoc_default_options = {"members": True, "inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
exclude_patterns = ["_build"]
html_theme = "alabaster"
nitpicky = False
intersphinx_mapping = {}
