#!/usr/bin/env bash
# Run the whole Sluice pipeline on its embedded defaults: install dependencies, build,
# start local Kafka and Redis (or use those that answer), create the topics, start the four
# services and the console, and keep them in the foreground until Ctrl-C. Logs go to .local/logs/<service>.log.
#
#   bash scripts/up.sh            # pipeline only
#   bash scripts/up.sh --demo     # and replay a simulated Mirai flood into it once it is up, print
#                                 # its report and open the console on the attack
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
node apps/cli/dist/main.js topics create

mkdir -p .local/logs
# Embedded defaults for a local run; every one can be overridden from the environment.
export INGEST_DNSTAP_SOCKET=${INGEST_DNSTAP_SOCKET:-$root/.local/dnstap.sock}
export INGEST_DNSTAP_TCP=${INGEST_DNSTAP_TCP:-127.0.0.1:6000}
export INGEST_UDP_MIRROR=${INGEST_UDP_MIRROR:-127.0.0.1:5300}
if [[ -z "${FEED_API_KEYS:-}" ]]; then
  export FEED_API_KEYS=sluice-demo-feed-key
  echo "FEED_API_KEYS not set: the blocklist feed accepts the demo key 'sluice-demo-feed-key' (set your own for real use)" >&2
fi
if [[ -z "${REPORT_API_KEYS:-}" ]]; then
  export REPORT_API_KEYS=sluice-demo-report-key
  echo "REPORT_API_KEYS not set: the report API accepts the demo key 'sluice-demo-report-key' (set your own for real use)" >&2
fi
if [[ -z "${RPZ_TSIG_KEYS:-}" ]]; then
  RPZ_TSIG_KEYS="sluice-xfr:$(head -c 32 /dev/urandom | base64)"
  export RPZ_TSIG_KEYS
  echo "RPZ_TSIG_KEYS not set: generated a one-off TSIG key for zone transfers (printed in .local/logs/tsig.txt)" >&2
  echo "$RPZ_TSIG_KEYS" > .local/logs/tsig.txt
fi
if [[ -z "${CONSOLE_API_KEYS:-}" ]]; then
  # The console has no open mode: a one-off key for this run, on this machine only.
  CONSOLE_API_KEYS="sluice-console-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  export CONSOLE_API_KEYS
  (umask 077 && echo "$CONSOLE_API_KEYS" > .local/logs/console-key.txt)
  echo "CONSOLE_API_KEYS not set: generated a one-off console key (in .local/logs/console-key.txt; the login link below carries it)" >&2
fi
console_key=${CONSOLE_API_KEYS%%,*}
# Opens the console logged in: the page takes the key from the #fragment (never sent in a URL)
# and posts it to /login.
console_login="http://127.0.0.1:8085/login#key=$console_key"
pids=()
stop_all() {
  say "stopping services"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait || true
}
trap stop_all EXIT INT TERM

for service in ingest detector enrichment reputation console; do
  node "services/$service/dist/main.js" >".local/logs/$service.log" 2>&1 &
  pids+=($!)
done

# Wait until every service says it is ready.
for port in 8081 8082 8083 8084 8085; do
  for _ in $(seq 1 60); do
    curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    sleep 1
  done
  curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 || { echo "service on :$port is not ready; see .local/logs/" >&2; exit 1; }
done

say "Sluice is running"
cat <<INFO
  ingest      http://127.0.0.1:8081/metrics   dnstap unix $INGEST_DNSTAP_SOCKET, dnstap TCP $INGEST_DNSTAP_TCP, UDP mirror $INGEST_UDP_MIRROR
  detector    http://127.0.0.1:8082/metrics
  enrichment  http://127.0.0.1:8083/metrics   reports: pnpm sluice report --help (--api needs SLUICE_API_KEY=\${REPORT_API_KEYS%%,*})
  reputation  http://127.0.0.1:8084/metrics   feed: curl -H 'X-Api-Key: $FEED_API_KEYS' 'http://127.0.0.1:8084/v1/decisions/stream?startup=true'
              RPZ (AXFR/IXFR, TSIG) on 127.0.0.1:5353
  console     http://127.0.0.1:8085/            live attacks, report, mitigation, pipeline health
              log in with one of CONSOLE_API_KEYS, or open $console_login
  Kafka       $KAFKA_BROKERS   Redis $REDIS_URL   logs .local/logs/
  Ctrl-C stops the services (Kafka and Redis keep running: infra/kafka/kafka.sh stop).
INFO

if ((demo)); then
  say "demo: simulating a Mirai flood and replaying it into the ingest"
  FEED_API_KEY=${FEED_API_KEYS%%,*} CONSOLE_URL=${CONSOLE_URL:-$console_login} bash scripts/demo.sh ||
    echo "demo failed; see .local/logs/" >&2
fi
wait
