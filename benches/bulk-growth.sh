#!/usr/bin/env bash
# Does 一括照会 upload throughput depend on how many jobs the store already holds? Small uploads
# (10 search infos) from 8 clients in consecutive windows against one server, so each window
# starts with every job of the windows before it in the store; prints uploads/s per window.
# A reception number allocated in O(1) keeps the rate flat; one found by probing for a free
# number falls as jobs accumulate.
#
#   benches/bulk-growth.sh [BIN_DIR] [WINDOWS] [SECONDS]   (BIN_DIR holds onshi-server and onshi-loadgen)
# Binds 127.0.0.1 only; the server stops when the script ends.
set -euo pipefail
T="${1:-${CARGO_TARGET_DIR:-$HOME/.cache/onshi-target}/release}"
WINDOWS="${2:-5}"
SECS="${3:-10}"
PORT=20081
CLINIC=1312345679
WORK="$(mktemp -d /tmp/onshi-bulk.XXXXXX)"
cleanup() { [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
"$T/onshi-server" pki --out "$WORK/pki" >/dev/null
cat > "$WORK/onshi.toml" <<TOML
listen = "127.0.0.1:$PORT"
data_dir = "$WORK/db"
bulk_processing_seconds = 1
[tls]
ca = "$WORK/pki/ca.pem"
cert = "$WORK/pki/server.pem"
key = "$WORK/pki/server.key"
[admin]
listen = "127.0.0.1:$((PORT + 1))"
mode = "plaintext"
[journal]
enabled = false
[limits]
max_queue_ms = 0
[population]
seed = 1
persons = 100000
[[facilities]]
code = "$CLINIC"
name = "bench clinic"
kind = "clinic"
status = "active"
TOML
"$T/onshi-server" serve --config "$WORK/onshi.toml" --duration 3600 >"$WORK/server.log" 2>&1 &
PID=$!
TLS=(--target "127.0.0.1:$PORT" --cacert "$WORK/pki/ca.pem" --cert "$WORK/pki/$CLINIC.pem" --key "$WORK/pki/$CLINIC.key")
for _ in $(seq 1 120); do
  "$T/onshi-server" healthcheck "${TLS[@]}" >/dev/null 2>&1 && break
  sleep 0.5
done
jobs=0
echo "| window | jobs in the store before | uploads/s | errors |"
echo "|---|---|---|---|"
for w in $(seq 1 "$WINDOWS"); do
  "$T/onshi-loadgen" "${TLS[@]}" --mix bulk --bulk-size 10 -c 8 --connections 2 -z "$SECS" --warmup 0 \
    --quiet --json "$WORK/w$w.json" >/dev/null
  read -r rate count errors < <(python3 -c "import json; d=json.load(open('$WORK/w$w.json')); print(round(d['rps']/10), d['requests']//10, d['errors'])")
  echo "| $w | $jobs | $rate | $errors |"
  jobs=$((jobs + count))
done
