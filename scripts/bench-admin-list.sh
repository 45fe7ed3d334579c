#!/usr/bin/env bash
# The complete admin list (GoCD's unpaged GET /go/api/admin/access_tokens) on
# a seeded database: time to the first byte, total time, size, and the
# server's peak RSS, for each filter, three runs each (the median is printed).
#   scripts/bench-admin-list.sh DATABASE_URL
# Seed first, e.g.:
#   tollgate dev seed --users 1000 --tokens 1000000 --database-url sqlite://bench/1m.db
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${TOLLGATE_BIN:-${CARGO_TARGET_DIR:-target}/release/tollgate}
URL=${1:?usage: $0 DATABASE_URL}
PORT=${PORT:-18198}
BASE=http://127.0.0.1:$PORT
V1='Accept: application/vnd.go.cd.v1+json'
work=$(mktemp -d)
cleanup() {
  [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# An admin to ask with (the seeder makes users, not admins).
echo bench-admin-password | "$BIN" user add list-bench-admin --admin --password-stdin \
  --database-url "$URL" >/dev/null 2>&1 || true
TOLLGATE_LOG=warn "$BIN" serve --addr "127.0.0.1:$PORT" --database-url "$URL" \
  >"$work/server.log" 2>&1 &
pid=$!
until curl -sf -o /dev/null -H "$V1" "$BASE/go/api/version"; do sleep 0.05; done
rss_kb() { sed -n "s/^$1:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$pid/status"; }
echo "database: ${URL%%\?*}"
echo "server RSS before: $(( $(rss_kb VmRSS) / 1024 )) MiB"
printf '%-16s %10s %10s %10s %10s %12s\n' filter tokens "ttfb ms" "total s" "MB" "peak RSS MiB"
for filter in active all revoked; do
  results=()
  for run in 1 2 3; do
    out=$(curl -s -u list-bench-admin:bench-admin-password -H "$V1" \
      -o "$work/list.json" -w '%{http_code} %{time_starttransfer} %{time_total} %{size_download}' \
      "$BASE/go/api/admin/access_tokens?filter=$filter")
    read -r code ttfb total size <<<"$out"
    [ "$code" = 200 ] || { echo "HTTP $code"; cat "$work/list.json"; exit 1; }
    results+=("$total $ttfb $size")
  done
  n=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["_embedded"]["access_tokens"]))' "$work/list.json")
  median=$(printf '%s\n' "${results[@]}" | sort -n | sed -n 2p)
  read -r total ttfb size <<<"$median"
  printf '%-16s %10s %10.1f %10.2f %10.1f %12s\n' "$filter" "$n" "$(echo "$ttfb*1000" | bc -l)" "$total" \
    "$(echo "$size/1000000" | bc -l)" "$(( $(rss_kb VmHWM) / 1024 ))"
done
echo "server RSS after: $(( $(rss_kb VmRSS) / 1024 )) MiB (peak $(( $(rss_kb VmHWM) / 1024 )) MiB)"
