"""The built book as a reader sees it: every page opened in headless Chromium.

Run with ``bash scripts/browser-test.sh`` (installs Debian's Chromium, Playwright and MathJax, builds the book,
runs this). MathJax is the npm package, served in place of the CDN address that the published book keeps.
Checked on every page: MathJax typeset every equation without an error or an undefined macro and left no raw TeX;
every equation with a target ``eq-N`` shows its label (N); every link within the site answers 200 and its
#anchor exists; every image loads; no script throws; each notebook page has its Binder, Colab and .ipynb
buttons; at 1280 px no table is wider than the box it sits in (no column hidden behind a sideways scroll); and at
390 px every display equation keeps its left part within reach (it scrolls inside its box from its left end). ``test_checks_catch_a_broken_site`` runs the same checks on a small site with one fault of each kind:
each check must report its fault, so a check that cannot fail would not go unnoticed.
"""

import json
import time
from pathlib import Path

import pytest
import yaml

import sitecrawl

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
# The notes' equations (1)-(19) and the chapter that states each. Any other target eq-N found in the book is
# checked too; these must not disappear.
EXPECTED_EQUATIONS = {
    **dict.fromkeys(range(1, 6), "book/gradients_1997.html"),
    6: "book/lstm1997.html",
    7: "book/lstm1997.html",
    8: "book/forget_gates.html",
    9: "book/forget_gates.html",
    10: "book/truncation.html",
    11: "book/truncation.html",
    **dict.fromkeys(range(12, 17), "book/forget_gradients.html"),
    **dict.fromkeys(range(17, 20), "book/complexity.html"),
}
SCREENSHOTS = {"book/lstm1997.html": "eq-6", "book/forget_gates.html": "eq-8"}


@pytest.fixture(scope="module")
def book(site, open_browser, artifacts):
    """Crawl the whole book once; keep screenshots of two pages."""
    started = time.monotonic()
    with sitecrawl.SiteServer(site) as server:
        context, traffic = open_browser(server.base)
        reports = sitecrawl.crawl(context, server.base, site)
        shots = {}
        for path, anchor in SCREENSHOTS.items():
            page = context.new_page()
            page.goto(server.base + path, wait_until="load")
            page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
            page.evaluate("() => MathJax.startup.promise")
            name = Path(path).stem
            page.screenshot(path=artifacts / f"{name}.png", full_page=True)
            # and the first numbered equation after the anchor, close up
            eq = page.locator(f"#{anchor} ~ * mjx-container[display='true'], #{anchor} mjx-container[display='true']")
            if eq.count():
                eq.first.scroll_into_view_if_needed()
                page.screenshot(path=artifacts / f"{name}-{anchor}.png")
            shots[path] = artifacts / f"{name}.png"
            page.close()
        yield {"reports": reports, "base": server.base, "site": site, "traffic": traffic, "shots": shots,
               "seconds": time.monotonic() - started}


def _report(problems):
    return "\n".join(problems)


def test_every_page_opened(book):
    reports = book["reports"]
    assert "book/intro.html" in reports and "book/lstm1997.html" in reports, sorted(reports)
    print(f"\n{len(reports)} pages in {book['seconds']:.1f} s; MathJax files served locally: "
          f"{len(book['traffic'].mathjax_served)}; off-site requests blocked: {len(book['traffic'].blocked)}")
    for url in sorted(set(book["traffic"].blocked)):
        print("  blocked:", url)
    assert not book["traffic"].mathjax_missing, book["traffic"].mathjax_missing


def test_mathjax_renders_every_equation(book):
    reports = book["reports"]
    math_pages = [p for p, r in reports.items() if r.expected_display]
    assert math_pages, "no page has display math: the count would prove nothing"
    assert all(reports[p].mathjax.startswith("3.") for p in math_pages), {p: reports[p].mathjax for p in math_pages}
    assert not sitecrawl.problems_math(reports), _report(sitecrawl.problems_math(reports))


def test_equation_labels(book):
    problems = sitecrawl.problems_equation_labels(book["reports"], EXPECTED_EQUATIONS)
    assert not problems, _report(problems)


def test_internal_links_resolve(book):
    problems = sitecrawl.problems_links(book["reports"], book["base"], book["site"])
    assert not problems, _report(problems)


def test_images_load(book):
    problems = sitecrawl.problems_images(book["reports"])
    assert not problems, _report(problems)
    assert any(r.dom.get("images") for r in book["reports"].values())


def test_no_script_errors(book):
    problems = sitecrawl.problems_scripts(book["reports"])
    assert not problems, _report(problems)


def test_notebook_pages_have_launch_and_download_buttons(book):
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repo = config["repository"]
    notebook_pages = [p for p in book["reports"] if (book["site"] / "_sources" / p.replace(".html", ".ipynb")).is_file()]
    assert len(notebook_pages) >= 3, notebook_pages
    problems = sitecrawl.problems_notebook_buttons(book["reports"], book["site"], repo["url"], repo["branch"],
                                                   repo.get("path_to_book", ""))
    assert not problems, _report(problems)


def test_tables_fit_the_page_at_1280px(book):
    reports = book["reports"]
    tables = sum(len(r.layout.get(1280, {}).get("tables", [])) for r in reports.values())
    assert tables >= 2, "no table measured at 1280 px: the check would prove nothing"
    problems = sitecrawl.problems_tables(reports, 1280)
    assert not problems, _report(problems)


def test_equations_keep_their_left_part_at_390px(book):
    reports = book["reports"]
    measured = sum(len(r.layout.get(390, {}).get("equations", [])) for r in reports.values())
    assert measured >= 19, f"only {measured} display equations measured at 390 px"
    problems = sitecrawl.problems_equations(reports, 390)
    assert not problems, _report(problems)


def test_screenshots_kept(book):
    for path, png in book["shots"].items():
        assert png.is_file() and png.stat().st_size > 10_000, png
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png


# --- the broken twin ----------------------------------------------------------------------------------------
BROKEN_PAGE = r"""<!DOCTYPE html>
<html><head><title>broken</title>
<script>window.MathJax = {"tex": {"macros": {"fg": "\\mathrm{fg}"}},
  "options": {"processHtmlClass": "tex2jax_process|mathjax_process|math|output_area"}}</script>
<script defer="defer" src="https://cdn.jsdelivr.net/npm/mathjax@3.2.2/es5/tex-mml-chtml.js"></script>
</head><body><article>
<div class="math notranslate nohighlight">\[ y^{\fg} = 1 \tag{5} \]</div>
<div class="math notranslate nohighlight">\[ x^1^2 \]</div>
<div class="math notranslate nohighlight">\[ \undefinedmacro{x} \]</div>
<div class="math notranslate nohighlight">\[ \frac{a}{ \]</div>
<p>Raw inline TeX that was never parsed: $\dBlk$.</p>
<span id="eq-6"></span>
<a href="missing.html">a missing page</a> <a href="page.html#nowhere">a missing anchor</a>
<a href="page.html#eq-6">a good anchor</a>
<img src="missing.png" alt="a missing image">
<script>throw new Error("boom");</script>
<div style="width: 300px; overflow-x: auto"><table class="table"><tr><th>place</th><th>what it says</th></tr>
<tr><td style="white-space: nowrap">a long unbreakable line that makes this table far wider than its box</td>
<td>x</td></tr></table></div>
LAYOUT_FIXTURE
</article></body></html>
"""
# A long numbered equation as the theme lays it out (div.math: a flex row in reverse order that clips, the equation
# scrolling inside it); in the broken page it loses its left part at 390 px, the book's CSS keeps it in reach.
LAYOUT_FIXTURE = r"""<style>div.math { display: flex; flex-direction: row-reverse; overflow: hidden; max-width: 300px; }
div.math mjx-container { flex-grow: 1; overflow: auto; }</style>
<div class="math notranslate nohighlight">\[ s_{k,i}(t+1) = y^{\fg}_k(t+1)\,s_{k,i}(t) + y^{ig}_k(t+1)\,g(z^{c}_{k,i}(t+1))
  + a + b + c + d + e + f + g + h \tag{9} \]</div>
"""
FIXED_PAGE = BROKEN_PAGE.split("<article>")[0] + """<article><section id="errata">
<style>BOOK_CSS</style>
<div style="width: 300px; overflow-x: auto"><table class="table"><tr><th>place</th><th>what it says</th>
<th>what is right</th><th>proof</th></tr><tr><td>a long line of words that wraps inside its own column</td>
<td>\\(x + y\\)</td><td>z</td><td>w</td></tr></table></div>
""" + LAYOUT_FIXTURE + "</section></article></body></html>"


def test_checks_catch_a_broken_site(open_browser, tmp_path):
    site = tmp_path / "html"
    (site / "book").mkdir(parents=True)
    (site / "_sources" / "book").mkdir(parents=True)
    (site / "book" / "page.html").write_text(BROKEN_PAGE.replace("LAYOUT_FIXTURE", LAYOUT_FIXTURE))
    css = (ROOT / "_static" / "book.css").read_text()
    (site / "book" / "fixed.html").write_text(FIXED_PAGE.replace("BOOK_CSS", css))
    (site / "_sources" / "book" / "page.ipynb").write_text(json.dumps({"cells": []}))
    with sitecrawl.SiteServer(site) as server:
        context, _ = open_browser(server.base)
        reports = sitecrawl.crawl(context, server.base, site)
        math = _report(sitecrawl.problems_math(reports))
        labels = _report(sitecrawl.problems_equation_labels(reports, {7: "book/page.html"}))
        links = _report(sitecrawl.problems_links(reports, server.base, site))
        tables = _report(sitecrawl.problems_tables({"book/page.html": reports["book/page.html"]}, 1280))
        equations = _report(sitecrawl.problems_equations({"book/page.html": reports["book/page.html"]}, 390))
        fixed = sitecrawl.problems_tables({"book/fixed.html": reports["book/fixed.html"]}, 1280) + \
            sitecrawl.problems_equations({"book/fixed.html": reports["book/fixed.html"]}, 390)
    assert reports["book/page.html"].mathjax.startswith("3.")
    assert "MathJax error" in math, math                       # x^1^2: double exponent
    assert "undefined macro \\undefinedmacro" in math, math
    assert "not typeset" in math and "raw TeX" in math, math   # \frac{a}{ is left as it was
    assert "$\\dBlk$" in math, math
    assert "book/page.html: 5 display equations in the HTML, 4 rendered" in math, math
    assert "target eq-7 expected on book/page.html" in labels, labels
    assert "has target eq-6 but no rendered equation labelled (6)" in labels, labels
    assert "'missing.html' -> HTTP 404" in links, links
    assert "no element with id 'nowhere'" in links, links
    assert "eq-6'" not in links, links                          # the good anchor is not reported
    assert "missing.png" in _report(sitecrawl.problems_images(reports))
    assert "boom" in _report(sitecrawl.problems_scripts(reports))
    assert "at 1280 px, table 0 ('place | what it says') is" in tables, tables
    assert "at 390 px, equation (9)" in equations and "px on the left" in equations, equations
    assert not fixed, _report(fixed)   # the same table and equation with the book's CSS
    buttons = _report(sitecrawl.problems_notebook_buttons(reports, site, "https://github.com/o/r", "main"))
    assert "no Binder button" in buttons and "no Colab button" in buttons and "no .ipynb download" in buttons
