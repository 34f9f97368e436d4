//! The one diagnostics writer: every line rawget prints on stderr goes out
//! through here.
//!
//! `eprintln!` panics when stderr cannot be written (a reader that went
//! away: `rawget -v URL 2>&1 >/dev/null | head -c 10`), and with
//! `panic = "abort"` that is SIGABRT, exit 134, and a lost download. A
//! diagnostic is never worth the transfer: a failed write is dropped here.
//! Writes are unbuffered, one write(2) per line where it fits, so lines
//! from two threads (the replay server's clients) do not mix.

use std::fmt::{self, Write as _};
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};

use super::stdio::StdStream;

/// Lines up to this long are formatted on the stack; longer ones spill to
/// the heap. `-v` lines are mostly under 200 bytes.
const STACK_LINE: usize = 512;

/// Writes `bytes` to stderr unbuffered; a failed write (closed stderr, EPIPE, EBADF) is ignored, never a panic.
pub fn write(bytes: &[u8]) {
    // write_all retries short writes and EINTR; any other failure means
    // stderr is gone, and the diagnostic with it.
    let _ = StdStream::stderr().file.write_all(bytes);
}

/// Writes the formatted text and a newline, as one write(2) where it fits; never panics.
pub fn line(args: fmt::Arguments<'_>) {
    let mut buf = LineBuf::new();
    // A Display impl that fails leaves what was formatted so far: still
    // worth printing.
    let _ = buf.write_fmt(args);
    let _ = buf.write_str("\n");
    write(buf.as_bytes());
}

/// Whether `-v` is on. The output code says under `-v` how it writes FILE
/// (a temporary file elsewhere) before the fetch has a trace to hand it,
/// and verbosity is one per process, like the log crate's level.
static VERBOSE: AtomicBool = AtomicBool::new(false);

/// Turns [`step`] lines on or off; set once, from `-v`.
pub fn set_verbose(on: bool) {
    VERBOSE.store(on, Ordering::Relaxed);
}

/// A `* ` line, as `-v` prints its steps; nothing without `-v`.
pub fn step(args: fmt::Arguments<'_>) {
    if VERBOSE.load(Ordering::Relaxed) {
        line(format_args!("* {args}"));
    }
}

/// A line buffer on the stack that moves to the heap when it fills.
struct LineBuf {
    stack: [u8; STACK_LINE],
    len: usize,
    heap: Vec<u8>,
}

impl LineBuf {
    fn new() -> LineBuf {
        LineBuf {
            stack: [0; STACK_LINE],
            len: 0,
            heap: Vec::new(),
        }
    }

    fn as_bytes(&self) -> &[u8] {
        if self.heap.is_empty() {
            &self.stack[..self.len]
        } else {
            &self.heap
        }
    }
}

impl fmt::Write for LineBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let bytes = s.as_bytes();
        if self.heap.is_empty() {
            if let Some(room) = self.stack.get_mut(self.len..self.len + bytes.len()) {
                room.copy_from_slice(bytes);
                self.len += bytes.len();
                return Ok(());
            }
            self.heap.reserve(self.len + bytes.len());
            self.heap.extend_from_slice(&self.stack[..self.len]);
        }
        self.heap.extend_from_slice(bytes);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_spill_to_the_heap_in_order() {
        let mut buf = LineBuf::new();
        let long = "x".repeat(STACK_LINE - 3);
        write!(buf, "ab{long}").unwrap();
        assert_eq!(buf.as_bytes().len(), STACK_LINE - 1);
        assert!(buf.heap.is_empty());
        write!(buf, "cd").unwrap();
        assert_eq!(buf.as_bytes(), format!("ab{long}cd").as_bytes());
        write!(buf, "{}", 12).unwrap();
        assert!(buf.as_bytes().ends_with(b"cd12"));
    }
}
