#!/usr/bin/env bash
# Benchmark `rawget echo-server` against socat and ncat with the same load.
#
# Every server is driven by the same load generator, `rawget echo-client
# --bench` (one tokio thread, every echoed byte checked), for:
#   1. 100 connections x 64 B ping-pong: messages/s, scheduled freely and
#      with the server and the generator pinned to a core each
#   2. 1 connection x 64 B ping-pong: round-trip p50, scheduled freely, and
#      again with server and generator pinned to one core (no cross-core
#      wake-up; the setting in which the performance issue's figures for
#      socat and the C epoll server were taken)
#   3. 1 connection bulk, 1 MiB messages: MiB/s
#   4. 10,000 connections opened, echoed once and held: how many were held,
#      and the server's peak memory meanwhile (summed over all its
#      processes, since socat and ncat fork per connection)
# and, beyond TCP (issue 17), each against its usual peer:
#   5. UDP, 100 peers x 64 B ping-pong: datagrams/s, rawget echo-server
#      --udp against `socat UDP-LISTEN:P,fork PIPE`, and the servers'
#      memory before and at the most (flat: nothing is kept per datagram)
#   6. TLS, 100 connections x 64 B ping-pong: messages/s, rawget
#      echo-server --tls against `ncat --ssl -l -k --exec /bin/cat`
#   7. TLS handshakes/s, one at a time: rawget's generator (`--bench
#      --handshakes`) against both servers, and `openssl s_time -new`
#      against the same servers
# Each figure is the median of RUNS runs (servers interleaved, so a noisy
# neighbour hits them alike). Prints two tables with the ratios.
#
# Usage: scripts/bench-echo.sh            (about 9 minutes on 2 cores)
#   DURATION=SECS per run (default 4), RUNS (default 3), IDLE (default 10000)
#   PARTS="tcp beyond" (default both): which tables to make
# Installs socat and ncat with apt-get if they are missing.
set -euo pipefail

cd "$(dirname "$0")/.."
DURATION=${DURATION:-4}
RUNS=${RUNS:-3}
IDLE=${IDLE:-10000}
BULK=${BULK:-1048576}
PARTS=${PARTS:-tcp beyond}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
BIN=$CARGO_TARGET_DIR/release/rawget
WORK=$(mktemp -d)

# ---- everything we start runs in its own process group; kill those groups.
GROUPS_STARTED=()
cleanup() {
    local g
    for g in "${GROUPS_STARTED[@]}"; do
        kill -TERM -- "-$g" 2>/dev/null || true
    done
    sleep 0.5
    for g in "${GROUPS_STARTED[@]}"; do
        kill -KILL -- "-$g" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "bench-echo: $*" >&2; }

# ---- tools
need=()
command -v socat >/dev/null || need+=(socat)
command -v ncat >/dev/null || need+=(ncat)
if [ ${#need[@]} -gt 0 ]; then
    log "installing ${need[*]}"
    SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
log "building rawget --release"
cargo build --release --quiet

ulimit -n "$(ulimit -Hn)"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
NCPU=$(nproc)

# ---- servers
PORT_SOCAT=${PORT_SOCAT:-17208}
PORT_NCAT=${PORT_NCAT:-17209}
declare -A ADDR PID

start_group() { # name, command...: start in a new session, remember its group
    local name=$1; shift
    setsid "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" </dev/null &
    PID[$name]=$!
    GROUPS_STARTED+=("$!")
}

wait_ready() { # name
    local i
    for i in $(seq 1 100); do
        if timeout 2 "$BIN" echo-client "${ADDR[$1]}" --message ping >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
    log "$1 did not come up"; cat "$WORK/$1.err" >&2; exit 1
}

# ---- helpers
field() { # file, awk condition, column
    awk "$2 {print \$$3}" "$1"
}

median() { # numbers on stdin -> median, or "fail" when there are none
    sort -g | awk '{v[NR]=$1} END {if (NR==0) print "fail"; else if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'
}

bench() { # name, outfile, client args...
    local name=$1 out=$2; shift 2
    if ! timeout $((DURATION * 2 + 15)) "$BIN" echo-client "${ADDR[$name]}" --bench "$@" >"$out" 2>"$out.err"; then
        log "$name: bench $* failed: $(head -c 300 "$out.err") (a timeout, if empty)"
        : >"$out"
    fi
}

pin() { # pid, cpus: every thread of the server and its current children
    local p
    for p in $(pgrep -g "$1") ; do taskset -a -p -c "$2" "$p" >/dev/null 2>&1 || true; done
}

# memory of a server, summed over its process group, kB: "rss pss"
group_mem() {
    pgrep -g "$1" | sed 's|.*|/proc/&/smaps_rollup|' |
        xargs -r awk '/^Rss:/ {r += $2} /^Pss:/ {p += $2} END {print r + 0, p + 0}' 2>/dev/null |
        awk '{r += $1; p += $2} END {print r + 0, p + 0}'
}

# established connections on the server's side of ADDR
held_count() { # addr
    ss -Htn state established "( sport = :${1##*:} )" 2>/dev/null | wc -l
}

tcp_part() {
start_group rawget "$BIN" echo-server --listen 127.0.0.1:0
for _ in $(seq 1 100); do
    [ -s "$WORK/rawget.out" ] && break
    sleep 0.05
done
ADDR[rawget]=$(sed -n '1s/^listening on //p' "$WORK/rawget.out")
start_group socat socat "TCP-LISTEN:$PORT_SOCAT,bind=127.0.0.1,reuseaddr,fork,backlog=4096" PIPE
ADDR[socat]=127.0.0.1:$PORT_SOCAT
# ncat limits itself to 100 clients unless told (-m).
start_group ncat ncat -l -k -m 20000 127.0.0.1 "$PORT_NCAT" -e /bin/cat
ADDR[ncat]=127.0.0.1:$PORT_NCAT
SERVERS=(rawget socat ncat)
for s in "${SERVERS[@]}"; do wait_ready "$s"; done

for run in $(seq 1 "$RUNS"); do
    for s in "${SERVERS[@]}"; do
        log "run $run/$RUNS: $s"
        bench "$s" "$WORK/$s.many.$run" --connections 100 --duration "$DURATION" --size 64
        field "$WORK/$s.many.$run" '$1=="messages/s"' 2 >>"$WORK/$s.many"
        # The same with a core each: server on the last CPU, generator on CPU 0
        # (free scheduling often stacks both on one core, and neighbours move them).
        pin "${PID[$s]}" "$((NCPU - 1))"
        if timeout $((DURATION * 2 + 15)) taskset -c 0 "$BIN" echo-client "${ADDR[$s]}" --bench \
            --connections 100 --duration "$DURATION" --size 64 >"$WORK/$s.split.$run" 2>&1; then
            field "$WORK/$s.split.$run" '$1=="messages/s"' 2 >>"$WORK/$s.manysplit"
        fi
        pin "${PID[$s]}" "0-$((NCPU - 1))"
        bench "$s" "$WORK/$s.one.$run" --connections 1 --duration "$DURATION" --size 64
        field "$WORK/$s.one.$run" '$1=="latency" && $2=="p50"' 3 >>"$WORK/$s.p50"
        pin "${PID[$s]}" 0
        if timeout $((DURATION * 2 + 15)) taskset -c 0 "$BIN" echo-client "${ADDR[$s]}" --bench \
            --connections 1 --duration "$DURATION" --size 64 >"$WORK/$s.pinned.$run" 2>&1; then
            field "$WORK/$s.pinned.$run" '$1=="latency" && $2=="p50"' 3 >>"$WORK/$s.p50pin"
        fi
        pin "${PID[$s]}" "0-$((NCPU - 1))"
        bench "$s" "$WORK/$s.bulk.$run" --connections 1 --duration "$DURATION" --size "$BULK"
        field "$WORK/$s.bulk.$run" '$1=="MiB/s"' 2 >>"$WORK/$s.bulk"
    done
done
for s in "${SERVERS[@]}"; do
    RES[$s.many]=$(med "$WORK/$s.many")
    RES[$s.manysplit]=$(med "$WORK/$s.manysplit")
    RES[$s.p50]=$(med "$WORK/$s.p50")
    RES[$s.p50pin]=$(med "$WORK/$s.p50pin")
    RES[$s.bulk]=$(med "$WORK/$s.bulk")
done

# ---- many idle connections: open, echo once, hold; sample meanwhile
for s in "${SERVERS[@]}"; do
    log "$IDLE held connections: $s"
    base=$(group_mem "${PID[$s]}")
    out=$WORK/$s.idle
    timeout 90 "$BIN" echo-client "${ADDR[$s]}" --bench --connections "$IDLE" --messages 1 \
        --hold 4 >"$out" 2>"$out.err" &
    cpid=$!
    peak_rss=0; peak_pss=0; peak_held=0
    while kill -0 "$cpid" 2>/dev/null; do
        read -r r p < <(group_mem "${PID[$s]}")
        h=$(held_count "${ADDR[$s]}")
        [ "$r" -gt "$peak_rss" ] && peak_rss=$r
        [ "$p" -gt "$peak_pss" ] && peak_pss=$p
        [ "$h" -gt "$peak_held" ] && peak_held=$h
        sleep 0.5
    done
    wait "$cpid" || true
    if grep -q '^latency max' "$out"; then
        RES[$s.ok]=yes
    else
        RES[$s.ok]=no
        log "$s: $(head -c 300 "$out.err")"
    fi
    RES[$s.held]=$peak_held
    RES[$s.rss]=$(awk -v k="$peak_rss" 'BEGIN {printf "%.1f", k/1024}')
    RES[$s.pss]=$(awk -v k="$peak_pss" 'BEGIN {printf "%.1f", k/1024}')
    RES[$s.base]=$(echo "$base" | awk '{printf "%.1f", $1/1024}')
    sleep 2 # let forked children exit before the next server
done

# ---- the table
row() { # label, key, direction
    printf '%-44s %10s %10s %10s %9s %9s\n' "$1" "${RES[rawget.$2]}" "${RES[socat.$2]}" "${RES[ncat.$2]}" \
        "$(ratio "${RES[rawget.$2]}" "${RES[socat.$2]}" "$3")" "$(ratio "${RES[rawget.$2]}" "${RES[ncat.$2]}" "$3")"
}
echo
echo "load: rawget echo-client --bench, same for every server; median of $RUNS runs of ${DURATION}s"
echo "machine load average after the TCP part: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "socat: TCP-LISTEN,fork,backlog=4096 PIPE; ncat $(ncat --version 2>&1 | awk '{print $3; exit}'): -l -k -m 20000 -e /bin/cat"
echo "ratios are rawget's advantage (>1 is better for rawget)"
echo
printf '%-44s %10s %10s %10s %9s %9s\n' "work" "rawget" "socat" "ncat" "vs socat" "vs ncat"
row "100 conns x 64 B ping-pong, messages/s" many higher
row "  the same, server and generator a core each" manysplit higher
row "1 conn x 64 B, p50 round trip, us" p50 lower
row "1 conn x 64 B, p50, same core, us" p50pin lower
row "1 conn bulk $((BULK / 1024)) KiB messages, MiB/s" bulk higher
row "$IDLE conns: most held at once" held higher
row "  every one echoed and held (bench passed)" ok none
row "  server memory then, RSS sum, MiB" rss lower
row "  server memory then, PSS sum, MiB" pss lower
row "  server memory before, RSS sum, MiB" base lower
}

# ---- beyond TCP: UDP against socat, TLS against ncat (issue 17)
beyond_part() {
    local CERT=fixtures/tls/server.pem KEY=fixtures/tls/server.key CA=fixtures/tls/ca.pem
    local PORT_SOCAT_UDP=${PORT_SOCAT_UDP:-17210} PORT_NCAT_TLS=${PORT_NCAT_TLS:-17211}
    start_group rawget_udp "$BIN" echo-server --udp --listen 127.0.0.1:0
    start_group rawget_tls "$BIN" echo-server --tls --cert "$CERT" --key "$KEY" --listen 127.0.0.1:0
    for n in rawget_udp rawget_tls; do
        for _ in $(seq 1 100); do [ -s "$WORK/$n.out" ] && break; sleep 0.05; done
        ADDR[$n]=$(sed -n '1s/^listening on //p' "$WORK/$n.out")
    done
    # -T 10: a child whose peer has gone exits after 10 s instead of never.
    start_group socat_udp socat -T 10 "UDP-LISTEN:$PORT_SOCAT_UDP,bind=127.0.0.1,reuseaddr,fork" PIPE
    ADDR[socat_udp]=127.0.0.1:$PORT_SOCAT_UDP
    start_group ncat_tls ncat --ssl --ssl-cert "$CERT" --ssl-key "$KEY" -l -k -m 20000 127.0.0.1 "$PORT_NCAT_TLS" \
        --exec /bin/cat
    ADDR[ncat_tls]=127.0.0.1:$PORT_NCAT_TLS
    local i n
    for n in rawget_udp socat_udp; do
        for i in $(seq 1 100); do
            timeout 2 "$BIN" echo-client --udp "${ADDR[$n]}" --message ping >/dev/null 2>&1 && break
            sleep 0.1
        done
    done
    for n in rawget_tls ncat_tls; do
        for i in $(seq 1 100); do
            timeout 2 "$BIN" echo-client --tls --cacert "$CA" "${ADDR[$n]}" --message ping >/dev/null 2>&1 && break
            sleep 0.1
        done
    done
    for n in rawget_udp socat_udp; do RES[$n.base]=$(group_mem "${PID[$n]}" | awk '{printf "%.1f", $1/1024}'); done

    local run s peak r p
    for run in $(seq 1 "$RUNS"); do
        for s in rawget_udp socat_udp; do
            log "run $run/$RUNS: $s"
            bench "$s" "$WORK/$s.udp.$run" --udp --connections 100 --duration "$DURATION" --size 64 &
            local cpid=$!
            peak=0
            while kill -0 "$cpid" 2>/dev/null; do
                read -r r p < <(group_mem "${PID[$s]}")
                [ "$r" -gt "$peak" ] && peak=$r
                sleep 0.5
            done
            wait "$cpid" || true
            echo "$peak" >>"$WORK/$s.udppeak"
            field "$WORK/$s.udp.$run" '$1=="datagrams/s"' 2 >>"$WORK/$s.udprate"
            field "$WORK/$s.udp.$run" '$1=="lost"' 3 | tr -d '(%)' >>"$WORK/$s.udploss"
        done
        for s in rawget_tls ncat_tls; do
            log "run $run/$RUNS: $s"
            bench "$s" "$WORK/$s.tls.$run" --tls --cacert "$CA" --connections 100 --duration "$DURATION" --size 64
            field "$WORK/$s.tls.$run" '$1=="messages/s"' 2 >>"$WORK/$s.tlsrate"
            bench "$s" "$WORK/$s.hs.$run" --tls --cacert "$CA" --handshakes --connections 1 --duration "$DURATION"
            field "$WORK/$s.hs.$run" '$1=="handshakes/s"' 2 >>"$WORK/$s.hsrate"
            # s_time: N connections in T real seconds (one at a time, full handshakes).
            timeout $((DURATION * 2 + 15)) openssl s_time -connect "${ADDR[$s]}" -new -time "$DURATION" \
                -CAfile "$CA" >"$WORK/$s.stime.$run" 2>&1 || true
            awk '/connections in .* real seconds/ {printf "%.0f\n", $1 / $4}' "$WORK/$s.stime.$run" \
                >>"$WORK/$s.stime"
        done
    done
    for s in rawget_udp socat_udp; do
        RES[$s.udprate]=$(med "$WORK/$s.udprate")
        RES[$s.udploss]=$(med "$WORK/$s.udploss")
        RES[$s.udppeak]=$(awk '{if ($1 > m) m = $1} END {printf "%.1f", m/1024}' "$WORK/$s.udppeak")
    done
    for s in rawget_tls ncat_tls; do
        RES[$s.tlsrate]=$(med "$WORK/$s.tlsrate")
        RES[$s.hsrate]=$(med "$WORK/$s.hsrate")
        RES[$s.stime]=$(med "$WORK/$s.stime")
    done
    row2() { # label, rawget key, peer key, direction
        printf '%-52s %10s %10s %9s\n' "$1" "${RES[$2]}" "${RES[$3]}" "$(ratio "${RES[$2]}" "${RES[$3]}" "$4")"
    }
    echo
    echo "beyond TCP: rawget against its usual peer, same generator (rawget echo-client --bench)"
    echo "socat: -T 10 UDP-LISTEN,fork PIPE; ncat: --ssl -l -k -m 20000 --exec /bin/cat; $(openssl version)"
    echo
    printf '%-52s %10s %10s %9s\n' "work" "rawget" "peer" "vs peer"
    row2 "UDP 100 peers x 64 B ping-pong, datagrams/s (socat)" rawget_udp.udprate socat_udp.udprate higher
    row2 "  lost, % (median)" rawget_udp.udploss socat_udp.udploss none
    row2 "  server memory before, RSS sum, MiB" rawget_udp.base socat_udp.base lower
    row2 "  server memory at the most, RSS sum, MiB" rawget_udp.udppeak socat_udp.udppeak lower
    row2 "TLS 100 conns x 64 B ping-pong, messages/s (ncat)" rawget_tls.tlsrate ncat_tls.tlsrate higher
    row2 "TLS handshakes/s, one at a time, rawget --handshakes" rawget_tls.hsrate ncat_tls.hsrate higher
    row2 "TLS handshakes/s, one at a time, openssl s_time -new" rawget_tls.stime ncat_tls.stime higher
}

# The median of a figure's file, or "fail" when every run of it failed.
med() { if [ -s "$1" ]; then median <"$1"; else echo fail; fi; }
ratio() { # a, b, "higher" or "lower" is better for rawget -> "N.NNx" (rawget's advantage)
    awk -v a="$1" -v b="$2" -v dir="$3" 'BEGIN {
        if (dir == "none" || a+0 <= 0 || b+0 <= 0) { print "-"; exit }
        printf "%.2fx", (dir == "higher") ? a / b : b / a }'
}
declare -A RES
echo
echo "echo benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -sm), $NCPU cores, rawget $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "machine load average at start: $LOAD_START"
case " $PARTS " in *" tcp "*) tcp_part ;; esac
case " $PARTS " in *" beyond "*) beyond_part ;; esac
echo
echo "machine load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
