#!/usr/bin/env bash
# Replay a simulated Mirai flood into a running pipeline (scripts/up.sh) and print the report,
# then open the console on the attack. Seeded, so every run produces the same traffic. The
# simulated resolvers sit in real access networks of the packaged IP data (--resolver-space
# allocated), so the report's country and ASN tables read like a real flood's.
#   DEMO_ZONE=<zone>        the attacked zone (default acme.com)
#   CONSOLE_URL=<url>       where the console is (default http://127.0.0.1:8085/; scripts/up.sh
#                           passes its login link, http://127.0.0.1:8085/login#key=<key>)
#   SLUICE_NO_BROWSER=1     print the console's address without opening a browser
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
sluice() { node apps/cli/dist/main.js "$@"; }
zone=${DEMO_ZONE:-acme.com} # one of the simulated benign zones, so the detector knows its baseline
console_url=${CONSOLE_URL:-http://127.0.0.1:8085/}
mkdir -p .local

echo "simulating 3 minutes of benign traffic with a Mirai flood on $zone from t+60 s for 90 s"
# Event time starts "now": the detector keeps its watermark across restarts (Redis checkpoints),
# so replaying an older capture again would be, correctly, all late.
start=$(( $(date +%s) * 1000 ))
sluice simulate --seed 2016 --duration 180 --start "$start" --benign-qps 300 \
  --attack "mirai:$zone:60:90:3000:2000" --responses --resolver-space allocated \
  --pcap .local/demo.pcap
sluice replay .local/demo.pcap --no-progress

echo "waiting for the detector's alert on $zone"
alert=""
for _ in $(seq 1 60); do
  # Alert ids are <zone>@<onset ms>: take this run's (onset after $start), not an earlier run's.
  alert=$(sluice report --zone "$zone" --list-alerts 2>/dev/null |
    awk -F@ -v s="$start" 'NF == 2 && $2 + 0 >= s { print; exit }' || true)
  [[ -n "$alert" ]] && break
  sleep 2
done
[[ -n "$alert" ]] || { echo "no alert for $zone yet; see .local/logs/detector.log" >&2; exit 1; }
sleep 5 # let the last offender windows reach enrichment
sluice report --alert "$alert"
echo
echo "blocklist (reputation HTTP feed):"
curl -fs -H "X-Api-Key: ${FEED_API_KEY:-sluice-demo-feed-key}" "http://127.0.0.1:8084/v1/decisions/stream?startup=true" | head -c 1500 || true
echo

# A graphical browser if there is one (never a terminal one, never an error). The console
# selects the newest attack by itself (active ones first): this one.
open_console() {
  [[ -n "${SLUICE_NO_BROWSER:-}" ]] && return 0
  if [[ "$(uname -s)" == Darwin ]] && command -v open >/dev/null 2>&1; then
    open "$console_url" </dev/null >/dev/null 2>&1 || true
  elif [[ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]] && command -v xdg-open >/dev/null 2>&1; then
    (xdg-open "$console_url" </dev/null >/dev/null 2>&1 &) || true
  fi
}
open_console
bold=$'\033[1m'
plain=$'\033[0m'
cat <<BANNER

${bold}==============================================================================
  The attack on $zone, live in the console:

      $console_url

  alert $alert (report above; sluice report --alert '$alert')
==============================================================================${plain}
BANNER
