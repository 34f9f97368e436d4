//! The response head: finding where it ends, and parsing it with httparse.
//!
//! Finding the end is separate from parsing so that a head trickled in one
//! byte at a time costs one scan over its bytes, not one parse per read, and
//! so that "need more bytes" ([`HeadScan::Partial`]) is never confused with
//! "malformed" (httparse's errors): that split is what tells exit 52 (nothing
//! arrived), exit 8 (garbage) and a good head apart.

use std::fmt;

use memchr::memchr_iter;

/// The largest head rawget accepts, curl's limit (`CURL_MAX_HTTP_HEADER`).
pub const MAX_HEAD: usize = 300 * 1024;

/// Headers httparse may return: far above any real response, while a 300 KiB
/// head of 3-byte lines could hold more, which is refused as malformed.
pub const MAX_HEADERS: usize = 4096;

/// Why a complete head could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadError {
    /// httparse refused it; `status_line` is the first line, cut at 60 bytes.
    Malformed {
        /// What httparse found.
        cause: httparse::Error,
        /// The status line as received (at most 60 bytes).
        status_line: Vec<u8>,
    },
    /// The head's bytes ended before its blank line (a caller's bug: the
    /// scanner delimits heads).
    EndsEarly,
}

impl fmt::Display for HeadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeadError::Malformed { cause, status_line } => {
                let what = match cause {
                    httparse::Error::HeaderName => {
                        "invalid header name (a header line without a colon?)"
                    }
                    httparse::Error::HeaderValue => "invalid byte in a header value",
                    httparse::Error::NewLine => "invalid line ending",
                    httparse::Error::Status => "invalid status code",
                    httparse::Error::Token => "invalid status line",
                    httparse::Error::TooManyHeaders => "more than 4096 header fields",
                    httparse::Error::Version => "not HTTP/1.x",
                };
                write!(
                    f,
                    "malformed response head: {what}; status line \"{}\"",
                    status_line.escape_ascii()
                )
            }
            HeadError::EndsEarly => f.write_str("response head ends early"),
        }
    }
}

impl std::error::Error for HeadError {}

/// Where a head ends, found by a scan that can resume as more bytes arrive.
#[derive(Debug, Default, Clone)]
pub struct HeadScanner {
    /// Bytes already scanned, so a resumed scan does not look at them again.
    scanned: usize,
    /// Length of the CR/LF run before the status line counted so far, so
    /// that blank lines trickled in are not counted again on every scan.
    blank: usize,
}

/// What [`HeadScanner::scan`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadScan {
    /// The head is not complete yet.
    Partial,
    /// The head ends at this offset: the bytes before it, blank line included.
    Complete(usize),
    /// The bytes cannot be the start of an HTTP/1.x response.
    NotHttp,
}

impl HeadScanner {
    /// A scanner for a new head.
    pub fn new() -> HeadScanner {
        HeadScanner::default()
    }

    /// Looks for the blank line that ends the head in `buf` (the head so far,
    /// from its first byte). A line ends in CRLF or, leniently, a bare LF, so
    /// the head ends at `\n\r\n` or `\n\n`. Blank lines before the status line
    /// are skipped (RFC 9112 section 2.2 lets a recipient ignore them).
    pub fn scan(&mut self, buf: &[u8]) -> HeadScan {
        // Count the leading blank run from where the last scan stopped: a
        // peer trickling blank lines must not make each scan start over.
        // (Once the status line has begun this looks at one byte.)
        self.blank += buf.get(self.blank..).map_or(0, leading_blank_len);
        let start = self.blank.min(buf.len());
        let line = &buf[start..];
        let prefix = &line[..line.len().min(5)];
        if prefix != &b"HTTP/"[..prefix.len()] {
            return HeadScan::NotHttp;
        }
        // Resume two bytes back: the previous scan may have stopped on a
        // newline whose follower had not arrived yet.
        let from = self.scanned.saturating_sub(2).max(start);
        for nl in memchr_iter(b'\n', &buf[from..]).map(|i| from + i) {
            match (buf.get(nl + 1), buf.get(nl + 2)) {
                (Some(b'\n'), _) => return HeadScan::Complete(nl + 2),
                (Some(b'\r'), Some(b'\n')) => return HeadScan::Complete(nl + 3),
                (Some(b'\r'), None) | (None, _) => {
                    self.scanned = nl;
                    return HeadScan::Partial;
                }
                _ => {}
            }
        }
        self.scanned = buf.len();
        HeadScan::Partial
    }
}

/// Length of the CR/LF run before the status line.
pub fn leading_blank_len(buf: &[u8]) -> usize {
    buf.iter()
        .take_while(|&&b| b == b'\r' || b == b'\n')
        .count()
}

/// A parsed response head. Header names and values are kept as received;
/// the raw bytes of the head are kept by the caller for printing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Head {
    /// The minor version: 1 for HTTP/1.1, 0 for HTTP/1.0.
    pub version: u8,
    /// The status code.
    pub status: u16,
    /// The reason phrase (lossily decoded; may be empty).
    pub reason: String,
    /// Header fields in order, duplicates kept.
    pub headers: Vec<(String, Vec<u8>)>,
}

impl Head {
    /// Every value of header `name` (case-insensitive), in order.
    pub fn values<'a, 'n>(&'a self, name: &'n str) -> impl Iterator<Item = &'a [u8]> + use<'a, 'n> {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// The first value of header `name`, if any.
    pub fn first(&self, name: &str) -> Option<&[u8]> {
        self.values(name).next()
    }

    /// Whether this is an interim (1xx) response other than 101, which is
    /// final: what follows 101 belongs to the new protocol.
    pub fn is_interim(&self) -> bool {
        (100..200).contains(&self.status) && self.status != 101
    }
}

/// Parses a complete head (as delimited by [`HeadScanner`]).
///
/// Leniencies, each what curl accepts and unambiguous: obsolete line folding,
/// whitespace between a field name and its colon (RFC 9112 section 5.1 has
/// proxies strip it from responses), several spaces in the status line, bare
/// LF line endings and blank lines before the status line. A header line
/// without a colon is refused, as curl refuses it.
pub fn parse(head: &[u8]) -> Result<Head, HeadError> {
    let mut headers = vec![httparse::EMPTY_HEADER; 64];
    loop {
        let mut response = httparse::Response::new(&mut headers);
        let parsed = httparse::ParserConfig::default()
            .allow_obsolete_multiline_headers_in_responses(true)
            .allow_spaces_after_header_name_in_responses(true)
            .allow_multiple_spaces_in_response_status_delimiters(true)
            .parse_response(&mut response, head);
        match parsed {
            // httparse takes any three digits; a code below 100 has no class
            // (RFC 9110 section 15) and curl refuses it too.
            Ok(httparse::Status::Complete(_)) if response.code.is_some_and(|c| c < 100) => {
                return Err(describe(httparse::Error::Status, head))
            }
            Ok(httparse::Status::Complete(_)) => {
                return Ok(Head {
                    version: response.version.unwrap_or(1),
                    status: response.code.unwrap_or(0),
                    reason: response.reason.unwrap_or("").to_owned(),
                    headers: response
                        .headers
                        .iter()
                        .map(|h| (h.name.to_owned(), h.value.to_owned()))
                        .collect(),
                })
            }
            Ok(httparse::Status::Partial) => return Err(HeadError::EndsEarly),
            Err(httparse::Error::TooManyHeaders) if headers.len() < MAX_HEADERS => {
                let n = headers.len() * 4;
                headers = vec![httparse::EMPTY_HEADER; n.min(MAX_HEADERS)];
            }
            Err(e) => return Err(describe(e, head)),
        }
    }
}

fn describe(cause: httparse::Error, head: &[u8]) -> HeadError {
    let line_start = leading_blank_len(head);
    let status_line = head[line_start..]
        .iter()
        .copied()
        .take_while(|&b| b != b'\r' && b != b'\n')
        .take(60)
        .collect();
    HeadError::Malformed { cause, status_line }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` to a scanner in pieces of `step` bytes, as reads would.
    fn scan_in_steps(input: &[u8], step: usize) -> HeadScan {
        let mut s = HeadScanner::new();
        let mut end = 0;
        loop {
            end = (end + step).min(input.len());
            match s.scan(&input[..end]) {
                HeadScan::Partial if end < input.len() => continue,
                other => return other,
            }
        }
    }

    fn scan_all_ways(input: &[u8]) -> HeadScan {
        let whole = scan_in_steps(input, input.len().max(1));
        assert_eq!(scan_in_steps(input, 1), whole, "one byte at a time");
        for cut in 1..input.len() {
            let mut s = HeadScanner::new();
            let first = s.scan(&input[..cut]);
            let result = if first == HeadScan::Partial {
                s.scan(input)
            } else {
                first
            };
            assert_eq!(result, whole, "cut at {cut}");
        }
        whole
    }

    #[test]
    fn finds_crlf_end() {
        let r = b"HTTP/1.1 200 OK\r\nA: b\r\n\r\nbody";
        assert_eq!(scan_all_ways(r), HeadScan::Complete(r.len() - 4));
    }

    #[test]
    fn finds_bare_lf_and_mixed_ends() {
        assert_eq!(
            scan_all_ways(b"HTTP/1.1 200 OK\nA: b\n\nxx"),
            HeadScan::Complete(22)
        );
        assert_eq!(
            scan_all_ways(b"HTTP/1.1 200 OK\nA: b\n\r\nxx"),
            HeadScan::Complete(23)
        );
        assert_eq!(
            scan_all_ways(b"HTTP/1.1 204 No Content\r\n\r\n"),
            HeadScan::Complete(27)
        );
    }

    #[test]
    fn skips_leading_blank_lines() {
        let r = b"\r\n\r\n\nHTTP/1.1 200 OK\r\n\r\n";
        assert_eq!(scan_all_ways(r), HeadScan::Complete(r.len()));
        let head = parse(r).unwrap();
        assert_eq!(head.status, 200);
    }

    #[test]
    fn partial_until_blank_line() {
        assert_eq!(
            scan_all_ways(b"HTTP/1.1 200 OK\r\nA: b\r\n"),
            HeadScan::Partial
        );
        assert_eq!(
            scan_all_ways(b"HTTP/1.1 200 OK\r\nA: b\r\n\r"),
            HeadScan::Partial
        );
        assert_eq!(scan_all_ways(b""), HeadScan::Partial);
        assert_eq!(scan_all_ways(b"HTT"), HeadScan::Partial);
    }

    #[test]
    fn not_http_is_seen_early() {
        assert_eq!(scan_all_ways(b"SSH-2.0-OpenSSH_9.2\r\n"), HeadScan::NotHttp);
        assert_eq!(scan_all_ways(b"<html>"), HeadScan::NotHttp);
        assert_eq!(scan_all_ways(b"HTTX"), HeadScan::NotHttp);
        assert_eq!(scan_all_ways(b"http/1.1 200 OK\r\n\r\n"), HeadScan::NotHttp);
    }

    #[test]
    fn parses_status_headers_and_duplicates() {
        let h =
            parse(b"HTTP/1.0 404 Not Found\r\nSet-Cookie: a=1\r\nX: y\r\nset-cookie: b=2\r\n\r\n")
                .unwrap();
        assert_eq!(
            (h.version, h.status, h.reason.as_str()),
            (0, 404, "Not Found")
        );
        assert_eq!(
            h.values("Set-Cookie").collect::<Vec<_>>(),
            vec![&b"a=1"[..], b"b=2"]
        );
        assert_eq!(h.headers.len(), 3);
        assert_eq!(h.first("x"), Some(&b"y"[..]));
    }

    #[test]
    fn leniencies() {
        let h = parse(b"HTTP/1.1 200\r\nFolded: a\r\n b\r\nSpaced : v\r\n\r\n").unwrap();
        assert_eq!(h.reason, "");
        assert_eq!(h.first("Spaced"), Some(&b"v"[..]));
        assert!(h.first("Folded").is_some());
        assert_eq!(parse(b"HTTP/1.1  200  OK\n\n").unwrap().status, 200);
    }

    #[test]
    fn refuses_garbage() {
        for bad in [
            &b"HTTP/1.1 2000 OK\r\n\r\n"[..],
            b"HTTP/2 200\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n",
            b"HTTP/1.1 abc\r\n\r\n",
            // Found by fuzz/fuzz_targets/head.rs: status 000 was accepted.
            b"HTTP/1.1 000 OK\r\nContent-Length: 5\r\n\r\n",
            b"HTTP/1.0 099 X\r\n\r\n",
        ] {
            let e = parse(bad).unwrap_err();
            assert!(matches!(e, HeadError::Malformed { .. }), "{bad:?}");
            assert!(e.to_string().starts_with("malformed response head"), "{e}");
        }
    }

    #[test]
    fn many_headers_grow_the_array() {
        let mut r = b"HTTP/1.1 200 OK\r\n".to_vec();
        for i in 0..1000 {
            r.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        r.extend_from_slice(b"\r\n");
        assert_eq!(parse(&r).unwrap().headers.len(), 1000);
    }

    #[test]
    fn interim() {
        let h = |s: u16| Head {
            version: 1,
            status: s,
            reason: String::new(),
            headers: vec![],
        };
        assert!(h(100).is_interim() && h(103).is_interim());
        assert!(!h(101).is_interim() && !h(200).is_interim());
    }
}
