#!/usr/bin/env bash
# The same hyper service on this runtime (net/examples/hyper_server.rs) and on tokio
# (benches/src/bin/hyper_tokio.rs, hyper-util's TokioIo), each flavor, under
# `wrk -t2 -c64` on loopback: requests per second, and the server's CPU time per request
# (utime + stime of the whole server process from /proc/<pid>/stat, read before and after
# the measured run, divided by the requests wrk completed).
#
#   benches/scripts/hyper_wrk.sh            # 10 s per server, after a 2 s warm-up
#   DURATION=30s benches/scripts/hyper_wrk.sh
#
# Needs wrk (apt-get install -y wrk). wrk shares the machine's cores with the server, so
# the numbers are for side-by-side comparison on one machine, not absolute capacity.
set -euo pipefail
cd "$(dirname "$0")/../.."

DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
PORT=${PORT:-18431}
URL="http://127.0.0.1:$PORT/"
TICKS=$(getconf CLK_TCK)

command -v wrk >/dev/null || { echo "hyper_wrk: needs wrk (apt-get install -y wrk)" >&2; exit 1; }

cargo build --release -q -p net --example hyper_server --features hyper
cargo build --release -q -p benches --bin hyper_tokio
OURS=target/release/examples/hyper_server
TOKIO=target/release/hyper_tokio

# utime + stime, in clock ticks, of process $1 and all its threads.
cpu_ticks() {
    # Fields after the ")" that ends the command name: utime and stime are 12th and 13th.
    sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

wait_for_port() {
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then return 0; fi
        sleep 0.05
    done
    echo "hyper_wrk: nothing listens on $PORT" >&2
    return 1
}

# bench NAME COMMAND...: one row of the table.
bench() {
    local name=$1; shift
    "$@" >/dev/null &
    local pid=$!
    wait_for_port
    wrk -t2 -c64 -d"$WARMUP" "$URL" >/dev/null
    local before; before=$(cpu_ticks "$pid")
    local out; out=$(wrk -t2 -c64 -d"$DURATION" "$URL")
    local after; after=$(cpu_ticks "$pid")
    kill -TERM "$pid"
    wait "$pid" 2>/dev/null || true
    local requests rps
    requests=$(awk '/requests in/ { print $1 }' <<<"$out")
    rps=$(awk '/^Requests\/sec/ { print $2 }' <<<"$out")
    if grep -q "Non-2xx\|Socket errors" <<<"$out"; then
        echo "hyper_wrk: $name: $(grep "Non-2xx\|Socket errors" <<<"$out")" >&2
    fi
    awk -v name="$name" -v rps="$rps" -v req="$requests" -v t="$((after - before))" -v hz="$TICKS" \
        'BEGIN { printf "| %-22s | %10.0f | %8.2f µs |\n", name, rps, t / hz * 1e6 / req }'
}

echo "wrk -t2 -c64 -d$DURATION $URL (after a $WARMUP warm-up), $(nproc) cores"
echo
echo "| server                 |      req/s | CPU/request |"
echo "|---|---|---|"
bench "runtime current_thread" "$OURS" --listen "127.0.0.1:$PORT" --flavor current_thread --drain-secs 1
bench "runtime multi_thread" "$OURS" --listen "127.0.0.1:$PORT" --flavor multi_thread --drain-secs 1
bench "tokio current_thread" "$TOKIO" --port "$PORT" --flavor current_thread
bench "tokio multi_thread" "$TOKIO" --port "$PORT" --flavor multi_thread
