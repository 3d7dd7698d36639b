#!/usr/bin/env bash
# Rolling restart under load: three instances on one PostgreSQL database behind HAProxy
# (deploy/haproxy.cfg), wrk sending authenticated reads and writes while each instance in turn is
# stopped with SIGTERM and started again. Passes when no request failed.
#
# Needs: PostgreSQL at 127.0.0.1:5432 (user postgres), and haproxy and wrk (Debian packages; the
# script installs them with apt-get when missing). Usage: scripts/rolling_restart.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-30}
BIN=${MENTORSHIP_BIN:-target/debug/mentorship}
WORK=$(mktemp -d)
DB=mentorship_rolling_$$
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB"
export SECRET_KEY="rolling-restart-secret-0123456789abcdef0123"
export PUBLIC_URL=http://127.0.0.1:8090 SMTP_URL="file://$WORK/mail" ACCESS_TOKEN_TTL=1h SHUTDOWN_DRAIN=2s LOG_FORMAT=json RUST_LOG=warn

for tool in haproxy wrk; do
  command -v "$tool" >/dev/null || { apt-get update -qq && apt-get install -y -qq "$tool" >/dev/null; }
done
[ -x "$BIN" ] || cargo build --quiet
psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $DB"
pids=()
cleanup() {
  kill "${pids[@]}" "$(cat "$WORK/haproxy.pid" 2>/dev/null)" 2>/dev/null || true
  wait 2>/dev/null || true
  psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" || true
  rm -rf "$WORK"
}
trap cleanup EXIT

start() { # instance number
  BIND_ADDR="127.0.0.1:808$1" "$BIN" serve >>"$WORK/instance-$1.log" 2>&1 &
  pids[$1]=$!
  until curl -fs "http://127.0.0.1:808$1/health" >/dev/null; do sleep 0.1; done
}
"$BIN" migrate >/dev/null
for i in 1 2 3; do start "$i"; done
sed "s#bind 127.0.0.1:8080#bind 127.0.0.1:8090#" deploy/haproxy.cfg >"$WORK/haproxy.cfg"
haproxy -f "$WORK/haproxy.cfg" -D -p "$WORK/haproxy.pid"
until curl -fs http://127.0.0.1:8090/health >/dev/null; do sleep 0.1; done

# A verified member and a token, through the API and the e-mailed link.
curl -fs -X POST http://127.0.0.1:8090/register -H 'Content-Type: application/json' -d '{"name": "Load User",
  "username": "load_user", "email": "load@example.com", "password": "load-password",
  "terms_and_conditions_checked": true, "need_mentoring": true}' >/dev/null
link=""
for _ in $(seq 50); do
  link=$(python3 - "$WORK/mail" <<'PY'
import email, glob, re, sys
for path in glob.glob(sys.argv[1] + "/*.eml"):
    for part in email.message_from_binary_file(open(path, "rb")).walk():
        if part.get_content_type() == "text/plain":
            found = re.search(r"http://\S+/user/confirm_email/[A-Za-z0-9_-]+", part.get_payload(decode=True).decode())
            if found:
                print(found.group(0))
PY
) || true
  [ -n "$link" ] && break; sleep 0.1
done
curl -fs "$link" >/dev/null
token=$(curl -fs -X POST http://127.0.0.1:8090/login -H 'Content-Type: application/json' \
  -d '{"username": "load_user", "password": "load-password"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

cat >"$WORK/mix.lua" <<LUA
-- Reads of a profile and the directory, and profile updates (writes).
local n = 0
request = function()
  n = n + 1
  local headers = { ["Authorization"] = "Bearer $token", ["Content-Type"] = "application/json" }
  if n % 5 == 0 then
    return wrk.format("PUT", "/user", headers, '{"bio": "update ' .. n .. '"}')
  elseif n % 2 == 0 then
    return wrk.format("GET", "/users?search=load&per_page=20", headers)
  end
  return wrk.format("GET", "/user", headers)
end
LUA
wrk -t2 -c16 -d"${DURATION}s" --latency -s "$WORK/mix.lua" http://127.0.0.1:8090 >"$WORK/wrk.txt" &
wrk_pid=$!
sleep 3
for i in 1 2 3; do
  echo "restarting instance $i"
  kill -TERM "${pids[$i]}"; wait "${pids[$i]}" || true
  start "$i"
  sleep $(( DURATION / 5 > 2 ? DURATION / 5 : 2 ))
done
wait $wrk_pid
cat "$WORK/wrk.txt"
if grep -qE 'Non-2xx or 3xx responses|Socket errors' "$WORK/wrk.txt"; then
  echo "FAILED: some requests failed during the rolling restart"; exit 1
fi
echo "rolling restart: no failed request"
