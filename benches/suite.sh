#!/usr/bin/env bash
# The whole benchmark suite on this machine, in one command (./dev bench-suite): the health
# ceiling and card lookups in the same run (their ratio), insured-number lookups, stream and bulk
# throughput, open-loop latency at 50/70/90 % of the measured card peak, h2load on the same health
# RPC, seeding rate, and server RSS with 10 M persons. Prints a markdown table and writes
# $OUT/results.json. Everything binds loopback, and every run is bounded in time.
#
# Environment: ONSHI_BENCH_SECONDS (per run, default 8), ONSHI_BENCH_PERSONS (store size, default
# 1000000), ONSHI_BENCH_RSS_PERSONS (default 10000000; 0 skips the RSS run).
set -euo pipefail
cd "$(dirname "$0")/.."
T="${CARGO_TARGET_DIR:-$HOME/.cache/onshi-target}/release"
SECS="${ONSHI_BENCH_SECONDS:-8}"
PERSONS="${ONSHI_BENCH_PERSONS:-1000000}"
RSS_PERSONS="${ONSHI_BENCH_RSS_PERSONS:-10000000}"
OUT="${ONSHI_BENCH_OUT:-$PWD/target/bench}"
WORK="$(mktemp -d /tmp/onshi-bench.XXXXXX)"
# Below the ephemeral port range (32768-60999), so no client connection can hold them.
PORT=20071
ADMIN_PORT=20072
PLAIN_PORT=20073
CLINIC=1312345679
mkdir -p "$OUT"
# Server pids go to a file: start_server runs in a command substitution (a subshell).
cleanup() { [ -f "$WORK/pids" ] && { xargs -r kill < "$WORK/pids" 2>/dev/null || true; }; rm -rf "$WORK"; }
trap cleanup EXIT

log() { echo "bench: $*" >&2; }

"$T/onshi-server" pki --out "$WORK/pki" >/dev/null
write_config() { # dir persons port admin_port plaintext
  cat > "$1.toml" <<TOML
listen = "127.0.0.1:$3"
data_dir = "$1"
bulk_processing_seconds = 1
[tls]
plaintext = $5
ca = "$WORK/pki/ca.pem"
cert = "$WORK/pki/server.pem"
key = "$WORK/pki/server.key"
[admin]
listen = "127.0.0.1:$4"
mode = "plaintext"
[journal]
enabled = false
[limits]
max_in_flight = 512
[population]
seed = 1
persons = $2
[[facilities]]
code = "$CLINIC"
name = "bench clinic"
kind = "clinic"
status = "active"
TOML
}

# Servers are started from subshells, so they are nobody's children here: a zombie counts as gone.
# A process is gone when its leader is a zombie and no other thread is left: a multithreaded
# server's main thread can be a zombie while its other threads still exit and hold its sockets.
alive() {
  [ -r "/proc/$1/status" ] || return 1
  grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null || return 0
  [ "$(ls "/proc/$1/task" 2>/dev/null | wc -l)" -gt 1 ]
}
stop_server() { # pid; waits until it has exited (and freed its ports)
  kill "$1" 2>/dev/null || true
  for _ in $(seq 1 300); do alive "$1" || return 0; sleep 0.1; done
  kill -9 "$1" 2>/dev/null || true
}

start_server() { # dir port -> pid; waits until it serves
  "$T/onshi-server" serve --config "$1.toml" --duration 3600 >"$1.log" 2>&1 &
  local pid=$!
  echo "$pid" >> "$WORK/pids"
  for _ in $(seq 1 600); do
    if ! alive "$pid"; then
      log "server in $1 exited"; cat "$1.log" >&2; exit 1
    fi
    if "$T/onshi-server" healthcheck --target "127.0.0.1:$2" --cacert "$WORK/pki/ca.pem" \
        --cert "$WORK/pki/$CLINIC.pem" --key "$WORK/pki/$CLINIC.key" >/dev/null 2>&1 \
      || "$T/onshi-server" healthcheck --target "127.0.0.1:$2" --plaintext >/dev/null 2>&1; then
      echo "$pid"; return 0
    fi
    sleep 1
  done
  log "server in $1 did not start"; cat "$1.log" >&2; exit 1
}

TLS=(--target "127.0.0.1:$PORT" --cacert "$WORK/pki/ca.pem" --cert "$WORK/pki/$CLINIC.pem" --key "$WORK/pki/$CLINIC.key")
run() { # name args... ; writes $OUT/name.json
  local name=$1; shift
  log "$name"
  "$T/onshi-loadgen" "$@" --quiet --json "$OUT/$name.json" >/dev/null
}
field() { python3 -c "import json,sys; d=json.load(open('$OUT/$1.json')); v=d$2; print(v if v is not None else '')"; }

# Seeding rate (a fresh store).
log "seeding $PERSONS persons"
SEED_LINE=$("$T/onshi-server" seed --data-dir "$WORK/seeded" --persons "$PERSONS" 2>/dev/null | tail -1)
SEED_RATE=$(echo "$SEED_LINE" | sed -n 's/.*(\([0-9]*\) persons\/s.*/\1/p')
rm -rf "$WORK/seeded"

# The main server.
write_config "$WORK/main" "$PERSONS" "$PORT" "$ADMIN_PORT" false
SPID=$(start_server "$WORK/main" "$PORT")
COMMON=(--persons "$PERSONS" --server-pid "$SPID" -z "$SECS" --warmup 2)
run health "${TLS[@]}" "${COMMON[@]}" --mix health -c 64 --connections 4
run card "${TLS[@]}" "${COMMON[@]}" --mix card -c 64 --connections 4
run card_zipf "${TLS[@]}" "${COMMON[@]}" --mix card --keys zipf -c 64 --connections 4
# A different person almost every call (the default pool of 20,000 requests repeats each person
# every 20,000 calls, which the row cache serves): the cost of a lookup that misses every cache.
run card_distinct "${TLS[@]}" "${COMMON[@]}" --mix card --pool 1000000 -c 64 --connections 4

# The stack-ceiling control (benches/control.rs): the same crates, accept loop, TLS and tonic
# settings answering ConfirmByCard with a canned answer of a typical card answer's bytes — no
# store, no logic. card ÷ control is the share of the stack's ceiling onshi's own work leaves.
CONTROL_PORT=20074
if [ -x "$T/onshi-stack-control" ]; then
  "$T/onshi-stack-control" --listen "127.0.0.1:$CONTROL_PORT" --ca "$WORK/pki/ca.pem" \
    --cert "$WORK/pki/server.pem" --key "$WORK/pki/server.key" --seconds 600 >"$WORK/control.log" 2>&1 &
  CPID=$!
  echo "$CPID" >> "$WORK/pids"
  for _ in $(seq 1 100); do
    "$T/onshi-server" healthcheck --target "127.0.0.1:$CONTROL_PORT" --cacert "$WORK/pki/ca.pem" \
      --cert "$WORK/pki/$CLINIC.pem" --key "$WORK/pki/$CLINIC.key" >/dev/null 2>&1 && break
    sleep 0.1
  done
  run control --target "127.0.0.1:$CONTROL_PORT" --cacert "$WORK/pki/ca.pem" --cert "$WORK/pki/$CLINIC.pem" \
    --key "$WORK/pki/$CLINIC.key" --persons "$PERSONS" --server-pid "$CPID" -z "$SECS" --warmup 2 --mix card -c 64 --connections 4
  stop_server "$CPID"
  # The real server again, right after, so the ratio is not one run's luck.
  run card_again "${TLS[@]}" "${COMMON[@]}" --mix card -c 64 --connections 4
fi
run insured "${TLS[@]}" "${COMMON[@]}" --mix insured -c 64 --connections 4
run mixed "${TLS[@]}" "${COMMON[@]}" --mix "card=8,insured=1,miss=1,medication=1,checkup=1" -c 64 --connections 4
run stream "${TLS[@]}" "${COMMON[@]}" --mix stream --batch 128 -c 8 --connections 4
run bulk "${TLS[@]}" "${COMMON[@]}" --mix bulk --bulk-size 1000 -c 4 --connections 2
PEAK=$(field card "['rps']")
for pct in 50 70 90; do
  rate=$(python3 -c "print(round($PEAK * $pct / 100))")
  run "open_$pct" "${TLS[@]}" "${COMMON[@]}" --mix card --rps "$rate" -c 256 --connections 4
done
run overload "${TLS[@]}" "${COMMON[@]}" --mix card --rps "$(python3 -c "print(round($PEAK * 3))")" -c 2048 --connections 4
run overload_closed "${TLS[@]}" "${COMMON[@]}" --mix card -c 2048 --connections 8

# The same health RPC from h2load, against a plaintext server (h2load has no client certificates).
write_config "$WORK/plain" 1000 "$PLAIN_PORT" "$((PLAIN_PORT + 100))" true
PPID_PLAIN=$(start_server "$WORK/plain" "$PLAIN_PORT")
run health_plain --target "127.0.0.1:$PLAIN_PORT" --plaintext --persons 1000 --server-pid "$PPID_PLAIN" -z "$SECS" --warmup 2 --mix health -c 64 --connections 4
H2LOAD_RPS=""
if command -v h2load >/dev/null 2>&1; then
  printf '\x00\x00\x00\x00\x00' > "$WORK/health.bin"
  log "h2load"
  H2LOAD_RPS=$(h2load -D "$SECS" --warm-up-time 2 -c 4 -m 16 -d "$WORK/health.bin" \
      -H 'content-type: application/grpc' -H 'te: trailers' \
      "http://127.0.0.1:$PLAIN_PORT/grpc.health.v1.Health/Check" 2>/dev/null \
    | sed -n 's/.*finished in .*, \([0-9.]*\) req\/s.*/\1/p' | head -1)
fi
stop_server "$PPID_PLAIN"

RSS_MB=""
if [ "$RSS_PERSONS" -gt 0 ]; then
  stop_server "$SPID"
  log "seeding $RSS_PERSONS persons for the RSS run"
  write_config "$WORK/big" "$RSS_PERSONS" "$PORT" "$ADMIN_PORT" false
  BPID=$(start_server "$WORK/big" "$PORT")
  run card_10m "${TLS[@]}" --persons "$RSS_PERSONS" --server-pid "$BPID" -z "$SECS" --warmup 2 --mix card -c 64 --connections 4
  RSS_MB=$(awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$BPID/status")
fi

# The terminal's folder exchange: 10,000 single-check files renamed into req/ at once, each
# answered into res/ (its own server and terminal, in process; see tests/src/bin/onshi-terminal-bench.rs).
if [ -x "$T/onshi-terminal-bench" ]; then
  log "terminal: 10,000 files dropped at once"
  "$T/onshi-terminal-bench" --files 10000 --json > "$OUT/terminal.json" || rm -f "$OUT/terminal.json"
fi

python3 - "$OUT" "$SEED_RATE" "$H2LOAD_RPS" "$RSS_MB" "$PERSONS" "$RSS_PERSONS" <<'PY'
import json, os, sys, platform, datetime
out, seed_rate, h2, rss, persons, rss_persons = sys.argv[1:7]
def load(n):
    p = os.path.join(out, n + ".json")
    return json.load(open(p)) if os.path.exists(p) else None
r = {n: load(n) for n in ["health", "card", "card_zipf", "card_distinct", "control", "card_again", "insured", "mixed", "stream", "bulk", "open_50", "open_70", "open_90", "overload", "overload_closed", "health_plain", "card_10m"]}
def lat(d): l = d["latency_us"]; return f'{l["p50"]} / {l["p99"]} / {l["p999"]}'
rows = []
def row(name, d, note=""):
    if d: rows.append(f'| {name} | {d["rps"]:,.0f} | {lat(d)} | {d["client_cpu_us_per_request"]:.1f} | {d.get("server_cpu_us_per_request") or 0:.1f} | {d["errors"]} | {note} |')
row("health (mTLS, closed, c=64)", r["health"])
row("card (mTLS, closed, c=64)", r["card"], f'ratio to health {r["card"]["rps"]/r["health"]["rps"]:.2f}' if r["card"] and r["health"] else "")
row("card, zipf keys", r["card_zipf"])
row("card, 1,000,000 distinct requests (a new person almost every call)", r["card_distinct"])
if r["control"]:
    c = r["control"]
    cards = [d["rps"] for d in (r["card"], r["card_again"]) if d]
    card = sum(cards) / len(cards) if cards else 0
    note = f'card ÷ control {card / c["rps"]:.2f} (card runs before and after averaged)'
    if r["health"]: note += f'; health ÷ control {r["health"]["rps"] / c["rps"]:.2f}'
    row("control: same stack, canned card answer, no store or logic", c, note)
    row("card again, right after the control", r["card_again"])
row("insured numbers", r["insured"])
row("mixed 8:1:1:1:1 card/insured/miss/medication/checkup", r["mixed"])
row("ConfirmStream, 8 streams × 128 in flight", r["stream"], "confirmations/s")
row("bulk upload, 1,000 per upload, 4 in flight", r["bulk"], "lookups/s")
for p in (50, 70, 90):
    d = r[f"open_{p}"]
    row(f"card open loop at {p} % of peak", d, f'offered {d["offered_rps"]:,.0f}, not sent {d["not_sent"]}' if d else "")
d = r["overload"]
row("card open loop at 300 % of peak", d, (f'offered {d["offered_rps"]:,.0f}; shed {d["errors_by_code"]}; latency from intended send time' if d else ""))
d = r["overload_closed"]
row("card closed loop, 2,048 in flight", d, (f'shed {d["errors_by_code"]}; latency of answers' if d else ""))
row("health, plaintext (onshi-loadgen)", r["health_plain"])
if h2: rows.append(f"| health, plaintext (h2load -c 4 -m 16) | {float(h2):,.0f} | | | | | same RPC, same server |")
if r["card_10m"]: row(f"card with {int(rss_persons):,} persons", r["card_10m"], f"server RSS {rss} MiB")
print(f"onshi benchmark suite — {datetime.date.today()} — {platform.node()}, {os.cpu_count()} vCPU — store {int(persons):,} persons — seeding {int(seed_rate or 0):,} persons/s")
print()
print("| run | req/s | latency p50 / p99 / p99.9 (µs) | client µs/req | server µs/req | errors | note |")
print("|---|---:|---|---:|---:|---:|---|")
print("\n".join(rows))
term = load("terminal")
if term:
    print()
    print("| terminal folder exchange | files | files/s | rename → answer p50 / p99 / max (ms) |")
    print("|---|---:|---:|---|")
    print(f'| single checks dropped at once (Shift_JIS) | {term["files"]:,} | {term["files_per_second"]:,.0f} | {term["p50_ms"]} / {term["p99_ms"]} / {term["max_ms"]} |')
r["terminal"] = term
json.dump({"results": r, "seeding_persons_per_s": seed_rate, "h2load_health_rps": h2, "rss_mib_10m": rss}, open(os.path.join(out, "results.json"), "w"), indent=1)
PY
