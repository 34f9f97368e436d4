//! The body's one destination, [`BodyOut`]: stdout or the `-o` file.
//!
//! Every body byte passes through it, written where it lies in the read
//! buffer (vectored writes, or splice(2) behind its back, counted through
//! [`BodyOut::count`]).

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

use super::file::FileOut;
use super::stdio::StdStream;
use crate::error::{Error, Result};

/// `write_all` for vectored writes: retries after short writes and EINTR.
fn write_all_vectored(file: &mut File, mut rest: &mut [io::IoSlice<'_>]) -> io::Result<()> {
    while !rest.is_empty() {
        match file.write_vectored(rest) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => io::IoSlice::advance_slices(&mut rest, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Most pieces written by one [`BodyOut::write_ranges`] call.
pub const MAX_IOV: usize = 64;

/// The body's destination.
pub enum BodyOut {
    /// Standard output.
    Stdout(StdStream),
    /// A file, safely or directly.
    File(FileOut),
}

impl BodyOut {
    /// Opens the destination: stdout for `None` or `-`, else FILE.
    pub fn open(path: Option<&Path>, keep_partial: bool) -> Result<BodyOut> {
        match path {
            None => Ok(BodyOut::Stdout(StdStream::stdout())),
            Some(p) if p.as_os_str() == "-" => Ok(BodyOut::Stdout(StdStream::stdout())),
            Some(p) => FileOut::create(p, keep_partial).map(BodyOut::File),
        }
    }

    /// `-C`: appends to FILE after its `at` bytes ([`FileOut::append`]).
    pub fn append(path: &Path, at: u64, keep_partial: bool) -> Result<BodyOut> {
        FileOut::append(path, at, keep_partial).map(BodyOut::File)
    }

    /// The descriptor body bytes go to (for splice); -1 for a stdout that
    /// was closed at exec, so that splice fails with EBADF as a write does.
    #[cfg(target_os = "linux")]
    pub fn raw_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        match self {
            BodyOut::Stdout(s) => s.raw_fd(),
            BodyOut::File(f) => f.file.as_raw_fd(),
        }
    }

    /// Counts bytes written behind this writer's back (by splice).
    pub fn count(&mut self, n: u64) {
        if let BodyOut::File(f) = self {
            f.written += n;
        }
    }

    /// The error for a failed write to this destination (also for writes
    /// made behind its back, by splice).
    pub fn write_error(&self, e: io::Error) -> Error {
        match self {
            BodyOut::Stdout(s) => s.write_error(e),
            BodyOut::File(f) => f.write_error(e),
        }
    }

    /// Whether the body goes to stdout.
    pub fn is_stdout(&self) -> bool {
        matches!(self, BodyOut::Stdout(_))
    }

    /// Writes body bytes.
    pub fn write_all(&mut self, data: &[u8]) -> Result<()> {
        match self {
            BodyOut::Stdout(s) => s.write_all(data),
            BodyOut::File(f) => f.write_all(data),
        }
    }

    /// Writes the pieces `ranges` of `buf` (at most [`MAX_IOV`]), in order,
    /// with vectored writes, no copying to make them contiguous. Returns the
    /// bytes written.
    pub fn write_ranges(&mut self, buf: &[u8], ranges: &[std::ops::Range<usize>]) -> Result<usize> {
        let file = match self {
            BodyOut::Stdout(s) => match s.open() {
                Ok(file) => file,
                Err(e) => return Err(s.write_error(e)),
            },
            BodyOut::File(f) => &mut f.file,
        };
        let mut slices = [io::IoSlice::new(&[]); MAX_IOV];
        let n = ranges.len().min(MAX_IOV);
        for (slice, r) in slices.iter_mut().zip(&ranges[..n]) {
            *slice = io::IoSlice::new(&buf[r.clone()]);
        }
        let total: usize = ranges[..n].iter().map(|r| r.len()).sum();
        write_all_vectored(file, &mut slices[..n]).map_err(|e| self.write_error(e))?;
        self.count(total as u64);
        Ok(total)
    }

    /// The response is complete: make the output final.
    pub fn commit(self) -> Result<()> {
        match self {
            BodyOut::Stdout(_) => Ok(()),
            BodyOut::File(f) => f.commit(),
        }
    }

    /// The fetch failed: leave an existing FILE as it was (or keep what
    /// arrived, with `--keep-partial`). Returns a note for the user, if any.
    pub fn abort(self) -> Option<String> {
        match self {
            BodyOut::Stdout(_) => None,
            BodyOut::File(f) => f.abort(),
        }
    }
}
