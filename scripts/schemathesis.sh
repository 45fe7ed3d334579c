#!/usr/bin/env bash
# Checks the OpenAPI document at /go/api/openapi.json against the live server:
# openapi-spec-validator validates it, then Schemathesis generates requests
# from it against the release binary and fails on any server error, any
# answer that breaks the documented schema, content type or headers, and any
# undocumented status code.
#
# The server runs on a free loopback port with a fresh database (SQLite, or
# PostgreSQL with `scripts/schemathesis.sh postgres`), an admin seeded with
# TOLLGATE_ADMIN_PASSWORD and a normal user added with `tollgate user add`.
# Three runs, each with its GoCD Accept header:
#   v1     the v1 routes and the unversioned ones, as the admin (Basic)
#   bearer the v1 routes again, as the normal user with a token (Bearer)
#   v3     the users routes (v3), as the admin (Basic)
#
#   TOLLGATE_BIN            the binary (default target/release/tollgate)
#   OPENAPI_VENV            where `make openapi-deps` installed the tools (.venv/openapi)
#   SCHEMATHESIS_EXAMPLES   test cases per operation and phase (default 50)
#   TOLLGATE_TEST_PG_URL    the PostgreSQL server (default postgres://postgres@127.0.0.1:5432)
#   SCHEMATHESIS_MIN_REQUESTS  fail when fewer requests were made in all (default 1000)

set -euo pipefail
cd "$(dirname "$0")/.."

BACKEND=${1:-sqlite}
BIN=${TOLLGATE_BIN:-target/release/tollgate}
VENV=${OPENAPI_VENV:-.venv/openapi}
EXAMPLES=${SCHEMATHESIS_EXAMPLES:-50}
MIN_REQUESTS=${SCHEMATHESIS_MIN_REQUESTS:-1000}
PG=${TOLLGATE_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432}

[[ -x $BIN ]] || { echo "no binary at $BIN (make build, or set TOLLGATE_BIN)" >&2; exit 2; }
[[ -x $VENV/bin/schemathesis ]] || { echo "no Schemathesis in $VENV (make openapi-deps)" >&2; exit 2; }
VENV=$(cd "$VENV" && pwd)

work=$(mktemp -d)
server=""
pgdb=""
cleanup() {
    if [[ -n $server ]]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    if [[ -n $pgdb ]]; then psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS \"$pgdb\" WITH (FORCE)" >/dev/null 2>&1 || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

case $BACKEND in
    sqlite) DB_URL="sqlite://$work/tollgate.db" ;;
    postgres)
        pgdb="tollgate_schemathesis_$$"
        psql "$PG/postgres" -qc "CREATE DATABASE \"$pgdb\"" >/dev/null
        DB_URL="$PG/$pgdb" ;;
    *) echo "usage: $0 [sqlite|postgres]" >&2; exit 2 ;;
esac

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
admin=st-admin
admin_pw="admin-$RANDOM$RANDOM-pw"
user=st-user
user_pw="user-$RANDOM$RANDOM-pw"

# A throttle that never trips (every password here is right; the leak
# endpoint is called on purpose, often), a short flush of last-used times.
TOLLGATE_ADMIN_USER=$admin TOLLGATE_ADMIN_PASSWORD=$admin_pw TOLLGATE_LOG=warn \
    "$BIN" serve --addr "127.0.0.1:$port" --database-url "$DB_URL" \
    --leak-reports-per-hour 1000000 --last-used-flush-secs 1 >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
    curl -sf "$base/readyz" >/dev/null 2>&1 && break
    kill -0 "$server" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
    sleep 0.1
done
curl -sf "$base/readyz" >/dev/null

printf '%s\n' "$user_pw" | "$BIN" user add "$user" --password-stdin --database-url "$DB_URL" >/dev/null

# The user's token, made just before its run (the admin's runs revoke tokens
# by id, and might have revoked it).
new_token() {
    curl -sf -u "$user:$user_pw" "$base/go/api/current_user/access_tokens" \
        -H 'Accept: application/vnd.go.cd.v1+json' -H 'Content-Type: application/json' \
        -d '{"description": "schemathesis"}' | python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])'
}

curl -sf "$base/go/api/openapi.json" -o "$work/openapi.json"
"$VENV/bin/openapi-spec-validator" "$work/openapi.json"

basic() { printf 'Basic %s' "$(printf '%s:%s' "$1" "$2" | base64 -w0)"; }

CHECKS=${SCHEMATHESIS_CHECKS:-not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance,response_headers_conformance}
total=0
started=$SECONDS
run() {
    local name=$1 accept=$2 auth=$3; shift 3
    echo "== schemathesis: $name ($BACKEND, Accept: $accept)"
    local ndjson="$work/$name.ndjson"
    local status=0
    # The database of examples would make runs depend on earlier ones.
    # From the scratch directory: Schemathesis keeps a cache where it runs.
    (cd "$work" && "$VENV/bin/schemathesis" run "$base/go/api/openapi.json" --url "$base" \
        -H "Authorization: $auth" -H "Accept: $accept" \
        --checks "$CHECKS" --max-examples "$EXAMPLES" --seed "${SCHEMATHESIS_SEED:-16}" \
        --generation-with-security-parameters false --generation-database none \
        --phases examples,coverage,fuzzing,stateful --workers 1 --request-timeout 30 \
        --report ndjson --report-ndjson-path "$ndjson" \
        --no-color "$@") || status=$?
    local requests
    requests=$(python3 - "$ndjson" <<'EOF'
import json, sys
n = 0
for line in open(sys.argv[1]):
    event = json.loads(line)
    for kind, body in event.items():
        if kind == "ScenarioFinished":
            n += len((body.get("recorder") or {}).get("interactions", {}))
print(n)
EOF
)
    echo "== $name: $requests requests, exit $status"
    total=$((total + requests))
    [[ $status -eq 0 ]] || { tail -50 "$work/server.log" >&2; exit "$status"; }
}

run v1 "application/vnd.go.cd.v1+json" "$(basic "$admin" "$admin_pw")" --exclude-path-regex '^/go/api/users'
run bearer "application/vnd.go.cd.v1+json" "Bearer $(new_token)" --exclude-path-regex '^/go/api/users'
run v3 "application/vnd.go.cd.v3+json" "$(basic "$admin" "$admin_pw")" --include-path-regex '^/go/api/users'

echo "schemathesis: $total requests in $((SECONDS - started)) s, 0 failures ($BACKEND)"
if ((total < MIN_REQUESTS)); then
    echo "schemathesis: fewer than $MIN_REQUESTS requests: raise SCHEMATHESIS_EXAMPLES" >&2
    exit 1
fi
