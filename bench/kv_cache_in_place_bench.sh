#!/bin/bash
# Decode ms/token with the KV cache as the graph writes it (TESSERA_KV_IN_PLACE=0) and in place (1),
# alternating.
# From the build folder: ../bench/kv_cache_in_place_bench.sh MODEL NEW_TOKENS REPS PAST... (THREADS=N).
M=$1; N=$2; R=$3; shift 3
for P in "$@"; do
  ids=$(seq -s, 1 $P)
  for r in $(seq $R); do
    for mode in 0 1; do
      v=$(TESSERA_KV_IN_PLACE=$mode ./tessera generate "$M" --prompt-ids "$ids" --max-new-tokens "$N" --ignore-eos \
            --json --threads "${THREADS:-1}" 2>/dev/null |
          /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["decode_ms_per_token"])')
      echo "$P $mode $v"
    done
  done
done
