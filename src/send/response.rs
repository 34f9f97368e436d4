//! One response of `rawget send`, read step by step with the fetch's
//! [`Reader`] on the fetch's [`Conn`], the same for keep-alive
//! (`exchange.rs`) and `--pipeline` (`pipeline.rs`): its heads printed as
//! received, its framing and findings noted for the report, its body
//! counted or written to `--output-dir`.

use std::path::Path;

use super::exchange::Session;
use super::report::ResponseJson;
use crate::error::{Doing, ErrorKind, Result};
use crate::fetch::conn::Conn;
use crate::observe::progress::Progress;
use crate::observe::report::{framing_kind, FindingJson, FramingJson, HeadJson, MAX_HEADS};
use crate::output::sink::BodySink;
use crate::output::{BodyOut, StdStream, MAX_IOV};
use crate::response::framing::Framing;
use crate::response::reader::{Event, ReadError, Reader};

impl Session<'_> {
    /// Reads one response, waiting for its bytes; `answers`: the request
    /// it answers (from 0). `Ok(None)`: the connection closed (or,
    /// `lingering`, went quiet) before any byte of it; a quiet wait cut
    /// inside one leaves the bytes as stray.
    pub(super) fn read_response(
        &mut self,
        conn: &mut Conn,
        reader: &mut Reader,
        answers: Option<usize>,
        lingering: bool,
    ) -> Result<Option<ResponseJson>> {
        let mut part = self.begin(answers);
        loop {
            if self.advance(conn, reader, &mut part)? {
                return self.finish(part).map(Some);
            }
            match conn.fill(self.doing(reader, &part), &mut self.raw, &mut self.trace) {
                Ok(true) => {}
                Ok(false) => return self.ended(conn, reader, part),
                Err(e) if lingering && e.kind() == ErrorKind::Timeout => {
                    self.report.stray_bytes += conn.input().len() as u64;
                    return Ok(None);
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// A response about to be read; `answers`: the request it answers
    /// (from 0).
    pub(super) fn begin(&self, answers: Option<usize>) -> Part {
        Part {
            response: ResponseJson {
                answers: answers.map(|i| i + 1),
                start: self.offset,
                ..ResponseJson::default()
            },
            sink: None,
        }
    }

    /// What a read for `part` is doing, for a failure's message.
    pub(super) fn doing(&self, reader: &Reader, part: &Part) -> Doing {
        if reader.in_head() {
            Doing::Head
        } else {
            Doing::Body(self.offset - part.response.start)
        }
    }

    /// The connection closed while `part` was being read: complete if its
    /// framing ends at the close; `Ok(None)` when no byte of it came.
    pub(super) fn ended(
        &mut self,
        conn: &Conn,
        reader: &mut Reader,
        part: Part,
    ) -> Result<Option<ResponseJson>> {
        self.closed = true;
        match reader.eof(conn.no_close_notify) {
            Err(ReadError::EmptyReply) => Ok(None),
            Err(e) => Err(e.into()),
            Ok(()) => self.finish(part).map(Some),
        }
    }

    /// Reads `part` as far as the bytes received go, with no I/O but its
    /// output; `true` once it is complete.
    pub(super) fn advance(
        &mut self,
        conn: &mut Conn,
        reader: &mut Reader,
        part: &mut Part,
    ) -> Result<bool> {
        let response = &mut part.response;
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
                        if let Some(dir) = &self.plan.output_dir {
                            let n = self.report.responses_received + 1;
                            let path = dir.join(format!("response-{n}.body"));
                            part.sink = Some(open_sink(&path)?);
                        }
                    }
                }
                Event::Body => {
                    // Without --output-dir a body is only counted: a write
                    // to /dev/null per response was half the system calls
                    // of a pipeline of small GETs.
                    match &mut part.sink {
                        Some(s) => s.write_ranges(conn.input(), &self.ranges)?,
                        None => {
                            let n: usize = self.ranges.iter().map(|r| r.len()).sum();
                            response.body_bytes += n as u64;
                        }
                    }
                }
                Event::Done | Event::NeedMore => {}
            }
            conn.consume(step.consumed);
            self.offset += step.consumed as u64;
            match step.event {
                Event::Done => return Ok(true),
                Event::NeedMore => return Ok(false),
                _ => {}
            }
        }
    }

    /// The response is complete: its body is counted and its file kept.
    pub(super) fn finish(&mut self, part: Part) -> Result<ResponseJson> {
        let Part { mut response, sink } = part;
        response.end = self.offset;
        if let Some(sink) = sink {
            response.body_bytes = sink.bytes();
            sink.commit()?;
        }
        Ok(response)
    }
}

/// A response being read: what is known of it so far, and where its
/// body goes.
pub(super) struct Part {
    response: ResponseJson,
    /// `DIR/response-N.body` with `--output-dir`; without, the body is
    /// counted in `response.body_bytes`.
    sink: Option<BodySink>,
}

fn open_sink(path: &Path) -> Result<BodySink> {
    let out = BodyOut::open(Some(path), false)?;
    Ok(BodySink::new(out, Progress::new(false), false))
}
