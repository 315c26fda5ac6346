#!/usr/bin/env bash
# The load generator against h2load on the plaintext health RPC (BENCHMARKS.md, "The load
# generator against h2load"): instructions per call under callgrind (repeatable however busy the
# machine is), then wall-clock rounds alternating the builds and h2load on one server.
#
#   loadgen/scripts/vs-h2load.sh [ROUNDS] GENERATOR...    (each GENERATOR a built onshi-loadgen)
#
# Instructions per call are (Ir at -n 100000 − Ir at -n 20000) / 80000, so start-up (pools,
# connections) cancels out. The server is a release onshi-server on 127.0.0.1, plaintext, 1,000
# persons, stopped at the end (and after 900 s whatever happens). Needs valgrind and h2load.
set -euo pipefail
ROUNDS=${1:?rounds}; shift
T="${CARGO_TARGET_DIR:-$HOME/.cache/onshi-target}/release"
WORK="$(mktemp -d /tmp/onshi-vs-h2load.XXXXXX)"
PORT=20271
SECS=${ONSHI_VS_SECONDS:-5}
cat > "$WORK/plain.toml" <<TOML
listen = "127.0.0.1:$PORT"
data_dir = "$WORK/data"
[tls]
plaintext = true
[admin]
listen = "127.0.0.1:$((PORT + 1))"
mode = "plaintext"
[journal]
enabled = false
[limits]
max_in_flight = 512
[population]
seed = 1
persons = 1000
[[facilities]]
code = "1312345679"
name = "bench clinic"
kind = "clinic"
status = "active"
TOML
"$T/onshi-server" serve --config "$WORK/plain.toml" --duration 900 >"$WORK/server.log" 2>&1 &
SPID=$!
trap 'kill $SPID 2>/dev/null || true; wait $SPID 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 100); do
  "$T/onshi-server" healthcheck --target "127.0.0.1:$PORT" --plaintext >/dev/null 2>&1 && break
  sleep 0.2
done
printf '\x00\x00\x00\x00\x00' > "$WORK/health.bin"
URL="http://127.0.0.1:$PORT/grpc.health.v1.Health/Check"
H2LOAD=(h2load -c 4 -m 16 -d "$WORK/health.bin" -H 'content-type: application/grpc' -H 'te: trailers')
LG=(--target "127.0.0.1:$PORT" --plaintext --facility 1312345679 --persons 1000 --mix health -c 64 --connections 4 --quiet)

ir() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 | sed -n 's/.*Collected : //p'; }
per_call() { python3 -c "print(f'{($2 - $1) / 80000:,.0f}')"; }
echo "instructions per call (callgrind)"
for g in "$@"; do
  a=$(ir "$g" "${LG[@]}" -z 0 --warmup 0 -n 20000); b=$(ir "$g" "${LG[@]}" -z 0 --warmup 0 -n 100000)
  echo "  $g: $(per_call "$a" "$b")"
done
a=$(ir "${H2LOAD[@]}" -n 20000 "$URL"); b=$(ir "${H2LOAD[@]}" -n 100000 "$URL")
echo "  h2load: $(per_call "$a" "$b")"

cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
echo "wall clock, ${SECS} s per run after 2 s of warm-up: req/s (client CPU µs per call, server CPU µs per call)"
for r in $(seq 1 "$ROUNDS"); do
  line="  round $r:"
  for g in "$@"; do
    out=$("$g" "${LG[@]}" -z "$SECS" --warmup 2 --server-pid "$SPID")
    rps=$(echo "$out" | sed -n 's/^throughput *\([0-9]*\) req\/s/\1/p')
    c=$(echo "$out" | sed -n 's/^cpu\/request *client \([0-9.]*\) µs, server \([0-9.]*\) µs/\1 \/ \2/p')
    line="$line  $(basename "$g") $rps ($c)"
  done
  s0=$(cpu "$SPID")
  # No warm-up for h2load, so its CPU time and the server's are those of the requests it counts.
  out=$(/usr/bin/time -f 'cpu %U %S' "${H2LOAD[@]}" -D "$SECS" "$URL" 2>&1)
  s1=$(cpu "$SPID")
  rps=$(echo "$out" | sed -n 's/.*finished in .*, \([0-9.]*\) req\/s.*/\1/p' | head -1)
  done_n=$(echo "$out" | sed -n 's/^requests: .* \([0-9]*\) succeeded.*/\1/p')
  user_sys=$(echo "$out" | sed -n 's/^cpu //p')
  c=$(python3 -c "u,s='$user_sys'.split(); print(f'{(float(u)+float(s))*1e6/$done_n:.1f}')")
  sv=$(python3 -c "print(f'{($s1-$s0)/100*1e6/$done_n:.1f}')")
  echo "$line  h2load ${rps%.*} ($c / $sv)"
done
