//! Reading a response: the head ([`head`]), how long the body is
//! ([`framing`]), and decoding the body ([`body`]). No I/O here: each piece
//! works on byte slices, so it is tested at every split point and fuzzed.

pub mod body;
pub mod deviations;
pub mod framing;
pub mod head;
