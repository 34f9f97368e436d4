//! How long the body is: RFC 9112 section 6.3, step by step.
//!
//! The rules, as the RFC numbers them, for a response (steps 4 and 5 of
//! the RFC are about requests and proxies; 4's TE+CL case is kept below):
//!
//! 1. A response to HEAD, and any 1xx (informational), 204 (No Content)
//!    or 304 (Not Modified) response, ends at the blank line after the
//!    head, whatever header fields it carries.
//! 2. (A 2xx response to CONNECT switches to a tunnel; rawget does not
//!    send CONNECT for a fetch, and a user's `-X CONNECT` reads the body
//!    until the close, as for 101 below.)
//! 3. Transfer-Encoding present: when chunked is the final coding the body
//!    is chunked; otherwise it is read until the server closes. When both
//!    Transfer-Encoding and Content-Length are present, Transfer-Encoding
//!    wins (the message is a smuggling red flag, which `--explain` names).
//! 5. A valid Content-Length (a list of identical values counts as one)
//!    gives the body length in bytes. Differing or invalid values make the
//!    response unframeable, which is an error.
//! 8. Otherwise the body is read until the server closes the connection.
//!
//! 101 Switching Protocols is final for rawget; what follows it belongs to
//! the new protocol and is read until the close.

use std::fmt;

use crate::response::head::Head;

/// Why a response cannot be framed (RFC 9112 section 6.3 gives it no length).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FramingError {
    /// `Transfer-Encoding` present with no coding in it.
    EmptyTransferEncoding,
    /// A `Content-Length` member that is not `1*DIGIT` within 64 bits.
    InvalidContentLength(Vec<u8>),
    /// `Content-Length` values that differ.
    ConflictingContentLength(u64, u64),
    /// A `Content-Length` field with no value.
    EmptyContentLength,
}

impl fmt::Display for FramingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FramingError::EmptyTransferEncoding => f.write_str("empty Transfer-Encoding"),
            FramingError::InvalidContentLength(v) => {
                write!(f, "invalid Content-Length \"{}\"", v.escape_ascii())
            }
            FramingError::ConflictingContentLength(a, b) => {
                write!(f, "conflicting Content-Length values {a} and {b}")
            }
            FramingError::EmptyContentLength => f.write_str("empty Content-Length"),
        }
    }
}

impl std::error::Error for FramingError {}

/// How the end of the body is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body (rule 1).
    None,
    /// Exactly this many bytes (rule 5).
    Length(u64),
    /// Chunked transfer coding (rule 3).
    Chunked,
    /// Until the server closes (rules 3 and 8, and 101).
    Close,
}

/// The framing and the rule of RFC 9112 section 6.3 that chose it, for
/// `--explain` and `-v`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// How the body ends.
    pub framing: Framing,
    /// Which rule applied, in words.
    pub rule: &'static str,
}

/// Decides the framing of the response `head` to a request with `method`.
pub fn decide(method: &str, head: &Head) -> Result<Decision, FramingError> {
    let d = |framing, rule| Ok(Decision { framing, rule });
    // Rule 1.
    if method.eq_ignore_ascii_case("HEAD") {
        return d(
            Framing::None,
            "RFC 9112 §6.3 rule 1: a response to HEAD has no body",
        );
    }
    if head.status == 101 {
        return d(
            Framing::Close,
            "101 Switching Protocols: the rest of the connection is the new protocol",
        );
    }
    if (100..200).contains(&head.status) || head.status == 204 || head.status == 304 {
        return d(
            Framing::None,
            "RFC 9112 §6.3 rule 1: 1xx, 204 and 304 responses have no body",
        );
    }
    // Rule 2.
    if method.eq_ignore_ascii_case("CONNECT") && (200..300).contains(&head.status) {
        return d(
            Framing::Close,
            "RFC 9112 §6.3 rule 2: a 2xx reply to CONNECT is a tunnel, read until close",
        );
    }
    // Rule 3.
    let mut codings = Vec::new();
    let mut has_te = false;
    for value in head.values("Transfer-Encoding") {
        has_te = true;
        for coding in split_list(value) {
            codings.push(coding);
        }
    }
    if has_te {
        let last = codings.last().ok_or(FramingError::EmptyTransferEncoding)?;
        return if last.eq_ignore_ascii_case(b"chunked") {
            d(
                Framing::Chunked,
                "RFC 9112 §6.3 rule 3: Transfer-Encoding ends in chunked",
            )
        } else {
            d(
                Framing::Close,
                "RFC 9112 §6.3 rule 3: Transfer-Encoding does not end in chunked: read until close",
            )
        };
    }
    // Rule 5.
    let mut length: Option<u64> = None;
    for value in head.values("Content-Length") {
        for item in split_list(value) {
            let n = parse_length(item)
                .ok_or_else(|| FramingError::InvalidContentLength(value.to_vec()))?;
            match length {
                Some(prev) if prev != n => {
                    return Err(FramingError::ConflictingContentLength(prev, n))
                }
                _ => length = Some(n),
            }
        }
        if split_list(value).next().is_none() {
            return Err(FramingError::EmptyContentLength);
        }
    }
    if let Some(n) = length {
        return d(Framing::Length(n), "RFC 9112 §6.3 rule 5: Content-Length");
    }
    // Rule 8.
    d(
        Framing::Close,
        "RFC 9112 §6.3 rule 8: no Content-Length or Transfer-Encoding: read until close",
    )
}

/// Splits a comma-separated field value into its non-empty members,
/// trimming optional whitespace (RFC 9110 section 5.6.1).
fn split_list(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(|s| s.trim_ascii())
        .filter(|s| !s.is_empty())
}

/// `1*DIGIT`, with no sign and no overflow.
fn parse_length(s: &[u8]) -> Option<u64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    s.iter().try_fold(0u64, |n, &b| {
        n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(status: u16, headers: &[(&str, &str)]) -> Head {
        Head {
            version: 1,
            status,
            reason: String::new(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
                .collect(),
        }
    }

    fn framing(
        method: &str,
        status: u16,
        headers: &[(&str, &str)],
    ) -> Result<Framing, FramingError> {
        decide(method, &head(status, headers)).map(|d| d.framing)
    }

    #[test]
    fn rule1_no_body() {
        assert_eq!(
            framing("HEAD", 200, &[("Content-Length", "5000")]),
            Ok(Framing::None)
        );
        for s in [100, 103, 204, 304] {
            assert_eq!(
                framing("GET", s, &[("Content-Length", "10")]),
                Ok(Framing::None),
                "{s}"
            );
        }
        assert_eq!(framing("GET", 101, &[]), Ok(Framing::Close));
    }

    #[test]
    fn rule3_transfer_encoding() {
        assert_eq!(
            framing("GET", 200, &[("Transfer-Encoding", "chunked")]),
            Ok(Framing::Chunked)
        );
        assert_eq!(
            framing("GET", 200, &[("Transfer-Encoding", "gzip, Chunked")]),
            Ok(Framing::Chunked)
        );
        assert_eq!(
            framing(
                "GET",
                200,
                &[
                    ("Transfer-Encoding", "gzip"),
                    ("transfer-encoding", "chunked")
                ]
            ),
            Ok(Framing::Chunked)
        );
        assert_eq!(
            framing("GET", 200, &[("Transfer-Encoding", "chunked, gzip")]),
            Ok(Framing::Close)
        );
        assert_eq!(
            framing(
                "GET",
                200,
                &[("Transfer-Encoding", "chunked"), ("Content-Length", "5")]
            ),
            Ok(Framing::Chunked)
        );
        assert_eq!(
            framing(
                "GET",
                200,
                &[("Content-Length", "5"), ("Transfer-Encoding", "gzip")]
            ),
            Ok(Framing::Close)
        );
        assert!(framing("GET", 200, &[("Transfer-Encoding", " , ")]).is_err());
    }

    #[test]
    fn rule5_content_length() {
        assert_eq!(
            framing("GET", 200, &[("Content-Length", "0")]),
            Ok(Framing::Length(0))
        );
        assert_eq!(
            framing("GET", 200, &[("Content-Length", " 42 ")]),
            Ok(Framing::Length(42))
        );
        assert_eq!(
            framing(
                "GET",
                200,
                &[("Content-Length", "5"), ("content-length", "5")]
            ),
            Ok(Framing::Length(5))
        );
        assert_eq!(
            framing("GET", 200, &[("Content-Length", "5, 5")]),
            Ok(Framing::Length(5))
        );
        assert_eq!(
            framing("GET", 200, &[("Content-Length", "18446744073709551615")]),
            Ok(Framing::Length(u64::MAX))
        );
    }

    #[test]
    fn rule5_refusals() {
        for cl in [
            &[("Content-Length", "5"), ("Content-Length", "6")][..],
            &[("Content-Length", "5, 6")],
        ] {
            let e = framing("GET", 200, cl).unwrap_err();
            assert_eq!(e, FramingError::ConflictingContentLength(5, 6));
        }
        for bad in [
            "abc",
            "-1",
            "+5",
            "5 5",
            "0x10",
            "18446744073709551616",
            "",
            "1.5",
        ] {
            assert!(
                framing("GET", 200, &[("Content-Length", bad)]).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn rule8_until_close() {
        assert_eq!(framing("GET", 200, &[]), Ok(Framing::Close));
        assert_eq!(framing("POST", 500, &[("X", "y")]), Ok(Framing::Close));
        assert_eq!(
            framing("CONNECT", 200, &[("Content-Length", "3")]),
            Ok(Framing::Close)
        );
    }
}
