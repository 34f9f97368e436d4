//! Writes `-w FORMAT` once the fetch is settled: the formatted pieces to
//! stdout or stderr, unknown variables as warnings. The formatting itself
//! is [`crate::observe::write_out`], pure.

use crate::error::Result;
use crate::observe::report::Report;
use crate::observe::trace::Trace;
use crate::observe::write_out::{render, Stream, Summary};
use crate::output::{diag, StdStream};
use crate::transport::verify_result;

/// Writes `format` for the settled `report`. A failed stdout fails a
/// complete fetch (exit 23); a failed fetch keeps its own error.
pub fn write(format: &str, report: &Report, trace: &Trace, result: Result<()>) -> Result<()> {
    let mut summary = Summary::from_report(report, &trace.hops, &trace.timings);
    if let Some(code) = result.as_ref().err().and_then(|e| verify_result(e)) {
        summary.ssl_verify_result = code;
    }
    let rendered = render(format, &summary);
    for warning in &rendered.warnings {
        diag::line(format_args!("rawget: warning: {warning}"));
    }
    let mut written = Ok(());
    for (to, text) in &rendered.pieces {
        match to {
            Stream::Stderr => diag::write(text.as_bytes()),
            Stream::Stdout if written.is_ok() => {
                written = StdStream::stdout().write_all(text.as_bytes())
            }
            Stream::Stdout => {}
        }
    }
    result.and(written)
}
