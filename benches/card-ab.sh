#!/usr/bin/env bash
# Card lookups of two server builds, alternated in one run: benches/card-ab.sh BEFORE AFTER [ROUNDS]
# BEFORE and AFTER are onshi-server binaries (copy one aside before rebuilding). Each gets its own
# store of ONSHI_AB_PERSONS (default 200,000) persons, mutual TLS on loopback, journal off; then
# ROUNDS (default 3) rounds of: BEFORE card closed loop, AFTER card closed loop (ONSHI_AB_SECONDS,
# default 8 s, c=64 over 4 connections). Prints each run and the ratio of the medians. Set
# ONSHI_AB_MIX (default card) to compare another load generator mix, ONSHI_AB_POOL (default 20,000)
# for the number of distinct requests.
set -euo pipefail
cd "$(dirname "$0")/.."
BEFORE="$1"; AFTER="$2"; ROUNDS="${3:-3}"
T="${CARGO_TARGET_DIR:-$HOME/.cache/onshi-target}/release"
SECS="${ONSHI_AB_SECONDS:-8}"
PERSONS="${ONSHI_AB_PERSONS:-200000}"
MIX="${ONSHI_AB_MIX:-card}"
# Distinct pre-encoded requests (the load generator cycles through them); a pool larger than the
# calls a run makes asks about a different person every call.
POOL="${ONSHI_AB_POOL:-20000}"
WORK="$(mktemp -d /tmp/onshi-ab.XXXXXX)"
PORT=20081
CLINIC=1312345679
cleanup() { pkill -f "$WORK" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
"$T/onshi-server" pki --out "$WORK/pki" >/dev/null
config() { # name
  cat > "$WORK/$1.toml" <<TOML
listen = "127.0.0.1:$PORT"
data_dir = "$WORK/$1"
[tls]
ca = "$WORK/pki/ca.pem"
cert = "$WORK/pki/server.pem"
key = "$WORK/pki/server.key"
[admin]
mode = "off"
[journal]
enabled = false
[limits]
max_in_flight = 512
[population]
seed = 1
persons = $PERSONS
[[facilities]]
code = "$CLINIC"
name = "bench clinic"
kind = "clinic"
status = "active"
TOML
}
TLS=(--target "127.0.0.1:$PORT" --cacert "$WORK/pki/ca.pem" --cert "$WORK/pki/$CLINIC.pem" --key "$WORK/pki/$CLINIC.key")
measure() { # binary name -> rps
  "$1" serve --config "$WORK/$2.toml" --duration 600 >"$WORK/$2.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 120); do
    "$T/onshi-server" healthcheck "${TLS[@]}" >/dev/null 2>&1 && break
    sleep 0.5
  done
  "$T/onshi-loadgen" "${TLS[@]}" --persons "$PERSONS" --server-pid "$pid" -z "$SECS" --warmup 2 --mix "$MIX" --pool "$POOL" \
    -c 64 --connections 4 --quiet --json "$WORK/$2.json" >/dev/null
  kill "$pid"; wait "$pid" 2>/dev/null || true
  python3 -c "import json; d=json.load(open('$WORK/$2.json')); print(f\"{d['rps']:.0f} {d.get('server_cpu_us_per_request') or 0:.1f}\")"
}
config before; config after
B=(); A=()
for r in $(seq 1 "$ROUNDS"); do
  read -r b bcpu < <(measure "$BEFORE" before); B+=("$b")
  read -r a acpu < <(measure "$AFTER" after); A+=("$a")
  echo "round $r: before $b/s ($bcpu µs server CPU per call), after $a/s ($acpu µs)"
done
python3 - "${B[*]}" "${A[*]}" <<'PY'
import sys, statistics
b = [float(x) for x in sys.argv[1].split()]; a = [float(x) for x in sys.argv[2].split()]
mb, ma = statistics.median(b), statistics.median(a)
print(f"median before {mb:,.0f}/s, after {ma:,.0f}/s: after / before = {ma / mb:.3f}")
PY
