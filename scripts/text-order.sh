#!/usr/bin/env bash
# Writes link/text-order.txt: the functions rawget's everyday fetches run,
# which build.rs hands to the linker (lld's --symbol-ordering-file) so
# that their code lies together at the start of .text.
#
#   scripts/text-order.sh          # rebuild, trace, rewrite the file
#
# Why: the kernel maps a binary's code in 64 KiB windows (fault-around),
# so a fetch's resident code is every window it touches, not the bytes it
# runs. Left where the linker puts it (crate by crate), the 0.5 MB a gzip
# fetch runs lay in 33 of .text's 85 windows: 2.1 MiB resident. Ordered,
# it is about 9 (docs/performance.md, "Code in the order it runs").
#
# How: each scenario below is one rawget run under valgrind's callgrind
# against `rawget replay` on 127.0.0.1 (plain, chunked, gzip, br, zstd,
# TLS; to -o, to stdout, with -v and -i); every function of the rawget
# binary that any of them ran is listed, those more scenarios ran first
# (the start-up every fetch shares, then what fewer share), ties in
# today's address order. Symbol names are the mangled ones: their hashes
# stay the same from build to build of the same toolchain and
# dependencies, so the file goes stale only slowly; a name the binary no
# longer has is skipped by the linker. Rerun after a toolchain or
# dependency update, or a change to what a fetch runs at start.
#
# Needs: valgrind, gzip, brotli, zstd, and a release build (made here).
# Bounded: about a minute; every server is on 127.0.0.1 and is stopped
# on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in valgrind gzip brotli zstd nm; do
  command -v "$tool" >/dev/null || { echo "text-order.sh: needs $tool" >&2; exit 1; }
done
cargo build --release --quiet
BIN=$PWD/target/release/rawget
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# The bodies: 4 MiB of text, so that a coded body fills the decoder's
# buffers many times over (its writer thread starts) and the decoders see
# matches of every length; coded by the tools.
awk 'BEGIN { x = 1; for (i = 0; i < 120000; i++) { line = ""
  for (w = 0; w < 8; w++) { x = (x * 1103515245 + 12345) % 2147483648; line = line " " substr("abcdefghijklmnopqrstuvwxyz", x % 26 + 1, x % 7 + 1) x % 1000 }
  print i line } }' >"$WORK/body.txt"
truncate -s 4194304 "$WORK/body.txt"
gzip -c -6 "$WORK/body.txt" >"$WORK/body.gz"
brotli -c -q 5 "$WORK/body.txt" >"$WORK/body.br"
zstd -q -c -3 "$WORK/body.txt" >"$WORK/body.zst"

# response NAME HEADERS BODY-FILE: a raw response for the replay server.
response() {
  printf 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n%s\r\n' "$2" >"$WORK/$1.http"
  cat "$3" >>"$WORK/$1.http"
}
len() { wc -c <"$1" | tr -d ' '; }
response plain "Content-Length: $(len "$WORK/body.txt")"$'\r\n' "$WORK/body.txt"
response gzip "Content-Encoding: gzip"$'\r\n'"Content-Length: $(len "$WORK/body.gz")"$'\r\n' "$WORK/body.gz"
response br "Content-Encoding: br"$'\r\n'"Content-Length: $(len "$WORK/body.br")"$'\r\n' "$WORK/body.br"
response zstd "Content-Encoding: zstd"$'\r\n'"Content-Length: $(len "$WORK/body.zst")"$'\r\n' "$WORK/body.zst"
{
  printf 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'
  split -b 32768 "$WORK/body.txt" "$WORK/piece."
  for piece in "$WORK"/piece.*; do
    printf '%x\r\n' "$(len "$piece")"
    cat "$piece"
    printf '\r\n'
  done
  printf '0\r\n\r\n'
} >"$WORK/chunked.http"

# serve NAME [REPLAY-OPTIONS]: starts a replay server, sets PORT.
serve() {
  local name=$1
  shift
  "$BIN" replay --listen 127.0.0.1:0 "$@" "$WORK/$name.http" >"$WORK/$name.port" 2>/dev/null &
  PIDS+=($!)
  for _ in $(seq 100); do
    PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$WORK/$name.port")
    [ -n "$PORT" ] && return
    sleep 0.05
  done
  echo "text-order.sh: replay server for $name did not start" >&2
  exit 1
}

N=0
# trace ARGS...: one rawget run under callgrind.
trace() {
  N=$((N + 1))
  valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.$N" --demangle=no \
    "$BIN" "$@" >"$WORK/stdout.$N" 2>"$WORK/stderr.$N" ||
    { echo "text-order.sh: rawget $* failed:" >&2; tail -3 "$WORK/stderr.$N" >&2; exit 1; }
}

for name in plain chunked gzip br zstd; do serve "$name"; eval "PORT_$name=$PORT"; done
serve plain --cert fixtures/tls/server.pem --key fixtures/tls/server.key
PORT_tls=$PORT

URL="http://127.0.0.1:$PORT_plain/file.txt"
trace -s -o "$WORK/out" "$URL"
trace -o "$WORK/out" "$URL"
trace -s "$URL"
trace -v -o "$WORK/out" "$URL"
trace -i "$URL"
trace -s -o "$WORK/out" "http://127.0.0.1:$PORT_chunked/file.txt"
trace -s --compressed -o "$WORK/out" "http://127.0.0.1:$PORT_gzip/file.txt"
trace -s --compressed -o "$WORK/out" "http://127.0.0.1:$PORT_br/file.txt"
trace -s --compressed -o "$WORK/out" "http://127.0.0.1:$PORT_zstd/file.txt"
trace -s --cacert fixtures/tls/ca.pem -o "$WORK/out" "https://localhost:$PORT_tls/file.txt"
trace -s -k -o "$WORK/out" "https://127.0.0.1:$PORT_tls/file.txt"

# Each function of the binary (callgrind's "fn=" records under the binary's
# "ob="), with how many runs ran it; ordered by that, then by address.
nm --defined-only "$BIN" | awk '$2 ~ /^[tTwW]$/ { print $1, $3 }' >"$WORK/addresses"
python3 - "$BIN" "$WORK" "$N" <<'EOF' >link/text-order.txt
import os, re, sys
binary, work, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
address = {}
for line in open(os.path.join(work, "addresses")):
    a, name = line.split()
    address.setdefault(name, int(a, 16))
count = {}
for run in range(1, runs + 1):
    objects, functions, current, seen = {}, {}, None, set()
    for line in open(os.path.join(work, f"cg.{run}")):
        m = re.match(r"^(c?ob)=\((\d+)\)(?: (.*))?$", line.rstrip("\n"))
        if m:
            if m.group(3):
                objects[m.group(2)] = m.group(3)
            if m.group(1) == "ob":
                current = objects[m.group(2)]
            continue
        m = re.match(r"^(c?fn)=\((\d+)\)(?: (.*))?$", line.rstrip("\n"))
        if m:
            if m.group(3):
                functions[m.group(2)] = m.group(3)
            if m.group(1) == "fn" and current == binary:
                seen.add(functions[m.group(2)])
    for name in seen:
        count[name] = count.get(name, 0) + 1
names = sorted((n for n in count if n in address), key=lambda n: (-count[n], address[n]))
print("# The functions rawget's everyday fetches run, in the order the linker")
print("# is to put them at the start of .text (build.rs). Written by")
print("# scripts/text-order.sh, which says why and how; do not edit by hand.")
print(f"# {len(names)} functions from {runs} traced runs.")
for n in names:
    print(n)
EOF
echo "link/text-order.txt: $(grep -vc '^#' link/text-order.txt) functions from $N runs"
