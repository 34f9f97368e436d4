//! The one metered body sink: every body byte, decoded, raw or spliced,
//! passes here, and is counted once. The progress bar, `--timing`,
//! `--report` and the `--keep-partial` note all read this one counter, so
//! they cannot disagree.
//!
//! Decoded bodies bound for FILE are written behind the decoder, by a
//! second thread ([`Behind`]); every other write waits for it first, so
//! bytes reach the output in order.

use std::ops::Range;

use super::behind::Behind;
use super::body::BodyOut;
use crate::error::{Error, ErrorKind, Result};
use crate::observe::progress::Progress;
use crate::response::coding::DECODE_BUF;

/// The body's destination, metered.
pub struct BodySink {
    out: BodyOut,
    bytes: u64,
    progress: Progress,
    /// Still to check that the body is not binary bound for a terminal.
    guard: bool,
    /// `--max-filesize`: the most bytes one body may have.
    limit: Option<u64>,
    /// [`BodySink::bytes`] when the current body began.
    body_start: u64,
    /// Decoded bytes on their way to FILE, written by a second thread.
    behind: Behind,
    /// A failed write behind the decoder, found where no error could be
    /// returned ([`BodySink::out`]): returned by the next call that can.
    late: Option<Error>,
}

impl BodySink {
    /// Meters `out`; `progress` draws when enabled; `refuse_binary`: check
    /// the first piece of the body for a NUL byte.
    pub fn new(out: BodyOut, progress: Progress, refuse_binary: bool) -> BodySink {
        BodySink {
            guard: refuse_binary && out.is_stdout(),
            out,
            bytes: 0,
            progress,
            limit: None,
            body_start: 0,
            behind: Behind::default(),
            late: None,
        }
    }

    /// `--max-filesize`: a body may have at most `limit` bytes; a piece
    /// that would pass it is not written (exit 63).
    pub fn limit(mut self, limit: Option<u64>) -> BodySink {
        self.limit = limit;
        self
    }

    /// Fails with exit 63 when `more` bytes would take the body past the
    /// limit, before they are written.
    fn check_limit(&self, more: u64) -> Result<()> {
        let Some(max) = self.limit else {
            return Ok(());
        };
        let total = self.bytes - self.body_start + more;
        if total > max {
            return Err(Error::new(
                ErrorKind::FileTooLarge,
                format!("the body passed --max-filesize ({max} bytes)"),
            ));
        }
        Ok(())
    }

    /// Writes body bytes held in a buffer of their own (decoded ones).
    pub fn write_all(&mut self, data: &[u8]) -> Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        self.check_limit(data.len() as u64)?;
        self.refuse_binary(data)?;
        self.take_late()?;
        match &mut self.out {
            BodyOut::File(f) => {
                if let Err(e) = self.behind.write(&f.file, data) {
                    return Err(self.out.write_error(e));
                }
                self.out.count(data.len() as u64);
            }
            BodyOut::Stdout(_) => self.out.write_all(data)?,
        }
        self.count(data.len() as u64);
        Ok(())
    }

    /// Body bytes made straight into the output's buffer (decoded ones):
    /// `make` fills the start of the room it is given and returns how
    /// many bytes it made, which are then checked and counted as
    /// [`BodySink::write_all`]'s. For FILE the room is the writer thread's
    /// buffer, so the bytes are never copied in user space; for stdout it
    /// is `scratch` (made [`DECODE_BUF`] bytes long on first use), written
    /// at once.
    pub fn write_made(
        &mut self,
        scratch: &mut Vec<u8>,
        make: impl FnOnce(&mut [u8]) -> Result<usize>,
    ) -> Result<usize> {
        if self.out.is_stdout() {
            // Made only for stdout: a file's bytes are made in place.
            if scratch.is_empty() {
                scratch.resize(DECODE_BUF, 0);
            }
            let n = make(scratch)?;
            self.write_all(&scratch[..n])?;
            return Ok(n);
        }
        self.take_late()?;
        let room = match self.behind.room() {
            Ok(room) => room,
            Err(e) => return Err(self.out.write_error(e)),
        };
        let n = make(room)?;
        if n == 0 {
            return Ok(0);
        }
        // Made but not yet the body's: past the limit, they are dropped.
        self.check_limit(n as u64)?;
        let filled = match &self.out {
            BodyOut::File(f) => self.behind.filled(&f.file, n),
            BodyOut::Stdout(_) => Ok(()),
        };
        filled.map_err(|e| self.out.write_error(e))?;
        self.out.count(n as u64);
        self.count(n as u64);
        Ok(n)
    }

    /// The input ran dry: what was written and is still gathered goes on
    /// to the output now rather than waiting for a fuller buffer.
    pub fn pass_on(&mut self) -> Result<()> {
        self.take_late()?;
        let passed = match &self.out {
            BodyOut::File(f) => self.behind.pass_on(&f.file),
            BodyOut::Stdout(_) => Ok(()),
        };
        passed.map_err(|e| self.out.write_error(e))
    }

    /// Waits until every byte written behind the decoder is in FILE, so
    /// that the output may be written directly (or made final).
    fn settle(&mut self) -> Result<()> {
        self.take_late()?;
        if self.behind.is_idle() {
            return Ok(());
        }
        let drained = match &mut self.out {
            BodyOut::File(f) => self.behind.drain(&mut f.file),
            BodyOut::Stdout(_) => Ok(()),
        };
        drained.map_err(|e| self.out.write_error(e))
    }

    /// A failed write found earlier, if any.
    fn take_late(&mut self) -> Result<()> {
        match self.late.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Body bytes written so far, over every hop.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// A new body of `total` bytes (when known) begins: for the progress bar.
    pub fn start(&mut self, total: Option<u64>) {
        self.body_start = self.bytes;
        self.progress.start(total);
    }

    /// Whether every byte may bypass user space (splice): nothing is left
    /// to look at in the body, and no limit to hold it to.
    pub fn may_splice(&self) -> bool {
        !self.guard && self.limit.is_none()
    }

    /// The writer, for what goes the same way as the body without being
    /// body (`-i`/`-I` heads): not counted.
    pub fn out(&mut self) -> &mut BodyOut {
        if let Err(e) = self.settle() {
            self.late = Some(e);
        }
        &mut self.out
    }

    /// Writes the pieces `ranges` of `buf` with vectored writes.
    pub fn write_ranges(&mut self, buf: &[u8], ranges: &[Range<usize>]) -> Result<()> {
        self.check_limit(ranges.iter().map(|r| r.len() as u64).sum())?;
        if let Some(first) = ranges.first() {
            self.refuse_binary(&buf[first.clone()])?;
        }
        self.settle()?;
        let n = self.out.write_ranges(buf, ranges)?;
        self.count(n as u64);
        Ok(())
    }

    /// Counts `n` bytes moved to the output behind the writer's back (splice).
    pub fn spliced(&mut self, n: u64) {
        self.out.count(n);
        self.count(n);
    }

    fn count(&mut self, n: u64) {
        self.bytes += n;
        self.progress.advance(n);
    }

    /// Like curl, refuses to write a body that looks binary (it has a NUL
    /// byte) to a terminal, where it can garble the screen; `-o -` forces
    /// it. Only the first piece of the body is looked at.
    fn refuse_binary(&mut self, first: &[u8]) -> Result<()> {
        if !self.guard || first.is_empty() {
            return Ok(());
        }
        self.guard = false;
        if memchr::memchr(0, first).is_some() {
            return Err(Error::new(
                ErrorKind::Write,
                "binary output can mess up your terminal: use -o FILE, or -o - to write it anyway",
            ));
        }
        Ok(())
    }

    /// The transfer ended: the progress bar draws its last state.
    pub fn end_progress(&mut self) {
        self.progress.finish();
    }

    /// The response is complete: make the output final.
    pub fn commit(mut self) -> Result<()> {
        self.settle()?;
        self.out.commit()
    }

    /// The fetch failed: leave an existing FILE as it was (or keep what
    /// arrived, with `--keep-partial`). Returns a note for the user, if any.
    pub fn abort(mut self) -> Option<String> {
        // What was taken goes in FILE first (kept with --keep-partial,
        // or removed with it); a failed write changes nothing here.
        let _ = self.settle();
        self.out.abort()
    }
}
