//! What `rawget send` writes, read as it goes out: the FILEs (or stdin)
//! one after another in bounded pieces, `--crlf` applied on the way
//! ([`Inputs`]), and framed a request at a time just ahead of the writes
//! ([`Outgoing`]), so that memory holds about the largest request, not the
//! whole input: a pipeline of a million requests needs no more than one of
//! a thousand.
//!
//! Framing a stream in pieces gives what framing it whole gives because
//! the framer is prefix-stable (the `request_framing` fuzz target's
//! property): a prefix frames as the same leading requests, and a cut
//! inside a request is "incomplete", never "malformed". So an incomplete
//! request is framed again once more bytes are in, and only at the end of
//! the input is it the [`Rest`].

use std::collections::VecDeque;
use std::fs::File;
use std::io::{ErrorKind as IoKind, Read};
use std::path::PathBuf;

use super::framing::{frames, Request, RequestError, Rest};
use crate::error::{Error, ErrorKind, Result};

/// How much input is read at a time, and about how much is framed ahead
/// of the writes: large enough that a write carries hundreds of small
/// requests, small enough to stay in cache.
pub const PIECE: usize = 64 * 1024;

/// The inputs, one after another, exactly as stored (after `--crlf`).
pub struct Inputs {
    /// Each input, opened, with its name for errors.
    queue: VecDeque<(Box<dyn Read>, String)>,
    /// `--crlf`: every LF not already after a CR becomes CRLF.
    crlf: bool,
    /// The last byte given out was a CR (for `--crlf` across reads and files).
    after_cr: bool,
    /// One read's raw bytes, before `--crlf`.
    raw: Vec<u8>,
}

impl Inputs {
    /// Opens every FILE (stdin for none, or `-`) at once, so that a missing
    /// or unreadable one fails before anything is sent.
    pub fn open(files: &[PathBuf], crlf: bool) -> Result<Inputs> {
        let stdin = || -> (Box<dyn Read>, String) { (Box::new(std::io::stdin()), "stdin".into()) };
        let mut queue = VecDeque::new();
        if files.is_empty() {
            queue.push_back(stdin());
        }
        for f in files {
            if f.as_os_str() == "-" {
                queue.push_back(stdin());
                continue;
            }
            let name = f.display().to_string();
            let err = |e| read_error(&name, e);
            let file = File::open(f).map_err(err)?;
            if file.metadata().map_err(err)?.is_dir() {
                return Err(read_error(&name, IoKind::IsADirectory.into()));
            }
            queue.push_back((Box::new(file), name));
        }
        Ok(Inputs::new(queue, crlf))
    }

    /// Bytes already in memory (after `--crlf`), given out as a file would be.
    pub fn bytes(bytes: Vec<u8>) -> Inputs {
        let one: (Box<dyn Read>, String) = (Box::new(std::io::Cursor::new(bytes)), "input".into());
        Inputs::new(VecDeque::from([one]), false)
    }

    fn new(queue: VecDeque<(Box<dyn Read>, String)>, crlf: bool) -> Inputs {
        Inputs {
            queue,
            crlf,
            after_cr: false,
            raw: Vec::new(),
        }
    }

    /// Reads into `out` (not empty); `Ok(0)` only once every input has
    /// ended.
    pub fn read_into(&mut self, out: &mut [u8]) -> Result<usize> {
        while let Some((input, name)) = self.queue.front_mut() {
            let n = if self.crlf {
                // Each byte may become two.
                self.raw.resize((out.len() / 2).max(1), 0);
                let got = read_some(input, &mut self.raw, name)?;
                let mut n = 0;
                for &b in &self.raw[..got] {
                    if b == b'\n' && !self.after_cr {
                        out[n] = b'\r';
                        n += 1;
                    }
                    out[n] = b;
                    n += 1;
                    self.after_cr = b == b'\r';
                }
                n
            } else {
                read_some(input, out, name)?
            };
            if n > 0 {
                return Ok(n);
            }
            self.queue.pop_front();
        }
        Ok(0)
    }

    /// Everything left, at once (`--explain` and `--dry-run` show the
    /// analysis before anything is sent).
    pub fn read_all(&mut self) -> Result<Vec<u8>> {
        let (mut all, mut end) = (Vec::new(), 0);
        loop {
            if all.len() < end + PIECE {
                all.resize((end + PIECE).max(all.len() * 2), 0);
            }
            match self.read_into(&mut all[end..])? {
                0 => break,
                n => end += n,
            }
        }
        all.truncate(end);
        Ok(all)
    }
}

/// One read, retried when interrupted.
fn read_some(input: &mut dyn Read, buf: &mut [u8], name: &str) -> Result<usize> {
    loop {
        match input.read(buf) {
            Err(e) if e.kind() == IoKind::Interrupted => {}
            other => return other.map_err(|e| read_error(name, e)),
        }
    }
}

fn read_error(name: &str, e: std::io::Error) -> Error {
    Error::new(ErrorKind::ReadInput, format!("could not read {name}")).with_source(e)
}

/// The bytes to send, framed ahead of the writes: a window on the stream
/// from the first byte not yet written to the last byte read.
pub struct Outgoing {
    inputs: Inputs,
    /// The window: `buf[..written]` is written (dropped at the next read),
    /// `buf[written..framed]` framed and not yet written, `buf[framed..end]`
    /// read and not yet framed (part of a request); `buf[end..]` is room.
    buf: Vec<u8>,
    end: usize,
    /// Offset in the stream of `buf[0]`.
    base: usize,
    written: usize,
    framed: usize,
    /// Every input has ended.
    eof: bool,
    /// Requests framed so far.
    requests: usize,
    /// Where framing stopped: everything from there is passed through.
    rest: Option<Rest>,
}

impl Outgoing {
    /// The stream of `inputs`, nothing read yet.
    pub fn new(inputs: Inputs) -> Outgoing {
        Outgoing {
            inputs,
            buf: Vec::new(),
            end: 0,
            base: 0,
            written: 0,
            framed: 0,
            eof: false,
            requests: 0,
            rest: None,
        }
    }

    /// Whether the input holds no byte at all (reads its first piece).
    pub fn is_empty(&mut self) -> Result<bool> {
        if self.base == 0 && (self.end == 0) && !self.eof {
            self.eof = !self.fill()?;
        }
        Ok(self.base == 0 && (self.end == 0))
    }

    /// Frames the next request, reading more input as it needs; its bytes
    /// are then the end of [`Outgoing::unsent`]. `None`: no request
    /// follows; [`Outgoing::rest`] says why when bytes do.
    pub fn next_request(&mut self) -> Result<Option<Request>> {
        while self.rest.is_none() {
            let at = self.framed;
            match frames(&self.buf[at..self.end]).next() {
                Some(Ok(mut r)) => {
                    self.framed += r.range.end;
                    r.range = self.base + at + r.range.start..self.base + self.framed;
                    self.requests += 1;
                    return Ok(Some(r));
                }
                Some(Err(rest)) if !self.eof && incomplete(&rest.error) => {}
                Some(Err(mut rest)) => {
                    rest.start += self.base + at;
                    self.rest = Some(rest);
                    self.framed = self.end;
                    return Ok(None);
                }
                None if self.eof => return Ok(None),
                None => {}
            }
            // Half a request, or nothing: read more (as much again as is
            // pending, so a large request is framed a bounded number of times).
            self.eof = !self.fill()?;
        }
        Ok(None)
    }

    /// Once framing has stopped at the rest: reads more of what follows,
    /// to pass it through. `false`: nothing follows.
    pub fn more_rest(&mut self) -> Result<bool> {
        if self.rest.is_none() || self.eof {
            return Ok(false);
        }
        self.eof = !self.fill()?;
        self.framed = self.end;
        Ok(!self.eof)
    }

    /// Whether every byte of the input has been framed (or passed through
    /// as the rest) and written.
    pub fn is_done(&self) -> bool {
        self.eof && self.framed == self.end && self.written == self.framed
    }

    /// Bytes framed (or of the rest) and not yet written.
    pub fn unsent(&self) -> &[u8] {
        &self.buf[self.written..self.framed]
    }

    /// The first `n` bytes of [`Outgoing::unsent`] are written.
    pub fn sent(&mut self, n: usize) {
        self.written = (self.written + n).min(self.framed);
    }

    /// Requests framed so far.
    pub fn requests(&self) -> usize {
        self.requests
    }

    /// Where framing stopped, when it did before the end.
    pub fn rest(&self) -> Option<&Rest> {
        self.rest.as_ref()
    }

    /// Nothing more is written: frames what is left of the input, to count
    /// its requests, without keeping it.
    pub fn finish(&mut self) -> Result<()> {
        loop {
            self.written = self.framed;
            if self.next_request()?.is_none() {
                break;
            }
        }
        self.written = self.framed;
        while self.more_rest()? {
            self.written = self.framed;
        }
        self.written = self.framed;
        Ok(())
    }

    /// Drops what is written, then reads a piece; `false` at the end. A
    /// request larger than a piece is read in pieces as large as what is
    /// pending, so it is framed again a bounded number of times (log2 of
    /// its size), not once per read.
    fn fill(&mut self) -> Result<bool> {
        let done = self.written.min(self.framed);
        if done > 0 {
            self.buf.copy_within(done..self.end, 0);
            self.base += done;
            self.end -= done;
            self.written -= done;
            self.framed -= done;
        }
        let pending = self.end - self.framed;
        let want = PIECE.max(pending);
        if self.buf.len() < self.end + want {
            self.buf.resize(self.end + want, 0);
        }
        let mut got = 0;
        loop {
            let n = self
                .inputs
                .read_into(&mut self.buf[self.end..self.end + want - got])?;
            self.end += n;
            got += n;
            // A short read is enough for small requests (stdin may be a
            // person typing); a large one waits for its whole piece.
            if n == 0 || pending <= PIECE || got == want {
                return Ok(got > 0);
            }
        }
    }
}

/// A request cut short: more bytes may complete it.
fn incomplete(e: &RequestError) -> bool {
    matches!(
        e,
        RequestError::HeadIncomplete | RequestError::BodyIncomplete
    )
}

#[cfg(test)]
mod tests {
    use super::super::framing::frame;
    use super::*;

    /// A reader that hands out at most `n` bytes per read.
    struct Trickle(std::io::Cursor<Vec<u8>>, usize);

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(self.1);
            self.0.read(&mut buf[..n])
        }
    }

    fn trickled(bytes: &[u8], n: usize, crlf: bool) -> Inputs {
        let one: (Box<dyn Read>, String) = (
            Box::new(Trickle(std::io::Cursor::new(bytes.to_vec()), n)),
            "t".into(),
        );
        Inputs::new(VecDeque::from([one]), crlf)
    }

    /// Streams `bytes` read `n` at a time: the requests, the rest, and
    /// every byte given out in order.
    fn stream(bytes: &[u8], n: usize) -> (Vec<Request>, Option<Rest>, Vec<u8>) {
        let mut out = Outgoing::new(trickled(bytes, n, false));
        let (mut requests, mut sent) = (Vec::new(), Vec::new());
        while let Some(r) = out.next_request().unwrap() {
            requests.push(r);
            sent.extend_from_slice(out.unsent());
            let len = out.unsent().len();
            out.sent(len);
        }
        loop {
            sent.extend_from_slice(out.unsent());
            let len = out.unsent().len();
            out.sent(len);
            if !out.more_rest().unwrap() {
                break;
            }
        }
        assert!(out.is_done());
        assert_eq!(out.requests(), requests.len());
        (requests, out.rest().cloned(), sent)
    }

    const THREE: &[u8] = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n\
        POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello\
        POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";

    #[test]
    fn streamed_in_any_pieces_frames_as_whole() {
        let small = [1, 2, 7, 64, 1000, PIECE, usize::MAX / 2];
        let large = [1000, PIECE - 1, PIECE, usize::MAX / 2];
        let cases = [
            (THREE.to_vec(), &small[..]),
            ([THREE, b"GET /d HTTP/1.1\r\nHost"].concat(), &small[..]),
            (
                [THREE, b"GET /e HTTP/1.1\r\nContent-Length: x\r\n\r\ntail"].concat(),
                &small[..],
            ),
            // Several PIECEs, requests cut across them.
            (THREE.repeat(3000), &large[..]),
        ];
        for (bytes, sizes) in &cases {
            let whole = frame(bytes);
            for &n in *sizes {
                let (requests, rest, sent) = stream(bytes, n);
                assert_eq!(requests, whole.requests, "pieces of {n}");
                assert_eq!(rest, whole.rest, "pieces of {n}");
                assert_eq!(&sent, bytes, "pieces of {n}");
            }
        }
    }

    #[test]
    fn the_window_stays_small_whatever_the_count() {
        let bytes = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".repeat(100_000);
        let mut out = Outgoing::new(trickled(&bytes, usize::MAX / 2, false));
        let mut n = 0;
        while out.next_request().unwrap().is_some() {
            n += 1;
            let len = out.unsent().len();
            out.sent(len);
            assert!(out.buf.len() <= 4 * PIECE, "{}", out.buf.len());
        }
        assert_eq!(n, 100_000);
    }

    #[test]
    fn finish_counts_what_is_left_unsent() {
        let bytes = [&THREE.repeat(10)[..], b"junk\r\n\r\n"].concat();
        let mut out = Outgoing::new(trickled(&bytes, 9, false));
        assert!(out.next_request().unwrap().is_some());
        out.finish().unwrap();
        assert_eq!(out.requests(), 30);
        assert_eq!(out.rest().map(|r| r.start), Some(bytes.len() - 8));
    }

    #[test]
    fn crlf_turns_only_bare_lf_across_reads() {
        let mut inputs = trickled(b"GET / HTTP/1.1\nA: b\r\n\n\r\n", 1, true);
        assert_eq!(
            inputs.read_all().unwrap(),
            b"GET / HTTP/1.1\r\nA: b\r\n\r\n\r\n"
        );
        let mut inputs = trickled(b"\nx", 5, true);
        assert_eq!(inputs.read_all().unwrap(), b"\r\nx");
    }

    #[test]
    fn empty_input_is_seen_before_sending() {
        let mut out = Outgoing::new(Inputs::bytes(Vec::new()));
        assert!(out.is_empty().unwrap());
        let mut out = Outgoing::new(Inputs::bytes(b"x".to_vec()));
        assert!(!out.is_empty().unwrap());
        assert!(out.next_request().unwrap().is_none());
        assert_eq!(out.unsent(), b"x");
    }
}
