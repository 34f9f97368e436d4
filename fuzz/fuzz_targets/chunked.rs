//! The chunked decoder fed in pieces.
//!
//! Input: byte 0 says how many of the next bytes are piece sizes (0 to 7;
//! each piece is that byte + 1 long, cycling; none means one byte at a
//! time); the rest is the chunked body. Properties: no panic; decoding in
//! those pieces, with `decode_in_place`, gives exactly what decoding the
//! whole input does (body, bytes consumed, trailers, chunk records, done or
//! not, and the same error); `decode` and `decode_in_place` agree; nothing
//! decoded is longer than its input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rawget::response::body::{ChunkInfo, Decoder, FrameError};
use rawget::response::framing::Framing;

#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    body: Vec<u8>,
    consumed: usize,
    trailers: Vec<u8>,
    chunks: Vec<ChunkInfo>,
    done: bool,
    finish_ok: bool,
    error: Option<FrameError>,
}

fn outcome(d: &Decoder, body: Vec<u8>, consumed: usize, error: Option<FrameError>) -> Outcome {
    Outcome {
        body,
        consumed,
        trailers: d.trailers().to_vec(),
        chunks: d.chunks().unwrap_or(&[]).to_vec(),
        done: d.is_done(),
        finish_ok: d.finish().is_ok(),
        error,
    }
}

/// Decodes `input` in pieces of the given sizes (cycling), in place.
fn in_pieces(input: &[u8], sizes: &[usize]) -> Outcome {
    let mut d = Decoder::new(Framing::Chunked).record_chunks();
    let (mut body, mut pos, mut i) = (Vec::new(), 0, 0);
    while pos < input.len() && !d.is_done() {
        let size = sizes[i % sizes.len()];
        i += 1;
        let end = (pos + size).min(input.len());
        let mut piece = input[pos..end].to_vec();
        match d.decode_in_place(&mut piece) {
            Ok((used, n)) => {
                assert!(used <= piece.len() && n <= used, "used {used}, data {n}");
                body.extend_from_slice(&piece[..n]);
                // A piece is used whole unless the body ended inside it.
                assert!(used == piece.len() || d.is_done(), "stopped early");
                pos += used;
            }
            Err(e) => return outcome(&d, body, pos, Some(e)),
        }
    }
    outcome(&d, body, pos, None)
}

/// Decodes all of `input` with `decode` (ranges, not in place).
fn with_ranges(input: &[u8]) -> Outcome {
    let mut d = Decoder::new(Framing::Chunked).record_chunks();
    let (mut body, mut pos) = (Vec::new(), 0);
    while pos < input.len() && !d.is_done() {
        match d.decode(&input[pos..]) {
            Ok(step) => {
                assert!(step.consumed <= input.len() - pos);
                assert!(step.data.start <= step.data.end && step.data.end <= step.consumed);
                body.extend_from_slice(&input[pos + step.data.start..pos + step.data.end]);
                if step.consumed == 0 {
                    assert!(d.is_done(), "no progress");
                }
                pos += step.consumed;
            }
            Err(e) => return outcome(&d, body, pos, Some(e)),
        }
    }
    outcome(&d, body, pos, None)
}

fuzz_target!(|data: &[u8]| {
    let Some((&k, rest)) = data.split_first() else {
        return;
    };
    let k = usize::from(k % 8).min(rest.len());
    let (sizes, input) = rest.split_at(k);
    let sizes: Vec<usize> = if sizes.is_empty() {
        vec![1]
    } else {
        sizes.iter().map(|&s| usize::from(s) + 1).collect()
    };

    let whole = in_pieces(input, &[input.len().max(1)]);
    assert!(whole.body.len() <= whole.consumed && whole.consumed <= input.len());
    // After an error only the error itself is comparable: the body bytes of
    // the failing call are never returned, and that call spans a different
    // stretch of input in each way of feeding.
    let strip = |mut o: Outcome| {
        if o.error.is_some() {
            o.consumed = 0;
            o.body.clear();
            o.trailers.clear();
            o.chunks.clear();
        }
        o
    };
    let whole = strip(whole);
    assert_eq!(strip(in_pieces(input, &sizes)), whole, "pieces {sizes:?}");
    assert_eq!(strip(with_ranges(input)), whole, "decode vs decode_in_place");
    if whole.done {
        assert!(whole.finish_ok);
    }
});
