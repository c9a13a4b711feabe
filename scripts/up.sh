#!/usr/bin/env bash
# Run the whole Sluice pipeline on its embedded defaults: install dependencies, build,
# start local Kafka and Redis (or use those that answer), create the topics, start the four
# services, and keep them in the foreground until Ctrl-C. Logs go to .local/logs/<service>.log.
#
#   bash scripts/up.sh            # pipeline only
#   bash scripts/up.sh --demo     # and replay a simulated Mirai flood into it once it is up
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
demo=0
[[ "${1:-}" == "--demo" ]] && demo=1

say() { printf '\033[1m%s\033[0m\n' "$*"; }

export COREPACK_INTEGRITY_KEYS=0
if ! command -v pnpm >/dev/null 2>&1; then
  corepack enable 2>/dev/null || npm install -g "$(node -p "require('./package.json').packageManager")"
fi

say "installing and building"
pnpm install --frozen-lockfile >/dev/null
pnpm build >/dev/null

say "starting local Kafka and Redis"
if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1 && ! bash infra/kafka/kafka.sh status >/dev/null 2>&1; then
  docker compose up -d kafka redis
else
  bash infra/kafka/kafka.sh start
fi
export REDIS_URL=${REDIS_URL:-$(bash infra/redis/redis.sh ensure | tail -n 1)}
export KAFKA_BROKERS=${KAFKA_BROKERS:-127.0.0.1:9092}
node packages/cli/dist/main.js topics create

mkdir -p .local/logs
pids=()
stop_all() {
  say "stopping services"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait || true
}
trap stop_all EXIT INT TERM

for service in ingest detector enrichment reputation; do
  node "services/$service/dist/main.js" >".local/logs/$service.log" 2>&1 &
  pids+=($!)
done

# Wait until every service says it is ready.
for port in 8081 8082 8083 8084; do
  for _ in $(seq 1 60); do
    curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    sleep 1
  done
  curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 || { echo "service on :$port is not ready; see .local/logs/" >&2; exit 1; }
done

say "Sluice is running"
cat <<INFO
  ingest      http://127.0.0.1:8081/metrics   (sources: see services/ingest/README.md)
  detector    http://127.0.0.1:8082/metrics
  enrichment  http://127.0.0.1:8083/metrics   (reports: pnpm sluice report --help)
  reputation  http://127.0.0.1:8084/metrics   (blocklist feed: see services/reputation/README.md)
  Kafka       $KAFKA_BROKERS   Redis $REDIS_URL   logs .local/logs/
  Ctrl-C stops the services (Kafka and Redis keep running: infra/kafka/kafka.sh stop).
INFO

if ((demo)); then
  say "demo: simulating a Mirai flood and replaying it into the ingest"
  node packages/cli/dist/main.js simulate --help >/dev/null 2>&1 && bash scripts/demo.sh || echo "demo tools not available yet" >&2
fi
wait
