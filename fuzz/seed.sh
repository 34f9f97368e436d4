#!/bin/sh
# Seeds fuzz/corpus/<target>/ from fixtures/ (the corpus directories are not
# committed). Run from anywhere: sh fuzz/seed.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
fixtures="$here/../fixtures"
corpus="$here/corpus"
mkdir -p "$corpus/head" "$corpus/framing" "$corpus/chunked" "$corpus/target" "$corpus/request_framing" "$corpus/socks"

for f in "$fixtures"/*.http "$fixtures"/*.txt; do
    name=$(basename "$f")
    # head and framing take raw responses as they are.
    cp "$f" "$corpus/head/$name"
    cp "$f" "$corpus/framing/$name"
done

# chunked takes a piece-size prefix then a chunked body: the body of every
# chunked fixture (after the blank line), fed one byte at a time (prefix 0)
# and in pieces of 3 and 17 bytes (prefix 2, 2, 16).
for f in "$fixtures"/*.http; do
    grep -qi '^transfer-encoding:.*chunked' "$f" || continue
    name=$(basename "$f" .http)
    body=$(mktemp)
    # Everything after the first CRLF CRLF (the chunked fixtures use CRLF).
    off=$(grep -obUazP '\r\n\r\n' "$f" | head -n 1 | cut -d: -f1)
    tail -c +"$((off + 5))" "$f" >"$body"
    { printf '\000'; cat "$body"; } >"$corpus/chunked/$name-bytes"
    { printf '\002\002\020'; cat "$body"; } >"$corpus/chunked/$name-pieces"
    rm -f "$body"
done
printf '\0015\r\nhello\r\n0\r\n\r\n' >"$corpus/chunked/minimal"
printf '\000FFFFFFFFFF;ext=1\r\nabc' >"$corpus/chunked/huge-claim"
printf '\0010\r\nX-Trailer: a\r\nY: b\r\n\r\n' >"$corpus/chunked/trailers"

# target takes what a user types as a URL.
i=0
for url in \
    'www.baidu.com' \
    'example.com:8080/a?b=1' \
    'http://[::1]:8080/' \
    'https://user:p%40w@host.example/path;x?q=1#frag' \
    'http://127.0.0.1:80/a b' \
    'HTTP://Example.COM/%0d%0aX: y' \
    'localhost:8080' \
    'http://xn--nxasmq6b.example/' \
    'http://h/?\r\nInjected: 1'; do
    i=$((i + 1))
    printf '%s' "$url" >"$corpus/target/url-$i"
done
# request_framing takes the bytes `rawget send` would write: ordinary
# requests in a row, and the ambiguous forms the framer names.
i=0
for req in \
    'GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n' \
    'POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloHEAD / HTTP/1.0\r\n\r\n' \
    'POST / HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /x HTTP/1.1\r\n\r\n' \
    'POST / HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n' \
    'POST / HTTP/1.1\r\nTransfer-Encoding: chunked ,\r\nTransfer-Encoding: chunked\r\n\r\n3;e=1\r\nabc\r\n0\r\n\r\n' \
    'POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\nhello' \
    'POST / HTTP/1.1\r\nContent-Length: 05\r\nContent-Length: 5\r\n\r\nhello' \
    'POST / HTTP/1.1\r\nContent-Length : 5\r\n\r\nhello' \
    '\r\nGET / HTTP/1.1\nX: a\rb\n Folded\n\n'; do
    i=$((i + 1))
    printf "$req" >"$corpus/request_framing/req-$i"
done
# socks takes a selector byte (socks4, 4a, 5, 5h; +4 credentials, +8 an
# IPv6 destination), a piece-size prefix, then all the proxy sends.
printf '\003\000\005\000\005\000\000\001\001\002\003\004\000\120' >"$corpus/socks/socks5h-granted"
printf '\006\002\003\001\005\002\001\000\005\000\000\003\002hi\000\001' >"$corpus/socks/socks5-auth-name"
printf '\012\000\005\000\005\000\000\004AAAAAAAAAAAAAAAA\000\001' >"$corpus/socks/socks5-v6-bound"
printf '\003\000\005\000\005\005\000\001' >"$corpus/socks/socks5h-refused"
printf '\001\000\000\132\000\000\000\000\000\000' >"$corpus/socks/socks4a-granted"
printf '\000\001\004\000\133' >"$corpus/socks/socks4-rejected"
echo "seeded: $(ls "$corpus/head" | wc -l) head, $(ls "$corpus/framing" | wc -l) framing, $(ls "$corpus/chunked" | wc -l) chunked, $(ls "$corpus/target" | wc -l) target, $(ls "$corpus/request_framing" | wc -l) request_framing, $(ls "$corpus/socks" | wc -l) socks"
