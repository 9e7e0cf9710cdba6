"""The Korean edition (notebooks/ko/) stays in step with the English notebooks: checks that read files, run nothing.

The Korean notebooks are built by scripts/build_translation.py from the English notebooks and translations/ko/*.md.
Their code is the English code, which the notebook tests run; these tests check the rest: that every English
markdown cell has a translation made from its current text, that the built notebooks are committed and current,
that maths and links survive translation, and that the translations use the glossary's terms."""

import json
import re
import shutil
import sys
from pathlib import Path

import nbformat
import pytest

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY / "scripts"))
import build_translation  # noqa: E402

LANGUAGE = "ko"
ENGLISH = build_translation.english_notebooks()
GLOSSARY_PATH = REPOSITORY / "translations" / LANGUAGE / "GLOSSARY.md"
HANGUL = re.compile(r"[\uac00-\ud7a3]")
# Bold that CommonMark never closes: ** after punctuation and before a letter, as in **격차(gap)**이며.
UNCLOSED_BOLD = re.compile(r"\*\*[^*\n]*[^\w\s*]\*\*(?=\w)")


def names(path: Path) -> str:
    return path.name


def glossary() -> list[tuple[str, str, bool]]:
    """The glossary's rows: (English term, Korean term, whether the English follows it at first use). A Korean term
    may name alternatives, 샘플 / 표본: a translation may use either."""
    rows = []
    for line in GLOSSARY_PATH.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) >= 3 and cells[2] in ("예", "아니요"):
            rows.append((cells[0], cells[1], cells[2] == "예"))
    return rows


def without_code(text: str) -> str:
    """Markdown text without its fenced and inline code (where a $ is not maths)."""
    return re.sub(r"`[^`]*`", " ", re.sub(r"```.*?```", " ", text, flags=re.DOTALL))


def prose(text: str) -> str:
    """Markdown text without its code (fenced and inline), maths, HTML comments and link targets."""
    text = without_code(text)
    text = re.sub(r"\$\$.*?\$\$", " ", text, flags=re.DOTALL)
    text = re.sub(r"(?<!\\)\$.*?(?<!\\)\$", " ", text, flags=re.DOTALL)
    text = re.sub(r"<!--.*?-->", " ", text, flags=re.DOTALL)
    return re.sub(r"\]\([^)]*\)", "]", text)


def maths(text: str) -> list[str]:
    """The formulas of a markdown text, display and inline, whitespace collapsed, sorted (word order may change)."""
    text = without_code(text)
    found = re.findall(r"\$\$.*?\$\$", text, flags=re.DOTALL)
    text = re.sub(r"\$\$.*?\$\$", " ", text, flags=re.DOTALL)
    found += re.findall(r"(?<!\\)\$.+?(?<!\\)\$", text, flags=re.DOTALL)
    return sorted(" ".join(formula.split()) for formula in found)


def english_term_pattern(term: str, after_hyphen: bool = False) -> re.Pattern:
    """The English term as a whole word, any case, with a plural ending allowed; after_hyphen: also as the last part
    of a hyphenated word (likelihood in log-likelihood), which a gloss may be, but a use of the term is not."""
    before = r"(?<![A-Za-z])" if after_hyphen else r"(?<![A-Za-z-])"
    return re.compile(before + re.escape(term).replace(r"\ ", r"\s+") + r"(?:s|es)?(?![A-Za-z])", re.IGNORECASE)


def korean_term_pattern(term: str) -> re.Pattern:
    """The Korean term (or any of its alternatives, split by ' / ') at the start of a word: 분산 (variance) is not
    found inside 공분산 (covariance)."""
    alternatives = "|".join(re.escape(alternative.strip()) for alternative in term.split(" / "))
    return re.compile(r"(?<![\uac00-\ud7a3])(?:" + alternatives + ")")


def cell_pairs(english_path: Path) -> list[tuple[str, str, str]]:
    """(cell id, English text, Korean text) for each markdown cell, Korean as committed in notebooks/ko/."""
    english = nbformat.read(english_path, as_version=4)
    korean = nbformat.read(build_translation.translated_notebook_path(LANGUAGE, english_path), as_version=4)
    korean_by_id = {cell.id: cell.source for cell in korean.cells if cell.cell_type == "markdown"}
    return [(cell.id, cell.source, korean_by_id.get(cell.id, "")) for cell in english.cells
            if cell.cell_type == "markdown"]


@pytest.mark.parametrize("path", ENGLISH, ids=names)
def test_every_markdown_cell_has_a_translation_of_its_current_english(path):
    # A changed English paragraph fails here, naming the cell and showing the old and the new English side by side,
    # until its translation is revised (scripts/build_translation.py ko --template marks it).
    problems = build_translation.problems(LANGUAGE, path)
    assert not problems, "\n\n".join(problems)


@pytest.mark.parametrize("path", ENGLISH, ids=names)
def test_the_korean_notebook_is_built_from_todays_files(path):
    committed = build_translation.translated_notebook_path(LANGUAGE, path)
    assert committed.exists(), f"{committed.relative_to(REPOSITORY)} is missing: run scripts/build_translation.py ko"
    built = build_translation.translated_notebook(LANGUAGE, path)
    stored = nbformat.read(committed, as_version=4)
    assert stored.cells == built.cells and stored.metadata == built.metadata, (
        f"{committed.relative_to(REPOSITORY)} is out of date: run scripts/build_translation.py ko and commit it")


@pytest.mark.parametrize("path", ENGLISH, ids=names)
def test_code_cells_and_their_outputs_equal_the_english(path):
    english = nbformat.read(path, as_version=4).cells
    korean = nbformat.read(build_translation.translated_notebook_path(LANGUAGE, path), as_version=4).cells
    assert [(cell.id, cell.cell_type) for cell in korean] == [(cell.id, cell.cell_type) for cell in english]
    for english_cell, korean_cell in zip(english, korean):
        if english_cell.cell_type == "code":
            assert korean_cell == english_cell, f"{path.name}, code cell {english_cell.id} differs from the English"


@pytest.mark.parametrize("path", ENGLISH, ids=names)
def test_the_first_cell_says_the_figures_keep_their_english_labels(path):
    korean = nbformat.read(build_translation.translated_notebook_path(LANGUAGE, path), as_version=4)
    first = next(cell for cell in korean.cells if cell.cell_type == "markdown")
    assert build_translation.CODE_IN_ENGLISH_NOTE[LANGUAGE] in first.source
    others = [cell.id for cell in korean.cells[1:] if build_translation.CODE_IN_ENGLISH_NOTE[LANGUAGE] in cell.source]
    assert not others, f"the note is said once, in the first cell; also in {others}"


@pytest.mark.parametrize("path", ENGLISH, ids=names)
def test_each_translated_cell_has_the_english_maths(path):
    differ = [f"cell {cell_id}: English {maths(english)}\n  Korean {maths(korean)}"
              for cell_id, english, korean in cell_pairs(path) if maths(english) != maths(korean)]
    assert not differ, f"{path.name}: a translation changed, dropped or added a formula:\n" + "\n".join(differ)


@pytest.mark.parametrize("path", ENGLISH, ids=names)
def test_every_link_resolves_to_the_korean_chapter_where_one_exists(path):
    target = build_translation.translated_notebook_path(LANGUAGE, path)
    korean = nbformat.read(target, as_version=4)
    broken = []
    for cell in korean.cells:
        if cell.cell_type != "markdown":
            continue
        for link in re.findall(r"\]\(([^)\s]+)\)", cell.source):
            if re.match(r"^[a-z]+:|^#", link):
                continue
            resolved = (target.parent / link.partition("#")[0]).resolve()
            if not resolved.exists():
                broken.append(f"cell {cell.id}: {link} does not exist")
            elif resolved.suffix == ".ipynb" and not resolved.is_relative_to(REPOSITORY / "notebooks" / LANGUAGE):
                broken.append(f"cell {cell.id}: {link} is an English notebook; link its Korean translation")
            elif resolved.name == "README.md":
                broken.append(f"cell {cell.id}: {link} is the English README; link README.{LANGUAGE}.md")
    assert not broken, f"{target.name}:\n" + "\n".join(broken)


@pytest.mark.parametrize("path", ENGLISH, ids=names)
def test_translations_use_the_glossary_terms(path):
    missing, terms = [], glossary()
    for cell_id, english, korean in cell_pairs(path):
        english_prose, korean_prose = prose(english), prose(korean)
        for english_term, korean_term, _ in terms:
            text = english_prose
            for longer, _, _ in terms:  # "posterior probability" is not a use of "posterior": the longer term has its own
                if english_term.lower() in longer.lower() and longer != english_term:
                    text = english_term_pattern(longer).sub(" ", text)
            if english_term_pattern(english_term).search(text) and not korean_term_pattern(korean_term).search(
                    korean_prose):
                missing.append(f"cell {cell_id}: the English says '{english_term}'; the glossary's "
                               f"'{korean_term}' is missing")
    assert not missing, f"{path.name} (see translations/ko/GLOSSARY.md):\n" + "\n".join(missing)


@pytest.mark.parametrize("path", ENGLISH, ids=names)
def test_each_term_is_followed_by_its_english_at_first_use(path):
    missing, korean_prose = [], [(korean, prose(korean)) for _, _, korean in cell_pairs(path)]
    for english_term, korean_term, glossed in glossary():
        if not glossed:
            continue
        pattern = korean_term_pattern(korean_term)
        first = next((korean for korean, text in korean_prose if pattern.search(text)), None)
        if first is None:
            continue
        # The English may follow the word the term begins: 평가용 데이터(held-out data), 촐레스키 인수(Cholesky factor).
        gloss = re.compile(korean_term_pattern(korean_term).pattern + r"[\uac00-\ud7a3 *]{0,12}\(([^)]*)\)")
        if not any(english_term_pattern(english_term, after_hyphen=True).search(inside) for inside in gloss.findall(first)):
            missing.append(f"'{korean_term}' first appears in a cell without '{korean_term}({english_term})'")
    assert not missing, f"{path.name}:\n" + "\n".join(missing)


@pytest.mark.parametrize("path", ENGLISH, ids=names)
def test_no_english_sentence_is_left_untranslated(path):
    # Five English words in a row, outside code, maths, links' targets and parentheses (where the English glosses
    # and references live), is a sentence someone forgot to translate; names and titles are shorter or in italics.
    left = []
    for cell_id, english, korean in cell_pairs(path):
        text = re.sub(r"\([^()]*\)", " ", prose(korean))
        text = re.sub(r"(?<![*\w])\*[^*\n]+\*(?!\*)", " ", text)
        left += [f"cell {cell_id}: {run}" for run in re.findall(r"[A-Za-z][\w'’-]*(?:[ ,:;.]+[A-Za-z][\w'’-]*){4,}",
                                                                 text)]
        if re.search(r"[A-Za-z]{3,}", prose(english)) and not HANGUL.search(korean):
            left.append(f"cell {cell_id}: no Korean at all")
    assert not left, f"{path.name}: untranslated English:\n" + "\n".join(left)


@pytest.mark.parametrize("path", ENGLISH, ids=names)
def test_bold_text_closes_before_a_particle(path):
    # CommonMark closes ** only if it is not both after punctuation and before a letter: in **격차(gap)**이며 the
    # bold never closes and the asterisks show. Write **격차**(gap)이며.
    unclosed = [f"cell {cell_id}: {match.group(0)}" for cell_id, _, korean in cell_pairs(path)
                for match in UNCLOSED_BOLD.finditer(korean)]
    assert not unclosed, f"{path.name}: bold that does not render:\n" + "\n".join(unclosed)


def test_a_changed_english_paragraph_fails_until_its_translation_is_revised(tmp_path, monkeypatch):
    # The edition cannot fall behind silently: change one English paragraph in a copy and the checks name the cell.
    english = ENGLISH[0]
    (tmp_path / "notebooks").mkdir()
    shutil.copy(english, tmp_path / "notebooks" / english.name)
    shutil.copytree(REPOSITORY / "translations", tmp_path / "translations")
    monkeypatch.setattr(build_translation, "REPOSITORY", tmp_path)
    monkeypatch.setattr(build_translation, "NOTEBOOKS", tmp_path / "notebooks")
    copy = tmp_path / "notebooks" / english.name
    assert build_translation.problems(LANGUAGE, copy) == []
    notebook = nbformat.read(copy, as_version=4)
    cell = build_translation.markdown_cells(notebook)[1]
    old_first_line = cell.source.splitlines()[0]
    cell.source = cell.source.replace(old_first_line, old_first_line + " A sentence added in English.", 1)
    nbformat.write(notebook, copy)
    problems = build_translation.problems(LANGUAGE, copy)
    assert len(problems) == 1 and f"cell {cell.id}" in problems[0] and "changed" in problems[0]
    assert "A sentence added" in problems[0] and old_first_line[:40] in problems[0]  # old and new, side by side
    with pytest.raises(ValueError, match=f"cell {cell.id}"):
        build_translation.translated_notebook(LANGUAGE, copy)
    build_translation.template(LANGUAGE, [copy])  # marks it for the translator; still fails until revised
    assert "not translated yet" in build_translation.problems(LANGUAGE, copy)[0]


def test_the_checks_catch_broken_maths_glossary_and_english(tmp_path):
    assert maths(r"a $x^2$ and $$y$$") == ["$$y$$", "$x^2$"]
    assert maths(r"costs \$5, and `$HOME`") == []
    assert english_term_pattern("component").search("two Components here")
    assert not english_term_pattern("mode").search("a model")
    assert english_term_pattern("likelihood", after_hyphen=True).search("negative log-likelihood")
    assert not english_term_pattern("batch").search("mini-batches") and english_term_pattern("batch").search("Batches")
    assert not korean_term_pattern("분산").search("공분산") and korean_term_pattern("분산").search("분산(variance)")
    assert korean_term_pattern("샘플 / 표본").search("표본 추정값") and korean_term_pattern("샘플 / 표본").search("샘플링")
    assert UNCLOSED_BOLD.search("**격차(gap)**이며") and not UNCLOSED_BOLD.search("**격차**(gap)이며")
    assert "혼합 밀도 네트워크" in dict((english, korean) for english, korean, _ in glossary()).values()


def test_the_korean_readme_is_linked_and_lists_every_chapter():
    english_first_line = (REPOSITORY / "README.md").read_text(encoding="utf-8").splitlines()[0]
    assert "README.ko.md" in english_first_line, "the English README's first line links the Korean one"
    korean = (REPOSITORY / "README.ko.md").read_text(encoding="utf-8")
    for path in ENGLISH:
        link = build_translation.translated_notebook_path(LANGUAGE, path).relative_to(REPOSITORY).as_posix()
        assert f"]({link})" in korean, f"README.ko.md does not link {link}"
    for link in re.findall(r"\]\(([^)\s]+)\)", korean):
        if not re.match(r"^[a-z]+:|^#", link):
            assert (REPOSITORY / link.partition("#")[0]).exists(), f"README.ko.md: {link} does not exist"
    commands = re.findall(r"```bash\n(.*?)```", (REPOSITORY / "README.md").read_text(encoding="utf-8"), re.DOTALL)
    korean_commands = re.findall(r"```bash\n(.*?)```", korean, re.DOTALL)
    strip = lambda block: [line for line in block.splitlines() if not line.startswith("#")]  # noqa: E731
    assert [strip(block) for block in korean_commands] == [strip(block) for block in commands], (
        "README.ko.md gives the English README's commands, word for word")
