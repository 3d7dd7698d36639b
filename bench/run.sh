#!/usr/bin/env bash
# Builds the release binary, installs wrk if needed, and runs the benchmark (bench/run.py).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --release --quiet
exec python3 bench/run.py "$@"
