//! stdout and stderr as unbuffered writers on their file descriptors.
//!
//! Unbuffered, so head and body reach fd 1 in the order they were written,
//! one system call per buffer; never closed on drop, since the process owns
//! fds 1 and 2 for its whole life.

use std::fs::File;
use std::io::{self, Write};
use std::mem::ManuallyDrop;
use std::os::fd::FromRawFd;

use crate::error::{Error, ErrorKind, Result};

/// An unbuffered writer on a standard stream (fd 1 or 2), not closed on drop.
pub struct StdStream {
    pub(super) file: ManuallyDrop<File>,
    name: &'static str,
}

impl StdStream {
    /// Standard output.
    pub fn stdout() -> StdStream {
        // SAFETY: fd 1 is open for the life of the process, and ManuallyDrop
        // keeps this File from closing it.
        StdStream {
            file: ManuallyDrop::new(unsafe { File::from_raw_fd(1) }),
            name: "stdout",
        }
    }

    /// Standard error.
    pub fn stderr() -> StdStream {
        // SAFETY: as for stdout, with fd 2.
        StdStream {
            file: ManuallyDrop::new(unsafe { File::from_raw_fd(2) }),
            name: "stderr",
        }
    }

    /// Writes all of `data`.
    pub fn write_all(&mut self, data: &[u8]) -> Result<()> {
        self.file.write_all(data).map_err(|e| self.write_error(e))
    }

    /// The error for a failed write. A reader that went away (`| head -c
    /// 10`) is a quiet failure: the user closed the pipe on purpose.
    pub(super) fn write_error(&self, e: io::Error) -> Error {
        if e.kind() == io::ErrorKind::BrokenPipe {
            Error::quiet(ErrorKind::Write)
        } else {
            Error::new(
                ErrorKind::Write,
                format!("could not write to {}", self.name),
            )
            .with_source(e)
        }
    }
}
