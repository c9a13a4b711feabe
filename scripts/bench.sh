#!/usr/bin/env bash
# `pnpm bench [filter]`: run every benchmark (or those whose path contains FILTER) and
# rebuild docs/benchmarks.md. Each bench is a TypeScript file `*/bench/*.bench.ts` that
# prints one Markdown section on stdout; sections are kept in docs/benchmarks/<name>.md
# so a partial run refreshes only its own figures.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
filter=${1:-}
mkdir -p docs/benchmarks

# Benchmarks talk to the real broker and Redis, like production would.
bash infra/kafka/kafka.sh start >&2
export REDIS_URL=${REDIS_URL:-$(bash infra/redis/redis.sh ensure | tail -n 1)}
export KAFKA_BROKERS=${KAFKA_BROKERS:-127.0.0.1:9092}
pnpm build >&2

mapfile -t benches < <(ls bench/*.bench.ts services/*/bench/*.bench.ts packages/*/bench/*.bench.ts 2>/dev/null | sort)
for bench in "${benches[@]}"; do
  [[ -n "$filter" && "$bench" != *"$filter"* ]] && continue
  name=$(basename "$bench" .bench.ts)
  echo "== $bench" >&2
  out=$(mktemp)
  node --expose-gc --require @swc-node/register "$bench" >"$out"
  mv "$out" "docs/benchmarks/$name.md"
done

{
  echo "# Benchmarks"
  echo
  echo "Regenerate with \`pnpm bench\` (all) or \`pnpm bench <filter>\` (one); each section records its own run."
  echo
  echo "Last full header refresh: $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), Node $(node --version)."
  echo
  for section in docs/benchmarks/*.md; do
    cat "$section"
    echo
  done
} > docs/benchmarks.md
echo "wrote docs/benchmarks.md" >&2
