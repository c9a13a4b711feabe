#!/usr/bin/env bash
# Decode + detect throughput of this checkout's detector core against the core of another commit,
# in one process, alternating passes, rates from CPU time (a loaded box still gives a fair ratio):
#   bash services/detector/bench/against-commit.sh <commit> [passes]
# The other commit's core (services/detector/src/core) is copied into services/detector/.baseline
# (ignored by git), and its contracts sources into .baseline/contracts: a core with ingestColumns
# is fed its own commit's decodeQueryColumns (decode changes count on both sides), an older one
# QueryEvents, as its consumer did.
# Both must produce the same alerts, byte for byte, or the script says so and stops (unless
# AGAINST_ALLOW_CHANGED_ALERTS=1: then it only says so).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
commit=${1:?usage: against-commit.sh <commit> [passes]}
rm -rf "$here/.baseline" && mkdir -p "$here/.baseline"
for f in $(git -C "$here" ls-tree --name-only "$commit" src/core/ | grep -v '\.spec\.ts$'); do
  git -C "$here" show "$commit:services/detector/$f" > "$here/.baseline/$(basename "$f")"
done
mkdir -p "$here/.baseline/contracts"
for f in $(git -C "$here" ls-tree --name-only "$commit" ../../packages/contracts/src/ | grep -v '\.spec\.ts$'); do
  git -C "$here" show "$commit:packages/contracts/src/$(basename "$f")" > "$here/.baseline/contracts/$(basename "$f")"
done
# This checkout's core and contracts are copied into .current and loaded exactly as the baseline's.
rm -rf "$here/.current" && mkdir -p "$here/.current/contracts"
for f in "$here"/src/core/*.ts; do [[ $f == *.spec.ts ]] || cp "$f" "$here/.current/"; done
for f in "$here"/../../packages/contracts/src/*.ts; do [[ $f == *.spec.ts ]] || cp "$f" "$here/.current/contracts/"; done
# In one process the side loaded first runs 10-15 % faster (a commit against itself read 1.10-1.16
# when this checkout always went first), so it runs once each way and the two ratios' geometric
# mean cancels that out.
cd "$here"
ratios=()
for first in current baseline; do
  line=$(LOAD_FIRST=$first PASSES=${2:-7} node --expose-gc --require @swc-node/register bench/against-commit.ts)
  echo "$first loaded first: $line"
  # A change meant to alter outputs (say it with AGAINST_ALLOW_CHANGED_ALERTS=1) is timed anyway.
  [[ $line == *"identical alerts: true"* || -n ${AGAINST_ALLOW_CHANGED_ALERTS:-} ]] || { echo "alerts differ" >&2; exit 1; }
  ratios+=("$(sed -E 's/.*median of pass pairs ([0-9.]+).*/\1/' <<<"$line")")
done
node -e 'const [a, b] = process.argv.slice(1).map(Number); console.log(`ratio (geometric mean of the pass-pair medians, both load orders): ${Math.sqrt(a * b).toFixed(2)}`)' "${ratios[@]}"
