"""pytest set-up shared by the unit tests and the notebook tests."""

import os

# Notebook kernels inherit this process's environment. This variable silences jupyter_core's deprecation
# warning about platform directories, which would otherwise land on a cell's stderr and fail nbval.
os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")
