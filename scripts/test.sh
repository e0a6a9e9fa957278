#!/usr/bin/env bash
# Install what the tests need, then run the whole suite: unit tests, regeneration check, every notebook (nbval).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export MPLBACKEND=Agg
# Tests run in parallel processes (pytest-xdist), one per core up to 4 (TEST_WORKERS=N sets N; 0 runs them in this
# process). Each file runs whole in one process, so a notebook's cells run in order in one kernel.
WORKERS=${TEST_WORKERS:-$(n=$(nproc); echo $((n < 4 ? n : 4)))}
.venv/bin/python -m pytest -n "$WORKERS" --dist loadfile "$@"
