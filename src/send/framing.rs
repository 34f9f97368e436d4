//! How a server frames the requests in a byte stream: RFC 9112 section 6
//! for requests, with no I/O.
//!
//! Given every byte `rawget send` is about to write, [`frame`] says how many
//! requests they hold and where each ends, the way the RFC tells a server to
//! find the end of a request:
//!
//! 1. The head ends at the first empty line (RFC 9112 §2.1); empty lines
//!    before the request line are skipped (§2.2).
//! 2. The request line is `method SP request-target SP HTTP-version` (§3).
//! 3. Field lines are `name ":" OWS value OWS` (§5); whitespace before the
//!    colon (§5.1), a line without a colon, or a name that is not a token is
//!    a request a server must refuse (400): nothing after it can be framed.
//! 4. The body (§6.3, the rules for requests):
//!    - rule 3: Transfer-Encoding present wins over Content-Length;
//!    - rule 4: a Transfer-Encoding whose final coding is not chunked cannot
//!      be framed (a server answers 400 and closes);
//!    - rule 5: an invalid Content-Length, or differing values, cannot be
//!      framed; identical repeated values are one;
//!    - rule 6: neither: the body is empty.
//!
//! Chunked bodies are delimited by the response side's own decoder
//! ([`Decoder`]), so a request body ends where rawget would end the same
//! body in a response.
//!
//! Every construct that two real servers have been seen to frame
//! differently is named, with its clause, as a [`Finding`]: those are the
//! material of request smuggling. Framing stops at the first request that
//! cannot be framed; the bytes from there are the [`Rest`].

use std::fmt;
use std::ops::Range;

use crate::response::body::{Decoder, FrameError};
use crate::response::deviations::Finding;
use crate::response::framing::Framing;
use crate::response::head::leading_blank_len;

/// The requests found in a byte stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Framed {
    /// Each complete request, in order.
    pub requests: Vec<Request>,
    /// What follows the last complete request, when anything does.
    pub rest: Option<Rest>,
}

/// One complete request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Where it lies in the stream (empty lines before it included).
    pub range: Range<usize>,
    /// Bytes of its head, from `range.start`, blank line included.
    pub head_len: usize,
    /// The method as sent.
    pub method: String,
    /// The request-target as sent.
    pub target: String,
    /// The minor version: 1 for HTTP/1.1, 0 for HTTP/1.0.
    pub version: u8,
    /// How its body is delimited.
    pub body: Body,
    /// The rule of RFC 9112 §6.3 that decided it.
    pub rule: &'static str,
    /// Every ambiguity seen in it.
    pub findings: Vec<Finding>,
}

/// How a request's body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// No body.
    None,
    /// This many bytes (Content-Length).
    Length(u64),
    /// Chunked, in this many chunks (the last, empty one included).
    Chunked(u64),
}

/// The bytes after the last complete request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rest {
    /// Where they start.
    pub start: usize,
    /// Why they are not a complete request.
    pub error: RequestError,
    /// What was seen in them before framing stopped.
    pub findings: Vec<Finding>,
}

/// Why bytes are not a complete, frameable request. The `Display` text
/// says so with its clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestError {
    /// No empty line ends the head yet.
    HeadIncomplete,
    /// The body is shorter than its framing says.
    BodyIncomplete,
    /// The request line is not `method SP target SP HTTP/1.x` (shown cut).
    RequestLine(Vec<u8>),
    /// A field line a server must refuse, and why.
    FieldLine(Vec<u8>, &'static str),
    /// Transfer-Encoding whose final coding is not chunked.
    NotChunkedLast(Vec<u8>),
    /// A Content-Length that is not `1*DIGIT` within 64 bits.
    BadContentLength(Vec<u8>),
    /// Content-Length values that differ.
    ConflictingLengths(u64, u64),
    /// A chunked body that cannot be decoded.
    Chunked(FrameError),
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::HeadIncomplete => f.write_str(
                "the head has no empty line yet: a server waits for more (RFC 9112 §2.1)",
            ),
            RequestError::BodyIncomplete => f.write_str(
                "the body is shorter than its framing says: a server waits for more (RFC 9112 §6.3)",
            ),
            RequestError::RequestLine(l) => write!(
                f,
                "not a request line: \"{}\" (RFC 9112 §3: method SP request-target SP HTTP-version)",
                l.escape_ascii()
            ),
            RequestError::FieldLine(l, why) => write!(
                f,
                "field line \"{}\": {why}; a server must answer 400 (RFC 9112 §5)",
                l.escape_ascii()
            ),
            RequestError::NotChunkedLast(v) => write!(
                f,
                "Transfer-Encoding \"{}\" does not end in chunked: the length cannot be \
                 determined; a server must answer 400 and close (RFC 9112 §6.3 rule 4)",
                v.escape_ascii()
            ),
            RequestError::BadContentLength(v) => write!(
                f,
                "invalid Content-Length \"{}\": unrecoverable; a server must answer 400 and \
                 close (RFC 9112 §6.3 rule 5)",
                v.escape_ascii()
            ),
            RequestError::ConflictingLengths(a, b) => write!(
                f,
                "Content-Length values {a} and {b} differ: unrecoverable (RFC 9112 §6.3 rule 5)"
            ),
            RequestError::Chunked(e) => write!(f, "chunked body: {e} (RFC 9112 §7.1)"),
        }
    }
}

impl std::error::Error for RequestError {}

/// Frames every request in `bytes`, keeping them all (for `--explain`
/// and `--report`).
pub fn frame(bytes: &[u8]) -> Framed {
    let mut requests = Vec::new();
    for f in frames(bytes) {
        match f {
            Ok(r) => requests.push(r),
            Err(rest) => {
                return Framed {
                    requests,
                    rest: Some(rest),
                }
            }
        }
    }
    Framed {
        requests,
        rest: None,
    }
}

/// How many requests `bytes` hold, and what follows them: [`frame`]
/// without keeping the requests.
pub fn count(bytes: &[u8]) -> (usize, Option<Rest>) {
    let mut n = 0;
    for f in frames(bytes) {
        match f {
            Ok(_) => n += 1,
            Err(rest) => return (n, Some(rest)),
        }
    }
    (n, None)
}

/// The requests in `bytes` one at a time, as [`frame`] finds them, and
/// then the [`Rest`] if any: nothing is kept, so a pipeline of any length
/// is framed in constant memory.
pub fn frames(bytes: &[u8]) -> Frames<'_> {
    Frames {
        bytes,
        at: 0,
        done: false,
    }
}

/// The iterator of [`frames`].
#[derive(Debug, Clone)]
pub struct Frames<'a> {
    bytes: &'a [u8],
    at: usize,
    done: bool,
}

impl Iterator for Frames<'_> {
    type Item = Result<Request, Rest>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.at >= self.bytes.len() {
            return None;
        }
        match frame_one(&self.bytes[self.at..]) {
            Ok(mut r) => {
                r.range = self.at + r.range.start..self.at + r.range.end;
                self.at = r.range.end;
                Some(Ok(r))
            }
            Err((error, findings)) => {
                self.done = true;
                Some(Err(Rest {
                    start: self.at,
                    error,
                    findings,
                }))
            }
        }
    }
}

type Failed = (RequestError, Vec<Finding>);

fn found(what: impl Into<String>, clause: &'static str) -> Finding {
    Finding {
        what: what.into(),
        clause,
        leniency: false,
    }
}

/// Frames the request at the start of `bytes` (step 1 to 4 of the module
/// doc); its range is relative to `bytes`.
fn frame_one(bytes: &[u8]) -> Result<Request, Failed> {
    let mut findings = Vec::new();
    let blank = leading_blank_len(bytes);
    if blank > 0 {
        findings.push(found(
            format!("{blank} bytes of empty lines before the request line (some servers answer 400, some skip them)"),
            "RFC 9112 §2.2",
        ));
    }
    // Step 1.
    let Some(head_end) = head_end(bytes, blank) else {
        return Err((RequestError::HeadIncomplete, findings));
    };
    let head = &bytes[blank..head_end];
    let mut lines = lines(head, &mut findings);
    // Step 2.
    let first = lines.next().unwrap_or_default();
    let (method, target, version) = request_line(first, &mut findings)?;
    // Step 3.
    let fields = match fields(lines, &mut findings) {
        Ok(f) => f,
        Err(e) => return Err((e, findings)),
    };
    // Step 4.
    let (framing, rule) = match body_framing(&fields, version, &mut findings) {
        Ok(d) => d,
        Err(e) => return Err((e, findings)),
    };
    let body_bytes = &bytes[head_end..];
    let (len, body) = match framing {
        Framing::Length(n) => {
            let n_usize = usize::try_from(n).unwrap_or(usize::MAX);
            if body_bytes.len() < n_usize {
                return Err((RequestError::BodyIncomplete, findings));
            }
            (n_usize, Body::Length(n))
        }
        Framing::Chunked => match chunked(body_bytes, &mut findings) {
            Ok((len, chunks)) => (len, Body::Chunked(chunks)),
            Err(e) => return Err((e, findings)),
        },
        Framing::None | Framing::Close => (0, Body::None),
    };
    Ok(Request {
        range: 0..head_end + len,
        head_len: head_end,
        method,
        target,
        version,
        body,
        rule,
        findings,
    })
}

/// Where the head that starts at `from` ends: after `\n\r\n` or `\n\n`
/// (a bare LF ends a line too, as §2.2 lets a recipient accept).
fn head_end(bytes: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(nl) = memchr::memchr(b'\n', &bytes[i..]).map(|n| i + n) {
        match (bytes.get(nl + 1), bytes.get(nl + 2)) {
            (Some(b'\n'), _) => return Some(nl + 2),
            (Some(b'\r'), Some(b'\n')) => return Some(nl + 3),
            (None, _) | (Some(b'\r'), None) => return None,
            _ => i = nl + 1,
        }
    }
    None
}

/// The head's lines without their endings; bare LF and bare CR are named.
fn lines<'a>(head: &'a [u8], findings: &mut Vec<Finding>) -> impl Iterator<Item = &'a [u8]> {
    let mut bare_lf = 0;
    let mut bare_cr = 0;
    let all: Vec<&[u8]> = head
        .split_inclusive(|&b| b == b'\n')
        .map(|l| {
            let l = l.strip_suffix(b"\n").unwrap_or(l);
            let l = match l.strip_suffix(b"\r") {
                Some(l) => l,
                None => {
                    bare_lf += 1;
                    l
                }
            };
            bare_cr += l.iter().filter(|&&b| b == b'\r').count();
            l
        })
        .filter(|l| !l.is_empty())
        .collect();
    if bare_lf > 0 {
        findings.push(found(
            format!(
                "{bare_lf} lines end in a bare LF (a recipient may accept it; a proxy may not)"
            ),
            "RFC 9112 §2.2",
        ));
    }
    if bare_cr > 0 {
        findings.push(found(
            format!("{bare_cr} bare CR inside a line (a recipient must refuse it or read it as a space)"),
            "RFC 9112 §2.2",
        ));
    }
    all.into_iter()
}

/// Step 2: the request line.
fn request_line(line: &[u8], findings: &mut Vec<Finding>) -> Result<(String, String, u8), Failed> {
    let bad = || {
        (
            RequestError::RequestLine(line.iter().copied().take(80).collect()),
            Vec::new(),
        )
    };
    let words: Vec<&[u8]> = line
        .split(|&b| b == b' ' || b == b'\t')
        .filter(|w| !w.is_empty())
        .collect();
    let [method, target, version] = words[..] else {
        return Err(bad());
    };
    if line.windows(2).any(|w| w == b"  ") || line.contains(&b'\t') {
        findings.push(found(
            "the request line's parts are not separated by one SP each (a recipient may split on any whitespace)",
            "RFC 9112 §3",
        ));
    }
    let minor = match version {
        b"HTTP/1.1" => 1,
        b"HTTP/1.0" => 0,
        _ => return Err(bad()),
    };
    if !method.iter().all(|&b| crate::request::is_tchar(b)) {
        return Err(bad());
    }
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    Ok((text(method), text(target), minor))
}

/// Step 3: the field lines, obsolete folding unfolded (§5.2, named).
fn fields<'a>(
    lines: impl Iterator<Item = &'a [u8]>,
    findings: &mut Vec<Finding>,
) -> Result<Vec<(String, Vec<u8>)>, RequestError> {
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    for line in lines {
        let cut = || line.iter().copied().take(80).collect::<Vec<u8>>();
        if line[0] == b' ' || line[0] == b'\t' {
            let Some(last) = out.last_mut() else {
                return Err(RequestError::FieldLine(
                    cut(),
                    "whitespace before the first field line",
                ));
            };
            findings.push(found(
                format!(
                    "obsolete line folding continues {} (a server must refuse it or unfold it)",
                    last.0
                ),
                "RFC 9112 §5.2",
            ));
            last.1.push(b' ');
            last.1.extend_from_slice(trim(line));
            continue;
        }
        let Some(colon) = memchr::memchr(b':', line) else {
            return Err(RequestError::FieldLine(cut(), "no colon"));
        };
        let name = &line[..colon];
        if name.ends_with(b" ") || name.ends_with(b"\t") {
            findings.push(found(
                format!(
                    "whitespace between the field name {} and its colon (one server drops the field, another reads it)",
                    String::from_utf8_lossy(trim(name))
                ),
                "RFC 9112 §5.1",
            ));
            return Err(RequestError::FieldLine(
                cut(),
                "whitespace before the colon",
            ));
        }
        if !name.iter().all(|&b| crate::request::is_tchar(b)) {
            return Err(RequestError::FieldLine(cut(), "the name is not a token"));
        }
        let raw = &line[colon + 1..];
        let framing_field = ["Transfer-Encoding", "Content-Length"]
            .iter()
            .any(|f| f.as_bytes().eq_ignore_ascii_case(name));
        if framing_field && raw.contains(&b'\t') {
            // Optional whitespace may be a tab, but not every parser agrees.
            findings.push(found(
                format!(
                    "a tab in {} \"{}\"",
                    String::from_utf8_lossy(name),
                    raw.escape_ascii()
                ),
                "RFC 9112 §5.1, §6.1",
            ));
        }
        let value = trim(raw);
        if value.contains(&0) {
            return Err(RequestError::FieldLine(cut(), "NUL in the value"));
        }
        out.push((String::from_utf8_lossy(name).into_owned(), value.to_vec()));
    }
    Ok(out)
}

fn trim(v: &[u8]) -> &[u8] {
    let start = v.iter().take_while(|&&b| b == b' ' || b == b'\t').count();
    let end = v.len()
        - v.iter()
            .rev()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count();
    &v[start..end.max(start)]
}

/// Step 4: how the body is delimited, and the rule that says so.
fn body_framing(
    fields: &[(String, Vec<u8>)],
    version: u8,
    findings: &mut Vec<Finding>,
) -> Result<(Framing, &'static str), RequestError> {
    let named = |name: &'static str| -> Vec<&[u8]> {
        fields
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
            .collect()
    };
    let te = named("Transfer-Encoding");
    let cl = named("Content-Length");
    if !te.is_empty() {
        transfer_codings(&te, findings);
        if !cl.is_empty() {
            findings.push(found(
                "Content-Length with Transfer-Encoding: Transfer-Encoding wins here, but a server that \
                 reads Content-Length ends this request elsewhere (the classic smuggling pair)",
                "RFC 9112 §6.1, §6.3 rule 3, §11.2",
            ));
        }
        if version == 0 {
            findings.push(found(
                "Transfer-Encoding in an HTTP/1.0 request: a recipient must treat its framing as faulty and close",
                "RFC 9112 §6.1",
            ));
        }
        let joined = te.join(&b", "[..]);
        let last = joined
            .split(|&b| b == b',')
            .map(trim)
            .rfind(|c| !c.is_empty());
        return match last {
            Some(c) if c.eq_ignore_ascii_case(b"chunked") => Ok((
                Framing::Chunked,
                "RFC 9112 §6.3 rule 3: Transfer-Encoding ends in chunked",
            )),
            _ => Err(RequestError::NotChunkedLast(joined)),
        };
    }
    if !cl.is_empty() {
        let n = content_length(&cl, findings)?;
        return Ok((Framing::Length(n), "RFC 9112 §6.3 rule 5: Content-Length"));
    }
    Ok((
        Framing::None,
        "RFC 9112 §6.3 rule 6: a request with neither Transfer-Encoding nor Content-Length has no body",
    ))
}

/// Names every way the Transfer-Encoding fields can be read two ways.
fn transfer_codings(values: &[&[u8]], findings: &mut Vec<Finding>) {
    const CLAUSE: &str = "RFC 9112 §6.1";
    if values.len() > 1 {
        findings.push(found(
            format!(
                "{} Transfer-Encoding field lines (one server reads the first, another all)",
                values.len()
            ),
            "RFC 9110 §5.3, RFC 9112 §6.1",
        ));
    }
    let mut chunked = 0;
    for value in values {
        for coding in value.split(|&b| b == b',').map(trim) {
            if coding.is_empty() {
                findings.push(found(
                    format!(
                        "an empty list member in Transfer-Encoding \"{}\"",
                        value.escape_ascii()
                    ),
                    "RFC 9110 §5.6.1",
                ));
            } else if coding.eq_ignore_ascii_case(b"chunked") {
                chunked += 1;
            } else if contains_ignore_case(coding, b"chunked") {
                findings.push(found(
                    format!(
                        "an obfuscated chunked coding \"{}\" (not chunked, though a lax server may take it for it)",
                        coding.escape_ascii()
                    ),
                    CLAUSE,
                ));
            } else {
                findings.push(found(
                    format!(
                        "transfer coding \"{}\" (a server should answer 501)",
                        coding.escape_ascii()
                    ),
                    CLAUSE,
                ));
            }
        }
    }
    if chunked > 1 {
        findings.push(found("chunked applied more than once", "RFC 9112 §6.1"));
    }
}

fn contains_ignore_case(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// Rule 5: one length from every Content-Length member, each `1*DIGIT`.
fn content_length(values: &[&[u8]], findings: &mut Vec<Finding>) -> Result<u64, RequestError> {
    const CLAUSE: &str = "RFC 9112 §6.3 rule 5, RFC 9110 §8.6";
    let mut length: Option<u64> = None;
    let mut members = 0;
    for value in values {
        for member in value.split(|&b| b == b',').map(trim) {
            members += 1;
            let bad = || RequestError::BadContentLength(value.to_vec());
            if member.first().is_some_and(|b| *b == b'+' || *b == b'-') {
                findings.push(found(
                    format!(
                        "a Content-Length with a sign \"{}\" (some parsers accept it)",
                        value.escape_ascii()
                    ),
                    CLAUSE,
                ));
                return Err(bad());
            }
            if member.iter().any(|b| *b == b' ' || *b == b'\t') {
                findings.push(found(
                    format!("spaces inside Content-Length \"{}\"", value.escape_ascii()),
                    CLAUSE,
                ));
                return Err(bad());
            }
            if member.is_empty() || !member.iter().all(u8::is_ascii_digit) {
                return Err(bad());
            }
            if member.len() > 1 && member[0] == b'0' {
                findings.push(found(
                    format!(
                        "leading zeros in Content-Length \"{}\" (a parser may read it as octal)",
                        value.escape_ascii()
                    ),
                    CLAUSE,
                ));
            }
            let n = std::str::from_utf8(member)
                .ok()
                .and_then(|s| s.parse::<u64>().ok())
                .ok_or_else(bad)?;
            match length {
                Some(prev) if prev != n => return Err(RequestError::ConflictingLengths(prev, n)),
                _ => length = Some(n),
            }
        }
    }
    if members > 1 {
        findings.push(found(
            format!("{members} Content-Length values (identical: one may accept them as one, another refuse)"),
            CLAUSE,
        ));
    }
    length.ok_or_else(|| RequestError::BadContentLength(Vec::new()))
}

/// A chunked body at the start of `body`: its length on the wire and its
/// chunk count, by the response side's decoder; what it tolerates is named.
fn chunked(body: &[u8], findings: &mut Vec<Finding>) -> Result<(usize, u64), RequestError> {
    let mut decoder = Decoder::new(Framing::Chunked).record_chunks();
    let used = decoder.skip(body).map_err(|e| {
        if e == FrameError::ChunkSizeOverflow {
            findings.push(found(
                "a chunk size larger than 64 bits (a parser that wraps around frames it short)",
                "RFC 9112 §7.1",
            ));
        }
        RequestError::Chunked(e)
    })?;
    let records = decoder.take_chunks();
    let (mut ext, mut ws, mut zeros, mut bare) = (0, 0, 0, 0);
    for c in &records {
        let line_start = usize::try_from(c.offset).unwrap_or(usize::MAX);
        let line = body.get(line_start..).unwrap_or_default();
        let line = &line[..memchr::memchr(b'\n', line).unwrap_or(line.len())];
        ext += usize::from(!c.extensions.is_empty());
        let size_part = &line[..memchr::memchr(b';', line).unwrap_or(line.len())];
        let size_part = size_part.strip_suffix(b"\r").unwrap_or(size_part);
        ws += usize::from(size_part.iter().any(|b| *b == b' ' || *b == b'\t'));
        zeros += usize::from(size_part.len() > 1 && size_part[0] == b'0');
        bare += usize::from(!line.ends_with(b"\r"));
    }
    let mut name = |n: usize, what: &str| {
        if n > 0 {
            findings.push(found(format!("{n} chunks with {what}"), "RFC 9112 §7.1"));
        }
    };
    name(ext, "extensions (parsed differently by different servers)");
    name(ws, "whitespace in the chunk-size line");
    name(zeros, "leading zeros in the chunk size");
    name(bare, "a chunk-size line ended by a bare LF");
    if !decoder.is_done() {
        return Err(RequestError::BodyIncomplete);
    }
    Ok((used, records.len() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames `bytes` whole, then every prefix: a prefix never holds more
    /// requests than the whole, the requests it holds are the whole's, and
    /// a prefix cut inside a request leaves it incomplete, not unframeable.
    fn frame_every_split(bytes: &[u8]) -> Framed {
        let whole = frame(bytes);
        // Counting (what keep-alive and pipelining do) agrees with keeping.
        assert_eq!(count(bytes), (whole.requests.len(), whole.rest.clone()));
        for cut in 0..bytes.len() {
            let part = frame(&bytes[..cut]);
            assert!(part.requests.len() <= whole.requests.len(), "cut {cut}");
            assert_eq!(
                part.requests[..],
                whole.requests[..part.requests.len()],
                "cut {cut}"
            );
            if let (Some(rest), None) = (&part.rest, &whole.rest) {
                assert!(
                    matches!(
                        rest.error,
                        RequestError::HeadIncomplete | RequestError::BodyIncomplete
                    ),
                    "cut {cut}: {}",
                    rest.error
                );
            }
        }
        whole
    }

    fn clauses(f: &[Finding]) -> String {
        f.iter()
            .map(|f| format!("{} [{}]", f.what, f.clause))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn ordinary_requests_in_a_row() {
        let wire = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n\
            POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello\
            PUT /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n\
            HEAD / HTTP/1.0\r\n\r\n";
        let f = frame_every_split(wire);
        assert_eq!(f.rest, None);
        let got: Vec<_> = f
            .requests
            .iter()
            .map(|r| (r.method.as_str(), r.body, r.findings.len()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("GET", Body::None, 0),
                ("POST", Body::Length(5), 0),
                ("PUT", Body::Chunked(2), 0),
                ("HEAD", Body::None, 0)
            ]
        );
        assert_eq!(f.requests[1].range, 27..27 + 48 + 5);
        assert_eq!(f.requests.last().map(|r| r.range.end), Some(wire.len()));
    }

    #[test]
    fn content_length_with_transfer_encoding_is_named_and_te_wins() {
        let wire = b"POST / HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n\
            0\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n";
        let f = frame_every_split(wire);
        assert_eq!(f.requests.len(), 2);
        assert_eq!(f.requests[0].body, Body::Chunked(1));
        assert_eq!(f.requests[1].target, "/smuggled");
        let c = clauses(&f.requests[0].findings);
        assert!(c.contains("Content-Length with Transfer-Encoding"), "{c}");
        assert!(c.contains("§6.3 rule 3"), "{c}");
    }

    #[test]
    fn obfuscated_transfer_encodings_are_named() {
        for (te, want) in [
            ("xchunked", "obfuscated chunked"),
            ("chunked ,", "empty list member"),
            ("\tchunked", "a tab"),
            (
                "chunked\r\nTransfer-Encoding: chunked",
                "2 Transfer-Encoding field lines",
            ),
            ("chunked, chunked", "more than once"),
        ] {
            let wire = format!("POST / HTTP/1.1\r\nTransfer-Encoding: {te}\r\n\r\n0\r\n\r\n");
            let f = frame(wire.as_bytes());
            let seen: Vec<Finding> = f
                .requests
                .iter()
                .flat_map(|r| r.findings.clone())
                .chain(f.rest.iter().flat_map(|r| r.findings.clone()))
                .collect();
            assert!(clauses(&seen).contains(want), "{te:?}: {}", clauses(&seen));
        }
        // Not ending in chunked: no length; nothing after it is framed.
        let f = frame(b"POST / HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n");
        assert!(matches!(
            f.rest.map(|r| r.error),
            Some(RequestError::NotChunkedLast(_))
        ));
        // Folding turns "chunked" into a continued value.
        let f = frame(b"POST / HTTP/1.1\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n");
        assert!(clauses(&f.requests[0].findings).contains("§5.2"));
        assert_eq!(f.requests[0].body, Body::Chunked(1));
    }

    #[test]
    fn content_length_forms() {
        let one = |cl: &str| {
            frame(format!("POST / HTTP/1.1\r\nContent-Length: {cl}\r\n\r\nabcdef").as_bytes())
        };
        for bad in ["+5", "-5", "5 5", "0x5", "", "99999999999999999999"] {
            let f = one(bad);
            assert!(
                matches!(
                    f.rest.as_ref().map(|r| &r.error),
                    Some(RequestError::BadContentLength(_))
                ),
                "{bad:?}: {f:?}"
            );
        }
        assert!(clauses(&one("+5").rest.unwrap().findings).contains("with a sign"));
        let f = one("05");
        assert_eq!(f.requests[0].body, Body::Length(5));
        assert!(clauses(&f.requests[0].findings).contains("leading zeros"));
        let f = one("3, 3");
        assert_eq!(f.requests[0].body, Body::Length(3));
        assert!(clauses(&f.requests[0].findings).contains("2 Content-Length values"));
        let f = frame(b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd");
        assert_eq!(
            f.rest.map(|r| r.error),
            Some(RequestError::ConflictingLengths(3, 4))
        );
    }

    #[test]
    fn field_lines_a_server_must_refuse() {
        let f = frame(b"POST / HTTP/1.1\r\nContent-Length : 5\r\n\r\nhello");
        let rest = f.rest.unwrap();
        assert!(matches!(rest.error, RequestError::FieldLine(_, _)));
        assert!(clauses(&rest.findings).contains("§5.1"));
        let f = frame(b"GET / HTTP/1.1\r\nNo colon\r\n\r\n");
        assert!(matches!(
            f.rest.unwrap().error,
            RequestError::FieldLine(_, "no colon")
        ));
        let f = frame(b"GET /\r\n\r\n");
        assert!(matches!(
            f.rest.unwrap().error,
            RequestError::RequestLine(_)
        ));
    }

    #[test]
    fn line_endings_and_http10() {
        let f = frame_every_split(b"\r\nGET / HTTP/1.1\nHost: a\n\n");
        let c = clauses(&f.requests[0].findings);
        assert!(
            c.contains("empty lines before") && c.contains("bare LF"),
            "{c}"
        );
        let f = frame(b"GET / HTTP/1.1\r\nX: a\rb\r\n\r\n");
        assert!(clauses(&f.requests[0].findings).contains("bare CR"));
        let f = frame(b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
        assert!(clauses(&f.requests[0].findings).contains("HTTP/1.0"));
    }

    #[test]
    fn chunk_sizes() {
        let body = |chunks: &str| {
            frame(
                format!("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n{chunks}").as_bytes(),
            )
        };
        let f = body("3;ext=1\r\nabc\r\n003 \r\nabc\r\n0\r\n\r\n");
        let c = clauses(&f.requests[0].findings);
        assert!(
            c.contains("extensions") && c.contains("whitespace") && c.contains("leading zeros"),
            "{c}"
        );
        assert_eq!(f.requests[0].body, Body::Chunked(3));
        let f = body("1ffffffffffffffff\r\n");
        let rest = f.rest.unwrap();
        assert_eq!(
            rest.error,
            RequestError::Chunked(FrameError::ChunkSizeOverflow)
        );
        assert!(clauses(&rest.findings).contains("64 bits"));
        let f = body("zz\r\n");
        assert!(matches!(f.rest.unwrap().error, RequestError::Chunked(_)));
        let f = frame_every_split(
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nT: 1\r\n\r\nGET / HTTP/1.1\r\n\r\n",
        );
        assert_eq!(f.requests.len(), 2);
    }
}
