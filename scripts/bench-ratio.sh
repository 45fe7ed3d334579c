#!/usr/bin/env bash
# The Bearer ratio, measured so that a shared, noisy machine cannot decide it:
# short wrk runs of GET /go/api/version (no auth), GET /go/api/current_user
# with a plain token, and the same with a token that expires and has a
# network allowlist (issue 14's checks on every use), interleaved for ROUNDS
# rounds; each round's ratios are taken within the round, and the medians
# are reported.
#   scripts/bench-ratio.sh [sqlite|postgres]      (ROUNDS=7 DURATION=5s)
# METRICS=1 serves Prometheus metrics too (every request then measured).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${TOLLGATE_BIN:-${CARGO_TARGET_DIR:-target}/release/tollgate}
BACKEND=${1:-sqlite}
ROUNDS=${ROUNDS:-7}
DURATION=${DURATION:-5s}
PORT=${PORT:-18198}
BASE=http://127.0.0.1:$PORT
V1='Accept: application/vnd.go.cd.v1+json'
work=$(mktemp -d)
pg_db=""
cleanup() {
  [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null || true
  [ -n "$pg_db" ] && psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" postgres >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
case "$BACKEND" in
  sqlite) url="sqlite://$work/ratio.db" ;;
  postgres)
    pg_db="tollgate_ratio_$$"
    psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $pg_db" postgres
    url="postgres://postgres@127.0.0.1:5432/$pg_db" ;;
  *) echo "usage: $0 [sqlite|postgres]" >&2; exit 2 ;;
esac
TOLLGATE_ADMIN_PASSWORD=bench-password TOLLGATE_LOG=warn \
  "$BIN" serve --addr "127.0.0.1:$PORT" --database-url "$url" \
  --auth-failures-per-minute 0 ${METRICS:+--metrics-addr 127.0.0.1:$((PORT + 1))} \
  >"$work/server.log" 2>&1 &
pid=$!
until curl -sf -o /dev/null -H "$V1" "$BASE/go/api/version"; do sleep 0.05; done
mint() {
  curl -sf -u admin:bench-password -H "$V1" -H 'Content-Type: application/json' -d "$1" \
    "$BASE/go/api/current_user/access_tokens" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p'
}
plain=$(mint '{"description":"ratio"}')
expires=$(date -u -d '+300 days' +%Y-%m-%dT%H:%M:%SZ)
limited=$(mint "{\"description\":\"ratio, limited\",\"expires_at\":\"$expires\",\"allowed_cidrs\":[\"10.0.0.0/8\",\"127.0.0.0/8\"]}")
[ -n "$plain" ] && [ -n "$limited" ] || { echo "could not mint the tokens"; exit 1; }
rps() { wrk -t1 -c32 -d"$DURATION" -H "$V1" "$@" | awk '/Requests\/sec/ {print $2}'; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
: >"$work/bearer"; : >"$work/limited"
printf '%-6s %12s %12s %12s %8s %8s\n' round version bearer limited b/v l/v
for i in $(seq "$ROUNDS"); do
  v=$(rps "$BASE/go/api/version")
  b=$(rps -H "Authorization: Bearer $plain" "$BASE/go/api/current_user")
  l=$(rps -H "Authorization: Bearer $limited" "$BASE/go/api/current_user")
  rb=$(awk -v a="$b" -v b="$v" 'BEGIN {printf "%.2f", a/b}')
  rl=$(awk -v a="$l" -v b="$v" 'BEGIN {printf "%.2f", a/b}')
  echo "$rb" >>"$work/bearer"; echo "$rl" >>"$work/limited"
  printf '%-6s %12s %12s %12s %8s %8s\n' "$i" "$v" "$b" "$l" "$rb" "$rl"
done
[ -n "${METRICS:-}" ] && curl -sf "http://127.0.0.1:$((PORT + 1))/metrics" | grep -c '^tollgate_http_requests_total' | sed 's/^/metrics on: request series /'
echo "backend $BACKEND, $ROUNDS rounds of $DURATION each, wrk -t1 -c32 on the same 2-core machine"
echo "median bearer / version:                      $(median <"$work/bearer")"
echo "median bearer (expiry + allowlist) / version: $(median <"$work/limited")"
