#!/usr/bin/env bash
# `dpa generate --distributed` under torchrun: 2 CPU processes (gloo), each writing its
# shard of one folder, rank 0 the manifest; then `dpa verify` on the folder and
# `dpa merge` into one file. Both modes: rank-aware (DPA v0.2) and elastic.
#
#     bash examples/torchrun_generate.sh            # from the repository root, after
#                                                   # `make install`; well under a minute
#
# N (default 200000), OUT (default out/torchrun) and NPROC (default 2) change the run.
# Note the `--` after `-m dpa`: without it torchrun's own parser would take an
# abbreviation such as `--start` for its `--start-method`.
set -euo pipefail

BIN=${BIN:-.venv/bin}
N=${N:-200000}
OUT=${OUT:-out/torchrun}
NPROC=${NPROC:-2}
export OMP_NUM_THREADS=1   # torchrun's default too; dpa's threads come from --workers

torchrun() {
    "$BIN/python" -m torch.distributed.run --standalone --nproc_per_node="$NPROC" "$@"
}

echo "== rank-aware (DPA v0.2): each rank draws with its own key"
torchrun -m dpa -- generate -n "$N" --distributed --base-seed 42 -o "$OUT/rank_aware"
"$BIN/dpa" verify "$OUT/rank_aware"
"$BIN/dpa" merge "$OUT/rank_aware" -o "$OUT/rank_aware.parquet"   # keeps each record's rank
"$BIN/dpa" verify "$OUT/rank_aware.parquet"

echo "== elastic: the same values for every sample whatever the number of processes"
torchrun -m dpa -- generate -n "$N" --distributed --mode elastic --base-seed 42 --epoch 3 \
    --format jsonl -o "$OUT/elastic"
"$BIN/dpa" verify "$OUT/elastic"
"$BIN/dpa" merge "$OUT/elastic" -o "$OUT/elastic.parquet"
"$BIN/dpa" verify "$OUT/elastic.parquet"
"$BIN/dpa" stats "$OUT/elastic.parquet"
ls -l "$OUT/rank_aware" "$OUT/elastic"
