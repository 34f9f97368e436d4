//! Where bytes go: the metered body sink, head routing, the safe
//! `-o FILE`, and the standard streams.
//!
//! - `body.rs`: [`BodyOut`], the body's one destination (stdout or FILE).
//! - `sink.rs`: [`BodySink`](sink::BodySink), the one metered body sink:
//!   every body byte, decoded, raw or spliced, is counted there once.
//! - `behind.rs`: a decoded body written to FILE by a second thread while
//!   the next piece is decoded.
//! - `stdio.rs`: [`StdStream`], unbuffered stdout and stderr.
//! - `file.rs`: the safe `-o FILE` (temporary file, rename or copy).
//! - `temp.rs`: its temporary files (names, attributes, stale ones).
//! - `signals/`: what SIGINT/SIGTERM/SIGHUP (Ctrl-C on Windows) do to its
//!   temporary file.
//! - `heads.rs`: [`HeadOut`], where heads and trailers are printed.
//! - `raw.rs`: [`RawCapture`], `--save-raw FILE`.
//! - `diag.rs`: the one diagnostics writer on stderr, which never panics.
//! - `colour.rs`: colour for heads and `-v` prefixes on a terminal.

mod behind;
mod body;
pub mod colour;
pub mod diag;
mod file;
mod heads;
mod raw;
mod signals;
pub mod sink;
mod stdio;
mod temp;

pub use body::{BodyOut, MAX_IOV};
pub use file::FileOut;
pub use heads::{HeadFlags, HeadOut, HeadRouting};
pub use raw::RawCapture;
pub use stdio::{stderr_was_closed, stdout_was_closed, StdStream};
