"""The set-up cell that opens every notebook, kept in this one place, and a command that writes it into them.

Usage (from the repository root): python scripts/setup_cell.py [notebooks/NN_name.ipynb ...]
With no arguments it updates every notebook. Re-run the changed notebooks afterwards (scripts/run_notebooks.py).
The series' address lives here alone; tests/test_setup_cell.py checks that every notebook opens with this cell.
"""

import sys
from pathlib import Path

import nbformat

SETUP_CELL = '''\
# @title Set-up: make helpers.py importable (from this checkout; on Colab, from a copy fetched once)
import os, pathlib, shutil, subprocess, sys

series = os.environ.get("MDN_TUTORIAL_REPOSITORY", "https://github.com/mdn-tutorial/mdn-tutorial")
here = pathlib.Path.cwd()
root = next((folder for folder in (here, *here.parents) if (folder / "helpers.py").is_file()), here / "mdn-tutorial")
if not (root / "helpers.py").is_file():
    seconds, existed = float(os.environ.get("MDN_TUTORIAL_FETCH_SECONDS", 60)), root.exists()
    try:  # a network that accepts the connection and never answers would otherwise hang here for ever
        fetch = subprocess.run(["git", "clone", "--quiet", series, str(root)], capture_output=True, text=True,
                               timeout=seconds)
        problem = fetch.stderr.strip() if fetch.returncode else None
    except subprocess.TimeoutExpired:
        problem = f"no answer within {seconds:.0f} s"
    except FileNotFoundError:
        problem = "git is not installed"
    if problem is not None:
        if not existed:
            shutil.rmtree(root, ignore_errors=True)  # what a clone cut short leaves behind
        raise RuntimeError(f"helpers.py is not in this folder or above it, and fetching {series} failed ({problem}). "
                           "Fetch the series yourself and open the notebooks from its checkout, in a terminal:\\n"
                           f"    git clone {series} mdn-tutorial\\n    cd mdn-tutorial\\n"
                           "    python3 -m venv .venv && .venv/bin/pip install -r requirements.txt && .venv/bin/jupyter lab")
if str(root) not in sys.path:
    sys.path.insert(0, str(root))'''

# Hidden in JupyterLab ("jupyter.source_hidden") and shown as a titled form on Colab ("cellView"): plumbing, not lesson.
SETUP_CELL_METADATA = {"cellView": "form", "jupyter": {"source_hidden": True}, "tags": ["setup"]}


def is_setup_cell(cell: nbformat.NotebookNode) -> bool:
    """True for the set-up cell (a code cell tagged 'setup')."""
    return cell.cell_type == "code" and "setup" in cell.metadata.get("tags", [])


def write_setup_cell(path: Path) -> None:
    """Make the notebook's first code cell the set-up cell (replacing an older one) and save it."""
    notebook = nbformat.read(path, as_version=4)
    cell = nbformat.v4.new_code_cell(SETUP_CELL, metadata=SETUP_CELL_METADATA)
    first_code = next(index for index, old in enumerate(notebook.cells) if old.cell_type == "code")
    if is_setup_cell(notebook.cells[first_code]):
        cell.outputs, cell.execution_count = notebook.cells[first_code].outputs, notebook.cells[first_code].execution_count
        notebook.cells[first_code] = cell
    else:
        notebook.cells.insert(first_code, cell)
    nbformat.write(notebook, path)


if __name__ == "__main__":
    root = Path(__file__).resolve().parent.parent
    from build_translation import english_notebooks  # a sibling script; notebooks/ko/ copies the English cells

    for notebook_path in [Path(arg) for arg in sys.argv[1:]] or english_notebooks():
        write_setup_cell(notebook_path)
        print(f"set-up cell written into {notebook_path}")
