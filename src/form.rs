//! `-F/--form` and `--form-string`: the multipart/form-data body (RFC
//! 7578) as curl lays it out, with file parts streamed at send time.
//!
//! [`Multipart::from_args`] reads the arguments (curl's syntax:
//! `name=value`, `name=@file`, `name=<file`, each with `;type=` and
//! `;filename=`), takes each file's length, and picks a boundary that
//! occurs in no part: a random one (curl's shape, 24 dashes and 16 hex
//! digits), checked against every part, files included (scanned once,
//! streamed), and drawn again on the rare match. The body is then a list
//! of [`Segment`]s, bytes or a file's contents, whose total length is the
//! `Content-Length`.

use std::hash::{BuildHasher, Hasher};
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};
use crate::inputs::read_input;

/// A piece of the multipart body, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Bytes sent as they are (delimiters, part heads, values).
    Bytes(Vec<u8>),
    /// A file's contents, this many bytes, streamed at send time.
    File(PathBuf, u64),
}

/// The multipart body: its boundary and its segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Multipart {
    /// The boundary, as the `Content-Type` names it.
    pub boundary: String,
    /// The body in order.
    pub segments: Vec<Segment>,
}

/// One part before the boundary is chosen.
struct Part {
    /// The part's head lines after `Content-Disposition`'s start.
    head: String,
    content: Content,
}

enum Content {
    Bytes(Vec<u8>),
    File(PathBuf, u64),
}

/// How many boundaries are drawn before giving up (a match is a 2^-64
/// event per part; more than one in a row means the input was built to
/// hit this one boundary, which a fresh draw defeats).
const DRAWS: usize = 8;

impl Multipart {
    /// The body for `forms` (`-F`, parsed) and `strings` (`--form-string`,
    /// taken literally), in that order; stdin is read for `@-` and `<-`.
    pub fn from_args(
        forms: &[String],
        strings: &[String],
        stdin: &mut dyn Read,
    ) -> Result<Option<Multipart>> {
        if forms.is_empty() && strings.is_empty() {
            return Ok(None);
        }
        let mut parts = Vec::new();
        for f in forms {
            parts.push(parse_form(f, stdin)?);
        }
        for s in strings {
            let (name, value) = split_name(s, "--form-string")?;
            parts.push(Part {
                head: disposition(name, None, None),
                content: Content::Bytes(value.as_bytes().to_vec()),
            });
        }
        for _ in 0..DRAWS {
            let boundary = draw_boundary();
            if !occurs_in(&boundary, &parts)? {
                return Ok(Some(Multipart::lay_out(boundary, parts)));
            }
        }
        Err(Error::new(
            ErrorKind::Usage,
            "no multipart boundary could be found that the -F parts do not contain",
        ))
    }

    fn lay_out(boundary: String, parts: Vec<Part>) -> Multipart {
        let mut segments = Vec::new();
        let mut bytes = Vec::new();
        for part in parts {
            bytes.extend_from_slice(format!("--{boundary}\r\n{}\r\n", part.head).as_bytes());
            match part.content {
                Content::Bytes(b) => bytes.extend_from_slice(&b),
                Content::File(path, len) => {
                    segments.push(Segment::Bytes(std::mem::take(&mut bytes)));
                    segments.push(Segment::File(path, len));
                }
            }
            bytes.extend_from_slice(b"\r\n");
        }
        bytes.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        segments.push(Segment::Bytes(bytes));
        Multipart { boundary, segments }
    }

    /// The body's length, the `Content-Length`.
    pub fn len(&self) -> u64 {
        self.segments
            .iter()
            .map(|s| match s {
                Segment::Bytes(b) => b.len() as u64,
                Segment::File(_, n) => *n,
            })
            .sum()
    }

    /// Whether the body is empty (it never is: the close delimiter).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// `name=...`: the name and the rest; no `=` is exit 2, as in curl.
fn split_name<'a>(arg: &'a str, flag: &str) -> Result<(&'a str, &'a str)> {
    arg.split_once('=').ok_or_else(|| {
        Error::new(
            ErrorKind::Usage,
            format!(
                "bad {flag} \"{}\": expected name=content",
                arg.escape_debug()
            ),
        )
    })
}

/// One `-F` argument: `name=value`, `name=@file` (a file part with its
/// name), `name=<file` (the file's contents as the value), each followed
/// by any of `;type=TYPE` and `;filename=NAME`.
fn parse_form(arg: &str, stdin: &mut dyn Read) -> Result<Part> {
    let (name, rest) = split_name(arg, "-F")?;
    let (value, mut ty, mut filename) = modifiers(rest);
    let content = match value.as_bytes().first() {
        Some(b'@') | Some(b'<') => {
            let path = &value[1..];
            let content = file_content(path, stdin)?;
            if value.starts_with('@') {
                if filename.is_none() && path != "-" {
                    filename = Path::new(path)
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned());
                }
                if ty.is_none() {
                    ty = Some(guess_type(filename.as_deref().unwrap_or("")).to_owned());
                }
            }
            content
        }
        _ => Content::Bytes(value.as_bytes().to_vec()),
    };
    Ok(Part {
        head: disposition(name, filename.as_deref(), ty.as_deref()),
        content,
    })
}

/// Splits `;type=` and `;filename=` off the end of a value.
fn modifiers(rest: &str) -> (&str, Option<String>, Option<String>) {
    let mut value = rest;
    let (mut ty, mut filename) = (None, None);
    while let Some(i) = value.rfind(';') {
        let m = &value[i + 1..];
        if let Some(t) = m.strip_prefix("type=") {
            ty.get_or_insert_with(|| t.to_owned());
        } else if let Some(f) = m.strip_prefix("filename=") {
            filename.get_or_insert_with(|| f.to_owned());
        } else {
            break;
        }
        value = &value[..i];
    }
    (value, ty, filename)
}

fn file_content(path: &str, stdin: &mut dyn Read) -> Result<Content> {
    if path == "-" {
        return Ok(Content::Bytes(read_input(path, "form file", stdin)?));
    }
    let meta = std::fs::File::open(path)
        .and_then(|f| f.metadata())
        .map_err(|e| {
            Error::new(
                ErrorKind::ReadInput,
                format!("could not read form file {path}"),
            )
            .with_source(e)
        })?;
    if meta.is_file() {
        return Ok(Content::File(PathBuf::from(path), meta.len()));
    }
    // Not a regular file (a FIFO): its length is known only once read.
    Ok(Content::Bytes(read_input(path, "form file", stdin)?))
}

/// The part's head: `Content-Disposition` (quotes, CR and LF in names
/// percent-encoded, as curl and HTML do) and any `Content-Type`.
fn disposition(name: &str, filename: Option<&str>, ty: Option<&str>) -> String {
    let mut head = format!("Content-Disposition: form-data; name=\"{}\"", quoted(name));
    if let Some(f) = filename {
        head.push_str(&format!("; filename=\"{}\"", quoted(f)));
    }
    head.push_str("\r\n");
    if let Some(t) = ty {
        head.push_str(&format!("Content-Type: {t}\r\n"));
    }
    head
}

fn quoted(s: &str) -> String {
    s.replace('"', "%22")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// curl's table of types by file name extension; anything else is
/// `application/octet-stream`.
fn guess_type(filename: &str) -> &'static str {
    const TYPES: [(&str, &str); 10] = [
        (".gif", "image/gif"),
        (".jpg", "image/jpeg"),
        (".jpeg", "image/jpeg"),
        (".png", "image/png"),
        (".svg", "image/svg+xml"),
        (".txt", "text/plain"),
        (".htm", "text/html"),
        (".html", "text/html"),
        (".pdf", "application/pdf"),
        (".xml", "application/xml"),
    ];
    let lower = filename.to_ascii_lowercase();
    TYPES
        .iter()
        .find(|(ext, _)| lower.ends_with(ext))
        .map_or("application/octet-stream", |(_, t)| t)
}

/// A fresh boundary in curl's shape: 24 dashes and 16 hex digits, from
/// the standard library's per-process random hash keys (no crate needed
/// for 64 unpredictable bits).
fn draw_boundary() -> String {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    format!("------------------------{:016x}", h.finish())
}

/// Whether the delimiter `--boundary` occurs in any part's content (a file
/// is read through once, its pieces overlapping by the delimiter's length
/// so that a match across two reads is found).
fn occurs_in(boundary: &str, parts: &[Part]) -> Result<bool> {
    let delimiter = format!("--{boundary}");
    let finder = memchr::memmem::Finder::new(delimiter.as_bytes());
    for part in parts {
        match &part.content {
            Content::Bytes(b) => {
                if finder.find(b).is_some() {
                    return Ok(true);
                }
            }
            Content::File(path, _) => {
                let read_err = |e| {
                    Error::new(
                        ErrorKind::ReadInput,
                        format!("could not read form file {}", path.display()),
                    )
                    .with_source(e)
                };
                let mut file = std::fs::File::open(path).map_err(read_err)?;
                let keep = delimiter.len() - 1;
                let mut buf = vec![0u8; 128 * 1024 + keep];
                let mut have = 0;
                loop {
                    let n = file.read(&mut buf[have..]).map_err(read_err)?;
                    if n == 0 {
                        break;
                    }
                    have += n;
                    if finder.find(&buf[..have]).is_some() {
                        return Ok(true);
                    }
                    let tail = have.saturating_sub(keep);
                    buf.copy_within(tail..have, 0);
                    have -= tail;
                }
            }
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(m: &Multipart) -> String {
        let mut out = String::new();
        for s in &m.segments {
            match s {
                Segment::Bytes(b) => out.push_str(&String::from_utf8_lossy(b)),
                Segment::File(p, n) => out.push_str(&format!("<{} {n}>", p.display())),
            }
        }
        out.replace(&m.boundary, "B")
    }

    #[test]
    fn parts_as_curl_lays_them_out() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("up.txt");
        std::fs::write(&f, "hello\n").unwrap();
        let fp = f.display().to_string();
        let m = Multipart::from_args(
            &[
                "a=1".into(),
                format!("f=@{fp}"),
                format!("g=@{fp};type=x/y;filename=n\"q.bin"),
                format!("h=<{fp}"),
                "i=@-".into(),
            ],
            &["s=@lit;type=z".into()],
            &mut &b"in"[..],
        )
        .unwrap()
        .unwrap();
        assert!(m.boundary.starts_with(&"-".repeat(24)) && m.boundary.len() == 40);
        let p = format!("<{fp} 6>");
        assert_eq!(
            body(&m),
            format!(
                "--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n\
                 --B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"up.txt\"\r\nContent-Type: text/plain\r\n\r\n{p}\r\n\
                 --B\r\nContent-Disposition: form-data; name=\"g\"; filename=\"n%22q.bin\"\r\nContent-Type: x/y\r\n\r\n{p}\r\n\
                 --B\r\nContent-Disposition: form-data; name=\"h\"\r\n\r\n{p}\r\n\
                 --B\r\nContent-Disposition: form-data; name=\"i\"\r\nContent-Type: application/octet-stream\r\n\r\nin\r\n\
                 --B\r\nContent-Disposition: form-data; name=\"s\"\r\n\r\n@lit;type=z\r\n\
                 --B--\r\n"
            )
        );
        let text_len = body(&m).len() - 3 * p.len() + 3 * 6;
        let boundary_growth = 7 * (m.boundary.len() - 1);
        assert_eq!(m.len() as usize, text_len + boundary_growth);
    }

    #[test]
    fn the_boundary_occurs_in_no_part() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        // A delimiter across the scan's piece edge is found.
        let delim = b"--------------------------0123456789abcdef";
        let mut data = vec![b'x'; 128 * 1024 - 10];
        data.extend_from_slice(delim);
        std::fs::write(&f, &data).unwrap();
        let parts = vec![Part {
            head: String::new(),
            content: Content::File(f, data.len() as u64),
        }];
        assert!(occurs_in("------------------------0123456789abcdef", &parts).unwrap());
        assert!(!occurs_in("------------------------0123456789abcdee", &parts).unwrap());
        assert_ne!(draw_boundary(), draw_boundary());
    }

    #[test]
    fn bad_arguments() {
        let e = Multipart::from_args(&["novalue".into()], &[], &mut &b""[..]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Usage);
        let e =
            Multipart::from_args(&["f=@/nonexistent/x".into()], &[], &mut &b""[..]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ReadInput);
        assert_eq!(e.to_string(), "could not read form file /nonexistent/x");
    }
}
