//! One request and its response, as steps: connect, send, receive the
//! head, decide what to do with it, receive the body, finish. Each step
//! does I/O and hands the bytes to the [`Reader`]; no protocol rule lives
//! here.

use crate::error::{connection_error, Doing, Error, ErrorKind, Result};
use crate::observe::report::{framing_kind, FramingJson, HeadJson, MAX_HEADS};
use crate::output::diag;
use crate::request::{self, RequestSpec};
use crate::response::coding::DECODE_BUF;
use crate::response::deviations;
use crate::response::framing::Framing;
use crate::response::head::Head;
use crate::response::reader::{Event, ReadError, Reader, Step};
use crate::response::redirect;
use crate::target::Target;
use crate::transport::{self, Pace, Route};

use super::conn::{Conn, BUF_SIZE, HEAD_FILL};
use super::dial::{self, Dial};
use super::upload::{self, Continue, Failure};
use super::{Fetch, Outcome};

/// What the send step ended with.
enum Sent {
    /// The request was written, or its write failed (kept to judge).
    Written(Result<()>),
    /// A final response came while the body waited for `100 Continue`.
    Answered(Head),
}

use crate::output::MAX_IOV;

impl Fetch<'_> {
    /// One request and its response.
    pub(super) fn exchange(&mut self, target: &Target, spec: &RequestSpec) -> Result<Outcome> {
        let route = dial::route(&self.opts.connect, target, &self.trace)?;
        let mut conn = self.connect(target, route.as_ref())?;
        // A forwarding proxy's body is read, not spliced: through
        // tinyproxy, which is CPU-bound relaying 2 KiB at a time, splicing
        // cost the proxy 3-5% more CPU and the fetch as much time (figures
        // in the commit); through microsocks (a SOCKS tunnel) splicing was
        // the quicker, so tunnels keep it.
        conn.may_splice = !route.as_ref().is_some_and(Route::forwards);
        // Through any proxy a streaming body's reads nap rather than wait,
        // so the proxy, relaying in small writes, has nobody to wake
        // (transport/pace.rs has the figures).
        conn.pace = Pace::new(route.is_some());
        let plan = &self.opts;
        let mut reader = Reader::new(&spec.method)
            .raw(plan.output.raw)
            .no_body(plan.output.no_body)
            .record_chunks(plan.report.chunks)
            .findings(plan.report.findings);
        let sent = match self.send(&mut conn, &mut reader, target, spec, route.as_ref())? {
            Sent::Answered(head) => Ok(head),
            Sent::Written(sent) => Err(sent),
        };
        let head = match sent {
            Ok(head) => head,
            Err(sent) => match self.receive_head(&mut conn, &mut reader) {
                Ok(head) => head,
                // A server may answer (and close) before reading all of a
                // large request; its answer is still worth reading, so a
                // failed send is reported only when no response follows.
                Err(e) if matches!(e.kind(), ErrorKind::EmptyReply | ErrorKind::Recv) => {
                    return Err(sent.err().unwrap_or(e))
                }
                Err(e) => return Err(e),
            },
        };
        self.cookies.receive(&head, &target.url);
        if let Some(outcome) = self.decide(&head, &reader)? {
            conn.close();
            return Ok(outcome);
        }
        self.receive_body(&mut conn, &mut reader)?;
        self.end_decoding()?;
        self.finish(&mut conn, &mut reader, &head, spec)?;
        conn.close();
        Ok(Outcome::Done)
    }

    /// Connects along `route` (`dial.rs`, the one connect step), noting
    /// the address and the certificate for the report.
    fn connect(&mut self, target: &Target, route: Option<&Route>) -> Result<Conn> {
        let (heads, sink) = (&mut self.heads, &mut self.sink);
        let mut print = |bytes: &[u8]| heads.write(bytes, sink.out());
        let connected = Dial {
            opts: &self.opts.connect,
            user_agent: &self.opts.spec.user_agent,
            trace: &mut self.trace,
            raw: &mut self.raw,
            ranges: &mut self.ranges,
            connect_head: &mut print,
        }
        .connect(target, route)?;
        let hop = self.hop();
        hop.address = connected.address;
        (hop.wire.local, hop.wire.remote) = connected.conn.stream.addrs();
        hop.tls = connected.tls;
        Ok(connected.conn)
    }

    /// Writes the request (in absolute form to an HTTP proxy that is not
    /// a tunnel): the head, then (after the wait for `100 Continue` when
    /// the head asked for one) the body, streamed. A failed
    /// write is kept in [`Sent::Written`] for [`Fetch::exchange`] to judge;
    /// an unreadable upload, or a bad answer during the wait, is returned.
    fn send(
        &mut self,
        conn: &mut Conn,
        reader: &mut Reader,
        target: &Target,
        spec: &RequestSpec,
        route: Option<&Route>,
    ) -> Result<Sent> {
        let mut head = request::build_head(target, spec);
        if let Some(route) = route.filter(|r| r.forwards()) {
            let auth = route.authorization(&self.opts.connect.proxy);
            head = transport::absolute_form(&head, target, auth.as_deref());
        }
        self.trace.request(&head);
        let wire = &mut self.hop().wire;
        wire.method.clone_from(&spec.method);
        wire.request_bytes = head.len() as u64;
        let mut sent = conn.send(&head);
        let has_body = spec.body.is_some() || spec.upload.is_some() || spec.multipart.is_some();
        if sent.is_ok() && has_body {
            // Over TLS the wait is not kept (upload.rs): the body goes now.
            if spec.expects_continue() && !conn.stream.is_tls() {
                if let Continue::Answered(head) = self.await_continue(conn, reader)? {
                    self.trace.step(|| {
                        "a final response came instead of 100: the body is not sent".into()
                    });
                    return Ok(Sent::Answered(head));
                }
            }
            if let Some(b) = &spec.body {
                self.trace.request_body(&b.bytes);
            }
            sent = match upload::write_body(spec, &mut conn.stream) {
                Ok(n) => {
                    self.hop().wire.upload_bytes = n;
                    if spec.upload.is_some() {
                        self.trace.step(|| format!("upload: {n} bytes sent"));
                    }
                    Ok(())
                }
                Err(Failure::Read(e)) => return Err(e),
                Err(Failure::Write(e)) => Err(e),
            };
        }
        self.trace.timings.sent = Some(self.trace.elapsed());
        let (elapsed, received) = (self.trace.elapsed(), self.trace.timings.received);
        Ok(Sent::Written(sent.map_err(|e| {
            connection_error(e, Doing::Send, elapsed, received)
        })))
    }

    /// Prints, traces and reports a head the reader found in the first
    /// `consumed` bytes of the input, and consumes them.
    pub(super) fn take_head(
        &mut self,
        conn: &mut Conn,
        consumed: usize,
        head: &Head,
        interim: bool,
    ) -> Result<()> {
        let bytes = &conn.input()[..consumed];
        self.trace.response(bytes);
        self.heads.write(bytes, self.sink.out())?;
        conn.consume(consumed);
        self.hop().wire.head_bytes += consumed as u64;
        if self.opts.report.findings {
            self.report_head(head, interim);
        }
        Ok(())
    }

    /// One step of the reader over what the connection holds. Its
    /// findings are noted first (failing under `--strict`), so that a
    /// head that cannot be read still has them in the report.
    pub(super) fn step(&mut self, conn: &mut Conn, reader: &mut Reader) -> Result<Step> {
        let step = reader.read(conn.input(), &mut self.ranges, MAX_IOV);
        self.note(reader.take_findings())?;
        Ok(step?)
    }

    /// Reads heads until the final one; interim 1xx heads are printed and
    /// skipped. Every head is printed exactly as received.
    fn receive_head(&mut self, conn: &mut Conn, reader: &mut Reader) -> Result<Head> {
        conn.fill_at_most(HEAD_FILL);
        loop {
            let step = self.step(conn, reader)?;
            match step.event {
                Event::Head { head, interim } => {
                    self.take_head(conn, step.consumed, &head, interim)?;
                    if !interim {
                        return Ok(head);
                    }
                }
                Event::NeedMore => {
                    if !conn.fill(Doing::Head, &mut self.raw, &mut self.trace)? {
                        reader.eof(conn.no_close_notify)?;
                    }
                }
                // The reader yields the final head before any body.
                Event::Body | Event::Done => return Err(ReadError::CutHead.into()),
            }
        }
    }

    /// Keeps `head` for the report: the final head always, interim ones
    /// while fewer than [`MAX_HEADS`] are kept.
    fn report_head(&mut self, head: &Head, interim: bool) {
        let hop = self.hop();
        if !interim || hop.heads.len() + 1 < MAX_HEADS {
            hop.heads.push(HeadJson::from(head));
        } else {
            hop.heads_omitted += 1;
        }
    }

    /// What the final head means: the framing is recorded, a redirect is
    /// followed under `-L`, a failure status ends the fetch under `-f`.
    fn decide(&mut self, head: &Head, reader: &Reader) -> Result<Option<Outcome>> {
        self.report.status = Some(head.status);
        let (framing, decision) = match (reader.framing(), reader.decision()) {
            (Some(f), Some(d)) => (f, d),
            _ => return Err(ReadError::CutHead.into()),
        };
        self.trace.step(|| decision.rule.to_owned());
        let promised = match framing {
            Framing::Length(n) => Some(n),
            _ => None,
        };
        let hop = self.hop();
        hop.framing = Some(FramingJson {
            kind: framing_kind(decision.framing),
            rule: decision.rule,
        });
        hop.promised = promised;
        if self.opts.follow.is_some() {
            if let Some(location) = redirect::location(head) {
                return Ok(Some(Outcome::Redirect {
                    status: head.status,
                    location,
                }));
            }
        }
        self.check_transient(head)?;
        if self.opts.fail && head.status >= 400 {
            return Err(Error::new(
                ErrorKind::HttpFail,
                format!(
                    "the requested URL returned error: {} {}",
                    head.status,
                    shown(&head.reason)
                ),
            ));
        }
        if let Some(outcome) = self.check_range(head)? {
            return Ok(Some(outcome));
        }
        self.close_delimited = framing == Framing::Close;
        self.check_promised(promised)?;
        self.name_from_header(head)?;
        self.begin_decoding(head, framing)?;
        // The progress bar counts decoded bytes, which Content-Length does not.
        self.sink
            .start(promised.filter(|_| self.decoding.is_none()));
        Ok(None)
    }

    /// Reads the body to its end, writing each piece where it lies in the
    /// read buffer (or splicing it past user space).
    fn receive_body(&mut self, conn: &mut Conn, reader: &mut Reader) -> Result<()> {
        conn.fill_at_most(match self.decoding {
            Some(_) => DECODE_BUF,
            None => BUF_SIZE,
        });
        loop {
            // The reader moves small chunk pieces over the framing before
            // them (one write instead of many), so `--trace`, which shows
            // the bytes as received, takes them before the reader does.
            let received = self.trace.wants_bytes().then(|| conn.input().to_vec());
            let step = self.step(conn, reader)?;
            if step.event == Event::Body {
                self.write_body(conn.input())?;
                // What the input decoded to goes on now (to the writer
                // thread, or written) once no more input is waiting, so a
                // trickling body is not held back. While more waits, it
                // joins what that decodes to: a part-filled buffer handed
                // over in a fast transfer left the decoder waiting for the
                // writer, about one write per read (10% of a br fetch).
                // Asked only of a decoded body: a body as it is has no
                // buffer to hand over, and its reads need no poll(2).
                if self.decoding.is_some()
                    && conn.input().len() == step.consumed
                    && !conn.stream.readable_now()
                {
                    self.sink.pass_on()?;
                }
            }
            if let Some(received) = received {
                self.trace.body_received(&received[..step.consumed]);
            }
            conn.consume(step.consumed);
            self.print_chunks(reader);
            match step.event {
                Event::Done => return Ok(()),
                Event::Body | Event::Head { .. } => continue,
                Event::NeedMore => {}
            }
            let more = match self.splice(conn, reader)? {
                Some(more) => more,
                None => {
                    let doing = Doing::Body(self.sink.bytes());
                    conn.fill(doing, &mut self.raw, &mut self.trace)?
                }
            };
            if !more {
                reader.eof(conn.no_close_notify)?;
                self.note(reader.take_findings())?;
                return Ok(());
            }
        }
    }

    /// `--chunks`: one line per chunk as it is read.
    fn print_chunks(&mut self, reader: &mut Reader) {
        if !self.opts.report.chunks {
            return;
        }
        for c in reader.take_chunks() {
            let ext = if c.extensions.is_empty() {
                ""
            } else {
                " extensions "
            };
            let cut = if c.extensions_len > c.extensions.len() as u64 {
                format!(" (cut: {} bytes in all)", c.extensions_len)
            } else {
                String::new()
            };
            diag::line(format_args!(
                "chunk: offset {} size {}{ext}{}{cut}",
                c.offset,
                c.size,
                c.extensions.escape_ascii()
            ));
        }
    }

    /// After the body: bytes the server sent past its end are named, and
    /// the trailers are printed after the body, as heads are.
    fn finish(
        &mut self,
        conn: &mut Conn,
        reader: &mut Reader,
        head: &Head,
        spec: &RequestSpec,
    ) -> Result<()> {
        let extra = conn.input().len();
        if extra > 0 {
            let found = if reader.framing() == Some(Framing::None) {
                deviations::body_where_none(extra, head.status, &spec.method)
            } else {
                deviations::bytes_after_body(extra)
            };
            self.note(vec![found])?;
            if !self.opts.report.silent {
                diag::line(format_args!(
                    "rawget: warning: ignored {extra} bytes after the end of the body"
                ));
            }
        }
        if reader.framing() == Some(Framing::Chunked) {
            self.hop().chunks = Some(reader.chunks());
        }
        if reader.trailers().is_empty() {
            return Ok(());
        }
        let mut trailers = reader.trailers().to_vec();
        trailers.extend_from_slice(if trailers.ends_with(b"\r\n") {
            b"\r\n"
        } else {
            b"\n"
        });
        self.trace.trailers(&trailers);
        if self.opts.report.chunks {
            diag::write(format!("trailers:\n{}", String::from_utf8_lossy(&trailers)).as_bytes());
        }
        if !self.opts.output.raw {
            self.heads.write(&trailers, self.sink.out())?;
        }
        Ok(())
    }

    /// Moves the rest of a plain-http Content-Length or close-delimited body
    /// with splice(2) when nothing needs to see its bytes. `None`: not
    /// applicable, read instead; `Some(more)`: whether the peer is still
    /// sending (`false`: it closed).
    #[cfg(target_os = "linux")]
    fn splice(&mut self, conn: &mut Conn, reader: &mut Reader) -> Result<Option<bool>> {
        use crate::transport::splice::{End, Failure, Pipe};
        let plain = matches!(reader.framing(), Some(Framing::Length(_) | Framing::Close))
            && self.raw.is_none()
            && !self.trace.wants_bytes()
            && self.sink.may_splice()
            && self.decoding.is_none()
            && conn.may_splice
            && conn.is_drained();
        let (Some(socket), true) = (conn.stream.tcp_fd(), plain) else {
            return Ok(None);
        };
        let pipe = match self.pipe.get_or_insert_with(Pipe::new) {
            Ok(pipe) => pipe,
            Err(_) => return Ok(None),
        };
        let sink = &mut self.sink;
        let out = sink.out().raw_fd();
        let mut total = 0u64;
        let ran = pipe.run(
            socket,
            out,
            reader.remaining(),
            &mut conn.pace,
            || conn.stream.arm(),
            |n| {
                total += n;
                sink.spliced(n);
            },
        );
        if total > 0 {
            self.trace.received(total);
        }
        reader.advance(total);
        match ran {
            Ok(End::Limit) => Ok(Some(true)),
            Ok(End::Eof) => Ok(Some(false)),
            Ok(End::Unsupported) => {
                self.pipe = Some(Err(std::io::ErrorKind::Unsupported.into()));
                Ok(Some(true))
            }
            Err(Failure::Write(e)) => Err(self.sink.out().write_error(e)),
            Err(Failure::Recv(e)) => {
                let doing = Doing::Body(self.sink.bytes());
                let received = self.trace.timings.received;
                Err(connection_error(e, doing, self.trace.elapsed(), received))
            }
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn splice(&mut self, _: &mut Conn, _: &mut Reader) -> Result<Option<bool>> {
        Ok(None)
    }
}

/// Text from the peer with control characters escaped, for a message.
fn shown(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                format!("\\x{:02x}", u32::from(c))
            } else {
                c.to_string()
            }
        })
        .collect()
}
