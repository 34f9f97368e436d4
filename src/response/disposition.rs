//! The file name a response suggests (`-J`), with no I/O: the `filename`
//! parameter of `Content-Disposition` (RFC 6266 section 4.1), reduced to
//! its last path component, as curl reduces it, so that a server cannot
//! name a file outside the directory (`../../.bashrc`, `/etc/passwd`).

use crate::response::head::Head;

/// The `filename` of the first `Content-Disposition` in `head`, stripped
/// of any directory part; `None` when there is none, or nothing usable
/// remains (empty, `.`, `..`).
pub fn filename(head: &Head) -> Option<String> {
    let value = head.values("Content-Disposition").next()?;
    let value = String::from_utf8_lossy(value);
    let raw = value.split(';').skip(1).find_map(|param| {
        let (name, v) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("filename")
            .then(|| unquote(v.trim()))
    })?;
    // A directory part, with either separator, is dropped.
    let base = raw.rsplit(['/', '\\']).next().unwrap_or("").trim();
    let usable = !base.is_empty() && base != "." && base != ".." && !base.contains('\0');
    usable.then(|| base.to_owned())
}

/// A quoted-string's content (RFC 9110 section 5.6.4), or the token as it is.
fn unquote(v: &str) -> String {
    let Some(inner) = v.strip_prefix('"') else {
        return v.to_owned();
    };
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => break,
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(value: &str) -> Option<String> {
        filename(&Head {
            version: 1,
            status: 200,
            reason: String::new(),
            headers: vec![("Content-Disposition".into(), value.as_bytes().to_vec())],
        })
    }

    #[test]
    fn the_name_without_its_directories() {
        assert_eq!(
            name("attachment; filename=\"report.pdf\"").as_deref(),
            Some("report.pdf")
        );
        assert_eq!(
            name("attachment; FileName=plain.txt").as_deref(),
            Some("plain.txt")
        );
        assert_eq!(
            name("inline; filename=\"a \\\"q\\\".txt\"").as_deref(),
            Some("a \"q\".txt")
        );
        assert_eq!(
            name("attachment; filename=\"../../etc/passwd\"").as_deref(),
            Some("passwd")
        );
        assert_eq!(name("attachment; filename=/tmp/x").as_deref(), Some("x"));
        assert_eq!(
            name("attachment; filename=\"C:\\\\evil\\\\y.exe\"").as_deref(),
            Some("y.exe")
        );
        for none in [
            "attachment",
            "attachment; filename=\"\"",
            "attachment; filename=..",
            "attachment; filename=dir/",
        ] {
            assert_eq!(name(none), None, "{none}");
        }
    }
}
