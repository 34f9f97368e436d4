//! Response-head benchmarks: finding the end of a head ([`HeadScanner`]) and
//! parsing it ([`parse`]), in head bytes per second, so regressions show.
//!
//! Two heads: a typical ~700-byte response from a CDN-fronted server, and a
//! 30-header head of the same style. `scan+parse` is what a fetch does once
//! per response when the head arrives in one read; `scan (1-byte reads)` is
//! the worst case of a head trickled one byte per read, which must stay
//! linear (one scan over the bytes, not one per read).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rawget::response::head::{parse, HeadScan, HeadScanner};
use std::hint::black_box;
use std::time::Duration;

/// A typical head (~700 bytes): what a CDN in front of an origin sends.
fn typical_head() -> Vec<u8> {
    let head = "HTTP/1.1 200 OK\r\n\
Date: Wed, 25 Nov 2026 14:00:00 GMT\r\n\
Content-Type: text/html; charset=utf-8\r\n\
Content-Length: 1073741824\r\n\
Connection: keep-alive\r\n\
Server: nginx/1.26.3\r\n\
Last-Modified: Tue, 24 Nov 2026 09:12:44 GMT\r\n\
ETag: \"6743f0ac-40000000\"\r\n\
Accept-Ranges: bytes\r\n\
Cache-Control: public, max-age=3600, stale-while-revalidate=60\r\n\
Vary: Accept-Encoding\r\n\
Strict-Transport-Security: max-age=63072000; includeSubDomains; preload\r\n\
X-Content-Type-Options: nosniff\r\n\
X-Frame-Options: SAMEORIGIN\r\n\
Referrer-Policy: strict-origin-when-cross-origin\r\n\
Set-Cookie: session=3f9a1c2b7d4e8f60a1b2c3d4e5f60718; Path=/; Secure; HttpOnly; SameSite=Lax\r\n\
X-Request-Id: 0d6f3e2a-8b1c-4f5e-9a7d-2c3b4a5f6e7d\r\n\
Age: 1234\r\n\
Via: 1.1 varnish (Varnish/7.5)\r\n\
X-Cache: HIT, HIT\r\n\
\r\n";
    head.as_bytes().to_vec()
}

/// A 30-header head: the typical one plus eleven more fields.
fn thirty_header_head() -> Vec<u8> {
    let mut head = typical_head();
    head.truncate(head.len() - 2);
    for i in 0..11 {
        head.extend_from_slice(
            format!(
                "X-Trace-{i}: span={i:04x}-parent={:04x}-sampled=1\r\n",
                i * 7
            )
            .as_bytes(),
        );
    }
    head.extend_from_slice(b"\r\n");
    head
}

fn count_headers(head: &[u8]) -> usize {
    parse(head).expect("bench head parses").headers.len()
}

fn bench_heads(c: &mut Criterion) {
    let heads = [
        ("typical", typical_head()),
        ("30-headers", thirty_header_head()),
    ];
    let mut group = c.benchmark_group("head");
    group
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for (name, head) in &heads {
        let label = format!("{name} ({} B, {} fields)", head.len(), count_headers(head));
        group.throughput(Throughput::Bytes(head.len() as u64));
        group.bench_with_input(BenchmarkId::new("scan", &label), head, |b, head| {
            b.iter(|| {
                let scan = HeadScanner::new().scan(black_box(head));
                assert_eq!(scan, HeadScan::Complete(head.len()));
                scan
            })
        });
        group.bench_with_input(BenchmarkId::new("parse", &label), head, |b, head| {
            b.iter(|| parse(black_box(head)).unwrap())
        });
        group.bench_with_input(BenchmarkId::new("scan+parse", &label), head, |b, head| {
            b.iter(|| {
                let HeadScan::Complete(end) = HeadScanner::new().scan(black_box(head)) else {
                    unreachable!("bench head is complete")
                };
                parse(&head[..end]).unwrap()
            })
        });
        // httparse alone into a stack array, no copies: the floor under `parse`,
        // which also builds owned names and values.
        group.bench_with_input(
            BenchmarkId::new("httparse only (reference)", &label),
            head,
            |b, head| {
                b.iter(|| {
                    let mut headers = [httparse::EMPTY_HEADER; 64];
                    let mut response = httparse::Response::new(&mut headers);
                    let status = response.parse(black_box(head)).unwrap();
                    black_box(response.headers.len());
                    status
                })
            },
        );
        group.bench_with_input(
            BenchmarkId::new("scan (1-byte reads)", &label),
            head,
            |b, head| {
                b.iter(|| {
                    let mut scanner = HeadScanner::new();
                    for end in 1..=head.len() {
                        if let HeadScan::Complete(n) = scanner.scan(black_box(&head[..end])) {
                            return n;
                        }
                    }
                    unreachable!("bench head is complete")
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, bench_heads);
criterion_main!(benches);
