"""Open every page of a built site in headless Chromium and record what a reader would see.

Used by ``test_site.py`` (the real book) and by its deliberately broken twin (a tiny site with one fault of
each kind, which every check must report).  Nothing here asserts: :func:`crawl` records, the ``problems_*``
functions turn a record into a list of human-readable problems (empty = fine).
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from bs4 import BeautifulSoup

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The CDN address of MathJax 3 as Sphinx writes it (``mathjax_path``); the rest of the URL is a file in es5/.
MATHJAX_URL = re.compile(r"^https?://[^/]+/npm/mathjax@(3[^/]*)/es5/(?P<file>[^?#]*)")
PAGE_TIMEOUT_MS = 60_000
# Window widths at which the layout is measured: a laptop, and a phone held upright.
LAYOUT_WIDTHS = (1280, 390)


# --- serving ----------------------------------------------------------------------------------------------
class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output clean
        pass


class SiteServer:
    """``directory`` over HTTP on 127.0.0.1, a free port, in a daemon thread (a context manager)."""

    def __init__(self, directory: Path):
        handler = functools.partial(_QuietHandler, directory=str(directory))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="site-server", daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


# --- the browser ------------------------------------------------------------------------------------------
def launch(playwright, user_data_dir: Path, executable: str = CHROMIUM):
    """Debian's Chromium, headless, in a fresh profile (no browser download: ``executable_path``)."""
    return playwright.chromium.launch_persistent_context(
        str(user_data_dir),
        executable_path=executable,
        headless=True,
        args=CHROMIUM_ARGS,
        viewport={"width": 1280, "height": 900},
        timeout=PAGE_TIMEOUT_MS,
    )


@dataclass
class Traffic:
    """What the route handler did: MathJax files served from the local copy, everything else off-site blocked."""

    mathjax_served: list = field(default_factory=list)
    mathjax_missing: list = field(default_factory=list)
    blocked: list = field(default_factory=list)


def route_requests(context, base: str, mathjax_dir: Path | None) -> Traffic:
    """Let requests to ``base`` through; answer MathJax CDN requests from ``mathjax_dir``; block the rest.

    There is no network here (and a test must not depend on one): the published book keeps the CDN address,
    the test serves the same files from the npm package.
    """
    traffic = Traffic()
    es5 = (mathjax_dir / "es5").resolve() if mathjax_dir else None

    def handle(route):
        url = route.request.url
        if url.startswith(base):
            return route.continue_()
        m = MATHJAX_URL.match(url)
        if m and es5 is not None:
            local = (es5 / m["file"]).resolve()
            if local.is_file() and local.is_relative_to(es5):
                traffic.mathjax_served.append(m["file"])
                return route.fulfill(path=str(local))
            traffic.mathjax_missing.append(url)
            return route.fulfill(status=404, body="not in the local MathJax copy")
        if not url.startswith(("data:", "blob:", "about:")):
            traffic.blocked.append(url)
        return route.abort()

    context.route("**/*", handle)
    return traffic


# --- what one page shows ----------------------------------------------------------------------------------
_WAIT_MATHJAX = """() => {
  const s = document.querySelector('script[src*="mathjax"]');
  if (!s) return 'none';
  return (window.MathJax && window.MathJax.version && window.MathJax.startup && window.MathJax.startup.promise)
    ? 'loaded' : false;
}"""

_TYPESET = """async () => { await MathJax.startup.promise; return MathJax.version; }"""

# Everything read off the live DOM after MathJax has typeset.
_INSPECT = r"""async () => {
  const skip = 'script, style, pre, code, textarea, mjx-container, .highlight, .linenos';
  const text = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const n = walker.currentNode;
    if (n.parentElement && n.parentElement.closest(skip)) continue;
    const t = n.textContent;
    // display or inline delimiters, an environment, or $…\macro…$ (inline TeX that was never parsed as math)
    if (/\$\$|\\\[|\\\]|\\\(|\\\)|\\begin\{|\$[^$\n]*\\[A-Za-z]+[^$\n]*\$/.test(t)) text.push(t.trim().slice(0, 160));
  }
  const display = [...document.querySelectorAll('mjx-container[display="true"]')];
  const tags = [];
  for (const c of display) {
    for (const row of c.querySelectorAll('mjx-assistive-mml mlabeledtr')) {
      const first = row.querySelector('mtd');
      const box = c.getBoundingClientRect();
      tags.push({tag: first ? first.textContent.trim() : '', visible: box.width > 0 && box.height > 0});
    }
  }
  const undefinedMacros = [...document.querySelectorAll('mjx-assistive-mml mtext[mathcolor="red"]')]
    .map(e => e.textContent).filter(t => t.startsWith('\\'));
  const unrendered = [...document.querySelectorAll('.math')]
    .filter(e => !e.querySelector('mjx-container')).map(e => e.textContent.trim().slice(0, 160));
  // lazy images would never load off-screen: make them eager, then wait for every image (bounded)
  const imgs = [...document.images];
  imgs.forEach(i => { if (i.loading === 'lazy') i.loading = 'eager'; });
  await Promise.race([
    Promise.all(imgs.map(i => i.complete ? null : new Promise(r => {
      i.addEventListener('load', r); i.addEventListener('error', r); }))),
    new Promise(r => setTimeout(r, 20000)),
  ]);
  return {
    title: document.title,
    mathjax_display: display.length,
    mathjax_inline: document.querySelectorAll('mjx-container:not([display="true"])').length,
    merror: [...document.querySelectorAll('mjx-merror')]
      .map(e => e.getAttribute('data-mjx-error') || e.textContent.slice(0, 160)),
    undefined_macros: undefinedMacros,
    unrendered_math: unrendered,
    raw_tex: text,
    tags: tags,
    ids: [...document.querySelectorAll('[id]')].map(e => e.id)
      .concat([...document.querySelectorAll('a[name]')].map(e => e.getAttribute('name'))),
    links: [...document.querySelectorAll('a[href]')].map(a => ({href: a.href, raw: a.getAttribute('href')})),
    images: imgs.map(i => ({src: i.currentSrc || i.src, width: i.naturalWidth, complete: i.complete})),
    launch: [...document.querySelectorAll('.dropdown-launch-buttons a')].map(a => a.href),
    download: [...document.querySelectorAll('.dropdown-download-buttons a')].map(a => a.href),
  };
}"""


@dataclass
class PageReport:
    path: str  # relative to the site root, e.g. "book/lstm1997.html"
    url: str
    status: int | None = None
    mathjax: str = "none"  # "none" (no MathJax on the page) or the version that typeset it
    expected_display: int = 0  # display equations in the HTML as served, before MathJax
    dom: dict = field(default_factory=dict)
    page_errors: list = field(default_factory=list)
    console_errors: list = field(default_factory=list)
    bad_responses: list = field(default_factory=list)
    dropdowns_open: dict = field(default_factory=dict)
    redirect: str | None = None  # a page that only redirects (the site's index.html): its target URL
    layout: dict = field(default_factory=dict)  # window width -> tables and display equations (see _LAYOUT)


def count_display_math(html: str) -> int:
    """Display equations in a page as Sphinx writes it: one per ``\\[…\\]`` (or ``$$…$$``) in a ``div.math``,
    and one for a ``div.math`` that holds a bare environment (amsmath blocks are written without delimiters)."""
    soup = BeautifulSoup(html, "html.parser")
    n = 0
    for div in soup.select("div.math"):
        text = div.get_text()
        n += max(1, text.count("\\["), text.count("$$") // 2)
    return n


# Read off the live DOM at one window width, after MathJax has typeset:
# - every table of the article: its width against the width of the box it sits in (the theme wraps tables in a
#   scrollable container; a table wider than that box hides its last columns behind a sideways scroll);
# - every display equation: how far its rendered content reaches left of the left edge of its scroll box. A box
#   scrolls right only, so content left of its edge (a centred equation wider than the box) can never be brought
#   into view; an equation that runs off the window with no scroll box around it is lost as well.
_LAYOUT = r"""async () => {
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  const article = document.querySelector('article') || document.querySelector('main') || document.body;
  const tables = [...article.querySelectorAll('table')].map((t, i) => {
    let box = t.parentElement;
    while (box && box !== article && getComputedStyle(box).display.startsWith('inline')) box = box.parentElement;
    const head = t.querySelector('tr');
    return {index: i, width: Math.round(t.getBoundingClientRect().width), box: box.clientWidth,
            head: head ? [...head.cells].map(c => c.textContent.trim()).join(' | ').slice(0, 60) : ''};
  });
  // The visible part of an element: the intersection of the window with every ancestor (and the element itself)
  // that clips its overflow, each scrolled to its start. A box scrolls right only, so whatever lies left of the
  // left edge of that region can never be brought into view; right of a box that clips without scrolling, the
  // same. An equation that is wider than the window without a scroll box runs off the page.
  const region = (el) => {
    let left = 0, right = Infinity, scrolls = false;
    for (let e = el; e && e !== document.documentElement; e = e.parentElement) {
      const s = getComputedStyle(e);
      if (s.overflowX === 'visible') continue;
      e.scrollLeft = 0;
      const b = e.getBoundingClientRect();
      left = Math.max(left, b.left);
      if (['auto', 'scroll'].includes(s.overflowX)) scrolls = true; else if (!scrolls) right = Math.min(right, b.right);
    }
    return {left, right, scrolls};
  };
  const equations = [...article.querySelectorAll('mjx-container[display="true"]')].map((c, i) => {
    const box = region(c);
    // the extent of what is drawn: the union of the boxes of the rendered formula (its hidden copy for screen
    // readers left out), read in one call
    const math = c.querySelector('mjx-math');
    const range = document.createRange();
    if (math) range.selectNodeContents(math);
    const drawn = math ? range.getBoundingClientRect() : {left: box.left, right: box.left};
    const left = drawn.left, right = drawn.right;
    const label = c.querySelector('mjx-assistive-mml mlabeledtr > mtd');
    return {index: i, lost: Math.max(0, Math.round(box.left - left)),
            lostRight: Math.max(0, Math.round(right - box.right)),
            offWindow: !box.scrolls && right > document.documentElement.clientWidth + 1,
            label: label ? label.textContent.trim() : '',
            tex: (c.querySelector('mjx-assistive-mml') || c).textContent.trim().slice(0, 40)};
  });
  return {tables, equations};
}"""


def inspect_page(context, base: str, path: str) -> PageReport:
    report = PageReport(path=path, url=base + path)
    page = context.new_page()
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    page.on("pageerror", lambda exc: report.page_errors.append(str(exc)))
    page.on("console", lambda msg: msg.type == "error" and report.console_errors.append(msg.text))
    page.on("response", lambda r: r.url.startswith(base) and r.status >= 400
            and report.bad_responses.append(f"{r.status} {r.url}"))
    page.on("requestfailed", lambda r: r.url.startswith(base)
            and report.bad_responses.append(f"failed {r.url}: {r.failure}"))
    try:
        with urllib.request.urlopen(report.url, timeout=30) as resp:  # the page as served, before any script
            html = resp.read().decode("utf-8", "replace")
        refresh = re.search(r'<meta http-equiv="refresh" content="\d+;\s*url=([^"]+)"', html, re.I)
        if refresh:  # nothing to read on it: its target must exist (checked with the links)
            report.redirect = urllib.parse.urljoin(report.url, refresh[1])
            report.status = 200
            return report
        response = page.goto(report.url, wait_until="load")
        report.status = response.status if response else None
        report.expected_display = count_display_math(html)
        state = page.wait_for_function(_WAIT_MATHJAX, timeout=PAGE_TIMEOUT_MS).json_value()
        if state == "loaded":
            report.mathjax = page.evaluate(_TYPESET)
        report.dom = page.evaluate(_INSPECT)
        # As a reader would: open each dropdown of the header and see its first entry.
        for kind in ("launch", "download"):
            toggle = page.locator(f".dropdown-{kind}-buttons > button")
            if toggle.count():
                toggle.first.click()
                item = page.locator(f".dropdown-{kind}-buttons .dropdown-menu a, "
                                    f".dropdown-{kind}-buttons .dropdown-menu button").first
                report.dropdowns_open[kind] = item.is_visible()
                page.keyboard.press("Escape")
        # Last, the layout at each width of LAYOUT_WIDTHS, widest first (the window is 1280 px wide until now).
        for width in sorted(LAYOUT_WIDTHS, reverse=True):
            if width != page.viewport_size["width"]:
                page.set_viewport_size({"width": width, "height": page.viewport_size["height"]})
            report.layout[width] = page.evaluate(_LAYOUT)
    finally:
        page.close()
    return report


def site_pages(site: Path) -> list[str]:
    """Every HTML page of the site, except the theme's own files."""
    return sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html")
                  if not p.relative_to(site).parts[0].startswith(("_static", "_sources", "_images")))


def crawl(context, base: str, site: Path) -> dict[str, PageReport]:
    return {path: inspect_page(context, base, path) for path in site_pages(site)}


# --- checks: each returns a list of problems ----------------------------------------------------------------
def problems_math(reports: dict[str, PageReport]) -> list[str]:
    out = []
    for path, r in reports.items():
        d = r.dom
        if r.expected_display and r.mathjax == "none":
            out.append(f"{path}: {r.expected_display} display equations but MathJax is not loaded")
        for e in d.get("merror", []):
            out.append(f"{path}: MathJax error: {e}")
        for e in d.get("undefined_macros", []):
            out.append(f"{path}: undefined macro {e}")
        for e in d.get("unrendered_math", []):
            out.append(f"{path}: math element not typeset: «{e}»")
        for e in d.get("raw_tex", []):
            out.append(f"{path}: raw TeX left in the text: «{e}»")
        if d.get("mathjax_display", 0) != r.expected_display:
            out.append(f"{path}: {r.expected_display} display equations in the HTML, "
                       f"{d.get('mathjax_display', 0)} rendered by MathJax")
    return out


def equation_targets(reports: dict[str, PageReport]) -> dict[int, str]:
    """``eq-N`` targets (the book's labels for the notes' equations) and the page that holds each."""
    found = {}
    for path, r in reports.items():
        for ident in r.dom.get("ids", []):
            m = re.fullmatch(r"eq-(\d+)", ident)
            if m:
                found[int(m[1])] = path
    return found


def problems_equation_labels(reports: dict[str, PageReport], expected: dict[int, str]) -> list[str]:
    """Every equation N with a target ``eq-N`` shows the label (N) on that page, rendered and visible; and the
    ``expected`` numbers have targets on the pages given."""
    out = []
    targets = equation_targets(reports)
    for n, path in expected.items():
        if targets.get(n) != path:
            out.append(f"equation ({n}): target eq-{n} expected on {path}, found on {targets.get(n)}")
    for n, path in sorted(targets.items()):
        tags = reports[path].dom.get("tags", [])
        shown = [t for t in tags if t["tag"] == f"({n})"]
        if not shown:
            out.append(f"{path}: has target eq-{n} but no rendered equation labelled ({n}); "
                       f"labels there: {[t['tag'] for t in tags]}")
        elif not any(t["visible"] for t in shown):
            out.append(f"{path}: equation ({n}) is rendered but not visible")
    return out


def problems_links(reports: dict[str, PageReport], base: str, site: Path) -> list[str]:
    """Every link within the site: the file answers 200, and the #fragment names an element of that page."""
    out, status, ids = [], {}, {r.url: set(r.dom.get("ids", [])) for r in reports.values()}

    def fetch(url):
        if url not in status:
            try:
                with urllib.request.urlopen(url, timeout=30) as resp:
                    status[url] = (resp.status, resp.read())
            except urllib.error.HTTPError as exc:
                status[url] = (exc.code, b"")
            except OSError as exc:
                status[url] = (str(exc), b"")
        return status[url]

    for path, r in reports.items():
        for link in r.dom.get("links", []):
            href = link["href"]
            if not href.startswith(base):
                continue
            target, _, frag = href.partition("#")
            if target.endswith("/"):
                target += "index.html"
            code, body = fetch(target)
            if code != 200:
                out.append(f"{path}: link {link['raw']!r} -> HTTP {code}")
                continue
            if not frag:
                continue
            frag = urllib.parse.unquote(frag)
            if target not in ids:  # not a crawled page: read the ids from the HTML as served
                soup = BeautifulSoup(body, "html.parser")
                ids[target] = {e["id"] for e in soup.select("[id]")} | {e["name"] for e in soup.select("a[name]")}
            if frag not in ids[target]:
                out.append(f"{path}: link {link['raw']!r} -> no element with id {frag!r}")
        if r.redirect and fetch(r.redirect)[0] != 200:
            out.append(f"{path}: redirects to {r.redirect}, which answers HTTP {fetch(r.redirect)[0]}")
        if r.status != 200:
            out.append(f"{path}: HTTP {r.status}")
        for bad in r.bad_responses:
            out.append(f"{path}: {bad}")
    return out


def problems_images(reports: dict[str, PageReport]) -> list[str]:
    out = []
    for path, r in reports.items():
        for img in r.dom.get("images", []):
            if not img["complete"] or img["width"] <= 0:
                out.append(f"{path}: image did not load: {img['src'][:200]}")
    return out


def problems_notebook_buttons(reports: dict[str, PageReport], site: Path, repo_url: str, branch: str,
                              path_to_book: str = "") -> list[str]:
    """A page built from ``X.ipynb`` offers Binder and Colab launch links for that notebook in the repository
    and a download of the ``.ipynb`` itself (which must be a notebook); the dropdowns open."""
    out = []
    owner_repo = urllib.parse.urlparse(repo_url).path.strip("/")
    prefix = (path_to_book.strip("/") + "/") if path_to_book.strip("/") else ""
    for path, r in reports.items():
        source = path[: -len(".html")] + ".ipynb"
        if not (site / "_sources" / source).is_file():
            continue
        nb = prefix + source
        binder = f"https://mybinder.org/v2/gh/{owner_repo}/{branch}?urlpath=tree/{nb}"
        colab = f"https://colab.research.google.com/github/{owner_repo}/blob/{branch}/{nb}"
        launch, download = r.dom.get("launch", []), r.dom.get("download", [])
        if binder not in launch:
            out.append(f"{path}: no Binder button for {nb} (launch links: {launch})")
        if colab not in launch:
            out.append(f"{path}: no Colab button for {nb} (launch links: {launch})")
        ipynb = [u for u in download if u.endswith("/_sources/" + source)]
        if not ipynb:
            out.append(f"{path}: no .ipynb download button (download links: {download})")
        else:
            try:
                with urllib.request.urlopen(ipynb[0], timeout=30) as resp:
                    if "cells" not in json.loads(resp.read()):
                        out.append(f"{path}: the downloaded .ipynb is not a notebook")
            except (OSError, ValueError) as exc:
                out.append(f"{path}: .ipynb download fails: {exc}")
        for kind in ("launch", "download"):
            if not r.dropdowns_open.get(kind):
                out.append(f"{path}: the {kind} dropdown does not open to show its buttons")
    return out


def problems_scripts(reports: dict[str, PageReport]) -> list[str]:
    """Uncaught JavaScript exceptions (a broken page script)."""
    return [f"{path}: JavaScript error: {e}" for path, r in reports.items() for e in r.page_errors]


def problems_tables(reports: dict[str, PageReport], width: int = 1280, slack: int = 1) -> list[str]:
    """At window ``width``: tables wider than the box they sit in (last columns hidden behind a sideways scroll)."""
    return [f"{path}: at {width} px, table {t['index']} ({t['head']!r}) is {t['width']} px wide in a box of "
            f"{t['box']} px" for path, r in reports.items() for t in r.layout.get(width, {}).get("tables", [])
            if t["width"] > t["box"] + slack]


def problems_equations(reports: dict[str, PageReport], width: int = 390, slack: int = 1) -> list[str]:
    """At window ``width``: display equations whose left part lies left of their scroll box (it cannot be
    scrolled into view), or that run off the window with no scroll box to bring them back."""
    out = []
    for path, r in reports.items():
        for e in r.layout.get(width, {}).get("equations", []):
            name = f"equation {e['label'] or '#' + str(e['index'])} ({e['tex']!r})"
            if e["lost"] > slack:
                out.append(f"{path}: at {width} px, {name} loses {e['lost']} px on the left")
            if e.get("lostRight", 0) > slack:
                out.append(f"{path}: at {width} px, {name} is cut off by {e['lostRight']} px on the right")
            if e["offWindow"]:
                out.append(f"{path}: at {width} px, {name} runs off the window and has no scroll box")
    return out
