#!/usr/bin/env bash
# Install what the tests need, then run the whole suite: unit tests, regeneration check, every notebook (nbval).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export MPLBACKEND=Agg
# Tests run in parallel processes (pytest-xdist), one per core up to 4 (TEST_WORKERS=0: one process); each file (the cells of
# a notebook, in order) runs in one process.
WORKERS=${TEST_WORKERS:-$(n=$(nproc); echo $((n < 4 ? n : 4)))}
.venv/bin/python -m pytest -n "$WORKERS" --dist loadfile "$@"
