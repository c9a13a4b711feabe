#!/usr/bin/env bash
# Same-run A/B of the whole pipeline: alternating unpaced `pnpm bench e2e` runs of another commit
# (its own worktree, install and build) and of this checkout, on the same capture. Runs hours
# apart do not compare on a shared box; runs back to back do.
#   bash bench/e2e-ab.sh <commit> [rounds]
# Prints a line per run (sustained queries/s, CPU s per M per process); each run's Markdown and
# log are kept in .local/e2e-ab/. Needs the broker and Redis the e2e bench needs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
commit=${1:?usage: e2e-ab.sh <commit> [rounds]}
rounds=${2:-3}
out="$root/.local/e2e-ab"
base="$out/base-checkout"
mkdir -p "$out" "$root/.local/e2e"
if [[ ! -d "$base" ]]; then
  git -C "$root" worktree add --detach "$base" "$commit" >&2
else
  git -C "$base" checkout -q --detach "$commit"
fi
(cd "$base" && COREPACK_INTEGRITY_KEYS=0 pnpm install --frozen-lockfile --offline >&2 && pnpm build >&2)
# One capture for both: the baseline reads this checkout's.
mkdir -p "$base/.local" && ln -sfn "$root/.local/e2e" "$base/.local/e2e"
export KAFKA_BROKERS=${KAFKA_BROKERS:-127.0.0.1:9092}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
for round in $(seq 1 "$rounds"); do
  for variant in base current; do
    dir=$root
    [[ $variant == base ]] && dir=$base
    load=$(cut -d' ' -f1 /proc/loadavg)
    (cd "$dir" && E2E_LOADS= node --expose-gc --require @swc-node/register bench/e2e.bench.ts \
      >"$out/$variant-$round.md" 2>"$out/$variant-$round.log")
    capacity=$(grep -o 'capacity [0-9,]*' "$out/$variant-$round.log" | cut -d' ' -f2)
    per=$(grep -A16 'CPU seconds and peak RSS' "$out/$variant-$round.md" |
      awk -F'|' '/^\| (ingest|detector|enrichment|reputation|Kafka|Redis|bench|\*\*total)/ {
        gsub(/ |\*/, "", $2); gsub(/ |\*/, "", $4); printf "%s %s  ", $2, $4 }')
    echo "round $round $variant (load $load): ${capacity}/s; CPU s per M: $per"
  done
done
