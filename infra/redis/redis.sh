#!/usr/bin/env bash
# Find or start a Redis for local dev and tests, without Docker.
#
#   export REDIS_URL="$(infra/redis/redis.sh ensure)"
#   infra/redis/redis.sh status
#   infra/redis/redis.sh stop     # stops only a redis this script started
#
# `ensure` prints the URL to use on stdout (messages go to stderr):
#   1. $REDIS_URL if set (it must answer PING, else we fail);
#   2. else redis://127.0.0.1:6379 if something answers there;
#   3. else our own redis-server on 127.0.0.1:$REDIS_PORT (default 6390),
#      data in <repo>/.local/redis (git-ignored).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"

OWN_PORT="${REDIS_PORT:-6390}"
DIR="$ROOT/.local/redis"
PIDFILE="$DIR/redis.pid"
LOGFILE="$DIR/redis.log"

log() { echo "redis.sh: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

need_redis() {
  command -v "$1" >/dev/null ||
    die "$1 not found; install it with: apt-get install redis-server"
}

# PING a URL; `timeout` so an unreachable host cannot hang a CI step.
answers() { [[ "$(timeout 3 redis-cli -u "$1" ping 2>/dev/null)" == PONG ]]; }

# PID of the redis-server we started, if it is still that process.
our_pid() {
  [[ -f "$PIDFILE" ]] || return 1
  local pid
  pid="$(cat "$PIDFILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  grep -q redis-server "/proc/$pid/cmdline" 2>/dev/null || return 1
  echo "$pid"
}

cmd_ensure() {
  need_redis redis-cli
  if [[ -n "${REDIS_URL:-}" ]]; then
    answers "$REDIS_URL" || die "REDIS_URL=$REDIS_URL does not answer PING"
    echo "$REDIS_URL"
    return
  fi
  local url="redis://127.0.0.1:6379"
  if answers "$url"; then
    echo "$url"
    return
  fi

  url="redis://127.0.0.1:$OWN_PORT"
  if answers "$url"; then # ours from an earlier run (or another compatible one)
    echo "$url"
    return
  fi
  need_redis redis-server
  mkdir -p "$DIR"
  log "starting redis-server on 127.0.0.1:$OWN_PORT (data in $DIR)"
  # Loopback only, no protected-mode surprises, daemonized with a pidfile.
  # RDB snapshots use redis' defaults, into $DIR.
  redis-server --port "$OWN_PORT" --bind 127.0.0.1 --dir "$DIR" \
    --daemonize yes --pidfile "$PIDFILE" --logfile "$LOGFILE" >/dev/null
  for _ in {1..50}; do
    if answers "$url"; then
      echo "$url"
      return
    fi
    sleep 0.2
  done
  tail -n 20 "$LOGFILE" >&2 || true
  die "redis-server did not answer on port $OWN_PORT within 10s (log: $LOGFILE)"
}

cmd_status() {
  need_redis redis-cli
  local url
  for url in ${REDIS_URL:+"$REDIS_URL"} redis://127.0.0.1:6379 "redis://127.0.0.1:$OWN_PORT"; do
    if answers "$url"; then
      echo "running: $url"
      return
    fi
  done
  echo "not running"
  return 1
}

cmd_stop() {
  local pid
  if ! pid="$(our_pid)"; then
    rm -f "$PIDFILE"
    log "no redis started by this script is running; nothing to stop"
    return
  fi
  log "stopping redis-server (pid $pid)"
  kill -TERM "$pid" # redis saves (if configured) and exits on SIGTERM
  for _ in {1..100}; do
    kill -0 "$pid" 2>/dev/null || { rm -f "$PIDFILE"; return; }
    sleep 0.1
  done
  log "still alive after 10s; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$PIDFILE"
}

case "${1:-}" in
  ensure) cmd_ensure ;;
  status) cmd_status ;;
  stop) cmd_stop ;;
  *)
    echo "usage: $0 {ensure|status|stop}" >&2
    exit 2
    ;;
esac
