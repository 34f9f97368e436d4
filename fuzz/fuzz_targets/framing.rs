//! The whole read path on a byte stream, through the library's one
//! `Reader` (the state machine the fetch drives), for GET or HEAD, fed in
//! pieces. Properties: no panic; the reader agrees with itself whether
//! the bytes come whole or in pieces; a head over MAX_HEAD is never
//! accepted; and what comes out agrees with the framing (no body for None,
//! at most N bytes for Length(N) and exactly N when done, everything for
//! Close).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rawget::response::framing::Framing;
use rawget::response::head::MAX_HEAD;
use rawget::response::reader::{Event, ReadError, Reader};

fn hash(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// What reading `data` in pieces of `piece` bytes gave.
#[derive(Debug, PartialEq)]
struct Outcome {
    result: Result<(), ReadError>,
    framing: Option<Framing>,
    head_bytes: usize,
    body: usize,
    rest: usize,
    done: bool,
}

fn read(method: &str, data: &[u8], piece: usize) -> Outcome {
    let mut reader = Reader::new(method);
    let (mut ranges, mut pending, mut fed) = (Vec::new(), Vec::new(), 0);
    let (mut head_bytes, mut body) = (0, 0);
    let result = loop {
        let step = match reader.read(&mut pending, &mut ranges, 64) {
            Ok(s) => s,
            Err(e) => break Err(e),
        };
        match step.event {
            Event::Head { .. } => head_bytes += step.consumed,
            Event::Body => body += ranges.iter().map(|r| r.len()).sum::<usize>(),
            Event::Done => {
                pending.drain(..step.consumed);
                break Ok(());
            }
            Event::NeedMore if fed == data.len() => {
                pending.drain(..step.consumed);
                break reader.eof(false);
            }
            Event::NeedMore => {
                let next = (fed + piece).min(data.len());
                pending.drain(..step.consumed);
                pending.extend_from_slice(&data[fed..next]);
                fed = next;
                continue;
            }
        }
        pending.drain(..step.consumed);
    };
    Outcome {
        done: reader.is_done(),
        framing: reader.framing(),
        result,
        head_bytes,
        body,
        rest: pending.len() + data.len() - fed,
    }
}

fuzz_target!(|data: &[u8]| {
    let h = hash(data);
    let method = if h & 1 == 0 { "GET" } else { "HEAD" };
    let piece = ((h >> 8) % 64) as usize + 1;

    let whole = read(method, data, data.len().max(1));
    let cut = read(method, data, piece);
    // A refusal may show fewer bytes of what it refused when it comes in
    // pieces (NotHttp quotes what arrived), and the body pieces before a
    // framing error in the same read are not yielded: on an error, the
    // error and the framing must agree.
    match (&whole.result, &cut.result) {
        (Err(ReadError::NotHttp(_)), Err(ReadError::NotHttp(_))) => return,
        (Err(_), _) | (_, Err(_)) => {
            assert_eq!(
                (&whole.result, whole.framing),
                (&cut.result, cut.framing),
                "whole vs pieces of {piece}"
            );
        }
        _ => assert_eq!(whole, cut, "whole vs pieces of {piece}"),
    }
    assert!(whole.head_bytes <= MAX_HEAD);
    if whole.result.is_err() {
        return;
    }
    if method == "HEAD" {
        assert_eq!(whole.framing, Some(Framing::None));
    }
    match whole.framing {
        Some(Framing::None) => assert_eq!(whole.body, 0),
        Some(Framing::Length(n)) => assert_eq!(whole.body as u64, n),
        Some(Framing::Close) => assert_eq!(whole.rest, 0),
        Some(Framing::Chunked) => assert!(whole.body + whole.head_bytes <= data.len()),
        None => panic!("complete without a final head"),
    }
    assert!(whole.done);
});
