//! One connection's read side: the stream and the one buffer the whole
//! response is read into.
//!
//! Bytes received and not yet consumed lie in `buf[start..end]`; a partial
//! head stays there (moved to the front when the buffer is full) until the
//! rest arrives, so the reader always sees a head from its first byte. The
//! buffer grows only for a head larger than itself, and the reader caps
//! heads, so it grows at most once. Every read is teed to `--save-raw` and
//! counted here, the one place bytes come off the wire.

use std::io::{Read, Write};

use crate::error::{connection_error, Doing, Result};
use crate::observe::trace::Trace;
use crate::output::RawCapture;
use crate::transport::{Pace, Stream, TLS_RECORD};

/// Size of the read buffer: large reads mean few system calls per byte.
pub const BUF_SIZE: usize = 256 * 1024;

/// Most bytes a read for a head takes: heads are small, and what comes
/// with one is only the start of the body, which the body's own reads
/// (or splice) move more cheaply. The buffer's other pages stay
/// untouched until a body needs them (peak RSS).
pub const HEAD_FILL: usize = 64 * 1024;

/// A connection and its read buffer.
pub struct Conn {
    /// The stream, plain or TLS.
    pub stream: Stream,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// The TLS peer closed TCP without close_notify.
    pub no_close_notify: bool,
    /// Most bytes one [`Conn::fill`] takes ([`HEAD_FILL`] until the body
    /// sets it).
    fill_max: usize,
    /// Whether a body may be spliced past user space (`exchange.rs`):
    /// not when it comes from an HTTP proxy that forwards the request.
    pub may_splice: bool,
    /// Whether a streaming body's reads nap rather than wait (through a
    /// proxy: `transport/pace.rs`); off unless the fetch turns it on.
    pub pace: Pace,
}

impl Conn {
    /// A connection over `stream` with an empty buffer.
    pub fn new(stream: Stream) -> Conn {
        Conn {
            stream,
            buf: vec![0; BUF_SIZE],
            start: 0,
            end: 0,
            no_close_notify: false,
            fill_max: HEAD_FILL,
            may_splice: true,
            pace: Pace::default(),
        }
    }

    /// Each [`Conn::fill`] from now on takes at most `n` bytes (at least
    /// one TLS record): [`HEAD_FILL`] for heads, [`BUF_SIZE`] for a body
    /// read as it is. A body that is decoded is read in smaller pieces:
    /// decoding costs far more than a read(2), so large reads save
    /// nothing there, while a smaller one stays in the cache the decoder
    /// reads it from and leaves the rest of the buffer's pages untouched
    /// (peak RSS).
    pub fn fill_at_most(&mut self, n: usize) {
        self.fill_max = n.max(TLS_RECORD);
    }

    /// The stream, given back with the buffer dropped (after a CONNECT
    /// reply, which must leave nothing unread).
    pub fn into_stream(self) -> Stream {
        self.stream
    }

    /// Sends all of `bytes`.
    pub fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes)?;
        self.stream.flush()
    }

    /// The bytes received and not yet consumed.
    pub fn input(&mut self) -> &mut [u8] {
        &mut self.buf[self.start..self.end]
    }

    /// Marks the first `n` bytes of [`Conn::input`] consumed.
    pub fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
    }

    /// Whether every byte received has been consumed (asked before a
    /// splice, and by `rawget send` between responses).
    pub fn is_drained(&self) -> bool {
        self.start == self.end
    }

    /// Reads more after what is pending. Returns `false` at the end of the
    /// stream. A TLS stream hands over one 16 KiB record per read; while
    /// more full records wait, they are gathered, so each write is large.
    pub fn fill(
        &mut self,
        doing: Doing,
        raw: &mut Option<RawCapture>,
        trace: &mut Trace,
    ) -> Result<bool> {
        if self.start == self.end {
            (self.start, self.end) = (0, 0);
        } else if self.end == self.buf.len() {
            // Keep the pending bytes at the front; grow only when they fill it.
            self.buf.copy_within(self.start..self.end, 0);
            (self.start, self.end) = (0, self.end - self.start);
            if self.end == self.buf.len() {
                self.buf.resize(self.buf.len() * 2, 0);
            }
        }
        let stop = self.buf.len().min(self.end + self.fill_max);
        let stream = &self.stream;
        self.pace.wait(|| stream.readable_now());
        let first = self.read_once(stop, doing, raw, trace)?;
        self.pace.took(first);
        let mut got = first;
        while got > 0 && self.end + TLS_RECORD <= stop && self.stream.tls_pending() >= TLS_RECORD {
            got = self.read_once(stop, doing, raw, trace)?;
        }
        Ok(first > 0)
    }

    /// One read into the free end of the buffer, up to `stop`, teed and
    /// counted.
    fn read_once(
        &mut self,
        stop: usize,
        doing: Doing,
        raw: &mut Option<RawCapture>,
        trace: &mut Trace,
    ) -> Result<usize> {
        let at = self.end;
        let n = match self.stream.read(&mut self.buf[at..stop]) {
            Ok(n) => n,
            // Without close_notify the end of a TLS stream is not proof of a
            // complete body; treat it as the end and let the reader judge.
            Err(e) if self.stream.is_tls() && crate::error::is_tls_truncation(&e) => {
                self.no_close_notify = true;
                0
            }
            Err(e) => {
                let received = trace.timings.received;
                return Err(connection_error(e, doing, trace.elapsed(), received));
            }
        };
        if n > 0 {
            trace.received(n as u64);
            if let Some(raw) = raw {
                raw.write_all(&self.buf[at..at + n])?;
            }
        }
        self.end += n;
        Ok(n)
    }

    /// Ends the connection.
    pub fn close(&mut self) {
        self.stream.close();
    }
}
