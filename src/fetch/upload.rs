//! The request body as the send step writes it: `-d` bytes as they are,
//! `-T FILE` streamed from disk in pieces (its `Content-Length` said in the
//! head), `-T -` read from stdin and sent chunked as it comes; and the wait
//! for `100 Continue` (RFC 9110 section 10.1.1) between the head and a body
//! that asked for one.
//!
//! No body is ever held whole: a piece is read, written, and its buffer
//! reused, so memory stays flat for any size of upload. The wait reads
//! through the same [`Reader`] as the response: a `100` lets the body go,
//! a final response instead ends the upload cleanly (the body is not sent
//! and the response is the answer), and silence for [`CONTINUE_WAIT`]
//! sends the body anyway, as curl does for servers that ignore `Expect`.
//!
//! Over TLS there is no wait (and no automatic `Expect`): the socket
//! turning readable may be only TLS 1.3 session tickets, and the TLS read
//! that consumes them then blocks for application data that a server
//! ignoring `Expect` never sends. Sending the body at once is always
//! allowed (RFC 9110 section 10.1.1).

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use crate::error::{Doing, Error, ErrorKind};
use crate::form::Segment;
use crate::request::{Multipart, RequestSpec, Upload};
use crate::response::head::Head;
use crate::response::reader::{Event, ReadError, Reader};

use super::conn::Conn;
use super::Fetch;

/// Bytes read from the file or stdin per write.
const PIECE: usize = 128 * 1024;

/// How long a body waits for `100 Continue` before it is sent anyway
/// (curl's default `--expect100-timeout`).
pub const CONTINUE_WAIT: Duration = Duration::from_secs(1);

/// Why writing a body stopped.
#[derive(Debug)]
pub enum Failure {
    /// The file or stdin could not be read (exit 26).
    Read(Error),
    /// The destination refused a write.
    Write(io::Error),
}

/// Writes the body of `spec`, bytes or upload, to `out`; returns how many
/// bytes of body (framing not counted) were written.
pub fn write_body(spec: &RequestSpec, out: &mut dyn Write) -> Result<u64, Failure> {
    if let Some(upload) = &spec.upload {
        return write_upload(upload, out);
    }
    if let Some(m) = &spec.multipart {
        return write_multipart(m, out);
    }
    let bytes = spec.body.as_ref().map_or(&[][..], |b| &b.bytes[..]);
    out.write_all(bytes).map_err(Failure::Write)?;
    out.flush().map_err(Failure::Write)?;
    Ok(bytes.len() as u64)
}

fn write_upload(upload: &Upload, out: &mut dyn Write) -> Result<u64, Failure> {
    let mut piece = vec![0u8; PIECE];
    let sent = match (&upload.path, upload.len) {
        (Some(path), Some(len)) => {
            let name = path.display().to_string();
            let file = std::fs::File::open(path).map_err(|e| read_error(&name, e))?;
            let sent = copy(&mut file.take(len), out, &mut piece, &name)?;
            if sent < len {
                return Err(shrank(&name, sent, len));
            }
            sent
        }
        // Not a regular file (a FIFO, /dev/stdin): its length is unknown.
        (Some(path), None) => {
            let name = path.display().to_string();
            let mut file = std::fs::File::open(path).map_err(|e| read_error(&name, e))?;
            chunked(&mut file, out, &mut piece, &name)?
        }
        (None, _) => chunked(&mut io::stdin().lock(), out, &mut piece, "stdin")?,
    };
    out.flush().map_err(Failure::Write)?;
    Ok(sent)
}

/// The multipart body, each file streamed as it was measured.
fn write_multipart(m: &Multipart, out: &mut dyn Write) -> Result<u64, Failure> {
    let mut piece = vec![0u8; PIECE];
    let mut total = 0u64;
    for segment in &m.segments {
        match segment {
            Segment::Bytes(b) => {
                out.write_all(b).map_err(Failure::Write)?;
                total += b.len() as u64;
            }
            Segment::File(path, len) => {
                let name = path.display().to_string();
                let file = std::fs::File::open(path).map_err(|e| read_error(&name, e))?;
                let sent = copy(&mut file.take(*len), out, &mut piece, &name)?;
                if sent < *len {
                    return Err(shrank(&name, sent, *len));
                }
                total += sent;
            }
        }
    }
    out.flush().map_err(Failure::Write)?;
    Ok(total)
}

fn shrank(name: &str, sent: u64, len: u64) -> Failure {
    Failure::Read(Error::new(
        ErrorKind::ReadInput,
        format!("{name} shrank while it was sent: {sent} of {len} bytes"),
    ))
}

/// Copies `from` to `out` through `piece`; returns the bytes copied.
fn copy(
    from: &mut dyn Read,
    out: &mut dyn Write,
    piece: &mut [u8],
    name: &str,
) -> Result<u64, Failure> {
    let mut total = 0u64;
    loop {
        let n = match from.read(piece) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(read_error(name, e)),
        };
        out.write_all(&piece[..n]).map_err(Failure::Write)?;
        total += n as u64;
    }
}

/// Sends `from` chunked (RFC 9112 section 7.1): each read as one chunk,
/// written with its size line in one write, then the last chunk.
fn chunked(
    from: &mut dyn Read,
    out: &mut dyn Write,
    piece: &mut [u8],
    name: &str,
) -> Result<u64, Failure> {
    let mut frame = Vec::with_capacity(piece.len() + 16);
    let mut total = 0u64;
    loop {
        let n = match from.read(piece) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(read_error(name, e)),
        };
        frame.clear();
        if n == 0 {
            frame.extend_from_slice(b"0\r\n\r\n");
        } else {
            frame.extend_from_slice(format!("{n:x}\r\n").as_bytes());
            frame.extend_from_slice(&piece[..n]);
            frame.extend_from_slice(b"\r\n");
        }
        out.write_all(&frame).map_err(Failure::Write)?;
        if n == 0 {
            return Ok(total);
        }
        total += n as u64;
    }
}

fn read_error(name: &str, e: io::Error) -> Failure {
    Failure::Read(
        Error::new(
            ErrorKind::ReadInput,
            format!("could not read upload {name}"),
        )
        .with_source(e),
    )
}

/// What the wait for `100 Continue` ended with.
pub(super) enum Continue {
    /// Send the body: a 100 came, or nothing did in time.
    Send,
    /// A final response came instead: the body is not sent.
    Answered(Head),
}

impl Fetch<'_> {
    /// Waits up to [`CONTINUE_WAIT`] for the server's first word on a
    /// request whose head said `Expect: 100-continue`. Heads that arrive
    /// are printed and reported as any head is; a 103 keeps the wait going.
    pub(super) fn await_continue(
        &mut self,
        conn: &mut Conn,
        reader: &mut Reader,
    ) -> crate::error::Result<Continue> {
        let until = Instant::now() + CONTINUE_WAIT;
        loop {
            let step = self.step(conn, reader)?;
            match step.event {
                Event::Head { head, interim } => {
                    self.take_head(conn, step.consumed, &head, interim)?;
                    if !interim {
                        return Ok(Continue::Answered(head));
                    }
                    if head.status == 100 {
                        return Ok(Continue::Send);
                    }
                }
                Event::NeedMore => {
                    let left = until.saturating_duration_since(Instant::now());
                    let heard = !left.is_zero()
                        && conn.stream.readable_within(left).map_err(|e| {
                            let (at, got) = (self.trace.elapsed(), self.trace.timings.received);
                            crate::error::connection_error(e, Doing::Head, at, got)
                        })?;
                    if !heard {
                        self.trace
                            .step(|| "no 100 Continue within 1 s: sending the body".into());
                        return Ok(Continue::Send);
                    }
                    if !conn.fill(Doing::Head, &mut self.raw, &mut self.trace)? {
                        reader.eof(conn.no_close_notify)?;
                    }
                }
                Event::Body | Event::Done => return Err(ReadError::CutHead.into()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_frames_each_read_and_ends_with_the_last_chunk() {
        let mut out = Vec::new();
        let mut piece = [0u8; 4];
        let sent = chunked(&mut &b"hello world"[..], &mut out, &mut piece, "t").unwrap();
        assert_eq!(sent, 11);
        assert_eq!(out, b"4\r\nhell\r\n4\r\no wo\r\n3\r\nrld\r\n0\r\n\r\n");
        let mut out = Vec::new();
        chunked(&mut &b""[..], &mut out, &mut piece, "t").unwrap();
        assert_eq!(out, b"0\r\n\r\n");
    }

    #[test]
    fn a_file_is_streamed_exactly_and_a_short_one_is_exit_26() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let data: Vec<u8> = (0..PIECE * 2 + 7).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let mut spec = RequestSpec::get();
        spec.upload = Some(Upload {
            path: Some(path.clone()),
            len: Some(data.len() as u64),
        });
        let mut out = Vec::new();
        assert_eq!(write_body(&spec, &mut out).unwrap(), data.len() as u64);
        assert_eq!(out, data);
        // The file shrank after its length was taken.
        spec.upload = Some(Upload {
            path: Some(path),
            len: Some(data.len() as u64 + 1),
        });
        match write_body(&spec, &mut Vec::new()) {
            Err(Failure::Read(e)) => {
                assert_eq!(e.kind(), ErrorKind::ReadInput);
                assert!(e.to_string().contains("shrank"), "{e}");
            }
            other => panic!("want a read failure, got {other:?}"),
        }
    }
}
