//! `-K, --config FILE`: curl's config file syntax, for the options rawget
//! has (a project's debugging recipes kept in a file).
//!
//! The file's options are put in place of the `-K FILE` on the command
//! line, before clap parses it, so a config option is exactly the same
//! flag typed. Curl's syntax (its manual, `-K`): one option a line, a long
//! option with or without its leading `--`, a short one with its `-`; the
//! value after whitespace, `=` or `:`; a value in double quotes may hold
//! spaces and the escapes `\\`, `\"`, `\t`, `\n`, `\r`, `\v`; `#` starts a
//! comment line; `url = URL` gives the URL. `-K -` reads stdin. Config
//! files may name config files, at most [`MAX_DEPTH`] deep.

use std::ffi::OsString;
use std::io::Read;

use crate::error::{Error, ErrorKind, Result};
use crate::inputs::read_input;

/// How deep config files may include each other (a loop ends here).
const MAX_DEPTH: usize = 8;

/// The command line with every `-K FILE` replaced by the file's options.
/// Nothing after `--` is looked at.
pub fn expand(args: Vec<OsString>, stdin: &mut dyn Read) -> Result<Vec<OsString>> {
    expand_at(args, stdin, 0)
}

fn expand_at(args: Vec<OsString>, stdin: &mut dyn Read, depth: usize) -> Result<Vec<OsString>> {
    let mut out = Vec::with_capacity(args.len());
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let text = arg.to_string_lossy();
        let file = match text.as_ref() {
            "--" => {
                out.push(arg);
                out.extend(it.by_ref());
                break;
            }
            "-K" | "--config" => match it.next() {
                Some(f) => f.to_string_lossy().into_owned(),
                // clap says what is missing.
                None => {
                    out.push(arg);
                    continue;
                }
            },
            t if t.starts_with("--config=") => t["--config=".len()..].to_owned(),
            t if t.starts_with("-K") && t.len() > 2 && !t.starts_with("--") => t[2..].to_owned(),
            _ => {
                out.push(arg);
                continue;
            }
        };
        if depth >= MAX_DEPTH {
            return Err(Error::new(
                ErrorKind::Usage,
                format!("-K {file}: config files nested more than {MAX_DEPTH} deep"),
            ));
        }
        let bytes = read_input(&file, "config file", stdin)?;
        let inner = parse(&String::from_utf8_lossy(&bytes), &file)?;
        out.extend(expand_at(inner, stdin, depth + 1)?);
    }
    Ok(out)
}

/// The arguments a config file's text stands for; `name` is for errors.
pub fn parse(text: &str, name: &str) -> Result<Vec<OsString>> {
    let mut args = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |why: &str| Error::new(ErrorKind::Usage, format!("{name} line {}: {why}", n + 1));
        let end = line
            .find(|c: char| c.is_whitespace() || c == '=' || c == ':')
            .unwrap_or(line.len());
        let option = &line[..end];
        let mut rest = line[end..].trim_start();
        if let Some(r) = rest.strip_prefix(['=', ':']) {
            rest = r.trim_start();
        }
        let value = if rest.is_empty() {
            None
        } else if let Some(quoted) = rest.strip_prefix('"') {
            Some(unquote(quoted).ok_or_else(|| bad("unterminated quoted value"))?)
        } else {
            // Unquoted: up to the first whitespace, as curl reads it.
            Some(rest.split_whitespace().next().unwrap_or("").to_owned())
        };
        if option.is_empty() {
            return Err(bad("no option name"));
        }
        if option == "url" || option == "--url" {
            args.push(OsString::from(
                value.ok_or_else(|| bad("url needs a value"))?,
            ));
            continue;
        }
        let flag = if option.starts_with('-') {
            option.to_owned()
        } else {
            format!("--{option}")
        };
        args.push(OsString::from(flag));
        args.extend(value.map(OsString::from));
    }
    Ok(args)
}

/// A quoted value after its opening quote: up to the closing one, with
/// curl's escapes; `None` when it never closes.
fn unquote(s: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                't' => out.push('\t'),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                'v' => out.push('\u{b}'),
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(args: &[OsString]) -> Vec<String> {
        args.iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn curls_syntax() {
        let text = "# a recipe\n\
                    silent\n\
                    --header = \"X-A: 1 \\\"q\\\"\"\n\
                    user-agent: me/1\n\
                    -H \"Accept: text/html\"\n\
                    \n\
                    data=a=1\n\
                    url = \"http://h/p?q=1\"\n";
        assert_eq!(
            words(&parse(text, "f").unwrap()),
            [
                "--silent",
                "--header",
                "X-A: 1 \"q\"",
                "--user-agent",
                "me/1",
                "-H",
                "Accept: text/html",
                "--data",
                "a=1",
                "http://h/p?q=1"
            ]
        );
        let e = parse("header \"open", "f").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Usage);
        assert_eq!(e.to_string(), "f line 1: unterminated quoted value");
    }

    #[test]
    fn expand_puts_the_file_in_place_of_the_flag() {
        let args = ["rawget", "-v", "-K", "-", "-s", "--", "-K"].map(OsString::from);
        let out = expand(args.to_vec(), &mut &b"include\nurl http://h/\n"[..]).unwrap();
        assert_eq!(
            words(&out),
            ["rawget", "-v", "--include", "http://h/", "-s", "--", "-K"]
        );
        let e = expand(
            ["rawget", "--config=/nonexistent/k"]
                .map(OsString::from)
                .to_vec(),
            &mut &b""[..],
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ReadInput);
    }
}
