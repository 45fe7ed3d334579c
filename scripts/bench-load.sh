#!/usr/bin/env bash
# Load benchmark of the release server on loopback with wrk.
#   scripts/bench-load.sh [sqlite|postgres]
# Compares GET /go/api/current_user with a valid Bearer token against
# GET /go/api/version (same stack, no authentication: the physical limit),
# floods of forged and of well-formed unknown tokens, counts last-used
# database writes under a hot token, and reports RSS and cold start.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${TOLLGATE_BIN:-${CARGO_TARGET_DIR:-target}/release/tollgate}
BACKEND=${1:-sqlite}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
PORT=${PORT:-18199}
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
  sqlite) url="sqlite://$work/load.db" ;;
  postgres)
    pg_db="tollgate_load_$$"
    psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $pg_db" postgres
    url="postgres://postgres@127.0.0.1:5432/$pg_db" ;;
  *) echo "usage: $0 [sqlite|postgres]" >&2; exit 2 ;;
esac

start_ns=$(date +%s%N)
# Throttling of failed authentication is off here so that the floods measure
# the rejection path itself (with it on, they are answered 429 even sooner).
TOLLGATE_ADMIN_PASSWORD=bench-password TOLLGATE_LOG=info \
  "$BIN" serve --addr "127.0.0.1:$PORT" --database-url "$url" \
  --last-used-flush-secs 1 --auth-failures-per-minute 0 >"$work/server.log" 2>&1 &
pid=$!
until curl -sf -o /dev/null -H "$V1" "$BASE/go/api/version"; do sleep 0.01; done
cold_ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
sleep 1
rss_idle=$(ps -o rss= -p "$pid" | tr -d ' ')

token=$(curl -sf -u admin:bench-password -H "$V1" -H 'Content-Type: application/json' \
  -d '{"description":"load"}' "$BASE/go/api/current_user/access_tokens" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
# The same, with everything issue 14 checks on each use: an expiry (and the
# X-Tollgate-Token-Expiration header on every answer) and a network allowlist.
expires=$(date -u -d '+300 days' +%Y-%m-%dT%H:%M:%SZ)
limited=$(curl -sf -u admin:bench-password -H "$V1" -H 'Content-Type: application/json' \
  -d "{\"description\":\"load, expiring, allowlisted\",\"expires_at\":\"$expires\",\"allowed_cidrs\":[\"10.0.0.0/8\",\"127.0.0.0/8\"]}" \
  "$BASE/go/api/current_user/access_tokens" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
[ -n "$limited" ] || { echo "could not create the expiring, allowlisted token"; exit 1; }
forged="${token:0:10}$( [ "${token:10:1}" = a ] && echo b || echo a )${token:11}"
# A well-formed token that was never issued: random part plus a valid CRC32
# checksum, so it passes the format check and costs a database lookup.
unknown=$(python3 -c '
import random, string, zlib
alphabet = string.digits + string.ascii_uppercase + string.ascii_lowercase
body = "".join(random.choice(alphabet) for _ in range(30))
n, sum = zlib.crc32(body.encode()), ""
for _ in range(6):
    sum = alphabet[n % 62] + sum
    n //= 62
print("tgp_" + body + sum)')

run() { # name, extra wrk args...
  local name=$1; shift
  local out
  out=$(wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -H "$V1" "$@")
  local rps p50 p99 non2xx
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $5}')
  printf '| %s | %s | %s | %s | %s |\n' "$name" "$rps" "$p50" "$p99" "${non2xx:-0}"
  echo "$rps" > "$work/rps-$name"
}

echo "backend: $BACKEND, $CONNECTIONS connections, $DURATION each, wrk -t1 on the same 2-core machine"
echo
echo "| scenario | requests/s | p50 | p99 | non-2xx |"
echo "|---|---|---|---|---|"
run version "$BASE/go/api/version"
run bearer -H "Authorization: Bearer $token" "$BASE/go/api/current_user" &
wrk_pid=$!
sleep 5
rss_load=$(ps -o rss= -p "$pid" | tr -d ' ')
wait $wrk_pid
run bearer-lifecycle -H "Authorization: Bearer $limited" "$BASE/go/api/current_user"
run forged -H "Authorization: Bearer $forged" "$BASE/go/api/current_user"
run unknown -H "Authorization: Bearer $unknown" "$BASE/go/api/current_user"

kill -TERM "$pid"; wait "$pid" || true
pid=""
ratio=$(awk -v a="$(cat "$work/rps-bearer")" -v b="$(cat "$work/rps-version")" 'BEGIN {printf "%.2f", a/b}')
writes=$(sed -n 's/.*last-used totals.*writes=\([0-9]*\).*/\1/p' "$work/server.log" | tail -1)
flushes=$(sed -n 's/.*last-used totals.*flushes=\([0-9]*\).*/\1/p' "$work/server.log" | tail -1)
lookups=$(sed -n 's/.*last-used totals.*lookups=\([0-9]*\).*/\1/p' "$work/server.log" | tail -1)
lifecycle_ratio=$(awk -v a="$(cat "$work/rps-bearer-lifecycle")" -v b="$(cat "$work/rps-version")" 'BEGIN {printf "%.2f", a/b}')
echo
echo "authenticated / unauthenticated requests/s: $ratio"
echo "with expiry and allowlist / unauthenticated requests/s: $lifecycle_ratio"
echo "last-used: $writes row writes in $flushes flushes (flush interval 1 s) for the hot token"
echo "token lookups in the database: $lookups (verified tokens are cached for --auth-cache-ttl-ms, 1000 by default; the unknown-token flood reads every time)"
echo "RSS: idle ${rss_idle} KiB, under load ${rss_load} KiB; cold start to first served request: ${cold_ms} ms"
