#!/usr/bin/env bash
# The console and the member web app in a real browser: builds the server, starts it on a free port with a fresh
# SQLite database and mail written to a folder, installs playwright-core (pinned by
# package-lock.json) and runs console.mjs, then member.mjs, in Debian's headless Chromium (/usr/bin/chromium).
# Screenshots go to docs/screenshots/ (or $SHOTS).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"

[ -x /usr/bin/chromium ] || { echo "Chromium is missing: apt-get install -y chromium" >&2; exit 1; }
cargo build --quiet --bin mentorship
(cd "$HERE" && npm ci --no-audit --no-fund --silent)

WORK="$(mktemp -d)"
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export BINARY="$ROOT/target/debug/mentorship"
export BASE="http://127.0.0.1:$PORT"
export MAIL_DIR="$WORK/mail"
export SHOTS="${SHOTS:-$ROOT/docs/screenshots}"
export DATABASE_URL="sqlite://$WORK/db.sqlite?mode=rwc"
export SECRET_KEY="browser-test-secret-0123456789abcdef0123"
export SMTP_URL="file://$MAIL_DIR"
export BIND_ADDR="127.0.0.1:$PORT"
export PUBLIC_URL="$BASE"
export RUST_LOG=warn
mkdir -p "$MAIL_DIR" "$SHOTS"

"$BINARY" serve > "$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 1 100); do
  curl -sf "$BASE/health" > /dev/null && break
  sleep 0.1
done

for script in console.mjs member.mjs; do
  if ! node "$HERE/$script"; then
    echo "--- server log ---" >&2
    cat "$WORK/server.log" >&2
    exit 1
  fi
done
