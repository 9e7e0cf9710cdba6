"""The set-up cell: every notebook opens with it, and it works outside a checkout (as on Colab) by fetching the series."""

import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from scripts.setup_cell import SETUP_CELL, is_setup_cell

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("**/[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_every_notebook_opens_with_the_setup_cell(path):
    first_code_cell = next(cell for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code")
    assert is_setup_cell(first_code_cell) and first_code_cell.source == SETUP_CELL, (
        f"{path.name} must open with the set-up cell of scripts/setup_cell.py: run `python scripts/setup_cell.py`"
    )


def make_series_repository(folder: Path) -> Path:
    """A git repository holding the working tree's helpers.py, data and notebooks: what the set-up cell fetches."""
    folder.mkdir()
    shutil.copy(ROOT / "helpers.py", folder / "helpers.py")
    shutil.copytree(ROOT / "data", folder / "data")
    shutil.copytree(ROOT / "notebooks", folder / "notebooks")
    git = ["git", "-C", str(folder), "-c", "user.name=test", "-c", "user.email=test@example.com"]
    for command in (["init", "--quiet"], ["add", "."], ["commit", "--quiet", "-m", "series"]):
        subprocess.run(git + command, check=True)
    return folder


def kernel_client(notebook: nbformat.NotebookNode, folder: Path) -> NotebookClient:
    """A client that runs notebook in a kernel started in folder."""
    return NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(folder)}})


def test_a_notebook_outside_any_checkout_fetches_the_series_and_its_data_once(tmp_path, monkeypatch):
    if shutil.which("git") is None:
        pytest.fail("git is needed to test the set-up cell's fetch")
    monkeypatch.setenv("MDN_TUTORIAL_REPOSITORY", str(make_series_repository(tmp_path / "series")))
    reader_folder = tmp_path / "reader"  # like Colab's /content: a notebook and nothing else
    reader_folder.mkdir()
    notebook_path = shutil.copy(NOTEBOOKS[0], reader_folder)
    notebook = nbformat.read(notebook_path, as_version=4)
    client = kernel_client(notebook, reader_folder)
    code_cells = [index for index, cell in enumerate(notebook.cells) if cell.cell_type == "code"]
    with client.setup_kernel():
        for index in code_cells[:2]:  # the set-up cell, then the imports, which import helpers
            client.execute_cell(notebook.cells[index], index)
        fetched = reader_folder / "mdn-tutorial"
        assert (fetched / "helpers.py").is_file(), "the set-up cell should have fetched the series beside the notebook"
        (fetched / "marker").touch()  # a second fetch would fail (the folder exists) or remove this file
        client.execute_cell(notebook.cells[code_cells[0]], code_cells[0])  # the set-up cell again: no second fetch
        check = nbformat.v4.new_code_cell("import helpers; print(helpers.__file__); print(len(helpers.old_faithful()[0]))")
        notebook.cells.append(check)
        client.execute_cell(check, len(notebook.cells) - 1)
    assert (fetched / "marker").exists()
    assert check.outputs[0]["text"].split() == [str(fetched / "helpers.py"), "272"], "helpers and the data, fetched"


def test_the_setup_cell_says_what_to_do_when_the_fetch_fails(tmp_path, monkeypatch):
    monkeypatch.setenv("MDN_TUTORIAL_REPOSITORY", str(tmp_path / "no-such-repository"))
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(SETUP_CELL)])
    with pytest.raises(CellExecutionError, match="Clone the series and open the notebooks from its checkout"):
        kernel_client(notebook, tmp_path).execute()
    assert not (tmp_path / "mdn-tutorial").exists()
