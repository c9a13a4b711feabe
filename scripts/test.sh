#!/usr/bin/env bash
# `pnpm test [jest args…]`: both tiers. With no arguments, the unit tier runs on every core (pure
# CPU, no shared state: 2 workers took it from ~340 s to ~125 s on a 2-core box) and then the
# integration tier one file at a time (its tests time real services and share one broker, so they
# do not compete for the cores). Each tier's results go to .local/jest-<tier>.json. With arguments
# (a path pattern, -t …), one jest run over both tiers, as `jest` alone would do.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jest=(node "$root/node_modules/jest/bin/jest.js")
if (($# > 0)); then
  exec "${jest[@]}" "$@"
fi
mkdir -p .local
rm -f .local/jest-unit.json .local/jest-integration.json
"${jest[@]}" --selectProjects unit --maxWorkers=2 --json --outputFile=.local/jest-unit.json
unit=$?
"${jest[@]}" --selectProjects integration --runInBand --json --outputFile=.local/jest-integration.json
integration=$?
node -e '
  let passed = 0, failed = 0, skipped = 0;
  for (const f of process.argv.slice(1)) {
    try {
      const r = require(f);
      passed += r.numPassedTests; failed += r.numFailedTests; skipped += r.numPendingTests;
    } catch { console.log(`no results in ${f}`); }
  }
  console.log(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped (unit and integration)`);
' "$root/.local/jest-unit.json" "$root/.local/jest-integration.json"
((unit == 0 && integration == 0))
