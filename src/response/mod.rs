//! Reading a response, with no I/O: the head ([`head`]), how long the body
//! is ([`framing`]), decoding the body ([`body`]), undoing its content
//! codings ([`coding`]), byte ranges ([`range`]), the file name a response suggests
//! ([`disposition`]), the RFC findings
//! ([`deviations`]), and the [`reader`] that composes them into the one
//! read loop every caller drives. Each piece works on byte slices, so it
//! is tested at every split point and fuzzed.

pub mod body;
pub mod coding;
pub mod deviations;
pub mod disposition;
pub mod framing;
pub mod head;
pub mod range;
pub mod reader;
pub mod redirect;
