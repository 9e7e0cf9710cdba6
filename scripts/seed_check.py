"""Run notebooks' code with every seed shifted, to check that their assertions hold on seeds they do not use.

Usage (from the repository root):
    python scripts/seed_check.py [--offsets 1,2,3] [--workers N] notebooks/NN_name.ipynb ...

Each run joins a notebook's code cells into one script, replaces every literal seed (`seed=K`,
`seed_everything(K)`, `manual_seed(K)`, and each K in a list `seeds = [K, ...]`) by K + 100 * offset, and runs
it in the notebook's folder with matplotlib's Agg backend and one torch thread. It prints one line per notebook
and offset: the exit status and, for a failure, the assertion that failed. Runs go side by side on `--workers`
processes; use as many as the machine has free cores. Nothing is saved. `--show` prints each run's output;
`--measure` runs with Python's -O, which drops every assert, to collect a notebook's printed numbers on many
seeds when setting its thresholds.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

SEED = re.compile(r"(seed=|seed_everything\(|manual_seed\()(\d+)")
SEED_LIST = re.compile(r"(seeds = \[)([\d, ]+)(\])")


def shifted_script(path: Path, offset: int) -> str:
    """The notebook's code cells as one script, every literal seed shifted by 100 * offset."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    code = "\n\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "code")
    shift = lambda seed: str(int(seed) + 100 * offset)  # noqa: E731
    code = SEED.sub(lambda match: match.group(1) + shift(match.group(2)), code)
    shifted_list = lambda match: ", ".join(map(shift, match.group(2).split(",")))  # noqa: E731
    code = SEED_LIST.sub(lambda match: match.group(1) + shifted_list(match) + match.group(3), code)
    return "import matplotlib\nmatplotlib.use('Agg')\n\n" + code


def run(path: Path, offset: int, show: bool = False, measure: bool = False) -> str:
    """Run one shifted notebook; return a line saying how it went."""
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as script:
        script.write(shifted_script(path, offset))
    environment = dict(os.environ, OMP_NUM_THREADS="1", MPLBACKEND="Agg")
    flags = ["-O"] if measure else []
    result = subprocess.run([sys.executable, *flags, script.name], cwd=path.parent, capture_output=True, text=True,
                            env=environment)
    os.unlink(script.name)
    last_line = (result.stderr.strip().splitlines() or [""])[-1]
    shown = "\n" + result.stdout if show else ""
    return f"{path.name} seeds +{100 * offset}: " + ("ok" if result.returncode == 0 else f"FAILED: {last_line}") + shown


def main() -> None:
    """Run every named notebook with every offset and print the outcomes."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--offsets", default="1,2,3", help="comma-separated seed offsets (times 100)")
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--show", action="store_true", help="print each run's output")
    parser.add_argument("--measure", action="store_true", help="run without asserts (python -O), implies --show")
    arguments = parser.parse_args()
    jobs = [(path.resolve(), int(offset)) for path in arguments.notebooks for offset in arguments.offsets.split(",")]
    with ThreadPoolExecutor(arguments.workers) as pool:
        lines = list(pool.map(lambda job: run(*job, arguments.show or arguments.measure, arguments.measure), jobs))
    print("\n".join(lines))
    failures = sum("FAILED" in line for line in lines)
    print(f"\n{len(lines) - failures} of {len(lines)} runs passed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
