#!/usr/bin/env bash
# The runs of Table 2 (the full-table issue), one after another, each resumable: run this script again to continue
# where it stopped.  Results and checkpoints go to book/data/table2/ (commit them as they finish).
#
#   WORKERS=2 bash scripts/run_table2.sh            # local processes (default: all cores)
#   SCHEDULER=tcp://host:8786 bash scripts/run_table2.sh   # a Dask cluster (see the README)
#
# Cheap rows first.  100 networks each, up to 30,000 training streams, seed 0.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
OUT=book/data/table2
mkdir -p "$OUT"
WHERE=(--workers "${WORKERS:-$(nproc)}")
[ -n "${SCHEDULER:-}" ] && WHERE=(--scheduler "$SCHEDULER")

run() {  # run NAME ARGS...: one row; stops the script when interrupted
    local name=$1; shift
    echo "== $name: $*"
    "$PY" -m lstm_lit.cerg --runs 100 --max-streams 30000 --seed 0 --no-progress "${WHERE[@]}" \
        --out "$OUT/$name.json" "$@"
    local rc=$?
    [ $rc -eq 130 ] && exit 130
    return $rc
}

# 1. all five rows at caps 10^4
for v in standard decay reset forget forget-decay; do
    run "$v-cap1e4" --variant "$v" --train-cap 10000 --test-cap 10000
done
# 4. the 0.49 rule: the forget-gate row under the other two readings (abs is the row above)
for c in sq mse; do
    run "forget-cap1e4-$c" --variant forget --train-cap 10000 --test-cap 10000 --criterion "$c"
done
#    and the external-reset row under the per-unit squared error (the reset row's streams-to-perfect is the paper's
#    clearest number to compare the readings with)
run "reset-cap1e4-sq" --variant reset --train-cap 10000 --test-cap 10000 --criterion sq
# 3. forget gates without the outer B/E symbols
run "forget-nobe-cap1e4" --variant forget --train-cap 10000 --test-cap 10000 --no-outer-be
# 2. the paper's caps of 10^5, cheap rows first (5: state decay at both caps is in rows 1 and 2)
for v in standard decay reset forget forget-decay; do
    run "$v-cap1e5" --variant "$v" --train-cap 100000 --test-cap 100000
done
