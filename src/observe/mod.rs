//! What the user is told about a fetch besides its output, all on stderr
//! through the diagnostics writer (or to the `--report` file):
//!
//! - `trace.rs`: the wire view, `-v` (`* ` steps, `> ` the request as
//!   sent, `< ` heads as received, escaped) and `--timing`, and the
//!   timings both are built from.
//! - `progress.rs`: the progress bar (drawn only when the options decided
//!   it; rendering is a pure function).
//! - `report.rs`: the exchange report, for `--explain` (prose) and
//!   `--report` (one object), and its verdict.

pub mod progress;
pub mod report;
pub mod trace;
