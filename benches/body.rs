//! Body-decoding benchmarks, in decoded body bytes per second.
//!
//! Each iteration feeds a response with a 16 MiB body to a fresh
//! [`Reader`], the state machine the fetch drives: the wire bytes arrive in
//! 256 KiB reads (`fetch::BUF_SIZE`), each read is copied into one read
//! buffer (standing in for recv(2)'s copy) and read with [`Reader::read`],
//! 64 pieces at a time, as the fetch does before its vectored write. The
//! Content-Length row does the same copies with no framing to remove: it is
//! the floor the chunked rows are measured against.
//!
//! Chunk sizes: 8 KiB (what many servers emit), 1 MiB (large chunks, close
//! to passthrough), and 16 bytes (the worst case: the chunk-size lines are a
//! quarter of the wire bytes). `skip` is the `--raw` path (framing found,
//! nothing moved).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rawget::fetch::BUF_SIZE;
use rawget::output::MAX_IOV;
use rawget::response::reader::{Event, Reader};
use std::hint::black_box;
use std::time::Duration;

const BODY: usize = 16 << 20;

/// A deterministic, incompressible-looking body.
fn body() -> Vec<u8> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    (0..BODY)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// A response carrying `body` in the chunked coding, `chunk` bytes per chunk.
fn chunked(body: &[u8], chunk: usize) -> Vec<u8> {
    let mut wire = Vec::with_capacity(body.len() + body.len() / chunk * 12 + 64);
    wire.extend_from_slice(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    for piece in body.chunks(chunk) {
        wire.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        wire.extend_from_slice(piece);
        wire.extend_from_slice(b"\r\n");
    }
    wire.extend_from_slice(b"0\r\n\r\n");
    wire
}

/// A response carrying `body` with a Content-Length.
fn with_length(body: &[u8]) -> Vec<u8> {
    let mut wire =
        format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
    wire.extend_from_slice(body);
    wire
}

/// Reads `wire` as the fetch does; calls `each` with every body piece.
/// (Heads are small: every head here is whole in the first read.)
fn read_like_fetch(raw: bool, wire: &[u8], buf: &mut [u8], mut each: impl FnMut(&[u8])) {
    let mut reader = Reader::new("GET").raw(raw);
    let mut ranges = Vec::with_capacity(MAX_IOV);
    for read in wire.chunks(buf.len()) {
        let buf = &mut buf[..read.len()];
        buf.copy_from_slice(read);
        let mut pos = 0;
        while pos < buf.len() {
            let input = &mut buf[pos..];
            let step = reader
                .read(input, &mut ranges, MAX_IOV)
                .expect("valid response");
            if step.event == Event::Body {
                for r in &ranges {
                    each(&input[r.clone()]);
                }
            }
            pos += step.consumed;
            if step.event == Event::Done {
                break;
            }
        }
    }
    assert!(reader.is_done());
}

fn bench_bodies(c: &mut Criterion) {
    let body = body();
    let cases: Vec<(String, Vec<u8>)> = vec![
        ("content-length (reference)".to_owned(), with_length(&body)),
        ("chunked 1 MiB".to_owned(), chunked(&body, 1 << 20)),
        ("chunked 8 KiB".to_owned(), chunked(&body, 8 << 10)),
        ("chunked 16 B".to_owned(), chunked(&body, 16)),
    ];
    let mut buf = vec![0u8; BUF_SIZE];
    // Check once, outside the timing, that reading gives the body back.
    for (name, wire) in &cases {
        let mut out = Vec::with_capacity(BODY);
        read_like_fetch(false, wire, &mut buf, |piece| out.extend_from_slice(piece));
        assert!(out == body, "{name}: decoded body differs");
    }

    let mut group = c.benchmark_group("body 16 MiB");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Bytes(BODY as u64));
    for (name, wire) in &cases {
        group.bench_with_input(BenchmarkId::new("Reader::read", name), wire, |b, wire| {
            b.iter(|| {
                let mut total = 0;
                read_like_fetch(false, wire, &mut buf, |piece| {
                    total += black_box(piece).len()
                });
                total
            })
        });
    }
    // (Content-Length skips in O(1) per read: nothing to measure there.)
    for (name, wire) in cases
        .iter()
        .filter(|c| c.0.ends_with("8 KiB") || c.0.ends_with("16 B"))
    {
        group.bench_with_input(BenchmarkId::new("raw (--raw)", name), wire, |b, wire| {
            b.iter(|| {
                let mut total = 0;
                read_like_fetch(true, wire, &mut buf, |piece| {
                    total += black_box(piece).len()
                });
                total
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_bodies);
criterion_main!(benches);
