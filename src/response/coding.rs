//! Content codings (`--compressed`) and transfer codings other than
//! chunked (`--tr-encoding`), decoded with no I/O: fed the encoded body
//! bytes, a [`Decoding`] writes decoded bytes into the caller's bounded
//! output buffer and says how much of each it used, so memory stays flat
//! whatever the body expands to (a decompression bomb grows the output,
//! never the buffers).
//!
//! The rules (RFC 9110 section 8.4.1): `Content-Encoding` lists the codings
//! in the order they were applied, so they are undone in reverse; `identity`
//! is no coding; `x-gzip` is `gzip` (RFC 9110 section 18.6). `deflate` is
//! the zlib format (RFC 1950), and, as curl and browsers accept, raw deflate
//! when the body does not start with a zlib header. A gzip body may hold
//! several members one after another, as gzip(1) writes them; a zstd body
//! several frames. Bytes after the end of a brotli stream are ignored.
//!
//! The decoders are chosen by measurement (the commit has the figures):
//! flate2 on zlib-rs for gzip and deflate (its gzip mode checks the
//! header, the CRC-32 and the length), Google's C brotli decoder through
//! brotlic for br (about twice as fast as the pure-Rust
//! brotli-decompressor on the same input), and the zstd C library for
//! zstd (several times faster than the pure-Rust one).

use std::fmt;

use brotlic::decode::{BrotliDecoder, DecoderInfo};
use flate2::{Decompress, FlushDecompress, Status};
use zstd::stream::raw::Operation;

use crate::response::head::Head;

/// Size of each buffer between two stages of a chain, and of the output
/// buffer the fetch gives [`Decoding::decode`]: large enough that one
/// write carries many bytes, small enough that a chain of four stays flat.
pub const DECODE_BUF: usize = 64 * 1024;

/// Brotli is given at most 1/32 of the room it writes to per call (text
/// compresses about 30:1), and never less than [`BR_PIECE_MIN`].
const BR_PIECE_RATIO: usize = 32;
const BR_PIECE_MIN: usize = 1024;

/// One coding rawget can undo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    /// gzip (RFC 1952), also `x-gzip`.
    Gzip,
    /// deflate: zlib (RFC 1950), or raw deflate (RFC 1951) as some servers send.
    Deflate,
    /// Brotli (RFC 7932).
    Br,
    /// Zstandard (RFC 8878).
    Zstd,
}

impl Coding {
    /// The coding a token names (case-insensitive), `None` for `identity`.
    pub fn parse(token: &[u8]) -> Result<Option<Coding>, CodingError> {
        let t = token.to_ascii_lowercase();
        Ok(Some(match &t[..] {
            b"gzip" | b"x-gzip" => Coding::Gzip,
            b"deflate" => Coding::Deflate,
            b"br" => Coding::Br,
            b"zstd" => Coding::Zstd,
            b"identity" => return Ok(None),
            _ => return Err(CodingError::Unknown(token.to_vec())),
        }))
    }

    /// The coding's name as it appears in a header.
    pub fn name(self) -> &'static str {
        match self {
            Coding::Gzip => "gzip",
            Coding::Deflate => "deflate",
            Coding::Br => "br",
            Coding::Zstd => "zstd",
        }
    }
}

/// The largest zstd window accepted: 2^23 bytes, 8 MiB (RFC 9659).
const ZSTD_WINDOW_LOG: u32 = 23;

/// The `Accept-Encoding` value `--compressed` sends: every coding rawget
/// decodes.
pub const ACCEPT_ENCODING: &str = "gzip, deflate, br, zstd";

/// Why a body cannot be decoded (exit 61, as curl's "bad content encoding").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodingError {
    /// A coding rawget does not know.
    Unknown(Vec<u8>),
    /// The encoded bytes are not a valid stream of this coding.
    Corrupt(Coding, String),
    /// The body ended before the coded stream did.
    Truncated(Coding),
}

impl fmt::Display for CodingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodingError::Unknown(t) => write!(
                f,
                "unknown coding \"{}\" (rawget decodes {ACCEPT_ENCODING})",
                t.escape_ascii()
            ),
            CodingError::Corrupt(c, why) => write!(f, "corrupt {} stream: {why}", c.name()),
            CodingError::Truncated(c) => {
                write!(f, "the {} stream ends before its end", c.name())
            }
        }
    }
}

impl std::error::Error for CodingError {}

/// The codings of `field` in `head` (`Content-Encoding`, or
/// `Transfer-Encoding` with `chunked` left out), in the order applied.
pub fn chain(head: &Head, field: &str) -> Result<Vec<Coding>, CodingError> {
    let mut codings = Vec::new();
    for value in head.values(field) {
        for token in value.split(|&b| b == b',').map(|s| s.trim_ascii()) {
            if token.is_empty()
                || (field != "Content-Encoding" && token.eq_ignore_ascii_case(b"chunked"))
            {
                continue;
            }
            if let Some(c) = Coding::parse(token)? {
                codings.push(c);
            }
        }
    }
    Ok(codings)
}

/// One decoder's state.
enum Stage {
    /// gzip or deflate: zlib's inflate (zlib-rs).
    Flate {
        coding: Coding,
        inflate: Box<Decompress>,
        /// Deflate only: the format is known once the first bytes are seen.
        started: bool,
        /// gzip: decoding a member after the first.
        again: bool,
        /// Bytes after the last stream, ignored (gzip(1) ignores trailing
        /// garbage after a member, with a warning).
        trailing: bool,
    },
    Br(BrotliDecoder),
    Zstd(Box<zstd::stream::raw::Decoder<'static>>),
}

/// One stage of a chain: its decoder, whether its stream has ended, and
/// whether any byte was fed to it.
struct Step {
    stage: Stage,
    ended: bool,
    fed: bool,
}

impl Step {
    fn new(coding: Coding) -> Result<Step, CodingError> {
        let stage = match coding {
            Coding::Gzip => Stage::Flate {
                coding,
                inflate: Box::new(Decompress::new_gzip(15)),
                started: true,
                again: false,
                trailing: false,
            },
            Coding::Deflate => Stage::Flate {
                coding,
                inflate: Box::new(Decompress::new(true)),
                started: false,
                again: false,
                trailing: false,
            },
            // The C decoder's defaults are strict: no "large window"
            // extension (up to 1 GiB of window); RFC 7932's windows are at
            // most 16 MiB.
            Coding::Br => Stage::Br(BrotliDecoder::new()),
            Coding::Zstd => {
                let err = |e: std::io::Error| CodingError::Corrupt(coding, e.to_string());
                let mut d = zstd::stream::raw::Decoder::new().map_err(err)?;
                // RFC 9659 section 3: the zstd content coding's window is at
                // most 8 MiB; a frame asking for more (up to 128 MiB by the
                // library's default) is refused rather than allocated.
                d.set_parameter(zstd::stream::raw::DParameter::WindowLogMax(ZSTD_WINDOW_LOG))
                    .map_err(err)?;
                Stage::Zstd(Box::new(d))
            }
        };
        Ok(Step {
            stage,
            ended: false,
            fed: false,
        })
    }

    fn coding(&self) -> Coding {
        match &self.stage {
            Stage::Flate { coding, .. } => *coding,
            Stage::Br(_) => Coding::Br,
            Stage::Zstd(_) => Coding::Zstd,
        }
    }

    /// Decodes from `input` into `out`: (input used, output written).
    fn run(&mut self, input: &[u8], out: &mut [u8]) -> Result<(usize, usize), CodingError> {
        self.fed |= !input.is_empty();
        let coding = self.coding();
        let corrupt = |why: String| CodingError::Corrupt(coding, why);
        match &mut self.stage {
            Stage::Flate {
                inflate,
                started,
                again,
                trailing,
                ..
            } => {
                if *trailing {
                    return Ok((input.len(), 0));
                }
                if !*started {
                    if input.len() < 2 && !input.is_empty() {
                        // Too few bytes to tell zlib from raw deflate: wait
                        // (the caller feeds them again with more).
                        return Ok((0, 0));
                    }
                    if input.len() >= 2 {
                        *started = true;
                        // RFC 1950 section 2.2: CM is 8 and the first two
                        // bytes, as a big-endian number, are a multiple of 31.
                        let zlib = input[0] & 0x0f == 8
                            && (u16::from(input[0]) << 8 | u16::from(input[1])) % 31 == 0;
                        if !zlib {
                            **inflate = Decompress::new(false);
                        }
                    }
                }
                if self.ended {
                    if coding == Coding::Gzip && !input.is_empty() {
                        // Another gzip member follows (RFC 1952 section 2.2).
                        **inflate = Decompress::new_gzip(15);
                        self.ended = false;
                        *again = true;
                    } else {
                        // Bytes after a zlib stream's end: ignored, as curl does.
                        return Ok((input.len(), 0));
                    }
                }
                let (in0, out0) = (inflate.total_in(), inflate.total_out());
                let status = match inflate.decompress(input, out, FlushDecompress::None) {
                    Ok(status) => status,
                    // Not a gzip member after the first: trailing garbage.
                    Err(_) if *again && inflate.total_out() == 0 => {
                        (*trailing, self.ended) = (true, true);
                        return Ok((input.len(), 0));
                    }
                    Err(e) => return Err(corrupt(e.to_string())),
                };
                let used = (inflate.total_in() - in0) as usize;
                let made = (inflate.total_out() - out0) as usize;
                if status == Status::StreamEnd {
                    self.ended = true;
                }
                Ok((used, made))
            }
            Stage::Br(decoder) => {
                if self.ended {
                    return Ok((input.len(), 0));
                }
                // A piece of the input at a time: brotli decodes all the
                // input it is given into its window (up to 16 MiB) before
                // it hands out more than `out` holds, so a whole read's
                // 64 KiB (2 MiB of text) went in one 3 ms call and then out
                // in a burst of copies the writer thread could not keep
                // up with. A piece of about `out`'s size decoded keeps the
                // decoding and the writing in step.
                let piece = (out.len() / BR_PIECE_RATIO).max(BR_PIECE_MIN);
                let input = &input[..input.len().min(piece)];
                let r = decoder
                    .decompress(input, out)
                    .map_err(|e| corrupt(e.to_string()))?;
                if r.info == DecoderInfo::Finished {
                    self.ended = true;
                }
                Ok((r.bytes_read, r.bytes_written))
            }
            Stage::Zstd(decoder) => {
                let status = decoder
                    .run_on_buffers(input, out)
                    .map_err(|e| corrupt(e.to_string()))?;
                // 0: a frame is complete and flushed; more input starts another.
                if status.bytes_read > 0 || status.bytes_written > 0 {
                    self.ended = status.remaining == 0;
                }
                Ok((status.bytes_read, status.bytes_written))
            }
        }
    }

    /// The body ended: its stream must have too (or never have begun: an
    /// empty body is empty whatever it claims to be coded with).
    fn finish(&self) -> Result<(), CodingError> {
        if self.ended || !self.fed {
            return Ok(());
        }
        Err(CodingError::Truncated(self.coding()))
    }
}

/// A buffer between two stages: bytes in `buf[start..end]` wait for the
/// next stage.
struct Pipe {
    buf: Box<[u8]>,
    start: usize,
    end: usize,
}

/// The decoders of a chain of codings, outermost first, with a bounded
/// buffer between each two.
pub struct Decoding {
    codings: Vec<Coding>,
    /// `steps[0]` undoes the last coding applied.
    steps: Vec<Step>,
    /// `pipes[i]` holds `steps[i]`'s output for `steps[i + 1]`.
    pipes: Vec<Pipe>,
    /// Encoded bytes used.
    fed: u64,
}

impl Decoding {
    /// Decoders for `codings` in the order they were applied (the header's).
    pub fn new(codings: &[Coding]) -> Result<Decoding, CodingError> {
        let steps = codings
            .iter()
            .rev()
            .map(|&c| Step::new(c))
            .collect::<Result<Vec<_>, _>>()?;
        let pipes = (1..steps.len())
            .map(|_| Pipe {
                buf: vec![0; DECODE_BUF].into_boxed_slice(),
                start: 0,
                end: 0,
            })
            .collect();
        Ok(Decoding {
            codings: codings.to_vec(),
            steps,
            pipes,
            fed: 0,
        })
    }

    /// The codings, in the order they were applied.
    pub fn codings(&self) -> &[Coding] {
        &self.codings
    }

    /// Encoded bytes used so far.
    pub fn fed(&self) -> u64 {
        self.fed
    }

    /// Decodes from `input` into `out` as far as it can. Returns (input
    /// used, output written). Call again with the rest of the input (or
    /// none) while either is non-zero: a stage may hold decoded bytes for
    /// a full `out`; (0, 0) means nothing more can move until more input.
    pub fn decode(&mut self, input: &[u8], out: &mut [u8]) -> Result<(usize, usize), CodingError> {
        let last = self.steps.len() - 1;
        let (mut used, mut made) = (0, 0);
        loop {
            let mut moved = false;
            // Stage 0 reads the input; each later stage the pipe before
            // it; the last writes `out`. Earlier stages run first, so what
            // they make can reach `out` in the same pass.
            for i in 0..=last {
                let (before, after) = self.pipes.split_at_mut(i);
                let src: &[u8] = match i {
                    0 => &input[used..],
                    _ => {
                        let p = &before[i - 1];
                        &p.buf[p.start..p.end]
                    }
                };
                let dst: &mut [u8] = if i == last {
                    &mut out[made..]
                } else {
                    let p = &mut after[0];
                    if p.start > 0 {
                        p.buf.copy_within(p.start..p.end, 0);
                        (p.start, p.end) = (0, p.end - p.start);
                    }
                    &mut p.buf[p.end..]
                };
                if dst.is_empty() {
                    continue;
                }
                let (n, m) = self.steps[i].run(src, dst)?;
                moved |= n > 0 || m > 0;
                match i {
                    0 => used += n,
                    _ => before[i - 1].start += n,
                }
                if i == last {
                    made += m;
                } else {
                    after[0].end += m;
                }
            }
            if !moved || made == out.len() {
                break;
            }
        }
        self.fed += used as u64;
        Ok((used, made))
    }

    /// Whether bytes wait in a buffer between two stages.
    fn pending(&self) -> bool {
        self.pipes.iter().any(|p| p.start < p.end)
    }

    /// The body ended: every stream of the chain must have ended too.
    pub fn finish(&self) -> Result<(), CodingError> {
        if self.pending() {
            return Err(CodingError::Truncated(
                self.steps[self.steps.len() - 1].coding(),
            ));
        }
        self.steps.iter().try_for_each(Step::finish)
    }

    /// The chain as text for `--explain` and `-v`, in header order: `gzip, br`.
    pub fn describe(&self) -> String {
        names(&self.codings)
    }
}

/// Codings as a header lists them.
pub fn names(codings: &[Coding]) -> String {
    codings
        .iter()
        .map(|c| c.name())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn raw_deflate(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    /// Decodes `input` fed in pieces of `piece` bytes with a small output
    /// buffer, as the fetch drives it.
    fn decode_all(codings: &[Coding], input: &[u8], piece: usize) -> Result<Vec<u8>, CodingError> {
        let mut d = Decoding::new(codings)?;
        let mut out = vec![0; 1000];
        let mut got = Vec::new();
        let mut pending = Vec::new();
        for part in input.chunks(piece) {
            pending.extend_from_slice(part);
            loop {
                let (used, made) = d.decode(&pending, &mut out)?;
                got.extend_from_slice(&out[..made]);
                pending.drain(..used);
                if used == 0 && made == 0 {
                    break;
                }
            }
        }
        d.finish()?;
        Ok(got)
    }

    fn text() -> Vec<u8> {
        (0..20_000u32)
            .flat_map(|i| format!("line {i} of a body that compresses\n").into_bytes())
            .collect()
    }

    #[test]
    fn gzip_deflate_and_raw_deflate_at_every_piece_size() {
        let t = text();
        for piece in [1, 2, 7, 1000, usize::MAX] {
            assert_eq!(decode_all(&[Coding::Gzip], &gzip(&t), piece).unwrap(), t);
            assert_eq!(decode_all(&[Coding::Deflate], &zlib(&t), piece).unwrap(), t);
            assert_eq!(
                decode_all(&[Coding::Deflate], &raw_deflate(&t), piece).unwrap(),
                t
            );
        }
    }

    #[test]
    fn zstd_and_a_chain_in_header_order() {
        let t = text();
        let z = zstd::encode_all(&t[..], 3).unwrap();
        assert_eq!(decode_all(&[Coding::Zstd], &z, 333).unwrap(), t);
        // Content-Encoding: zstd, gzip means zstd first, then gzip.
        let both = gzip(&z);
        assert_eq!(
            decode_all(&[Coding::Zstd, Coding::Gzip], &both, 100).unwrap(),
            t
        );
        assert!(decode_all(&[Coding::Gzip, Coding::Zstd], &both, 100).is_err());
    }

    #[test]
    fn a_zstd_window_over_8_mib_is_refused() {
        let t = text();
        let mut e = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
        e.include_contentsize(false).unwrap();
        e.window_log(27).unwrap();
        e.long_distance_matching(true).unwrap();
        std::io::Write::write_all(&mut e, &t).unwrap();
        let big = e.finish().unwrap();
        // A valid frame (the library's own limit is 128 MiB)...
        assert_eq!(zstd::decode_all(&big[..]).unwrap(), t);
        // ...that rawget refuses for its window alone.
        assert!(matches!(
            decode_all(&[Coding::Zstd], &big, 1000),
            Err(CodingError::Corrupt(Coding::Zstd, _))
        ));
    }

    #[test]
    fn two_gzip_members_are_one_body() {
        let mut two = gzip(b"first ");
        two.extend(gzip(b"second"));
        assert_eq!(
            decode_all(&[Coding::Gzip], &two, 3).unwrap(),
            b"first second"
        );
    }

    #[test]
    fn a_cut_stream_is_truncated_and_a_bad_one_corrupt() {
        let g = gzip(&text());
        let cut = &g[..g.len() - 4];
        assert_eq!(
            decode_all(&[Coding::Gzip], cut, 100),
            Err(CodingError::Truncated(Coding::Gzip))
        );
        let mut bad = g.clone();
        let n = bad.len();
        bad[n - 6] ^= 0xff; // the CRC-32
        assert!(matches!(
            decode_all(&[Coding::Gzip], &bad, 100),
            Err(CodingError::Corrupt(Coding::Gzip, _))
        ));
        assert!(matches!(
            decode_all(&[Coding::Br], b"not brotli at all", 100),
            Err(CodingError::Corrupt(Coding::Br, _)) | Err(CodingError::Truncated(Coding::Br))
        ));
        // An empty body is empty, whatever coding it names.
        assert_eq!(decode_all(&[Coding::Gzip], b"", 1).unwrap(), b"");
    }

    #[test]
    fn the_header_chain() {
        let head = Head {
            version: 1,
            status: 200,
            reason: String::new(),
            headers: vec![
                ("Content-Encoding".into(), b"identity, GZIP".to_vec()),
                ("content-encoding".into(), b"br".to_vec()),
                ("Transfer-Encoding".into(), b"gzip, chunked".to_vec()),
            ],
        };
        assert_eq!(
            chain(&head, "Content-Encoding").unwrap(),
            vec![Coding::Gzip, Coding::Br]
        );
        assert_eq!(
            chain(&head, "Transfer-Encoding").unwrap(),
            vec![Coding::Gzip]
        );
        let bad = Head {
            headers: vec![("Content-Encoding".into(), b"compress".to_vec())],
            ..head
        };
        assert_eq!(
            chain(&bad, "Content-Encoding").unwrap_err().to_string(),
            "unknown coding \"compress\" (rawget decodes gzip, deflate, br, zstd)"
        );
    }
}
