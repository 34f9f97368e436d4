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
//! - `wire_trace.rs`: `--trace`/`--trace-ascii`, every byte both ways in
//!   curl's layout.
//! - `write_out.rs`: `-w FORMAT`, curl's format language over a summary
//!   of the transfer (pure; the fetch writes what it renders).

pub mod progress;
pub mod report;
pub mod trace;
pub mod wire_trace;
pub mod write_out;
