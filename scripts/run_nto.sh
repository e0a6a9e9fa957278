#!/usr/bin/env bash
# The runs of experiments 2 (NTO) and 3 (continual NTO), one after another, each resumable: run this script again
# to continue where it stopped.  Results and checkpoints go to book/data/nto/ (commit the results as they finish).
#
#   WORKERS=2 bash scripts/run_nto.sh                     # local processes (default: all cores)
#   SCHEDULER=tcp://host:8786 bash scripts/run_nto.sh     # a Dask cluster (see the README)
#
# Cost.  The complete runs (30 networks each, book/data/nto/*.json: elapsed_s and cpu_s) took, in CPU hours summed
# over the networks: NTO 1997 LSTM 0.31, forget gates bias 5 0.10, bias 1 2.79 (every network ran to the cap of
# 10^6 sequences, about 5.5 CPU min each); CNTO with reset 0.19, without 0.53, forget gates 0.76, with alpha-decay
# 0.46.  A network that solves NTO needs 10-20 s of CPU; one that never solves about 0.33 ms per training sequence.
# A CNTO network that has learnt nothing costs about 0.8 ms per stream; one near success up to 0.5 s per stream.
# 1. pilots (30 networks, small caps: minutes; they give the early learning curves), 2. the full runs, 3. one check.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
OUT=book/data/nto
mkdir -p "$OUT"
WHERE=(--workers "${WORKERS:-$(nproc)}")
[ -n "${SCHEDULER:-}" ] && WHERE=(--scheduler "$SCHEDULER")

run() {  # run NAME ARGS...: one variant; stops the script when interrupted
    local name=$1; shift
    echo "== $name: $*"
    "$PY" -m lstm_lit.nto --runs 30 --seed 0 --no-progress "${WHERE[@]}" --out "$OUT/$name.json" "$@"
    local rc=$?
    [ $rc -eq 130 ] && exit 130
    return $rc
}

# 1. pilots
for v in reset standard forget forget-decay; do
    run "cnto-$v-pilot" --task cnto --variant "$v" --max-train 1000
done
for v in lstm1997 forget-b5 forget-b1; do
    run "nto-$v-pilot" --task nto --variant "$v" --max-train 10000
done
# 2. the full runs: NTO up to 10^6 training sequences, CNTO up to the paper's 10^5 training streams
for v in lstm1997 forget-b5 forget-b1; do
    run "nto-$v" --task nto --variant "$v" --max-train 1000000
done
for v in reset standard forget forget-decay; do
    run "cnto-$v" --task cnto --variant "$v" --max-train 100000
done
# 3. a check of the NTO result with bias 1 under the notes' error signal (target 0 before B): 5 networks, 2 x 10^5
run "nto-forget-b1-zero" --task nto --variant forget-b1 --between zero --max-train 200000 --runs 5
