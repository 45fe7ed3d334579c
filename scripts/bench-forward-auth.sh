#!/usr/bin/env bash
# Forward-auth under load, on loopback with wrk (one run, side by side):
#  1. what /go/auth/verify costs against /go/api/version (no auth: the limit)
#     and against a Bearer-authenticated API call;
#  2. nginx in front of an upstream, a location with `auth_request` to
#     tollgate against the same location without it (upstream keepalive on).
#   scripts/bench-forward-auth.sh        (needs wrk and nginx: make bench-tools proxy-deps)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${TOLLGATE_BIN:-${CARGO_TARGET_DIR:-target}/release/tollgate}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
PORT=${PORT:-18197}
NGINX_PORT=${NGINX_PORT:-18190}
BASE=http://127.0.0.1:$PORT
V1='Accept: application/vnd.go.cd.v1+json'
work=$(mktemp -d)
cleanup() {
  [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null || true
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

TOLLGATE_ADMIN_PASSWORD=bench-password TOLLGATE_LOG=warn \
  "$BIN" serve --addr "127.0.0.1:$PORT" --database-url "sqlite://$work/fa.db" \
  --auth-failures-per-minute 0 >"$work/server.log" 2>&1 &
pid=$!
until curl -sf -o /dev/null -H "$V1" "$BASE/go/api/version"; do sleep 0.05; done
"$BIN" scope add grafana --description Grafana \
  --database-url "sqlite://$work/fa.db" >/dev/null
token=$(curl -sf -u admin:bench-password -H "$V1" -H 'Content-Type: application/json' \
  -d '{"description":"load","scopes":["api","grafana:read"]}' \
  "$BASE/go/api/current_user/access_tokens" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
[ -n "$token" ] || { echo "no token"; exit 1; }

cat >"$work/nginx.conf" <<CONF
worker_processes ${NGINX_WORKERS:-1};
error_log $work/error.log;
pid $work/nginx.pid;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $work/body; proxy_temp_path $work/proxy;
    fastcgi_temp_path $work/fastcgi; uwsgi_temp_path $work/uwsgi; scgi_temp_path $work/scgi;
    upstream tollgate { server 127.0.0.1:$PORT; keepalive 32; }
    upstream app { server 127.0.0.1:$((NGINX_PORT + 1)); keepalive 32; }
    server {
        listen 127.0.0.1:$((NGINX_PORT + 1));
        location / { return 200 "ok\n"; }
    }
    server {
        listen 127.0.0.1:$NGINX_PORT;
        # proxy_set_header is inherited only by locations that set none of
        # their own: each location below repeats Connection "" (keepalive).
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        location = /_tollgate {
            internal;
            proxy_pass http://tollgate/go/auth/verify?scope=grafana;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Original-Method \$request_method;
            proxy_set_header Connection "";
        }
        location /plain/ { proxy_pass http://app; }
        location /guarded/ {
            auth_request /_tollgate;
            auth_request_set \$tollgate_user \$upstream_http_remote_user;
            proxy_set_header Remote-User \$tollgate_user;
            proxy_set_header Connection "";
            proxy_pass http://app;
        }
    }
}
CONF
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
"$NGINX" -p "$work" -c "$work/nginx.conf"
until curl -sf -o /dev/null "http://127.0.0.1:$NGINX_PORT/plain/"; do sleep 0.05; done
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "http://127.0.0.1:$NGINX_PORT/guarded/")
[ "$code" = 200 ] || { echo "guarded answered $code"; exit 1; }

run() { # name, then curl-like args for wrk
  local name=$1; shift
  local out rps p50 p99
  out=$(wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency "$@")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $5}' <<<"$out")
  printf '%-52s %10s %9s %9s %s\n' "$name" "$rps" "$p50" "$p99" "${non2xx:+(non-2xx: $non2xx)}"
  eval "RPS_$(tr -c 'a-z0-9\n' _ <<<"${name%% *}")=$rps"
}
printf '%-52s %10s %9s %9s\n' scenario requests/s p50 p99
run "version /go/api/version, no auth" -H "$V1" "$BASE/go/api/version"
run "bearer /go/api/current_user, Bearer" -H "$V1" -H "Authorization: Bearer $token" "$BASE/go/api/current_user"
run "verify /go/auth/verify?scope=grafana, Bearer" -H "Authorization: Bearer $token" -H "X-Forwarded-Method: GET" "$BASE/go/auth/verify?scope=grafana"
run "plain nginx -> upstream" "http://127.0.0.1:$NGINX_PORT/plain/"
run "guarded nginx auth_request -> tollgate, -> upstream" -H "Authorization: Bearer $token" "http://127.0.0.1:$NGINX_PORT/guarded/"
echo
echo "verify / version:  $(echo "scale=2; $RPS_verify / $RPS_version" | bc)"
echo "verify / bearer:   $(echo "scale=2; $RPS_verify / $RPS_bearer" | bc)"
echo "guarded / plain:   $(echo "scale=2; $RPS_guarded / $RPS_plain" | bc)"
