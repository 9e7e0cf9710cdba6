"""The website's build and its browser check; and that the check fails when the site is broken on purpose.

Needs requirements-site.txt and a Chromium (Debian's chromium, or Playwright's own); .ci/run provides both:
    python -m pytest -n 0 site/tests
"""

import re
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from build_site import build  # noqa: E402
from check_site import PAGES, check_site  # noqa: E402


@pytest.fixture(scope="module")
def built_site(tmp_path_factory) -> Path:
    site = tmp_path_factory.mktemp("site") / "html"
    build(site)
    return site


def broken_copy(site: Path, tmp_path: Path) -> Path:
    """A copy of the built site, to break on purpose."""
    return Path(shutil.copytree(site, tmp_path / "html"))


def check_one(site: Path, tmp_path: Path, name: str) -> list[str]:
    """The check of one of PAGES, without the search (faster)."""
    return check_site(site, tmp_path / "screenshots", pages={name: PAGES[name]}, search=False)


def test_the_site_passes_the_check_and_leaves_a_screenshot_of_each_page(built_site, tmp_path):
    assert check_site(built_site, tmp_path / "screenshots") == []
    assert sorted(path.stem for path in (tmp_path / "screenshots").glob("*.png")) == sorted([*PAGES, "search", "korean-search", "language-switch", "phone-menu"])


def test_every_chapter_page_has_a_button_that_opens_it_on_colab(built_site):
    for page in sorted((built_site / "notebooks").glob("0*.html")):
        address = f"notebooks/{page.stem}.ipynb"
        assert re.search(rf'href="https://colab\.research\.google\.com/github/[^"]+/blob/main/{address}"',
                         page.read_text()), f"{page.name} has no Colab button for {address}"


def test_solutions_stay_out_of_the_chapters_sequence(built_site):
    # The last chapter's "next" page is not a solution, and no chapter's "previous" or "next" is one either.
    for page in sorted((built_site / "notebooks").glob("0*.html")):
        neighbours = re.findall(r'class="(?:left|right)-(?:prev|next)"\s+href="([^"]+)"', page.read_text())
        assert neighbours and not any("solutions/" in link for link in neighbours), (page.name, neighbours)


def test_a_missing_image_fails_the_check(built_site, tmp_path):
    site = broken_copy(built_site, tmp_path)
    image = re.search(r'<img[^>]+src="(\.\./_images/[^"]+)"', (site / PAGES["core"]).read_text()).group(1)
    (site / PAGES["core"]).parent.joinpath(image).resolve().unlink()
    assert any("image did not load" in problem for problem in check_one(site, tmp_path, "core"))


def test_maths_that_does_not_typeset_fails_the_check(built_site, tmp_path):
    site = broken_copy(built_site, tmp_path)
    (site / "_static" / "mathjax" / "tex-svg-full.js").unlink()
    assert any("maths not typeset" in problem for problem in check_one(site, tmp_path, "landing"))


def test_a_broken_link_fails_the_check(built_site, tmp_path):
    site = broken_copy(built_site, tmp_path)
    landing = site / PAGES["landing"]
    html = landing.read_text()
    assert 'href="notebooks/03_mixture_density_network.html"' in html
    landing.write_text(html.replace('href="notebooks/03_mixture_density_network.html"', 'href="notebooks/03_gone.html"', 1))
    assert any("broken link to notebooks/03_gone.html" in problem for problem in check_one(site, tmp_path, "landing"))


def test_a_console_error_fails_the_check(built_site, tmp_path):
    site = broken_copy(built_site, tmp_path)
    page = site / PAGES["solutions"]
    page.write_text(page.read_text().replace("</body>", "<script>console.error('broken on purpose')</script></body>"))
    assert any("broken on purpose" in problem for problem in check_one(site, tmp_path, "solutions"))


def test_a_search_that_misses_chapter_04_fails_the_check(built_site, tmp_path):
    site = broken_copy(built_site, tmp_path)
    index = site / "searchindex.js"
    index.write_text(re.sub("gumbel", "qqqqqq", index.read_text(), flags=re.IGNORECASE))  # the word leaves the index
    problems = check_site(site, tmp_path / "screenshots", pages={}, search=True)
    assert any("does not find" in problem for problem in problems)


def test_a_menu_button_that_does_nothing_fails_the_check(built_site, tmp_path):
    site = broken_copy(built_site, tmp_path)
    for page in site.rglob("*.html"):  # the switch that the menu button flips to open the sidebar is gone
        page.write_text(re.sub(r'<input type="checkbox"\s+class="sidebar-toggle"\s+id="pst-primary-sidebar-checkbox"/>',
                               "", page.read_text()))
    problems = check_site(site, tmp_path / "screenshots", pages={}, search=True)
    assert any("menu button does not open the sidebar" in problem for problem in problems), problems


def test_downloads_are_the_notebooks_as_they_are_in_the_repository(built_site):
    repository = Path(__file__).resolve().parents[2]
    notebooks = sorted((repository / "notebooks").rglob("[0-9][0-9]_*.ipynb"))
    assert any("ko" in notebook.parts for notebook in notebooks)
    for notebook in notebooks:  # the Korean ones from the Korean site, in ko/
        site = built_site / "ko" if "ko" in notebook.relative_to(repository).parts else built_site
        served = site / "_sources" / notebook.relative_to(repository)
        assert served.read_bytes() == notebook.read_bytes(), served


def test_every_korean_chapter_has_a_colab_button_for_its_korean_notebook(built_site):
    pages = sorted((built_site / "ko" / "notebooks" / "ko").glob("0*.html"))
    assert len(pages) == 9
    for page in pages:
        address = f"notebooks/ko/{page.stem}.ipynb"
        assert re.search(rf'href="https://colab\.research\.google\.com/github/[^"]+/blob/main/{address}"',
                         page.read_text()), f"{page.name} has no Colab button for {address}"


def test_a_missing_language_switch_fails_the_check(built_site, tmp_path):
    site = broken_copy(built_site, tmp_path)
    (site / "ko" / "_static" / "language-switch.js").write_text("// broken on purpose\n")
    problems = check_site(site, tmp_path / "screenshots", pages={}, search=True)
    assert any("ko/index.html: no visible language switch" in problem for problem in problems), problems


def test_an_image_without_alt_text_fails_the_check(built_site, tmp_path):
    site = broken_copy(built_site, tmp_path)
    page = site / PAGES["beyond"]
    page.write_text(re.sub(r'(<img[^>]*?) alt="[^"]*"', r"\1", page.read_text(), count=1))
    assert any("image without a description" in problem for problem in check_one(site, tmp_path, "beyond"))


def test_the_build_says_what_to_install_when_a_package_is_missing(monkeypatch, tmp_path):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *rest: None if name == "mathjax" else real(name, *rest))
    with pytest.raises(SystemExit, match=r"mathjax missing\): run .* -m pip install -r requirements-site.txt"):
        build(tmp_path / "html")
