"""The notebooks' markdown renders the same in Jupyter, on GitHub and on the website (MyST): checks that read files."""

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted(Path(__file__).resolve().parent.parent.glob("notebooks/**/*.ipynb"))
LIST_MARKER = re.compile(r"^\s*([-+*]|\d+[.)])\s")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_no_line_of_display_maths_reads_as_a_list_item(path):
    # A display formula that opens inside a paragraph (no blank line before its $$) is part of that paragraph to
    # MyST, and a line of it that starts with "- " or "+ " starts a list: the website would show raw TeX there.
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        inside, in_paragraph, previous = False, False, ""
        for line in "".join(cell["source"]).splitlines():
            if inside and in_paragraph:
                assert not LIST_MARKER.match(line), f"{path.name}, cell {cell.get('id')}: {line.strip()!r}"
            if line.count("$$") % 2 == 1:
                inside = not inside
                in_paragraph = inside and (previous.strip() != "" or not line.lstrip().startswith("$$"))
            previous = line


def test_the_check_finds_a_formula_broken_by_a_list_marker(tmp_path):
    fine = {"cells": [{"cell_type": "markdown", "id": "y", "source": ["so that\n", "\n", "$$a = b\n", "  - c$$\n"]}]}
    (tmp_path / "fine.ipynb").write_text(json.dumps(fine))
    test_no_line_of_display_maths_reads_as_a_list_item(tmp_path / "fine.ipynb")  # a block of its own: fine
    broken = {"cells": [{"cell_type": "markdown", "id": "x", "source": ["so that\n", "$$a = b\n", "  - c$$\n"]}]}
    (tmp_path / "broken.ipynb").write_text(json.dumps(broken))
    with pytest.raises(AssertionError, match="broken.ipynb, cell x"):
        test_no_line_of_display_maths_reads_as_a_list_item(tmp_path / "broken.ipynb")
