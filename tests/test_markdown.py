"""The notebooks' markdown renders the same in Jupyter, on GitHub and on the website (MyST): checks that read files."""

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted(Path(__file__).resolve().parent.parent.glob("notebooks/**/*.ipynb"))


def display_maths_inside_paragraphs(path: Path) -> list[str]:
    """Each display formula ($$ ... $$ over lines) that opens straight after a line of text, as 'cell id: line'."""
    found = []
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        inside, previous = False, ""
        for line in "".join(cell["source"]).splitlines():
            if line.count("$$") % 2 == 1:
                if not inside and previous.strip():
                    found.append(f"{cell.get('id')}: {line.strip()[:60]}")
                inside = not inside
            previous = line
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_every_display_formula_is_a_block_of_its_own(path):
    # Jupyter renders $$ ... $$ anywhere, but MyST (the website) reads one that opens inside a paragraph as inline
    # maths, pairs its dollars wrongly and shows raw TeX; a line of it that starts with "- " even becomes a list.
    # A blank line before the $$ makes it a block everywhere.
    assert not display_maths_inside_paragraphs(path), f"{path.name}: put a blank line before these $$"


def test_the_check_finds_a_formula_inside_a_paragraph(tmp_path):
    broken = {"cells": [{"cell_type": "markdown", "id": "x", "source": ["so that\n", "$$a = b\n", "  - c$$\n"]}]}
    fine = {"cells": [{"cell_type": "markdown", "id": "y", "source": ["so that\n", "\n", "$$a = b\n", "  - c$$\n"]}]}
    (tmp_path / "broken.ipynb").write_text(json.dumps(broken))
    (tmp_path / "fine.ipynb").write_text(json.dumps(fine))
    assert display_maths_inside_paragraphs(tmp_path / "broken.ipynb") == ["x: $$a = b"]
    assert display_maths_inside_paragraphs(tmp_path / "fine.ipynb") == []
