//! `rawget send --pipeline`: every request written while the responses
//! are read, on one thread, over plain TCP and TLS alike.
//!
//! Written first and read after, a long pipeline stalls: the server's
//! replies fill its socket buffers and ours, it stops reading, and both
//! sides block in `write`. A TLS stream is one state machine that cannot
//! be split between a writer and a reader thread, so the socket is made
//! non-blocking and one loop does both: frame a piece ahead
//! ([`Outgoing`]), read every response the bytes received complete, then
//! try to write and try to read; only when neither moves does it `poll(2)`
//! the socket (for writable while bytes wait, readable while a response is
//! due), never past `-m` nor past the next `--split` piece's `--delay`.
//! Trying before polling also drains what OpenSSL holds decrypted, which
//! no poll of the socket can see.
//!
//! Memory stays flat whatever the count: the input is framed at most a
//! [`PIECE`] ahead of the writes, and at most [`WINDOW`] requests may be
//! framed and not yet answered (one byte each: only a HEAD or a CONNECT
//! changes how its response is framed).

use std::collections::VecDeque;
use std::io::{self, Write};
use std::time::Instant;

use super::exchange::Session;
use super::input::{Outgoing, PIECE};
use super::response::Part;
use crate::error::{connection_error, Doing, Error, ErrorKind, Result};
use crate::fetch::conn::Conn;
use crate::response::reader::Reader;

/// How many requests may be framed and not yet answered. Far more than a
/// server keeps in flight on one connection (nginx reads a few KiB of
/// pipeline at a time), so it bounds memory, not speed.
const WINDOW: usize = 1 << 16;

/// A request's method, as far as its response's framing cares (RFC 9112
/// §6.3 rules 1 and 2): any other is framed as a GET's.
#[derive(Debug, Clone, Copy)]
enum Method {
    Head,
    Connect,
    Other,
}

impl Method {
    fn of(method: &str) -> Method {
        if method.eq_ignore_ascii_case("HEAD") {
            Method::Head
        } else if method.eq_ignore_ascii_case("CONNECT") {
            Method::Connect
        } else {
            Method::Other
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Method::Head => "HEAD",
            Method::Connect => "CONNECT",
            Method::Other => "GET",
        }
    }
}

/// The write side: `--split` pieces, `--delay` between them, and how it
/// failed.
#[derive(Debug, Default)]
struct Writer {
    /// Bytes left of the current `--split` piece.
    piece_left: usize,
    /// When the next piece may start (`--delay`).
    next_at: Option<Instant>,
    /// The write that failed: nothing more is written.
    failed: Option<Error>,
}

/// What the responses read so far are waiting for.
#[derive(Default)]
struct Reading {
    /// The method of each request framed and not yet answered, in order.
    queue: VecDeque<Method>,
    /// The response being read, once one is due.
    part: Option<Part>,
    /// Responses read to requests (from 0: the next one's request).
    answered: usize,
    /// The server closed the connection.
    eof: bool,
}

impl Session<'_> {
    /// Sends everything `out` frames while reading each response, in
    /// order. A server may answer (and close) before reading everything;
    /// its answers are still worth reading, so a failed write is the
    /// error only when nothing came back.
    pub(super) fn pipeline(
        &mut self,
        conn: &mut Conn,
        reader: &mut Reader,
        out: &mut Outgoing,
    ) -> Result<()> {
        // The deadline is kept here, by poll: the socket must not wait.
        conn.stream.set_deadline(None);
        if let Err(e) = conn.stream.set_nonblocking(true) {
            return Err(self.io_error(e, Doing::Send));
        }
        let mut w = Writer::default();
        let result = self.interleave(conn, reader, out, &mut w);
        let _ = conn.stream.set_nonblocking(false);
        conn.stream.set_deadline(self.plan.connect.deadline);
        match (result, w.failed) {
            (Err(e), Some(sent)) if e.kind() == ErrorKind::EmptyReply => Err(sent),
            (result, _) => result,
        }
    }

    /// The loop of the module doc.
    fn interleave(
        &mut self,
        conn: &mut Conn,
        reader: &mut Reader,
        out: &mut Outgoing,
        w: &mut Writer,
    ) -> Result<()> {
        let mut r = Reading::default();
        loop {
            if w.failed.is_none() {
                self.frame_ahead(out, &mut r.queue)?;
            }
            if self.read_buffered(conn, reader, &mut r)? {
                return Ok(());
            }
            let writing = w.failed.is_none() && !out.is_done();
            let due = r.part.is_some();
            if !due && r.queue.is_empty() && !writing {
                return self.all_answered(out, &r, w);
            }
            if r.eof {
                return Err(self.no_answer(out, r.answered));
            }
            let now = Instant::now();
            self.check_deadline(reader, &r)?;
            let write = writing && !out.unsent().is_empty() && w.next_at.is_none_or(|t| now >= t);
            let mut moved = write && self.write_some(conn, out, w, now);
            if due {
                let before = conn.input().len();
                let doing = r
                    .part
                    .as_ref()
                    .map_or(Doing::Head, |p| self.doing(reader, p));
                match conn.fill(doing, &mut self.raw, &mut self.trace) {
                    Ok(true) => moved = true,
                    Ok(false) => {
                        self.closed_while_reading(conn, reader, &mut r)?;
                        if self.switched.is_some() {
                            return Ok(());
                        }
                        continue;
                    }
                    // WouldBlock: nothing yet (a TLS read may still have
                    // taken whole records before it).
                    Err(e) if e.kind() == ErrorKind::Timeout => {
                        moved |= conn.input().len() > before;
                    }
                    Err(e) => return Err(e),
                }
            }
            if !moved {
                self.wait(conn, reader, &r, write, due, w.next_at)?;
            }
        }
    }

    /// Frames until a [`PIECE`] waits to be written, the input ends or
    /// [`WINDOW`] requests are unanswered; each request is traced (`-v`)
    /// and kept for `--report` as it is framed.
    fn frame_ahead(&mut self, out: &mut Outgoing, queue: &mut VecDeque<Method>) -> Result<()> {
        while out.unsent().len() < PIECE && queue.len() < WINDOW {
            let before = out.unsent().len();
            let more = match out.next_request()? {
                Some(r) => {
                    self.framed(&r);
                    queue.push_back(Method::of(&r.method));
                    true
                }
                None => out.more_rest()?,
            };
            if out.unsent().len() > before {
                self.trace.request(&out.unsent()[before..]);
            }
            if !more {
                break;
            }
        }
        Ok(())
    }

    /// Reads every response the bytes received complete; `true` once a
    /// 101 ends the HTTP exchange.
    fn read_buffered(
        &mut self,
        conn: &mut Conn,
        reader: &mut Reader,
        r: &mut Reading,
    ) -> Result<bool> {
        loop {
            let part = match &mut r.part {
                Some(part) => part,
                None => {
                    let Some(&m) = r.queue.front() else {
                        return Ok(false);
                    };
                    reader.next_response(m.as_str());
                    r.part.insert(self.begin(Some(r.answered)))
                }
            };
            if !self.advance(conn, reader, part)? {
                return Ok(false);
            }
            if let Some(part) = r.part.take() {
                let response = self.finish(part)?;
                self.answered(response, r);
            }
            if self.switched.is_some() {
                return Ok(true);
            }
        }
    }

    fn answered(&mut self, response: super::report::ResponseJson, r: &mut Reading) {
        self.record(response);
        r.queue.pop_front();
        r.answered += 1;
    }

    /// The server closed: the response being read ends there if its
    /// framing lets it; any other still due is never coming.
    fn closed_while_reading(
        &mut self,
        conn: &mut Conn,
        reader: &mut Reader,
        r: &mut Reading,
    ) -> Result<()> {
        r.eof = true;
        self.closed = true;
        if let Some(part) = r.part.take() {
            if let Some(response) = self.ended(conn, reader, part)? {
                self.answered(response, r);
            }
        }
        Ok(())
    }

    /// Every request framed is answered and nothing more is written: done,
    /// unless a failed write left requests unsent.
    fn all_answered(&mut self, out: &mut Outgoing, r: &Reading, w: &mut Writer) -> Result<()> {
        let Some(sent) = w.failed.take() else {
            return Ok(());
        };
        // A failed read of the input leaves the count at what was framed.
        let _ = out.finish();
        if out.requests() <= r.answered {
            return Ok(());
        }
        Err(match self.report.responses_received {
            0 => sent,
            _ => self.closed_early(out, r.answered, Some(sent)),
        })
    }

    /// One write of what waits, at most the rest of the `--split` piece;
    /// `true` when bytes went out. A failure ends the writing.
    fn write_some(
        &mut self,
        conn: &mut Conn,
        out: &mut Outgoing,
        w: &mut Writer,
        now: Instant,
    ) -> bool {
        let split = self.plan.split;
        if let (Some(n), 0) = (split, w.piece_left) {
            w.piece_left = n;
        }
        let unsent = out.unsent();
        let len = split.map_or(unsent.len(), |_| unsent.len().min(w.piece_left));
        let n = match conn.stream.write(&unsent[..len]) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return true,
            Err(e) => {
                w.failed = self.sent(0, Err(e)).err();
                return true;
            }
        };
        out.sent(n);
        let _ = self.sent(n as u64, Ok(()));
        if split.is_some() {
            w.piece_left -= n.min(w.piece_left);
            let delay = self.plan.delay;
            w.next_at = (w.piece_left == 0 && !delay.is_zero()).then(|| now + delay);
        }
        n > 0
    }

    /// `-m` has run out: the timeout error of what was being done.
    fn check_deadline(&self, reader: &Reader, r: &Reading) -> Result<()> {
        match self.plan.connect.deadline {
            Some(at) if Instant::now() >= at => {
                let doing = r
                    .part
                    .as_ref()
                    .map_or(Doing::Send, |p| self.doing(reader, p));
                Err(self.io_error(io::ErrorKind::TimedOut.into(), doing))
            }
            _ => Ok(()),
        }
    }

    /// Waits until the socket is writable (`write`) or readable (`read`),
    /// the next piece may go (`next_at`), or `-m` runs out.
    fn wait(
        &self,
        conn: &Conn,
        reader: &Reader,
        r: &Reading,
        write: bool,
        read: bool,
        next_at: Option<Instant>,
    ) -> Result<()> {
        let now = Instant::now();
        let until = match (self.plan.connect.deadline, next_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        // Nothing to wait for cannot happen; `wait` then sleeps a little,
        // so it neither spins nor hangs if it did.
        let wait = until.map(|t| t.saturating_duration_since(now));
        if let Err(e) = conn.stream.wait(read, write, wait) {
            if e.kind() != io::ErrorKind::Interrupted {
                let doing = r
                    .part
                    .as_ref()
                    .map_or(Doing::Send, |p| self.doing(reader, p));
                return Err(self.io_error(e, doing));
            }
        }
        Ok(())
    }

    fn io_error(&self, e: io::Error, doing: Doing) -> Error {
        connection_error(e, doing, self.trace.elapsed(), self.trace.timings.received)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_head_and_connect_change_the_framing() {
        assert_eq!(Method::of("head").as_str(), "HEAD");
        assert_eq!(Method::of("CONNECT").as_str(), "CONNECT");
        assert_eq!(Method::of("POST").as_str(), "GET");
        assert_eq!(std::mem::size_of::<Method>(), 1);
    }
}
