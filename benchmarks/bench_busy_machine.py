"""How much slower does each notebook run when another process keeps one CPU core busy?

Usage (from the repository root):
    python benchmarks/bench_busy_machine.py [notebooks/NN_name.ipynb ...] [--default-threads]

Each notebook runs top to bottom in a fresh kernel twice in the same run: on a quiet machine, then while a
second process spins on one core (as a browser, a compiler or another notebook would). It prints both wall
times and their ratio; the series' goal is a ratio under 1.5. With --default-threads the busy run is repeated
with as many torch threads as the machine has cores (torch's own default, what the series used before
`helpers` chose one thread), to show what the choice is worth. Outputs are not saved.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_notebooks import ROOT, notebook_seconds  # noqa: E402

GOAL = 1.5


def run_seconds(path: Path, threads: str | None) -> float:
    """Wall time of one top-to-bottom run of the notebook in a fresh kernel; threads sets OMP_NUM_THREADS there."""
    saved = os.environ.get("OMP_NUM_THREADS")
    if threads is None:
        os.environ.pop("OMP_NUM_THREADS", None)
    else:
        os.environ["OMP_NUM_THREADS"] = threads  # the kernel inherits this process's environment
    try:
        return notebook_seconds(path)
    finally:
        if saved is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = saved


class BusyCore:
    """A second process that keeps one CPU core busy while the block runs."""

    def __enter__(self) -> "BusyCore":
        self.process = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        time.sleep(0.5)
        return self

    def __exit__(self, *exc_info) -> None:
        self.process.kill()
        self.process.wait()


def main() -> None:
    """Run every notebook (or those named) quiet and busy, and print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--default-threads", action="store_true",
                        help="also run busy with one torch thread per core (torch's default)")
    arguments = parser.parse_args()
    paths = arguments.notebooks or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")
    print(f"{os.cpu_count()} CPU cores; busy = one other process spinning on one core; ratio = busy / quiet\n")
    header = f"{'notebook':<42} {'quiet':>8} {'busy':>8} {'ratio':>6}"
    if arguments.default_threads:
        header += f"   {'busy, ' + str(os.cpu_count()) + ' threads':>16} {'ratio':>6}"
    print(header)
    worst = 0.0
    for path in paths:
        quiet = run_seconds(path, threads=None)
        with BusyCore():
            busy = run_seconds(path, threads=None)
            many_threads = run_seconds(path, threads=str(os.cpu_count())) if arguments.default_threads else None
        worst = max(worst, busy / quiet)
        line = f"{path.name:<42} {quiet:7.1f}s {busy:7.1f}s {busy / quiet:5.2f}x"
        if many_threads is not None:
            line += f"   {many_threads:15.1f}s {many_threads / quiet:5.2f}x"
        print(line, flush=True)
    print(f"\nworst ratio, busy / quiet: {worst:.2f}x (goal: under {GOAL}x)")


if __name__ == "__main__":
    main()
