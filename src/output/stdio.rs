//! stdout and stderr as unbuffered writers on their file descriptors.
//!
//! Unbuffered, so head and body reach fd 1 in the order they were written,
//! one system call per buffer; never closed on drop, since the process owns
//! fds 1 and 2 for its whole life.
//!
//! It also remembers whether fd 1 and fd 2 were closed when rawget was
//! started (`rawget URL >&-`). Rust's runtime opens /dev/null on a closed
//! standard descriptor before `main`, so that a later open cannot land on
//! fd 1 by accident; without this record the body would go to /dev/null
//! and the exit be 0, where curl says 23. On Linux a function in
//! `.init_array` looks first: the loader runs it before the C `main` that
//! starts Rust's runtime. On other platforms nothing is recorded and a
//! closed stdout behaves as /dev/null.
//!
//! On Windows the streams are the process's standard handles, written with
//! WriteFile as bytes (std's console writer would re-encode them as UTF-16
//! and refuse what is not UTF-8, and a body is bytes).

use std::fs::File;
use std::io::{self, Write};
use std::mem::ManuallyDrop;
use std::sync::atomic::AtomicBool;

use crate::error::{Error, ErrorKind, Result};

/// An unbuffered writer on a standard stream (fd 1 or 2), not closed on drop.
pub struct StdStream {
    pub(super) file: ManuallyDrop<File>,
    name: &'static str,
    /// The descriptor was closed at exec: every write fails with EBADF.
    closed: bool,
}

impl StdStream {
    /// Standard output.
    pub fn stdout() -> StdStream {
        #[cfg(unix)]
        // SAFETY: fd 1 is open for the life of the process (Rust's runtime
        // opens /dev/null on it if it was closed at exec), and ManuallyDrop
        // keeps this File from closing it.
        let file = unsafe { std::os::fd::FromRawFd::from_raw_fd(1) };
        #[cfg(windows)]
        let file = standard_handle(io::stdout());
        StdStream {
            file: ManuallyDrop::new(file),
            name: "stdout",
            closed: stdout_was_closed(),
        }
    }

    /// Standard error.
    pub fn stderr() -> StdStream {
        #[cfg(unix)]
        // SAFETY: as for stdout, with fd 2.
        let file = unsafe { std::os::fd::FromRawFd::from_raw_fd(2) };
        #[cfg(windows)]
        let file = standard_handle(io::stderr());
        StdStream {
            file: ManuallyDrop::new(file),
            name: "stderr",
            closed: stderr_was_closed(),
        }
    }

    /// Writes all of `data`.
    pub fn write_all(&mut self, data: &[u8]) -> Result<()> {
        self.open()
            .and_then(|f| f.write_all(data))
            .map_err(|e| self.write_error(e))
    }

    /// The file to write, or EBADF when the descriptor was closed at exec
    /// (what a write to it would have said, had the runtime left it closed).
    pub(super) fn open(&mut self) -> io::Result<&mut File> {
        if self.closed {
            #[cfg(unix)]
            return Err(io::Error::from_raw_os_error(libc::EBADF));
            #[cfg(not(unix))]
            return Err(io::Error::other("closed when rawget started"));
        }
        Ok(&mut self.file)
    }

    /// The descriptor, or -1 when it was closed at exec, so that a write
    /// made behind this writer's back (splice) fails with EBADF as well.
    #[cfg(target_os = "linux")]
    pub(super) fn raw_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        if self.closed {
            -1
        } else {
            self.file.as_raw_fd()
        }
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

/// For what streams into stdout (`--dry-run` writing an upload as it
/// would be sent); unbuffered, so flush has nothing to do.
impl Write for StdStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.open()?.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A File over a standard handle (never closed: the caller keeps it in a
/// ManuallyDrop). A process without one (a GUI parent) has a null handle,
/// on which every write fails, as on a closed descriptor.
#[cfg(windows)]
fn standard_handle(stream: impl std::os::windows::io::AsRawHandle) -> File {
    // SAFETY: the handle is the process's own standard handle, valid (or
    // null, which WriteFile rejects) for the life of the process; the File
    // is never dropped.
    unsafe { std::os::windows::io::FromRawHandle::from_raw_handle(stream.as_raw_handle()) }
}

/// Whether fd 1 was closed when rawget was started (Linux; elsewhere
/// always false).
pub fn stdout_was_closed() -> bool {
    exec_state::closed(&exec_state::STDOUT_CLOSED)
}

/// Whether fd 2 was closed when rawget was started (Linux; elsewhere
/// always false).
pub fn stderr_was_closed() -> bool {
    exec_state::closed(&exec_state::STDERR_CLOSED)
}

#[cfg(target_os = "linux")]
mod exec_state {
    use super::AtomicBool;
    use std::sync::atomic::Ordering;

    pub(super) static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);
    pub(super) static STDERR_CLOSED: AtomicBool = AtomicBool::new(false);

    /// Runs from `.init_array`, before Rust's runtime reopens closed
    /// standard descriptors on /dev/null. glibc passes argc, argv and
    /// envp; they are not needed.
    extern "C" fn record(
        _: libc::c_int,
        _: *const *const libc::c_char,
        _: *const *const libc::c_char,
    ) {
        // SAFETY: fcntl(F_GETFD) only asks whether the descriptor is open.
        let closed = |fd| unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1;
        STDOUT_CLOSED.store(closed(1), Ordering::Relaxed);
        STDERR_CLOSED.store(closed(2), Ordering::Relaxed);
    }

    /// The loader calls every pointer in `.init_array` before `main`.
    /// `#[used]` keeps the otherwise unreferenced static, and [`closed`]
    /// refers to it, so the linker keeps this object file too.
    #[used]
    #[link_section = ".init_array"]
    static RECORD: extern "C" fn(
        libc::c_int,
        *const *const libc::c_char,
        *const *const libc::c_char,
    ) = record;

    pub(super) fn closed(flag: &AtomicBool) -> bool {
        std::hint::black_box(&RECORD);
        flag.load(Ordering::Relaxed)
    }
}

#[cfg(not(target_os = "linux"))]
mod exec_state {
    use super::AtomicBool;

    pub(super) static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);
    pub(super) static STDERR_CLOSED: AtomicBool = AtomicBool::new(false);

    pub(super) fn closed(_: &AtomicBool) -> bool {
        false
    }
}
