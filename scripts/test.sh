#!/usr/bin/env bash
# Install what the tests need, then run the whole suite: unit tests, regeneration check, every notebook (nbval).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export MPLBACKEND=Agg
.venv/bin/python -m pytest "$@"
