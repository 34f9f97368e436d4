//! Where response heads and trailers are printed: stdout, stderr, the
//! body's own writer (`-i`, `-I`) and `-D FILE`, decided once from the
//! options and where the body goes.
//!
//! When the body goes to a file, nobody reading the heads printed on
//! stdout (a closed pipe, a stdout closed at exec) stops the printing, not
//! the transfer; when the body goes to stdout as well, it ends the fetch.

use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;

use super::sink::BodyOut;
use super::stdio::StdStream;
use crate::error::{Error, ErrorKind, Result};

/// Where response heads (and trailers) are printed.
pub struct HeadOut {
    to_stdout: bool,
    /// The body goes to stdout too (so a closed stdout ends the transfer).
    body_to_stdout: bool,
    to_stderr: bool,
    to_body: bool,
    dump: Option<(File, PathBuf)>,
}

/// How heads are routed, from the options.
pub struct HeadRouting {
    /// `-I`: the head is the output.
    pub head_only: bool,
    /// `-i`.
    pub include: bool,
    /// `-s`.
    pub silent: bool,
    /// `-v` shows heads as `< ` lines instead of on stderr.
    pub verbose: bool,
    /// `-D FILE`.
    pub dump_header: Option<PathBuf>,
}

impl HeadOut {
    /// Decides where heads go, given where the body goes.
    pub fn open(r: &HeadRouting, body_to_stdout: bool) -> Result<HeadOut> {
        let (mut to_stdout, mut to_stderr, mut to_body) = (false, false, false);
        if r.head_only || (r.include && body_to_stdout) {
            // -I: the head is the output; -i: the head goes before the body
            // on stdout (through the body's own writer, to keep the order).
            to_body = true;
        } else if r.include || (!r.silent && !body_to_stdout) {
            to_stdout = true;
        } else if !r.silent {
            // The body owns stdout; -v shows the head as `< ` lines instead.
            to_stderr = !r.verbose;
        }
        let mut dump = None;
        if let Some(p) = &r.dump_header {
            if p.as_os_str() == "-" {
                // Once on stdout is enough when the head goes there anyway.
                to_stdout |= !(to_body && body_to_stdout);
            } else {
                let f = File::create(p).map_err(|e| {
                    Error::new(
                        ErrorKind::Write,
                        format!("could not create {}", p.display()),
                    )
                    .with_source(e)
                })?;
                dump = Some((f, p.clone()));
            }
        }
        Ok(HeadOut {
            to_stdout,
            body_to_stdout,
            to_stderr,
            to_body,
            dump,
        })
    }

    /// Prints one head (or trailer block) exactly as received.
    pub fn write(&mut self, bytes: &[u8], body: &mut BodyOut) -> Result<()> {
        if self.to_body {
            body.write_all(bytes)?;
        }
        if self.to_stdout {
            let mut out = StdStream::stdout();
            match out.open().and_then(|f| f.write_all(bytes)) {
                Ok(()) => {}
                // The body goes to a file: a reader that stopped reading
                // the printed head (`rawget -o f URL | head -1`), or a
                // stdout closed at exec, is no reason to lose the file.
                // curl saves it too. The heads are not printed from now on.
                Err(e) if !self.body_to_stdout && nobody_reads(&e) => self.to_stdout = false,
                // The body goes there too: the quiet exit 23 of a reader
                // that went away, or a real failure.
                Err(e) => return Err(out.write_error(e)),
            }
        }
        if self.to_stderr {
            // stderr failing is not worth failing the fetch over.
            super::diag::write(bytes);
        }
        if let Some((f, p)) = &mut self.dump {
            f.write_all(bytes).map_err(|e| {
                Error::new(
                    ErrorKind::Write,
                    format!("could not write to {}", p.display()),
                )
                .with_source(e)
            })?;
        }
        Ok(())
    }
}

/// Whether a failed write to stdout means that nobody reads it: the pipe's
/// reader went away (EPIPE; SIGPIPE is ignored), or stdout was closed at
/// exec (EBADF, from [`StdStream`]). A full disk or an I/O error is a real
/// failure.
fn nobody_reads(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::BrokenPipe || e.raw_os_error() == Some(libc::EBADF)
}
