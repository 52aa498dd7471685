#!/usr/bin/env bash
# The echo example under `valgrind --track-fds=yes --leak-check=full`, twice:
#   1. the demo mode (server + clients in one process, exits by itself);
#   2. `--listen` driven from outside: bash /dev/tcp clients that check their echoes,
#      two of them still connected when SIGTERM arrives, then a clean exit.
# Each run must exit 0 with no memory error, no definite leak ("definitely lost: 0
# bytes", or no leak summary at all) and no descriptor of its own open at exit: every
# socket, the poller and its waker closed (see check_log for the ones allowed).
# Descriptors this shell inherited are closed before valgrind starts, so valgrind's
# count is the example's own.
#
# Usage: .ci/valgrind-echo.sh [path/to/echo]   (default: builds target/debug/examples/echo)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v valgrind >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && apt-get install -y -qq valgrind
    elif command -v sudo >/dev/null; then
        sudo apt-get update -qq && sudo apt-get install -y -qq valgrind
    else
        echo "valgrind-echo: valgrind is not installed and we cannot install it" >&2
        exit 1
    fi
fi

echo_bin=${1:-}
if [ -z "$echo_bin" ]; then
    cargo build -p net --example echo
    echo_bin=target/debug/examples/echo
fi
work=$(mktemp -d)
server=
cleanup() {
    if [ -n "$server" ]; then kill -KILL "$server" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

# Closes every descriptor above 2, then becomes valgrind running the example (behind a
# 300 s watchdog that passes SIGTERM on). Call it in a subshell: `( exec_valgrind .. )`
# or `exec_valgrind .. &`.
exec_valgrind() {
    local log=$1
    shift
    for fd in /proc/$BASHPID/fd/*; do
        fd=${fd##*/}
        if [ "$fd" -gt 2 ]; then eval "exec $fd>&-"; fi
    done
    exec timeout -s KILL 300 valgrind --track-fds=yes --leak-check=full \
        --errors-for-leak-kinds=definite --error-exitcode=99 \
        --log-file="$log" "$echo_bin" "$@"
}

# Fails unless the log shows no definite leak and no descriptor open at exit but the 3
# std ones, valgrind's own log file (valgrind 3.19 lists it as "inherited from parent")
# and, once a signal handler was registered, the two ends of sys::signal's process-wide
# self-pipe (by design: it lives as long as the handlers it serves, like tokio's).
check_log() {
    local what=$1 log=$2
    local fds leak verdict
    fds=$(grep -o 'FILE DESCRIPTORS: .* at exit\.' "$log" || true)
    leak=$(grep -o 'definitely lost: .*' "$log" || echo "definitely lost: (no leak summary)")
    # One block per listed descriptor: "Open file descriptor N: ..." up to a bare "==pid==".
    verdict=$(awk -v logfile="$log" '
        / Open file descriptor [0-9]+:/ { flush(); open = 1; block = $0; next }
        open && /^==[0-9]+== *$/ { flush(); next }
        open { block = block "\n" $0 }
        END { flush(); printf "%d %d %d\n", own, pipe, other }
        function flush() {
            if (!open) return
            if (index(block, logfile)) own++
            else if (index(block, "sys::signal::new_pipe")) pipe++
            else { other++; print block > "/dev/stderr" }
            open = 0
        }' "$log")
    read -r own pipe other <<<"$verdict"
    echo "valgrind-echo: $what: $fds = 3 std + $own valgrind log + $pipe signal pipe" \
        "+ $other other; $leak"
    local listed=${fds#FILE DESCRIPTORS: }
    listed=${listed%% open*}
    if [ -z "$fds" ] || [ "$other" != 0 ] || [ "$pipe" -gt 2 ] ||
        [ "$listed" != $((3 + own + pipe)) ]; then
        echo "valgrind-echo: $what: descriptors left open at exit" >&2
        cat "$log" >&2
        exit 1
    fi
    case $leak in
        "definitely lost: 0 bytes in 0 blocks" | "definitely lost: (no leak summary)") ;;
        *)
            echo "valgrind-echo: $what: a definite leak:" >&2
            cat "$log" >&2
            exit 1
            ;;
    esac
}

# 1. The demo: the process ends by itself.
status=0
(exec_valgrind "$work/demo.log" --connections 8 --messages 200) >"$work/demo.out" || status=$?
cat "$work/demo.out"
if [ "$status" != 0 ]; then
    echo "valgrind-echo: the demo exited with status $status" >&2
    cat "$work/demo.log" >&2
    exit 1
fi
check_log demo "$work/demo.log"

# 2. The server alone, driven from outside and stopped by SIGTERM.
exec_valgrind "$work/serve.log" --listen 127.0.0.1:0 >"$work/serve.out" 2>&1 &
server=$!
port=
for _ in $(seq 600); do # 60 s: valgrind starts slowly
    port=$(sed -n 's/^echo server listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$work/serve.out")
    if [ -n "$port" ]; then break; fi
    if ! kill -0 "$server" 2>/dev/null; then break; fi
    sleep 0.1
done
if [ -z "$port" ]; then
    echo "valgrind-echo: the server did not start listening:" >&2
    cat "$work/serve.out" "$work/serve.log" >&2
    exit 1
fi

# One client: sends `rounds` lines, reads each echo back within 10 s and compares.
client() {
    local id=$1 rounds=$2 line reply
    exec {sock}<>"/dev/tcp/127.0.0.1/$port"
    for round in $(seq "$rounds"); do
        line="client $id round $round $(printf '%*s' $((round * 37 % 500)) '' | tr ' ' x)"
        printf '%s\n' "$line" >&"$sock"
        if ! IFS= read -r -t 10 reply <&"$sock" || [ "$reply" != "$line" ]; then
            echo "valgrind-echo: client $id round $round: echo missing or wrong" >&2
            return 1
        fi
    done
    exec {sock}>&-
}
clients=()
for id in $(seq 16); do
    client "$id" 20 &
    clients+=($!)
done
for pid in "${clients[@]}"; do wait "$pid"; done
# Two connections still open (one mid-echo: a line without its newline read back) when
# the signal arrives: the shutdown must close them too.
exec {idle1}<>"/dev/tcp/127.0.0.1/$port"
exec {idle2}<>"/dev/tcp/127.0.0.1/$port"
printf 'unfinished' >&"$idle2"
sleep 1
kill -TERM "$server"
status=0
wait "$server" || status=$?
server=
exec {idle1}>&- {idle2}>&-
cat "$work/serve.out"
if [ "$status" != 0 ]; then
    echo "valgrind-echo: the server exited with status $status after SIGTERM" >&2
    cat "$work/serve.log" >&2
    exit 1
fi
check_log "serve + SIGTERM" "$work/serve.log"
echo "valgrind-echo: ok"
