#!/usr/bin/env bash
# The whole nation on this machine: `ONSHI_BENCH_NATIONAL=1 ./dev bench-suite` (or this script
# after `./dev bench-suite`'s builds). Not part of CI: it takes about 20 minutes and ~66 GB of disk.
#
# 1. Seeds ONSHI_NATIONAL_PERSONS (default 124,000,000, Japan's insured) with LZ4, and a store of
#    ONSHI_NATIONAL_SMALL (default 1,000,000) beside it: seconds, the seeder's peak RSS, the index
#    spilled while seeding, disk used, and each column family's files by level.
# 2. Grows a third store in ONSHI_NATIONAL_GROW_STEPS (default 8) steps of 500,000 and compares
#    its files by level with the fresh stores' (a grown index is compacted back to one level).
# 3. Serves the national and the small store in turn (mTLS on loopback, RocksDB statistics on) and measures card and
#    insured-number lookups with uniform and zipf keys in closed loop, and card lookups in open
#    loop at 50 % of each closed-loop peak: req/s, latency, server CPU per call, server RSS,
#    block-cache hit rates, read syscalls and bytes read from the disk per lookup; then the
#    uniform and zipf card runs and the uniform insured run again on the national store with more
#    server worker threads than cores.
# 4. Measures the disk's random 4 KiB reads with fio (when installed): the ceiling for lookups
#    that miss both caches.
# Prints a markdown table and writes $OUT/national.json. It refuses to start without room on the
# disk, and removes every store it made when it ends, however it ends.
#
# Environment: ONSHI_NATIONAL_DIR (where the stores go, default /var/tmp), ONSHI_NATIONAL_SECONDS
# (per run, default 15), ONSHI_NATIONAL_WARMUP (the same requests first, unmeasured, default 10),
# ONSHI_NATIONAL_CACHE_MB (block cache, default 4096), ONSHI_NATIONAL_IO_THREADS (the server's
# worker threads in the last two runs, default 16), ONSHI_BENCH_OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
T="${CARGO_TARGET_DIR:-$HOME/.cache/onshi-target}/release"
PERSONS="${ONSHI_NATIONAL_PERSONS:-124000000}"
SMALL="${ONSHI_NATIONAL_SMALL:-1000000}"
GROW_STEPS="${ONSHI_NATIONAL_GROW_STEPS:-8}"
GROW_STEP=500000
SECS="${ONSHI_NATIONAL_SECONDS:-15}"
WARM="${ONSHI_NATIONAL_WARMUP:-10}"
IO_THREADS="${ONSHI_NATIONAL_IO_THREADS:-16}"
CACHE_MB="${ONSHI_NATIONAL_CACHE_MB:-4096}"
BASE="${ONSHI_NATIONAL_DIR:-/var/tmp}"
OUT="${ONSHI_BENCH_OUT:-$PWD/target/bench}"
PORT=20091
METRICS_PORT=20092
CLINIC=1312345679
# Distinct pre-encoded requests per run: more than a run makes, so uniform keys ask about a
# different person almost every call (the default pool of 20,000 would stay in cache).
POOL=1000000
# Every load-generator run draws its own requests (--key-salt), so none replays another's.
SALT=0
mkdir -p "$OUT" "$BASE"
log() { echo "national: $*" >&2; }

for bin in onshi-server onshi-loadgen; do
  [ -x "$T/$bin" ] || { log "$T/$bin is missing: run ./dev bench-suite (it builds it) first"; exit 1; }
done

# Room: ~400 bytes a person with LZ4 (392 MB per million measured), the index spilled while
# seeding (~35 bytes a person), the small and grown stores, fio's 4 GiB file, and a tenth to spare.
NEED_MB=$(python3 -c "print(int((($PERSONS + $SMALL + $GROW_STEPS * $GROW_STEP) * 435 / 1e6 + 4096) * 1.1))")
AVAIL_MB=$(df -Pm "$BASE" | awk 'NR == 2 { print $4 }')
AVAIL_MB=${AVAIL_MB:-0}
if [ "$AVAIL_MB" -lt "$NEED_MB" ]; then
  log "refusing to start: $BASE has $AVAIL_MB MB free and this run needs about $NEED_MB MB"
  log "(set ONSHI_NATIONAL_DIR to a larger disk, or ONSHI_NATIONAL_PERSONS to fewer persons)"
  exit 2
fi
WORK="$(mktemp -d "$BASE/onshi-national.XXXXXX")"
# Servers' pids go to a file, so cleanup stops exactly them before removing their stores.
cleanup() {
  if [ -f "$WORK/pids" ]; then
    xargs -r kill < "$WORK/pids" 2>/dev/null || true
    sleep 1
    xargs -r kill -9 < "$WORK/pids" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
log "work in $WORK ($AVAIL_MB MB free, about $NEED_MB MB needed)"
"$T/onshi-server" pki --out "$WORK/pki" >/dev/null

seed() { # name persons -> $WORK/name.seed (the seed command's output and /usr/bin/time's)
  log "seeding $2 persons into $1"
  python3 - "$T/onshi-server" "$WORK/$1" "$2" > "$WORK/$1.seed" <<'PY'
import resource, subprocess, sys, time
server, data_dir, persons = sys.argv[1:4]
t = time.monotonic()
done = subprocess.run([server, "seed", "--data-dir", data_dir, "--persons", persons, "--compression", "lz4"],
                      capture_output=True, text=True)
if done.returncode != 0:
    sys.stderr.write(done.stderr[-4000:])
    sys.exit(f"seeding {persons} persons failed (exit {done.returncode})")
print(done.stdout, end="")
print(f"wall_seconds {time.monotonic() - t:.1f}")
print(f"peak_rss_kb {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}")
PY
  echo "disk_mb $(du -sm "$WORK/$1" | cut -f1)" >> "$WORK/$1.seed"
}

seed national "$PERSONS"
seed small "$SMALL"
log "growing a store in $GROW_STEPS steps of $GROW_STEP"
: > "$WORK/grown.steps"
: > "$WORK/grown.seed"
for step in $(seq 1 "$GROW_STEPS"); do
  start=$(date +%s.%N)
  "$T/onshi-server" seed --data-dir "$WORK/grown" --persons $((step * GROW_STEP)) --compression lz4 > "$WORK/grown.seed"
  echo "$(python3 -c "import time; print(f'{time.time() - $start:.1f}')")" >> "$WORK/grown.steps"
done

config() { # name persons
  cat > "$WORK/$1.toml" <<TOML
listen = "127.0.0.1:$PORT"
data_dir = "$WORK/$1"
[tls]
ca = "$WORK/pki/ca.pem"
cert = "$WORK/pki/server.pem"
key = "$WORK/pki/server.key"
[admin]
mode = "off"
[metrics]
listen = "127.0.0.1:$METRICS_PORT"
[journal]
enabled = false
[limits]
max_in_flight = 512
[store]
compression = "lz4"
block_cache_mb = $CACHE_MB
statistics = true
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

TLS=(--target "127.0.0.1:$PORT" --cacert "$WORK/pki/ca.pem" --cert "$WORK/pki/$CLINIC.pem" --key "$WORK/pki/$CLINIC.key")
# The counters behind a run: the server's read syscalls and bytes read from the disk, and the
# block cache's hits and misses (gauges refreshed every 5 s, so read after 6 quiet seconds).
counters() { # pid -> one JSON line
  sleep 6
  python3 - "$1" "$METRICS_PORT" <<'PY'
import json, re, sys, urllib.request
pid, port = sys.argv[1:3]
io = dict(l.split(": ") for l in open(f"/proc/{pid}/io").read().split("\n") if l)
text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
cache = {}
for kind, block, v in re.findall(r'^onshi_store_block_cache_(hits|misses)\{block="(\w+)"\} (\S+)$', text, re.M):
    cache[f"{block}_{kind}"] = float(v)
for kind, v in re.findall(r'^onshi_store_row_cache_(hits|misses) (\S+)$', text, re.M):
    cache[f"row_{kind}"] = float(v)
rss = int(re.search(r"VmRSS:\s+(\d+)", open(f"/proc/{pid}/status").read()).group(1))
print(json.dumps({"syscr": int(io["syscr"]), "read_bytes": int(io["read_bytes"]), "cache": cache, "rss_kb": rss}))
PY
}

measure() { # store persons threads label runs... (threads: the server's tokio worker threads, 0: the default)
  local store=$1 persons=$2 threads=$3 label=$4; shift 4
  config "$store" "$persons"
  # Whatever the seed left in the page cache stays, as after any seed (RocksDB's SST writer drops
  # what it writes from the page cache, so a freshly seeded store starts cold).
  if [ "$threads" -gt 0 ]; then
    TOKIO_WORKER_THREADS=$threads "$T/onshi-server" serve --config "$WORK/$store.toml" --duration 3600 > "$WORK/$store.log" 2>&1 &
  else
    "$T/onshi-server" serve --config "$WORK/$store.toml" --duration 3600 > "$WORK/$store.log" 2>&1 &
  fi
  local pid=$! healthy=""
  echo "$pid" >> "$WORK/pids"
  for _ in $(seq 1 600); do
    if "$T/onshi-server" healthcheck "${TLS[@]}" >/dev/null 2>&1; then healthy=1; break; fi
    kill -0 "$pid" 2>/dev/null || { log "server for $store exited"; cat "$WORK/$store.log" >&2; exit 1; }
    sleep 1
  done
  [ -n "$healthy" ] || { log "server for $store did not become healthy in 600 s"; cat "$WORK/$store.log" >&2; exit 1; }
  log "$store$label: serving (pid $pid)"
  for name in "$@"; do
    local args
    case "$name" in
      card_uniform) args=(--mix card -c 64 --connections 4) ;;
      card_zipf) args=(--mix card --keys zipf -c 64 --connections 4) ;;
      insured_uniform) args=(--mix insured -c 64 --connections 4) ;;
      insured_zipf) args=(--mix insured --keys zipf -c 64 --connections 4) ;;
      open50_uniform | open50_zipf)
        local keys=${name#open50_} peak
        peak=$(python3 -c "import json; print(round(json.load(open('$OUT/national-$store$label-card_$keys.json'))['rps'] / 2))")
        args=(--mix card --keys "$keys" --rps "$peak" -c 256 --connections 4) ;;
    esac
    log "$store$label: $name (warm-up ${WARM} s, then $SECS s measured)"
    # The same distribution first, unmeasured, with other draws (--key-salt): the caches then
    # hold what the distribution makes hot, and nothing of the measured run's own requests.
    "$T/onshi-loadgen" "${TLS[@]}" --persons "$persons" --pool "$POOL" --key-salt "$((SALT += 1))" -z "$WARM" \
      --warmup 0 --quiet "${args[@]}" >/dev/null
    counters "$pid" > "$WORK/before.json"
    # Each measured run draws its own requests too, so no run replays an earlier one's.
    "$T/onshi-loadgen" "${TLS[@]}" --persons "$persons" --pool "$POOL" --key-salt "$((SALT += 1))" \
      --server-pid "$pid" -z "$SECS" --warmup 0 --quiet --json "$OUT/national-$store$label-$name.json" "${args[@]}" >/dev/null
    counters "$pid" > "$WORK/after.json"
    python3 - "$OUT/national-$store$label-$name.json" "$WORK/before.json" "$WORK/after.json" <<'PY'
import json, sys
path, before, after = sys.argv[1:4]
d = json.load(open(path)); b = json.load(open(before)); a = json.load(open(after))
n = max(d["requests"], 1)
d["syscr_per_request"] = (a["syscr"] - b["syscr"]) / n
d["disk_bytes_per_request"] = (a["read_bytes"] - b["read_bytes"]) / n
for k in ("row", "data", "index", "filter"):
    h = a["cache"].get(f"{k}_hits", 0) - b["cache"].get(f"{k}_hits", 0)
    m = a["cache"].get(f"{k}_misses", 0) - b["cache"].get(f"{k}_misses", 0)
    d[f"{k}_hit_rate"] = h / (h + m) if h + m else None
d["server_rss_kb"] = a["rss_kb"]
json.dump(d, open(path, "w"), indent=1)
PY
  done
  kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
}
RUNS=(card_uniform card_zipf insured_uniform insured_zipf open50_uniform open50_zipf)
measure small "$SMALL" 0 "" "${RUNS[@]}"
measure national "$PERSONS" 0 "" "${RUNS[@]}"
# Lookups that go to the disk block a worker thread for each read: with more threads than cores
# more reads are in flight (the disk's queue depth), which is what uniform keys need.
measure national "$PERSONS" "$IO_THREADS" "-threads" card_uniform card_zipf insured_uniform

FIO=""
if command -v fio >/dev/null 2>&1; then
  log "fio: random 4 KiB reads, direct, queue depth 1 and 32"
  for depth in 1 32; do
    fio --name=rr --filename="$WORK/fio.dat" --size=4G --rw=randread --bs=4k --direct=1 --ioengine=libaio \
      --iodepth=$depth --runtime=10 --time_based --output-format=json > "$WORK/fio-$depth.json" 2>/dev/null || true
  done
  FIO="$WORK/fio"
fi

python3 - "$OUT" "$WORK" "$PERSONS" "$SMALL" "$GROW_STEPS" "$GROW_STEP" "$CACHE_MB" "$FIO" "$IO_THREADS" <<'PY'
import json, os, re, sys, datetime, platform
out, work, persons, small, grow_steps, grow_step, cache_mb, fio, io_threads = sys.argv[1:10]
def seed_facts(name):
    text = open(os.path.join(work, name + ".seed")).read()
    if not text:
        return {"levels": {}, "persons_per_s": None, "spill_mb": None}
    f = {k: float(v) for k, v in re.findall(r"^(wall_seconds|peak_rss_kb|disk_mb) (\S+)$", text, re.M)}
    m = re.search(r"\((\d+) persons/s; index spilled (\d+) MB\)", text)
    f["persons_per_s"], f["spill_mb"] = (int(m.group(1)), int(m.group(2))) if m else (None, None)
    f["levels"] = {cf: json.loads(v) for cf, v in re.findall(r"^(\w+): files by level \(L0…L6\) (\[.*\])$", text, re.M)}
    return f
seeds = {n: seed_facts(n) for n in ("national", "small", "grown")}
steps = [float(x) for x in open(os.path.join(work, "grown.steps")).read().split()]
shape = lambda levels: {cf: [i for i, n in enumerate(v) if n and i > 0] for cf, v in levels.items() if cf in ("card_results", "qualifications", "insured_index")}
runs = ["card_uniform", "card_zipf", "insured_uniform", "insured_zipf", "open50_uniform", "open50_zipf"]
r = {(s, n): json.load(open(os.path.join(out, f"national-{s}-{n}.json"))) for s in ("small", "national") for n in runs}
for n in ("card_uniform", "card_zipf", "insured_uniform"):
    r[("national-threads", n)] = json.load(open(os.path.join(out, f"national-national-threads-{n}.json")))
print(f"onshi national scale — {datetime.date.today()} — {platform.node()}, {os.cpu_count()} vCPU — LZ4, block cache {int(cache_mb):,} MiB; national-threads: {io_threads} server worker threads")
print()
print("| store | persons | seed s | persons/s | seeder peak RSS MiB | index spilled MB | disk MB |")
print("|---|---:|---:|---:|---:|---:|---:|")
for n, p in (("national", persons), ("small", small)):
    s = seeds[n]
    print(f'| {n} | {int(p):,} | {s["wall_seconds"]:.0f} | {s["persons_per_s"]:,} | {s["peak_rss_kb"]/1024:,.0f} | {s["spill_mb"]:,} | {s["disk_mb"]:,.0f} |')
print()
print(f'Shape (levels holding files, L1–L6; L0 holds the scenario people\'s flushed writes): fresh national {shape(seeds["national"]["levels"])}; fresh small {shape(seeds["small"]["levels"])}; grown in {grow_steps} steps of {int(grow_step):,} {shape(seeds["grown"]["levels"])}; grow steps took {", ".join(f"{x:.1f}" for x in steps)} s.')
print()
print("| run | store | req/s | p50 / p99 / p99.9 µs | server µs/req | row / data / index / filter cache hits | read syscalls / req | disk KiB / req | server RSS MiB | errors |")
print("|---|---|---:|---|---:|---|---:|---:|---:|---:|")
pct = lambda v: "–" if v is None else f"{100 * v:.1f} %"
for n in runs:
    for s in ("small", "national", "national-threads"):
        if (s, n) not in r: continue
        d = r[(s, n)]; l = d["latency_us"]
        print(f'| {n} | {s} | {d["rps"]:,.0f} | {l["p50"]} / {l["p99"]} / {l["p999"]} | {d.get("server_cpu_us_per_request") or 0:.1f} | {pct(d["row_hit_rate"])} / {pct(d["data_hit_rate"])} / {pct(d["index_hit_rate"])} / {pct(d["filter_hit_rate"])} | {d["syscr_per_request"]:.2f} | {d["disk_bytes_per_request"]/1024:.2f} | {d["server_rss_kb"]/1024:,.0f} | {d["errors"]} |')
print()
for n in ("card_uniform", "card_zipf", "insured_uniform", "insured_zipf"):
    print(f'- {n}: national ÷ small {r[("national", n)]["rps"] / r[("small", n)]["rps"]:.2f}')
for n in ("card_uniform", "card_zipf", "insured_uniform"):
    print(f'- {n} with {io_threads} worker threads: national ÷ small {r[("national-threads", n)]["rps"] / r[("small", n)]["rps"]:.2f}')
fio_r = {}
if fio:
    for depth in (1, 32):
        p = f"{fio}-{depth}.json"
        try:
            j = json.load(open(p))["jobs"][0]["read"]
            fio_r[depth] = {"iops": j["iops"], "lat_us_p50": j["clat_ns"]["percentile"]["50.000000"] / 1000}
            print(f'- disk (fio, random 4 KiB direct reads, queue depth {depth}): {j["iops"]:,.0f} reads/s, p50 {fio_r[depth]["lat_us_p50"]:.0f} µs')
        except Exception as e:
            print(f"- fio at depth {depth}: no result ({e})")
json.dump({"seeds": seeds, "grow_step_seconds": steps, "runs": {f"{s}/{n}": v for (s, n), v in r.items()}, "fio": fio_r, "io_threads": int(io_threads)},
          open(os.path.join(out, "national.json"), "w"), indent=1)
PY
