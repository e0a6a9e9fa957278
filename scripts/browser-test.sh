#!/usr/bin/env bash
# The browser test of the built book (tests/browser): every page in headless Chromium, MathJax served locally.
#   bash scripts/browser-test.sh              install what it needs, build the book, run the test
#   bash scripts/browser-test.sh --no-build   test the existing _build/html (.ci/run: right after its build)
# Checks every page, and the layout at two window widths: no table wider than its box at 1280 px, no numbered
# equation that loses its left part at 390 px. Further arguments go to pytest. Installs, when missing: Debian's
# chromium (as root; Playwright never downloads a browser), the pinned Python packages incl. playwright
# (scripts/setup.sh), and the npm package mathjax into a cache folder. Screenshots land in test-artifacts/browser/.
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1 MPLBACKEND=Agg

MATHJAX_VERSION=3.2.2   # the release _config.yml's mathjax_path loads from the CDN in the published book
CHROMIUM=${LSTM_LIT_CHROMIUM:-/usr/bin/chromium}
CACHE=${LSTM_LIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lstm-lit}
MATHJAX_PREFIX="$CACHE/mathjax-$MATHJAX_VERSION"

build=1
if [ "${1:-}" = "--no-build" ]; then build=0; shift; fi

apt_install() {
  if [ "$(id -u)" != 0 ]; then
    echo "browser-test: $* missing and not root: install it (apt-get install -y $*)" >&2
    return 0   # the test then fails, saying what is missing
  fi
  if [ -z "${APT_UPDATED:-}" ]; then apt-get update -qq; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

started=$(date +%s)
[ -x "$CHROMIUM" ] || apt_install chromium fonts-liberation
command -v npm >/dev/null || apt_install npm
if [ ! -f "$MATHJAX_PREFIX/node_modules/mathjax/es5/tex-mml-chtml.js" ]; then
  mkdir -p "$MATHJAX_PREFIX"
  npm install --prefix "$MATHJAX_PREFIX" --no-audit --no-fund --no-package-lock --silent "mathjax@$MATHJAX_VERSION"
fi

if [ "$build" = 1 ]; then
  bash scripts/build-book.sh          # installs the pinned packages (incl. playwright) and builds strictly
else
  bash scripts/setup.sh
  [ -f _build/html/index.html ] || { echo "browser-test: --no-build, but there is no _build/html" >&2; exit 1; }
fi

echo "browser-test: setup took $(( $(date +%s) - started )) s; $("$CHROMIUM" --version 2>/dev/null || echo 'no chromium')"
LSTM_LIT_BROWSER_REQUIRED=1 \
LSTM_LIT_BOOK_HTML="$PWD/_build/html" \
LSTM_LIT_MATHJAX_DIR="$MATHJAX_PREFIX/node_modules/mathjax" \
LSTM_LIT_CHROMIUM="$CHROMIUM" \
  .venv/bin/python -m pytest tests/browser -rs "$@"
