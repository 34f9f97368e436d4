//! Where bytes go: the body sink, head routing, the safe `-o FILE`, and
//! the standard streams.
//!
//! - `sink.rs`: [`BodyOut`], the body's one destination (stdout or FILE).
//! - `stdio.rs`: [`StdStream`], unbuffered stdout and stderr.
//! - `file.rs`: the safe `-o FILE` (temporary file, rename or copy).
//! - `temp.rs`: its temporary files (names, attributes, stale ones).
//! - `signals.rs`: what SIGINT/SIGTERM/SIGHUP do to its temporary file.
//! - `heads.rs`: [`HeadOut`], where heads and trailers are printed.
//! - `raw.rs`: [`RawCapture`], `--save-raw FILE`.
//! - `diag.rs`: the one diagnostics writer on stderr, which never panics.

pub mod diag;
mod file;
mod heads;
mod raw;
mod signals;
mod sink;
mod stdio;
mod temp;

pub use file::FileOut;
pub use heads::{HeadOut, HeadRouting};
pub use raw::RawCapture;
pub use sink::{BodyOut, MAX_IOV};
pub use stdio::{stderr_was_closed, stdout_was_closed, StdStream};
