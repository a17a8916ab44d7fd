# Sourced by `Scripts/bench-read --latency MS` (needs BIN, WORK, ROOT, REPEATS, LAT_WINDOWS,
# LATENCY, LAT_OBJECTS): object-store latency rows for COG window reads. Serves the first
# LAT_OBJECTS uint16 COGs of the corpus from two loopback `bench-http-delay-server.py` instances,
# one without delay and one waiting LATENCY ms before the first byte of every response, and
# measures with medians of REPEATS runs:
#   * `tandem bench read` (1 decode thread, HTTP/1.1) at concurrency 1/8/32 (windows in flight =
#     transfers in flight = K), coalescing on (64 KiB) and off, with and without the delay; and
#     1 window in flight with 8 transfers (like one rasterio thread, whose GDAL fetches a
#     window's tile rows in parallel);
#   * cold vs warm tile cache (--cache) under the delay; the warm run must make 0 requests;
#   * rasterio reading the same windows via /vsicurl/ with GDAL's cloud settings, 1 and 8
#     threads, with and without the delay.
# Requests are counted at the server (one log line per request, headers included).

LAT_DIR="$WORK/latency"
rm -rf "$LAT_DIR"
mkdir -p "$LAT_DIR"
ls "$WORK"/www/corpus/s2_*.tif | head -n "$LAT_OBJECTS" >"$LAT_DIR/local.txt"
LAT_PIDS=()
lat_cleanup() {
  for pid in "${LAT_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  stop_nginx
}
trap lat_cleanup EXIT

# start_delay_server DELAY_MS -> sets PORT; log in $LAT_DIR/log-DELAY_MS.
start_delay_server() {
  PORT=$(free_port)
  /usr/bin/python3 "$ROOT/Scripts/bench-http-delay-server.py" "$PORT" "$WORK/www" "$1" \
    "$LAT_DIR/log-$1" &
  LAT_PIDS+=($!)
  for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "delay server on port $PORT did not start" >&2
  exit 1
}
start_delay_server 0
PORT0=$PORT
start_delay_server "$LATENCY"
PORTL=$PORT
sed "s#^$WORK/www#http://127.0.0.1:$PORT0#" "$LAT_DIR/local.txt" >"$LAT_DIR/list-0.txt"
sed "s#^$WORK/www#http://127.0.0.1:$PORTL#" "$LAT_DIR/local.txt" >"$LAT_DIR/list-$LATENCY.txt"

# lat_tandem NAME DELAY K WINDOWS ARGS... : median of REPEATS runs -> L[NAME]=windows/s,
# L[NAME_req]=server requests per run (median), L[NAME_rpw]=requests/window (tandem's count).
# K = windows in flight = transfers in flight; K given as W/T sets them apart (windows/transfers).
declare -A L
lat_tandem() {
  local name=$1 delay=$2 k=${3%/*} transfers=${3#*/} n=$4
  shift 4
  local runs=() reqs=()
  for _ in $(seq "$REPEATS"); do
    : >"$LAT_DIR/log-$delay"
    local out
    if ! out=$("$BIN" bench read --list "$LAT_DIR/list-$delay.txt" --windows "$n" --seed 42 \
      --threads 1 --in-flight "$k" --concurrency "$transfers" --http1 \
      --windows-out "$LAT_DIR/windows-$delay.jsonl" "$@" 2>"$LAT_DIR/tandem.err"); then
      echo "tandem bench read failed: $(head -c 300 "$LAT_DIR/tandem.err")" >&2
      exit 1
    fi
    runs+=("$(echo "$out" | tail -1)")
    reqs+=("{\"r\": $(wc -l <"$LAT_DIR/log-$delay")}")
  done
  L[$name]=$(median_of windows_per_s "${runs[@]}")
  L[${name}_rpw]=$(median_of requests_per_window "${runs[@]}")
  L[${name}_req]=$(median_of r "${reqs[@]}")
  printf '%-36s %10.1f windows/s %8.2f req/window %6s server requests\n' "$name" "${L[$name]}" \
    "${L[${name}_rpw]}" "${L[${name}_req]}" >&2
}

# lat_rasterio NAME DELAY THREADS WINDOWS
lat_rasterio() {
  local name=$1 delay=$2 threads=$3 n=$4
  local runs=() reqs=()
  head -n "$n" "$LAT_DIR/windows-0.jsonl" |
    sed "s#http://127.0.0.1:$PORT0/#http://127.0.0.1:$([[ $delay == 0 ]] && echo "$PORT0" || echo "$PORTL")/#" \
      >"$LAT_DIR/rio-windows.jsonl"
  for _ in $(seq "$REPEATS"); do
    : >"$LAT_DIR/log-$delay"
    runs+=("$(.venv-bench/bin/python Scripts/reference/bench_read_rasterio.py \
      "$LAT_DIR/rio-windows.jsonl" "$threads")")
    reqs+=("{\"r\": $(wc -l <"$LAT_DIR/log-$delay")}")
  done
  L[$name]=$(median_of windows_per_s "${runs[@]}")
  L[${name}_req]=$(median_of r "${reqs[@]}")
  L[${name}_rpw]=$(/usr/bin/python3 -c "print(round(${L[${name}_req]} / $n, 2))")
  printf '%-36s %10.1f windows/s %8.2f req/window %6s server requests\n' "$name" "${L[$name]}" \
    "${L[${name}_rpw]}" "${L[${name}_req]}" >&2
}

echo "== latency rows: $LAT_OBJECTS objects, delay 0 and $LATENCY ms, load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
N1=$((LAT_WINDOWS / 5))
# One window at a time but its tile rows fetched in parallel, as GDAL does for one rasterio thread.
lat_tandem "delay0_w1_c8" 0 1/8 "$N1"
lat_tandem "delay${LATENCY}_w1_c8" "$LATENCY" 1/8 "$N1"
# Last: K = 32 with delay 0 writes windows-0.jsonl with all windows, which rasterio replays.
for k in 1 8 32; do
  n=$LAT_WINDOWS
  [[ $k == 1 ]] && n=$N1
  lat_tandem "delay0_c${k}" 0 "$k" "$n"
  lat_tandem "delay${LATENCY}_c${k}" "$LATENCY" "$k" "$n"
  lat_tandem "delay${LATENCY}_c${k}_nocoalesce" "$LATENCY" "$k" "$n" --coalesce-gap off
done
# Cold vs warm cache: each repeat of the cold row starts from an empty cache directory; the warm
# row repeats the same windows on a cache filled once.
cold_runs=()
for r in $(seq "$REPEATS"); do
  rm -rf "$LAT_DIR/cache"
  : >"$LAT_DIR/log-$LATENCY"
  out=$("$BIN" bench read --list "$LAT_DIR/list-$LATENCY.txt" --windows "$LAT_WINDOWS" --seed 42 \
    --threads 1 --in-flight 32 --concurrency 32 --http1 --cache "$LAT_DIR/cache" | tail -1)
  cold_runs+=("$out")
done
L[cold]=$(median_of windows_per_s "${cold_runs[@]}")
L[cold_req]=$(wc -l <"$LAT_DIR/log-$LATENCY")
printf '%-36s %10.1f windows/s %6s server requests (last run)\n' "delay${LATENCY}_c32_cache_cold" \
  "${L[cold]}" "${L[cold_req]}" >&2
lat_tandem "delay${LATENCY}_c32_cache_warm" "$LATENCY" 32 "$LAT_WINDOWS" --cache "$LAT_DIR/cache"
for t in 1 8; do
  n=$LAT_WINDOWS
  [[ $t == 1 ]] && n=$N1
  lat_rasterio "rasterio_delay0_t$t" 0 "$t" "$n"
  lat_rasterio "rasterio_delay${LATENCY}_t$t" "$LATENCY" "$t" "$n"
done

# One JSON line per figure.
lat_emit() { # metric tandem [peer peer_value] [key=value ...]
  /usr/bin/python3 -c "
import json,sys
a=sys.argv[1:]; d={'bench':'read','metric':a[0],'latency_ms':$LATENCY,'tandem':float(a[1])}
if len(a)>3 and a[3]:
    d['peer']=a[2]; d['peer_value']=float(a[3])
    if d['peer_value']: d['ratio']=round(d['tandem']/d['peer_value'],3)
for kv in a[4:]:
    k,v=kv.split('='); d[k]=float(v)
print(json.dumps(d))" "$@"
}
D=delay$LATENCY
for k in 1 8 32; do
  lat_emit "latency_windows_per_s_c$k" "${L[${D}_c$k]}" no_latency "${L[delay0_c$k]}" \
    "requests_per_window=${L[${D}_c${k}_rpw]}"
  lat_emit "latency_coalescing_gain_c$k" "${L[${D}_c$k]}" no_coalescing "${L[${D}_c${k}_nocoalesce]}" \
    "requests_per_window_no_coalescing=${L[${D}_c${k}_nocoalesce_rpw]}"
done
lat_emit latency_cache_warm_windows_per_s "${L[${D}_c32_cache_warm]}" cache_cold "${L[cold]}" \
  "warm_requests=${L[${D}_c32_cache_warm_req]}" "cold_requests=${L[cold_req]}"
lat_emit latency_windows_per_s_w1_c8 "${L[${D}_w1_c8]}" no_latency "${L[delay0_w1_c8]}"
lat_emit latency_vs_rasterio_windows_per_s_w1_c8_t1 "${L[${D}_w1_c8]}" rasterio \
  "${L[rasterio_${D}_t1]}"
lat_emit no_latency_vs_rasterio_windows_per_s_w1_c8_t1 "${L[delay0_w1_c8]}" rasterio \
  "${L[rasterio_delay0_t1]}"
for t in 1 8; do
  k=$([[ $t == 1 ]] && echo 1 || echo 8)
  lat_emit "latency_vs_rasterio_windows_per_s_c${k}_t$t" "${L[${D}_c$k]}" rasterio \
    "${L[rasterio_${D}_t$t]}" "rasterio_requests_per_window=${L[rasterio_${D}_t${t}_rpw]}"
  lat_emit "no_latency_vs_rasterio_windows_per_s_c${k}_t$t" "${L[delay0_c$k]}" rasterio \
    "${L[rasterio_delay0_t$t]}" "rasterio_requests_per_window=${L[rasterio_delay0_t${t}_rpw]}"
  lat_emit "rasterio_latency_ratio_t$t" "${L[rasterio_${D}_t$t]}" rasterio_no_latency \
    "${L[rasterio_delay0_t$t]}"
done
lat_emit latency_vs_rasterio_windows_per_s_c32_t8 "${L[${D}_c32]}" rasterio "${L[rasterio_${D}_t8]}"
