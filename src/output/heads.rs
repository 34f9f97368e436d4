//! Where response heads and trailers are printed: stdout, stderr, the
//! body's own writer (`-i`, `-I`) and `-D FILE`, decided once from the
//! options and where the body goes.

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;

use super::sink::BodyOut;
use super::stdio::StdStream;
use crate::error::{Error, ErrorKind, Result};

/// Where response heads (and trailers) are printed.
pub struct HeadOut {
    to_stdout: bool,
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
            StdStream::stdout().write_all(bytes)?;
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
