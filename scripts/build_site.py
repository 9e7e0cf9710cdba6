"""Build the series' website with Sphinx and MyST-NB, from the notebooks as stored (their outputs are the tested
ones, so nothing is executed). Warnings are errors: a broken cross-reference or a missing image fails the build.
The Korean edition (README.ko.md and notebooks/ko/) is built as a second site in the folder ko/, and every page
carries a switch to the same page in the other language (site/language-switch.js).

Usage (from the repository root, after `pip install -r requirements-site.txt`):
    python scripts/build_site.py [--out FOLDER] [--open]
--out: where the HTML goes (default _build/site); --open: serve it on localhost and open it in a browser.
"""

import argparse
import functools
import http.server
import importlib.resources
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import webbrowser
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_translation import english_notebooks, translated_notebook_path  # noqa: E402  (a sibling script)

REPOSITORY = Path(__file__).resolve().parent.parent
# Pages besides the notebooks, as they sit in the repository; the README becomes the landing page, index.md.
PAGES = ["CONTRIBUTING.md", "data/README.md", "benchmarks/README.md"]
# How pages and notebooks link to the README, and what that link becomes on the site.
README_LINKS = {"](README.md)": "](index.md)", "](../README.md)": "](../index.md)", "](../../README.md)": "](../../index.md)",
                "](../../README.ko.md)": "](../../index.md)", "](../../../README.ko.md)": "](../../../index.md)"}
# Files that pages link to or include, served as downloads.
FILES = ["LICENSE", "CITATION.cff"]
# The Korean site: its title, and the README's links to pages only the English site has, as addresses there.
KOREAN_TITLE = "PyTorch로 배우는 혼합 밀도 네트워크"
KOREAN_LINKS_TO_ENGLISH = {"README.md": "../index.html", "LICENSE": "../licence.html",
                           "data/README.md": "../data/README.html"}
# The packages of requirements-site.txt that the build imports (mathjax: django-static-mathjax's files).
SITE_PACKAGES = ["sphinx", "myst_nb", "sphinx_book_theme", "mathjax"]
# A figure's alt text comes from the titles (or axis labels) its cell's code sets, with these TeX commands as symbols.
TITLE = re.compile(r'(?:title=|suptitle\(|set_title\()\s*r?f?"([^"]+)"')
LABEL = re.compile(r'([xy])label=r?f?"([^"]+)"')
SYMBOLS = {"mid": "|", "pm": "±", "sigma": "σ", "pi": "π", "mu": "μ", "theta": "θ", "chi": "χ"}


def plain(text: str) -> str:
    """A figure title from code as plain words: f-string fields as '…', TeX without its dollars and backslashes."""
    text = re.sub(r"\{[^{}]*\}", "…", text).replace("\\n", " ").replace("$", "")
    return re.sub(r"\\([A-Za-z]+)", lambda command: SYMBOLS.get(command.group(1), command.group(1)), text).strip()


def figure_description(source: str) -> str:
    """Alt text for the figure a plotting cell draws: its titles, or failing those, what it plots against what."""
    titles = [plain(title) for title in TITLE.findall(source)]
    if titles:
        return "Figure: " + "; ".join(dict.fromkeys(titles))
    labels = dict(LABEL.findall(source))
    return f"Figure: {plain(labels.get('y', 'values'))} against {plain(labels.get('x', 'input'))}"


def to_site(text: str) -> str:
    """The text with its links to the README pointing at the landing page."""
    for old, new in README_LINKS.items():
        text = text.replace(old, new)
    return text


def korean_notebooks() -> list[Path]:
    """The Korean chapters and solutions, as scripts/build_translation.py writes them (a site of their own)."""
    return [translated_notebook_path("ko", notebook) for notebook in english_notebooks()]


def links_to_the_other_site(text: str, addresses: dict[str, str]) -> str:
    """The text with its markdown links to these targets made raw HTML links to these addresses: they leave the site
    being built (for the other language's site), where Sphinx would look for them in vain."""
    def anchor(address: str, words: str) -> str:
        words = re.sub(r"`([^`]+)`", r"<code>\1</code>", words)  # raw HTML: markdown inside it is not read
        return f'<a href="{address}">{words}</a>'

    for target, address in addresses.items():
        text = re.sub(r"\[([^\]]+)\]\(" + re.escape(target) + r"\)", lambda link: anchor(address, link.group(1)), text)
    return text


def korean_landing() -> str:
    """README.ko.md as the Korean site's landing page, then its parts' contents; its links to the English README, the
    licence and the data's page go to the English site."""
    text = links_to_the_other_site((REPOSITORY / "README.ko.md").read_text(), KOREAN_LINKS_TO_ENGLISH)
    return text + "\n" + (REPOSITORY / "site" / "toc.ko.md").read_text()


def korean_solutions_page() -> str:
    """The Korean solutions page: one entry per chapter, named by that chapter's Korean title."""
    entries = []
    for chapter in korean_notebooks():
        if chapter.parent.name == "solutions":
            continue
        title = json.loads(chapter.read_text())["cells"][0]["source"]
        title = ("".join(title) if isinstance(title, list) else title).splitlines()[0].lstrip("# ").strip()
        entries.append(f"{title} <notebooks/ko/solutions/{chapter.stem}_solutions>")
    return ("# 연습문제 풀이\n\n각 장은 연습문제로 끝납니다. 풀이는 장과 따로 여기에 모아 두었으므로, 풀이 없이 장만 나눠 줄 수 "
            "있습니다. 풀이를 읽기 전에 먼저 문제를 풀어 보세요.\n\n```{toctree}\n:maxdepth: 1\n\n" + "\n".join(entries) + "\n```\n")


def lay_out_sources(source: Path, language: str = "en") -> None:
    """Copy the pages, notebooks and site configuration of one language's site into `source`, the folder Sphinx reads."""
    site = REPOSITORY / "site"
    if language == "en":
        for name in PAGES + FILES:
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            (source / name).write_text(to_site((REPOSITORY / name).read_text()))
        for page in site.glob("*.md"):
            if page.name not in ("toc.md", "toc.ko.md"):
                shutil.copy2(page, source / page.name)
        landing = (REPOSITORY / "README.md").read_text() + "\n" + (site / "toc.md").read_text()  # the parts' contents
        landing = links_to_the_other_site(landing, {"README.ko.md": "ko/index.html"})  # the README's first line
        notebooks = english_notebooks()
    else:
        (source / "index.md").write_text(korean_landing())
        (source / "solutions.md").write_text(korean_solutions_page())
        shutil.copy2(REPOSITORY / "CITATION.cff", source / "CITATION.cff")  # conf.py reads the series' address there
        landing, notebooks = None, korean_notebooks()
    for name in ["conf.py", "favicon.svg"]:
        shutil.copy2(site / name, source / name)
    (source / "_static").mkdir()
    for name in ["custom.css", "language-switch.js"]:
        shutil.copy2(site / name, source / "_static" / name)
    if landing is not None:
        (source / "index.md").write_text(to_site(landing))
    for notebook in notebooks:
        content = json.loads(notebook.read_text())
        for cell in content["cells"]:  # the set-up cell is plumbing: left off the site's pages and search (downloads keep it)
            tags = cell.get("metadata", {}).get("tags", [])
            if "setup" in tags:
                cell["metadata"]["tags"] = tags + ["remove-cell"]
            if any("image/png" in output.get("data", {}) for output in cell.get("outputs", [])):
                cell["metadata"].setdefault("mystnb", {})["image"] = {"alt": figure_description("".join(cell["source"]))}
        target = source / notebook.relative_to(REPOSITORY)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(to_site(json.dumps(content)))
    mathjax = importlib.resources.files("mathjax") / "static" / "mathjax" / "es5" / "tex-svg-full.js"
    (source / "_static" / "mathjax").mkdir()
    shutil.copy2(str(mathjax), source / "_static" / "mathjax" / "tex-svg-full.js")


def build(out: Path) -> None:
    """Lay out the sources in a temporary folder and build the HTML site into `out`, the Korean one into `out`/ko
    (SystemExit if Sphinx fails)."""
    missing = [name for name in SITE_PACKAGES if importlib.util.find_spec(name) is None]
    if missing:
        raise SystemExit(f"the site's packages are not installed ({', '.join(missing)} missing): run "
                         f"`{sys.executable} -m pip install -r requirements-site.txt` first")
    if out.exists():
        shutil.rmtree(out)
    for language, target, settings in [("en", out, []), ("ko", out / "ko", ["-D", "language=ko",
                                                                             "-D", f"html_title={KOREAN_TITLE}"])]:
        with tempfile.TemporaryDirectory(prefix="mdn-site-") as folder:
            source = Path(folder) / "source"
            source.mkdir()
            lay_out_sources(source, language)
            command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-j", "auto", "-b", "html", *settings,
                       "-d", str(Path(folder) / "doctrees"), str(source), str(target)]
            if subprocess.run(command).returncode != 0:
                raise SystemExit(f"the {language} site did not build: Sphinx's warnings above say why (warnings are "
                                 "errors here)")
        for notebook in english_notebooks() if language == "en" else korean_notebooks():  # downloads, as they are
            served = target / "_sources" / notebook.relative_to(REPOSITORY)
            if served.is_file():
                shutil.copy2(notebook, served)


def serve(folder: Path, port: int = 0) -> http.server.ThreadingHTTPServer:
    """Serve `folder` on localhost in a background thread; the server's address is server.server_address."""
    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:  # no line per request
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port),
                                             functools.partial(QuietHandler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPOSITORY / "_build" / "site", help="the folder for the HTML")
    parser.add_argument("--open", action="store_true", help="serve the site on localhost and open it in a browser")
    arguments = parser.parse_args()
    start = time.perf_counter()
    build(arguments.out)
    print(f"built the site in {time.perf_counter() - start:.0f} s: {arguments.out / 'index.html'}")
    if arguments.open:
        server = serve(arguments.out, port=8000)
        address = f"http://127.0.0.1:{server.server_address[1]}/index.html"
        print(f"serving it at {address} (Ctrl-C stops)")
        webbrowser.open(address)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            server.shutdown()


if __name__ == "__main__":
    main()
