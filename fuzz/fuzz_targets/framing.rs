//! The whole read path on a byte stream, as `fetch` runs it: find and parse
//! heads (skipping interim 1xx ones, capped at MAX_HEAD), decide the
//! framing for GET or HEAD, decode the body from the bytes after the head in
//! pieces. Properties: no panic, and what comes out agrees with the framing
//! (no body for None, at most N bytes for Length(N) and exactly N when done,
//! everything for Close).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rawget::response::body::Decoder;
use rawget::response::framing::{self, Framing};
use rawget::response::head::{self, HeadScan, HeadScanner, MAX_HEAD};

fn hash(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fuzz_target!(|data: &[u8]| {
    let h = hash(data);
    let method = if h & 1 == 0 { "GET" } else { "HEAD" };
    let piece = ((h >> 8) % 64) as usize + 1;

    // Heads, as `read_head` finds them.
    let mut start = 0;
    let head = loop {
        let mut scanner = HeadScanner::new();
        let len = match scanner.scan(&data[start..]) {
            HeadScan::Complete(n) => n,
            HeadScan::Partial | HeadScan::NotHttp => return,
        };
        if len > MAX_HEAD {
            return;
        }
        let Ok(head) = head::parse(&data[start..start + len]) else {
            return;
        };
        start += len;
        if !head.is_interim() {
            break head;
        }
    };
    let Ok(decision) = framing::decide(method, &head) else {
        return;
    };
    if method == "HEAD" {
        assert_eq!(decision.framing, Framing::None);
    }

    // The body, in pieces, decoded in place.
    let rest = &data[start..];
    let mut decoder = Decoder::new(decision.framing);
    let (mut body_len, mut pos) = (0usize, 0usize);
    while pos < rest.len() && !decoder.is_done() {
        let end = (pos + piece).min(rest.len());
        let mut buf = rest[pos..end].to_vec();
        match decoder.decode_in_place(&mut buf) {
            Ok((used, n)) => {
                assert!(n <= used && used <= buf.len());
                body_len += n;
                pos += used;
            }
            Err(_) => return,
        }
    }
    let finished = decoder.finish();
    match decision.framing {
        Framing::None => assert_eq!(body_len, 0),
        Framing::Length(n) => {
            assert!(body_len as u64 <= n);
            assert_eq!(decoder.is_done(), body_len as u64 == n);
            assert_eq!(finished.is_ok(), decoder.is_done());
        }
        Framing::Close => {
            assert_eq!(body_len, rest.len());
            assert!(finished.is_ok());
        }
        Framing::Chunked => assert!(body_len <= rest.len()),
    }
});
