#!/usr/bin/env bash
# The test command: installs what the tests need (Debian packages, npm ci), builds dist/braid,
# then runs every unit and integration test. Integration tests use real network namespaces: run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash packaging/install-deps.sh
npm run build --silent
report=$(mktemp)
trap 'rm -f "$report"' EXIT
status=0
npx vitest run --reporter=default --reporter=json --outputFile="$report" "$@" || status=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(`vitest: ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""));
' "$report" || true
exit "$status"
