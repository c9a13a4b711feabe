#!/usr/bin/env bash
# `bash scripts/faults.sh [--reps N] [pattern…]`
# Repeats the fault-injection tests (test/integration/faults/*.test.ts) N times (default 5),
# each repetition with its own seed, and summarises what each run recorded
# (.local/faults/results.jsonl: one JSON line per run) into a Markdown table on stdout and
# .local/faults/summary.md. The tests start their own private Kafka broker and redis-server
# (ports 19192+, 19292+, 16390+) and kill only those; the shared broker and Redis given by
# KAFKA_BROKERS/REDIS_URL are used for the parts not under fault. CI runs each test once.
# The service-kill, rebalance and lag tests run the services from services/*/dist (build first);
# SLUICE_FAULTS_SERVICE_ROOT=<dir> runs them from another build (e.g. of a fixed commit).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
reps=5
patterns=()
while (($#)); do
  case "$1" in
    --reps) reps=$2; shift 2 ;;
    *) patterns+=("$1"); shift ;;
  esac
done
((${#patterns[@]})) || patterns=(faults/)
export KAFKA_BROKERS=${KAFKA_BROKERS:-127.0.0.1:9092}
export REDIS_URL=${REDIS_URL:-$(bash infra/redis/redis.sh ensure | tail -n 1)}
out="$root/.local/faults"
mkdir -p "$out"
export SLUICE_FAULTS_RESULTS_DIR="$out"
# Long runs: every service-kill case (CI: Redis without AOF only) and the lag catch-up test.
export SLUICE_FAULTS_KILL=${SLUICE_FAULTS_KILL:-all}
export SLUICE_FAULTS_LONG=${SLUICE_FAULTS_LONG:-1}
leave=${SLUICE_FAULTS_LEAVE:-}
failures=0
for ((i = 1; i <= reps; i++)); do
  for pattern in "${patterns[@]}"; do
    export SLUICE_FAULTS_SEED=$((1000 + i))
    # The rebalance's leaving instance: SIGTERM on odd repetitions, SIGKILL on even ones.
    export SLUICE_FAULTS_LEAVE=${leave:-$( ((i % 2)) && echo stop || echo kill)}
    echo "=== repetition $i/$reps: $pattern (seed $SLUICE_FAULTS_SEED)" >&2
    if ! npx jest --selectProjects integration --testPathPatterns "$pattern" >"$out/run-$i.log" 2>&1; then
      failures=$((failures + 1))
      echo "FAILED: see $out/run-$i.log" >&2
      grep -E '✕|●' "$out/run-$i.log" | head -n 20 >&2 || true
    fi
  done
done
node -e '
  const fs = require("fs");
  const rows = fs.readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => JSON.parse(l));
  const by = new Map();
  for (const r of rows) { if (!by.has(r.fault)) by.set(r.fault, []); by.get(r.fault).push(r); }
  const sum = (l, k) => l.reduce((a, r) => a + (Number(r[k]) || 0), 0);
  const max = (l, k) => Math.max(...l.map((r) => Number(r[k]) || 0));
  const lines = ["| fault | runs | figures (sum over runs; max where noted) |", "|---|---|---|"];
  for (const [fault, l] of by) {
    const keys = Object.keys(l[0]).filter((k) => typeof l[0][k] === "number" && k !== "seed");
    const figs = keys.map((k) => /Ms$/.test(k) ? `${k} max ${max(l, k)}` : `${k} ${sum(l, k)}`);
    lines.push(`| ${fault} | ${l.length} | ${figs.join(", ")} |`);
  }
  const md = lines.join("\n") + "\n";
  fs.writeFileSync(process.argv[2], md);
  process.stdout.write(md);
' "$out/results.jsonl" "$out/summary.md"
echo "failed runs: $failures" >&2
exit $((failures > 0))
