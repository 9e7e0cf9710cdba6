"""Benchmark: each notebook's run time in a fresh kernel on one core, and the whole test suite's time.

Run from the repository root: python benchmarks/bench_notebooks.py [--no-suite] [notebooks/NN_name.ipynb ...]

Each notebook (by default every one in notebooks/ and notebooks/solutions/) runs top to bottom in a fresh kernel
started in its folder, one at a time, with one torch thread (OMP_NUM_THREADS=1), as a reader's laptop or one CI
worker runs it; outputs are not saved. Each time is printed with its ratio to notebook 01's in the same run, so that
the figures compare across machines. Then the README's test command (`python -m pytest`) runs once and its wall time
is printed (skip it with --no-suite). The times are written to benchmarks/notebook_times.json, from which conftest.py
orders the notebooks for pytest-xdist, longest first; a run on a subset of notebooks updates only their entries.
The series' bars: no notebook over 60 s, the suite under 150 s, on the project's 2-core machine.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
TIMES_FILE = ROOT / "benchmarks" / "notebook_times.json"
BASELINE = "notebooks/01_mse_forward_problem.ipynb"
NOTEBOOK_BAR, SUITE_BAR = 60.0, 150.0


def notebook_seconds(path: Path) -> float:
    """Wall time of one top-to-bottom run in a fresh kernel, kernel start included."""
    notebook = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    return time.perf_counter() - start


def suite_seconds() -> tuple[float, str]:
    """Wall time of the README's test command, and its closing line."""
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=ROOT,
                            capture_output=True, text=True)
    lines = result.stdout.strip().splitlines()
    return time.perf_counter() - start, lines[-1] if lines else f"exit status {result.returncode}"


def main() -> None:
    """Time the notebooks one by one, print their ratios to notebook 01, time the suite, and record the times."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks to time (default: all)")
    parser.add_argument("--no-suite", action="store_true", help="do not time the whole test suite")
    arguments = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = "1"  # inherited by every kernel: one core, as on a reader's machine
    os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")
    sys.path.insert(0, str(ROOT / "scripts"))
    from build_translation import english_notebooks  # notebooks/ko/ runs the English code: not timed again

    paths = [path.resolve() for path in arguments.notebooks] or english_notebooks()
    names = [str(path.relative_to(ROOT)) for path in paths]
    if BASELINE not in names:  # every run measures its own baseline
        paths, names = [ROOT / BASELINE, *paths], [BASELINE, *names]
    import torch  # only for the versions it prints

    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; torch {torch.__version__}, "
          "one thread per kernel\n")
    print(f"{'notebook':<62} {'seconds':>8} {'x 01':>6}")
    seconds = {}
    for path, name in zip(paths, names):
        seconds[name] = notebook_seconds(path)
        flag = "  over the bar" if seconds[name] > NOTEBOOK_BAR else ""
        print(f"{name:<62} {seconds[name]:8.1f} {seconds[name] / seconds[BASELINE]:6.2f}{flag}", flush=True)
    print(f"{'all notebooks, one after another':<62} {sum(seconds.values()):8.1f} "
          f"{sum(seconds.values()) / seconds[BASELINE]:6.2f}")
    recorded = json.loads(TIMES_FILE.read_text()) if TIMES_FILE.exists() else {}
    recorded.update({name: round(value, 1) for name, value in seconds.items()})
    TIMES_FILE.write_text(json.dumps(dict(sorted(recorded.items())), indent=1) + "\n")
    if not arguments.no_suite:
        suite, closing_line = suite_seconds()
        print(f"\nthe test suite (python -m pytest, one worker per core): {suite:.1f} s "
              f"({suite / seconds[BASELINE]:.1f} x notebook 01; bar {SUITE_BAR:.0f} s); pytest said: {closing_line}")


if __name__ == "__main__":
    main()
