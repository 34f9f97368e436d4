//! The body decoder: a small state machine over bytes, no I/O.
//!
//! One [`Decoder`] per [`Framing`]. It is fed whatever the socket returned
//! and says how much of it was body, so the caller can write body bytes
//! straight from its read buffer. Chunk-size lines are parsed a byte at a
//! time (they are a few bytes long); chunk data is never looked at, only
//! counted. All arithmetic on sizes is checked, and nothing is allocated
//! from a size the peer claims.

use std::fmt;
use std::ops::Range;

use crate::response::framing::Framing;
use crate::response::head::MAX_HEAD;

/// Most bytes of a chunk's extensions kept for `--chunks`. Longer ones are
/// accepted, as curl accepts them, and skipped without being stored (they
/// carry no body bytes); the record says how long they were.
pub const MAX_EXTENSION_KEPT: usize = 1024;

/// Why a body cannot be decoded. Displayed as the error message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// A chunk-size line that is not hex digits.
    BadChunkSize(u8),
    /// A chunk size that does not fit in 64 bits.
    ChunkSizeOverflow,
    /// Chunk data not followed by CRLF: the size was a lie.
    BadChunkEnd(u8),
    /// A chunk-size line not ended by CRLF.
    BadChunkLine(u8),
    /// Trailers larger than the head limit.
    TrailersTooLarge,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::BadChunkSize(b) => {
                write!(f, "bad chunk size: unexpected byte '{}'", b.escape_ascii())
            }
            FrameError::ChunkSizeOverflow => f.write_str("bad chunk size: larger than 64 bits"),
            FrameError::BadChunkEnd(b) => {
                write!(
                    f,
                    "chunk data not followed by CRLF (found '{}'): wrong chunk size",
                    b.escape_ascii()
                )
            }
            FrameError::BadChunkLine(b) => write!(
                f,
                "chunk-size line not ended by CRLF (found '{}')",
                b.escape_ascii()
            ),
            FrameError::TrailersTooLarge => {
                write!(f, "chunked trailers larger than {MAX_HEAD} bytes")
            }
        }
    }
}

impl std::error::Error for FrameError {}

/// What a body cut short by the close lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// This many bytes of a Content-Length body.
    Bytes(u64),
    /// This many bytes of the current chunk.
    ChunkBytes(u64),
    /// The chunk data is whole, but the last chunk (and trailers) never came.
    LastChunk,
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Missing::Bytes(n) => write!(f, "transfer closed with {n} bytes remaining to read"),
            Missing::ChunkBytes(n) => write!(
                f,
                "transfer closed with {n} bytes of the current chunk remaining to read"
            ),
            Missing::LastChunk => f.write_str("transfer closed before the terminating chunk"),
        }
    }
}

/// One call's outcome: input bytes used, and the body bytes among them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// How many input bytes were consumed.
    pub consumed: usize,
    /// Which of them are body data (a range of the input).
    pub data: Range<usize>,
}

/// A chunk as seen on the wire, for `--chunks`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkInfo {
    /// Offset of the chunk-size line from the start of the body on the wire.
    pub offset: u64,
    /// The chunk's size in bytes (0 for the last chunk).
    pub size: u64,
    /// Extensions as received (after the size, from the first `;`), at
    /// most [`MAX_EXTENSION_KEPT`] bytes of them.
    pub extensions: Vec<u8>,
    /// How many bytes of extensions the line had in all.
    pub extensions_len: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// Reading hex digits; the flag says whether any digit was seen.
    Size(bool),
    /// Whitespace after the size (a leniency curl shares).
    SizeWs,
    /// Inside `;ext=val`.
    Extension,
    /// Saw CR ending the size line.
    SizeLf,
    /// Inside chunk data, this many bytes left.
    Data(u64),
    /// After chunk data, expecting CR (or a bare LF).
    DataCr,
    /// After chunk data's CR, expecting LF.
    DataLf,
    /// At the start of a trailer line (or the final blank line).
    TrailerStart,
    /// Inside a trailer line.
    Trailer,
    /// Saw the final blank line's CR.
    EndLf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Length(u64),
    Chunked(Chunk),
    Close,
    Done,
}

/// Decodes one response body.
#[derive(Debug, Clone)]
pub struct Decoder {
    state: State,
    /// Size accumulated while reading a chunk-size line.
    size: u64,
    /// Trailer lines as received, with their line endings.
    trailers: Vec<u8>,
    /// Wire bytes consumed so far (for chunk offsets).
    wire: u64,
    /// Chunk records, when asked for.
    chunks: Option<Vec<ChunkInfo>>,
}

impl Decoder {
    /// A decoder for a body framed as `framing`.
    pub fn new(framing: Framing) -> Decoder {
        let state = match framing {
            Framing::None | Framing::Length(0) => State::Done,
            Framing::Length(n) => State::Length(n),
            Framing::Chunked => State::Chunked(Chunk::Size(false)),
            Framing::Close => State::Close,
        };
        Decoder {
            state,
            size: 0,
            trailers: Vec::new(),
            wire: 0,
            chunks: None,
        }
    }

    /// Also records every chunk's offset, size and extensions.
    pub fn record_chunks(mut self) -> Decoder {
        self.chunks = Some(Vec::new());
        self
    }

    /// Whether the framing says the body is complete.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// The chunked trailer lines, exactly as received (empty when none).
    pub fn trailers(&self) -> &[u8] {
        &self.trailers
    }

    /// The chunks seen, when [`Decoder::record_chunks`] was asked for.
    pub fn chunks(&self) -> Option<&[ChunkInfo]> {
        self.chunks.as_deref()
    }

    /// Takes the chunks recorded since the last call (empty unless
    /// [`Decoder::record_chunks`] was asked for), so records never pile up.
    /// A chunk whose size line has not ended stays behind: its size and
    /// the rest of its extensions come with later input.
    pub fn take_chunks(&mut self) -> Vec<ChunkInfo> {
        let open = matches!(
            self.state,
            State::Chunked(Chunk::Size(true) | Chunk::SizeWs | Chunk::Extension | Chunk::SizeLf)
        );
        match &mut self.chunks {
            Some(c) if !c.is_empty() => {
                let unfinished = if open { c.pop() } else { None };
                let taken = std::mem::take(c);
                c.extend(unfinished);
                taken
            }
            _ => Vec::new(),
        }
    }

    /// Body bytes still promised by Content-Length, or by the current chunk.
    pub fn remaining(&self) -> Option<u64> {
        match self.state {
            State::Length(n) | State::Chunked(Chunk::Data(n)) => Some(n),
            _ => None,
        }
    }

    /// Decodes from `input` until the first body data or the end of input.
    /// Consumes at least one byte when `input` is not empty and the body is
    /// not done; consumes nothing once done (what is left is not body).
    pub fn decode(&mut self, input: &[u8]) -> Result<Step, FrameError> {
        let step = match self.state {
            State::Done => Step {
                consumed: 0,
                data: 0..0,
            },
            State::Close => Step {
                consumed: input.len(),
                data: 0..input.len(),
            },
            State::Length(left) => {
                let n = clamp(left, input.len());
                let left = left - n as u64;
                self.state = if left == 0 {
                    State::Done
                } else {
                    State::Length(left)
                };
                Step {
                    consumed: n,
                    data: 0..n,
                }
            }
            State::Chunked(_) => self.decode_chunked(input)?,
        };
        self.wire += step.consumed as u64;
        Ok(step)
    }

    /// Decodes all of `buf` in place: body data is moved to the front of
    /// `buf`. Returns the bytes of input consumed and the length of the data
    /// now at the front. Built on [`Decoder::decode_ranges`], the path the
    /// fetch takes (it writes the ranges with one vectored write instead of
    /// moving them), so tests, fuzzing and benchmarks of this function
    /// exercise that path too.
    pub fn decode_in_place(&mut self, buf: &mut [u8]) -> Result<(usize, usize), FrameError> {
        let mut ranges = Vec::new();
        let used = self.decode_ranges(buf, &mut ranges, usize::MAX)?;
        let mut out = 0;
        for r in ranges {
            if r.start != out {
                buf.copy_within(r.clone(), out);
            }
            out += r.len();
        }
        Ok((used, out))
    }

    /// Decodes `input` for a vectored write: the places of the body data
    /// in `input` are appended to `ranges`, so large pieces are written
    /// where they lie, between the chunk-size lines, without a copy. Pieces
    /// under 4 KiB are moved up against the previous one instead (cheaper
    /// than a slice of their own). Stops when the body is done, the input is
    /// used up, or `ranges` holds `max` entries. Returns the bytes consumed.
    pub fn decode_ranges(
        &mut self,
        input: &mut [u8],
        ranges: &mut Vec<Range<usize>>,
        max: usize,
    ) -> Result<usize, FrameError> {
        const SMALL: usize = 4096;
        let mut pos = 0;
        while pos < input.len() && !self.is_done() && ranges.len() < max {
            let step = self.decode(&input[pos..])?;
            let data = pos + step.data.start..pos + step.data.end;
            pos += step.consumed;
            if data.is_empty() {
                continue;
            }
            match ranges.last_mut() {
                Some(last) if last.end == data.start => last.end = data.end,
                Some(last) if data.len() < SMALL => {
                    input.copy_within(data.clone(), last.end);
                    last.end += data.len();
                }
                _ => ranges.push(data),
            }
        }
        Ok(pos)
    }

    /// Consumes as much of `input` as belongs to the body without changing
    /// it (for `--raw`, which writes the framing too). Returns the bytes used.
    pub fn skip(&mut self, input: &[u8]) -> Result<usize, FrameError> {
        let mut pos = 0;
        while pos < input.len() && !self.is_done() {
            pos += self.decode(&input[pos..])?.consumed;
        }
        Ok(pos)
    }

    /// Accounts for `n` body bytes that bypassed the decoder (moved by
    /// splice(2) straight to the output). Only Content-Length and
    /// close-delimited bodies are ever moved that way.
    pub fn advance(&mut self, n: u64) {
        if let State::Length(left) = self.state {
            let left = left.saturating_sub(n);
            self.state = if left == 0 {
                State::Done
            } else {
                State::Length(left)
            };
        }
        self.wire += n;
    }

    /// At end of input: whether the body is complete, or what is missing.
    pub fn finish(&self) -> Result<(), Missing> {
        match self.state {
            State::Done | State::Close => Ok(()),
            State::Length(n) => Err(Missing::Bytes(n)),
            State::Chunked(Chunk::Data(n)) => Err(Missing::ChunkBytes(n)),
            State::Chunked(_) => Err(Missing::LastChunk),
        }
    }

    fn decode_chunked(&mut self, input: &[u8]) -> Result<Step, FrameError> {
        let mut i = 0;
        while i < input.len() {
            let State::Chunked(phase) = self.state else {
                break;
            };
            if let Chunk::Data(left) = phase {
                // Return this data at once; the caller writes it from its buffer.
                let n = clamp(left, input.len() - i);
                let left = left - n as u64;
                self.state = State::Chunked(if left == 0 {
                    Chunk::DataCr
                } else {
                    Chunk::Data(left)
                });
                return Ok(Step {
                    consumed: i + n,
                    data: i..i + n,
                });
            }
            let b = input[i];
            i += 1;
            match self.line_byte(phase, b, i - 1)? {
                Some(next) => self.state = State::Chunked(next),
                None => {
                    self.state = State::Done;
                    return Ok(Step {
                        consumed: i,
                        data: i..i,
                    });
                }
            }
        }
        Ok(Step {
            consumed: i,
            data: i..i,
        })
    }

    /// One byte of a chunk-size line, the CRLF after data, or the trailers.
    /// `None` means the body is complete. `at` is the byte's input offset.
    fn line_byte(&mut self, phase: Chunk, b: u8, at: usize) -> Result<Option<Chunk>, FrameError> {
        Ok(Some(match phase {
            Chunk::Size(seen) => match b {
                b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F' => {
                    if !seen {
                        self.size = 0;
                        self.note_chunk_start(at);
                    }
                    let digit = (b as char).to_digit(16).unwrap_or(0);
                    self.size = self
                        .size
                        .checked_mul(16)
                        .and_then(|s| s.checked_add(u64::from(digit)))
                        .ok_or(FrameError::ChunkSizeOverflow)?;
                    Chunk::Size(true)
                }
                b' ' | b'\t' if seen => Chunk::SizeWs,
                b';' if seen => self.extension_byte(b),
                b'\r' if seen => Chunk::SizeLf,
                b'\n' if seen => self.size_line_done(),
                _ => return Err(FrameError::BadChunkSize(b)),
            },
            Chunk::SizeWs => match b {
                b' ' | b'\t' => Chunk::SizeWs,
                b';' => self.extension_byte(b),
                b'\r' => Chunk::SizeLf,
                b'\n' => self.size_line_done(),
                _ => return Err(FrameError::BadChunkSize(b)),
            },
            Chunk::Extension => match b {
                b'\r' => Chunk::SizeLf,
                b'\n' => self.size_line_done(),
                _ => self.extension_byte(b),
            },
            Chunk::SizeLf => match b {
                b'\n' => self.size_line_done(),
                _ => return Err(FrameError::BadChunkLine(b)),
            },
            // Data is taken in bulk by `decode_chunked`, never byte by byte.
            Chunk::Data(left) => Chunk::Data(left),
            Chunk::DataCr => match b {
                b'\r' => Chunk::DataLf,
                // A bare LF after the data: unambiguous, accepted.
                b'\n' => Chunk::Size(false),
                _ => return Err(FrameError::BadChunkEnd(b)),
            },
            Chunk::DataLf => match b {
                b'\n' => Chunk::Size(false),
                _ => return Err(FrameError::BadChunkEnd(b)),
            },
            Chunk::TrailerStart => match b {
                b'\r' => Chunk::EndLf,
                b'\n' => return Ok(None),
                _ => self.trailer_byte(b)?,
            },
            Chunk::Trailer => self.trailer_byte(b)?,
            Chunk::EndLf => match b {
                b'\n' => return Ok(None),
                _ => return Err(FrameError::BadChunkLine(b)),
            },
        }))
    }

    fn note_chunk_start(&mut self, at: usize) {
        let offset = self.wire + at as u64;
        if let Some(chunks) = &mut self.chunks {
            chunks.push(ChunkInfo {
                offset,
                size: 0,
                extensions: Vec::new(),
                extensions_len: 0,
            });
        }
    }

    fn extension_byte(&mut self, b: u8) -> Chunk {
        if let Some(last) = self.chunks.as_mut().and_then(|c| c.last_mut()) {
            last.extensions_len += 1;
            if last.extensions.len() < MAX_EXTENSION_KEPT {
                last.extensions.push(b);
            }
        }
        Chunk::Extension
    }

    fn size_line_done(&mut self) -> Chunk {
        if let Some(last) = self.chunks.as_mut().and_then(|c| c.last_mut()) {
            last.size = self.size;
        }
        if self.size == 0 {
            Chunk::TrailerStart
        } else {
            Chunk::Data(self.size)
        }
    }

    fn trailer_byte(&mut self, b: u8) -> Result<Chunk, FrameError> {
        if self.trailers.len() >= MAX_HEAD {
            return Err(FrameError::TrailersTooLarge);
        }
        self.trailers.push(b);
        Ok(if b == b'\n' {
            Chunk::TrailerStart
        } else {
            Chunk::Trailer
        })
    }
}

/// `min(left, available)` as a usize, without truncating casts.
fn clamp(left: u64, available: usize) -> usize {
    usize::try_from(left).map_or(available, |l| l.min(available))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `input` fed in pieces of `step` bytes; returns the body, the
    /// bytes left over after the end, and the trailers.
    fn feed(
        framing: Framing,
        input: &[u8],
        step: usize,
    ) -> Result<(Vec<u8>, usize, Vec<u8>, bool), FrameError> {
        let mut d = Decoder::new(framing);
        let mut body = Vec::new();
        let mut pos = 0;
        while pos < input.len() && !d.is_done() {
            let end = (pos + step).min(input.len());
            let mut piece = input[pos..end].to_vec();
            let (used, n) = d.decode_in_place(&mut piece)?;
            body.extend_from_slice(&piece[..n]);
            pos += used;
        }
        Ok((body, input.len() - pos, d.trailers().to_vec(), d.is_done()))
    }

    /// The same input whole, one byte at a time, and cut at every position
    /// must decode the same.
    fn all_ways(
        framing: Framing,
        input: &[u8],
    ) -> Result<(Vec<u8>, usize, Vec<u8>, bool), FrameError> {
        let whole = feed(framing, input, input.len().max(1));
        assert_eq!(feed(framing, input, 1), whole, "one byte at a time");
        for cut in 1..input.len() {
            let mut d = Decoder::new(framing);
            let mut body = Vec::new();
            let mut a = input[..cut].to_vec();
            let r = d.decode_in_place(&mut a).and_then(|(used, n)| {
                body.extend_from_slice(&a[..n]);
                let mut b = input[used..].to_vec();
                let (used2, n2) = d.decode_in_place(&mut b)?;
                body.extend_from_slice(&b[..n2]);
                Ok((
                    body,
                    input.len() - used - used2,
                    d.trailers().to_vec(),
                    d.is_done(),
                ))
            });
            assert_eq!(r, whole, "cut at {cut}");
        }
        whole
    }

    const CHUNKED: &[u8] =
        b"5\r\nhello\r\n1A;name=value\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: yes\r\n\r\n";

    #[test]
    fn chunked_with_extension_and_trailers() {
        let (body, extra, trailers, done) = all_ways(Framing::Chunked, CHUNKED).unwrap();
        assert_eq!(body, b"helloabcdefghijklmnopqrstuvwxyz");
        assert_eq!((extra, done), (0, true));
        assert_eq!(trailers, b"X-Trailer: yes\r\n");
    }

    #[test]
    fn chunked_leniencies() {
        let input = b"5  \nhello\n0\n\nrest";
        let (body, extra, trailers, done) = all_ways(Framing::Chunked, input).unwrap();
        assert_eq!(body, b"hello");
        assert_eq!((extra, trailers.len(), done), (4, 0, true));
        let (body, ..) = all_ways(Framing::Chunked, b"0005\r\nhello\r\n000\r\n\r\n").unwrap();
        assert_eq!(body, b"hello");
    }

    #[test]
    fn chunked_stops_at_the_end_and_leaves_the_rest() {
        let mut input = CHUNKED.to_vec();
        input.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
        let (_, extra, _, done) = all_ways(Framing::Chunked, &input).unwrap();
        assert_eq!((extra, done), (17, true));
    }

    #[test]
    fn chunked_errors() {
        let cases: &[(&[u8], FrameError)] = &[
            (b"zz\r\n", FrameError::BadChunkSize(b'z')),
            (b"\r\n", FrameError::BadChunkSize(b'\r')),
            (b";x\r\n", FrameError::BadChunkSize(b';')),
            (b"-1\r\n", FrameError::BadChunkSize(b'-')),
            (b"5 5\r\n", FrameError::BadChunkSize(b'5')),
            (b"100000000000000000\r\n", FrameError::ChunkSizeOverflow),
            (b"3\r\nhello\r\n", FrameError::BadChunkEnd(b'l')),
            (b"5\rhello", FrameError::BadChunkLine(b'h')),
            (b"0\r\n\rx", FrameError::BadChunkLine(b'x')),
        ];
        for (input, want) in cases {
            assert_eq!(
                all_ways(Framing::Chunked, input).unwrap_err(),
                *want,
                "{}",
                input.escape_ascii()
            );
        }
        let big_trailer = [b"0\r\n".to_vec(), vec![b'a'; MAX_HEAD + 1]].concat();
        assert_eq!(
            feed(Framing::Chunked, &big_trailer, 65536).unwrap_err(),
            FrameError::TrailersTooLarge
        );
    }

    #[test]
    fn chunked_huge_claim_is_partial_without_allocating() {
        let mut d = Decoder::new(Framing::Chunked);
        let mut input = b"FFFFFFFFFF\r\nabc".to_vec();
        let (used, n) = d.decode_in_place(&mut input).unwrap();
        assert_eq!((used, &input[..n]), (15, &b"abc"[..]));
        assert_eq!(d.remaining(), Some(0xFF_FFFF_FFFF - 3));
        assert_eq!(d.finish(), Err(Missing::ChunkBytes(1099511627772)));
    }

    #[test]
    fn content_length_exact_and_extra() {
        let (body, extra, _, done) = all_ways(Framing::Length(5), b"hello world").unwrap();
        assert_eq!((body.as_slice(), extra, done), (&b"hello"[..], 6, true));
        let (body, extra, _, done) = all_ways(Framing::Length(50), b"short").unwrap();
        assert_eq!((body.as_slice(), extra, done), (&b"short"[..], 0, false));
        let mut d = Decoder::new(Framing::Length(50));
        d.decode(b"short").unwrap();
        let missing = d.finish().unwrap_err();
        assert_eq!(missing, Missing::Bytes(45));
        assert_eq!(
            missing.to_string(),
            "transfer closed with 45 bytes remaining to read"
        );
    }

    #[test]
    fn none_and_zero_length_are_done_at_once() {
        for f in [Framing::None, Framing::Length(0)] {
            let d = Decoder::new(f);
            assert!(d.is_done());
            assert!(d.finish().is_ok());
        }
        let (body, extra, _, _) = all_ways(Framing::None, b"junk").unwrap();
        assert_eq!((body.len(), extra), (0, 4));
    }

    #[test]
    fn close_takes_everything() {
        let (body, extra, _, done) = all_ways(Framing::Close, b"all of it\r\n0\r\n").unwrap();
        assert_eq!(
            (body.as_slice(), extra, done),
            (&b"all of it\r\n0\r\n"[..], 0, false)
        );
        assert!(Decoder::new(Framing::Close).finish().is_ok());
    }

    #[test]
    fn partial_chunked_reports_what_is_missing() {
        let mut d = Decoder::new(Framing::Chunked);
        d.decode_in_place(&mut b"5\r\nhel".to_vec()).unwrap();
        assert_eq!(d.finish(), Err(Missing::ChunkBytes(2)));
        let mut d = Decoder::new(Framing::Chunked);
        d.decode_in_place(&mut b"5\r\nhello\r\n".to_vec()).unwrap();
        assert_eq!(d.finish(), Err(Missing::LastChunk));
    }

    #[test]
    fn ranges_point_at_the_data_in_place() {
        // Small pieces are moved together: one range for the whole body.
        let mut d = Decoder::new(Framing::Chunked);
        let mut ranges = Vec::new();
        let mut input = CHUNKED.to_vec();
        let used = d.decode_ranges(&mut input, &mut ranges, 16).unwrap();
        assert_eq!(used, CHUNKED.len());
        assert_eq!(ranges.len(), 1);
        assert_eq!(
            &input[ranges[0].clone()],
            b"helloabcdefghijklmnopqrstuvwxyz"
        );
        // Large pieces stay where they are, one range each.
        let big = [
            b"1000\r\n".to_vec(),
            vec![b'a'; 4096],
            b"\r\n1000\r\n".to_vec(),
            vec![b'b'; 4096],
            b"\r\n0\r\n\r\n".to_vec(),
        ]
        .concat();
        let mut d = Decoder::new(Framing::Chunked);
        let mut input = big.clone();
        ranges.clear();
        d.decode_ranges(&mut input, &mut ranges, 16).unwrap();
        assert_eq!(ranges, vec![6..4102, 4110..8206]);
        assert!(d.is_done());
        // A cap on the ranges stops early; the rest decodes on the next call.
        let mut d = Decoder::new(Framing::Chunked);
        let mut input = big.clone();
        ranges.clear();
        let used = d.decode_ranges(&mut input, &mut ranges, 1).unwrap();
        assert_eq!(ranges, vec![6..4102]);
        ranges.clear();
        d.decode_ranges(&mut input[used..], &mut ranges, 16)
            .unwrap();
        assert!(d.is_done());
    }

    #[test]
    fn ranges_decode_the_same_at_every_cut() {
        // Mixed piece sizes: some moved together, some left in place.
        let mut input = Vec::new();
        let mut want = Vec::new();
        for (i, size) in [3usize, 5000, 1, 4096, 4095, 9000, 2].iter().enumerate() {
            input.extend_from_slice(format!("{size:x}\r\n").as_bytes());
            let piece = vec![b'a' + i as u8; *size];
            input.extend_from_slice(&piece);
            input.extend_from_slice(b"\r\n");
            want.extend_from_slice(&piece);
        }
        input.extend_from_slice(b"0\r\n\r\n");
        for cut in (0..input.len()).step_by(97).chain([1, input.len() - 1]) {
            let mut d = Decoder::new(Framing::Chunked);
            let mut body = Vec::new();
            let mut buf = input.clone();
            let mut pos = 0;
            for end in [cut, input.len()] {
                while pos < end && !d.is_done() {
                    let mut ranges = Vec::new();
                    let used = d.decode_ranges(&mut buf[pos..end], &mut ranges, 4).unwrap();
                    for r in ranges {
                        body.extend_from_slice(&buf[pos..end][r]);
                    }
                    pos += used;
                }
            }
            assert!(d.is_done(), "cut {cut}");
            assert_eq!(body, want, "cut {cut}");
        }
    }

    /// A size line split across reads is recorded once, whole: taken
    /// between the reads, the chunk was reported with size 0 and its
    /// extensions cut short (`--chunks` printed it so).
    #[test]
    fn a_size_line_split_across_reads_is_taken_whole() {
        let mut d = Decoder::new(Framing::Chunked).record_chunks();
        let first = b"2;name=val";
        let step = d.decode(first).unwrap();
        assert_eq!(step.consumed, first.len());
        assert!(d.take_chunks().is_empty(), "taken before its line ended");
        let rest = b"ue\r\nok\r\n0\r\n\r\n";
        let mut pos = 0;
        while pos < rest.len() && !d.is_done() {
            pos += d.decode(&rest[pos..]).unwrap().consumed;
        }
        let chunks = d.take_chunks();
        assert_eq!(chunks.len(), 2, "{chunks:?}");
        assert_eq!(chunks[0].size, 2);
        assert_eq!(chunks[0].extensions, b";name=value");
        assert_eq!(chunks[0].extensions_len, 11);
        assert_eq!(chunks[1].size, 0);
    }

    /// Issue 11 item 13: an extension over 16 KiB was refused; curl accepts
    /// it. It is skipped, and its record keeps the first bytes and its length.
    #[test]
    fn long_extensions_are_skipped_not_refused() {
        let ext = vec![b'a'; 64 * 1024];
        let wire = [b"3;".to_vec(), ext, b"\r\nabc\r\n0\r\n\r\n".to_vec()].concat();
        let mut d = Decoder::new(Framing::Chunked).record_chunks();
        let mut input = wire.clone();
        let (used, n) = d.decode_in_place(&mut input).unwrap();
        assert_eq!(
            (used, &input[..n], d.is_done()),
            (wire.len(), &b"abc"[..], true)
        );
        let c = &d.chunks().unwrap()[0];
        assert_eq!(c.extensions.len(), MAX_EXTENSION_KEPT);
        assert_eq!(c.extensions_len, 64 * 1024 + 1);
    }

    #[test]
    fn records_chunks() {
        let mut d = Decoder::new(Framing::Chunked).record_chunks();
        d.decode_in_place(&mut CHUNKED.to_vec()).unwrap();
        let c = d.chunks().unwrap();
        assert_eq!(c.len(), 3);
        assert_eq!((c[0].offset, c[0].size), (0, 5));
        assert_eq!(
            (c[1].offset, c[1].size, c[1].extensions.as_slice()),
            (10, 26, &b";name=value"[..])
        );
        assert_eq!((c[2].offset, c[2].size), (10 + 15 + 28, 0));
    }
}
