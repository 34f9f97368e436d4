//! The whole response-reading state machine, with no I/O: the one read loop.
//!
//! Fed the bytes received (in the caller's buffer), a [`Reader`] says what
//! they are: more is needed, an interim or final head, body pieces (as
//! ranges of the caller's buffer, so they are written where they lie), or
//! the end of the response, with the bytes after it left to the caller (the
//! start of the next response on a kept-alive connection). It owns every
//! rule between "bytes arrived" and "the body is complete":
//!
//! 1. The head is found by a resumable scan ([`HeadScanner`]) and is capped
//!    at [`MAX_HEAD`] bytes on every path: partial or complete, in one read
//!    or a byte at a time, interim 1xx heads counted with the final one (as
//!    curl counts them).
//! 2. Interim 1xx heads (not 101) are yielded and skipped.
//! 3. The final head decides the framing (RFC 9112 section 6.3, in
//!    [`framing::decide`]), and the body is decoded by a [`Decoder`].
//! 4. At the close: nothing at all is an empty reply, a cut head is
//!    malformed, a short body says what is missing, and a close-delimited
//!    body over TLS without close_notify cannot be trusted (RFC 9112
//!    section 9.8).
//!
//! The fetch, `--explain`'s findings, the property tests, the fuzz targets
//! and the benches all drive this one reader.

use std::fmt;
use std::ops::Range;

use crate::response::body::{ChunkInfo, Decoder, FrameError, Missing};
use crate::response::deviations::{self, Finding};
use crate::response::framing::{self, Decision, Framing, FramingError};
use crate::response::head::{self, Head, HeadError, HeadScan, HeadScanner, MAX_HEAD};

/// Why a response could not be read. Each maps to one exit code in
/// `error.rs`; the `Display` text is the error message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// The bytes cannot be the start of an HTTP/1.x response; the first
    /// (at most 40) bytes are kept to show.
    NotHttp(Vec<u8>),
    /// The heads of the response are larger than [`MAX_HEAD`].
    HeadTooLarge,
    /// A complete head that does not parse.
    Head(HeadError),
    /// A final head whose body length cannot be decided.
    Framing(FramingError),
    /// A body whose chunked framing is broken.
    Body(FrameError),
    /// Chunked trailers that break the field rules of a head.
    Trailers(HeadError),
    /// The connection closed before any byte of the response.
    EmptyReply,
    /// The connection closed part-way through a head.
    CutHead,
    /// The connection closed before the body was complete.
    Incomplete {
        /// What the body lacks.
        missing: Missing,
        /// The TLS peer closed TCP without close_notify.
        no_close_notify: bool,
    },
    /// A close-delimited body over TLS ended by a TCP close without
    /// close_notify: its end cannot be told from a truncation.
    Truncated,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NO_NOTIFY: &str = "(TLS connection closed without close_notify)";
        match self {
            ReadError::NotHttp(start) => write!(
                f,
                "not an HTTP response: it starts \"{}\"",
                start.escape_ascii()
            ),
            ReadError::HeadTooLarge => write!(f, "response head larger than {MAX_HEAD} bytes"),
            ReadError::Head(e) => e.fmt(f),
            ReadError::Framing(e) => write!(f, "cannot frame the response: {e}"),
            // The decoder's error is the cause, shown after a colon.
            ReadError::Body(_) => f.write_str("malformed chunked body"),
            ReadError::Trailers(e) => write!(f, "malformed chunked trailers: {}", e.what()),
            ReadError::EmptyReply => f.write_str("empty reply from server"),
            ReadError::CutHead => {
                f.write_str("connection closed in the middle of the response head")
            }
            ReadError::Incomplete {
                missing,
                no_close_notify: false,
            } => missing.fmt(f),
            ReadError::Incomplete {
                missing,
                no_close_notify: true,
            } => write!(f, "{missing} {NO_NOTIFY}"),
            ReadError::Truncated => f.write_str(
                "body may be truncated: the server closed TCP without TLS close_notify, \
                 and a body with neither Content-Length nor chunked framing is complete \
                 only with it (RFC 9112 section 9.8); --keep-partial keeps what arrived",
            ),
        }
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReadError::Body(e) => Some(e),
            _ => None,
        }
    }
}

/// What [`Reader::read`] found in the bytes it was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// More bytes are needed. Bytes not consumed (a partial head) must be
    /// given again, with more after them.
    NeedMore,
    /// A head, whose bytes are the consumed ones, exactly as received.
    Head {
        /// The parsed head.
        head: Head,
        /// Whether it is an interim (1xx) head; the final one follows.
        interim: bool,
    },
    /// Body bytes: the ranges written to the caller's `ranges`, in the
    /// input (decoded body; under [`Reader::raw`], the framing too).
    Body,
    /// The response is complete. Bytes after the consumed ones are not
    /// part of it.
    Done,
}

/// What one [`Reader::read`] call consumed and found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Input bytes used.
    pub consumed: usize,
    /// What they were.
    pub event: Event,
}

#[derive(Debug, Clone)]
enum State {
    /// Looking for a head; `heads` bytes of interim heads came before it.
    Head { scanner: HeadScanner, heads: usize },
    /// Reading the body of the final head.
    Body(Decoder),
    /// The response is complete.
    Done,
}

/// Reads one response at a time from a stream of bytes.
#[derive(Debug, Clone)]
pub struct Reader {
    state: State,
    method: String,
    raw: bool,
    no_body: bool,
    record_chunks: bool,
    findings: Option<Vec<Finding>>,
    /// Any byte of this response seen (tells an empty reply from a cut head).
    seen: bool,
    decision: Option<Decision>,
    chunks: u64,
    extensions: usize,
    /// Chunks seen and not yet taken, under `record_chunks`.
    pending_chunks: Vec<ChunkInfo>,
    trailers: Vec<u8>,
}

impl Reader {
    /// A reader for the response to a request with `method`.
    pub fn new(method: &str) -> Reader {
        Reader {
            state: Reader::start(),
            method: method.to_owned(),
            raw: false,
            no_body: false,
            record_chunks: false,
            findings: None,
            seen: false,
            decision: None,
            chunks: 0,
            extensions: 0,
            pending_chunks: Vec::new(),
            trailers: Vec::new(),
        }
    }

    fn start() -> State {
        State::Head {
            scanner: HeadScanner::new(),
            heads: 0,
        }
    }

    /// Body events carry the body as received, chunked framing kept
    /// (`--raw`); the framing still decides where the response ends.
    pub fn raw(mut self, raw: bool) -> Reader {
        self.raw = raw;
        self
    }

    /// Reads no body whatever the head says (`-I` with another method).
    pub fn no_body(mut self, no_body: bool) -> Reader {
        self.no_body = no_body;
        self
    }

    /// Records every chunk's offset, size and extensions ([`Reader::take_chunks`]).
    pub fn record_chunks(mut self, record: bool) -> Reader {
        self.record_chunks = record;
        self
    }

    /// Looks for RFC deviations in heads and bodies ([`Reader::take_findings`]).
    pub fn findings(mut self, on: bool) -> Reader {
        self.findings = on.then(Vec::new);
        self
    }

    /// Starts on the next response on the same connection, to a request
    /// with `method`: the bytes left after [`Event::Done`] are its start.
    pub fn next_response(&mut self, method: &str) {
        self.state = Reader::start();
        method.clone_into(&mut self.method);
        self.seen = false;
        self.decision = None;
        self.chunks = 0;
        self.extensions = 0;
        self.pending_chunks.clear();
        self.trailers.clear();
    }

    /// Reads from `input`: every byte received and not yet consumed, from
    /// the first byte of a partial head when one is pending. Body pieces
    /// are appended to `ranges` (cleared first), at most `max` of them.
    pub fn read(
        &mut self,
        input: &mut [u8],
        ranges: &mut Vec<Range<usize>>,
        max: usize,
    ) -> Result<Step, ReadError> {
        ranges.clear();
        self.seen |= !input.is_empty();
        match &mut self.state {
            State::Head { scanner, heads } => {
                let (scan, before) = (scanner.scan(input), *heads);
                self.read_head(input, scan, before)
            }
            State::Body(_) if input.is_empty() => Ok(Step {
                consumed: 0,
                event: Event::NeedMore,
            }),
            State::Body(decoder) => {
                let consumed = if self.raw {
                    let used = decoder.skip(input).map_err(ReadError::Body)?;
                    if used > 0 {
                        ranges.push(0..used);
                    }
                    used
                } else {
                    decoder
                        .decode_ranges(input, ranges, max)
                        .map_err(ReadError::Body)?
                };
                self.count_chunks();
                if self.body_done() {
                    self.end_body()?;
                }
                // A Body event may end the body: the next call says Done.
                let event = match (ranges.is_empty(), self.is_done()) {
                    (false, _) => Event::Body,
                    (true, true) => Event::Done,
                    (true, false) => Event::NeedMore,
                };
                Ok(Step { consumed, event })
            }
            State::Done => Ok(Step {
                consumed: 0,
                event: Event::Done,
            }),
        }
    }

    /// Caps and parses one head found by the scan; `before` bytes of
    /// interim heads came ahead of it. Steps 1 to 3 of the module doc.
    fn read_head(
        &mut self,
        input: &[u8],
        scan: HeadScan,
        before: usize,
    ) -> Result<Step, ReadError> {
        let len = match scan {
            HeadScan::Complete(n) => n,
            HeadScan::NotHttp => {
                return Err(ReadError::NotHttp(input.iter().copied().take(40).collect()))
            }
            // A head with no end in sight may already be over the cap.
            HeadScan::Partial if before + input.len() > MAX_HEAD => {
                return Err(ReadError::HeadTooLarge)
            }
            HeadScan::Partial => {
                return Ok(Step {
                    consumed: 0,
                    event: Event::NeedMore,
                })
            }
        };
        // Step 1: the cap holds however the bytes arrived.
        if before + len > MAX_HEAD {
            return Err(ReadError::HeadTooLarge);
        }
        let bytes = &input[..len];
        let head = match head::parse(bytes) {
            Ok(head) => head,
            Err(e) => {
                // Name what made the head unreadable, for --explain/--report.
                self.note(|| deviations::scan_head(bytes, &Head::default()));
                return Err(ReadError::Head(e));
            }
        };
        self.note(|| deviations::scan_head(bytes, &head));
        // Step 2: interim heads are yielded and skipped.
        let interim = head.is_interim();
        if interim {
            self.state = State::Head {
                scanner: HeadScanner::new(),
                heads: before + len,
            };
        } else {
            self.begin_body(&head)?;
        }
        Ok(Step {
            consumed: len,
            event: Event::Head { head, interim },
        })
    }

    /// Step 3: the final head decides how the body ends.
    fn begin_body(&mut self, head: &Head) -> Result<(), ReadError> {
        let decision = framing::decide(&self.method, head).map_err(ReadError::Framing)?;
        let framing = if self.no_body {
            Framing::None
        } else {
            decision.framing
        };
        let mut decoder = Decoder::new(framing);
        if self.record_chunks || self.findings.is_some() {
            decoder = decoder.record_chunks();
        }
        self.decision = Some(decision);
        self.state = State::Body(decoder);
        if self.body_done() {
            self.end_body()?;
        }
        Ok(())
    }

    fn body_done(&self) -> bool {
        matches!(&self.state, State::Body(d) if d.is_done())
    }

    /// The body is complete: check and keep its trailers, note what it
    /// carried.
    fn end_body(&mut self) -> Result<(), ReadError> {
        if let State::Body(decoder) = &self.state {
            self.trailers = decoder.trailers().to_vec();
        }
        self.state = State::Done;
        if !self.trailers.is_empty() {
            head::parse_trailers(&self.trailers).map_err(ReadError::Trailers)?;
        }
        if self.framing() == Some(Framing::Chunked) {
            let (extensions, trailers) = (self.extensions, self.trailers.len());
            if extensions > 0 {
                self.note(|| vec![deviations::chunk_extensions(extensions)]);
            }
            if trailers > 0 {
                self.note(|| vec![deviations::trailers(trailers)]);
            }
        }
        Ok(())
    }

    /// Counts the chunks the decoder saw, keeping them for
    /// [`Reader::take_chunks`] only when asked to.
    fn count_chunks(&mut self) {
        let State::Body(d) = &mut self.state else {
            return;
        };
        for c in d.take_chunks() {
            self.chunks += 1;
            self.extensions += usize::from(!c.extensions.is_empty());
            if self.record_chunks {
                self.pending_chunks.push(c);
            }
        }
    }

    fn note(&mut self, found: impl FnOnce() -> Vec<Finding>) {
        if let Some(findings) = &mut self.findings {
            findings.extend(found());
        }
    }

    /// The connection closed (`no_close_notify`: a TLS peer closed TCP
    /// without its closure alert). Step 4 of the module doc: whether what
    /// arrived is a complete response, and if not, why.
    pub fn eof(&mut self, no_close_notify: bool) -> Result<(), ReadError> {
        match &self.state {
            State::Head { .. } if !self.seen => Err(ReadError::EmptyReply),
            State::Head { .. } => Err(ReadError::CutHead),
            State::Body(decoder) => {
                decoder.finish().map_err(|missing| ReadError::Incomplete {
                    missing,
                    no_close_notify,
                })?;
                // Close-delimited: only close_notify proves the end.
                if no_close_notify {
                    return Err(ReadError::Truncated);
                }
                self.end_body()
            }
            State::Done => Ok(()),
        }
    }

    /// Whether the response is complete.
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// Whether the reader is waiting for a head (no final head yet).
    pub fn in_head(&self) -> bool {
        matches!(self.state, State::Head { .. })
    }

    /// The framing of the body being read, once the final head arrived
    /// (`Framing::None` under [`Reader::no_body`]).
    pub fn framing(&self) -> Option<Framing> {
        let decided = self.decision.as_ref()?.framing;
        Some(if self.no_body { Framing::None } else { decided })
    }

    /// How the framing was decided (the rule of RFC 9112 section 6.3), as
    /// the head said, once the final head arrived.
    pub fn decision(&self) -> Option<&Decision> {
        self.decision.as_ref()
    }

    /// Body bytes still promised by Content-Length, or of the current chunk;
    /// `None` for a close-delimited body or outside the body.
    pub fn remaining(&self) -> Option<u64> {
        match &self.state {
            State::Body(d) => d.remaining(),
            _ => None,
        }
    }

    /// Accounts for `n` body bytes of a Content-Length or close-delimited
    /// body that were moved without passing through [`Reader::read`]
    /// (splice(2)).
    pub fn advance(&mut self, n: u64) {
        if let State::Body(d) = &mut self.state {
            d.advance(n);
        }
        if self.body_done() {
            // Only Content-Length bodies end here: no trailers to refuse.
            let _ = self.end_body();
        }
    }

    /// The chunks seen since the last call, when [`Reader::record_chunks`]
    /// was asked for (so records never pile up).
    pub fn take_chunks(&mut self) -> Vec<ChunkInfo> {
        std::mem::take(&mut self.pending_chunks)
    }

    /// Chunks seen in this response so far.
    pub fn chunks(&self) -> u64 {
        self.chunks
    }

    /// The trailer lines of a complete chunked body, as received.
    pub fn trailers(&self) -> &[u8] {
        &self.trailers
    }

    /// The RFC deviations seen since the last call, when
    /// [`Reader::findings`] was asked for.
    pub fn take_findings(&mut self) -> Vec<Finding> {
        self.findings
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What reading `wire` in pieces of `step` bytes gave: the heads (with
    /// their interim flag), the body, the leftover, or the error.
    #[derive(Debug, PartialEq, Eq)]
    struct Outcome {
        heads: Vec<(u16, bool)>,
        body: Vec<u8>,
        leftover: Vec<u8>,
    }

    fn read_in_steps(method: &str, wire: &[u8], step: usize) -> Result<Outcome, ReadError> {
        let mut reader = Reader::new(method);
        let (mut ranges, mut pending, mut fed) = (Vec::new(), Vec::new(), 0);
        let mut out = Outcome {
            heads: vec![],
            body: vec![],
            leftover: vec![],
        };
        loop {
            let s = reader.read(&mut pending, &mut ranges, 64)?;
            match s.event {
                Event::Head { head, interim } => out.heads.push((head.status, interim)),
                Event::Body => {
                    for r in &ranges {
                        out.body.extend_from_slice(&pending[r.clone()]);
                    }
                }
                Event::Done => {
                    pending.drain(..s.consumed);
                    out.leftover = pending;
                    out.leftover.extend_from_slice(&wire[fed..]);
                    return Ok(out);
                }
                Event::NeedMore if fed == wire.len() => {
                    reader.eof(false)?;
                    pending.drain(..s.consumed);
                    out.leftover = pending;
                    return Ok(out);
                }
                Event::NeedMore => {
                    let next = (fed + step).min(wire.len());
                    pending.drain(..s.consumed);
                    pending.extend_from_slice(&wire[fed..next]);
                    fed = next;
                    continue;
                }
            }
            pending.drain(..s.consumed);
        }
    }

    /// Reads `wire` whole, in two pieces cut at every point, and a byte at
    /// a time; all must agree.
    fn read_all_ways(method: &str, wire: &[u8]) -> Result<Outcome, ReadError> {
        let whole = read_in_steps(method, wire, wire.len().max(1));
        assert_eq!(read_in_steps(method, wire, 1), whole, "a byte at a time");
        whole
    }

    /// A head of exactly `len` bytes: a status line, one long field, the
    /// blank line.
    fn head_of_len(len: usize) -> Vec<u8> {
        let start = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Pad: ";
        let mut head = start.to_vec();
        head.resize(len - 4, b'a');
        head.extend_from_slice(b"\r\n\r\n");
        assert_eq!(head.len(), len);
        head
    }

    #[test]
    fn head_cap_holds_however_the_bytes_arrive() {
        // Issue 10: a 310 KiB head in one read was accepted; in pieces refused.
        let at_cap = head_of_len(MAX_HEAD);
        let heads = read_all_ways("GET", &at_cap).unwrap().heads;
        assert_eq!(heads, vec![(200, false)]);
        let over = head_of_len(MAX_HEAD + 1);
        assert_eq!(read_all_ways("GET", &over), Err(ReadError::HeadTooLarge));
        // Whole, followed by a body in the same read.
        let mut with_body = over.clone();
        with_body.extend_from_slice(b"body");
        assert_eq!(
            read_in_steps("GET", &with_body, with_body.len()),
            Err(ReadError::HeadTooLarge)
        );
        // A head that never ends is refused once past the cap, not at the close.
        let endless = vec![b'a'; MAX_HEAD + 1];
        let mut head = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
        head.extend_from_slice(&endless);
        assert_eq!(
            read_in_steps("GET", &head, 4096),
            Err(ReadError::HeadTooLarge)
        );
    }

    #[test]
    fn interim_heads_count_toward_the_cap() {
        let interim = b"HTTP/1.1 100 Continue\r\n\r\n";
        let final_head = b"HTTP/1.1 204 No Content\r\n\r\n";
        let n = (MAX_HEAD - final_head.len()) / interim.len();
        let mut wire = interim.repeat(n);
        wire.extend_from_slice(final_head);
        let out = read_in_steps("GET", &wire, 7).unwrap();
        assert_eq!(out.heads.len(), n + 1);
        assert_eq!(out.heads.last(), Some(&(204, false)));
        let mut wire = interim.repeat(n + 1);
        wire.extend_from_slice(final_head);
        assert_eq!(read_in_steps("GET", &wire, 7), Err(ReadError::HeadTooLarge));
        assert_eq!(
            read_in_steps("GET", &wire, wire.len()),
            Err(ReadError::HeadTooLarge)
        );
    }

    #[test]
    fn empty_reply_cut_head_and_short_body() {
        assert_eq!(read_all_ways("GET", b""), Err(ReadError::EmptyReply));
        assert_eq!(
            read_all_ways("GET", b"HTTP/1.1 200 OK\r\n"),
            Err(ReadError::CutHead)
        );
        // An interim head then the close: a cut head, not an empty reply.
        assert_eq!(
            read_all_ways("GET", b"HTTP/1.1 100 Continue\r\n\r\n"),
            Err(ReadError::CutHead)
        );
        assert_eq!(
            read_all_ways("GET", b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc"),
            Err(ReadError::Incomplete {
                missing: Missing::Bytes(6),
                no_close_notify: false
            })
        );
        // Seen at the first byte that cannot start "HTTP/"; it shows what came.
        assert_eq!(
            read_in_steps("GET", b"<html>", 6),
            Err(ReadError::NotHttp(b"<html>".to_vec()))
        );
        assert_eq!(
            read_in_steps("GET", b"<html>", 1),
            Err(ReadError::NotHttp(b"<".to_vec()))
        );
    }

    #[test]
    fn close_delimited_over_tls_needs_close_notify() {
        let wire = b"HTTP/1.1 200 OK\r\n\r\nall of it";
        let mut reader = Reader::new("GET");
        let mut input = wire.to_vec();
        let mut ranges = Vec::new();
        let head = reader.read(&mut input, &mut ranges, 64).unwrap();
        let body = reader
            .read(&mut input[head.consumed..], &mut ranges, 64)
            .unwrap();
        assert_eq!(body.event, Event::Body);
        let mut tls = reader.clone();
        assert_eq!(tls.eof(true), Err(ReadError::Truncated));
        assert_eq!(reader.eof(false), Ok(()));
        assert!(reader.is_done());
    }

    #[test]
    fn several_responses_in_a_row() {
        let one = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc";
        let two = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nde\r\n0\r\n\r\n";
        let three = b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n";
        let mut wire = one.to_vec();
        wire.extend_from_slice(two);
        wire.extend_from_slice(three);
        let first = read_all_ways("GET", &wire).unwrap();
        assert_eq!(first.body, b"abc");
        let second = read_all_ways("GET", &first.leftover).unwrap();
        assert_eq!(second.heads, vec![(100, true), (200, false)]);
        assert_eq!(second.body, b"de");
        let third = read_all_ways("GET", &second.leftover).unwrap();
        assert_eq!((third.heads, third.body.len()), (vec![(304, false)], 0));
        assert!(third.leftover.is_empty());
        // One reader, reused with next_response, agrees.
        let mut reader = Reader::new("GET");
        let mut input = wire.clone();
        let (mut ranges, mut at, mut bodies) = (Vec::new(), 0, vec![Vec::new()]);
        while at < input.len() {
            let s = reader.read(&mut input[at..], &mut ranges, 64).unwrap();
            if s.event == Event::Body {
                for r in &ranges {
                    let piece = input[at..][r.clone()].to_vec();
                    bodies.last_mut().unwrap().extend(piece);
                }
            }
            at += s.consumed;
            if s.event == Event::Done {
                reader.next_response("GET");
                bodies.push(Vec::new());
            }
        }
        assert_eq!(bodies, vec![b"abc".to_vec(), b"de".to_vec(), vec![]]);
    }

    #[test]
    fn raw_keeps_the_framing_and_still_finds_the_end() {
        let wire =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nNEXT";
        let mut reader = Reader::new("GET").raw(true);
        let (mut input, mut ranges) = (wire.to_vec(), Vec::new());
        let head = reader.read(&mut input, &mut ranges, 64).unwrap();
        let rest = &mut input[head.consumed..];
        let body = reader.read(rest, &mut ranges, 64).unwrap();
        assert_eq!(body.event, Event::Body);
        assert_eq!(&rest[ranges[0].clone()], b"3\r\nabc\r\n0\r\n\r\n");
        let done = reader.read(&mut rest[body.consumed..], &mut ranges, 64);
        assert_eq!(done.map(|s| s.event), Ok(Event::Done));
        assert_eq!(&rest[body.consumed..], b"NEXT");
    }

    #[test]
    fn findings_name_what_made_a_head_unreadable() {
        let mut reader = Reader::new("GET").findings(true);
        let mut input = b"HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n".to_vec();
        let e = reader.read(&mut input, &mut Vec::new(), 64).unwrap_err();
        assert!(matches!(e, ReadError::Head(_)), "{e:?}");
        assert!(!reader.take_findings().is_empty());
    }
}
