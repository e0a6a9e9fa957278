#!/usr/bin/env bash
# The runs of experiments 2 (NTO) and 3 (continual NTO), one after another, each resumable: run this script again
# to continue where it stopped.  Results and checkpoints go to book/data/nto/ (commit the results as they finish).
#
#   WORKERS=2 bash scripts/run_nto.sh                     # local processes (default: all cores)
#   SCHEDULER=tcp://host:8786 bash scripts/run_nto.sh     # a Dask cluster (see the README)
#
# Cost, measured on the 2-core build machine while it ran other work (CPU time per network-step, one process):
# NTO training step 5.3 us with forget gates, 3.9 us for the 1997 LSTM; CNTO about 3 us (mostly forward-only test
# steps).  A sequence is 105 steps on average, so:
#   * NTO, one network: about 0.4-0.55 ms per training sequence.  At the 1997 paper's average of 571,100 sequences
#     (experiment 6b) that would be about 5 min CPU per network, and 10 min for a network that never solves (cap
#     10^6).  Measured: the first 10 networks of the 1997 LSTM's full run all solved, after 34,000 sequences on
#     average (13 s CPU each); forget gates are reported as fast (bias 5) or 3x slower (bias 1).  30 networks x 3
#     variants: well under an hour of CPU if most networks solve, up to 15 hours if none does.
#   * CNTO, one network: a training stream costs 105 steps per sequence reached, and its test up to 10 x 100 x 105
#     steps (the early exit stops most tests at their first short stream).  A network that has learnt nothing costs
#     about 0.8 ms per stream (the pilots: 1000 streams in under a second), so the paper's cap of 10^5 streams costs
#     about 90 s per network, and 30 networks x 4 variants about 3 CPU hours; a network that nearly solves costs up
#     to 0.5 s per stream, so a variant that learns costs more (unknown until it runs).
# 1. pilots (30 networks, small caps: minutes; they give the early learning curves), then 2. the full runs.
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
