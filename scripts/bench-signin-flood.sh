#!/usr/bin/env bash
# Sign-in flood against the release server on loopback (issue 11, item 2).
#   scripts/bench-signin-flood.sh
# Starts `tollgate serve` on a fresh SQLite database, then sends, each with
# curl -Z (all at once, --parallel-max $N):
#   1. N sign-in form posts from one client address, all wrong but the last;
#   2. N sign-in form posts from N distinct client addresses (X-Forwarded-For,
#      trusted), all wrong: every one would be hashed without the bound;
#   3. N Basic API calls from N distinct addresses, all wrong.
# Meanwhile it polls GET /go/api/version. It prints the answers by status,
# whether the right password got through in (1), the server's peak RSS
# (VmHWM), its RSS after the floods, and whether /go/api/version answered.
# RSS after is read SETTLE (15) s later: idle blocking threads exit after
# 10 s, and their allocator caches with them.
# Loopback only; bounded: 3 x N requests, each with a 30 s timeout.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${TOLLGATE_BIN:-${CARGO_TARGET_DIR:-target}/release/tollgate}
N=${N:-500}
PORT=${PORT:-18198}
SETTLE=${SETTLE:-15}
BASE=http://127.0.0.1:$PORT
V1='Accept: application/vnd.go.cd.v1+json'
work=$(mktemp -d)
cleanup() {
  [ -n "${poll_pid:-}" ] && kill "$poll_pid" 2>/dev/null || true
  [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

TOLLGATE_ADMIN_PASSWORD=flood-password TOLLGATE_LOG=warn \
  "$BIN" serve --addr "127.0.0.1:$PORT" --database-url "sqlite://$work/flood.db" \
  --trusted-proxy-header X-Forwarded-For "$@" >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 300); do
  curl -sf -o /dev/null -H "$V1" "$BASE/go/api/version" && break
  sleep 0.1
done
kb() { awk -v k="$1" '$1 == k":" {print $2}' "/proc/$pid/status"; }
echo "server pid $pid; RSS at start: $(kb VmRSS) KiB; cores: $(nproc); N=$N"

# /go/api/version, polled every 50 ms while the floods run.
( while :; do
    curl -s -o /dev/null -m 10 -w '%{http_code} %{time_total}\n' -H "$V1" "$BASE/go/api/version" || echo "000 10"
    sleep 0.05
  done ) >"$work/version.txt" &
poll_pid=$!

flood() { # id, label, config file
  local started
  started=$(date +%s%N)
  sed -i '$ d' "$3" # the last "next"
  curl -s -Z --parallel-max "$N" -K "$3" >"$work/$1.out" 2>/dev/null || true
  local ms=$(( ($(date +%s%N) - started) / 1000000 ))
  printf '%-28s %5d ms  ' "$2" "$ms"
  awk '{n[$1]++} END {for (s in n) printf "%s x%d  ", s, n[s]; print ""}' "$work/$1.out"
}

# 1. One address, N-1 wrong passwords and the right one last.
for i in $(seq "$N"); do
  pass=wrong-$i; [ "$i" = "$N" ] && pass=flood-password
  printf 'url = "%s/go/auth/security_check"\ndata = "username=admin&password=%s"\nheader = "X-Forwarded-For: 198.51.100.1"\noutput = "/dev/null"\nmax-time = 30\nwrite-out = "%%{http_code} %%{redirect_url}\\n"\nnext\n' "$BASE" "$pass"
done >"$work/one.cfg"
flood one "form, one address" "$work/one.cfg"
# A wrong password is sent back to the login page with an error; the right one
# goes on (303 elsewhere). 429/503 answers were refused before any check.
if grep '^303 ' "$work/one.out" | grep -vq 'error='; then
  echo "  the right password among them: got through (it was within the budget)"
else
  echo "  the right password among them: refused"
fi

# 2. N distinct addresses, sign-in form, wrong passwords.
for i in $(seq "$N"); do
  printf 'url = "%s/go/auth/security_check"\ndata = "username=admin&password=wrong-%s"\nheader = "X-Forwarded-For: 10.%d.%d.%d"\noutput = "/dev/null"\nmax-time = 30\nwrite-out = "%%{http_code}\\n"\nnext\n' "$BASE" "$i" $((i / 65536)) $((i / 256 % 256)) $((i % 256))
done >"$work/many.cfg"
flood many "form, $N addresses" "$work/many.cfg"

# 3. N distinct addresses, Basic on the API, wrong passwords.
auth=$(printf 'admin:wrong-password' | base64)
for i in $(seq "$N"); do
  printf 'url = "%s/go/api/current_user"\nheader = "Authorization: Basic %s"\nheader = "%s"\nheader = "X-Forwarded-For: 2001:db8:%x::1"\noutput = "/dev/null"\nmax-time = 30\nwrite-out = "%%{http_code}\\n"\nnext\n' "$BASE" "$auth" "$V1" "$i"
done >"$work/basic.cfg"
flood basic "Basic, $N addresses" "$work/basic.cfg"

kill "$poll_pid"; wait "$poll_pid" 2>/dev/null || true; poll_pid=""
peak=$(kb VmHWM)
sleep "$SETTLE"
after=$(kb VmRSS)
echo
echo "peak RSS (VmHWM): $peak KiB ($((peak / 1024)) MiB)"
echo "RSS ${SETTLE} s after the floods: $after KiB ($((after / 1024)) MiB)"
awk '{n++; if ($1 == "200") ok++; if ($2 > max) max = $2}
     END {printf "/go/api/version during the floods: %d of %d polls answered 200, slowest %.3f s\n", ok, n, max}' "$work/version.txt"
