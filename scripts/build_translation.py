"""Build a translated edition of the series from the English notebooks and one translation file per notebook.

Usage (from the repository root):
    python scripts/build_translation.py ko [NOTEBOOK ...]   write notebooks/ko/... (refuses while a translation is
                                                            missing or stale, and names the cells)
    python scripts/build_translation.py ko --template       add every untranslated or changed English cell to the
                                                            translation files, for a translator to fill in

A translation file, translations/<language>/<notebook name>.md, holds each markdown cell of the English notebook:

    <!-- cell cell-04 · english sha256 3f2a9c01b7d4 -->
    <!-- english
    The English text it was translated from, as it was then.
    -->
    The translated text.

The hash ties a translation to the English text it was made from: when the English cell changes, its hash no longer
matches and tests/test_translation.py fails, showing the old and the new English side by side. Code cells and their
outputs are copied unchanged from the English notebook: the code, and so every figure's labels, stay in English.
Links written as in the English cell are rewritten to the translated chapters (and README.<language>.md).
"""

import argparse
import difflib
import hashlib
import os
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

import nbformat

REPOSITORY = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPOSITORY / "notebooks"
LANGUAGES = ("ko",)

# The one line each translated notebook adds to its first cell: the code, and so the figures, stay in English.
CODE_IN_ENGLISH_NOTE = {
    "ko": "> **한국어판 안내.** 설명은 한국어로 옮겼지만 코드와 그 출력은 영어판과 똑같습니다. 그래서 그림의 제목, "
          "축 이름, 범례는 영어로 남아 있습니다.",
}

CELL_MARKER = re.compile(r"^<!-- cell (?P<id>\S+) · english sha256 (?P<hash>[0-9a-f]{12}) -->\n"
                         r"<!-- english\n(?P<english>.*?)\n-->\n(?P<translation>.*?)(?=^<!-- cell |\Z)",
                         re.MULTILINE | re.DOTALL)
LINK = re.compile(r"(\]\()([^)\s]+)(\))")
TODO = "TODO: translate"


@dataclass
class Translation:
    """One markdown cell's translation, with the English text and hash it was made from."""
    cell_id: str
    english_hash: str
    english: str
    text: str


def english_hash(text: str) -> str:
    """The first 12 hex digits of the SHA-256 of an English cell's text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def english_notebooks() -> list[Path]:
    """Every English notebook: the chapters, then their solutions."""
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")) + sorted((NOTEBOOKS / "solutions").glob("[0-9][0-9]_*.ipynb"))


def translation_path(language: str, notebook: Path) -> Path:
    """Where the translation of an English notebook lives: translations/<language>/<name>.md."""
    return REPOSITORY / "translations" / language / f"{notebook.stem}.md"


def translated_notebook_path(language: str, notebook: Path) -> Path:
    """Where the translated notebook is written: notebooks/<language>/ mirrors notebooks/."""
    return NOTEBOOKS / language / notebook.relative_to(NOTEBOOKS)


def read_translations(path: Path) -> dict[str, Translation]:
    """The translations in one file, by English cell id; refuses a file with text outside the cell blocks."""
    if not path.exists():
        return {}
    text = path.read_text(encoding="utf-8")
    header, _, _ = text.partition("<!-- cell ")
    found, covered = {}, len(header)
    for match in CELL_MARKER.finditer(text):
        if match.group("id") in found:
            raise ValueError(f"{path}: cell {match.group('id')} is translated twice; keep one block per cell")
        found[match.group("id")] = Translation(match.group("id"), match.group("hash"), match.group("english"),
                                               match.group("translation").strip("\n"))
        covered += len(match.group(0))
    if covered != len(text):
        raise ValueError(f"{path}: some text is not inside a cell block; each block starts with "
                         "'<!-- cell ID · english sha256 HASH -->' and '<!-- english' on the next line")
    return found


def write_translations(path: Path, notebook: Path, translations: list[Translation]) -> None:
    """Write one translation file, its blocks in the English notebook's order."""
    lines = [f"<!-- Translation of notebooks/{notebook.relative_to(NOTEBOOKS)}, one block per markdown cell; "
             "see scripts/build_translation.py. -->\n"]
    for entry in translations:
        lines.append(f"<!-- cell {entry.cell_id} · english sha256 {entry.english_hash} -->\n<!-- english\n"
                     f"{entry.english}\n-->\n{entry.text}\n\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(lines).rstrip("\n") + "\n", encoding="utf-8")


def markdown_cells(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """The notebook's markdown cells, in order."""
    return [cell for cell in notebook.cells if cell.cell_type == "markdown"]


def problems(language: str, notebook_path: Path) -> list[str]:
    """What keeps a notebook's translation from being built: cells missing, untranslated or stale, and extra ones."""
    notebook = nbformat.read(notebook_path, as_version=4)
    path = translation_path(language, notebook_path)
    translations = read_translations(path)
    found = []
    for cell in markdown_cells(notebook):
        entry = translations.get(cell.id)
        if entry is None:
            found.append(f"{notebook_path.name}, cell {cell.id}: no translation in {path.relative_to(REPOSITORY)}")
        elif entry.english_hash != english_hash(cell.source):
            found.append(f"{notebook_path.name}, cell {cell.id}: the English text changed since it was translated\n"
                         + side_by_side(entry.english, cell.source))
        elif entry.english_hash != english_hash(entry.english):
            found.append(f"{notebook_path.name}, cell {cell.id}: the recorded English text does not match its hash")
        elif not entry.text.strip() or TODO in entry.text:
            found.append(f"{notebook_path.name}, cell {cell.id}: not translated yet")
    extra = set(translations) - {cell.id for cell in markdown_cells(notebook)}
    found += [f"{notebook_path.name}, cell {cell_id}: translated, but the English notebook has no such markdown cell"
              for cell_id in sorted(extra)]
    return found


def side_by_side(old: str, new: str, width: int = 60) -> str:
    """The old and the new English text in two columns, changed lines marked with '|'."""
    def wrapped(text: str) -> list[str]:
        return [piece for line in text.splitlines() for piece in (textwrap.wrap(line, width) or [""])]

    left, right = wrapped(old), wrapped(new)
    rows = [f"{'translated from (old English)':<{width}}   {'the English cell now'}", "-" * (2 * width + 3)]
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=left, b=right, autojunk=False).get_opcodes():
        for k in range(max(i2 - i1, j2 - j1)):
            a = left[i1 + k] if i1 + k < i2 else ""
            b = right[j1 + k] if j1 + k < j2 else ""
            rows.append(f"{a:<{width}} {' ' if tag == 'equal' else '|'} {b}")
    return "\n".join(rows)


def rewrite_links(text: str, language: str, english_folder: Path, translated_folder: Path) -> str:
    """Relative links of an English cell, made to work from the translated notebook's folder.

    A link to an English notebook goes to its translation, one to README.md to README.<language>.md; any other
    file keeps its target, reached from the new folder. Web addresses and anchors are left alone."""
    def rewrite(match: re.Match) -> str:
        target = match.group(2)
        if re.match(r"^[a-z]+:|^#", target):
            return match.group(0)
        file, hash_sign, anchor = target.partition("#")
        resolved = (english_folder / file).resolve()
        if resolved.suffix == ".ipynb" and resolved.is_relative_to(NOTEBOOKS):
            resolved = translated_notebook_path(language, resolved)
        elif resolved == REPOSITORY / "README.md":
            resolved = REPOSITORY / f"README.{language}.md"
        relative = Path(os.path.relpath(resolved, translated_folder))
        return f"{match.group(1)}{relative.as_posix()}{hash_sign}{anchor}{match.group(3)}"
    return LINK.sub(rewrite, text)


def translated_notebook(language: str, notebook_path: Path) -> nbformat.NotebookNode:
    """The translated notebook: the English one with each markdown cell's text replaced by its translation."""
    found = problems(language, notebook_path)
    if found:
        raise ValueError(f"the {language} translation cannot be built yet:\n" + "\n".join(found))
    return _translate(language, notebook_path)


def _translate(language: str, notebook_path: Path) -> nbformat.NotebookNode:
    """translated_notebook, for a notebook whose translation has been checked."""
    notebook = nbformat.read(notebook_path, as_version=4)
    translations = read_translations(translation_path(language, notebook_path))
    target = translated_notebook_path(language, notebook_path)
    first = True
    for cell in notebook.cells:  # read afresh above: changing it changes no English file
        if cell.cell_type != "markdown":
            continue
        text = rewrite_links(translations[cell.id].text, language, notebook_path.parent, target.parent)
        if first:
            text, first = f"{text}\n\n{CODE_IN_ENGLISH_NOTE[language]}", False
        cell.source = text
    notebook.metadata["language"] = language
    return notebook


def build(language: str, notebooks: list[Path]) -> list[Path]:
    """Write the translated notebooks of the given English ones; returns their paths."""
    found = [problem for path in notebooks for problem in problems(language, path)]
    if found:
        raise SystemExit(f"the {language} translation cannot be built yet ({len(found)} cells):\n\n"
                         + "\n\n".join(found) + f"\n\nRun `python scripts/build_translation.py {language} --template` "
                         "to add the missing and changed cells to the translation files, translate them, and build again.")
    written = []
    for path in notebooks:
        target = translated_notebook_path(language, path)
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(_translate(language, path), target)  # checked above, every notebook before any is written
        written.append(target)
    return written


def template(language: str, notebooks: list[Path]) -> None:
    """Bring the translation files up to date with the English cells, marking what needs a translator.

    A new cell gets the English text and a TODO; a changed cell keeps its old translation, gets the new English text
    and hash, and a TODO line above the translation, so the tests fail until someone revises and removes it."""
    for path in notebooks:
        notebook = nbformat.read(path, as_version=4)
        old = read_translations(translation_path(language, path))
        entries = []
        for cell in markdown_cells(notebook):
            entry = old.get(cell.id)
            if entry is None:
                entries.append(Translation(cell.id, english_hash(cell.source), cell.source, TODO))
            elif entry.english_hash != english_hash(cell.source):
                entries.append(Translation(cell.id, english_hash(cell.source), cell.source,
                                           f"{TODO} (the English changed; revise below)\n\n{entry.text}"))
            else:
                entries.append(entry)
        write_translations(translation_path(language, path), path, entries)
        print(f"{translation_path(language, path).relative_to(REPOSITORY)}: "
              f"{sum(TODO in entry.text for entry in entries)} cells to translate")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("language", choices=LANGUAGES)
    parser.add_argument("--template", action="store_true",
                        help="add untranslated and changed English cells to the translation files instead of building")
    parser.add_argument("notebooks", nargs="*", type=Path, help="English notebooks to work on (default: all)")
    arguments = parser.parse_intermixed_args()
    notebooks = [path.resolve() for path in arguments.notebooks] or english_notebooks()
    if arguments.template:
        template(arguments.language, notebooks)
        return
    for path in build(arguments.language, notebooks):
        print(f"wrote {path.relative_to(REPOSITORY)}")


if __name__ == "__main__":
    main()
