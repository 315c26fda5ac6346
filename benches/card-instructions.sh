#!/usr/bin/env bash
# Server instructions per card lookup of two builds, by callgrind: benches/card-instructions.sh BEFORE AFTER [CALLS]
# Each build runs under valgrind twice on a fresh 2,000-person store (mutual TLS on loopback, journal
# off, 150 s): once answering CALLS (default 20,000) card lookups from one connection with one call
# in flight, once answering none. The difference over CALLS is the instructions one lookup costs,
# seeding and start-up cancelling out. One call in flight keeps how calls batch into reads and
# writes alike from run to run; the count still moves with timing (the runtime's workers park and
# wake, RocksDB and the allocator spin): the same build measured 70.9 k and 75.0 k per lookup on a
# quiet and a loaded machine. Run it on a quiet machine and compare builds in one run.
set -euo pipefail
cd "$(dirname "$0")/.."
BEFORE="$1"; AFTER="$2"; CALLS="${3:-20000}"
T="${CARGO_TARGET_DIR:-$HOME/.cache/onshi-target}/release"
command -v valgrind >/dev/null || { echo "card-instructions: valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }
WORK="$(mktemp -d /tmp/onshi-cg.XXXXXX)"
PORT=20091
CLINIC=1312345679
cleanup() { pkill -f "$WORK" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
"$T/onshi-server" pki --out "$WORK/pki" >/dev/null
TLS=(--target "127.0.0.1:$PORT" --cacert "$WORK/pki/ca.pem" --cert "$WORK/pki/$CLINIC.pem" --key "$WORK/pki/$CLINIC.key")
instructions() { # binary name calls -> total instructions of the server process
  local dir="$WORK/$2-$3"
  cat > "$dir.toml" <<TOML
listen = "127.0.0.1:$PORT"
data_dir = "$dir"
[tls]
ca = "$WORK/pki/ca.pem"
cert = "$WORK/pki/server.pem"
key = "$WORK/pki/server.key"
[admin]
mode = "off"
[journal]
enabled = false
[population]
seed = 1
persons = 2000
[[facilities]]
code = "$CLINIC"
name = "bench clinic"
kind = "clinic"
status = "active"
TOML
  valgrind --tool=callgrind --callgrind-out-file="$dir.out" "$1" serve --config "$dir.toml" --duration 150 \
    >"$dir.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 240); do
    "$T/onshi-server" healthcheck "${TLS[@]}" >/dev/null 2>&1 && break
    sleep 0.5
  done
  if [ "$3" -gt 0 ]; then
    "$T/onshi-loadgen" "${TLS[@]}" --persons 2000 -n "$3" --warmup 0 --mix card --pool 2000 -c 1 --connections 1 \
      --quiet >/dev/null
  fi
  wait "$pid" || true
  awk '/^(summary|totals):/ { print $2; exit }' "$dir.out"
}
for build in before after; do
  bin="$BEFORE"; [ "$build" = after ] && bin="$AFTER"
  idle=$(instructions "$bin" "$build" 0)
  busy=$(instructions "$bin" "$build" "$CALLS")
  echo "$build: $busy instructions with $CALLS calls, $idle with none: $(( (busy - idle) / CALLS )) per card lookup"
done
