#!/usr/bin/env bash
# Side-by-side benchmark of rawget against curl and wget, on loopback.
#
#   scripts/bench.sh            # full run: 1 GiB bodies, 5 timed rounds
#   RUNS=3 SIZE_MIB=256 scripts/bench.sh   # quicker, smaller
#   ROWS=send,https scripts/bench.sh       # only these rows
#
# ROWS is a comma list of row names (empty: every row): http, chunked,
# https, small, gzip, br, zstd, bomb, upload, send (the pipeline beside
# wrk), reach (tinyproxy and the happy-eyeballs race), echo. The set-up
# (packages, build, data, nginx) is the same whatever is chosen.
#
# What it does, from a fresh checkout:
#   - installs what is missing from Debian's packages (nginx-light, hyperfine,
#     curl, wget, time, openssl, socat, ncat; pkg-config and libssl-dev to
#     build), running apt-get update first only when something is missing;
#   - builds rawget --release;
#   - makes a SIZE_MIB random file on tmpfs (/dev/shm, kept for the next run)
#     and a 1 KiB one;
#   - starts nginx on 127.0.0.1 high ports with a private config, pid and logs
#     in a temp dir: plain http (sendfile), the same file chunked (nginx's
#     addition filter with an empty after-body: it drops Content-Length so the
#     body goes out chunked, bytes unchanged, in 32-64 KiB chunks), and https
#     with a throwaway self-signed certificate (rawget -k, curl -k,
#     wget --no-check-certificate);
#   - times rawget, curl and wget alternately: each round is one hyperfine
#     invocation with --runs 1 per command (rawget, curl, wget, a reference),
#     after one untimed warmup round; medians over RUNS rounds;
#   - checks every output of every round against the source with cmp, and
#     fails loudly on any difference;
#   - coded bodies (rows gzip, br, zstd, bomb): SIZE_MIB of text precompressed
#     once by the gzip, brotli and zstd tools, sent as they are by nginx
#     (gzip_static; Content-Encoding added for .br/.zst), rawget --compressed
#     beside curl --compressed, outputs compared with the text; and the peak
#     RSS of both on a gzip bomb (1 GiB of zeros in about 1 MiB);
#   - measures peak RSS of the whole process with /usr/bin/time -f %M, one run
#     per tool;
#   - times rawget send --pipeline of PIPELINE_REQUESTS small GETs on one
#     connection beside wrk -t1 -c1 (keep-alive, one connection), rounds
#     alternating, requests per second compared, and its peak RSS;
#   - prints one markdown table of medians, ratios to curl, targets and
#     PASS/MISS, then runs scripts/bench-echo.sh for the echo rows if present;
#   - the reach rows, in a table of their own: SIZE_MIB through tinyproxy
#     (curl -x) and through microsocks (-x socks5h://, beside curl's), with
#     the CPU time each tool cost the proxy in one more run, and a
#     black-holed IPv6 address raced against IPv4;
# Everything it started (nginx) is stopped on exit, even on failure.
#
# Output goes on tmpfs too, so the disk is not what is measured. Absolute
# times drift on a shared machine; the ratios, taken in the same rounds, are
# what to compare. Bounded: about 3-5 minutes on 2 cores (plus the build).
set -euo pipefail

RUNS=${RUNS:-5}
SIZE_MIB=${SIZE_MIB:-1024}
SMALL_FETCHES=${SMALL_FETCHES:-100}
# rawget send --pipeline: this many small GETs on one connection.
PIPELINE_REQUESTS=${PIPELINE_REQUESTS:-100000}
DATA_DIR=${DATA_DIR:-/dev/shm/rawget-bench-data}
ROWS=${ROWS:-}
# row_on NAME: whether row NAME is to run (ROWS empty, or NAME in it).
row_on() { [ -z "$ROWS" ] || [[ ",$ROWS," == *",$1,"* ]]; }

cd "$(dirname "$0")/.."
ROOT=$(pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
RAWGET=$CARGO_TARGET_DIR/release/rawget

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

say() { printf '%s\n' "bench: $*" >&2; }
die() {
  printf '%s\n' "bench: FAILED: $*" >&2
  exit 1
}

# --- packages -------------------------------------------------------------
need_pkgs=()
have() { command -v "$1" >/dev/null 2>&1; }
# Debian puts nginx in /usr/sbin, which a user's PATH may lack.
PATH=$PATH:/usr/sbin:/sbin
have nginx || need_pkgs+=(nginx-light)
have hyperfine || need_pkgs+=(hyperfine)
have curl || need_pkgs+=(curl)
have wget || need_pkgs+=(wget)
[ -x /usr/bin/time ] || need_pkgs+=(time)
have openssl || need_pkgs+=(openssl)
have socat || need_pkgs+=(socat)
have ncat || need_pkgs+=(ncat)
have wrk || need_pkgs+=(wrk)
have cmp || need_pkgs+=(diffutils)
# The coded-body rows (issue 14): bodies made by the gzip, brotli, zstd tools.
have gzip || need_pkgs+=(gzip)
have brotli || need_pkgs+=(brotli)
have zstd || need_pkgs+=(zstd)
have tinyproxy || need_pkgs+=(tinyproxy)
have microsocks || need_pkgs+=(microsocks)
have python3 || need_pkgs+=(python3)
for pkg in pkg-config libssl-dev; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_pkgs+=("$pkg")
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
  say "installing ${need_pkgs[*]}"
  SUDO=
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi
have cargo || die "cargo not found (install Rust first)"

# --- build ----------------------------------------------------------------
say "building rawget --release"
cargo build --release --quiet
[ -x "$RAWGET" ] || die "no binary at $RAWGET"

# --- data -----------------------------------------------------------------
mkdir -p "$DATA_DIR"
BIG=$DATA_DIR/big-${SIZE_MIB}MiB.bin
SMALL=$DATA_DIR/small-1KiB.bin
if [ "$(stat -c %s "$BIG" 2>/dev/null || echo 0)" -ne $((SIZE_MIB << 20)) ]; then
  say "making $BIG (random, kept for later runs)"
  head -c $((SIZE_MIB << 20)) /dev/urandom >"$BIG.tmp"
  mv "$BIG.tmp" "$BIG"
fi
if [ "$(stat -c %s "$SMALL" 2>/dev/null || echo 0)" -ne 1024 ]; then
  head -c 1024 /dev/urandom >"$SMALL"
fi
# Coded bodies (rows 5-8): SIZE_MIB of text that compresses about 4:1 (the
# numbers 1, 2, 3, ... one a line), precompressed once with gzip -6,
# brotli -q 5 and zstd -3 and kept; nginx serves them as they are
# (gzip_static, and Content-Encoding added for .br and .zst), so the rows
# time the clients' decoding, not nginx's compressing. The bomb is 1 GiB of
# zeros in one gzip -9 member (about 1 MiB).
TEXT=$DATA_DIR/text-${SIZE_MIB}MiB.txt
if [ "$(stat -c %s "$TEXT" 2>/dev/null || echo 0)" -ne $((SIZE_MIB << 20)) ]; then
  say "making $TEXT and its gzip, br and zstd forms (kept for later runs)"
  # seq ends on SIGPIPE when head has enough: not a failure (pipefail).
  { seq 1 999999999 || true; } | head -c $((SIZE_MIB << 20)) >"$TEXT.tmp"
  mv "$TEXT.tmp" "$TEXT"
  rm -f "$TEXT.gz" "$TEXT.br" "$TEXT.zst"
fi
[ -s "$TEXT.gz" ] || { gzip -6 -n -c "$TEXT" >"$TEXT.gz.tmp" && mv "$TEXT.gz.tmp" "$TEXT.gz"; }
[ -s "$TEXT.br" ] || { brotli -q 5 -c "$TEXT" >"$TEXT.br.tmp" && mv "$TEXT.br.tmp" "$TEXT.br"; }
[ -s "$TEXT.zst" ] || { zstd -q -3 -c "$TEXT" >"$TEXT.zst.tmp" && mv "$TEXT.zst.tmp" "$TEXT.zst"; }
# One gzip member (curl 7.88 fails with exit 23 on a body of several
# members, which rawget decodes as gzip(1) does; the tests use 16 members
# because they are quicker to make): about 7 s of gzip -9, once.
BOMB=$DATA_DIR/bomb-1GiB-zeros-1member.gz
if [ ! -s "$BOMB" ]; then
  head -c $((1024 << 20)) /dev/zero | gzip -9 -n >"$BOMB.tmp"
  mv "$BOMB.tmp" "$BOMB"
fi
# Outputs on tmpfs too, beside the data, in a directory of this run's own.
WORK=$(mktemp -d /tmp/rawget-bench.XXXXXX)
OUT=$(mktemp -d /dev/shm/rawget-bench-out.XXXXXX)
NGINX_PID=
# Helpers the reach rows start (tinyproxy, microsocks, the black hole); killed at exit.
REACH_PIDS=()

cleanup() {
  for pid in "${REACH_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  if [ -n "$NGINX_PID" ] && kill -0 "$NGINX_PID" 2>/dev/null; then
    kill -TERM "$NGINX_PID" 2>/dev/null || true
    for _ in $(seq 50); do
      kill -0 "$NGINX_PID" 2>/dev/null || break
      sleep 0.1
    done
  fi
  rm -rf "$WORK" "$OUT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- nginx ----------------------------------------------------------------
# nginx's workers run as another user when started by root: let them read.
chmod 755 "$WORK"
chmod a+rX "$DATA_DIR" "$BIG" "$SMALL"
mkdir -p "$WORK/www" "$WORK/tmp" "$WORK/www/up"
# nginx's workers store uploads there (as nobody when started by root).
chmod 777 "$WORK/www/up"
ln -s "$BIG" "$WORK/www/big.bin"
ln -s "$SMALL" "$WORK/www/small.bin"
chmod a+r "$TEXT" "$TEXT.gz" "$TEXT.br" "$TEXT.zst" "$BOMB"
ln -s "$TEXT" "$WORK/www/text.txt"
ln -s "$TEXT.gz" "$WORK/www/text.txt.gz"
ln -s "$TEXT.br" "$WORK/www/text.br"
ln -s "$TEXT.zst" "$WORK/www/text.zst"
ln -s "$BOMB" "$WORK/www/bomb.gz"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
  -keyout "$WORK/key.pem" -out "$WORK/cert.pem" >/dev/null 2>&1 ||
  die "openssl could not make a certificate"

start_nginx() {
  local base=$1
  PLAIN=$base CHUNKED=$((base + 1)) TLS=$((base + 2)) CODED=$((base + 3)) UPLOAD=$((base + 4))
  cat >"$WORK/nginx.conf" <<EOF
daemon on;
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $WORK/tmp/body;
  proxy_temp_path $WORK/tmp/proxy;
  fastcgi_temp_path $WORK/tmp/fastcgi;
  uwsgi_temp_path $WORK/tmp/uwsgi;
  scgi_temp_path $WORK/tmp/scgi;
  default_type application/octet-stream;
  keepalive_timeout 5;
  # rawget send's pipeline row: every request on one connection.
  keepalive_requests 10000000;
  # Plain: Content-Length, sendfile.
  server {
    listen 127.0.0.1:$PLAIN;
    root $WORK/www;
    sendfile on;
  }
  # Chunked: the addition filter drops Content-Length (the body may grow),
  # so nginx sends the file chunked; the after-body is an empty 204, so the
  # bytes are unchanged. Without sendfile, chunks follow output_buffers.
  server {
    listen 127.0.0.1:$CHUNKED;
    root $WORK/www;
    sendfile off;
    output_buffers 2 32k;
    addition_types *;
    location / { add_after_body /empty; }
    location = /empty { return 204; }
  }
  # HTTPS: the plain server's file over TLS, self-signed certificate.
  server {
    listen 127.0.0.1:$TLS ssl;
    root $WORK/www;
    ssl_certificate $WORK/cert.pem;
    ssl_certificate_key $WORK/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
  }
  # Coded: precompressed files sent as they are, with sendfile: gzip_static
  # for text.txt (its .gz), Content-Encoding added for .br, .zst, bomb.gz.
  server {
    listen 127.0.0.1:$CODED;
    root $WORK/www;
    sendfile on;
    gzip_static on;
    location ~ \.br\$ { add_header Content-Encoding br; }
    location ~ \.zst\$ { add_header Content-Encoding zstd; }
    location = /bomb.gz { add_header Content-Encoding gzip; }
  }
  # Upload: PUT (the dav module) stores -T bodies under /up/, any size.
  server {
    listen 127.0.0.1:$UPLOAD;
    root $WORK/www;
    client_max_body_size 0;
    location /up/ { dav_methods PUT; }
  }
}
EOF
  nginx -p "$WORK" -c "$WORK/nginx.conf" -e "$WORK/error.log" 2>>"$WORK/error.log"
}

started=
for _ in 1 2 3 4 5; do
  if start_nginx $((20000 + RANDOM % 30000)); then
    started=1
    break
  fi
done
[ -n "$started" ] || die "nginx did not start: $(tail -3 "$WORK/error.log")"
NGINX_PID=$(cat "$WORK/nginx.pid")
for _ in $(seq 50); do
  curl -sf -o /dev/null "http://127.0.0.1:$PLAIN/small.bin" && break
  sleep 0.1
done
H=http://127.0.0.1:$PLAIN
C=http://127.0.0.1:$CHUNKED
S=https://127.0.0.1:$TLS
Z=http://127.0.0.1:$CODED
say "nginx (pid $NGINX_PID) on $PLAIN plain, $CHUNKED chunked, $TLS https"
# The framings the rows claim, checked once.
head_plain=$(curl -fsS -D - -o /dev/null "$H/small.bin") || die "nginx does not serve the data"
head_chunked=$(curl -fsS -D - -o /dev/null "$C/small.bin") || die "nginx does not serve the data"
grep -qi '^content-length:' <<<"$head_plain" || die "plain server sends no Content-Length"
grep -qi '^transfer-encoding: chunked' <<<"$head_chunked" || die "chunked server does not send chunked"

# --- timing helpers -------------------------------------------------------
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) { print "nan"; exit }
  m = int((NR + 1) / 2); if (NR % 2) print v[m]; else print (v[m] + v[m + 1]) / 2 }'; }

# bench ROW SOURCE NAME1 OUT1 CMD1 NAME2 OUT2 CMD2 ...
# One untimed warmup round, then RUNS rounds; in each round every command
# runs once, in order, under one hyperfine (-N: no shell), and every OUT
# that is not "-" is compared with SOURCE byte for byte, then removed.
# Median seconds per command go to $WORK/ROW.NAME.median.
bench() {
  local row=$1 src=$2
  shift 2
  local names=() outs=() cmds=() args=()
  while [ $# -gt 0 ]; do
    names+=("$1") outs+=("$2") cmds+=("$3")
    shift 3
  done
  local i round
  for i in "${!names[@]}"; do
    args+=(-n "${names[$i]}" "${cmds[$i]}")
    : >"$WORK/$row.${names[$i]}.times"
  done
  for round in $(seq 0 "$RUNS"); do
    for i in "${!outs[@]}"; do [ "${outs[$i]}" = - ] || rm -f "${outs[$i]}"; done
    hyperfine -N --runs 1 --style none --export-csv "$WORK/round.csv" "${args[@]}" \
      >/dev/null 2>"$WORK/hyperfine.err" ||
      die "$row: a command failed: $(tail -5 "$WORK/hyperfine.err")"
    for i in "${!outs[@]}"; do
      [ "${outs[$i]}" = - ] && continue
      cmp "$src" "${outs[$i]}" ||
        die "$row: ${names[$i]}'s output differs from the source (round $round)"
      rm -f "${outs[$i]}"
    done
    [ "$round" -eq 0 ] && continue # warmup
    # CSV: command,mean,stddev,median,... in command order.
    tail -n +2 "$WORK/round.csv" | while IFS=, read -r name _ _ med _; do
      echo "$med" >>"$WORK/$row.$name.times"
    done
  done
  for i in "${!names[@]}"; do
    median <"$WORK/$row.${names[$i]}.times" >"$WORK/$row.${names[$i]}.median"
  done
  say "$row: $(for n in "${names[@]}"; do printf '%s %ss  ' "$n" "$(cat "$WORK/$row.$n.median")"; done)"
}

# rss ROW NAME OUT SOURCE CMD...: peak RSS (KiB) of one run, output checked.
rss() {
  local row=$1 name=$2 out=$3 src=$4
  shift 4
  [ "$out" = - ] || rm -f "$out"
  /usr/bin/time -f %M -o "$WORK/$row.$name.rss" "$@" >/dev/null ||
    die "$row: $name failed under /usr/bin/time"
  if [ "$out" != - ]; then
    cmp "$src" "$out" || die "$row: $name's output differs from the source (RSS run)"
    rm -f "$out"
  fi
}

# proxy_cpu ROW NAME PID OUT SOURCE CMD...: the CPU time (seconds) that
# process PID, a proxy, spent during one run of CMD, output checked. Its
# threads' times, exited ones too, are in /proc/PID/stat.
proxy_cpu() {
  local row=$1 name=$2 pid=$3 out=$4 src=$5 before after
  shift 5
  [ "$out" = - ] || rm -f "$out"
  before=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
  "$@" >/dev/null || die "$row: $name failed (proxy CPU run)"
  after=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
  if [ "$out" != - ]; then
    cmp "$src" "$out" || die "$row: $name's output differs from the source (proxy CPU run)"
    rm -f "$out"
  fi
  awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }' \
    >"$WORK/$row.$name.proxycpu"
}

get() { cat "$WORK/$1"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# --- rows -----------------------------------------------------------------
R=$OUT/rawget C_=$OUT/curl W=$OUT/wget X=$OUT/ref

if row_on http; then
say "row 1: ${SIZE_MIB} MiB over http to -o"
bench http "$BIG" \
  rawget "$R" "$RAWGET -s -o $R $H/big.bin" \
  curl "$C_" "curl -s -o $C_ $H/big.bin" \
  wget "$W" "wget -q -O $W $H/big.bin" \
  write-only - "dd if=/dev/zero of=$X bs=1M count=$SIZE_MIB status=none" \
  curl-null - "curl -s -o /dev/null $H/big.bin"
rm -f "$X"
rss http rawget "$R" "$BIG" "$RAWGET" -s -o "$R" "$H/big.bin"
rss http curl "$C_" "$BIG" curl -s -o "$C_" "$H/big.bin"
rss http wget "$W" "$BIG" wget -q -O "$W" "$H/big.bin"
fi

if row_on chunked; then
say "row 2: ${SIZE_MIB} MiB chunked to -o"
bench chunked "$BIG" \
  rawget "$R" "$RAWGET -s -o $R $C/big.bin" \
  curl "$C_" "curl -s -o $C_ $C/big.bin" \
  wget "$W" "wget -q -O $W $C/big.bin" \
  curl-null - "curl -s -o /dev/null $C/big.bin"
rss chunked rawget "$R" "$BIG" "$RAWGET" -s -o "$R" "$C/big.bin"
rss chunked curl "$C_" "$BIG" curl -s -o "$C_" "$C/big.bin"
rss chunked wget "$W" "$BIG" wget -q -O "$W" "$C/big.bin"
fi

if row_on https; then
say "row 3: ${SIZE_MIB} MiB over https to -o"
bench https "$BIG" \
  rawget "$R" "$RAWGET -s -k -o $R $S/big.bin" \
  curl "$C_" "curl -s -k -o $C_ $S/big.bin" \
  wget "$W" "wget -q --no-check-certificate -O $W $S/big.bin" \
  curl-null - "curl -s -k -o /dev/null $S/big.bin"
rss https rawget "$R" "$BIG" "$RAWGET" -s -k -o "$R" "$S/big.bin"
rss https curl "$C_" "$BIG" curl -s -k -o "$C_" "$S/big.bin"
rss https wget "$W" "$BIG" wget -q --no-check-certificate -O "$W" "$S/big.bin"
fi

if row_on small; then
say "row 4: $SMALL_FETCHES fetches of 1 KiB, one process each"
# Each command is a loop of SMALL_FETCHES processes; the last output is
# checked. /bin/true in the same loop is the floor: starting a process.
loop() { echo "sh -c 'for i in \$(seq $SMALL_FETCHES); do $1; done'"; }
bench small "$SMALL" \
  rawget "$R" "$(loop "$RAWGET -s -o $R $H/small.bin")" \
  curl "$C_" "$(loop "curl -s -o $C_ $H/small.bin")" \
  wget "$W" "$(loop "wget -q -O $W $H/small.bin")" \
  true - "$(loop /bin/true)"
rss small rawget "$R" "$SMALL" "$RAWGET" -s -o "$R" "$H/small.bin"
rss small curl "$C_" "$SMALL" curl -s -o "$C_" "$H/small.bin"
rss small wget "$W" "$SMALL" wget -q -O "$W" "$H/small.bin"
fi

# Rows 5-8 (issue 14): coded bodies decoded to -o, rawget --compressed
# beside curl --compressed; outputs compared with the text itself.
head_gz=$(curl -fsS --compressed -D - -o /dev/null "$Z/text.txt") || die "nginx does not serve text.txt"
grep -qi '^content-encoding: gzip' <<<"$head_gz" || die "gzip_static did not send text.txt.gz"
for coding in gzip br zstd; do
  row_on "$coding" || continue
  path=/text.txt
  [ "$coding" = br ] && path=/text.br
  [ "$coding" = zstd ] && path=/text.zst
  say "row $coding: ${SIZE_MIB} MiB of text sent $coding-coded, --compressed to -o"
  bench "$coding" "$TEXT" \
    rawget "$R" "$RAWGET -s --compressed -o $R $Z$path" \
    curl "$C_" "curl -s --compressed -o $C_ $Z$path"
  rss "$coding" rawget "$R" "$TEXT" "$RAWGET" -s --compressed -o "$R" "$Z$path"
  rss "$coding" curl "$C_" "$TEXT" curl -s --compressed -o "$C_" "$Z$path"
done
if row_on bomb; then
say "row bomb: 1 GiB of zeros in about 1 MiB of gzip, to /dev/null"
rss bomb rawget - - "$RAWGET" -s --compressed -o /dev/null "$Z/bomb.gz"
rss bomb curl - - curl -s --compressed -o /dev/null "$Z/bomb.gz"
fi
if row_on upload; then
say "row 5: ${SIZE_MIB} MiB uploaded with -T (PUT) to nginx"
# The uploaded file nginx stored is the output compared with the source.
U=http://127.0.0.1:$UPLOAD/up
UR=$WORK/www/up/rawget.bin UC=$WORK/www/up/curl.bin
bench upload "$BIG" \
  rawget "$UR" "$RAWGET -s -o /dev/null -T $BIG $U/rawget.bin" \
  curl "$UC" "curl -s -o /dev/null -T $BIG $U/curl.bin"
rss upload rawget "$UR" "$BIG" "$RAWGET" -s -o /dev/null -T "$BIG" "$U/rawget.bin"
rss upload curl "$UC" "$BIG" curl -s -o /dev/null -T "$BIG" "$U/curl.bin"
fi
if row_on send; then
say "row 5: $PIPELINE_REQUESTS small GETs pipelined on one connection (rawget send) beside wrk -t1 -c1"
# Exit 0 from rawget send means every request framed was answered once, in
# order (fewer is exit 18, more or stray bytes exit 8): every response was
# framed and counted. wrk runs keep-alive on one connection for a fixed
# time, in the same rounds; requests per second are compared.
awk -v n="$PIPELINE_REQUESTS" 'BEGIN { for (i = 0; i < n; i++)
  printf "GET /small.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" }' >"$WORK/pipeline.http"
PIPE_CMD="$RAWGET send --pipeline -s --wait 0 $H/ $WORK/pipeline.http"
: >"$WORK/pipeline.wrk.rps"
for round in $(seq 0 "$RUNS"); do
  hyperfine -N --runs 1 --style none --export-csv "$WORK/round.csv" -n rawget "$PIPE_CMD" \
    >/dev/null 2>"$WORK/hyperfine.err" ||
    die "pipeline: rawget send failed: $(tail -5 "$WORK/hyperfine.err")"
  wrk_rps=$(wrk -t1 -c1 -d3s "$H/small.bin" | awk '/^Requests\/sec:/ { print $2 }')
  [ -n "$wrk_rps" ] || die "pipeline: wrk printed no Requests/sec"
  [ "$round" -eq 0 ] && continue # warmup
  tail -n +2 "$WORK/round.csv" | cut -d, -f4 >>"$WORK/pipeline.rawget.times"
  echo "$wrk_rps" >>"$WORK/pipeline.wrk.rps"
done
median <"$WORK/pipeline.rawget.times" >"$WORK/pipeline.rawget.median"
median <"$WORK/pipeline.wrk.rps" >"$WORK/pipeline.wrk.median"
rss pipeline rawget - - $PIPE_CMD
fi

# The RSS floor: a process that only loads the binary and its libraries.
/usr/bin/time -f %M -o "$WORK/floor.rawget.rss" "$RAWGET" --version >/dev/null
/usr/bin/time -f %M -o "$WORK/floor.curl.rss" curl --version >/dev/null
/usr/bin/time -f %M -o "$WORK/floor.wget.rss" wget --version >/dev/null

# --- table ----------------------------------------------------------------
# verdict RATIO MAX [RSS_KIB RSS_MAX_KIB]
verdict() {
  awk -v r="$1" -v max="$2" -v rss="${3:-0}" -v rmax="${4:-0}" 'BEGIN {
    ok = (r <= max) && (rmax == 0 || rss <= rmax); print (ok ? "PASS" : "MISS") }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
secs() { awk -v s="$1" 'BEGIN { printf "%.3f s", s }'; }
ms_each() { awk -v s="$1" -v n="$SMALL_FETCHES" 'BEGIN { printf "%.2f ms", s * 1000 / n }'; }

row_big() { # ROW WORK REFERENCE TARGET MAX_RATIO [RSS_MAX_KIB]
  local row=$1 work=$2 ref=$3 target=$4 max=$5 rss_max=${6:-0}
  local r c w l ratio_ rr rc rw
  r=$(get "$row.rawget.median") c=$(get "$row.curl.median") w=$(get "$row.wget.median")
  rr=$(get "$row.rawget.rss") rc=$(get "$row.curl.rss") rw=$(get "$row.wget.rss")
  ratio_=$(ratio "$r" "$c")
  printf '| %s | %s, %s MiB | %s, %s MiB | %s, %s MiB | %s | %s | %s | %s |\n' \
    "$work" "$(secs "$r")" "$(mib "$rr")" "$(secs "$c")" "$(mib "$rc")" \
    "$(secs "$w")" "$(mib "$rw")" "$ref" "$ratio_" "$target" \
    "$(verdict "$ratio_" "$max" "$rr" "$rss_max")"
}

size_label="$SIZE_MIB MiB"
[ "$SIZE_MIB" -eq 1024 ] && size_label="1 GiB"
{
  echo
  echo "rawget bench: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), Linux $(uname -r), load before: $LOAD_BEFORE, after: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "medians of $RUNS alternating rounds (after 1 warmup round); peak RSS of one run; every output compared byte for byte"
  echo
  echo "| work | rawget | curl | wget | reference | rawget/curl | target | |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
  if row_on http; then
  row_big http "$size_label over http to -o" \
    "write only $(secs "$(get http.write-only.median)"), curl to null $(secs "$(get http.curl-null.median)")" \
    "at most 0.5x curl, at most 4 MiB RSS" 0.5 4096
  fi
  if row_on chunked; then
  row_big chunked "$size_label chunked to -o" "curl to null $(secs "$(get chunked.curl-null.median)")" \
    "at most 0.7x curl" 0.7
  fi
  if row_on https; then
  row_big https "$size_label over https to -o" "curl to null $(secs "$(get https.curl-null.median)")" \
    "at most 0.7x curl" 0.7
  fi
  if row_on small; then
  r=$(get small.rawget.median) c=$(get small.curl.median) w=$(get small.wget.median) t=$(get small.true.median)
  rr=$(get small.rawget.rss) rc=$(get small.curl.rss) rw=$(get small.wget.rss)
  r_ms=$(awk -v s="$r" -v n="$SMALL_FETCHES" 'BEGIN { print s * 1000 / n }')
  printf '| %s fetches of 1 KiB, one process each | %s each, %s MiB | %s each, %s MiB | %s each, %s MiB | %s each | %s | %s | %s |\n' \
    "$SMALL_FETCHES" "$(ms_each "$r")" "$(mib "$rr")" "$(ms_each "$c")" "$(mib "$rc")" \
    "$(ms_each "$w")" "$(mib "$rw")" "start a process $(ms_each "$t")" "$(ratio "$r" "$c")" \
    "at most 1.5 ms each" "$(verdict "$r_ms" 1.5)"
  fi
  coded_file() { case $1 in gzip) echo "$TEXT.gz" ;; br) echo "$TEXT.br" ;; *) echo "$TEXT.zst" ;; esac; }
  for coding in gzip br zstd; do
    row_on "$coding" || continue
    r=$(get "$coding.rawget.median") c=$(get "$coding.curl.median")
    rr=$(get "$coding.rawget.rss") rc=$(get "$coding.curl.rss")
    max=1.0 target="at most curl's time"
    rss_target=0
    if [ "$coding" = gzip ]; then
      max=0.8 target="at most 0.8x curl, RSS at most 0.5x curl's"
      rss_target=$((rc / 2))
    fi
    printf '| %s of text, %s-coded, --compressed to -o | %s, %s MiB | %s, %s MiB | - | %s | %s | %s | %s |\n' \
      "$size_label" "$coding" "$(secs "$r")" "$(mib "$rr")" "$(secs "$c")" "$(mib "$rc")" \
      "sent $(mib $(($(stat -c %s "$(coded_file "$coding")") / 1024))) MiB" \
      "$(ratio "$r" "$c")" "$target" "$(verdict "$(ratio "$r" "$c")" "$max" "$rr" "$rss_target")"
  done
  if row_on bomb; then
  rr=$(get bomb.rawget.rss) rc=$(get bomb.curl.rss)
  printf '| gzip bomb: 1 GiB of zeros in %s MiB, to /dev/null | %s MiB | %s MiB | - | - | - | peak RSS under 16 MiB | %s |\n' \
    "$(mib $(($(stat -L -c %s "$BOMB") / 1024)))" "$(mib "$rr")" "$(mib "$rc")" \
    "$(awk -v r="$rr" 'BEGIN { print (r < 16384 ? "PASS" : "MISS") }')"
  fi
  if row_on upload; then
  r=$(get upload.rawget.median) c=$(get upload.curl.median)
  rr=$(get upload.rawget.rss) rc=$(get upload.curl.rss)
  printf '| %s uploaded with -T (PUT to nginx) | %s, %s MiB | %s, %s MiB | | | %s | %s | %s |\n' \
    "$size_label" "$(secs "$r")" "$(mib "$rr")" "$(secs "$c")" "$(mib "$rc")" "$(ratio "$r" "$c")" \
    "at most 1.5x curl, under 16 MiB RSS" "$(verdict "$(ratio "$r" "$c")" 1.5 "$rr" 16384)"
  fi
  if row_on send; then
  p=$(get pipeline.rawget.median) pw=$(get pipeline.wrk.median) pr=$(get pipeline.rawget.rss)
  p_rps=$(awk -v n="$PIPELINE_REQUESTS" -v s="$p" 'BEGIN { printf "%.0f", n / s }')
  # The ratio is wrk's rate over rawget's, so that at most 1.0 passes.
  p_ratio=$(ratio "$pw" "$p_rps")
  printf '| %s GETs pipelined on one connection (rawget send) | %s req/s, %s MiB | | | wrk -t1 -c1 %.0f req/s | wrk/rawget %s | at least wrk req/s, under 8 MiB RSS | %s |\n' \
    "$PIPELINE_REQUESTS" "$p_rps" "$(mib "$pr")" "$pw" "$p_ratio" "$(verdict "$p_ratio" 1.0 "$pr" 8192)"
  fi
  echo
  echo "reference (timed in the same rounds): write only = dd of $size_label of zeros to tmpfs in 1 MiB writes; curl to null = curl -o /dev/null (receive only); start a process = /bin/true in the same shell loop."
  echo "chunked: nginx's addition filter, chunks of 32-64 KiB."
  echo "RSS floor (\`--version\`): rawget $(mib "$(get floor.rawget.rss)") MiB, curl $(mib "$(get floor.curl.rss)") MiB, wget $(mib "$(get floor.wget.rss)") MiB."
  # The code a fetch holds resident depends on link/text-order.txt
  # matching the binary (build.rs, scripts/text-order.sh): say how well.
  if [ -f link/text-order.txt ] && command -v nm >/dev/null; then
    ordered=$(grep -vc '^#' link/text-order.txt || true)
    found=$(nm --defined-only "$RAWGET" | awk '{ print $3 }' | sort -u |
      grep -cxF -f <(grep -v '^#' link/text-order.txt) || true)
    echo "Code order: $found of the $ordered functions link/text-order.txt lists are in the binary (rerun scripts/text-order.sh when far fewer)."
  fi
} >"$WORK/table.md"
cat "$WORK/table.md"
[ -n "${BENCH_TABLE:-}" ] && cp "$WORK/table.md" "$BENCH_TABLE"

# --- reach rows (issue 12) -------------------------------------------------
# Through tinyproxy (plain http, absolute-form requests) beside curl -x, and
# a black-holed IPv6 address raced against a working IPv4 one. Targets:
# through the proxy rawget's time at most curl's, peak RSS at most 0.5x
# curl's; the race connected within 300 ms (the whole small fetch is timed).
if row_on reach; then
say "reach rows: tinyproxy, happy eyeballs"
TP_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'Port %s\nListen 127.0.0.1\nTimeout 60\nMaxClients 20\nAllow 127.0.0.1\nLogLevel Warning\n' \
  "$TP_PORT" >"$WORK/tinyproxy.conf"
tinyproxy -d -c "$WORK/tinyproxy.conf" >"$WORK/tinyproxy.log" 2>&1 &
REACH_PIDS+=($!)
TP_PID=$!
for _ in $(seq 50); do
  curl -s -o /dev/null -x "127.0.0.1:$TP_PORT" "$H/small.bin" && break
  sleep 0.1
done
bench proxy "$BIG" \
  rawget "$R" "$RAWGET -s -x 127.0.0.1:$TP_PORT -o $R $H/big.bin" \
  curl "$C_" "curl -s -x 127.0.0.1:$TP_PORT -o $C_ $H/big.bin"
rss proxy rawget "$R" "$BIG" "$RAWGET" -s -x "127.0.0.1:$TP_PORT" -o "$R" "$H/big.bin"
rss proxy curl "$C_" "$BIG" curl -s -x "127.0.0.1:$TP_PORT" -o "$C_" "$H/big.bin"
proxy_cpu proxy rawget "$TP_PID" "$R" "$BIG" "$RAWGET" -s -x "127.0.0.1:$TP_PORT" -o "$R" "$H/big.bin"
proxy_cpu proxy curl "$TP_PID" "$C_" "$BIG" curl -s -x "127.0.0.1:$TP_PORT" -o "$C_" "$H/big.bin"

# Through microsocks (SOCKS5, the proxy resolves the name) beside curl -x
# socks5h://: same targets as through tinyproxy.
say "reach rows: microsocks"
MS_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
microsocks -i 127.0.0.1 -p "$MS_PORT" >"$WORK/microsocks.log" 2>&1 &
REACH_PIDS+=($!)
MS_PID=$!
SOCKS=socks5h://127.0.0.1:$MS_PORT
for _ in $(seq 50); do
  curl -s -o /dev/null -x "$SOCKS" "$H/small.bin" && break
  sleep 0.1
done
bench socks "$BIG" \
  rawget "$R" "$RAWGET -s -x $SOCKS -o $R $H/big.bin" \
  curl "$C_" "curl -s -x $SOCKS -o $C_ $H/big.bin"
rss socks rawget "$R" "$BIG" "$RAWGET" -s -x "$SOCKS" -o "$R" "$H/big.bin"
rss socks curl "$C_" "$BIG" curl -s -x "$SOCKS" -o "$C_" "$H/big.bin"
proxy_cpu socks rawget "$MS_PID" "$R" "$BIG" "$RAWGET" -s -x "$SOCKS" -o "$R" "$H/big.bin"
proxy_cpu socks curl "$MS_PID" "$C_" "$BIG" curl -s -x "$SOCKS" -o "$C_" "$H/big.bin"

# The black hole: [::1] on nginx's port, backlog 0, its one queue slot
# filled, so further SYNs are dropped (no firewall needed).
python3 -c '
import socket, sys, time
l = socket.socket(socket.AF_INET6); l.bind(("::1", int(sys.argv[1]))); l.listen(0)
c = socket.socket(socket.AF_INET6); c.connect(("::1", int(sys.argv[1])))
print("ready", flush=True); time.sleep(3600)' "$PLAIN" >"$WORK/hole.log" 2>&1 &
REACH_PIDS+=($!)
for _ in $(seq 50); do grep -q ready "$WORK/hole.log" && break; sleep 0.1; done
grep -q ready "$WORK/hole.log" || die "no black hole on [::1]:$PLAIN: $(cat "$WORK/hole.log")"
RACE="--resolve race.test:$PLAIN:[::1],127.0.0.1 http://race.test:$PLAIN/small.bin"
bench race "$SMALL" \
  rawget "$R" "$RAWGET -s -o $R $RACE" \
  curl "$C_" "curl -s -o $C_ $RACE"
{
  echo
  echo "| work | rawget | curl | rawget/curl | target | |"
  echo "| --- | --- | --- | --- | --- | --- |"
  r=$(get proxy.rawget.median) c=$(get proxy.curl.median)
  rr=$(get proxy.rawget.rss) rc=$(get proxy.curl.rss)
  printf '| %s through tinyproxy | %s, %s MiB | %s, %s MiB | %s (RSS %s) | at most 1x curl, RSS at most 0.5x | %s |\n' \
    "$size_label" "$(secs "$r")" "$(mib "$rr")" "$(secs "$c")" "$(mib "$rc")" \
    "$(ratio "$r" "$c")" "$(ratio "$rr" "$rc")" \
    "$(verdict "$(ratio "$r" "$c")" 1 "$(ratio "$rr" "$rc")" 0.5)"
  r=$(get race.rawget.median) c=$(get race.curl.median)
  ms() { awk -v s="$1" 'BEGIN { printf "%.0f ms", s * 1000 }'; }
  printf '| 1 KiB, [::1] black-holed before 127.0.0.1 | %s | %s | %s | whole fetch within 300 ms | %s |\n' \
    "$(ms "$r")" "$(ms "$c")" "$(ratio "$r" "$c")" "$(verdict "$r" 0.3)"
  r=$(get socks.rawget.median) c=$(get socks.curl.median)
  rr=$(get socks.rawget.rss) rc=$(get socks.curl.rss)
  printf '| %s through microsocks (socks5h) | %s, %s MiB | %s, %s MiB | %s (RSS %s) | at most 1x curl, RSS at most 0.5x | %s |\n' \
    "$size_label" "$(secs "$r")" "$(mib "$rr")" "$(secs "$c")" "$(mib "$rc")" \
    "$(ratio "$r" "$c")" "$(ratio "$rr" "$rc")" \
    "$(verdict "$(ratio "$r" "$c")" 1 "$(ratio "$rr" "$rc")" 0.5)"
  echo
  echo "Both proxies relay on one thread and run a core flat out, so their CPU sets both tools' time; what each tool cost the proxy, one run each: tinyproxy $(get proxy.rawget.proxycpu) s under rawget, $(get proxy.curl.proxycpu) s under curl; microsocks $(get socks.rawget.proxycpu) s under rawget, $(get socks.curl.proxycpu) s under curl."
} >>"$WORK/table.md"
tail -n 10 "$WORK/table.md"
[ -n "${BENCH_TABLE:-}" ] && cp "$WORK/table.md" "$BENCH_TABLE"
fi

# --- echo rows ------------------------------------------------------------
echo
if ! row_on echo; then
  echo "echo rows not chosen (ROWS=$ROWS)"
elif [ -x scripts/bench-echo.sh ] || [ -f scripts/bench-echo.sh ]; then
  say "echo rows: scripts/bench-echo.sh"
  # Kept short so the whole script stays under 10 minutes.
  RUNS=${ECHO_RUNS:-3} DURATION=${ECHO_DURATION:-2} bash scripts/bench-echo.sh
else
  echo "echo rows skipped: scripts/bench-echo.sh not present (the echo server/client is not merged yet)"
fi
