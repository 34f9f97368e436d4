//! What the user gives rawget to send, read once before anything connects:
//! the data pieces of `-d`, `--data-binary`, `--data-raw`,
//! `--data-urlencode` and `--json` (text, `@FILE` or `@-` for stdin), and
//! `-H @FILE` header lines. Each follows curl's reading of the argument;
//! an unreadable file is exit 26, a bad header line exit 2.

use std::io::Read;

use crate::cli::{DataFlag, FetchArgs};
use crate::error::{Error, ErrorKind, Result};
use crate::request::{Body, HeaderEdit};

/// The body the data flags make, or `None` when none is given: the pieces
/// in command-line order, each but the first after `&`, except that a
/// `--json` piece follows with nothing between (curl 7.88 concatenates
/// JSON to whatever came before it).
pub fn data_body(args: &FetchArgs, stdin: &mut dyn Read) -> Result<Option<Body>> {
    let mut bytes = Vec::new();
    let (mut any, mut json) = (false, false);
    for (flag, value) in args.data_pieces() {
        let piece = match flag {
            DataFlag::Json => data_arg(&value, true, stdin)?,
            DataFlag::Data => data_arg(&value, false, stdin)?,
            DataFlag::Raw => value.as_bytes().to_vec(),
            DataFlag::Binary => data_arg(&value, true, stdin)?,
            DataFlag::UrlEncode => urlencode_arg(&value, stdin)?,
        };
        let is_json = flag == DataFlag::Json;
        if any && !is_json {
            bytes.push(b'&');
        }
        bytes.extend(piece);
        any = true;
        json |= is_json;
    }
    Ok(any.then_some(Body {
        bytes,
        form: true,
        json,
    }))
}

/// One `-d`/`--data-binary`/`--json` value: text, or `@FILE` (`@-` for
/// stdin). `-d @FILE` drops CR and LF, as curl does; the others keep every
/// byte.
fn data_arg(arg: &str, binary: bool, stdin: &mut dyn Read) -> Result<Vec<u8>> {
    let Some(path) = arg.strip_prefix('@') else {
        return Ok(arg.as_bytes().to_vec());
    };
    let mut bytes = read_input(path, "data file", stdin)?;
    if !binary {
        bytes.retain(|&b| b != b'\r' && b != b'\n');
    }
    Ok(bytes)
}

/// One `--data-urlencode` value, in curl's five forms: `content`,
/// `=content`, `name=content`, `@file`, `name@file`. The first `=` splits
/// name from content; without one, the first `@` splits name from a file
/// name. The name is sent as given, the content (a file's bytes exactly,
/// newlines included) URL-encoded.
fn urlencode_arg(arg: &str, stdin: &mut dyn Read) -> Result<Vec<u8>> {
    let (name, content) = match arg.find('=') {
        Some(i) => (&arg[..i], arg.as_bytes()[i + 1..].to_vec()),
        None => match arg.find('@') {
            Some(i) => (&arg[..i], read_input(&arg[i + 1..], "data file", stdin)?),
            None => ("", arg.as_bytes().to_vec()),
        },
    };
    let mut out = Vec::with_capacity(name.len() + 1 + content.len() * 3);
    if !name.is_empty() {
        out.extend_from_slice(name.as_bytes());
        out.push(b'=');
    }
    out.extend_from_slice(form_escape(&content).as_bytes());
    Ok(out)
}

/// curl's `--data-urlencode` escaping: RFC 3986 unreserved bytes as they
/// are, a space as `+`, every other byte `%XX` in upper case.
pub fn form_escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for &b in bytes {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The `-H` arguments as edits; `@FILE` (`@-`: stdin) gives one header a
/// line, CR and LF stripped, blank lines and `#` comments skipped.
pub fn header_args(args: &[String], stdin: &mut dyn Read) -> Result<Vec<HeaderEdit>> {
    let mut edits = Vec::new();
    for arg in args {
        let Some(path) = arg.strip_prefix('@') else {
            edits.push(HeaderEdit::parse(arg)?);
            continue;
        };
        let bytes = read_input(path, "header file", stdin)?;
        let text = String::from_utf8_lossy(&bytes);
        for (n, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let edit = HeaderEdit::parse(line)
                .map_err(|e| Error::new(ErrorKind::Usage, format!("{path} line {}: {e}", n + 1)))?;
            edits.push(edit);
        }
    }
    Ok(edits)
}

/// The bytes of `path`, or of stdin for `-`; `what` names it in the error.
pub fn read_input(path: &str, what: &str, stdin: &mut dyn Read) -> Result<Vec<u8>> {
    let read_err = |e| {
        Error::new(
            ErrorKind::ReadInput,
            format!("could not read {what} {path}"),
        )
        .with_source(e)
    };
    if path == "-" {
        let mut bytes = Vec::new();
        stdin.read_to_end(&mut bytes).map_err(read_err)?;
        return Ok(bytes);
    }
    std::fs::read(path).map_err(read_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(arg: &str) -> String {
        String::from_utf8(urlencode_arg(arg, &mut &b"a b\nc"[..]).unwrap()).unwrap()
    }

    #[test]
    fn urlencode_forms_are_currls() {
        assert_eq!(enc("a b"), "a+b");
        assert_eq!(enc("=c&d"), "c%26d");
        assert_eq!(enc("n=x y=z"), "n=x+y%3Dz");
        assert_eq!(enc("@-"), "a+b%0Ac");
        assert_eq!(enc("f@-"), "f=a+b%0Ac");
        // `=` is looked for first: this is name "e@x", content "y".
        assert_eq!(enc("e@x=y"), "e@x=y");
        assert_eq!(enc("~-._é"), "~-._%C3%A9");
        let e = urlencode_arg("f@/nonexistent/u", &mut &b""[..]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ReadInput);
    }

    #[test]
    fn header_file_lines() {
        let mut stdin = &b"X-One: 1\r\n\n# note\nX-Two:\nX-Three;\n"[..];
        let edits = header_args(&["@-".into(), "X-Four: 4".into()], &mut stdin).unwrap();
        assert_eq!(
            edits,
            [
                HeaderEdit::Set("X-One".into(), "1".into()),
                HeaderEdit::Remove("X-Two".into()),
                HeaderEdit::Empty("X-Three".into()),
                HeaderEdit::Set("X-Four".into(), "4".into()),
            ]
        );
        let e = header_args(&["@-".into()], &mut &b"Good: 1\nbad line\n"[..]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Usage);
        assert!(e.to_string().starts_with("- line 2: bad -H"), "{e}");
    }
}
