"""Re-run notebooks top to bottom in a fresh kernel each and save them with their outputs.

Usage (from the repository root): python scripts/run_notebooks.py [notebooks/01_....ipynb ...]
With no arguments it runs every notebook in notebooks/ and notebooks/solutions/. Progress bars redraw themselves
with carriage returns; only the last state of each bar is kept, so that the stored output reads as it looked at the
end.
"""

import re
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def final_bar_states(text: str) -> str:
    """Keep, on every line, only what follows its last carriage return."""
    return "\n".join(re.sub(r"^.*\r", "", line) for line in text.split("\n"))


def run_notebook(path: Path) -> None:
    """Execute one notebook in a fresh kernel started in its folder, and save it in place."""
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    for cell in notebook.cells:
        merged = []
        for output in cell.get("outputs", []):  # a progress bar arrives as many stream pieces: join them
            previous = merged[-1] if merged else None
            if output.get("output_type") == "stream" and previous and previous.get("name") == output.get("name"):
                previous["text"] += output["text"]
            else:
                merged.append(output)
        for output in merged:
            if output.get("output_type") == "stream":
                output["text"] = final_bar_states(output["text"])
        if "outputs" in cell:
            cell["outputs"] = merged
    nbformat.write(notebook, path)
    print(f"ran {path}")


if __name__ == "__main__":
    root = Path(__file__).resolve().parent.parent
    from build_translation import english_notebooks  # a sibling script; notebooks/ko/ is built, not run

    paths = [Path(arg) for arg in sys.argv[1:]] or english_notebooks()
    for notebook_path in paths:
        run_notebook(notebook_path)
