//! What a response does that RFC 9112/9110 does not allow, found in its
//! raw bytes, for `--explain` and `--strict`.
//!
//! rawget accepts what curl accepts when its meaning is unambiguous (a
//! *leniency*); other departures from the RFCs that do not stop the fetch
//! are *deviations*. Either way each finding names the clause it breaks.

use crate::response::head::{is_value_control, Head};

/// One departure from the RFCs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What was seen.
    pub what: String,
    /// The clause it breaks.
    pub clause: &'static str,
    /// Whether rawget accepted it as a leniency (else: a deviation noted).
    pub leniency: bool,
}

impl Finding {
    fn leniency(what: impl Into<String>, clause: &'static str) -> Finding {
        Finding {
            what: what.into(),
            clause,
            leniency: true,
        }
    }

    fn deviation(what: impl Into<String>, clause: &'static str) -> Finding {
        Finding {
            what: what.into(),
            clause,
            leniency: false,
        }
    }
}

/// Findings in one raw head (as received, blank line included) and its
/// parsed form.
pub fn scan_head(raw: &[u8], head: &Head) -> Vec<Finding> {
    let mut out = Vec::new();
    let blank = raw
        .iter()
        .take_while(|&&b| b == b'\r' || b == b'\n')
        .count();
    if blank > 0 {
        out.push(Finding::leniency(
            format!("{blank} bytes of blank lines before the status line"),
            "RFC 9112 §2.2 (a response starts with its status line)",
        ));
    }
    let body = &raw[blank..];
    let bare_lf = body
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\n' && (i == 0 || body[i - 1] != b'\r'))
        .count();
    if bare_lf > 0 {
        out.push(Finding::leniency(
            format!("{bare_lf} line(s) ended by a bare LF instead of CRLF"),
            "RFC 9112 §2.2 (lines end in CRLF)",
        ));
    }
    let mut lines = body
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    if let Some(status) = lines.next() {
        scan_status_line(status, &mut out);
    }
    for line in lines.take_while(|l| !l.is_empty()) {
        if line[0] == b' ' || line[0] == b'\t' {
            out.push(Finding::leniency(
                format!("obsolete line folding: \"{}\"", shown(line)),
                "RFC 9112 §5.2 (obs-fold is deprecated outside message/http)",
            ));
            continue;
        }
        match line.iter().position(|&b| b == b':') {
            None => out.push(Finding::deviation(
                format!("header line without a colon: \"{}\"", shown(line)),
                "RFC 9112 §5 (field-line = field-name \":\" OWS field-value OWS)",
            )),
            Some(i) if i > 0 && (line[i - 1] == b' ' || line[i - 1] == b'\t') => {
                out.push(Finding::deviation(
                    format!(
                        "whitespace between a field name and its colon, refused: one reader \
                         sees the field, another does not: \"{}\"",
                        shown(line)
                    ),
                    "RFC 9112 §5.1 (a server must reject whitespace between the field name and colon)",
                ))
            }
            Some(i) if line[i..].iter().copied().any(is_value_control) => {
                out.push(Finding::leniency(
                    format!("control byte in a field value: \"{}\"", shown(line)),
                    "RFC 9110 §5.5 (field values do not contain control characters)",
                ))
            }
            _ => {}
        }
    }
    let cl: Vec<&[u8]> = head.values("Content-Length").collect();
    if cl.len() > 1 || cl.iter().any(|v| v.contains(&b',')) {
        out.push(Finding::deviation(
            format!(
                "Content-Length given more than once ({} field lines)",
                cl.len()
            ),
            "RFC 9110 §8.6 (a sender must not send more than one Content-Length)",
        ));
    }
    if head.first("Transfer-Encoding").is_some() {
        if !cl.is_empty() {
            out.push(Finding::deviation(
                "Transfer-Encoding together with Content-Length (Transfer-Encoding wins; a smuggling red flag)",
                "RFC 9112 §6.1 (a sender must not send Content-Length with Transfer-Encoding)",
            ));
        }
        if head.version == 0 {
            out.push(Finding::deviation(
                "Transfer-Encoding in an HTTP/1.0 response",
                "RFC 9112 §6.1 (Transfer-Encoding was added in HTTP/1.1)",
            ));
        }
    }
    out
}

fn scan_status_line(line: &[u8], out: &mut Vec<Finding>) {
    // status-line = HTTP-version SP status-code SP [ reason-phrase ]
    let ok = line.len() >= 13
        && line[8] == b' '
        && line[9..12].iter().all(u8::is_ascii_digit)
        && line[12] == b' '
        && line.get(13) != Some(&b' ');
    let reasonless =
        line.len() == 12 && line[8] == b' ' && line[9..12].iter().all(u8::is_ascii_digit);
    if line.iter().skip(12).copied().any(is_value_control) {
        out.push(Finding::leniency(
            format!("control byte in the reason phrase: \"{}\"", shown(line)),
            "RFC 9112 §4 (reason-phrase = 1*( HTAB / SP / VCHAR / obs-text ))",
        ));
    }
    if reasonless {
        out.push(Finding::leniency(
            format!(
                "status line without the space before the reason phrase: \"{}\"",
                shown(line)
            ),
            "RFC 9112 §4 (status-line = HTTP-version SP status-code SP [reason-phrase])",
        ));
    } else if !ok {
        out.push(Finding::leniency(
            format!("invalid status line: \"{}\"", shown(line)),
            "RFC 9112 §4 (status-line = HTTP-version SP status-code SP [reason-phrase])",
        ));
    }
}

/// A body where the framing says there is none (HEAD, 1xx, 204, 304).
pub fn body_where_none(bytes: usize, status: u16, method: &str) -> Finding {
    Finding::deviation(
        format!(
            "{bytes} bytes after the head of a {status} response to {method}, which has no body"
        ),
        "RFC 9112 §6.3 rule 1 (responses to HEAD and 1xx, 204, 304 end at the head)",
    )
}

/// Bytes after the end of a Content-Length or chunked body.
pub fn bytes_after_body(bytes: usize) -> Finding {
    Finding::deviation(
        format!("{bytes} bytes after the end of the body (ignored)"),
        "RFC 9112 §6.3 (the message ends where its framing says)",
    )
}

/// Chunk extensions were seen (allowed, and meaningless to rawget).
pub fn chunk_extensions(count: usize) -> Finding {
    Finding::leniency(
        format!("{count} chunk(s) carried extensions (ignored)"),
        "RFC 9112 §7.1.1 (a recipient must ignore unrecognised chunk extensions)",
    )
}

/// Trailer fields were sent.
pub fn trailers(bytes: usize) -> Finding {
    Finding::leniency(
        format!("{bytes} bytes of trailer fields after the last chunk"),
        "RFC 9112 §7.1.2 (trailers may be discarded; they are not merged into the head)",
    )
}

fn shown(line: &[u8]) -> String {
    let cut = &line[..line.len().min(60)];
    cut.escape_ascii().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::response::head::parse;

    fn scan(raw: &[u8]) -> Vec<Finding> {
        scan_head(raw, &parse(raw).unwrap())
    }

    #[test]
    fn clean_head_has_no_findings() {
        assert_eq!(
            scan(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"),
            vec![]
        );
        assert_eq!(scan(b"HTTP/1.1 404 \r\n\r\n"), vec![]);
    }

    #[test]
    fn each_leniency_is_named() {
        let f = scan(b"\r\nHTTP/1.1 200\nX: a\n  b\nZ: \x1b[2J\n\n");
        let whats: Vec<&str> = f.iter().map(|f| f.what.as_str()).collect();
        assert!(
            whats[0].contains("blank lines before the status line"),
            "{whats:?}"
        );
        assert!(
            whats[1].contains("5 line(s) ended by a bare LF"),
            "{whats:?}"
        );
        assert!(
            whats[2].contains("without the space before the reason phrase"),
            "{whats:?}"
        );
        assert!(whats[3].contains("obsolete line folding"), "{whats:?}");
        assert!(
            whats[4].contains("control byte in a field value"),
            "{whats:?}"
        );
        assert!(f
            .iter()
            .all(|f| f.leniency && f.clause.starts_with("RFC 911")));
    }

    #[test]
    fn whitespace_before_a_colon_is_named_as_refused() {
        // The head does not parse: the reader scans it with an empty Head.
        let f = scan_head(
            b"HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\n",
            &Head::default(),
        );
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(!f[0].leniency);
        assert!(f[0].what.contains("refused"), "{f:?}");
        assert!(f[0].clause.starts_with("RFC 9112 §5.1"));
    }

    #[test]
    fn framing_red_flags() {
        let f = scan(b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n");
        let whats: Vec<&str> = f.iter().map(|f| f.what.as_str()).collect();
        assert_eq!(whats.len(), 3, "{whats:?}");
        assert!(whats[0].contains("Content-Length given more than once"));
        assert!(whats[1].contains("Transfer-Encoding together with Content-Length"));
        assert!(whats[2].contains("HTTP/1.0"));
        assert!(f.iter().all(|f| !f.leniency));
    }

    #[test]
    fn extra_status_spaces() {
        let f = scan(b"HTTP/1.1  200  OK\r\n\r\n");
        assert_eq!(f.len(), 1);
        assert!(f[0].what.starts_with("invalid status line"));
    }
}
