"""Fixtures of the browser test (``bash scripts/browser-test.sh`` runs it; see test_site.py).

The plain ``pytest`` of the repository (testpaths ``tests`` and ``book``) *skips* these tests, with the reason,
because they need the built book, Chromium and a local MathJax. They run when asked for explicitly:
``pytest tests/browser`` or ``pytest -m browser``. Environment:

- ``LSTM_LIT_BOOK_HTML``: a built ``_build/html`` to test; without it the book is built into a temporary folder.
- ``LSTM_LIT_MATHJAX_DIR``: the npm package ``mathjax`` (3.x; the folder with ``es5/``); default
  ``~/.cache/lstm-lit/mathjax-3.2.2/node_modules/mathjax``, where scripts/browser-test.sh installs it.
- ``LSTM_LIT_CHROMIUM``: the browser (default ``/usr/bin/chromium``, Debian's package).
- ``LSTM_LIT_BROWSER_REQUIRED=1`` (set by scripts/browser-test.sh, so in CI): a missing browser, Playwright or
  MathJax fails the tests instead of skipping them.
- ``LSTM_LIT_ARTIFACTS``: where screenshots go (default ``test-artifacts/browser``, gitignored).
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
MATHJAX_VERSION = "3.2.2"
DEFAULT_MATHJAX = Path.home() / ".cache" / "lstm-lit" / f"mathjax-{MATHJAX_VERSION}" / "node_modules" / "mathjax"

sys.path.insert(0, str(HERE))


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "browser: needs the built book, Chromium and MathJax; run with bash scripts/browser-test.sh")


def _explicitly_requested(config) -> bool:
    if os.environ.get("LSTM_LIT_BROWSER") == "1" or "browser" in (config.option.markexpr or ""):
        return True
    # ``pytest`` with no paths collects the testpaths: that is the default run, which skips these tests.
    return config.args_source != pytest.Config.ArgsSource.TESTPATHS


def pytest_collection_modifyitems(config, items):
    mine = [item for item in items if HERE in Path(str(item.path)).resolve().parents]
    for item in mine:
        item.add_marker(pytest.mark.browser)
    if mine and not _explicitly_requested(config):
        skip = pytest.mark.skip(reason="browser test: needs the built book and Chromium; "
                                       "run bash scripts/browser-test.sh (or pytest tests/browser)")
        for item in mine:
            item.add_marker(skip)


def _unavailable(reason):
    """Skip with the reason, or fail where the browser test is required (scripts/browser-test.sh, CI)."""
    if os.environ.get("LSTM_LIT_BROWSER_REQUIRED") == "1":
        pytest.fail(f"browser test required but cannot run: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Path:
    """The built book: ``LSTM_LIT_BOOK_HTML``, or a fresh strict build into a temporary folder."""
    given = os.environ.get("LSTM_LIT_BOOK_HTML")
    if given:
        html = Path(given).resolve()
        if not (html / "index.html").is_file():
            pytest.fail(f"LSTM_LIT_BOOK_HTML={given} has no index.html: build the book first", pytrace=False)
        return html
    jb = Path(sys.executable).with_name("jupyter-book")
    jb = str(jb) if jb.exists() else shutil.which("jupyter-book")
    if not jb:
        _unavailable("jupyter-book is not installed, and LSTM_LIT_BOOK_HTML is not set")
    out = tmp_path_factory.mktemp("book")
    run = subprocess.run([jb, "build", str(ROOT), "-n", "-W", "--keep-going", "--path-output", str(out)],
                         capture_output=True, text=True, timeout=1800)
    if run.returncode != 0:
        pytest.fail(f"the book build failed:\n{run.stdout[-4000:]}\n{run.stderr[-4000:]}", pytrace=False)
    return out / "_build" / "html"


@pytest.fixture(scope="session")
def mathjax_dir() -> Path:
    path = Path(os.environ.get("LSTM_LIT_MATHJAX_DIR", DEFAULT_MATHJAX))
    if not (path / "es5" / "tex-mml-chtml.js").is_file():
        _unavailable(f"no local MathJax 3 at {path} (npm install mathjax@{MATHJAX_VERSION}; "
                     "scripts/browser-test.sh does it)")
    return path


@pytest.fixture(scope="session")
def playwright_instance():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        _unavailable(f"the Python package playwright is not installed ({exc})")
    chromium = os.environ.get("LSTM_LIT_CHROMIUM", "/usr/bin/chromium")
    if not os.access(chromium, os.X_OK):
        _unavailable(f"no Chromium at {chromium} (Debian: apt-get install chromium)")
    with sync_playwright() as p:
        yield p, chromium


@pytest.fixture(scope="session")
def open_browser(playwright_instance, mathjax_dir, tmp_path_factory):
    """``open_browser(base)`` -> (context, traffic): Chromium in a fresh profile that may load ``base`` and
    the local MathJax, and nothing else."""
    import sitecrawl

    p, chromium = playwright_instance
    contexts = []

    def open_(base):
        context = sitecrawl.launch(p, tmp_path_factory.mktemp("chromium-profile"), executable=chromium)
        contexts.append(context)
        return context, sitecrawl.route_requests(context, base, mathjax_dir)

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    path = Path(os.environ.get("LSTM_LIT_ARTIFACTS", ROOT / "test-artifacts" / "browser"))
    path.mkdir(parents=True, exist_ok=True)
    return path
