"""pytest set-up shared by the unit tests and the notebook tests."""

import os

# Notebook kernels inherit this process's environment. This variable silences jupyter_core's deprecation
# warning about platform directories, which would otherwise land on a cell's stderr and fail nbval.
os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")

# The notebooks that take longest, longest first. pytest-xdist (--dist loadscope) hands out whole files in the
# order they were collected; starting these first lets the two workers of a 2-core machine finish together,
# instead of one starting notebook 06 (about three minutes) after everything else.
LONGEST_FIRST = ["notebooks/06_training_pitfalls_and_recipe.ipynb", "notebooks/09_alternatives.ipynb",
                 "notebooks/05_how_good_is_the_fit.ipynb", "notebooks/08_real_data_old_faithful.ipynb"]


def pytest_collection_modifyitems(items):
    """Move the longest notebooks' cells to the front, keeping every file's cells in order."""
    def rank(item):
        path = item.nodeid.split("::")[0]
        return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # a stable sort: the order within each rank stays as collected
