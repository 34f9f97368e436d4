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

use super::body::BodyOut;
use super::stdio::StdStream;
use crate::error::{Error, ErrorKind, Result};

/// Where response heads (and trailers) are printed.
pub struct HeadOut {
    routing: HeadRouting,
    dump: Option<(File, PathBuf)>,
}

/// The flags that decide where heads go.
pub struct HeadFlags {
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

/// Where heads go, decided once from the flags (the contract's output table).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeadRouting {
    /// On stdout, on their own.
    pub to_stdout: bool,
    /// On stderr.
    pub to_stderr: bool,
    /// Through the body's writer, before the body (`-I`, `-i` to stdout).
    pub to_body: bool,
    /// The body goes to stdout too (so a closed stdout ends the transfer).
    pub body_to_stdout: bool,
    /// `-D FILE` (not `-`, which is `to_stdout`).
    pub dump: Option<PathBuf>,
    /// Colour the head written to stdout (a terminal, `--color`).
    pub colour_stdout: bool,
    /// Colour the head written to stderr.
    pub colour_stderr: bool,
}

impl HeadRouting {
    /// Decides where heads go, given where the body goes.
    pub fn decide(f: &HeadFlags, body_to_stdout: bool) -> HeadRouting {
        let mut r = HeadRouting {
            body_to_stdout,
            ..HeadRouting::default()
        };
        if f.head_only || (f.include && body_to_stdout) {
            // -I: the head is the output; -i: the head goes before the body
            // on stdout (through the body's own writer, to keep the order).
            r.to_body = true;
        } else if f.include || (!f.silent && !body_to_stdout) {
            r.to_stdout = true;
        } else if !f.silent {
            // The body owns stdout; -v shows the head as `< ` lines instead.
            r.to_stderr = !f.verbose;
        }
        match &f.dump_header {
            // Once on stdout is enough when the head goes there anyway.
            Some(p) if p.as_os_str() == "-" => r.to_stdout |= !(r.to_body && body_to_stdout),
            Some(p) => r.dump = Some(p.clone()),
            None => {}
        }
        r
    }
}

impl HeadOut {
    /// Opens what the routing names (the `-D` file).
    pub fn open(routing: &HeadRouting) -> Result<HeadOut> {
        HeadOut::open_with(routing, false)
    }

    /// The same, appending to the `-D` file: the URLs after the first of
    /// a command add their heads to it.
    pub fn open_append(routing: &HeadRouting) -> Result<HeadOut> {
        HeadOut::open_with(routing, true)
    }

    fn open_with(routing: &HeadRouting, append: bool) -> Result<HeadOut> {
        let dump = match &routing.dump {
            Some(p) => Some((
                std::fs::OpenOptions::new()
                    .write(true)
                    .create(true)
                    .append(append)
                    .truncate(!append)
                    .open(p)
                    .map_err(|e| {
                        Error::new(
                            ErrorKind::Write,
                            format!("could not create {}", p.display()),
                        )
                        .with_source(e)
                    })?,
                p.clone(),
            )),
            None => None,
        };
        Ok(HeadOut {
            routing: routing.clone(),
            dump,
        })
    }

    /// Prints one head (or trailer block) exactly as received.
    pub fn write(&mut self, bytes: &[u8], body: &mut BodyOut) -> Result<()> {
        let r = &mut self.routing;
        if r.to_body {
            body.write_all(bytes)?;
        }
        // Only the terminal's copy is coloured; -D and the body get the bytes.
        let coloured = (r.colour_stdout || r.colour_stderr).then(|| super::colour::head(bytes));
        let shown = |on: bool| match &coloured {
            Some(c) if on => c.as_slice(),
            _ => bytes,
        };
        if r.to_stdout {
            let mut out = StdStream::stdout();
            match out.open().and_then(|f| f.write_all(shown(r.colour_stdout))) {
                Ok(()) => {}
                // The body goes to a file: a reader that stopped reading
                // the printed head (`rawget -o f URL | head -1`), or a
                // stdout closed at exec, is no reason to lose the file.
                // curl saves it too. The heads are not printed from now on.
                Err(e) if !r.body_to_stdout && nobody_reads(&e) => r.to_stdout = false,
                // The body goes there too: the quiet exit 23 of a reader
                // that went away, or a real failure.
                Err(e) => return Err(out.write_error(e)),
            }
        }
        if r.to_stderr {
            // stderr failing is not worth failing the fetch over.
            super::diag::write(shown(r.colour_stderr));
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
