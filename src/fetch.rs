//! One fetch, start to finish: connect, send, read the head, stream the body.
//!
//! The read path uses one buffer for the whole fetch. The head is found in
//! it, and the body is decoded in place and written straight from it, so
//! memory stays flat whatever the body's size. Reading stops as soon as the
//! framing says the body is complete, even if the server keeps the
//! connection open.

use std::io::{Read, Write};

use crate::error::{is_reset, is_timeout, one_line, Error, ErrorKind, Result};
use crate::options::Options;
use crate::output::{BodyOut, HeadOut, HeadRouting, RawCapture, StdStream, MAX_IOV};
use crate::progress::Progress;
use crate::report::{framing_kind, FindingJson, FramingJson, HeadJson, Hop, Report};
use crate::request::{self, RequestSpec};
use crate::response::body::Decoder;
use crate::response::deviations::{self, Finding};
use crate::response::framing::{self, Framing};
use crate::response::head::{self, Head, HeadScan, HeadScanner, MAX_HEAD};
use crate::target::Target;
use crate::trace::Trace;
use crate::transport::{self, Stream, TLS_RECORD};

/// Size of the read buffer: large reads mean few system calls per byte.
pub const BUF_SIZE: usize = 256 * 1024;

/// Runs the fetch the options describe.
pub fn run(opts: &Options) -> Result<()> {
    if opts.dry_run {
        // The same bytes the fetch would send, from the same function.
        return StdStream::stdout().write_all(&request::build(&opts.target, &opts.spec));
    }
    let mut trace = Trace::new(opts.verbose, opts.timing);
    // Open every output before connecting: a bad -o fails at once.
    let mut body = BodyOut::open(opts.output.as_deref(), opts.keep_partial)?;
    let routing = HeadRouting {
        head_only: opts.head_only,
        include: opts.include,
        silent: opts.silent,
        verbose: opts.verbose,
        dump_header: opts.dump_header.clone(),
    };
    let mut fetch = Fetch {
        opts,
        heads: HeadOut::open(&routing, body.is_stdout())?,
        raw: opts
            .save_raw
            .as_deref()
            .map(RawCapture::create)
            .transpose()?,
        buf: vec![0; BUF_SIZE],
        trace: &mut trace,
        truncated: false,
        progress: Progress::new(
            opts.output.is_some() && !opts.silent && !opts.verbose && !opts.head_only,
        ),
        report: Report {
            url: opts.target.redacted(),
            ..Report::default()
        },
        findings: opts.explain || opts.strict || opts.json.is_some(),
        close_delimited: false,
        // SAFETY: isatty only inspects the descriptor.
        guard: opts.binary_guard && body.is_stdout() && unsafe { libc::isatty(1) } == 1,
        ranges: Vec::with_capacity(MAX_IOV),
        #[cfg(target_os = "linux")]
        pipe: None,
    };
    let result = fetch.follow(&mut body);
    fetch.progress.finish();
    let mut report = std::mem::take(&mut fetch.report);
    let close_delimited = fetch.close_delimited;
    trace.summary();
    let result = match result {
        Ok(()) => body.commit(),
        Err(e) => {
            if let Some(note) = body.abort() {
                eprintln!("rawget: {note}");
            }
            Err(e)
        }
    };
    if opts.explain || opts.json.is_some() {
        report.timings = (&trace.timings).into();
        report.completeness = match &result {
            Ok(()) if close_delimited => "unverifiable",
            Ok(()) => "complete",
            Err(_) if report.status.is_none() => "none",
            Err(_) => "partial",
        };
        report.exit_code = result.as_ref().err().map_or(0, Error::exit_code);
        report.error = result.as_ref().err().map(|e| one_line(e));
        if opts.explain {
            let _ = StdStream::stderr().write_all(report.explain().as_bytes());
        }
        if let Some(path) = &opts.json {
            write_json(&report, path)?;
        }
    }
    result
}

fn write_json(report: &Report, path: &std::path::Path) -> Result<()> {
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

struct Fetch<'a> {
    opts: &'a Options,
    heads: HeadOut,
    raw: Option<RawCapture>,
    buf: Vec<u8>,
    trace: &'a mut Trace,
    /// The TLS peer closed the TCP connection without close_notify.
    truncated: bool,
    progress: Progress,
    report: Report,
    /// Whether to look for RFC deviations (--explain, --strict, --json).
    findings: bool,
    /// The final body was close-delimited (its completeness unverifiable).
    close_delimited: bool,
    /// Still to check that the body is not binary bound for a terminal.
    guard: bool,
    /// Where the body pieces of one read lie in `buf` (reused: no
    /// allocation per read).
    ranges: Vec<std::ops::Range<usize>>,
    /// The pipe for splice(2), made on first use; `Err` once splice failed.
    #[cfg(target_os = "linux")]
    pipe: Option<std::io::Result<crate::transport::splice::Pipe>>,
}

/// What one exchange ended with.
enum Outcome {
    /// The final response was written.
    Done,
    /// A redirect to follow.
    Redirect { status: u16, location: String },
}

/// What the connection was used for when it failed, named in the message.
#[derive(Clone, Copy)]
enum Doing {
    Send,
    Head,
    Body,
}

impl Fetch<'_> {
    /// Exchanges until a final response, following redirects under `-L`.
    fn follow(&mut self, body: &mut BodyOut) -> Result<()> {
        let mut target = self.opts.target.clone();
        let mut spec = self.opts.spec.clone();
        let mut hops = 0u32;
        loop {
            match self.exchange(&target, &spec, body)? {
                Outcome::Done => return Ok(()),
                Outcome::Redirect { status, location } => {
                    hops += 1;
                    if hops > self.opts.max_redirs {
                        return Err(Error::new(
                            ErrorKind::TooManyRedirects,
                            format!("maximum ({}) redirects followed", self.opts.max_redirs),
                        ));
                    }
                    let next = target.url.join(&location).map_err(|e| {
                        Error::new(
                            ErrorKind::BadUrl,
                            format!("bad redirect Location \"{location}\""),
                        )
                        .with_source(e)
                    })?;
                    let next = Target::from_url(next)?;
                    self.trace
                        .step(|| format!("following {status} to {}", next.redacted()));
                    spec = redirected_spec(spec, status, &target, &next);
                    target = next;
                }
            }
        }
    }

    fn hop(&mut self) -> &mut Hop {
        if self.report.hops.is_empty() {
            self.report.hops.push(Hop::default());
        }
        let last = self.report.hops.len() - 1;
        &mut self.report.hops[last]
    }

    /// Records findings, failing under `--strict`.
    fn note(&mut self, found: Vec<Finding>) -> Result<()> {
        if let (true, Some(first)) = (self.opts.strict, found.first()) {
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

    /// One request and its response.
    fn exchange(
        &mut self,
        target: &Target,
        spec: &RequestSpec,
        body: &mut BodyOut,
    ) -> Result<Outcome> {
        self.report.hops.push(Hop {
            url: target.redacted(),
            ..Hop::default()
        });
        let copts = &self.opts.connect;
        let addrs = transport::resolve(target, copts, self.trace)?;
        self.trace.timings.dns = Some(self.trace.elapsed());
        let tcp = transport::connect(&addrs, copts, self.trace)?;
        self.trace.timings.connect = Some(self.trace.elapsed());
        self.hop().address = tcp.peer_addr().ok().map(|a| a.to_string());
        let mut stream = if target.tls {
            let s = transport::tls_handshake(tcp, target, copts, self.trace)?;
            self.trace.timings.tls = Some(self.trace.elapsed());
            self.hop().tls = s.certificate();
            s
        } else {
            Stream::tcp(tcp, copts.deadline)
        };

        let request = request::build(target, spec);
        self.trace.request(&request);
        // A server may answer (and close) before reading all of a large
        // request; its answer is still worth reading, so a failed send is
        // reported only when no response follows.
        let sent = stream.write_all(&request).and_then(|_| stream.flush());
        self.trace.timings.sent = Some(self.trace.elapsed());

        let (head, mut start, mut end) = match self.read_head(&mut stream, body) {
            Ok(h) => h,
            Err(e) => {
                return Err(match sent {
                    Err(send)
                        if e.kind() == ErrorKind::EmptyReply || e.kind() == ErrorKind::Recv =>
                    {
                        recv_error(send, Doing::Send, self.trace)
                    }
                    _ => e,
                })
            }
        };
        self.report.status = Some(head.status);

        let decision = framing::decide(&spec.method, &head).map_err(|why| {
            Error::new(
                ErrorKind::BadResponse,
                format!("cannot frame the response: {why}"),
            )
        })?;
        self.trace.step(|| decision.rule.to_owned());
        let framing = if self.opts.head_only {
            Framing::None
        } else {
            decision.framing
        };
        let hop = self.hop();
        hop.framing = Some(FramingJson {
            kind: framing_kind(decision.framing),
            rule: decision.rule,
        });
        hop.promised = match framing {
            Framing::Length(n) => Some(n),
            _ => None,
        };

        if self.opts.location && matches!(head.status, 301 | 302 | 303 | 307 | 308) {
            if let Some(location) = head.first("Location") {
                let location = String::from_utf8_lossy(location).trim().to_owned();
                stream.close();
                return Ok(Outcome::Redirect {
                    status: head.status,
                    location,
                });
            }
        }
        if self.opts.fail && head.status >= 400 {
            return Err(Error::new(
                ErrorKind::HttpFail,
                format!(
                    "the requested URL returned error: {} {}",
                    head.status, head.reason
                ),
            ));
        }

        // The body, decoded in place and written from the same buffer.
        let mut decoder = Decoder::new(framing);
        if self.opts.chunks || self.findings {
            decoder = decoder.record_chunks();
        }
        self.close_delimited = framing == Framing::Close;
        let promised = self.hop().promised;
        self.progress.start(promised);
        let (mut chunks, mut extensions) = (0u64, 0usize);
        loop {
            while start < end && !decoder.is_done() {
                let framing_err =
                    |e| Error::new(ErrorKind::BadResponse, "malformed chunked body").with_source(e);
                // --raw writes the framing as well; decoding still finds the end.
                let (used, out) = if self.opts.raw {
                    let used = decoder.skip(&self.buf[start..end]).map_err(framing_err)?;
                    refuse_binary_on_terminal(&mut self.guard, &self.buf[start..start + used])?;
                    body.write_all(&self.buf[start..start + used])?;
                    (used, used)
                } else {
                    // Body pieces are written where they lie, between the
                    // chunk-size lines, by one vectored write.
                    self.ranges.clear();
                    let input = &mut self.buf[start..end];
                    let used = decoder
                        .decode_ranges(input, &mut self.ranges, MAX_IOV)
                        .map_err(framing_err)?;
                    if let Some(first) = self.ranges.first() {
                        refuse_binary_on_terminal(
                            &mut self.guard,
                            &self.buf[start..end][first.clone()],
                        )?;
                    }
                    (
                        used,
                        body.write_ranges(&self.buf[start..end], &self.ranges)?,
                    )
                };
                self.progress.advance(out as u64);
                self.trace.timings.body += out as u64;
                self.hop().body_bytes += out as u64;
                for c in decoder.take_chunks() {
                    chunks += 1;
                    extensions += usize::from(!c.extensions.is_empty());
                    if self.opts.chunks {
                        eprintln!(
                            "chunk: offset {} size {}{}{}",
                            c.offset,
                            c.size,
                            if c.extensions.is_empty() {
                                ""
                            } else {
                                " extensions "
                            },
                            c.extensions.escape_ascii()
                        );
                    }
                }
                start += used;
            }
            if decoder.is_done() {
                if start < end {
                    let extra = end - start;
                    if framing == Framing::None {
                        let found = deviations::body_where_none(extra, head.status, &spec.method);
                        self.note(vec![found])?;
                    } else {
                        self.note(vec![deviations::bytes_after_body(extra)])?;
                    }
                    if !self.opts.silent {
                        eprintln!(
                            "rawget: warning: ignored {extra} bytes after the end of the body"
                        );
                    }
                }
                break;
            }
            start = 0;
            end = 0;
            let eof = match self.splice(&mut stream, &mut decoder, body, framing)? {
                Some(eof) => eof,
                None => {
                    end = self.read(&mut stream, 0, Doing::Body)?;
                    // TLS hands over one 16 KiB record per read; while more
                    // full records wait, gather them so each write is large.
                    while end > 0
                        && end + TLS_RECORD <= self.buf.len()
                        && stream.tls_pending() >= TLS_RECORD
                    {
                        match self.read(&mut stream, end, Doing::Body)? {
                            0 => break,
                            n => end += n,
                        }
                    }
                    end == 0
                }
            };
            if eof {
                let tls_note = " (TLS connection closed without close_notify)";
                let note = if self.truncated { tls_note } else { "" };
                decoder
                    .finish()
                    .map_err(|why| Error::new(ErrorKind::Partial, format!("{why}{note}")))?;
                if self.truncated {
                    // Close-delimited: only close_notify proves the end.
                    return Err(Error::new(
                        ErrorKind::Partial,
                        format!("body may be truncated{tls_note}"),
                    ));
                }
                break;
            }
        }
        if framing == Framing::Chunked {
            self.hop().chunks = Some(chunks);
            if extensions > 0 {
                self.note(vec![deviations::chunk_extensions(extensions)])?;
            }
        }
        if !decoder.trailers().is_empty() {
            let mut trailers = decoder.trailers().to_vec();
            self.note(vec![deviations::trailers(trailers.len())])?;
            trailers.extend_from_slice(if trailers.ends_with(b"\r\n") {
                b"\r\n"
            } else {
                b"\n"
            });
            self.trace.response(&trailers);
            if self.opts.chunks {
                eprint!("trailers:\n{}", String::from_utf8_lossy(&trailers));
            }
            if !self.opts.raw {
                self.heads.write(&trailers, body)?;
            }
        }
        stream.close();
        Ok(Outcome::Done)
    }

    /// Reads response heads until a final one; interim 1xx heads are printed
    /// and skipped. Returns the final head and where the bytes after it lie
    /// in the buffer.
    fn read_head(
        &mut self,
        stream: &mut Stream,
        body: &mut BodyOut,
    ) -> Result<(Head, usize, usize)> {
        let (mut start, mut end) = (0, 0);
        loop {
            let mut scanner = HeadScanner::new();
            let len = loop {
                match scanner.scan(&self.buf[start..end]) {
                    HeadScan::Complete(n) => break n,
                    HeadScan::NotHttp => {
                        let shown: Vec<u8> =
                            self.buf[start..end].iter().copied().take(40).collect();
                        return Err(Error::new(
                            ErrorKind::BadResponse,
                            format!(
                                "not an HTTP response: it starts \"{}\"",
                                shown.escape_ascii()
                            ),
                        ));
                    }
                    HeadScan::Partial => {}
                }
                if end - start > MAX_HEAD {
                    return Err(Error::new(
                        ErrorKind::BadResponse,
                        format!("response head larger than {MAX_HEAD} bytes"),
                    ));
                }
                if end == self.buf.len() {
                    // Keep the partial head at the front; grow only for heads
                    // larger than the buffer (up to the cap).
                    self.buf.copy_within(start..end, 0);
                    (start, end) = (0, end - start);
                    if end == self.buf.len() {
                        self.buf.resize(self.buf.len() * 2, 0);
                    }
                }
                match self.read(stream, end, Doing::Head)? {
                    0 if self.trace.timings.received == 0 => {
                        return Err(Error::new(ErrorKind::EmptyReply, "empty reply from server"))
                    }
                    0 => {
                        return Err(Error::new(
                            ErrorKind::BadResponse,
                            "connection closed in the middle of the response head",
                        ))
                    }
                    n => end += n,
                }
            };
            let bytes = &self.buf[start..start + len];
            self.trace.response(bytes);
            let head = match head::parse(bytes) {
                Ok(head) => head,
                Err(why) => {
                    if self.findings {
                        // Name what made the head unreadable (a line without
                        // a colon, a bad status line) for --explain/--json.
                        let found = deviations::scan_head(bytes, &Head::default());
                        self.hop()
                            .findings
                            .extend(found.iter().map(FindingJson::from));
                    }
                    return Err(Error::new(ErrorKind::BadResponse, why));
                }
            };
            self.heads.write(bytes, body)?;
            if self.findings {
                let found = deviations::scan_head(&self.buf[start..start + len], &head);
                self.hop().heads.push(HeadJson::from(&head));
                self.note(found)?;
            }
            start += len;
            if !head.is_interim() {
                return Ok((head, start, end));
            }
        }
    }

    /// Moves the rest of a plain-http Content-Length or close-delimited body
    /// with splice(2) when nothing needs to see its bytes. `None`: not
    /// applicable, read instead; `Some(eof)`: whether the peer closed.
    #[cfg(target_os = "linux")]
    fn splice(
        &mut self,
        stream: &mut Stream,
        decoder: &mut Decoder,
        body: &mut BodyOut,
        framing: Framing,
    ) -> Result<Option<bool>> {
        let plain = matches!(framing, Framing::Length(_) | Framing::Close)
            && self.raw.is_none()
            && !self.guard;
        let (Some(socket), true) = (stream.tcp_fd(), plain) else {
            return Ok(None);
        };
        let pipe = match self
            .pipe
            .get_or_insert_with(crate::transport::splice::Pipe::new)
        {
            Ok(pipe) => pipe,
            Err(_) => return Ok(None),
        };
        let (trace, progress, report) = (&mut *self.trace, &mut self.progress, &mut self.report);
        let mut total = 0u64;
        let out = body.raw_fd();
        let ran = pipe.run(
            socket,
            out,
            decoder.remaining(),
            || stream.arm(),
            |n| {
                total += n;
                progress.advance(n);
                if let Some(hop) = report.hops.last_mut() {
                    hop.body_bytes += n;
                }
            },
        );
        trace.timings.body += total;
        trace.timings.received += total;
        if total > 0 {
            trace.first_byte();
        }
        decoder.advance(total);
        body.count(total);
        match ran {
            Ok(crate::transport::splice::End::Limit) => Ok(Some(false)),
            Ok(crate::transport::splice::End::Eof) => Ok(Some(true)),
            Ok(crate::transport::splice::End::Unsupported) => {
                self.pipe = Some(Err(std::io::Error::from(std::io::ErrorKind::Unsupported)));
                Ok(Some(false))
            }
            Err(crate::transport::splice::Failure::Write(e)) => Err(body.write_error(e)),
            Err(crate::transport::splice::Failure::Recv(e)) => {
                Err(recv_error(e, Doing::Body, self.trace))
            }
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn splice(
        &mut self,
        _: &mut Stream,
        _: &mut Decoder,
        _: &mut BodyOut,
        _: Framing,
    ) -> Result<Option<bool>> {
        Ok(None)
    }

    /// One read into `buf[at..]`, teed to `--save-raw` and counted.
    fn read(&mut self, stream: &mut Stream, at: usize, doing: Doing) -> Result<usize> {
        let n = match stream.read(&mut self.buf[at..]) {
            Ok(n) => n,
            // Without close_notify the end of a TLS stream is not proof of a
            // complete body; treat it as the end and let the framing judge.
            Err(e) if stream.is_tls() && transport::is_tls_truncation(&e) => {
                self.truncated = true;
                0
            }
            Err(e) => return Err(recv_error(e, doing, self.trace)),
        };
        if n > 0 {
            self.trace.first_byte();
            self.trace.timings.received += n as u64;
            if let Some(raw) = &mut self.raw {
                raw.write_all(&self.buf[at..at + n])?;
            }
        }
        Ok(n)
    }
}

/// Like curl, refuses to write a body that looks binary (it has a NUL byte)
/// to a terminal, where it can garble the screen; `-o -` forces it. Only
/// the first piece of the body is looked at; `guard` says whether that is
/// still to do.
fn refuse_binary_on_terminal(guard: &mut bool, first: &[u8]) -> Result<()> {
    if !*guard || first.is_empty() {
        return Ok(());
    }
    *guard = false;
    if memchr::memchr(0, first).is_some() {
        return Err(Error::new(
            ErrorKind::Write,
            "binary output can mess up your terminal: use -o FILE, or -o - to write it anyway",
        ));
    }
    Ok(())
}

/// Maps a failed read or write on the connection to the contract's codes.
fn recv_error(e: std::io::Error, doing: Doing, trace: &Trace) -> Error {
    let doing = match doing {
        Doing::Send => "sending the request".to_owned(),
        Doing::Head => "reading the response head".to_owned(),
        Doing::Body => format!("reading the body ({} bytes in)", trace.timings.body),
    };
    let received = trace.timings.received;
    if is_timeout(&e) {
        return Error::new(
            ErrorKind::Timeout,
            format!(
                "timed out after {} ms {doing}, {received} bytes received",
                trace.elapsed().as_millis()
            ),
        );
    }
    if is_reset(&e) {
        return Error::new(
            ErrorKind::Recv,
            format!("connection reset by peer while {doing}"),
        )
        .with_source(e);
    }
    Error::new(ErrorKind::Recv, format!("receive failure while {doing}")).with_source(e)
}

/// The request for the next hop of a redirect (RFC 9110 section 15.4):
/// 303 turns any method but HEAD into GET without a body, and so do 301 and
/// 302 after a POST (what every client does); 307 and 308 keep the method
/// and body. Credentials are not sent to another host.
fn redirected_spec(mut spec: RequestSpec, status: u16, from: &Target, to: &Target) -> RequestSpec {
    let to_get = match status {
        303 => spec.method != "HEAD",
        301 | 302 => spec.method == "POST",
        _ => false,
    };
    if to_get {
        spec.method = "GET".to_owned();
        spec.body = None;
        spec.headers.retain(|h| {
            !h.name().eq_ignore_ascii_case("Content-Type")
                && !h.name().eq_ignore_ascii_case("Content-Length")
        });
    }
    let same_origin = from.host == to.host && from.port == to.port && from.tls == to.tls;
    if !same_origin {
        spec.headers.retain(|h| {
            !h.name().eq_ignore_ascii_case("Authorization")
                && !h.name().eq_ignore_ascii_case("Cookie")
        });
    }
    spec
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{Body, HeaderEdit};

    fn spec(method: &str) -> RequestSpec {
        let mut s = RequestSpec::get();
        s.method = method.to_owned();
        s.body = Some(Body {
            bytes: b"x=1".to_vec(),
            form: true,
        });
        s.headers = vec![
            HeaderEdit::parse("Authorization: Bearer t").unwrap(),
            HeaderEdit::parse("Content-Type: text/plain").unwrap(),
        ];
        s
    }

    #[test]
    fn redirect_method_rules() {
        let a = Target::parse("http://a/").unwrap();
        let b = Target::parse("http://b/").unwrap();
        let s = redirected_spec(spec("POST"), 303, &a, &a);
        assert_eq!(
            (s.method.as_str(), s.body.is_none(), s.headers.len()),
            ("GET", true, 1)
        );
        let s = redirected_spec(spec("POST"), 302, &a, &a);
        assert_eq!(s.method, "GET");
        let s = redirected_spec(spec("PUT"), 302, &a, &a);
        assert_eq!((s.method.as_str(), s.body.is_some()), ("PUT", true));
        let s = redirected_spec(spec("POST"), 307, &a, &b);
        assert_eq!((s.method.as_str(), s.body.is_some()), ("POST", true));
        assert!(s.headers.iter().all(|h| h.name() != "Authorization"));
        let s = redirected_spec(spec("HEAD"), 303, &a, &a);
        assert_eq!(s.method, "HEAD");
    }
}
