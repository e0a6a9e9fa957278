#!/usr/bin/env bash
# Install what the book needs, then build it into _build/html (nitpicky; any warning fails the build).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
rm -rf _build
.venv/bin/jupyter-book build . -n -W --keep-going
echo "The book is in _build/html/index.html"
