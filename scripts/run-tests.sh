#!/usr/bin/env bash
# Runs the whole suite. Tests needing servers start them on 127.0.0.1 themselves.
set -euo pipefail
BIN=.venv/bin
export RUS_TEST_CACHE="${RUS_TEST_CACHE:-$PWD/.cache/test-data}"
mkdir -p "$RUS_TEST_CACHE"
# Fetch the real-data packages once (cached), serially, before the parallel run.
$BIN/python -m tests.fetch_data "$RUS_TEST_CACHE"
exec $BIN/pytest -n 2 --dist loadgroup --timeout 600 -q "$@"
