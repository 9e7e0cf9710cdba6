"""Sphinx configuration of the series' website. scripts/build_site.py lays out the sources (the README as the landing
page, the notebooks as stored, with their outputs) and runs Sphinx on them; nothing is executed."""

import re
from pathlib import Path

_REPOSITORY = Path(__file__).resolve().parent  # the laid-out source folder, where build_site.py copies this file


def _repository_url() -> str:
    """The series' address, read from CITATION.cff (its one home outside the notebooks' set-up cell)."""
    match = re.search(r'^repository-code:\s*"?([^"\s]+)"?', (_REPOSITORY / "CITATION.cff").read_text(), re.MULTILINE)
    if match is None:
        raise ValueError("CITATION.cff has no repository-code line: add the repository's address there")
    return match.group(1)


project = "mdn-tutorial"
author = "The mdn-tutorial authors"
copyright = "2026, The mdn-tutorial authors (text and figures CC BY 4.0, code MIT)"
extensions = ["myst_nb"]
exclude_patterns = ["_build", "**.ipynb_checkpoints"]

# Notebooks are shown as stored: their outputs are the tested ones (nbval), so the build runs no code.
nb_execution_mode = "off"
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
highlight_language = "none"  # fenced blocks without a language (tables of figures) are not coloured as code

# MathJax from a registry package, served with the site: the maths typesets with no internet.
mathjax_path = "mathjax/tex-svg-full.js"

html_theme = "sphinx_book_theme"
html_title = "Mixture Density Networks in PyTorch"
html_static_path = ["_static"]
html_favicon = "favicon.svg"
html_css_files = ["custom.css"]
html_js_files = ["language-switch.js"]  # a link to the same page in the other language (English / 한국어)
html_context = {"default_mode": "light"}  # the figures have white backgrounds
html_theme_options = {
    "repository_url": _repository_url(),
    "repository_branch": "main",
    "path_to_docs": "",
    "use_repository_button": True,
    "launch_buttons": {"colab_url": "https://colab.research.google.com"},
    "show_toc_level": 2,
    # The copyright line names the authors already; the theme's "By ..." line would repeat it (and in Korean reads
    # "으로 ...", the particle before the name).
    "footer_content_items": ["copyright", "last-updated", "extra-footer"],
}
