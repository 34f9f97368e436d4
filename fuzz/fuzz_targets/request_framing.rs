//! The request framer of `rawget send` (RFC 9112 §6 for requests) on any
//! bytes. Properties: no panic; the requests tile the input from its start
//! (each begins where the last ended, heads inside their requests), the
//! rest starts where the last request ends; and framing is prefix-stable:
//! cut anywhere, the prefix frames as the same leading requests, and a cut
//! inside a request that framed whole is "incomplete", never "malformed".
#![no_main]

use libfuzzer_sys::fuzz_target;
use rawget::send::framing::{frame, RequestError};

fuzz_target!(|data: &[u8]| {
    let whole = frame(data);
    let mut at = 0;
    for r in &whole.requests {
        assert_eq!(r.range.start, at);
        assert!(r.range.end > r.range.start && r.range.end <= data.len());
        assert!(r.head_len <= r.range.len());
        at = r.range.end;
    }
    match &whole.rest {
        Some(rest) => assert_eq!(rest.start, at),
        None => assert_eq!(at, data.len()),
    }
    // One cut point chosen by the data, to keep each run cheap.
    let h = data
        .iter()
        .fold(0x811c_9dc5_u32, |h, &b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    let cut = if data.is_empty() { 0 } else { h as usize % data.len() };
    let part = frame(&data[..cut]);
    assert!(part.requests.len() <= whole.requests.len());
    assert_eq!(part.requests[..], whole.requests[..part.requests.len()]);
    if let (Some(rest), None) = (&part.rest, &whole.rest) {
        assert!(
            matches!(
                rest.error,
                RequestError::HeadIncomplete | RequestError::BodyIncomplete
            ),
            "cut {cut}: {}",
            rest.error
        );
    }
});
