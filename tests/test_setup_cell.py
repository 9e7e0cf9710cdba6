"""The set-up cell: every notebook opens with it, and it works outside a checkout (as on Colab) by fetching the series."""

import shutil
import socket
import subprocess
import threading
import time
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


def kernel_client(notebook: nbformat.NotebookNode, folder: Path, timeout: int = 600) -> NotebookClient:
    """A client that runs notebook in a kernel started in folder, each cell for at most timeout seconds."""
    return NotebookClient(notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(folder)}})


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


def run_setup_cell_expecting_failure(folder: Path) -> str:
    """Run the set-up cell alone in a kernel started in folder; return the error it raises, traceback included."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(SETUP_CELL)])
    with pytest.raises(CellExecutionError) as raised:
        kernel_client(notebook, folder, timeout=60).execute()  # a cell that hangs fails here instead of after 10 min
    return str(raised.value)


def test_the_setup_cell_says_what_to_do_when_the_fetch_fails(tmp_path, monkeypatch):
    missing = tmp_path / "no-such-repository"
    monkeypatch.setenv("MDN_TUTORIAL_REPOSITORY", str(missing))
    error = run_setup_cell_expecting_failure(tmp_path)
    assert "Fetch the series yourself and open the notebooks from its checkout" in error
    for command in (f"git clone {missing} mdn-tutorial", "cd mdn-tutorial", "pip install -r requirements.txt",
                    "jupyter lab"):
        assert command in error, f"the error should print the command {command!r}"
    assert not (tmp_path / "mdn-tutorial").exists()


def test_the_setup_cell_gives_up_on_a_server_that_never_answers(tmp_path, monkeypatch):
    if shutil.which("git") is None:
        pytest.fail("git is needed to test the set-up cell's fetch")
    server = socket.create_server(("127.0.0.1", 0))  # accepts connections (the kernel's backlog) and never answers
    held = []  # the accepted connections, kept open and silent

    def accept_and_stay_silent():
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:  # the server was closed: the test is over
                return

    threading.Thread(target=accept_and_stay_silent, daemon=True).start()
    monkeypatch.setenv("MDN_TUTORIAL_REPOSITORY", f"http://127.0.0.1:{server.getsockname()[1]}/mdn-tutorial.git")
    monkeypatch.setenv("MDN_TUTORIAL_FETCH_SECONDS", "2")
    start = time.perf_counter()
    try:
        error = run_setup_cell_expecting_failure(tmp_path)
    finally:
        server.close()
        for connection in held:
            connection.close()
    assert held, "git should have connected to the silent server"
    assert "no answer within 2 s" in error and "git clone http://127.0.0.1:" in error
    assert time.perf_counter() - start < 30, "the cell should give up after its time limit, not hang"
    assert not (tmp_path / "mdn-tutorial").exists(), "a clone cut short leaves no folder behind"
