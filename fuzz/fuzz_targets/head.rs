//! The response-head scanner and parser on arbitrary bytes.
//!
//! Properties: no panic; a scan resumed after the input arrived in two (or
//! three, or one-byte) pieces gives the same answer as a scan of the whole
//! input, as the read loop relies on; a complete head lies inside the input
//! and is never longer than it; parsing any prefix never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rawget::response::head::{self, HeadScan, HeadScanner};

/// FNV-1a: the split points come from the input's hash, so the input stays
/// a plain response and the fixtures seed the corpus unchanged.
fn hash(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Scans `data` as it would arrive cut at each of `cuts` (ascending).
fn scan_in_pieces(data: &[u8], cuts: &[usize]) -> HeadScan {
    let mut s = HeadScanner::new();
    for &cut in cuts {
        match s.scan(&data[..cut]) {
            HeadScan::Partial => {}
            other => return other,
        }
    }
    s.scan(data)
}

fuzz_target!(|data: &[u8]| {
    let whole = HeadScanner::new().scan(data);
    if let HeadScan::Complete(n) = whole {
        assert!(n > 0 && n <= data.len(), "Complete({n}) of {}", data.len());
    }

    let h = hash(data);
    let len = data.len();
    let a = (h % (len as u64 + 1)) as usize;
    let b = ((h >> 32) % (len as u64 + 1)) as usize;
    let (a, b) = (a.min(b), a.max(b));
    assert_eq!(scan_in_pieces(data, &[a]), whole, "cut at {a}");
    assert_eq!(scan_in_pieces(data, &[a, b]), whole, "cut at {a} and {b}");
    if len <= 512 {
        let every: Vec<usize> = (0..len).collect();
        assert_eq!(scan_in_pieces(data, &every), whole, "one byte at a time");
    }

    if let HeadScan::Complete(n) = whole {
        if let Ok(head) = head::parse(&data[..n]) {
            assert!((100..=999).contains(&head.status), "status {}", head.status);
            let _ = head.is_interim();
            let _ = head.first("content-length");
            let _ = head.values("Transfer-Encoding").count();
        }
    }
    // The parser alone, on anything (it must not panic on a head the
    // scanner would not have delimited).
    let _ = head::parse(data);
});
