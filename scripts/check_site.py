"""Check the built website in a real browser (headless Chromium through Playwright), as a reader would see it.

Usage (from the repository root, after `pip install -r requirements-site.txt`):
    python scripts/check_site.py [--site FOLDER] [--screenshots FOLDER] [--browser PATH]
Without --site it builds the site into a temporary folder first (scripts/build_site.py). It serves the site on
localhost, opens the landing page, a chapter of each part, a solutions page and two pages of the Korean site, and
checks on each: no console errors, every image loaded and described (alt text), the maths typeset (no raw TeX left),
every internal link resolves; that a search for "Gumbel" finds chapter 04 (and "검벨" its Korean translation); that
the language switch leads from a page to the same page in the other language; and that on a phone-sized screen the
menu button opens the sidebar. It saves a screenshot of each page and exits with 1 if any check fails.
"""

import argparse
import os
import re
import shutil
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_site import build, serve  # noqa: E402  (a sibling script)

# The landing page, one chapter of each part (the core, practice, beyond) and one solutions page.
PAGES = {
    "landing": "index.html",
    "core": "notebooks/04_parameters_and_sampling.html",
    "practice": "notebooks/05_how_good_is_the_fit.html",
    "beyond": "notebooks/07_robot_arm_multivariate.html",
    "solutions": "notebooks/solutions/03_mixture_density_network_solutions.html",
    "korean-landing": "ko/index.html",
    "korean-chapter": "ko/notebooks/ko/03_mixture_density_network.html",
}
SEARCH = ("Gumbel", "notebooks/04_parameters_and_sampling.html")  # a word, and a page its search must find
KOREAN_SEARCH = ("검벨", "ko/notebooks/ko/04_parameters_and_sampling.html")  # the same, on the Korean site
# The language switch: page -> the page it must lead to (the same page in the other language, or the other landing).
LANGUAGE_SWITCHES = {
    "notebooks/04_parameters_and_sampling.html": "ko/notebooks/ko/04_parameters_and_sampling.html",
    "ko/notebooks/ko/solutions/05_how_good_is_the_fit_solutions.html":
        "notebooks/solutions/05_how_good_is_the_fit_solutions.html",
    "licence.html": "ko/index.html",
    "ko/index.html": "index.html",
}
# TeX that MathJax left as text: $...$ or \( ... \) outside code.
RAW_TEX = re.compile(r"\$[^$\n]{1,200}\$|\\\(|\\\[")


def default_browser() -> str | None:
    """The browser in SITE_CHECK_BROWSER (a path, or "playwright" for Playwright's own), else Debian's chromium where
    it is installed, else None (Playwright's own, after `python -m playwright install chromium`)."""
    chosen = os.environ.get("SITE_CHECK_BROWSER")
    if chosen:
        return None if chosen == "playwright" else chosen
    return shutil.which("chromium") or shutil.which("chromium-browser")


def check_page(page, base: str, path: str, screenshot: Path, link_status: dict) -> list[str]:
    """Open base + path and return what is wrong with it, each as one line naming the page."""
    problems, errors = [], []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("response", lambda reply: errors.append(f"HTTP {reply.status} for {reply.url}") if reply.status >= 400 else None)
    response = page.goto(base + path, wait_until="load")
    if response is None or response.status != 200:
        return [f"{path}: does not load (HTTP {response.status if response else 'no response'})"]
    typeset = page.evaluate("""async () => {
        if (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) return false;
        await MathJax.startup.promise;
        return true;
    }""")
    page.wait_for_timeout(200)  # let late console messages arrive
    problems += [f"{path}: console error: {error}" for error in errors]
    broken = page.evaluate("[...document.images].filter(image => !image.complete || image.naturalWidth === 0)"
                           ".map(image => image.getAttribute('src'))")
    problems += [f"{path}: image did not load: {source}" for source in broken]
    undescribed = page.evaluate("[...document.querySelectorAll('main img')].filter(image => !image.alt || "
                                "/[\\/]|\\.png$/.test(image.alt)).map(image => image.getAttribute('src'))")
    problems += [f"{path}: image without a description (alt text): {source}" for source in undescribed]
    maths = page.evaluate("document.querySelectorAll('.math').length")
    if maths:
        rendered = page.evaluate("document.querySelectorAll('mjx-container').length")
        if not typeset or rendered < maths:
            problems.append(f"{path}: maths not typeset ({rendered} of {maths} formulas rendered)")
    text = page.evaluate("""() => {
        const copy = document.querySelector('main, body').cloneNode(true);
        copy.querySelectorAll('pre, code, script, style, .highlight, mjx-container').forEach(node => node.remove());
        return copy.innerText;
    }""")
    problems += [f"{path}: raw TeX shows: {match.group(0)!r}" for match in RAW_TEX.finditer(text)][:5]
    links = page.evaluate("[...document.querySelectorAll('a[href]')].map(anchor => anchor.href)")
    for link in sorted(set(links)):
        if not link.startswith(base):
            continue
        address, _, fragment = link.partition("#")
        if address not in link_status:
            reply = page.request.get(address)
            link_status[address] = (reply.status, reply.text() if reply.ok and address.endswith(".html") else "")
        status, html = link_status[address]
        if status != 200:
            problems.append(f"{path}: broken link to {link[len(base):]} (HTTP {status})")
        elif fragment and html and f'id="{urllib.parse.unquote(fragment)}"' not in html:
            problems.append(f"{path}: link to a missing anchor: {link[len(base):]}")
    page.screenshot(path=str(screenshot))
    return problems


def check_menu_on_a_phone(page, base: str, screenshot: Path) -> list[str]:
    """On a phone-sized screen the sidebar starts hidden; return a problem unless its menu button opens it."""
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto(base + PAGES["core"], wait_until="load")
    buttons = page.locator("button.primary-toggle")
    visible = [index for index in range(buttons.count()) if buttons.nth(index).is_visible()]
    if not visible:
        return ["menu: no visible button opens the sidebar on a phone-sized screen"]
    buttons.nth(visible[0]).click()
    page.wait_for_timeout(500)  # the sidebar slides in
    opened = page.evaluate("""() => {
        const sidebar = document.querySelector('.bd-sidebar-primary');
        const box = sidebar.getBoundingClientRect();
        return getComputedStyle(sidebar).visibility === 'visible' && box.left >= 0 && box.width > 0;
    }""")
    page.screenshot(path=str(screenshot))
    return [] if opened else ["menu: the menu button does not open the sidebar on a phone-sized screen"]


def check_language_switch(page, base: str, screenshot: Path) -> list[str]:
    """Follow each page's switch to the other language (LANGUAGE_SWITCHES); return a problem unless it leads to the
    expected page, in the other language."""
    problems = []
    for start, expected in LANGUAGE_SWITCHES.items():
        page.goto(base + start, wait_until="load")
        switch = page.locator("a.language-switch")
        if switch.count() != 1 or not switch.first.is_visible():
            problems.append(f"{start}: no visible language switch")
            continue
        language = page.evaluate("document.documentElement.lang")
        switch.first.click()
        page.wait_for_load_state("load")
        if page.url.split("#")[0] != base + expected:
            problems.append(f"{start}: the language switch leads to {page.url[len(base):]}, not {expected}")
        elif page.evaluate("document.documentElement.lang") == language:
            problems.append(f"{start}: the language switch leads to a page in the same language ({language})")
    page.screenshot(path=str(screenshot))
    return problems


def check_search(page, base: str, screenshot: Path, search: tuple[str, str] = SEARCH) -> list[str]:
    """Search the site for a word; return a problem unless its page is among the results."""
    word, expected = search
    page.goto(f"{base}{expected.split('notebooks/')[0]}search.html?q={word}", wait_until="load")
    try:
        page.wait_for_selector(f"#search-results a[href*='{expected.split('/')[-1]}']", timeout=15_000)
    except Exception:  # Playwright's TimeoutError: the page never listed it
        page.screenshot(path=str(screenshot))
        return [f"search: '{word}' does not find {expected}"]
    page.screenshot(path=str(screenshot))
    return []


def check_site(site: Path, screenshots: Path, pages: dict[str, str] = PAGES, search: bool = True,
               browser: str | None = None) -> list[str]:
    """Serve `site` on localhost and check `pages` (name: path) in headless Chromium; return the problems found."""
    from playwright.sync_api import sync_playwright

    if not (site / "index.html").is_file():
        raise ValueError(f"{site} holds no built site (no index.html): build it with scripts/build_site.py first")
    screenshots.mkdir(parents=True, exist_ok=True)
    server = serve(site)
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    problems, link_status = [], {}
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=browser or default_browser(),
                                                  args=["--no-sandbox"])
            for name, path in pages.items():
                page = chromium.new_page(viewport={"width": 1280, "height": 900})
                problems += check_page(page, base, path, screenshots / f"{name}.png", link_status)
                page.close()
            if search:
                problems += check_search(chromium.new_page(), base, screenshots / "search.png")
                problems += check_search(chromium.new_page(), base, screenshots / "korean-search.png", KOREAN_SEARCH)
                problems += check_language_switch(chromium.new_page(), base, screenshots / "language-switch.png")
                problems += check_menu_on_a_phone(chromium.new_page(), base, screenshots / "phone-menu.png")
            chromium.close()
    finally:
        server.shutdown()
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=Path, help="a built site (default: build one into a temporary folder)")
    parser.add_argument("--screenshots", type=Path, help="where the screenshots go (default: a temporary folder)")
    parser.add_argument("--browser", help="the Chromium to drive (default: see default_browser)")
    arguments = parser.parse_args()
    screenshots = arguments.screenshots or Path(tempfile.mkdtemp(prefix="mdn-site-screenshots-"))
    with tempfile.TemporaryDirectory(prefix="mdn-site-") as folder:
        site = arguments.site
        start = time.perf_counter()
        if site is None:
            site = Path(folder) / "site"
            build(site)
            print(f"built the site in {time.perf_counter() - start:.0f} s")
        start = time.perf_counter()
        problems = check_site(site, screenshots, browser=arguments.browser)
    print(f"checked {len(PAGES)} pages, the search and the phone menu in {time.perf_counter() - start:.0f} s; "
          f"screenshots in {screenshots}")
    for problem in problems:
        print("FAIL", problem)
    if problems:
        raise SystemExit(f"{len(problems)} problems in the site")
    print("the site passes: no console errors, every image loaded and described, the maths typeset, every internal "
          "link resolves, the search finds chapter 04 in English and in Korean, the language switch leads to the same "
          "page in the other language, and the menu opens on a phone")


if __name__ == "__main__":
    main()
