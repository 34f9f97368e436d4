//! Body-decoding benchmarks, in decoded body bytes per second.
//!
//! Each iteration feeds a 16 MiB body to a fresh [`Decoder`] the way the
//! fetch loop does: the wire bytes arrive in 256 KiB reads (`fetch::BUF_SIZE`),
//! each read is copied into one read buffer (standing in for recv(2)'s copy)
//! and decoded with [`Decoder::decode_ranges`], 64 pieces at a time, as the
//! fetch does before its vectored write. The
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
use rawget::response::body::Decoder;
use rawget::response::framing::Framing;
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

/// `body` in the chunked coding, `chunk` bytes per chunk.
fn chunked(body: &[u8], chunk: usize) -> Vec<u8> {
    let mut wire = Vec::with_capacity(body.len() + body.len() / chunk * 12 + 16);
    for piece in body.chunks(chunk) {
        wire.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        wire.extend_from_slice(piece);
        wire.extend_from_slice(b"\r\n");
    }
    wire.extend_from_slice(b"0\r\n\r\n");
    wire
}

/// Decodes `wire` as the fetch loop does; returns the body bytes produced.
fn decode_like_fetch(framing: Framing, wire: &[u8], buf: &mut [u8]) -> usize {
    let mut decoder = Decoder::new(framing);
    let mut ranges = Vec::with_capacity(MAX_IOV);
    let mut total = 0;
    for read in wire.chunks(buf.len()) {
        let buf = &mut buf[..read.len()];
        buf.copy_from_slice(read);
        let mut pos = 0;
        while pos < buf.len() && !decoder.is_done() {
            ranges.clear();
            let input = &mut buf[pos..];
            pos += decoder
                .decode_ranges(input, &mut ranges, MAX_IOV)
                .expect("valid body");
            for r in &ranges {
                total += r.len();
                black_box(&input[r.clone()]);
            }
        }
    }
    assert!(decoder.is_done());
    total
}

/// The `--raw` path: the framing is followed, nothing is moved.
fn skip_like_fetch(framing: Framing, wire: &[u8], read_size: usize) -> usize {
    let mut decoder = Decoder::new(framing);
    let mut total = 0;
    for read in wire.chunks(read_size) {
        total += decoder.skip(black_box(read)).expect("valid body");
    }
    assert!(decoder.is_done());
    total
}

fn bench_bodies(c: &mut Criterion) {
    let body = body();
    let cases: Vec<(String, Framing, Vec<u8>)> = vec![
        (
            "content-length (reference)".to_owned(),
            Framing::Length(BODY as u64),
            body.clone(),
        ),
        (
            "chunked 1 MiB".to_owned(),
            Framing::Chunked,
            chunked(&body, 1 << 20),
        ),
        (
            "chunked 8 KiB".to_owned(),
            Framing::Chunked,
            chunked(&body, 8 << 10),
        ),
        (
            "chunked 16 B".to_owned(),
            Framing::Chunked,
            chunked(&body, 16),
        ),
    ];
    let mut buf = vec![0u8; BUF_SIZE];
    // Check once, outside the timing, that decoding gives the body back.
    for (name, framing, wire) in &cases {
        let mut out = Vec::with_capacity(BODY);
        let mut decoder = Decoder::new(*framing);
        for read in wire.chunks(BUF_SIZE) {
            let b = &mut buf[..read.len()];
            b.copy_from_slice(read);
            let (_, n) = decoder.decode_in_place(b).unwrap();
            out.extend_from_slice(&b[..n]);
        }
        assert!(out == body, "{name}: decoded body differs");
    }

    let mut group = c.benchmark_group("body 16 MiB");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Bytes(BODY as u64));
    for (name, framing, wire) in &cases {
        group.bench_with_input(BenchmarkId::new("decode_ranges", name), wire, |b, wire| {
            b.iter(|| decode_like_fetch(*framing, wire, &mut buf))
        });
    }
    // (Content-Length skips in O(1) per read: nothing to measure there.)
    for (name, framing, wire) in cases
        .iter()
        .filter(|c| c.0.ends_with("8 KiB") || c.0.ends_with("16 B"))
    {
        group.bench_with_input(BenchmarkId::new("skip (--raw)", name), wire, |b, wire| {
            b.iter(|| skip_like_fetch(*framing, wire, BUF_SIZE))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_bodies);
criterion_main!(benches);
