//! Colour for a terminal: the status code by class, header names apart
//! from their values, the `*`/`>`/`<` prefixes of `-v` dimmed.
//!
//! Only what reaches a terminal is coloured (the options decide, from
//! `--color` and `NO_COLOR`); `-D`, `--save-raw`, `--trace` and the body
//! get the bytes as received. Pure functions: bytes in, bytes out, every
//! received byte kept in order (escapes are only added around them).

/// Resets every attribute.
const RESET: &[u8] = b"\x1b[0m";
/// Faint, for the `-v` prefixes.
const DIM: &[u8] = b"\x1b[2m";
/// Bold cyan, for header names.
const NAME: &[u8] = b"\x1b[1;36m";

/// The status code's colour by class: 1xx blue, 2xx green, 3xx cyan,
/// 4xx yellow, 5xx and anything else red; all bold.
fn status_colour(code: &[u8]) -> &'static [u8] {
    match code.first() {
        Some(b'1') => b"\x1b[1;34m",
        Some(b'2') => b"\x1b[1;32m",
        Some(b'3') => b"\x1b[1;36m",
        Some(b'4') => b"\x1b[1;33m",
        _ => b"\x1b[1;31m",
    }
}

/// A head (or trailers) with colour added: on the status line the code and
/// reason in the class's colour; on a field line the name (up to the
/// colon). Line endings stay as received, outside any colour.
pub fn head(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 64);
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        let end = line.len() - trailing_eol(line);
        let (text, eol) = line.split_at(end);
        if text.starts_with(b"HTTP/") {
            status_line(text, &mut out);
        } else if let Some(colon) = text.iter().position(|&b| b == b':') {
            if text.first().is_some_and(|b| *b != b' ' && *b != b'\t') {
                paint(NAME, &text[..colon], &mut out);
                out.extend_from_slice(&text[colon..]);
            } else {
                out.extend_from_slice(text);
            }
        } else {
            out.extend_from_slice(text);
        }
        out.extend_from_slice(eol);
    }
    out
}

/// `HTTP/1.1 404 Not Found`: the version plain, the rest coloured.
fn status_line(text: &[u8], out: &mut Vec<u8>) {
    match text.iter().position(|&b| b == b' ') {
        Some(sp) => {
            out.extend_from_slice(&text[..=sp]);
            let rest = &text[sp + 1..];
            paint(status_colour(rest), rest, out);
        }
        None => out.extend_from_slice(text),
    }
}

fn paint(colour: &[u8], text: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(colour);
    out.extend_from_slice(text);
    out.extend_from_slice(RESET);
}

fn trailing_eol(line: &[u8]) -> usize {
    match line {
        [.., b'\r', b'\n'] => 2,
        [.., b'\n'] => 1,
        _ => 0,
    }
}

/// A `-v` prefix (`* `, `> `, `< `), dimmed.
pub fn dim(prefix: &[u8]) -> Vec<u8> {
    [DIM, prefix, RESET].concat()
}

/// Whether colour is on for a stream: `--color always` forces it; `auto`
/// wants a terminal, `NO_COLOR` unset or empty (no-color.org) and a
/// `TERM` other than `dumb`.
pub fn wanted(choice: crate::cli::ColorChoice, terminal: bool) -> bool {
    use crate::cli::ColorChoice;
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            terminal
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes without the escapes added: what was received.
    fn plain(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == 0x1b {
                while i < bytes.len() && bytes[i] != b'm' {
                    i += 1;
                }
            } else {
                out.push(bytes[i]);
            }
            i += 1;
        }
        out
    }

    #[test]
    fn status_by_class_and_names_apart_from_values() {
        let raw = b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n folded: x\r\n\r\n";
        let got = head(raw);
        assert_eq!(
            got,
            b"HTTP/1.1 \x1b[1;33m404 Not Found\x1b[0m\r\n\
              \x1b[1;36mContent-Type\x1b[0m: text/plain\r\n folded: x\r\n\r\n"
                .to_vec()
        );
        assert_eq!(plain(&got), raw.to_vec());
        for (code, colour) in [("101", "34"), ("200", "32"), ("301", "36"), ("503", "31")] {
            let line = format!("HTTP/1.1 {code} X\n");
            let got = String::from_utf8(head(line.as_bytes())).unwrap();
            assert!(
                got.contains(&format!("\x1b[1;{colour}m{code} X")),
                "{got:?}"
            );
        }
    }

    #[test]
    fn bare_lf_and_a_missing_line_end_are_kept() {
        let raw = b"HTTP/1.0 200 OK\nA: b";
        assert_eq!(plain(&head(raw)), raw.to_vec());
    }
}
