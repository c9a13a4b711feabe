#!/usr/bin/env bash
# Hot-zone catch-up of this checkout's runtimes against another commit's, alternating in one run:
#   bash services/detector/bench/hot-zone-catchup.sh <commit> [rounds]
# The other commit's services/detector/src/hot-zone/*.ts go to services/detector/.baseline/hot-zone
# (ignored by git), their imports pointed back at this checkout's core and redis code.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
commit=${1:?usage: hot-zone-catchup.sh <commit> [rounds]}
dir="$here/.baseline/hot-zone"
rm -rf "$dir" && mkdir -p "$dir"
for f in $(git -C "$here" ls-tree --name-only "$commit" src/hot-zone/); do
  git -C "$here" show "$commit:services/detector/$f" |
    sed -e "s#'\.\./core/#'../../src/core/#" -e "s#'\.\./redis/#'../../src/redis/#" > "$dir/$(basename "$f")"
done
cd "$here/../.." && BENCH_CATCHUP_BASELINE="$dir" BENCH_CATCHUP_BASELINE_NAME="$(git -C "$here" rev-parse --short "$commit")" BENCH_CATCHUP_ROUNDS=${2:-3} \
  node --require @swc-node/register services/detector/bench/hot-zone-catchup.bench.ts
