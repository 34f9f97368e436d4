//! The one diagnostics writer: everything rawget says on stderr below
//! `main` goes through here. A failed write (a closed stderr, a reader that
//! went away) is ignored, never a panic: with `panic = "abort"` a panic is
//! SIGABRT, and a diagnostics line must never cost the user the transfer.

use std::fs::File;
use std::io::Write;
use std::mem::ManuallyDrop;
use std::os::fd::FromRawFd;

/// Writes `bytes` to stderr unbuffered; a failed write is ignored.
pub fn write(bytes: &[u8]) {
    // SAFETY: fd 2 outlives this call, and ManuallyDrop keeps the File
    // from closing it. A closed fd 2 makes the write fail with EBADF.
    let mut err = ManuallyDrop::new(unsafe { File::from_raw_fd(2) });
    let _ = err.write_all(bytes);
}

/// Writes the formatted text and a newline, as one write where it fits;
/// never panics.
pub fn line(args: std::fmt::Arguments<'_>) {
    let mut text = Vec::with_capacity(128);
    let _ = text.write_fmt(args);
    text.push(b'\n');
    write(&text);
}
