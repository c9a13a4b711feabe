#!/usr/bin/env bash
# Replay a simulated Mirai flood into a running pipeline (scripts/up.sh) and print the report.
# Seeded, so every run produces the same traffic.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
sluice() { node apps/cli/dist/main.js "$@"; }
zone=${DEMO_ZONE:-acme.com} # one of the simulated benign zones, so the detector knows its baseline
mkdir -p .local

echo "simulating 3 minutes of benign traffic with a Mirai flood on $zone from t+60 s for 90 s"
# Event time starts "now": the detector keeps its watermark across restarts (Redis checkpoints),
# so replaying an older capture again would be, correctly, all late.
start=$(( $(date +%s) * 1000 ))
sluice simulate --seed 2016 --duration 180 --start "$start" --benign-qps 300 \
  --attack "mirai:$zone:60:90:3000:2000" --responses --pcap .local/demo.pcap
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
curl -fs -H "X-Api-Key: ${FEED_API_KEY:-sluice-demo-key}" "http://127.0.0.1:8084/v1/decisions/stream?startup=true" | head -c 1500 || true
echo
