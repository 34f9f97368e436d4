//! What an interrupt does to `-o FILE`'s temporary file (or to FILE
//! itself during a resume): removed, or with `--keep-partial` made FILE,
//! before the interrupt ends the process as it would have.
//!
//! - `unix.rs`: SIGINT, SIGTERM and SIGHUP, in an async-signal-safe handler.
//! - `windows.rs`: Ctrl-C, Ctrl-Break and the console closing, in a
//!   console control handler (SetConsoleCtrlHandler).
//!
//! Both offer the same four calls to `file.rs`: `arm`, `arm_append`,
//! `set` and `disarm`.

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub(super) use unix::{arm, arm_append, disarm, set};

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub(super) use windows::{arm, arm_append, disarm, set};

/// What the handler does with the armed temporary file.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub(super) enum OnSignal {
    /// Remove it: FILE keeps its old content.
    Remove = 0,
    /// Rename it over FILE (`--keep-partial`).
    Rename = 1,
    /// Copy it over FILE, then remove it (`--keep-partial` through
    /// `$TMPDIR`; also a copy over FILE already under way).
    Copy = 2,
    /// A resume (`-C`) appends to FILE itself: cut it back to the length
    /// it had (ftruncate on the armed descriptor).
    Cut = 3,
    /// A resume with `--keep-partial`: keep what was appended, say so.
    KeepAppended = 4,
}
