//! The fetch: the driver that does the I/O around the sans-I/O
//! [`Reader`](crate::response::reader::Reader), one function per step.
//!
//! [`run`] opens every output, follows redirects (`Fetch::follow`), and
//! settles the outcome (`Fetch::settle`): commit or abort the `-o` file,
//! print the timing and `--explain`, write `--report`. One exchange
//! (`exchange.rs`) is connect, send, receive the head, receive the body,
//! finish; the connect step, shared with `rawget send`, is `dial.rs`
//! (through a proxy: `tunnel.rs`); the connection's buffer and reads are in
//! `conn.rs`. The body is decoded in place and written straight from the
//! read buffer (or spliced), so memory stays flat whatever its size, and
//! reading stops as soon as the framing says the body is complete.
//!
//! When two things fail, the first failure wins: a failed fetch keeps its
//! exit code even if `--report` cannot be written then (that is a warning);
//! a complete fetch whose `--report` cannot be written is exit 23.

pub(crate) mod conn;
mod decode;
pub(crate) mod dial;
pub(crate) mod exchange;
mod naming;
mod ranges;
mod retry;
mod socks;
mod tunnel;
mod upload;
mod write_out;

use std::ops::Range;

use crate::cookies::Jar;
use crate::error::{one_line, Error, ErrorKind, Result};
use crate::observe::progress::Progress;
use crate::observe::report::{FindingJson, Hop, Report};
use crate::observe::trace::Trace;
use crate::observe::wire_trace::WireTrace;
use crate::options::Options;
use crate::output::diag;
use crate::output::sink::BodySink;
use crate::output::{BodyOut, HeadOut, RawCapture, StdStream, MAX_IOV};
use crate::request;
use crate::response::deviations::Finding;
use crate::response::redirect;

pub use conn::BUF_SIZE;

/// Runs the fetch the options describe.
pub fn run(opts: &Options) -> Result<()> {
    if opts.dry_run {
        // The same bytes the fetch would send, from the same functions.
        let spec = Jar::new(&opts.cookies, &opts.target.url).apply(&opts.spec, &opts.target.url);
        let mut out = StdStream::stdout();
        let head = request::build_head(&opts.target, &spec);
        // What would really go on the wire: through a proxy too.
        let head = dial::dry_run_head(&opts.connect, &opts.target, head, &spec.user_agent)?;
        out.write_all(&head)?;
        return match upload::write_body(&spec, &mut out) {
            Ok(_) => Ok(()),
            Err(upload::Failure::Read(e)) => Err(e),
            Err(upload::Failure::Write(e)) => {
                Err(Error::new(ErrorKind::Write, "could not write to stdout").with_source(e))
            }
        };
    }
    retry::run(opts)
}

/// One attempt at the whole fetch (`--retry` makes several): its outcome,
/// and whether it ended on a status worth retrying.
fn attempt(opts: &Options, retry_left: bool) -> (Result<()>, Option<retry::Transient>) {
    // Open every output before connecting: a bad -o fails at once.
    let mut fetch = match Fetch::open(opts) {
        Ok(fetch) => fetch,
        Err(e) => return (Err(e), None),
    };
    fetch.retry_left = retry_left;
    let result = fetch.follow();
    let transient = fetch.transient.take();
    (fetch.settle(result), transient)
}

/// Writes `report` as JSON to `path` (`-` is stdout).
fn write_json(report: &impl serde::Serialize, path: &std::path::Path) -> Result<()> {
    let mut text = serde_json::to_vec_pretty(report).map_err(|e| {
        Error::new(ErrorKind::Write, "could not encode the JSON summary").with_source(e)
    })?;
    text.push(b'\n');
    if path.as_os_str() == "-" {
        return StdStream::stdout().write_all(&text);
    }
    std::fs::write(path, text).map_err(|e| {
        Error::new(
            ErrorKind::Write,
            format!("could not write {}", path.display()),
        )
        .with_source(e)
    })
}

/// Writes the `--json` report after an exchange that ended with `result`:
/// the exchange's own failure wins over a failure to write the report
/// (module doc). The fetch's last step, and `rawget send`'s.
pub(crate) fn with_json(
    result: Result<()>,
    report: &impl serde::Serialize,
    path: &std::path::Path,
) -> Result<()> {
    match (result, write_json(report, path)) {
        (Ok(()), json) => json,
        (Err(e), Ok(())) => Err(e),
        (Err(e), Err(json)) => {
            diag::line(format_args!("rawget: warning: {}", one_line(&json)));
            Err(e)
        }
    }
}

/// Everything one fetch writes to, across its hops.
struct Fetch<'a> {
    opts: &'a Options,
    sink: BodySink,
    heads: HeadOut,
    raw: Option<RawCapture>,
    trace: Trace,
    report: Report,
    /// Where the body pieces of one read lie in the read buffer (reused:
    /// no allocation per read).
    ranges: Vec<Range<usize>>,
    /// `-b`, `-c`: the cookies across hops.
    cookies: Jar,
    /// The final body was close-delimited (its completeness unverifiable).
    close_delimited: bool,
    /// The pipe for splice(2), made on first use; `Err` once splice failed.
    #[cfg(target_os = "linux")]
    pipe: Option<std::io::Result<crate::transport::splice::Pipe>>,
    /// The body's decoders, when its codings are undone (`decode.rs`).
    decoding: Option<crate::response::coding::Decoding>,
    /// Their output buffer, allocated with the first decoder.
    decoded: Vec<u8>,
    /// `--retry` has an attempt left after this one.
    retry_left: bool,
    /// This attempt ended on a status worth retrying (`retry.rs`).
    transient: Option<retry::Transient>,
}

/// What one exchange ended with.
enum Outcome {
    /// The final response was written.
    Done,
    /// A redirect to follow.
    Redirect { status: u16, location: String },
}

impl<'a> Fetch<'a> {
    /// Opens the body's destination, the `-D` and `--save-raw` files.
    fn open(opts: &'a Options) -> Result<Fetch<'a>> {
        let out = &opts.output;
        naming::create_dirs(opts)?;
        let body = match (out.body.as_deref(), opts.bodies.resume) {
            (Some(path), Some(at)) => BodyOut::append(path, at, out.keep_partial)?,
            (path, _) => BodyOut::open(path, out.keep_partial)?,
        };
        Ok(Fetch {
            opts,
            sink: BodySink::new(body, Progress::new(out.progress), out.refuse_binary)
                .limit(opts.bodies.max_filesize),
            heads: match out.append_captures {
                true => HeadOut::open_append(&out.heads)?,
                false => HeadOut::open(&out.heads)?,
            },
            raw: out
                .save_raw
                .as_deref()
                .map(match out.append_captures {
                    true => RawCapture::append,
                    false => RawCapture::create,
                })
                .transpose()?,
            trace: Trace::new(opts.report.verbose, opts.report.timing)
                .with_colour(opts.report.colour)
                .with_wire(
                    opts.report
                        .trace
                        .as_ref()
                        .map(|t| WireTrace::open(&t.path, t.layout, t.time))
                        .transpose()?,
                ),
            report: Report {
                url: opts.target.redacted(),
                ..Report::default()
            },
            ranges: Vec::with_capacity(MAX_IOV),
            cookies: Jar::new(&opts.cookies, &opts.target.url),
            close_delimited: false,
            #[cfg(target_os = "linux")]
            pipe: None,
            decoding: None,
            decoded: Vec::new(),
            retry_left: false,
            transient: None,
        })
    }

    /// Exchanges until a final response, following redirects under `-L`.
    fn follow(&mut self) -> Result<()> {
        let mut target = self.opts.target.clone();
        let mut spec = self.opts.spec.clone();
        let mut hops = 0u32;
        loop {
            self.report.hops.push(Hop {
                url: target.redacted(),
                ..Hop::default()
            });
            self.trace.begin_hop();
            let before = self.sink.bytes();
            let outcome = self.exchange(&target, &self.cookies.apply(&spec, &target.url));
            self.hop().body_bytes = self.sink.bytes() - before;
            let (status, location) = match outcome? {
                Outcome::Done => return Ok(()),
                Outcome::Redirect { status, location } => (status, location),
            };
            hops += 1;
            let max = self.opts.follow.unwrap_or(0);
            if hops > max {
                return Err(Error::new(
                    ErrorKind::TooManyRedirects,
                    format!("maximum ({max}) redirects followed"),
                ));
            }
            let next = target.url.join(&location).map_err(|e| {
                Error::new(
                    ErrorKind::BadUrl,
                    format!("bad redirect Location \"{location}\""),
                )
                .with_source(e)
            })?;
            let mut next = crate::target::Target::from_url(next)?;
            // -u and the first URL's credentials stay with their origin.
            next.credentials = self.opts.credentials.for_target(&next);
            self.trace
                .step(|| format!("following {status} to {}", next.redacted()));
            spec = redirect::next_request(spec, status, &target, &next);
            target = next;
        }
    }

    /// Settles the outcome: the `-o` file is committed or aborted, then the
    /// timing, `--explain` and `--report` are written. The fetch's own
    /// failure wins over a failure to write `--report` (module doc).
    fn settle(mut self, result: Result<()>) -> Result<()> {
        self.sink.end_progress();
        self.trace.summary(self.sink.bytes());
        let result = match result {
            Ok(()) => self.sink.commit(),
            Err(e) => {
                if let Some(note) = self.sink.abort() {
                    diag::line(format_args!("rawget: {note}"));
                }
                Err(e)
            }
        };
        if let Err(e) = self.cookies.save() {
            diag::line(format_args!("rawget: warning: {}", one_line(&e)));
        }
        let plan = &self.opts.report;
        if !plan.explain && plan.report_file.is_none() && plan.write_out.is_none() {
            return result;
        }
        let report = &mut self.report;
        report.timings = (&self.trace.timings).into();
        for (hop, timings) in report.hops.iter_mut().zip(&self.trace.hops) {
            hop.timings = timings.into();
        }
        report.completeness = report.verdict(result.is_ok(), self.close_delimited);
        report.exit_code = result.as_ref().err().map_or(0, Error::exit_code);
        report.error = result.as_ref().err().map(|e| one_line(e));
        if plan.explain {
            diag::write(report.explain().as_bytes());
        }
        let result = match &plan.write_out {
            Some(format) => write_out::write(format, report, &self.trace, result),
            None => result,
        };
        let Some(path) = &plan.report_file else {
            return result;
        };
        with_json(result, report, path)
    }

    /// The hop being exchanged.
    fn hop(&mut self) -> &mut Hop {
        if self.report.hops.is_empty() {
            self.report.hops.push(Hop::default());
        }
        let last = self.report.hops.len() - 1;
        &mut self.report.hops[last]
    }

    /// Records findings, failing under `--strict`.
    fn note(&mut self, found: Vec<Finding>) -> Result<()> {
        if let (true, Some(first)) = (self.opts.report.strict, found.first()) {
            return Err(Error::new(
                ErrorKind::BadResponse,
                format!("--strict: {} [{}]", first.what, first.clause),
            ));
        }
        self.hop()
            .findings
            .extend(found.iter().map(FindingJson::from));
        Ok(())
    }
}
