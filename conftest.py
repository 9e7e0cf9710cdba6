"""pytest set-up shared by the unit tests and the notebook tests."""

import json
import os
from pathlib import Path

# Notebook kernels inherit this process's environment. This variable silences jupyter_core's deprecation
# warning about platform directories, which would otherwise land on a cell's stderr and fail nbval.
os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")

# Each notebook's run time, as benchmarks/bench_notebooks.py last measured it.
NOTEBOOK_TIMES = Path(__file__).resolve().parent / "benchmarks" / "notebook_times.json"


def pytest_collection_modifyitems(items):
    """Move the longest notebooks' cells to the front, longest first, keeping every file's cells in order.

    pytest-xdist (--dist loadscope) hands out whole files in the order they were collected; starting the longest
    first lets the workers of a 2-core machine finish together, instead of one starting the longest notebook
    after everything else. A file the benchmark has not timed keeps its place after the timed ones."""
    seconds = json.loads(NOTEBOOK_TIMES.read_text()) if NOTEBOOK_TIMES.exists() else {}
    items.sort(key=lambda item: -seconds.get(item.nodeid.split("::")[0], 0.0))  # stable: each file's cells in order
