//! The driver of `rawget send`, one function per step: connect (the
//! fetch's own step), write (keep-alive: each request after the previous
//! response; `--pipeline`: everything first; `--split`: in pieces), read
//! each response with the fetch's [`Reader`] on the fetch's [`Conn`],
//! knowing which request it answers (a HEAD's reply has no body), then
//! wait a bounded time for what the server sends unasked. No protocol rule
//! lives here.

use std::io::Write;
use std::ops::Range;
use std::path::Path;
use std::time::{Duration, Instant};

use super::framing::{frames, Framed, Rest};
use super::report::{self, Report, ResponseJson, RestJson};
use super::Plan;
use crate::error::{connection_error, one_line, Doing, Error, ErrorKind, Result};
use crate::fetch::conn::Conn;
use crate::fetch::dial::{self, Dial};
use crate::observe::progress::Progress;
use crate::observe::report::{framing_kind, FindingJson, FramingJson, HeadJson, MAX_HEADS};
use crate::observe::trace::Trace;
use crate::output::sink::BodySink;
use crate::output::{diag, BodyOut, RawCapture, StdStream, MAX_IOV};
use crate::response::framing::Framing;
use crate::response::reader::{Event, ReadError, Reader};
use crate::transport::Stream;

/// One `rawget send`: its outputs and what happened so far.
pub(super) struct Session<'a> {
    plan: &'a Plan,
    /// How many requests the bytes hold, and what follows them.
    requests: usize,
    rest: Option<Rest>,
    trace: Trace,
    raw: Option<RawCapture>,
    ranges: Vec<Range<usize>>,
    report: Report,
    /// Response bytes consumed so far: offsets in what was received.
    offset: u64,
    /// The server closed its side.
    closed: bool,
    /// Bytes that came after a response before the next request was sent
    /// (keep-alive): the response they followed (from 1) and how many.
    early: Option<(usize, u64)>,
    /// The response (from 1) that was 101 Switching Protocols: the rest of
    /// the connection is the new protocol, not HTTP.
    switched: Option<usize>,
    /// Where bodies go without `--output-dir`: counted, then dropped.
    null: Option<BodySink>,
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
            requests: framed.map(Vec::from).unwrap_or_default(),
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
            null: None,
        })
    }

    /// Connects, sends, reads every response, then waits for stray bytes.
    pub(super) fn run(&mut self) -> Result<()> {
        let mut conn = self.connect()?;
        let mut reader = Reader::new("GET").findings(true);
        let bytes = &self.plan.bytes;
        if self.plan.pipeline {
            self.pipeline(&mut conn, &mut reader)?;
        } else {
            for (i, r) in frames(bytes).map_while(Result::ok).enumerate() {
                if i > 0 && !conn.is_drained() {
                    self.early.get_or_insert((i, conn.input().len() as u64));
                }
                if self.closed {
                    return Err(self.closed_early(i, None));
                }
                if let Err(e) = self.write(&mut conn, &bytes[r.range.clone()]) {
                    return Err(match i {
                        0 => e,
                        _ => self.closed_early(i, Some(e)),
                    });
                }
                self.expect(&mut conn, &mut reader, i, &r.method)?;
                if self.switched.is_some() {
                    break;
                }
            }
            if let (Some(start), false) = (self.rest.as_ref().map(|r| r.start), self.closed) {
                self.write(&mut conn, &bytes[start..])?;
            }
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

    /// Writes `bytes`, in `--split` pieces `--delay` apart when asked.
    fn write(&mut self, conn: &mut Conn, bytes: &[u8]) -> Result<()> {
        self.trace.request(bytes);
        let (n, sent) = write_pieces(&mut conn.stream, bytes, self.plan.split, self.plan.delay);
        self.sent(n, sent)
    }

    /// Counts `n` bytes written; a failed write is the error of a send.
    fn sent(&mut self, n: u64, sent: std::io::Result<()>) -> Result<()> {
        self.report.bytes_sent += n;
        let (elapsed, received) = (self.trace.elapsed(), self.trace.timings.received);
        sent.map_err(|e| connection_error(e, Doing::Send, elapsed, received))
    }

    /// `--pipeline`: every byte written while the responses are read. Over
    /// plain TCP a writer thread holds a second handle on the socket, so a
    /// long pipeline cannot stall with the server's replies filling both
    /// sides' buffers; over TLS everything is written first. A server may
    /// answer (and close) before reading everything; its answers are still
    /// worth reading, so a failed write is the error only when nothing
    /// came back.
    fn pipeline(&mut self, conn: &mut Conn, reader: &mut Reader) -> Result<()> {
        let plan = self.plan;
        let Some(Ok(mut writer)) = conn.stream.try_clone_writer() else {
            let sent = self.write(conn, &plan.bytes);
            let read = self.read_pipelined(conn, reader);
            return pipelined_outcome(read, sent);
        };
        self.trace.request(&plan.bytes);
        let (n, sent, read) = std::thread::scope(|s| {
            let handle =
                s.spawn(move || write_pieces(&mut writer, &plan.bytes, plan.split, plan.delay));
            let read = self.read_pipelined(conn, reader);
            if read.is_err() {
                // Unblocks a writer stalled on a server that went away.
                conn.close();
            }
            let (n, sent) = handle
                .join()
                .unwrap_or_else(|_| (0, Err(std::io::ErrorKind::Other.into())));
            (n, sent, read)
        });
        let sent = self.sent(n, sent);
        pipelined_outcome(read, sent)
    }

    /// Reads the response to every request framed, in order.
    fn read_pipelined(&mut self, conn: &mut Conn, reader: &mut Reader) -> Result<()> {
        let plan = self.plan;
        for (i, r) in frames(&plan.bytes).map_while(Result::ok).enumerate() {
            self.expect(conn, reader, i, &r.method)?;
            if self.switched.is_some() {
                break;
            }
        }
        Ok(())
    }

    /// Reads the response to request `i` (from 0), sent with `method`.
    fn expect(
        &mut self,
        conn: &mut Conn,
        reader: &mut Reader,
        i: usize,
        method: &str,
    ) -> Result<()> {
        reader.next_response(method);
        match self.read_response(conn, reader, Some(i), false)? {
            Some(response) => {
                if response.status == Some(101) {
                    self.switched = Some(i + 1);
                }
                self.record(response);
                Ok(())
            }
            None if self.report.responses_received == 0 => Err(ReadError::EmptyReply.into()),
            None => Err(self.closed_early(i, None)),
        }
    }

    /// Counts a complete response, and keeps it for `--report`.
    fn record(&mut self, response: ResponseJson) {
        self.report.responses_received += 1;
        if self.plan.report_file.is_some() {
            self.report.responses.push(response);
        }
    }

    /// Exit 18: the server closed before answering request `i` (from 0).
    fn closed_early(&self, i: usize, cause: Option<Error>) -> Error {
        let e = Error::new(
            ErrorKind::Partial,
            format!(
                "the server closed the connection after answering {i} of {} requests",
                self.requests
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

    /// Reads one response; `answers`: the request it answers (from 0).
    /// `Ok(None)`: the connection closed (or, `lingering`, went quiet)
    /// before any byte of it; a quiet wait cut inside one leaves the bytes
    /// as stray.
    fn read_response(
        &mut self,
        conn: &mut Conn,
        reader: &mut Reader,
        answers: Option<usize>,
        lingering: bool,
    ) -> Result<Option<ResponseJson>> {
        let mut response = ResponseJson {
            answers: answers.map(|i| i + 1),
            start: self.offset,
            ..ResponseJson::default()
        };
        let mut sink: Option<(BodySink, u64)> = None;
        loop {
            let step = reader.read(conn.input(), &mut self.ranges, MAX_IOV);
            let found = reader.take_findings();
            response
                .findings
                .extend(found.iter().map(FindingJson::from));
            let step = step?;
            match &step.event {
                Event::Head { head, interim } => {
                    let bytes = &conn.input()[..step.consumed];
                    self.trace.response(bytes);
                    if !self.plan.silent {
                        StdStream::stdout().write_all(bytes)?;
                    }
                    let keep = self.plan.report_file.is_some();
                    if keep && (!interim || response.heads.len() + 1 < MAX_HEADS) {
                        response.heads.push(HeadJson::from(head));
                    }
                    if !interim {
                        response.status = Some(head.status);
                        if let (Some(f), Some(d)) = (reader.framing(), reader.decision()) {
                            response.framing = Some(FramingJson {
                                kind: framing_kind(d.framing),
                                rule: d.rule,
                            });
                            response.promised = match f {
                                Framing::Length(n) => Some(n),
                                _ => None,
                            };
                        }
                        let n = self.report.responses_received + 1;
                        sink = Some(self.body_sink(n)?);
                    }
                }
                Event::Body => {
                    if let Some((s, _)) = &mut sink {
                        s.write_ranges(conn.input(), &self.ranges)?;
                    }
                }
                Event::Done | Event::NeedMore => {}
            }
            conn.consume(step.consumed);
            self.offset += step.consumed as u64;
            match step.event {
                Event::Done => return self.finish(response, sink).map(Some),
                Event::NeedMore => {}
                _ => continue,
            }
            let doing = if reader.in_head() {
                Doing::Head
            } else {
                Doing::Body(self.offset - response.start)
            };
            match conn.fill(doing, &mut self.raw, &mut self.trace) {
                Ok(true) => {}
                Ok(false) => {
                    self.closed = true;
                    match reader.eof(conn.no_close_notify) {
                        Err(ReadError::EmptyReply) => return Ok(None),
                        Err(e) => return Err(e.into()),
                        Ok(()) => return self.finish(response, sink).map(Some),
                    }
                }
                Err(e) if lingering && e.kind() == ErrorKind::Timeout => {
                    self.report.stray_bytes += conn.input().len() as u64;
                    return Ok(None);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Where the body of response `n` (from 1) goes, and the sink's count
    /// before it: `DIR/response-N.body`, or counted and dropped.
    fn body_sink(&mut self, n: usize) -> Result<(BodySink, u64)> {
        let sink = match (&self.plan.output_dir, self.null.take()) {
            (Some(dir), _) => open_sink(&dir.join(format!("response-{n}.body")))?,
            (None, Some(null)) => null,
            (None, None) => open_sink(Path::new("/dev/null"))?,
        };
        let before = sink.bytes();
        Ok((sink, before))
    }

    /// The response is complete: its body is counted and its file kept.
    fn finish(
        &mut self,
        mut response: ResponseJson,
        sink: Option<(BodySink, u64)>,
    ) -> Result<ResponseJson> {
        response.end = self.offset;
        if let Some((sink, before)) = sink {
            response.body_bytes = sink.bytes() - before;
            if self.plan.output_dir.is_some() {
                sink.commit()?;
            } else {
                self.null = Some(sink);
            }
        }
        Ok(response)
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
        crate::fetch::with_json(result, &self.report, path)
    }
}

/// What a pipelined exchange ended with: a failed write matters only when
/// no response came at all.
fn pipelined_outcome(read: Result<()>, sent: Result<()>) -> Result<()> {
    match (read, sent) {
        (Err(e), Err(s)) if e.kind() == ErrorKind::EmptyReply => Err(s),
        (read, _) => read,
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

fn open_sink(path: &Path) -> Result<BodySink> {
    let out = BodyOut::open(Some(path), false)?;
    Ok(BodySink::new(out, Progress::new(false), false))
}
