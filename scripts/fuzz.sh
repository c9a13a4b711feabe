#!/usr/bin/env bash
# `pnpm fuzz [target…] [--inputs N] [--seed S] [--path P] [--hang-ms MS] [--heap-mb MB]
#  [--concurrency C] [--out F]`
# Mutation fuzzing of every decoder and server that reads bytes from outside (scripts/fuzz.ts):
# 1,000,000 inputs per target by default, a random seed unless given, one worker per target
# with a hard heap limit and a hang watchdog. `pnpm fuzz --list` names the targets. The jest
# specs (*.fuzz.spec.ts, *.fuzz.test.ts) run a slice of the same targets in CI.
# The http-feed target runs the whole reputation service: it needs Kafka and Redis; it keeps 8
# requests in flight (--concurrency changes it; a failure is replayed alone from its index).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export KAFKA_BROKERS=${KAFKA_BROKERS:-127.0.0.1:9092}
export REDIS_URL=${REDIS_URL:-$(bash infra/redis/redis.sh ensure | tail -n 1)}
exec node --require @swc-node/register scripts/fuzz.ts "$@"
