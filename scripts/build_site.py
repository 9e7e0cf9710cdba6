"""Build the series' website with Sphinx and MyST-NB, from the notebooks as stored (their outputs are the tested
ones, so nothing is executed). Warnings are errors: a broken cross-reference or a missing image fails the build.

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

REPOSITORY = Path(__file__).resolve().parent.parent
# Pages besides the notebooks, as they sit in the repository; the README becomes the landing page, index.md.
PAGES = ["CONTRIBUTING.md", "data/README.md", "benchmarks/README.md"]
# How pages and notebooks link to the README, and what that link becomes on the site.
README_LINKS = {"](README.md)": "](index.md)", "](../README.md)": "](../index.md)", "](../../README.md)": "](../../index.md)"}
# Files that pages link to or include, served as downloads.
FILES = ["LICENSE", "CITATION.cff"]
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


def lay_out_sources(source: Path) -> None:
    """Copy the pages, notebooks and site configuration into `source`, the folder Sphinx reads."""
    for name in PAGES + FILES:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text(to_site((REPOSITORY / name).read_text()))
    site = REPOSITORY / "site"
    for page in site.glob("*.md"):
        if page.name != "toc.md":
            shutil.copy2(page, source / page.name)
    for name in ["conf.py", "favicon.svg"]:
        shutil.copy2(site / name, source / name)
    (source / "_static").mkdir()
    shutil.copy2(site / "custom.css", source / "_static" / "custom.css")
    landing = (REPOSITORY / "README.md").read_text() + "\n" + (site / "toc.md").read_text()  # the parts' contents
    (source / "index.md").write_text(to_site(landing))
    for notebook in sorted((REPOSITORY / "notebooks").rglob("*.ipynb")):
        if ".ipynb_checkpoints" in notebook.parts:
            continue
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
    """Lay out the sources in a temporary folder and build the HTML site into `out` (SystemExit if Sphinx fails)."""
    missing = [name for name in SITE_PACKAGES if importlib.util.find_spec(name) is None]
    if missing:
        raise SystemExit(f"the site's packages are not installed ({', '.join(missing)} missing): run "
                         f"`{sys.executable} -m pip install -r requirements-site.txt` first")
    with tempfile.TemporaryDirectory(prefix="mdn-site-") as folder:
        source = Path(folder) / "source"
        source.mkdir()
        lay_out_sources(source)
        if out.exists():
            shutil.rmtree(out)
        command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-j", "auto", "-b", "html",
                   "-d", str(Path(folder) / "doctrees"), str(source), str(out)]
        if subprocess.run(command).returncode != 0:
            raise SystemExit("the site did not build: Sphinx's warnings above say why (warnings are errors here)")
    for notebook in sorted((REPOSITORY / "notebooks").rglob("*.ipynb")):  # downloads: the notebooks as they are
        served = out / "_sources" / notebook.relative_to(REPOSITORY)
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
