//! Byte ranges (RFC 9110 section 14), with no I/O: what `-r RANGE` may
//! ask for, and whether a response honours a range or a resume (`-C`).
//!
//! The rules, as rawget applies them to the final response:
//!
//! 1. A resume from byte N (`-C`) is honoured only by a 206 whose
//!    `Content-Range` (section 14.4) starts exactly at N: anything else
//!    (a 200 with the whole body, another start, no Content-Range) would
//!    put the wrong bytes after the file's, so it is refused (exit 33) and
//!    the file is left as it was.
//! 2. A 416 whose `Content-Range: bytes */LENGTH` says the whole
//!    representation is N bytes means the file is already complete.
//! 3. `-r RANGE` is honoured by a 206; when the range starts at a byte
//!    position (`N-`, `N-M`), its Content-Range must start there. A 2xx
//!    other than 206 ignored the range (exit 33). A multipart/byteranges
//!    206 (several ranges) has no Content-Range field and is accepted.

use std::fmt;

use crate::response::head::Head;

/// A `Content-Range` value (RFC 9110 section 14.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentRange {
    /// `bytes FIRST-LAST/LENGTH` (`None` for `*`).
    Bytes {
        /// First byte position.
        first: u64,
        /// Last byte position.
        last: u64,
        /// The whole representation's length, when known.
        length: Option<u64>,
    },
    /// `bytes */LENGTH`: the unsatisfied-range form of a 416.
    Unsatisfied(u64),
}

impl ContentRange {
    /// Parses the first `Content-Range` of `head`; `None` when there is
    /// none or it does not parse.
    pub fn of(head: &Head) -> Option<ContentRange> {
        let value = head.values("Content-Range").next()?;
        ContentRange::parse(std::str::from_utf8(value).ok()?.trim())
    }

    /// Parses `bytes FIRST-LAST/LENGTH`, `bytes FIRST-LAST/*` or `bytes */LENGTH`.
    pub fn parse(value: &str) -> Option<ContentRange> {
        let (unit, rest) = value.split_once(' ')?;
        if !unit.eq_ignore_ascii_case("bytes") {
            return None;
        }
        let (range, length) = rest.trim_start().split_once('/')?;
        let number = |s: &str| -> Option<u64> {
            (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse().ok())
                .flatten()
        };
        if range == "*" {
            return number(length).map(ContentRange::Unsatisfied);
        }
        let (first, last) = range.split_once('-')?;
        let (first, last) = (number(first)?, number(last)?);
        let length = match length {
            "*" => None,
            n => Some(number(n)?),
        };
        (first <= last).then_some(ContentRange::Bytes {
            first,
            last,
            length,
        })
    }
}

/// Checks `-r RANGE` as curl takes it: `N-M`, `N-`, `-N`, or several
/// joined with commas; the `Range` header is `bytes=RANGE`. Returns the
/// first position asked for when the range is one `N-` or `N-M`.
pub fn check_range_arg(range: &str) -> Result<Option<u64>, String> {
    let mut specs = range.split(',');
    let mut first_pos = None;
    let mut count = 0;
    for spec in specs.by_ref() {
        count += 1;
        let Some((a, b)) = spec.trim().split_once('-') else {
            return Err(format!("\"{spec}\" is not N-M, N- or -N"));
        };
        let digits = |s: &str| s.bytes().all(|c| c.is_ascii_digit());
        if !digits(a) || !digits(b) || (a.is_empty() && b.is_empty()) {
            return Err(format!("\"{spec}\" is not N-M, N- or -N"));
        }
        if let (Ok(a), Ok(b)) = (a.parse::<u64>(), b.parse::<u64>()) {
            if a > b {
                return Err(format!("\"{spec}\" ends before it starts"));
            }
        }
        if count == 1 && !a.is_empty() {
            first_pos = Some(
                a.parse::<u64>()
                    .map_err(|_| format!("\"{a}\" is too large"))?,
            );
        }
    }
    Ok(if count == 1 { first_pos } else { None })
}

/// What the final response means for a resume or a range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Write (append, for a resume) the body.
    Honoured,
    /// Rule 2: the file is already complete; nothing to write.
    AlreadyComplete,
    /// Not honoured (exit 33); why, in words.
    Refused(String),
}

/// Rule 1 and 2: whether `head` resumes at byte `at`.
pub fn resume(head: &Head, at: u64) -> Verdict {
    let range = ContentRange::of(head);
    match (head.status, range) {
        (206, Some(ContentRange::Bytes { first, .. })) if first == at => Verdict::Honoured,
        (416, Some(ContentRange::Unsatisfied(n))) if n == at => Verdict::AlreadyComplete,
        (206, Some(ContentRange::Bytes { first, .. })) => Verdict::Refused(format!(
            "the server did not resume at byte {at}: its 206 starts at byte {first}"
        )),
        (status, _) => Verdict::Refused(format!(
            "the server did not resume at byte {at}: {status} {}",
            shown_reason(head)
        )),
    }
}

/// Rule 3: whether `head` honours `-r`, whose first position is `first`.
pub fn range(head: &Head, first: Option<u64>) -> Verdict {
    if head.status == 206 {
        return match (first, ContentRange::of(head)) {
            (Some(want), Some(ContentRange::Bytes { first: got, .. })) if got != want => {
                Verdict::Refused(format!(
                    "the server did not honour the range: its 206 starts at byte {got}, not {want}"
                ))
            }
            _ => Verdict::Honoured,
        };
    }
    if (200..300).contains(&head.status) {
        return Verdict::Refused(format!(
            "the server did not honour the range: {} {}",
            head.status,
            shown_reason(head)
        ));
    }
    Verdict::Honoured
}

fn shown_reason(head: &Head) -> String {
    head.reason.escape_debug().to_string()
}

impl fmt::Display for ContentRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContentRange::Bytes {
                first,
                last,
                length: Some(n),
            } => write!(f, "bytes {first}-{last}/{n}"),
            ContentRange::Bytes { first, last, .. } => write!(f, "bytes {first}-{last}/*"),
            ContentRange::Unsatisfied(n) => write!(f, "bytes */{n}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(status: u16, range: Option<&str>) -> Head {
        Head {
            version: 1,
            status,
            reason: "R".into(),
            headers: range
                .map(|r| ("Content-Range".to_owned(), r.as_bytes().to_vec()))
                .into_iter()
                .collect(),
        }
    }

    #[test]
    fn content_range_forms() {
        assert_eq!(
            ContentRange::parse("bytes 10-19/100"),
            Some(ContentRange::Bytes {
                first: 10,
                last: 19,
                length: Some(100)
            })
        );
        assert_eq!(
            ContentRange::parse("bytes 0-0/*").map(|r| r.to_string()),
            Some("bytes 0-0/*".into())
        );
        assert_eq!(
            ContentRange::parse("bytes */5"),
            Some(ContentRange::Unsatisfied(5))
        );
        for bad in [
            "bytes 5-4/10",
            "items 0-1/2",
            "bytes -1/2",
            "bytes 0-1",
            "bytes a-1/2",
        ] {
            assert_eq!(ContentRange::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_resume_needs_a_206_at_the_files_length() {
        assert_eq!(
            resume(&head(206, Some("bytes 100-199/200")), 100),
            Verdict::Honoured
        );
        assert_eq!(
            resume(&head(416, Some("bytes */100")), 100),
            Verdict::AlreadyComplete
        );
        assert_eq!(
            resume(&head(206, Some("bytes 0-199/200")), 100),
            Verdict::Refused(
                "the server did not resume at byte 100: its 206 starts at byte 0".into()
            )
        );
        assert_eq!(
            resume(&head(200, None), 100),
            Verdict::Refused("the server did not resume at byte 100: 200 R".into())
        );
        assert!(matches!(resume(&head(206, None), 100), Verdict::Refused(_)));
        assert!(matches!(
            resume(&head(416, Some("bytes */99")), 100),
            Verdict::Refused(_)
        ));
    }

    #[test]
    fn a_range_needs_a_206_where_it_starts() {
        assert_eq!(check_range_arg("10-19"), Ok(Some(10)));
        assert_eq!(check_range_arg("10-"), Ok(Some(10)));
        assert_eq!(check_range_arg("-500"), Ok(None));
        assert_eq!(check_range_arg("0-1,5-6"), Ok(None));
        for bad in ["", "-", "a-b", "5", "9-3", "1-2,x"] {
            assert!(check_range_arg(bad).is_err(), "{bad}");
        }
        assert_eq!(
            range(&head(206, Some("bytes 10-19/100")), Some(10)),
            Verdict::Honoured
        );
        assert!(matches!(
            range(&head(206, Some("bytes 0-19/100")), Some(10)),
            Verdict::Refused(_)
        ));
        assert!(matches!(
            range(&head(200, None), Some(10)),
            Verdict::Refused(_)
        ));
        assert_eq!(range(&head(404, None), Some(10)), Verdict::Honoured);
    }
}
