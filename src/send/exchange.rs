//! The driver of `rawget send`, one function per step: connect (the
//! fetch's own step), write what [`Outgoing`] frames as it reads the input
//! (keep-alive: each request after the previous response; `--pipeline`:
//! written while the responses are read, see `pipeline.rs`; `--split`: in
//! pieces), read each response (`response.rs`) knowing which request it
//! answers (a HEAD's reply has no body), then wait a bounded time for what
//! the server sends unasked. No protocol rule lives here.

use std::io::Write;
use std::ops::Range;
use std::time::{Duration, Instant};

use super::framing::{Framed, Request, Rest};
use super::input::Outgoing;
use super::report::{self, Report, RequestJson, ResponseJson, RestJson};
use super::spool;
use super::Plan;
use crate::error::{connection_error, one_line, Doing, Error, ErrorKind, Result};
use crate::fetch::conn::Conn;
use crate::fetch::dial::{self, Dial};
use crate::observe::report::FindingJson;
use crate::observe::trace::Trace;
use crate::output::{diag, RawCapture, StdStream, MAX_IOV};
use crate::response::reader::{ReadError, Reader};
use crate::transport::Stream;

/// One `rawget send`: its outputs and what happened so far.
pub(super) struct Session<'a> {
    pub(super) plan: &'a Plan,
    /// How many requests the bytes hold, and what follows them.
    pub(super) requests: usize,
    pub(super) rest: Option<Rest>,
    pub(super) trace: Trace,
    pub(super) raw: Option<RawCapture>,
    pub(super) ranges: Vec<Range<usize>>,
    pub(super) report: Report,
    /// Response bytes consumed so far: offsets in what was received.
    pub(super) offset: u64,
    /// The server closed its side.
    pub(super) closed: bool,
    /// Bytes that came after a response before the next request was sent
    /// (keep-alive): the response they followed (from 1) and how many.
    early: Option<(usize, u64)>,
    /// The response (from 1) that was 101 Switching Protocols: the rest of
    /// the connection is the new protocol, not HTTP.
    pub(super) switched: Option<usize>,
}

impl<'a> Session<'a> {
    /// Opens `--save-raw` and `--output-dir` before connecting: a bad path
    /// fails at once.
    /// `framed`: every request kept, for `--report`.
    pub(super) fn open(
        plan: &'a Plan,
        framed: Option<&Framed>,
        requests: usize,
        rest: Option<Rest>,
    ) -> Result<Session<'a>> {
        let raw = plan
            .save_raw
            .as_deref()
            .map(RawCapture::create)
            .transpose()?;
        if let Some(dir) = &plan.output_dir {
            std::fs::create_dir_all(dir).map_err(|e| {
                Error::new(
                    ErrorKind::Write,
                    format!("could not create {}", dir.display()),
                )
                .with_source(e)
            })?;
        }
        let report = Report {
            url: plan.target.redacted(),
            mode: if plan.pipeline {
                "pipeline"
            } else {
                "keep-alive"
            },
            // Kept per request and response only for --report: a pipeline of
            // 100,000 requests is counted, not stored.
            requests: framed.map(Vec::from).unwrap_or_default().into(),
            rest: rest.as_ref().map(|r| RestJson {
                start: r.start,
                error: r.error.to_string(),
                findings: r.findings.iter().map(FindingJson::from).collect(),
            }),
            ..Report::default()
        };
        Ok(Session {
            plan,
            requests,
            rest,
            trace: Trace::new(plan.verbose, false),
            raw,
            ranges: Vec::with_capacity(MAX_IOV),
            report,
            offset: 0,
            closed: false,
            early: None,
            switched: None,
        })
    }

    /// Connects, sends what `out` frames, reads every response, then
    /// waits for stray bytes. However it ends, the rest of the input is
    /// framed, to count its requests for the verdict.
    pub(super) fn run(&mut self, out: &mut Outgoing) -> Result<()> {
        let result = self.exchange(out);
        let counted = out.finish();
        self.requests = out.requests();
        self.rest = out.rest().cloned();
        self.report.rest = self.rest.as_ref().map(|r| RestJson {
            start: r.start,
            error: r.error.to_string(),
            findings: r.findings.iter().map(FindingJson::from).collect(),
        });
        result.and(counted)
    }

    fn exchange(&mut self, out: &mut Outgoing) -> Result<()> {
        let mut conn = self.connect()?;
        let mut reader = Reader::new("GET").findings(true);
        if self.plan.pipeline {
            self.pipeline(&mut conn, &mut reader, out)?;
        } else {
            self.keep_alive(&mut conn, &mut reader, out)?;
        }
        self.linger(&mut conn, &mut reader);
        conn.close();
        Ok(())
    }

    /// Connects with the fetch's own step (`fetch/dial.rs`): directly, to
    /// a Unix socket, or through a proxy's CONNECT tunnel.
    fn connect(&mut self) -> Result<Conn> {
        let plan = self.plan;
        let route = dial::route(&plan.connect, &plan.target, &self.trace)?;
        let silent = plan.silent;
        let mut print = |bytes: &[u8]| match silent {
            true => Ok(()),
            false => StdStream::stdout().write_all(bytes),
        };
        let connected = Dial {
            opts: &plan.connect,
            user_agent: &plan.user_agent,
            trace: &mut self.trace,
            raw: &mut self.raw,
            ranges: &mut self.ranges,
            connect_head: &mut print,
        }
        .connect(&plan.target, route.as_ref())?;
        self.report.address = connected.address;
        self.report.tls = connected.tls;
        Ok(connected.conn)
    }

    /// Each request written after the previous response is complete; then
    /// the rest, if any.
    fn keep_alive(
        &mut self,
        conn: &mut Conn,
        reader: &mut Reader,
        out: &mut Outgoing,
    ) -> Result<()> {
        let mut i = 0;
        while let Some(r) = out.next_request()? {
            self.framed(&r);
            if i > 0 && !conn.is_drained() {
                self.early.get_or_insert((i, conn.input().len() as u64));
            }
            if self.closed {
                return Err(self.closed_early(out, i, None));
            }
            let written = self.write(conn, out.unsent());
            out.sent(out.unsent().len());
            if let Err(e) = written {
                return Err(match i {
                    0 => e,
                    _ => self.closed_early(out, i, Some(e)),
                });
            }
            self.expect(conn, reader, out, i, &r.method)?;
            if self.switched.is_some() {
                return Ok(());
            }
            i += 1;
        }
        while out.rest().is_some() && !self.closed {
            let written = self.write(conn, out.unsent());
            out.sent(out.unsent().len());
            written?;
            if !out.more_rest()? {
                break;
            }
        }
        Ok(())
    }

    /// A request is framed: kept for `--report`.
    pub(super) fn framed(&mut self, r: &Request) {
        if self.plan.report_file.is_some() {
            self.report.requests.push(&RequestJson::from(r));
        }
    }

    /// Writes `bytes`, in `--split` pieces `--delay` apart when asked.
    fn write(&mut self, conn: &mut Conn, bytes: &[u8]) -> Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.trace.request(bytes);
        let (n, sent) = write_pieces(&mut conn.stream, bytes, self.plan.split, self.plan.delay);
        self.sent(n, sent)
    }

    /// Counts `n` bytes written; a failed write is the error of a send.
    pub(super) fn sent(&mut self, n: u64, sent: std::io::Result<()>) -> Result<()> {
        self.report.bytes_sent += n;
        let (elapsed, received) = (self.trace.elapsed(), self.trace.timings.received);
        sent.map_err(|e| connection_error(e, Doing::Send, elapsed, received))
    }

    /// Reads the response to request `i` (from 0), sent with `method`.
    fn expect(
        &mut self,
        conn: &mut Conn,
        reader: &mut Reader,
        out: &mut Outgoing,
        i: usize,
        method: &str,
    ) -> Result<()> {
        reader.next_response(method);
        match self.read_response(conn, reader, Some(i), false)? {
            Some(response) => {
                self.record(response);
                Ok(())
            }
            None => Err(self.no_answer(out, i)),
        }
    }

    /// The connection closed before any byte of the response to request
    /// `i` (from 0): exit 52 when nothing came at all, else 18.
    pub(super) fn no_answer(&mut self, out: &mut Outgoing, i: usize) -> Error {
        if self.report.responses_received == 0 {
            ReadError::EmptyReply.into()
        } else {
            self.closed_early(out, i, None)
        }
    }

    /// Counts a complete response, and keeps it for `--report`; a 101
    /// ends the HTTP exchange.
    pub(super) fn record(&mut self, response: ResponseJson) {
        self.report.responses_received += 1;
        if response.status == Some(101) && response.answers.is_some() {
            self.switched = Some(self.report.responses_received);
        }
        if self.plan.report_file.is_some() {
            self.report.responses.push(&response);
        }
    }

    /// Exit 18: the server closed before answering request `i` (from 0),
    /// of all those the input holds (framed to its end to count them).
    pub(super) fn closed_early(&self, out: &mut Outgoing, i: usize, cause: Option<Error>) -> Error {
        // A failed read of the input leaves the count at what was framed.
        let _ = out.finish();
        let e = Error::new(
            ErrorKind::Partial,
            format!(
                "the server closed the connection after answering {i} of {} requests",
                out.requests()
            ),
        );
        match cause {
            Some(c) => e.with_source(c),
            None => e,
        }
    }

    /// After the last expected response: reads, for at most `--wait` (and
    /// never past `-m`), what the server sends unasked: more responses, or
    /// stray bytes; and whether it closes.
    fn linger(&mut self, conn: &mut Conn, reader: &mut Reader) {
        let until = Instant::now() + self.plan.wait;
        let at = self.plan.connect.deadline.map_or(until, |d| d.min(until));
        conn.stream.set_deadline(Some(at));
        while !(self.closed && conn.is_drained()) {
            reader.next_response("GET");
            match self.read_response(conn, reader, None, true) {
                Ok(Some(response)) => self.record(response),
                Ok(None) => break,
                Err(e) => {
                    self.report.stray_bytes += conn.input().len() as u64;
                    if e.kind() == ErrorKind::Recv {
                        self.closed = true;
                    }
                    diag::step(format_args!("after the last response: {}", one_line(&e)));
                    break;
                }
            }
        }
        self.report.closed = match (self.closed, self.report.responses_received) {
            (true, 0) => "the server closed the connection without a response".to_owned(),
            (true, n) => format!("the server closed the connection after response {n}"),
            (false, _) => format!(
                "the server kept the connection open ({} ms waited)",
                self.plan.wait.as_millis()
            ),
        };
    }

    /// The verdict, printed unless `-s`, and the `--report` report. A desync
    /// is exit 8; an earlier failure keeps its own code.
    pub(super) fn settle(mut self, result: Result<()>) -> Result<()> {
        if self.report.closed.is_empty() {
            self.report.closed = if self.closed {
                "the server closed the connection".to_owned()
            } else {
                "the exchange ended early".to_owned()
            };
        }
        let rest = self.rest.as_ref().map(|r| &r.error);
        let verdict = report::verdict(&self.report, self.requests, rest, self.early);
        let result = match (result, &verdict.desync) {
            (Ok(()), Some(d)) => Err(Error::new(
                ErrorKind::BadResponse,
                format!("desync: {d} (evidence of request smuggling)"),
            )),
            (r, _) => r,
        };
        self.report.desync = verdict.desync.is_some();
        self.report.verdict = verdict.lines;
        if let Some(r) = &self.rest {
            let line = format!(
                "the bytes from offset {} are not a request: {}",
                r.start, r.error
            );
            self.report.verdict.insert(1, line);
        }
        if let Some(k) = self.switched {
            let after = report::count(self.requests - k, "request");
            self.report.verdict.push(format!(
                "response {k} is 101 Switching Protocols: the rest of the connection is the new \
                 protocol (read to the close as its body); {after} framed after it not read as HTTP"
            ));
        }
        self.report.exit_code = result.as_ref().err().map_or(0, Error::exit_code);
        self.report.error = result.as_ref().err().map(|e| one_line(e));
        // Nothing sent (no connection): the error says it all.
        if !self.plan.silent && self.report.bytes_sent > 0 {
            for line in &self.report.verdict {
                diag::line(format_args!("verdict: {line}"));
            }
        }
        let Some(path) = &self.plan.report_file else {
            return result;
        };
        let text = serde_json::to_string_pretty(&self.report);
        let Report {
            requests,
            responses,
            ..
        } = &mut self.report;
        spool::write_report(result, text, (requests, responses), path)
    }
}

/// Writes `bytes` to `out` in pieces of `split` bytes (all at once
/// without), sleeping `delay` between them; returns the bytes written and
/// how it ended.
fn write_pieces(
    out: &mut Stream,
    bytes: &[u8],
    split: Option<usize>,
    delay: Duration,
) -> (u64, std::io::Result<()>) {
    let piece = split.unwrap_or(bytes.len()).max(1);
    let mut n = 0;
    for (k, part) in bytes.chunks(piece).enumerate() {
        if k > 0 && !delay.is_zero() {
            std::thread::sleep(delay);
        }
        if let Err(e) = out.write_all(part).and_then(|()| out.flush()) {
            return (n, Err(e));
        }
        n += part.len() as u64;
    }
    (n, Ok(()))
}
