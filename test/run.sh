#!/usr/bin/env bash
# The test command: installs what the tests need (Debian packages, npm ci), builds dist/braid,
# then runs every unit and integration test. Integration tests use real network namespaces: run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash packaging/install-deps.sh
npm run build --silent
report=$(mktemp)
firewall_before=$(mktemp)
trap 'rm -f "$report" "$firewall_before"' EXIT
# The tests must leave the host's firewall as they found it: every table of iptables-save and
# ip6tables-save, counters and the generated-at comments stripped, compared before and after.
firewall() {
  local save
  for save in iptables-save ip6tables-save; do
    if command -v "$save" >/dev/null; then { "$save" || true; } | sed -e '/^#/d' -e 's/\[[0-9]*:[0-9]*\]//g'; fi
  done
  return 0
}
firewall >"$firewall_before"
status=0
npx vitest run --reporter=default --reporter=json --outputFile="$report" "$@" || status=$?
if ! firewall | diff -u "$firewall_before" - >&2; then
  echo "FAIL: the tests changed the host's iptables rules (diff above: - before, + after)" >&2
  status=1
fi
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(`vitest: ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""));
' "$report" || true
exit "$status"
